"""Meta-SGD for few-shot regression in TensorFlow 2 (notebook 02, §7.2; compared in notebook 07).

Meta-SGD (Li et al., 2017) learns a network's starting parameters θ *and* a
learning rate for every one of them, α (same shapes as θ). On a task it takes
``inner_steps`` steps on the K support points,

    θ' = θ − α ∘ ∇θ L_support(θ)          (∘: elementwise)

and is scored by the loss of θ' on fresh query points of the same task. The
outer step moves θ and α down the gradient of that query loss, averaged over a
meta-batch of tasks — differentiating *through* the inner step, which needs
second derivatives of the network (nested ``tf.GradientTape``s), or drops them
(``first_order=True``). MAML (:class:`chapter_utils.learners.maml.MAML`) is the same
learner with α a fixed scalar; it subclasses :class:`MetaSGD`.

How it is made fast (notebook 02, §7.2.5):

* the network is :mod:`chapter_utils.nets.mlp`: parameters are plain
  tensors, batched over the meta-batch with a leading task axis, so a whole
  meta-batch adapts in one batched forward/backward pass;
* tasks are drawn in numpy blocks of :data:`CHUNK` meta-iterations, and one
  compiled ``tf.function`` (XLA by default) runs the whole block — the inner
  steps, the meta-gradient and the Adam update of θ and α — without returning
  to Python in between.

The learner has the shape of every learner (:class:`chapter_utils.learners.base.MetaLearner`)
and the protocol of the sine benchmark (:mod:`chapter_utils.evaluation.sine`):
``fit``, ``adapt`` and ``predict_adapted``.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, ClassVar

import numpy as np

from chapter_utils.checks import (
    Progress,
    check_positive_int,
    check_query,
    check_steps,
    check_support,
    check_support_sets,
)
from chapter_utils.environment import import_tensorflow
from chapter_utils.learners.base import (
    Hyperparameter,
    MetaLearner,
    adam_slots,
    adam_update,
    checked_predictor,
    predict_by_steps,
    schedule,
    shared,
)
from chapter_utils.nets import mlp as fmlp
from chapter_utils.tasks.sine import SineTasks

tf = import_tensorflow()

#: Meta-iterations run by one call of the compiled training function.
CHUNK = 250


# -- the computation, written functionally (notebook 02, §7.2.3–7.2.4) ------------------
def inner_steps(params: list, alpha: list, x, y, steps: int, activation: str = "relu",
                first_order: bool = False) -> list:
    """``steps`` inner steps ``θ' = θ − α ∘ ∇θ L_support(θ)`` for a batch of tasks.

    ``params`` carry a leading task axis ``B`` (:func:`chapter_utils.nets.mlp.tile`);
    ``x``, ``y`` are ``(B, K, 1)``; ``alpha`` holds one tensor per parameter
    tensor, unbatched (broadcast over tasks; a scalar for MAML). The support
    losses of the tasks are *summed*, so each task's copy of the parameters
    receives exactly its own task's gradient. With ``first_order`` the
    gradient is a constant to any outer tape (``tf.stop_gradient``), which
    drops the second-order term of the meta-gradient.
    """
    for _ in range(steps):
        with tf.GradientTape() as tape:
            tape.watch(params)
            loss = tf.reduce_sum(fmlp.mse(params, x, y, activation))
        grads = tape.gradient(loss, params)
        if first_order:
            grads = [tf.stop_gradient(g) for g in grads]
        params = [p - a * g for p, a, g in zip(params, alpha, grads)]
    return params


def meta_loss(theta: list, alpha: list, x_support, y_support, x_query, y_query, steps: int,
              activation: str = "relu", first_order: bool = False):
    """Mean over tasks of the query MSE after ``steps`` inner steps: what the outer step minimises.

    ``theta`` unbatched; support and query sets ``(B, K, 1)`` and ``(B, Q, 1)``.
    """
    adapted = inner_steps(fmlp.tile(theta, x_support.shape[0]), alpha, x_support, y_support,
                          steps, activation, first_order)
    return tf.reduce_mean(fmlp.mse(adapted, x_query, y_query, activation))


@cache
def _train_block(activation: str, steps: int, first_order: bool, learns_alpha: bool,
                 jit_compile: bool) -> Callable:
    """The compiled function that runs up to :data:`CHUNK` meta-iterations, one per block row.

    One per static configuration, shared by every learner (the variables are
    arguments, not captured), so a second learner of the same structure does
    not compile again. Adam is written out as tensor operations on variables:
    it updates θ (and α) *after* the outer tape is closed, never inside the
    inner loop.
    """
    def run(theta, alpha, slots_m, slots_v, step_count, x_block, y_block, n, shots, meta_lr):
        # meta_lr: (CHUNK,), the outer step size of every meta-iteration of the block
        trainable = list(theta) + list(alpha) if learns_alpha else list(theta)
        losses = tf.TensorArray(x_block.dtype, size=x_block.shape[0])
        for i in tf.range(n):
            x, y = x_block[i][..., None], y_block[i][..., None]
            with tf.GradientTape() as outer:
                loss = meta_loss(theta, alpha, x[:, :shots], y[:, :shots], x[:, shots:],
                                 y[:, shots:], steps, activation, first_order)
            grads = outer.gradient(loss, trainable)
            adam_update(trainable, grads, slots_m, slots_v, step_count, [meta_lr[i]] * len(trainable))
            losses = losses.write(i, loss)
        return losses.stack()
    return tf.function(run, jit_compile=jit_compile)


@cache
def _adapt_fn(activation: str) -> Callable:
    """Compiled: ``steps`` inner steps from ``params`` (batched), for evaluation only."""
    def run(params, alpha, x, y, steps):
        for _ in tf.range(steps):
            params = inner_steps(params, alpha, x, y, 1, activation)
        return params
    return tf.function(run, reduce_retracing=True)


@cache
def _meta_gradient_fn(activation: str, steps: int, first_order: bool) -> Callable:
    """Compiled: the meta-loss and its gradients with respect to θ and α (checks, notebook 02)."""
    def run(theta, alpha, xs, ys, xq, yq):
        with tf.GradientTape() as outer:
            outer.watch(theta + alpha)
            loss = meta_loss(theta, alpha, xs, ys, xq, yq, steps, activation, first_order)
        grads = outer.gradient(loss, theta + alpha)
        return loss, grads[:len(theta)], grads[len(theta):]
    return tf.function(run, reduce_retracing=True)


def flatten(arrays: Sequence) -> np.ndarray:
    """Parameter tensors (θ or α) as one float64 vector, e.g. for finite differences."""
    return np.concatenate([np.ravel(np.asarray(a, dtype=float)) for a in arrays])


def unflatten(vector: np.ndarray, like: Sequence) -> list[np.ndarray]:
    """Inverse of :func:`flatten`: arrays shaped like those of ``like``."""
    vector = np.asarray(vector, dtype=float)
    sizes = [int(np.prod(np.shape(a))) for a in like]
    if vector.shape != (sum(sizes),):
        raise ValueError(f"expected a vector of {sum(sizes)} numbers, got shape {vector.shape}")
    pieces = np.split(vector, np.cumsum(sizes)[:-1])
    return [piece.reshape(np.shape(a)) for piece, a in zip(pieces, like)]


class MetaSGD(MetaLearner):
    """Meta-SGD for few-shot regression with a 1-D input and output (notebook 02, §7.2).

    Hyperparameters: :attr:`HYPERPARAMETERS` (``print(MetaSGD.describe())``);
    the defaults are the settings notebook 02 recommends for sine waves.

    After :meth:`fit`: :attr:`theta` and :attr:`alpha` (lists of numpy
    arrays ``[W1, b1, W2, b2, W3, b3]``), :attr:`losses` (the query loss after
    adapting, one per meta-iteration) and :attr:`seconds` (the wall time of the fit).
    """

    #: Names in figures and tables, second- and first-order (keys of ``plotting.COLOURS``).
    LABELS: ClassVar[tuple[str, str]] = ("Meta-SGD", "Meta-SGD (first-order)")
    LABEL: ClassVar[str] = "Meta-SGD"
    #: Whether α is learned (Meta-SGD) or a fixed scalar (MAML).
    learns_alpha: ClassVar[bool] = True
    HYPERPARAMETERS: ClassVar[tuple[Hyperparameter, ...]] = (
        shared("hidden", (40, 40), "hidden-layer widths (the Meta-SGD paper's 40-40)"),
        shared("activation", "relu", "hidden-layer activation"),
        shared("meta_batch", 25, "tasks per meta-iteration"),
        shared("shots", 10, "support points per task (K) in meta-training"),
        Hyperparameter("query", 10, "query points per task that score the adaptation", kind="int",
                       low=1),
        shared("inner_steps", 1, "inner steps during meta-training", low=1),
        shared("inner_lr", 0.01, "initial value of every entry of α (small, positive)", symbol="α₀"),
        shared("meta_lr", 0.005, "Adam's step size for the outer update of θ and α"),
        shared("anneal", True, "cosine-anneal β to 0 over the budget of a fit"),
        shared("iterations", 50_000, "default budget of fit (meta-iterations)"),
        Hyperparameter("first_order", False, "drop the second-order term of the meta-gradient",
                       kind="bool"),
        Hyperparameter("dtype", "float32", "floating-point type", kind="choice",
                       choices=("float32", "float64")),
        shared("jit_compile", True, "compile the training loop with XLA"),
    )

    @property
    def label(self) -> str:
        """The method's name, e.g. ``"Meta-SGD"`` or ``"first-order MAML"``."""
        return self.LABELS[self.first_order]

    # -- parameters -------------------------------------------------------------------
    def initial_parameters(self, seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """θ from :func:`chapter_utils.nets.mlp.init_params` and α = ``inner_lr`` everywhere
        (one array per θ array for Meta-SGD; one scalar per θ array for MAML)."""
        theta = fmlp.init_params(self.hidden, seed, dtype=np.dtype(self.dtype))
        if self.learns_alpha:
            alpha = [np.full_like(p, self.inner_lr) for p in theta]
        else:
            alpha = [np.asarray(self.inner_lr, dtype=self.dtype) for _ in theta]
        return theta, alpha

    def _start(self, seed: int):
        theta, alpha = self.initial_parameters(seed)
        return theta, alpha, np.random.default_rng([int(seed), 1])

    def _wrap(self, theta, alpha):
        return ([tf.Variable(p) for p in theta],
                [tf.Variable(a) if self.learns_alpha else tf.constant(a) for a in alpha])

    def _tensor(self, values: np.ndarray):
        return tf.constant(np.asarray(values, dtype=self.dtype))

    # -- training ---------------------------------------------------------------------
    def _check_tasks(self, tasks: Any) -> Any:
        if not callable(getattr(tasks, "sample_batch", None)):
            raise ValueError(f"tasks must have a sample_batch(n, k, rng) method, got {tasks!r}")
        return tasks

    def _train(self, tasks: Any, iterations: int, rng: np.random.Generator, seed: int,
               progress: Progress | None) -> None:
        """Every meta-iteration draws ``meta_batch`` new tasks with ``shots`` support and
        ``query`` query points each; ``progress(i, total, loss)`` is called after every
        block of :data:`CHUNK` meta-iterations with the block's mean query loss.
        Training stops early once the loss is no longer finite."""
        trainable = self._theta + (self._alpha if self.learns_alpha else [])
        slots_m, slots_v, step_count = adam_slots(trainable)
        block = _train_block(self.activation, self.inner_steps, self.first_order,
                             self.learns_alpha, self.jit_compile)
        shots, points = self.shots, self.shots + self.query
        losses: list[np.ndarray] = []
        done = 0
        while done < iterations:
            n = min(CHUNK, iterations - done)
            x = np.zeros((CHUNK, self.meta_batch, points), dtype=self.dtype)
            y = np.zeros_like(x)
            xs, ys = tasks.sample_batch(n * self.meta_batch, points, rng)[:2]
            x[:n] = xs.reshape(n, self.meta_batch, points)
            y[:n] = ys.reshape(n, self.meta_batch, points)
            meta_lr = np.zeros(CHUNK, dtype=self.dtype)
            meta_lr[:n] = self.meta_lr * schedule("cosine" if self.anneal else "constant",
                                                  np.arange(done, done + n), iterations)
            out = block(self._theta, self._alpha, slots_m, slots_v, step_count, tf.constant(x),
                        tf.constant(y), tf.constant(n), shots, tf.constant(meta_lr))
            losses.append(out.numpy()[:n])
            done += n
            mean = float(np.mean(losses[-1]))
            if progress is not None:
                progress(done, iterations, mean)
            if not np.isfinite(mean):
                break
        self.losses = np.concatenate(losses).astype(float)

    # -- adaptation ---------------------------------------------------------------------
    def _adapt_from(self, x_support: np.ndarray, y_support: np.ndarray):
        """Batched θ for ``T`` tasks and the function that adapts it ``n`` more steps."""
        self._require_fit()
        run = _adapt_fn(self.activation)
        xs, ys = self._tensor(x_support[..., None]), self._tensor(y_support[..., None])
        return (fmlp.tile(self._theta, x_support.shape[0]),
                lambda params, done, n: run(params, self._alpha, xs, ys, tf.constant(n)))

    def predict_adapted(self, x_support: np.ndarray, y_support: np.ndarray, x_query: np.ndarray,
                        steps: Sequence[int] = (0, 1)) -> np.ndarray:
        """Predictions at ``x_query (Q,)`` after adapting to each of T support sets.

        ``x_support``, ``y_support``: ``(T, K)``; ``steps``: step counts
        (≥ 0). Returns ``(len(steps), T, Q)``; the meta-parameters are not
        changed. Used by :func:`chapter_utils.evaluation.sine.predictions`.
        """
        x_support, y_support = check_support_sets(x_support, y_support)
        x_query = check_query(x_query)
        grid = self._tensor(np.broadcast_to(x_query[None, :, None],
                                            (x_support.shape[0], x_query.size, 1)))
        start, advance = self._adapt_from(x_support, y_support)
        return predict_by_steps(
            start, advance, lambda p: fmlp.forward(p, grid, self.activation)[..., 0].numpy(), steps)

    def adapt(self, x: np.ndarray, y: np.ndarray, steps: int | None = None
              ) -> Callable[[np.ndarray], np.ndarray]:
        """Adapt to one task from its support set; return ``predict(x) -> y`` (1-D arrays).

        ``steps=None`` means the ``inner_steps`` used in meta-training. The
        meta-parameters are not changed.
        """
        x, y = check_support(x, y)
        steps = self.inner_steps if steps is None else check_steps(steps, "steps")
        start, advance = self._adapt_from(x[None], y[None])
        params = [p[0].numpy() for p in advance(start, 0, steps)]
        activation = self.activation
        return checked_predictor(
            lambda x_new: fmlp.forward(params, self._tensor(x_new[:, None]), activation).numpy()[:, 0])

    # -- the meta-objective, for checks -------------------------------------------------
    def meta_gradients(self, x_support: np.ndarray, y_support: np.ndarray, x_query: np.ndarray,
                       y_query: np.ndarray, theta: Sequence[np.ndarray] | None = None,
                       alpha: Sequence[np.ndarray] | None = None
                       ) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
        """The meta-loss over T tasks and its gradients with respect to θ and α.

        Support ``(T, K)``, query ``(T, Q)``. ``theta`` and ``alpha`` default to
        the learned ones. Returns ``(loss, dθ, dα)``; exactly what one outer step
        of :meth:`fit` follows (before Adam), second order unless ``first_order``.
        """
        x_support, y_support = check_support_sets(x_support, y_support)
        x_query, y_query = check_support_sets(x_query, y_query)
        if x_query.shape[0] != x_support.shape[0]:
            raise ValueError(f"support and query sets must cover the same tasks, got "
                             f"{x_support.shape[0]} and {x_query.shape[0]}")
        if theta is None or alpha is None:
            self._require_fit()
        theta = [self._tensor(p) for p in (theta if theta is not None else self.theta)]
        alpha = [self._tensor(a) for a in (alpha if alpha is not None else self.alpha)]
        run = _meta_gradient_fn(self.activation, self.inner_steps, self.first_order)
        loss, d_theta, d_alpha = run(theta, alpha, *(self._tensor(a[..., None]) for a in
                                                     (x_support, y_support, x_query, y_query)))
        return float(loss), [g.numpy() for g in d_theta], [g.numpy() for g in d_alpha]


def time_meta_iteration(learner_cls: type = MetaSGD, repeats: int = 3, iterations: int = 2000,
                        **config: Any) -> float:
    """Seconds per meta-iteration of ``learner_cls(**config).fit`` (best of ``repeats``).

    Compilation is excluded (a first, short fit compiles); task sampling is
    included. For ``chapter_utils.tooling.benchmark``; notebook 02 quotes it.
    """
    repeats = check_positive_int(repeats, "repeats")
    iterations = check_positive_int(iterations, "iterations")
    learner, tasks = learner_cls(**config), SineTasks()
    learner.fit(tasks, iterations=CHUNK)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        learner.fit(tasks, iterations=iterations)
        best = min(best, time.perf_counter() - start)
    return best / iterations
