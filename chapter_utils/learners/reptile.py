"""Reptile for few-shot sine regression, fixed and fast (notebook 06, §7.7; reused by 07 and the playground).

The algorithm of §7.6: for each task of a meta-batch, run ``inner_steps`` of
plain SGD from θ on the task's ``K`` support points to get θ*ᵢ, then move θ
toward them, θ ← θ + ε · (1/n) Σᵢ (θ*ᵢ − θ), with ε annealed linearly from
``epsilon`` to 0. ``meta_batch=1`` is the serial version the chapter prints.

What is fixed relative to the chapter's code (notebook 06 measures each one):
a linear output layer instead of ``tanh``; centred ±1/√fan_in initial weights
instead of ``U[0, 1)``; a plain SGD inner loop that starts afresh for every
task instead of one Adam whose moments leak across tasks; ``K`` points drawn
uniformly instead of 50 points drawn with replacement from a grid; and an
:meth:`Reptile.adapt` that actually adapts to a new task.

What makes it fast: the tasks of a meta-batch are one batched network (a
leading task axis, :mod:`chapter_utils.nets.mlp`), and a whole chunk of
meta-iterations — inner loops included — runs as one XLA-compiled TensorFlow
function, so Python is entered once per chunk, not once per SGD step.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, ClassVar

import numpy as np

from chapter_utils.checks import (
    Progress,
    as_generator,
    check_query,
    check_steps,
    check_support,
    check_support_sets,
)
from chapter_utils.environment import import_tensorflow
from chapter_utils.learners.base import (
    Hyperparameter,
    MetaLearner,
    checked_predictor,
    predict_by_steps,
    schedule,
    shared,
)
from chapter_utils.nets import mlp as fmlp

tf = import_tensorflow()

#: Meta-iterations run by one compiled call (and between two progress reports).
CHUNK = 250


@cache
def _compiled(activation: str):
    """The compiled pieces for one activation, shared by every :class:`Reptile` instance.

    Hyperparameters enter as tensors, so building a new learner (as every
    panel click does) reuses the traced and XLA-compiled functions whenever
    the shapes match.
    """

    def sgd(w, x, y, lr, steps):
        # ``steps`` plain SGD steps on every task's support set at once; returns
        # the adapted weights and the mean loss before the first step.
        def body(s, w, first):
            with tf.GradientTape() as tape:
                tape.watch(w)
                loss = fmlp.mse(w, x, y, activation)           # (B,) one loss per task
                total = tf.reduce_sum(loss)                    # tasks are independent: Σ gives each its own gradient
            grads = tape.gradient(total, w)
            first = tf.where(s == 0, tf.reduce_mean(loss), first)
            return s + 1, [a - lr * g for a, g in zip(w, grads)], first

        _, w, first = tf.while_loop(lambda s, w, first: s < steps, body,
                                    (tf.constant(0), w, tf.constant(np.nan, x.dtype)))
        return w, first

    @tf.function(jit_compile=True, reduce_retracing=True)
    def train_chunk(theta, x, y, eps, lr, steps):
        # x, y: (C, B, K, 1); eps: (C,). Returns θ after C meta-iterations and the
        # tasks' mean loss before and after the inner loop at each iteration.
        chunk, batch = tf.shape(x)[0], tf.shape(x)[1]
        before = tf.TensorArray(x.dtype, size=chunk)
        after = tf.TensorArray(x.dtype, size=chunk)
        for i in tf.range(chunk):
            w = [tf.tile(p[None], tf.concat([[batch], tf.ones_like(tf.shape(p))], 0)) for p in theta]
            w, first = sgd(w, x[i], y[i], lr, steps)
            before = before.write(i, first)
            after = after.write(i, tf.reduce_mean(fmlp.mse(w, x[i], y[i], activation)))
            theta = [p + eps[i] * (tf.reduce_mean(a, axis=0) - p) for p, a in zip(theta, w)]
        return theta, before.stack(), after.stack()

    @tf.function(jit_compile=True, reduce_retracing=True)
    def adapt_batch(w, x, y, lr, steps):
        return sgd(w, x, y, lr, steps)[0]

    @tf.function(reduce_retracing=True)
    def forward(w, x):
        return fmlp.forward(w, x, activation)

    return train_chunk, adapt_batch, forward


class Reptile(MetaLearner):
    """Reptile on a 1-hidden-…-1 network; defaults are notebook 06's recommended sine settings.

    ``Reptile().fit(SineTasks())`` meta-trains with the default budget
    (``iterations``) from ``shots``-point support sets; ``adapt(x, y)`` then
    fits a new task from its support points with ``eval_steps`` SGD steps.
    Hyperparameters: :attr:`HYPERPARAMETERS` (``print(Reptile.describe())``).

    After :meth:`fit`: :attr:`theta` (the meta-learned start), :attr:`alpha`
    (``inner_lr``, one scalar per tensor: Reptile's inner step is fixed),
    :attr:`initial_theta`, :attr:`losses` and :attr:`losses_before` (the
    meta-batch's mean support loss after and before the inner loop, per
    meta-iteration) and :attr:`seconds`.
    """

    LABEL: ClassVar[str] = "Reptile"
    HYPERPARAMETERS: ClassVar[tuple[Hyperparameter, ...]] = (
        shared("hidden", (64, 64), "hidden-layer widths (the Reptile paper's 64-64)"),
        shared("activation", "tanh", "hidden-layer activation"),
        shared("inner_steps", 5, "plain-SGD steps of the inner loop (k)"),
        shared("inner_lr", 0.02, "step size of the inner loop, also used by adapt"),
        shared("meta_batch", 10, "tasks per meta-update (1 = the chapter's serial version)"),
        shared("shots", 10, "support points per task (K) in meta-training"),
        Hyperparameter("epsilon", 1.0, "the outer step size, annealed linearly to 0", low=0.0,
                       symbol="ε", log_scale=True),
        shared("iterations", 100_000, "default budget of fit (meta-iterations)"),
        Hyperparameter("eval_steps", 32, "SGD steps adapt takes by default", kind="int", low=0),
    )

    def __init__(self, **hyperparameters: Any) -> None:
        super().__init__(**hyperparameters)
        #: The meta-batch's mean support loss before the inner loop, per meta-iteration.
        self.losses_before = np.empty(0)

    # -- meta-training -------------------------------------------------------------------------
    def _check_tasks(self, tasks: Any) -> Any:
        if not callable(getattr(tasks, "sample_batch", None)):
            raise ValueError(f"tasks must have a sample_batch(n, k, rng) method, got {tasks!r}")
        return tasks

    def _start(self, seed: int):
        gen = as_generator(seed)
        theta = fmlp.init_params(self.hidden, gen)
        return theta, [np.float32(self.inner_lr) for _ in theta], gen

    def _train(self, tasks: Any, iterations: int, rng: np.random.Generator, seed: int,
               progress: Progress | None) -> None:
        """Every iteration draws ``meta_batch`` fresh tasks with ``shots`` points each;
        ``progress(iteration, total, loss)`` is called after every chunk of :data:`CHUNK`
        iterations with the mean pre-adaptation loss of the last one (the panel stops a
        diverging run by raising from it)."""
        train_chunk = _compiled(self.activation)[0]
        theta = [tf.constant(p) for p in self._theta]
        lr, steps = tf.constant(self.inner_lr, tf.float32), tf.constant(self.inner_steps)
        shots = self.shots
        before, after = [], []
        for start in range(0, iterations, CHUNK):
            size = min(CHUNK, iterations - start)
            x, y, _, _ = tasks.sample_batch(size * self.meta_batch, shots, rng)
            shape = (size, self.meta_batch, shots, 1)
            eps = self.epsilon * schedule("linear", np.arange(start, start + size), iterations)
            theta, b, a = train_chunk(theta, tf.constant(x.reshape(shape), tf.float32),
                                      tf.constant(y.reshape(shape), tf.float32),
                                      tf.constant(eps, tf.float32), lr, steps)
            before.append(b.numpy())
            after.append(a.numpy())
            if progress is not None:
                progress(start + size, iterations, float(before[-1][-1]))
        self._theta = [p.numpy() for p in theta]
        self.losses_before, self.losses = np.concatenate(before), np.concatenate(after)

    # -- adaptation ----------------------------------------------------------------------------
    def predict_adapted(self, x_support: np.ndarray, y_support: np.ndarray, x_query: np.ndarray,
                        steps: Sequence[int]) -> np.ndarray:
        """Adapt to ``T`` tasks at once and predict after each number of ``steps``.

        ``x_support``, ``y_support``: ``(T, K)``; ``x_query``: ``(Q,)``, shared by
        all tasks; returns ``(len(steps), T, Q)``. The vectorised path of
        :func:`chapter_utils.evaluation.sine.predictions`.
        """
        self._require_fit()
        xs, ys = check_support_sets(x_support, y_support)
        xq = check_query(x_query)
        _, adapt_batch, forward = _compiled(self.activation)
        t = xs.shape[0]
        x = tf.constant(xs[..., None], tf.float32)
        y = tf.constant(ys[..., None], tf.float32)
        q = tf.constant(np.broadcast_to(xq[None, :, None], (t, xq.size, 1)), tf.float32)
        lr = tf.constant(self.inner_lr, tf.float32)
        return predict_by_steps(
            fmlp.tile(self._theta, t), lambda w, done, n: adapt_batch(w, x, y, lr, tf.constant(n)),
            lambda w: forward(w, q).numpy()[..., 0], steps)

    def adapt(self, x: np.ndarray, y: np.ndarray, steps: int | None = None
              ) -> Callable[[np.ndarray], np.ndarray]:
        """Fit one new task from its support points; the meta-parameters are left untouched.

        Runs ``steps`` (default ``eval_steps``) plain-SGD steps from the
        meta-learned θ on ``(x, y)`` and returns ``predict``: a function from a
        1-D array of inputs to a 1-D array of outputs.
        """
        self._require_fit()
        x, y = check_support(x, y)
        steps = self.eval_steps if steps is None else check_steps(steps)
        _, adapt_batch, forward = _compiled(self.activation)
        w = adapt_batch(fmlp.tile(self._theta, 1), tf.constant(x[None, :, None], tf.float32),
                        tf.constant(y[None, :, None], tf.float32),
                        tf.constant(self.inner_lr, tf.float32), tf.constant(steps))
        adapted = [p.numpy() for p in w]
        return checked_predictor(
            lambda x_new: forward(adapted, tf.constant(x_new[None, :, None], tf.float32)).numpy()[0, :, 0])
