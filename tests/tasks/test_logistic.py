"""chapter_utils.tasks.logistic and the chapter's own samplers (notebooks 04 and 06)."""
import numpy as np
import pytest

from chapter_utils.checks import as_generator
from chapter_utils.tasks import CHAPTER_DIM, LogisticTasks, chapter_batch, sample_points, sample_sine_points


def test_sample_points_matches_the_chapter():
    x, y = sample_points(10, rng=0)
    assert x.shape == (10, CHAPTER_DIM) and y.shape == (10, 1)
    assert x.min() >= 0.0 and x.max() < 1.0
    assert set(np.unique(y)) <= {0.0, 1.0}


def test_sample_points_labels_are_fair_coins():
    _, y = sample_points(20000, rng=1)
    assert abs(y.mean() - 0.5) < 0.02


@pytest.mark.parametrize("rng", [0, np.random.default_rng(0)])
def test_seed_and_generator_reproduce(rng):
    a = sample_points(5, rng=0)
    b = sample_points(5, rng=rng)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_generator_state_advances():
    gen = np.random.default_rng(3)
    first, second = sample_points(4, gen)[0], sample_points(4, gen)[0]
    assert not np.array_equal(first, second)


@pytest.mark.parametrize("k", [0, -3, 2.5, True, "10"])
def test_bad_k_is_rejected(k):
    with pytest.raises(ValueError, match="positive integer"):
        sample_points(k)
    with pytest.raises(ValueError, match="positive integer"):
        sample_sine_points(k)


@pytest.mark.parametrize("rng", [-1, "seed", 1.5, np.random.RandomState(0)])
def test_bad_rng_is_rejected(rng):
    with pytest.raises(ValueError):
        as_generator(rng)


def test_sine_points_lie_on_one_sine_from_the_grid():
    x, y = sample_sine_points(50, rng=2)
    assert x.shape == y.shape == (50,)
    grid = np.linspace(-5, 5, 100)
    assert np.all(np.isin(x, grid))
    # recover amplitude and phase by least squares on sin/cos features: the fit is exact
    features = np.stack([np.sin(x), np.cos(x)], axis=1)
    coef, *_ = np.linalg.lstsq(features, y, rcond=None)
    np.testing.assert_allclose(features @ coef, y, atol=1e-10)
    amplitude = np.hypot(*coef)
    assert 0.1 <= amplitude <= 5.0


def test_sine_points_are_drawn_with_replacement_like_the_book():
    x, _ = sample_sine_points(100, rng=4)
    assert len(np.unique(x)) < 100


def test_logistic_family_structure():
    family = LogisticTasks()
    w = family.sample_weights(500, rng=5)
    assert w.shape == (500, 50, 1)
    assert np.all(w[:, 5:10] == 1.5) and np.all(w[:, 10:] == 0)
    assert 1.7 < w[:, :5].std() < 2.3
    assert list(family.groups[:5]) == ["task-specific"] * 5
    assert list(family.groups[5:10]) == ["shared"] * 5
    assert set(family.groups[10:]) == {"irrelevant"}


def test_logistic_batch_shapes_and_labels_follow_the_teacher():
    family = LogisticTasks()
    (x_tr, y_tr, x_te, y_te), teachers = family.sample_batch_with_teachers(200, 10, 500, rng=6)
    assert x_tr.shape == (200, 10, 50) and y_tr.shape == (200, 10, 1)
    assert x_te.shape == (200, 500, 50) and y_te.shape == (200, 500, 1)
    agree = ((x_te @ teachers > 0) == (y_te > 0.5)).mean()
    assert 0.85 < agree < 0.95          # clean but noisy labels: Bayes accuracy ≈ 0.9
    np.testing.assert_array_equal(family.sample_batch(200, 10, 500, rng=6)[3], y_te)


def test_single_task_sampling():
    task = LogisticTasks(dim=8, task_features=2, shared_features=3).sample(rng=7)
    x, y = task.sample_points(6, rng=8)
    assert x.shape == (6, 8) and y.shape == (6, 1)
    with pytest.raises(ValueError, match="shape"):
        task.probability(np.zeros((3, 5)))


@pytest.mark.parametrize("kwargs", [dict(dim=0), dict(task_features=-1),
                                    dict(dim=5, task_features=3, shared_features=3),
                                    dict(task_scale=-1.0)])
def test_bad_family_arguments(kwargs):
    with pytest.raises(ValueError):
        LogisticTasks(**kwargs)


def test_chapter_batch_is_the_chapter_distribution():
    x_tr, y_tr, x_te, y_te = chapter_batch(3, 10, 7, rng=9)
    assert x_tr.shape == (3, 10, 50) and x_te.shape == (3, 7, 50)
    assert y_tr.shape == (3, 10, 1) and y_te.shape == (3, 7, 1)
    assert x_tr.min() >= 0 and x_tr.max() < 1
    with pytest.raises(ValueError):
        chapter_batch(0, 10, 10)
