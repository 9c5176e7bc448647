"""The draw-your-own panel (chapter_utils.panels.drawing; notebook 09 and the playground).

Driven from code: strokes arrive as the messages ipycanvas's browser side sends
(``mouse_down`` / ``mouse_move`` / ``mouse_up``, touches), through the canvas's own
message handler, or are added whole with ``add_stroke``. The mechanics are tested
with a stand-in pixel-nearest-neighbour classifier; the shipped learners and
baselines are used by the last tests. The browser tests draw with a real mouse.
"""
from __future__ import annotations

import numpy as np
import pytest

from chapter_utils.panels import drawing as dr
from chapter_utils.tasks.characters import frame_character


class PixelNearestNeighbour:
    """A stand-in with the learners' interface: softmax of minus the squared pixel distance."""

    def __init__(self):
        self.calls = []

    def adapt(self, images, labels, steps=None):
        images, labels = np.asarray(images), np.asarray(labels)
        self.calls.append((images.shape, labels.tolist(), steps))
        self.images = images

        def predict(query):
            distance = ((np.asarray(query)[:, None] - images[None]) ** 2).sum(axis=(2, 3))
            logits = -(distance - distance.min(axis=1, keepdims=True)) / 5.0
            p = np.exp(logits)
            return p / p.sum(axis=1, keepdims=True)

        return predict


class Refuses:
    def adapt(self, images, labels, steps=None):
        raise ValueError("images must be (n, 28, 28) in [0, 1]")


def send(canvas, event: str, *points: tuple[float, float]) -> None:
    """Deliver a browser message to ``canvas`` as ipycanvas's front end sends it."""
    if event.startswith("touch"):
        content = {"event": event, "touches": [{"x": x, "y": y} for x, y in points]}
    else:
        (x, y), = points
        content = {"event": event, "x": x, "y": y}
    canvas._handle_frontend_event(canvas, content, [])


def mouse_stroke(pad, points) -> None:
    send(pad.canvas, "mouse_down", points[0])
    for point in points[1:]:
        send(pad.canvas, "mouse_move", point)
    send(pad.canvas, "mouse_up", points[-1])


#: Three characters that differ (a "Z", an "L", a "+"), as canvas pixel strokes.
SHAPES = {
    0: [[(20, 20), (130, 20), (20, 130), (130, 130)]],
    1: [[(30, 15), (30, 135), (120, 135)]],
    2: [[(75, 15), (75, 135)], [(15, 75), (135, 75)]],
}


def draw(pad, shape, scale=1.0, shift=(0.0, 0.0)):
    for stroke in SHAPES[shape]:
        points = np.asarray(stroke, dtype=float) * scale + np.asarray(shift)
        mouse_stroke(pad, [tuple(p) for p in points])


@pytest.fixture
def nn():
    return PixelNearestNeighbour()


@pytest.fixture
def panel(nn):
    return dr.draw_your_own(3, methods={"pixel NN (stand-in)": nn}, baselines={}, frame=frame_character,
                            warm_up=False)


def test_it_is_a_widget_with_n_canvases_and_says_how_to_begin(panel):
    import ipywidgets

    assert isinstance(panel, ipywidgets.VBox) and "cu-draw" in panel._dom_classes
    assert len(panel.pads) == 3 and all("cu-draw-support" in pad.widget._dom_classes for pad in panel.pads)
    assert "cu-draw-query" in panel.query.widget._dom_classes
    assert panel.last_message.startswith("Draw one example of each character")
    assert panel.probabilities == {} and panel.results.value == ""


def test_mouse_events_draw_strokes_only_while_the_button_is_down(panel):
    pad = panel.pads[0]
    send(pad.canvas, "mouse_move", (10, 10))           # hovering draws nothing
    assert pad.strokes == [] and pad.events == 0
    mouse_stroke(pad, [(20, 20), (60, 40), (100, 60)])
    send(pad.canvas, "mouse_move", (140, 140))         # after the release: nothing
    assert len(pad.strokes) == 1
    np.testing.assert_array_equal(pad.strokes[0][1], [[20, 20], [60, 40], [100, 60]])
    assert pad.strokes[0][0] == dr.INK
    ink = pad.ink()
    assert ink.shape == (dr.CANVAS_PIXELS, dr.CANVAS_PIXELS) and 0 <= ink.min() and ink.max() == 1.0
    assert ink[40, 60] == 1.0 and ink[140, 140] == 0.0 and ink[130, 20] == 0.0
    print(f"kernel time per drawing event: {1e6 * pad.event_seconds / pad.events:.0f} µs "
          f"({pad.events} events)")


