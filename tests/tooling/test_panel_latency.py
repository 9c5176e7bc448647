"""``python -m chapter_utils.tooling.panel_latency``: the clicks it times and the table it prints (issue 16).

Times are printed, never asserted: these tests check the structure — which clicks, that each is
split into training, drawing and PNG rendering, that a figure was shown as a PNG — on the
quickest panel (notebook 05's Reptile on bowls, under a second a click).
"""
from __future__ import annotations

import os

import ipywidgets as widgets
import pytest

from chapter_utils.panels.base import int_slider, log_slider
from chapter_utils.tooling import panel_latency as pl


def test_settings_are_defaults_then_each_end_of_each_control():
    controls = {"beta": log_slider("β", 0.1, 0.01, 10.0), "steps": int_slider("k", 3, 1, 5),
                "mode": widgets.Dropdown(options=["serial", "batched"], value="batched")}
    clicks = pl.settings(controls)
    assert [label for label, _ in clicks] == [
        "defaults, first click", "defaults", "beta = 0.01 (min)", "beta = 10 (max)",
        "steps = 1 (min)", "steps = 5 (max)", "mode = serial"]
    assert clicks[2][1] == {"beta": pytest.approx(0.01)} and clicks[5][1] == {"steps": 5}
    assert clicks[0][1] == clicks[1][1] == {}


def test_every_panel_has_a_target_and_builds_lazily():
    assert set(pl.PANELS) == {"bowls_meta_sgd", "sine_meta_sgd", "navigation", "logistic",
                              "bowls_reptile", "sine_reptile"}
    assert {c.target for c in pl.PANELS.values()} == {1.0, 3.0, 10.0}
    with pytest.raises(ValueError, match="unknown panel"):
        pl.measure("no such panel")
    with pytest.raises(ValueError, match="repeats"):
        pl.time_panels(["bowls_reptile"], repeats=0)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="pinning needs Linux")
def test_one_small_panel_on_one_core_reports_the_split(capsys):
    assert pl.main(["--one-core", "bowls_reptile"]) == 0
    out = capsys.readouterr().out
    assert "one core" in out and "load average before" in out
    header = next(line for line in out.splitlines() if line.startswith("panel"))
    assert header.split()[:8] == ["panel", "setting", "train", "draw", "png", "total", "target", "within"]
    rows = [line for line in out.splitlines() if line.startswith("bowls_reptile")]
    assert len(rows) == 2 + 2 * 4 + 1           # defaults twice, four sliders' ends, the other mode
    assert any("Diverged" in row for row in rows), "α = 3 blows the inner loop up"


def test_records_split_each_click_and_show_a_png():
    records = pl.measure("bowls_reptile")
    done = [r for r in records if r["outcome"] == "Done"]
    assert done and all({"train", "draw", "render", "total"} <= set(r) for r in done)
    assert all("image/png" in r["shown"] for r in done), "the figure reached the page as a PNG"
    for r in done:
        assert r["train"] + r["draw"] + r["render"] <= r["total"] + 1e-6
    diverged = [r for r in records if r["outcome"] == "Diverged"]
    assert diverged and all("draw" not in r and "total" in r for r in diverged)
    medians = pl.median_records([records, records])
    assert [m["setting"] for m in medians] == [r["setting"] for r in records]
    assert all(m["repeats"] == 2 for m in medians)
    assert "bowls_reptile" in pl.table(medians)
