"""A small multilayer perceptron written functionally in TensorFlow 2.

The parameters are a plain list ``[W1, b1, W2, b2, ...]`` of tensors, never
Keras variables, so that adapted parameters ``θ' = θ − α ∘ ∇θ L`` stay ordinary
tensors on the tape and a second-order meta-gradient can flow through them
(notebook 02, §7.2). The same function runs *one* network or a *batch* of
networks, one per task, when every parameter carries a leading task
dimension — which is how the meta-learners here vectorise over a meta-batch
(notebooks 02, 06 and 07; :mod:`chapter_utils.learners.reptile`, :mod:`chapter_utils.learners.meta_sgd`,
:mod:`chapter_utils.learners.maml`).

Shapes: weights ``W`` are ``(fan_in, fan_out)`` (or ``(B, fan_in, fan_out)``),
biases ``(fan_out,)`` (or ``(B, fan_out)``); inputs ``(K, 1)`` (or ``(B, K, 1)``).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Callable

import numpy as np

from chapter_utils.checks import RngLike, as_generator, check_positive_int
from chapter_utils.environment import import_tensorflow

tf = import_tensorflow()

Params = list  # [W1, b1, W2, b2, ...]: tensors or arrays

#: Hidden-layer activations by name.
ACTIVATIONS: dict[str, Callable] = {"relu": tf.nn.relu, "tanh": tf.math.tanh}


def layer_sizes(hidden: Sequence[int], n_in: int = 1, n_out: int = 1) -> list[int]:
    """``[n_in, *hidden, n_out]``, checked: every width a positive integer."""
    try:
        widths = [check_positive_int(h, "every hidden width") for h in hidden]
    except TypeError:
        raise ValueError(f"hidden must be a sequence of layer widths, got {hidden!r}") from None
    return [check_positive_int(n_in, "n_in"), *widths, check_positive_int(n_out, "n_out")]


def init_params(hidden: Sequence[int], rng: RngLike = None, *, n_in: int = 1, n_out: int = 1,
                dtype: np.dtype = np.float32) -> list[np.ndarray]:
    """Fresh parameters as numpy arrays: ``W``, ``b`` uniform in ±1/√fan_in.

    That is PyTorch's default for linear layers, the initialiser OpenAI's
    Reptile sine demo relies on; unlike the chapter's ``U[0, 1)`` (§7.7, error
    4) it is centred on zero and scaled to the layer's width.
    """
    sizes = layer_sizes(hidden, n_in, n_out)
    gen = as_generator(rng)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        params.append(gen.uniform(-bound, bound, size=(fan_in, fan_out)).astype(dtype))
        params.append(gen.uniform(-bound, bound, size=(fan_out,)).astype(dtype))
    return params


def activation_fn(name: str) -> Callable:
    """The hidden activation called ``name`` (``"relu"`` or ``"tanh"``)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]


def forward(params: Params, x, activation: str = "relu"):
    """The network's output for inputs ``x``; linear output layer.

    ``x`` is ``(K, n_in)`` with unbatched parameters, or ``(B, K, n_in)`` with
    parameters batched over ``B`` tasks (or unbatched ones, shared by all B).
    """
    act = activation_fn(activation)
    h = x
    last = len(params) // 2 - 1
    for i in range(0, len(params), 2):
        w, b = params[i], params[i + 1]
        if len(b.shape) == 2:          # batched bias (B, fan_out) → (B, 1, fan_out)
            b = b[:, None, :]
        h = tf.matmul(h, w) + b
        if i // 2 < last:
            h = act(h)
    return h


def mse(params: Params, x, y, activation: str = "relu"):
    """Mean squared error of :func:`forward` against ``y`` (same shape as the output):
    a scalar for one network, ``(B,)`` — one loss per task — for a batch."""
    err = tf.square(forward(params, x, activation) - y)
    return tf.reduce_mean(err, axis=[-2, -1])


def tile(params: Params, batch: int) -> list:
    """Copy unbatched parameters ``batch`` times along a new leading task axis.

    Written with ``tf.broadcast_to``, not ``tf.tile``: on some CPUs a second
    derivative through ``tf.tile`` in eager mode makes oneDNN print an error line
    ("oneDNN supports DT_INT32 only on platforms with AVX-512") into the
    notebook (notebook 02, §7.2.4).
    """
    batch = check_positive_int(batch, "batch")
    tensors = [tf.convert_to_tensor(p) for p in params]
    return [tf.broadcast_to(t[None], [batch, *t.shape]) for t in tensors]


def count(params: Params) -> int:
    """Number of scalars in ``params``."""
    return int(sum(np.prod(p.shape) for p in params))
