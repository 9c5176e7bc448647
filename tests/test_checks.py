"""The learners' shared argument checks (chapter_utils.checks)."""
import numpy as np
import pytest

from chapter_utils import checks


@pytest.mark.parametrize("value", [0, -1.0, float("nan"), float("inf"), True, "0.1", None])
def test_positive_float_rejects(value):
    with pytest.raises(ValueError, match="rate"):
        checks.check_positive_float(value, "rate")


def test_positive_float_and_steps_accept():
    assert checks.check_positive_float(np.float32(0.5), "rate") == 0.5
    assert checks.check_steps(np.int64(0)) == 0 and checks.check_steps(32) == 32


@pytest.mark.parametrize("value", [-1, 1.0, True, "3", None])
def test_steps_rejects(value):
    with pytest.raises(ValueError, match="steps"):
        checks.check_steps(value)


@pytest.mark.parametrize("x, y, message", [([], [], "empty"), ([1.0, 2.0], [1.0], "same length"),
                                           ([[1.0]], [[1.0]], "1-D"), ([np.nan], [0.0], "finite")])
def test_support_rejects(x, y, message):
    with pytest.raises(ValueError, match=message):
        checks.check_support(x, y)


def test_support_sets_and_query():
    x, y = checks.check_support_sets([[1, 2]], [[3, 4]])
    assert x.dtype == float and x.shape == (1, 2)
    for bad in [([[1.0]], [[1.0, 2.0]]), (np.zeros((2, 0)), np.zeros((2, 0))), ([1.0], [1.0]),
                ([[np.inf]], [[0.0]])]:
        with pytest.raises(ValueError):
            checks.check_support_sets(*bad)
    with pytest.raises(ValueError, match="1-D"):
        checks.check_query(np.zeros((2, 2)))


def test_seeds_generators_and_callbacks_are_checked_in_one_place():
    assert checks.check_seed(3) == 3
    for bad in (-1, 1.5, True, "3"):
        with pytest.raises(ValueError, match="seed must be a non-negative integer"):
            checks.check_seed(bad)
    gen = checks.as_generator(5)
    assert checks.as_generator(gen) is gen
    assert checks.as_generator(5).random() == np.random.default_rng(5).random()
    with pytest.raises(ValueError, match="seed must be non-negative"):
        checks.as_generator(-1)
    checks.check_progress(None)
    checks.check_progress(print)
    with pytest.raises(ValueError, match="progress must be callable"):
        checks.check_progress("print")
    assert checks.check_steps(1, minimum=1) == 1
    with pytest.raises(ValueError, match="inner_steps must be an integer ≥ 1"):
        checks.check_steps(0, "inner_steps", minimum=1)
