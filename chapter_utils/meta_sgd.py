"""Meta-SGD for few-shot regression in TensorFlow 2 (notebook 02, §7.2; compared in notebook 07).

Meta-SGD (Li et al., 2017) learns a network's starting parameters θ *and* a
learning rate for every one of them, α (same shapes as θ). On a task it takes
``inner_steps`` steps on the K support points,

    θ' = θ − α ∘ ∇θ L_support(θ)          (∘: elementwise)

and is scored by the loss of θ' on fresh query points of the same task. The
outer step moves θ and α down the gradient of that query loss, averaged over a
meta-batch of tasks — differentiating *through* the inner step, which needs
second derivatives of the network (nested ``tf.GradientTape``s), or drops them
(``first_order=True``). MAML (:class:`chapter_utils.maml.MAML`) is the same
learner with α a fixed scalar; it subclasses :class:`MetaSGD`.

How it is made fast (notebook 02, §7.2.5):

* the network is :mod:`chapter_utils.functional_mlp`: parameters are plain
  tensors, batched over the meta-batch with a leading task axis, so a whole
  meta-batch adapts in one batched forward/backward pass;
* tasks are drawn in numpy blocks of :data:`CHUNK` meta-iterations, and one
  compiled ``tf.function`` (XLA by default) runs the whole block — the inner
  steps, the meta-gradient and the Adam update of θ and α — without returning
  to Python in between.

The learner follows the protocol of :mod:`chapter_utils.sine_benchmark`:
``fit``, ``adapt`` and ``predict_adapted``.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np

from chapter_utils import functional_mlp as fmlp
from chapter_utils import sine_benchmark as bench
from chapter_utils.checks import (check_positive_float, check_query, check_steps, check_support,
                                  check_support_sets)
from chapter_utils.environment import import_tensorflow
from chapter_utils.tasks import SineTasks, check_positive_int

tf = import_tensorflow()

#: ``progress(iteration, total, loss)``: called after every block of meta-iterations.
Progress = Callable[[int, int, float], None]
#: Meta-iterations run by one call of the compiled training function.
CHUNK = 250
_ADAM_BETA1, _ADAM_BETA2, _ADAM_EPSILON = 0.9, 0.999, 1e-8


# -- the computation, written functionally (notebook 02, §7.2.3–7.2.4) ------------------
def inner_steps(params: list, alpha: list, x, y, steps: int, activation: str = "relu",
                first_order: bool = False) -> list:
    """``steps`` inner steps ``θ' = θ − α ∘ ∇θ L_support(θ)`` for a batch of tasks.

    ``params`` carry a leading task axis ``B`` (:func:`functional_mlp.tile`);
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


@lru_cache(maxsize=None)
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
            step_count.assign_add(1.0)
            rate = meta_lr[i] * tf.sqrt(1 - _ADAM_BETA2 ** step_count) / (1 - _ADAM_BETA1 ** step_count)
            for var, g, m, v in zip(trainable, grads, slots_m, slots_v):
                m.assign(_ADAM_BETA1 * m + (1 - _ADAM_BETA1) * g)
                v.assign(_ADAM_BETA2 * v + (1 - _ADAM_BETA2) * tf.square(g))
                var.assign_sub(rate * m / (tf.sqrt(v) + _ADAM_EPSILON))
            losses = losses.write(i, loss)
        return losses.stack()
    return tf.function(run, jit_compile=jit_compile)


@lru_cache(maxsize=None)
def _adapt_fn(activation: str) -> Callable:
    """Compiled: ``steps`` inner steps from ``params`` (batched), for evaluation only."""
    def run(params, alpha, x, y, steps):
        for _ in tf.range(steps):
            params = inner_steps(params, alpha, x, y, 1, activation)
        return params
    return tf.function(run, reduce_retracing=True)


@lru_cache(maxsize=None)
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


