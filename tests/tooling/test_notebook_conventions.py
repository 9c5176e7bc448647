"""Every lesson keeps the collection's reading conventions (the audit of issue 15).

* check cells — the cells that ``assert`` what the text claims — start with
  ``# Check: …``, carry the tag ``check`` and have their source collapsed
  (``jupyter.source_hidden``, which JupyterLab and Voilà honour);
* no notebook asserts a wall-clock time (times are printed; the benchmark reports them);
* every exercise has a solution a reader can reveal: a collapsed cell (code and
  output) tagged ``solution`` that starts ``# Solution to exercise N`` (executed) or a
  markdown ``<details><summary>Solution to exercise N …``;
* the summary is given in Chinese too (``## Summary · 小结``).
"""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from chapter_utils.tooling.contents import NOTEBOOKS

ROOT = Path(__file__).resolve().parents[2]
LESSONS = [nb for nb in NOTEBOOKS if nb.stem != "00_index" and nb.path(ROOT).exists()]
TIME_WORDS = re.compile(r"\b(seconds|elapsed|perf_counter|wall|time\.time|fit_seconds)\b")


def _cells(nb):
    return json.loads(nb.path(ROOT).read_text(encoding="utf-8"))["cells"]


def _source(cell) -> str:
    return "".join(cell["source"])


def _top_level_asserts(source: str) -> list[ast.Assert]:
    """The ``assert`` statements of a cell outside function and class bodies."""
    try:
        tree = ast.parse("\n".join(line for line in source.splitlines()
                                   if not line.lstrip().startswith(("%", "!"))))
    except SyntaxError:
        return []
    found: list[ast.Assert] = []

    def visit(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                continue
            if isinstance(child, ast.Assert):
                found.append(child)
            visit(child)
    visit(tree)
    return found


def _hidden(cell) -> bool:
    return bool(cell.get("metadata", {}).get("jupyter", {}).get("source_hidden"))


def _tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


@pytest.mark.parametrize("nb", LESSONS, ids=lambda nb: nb.stem)
def test_check_cells_are_labelled_and_collapsed(nb):
    wrong = []
    for i, cell in enumerate(_cells(nb)):
        if cell["cell_type"] != "code" or not _top_level_asserts(_source(cell)):
            continue
        if "solution" in _tags(cell):
            continue
        first = _source(cell).lstrip().splitlines()[0]
        if not (first.startswith("# Check") and "check" in _tags(cell) and _hidden(cell)):
            wrong.append(f"cell {i}: {first[:70]!r}")
    assert not wrong, "cells that assert but are not labelled, tagged 'check' and collapsed:\n" + "\n".join(wrong)


@pytest.mark.parametrize("nb", LESSONS, ids=lambda nb: nb.stem)
def test_no_wall_clock_assertions(nb):
    found = [f"cell {i}: {ast.unparse(a)[:80]}" for i, cell in enumerate(_cells(nb))
             if cell["cell_type"] == "code" for a in _top_level_asserts(_source(cell))
             if TIME_WORDS.search(ast.unparse(a.test))]
    assert not found, "assertions on wall-clock time:\n" + "\n".join(found)


@pytest.mark.parametrize("nb", LESSONS, ids=lambda nb: nb.stem)
def test_every_exercise_has_a_revealable_solution(nb):
    cells = _cells(nb)
    heading = re.compile(r"^#+ Exercises.*$", re.M)
    exercises = [heading.split(_source(c), 1)[1] for c in cells
                 if c["cell_type"] == "markdown" and heading.search(_source(c))]
    assert exercises, "no '## Exercises' section"
    numbers = {int(n) for text in exercises for n in re.findall(r"^(\d+)\. ", text, re.M)}
    assert numbers, "the exercises are not a numbered list"
    solved = set()
    for cell in cells:
        text = _source(cell)
        found = re.findall(r"(?:^# Solution to exercise|<summary>\s*Solution to exercise) (\d+)", text, re.M)
        if found:
            assert "solution" in _tags(cell) and (_hidden(cell) or "<details" in text), \
                f"solution cell {found} is not tagged 'solution' and collapsed"
            if cell["cell_type"] == "code":  # its printed answer stays hidden until revealed too
                assert cell["metadata"]["jupyter"].get("outputs_hidden"), \
                    f"solution {found} shows its output before it is revealed"
            if cell["cell_type"] == "code":
                assert cell.get("execution_count"), f"solution {found} was not executed"
            solved.update(int(n) for n in found)
    assert numbers <= solved, f"exercises without a solution: {sorted(numbers - solved)}"


@pytest.mark.parametrize("nb", LESSONS, ids=lambda nb: nb.stem)
def test_summary_in_english_and_chinese(nb):
    summaries = [_source(c) for c in _cells(nb) if c["cell_type"] == "markdown"
                 and re.search(r"^#+ Summary · 小结", _source(c), re.M)]
    assert summaries, "no '## Summary · 小结' heading"
    text = "".join(summaries)
    chinese = len(re.findall(r"[\u4e00-\u9fff]", text))
    assert chinese > 40, f"the summary has only {chinese} Chinese characters"
