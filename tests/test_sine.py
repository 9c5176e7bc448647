"""SineTasks, the held-out sine benchmark and the functional MLP (notebooks 02, 06, 07)."""
import numpy as np
import pytest

from chapter_utils import sine_benchmark as sb
from chapter_utils.tasks import SineTask, SineTasks


def test_sine_tasks_stay_in_their_ranges():
    family = SineTasks()
    tasks = family.sample_tasks(2000, 0)
    amp = np.array([t.amplitude for t in tasks])
    phase = np.array([t.phase for t in tasks])
    assert 0.1 <= amp.min() and amp.max() <= 5.0 and amp.max() - amp.min() > 4.5
    assert 0.0 <= phase.min() and phase.max() <= np.pi and phase.max() - phase.min() > 3.0
    x, y = tasks[0].sample_points(1000, 1)
    assert x.shape == y.shape == (1000,) and -5 <= x.min() and x.max() <= 5
    np.testing.assert_allclose(y, tasks[0].amplitude * np.sin(x + tasks[0].phase))


def test_sine_tasks_custom_ranges_and_batch():
    family = SineTasks(amplitude=(1.0, 2.0), phase=(0.5, 0.6), x_range=(0.0, 1.0))
    x, y, amp, phase = family.sample_batch(50, 7, 3)
    assert x.shape == y.shape == (50, 7) and amp.shape == phase.shape == (50,)
    assert x.min() >= 0 and x.max() <= 1 and amp.min() >= 1 and amp.max() <= 2
    np.testing.assert_allclose(y, amp[:, None] * np.sin(x + phase[:, None]))


@pytest.mark.parametrize("kwargs", [dict(amplitude=(5.0, 0.1)), dict(phase=(1.0, 1.0)),
                                    dict(x_range=(5.0, -5.0)), dict(amplitude=(-1.0, 1.0)),
                                    dict(x_range=(0.0, np.inf)), dict(amplitude=3.0)])
def test_sine_tasks_reject_bad_ranges(kwargs):
    with pytest.raises(ValueError):
        SineTasks(**kwargs)


@pytest.mark.parametrize("k", [0, -1, 2.5])
def test_sine_points_need_a_positive_count(k):
    with pytest.raises(ValueError):
        SineTask(1.0, 0.0).sample_points(k)


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


def test_functional_mlp_batched_equals_one_at_a_time():
    from chapter_utils import functional_mlp as fmlp
    params = fmlp.init_params((5, 4), 0)
    assert fmlp.count(params) == 1 * 5 + 5 + 5 * 4 + 4 + 4 + 1
    assert all(np.abs(w).max() <= 1 / np.sqrt(w.shape[0]) for w in params[::2])
    batch = fmlp.tile(params, 3)
    x = np.random.default_rng(1).normal(size=(3, 6, 1)).astype(np.float32)
    together = fmlp.forward(batch, x, "tanh").numpy()
    for i in range(3):
        np.testing.assert_allclose(fmlp.forward(params, x[i], "tanh").numpy(), together[i], rtol=1e-6)
    assert fmlp.mse(batch, x, np.zeros_like(x), "relu").shape == (3,)
    with pytest.raises(ValueError):
        fmlp.init_params((0,))
    with pytest.raises(ValueError):
        fmlp.forward(params, x[0], "sigmoid")


def test_predict_by_steps_visits_counts_in_order_once():
    calls = []

    def advance(state, done, n):
        calls.append((done, n))
        return state + n

    out = sb.predict_by_steps(0, advance, lambda state: np.full((2, 3), state), steps=[32, 0, 1, 32])
    assert calls == [(0, 1), (1, 31)]                       # 32 steps in all, not 65
    assert out.shape == (4, 2, 3)
    np.testing.assert_array_equal(out[:, 0, 0], [32, 0, 1, 32])
    with pytest.raises(ValueError):
        sb.predict_by_steps(0, advance, lambda s: np.zeros((1, 1)), steps=[])
