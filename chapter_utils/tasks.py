"""Task samplers: the chapter's own, faithfully, and task families with structure.

* :func:`sample_points` — the sampler of section 7.4 (notebook
  ``04_meta_sgd_from_scratch``): 50 uniform features and coin-flip labels.
* :func:`sample_sine_points` — the sampler of section 7.7 (notebook
  ``06_reptile_sine_regression``): one random sine wave, ``k`` points drawn
  *with replacement* from a 100-point grid, exactly as the book does.
* :class:`LogisticTasks` — a family of logistic-regression tasks that share
  structure, so that meta-learning has something to learn (notebook 04, §4).

Every sampler takes ``rng``: a :class:`numpy.random.Generator`, an integer seed,
or ``None`` for fresh entropy.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Integral
from typing import Union

import numpy as np

RngLike = Union[None, int, np.random.Generator]

#: Feature dimension of the chapter's 7.4 example.
CHAPTER_DIM = 50


def as_generator(rng: RngLike) -> np.random.Generator:
    """Turn ``None``, an integer seed or a ``Generator`` into a ``Generator``."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, Integral) and not isinstance(rng, bool)):
        if rng is not None and rng < 0:
            raise ValueError(f"a seed must be non-negative, got {rng}")
        return np.random.default_rng(rng)
    raise ValueError(
        f"rng must be a numpy.random.Generator, an int seed or None, got {type(rng).__name__}")


