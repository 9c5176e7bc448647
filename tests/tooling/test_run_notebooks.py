"""chapter_utils.tooling.run_notebooks: runs in place with this Python in notebooks/, leaves failures untouched."""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat

from chapter_utils.tooling import run_notebooks
from chapter_utils.tooling.contents import NOTEBOOKS


def _notebook(path: Path, *sources: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# title")] + [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, path)


def test_runs_in_place_in_order_and_keeps_failures_unchanged(tmp_path, capsys):
    (tmp_path / "notebooks").mkdir()
    good, bad = NOTEBOOKS[0].path(tmp_path), NOTEBOOKS[1].path(tmp_path)
    _notebook(good, "import os, sys\nprint(sys.executable)", "print(os.getcwd())",
              "import chapter_utils.tooling.contents; print(chapter_utils.tooling.contents.__file__)")
    _notebook(bad, "x = 1", "raise RuntimeError('boom')")
    bad_before = bad.read_bytes()

    assert run_notebooks.main(["--root", str(tmp_path), "--no-navigation"]) == 1
    assert bad.read_bytes() == bad_before
    cells = [c for c in nbformat.read(good, as_version=4).cells if c.cell_type == "code"]
    assert [c.execution_count for c in cells] == [1, 2, 3]
    outputs = [c.outputs[0].text.strip() for c in cells]
    assert outputs[0] == sys.executable
    assert Path(outputs[1]).resolve() == (tmp_path / "notebooks").resolve()
    assert Path(outputs[2]).resolve() == Path(run_notebooks.__file__).with_name("contents.py").resolve()
    printed = capsys.readouterr().out
    assert f"{good.name} ..." in printed and " s\n" in printed and "FAILED" in printed
