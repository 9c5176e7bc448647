"""MAML for few-shot regression in TensorFlow 2 (notebook 02, §7.2; compared in notebook 07).

MAML (Finn et al., 2017) is Meta-SGD (:mod:`chapter_utils.meta_sgd`) with the
inner learning rate fixed: one scalar α for every parameter, not learned. The
whole learner — inner steps, second-order or first-order meta-gradient, the
compiled training loop, ``adapt`` and ``predict_adapted`` — is
:class:`chapter_utils.meta_sgd.MetaSGD`; this class only fixes α and its defaults.
"""
from __future__ import annotations

from typing import Any, ClassVar

from chapter_utils.meta_sgd import MetaSGD


class MAML(MetaSGD):
    """MAML: θ' = θ − α ∇θ L_support(θ) with a fixed scalar α = ``inner_lr`` (notebook 02, §7.2).

    Takes the hyperparameters of :class:`~chapter_utils.meta_sgd.MetaSGD`;
    ``first_order=True`` gives first-order MAML. :attr:`alpha` is one scalar
    per parameter tensor, all equal to ``inner_lr``, and never changes.
    """

    LABELS: ClassVar[tuple[str, str]] = ("MAML", "first-order MAML")
    learns_alpha: ClassVar[bool] = False
    DEFAULTS: ClassVar[dict[str, Any]] = {**MetaSGD.DEFAULTS, "inner_lr": 0.01}

    def __init__(self, first_order: bool = False, **hyperparameters: Any) -> None:
        super().__init__(first_order=first_order, **hyperparameters)