def check_positive_int(value: object, name: str) -> int:
    """Return ``value`` as an int, or raise ``ValueError`` unless it is an integer ≥ 1."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def sample_points(k: int, rng: RngLike = None) -> tuple[np.ndarray, np.ndarray]:
    """The chapter's 7.4 sampler (notebook 04): ``k`` points of a task with nothing to learn.

    Returns ``x`` of shape ``(k, 50)``, uniform in [0, 1), and labels ``y`` of
    shape ``(k, 1)``, each 0 or 1 with probability ½ *independently of x* —
    which is why the best achievable cross-entropy on these "tasks" is ln 2.
    """
    k = check_positive_int(k, "k")
    gen = as_generator(rng)
    x = gen.random((k, CHAPTER_DIM))
    y = gen.choice([0.0, 1.0], size=k, p=[0.5, 0.5]).reshape(-1, 1)
    return x, y


#: The grid the chapter's 7.7 sampler draws its points from.
SINE_GRID_POINTS = 100


def sample_sine_points(k: int, rng: RngLike = None) -> tuple[np.ndarray, np.ndarray]:
    """The chapter's 7.7 sampler (notebook 06): ``k`` points of one random sine wave.

    As printed in the book: amplitude ~ U[0.1, 5.0), phase ~ U[0, π), x on a
    100-point grid over [−5, 5], and ``k`` grid indices drawn *with replacement*
    (``np.random.choice`` without ``replace=False``). Returns 1-D ``x`` and ``y``.
    """
    k = check_positive_int(k, "k")
    gen = as_generator(rng)
    amplitude = gen.uniform(0.1, 5.0)
    phase = gen.uniform(0.0, np.pi)
    x = np.linspace(-5, 5, SINE_GRID_POINTS)
    y = amplitude * np.sin(x + phase)
    sample = gen.choice(np.arange(SINE_GRID_POINTS), size=k)
    return x[sample], y[sample]


@dataclass(frozen=True)
class LogisticTask:
    """One task of :class:`LogisticTasks`: labels drawn from a logistic teacher.

    ``P(y = 1 | x) = sigmoid(x @ weights)`` with features ``x ~ N(0, I)``.
    """

    weights: np.ndarray  #: teacher weights, shape ``(d, 1)``

    def probability(self, x: np.ndarray) -> np.ndarray:
        """``P(y = 1 | x)`` for ``x`` of shape ``(n, d)``; returns ``(n, 1)``."""
        x = np.asarray(x, dtype=float)
        if x.ndim != 2 or x.shape[1] != self.weights.shape[0]:
            raise ValueError(f"x must have shape (n, {self.weights.shape[0]}), got {x.shape}")
        return 0.5 * (1.0 + np.tanh(0.5 * (x @ self.weights)))

    def sample_points(self, k: int, rng: RngLike = None) -> tuple[np.ndarray, np.ndarray]:
        """``k`` labelled points: ``x`` of shape ``(k, d)``, ``y`` in {0, 1} of shape ``(k, 1)``."""
        k = check_positive_int(k, "k")
        gen = as_generator(rng)
        x = gen.standard_normal((k, self.weights.shape[0]))
        y = (gen.random((k, 1)) < self.probability(x)).astype(float)
        return x, y


@dataclass(frozen=True)
class LogisticTasks:
    """A family of logistic tasks that share structure (notebook 04, §4).

    Of the ``dim`` features, the first ``task_features`` carry weights that are
    different for every task (``task_scale · N(0, 1)``); the next
    ``shared_features`` carry the same weight ``shared_weight`` in every task (a
    common offset a meta-learner can bake into θ); the rest are irrelevant
    (weight 0). A good meta-learner should learn θ ≈ the shared weights, large
    learning rates on the task-specific features, and rates near zero on the
    others — something a single scalar learning rate cannot express.
    """

    dim: int = CHAPTER_DIM
    task_features: int = 5
    shared_features: int = 5
    task_scale: float = 2.0
    shared_weight: float = 1.5
    groups: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_positive_int(self.dim, "dim")
        for name in ("task_features", "shared_features"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        if self.task_features + self.shared_features > self.dim:
            raise ValueError(
                f"task_features + shared_features = {self.task_features + self.shared_features} "
                f"exceeds dim = {self.dim}")
        if not self.task_scale >= 0:
            raise ValueError(f"task_scale must be ≥ 0, got {self.task_scale}")
        groups = np.full(self.dim, "irrelevant", dtype=object)
        groups[: self.task_features] = "task-specific"
        groups[self.task_features: self.task_features + self.shared_features] = "shared"
        object.__setattr__(self, "groups", groups)

    @property
    def shared_weights(self) -> np.ndarray:
        """The mean teacher, shape ``(dim, 1)``: what every task has in common."""
        w = np.zeros((self.dim, 1))
        w[self.task_features: self.task_features + self.shared_features] = self.shared_weight
        return w

    def sample_weights(self, n: int, rng: RngLike = None) -> np.ndarray:
        """Teacher weights of ``n`` tasks, shape ``(n, dim, 1)``."""
        n = check_positive_int(n, "n")
        gen = as_generator(rng)
        w = np.broadcast_to(self.shared_weights, (n, self.dim, 1)).copy()
        w[:, : self.task_features, 0] = self.task_scale * gen.standard_normal(
            (n, self.task_features))
        return w

    def sample(self, rng: RngLike = None) -> LogisticTask:
        """One task."""
        return LogisticTask(self.sample_weights(1, rng)[0])

    def sample_batch(self, n: int, k_train: int, k_test: int, rng: RngLike = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``n`` fresh tasks at once, each with a support and a query set.

        Returns ``x_train (n, k_train, dim)``, ``y_train (n, k_train, 1)``,
        ``x_test (n, k_test, dim)``, ``y_test (n, k_test, 1)`` — the layout the
        vectorised trainers of :mod:`chapter_utils.meta_sgd_scratch` take.
        """
        return self.sample_batch_with_teachers(n, k_train, k_test, rng)[0]

    def sample_batch_with_teachers(self, n: int, k_train: int, k_test: int, rng: RngLike = None
                                   ) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
        """Like :meth:`sample_batch`, and also the tasks' teacher weights ``(n, dim, 1)``:
        the Bayes-optimal classifiers, a reference no learner can beat on average."""
        gen = as_generator(rng)
        weights = self.sample_weights(n, gen)
        batch = _label_batch(weights, check_positive_int(k_train, "k_train"),
                             check_positive_int(k_test, "k_test"), gen)
        return batch, weights


