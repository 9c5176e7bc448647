"""The sine MLP's inner loop in plain numpy, for answers in milliseconds (notebook 07, §"Pose the task").

:mod:`chapter_utils.nets.mlp` is the network the learners train, in TensorFlow,
batched over tasks and differentiable twice. Adapting *one* task of a reader's
K clicked points for up to 32 steps is a few hundred tiny matrix products;
in TensorFlow each call costs a millisecond of dispatch and every new K a
retrace, which is what made a six-method redraw too slow for a click. This
module runs the same inner loop in numpy — the same network
(``[W1, b1, W2, b2, …]``, ``relu`` or ``tanh`` hidden layers, linear output),
the same loss (mean squared error over the K points) and the same step
``θ ← θ − α ∘ ∇θ L`` with α one array per parameter (Meta-SGD) or one scalar
per parameter (MAML, Reptile, the baselines) — in float64 where the learners
use float32, so a run that overflows may do so a step earlier or later here.

``tests/nets/test_numpy_mlp.py`` checks it against the learners' own
``predict_adapted`` (TensorFlow) after each of 20 steps, with relu (MAML,
Meta-SGD) and tanh (Reptile) networks, and ``tests/evaluation/test_shipped_learners.py``
for the shipped learners over all 32 steps. Importing it imports no TensorFlow.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Hidden activations and their derivatives, written in terms of the activation's output.
_ACTIVATIONS = {
    "relu": (lambda z: np.maximum(z, 0.0), lambda h: (h > 0).astype(h.dtype)),
    "tanh": (np.tanh, lambda h: 1.0 - h * h),
}


def _check(params: Sequence[np.ndarray], activation: str) -> None:
    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
    if len(params) < 2 or len(params) % 2:
        raise ValueError(f"params must be [W1, b1, W2, b2, ...], got {len(params)} arrays")


def forward(params: Sequence[np.ndarray], x: np.ndarray, activation: str = "relu") -> np.ndarray:
    """The network's outputs ``(N,)`` at inputs ``x`` ``(N,)`` (one input, one output)."""
    _check(params, activation)
    act = _ACTIVATIONS[activation][0]
    h = np.asarray(x, dtype=np.float64)[:, None]
    last = len(params) // 2 - 1
    for i in range(0, len(params), 2):
        h = h @ params[i] + params[i + 1]
        if i // 2 < last:
            h = act(h)
    return h[:, 0]


def _gradients(params: list[np.ndarray], x: np.ndarray, y: np.ndarray, activation: str) -> list[np.ndarray]:
    """∇θ of the mean squared error over the points ``(x, y)``, by backpropagation."""
    act, slope = _ACTIVATIONS[activation]
    layers = len(params) // 2
    hs = [x[:, None]]
    for i in range(layers):
        z = hs[-1] @ params[2 * i] + params[2 * i + 1]
        hs.append(act(z) if i < layers - 1 else z)
    delta = 2.0 * (hs[-1] - y[:, None]) / x.size          # d mean((f − y)²) / df
    grads: list[np.ndarray] = [np.empty(0)] * len(params)
    for i in reversed(range(layers)):
        grads[2 * i] = hs[i].T @ delta
        grads[2 * i + 1] = delta.sum(axis=0)
        if i:
            delta = (delta @ params[2 * i].T) * slope(hs[i])
    return grads


def sgd_trajectory(params: Sequence[np.ndarray], alpha: Sequence[np.ndarray | float], x: np.ndarray,
                   y: np.ndarray, query: np.ndarray, steps: int, activation: str = "relu") -> np.ndarray:
    """Predictions at ``query`` after 0, 1, …, ``steps`` inner steps on the points ``(x, y)``.

    Each step is ``θ ← θ − α ∘ ∇θ mean((f(x) − y)²)``, the learners' inner step
    (:func:`chapter_utils.learners.meta_sgd.inner_steps`). ``alpha`` holds one
    array or scalar per parameter. Returns ``(steps + 1, len(query))``; a step
    that overflows gives non-finite predictions from then on, not an error.

    Raises:
        ValueError: for mismatched shapes, an empty support set, or ``steps < 0``.
    """
    _check(params, activation)
    if len(alpha) != len(params):
        raise ValueError(f"alpha needs one entry per parameter ({len(params)}), got {len(alpha)}")
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape or x.size == 0:
        raise ValueError(f"x and y must be 1-D arrays of the same, non-zero length, got {x.shape} and {y.shape}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    theta = [np.array(p, dtype=np.float64) for p in params]
    rates = [np.asarray(a, dtype=np.float64) for a in alpha]
    out = np.empty((steps + 1, np.asarray(query).size))
    out[0] = forward(theta, query, activation)
    with np.errstate(over="ignore", invalid="ignore"):
        for s in range(1, steps + 1):
            grads = _gradients(theta, x, y, activation)
            theta = [p - a * g for p, a, g in zip(theta, rates, grads)]
            out[s] = forward(theta, query, activation)
    return out
