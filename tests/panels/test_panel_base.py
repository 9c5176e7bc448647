"""Tests for chapter_utils.panels.base: the hyperparameter panel (notebook 04, section 7.4.5)."""
import math

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from chapter_utils.panels.base import (  # noqa: E402
    Diverged,
    HyperparameterPanel,
    control_css_class,
    float_slider,
    int_slider,
    log_slider,
)


def _draw(result):
    fig, ax = plt.subplots()
    ax.plot(result)
    return fig


def _panel(train, **kwargs):
    controls = {"beta": log_slider("β", 0.1, 0.001, 10.0),
                "steps": int_slider("inner steps", 3, 1, 10),
                "scale": float_slider("scale", 0.5, 0.0, 1.0, 0.1)}
    return HyperparameterPanel(controls, train, _draw, divergence_hint="try a smaller β",
                               **kwargs)


def _converging(values, progress):
    losses = []
    for i in range(1, 101):
        loss = 1.0 / i
        progress(i, 100, loss)
        losses.append(loss)
    return losses


def _diverging(values, progress):
    loss = 1.0
    for i in range(1, 1001):
        loss *= 1.0 + values["beta"] * 20
        progress(i, 1000, loss)
    raise AssertionError("the panel should have stopped this run")


def test_panel_builds_with_non_continuous_sliders_and_the_parts_readers_need():
    panel = _panel(_converging)
    assert all(c.continuous_update is False for c in panel.controls.values())
    children = panel.widget.children
    assert panel.output in children and panel.status in children
    assert panel.values == {"beta": pytest.approx(0.1), "steps": 3, "scale": 0.5}


def test_train_passes_values_draws_once_and_reports_success():
    seen = {}

    def train(values, progress):
        seen.update(values)
        return _converging(values, progress)

    panel = _panel(train, summary=lambda r: f"final loss {r[-1]:.2f}")
    panel.controls["steps"].value = 7
    result = panel.train()
    assert seen["steps"] == 7 and result[-1] == pytest.approx(0.01)
    assert panel.last_message.startswith("Done in") and "final loss 0.01" in panel.last_message
    assert panel.progress.value == panel.progress.max == 100
    assert panel.runs == 1
    assert plt.get_fignums() == [], "the panel closes its figure so only its output shows it"


def test_button_click_trains():
    panel = _panel(_converging)
    panel.button.click()
    assert panel.runs == 1 and panel.last_message.startswith("Done")


def test_diverging_run_reports_in_plain_words_instead_of_raising():
    panel = _panel(_diverging)
    panel.controls["beta"].value = 10.0
    assert panel.train() is None                      # no exception escapes
    assert panel.last_result is None
    assert panel.last_message.startswith("Diverged at iteration ")
    assert "try a smaller β" in panel.last_message
    assert "Traceback" not in panel.last_message
    assert not any(c.disabled for c in panel.controls.values()) and not panel.button.disabled
    assert panel.button.description == "Train"


def test_non_finite_loss_is_divergence_and_names_the_iteration():
    def train(values, progress):
        progress(1, 10, 0.5)
        progress(2, 10, math.nan)
        return [0.0]

    panel = _panel(train)
    panel.train()
    assert panel.last_message.startswith("Diverged at iteration 2:")
    assert "stopped being a number" in panel.last_message


def test_max_loss_label_and_baseline_appear_in_the_message():
    def train(values, progress):
        progress(1, 10, 0.5, "Meta-SGD")
        progress(312, 500, 57.0, "Meta-SGD")
        return [0.0]

    panel = _panel(train, max_loss=10.0, baseline=(0.693, "predicting ½"))
    panel.train()
    assert panel.last_message == ("Diverged at iteration 312 (Meta-SGD): the loss reached 57 "
                                  "(predicting ½ scores 0.693) — try a smaller β.")


def test_controls_are_disabled_while_training():
    states = []

    def train(values, progress):
        states.append([c.disabled for c in panel.controls.values()] + [panel.button.disabled])
        return _converging(values, progress)

    panel = _panel(train)
    panel.train()
    assert states == [[True, True, True, True]]
    assert not any(c.disabled for c in panel.controls.values())


def test_bad_settings_error_becomes_a_message():
    def train(values, progress):
        raise ValueError("k must be a positive integer, got 0")

    panel = _panel(train)
    assert panel.train() is None
    assert "k must be a positive integer" in panel.last_message


def test_a_result_that_cannot_be_drawn_becomes_a_message():
    def draw(result):
        raise np.linalg.LinAlgError("Singular matrix")

    controls = {"beta": log_slider("β", 0.1, 0.001, 10.0)}
    panel = HyperparameterPanel(controls, _converging, draw, divergence_hint="try a smaller β")
    assert panel.train() is None and panel.runs == 0
    assert panel.last_message == ("Trained, but could not draw the result with these settings: "
                                  "Singular matrix")
    assert not panel.button.disabled


