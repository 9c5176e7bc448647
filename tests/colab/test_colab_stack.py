"""The Colab-stack pins are dated and complete, and the check covers every notebook.

The check itself (tests/colab/check_colab_stack.py) builds a Python 3.13
environment and runs for minutes, so .ci/run runs it beside pytest; these tests
only keep its inputs honest.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import check_colab_stack as check  # noqa: E402

ROOT = HERE.parents[1]


def test_pins_are_dated_and_name_colabs_python():
    header, _ = check.read_pins()
    assert re.fullmatch(r"20\d\d-\d\d(-\d\d)?", header["as-of"]), header["as-of"]
    assert re.fullmatch(r"3\.\d+", header["python"]), header["python"]


def test_the_libraries_the_notebooks_import_are_pinned_exactly():
    _, requirements = check.read_pins()
    exact = {line.split("==")[0].lower() for line in requirements if "==" in line}
    assert {"tensorflow", "numpy", "matplotlib", "ipywidgets", "ipykernel"} <= exact


def test_colabs_python_is_one_the_project_supports():
    import tomllib

    header, _ = check.read_pins()
    supported = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["requires-python"]
    low, high = re.fullmatch(r">=(3\.\d+),<(3\.\d+)", supported).groups()
    minor = lambda version: int(version.split(".")[1])  # noqa: E731
    assert minor(low) <= minor(header["python"]) < minor(high), f"Colab's {header['python']} vs {supported}"


def test_pins_file_without_its_header_is_refused(tmp_path):
    bad = tmp_path / "pins.txt"
    bad.write_text("numpy==2.1.3\n", encoding="utf-8")
    with pytest.raises(ValueError, match="as-of"):
        check.read_pins(bad)


def test_every_notebook_and_app_is_checked():
    from chapter_utils.tooling.contents import APPS, NOTEBOOKS

    expected = {item.filename for item in (*NOTEBOOKS, *APPS) if item.path(ROOT).exists()}
    assert {path.name for path in check.notebooks([])} == expected
    assert len(expected) == len(list((ROOT / "notebooks").glob("*.ipynb")))


def test_an_interpreter_of_the_wrong_version_is_not_taken():
    assert check.find_python("2.0", given=sys.executable) is None
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert check.find_python(here, given=sys.executable) == sys.executable