def test_leaving_the_canvas_ends_the_stroke_and_touch_draws_too(panel):
    pad = panel.pads[1]
    send(pad.canvas, "mouse_down", (20, 20))
    send(pad.canvas, "mouse_move", (80, 20))
    send(pad.canvas, "mouse_out", (200, 20))
    send(pad.canvas, "mouse_move", (80, 100))          # back in, button up: nothing
    assert len(pad.strokes) == 1 and len(pad.strokes[0][1]) == 2
    send(pad.canvas, "touch_start", (30, 100))
    send(pad.canvas, "touch_move", (120, 100))
    send(pad.canvas, "touch_end")
    assert len(pad.strokes) == 2 and pad.ink()[100, 75] == 1.0


def test_the_pen_has_the_stated_width():
    ink = dr.rasterise([(dr.INK, np.array([[20.0, 75.0], [130.0, 75.0]]))])
    column = ink[:, 75]
    assert abs(column.sum() - dr.PEN_WIDTH) <= 1.5, column.sum()


def test_empty_canvases_give_one_plain_sentence_naming_each(panel, nn):
    draw(panel.pads[0], 0)
    result = panel.classify()
    assert result == {} and panel.probabilities == {} and nn.calls == []
    message = panel.last_message
    for name in ("character 2", "character 3", "test drawing"):
        assert f"The {name} box is empty" in message
    assert "character 1" not in message and "Traceback" not in message
    assert panel.status_line.value == message and not panel.classify_button.disabled


def test_a_dot_is_too_small_to_read(panel):
    for i, pad in enumerate(panel.pads):
        draw(pad, i)
    mouse_stroke(panel.query, [(70, 70)])             # a click: a dot
    assert panel.classify() == {}
    assert "The drawing in the test drawing box is too small to read (a dot?)" in panel.last_message


def test_erase_undo_and_clear(panel):
    pad = panel.pads[2]
    draw(pad, 2)
    assert pad.ink()[75, 30] == 1.0
    pad.erase_button.value = True                      # the Erase toggle: strokes rub ink out
    mouse_stroke(pad, [(15, 75), (60, 75)])
    assert pad.strokes[-1][0] == dr.ERASE and pad.ink()[75, 30] == 0.0 and pad.ink()[30, 75] == 1.0
    pad.undo_button.click()
    assert pad.ink()[75, 30] == 1.0 and len(pad.strokes) == 2
    pad.clear_button.click()
    assert pad.strokes == [] and pad.ink().max() == 0.0
    pad.undo()                                         # Undo brings back what Clear wiped
    assert len(pad.strokes) == 2
    pad.erase_button.value = False
    mouse_stroke(pad, [(10, 10), (20, 20)])
    assert pad.strokes[-1][0] == dr.INK
    pad.undo(), pad.undo(), pad.undo()
    assert pad.strokes == [] and pad.undo() is None    # undo with no history does nothing


def test_an_all_erased_drawing_counts_as_empty(panel):
    for i, pad in enumerate(panel.pads):
        draw(pad, i)
    draw(panel.query, 1)
    panel.query.add_stroke([(x, y) for y in range(0, 151, 10) for x in (0, 150)[::1 if y % 20 else -1]],
                           mode=dr.ERASE)
    assert panel.query.ink().max() == 0.0
    assert panel.classify() == {} and "The test drawing box is empty" in panel.last_message


