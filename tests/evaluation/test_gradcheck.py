"""Tests for chapter_utils.evaluation.gradcheck (used by notebook 04 and the gradient tests)."""
import numpy as np
import pytest

from chapter_utils.evaluation.gradcheck import finite_difference, relative_error


def test_finite_difference_of_a_known_function():
    a = np.array([[1.0, 2.0], [3.0, -4.0]])
    point = np.array([[0.3], [-0.7]])
    grad = finite_difference(lambda p: float(np.sum(np.sin(a @ p))), point)
    np.testing.assert_allclose(grad, a.T @ np.cos(a @ point), rtol=1e-8)
    assert grad.shape == point.shape


def test_relative_error():
    assert relative_error(np.array([1.0, 1.0]), np.array([1.0, 1.0])) == 0.0
    assert relative_error(np.array([1.1, 0.0]), np.array([1.0, 0.0])) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="zero"):
        relative_error(np.ones(2), np.zeros(2))
    with pytest.raises(ValueError, match="shapes"):
        relative_error(np.ones(2), np.ones(3))
    with pytest.raises(ValueError):
        finite_difference(lambda p: 0.0, np.ones(2), h=0)
