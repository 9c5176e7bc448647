"""MAML for few-shot regression in TensorFlow 2 (notebook 02, §7.2; compared in notebook 07).

MAML (Finn et al., 2017) is Meta-SGD (:mod:`chapter_utils.learners.meta_sgd`) with the
inner learning rate fixed: one scalar α for every parameter, not learned. The
whole learner — inner steps, second-order or first-order meta-gradient, the
compiled training loop, ``adapt`` and ``predict_adapted`` — is
:class:`chapter_utils.learners.meta_sgd.MetaSGD`; this class only fixes α and its defaults.
"""
from __future__ import annotations

from typing import ClassVar

from chapter_utils.learners.base import Hyperparameter, revise
from chapter_utils.learners.meta_sgd import MetaSGD


class MAML(MetaSGD):
    """MAML: θ' = θ − α ∇θ L_support(θ) with a fixed scalar α = ``inner_lr`` (notebook 02, §7.2).

    Takes the hyperparameters of :class:`~chapter_utils.learners.meta_sgd.MetaSGD`;
    ``first_order=True`` gives first-order MAML. :attr:`alpha` is one scalar
    per parameter tensor, all equal to ``inner_lr``, and never changes.
    """

    LABELS: ClassVar[tuple[str, str]] = ("MAML", "first-order MAML")
    LABEL: ClassVar[str] = "MAML"
    learns_alpha: ClassVar[bool] = False
    HYPERPARAMETERS: ClassVar[tuple[Hyperparameter, ...]] = revise(
        MetaSGD.HYPERPARAMETERS, "inner_lr", symbol="α",
        doc="α, the fixed inner step size of every parameter (not learned)")

