"""The full-budget learners notebooks 02 and 03 load instead of training (Binder's one CPU).

A notebook that trains several learners at full budget only to compare them
would keep a reader on one CPU waiting for minutes. Each such learner is trained
once by ``python -m chapter_utils.tooling.train_shipped`` and shipped in
``chapter_utils/data/notebook_learners.{npz,json}``: θ, α and the training
curves in the ``.npz``; in the ``.json`` the command, the date, the machine, the
TensorFlow and numpy that trained them, each learner's training time and its
held-out score (mean and 95 % interval) — the score
``tests/evaluation/test_shipped.py`` reproduces from the shipped parameters.

A notebook calls :func:`learner` with its ``RETRAIN`` switch: ``False`` loads the
shipped run, ``True`` trains it here with exactly the recipe that made it
(same class, hyperparameters, task family, iterations and seed). On the stack
that trained them (:func:`on_recorded_stack`) both give the same parameters, so
the notebooks' stored outputs hold either way. The files are read and written
by :mod:`chapter_utils.evaluation.records`, as notebook 07's are.

The recipes are :data:`RECIPES`, one per shipped learner, named ``"NN name"``
after the notebook that uses it.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chapter_utils.environment import same_stack
from chapter_utils.evaluation import records
from chapter_utils.evaluation.stats import mean_ci

#: The files, inside the package's data folder.
PARAMETERS_NAME, RECORD_NAME = "notebook_learners.npz", "notebook_learners.json"
#: Where the training command writes them: the package source, so a run in a checkout updates the shipped files.
DATA_DIR = records.DATA_DIR
#: The command that makes them.
COMMAND = "python -m chapter_utils.tooling.train_shipped"


@dataclass(frozen=True)
class Recipe:
    """How one shipped learner is trained and scored.

    ``make`` builds the untrained learner (class and hyperparameters), ``tasks`` its
    task family; ``fit(tasks, seed=seed)`` at the learner's default budget trains it.
    ``score`` maps the trained learner to one number per held-out task (the record's
    mean and 95 % interval); ``score_text`` says what that number is.
    """

    name: str
    notebook: str
    make: Callable[[], Any]
    tasks: Callable[[], Any]
    score: Callable[[Any], np.ndarray]
    score_text: str
    seed: int = 0

    def train(self) -> Any:
        """Train the learner here, exactly as the shipped one was trained."""
        return self.make().fit(self.tasks(), seed=self.seed)


# -- the recipes --------------------------------------------------------------------------------
def _sine_family():
    from chapter_utils.tasks.sine import SineTasks
    return SineTasks()


def _navigation_family():
    from chapter_utils.tasks.navigation import NavigationTasks
    return NavigationTasks()


def _sine_mse(steps: int = 1) -> Callable[[Any], np.ndarray]:
    def score(learner) -> np.ndarray:
        from chapter_utils.evaluation import sine as bench
        return bench.mse_by_steps(learner, bench.held_out(500, 10), steps=(steps,))[steps]
    return score


def _navigation_return(learner) -> np.ndarray:
    from chapter_utils.tasks.navigation import held_out_goals
    return learner.evaluate(held_out_goals(40), steps=(1,), episodes=20)[0]


def _maml(first_order: bool = False):
    from chapter_utils.learners.maml import MAML
    return MAML(first_order=first_order)


def _meta_sgd_policy():
    from chapter_utils.learners.policy_gradient import MetaSGDPolicyGradient
    return MetaSGDPolicyGradient()


def _maml_policy():
    from chapter_utils.learners.policy_gradient import MAMLPolicyGradient
    return MAMLPolicyGradient()


def _pretrained_policy():
    from chapter_utils.learners.policy_gradient import PretrainedPolicyGradient
    return PretrainedPolicyGradient()


_SINE_1 = "held-out MSE after one step, K = 10, 500 waves (chapter_utils.evaluation.sine)"
_NAV_1 = "held-out return after one step, 40 goals × 20 episodes (navigation.held_out_goals)"

#: Every shipped learner, by name.
RECIPES: dict[str, Recipe] = {r.name: r for r in (
    Recipe("02 MAML", "02_meta_sgd_supervised", _maml, _sine_family, _sine_mse(1), _SINE_1),
    Recipe("02 first-order MAML", "02_meta_sgd_supervised", lambda: _maml(first_order=True),
           _sine_family, _sine_mse(1), _SINE_1),
    Recipe("03 Meta-SGD", "03_meta_sgd_reinforcement", _meta_sgd_policy, _navigation_family,
           _navigation_return, _NAV_1),
    Recipe("03 MAML", "03_meta_sgd_reinforcement", _maml_policy, _navigation_family,
           _navigation_return, _NAV_1),
    Recipe("03 pretrained", "03_meta_sgd_reinforcement", _pretrained_policy, _navigation_family,
           _navigation_return, _NAV_1),
)}

#: What a learner records while training, besides θ and α, that the notebooks plot.
CURVES = ("losses", "losses_before", "returns_before", "returns_after")


# -- reading ------------------------------------------------------------------------------------
def record(data_dir: Path | None = None) -> dict[str, Any]:
    """The shipped record: command, date, machine, versions, and per learner its training time,
    iterations and held-out score (see the module docstring)."""
    return records.read_json(RECORD_NAME, data_dir)


def on_recorded_stack() -> bool:
    """Whether this kernel runs the TensorFlow and numpy that trained the shipped learners
    (:func:`chapter_utils.environment.same_stack`): only there does ``RETRAIN = True`` land on
    the shipped parameters."""
    return same_stack(record().get("versions", {}))


def _recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise ValueError(f"no shipped learner {name!r}; there are {', '.join(map(repr, RECIPES))}")
    return RECIPES[name]


def load(name: str, data_dir: Path | None = None) -> Any:
    """The shipped learner ``name`` (a key of :data:`RECIPES`), ready to adapt; nothing is trained.

    Its θ, α and training curves are the shipped ones; ``seconds`` is the training
    time the record gives, and ``shipped`` the record's entry for it.
    """
    recipe = _recipe(name)
    entry = record(data_dir)["learners"].get(name)
    if entry is None:
        raise ValueError(f"{name!r} is not in the shipped record: run {COMMAND}")
    arrays = records.read_arrays(PARAMETERS_NAME, data_dir)
    learner = recipe.make().set_parameters(*records.unpack(arrays, name))
    for curve in CURVES:
        if f"{name}|{curve}" in arrays:
            setattr(learner, curve, arrays[f"{name}|{curve}"].astype(np.float64))
    learner.seconds = float(entry["seconds"])
    learner.shipped = entry
    return learner


def learner(name: str, retrain: bool = False) -> Any:
    """The learner ``name``: trained here if ``retrain`` (the notebooks' ``RETRAIN`` switch),
    else the shipped one (:func:`load`)."""
    return _recipe(name).train() if retrain else load(name)


def describe(learner_: Any) -> str:
    """Where ``learner_`` came from: the shipped run (its date, training time and the held-out
    score its record keeps) or a training run in this kernel."""
    head = f"{learner_.label}: {learner_.iterations} training iterations"
    entry = getattr(learner_, "shipped", None)
    if entry is None:
        return f"{head}, trained here in {learner_.seconds:.1f} s"
    made = record()
    mean, half = entry["held_out"]
    return (f"{head}, loaded (trained by `{made['command']}` on {made['date']} in "
            f"{entry['seconds']:.0f} s; its record: {entry['score']}: {mean:.4g} ± {half:.2g})")


def recipe_differences(learner_: Any, reference: Any) -> dict[str, tuple[Any, Any]]:
    """The hyperparameters in which ``learner_`` differs from ``reference``: name → (its, reference's).

    What a notebook prints to show a loaded learner was trained like the one it trains itself."""
    return {k: (v, reference.hyperparameters.get(k)) for k, v in learner_.hyperparameters.items()
            if reference.hyperparameters.get(k) != v}


def retrain_note(notebook: str, retrain: bool = False) -> str:
    """What the ``RETRAIN`` switch of ``notebook`` (its file stem) does there: which learners
    it loads, and how long training them took when they were shipped."""
    names = [name for name, r in RECIPES.items() if r.notebook == notebook]
    if not names:
        raise ValueError(f"{notebook!r} loads no shipped learner; notebooks that do: "
                         f"{', '.join(sorted({r.notebook for r in RECIPES.values()}))}")
    made = record()
    seconds = [made["learners"][name]["seconds"] for name in names]
    listed = ", ".join(name.split(" ", 1)[1] for name in names)
    took = (f"{' + '.join(f'{x:.0f}' for x in seconds)} = {sum(seconds):.0f} s" if len(seconds) > 1
            else f"{seconds[0]:.0f} s")
    when = f"by `{made['command']}` on {made['date']} ({made['machine']})"
    if retrain:
        return (f"RETRAIN = True: training the full-budget {listed} here, with the recipe of the "
                f"shipped ones, which took {took} {when}.")
    return (f"RETRAIN = False: loading the full-budget {listed} as shipped, trained {when} in "
            f"{took}. RETRAIN = True trains them here instead, with the same recipe.")


# -- writing (the training command) ------------------------------------------------------------
def save(trained: dict[str, Any], data_dir: Path = DATA_DIR,
         log: Callable[[str], None] | None = print) -> dict[str, Any]:
    """Score each trained learner (name → learner) and write the shipped files; return the record."""
    out = {**records.header(COMMAND), "learners": {}}
    if hasattr(os, "getloadavg"):    # the seconds below are honest only beside how busy the machine was
        out["load average at save (1, 5, 15 min)"] = [round(v, 2) for v in os.getloadavg()]
    arrays: dict[str, np.ndarray] = {}
    for name, fitted in trained.items():
        recipe = _recipe(name)
        mean, half = mean_ci(recipe.score(fitted))
        out["learners"][name] = {
            "notebook": recipe.notebook, "class": type(fitted).__name__,
            "hyperparameters": {k: v for k, v in fitted.hyperparameters.items()},
            "seed": recipe.seed, "seconds": round(float(fitted.seconds), 1),
            "tensors": len(fitted.theta), "score": recipe.score_text,
            "held_out": [round(float(mean), 4), round(float(half), 4)]}
        arrays.update(records.pack(name, fitted))
        for curve in CURVES:
            values = getattr(fitted, curve, None)
            if values is not None and np.size(values):
                values = np.asarray(values, dtype=np.float64)
                small = values.astype(np.float32)     # the curves come from float32 tensors: lossless
                arrays[f"{name}|{curve}"] = small if np.array_equal(small, values) else values
        if log:
            log(f"{name:22s} {fitted.seconds:6.1f} s   {recipe.score_text.split(',')[0]}: "
                f"{mean:.4f} ± {half:.4f}")
    records.write(data_dir, RECORD_NAME, out, PARAMETERS_NAME, arrays)
    return out


def train(log: Callable[[str], None] | None = print) -> dict[str, Any]:
    """Train every learner by its recipe; name → learner. All of them, always: the record says
    one command, date, machine and stack for the whole file."""
    trained = {}
    for name, recipe in RECIPES.items():
        if log:
            log(f"training {name} ...")
        trained[name] = recipe.train()
    return trained
