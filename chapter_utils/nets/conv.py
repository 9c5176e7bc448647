"""The papers' 4-block convolutional network, written functionally and sized for a CPU (notebook 09).

MAML, Meta-SGD, Reptile and prototypical networks all classify Omniglot with the same
network: four blocks of a 3 × 3 convolution, a normalisation and a ReLU, then a
linear layer on the flattened features. Here each block is a stride-2 convolution
with ``channels`` filters (28 → 14 → 7 → 4 → 2, as in the Reptile paper's Omniglot
net), normalised per image (zero mean, unit variance over the block's output — no
statistics shared between images, so nothing is transductive), then ReLU.

As in :mod:`chapter_utils.nets.mlp`, parameters are a plain list of tensors
``[W1, b1, …, W4, b4]`` (the body) and the classifier head is ``[W, b]`` apart, so
a learner can start every task's head at zero. The same functions run one network
or a *batch* of networks, one per task, when every parameter has a leading task
axis: the tasks of a meta-batch then adapt in one compiled call.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from chapter_utils.checks import RngLike, as_generator, check_positive_int
from chapter_utils.environment import import_tensorflow
from chapter_utils.nets.mlp import count, tile  # noqa: F401  (the same helpers serve both networks)

tf = import_tensorflow()

#: Convolution blocks (the papers' four).
BLOCKS = 4
#: Input side in pixels.
SIZE = 28


def feature_size(channels: int, size: int = SIZE, blocks: int = BLOCKS) -> int:
    """Length of the flattened features after ``blocks`` stride-2 blocks ("SAME" padding)."""
    for _ in range(blocks):
        size = -(-size // 2)
    return channels * size * size


def init_body(channels: int = 32, rng: RngLike = None, dtype=np.float32) -> list[np.ndarray]:
    """Fresh body parameters: He-normal 3 × 3 filters ``(3, 3, c_in, c_out)``, zero biases."""
    channels = check_positive_int(channels, "channels")
    gen = as_generator(rng)
    params, c_in = [], 1
    for _ in range(BLOCKS):
        std = np.sqrt(2.0 / (9 * c_in))
        params.append((gen.standard_normal((3, 3, c_in, channels)) * std).astype(dtype))
        params.append(np.zeros(channels, dtype))
        c_in = channels
    return params


def zero_head(channels: int, n_way: int, dtype=np.float32) -> list[np.ndarray]:
    """A classifier head of zeros, ``[W (features, N), b (N,)]``: every class scored alike."""
    return [np.zeros((feature_size(channels), n_way), dtype), np.zeros(n_way, dtype)]


def _normalise(h):
    mean, var = tf.nn.moments(h, axes=[-3, -2, -1], keepdims=True)
    return (h - mean) * tf.math.rsqrt(var + 1e-5)


def _features_one(body: Sequence, x):
    h = x[..., None]                                   # (M, 28, 28, 1)
    for i in range(0, len(body), 2):
        h = tf.nn.conv2d(h, body[i], strides=2, padding="SAME") + body[i + 1]
        h = tf.nn.relu(_normalise(h))
    return tf.reshape(h, [tf.shape(h)[0], -1])


def features(body: Sequence, x):
    """Flattened features of images ``x``.

    ``x`` is ``(M, 28, 28)`` with unbatched parameters, or ``(B, M, 28, 28)`` with
    parameters batched over ``B`` tasks (each task's images through its own network;
    unrolled over tasks, which XLA compiles into one program). Returns ``(M, F)`` or ``(B, M, F)``.
    """
    if len(body[0].shape) == 4:
        if len(x.shape) == 4:                          # shared network, batch of tasks
            b, m = x.shape[0], x.shape[1]
            out = _features_one(body, tf.reshape(x, [-1, *x.shape[2:]]))
            return tf.reshape(out, [b, m, -1])
        return _features_one(body, x)
    return tf.stack([_features_one([p[t] for p in body], x[t]) for t in range(x.shape[0])])


def logits(body: Sequence, head: Sequence, x):
    """Class scores: :func:`features` times the head ``W`` plus ``b`` (batched like ``body``)."""
    h = features(body, x)
    w, b = head
    if len(w.shape) == 3:
        return tf.matmul(h, w) + b[:, None, :]
    return tf.matmul(h, w) + b


def cross_entropy(body: Sequence, head: Sequence, x, labels):
    """Mean softmax cross-entropy per task: a scalar, or ``(B,)`` for a batch of tasks."""
    z = logits(body, head, x)
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=z)
    return tf.reduce_mean(loss, axis=-1)

