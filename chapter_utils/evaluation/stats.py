"""Small statistics the notebooks report numbers with.

Every held-out figure in the collection is a mean over tasks with a 95%
interval (:func:`mean_ci`); training curves are smoothed with
:func:`running_mean`. First used in notebook 04 (section 7.4).
"""
from __future__ import annotations

import numpy as np

#: Two-sided 95% quantile of the standard normal distribution.
Z95 = 1.959963984540054


def mean_ci(values: np.ndarray) -> tuple[float, float]:
    """Mean of ``values`` and the half-width of its normal-approximation 95% interval.

    Meant for per-task scores (hundreds of tasks), where the normal
    approximation is accurate. Needs at least two finite values.
    """
    values = np.asarray(values, dtype=float).ravel()
    if values.size < 2:
        raise ValueError(f"need at least 2 values for an interval, got {values.size}")
    if not np.all(np.isfinite(values)):
        raise ValueError("values must all be finite")
    return float(values.mean()), float(Z95 * values.std(ddof=1) / np.sqrt(values.size))


def format_ci(values: np.ndarray, digits: int = 3) -> str:
    """``"0.781 ± 0.008"``: :func:`mean_ci` as text."""
    mean, half = mean_ci(values)
    return f"{mean:.{digits}f} ± {half:.{digits}f}"


def clearly_below(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether the 95% interval of ``a``'s mean lies entirely below ``b``'s.

    The test every notebook's check cells use for "this beats that" on
    per-task scores (lower is better: losses, MSEs).
    """
    (ma, ha), (mb, hb) = mean_ci(a), mean_ci(b)
    return ma + ha < mb - hb


def clearly_above(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether the 95% interval of ``a``'s mean lies entirely above ``b``'s (higher is better:
    accuracies, returns)."""
    return clearly_below(b, a)


def running_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over ``window`` points (shorter at the start), same length as ``values``."""
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window <= 0:
        raise ValueError(f"window must be a positive integer, got {window!r}")
    values = np.asarray(values, dtype=float).ravel()
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    idx = np.arange(1, values.size + 1)
    start = np.maximum(idx - window, 0)
    return (cumulative[idx] - cumulative[start]) / (idx - start)
