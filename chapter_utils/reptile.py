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
leading task axis, :mod:`chapter_utils.functional_mlp`), and a whole chunk of
meta-iterations — inner loops included — runs as one XLA-compiled TensorFlow
function, so Python is entered once per chunk, not once per SGD step.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from chapter_utils import functional_mlp as fmlp
from chapter_utils import sine_benchmark as bench
from chapter_utils.checks import check_positive_float, check_steps, check_query, check_support, check_support_sets
from chapter_utils.environment import import_tensorflow
from chapter_utils.tasks import SineTasks, as_generator, check_positive_int

tf = import_tensorflow()

#: ``progress(iteration, total, loss)``, the callback :class:`chapter_utils.widgets.HyperparameterPanel` passes.
Progress = Callable[[int, int, float], None]

#: Meta-iterations run by one compiled call (and between two progress reports).
CHUNK = 250


@lru_cache(maxsize=None)
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


@dataclass
class Reptile:
    """Reptile on a 1-hidden-…-1 network; defaults are notebook 06's recommended sine settings.

    ``Reptile().fit(SineTasks())`` meta-trains with the default budget
    (:attr:`iterations`) from ``shots``-point support sets; ``adapt(x, y)`` then
    fits a new task from its support points with :attr:`eval_steps` SGD steps.

    Hyperparameters: ``hidden`` widths and ``activation`` of the hidden layers
    (the Reptile paper's 64-64 tanh); ``inner_steps`` and ``inner_lr`` of the
    plain-SGD inner loop (also used by :meth:`adapt`); ``meta_batch`` tasks per
    meta-update (1 = the chapter's serial version); ``epsilon`` the initial
    outer step size ε, annealed linearly to 0; ``iterations`` the default
    budget of meta-iterations; ``eval_steps`` the default number of SGD steps
    of :meth:`adapt`.
    """

    hidden: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    inner_steps: int = 5
    inner_lr: float = 0.02
    meta_batch: int = 10
    epsilon: float = 1.0
    iterations: int = 100_000
    eval_steps: int = 32
    params: list[np.ndarray] | None = field(default=None, repr=False)
    initial_params: list[np.ndarray] | None = field(default=None, repr=False)
    history: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.hidden = tuple(self.hidden)
        fmlp.layer_sizes(self.hidden)
        fmlp.activation_fn(self.activation)
        self.inner_steps = check_steps(self.inner_steps)
        self.inner_lr = check_positive_float(self.inner_lr, "inner_lr")
        self.meta_batch = check_positive_int(self.meta_batch, "meta_batch")
        self.epsilon = check_positive_float(self.epsilon, "epsilon")
        self.iterations = check_positive_int(self.iterations, "iterations")
        self.eval_steps = check_steps(self.eval_steps)

    # -- meta-training -------------------------------------------------------------------------

    def fit(self, tasks: SineTasks, iterations: int | None = None, shots: int = 10,
            seed: int = 0, progress: Progress | None = None) -> "Reptile":
        """Meta-train on ``tasks`` for ``iterations`` meta-iterations (``None``: :attr:`iterations`).

        Every iteration draws :attr:`meta_batch` fresh tasks with ``shots``
        points each (``tasks.sample_batch``). ``progress(iteration, total,
        loss)`` is called after every chunk of :data:`CHUNK` iterations with the
        mean pre-adaptation loss of the last one; the panel stops a diverging
        run by raising from it. Records :attr:`history` (``"before"`` and
        ``"after"``: per-iteration mean support loss before and after the inner
        loop) and :attr:`initial_params` (θ before meta-training) and returns ``self``.
        """
        total = self.iterations if iterations is None else check_positive_int(iterations, "iterations")
        shots = check_positive_int(shots, "shots")
        gen = as_generator(seed)
        train_chunk = _compiled(self.activation)[0]
        self.initial_params = fmlp.init_params(self.hidden, gen)
        theta = [tf.constant(p) for p in self.initial_params]
        lr, steps = tf.constant(self.inner_lr, tf.float32), tf.constant(self.inner_steps)
        before, after = [], []
        for start in range(0, total, CHUNK):
            size = min(CHUNK, total - start)
            x, y, _, _ = tasks.sample_batch(size * self.meta_batch, shots, gen)
            shape = (size, self.meta_batch, shots, 1)
            eps = self.epsilon * (1.0 - np.arange(start, start + size) / total)
            theta, b, a = train_chunk(theta, tf.constant(x.reshape(shape), tf.float32),
                                      tf.constant(y.reshape(shape), tf.float32),
                                      tf.constant(eps, tf.float32), lr, steps)
            before.append(b.numpy())
            after.append(a.numpy())
            if progress is not None:
                progress(start + size, total, float(before[-1][-1]))
        self.params = [p.numpy() for p in theta]
        self.history = {"before": np.concatenate(before), "after": np.concatenate(after)}
        return self

    # -- adaptation ----------------------------------------------------------------------------

    def _require_fit(self) -> list[np.ndarray]:
        if self.params is None:
            raise RuntimeError("this Reptile has not been fitted: call .fit(tasks) first")
        return self.params

    def predict_adapted(self, x_support: np.ndarray, y_support: np.ndarray, x_query: np.ndarray,
                        steps: Sequence[int]) -> np.ndarray:
        """Adapt to ``T`` tasks at once and predict after each number of ``steps``.

        ``x_support``, ``y_support``: ``(T, K)``; ``x_query``: ``(Q,)``, shared by
        all tasks; returns ``(len(steps), T, Q)``. The vectorised path of
        :func:`chapter_utils.sine_benchmark.predictions`.
        """
        params = self._require_fit()
        xs, ys = check_support_sets(x_support, y_support)
        xq = check_query(x_query)
        _, adapt_batch, forward = _compiled(self.activation)
        t = xs.shape[0]
        x = tf.constant(xs[..., None], tf.float32)
        y = tf.constant(ys[..., None], tf.float32)
        q = tf.constant(np.broadcast_to(xq[None, :, None], (t, xq.size, 1)), tf.float32)
        lr = tf.constant(self.inner_lr, tf.float32)
        return bench.predict_by_steps(
            fmlp.tile(params, t), lambda w, done, n: adapt_batch(w, x, y, lr, tf.constant(n)),
            lambda w: forward(w, q).numpy()[..., 0], steps)

    def adapt(self, x: np.ndarray, y: np.ndarray, steps: int | None = None
              ) -> Callable[[np.ndarray], np.ndarray]:
        """Fit one new task from its support points; the meta-parameters are left untouched.

        Runs ``steps`` (default :attr:`eval_steps`) plain-SGD steps from the
        meta-learned θ on ``(x, y)`` and returns ``predict``: a function from a
        1-D array of inputs to a 1-D array of outputs.
        """
        x, y = check_support(x, y)
        steps = self.eval_steps if steps is None else check_steps(steps)
        params = self._require_fit()
        _, adapt_batch, forward = _compiled(self.activation)
        w = adapt_batch(fmlp.tile(params, 1), tf.constant(x[None, :, None], tf.float32),
                        tf.constant(y[None, :, None], tf.float32),
                        tf.constant(self.inner_lr, tf.float32), tf.constant(steps))
        adapted = [p.numpy() for p in w]

        def predict(x_new: np.ndarray) -> np.ndarray:
            x_new = np.asarray(x_new, dtype=float)
            if x_new.ndim != 1:
                raise ValueError(f"predict takes a 1-D array of inputs, got shape {x_new.shape}")
            return forward(adapted, tf.constant(x_new[None, :, None], tf.float32)).numpy()[0, :, 0]

        return predict
