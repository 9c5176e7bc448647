"""SineTasks and SineTask (chapter_utils.tasks.sine; notebooks 02, 06, 07)."""
import numpy as np
import pytest

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
