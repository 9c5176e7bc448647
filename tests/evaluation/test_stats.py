"""chapter_utils.evaluation.stats: the intervals every check cell relies on."""
import numpy as np
import pytest

from chapter_utils.evaluation.stats import Z95, clearly_above, clearly_below, mean_ci


def test_mean_ci_is_the_normal_interval():
    values = np.random.default_rng(0).normal(3.0, 2.0, size=400)
    mean, half = mean_ci(values)
    assert mean == pytest.approx(values.mean())
    assert half == pytest.approx(Z95 * values.std(ddof=1) / 20)


def test_clearly_below_and_above_need_separated_intervals():
    gen = np.random.default_rng(1)
    low, high = gen.normal(0.0, 1.0, 500), gen.normal(1.0, 1.0, 500)
    assert clearly_below(low, high) and clearly_above(high, low)
    assert not clearly_below(high, low) and not clearly_above(low, high)
    overlapping = gen.normal(0.05, 1.0, 500)          # means closer than the intervals
    assert not clearly_below(low, overlapping) and not clearly_below(overlapping, low)


def test_intervals_reject_non_finite_values():
    with pytest.raises(ValueError):
        clearly_below([1.0, np.inf], [0.0, 1.0])
