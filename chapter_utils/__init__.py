"""Helpers shared by the chapter 7 notebooks (Meta-SGD and Reptile).

The package is laid out by what each part is for; lower layers never import
higher ones::

    checks, environment, plotting   foundations: argument checks, the setup cell, figures
    data/        files the notebooks load at run time (shipped in the wheel)
    tasks/       task families (logistic 7.4, sine 7.2/7.7, quadratic bowls 7.1/7.5, navigation 7.3,
                 rendered characters for few-shot classification, notebook 09)
    nets/        TF2 networks with plain-tensor parameters (an MLP, a Gaussian policy)
    learners/    the TF2 meta-learners, one shape for all (MetaSGD, MAML, Reptile, the RL learners)
    reference/   exact numpy references the notebooks teach from (7.4, the bowls, the chapter's 7.7)
    evaluation/  held-out protocols, comparisons, gradient checks, statistics
    panels/      the widget panels
    tooling/     notebook generation, re-execution, benchmarks (for maintainers)

The names readers use most are importable from here — ``from chapter_utils import
MetaSGD, SineTasks`` — and resolved on first use, so importing the package
imports no TensorFlow.
"""
from __future__ import annotations

import importlib
from typing import Any

#: The release (pyproject.toml reads it from here); a Colab setup cell reinstalls the package when the
#: installed version differs (tooling/generated_cells.py).
__version__ = "0.3.1"

#: The front door: public name → the module that defines it.
_PUBLIC = {
    "MetaSGD": "chapter_utils.learners.meta_sgd",
    "MAML": "chapter_utils.learners.maml",
    "Reptile": "chapter_utils.learners.reptile",
    "Pretrained": "chapter_utils.learners.pretrained",
    "MetaSGDPolicyGradient": "chapter_utils.learners.policy_gradient",
    "MAMLPolicyGradient": "chapter_utils.learners.policy_gradient",
    "PretrainedPolicyGradient": "chapter_utils.learners.policy_gradient",
    "SineTasks": "chapter_utils.tasks.sine",
    "SineTask": "chapter_utils.tasks.sine",
    "sample_sine_points": "chapter_utils.tasks.sine",
    "LogisticTasks": "chapter_utils.tasks.logistic",
    "sample_points": "chapter_utils.tasks.logistic",
    "chapter_batch": "chapter_utils.tasks.logistic",
    "QuadraticFamily": "chapter_utils.tasks.quadratic",
    "NavigationTasks": "chapter_utils.tasks.navigation",
    "NavigationTask": "chapter_utils.tasks.navigation",
    "NavigationEnv": "chapter_utils.tasks.navigation",
    "average_return": "chapter_utils.tasks.navigation",
    "meta_gradients": "chapter_utils.reference.logistic_meta_sgd",
    "CharacterTasks": "chapter_utils.tasks.characters",
    "frame_character": "chapter_utils.tasks.characters",
    "CHARACTER_LEARNERS": "chapter_utils.evaluation.characters",
    "load_character_learner": "chapter_utils.evaluation.characters",
    "HyperparameterPanel": "chapter_utils.panels.base",
    "pose_the_task": "chapter_utils.panels.support_points",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    """Import the module behind a public name on first use (PEP 562)."""
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
