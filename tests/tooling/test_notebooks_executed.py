"""The committed notebooks carry the outputs of one clean top-to-bottom run.

A cheap check, without running anything: every code cell was executed, the
execution counts go 1, 2, ..., N in cell order (so no cell was run twice or out
of order, and the kernel was fresh), and no cell stored an error.
``python -m chapter_utils.tooling.run_notebooks`` produces exactly this.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from chapter_utils.tooling.contents import NOTEBOOK_DIR

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_FILES = sorted((ROOT / NOTEBOOK_DIR).glob("*.ipynb"))
HOW = "re-run it with `python -m chapter_utils.tooling.run_notebooks {}`"


def test_there_are_notebooks():
    assert NOTEBOOK_FILES, f"no notebooks in {NOTEBOOK_DIR}/"


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda p: p.name)
def test_code_cells_ran_once_in_order(path):
    cells = [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]
    assert cells, f"{path.name} has no code cell"
    unexecuted = [i for i, cell in enumerate(cells, 1) if cell.execution_count is None]
    assert not unexecuted, (f"{path.name}: code cells {unexecuted} (counting code cells only) were never "
                            f"run or are empty; " + HOW.format(path.stem))
    counts = [cell.execution_count for cell in cells]
    assert counts == list(range(1, len(cells) + 1)), (
        f"{path.name}: execution counts {counts} are not 1..{len(cells)}; " + HOW.format(path.stem))


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda p: p.name)
def test_no_stored_errors(path):
    for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
        for output in cell.get("outputs", []):
            assert output.output_type != "error", (
                f"{path.name}, cell {i}: {output.get('ename')}: {output.get('evalue')}")
