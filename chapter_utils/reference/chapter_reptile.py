"""The chapter's §7.7 Reptile, ported from TensorFlow 1 to TensorFlow 2 and nothing else (notebook 06).

Same network (1-64-1, ``tanh`` hidden *and* output), same ``U[0, 1)`` initial
weights, same Adam(1e-2) shared by every task, same hyperparameters (100
epochs, 2 tasks, 50 samples drawn with replacement, 10 passes of minibatches
of 10, ε = 0.1), same serial meta-update and the same log line every 10
epochs. The TF1 → TF2 changes are mechanical: placeholders become function
arguments, ``sess.run(optimizer, feed_dict=...)`` becomes a compiled
:meth:`ChapterNetwork.train_step`, ``sess.run([w1, ...])`` becomes
``.numpy()``, ``w1.load(value, sess)`` becomes ``w1.assign(value)``.

Notebook 06 shows this source, runs it, and measures what it gets wrong;
:class:`chapter_utils.learners.reptile.Reptile` is the fixed version.
:meth:`ChapterNetwork.predict_adapted` lets the held-out benchmark
(:mod:`chapter_utils.evaluation.sine`) score the chapter's trained network
with the chapter's own inner procedure (a fresh Adam, lr 1e-2, per task).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from chapter_utils.checks import RngLike, as_generator, check_query, check_support_sets
from chapter_utils.environment import import_tensorflow
from chapter_utils.learners.base import predict_by_steps
from chapter_utils.nets import mlp as fmlp
from chapter_utils.tasks.sine import sample_sine_points

tf = import_tensorflow()

# The chapter's hyperparameters, as printed.
NUM_HIDDEN = 64
NUM_EPOCHS = 100
NUM_SAMPLES = 50      # the text says 10
NUM_TASKS = 2
NUM_ITERATIONS = 10
MINI_BATCH = 10
EPSILON = 0.1
ADAM_LR = 1e-2


class ChapterNetwork:
    """The chapter's two-layer network and its optimizer, as TF2 variables.

    ``Yhat = tanh(tanh(X w1 + b1) w2 + b2)``; every weight and bias starts
    ``U[0, 1)`` (``tf.random_uniform``'s default range); one Adam optimizer.
    """

    def __init__(self, seed: int = 0):
        init = tf.random.Generator.from_seed(seed)
        self.w1 = tf.Variable(init.uniform([1, NUM_HIDDEN]))
        self.b1 = tf.Variable(init.uniform([NUM_HIDDEN]))
        self.w2 = tf.Variable(init.uniform([NUM_HIDDEN, 1]))
        self.b2 = tf.Variable(init.uniform([1]))
        self.variables = [self.w1, self.b1, self.w2, self.b2]
        self.optimizer = tf.keras.optimizers.Adam(ADAM_LR)

    def __call__(self, X):
        """The forward pass, ``X`` of shape ``(n, 1)``."""
        return forward([self.w1, self.b1, self.w2, self.b2], X)

    @tf.function(reduce_retracing=True)
    def train_step(self, X, Y):
        """``sess.run(optimizer, feed_dict={X: ..., Y: ...})``: one Adam step on the MSE."""
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(self(X) - Y))
        self.optimizer.apply_gradients(zip(tape.gradient(loss, self.variables), self.variables))
        return loss

    def loss(self, x: np.ndarray, y: np.ndarray) -> float:
        """``sess.run(loss_function, feed_dict=...)`` for 1-D ``x`` and ``y``."""
        X = tf.constant(x.reshape(-1, 1), tf.float32)
        return float(tf.reduce_mean(tf.square(self(X) - y.reshape(-1, 1))))

    def parameters(self) -> list[np.ndarray]:
        """``sess.run([w1, b1, w2, b2])``."""
        return [v.numpy() for v in self.variables]

    # -- scored like every other learner (notebook 06, §7.7.4) --------------------------------

    def predict_adapted(self, x_support: np.ndarray, y_support: np.ndarray, x_query: np.ndarray,
                        steps: Sequence[int]) -> np.ndarray:
        """Adapt to ``T`` tasks at once with the chapter's inner optimizer — a fresh
        Adam(1e-2) per task, full batch (``K`` ≤ 10 is one of its minibatches) —
        and predict after each number of ``steps``: ``(len(steps), T, Q)``."""
        xs, ys = (a.astype(np.float32) for a in check_support_sets(x_support, y_support))
        xq = check_query(x_query).astype(np.float32)
        t = xs.shape[0]
        w = fmlp.tile(self.variables, t)
        x, y = tf.constant(xs[..., None]), tf.constant(ys[..., None])
        q = tf.constant(np.broadcast_to(xq[None, :, None], (t, xq.size, 1)))

        def advance(state, done, n):
            return _adam_steps(*state, x, y, tf.constant(done), tf.constant(n))

        return predict_by_steps((w, [tf.zeros_like(p) for p in w] * 2), advance,
                                      lambda state: forward(state[0], q).numpy()[..., 0], steps)


def forward(params, X):
    """The chapter's forward pass for one network or a batch (leading task axis)."""
    w1, b1, w2, b2 = params
    if len(b1.shape) == 2:
        b1, b2 = b1[:, None, :], b2[:, None, :]
    a1 = tf.nn.tanh(tf.matmul(X, w1) + b1)
    return tf.nn.tanh(tf.matmul(a1, w2) + b2)


@tf.function(jit_compile=True, reduce_retracing=True)
def _adam_steps(w, state, x, y, start, steps):
    # Adam (Keras defaults: β1 0.9, β2 0.999, ε 1e-7), elementwise, so a batch of
    # per-task networks adapts exactly as if each had its own optimizer.
    b1, b2, eps = 0.9, 0.999, 1e-7
    n = len(w)

    def body(s, w, state):
        m, v = state[:n], state[n:]
        with tf.GradientTape() as tape:
            tape.watch(w)
            loss = tf.reduce_sum(tf.reduce_mean(tf.square(forward(w, x) - y), axis=[1, 2]))
        g = tape.gradient(loss, w)
        t = tf.cast(start + s + 1, tf.float32)
        m = [b1 * a + (1 - b1) * gi for a, gi in zip(m, g)]
        v = [b2 * a + (1 - b2) * gi * gi for a, gi in zip(v, g)]
        lr = ADAM_LR * tf.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        w = [p - lr * a / (tf.sqrt(c) + eps) for p, a, c in zip(w, m, v)]
        return s + 1, w, m + v

    _, w, state = tf.while_loop(lambda s, w, state: s < steps, body, (tf.constant(0), w, state))
    return w, state


@dataclass
class LogLine:
    """One epoch of the chapter's training: what it prints, and what notebook 06 adds."""

    epoch: int
    loss: float          #: the printed loss: last task's 50 samples, after the meta-update
    floor: float         #: the least any (−1, 1)-bounded output can score on those samples


@dataclass
class ChapterRun:
    network: ChapterNetwork
    log: list[LogLine] = field(default_factory=list)
    #: per task: cosine between the first Adam step taken on it and its minibatch's −gradient …
    first_step_cosine: list[float] = field(default_factory=list)
    #: … and what a fresh Adam's first step (−lr · sign(g), bias-corrected) would have scored.
    fresh_step_cosine: list[float] = field(default_factory=list)
    seconds_per_meta_iteration: float = float("nan")


def tanh_floor(y: np.ndarray) -> float:
    """The smallest MSE any prediction bounded by ±1 can reach on targets ``y``: mean((|y| − 1)₊²)."""
    return float(np.mean(np.maximum(np.abs(np.asarray(y)) - 1.0, 0.0) ** 2))


def _flat(arrays) -> np.ndarray:
    return np.concatenate([np.ravel(a) for a in arrays])


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-30))


