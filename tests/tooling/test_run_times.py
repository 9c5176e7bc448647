"""chapter_utils.tooling.run_times: stored run times, the table's column, and binder/start's threads."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from chapter_utils.tooling import generated_cells, run_times

ROOT = Path(__file__).resolve().parents[2]


def test_record_keeps_other_notebooks_and_settings(tmp_path):
    path = tmp_path / "times.json"
    run_times.record({"01_a": 3.14159, "02_b": 200.0}, "two cores", path)
    run_times.record({"01_a": 2.0}, "two cores", path)
    run_times.record({"02_b": 61.0}, "one core", path)
    data = run_times.load(path)
    assert data["two cores"]["seconds"] == {"01_a": 2.0, "02_b": 200.0}
    assert data["one core"]["seconds"] == {"02_b": 61.0}
    assert run_times.cell("02_b", data) == "3.3 min / 61 s"
    assert run_times.cell("01_a", data) == "2 s / —"
    assert run_times.cell("03_c", data) == "— / —"
    assert data["one core"]["measured"]["date"] in run_times.footnote(data)
    with pytest.raises(ValueError, match="setting"):
        run_times.record({"01_a": 1.0}, "four cores", path)


def test_no_times_no_footnote(tmp_path):
    assert run_times.load(tmp_path / "absent.json") == {}
    assert run_times.footnote({}) == ""


def test_one_thread_settings_are_binder_starts():
    exported = dict(re.findall(r"^export (\w+)=(\S+)$", (ROOT / "binder" / "start").read_text(), re.M))
    assert {k: exported[k] for k in run_times.ONE_THREAD_ENV} == run_times.ONE_THREAD_ENV


def test_the_contents_table_shows_the_stored_times(tmp_path):
    (tmp_path / "notebooks").mkdir()
    run_times.record({"00_index": 1.0}, "two cores", run_times.path_in(tmp_path))
    table = generated_cells.contents_table(tmp_path)
    assert "Run time, 2 cores / 1 core" in table and "| 1 s / — |" in table
