"""Logistic-regression tasks of §7.4 (notebook 04): the chapter's sampler, faithfully, and a family with structure.

* :func:`sample_points` — the sampler of section 7.4 (notebook
  ``04_meta_sgd_from_scratch``): 50 uniform features and coin-flip labels;
  :func:`chapter_batch` — many of them at once.
* :class:`LogisticTasks` — a family of logistic-regression tasks that share
  structure, so that meta-learning has something to learn (notebook 04, §4).

Every sampler takes ``rng``: a :class:`numpy.random.Generator`, an integer seed,
or ``None`` for fresh entropy.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Integral

import numpy as np

from chapter_utils.checks import RngLike, as_generator, check_positive_int

#: Feature dimension of the chapter's 7.4 example.
CHAPTER_DIM = 50


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
        vectorised trainers of :mod:`chapter_utils.reference.logistic_meta_sgd` take.
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


