"""The "pose the task" panel (chapter_utils.panels.support_points; notebook 07 and the playground).

Driven from code here, with untrained stand-in learners so it needs no shipped file; the
browser tests click on its figure. The shipped learners are tested in
tests/evaluation/test_shipped_learners.py.
"""
from types import SimpleNamespace

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from chapter_utils.evaluation import comparison  # noqa: E402
from chapter_utils.nets.numpy_mlp import sgd_trajectory  # noqa: E402
from chapter_utils.panels import support_points as sp  # noqa: E402


@pytest.fixture(scope="module")
def learners():
    return {name: comparison.make_learner(name).initialise(i)
            for i, name in enumerate(comparison.METHODS + comparison.BASELINES)}


@pytest.fixture
def panel(learners):
    return sp.pose_the_task(learners)


def test_it_starts_empty_and_says_how_to_begin(panel):
    assert panel.x.size == 0 and panel.curves == {} and "No points yet" in panel.status.value
    assert "cu-touch" in panel.widget._dom_classes
    assert panel.controls["steps"].max == sp.MAX_STEPS and not panel.controls["steps"].continuous_update


def test_points_in_every_learner_adapts_and_the_slider_picks_the_step(panel, learners):
    panel.set_points([-2.0, 0.5, 3.0], [1.0, -1.0, 2.0])
    assert set(panel.curves) == set(learners)
    for name, learner in learners.items():
        expected = sgd_trajectory(learner.theta, learner.alpha, panel.x, panel.y, sp.GRID, sp.MAX_STEPS,
                                  learner.activation)
        np.testing.assert_array_equal(panel.curves[name], expected)
    panel.controls["steps"].value = 4
    for name, line in panel._lines.items():
        np.testing.assert_array_equal(line.get_ydata(), panel.curves[name][4])
    assert "after 4 steps" in panel.status.value and "your own points" in panel.status.value


def test_add_move_remove_undo_clear(panel):
    panel.add_point(1.0, 1.0)
    panel.add_point(2.0, -1.0)
    panel.move_point(0, 1.5, 0.5)
    assert panel.x.tolist() == [1.5, 2.0] and panel.y.tolist() == [0.5, -1.0]
    panel.remove_point(1)
    assert panel.x.tolist() == [1.5]
    panel.undo()
    assert panel.x.tolist() == [1.5, 2.0]
    panel.clear()
    assert panel.x.size == 0 and panel.truth is None
    panel.undo()
    assert panel.x.size == 2


@pytest.mark.parametrize("example", list(sp.EXAMPLES))
def test_each_example_places_its_points_and_scores_against_its_function(panel, example):
    function, k, _ = sp.EXAMPLES[example]
    panel.controls["example"].value = example
    assert panel.x.size == k and np.allclose(panel.y, function(panel.x))
    assert panel.controls["example"].value == "—", "the list works as a menu: back to '—' after loading"
    first = panel.x.copy()
    panel.clear()
    panel.controls["example"].value = example            # the same example again: the same points
    np.testing.assert_array_equal(panel.x, first)
    errors = panel.errors(3)
    scored = sp.GRID[sp.SCORED]
    assert scored.min() == -5 and scored.max() == 5 and scored.size == 201
    for name, curve in panel.curves.items():
        assert errors[name] == pytest.approx(np.mean((curve[3][sp.SCORED] - function(scored)) ** 2))
    assert "MSE against the dashed curve" in panel.status.value


def test_sampling_uses_the_wave_on_the_sliders(panel):
    panel.controls["amplitude"].value, panel.controls["phase"].value, panel.controls["shots"].value = 2.0, 0.5, 7
    panel.sample()
    assert panel.x.size == 7 and np.allclose(panel.y, 2.0 * np.sin(panel.x + 0.5))
    assert np.all((-5 <= panel.x) & (panel.x <= 5))


def _event(panel, x, y, kind="press"):
    shown = panel.ax.transData.transform((x, y))
    return SimpleNamespace(inaxes=panel.ax, xdata=x, ydata=y, x=shown[0], y=shown[1], name=kind)


def test_the_mouse_adds_drags_and_removes_points(panel):
    panel._on_press(_event(panel, 1.0, 2.0))
    panel._on_release(_event(panel, 1.0, 2.0))
    assert panel.x.tolist() == [1.0]                       # a click on empty space adds a point
    panel._on_press(_event(panel, 1.0, 2.0))               # on the point: a drag starts
    panel._on_motion(_event(panel, 2.0, -1.0))
    panel._on_release(_event(panel, 2.0, -1.0))
    assert panel.x.tolist() == [2.0] and panel.y.tolist() == [-1.0]
    panel._on_press(_event(panel, 2.0, -1.0))              # a click on a point with a tremor: removed
    shown = panel.ax.transData.transform((2.0, -1.0))
    tremor = panel.ax.transData.inverted().transform((shown[0] + 1.5, shown[1]))
    panel._on_motion(_event(panel, *tremor))
    panel._on_release(_event(panel, *tremor))
    assert panel.x.size == 0


def test_a_learner_that_diverges_is_named_in_the_status_and_not_drawn(panel):
    x = np.linspace(-5, 5, 10)
    theta, _, activation = panel._params["MAML"]   # give MAML a step size that must overflow
    panel._params["MAML"] = (theta, [np.float32(80.0)] * len(theta), activation)
    panel.set_points(x, np.sin(x))
    panel.controls["steps"].value = 30
    assert panel.diverged() == ["MAML"]
    assert not np.isfinite(panel._lines["MAML"].get_ydata()).any()
    assert "diverged, not drawn: MAML" in panel.status.value


def test_bad_points_are_refused(panel):
    with pytest.raises(ValueError, match="finite"):
        panel.set_points([0.0, np.nan], [1.0, 2.0])
    with pytest.raises(ValueError, match="same length"):
        panel.set_points([0.0, 1.0], [1.0])