def test_classify_gives_each_method_probabilities_that_sum_to_one(panel, nn):
    for i, pad in enumerate(panel.pads):
        draw(pad, i)
    draw(panel.query, 1, scale=0.5, shift=(30, 40))   # character 2 again, half the size, elsewhere
    panel.classify_button.click()
    assert set(panel.probabilities) == {"pixel NN (stand-in)"}
    p = panel.probabilities["pixel NN (stand-in)"]
    assert p.shape == (3,) and np.isclose(p.sum(), 1.0) and (p >= 0).all()
    assert int(np.argmax(p)) == 1, p                   # framing undoes the size and the place
    assert nn.calls == [((3, 28, 28), [0, 1, 2], None)]
    support, query = panel.images
    assert support.shape == (3, 28, 28) and query.shape == (28, 28)
    assert 0 <= support.min() and support.max() <= 1 and query.max() > 0
    assert panel.last_message.startswith("Done in ") and panel.runs == 1
    assert "→ character 2" in panel.results.value and panel.results.value.count("<img") == 4
    draw(panel.query, 0)                               # a change after Classify is flagged
    assert panel.last_message.endswith("press Classify again.)")


def test_a_method_that_refuses_the_images_is_named_in_plain_words_and_the_others_shown(nn):
    panel = dr.draw_your_own(2, methods={"stand-in": nn, "refuser": Refuses()}, baselines={}, frame=frame_character,
                             warm_up=False)
    for i, pad in enumerate(panel.pads):
        draw(pad, i)
    draw(panel.query, 0)
    assert set(panel.classify()) == {"stand-in"}
    assert panel.failures == {"refuser": "images must be (n, 28, 28) in [0, 1]"}
    assert panel.last_message.startswith("Done in ")
    assert panel.last_message.endswith("Could not classify: refuser (images must be (n, 28, 28) in [0, 1]).")
    only = dr.draw_your_own(2, methods={"refuser": Refuses()}, baselines={}, frame=frame_character, warm_up=False)
    for i, pad in enumerate([*only.pads, only.query]):
        draw(pad, i % 2)
    assert only.classify() == {} and only.results.value == ""
    assert only.last_message == "No method could classify these drawings: refuser: images must be (n, 28, 28) in [0, 1]"


def test_the_warm_up_adapts_each_method_once_to_n_distinct_made_up_drawings(nn):
    panel = dr.draw_your_own(4, methods={"nn": nn}, baselines={}, frame=frame_character, steps=3)
    assert nn.calls == [((4, 28, 28), [0, 1, 2, 3], 3)] and panel.warm_up_seconds > 0
    assert all(np.abs(a - b).max() > 0.5 for i, a in enumerate(nn.images) for b in nn.images[i + 1:])
    assert panel.probabilities == {} and panel.runs == 0
    with pytest.raises(ValueError, match="images must be"):   # a method that cannot take them says so at once
        dr.draw_your_own(2, methods={"refuser": Refuses()}, baselines={}, frame=frame_character)


def test_only_the_last_line_of_a_long_error_is_shown():
    error = ValueError("in user code:\n\n    File x.py, line 3\n\n    ValueError: the real cause\n")
    assert dr._last_line(error) == "ValueError: the real cause"


def test_clear_all_wipes_every_canvas_and_the_results(panel):
    for i, pad in enumerate(panel.pads):
        draw(pad, i)
    draw(panel.query, 2)
    assert panel.classify()
    panel.clear_all_button.click()
    assert all(pad.strokes == [] for pad in [*panel.pads, panel.query])
    assert panel.probabilities == {} and panel.results.value == "" and panel.last_message.startswith("Cleared")


@pytest.mark.parametrize("n_way", [1, 6, 2.5, True, "3"])
def test_bad_n_way_is_refused(n_way, nn):
    with pytest.raises(ValueError, match="n_way must be an integer from 2 to 5"):
        dr.draw_your_own(n_way, methods={"nn": nn}, baselines={}, frame=frame_character)