def test_other_exceptions_are_bugs_and_propagate():
    def train(values, progress):
        raise KeyError("bug")

    panel = _panel(train)
    with pytest.raises(KeyError):
        panel.train()
    assert not panel.button.disabled


def _counted_updates(panel):
    updates = []
    panel.progress.observe(lambda change: updates.append(change["new"]), names="value")
    return updates


def _ten_thousand_iterations(values, progress):
    for i in range(1, 10001):
        progress(i, 10000, 1.0)
    return [1.0]


def test_progress_updates_are_throttled_by_count():
    panel = _panel(_ten_thousand_iterations)
    panel.progress_interval = 0.0            # no time limit: at most about 20 moves per run
    updates = _counted_updates(panel)
    panel.train()
    assert 10 <= len(updates) <= 30      # each update is a message to the browser
    assert panel.progress.value == 10000


def test_progress_updates_are_throttled_by_time():
    panel = _panel(_ten_thousand_iterations)
    panel.progress_interval = 60.0           # a run far shorter than a minute: start and end only
    updates = _counted_updates(panel)
    panel.train()
    assert updates[-1] == 10000 and len(updates) <= 3, updates


@pytest.mark.parametrize("make", [
    lambda: log_slider("α", 0.1, 0.0, 1.0),
    lambda: log_slider("α", 5.0, 0.01, 1.0),
    lambda: int_slider("k", 0, 1, 10),
    lambda: float_slider("x", 0.5, 1.0, 0.0, 0.1),
])
def test_bad_slider_arguments(make):
    with pytest.raises(ValueError):
        make()


def test_panel_needs_controls():
    with pytest.raises(ValueError):
        HyperparameterPanel({}, _converging, _draw)
    with pytest.raises(ValueError):
        HyperparameterPanel({"a": int_slider("a", 1, 1, 2)}, _converging, _draw, max_loss=0)


def test_diverged_carries_its_details():
    stop = Diverged(3, float("inf"), "MAML")
    assert (stop.iteration, stop.loss, stop.label) == (3, float("inf"), "MAML")


def test_parts_carry_css_classes_for_the_browser_tests():
    panel = _panel(_converging)
    assert "cu-panel" in panel.widget._dom_classes
    for part, name in [(panel.button, "cu-panel-train"), (panel.progress, "cu-panel-progress"),
                       (panel.status, "cu-panel-status"), (panel.output, "cu-panel-output")]:
        assert part._dom_classes == (name,), name
    for key in ("beta", "steps", "scale"):
        assert panel.controls[key]._dom_classes == (f"cu-control-{key}",)
    panel.train()
    assert panel.button._dom_classes == ("cu-panel-train",), "classes survive a run"


def test_control_css_class_is_a_valid_class_name():
    assert control_css_class("alpha") == "cu-control-alpha"
    assert control_css_class("inner steps/β") == "cu-control-inner-steps--"


def test_a_click_is_timed_in_parts():
    panel = _panel(_converging)
    panel.train()
    assert set(panel.timings) == {"train", "draw", "render", "total"}
    assert panel.timings["render"] == 0.0, "outside IPython nothing renders the figure"
    assert panel.timings["train"] + panel.timings["draw"] <= panel.timings["total"]
    diverging = _panel(_diverging)
    diverging.controls["beta"].value = 10.0
    diverging.train()
    assert set(diverging.timings) == {"train", "total"}, "a diverged run draws nothing"


class _FakeShell:
    """Stands in for IPython: its display formatter renders figures the way the inline backend
    does (cropped to the artists) and counts its calls."""

    def __init__(self):
        self.formatted = 0
        self.display_formatter = self

    def format(self, figure):
        import base64
        import io
        self.formatted += 1
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", bbox_inches="tight")
        return {"image/png": base64.b64encode(buffer.getvalue()).decode()}, {}


def _png_size(data):
    import base64
    import struct
    raw = base64.b64decode(data["image/png"])
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", raw[16:24])      # the IHDR chunk: width, height


@pytest.mark.parametrize("crop", [True, False])
def test_the_figure_is_cropped_by_ipython_or_shown_as_drawn(monkeypatch, crop):
    from chapter_utils.panels import base
    shell, shown = _FakeShell(), []
    monkeypatch.setattr(base, "get_ipython", lambda: shell)
    monkeypatch.setattr(base, "publish_display_data", lambda data, metadata=None: shown.append(data))
    panel = _panel(_converging, crop=crop)
    panel.train()
    assert len(shown) == 1 and panel.timings["render"] > 0
    width, height = _png_size(shown[0])
    figure = _draw([1.0, 0.5])                   # what the panel drew, at the same size
    full = tuple(round(v) for v in figure.get_size_inches() * figure.dpi)
    plt.close(figure)
    if crop:
        assert shell.formatted == 1 and (width, height) != full, "IPython's formatter crops"
    else:
        assert shell.formatted == 0 and (width, height) == full, "shown as drawn, uncropped"
        assert shown[0]["text/plain"].startswith("<Figure size")
