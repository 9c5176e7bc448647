"""Argument checks shared by the whole package: one wording for every ``ValueError``.

Task families, networks, learners and the numpy references take the same kinds
of arguments — seeds and random generators, counts, step counts, positive
rates, support and query sets — and reject bad ones here, so a reader sees the
same message whichever notebook they are in.
"""
from __future__ import annotations

from numbers import Integral, Real
from typing import Callable, Union

import numpy as np

#: What every ``rng`` argument accepts: a generator, an integer seed, or ``None`` for fresh entropy.
RngLike = Union[None, int, np.random.Generator]
#: ``progress(iteration, total, loss)``: what every trainer calls as it goes; it may raise to
#: stop the run (the panels do, on divergence).
Progress = Callable[[int, int, float], None]


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


def check_seed(seed: object) -> int:
    """A seed: an integer ≥ 0 (``ValueError`` otherwise)."""
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def check_progress(progress: object) -> None:
    """A progress callback: callable or ``None``."""
    if progress is not None and not callable(progress):
        raise ValueError("progress must be callable or None")


def check_positive_float(value: object, name: str) -> float:
    """``value`` as a float, or ``ValueError`` unless it is a finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def check_steps(value: object, name: str = "steps", minimum: int = 0) -> int:
    """A number of steps: an integer ≥ ``minimum`` (``ValueError`` otherwise)."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer ≥ {minimum}, got {value!r}")
    return int(value)


def check_support(x: object, y: object) -> tuple[np.ndarray, np.ndarray]:
    """One task's support set: two finite 1-D float arrays of the same, non-zero length."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.ndim != 1 or y.ndim != 1:
        raise ValueError(f"x and y must be 1-D arrays, got shapes {x.shape} and {y.shape}")
    if x.size != y.size:
        raise ValueError(f"x and y must have the same length, got {x.size} and {y.size}")
    if x.size == 0:
        raise ValueError("the support set is empty: adapting needs at least one (x, y) point")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("x and y must be finite")
    return x, y


def check_support_sets(x: object, y: object) -> tuple[np.ndarray, np.ndarray]:
    """Support sets of ``T`` tasks: two finite ``(T, K)`` float arrays, ``T, K ≥ 1``."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.ndim != 2 or x.shape != y.shape or 0 in x.shape:
        raise ValueError(f"support sets must be two arrays of the same shape (T, K), T, K ≥ 1; "
                         f"got {x.shape} and {y.shape}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("support sets must be finite")
    return x, y


def check_query(x: object) -> np.ndarray:
    """Query inputs: a non-empty, finite 1-D float array."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"query inputs must be a non-empty 1-D array, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("query inputs must be finite (a NaN or infinite x was given)")
    return x


def check_step_counts(steps: object) -> list[int]:
    """A non-empty sequence of step counts, each an integer ≥ 0."""
    counts = [check_steps(s, "every step count") for s in np.atleast_1d(np.asarray(steps, dtype=object))]
    if not counts:
        raise ValueError("steps must be a non-empty sequence of integers ≥ 0")
    return counts
