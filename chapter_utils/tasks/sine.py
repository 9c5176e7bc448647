"""Few-shot sine regression: the task family of §7.2 and §7.7 (notebooks 02, 06, 07).

* :class:`SineTasks` / :class:`SineTask` — the family of the MAML paper
  (amplitude U[0.1, 5], phase U[0, π], x U[−5, 5]; OpenAI's Reptile sine demo
  draws the phase from U[0, 2π], and the Meta-SGD paper also draws a random
  frequency, which this family keeps at 1);
* :func:`sample_sine_points` — the sampler of section 7.7 (notebook
  ``06_reptile_sine_regression``): one random sine wave, ``k`` points drawn
  *with replacement* from a 100-point grid, exactly as the book does.

Every sampler takes ``rng``: a :class:`numpy.random.Generator`, an integer seed,
or ``None`` for fresh entropy.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chapter_utils.checks import RngLike, as_generator, check_positive_int

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
    """The few-shot sine-regression family of the MAML paper.

    Amplitude ~ U[``amplitude``], phase ~ U[``phase``], inputs ~ U[``x_range``].
    The defaults are the MAML paper's: amplitude in [0.1, 5], phase in [0, π],
    x in [−5, 5], frequency 1 — and the chapter's §7.7 sampler's (OpenAI's Reptile
    demo, which that code otherwise follows, draws the phase from [0, 2π]). The Meta-SGD paper's
    family also varies the frequency, so its published numbers are not on
    these tasks. Used by notebooks 02, 06 and 07.
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
