"""The held-out few-shot sine benchmark (chapter_utils.evaluation.sine; notebooks 02, 06, 07)."""
import numpy as np
import pytest

from chapter_utils.evaluation import sine as sb


def test_held_out_is_reproducible_and_shares_tasks_across_shots():
    a, b = sb.held_out(20, 5), sb.held_out(20, 10)
    assert a.tasks == b.tasks and a.x_support.shape == (20, 5) and b.y_grid.shape == (20, 100)
    np.testing.assert_array_equal(sb.held_out(20, 5).x_support, a.x_support)
    np.testing.assert_allclose(a.y_support, np.stack([t(x) for t, x in zip(a.tasks, a.x_support)]))
    # predicting zero scores E[A²]/2 ≈ 4.25 for A ~ U[0.1, 5]
    assert abs(sb.zero_mse(sb.held_out(3000, 1)).mean() - 4.25) < 0.2


class _Oracle:
    """Knows the wave after one step, knows nothing (predicts 0) before."""

    def __init__(self, data):
        self.data = data

    def adapt(self, x, y, steps=None):
        task = next(t for t, xs in zip(self.data.tasks, self.data.x_support) if np.array_equal(xs, x))
        return task if steps else (lambda q: np.zeros_like(q))


def test_mse_by_steps_scores_a_learner_through_adapt():
    data = sb.held_out(10, 3)
    mse = sb.mse_by_steps(_Oracle(data), data, steps=(0, 1))
    np.testing.assert_allclose(mse[0], sb.zero_mse(data))
    np.testing.assert_allclose(mse[1], 0.0)
    with pytest.raises(ValueError):
        sb.mse_by_steps(_Oracle(data), data, steps=(-1,))
