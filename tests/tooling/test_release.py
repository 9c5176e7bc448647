"""The Colab setup cells install the tagged release ``v<chapter_utils.__version__>``: that
release must exist and hold the package the notebooks were run with.

On Colab a notebook has no repository around it; its setup cell
(:func:`chapter_utils.tooling.generated_cells.setup_source`) pip-installs
``chapter_utils`` from the git tag ``v<__version__>``. If the package changes
after the tag without a new version, Colab readers get the old package and a
notebook that imports something new fails there — which no other test sees, as
the Colab-stack check installs the checkout. So: in a git checkout, the tag must
exist and ``chapter_utils/`` must be the same at the tag as here. When this fails:
bump ``__version__``, ``python -m chapter_utils.tooling.run_notebooks --record``
(regenerates the setup cells and re-executes), commit, ``git tag v<version>``.
"""
import shutil
import subprocess
from pathlib import Path

import pytest

import chapter_utils

ROOT = Path(__file__).resolve().parents[2]
TAG = f"v{chapter_utils.__version__}"


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def checkout():
    if shutil.which("git") is None or _git("rev-parse", "--is-inside-work-tree").stdout.strip() != "true":
        pytest.skip("not a git checkout (an sdist or a wheel): no tags to compare")
    return ROOT


def test_the_release_the_setup_cells_install_is_tagged(checkout):
    assert _git("rev-parse", "-q", "--verify", f"refs/tags/{TAG}").returncode == 0, (
        f"no tag {TAG}: the setup cells install it on Colab; tag the commit the notebooks were run with")


def test_the_tagged_release_holds_this_package(checkout):
    if _git("rev-parse", "-q", "--verify", f"refs/tags/{TAG}").returncode != 0:
        pytest.skip(f"no tag {TAG} (the test above fails)")
    changed = _git("diff", "--name-only", TAG, "HEAD", "--", "chapter_utils").stdout.split()
    assert not changed, (f"chapter_utils changed since {TAG} without a new version, so Colab would "
                         f"install the old package: {changed[:8]}")