def test_bad_arguments_are_refused(nn):
    with pytest.raises(ValueError, match="steps must be"):
        dr.draw_your_own(3, methods={"nn": nn}, baselines={}, frame=frame_character, steps=-1)
    with pytest.raises(ValueError, match="at least one"):
        dr.draw_your_own(3, methods={}, baselines={}, frame=frame_character)
    with pytest.raises(ValueError, match="share a name"):
        dr.draw_your_own(3, methods={"nn": nn}, baselines={"nn": nn}, frame=frame_character)
    with pytest.raises(ValueError, match="has no adapt"):
        dr.draw_your_own(3, methods={"x": object()}, baselines={}, frame=frame_character)
    panel = dr.draw_your_own(2, methods={"nn": nn}, baselines={}, frame=frame_character)
    for bad in ([], [1, 2, 3], [[1, 2, 3]], [[np.nan, 1.0]]):
        with pytest.raises(ValueError, match="non-empty"):
            panel.query.add_stroke(bad)
    with pytest.raises(ValueError, match="mode must be"):
        panel.query.add_stroke([[1, 2]], mode="pencil")
    with pytest.raises(ValueError, match="mode must be"):
        dr.rasterise([("pencil", np.zeros((1, 2)))])


def test_steps_are_handed_to_every_method(nn):
    panel = dr.draw_your_own(2, methods={"nn": nn}, baselines={}, frame=frame_character, steps=7)
    for i, pad in enumerate(panel.pads):
        draw(pad, i)
    draw(panel.query, 0)
    panel.classify()
    assert nn.calls[-1][2] == 7


def test_drawings_reach_the_networks_through_frame_character():
    panel = dr.draw_your_own(2, methods={"nn": PixelNearestNeighbour()}, baselines={})
    assert panel.frame is frame_character


@pytest.mark.parametrize("scale", [1.0, 0.45])
def test_strokes_are_thickened_like_a_fonts_whatever_the_drawing_size(scale):
    """Framed, a big and a small drawing of an "L" have stems of about STROKE_WIDTH pixels; without
    the thickening the big one's would be near half that (thinner than any rendered glyph's)."""
    points = np.array(SHAPES[1][0], dtype=float) * scale + 20
    drawn = dr.rasterise([(dr.INK, points)])
    matched = dr.match_stroke_width(drawn)
    stem = frame_character(matched)[14].sum()         # the vertical stem, across the middle row
    assert abs(stem - dr.STROKE_WIDTH) <= 0.75, stem
    if scale == 1.0:  # unthickened, thinner than the stem of DejaVu Sans's own "L", framed alike
        from chapter_utils.tasks.characters import glyph_raster

        assert frame_character(drawn)[14].sum() < frame_character(glyph_raster("L", "DejaVuSans.ttf"))[14].sum()
    assert (matched >= drawn).all()                   # it only ever adds ink


# -- the shipped learners and baselines (chapter_utils.CHARACTER_LEARNERS, character_baselines) ----
@pytest.fixture(scope="module")
def shipped_panel():
    return dr.draw_your_own(3)


def test_the_shipped_panel_shows_the_meta_learners_best_first_then_the_baselines(shipped_panel):
    import chapter_utils
    from chapter_utils.evaluation.characters import character_baselines

    names = list(shipped_panel.methods)
    assert names[:len(chapter_utils.CHARACTER_LEARNERS)] == list(chapter_utils.CHARACTER_LEARNERS)
    assert shipped_panel.baseline_names == tuple(character_baselines())
    assert "pixel nearest neighbour" in names and "prototypical network" in names
    assert shipped_panel.warm_up_seconds > 0


def test_the_shipped_methods_adapt_to_drawings_and_give_probabilities(shipped_panel):
    panel = shipped_panel
    for pad in [*panel.pads, panel.query]:
        pad.clear()
    for i, pad in enumerate(panel.pads):
        draw(pad, i)
    draw(panel.query, 2, scale=0.6, shift=(20, 30))   # the "+" again, smaller, elsewhere
    probabilities = panel.classify()
    assert panel.failures == {} and list(probabilities) == list(panel.methods)
    for name, p in probabilities.items():
        assert p.shape == (3,) and np.isclose(p.sum(), 1.0) and (p >= 0).all(), (name, p)
    assert int(np.argmax(probabilities["pixel nearest neighbour"])) == 2
    html = panel.results.value
    assert html.index("meta-learned") < html.index("baselines")
    print(f"classify with {len(probabilities)} shipped methods: {panel.classify_seconds:.2f} s; guesses "
          + ", ".join(f"{name} → {int(np.argmax(p)) + 1}" for name, p in probabilities.items()))