def _probe_first_step(net: ChapterNetwork, run: ChapterRun, x: np.ndarray, y: np.ndarray) -> None:
    # The first minibatch step of a task, taken as the loop takes it, with its
    # gradient measured first: does Adam's step follow this task's −gradient?
    X = tf.constant(x.reshape(-1, 1), tf.float32)
    Y = tf.constant(y.reshape(-1, 1), tf.float32)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(net(X) - Y))
    g = _flat([t.numpy() for t in tape.gradient(loss, net.variables)])
    before = _flat(net.parameters())
    net.train_step(X, Y)
    run.first_step_cosine.append(_cosine(_flat(net.parameters()) - before, -g))
    run.fresh_step_cosine.append(_cosine(-np.sign(g), -g))


def train_as_printed(epochs: int = NUM_EPOCHS, seed: int = 0, rng: RngLike = 0,
                     echo: Callable[[str], None] | None = print) -> ChapterRun:
    """The chapter's training loop, line for line (``with tf.Session()`` … ``w1.load``).

    ``seed`` seeds the initial weights, ``rng`` the task sampler (the book seeds
    neither). ``echo`` prints the book's log every 10 epochs (``None``: silent).
    Every epoch's loss is recorded with its :func:`tanh_floor`; every task's first
    Adam step is compared with that task's gradient (:attr:`ChapterRun.first_step_cosine`).
    """
    import time

    gen = as_generator(rng)
    net = ChapterNetwork(seed)
    run = ChapterRun(net)
    start = time.perf_counter()
    for e in range(epochs):
        for _task in range(NUM_TASKS):
            old_w1, old_b1, old_w2, old_b2 = net.parameters()
            x_sample, y_sample = sample_sine_points(NUM_SAMPLES, gen)
            _probe_first_step(net, run, x_sample[:MINI_BATCH], y_sample[:MINI_BATCH])
            for k in range(NUM_ITERATIONS):
                for i in range(0, NUM_SAMPLES, MINI_BATCH):
                    if k == 0 and i == 0:
                        continue   # taken by the probe, exactly as the loop would have taken it
                    x_minibatch = x_sample[i:i + MINI_BATCH]
                    y_minibatch = y_sample[i:i + MINI_BATCH]
                    net.train_step(tf.constant(x_minibatch.reshape(MINI_BATCH, 1), tf.float32),
                                   tf.constant(y_minibatch.reshape(MINI_BATCH, 1), tf.float32))
            new_w1, new_b1, new_w2, new_b2 = net.parameters()
            epsilon = EPSILON
            net.w1.assign(old_w1 + epsilon * (new_w1 - old_w1))
            net.b1.assign(old_b1 + epsilon * (new_b1 - old_b1))
            net.w2.assign(old_w2 + epsilon * (new_w2 - old_w2))
            net.b2.assign(old_b2 + epsilon * (new_b2 - old_b2))
        loss = net.loss(x_sample, y_sample)
        run.log.append(LogLine(e, loss, tanh_floor(y_sample)))
        if echo is not None and e % 10 == 0:
            echo(f"Epoch {e}: Loss {loss}\nUpdated Model Parameter Theta\n"
                 "Sampling Next Batch of Tasks \n---------------------------------")
    run.seconds_per_meta_iteration = (time.perf_counter() - start) / (epochs * NUM_TASKS)
    return run
