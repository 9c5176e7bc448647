"""Argument checks the few-shot learners share (notebooks 02, 06, 07).

:class:`chapter_utils.reptile.Reptile`, :class:`chapter_utils.meta_sgd.MetaSGD`
and :class:`chapter_utils.maml.MAML` take the same kinds of arguments — support
sets, step counts, positive rates — and reject bad ones with the same
``ValueError`` messages, from here.
"""
from __future__ import annotations

from numbers import Integral, Real

import numpy as np


def check_positive_float(value: object, name: str) -> float:
    """``value`` as a float, or ``ValueError`` unless it is a finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def check_steps(value: object, name: str = "steps") -> int:
    """A number of adaptation steps: an integer ≥ 0 (``ValueError`` otherwise)."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
        raise ValueError(f"{name} must be an integer ≥ 0, got {value!r}")
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
    if x.ndim != 1 or x.size == 0 or not np.all(np.isfinite(x)):
        raise ValueError(f"query inputs must be a non-empty finite 1-D array, got shape {x.shape}")
    return x


def check_step_counts(steps: object) -> list[int]:
    """A non-empty sequence of step counts, each an integer ≥ 0."""
    counts = [check_steps(s, "every step count") for s in np.atleast_1d(np.asarray(steps, dtype=object))]
    if not counts:
        raise ValueError("steps must be a non-empty sequence of integers ≥ 0")
    return counts