class MetaSGD:
    """Meta-SGD for few-shot regression with a 1-D input and output (notebook 02, §7.2).

    Hyperparameters (keywords; every one has the default in :attr:`DEFAULTS`,
    the settings notebook 02 recommends for sine waves):

    * ``hidden`` — widths of the hidden layers, ``(40, 40)`` as in the Meta-SGD paper;
    * ``activation`` — ``"relu"`` (the paper's) or ``"tanh"``;
    * ``meta_batch`` — tasks per meta-iteration;
    * ``inner_steps`` — inner steps during meta-training;
    * ``inner_lr`` — the initial value of every entry of α (small and positive);
    * ``meta_lr`` — β, Adam's step size for the outer update of θ and α;
    * ``anneal`` — cosine annealing of β from ``meta_lr`` to 0 over the budget of a fit;
    * ``query`` — query points per task that score the adaptation in meta-training;
    * ``iterations`` — the default budget of :meth:`fit` (meta-iterations);
    * ``first_order`` — drop the second-order term of the meta-gradient;
    * ``dtype`` — ``"float32"`` or ``"float64"``;
    * ``jit_compile`` — compile the training loop with XLA (faster on CPU once compiled).

    After :meth:`fit`: :attr:`theta` and :attr:`alpha` (lists of numpy
    arrays ``[W1, b1, W2, b2, W3, b3]``), :attr:`losses` (the query loss of every
    meta-iteration) and :attr:`seconds` (the wall time of the fit).
    """

    #: Names in figures and tables, second- and first-order (keys of ``plotting.COLOURS``).
    LABELS: ClassVar[tuple[str, str]] = ("Meta-SGD", "Meta-SGD (first-order)")
    #: Whether α is learned (Meta-SGD) or a fixed scalar (MAML).
    learns_alpha: ClassVar[bool] = True
    #: Notebook 02's recommended settings for few-shot sine regression.
    DEFAULTS: ClassVar[dict[str, Any]] = dict(
        hidden=(40, 40), activation="relu", meta_batch=25, inner_steps=1, inner_lr=0.01,
        meta_lr=0.005, anneal=True, query=10, iterations=50_000, first_order=False,
        dtype="float32", jit_compile=True)

    def __init__(self, **hyperparameters: Any) -> None:
        unknown = sorted(set(hyperparameters) - set(self.DEFAULTS))
        if unknown:
            raise ValueError(f"unknown hyperparameter(s) {', '.join(unknown)}; "
                             f"{type(self).__name__} takes {', '.join(self.DEFAULTS)}")
        hp = {**self.DEFAULTS, **hyperparameters}
        if isinstance(hp["hidden"], (str, bytes)) or not hasattr(hp["hidden"], "__iter__"):
            raise ValueError(f"hidden must be a sequence of layer widths, got {hp['hidden']!r}")
        hp["hidden"] = tuple(fmlp.layer_sizes(hp["hidden"])[1:-1])
        fmlp.activation_fn(hp["activation"])
        for key in ("meta_batch", "inner_steps", "query", "iterations"):
            hp[key] = check_positive_int(hp[key], key)
        for key in ("inner_lr", "meta_lr"):
            hp[key] = check_positive_float(hp[key], key)
        for key in ("first_order", "jit_compile", "anneal"):
            if not isinstance(hp[key], bool):
                raise ValueError(f"{key} must be True or False, got {hp[key]!r}")
        if hp["dtype"] not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {hp['dtype']!r}")
        self.hyperparameters: dict[str, Any] = hp
        self._theta: list | None = None
        self._alpha: list | None = None
        self.losses = np.empty(0)
        self.seconds = float("nan")

    def __getattr__(self, key: str) -> Any:          # learner.meta_batch, learner.inner_lr, ...
        hp = self.__dict__.get("hyperparameters", {})
        if key in hp:
            return hp[key]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {key!r}")

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.hyperparameters.items() if v != self.DEFAULTS[k]}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

    @property
    def label(self) -> str:
        """The method's name, e.g. ``"Meta-SGD"`` or ``"first-order MAML"``."""
        return self.LABELS[self.first_order]

    # -- parameters -------------------------------------------------------------------
    def initial_parameters(self, seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """θ from :func:`functional_mlp.init_params` and α = ``inner_lr`` everywhere
        (one array per θ array for Meta-SGD; one scalar per θ array for MAML)."""
        theta = fmlp.init_params(self.hidden, seed, dtype=np.dtype(self.dtype))
        if self.learns_alpha:
            alpha = [np.full_like(p, self.inner_lr) for p in theta]
        else:
            alpha = [np.asarray(self.inner_lr, dtype=self.dtype) for _ in theta]
        return theta, alpha

    def _require_fit(self) -> None:
        if self._theta is None:
            raise RuntimeError(f"{type(self).__name__} is not trained yet: call fit first")

    @property
    def theta(self) -> list[np.ndarray]:
        """The meta-learned starting parameters ``[W1, b1, ...]`` (copies)."""
        self._require_fit()
        return [v.numpy() for v in self._theta]

    @property
    def alpha(self) -> list[np.ndarray]:
        """The inner learning rates, one array per θ array (Meta-SGD) or scalars (MAML)."""
        self._require_fit()
        return [np.asarray(a) for a in self._alpha]

    def _tensor(self, values: np.ndarray):
        return tf.constant(np.asarray(values, dtype=self.dtype))

    # -- training ---------------------------------------------------------------------
    def fit(self, tasks: Any, iterations: int | None = None, shots: int = 10, seed: int = 0,
            progress: Progress | None = None) -> "MetaSGD":
        """Meta-train from fresh parameters (seeded by ``seed``) and return ``self``.

        ``tasks`` is a task family with ``sample_batch(n, k, rng)`` returning
        ``x (n, k)`` and ``y (n, k)`` first (:class:`chapter_utils.tasks.SineTasks`).
        Every meta-iteration draws ``meta_batch`` new tasks with ``shots``
        support and ``query`` query points each. ``iterations=None`` means the
        learner's ``iterations`` hyperparameter. ``progress(i, total, loss)`` is
        called after every block of :data:`CHUNK` meta-iterations with the
        block's mean query loss; it may raise to stop training. Training also
        stops early once the loss is no longer finite.
        """
        iterations = self.iterations if iterations is None else \
            check_positive_int(iterations, "iterations")
        shots = check_positive_int(shots, "shots")
        if not callable(getattr(tasks, "sample_batch", None)):
            raise ValueError(f"tasks must have a sample_batch(n, k, rng) method, got {tasks!r}")
        if progress is not None and not callable(progress):
            raise ValueError("progress must be callable or None")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        start = time.perf_counter()
        theta, alpha = self.initial_parameters(seed)
        gen = np.random.default_rng([int(seed), 1])
        self._theta = [tf.Variable(p) for p in theta]
        self._alpha = [tf.Variable(a) if self.learns_alpha else tf.constant(a) for a in alpha]
        trainable = self._theta + (self._alpha if self.learns_alpha else [])
        slots_m = [tf.Variable(tf.zeros_like(v)) for v in trainable]
        slots_v = [tf.Variable(tf.zeros_like(v)) for v in trainable]
        step_count = tf.Variable(tf.zeros((), self.dtype))
        block = _train_block(self.activation, self.inner_steps, self.first_order,
                             self.learns_alpha, self.jit_compile)
        points = shots + self.query
        losses: list[np.ndarray] = []
        done = 0
        while done < iterations:
            n = min(CHUNK, iterations - done)
            x = np.zeros((CHUNK, self.meta_batch, points), dtype=self.dtype)
            y = np.zeros_like(x)
            xs, ys = tasks.sample_batch(n * self.meta_batch, points, gen)[:2]
            x[:n] = xs.reshape(n, self.meta_batch, points)
            y[:n] = ys.reshape(n, self.meta_batch, points)
            rates = np.zeros(CHUNK, dtype=self.dtype)
            rates[:n] = self.meta_lr * self._schedule(np.arange(done, done + n) / iterations)
            out = block(self._theta, self._alpha, slots_m, slots_v, step_count, tf.constant(x),
                        tf.constant(y), tf.constant(n), shots, tf.constant(rates))
            losses.append(out.numpy()[:n])
            done += n
            mean = float(np.mean(losses[-1]))
            if progress is not None:
                progress(done, iterations, mean)
            if not np.isfinite(mean):
                break
        self.losses = np.concatenate(losses).astype(float)
        self.seconds = time.perf_counter() - start
        return self

    def _schedule(self, progress: np.ndarray) -> np.ndarray:
        """The factor on β at each fraction of the budget: cosine annealing from 1 to 0
        when ``anneal`` is set, 1 throughout otherwise."""
        if not self.anneal:
            return np.ones_like(progress)
        return 0.5 * (1 + np.cos(np.pi * progress))

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
        changed. Used by :func:`chapter_utils.sine_benchmark.predictions`.
        """
        x_support, y_support = check_support_sets(x_support, y_support)
        x_query = check_query(x_query)
        grid = self._tensor(np.broadcast_to(x_query[None, :, None],
                                            (x_support.shape[0], x_query.size, 1)))
        start, advance = self._adapt_from(x_support, y_support)
        return bench.predict_by_steps(
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

        def predict(x_new: np.ndarray) -> np.ndarray:
            x_new = np.asarray(x_new, dtype=float)
            if x_new.ndim != 1:
                raise ValueError(f"predict takes a 1-D array of x, got shape {x_new.shape}")
            out = fmlp.forward(params, self._tensor(x_new[:, None]), activation)
            return out.numpy()[:, 0].astype(float)
        return predict

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
                        shots: int = 10, **config: Any) -> float:
    """Seconds per meta-iteration of ``learner_cls(**config).fit`` (best of ``repeats``).

    Compilation is excluded (a first, short fit compiles); task sampling is
    included. For ``chapter_utils.benchmark``; notebook 02 quotes it.
    """
    repeats = check_positive_int(repeats, "repeats")
    iterations = check_positive_int(iterations, "iterations")
    learner, tasks = learner_cls(**config), SineTasks()
    learner.fit(tasks, iterations=CHUNK, shots=shots)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        learner.fit(tasks, iterations=iterations, shots=shots)
        best = min(best, time.perf_counter() - start)
    return best / iterations
