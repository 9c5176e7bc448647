"""The "pretrained on all tasks" baseline for few-shot sine regression (notebook 07, §"Pose the task").

The baseline the MAML paper sets against meta-learning: one network trained by
plain regression on points of *every* training wave at once, with no inner
loop, then fine-tuned on a new wave's K points by gradient descent with a
fixed step. Written here as :class:`~chapter_utils.learners.maml.MAML` with
zero inner steps during training — its query loss is then the loss of θ
itself, so the outer Adam step is ordinary joint training — and MAML's fixed
α = ``inner_lr`` for the fine-tuning steps a reader asks ``adapt`` or
``predict_adapted`` for. Pass ``steps``: ``adapt(x, y)`` without it takes the
training's 0 inner steps, i.e. no fine-tuning.
"""
from __future__ import annotations

from typing import ClassVar

from chapter_utils.learners.base import Hyperparameter, revise
from chapter_utils.learners.maml import MAML


class Pretrained(MAML):
    """Joint training on all tasks, then fine-tuning with a fixed step α (notebook 07).

    Takes :class:`~chapter_utils.learners.maml.MAML`'s hyperparameters with
    ``inner_steps`` = 0 by default: training is then plain regression on the
    query points of every sampled wave. ``adapt(x, y, steps)`` takes ``steps``
    plain gradient steps of size ``inner_lr`` (without ``steps``, none).
    """

    LABELS: ClassVar[tuple[str, str]] = ("pretrained", "pretrained")
    LABEL: ClassVar[str] = "pretrained"
    HYPERPARAMETERS: ClassVar[tuple[Hyperparameter, ...]] = revise(
        MAML.HYPERPARAMETERS, "inner_steps", default=0, low=0,
        doc="inner steps during training: 0, so training is plain regression on all tasks")
