"""The rendered character family: framing (shared with the drawing panel), the split, the tasks."""
from __future__ import annotations

import numpy as np
import pytest

from chapter_utils.tasks import characters as ch


def test_frame_character_fills_the_box_and_centres():
    ink = np.zeros((200, 300))
    ink[50:70, 100:260] = 1.0                       # a wide bar, off centre
    out = ch.frame_character(ink)
    assert out.shape == (28, 28) and out.max() == pytest.approx(1.0)
    cols = np.flatnonzero(out.max(axis=0) > 0.5)
    rows = np.flatnonzero(out.max(axis=1) > 0.5)
    assert cols.size == 20                          # the larger side fills 20 of 28 pixels
    assert abs((cols[0] + cols[-1]) / 2 - 13.5) <= 1 and abs((rows[0] + rows[-1]) / 2 - 13.5) <= 1


def test_frame_character_ignores_scale_and_position():
    small = np.zeros((100, 100))
    small[10:30, 10:20] = 1
    large = np.zeros((400, 400))
    large[200:280, 300:340] = 1
    assert np.abs(ch.frame_character(small) - ch.frame_character(large)).max() < 0.05


@pytest.mark.parametrize("bad, words", [
    (np.zeros((5, 5, 5)), "2-D"), (np.full((5, 5), 2.0), "[0, 1]"), (np.full((5, 5), -0.1), "[0, 1]"),
    (np.full((5, 5), np.nan), "finite"), (np.zeros((30, 30)), "empty drawing")])
def test_frame_character_rejects(bad, words):
    with pytest.raises(ValueError, match=words.replace("[", r"\[").replace("]", r"\]")):
        ch.frame_character(bad)


def test_renderer_uses_only_matplotlib_fonts():
    import matplotlib
    assert ch.font_dir().startswith(matplotlib.get_data_path())
    raster = ch.glyph_raster("A", ch.FACES[0])
    assert raster.ndim == 2 and 0 <= raster.min() and raster.max() <= 1 and raster.max() > 0.5


def test_distortion_is_seeded():
    base = ch.frame_character(ch.glyph_raster("k", ch.FACES[0]))
    a = ch.distort(base, np.random.default_rng(3))
    b = ch.distort(base, np.random.default_rng(3))
    c = ch.distort(base, np.random.default_rng(4))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert a.shape == (28, 28) and a.min() >= 0 and a.max() <= 1


@pytest.fixture(scope="module")
def charset():
    return ch.character_set()


def test_split_is_by_script_and_lookalikes_dropped(charset):
    train, test = charset.indices("train"), charset.indices("test")
    assert set(train).isdisjoint(test) and train.size + test.size == len(charset.chars)
    assert {charset.scripts[i] for i in test} == set(ch.TEST_SCRIPTS)
    assert train.size > 500 and test.size > 80
    assert len(set(charset.chars)) == len(charset.chars)
    assert "A" in charset.chars and "\u0391" not in charset.chars     # Greek capital alpha = Latin A
    with pytest.raises(ValueError, match="split"):
        charset.indices("validation")


def test_sample_shapes_labels_and_seed(charset):
    tasks = ch.CharacterTasks("test")
    xs, ys, xq, yq = tasks.sample(3, 5, 2, 4, np.random.default_rng(0))
    assert xs.shape == (3, 10, 28, 28) and xq.shape == (3, 20, 28, 28)
    assert xs.dtype == np.float32 and 0 <= xs.min() and xs.max() <= 1
    assert np.array_equal(ys[0], np.repeat(np.arange(5), 2)) and np.array_equal(yq[0], np.repeat(np.arange(5), 4))
    again = tasks.sample(3, 5, 2, 4, np.random.default_rng(0))
    assert np.array_equal(xs, again[0]) and np.array_equal(xq, again[2])
    # support and query images of a class are different images
    assert not any(np.array_equal(xs[0, 0], q) for q in xq[0, :4])
    with pytest.raises(ValueError, match="shots \\+ query"):
        tasks.sample(1, 5, 15, 10)
