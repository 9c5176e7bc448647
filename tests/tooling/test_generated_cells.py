"""The generated navigation, setup cells and contents tables: current and idempotent.

Where their links and badges lead (and every other link) is checked in ``test_links.py``.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import chapter_utils
from chapter_utils.tooling import generated_cells as navigation
from chapter_utils.tooling.contents import APPS, BRANCH, NOTEBOOK_DIR, NOTEBOOKS, REPOSITORY, by_stem
from chapter_utils.tooling.generated_cells import (
    CONTENTS_MARKER,
    NAVIGATION_MARKER,
    README_END,
    README_START,
    SETUP_MARKER,
    contents_table,
    navigation_source,
    setup_source,
    update_all,
)

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_FILES = sorted((ROOT / NOTEBOOK_DIR).glob("*.ipynb"))
#: The lessons: every notebook file but the Voilà apps, which carry no navigation or setup cells.
LESSON_FILES = [p for p in NOTEBOOK_FILES if p.name not in {app.filename for app in APPS}]
#: The commit the setup cells must pin (``None`` outside a full git checkout: then their own pin).
RELEASE_COMMIT = navigation.release_commit(ROOT)
NAME = re.compile(r"^\d{2}_[a-z0-9]+(?:_[a-z0-9]+)*\.ipynb$")


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _readme_table() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text.split(README_START, 1)[1].split(README_END, 1)[0]


def _write_minimal(path: Path, title: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}"), nbformat.v4.new_code_cell("x = 1")]
    nbformat.write(nb, path)


def _copy_repo(tmp_path: Path) -> Path:
    """The notebooks and README in ``tmp_path``, plus a notebook other than the index."""
    (tmp_path / NOTEBOOK_DIR).mkdir()
    for path in NOTEBOOK_FILES:
        shutil.copy2(path, tmp_path / NOTEBOOK_DIR / path.name)
    shutil.copy2(ROOT / "README.md", tmp_path / "README.md")
    if not any(nb.path(tmp_path).exists() for nb in NOTEBOOKS if nb.stem != navigation.INDEX_STEM):
        first = next(nb for nb in NOTEBOOKS if nb.stem != navigation.INDEX_STEM)
        _write_minimal(first.path(tmp_path), first.title_en)
    return tmp_path


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _first_other(root: Path) -> Path:
    return next(nb.path(root) for nb in NOTEBOOKS
                if nb.stem != navigation.INDEX_STEM and nb.path(root).exists())


def test_committed_navigation_is_current():
    stale = update_all(ROOT, write=False)
    assert stale == [], f"out of date, run `python -m chapter_utils.tooling.generated_cells`: {stale}"


def test_generator_is_idempotent(tmp_path):
    root = _copy_repo(tmp_path)
    update_all(root)
    before = _snapshot(root)
    assert update_all(root) == []
    assert _snapshot(root) == before, "a second run rewrote files"
    assert navigation.main(["--check", "--root", str(root)]) == 0


def test_check_reports_stale_files_and_changes_nothing(tmp_path):
    root = _copy_repo(tmp_path)
    update_all(root)
    path = root / NOTEBOOK_DIR / "00_index.ipynb"
    nb = _read(path)
    nb.cells[1].source = NAVIGATION_MARKER + "\nsomething stale"
    nbformat.write(nb, path)
    readme = root / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8").replace("| Notebook |", "| Old |"), encoding="utf-8")
    before = _snapshot(root)

    assert navigation.main(["--check", "--root", str(root)]) == 1
    assert _snapshot(root) == before
    assert sorted(update_all(root)) == sorted([path, readme])
    assert _read(path).cells[1].source == navigation_source(by_stem("00_index"), root)
    assert update_all(root, write=False) == []


def test_setup_cell_outputs_kept_if_source_unchanged_and_cleared_if_changed(tmp_path):
    root = _copy_repo(tmp_path)
    update_all(root)
    path = _first_other(root)
    nb = _read(path)
    setup = nb.cells[2]
    setup.execution_count = 1
    setup.outputs = [nbformat.v4.new_output("stream", name="stdout", text="Python 3.11\n")]
    nbformat.write(nb, path)

    assert update_all(root) == []
    kept = _read(path).cells[2]
    assert kept.execution_count == 1 and kept.outputs[0].text == "Python 3.11\n"

    nb = _read(path)
    nb.cells[2].source += "\nprint('edited by hand')"
    nbformat.write(nb, path)
    assert update_all(root) == [path]
    fresh = _read(path).cells[2]
    # tmp_path is no git checkout, so the regenerated cell keeps the commit the cell pinned
    assert fresh.source == setup_source(commit=navigation.pinned_commit(kept.source))
    assert fresh.outputs == [] and fresh.execution_count is None


def test_generated_cells_are_not_duplicated(tmp_path):
    root = _copy_repo(tmp_path)
    update_all(root)
    path = _first_other(root)
    nb = _read(path)
    nb.cells.insert(3, nbformat.v4.new_code_cell(nb.cells[2].source))  # e.g. a bad merge
    nbformat.write(nb, path)
    update_all(root)
    cells = _read(path).cells
    assert sum(c.source.startswith(SETUP_MARKER) for c in cells) == 1
    assert sum(c.source.startswith(NAVIGATION_MARKER) for c in cells) == 2
    assert len({c.id for c in cells}) == len(cells)


def test_navigation_skips_planned_notebooks_and_omits_ends(tmp_path):
    (tmp_path / NOTEBOOK_DIR).mkdir()
    stems = ["00_index", NOTEBOOKS[2].stem, NOTEBOOKS[5].stem]
    for stem in stems:
        _write_minimal(by_stem(stem).path(tmp_path), stem)
    index, middle, last = (by_stem(stem) for stem in stems)

    source = navigation_source(middle, tmp_path)
    assert NOTEBOOKS[1].filename not in source            # planned: not linked
    assert "< " not in source.split("\n")[1]              # first chapter notebook: no previous
    assert "[Contents](00_index.ipynb)" in source
    assert f"[{last.title_en}]({last.filename}) >" in source

    source = navigation_source(last, tmp_path)
    assert f"< [{middle.title_en}]({middle.filename})" in source
    assert not source.split("\n")[1].endswith(">")         # last notebook: no next

    assert f"[{middle.title_en}]({middle.filename}) >" in navigation_source(index, tmp_path)
    table = contents_table(tmp_path)
    assert f"[{middle.stem}]({middle.filename})" in table
    assert f"{NOTEBOOKS[1].stem} *(planned)*" in table


def test_readme_table_lists_every_notebook():
    table = _readme_table()
    for nb in NOTEBOOKS:
        assert nb.stem in table and nb.section in table and nb.title_zh in table


@pytest.mark.parametrize("path", LESSON_FILES, ids=lambda p: p.name)
def test_generated_cells_are_in_place(path):
    cells = _read(path).cells
    assert cells[1].source.startswith(NAVIGATION_MARKER) and cells[-1].source.startswith(NAVIGATION_MARKER)
    setups = [i for i, c in enumerate(cells) if c.cell_type == "code" and c.source.startswith(SETUP_MARKER)]
    if path.stem == navigation.INDEX_STEM:
        assert setups == []
        assert any(c.source.startswith(CONTENTS_MARKER) for c in cells)
    else:
        assert setups == [2], f"{path.name}: the setup cell must follow the top navigation"
        commit = RELEASE_COMMIT or navigation.pinned_commit(cells[2].source)
        assert cells[2].source == setup_source(commit, by_stem(path.stem).custom_widgets), (
            f"{path.name}: setup cell out of date; run python -m chapter_utils.tooling.generated_cells")


COMMIT = "0123456789abcdef0123456789abcdef01234567"  # any full commit id


def test_setup_source_is_short_and_installs_only_the_helpers():
    source = setup_source(commit=COMMIT)
    lines = source.split("\n")
    assert lines[0] == SETUP_MARKER and len(lines) <= 16
    compile(source, "<setup cell>", "exec")
    assert f'"git+https://github.com/{REPOSITORY}@{COMMIT}"' in source, "pinned to one commit"
    assert navigation.pinned_commit(source) == COMMIT
    assert f"@{BRANCH}" not in source, "never the branch head"
    assert '"google.colab" in sys.modules' in source
    install = source[source.index("check_call"):source.index("])")]
    assert "tensorflow" not in install.lower(), "Colab ships TensorFlow; do not reinstall it"
    assert "%pip" not in source and "subprocess.check_call" in source
    assert "enable_custom_widget_manager" not in source
    assert "output.enable_custom_widget_manager()" in setup_source(custom_widgets=True, commit=COMMIT)


@pytest.mark.parametrize("bad", ["v0.3.0", "main", "0123456", COMMIT.upper(), None])
def test_install_url_takes_only_a_full_commit_id(bad):
    with pytest.raises(ValueError, match="40-hex"):
        navigation.install_url(bad)


# Runs a setup cell as if on Colab: a stand-in google.colab module records the custom widget
# manager call, and subprocess.check_call records the install instead of running pip.
_FAKE_COLAB = """
import sys, types, subprocess
calls = []
colab = types.ModuleType("google.colab")
colab.output = types.SimpleNamespace(enable_custom_widget_manager=lambda: calls.append("widgets"))
sys.modules["google"] = types.ModuleType("google")
sys.modules["google.colab"] = colab
sys.modules["google.colab.output"] = colab.output
subprocess.check_call = lambda args, **kw: calls.append(args[-1])
"""


def _run_as_colab(source: str) -> list[str]:
    code = _FAKE_COLAB + source + "\nprint('CALLS', calls)\n"
    paths = [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT / NOTEBOOK_DIR, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(paths)}, timeout=120)
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("CALLS"))
    return eval(line[len("CALLS"):])  # a list of strings printed by the child


def test_on_colab_the_setup_cell_installs_only_when_its_release_is_missing():
    installed = chapter_utils.__version__  # the editable install here is the current release
    assert _run_as_colab(setup_source(commit=COMMIT)) == [], "reinstalled a release that is already installed"
    other = _run_as_colab(setup_source(version="99.0.0", commit=COMMIT))
    assert other == [f"git+https://github.com/{REPOSITORY}@{COMMIT}"], other
    assert installed != "99.0.0"


def test_on_colab_the_setup_cell_enables_the_custom_widget_manager_when_asked():
    assert _run_as_colab(setup_source(custom_widgets=True, commit=COMMIT)) == ["widgets"]


def test_setup_cell_runs_outside_colab_without_importing_tensorflow():
    code = setup_source(commit=COMMIT) + "\nassert 'tensorflow' not in sys.modules, 'setup imported TensorFlow'\n"
    paths = [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT / NOTEBOOK_DIR, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "numpy" in done.stdout and "seed 42" in done.stdout


def test_every_notebook_file_is_listed_and_well_named():
    listed = {nb.filename for nb in NOTEBOOKS}
    apps = {app.filename for app in APPS}
    for path in NOTEBOOK_FILES:
        if path.name in apps:
            continue
        assert NAME.match(path.name), f"{path.name} is not named NN_snake_case.ipynb"
        assert path.name in listed, f"{path.name} is missing from chapter_utils.tooling.contents.NOTEBOOKS"


def test_contents_list_is_well_formed():
    names = [nb.filename for nb in NOTEBOOKS]
    assert all(NAME.match(name) for name in names)
    numbers = [nb.number for nb in NOTEBOOKS]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert NOTEBOOKS[0].stem == navigation.INDEX_STEM
    assert (ROOT / NOTEBOOK_DIR / "00_index.ipynb").is_file()