def _label_batch(weights: np.ndarray, k_train: int, k_test: int, gen: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n, dim, _ = weights.shape
    x = gen.standard_normal((n, k_train + k_test, dim))
    p = 0.5 * (1.0 + np.tanh(0.5 * (x @ weights)))
    y = (gen.random(p.shape) < p).astype(float)
    return x[:, :k_train], y[:, :k_train], x[:, k_train:], y[:, k_train:]


def chapter_batch(n: int, k_train: int, k_test: int, rng: RngLike = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``n`` of the chapter's 7.4 "tasks" at once, laid out like :meth:`LogisticTasks.sample_batch`.

    Each is :func:`sample_points` drawn ``k_train + k_test`` times: uniform
    features and coin-flip labels, the same distribution for every task.
    """
    n = check_positive_int(n, "n")
    k_train = check_positive_int(k_train, "k_train")
    k_test = check_positive_int(k_test, "k_test")
    gen = as_generator(rng)
    x = gen.random((n, k_train + k_test, CHAPTER_DIM))
    y = gen.choice([0.0, 1.0], size=(n, k_train + k_test, 1))
    return x[:, :k_train], y[:, :k_train], x[:, k_train:], y[:, k_train:]


def _check_interval(value: object, name: str, *, lower: float | None = None) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (low, high), got {value!r}") from None
    if not (np.isfinite(low) and np.isfinite(high)) or not low < high:
        raise ValueError(f"{name} must satisfy low < high (both finite), got {value!r}")
    if lower is not None and low < lower:
        raise ValueError(f"{name} must not go below {lower}, got {value!r}")
    return low, high


@dataclass(frozen=True)
class SineTask:
    """One sine wave ``y = amplitude · sin(x + phase)`` (notebooks 02, 06, 07; §7.2 and §7.7)."""

    amplitude: float
    phase: float
    x_range: tuple[float, float] = (-5.0, 5.0)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """The wave at ``x`` (any shape; returns the same shape)."""
        return self.amplitude * np.sin(np.asarray(x, dtype=float) + self.phase)

    def sample_points(self, k: int, rng: RngLike = None) -> tuple[np.ndarray, np.ndarray]:
        """``k`` points with ``x`` uniform in :attr:`x_range`: 1-D ``x`` and ``y`` of length ``k``."""
        k = check_positive_int(k, "k")
        x = as_generator(rng).uniform(*self.x_range, size=k)
        return x, self(x)


@dataclass(frozen=True)
class SineTasks:
    """The few-shot sine-regression family of the MAML, Meta-SGD and Reptile papers.

    Amplitude ~ U[``amplitude``], phase ~ U[``phase``], inputs ~ U[``x_range``].
    The defaults are the papers' (and the chapter's, §7.7): amplitude in
    [0.1, 5], phase in [0, π], x in [−5, 5]. Used by notebooks 02, 06 and 07.
    """

    amplitude: tuple[float, float] = (0.1, 5.0)
    phase: tuple[float, float] = (0.0, float(np.pi))
    x_range: tuple[float, float] = (-5.0, 5.0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "amplitude", _check_interval(self.amplitude, "amplitude", lower=0.0))
        object.__setattr__(self, "phase", _check_interval(self.phase, "phase"))
        object.__setattr__(self, "x_range", _check_interval(self.x_range, "x_range"))

    def sample(self, rng: RngLike = None) -> SineTask:
        """One task."""
        gen = as_generator(rng)
        return SineTask(float(gen.uniform(*self.amplitude)), float(gen.uniform(*self.phase)),
                        self.x_range)

    def sample_tasks(self, n: int, rng: RngLike = None) -> list[SineTask]:
        """``n`` tasks (a held-out set, say)."""
        n = check_positive_int(n, "n")
        gen = as_generator(rng)
        return [self.sample(gen) for _ in range(n)]

    def sample_batch(self, n: int, k: int, rng: RngLike = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``n`` fresh tasks with ``k`` points each, vectorised for meta-training.

        Returns ``x (n, k)``, ``y (n, k)``, ``amplitude (n,)`` and ``phase (n,)``.
        """
        n = check_positive_int(n, "n")
        k = check_positive_int(k, "k")
        gen = as_generator(rng)
        amplitude = gen.uniform(*self.amplitude, size=n)
        phase = gen.uniform(*self.phase, size=n)
        x = gen.uniform(*self.x_range, size=(n, k))
        return x, amplitude[:, None] * np.sin(x + phase[:, None]), amplitude, phase
