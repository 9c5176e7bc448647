"""The Colab setup cells install the package the notebooks were run with.

On Colab a notebook has no repository around it; its setup cell
(:func:`chapter_utils.tooling.generated_cells.setup_source`) pip-installs
``chapter_utils`` from GitHub at one commit. If the package changed after that
commit, Colab readers would get the old package, and a notebook that imports
something new would fail there — which no other test sees, as the Colab-stack
check installs the checkout. So, in a full git checkout: every setup cell pins
the same commit, that commit is in this branch's history (so it reaches GitHub
with the branch), and the package (:data:`~chapter_utils.tooling.generated_cells.PACKAGE_PATHS`)
is the same there as in the working tree. When this fails: commit the package,
then ``python -m chapter_utils.tooling.run_notebooks --record`` (regenerates the
setup cells and re-executes), and commit the notebooks.
"""
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from chapter_utils.tooling.contents import APPS, NOTEBOOK_DIR
from chapter_utils.tooling.generated_cells import PACKAGE_PATHS, SETUP_MARKER, pinned_commit

ROOT = Path(__file__).resolve().parents[2]
LESSONS = [p for p in sorted((ROOT / NOTEBOOK_DIR).glob("*.ipynb"))
           if p.name not in {app.filename for app in APPS} and not p.name.startswith("00_")]


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=60)


def _pins() -> dict[str, str | None]:
    pins = {}
    for path in LESSONS:
        cells = nbformat.read(path, as_version=4).cells
        setup = next((c.source for c in cells if c.cell_type == "code" and c.source.startswith(SETUP_MARKER)), "")
        pins[path.name] = pinned_commit(setup)
    return pins


@pytest.fixture(scope="module")
def checkout():
    if shutil.which("git") is None or _git("rev-parse", "--is-inside-work-tree").stdout.strip() != "true":
        pytest.skip("not a git checkout (an sdist or a wheel): no history to compare")
    if _git("rev-parse", "--is-shallow-repository").stdout.strip() == "true":
        pytest.skip("a shallow clone: the pinned commit may be outside its history")
    return ROOT


def test_every_setup_cell_pins_one_commit():
    pins = _pins()
    assert LESSONS and None not in pins.values(), f"setup cells pinning no commit: {pins}"
    assert len(set(pins.values())) == 1, f"setup cells pin different commits: {pins}"


def test_the_pinned_commit_is_on_this_branch(checkout):
    commit = next(iter(_pins().values()))
    assert _git("merge-base", "--is-ancestor", commit, "HEAD").returncode == 0, (
        f"{commit} is not in HEAD's history, so it may never reach GitHub; regenerate the setup cells")


def test_the_pinned_commit_holds_this_package(checkout):
    commit = next(iter(_pins().values()))
    changed = _git("diff", "--name-only", commit, "--", *PACKAGE_PATHS).stdout.split()
    assert not changed, (f"the package changed since {commit[:10]}, the commit the Colab setup cells install "
                         f"(commit it, then run_notebooks --record): {changed[:8]}")
