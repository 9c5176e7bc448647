"""The built wheel carries what the notebooks load at run time (issue: works where readers are).

On Colab a notebook runs with only the installed package around it, no
repository. These tests build the wheel, install it into an empty folder and
load the shipped data from there, with the repository out of reach.
"""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "chapter_utils" / "data"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out), str(ROOT)], check=True, capture_output=True, text=True)
    (built,) = out.glob("chapter_utils-*.whl")
    return built


def test_every_data_file_is_in_the_wheel(wheel):
    shipped = sorted(path.relative_to(ROOT).as_posix() for path in DATA.iterdir() if path.is_file())
    assert shipped, "chapter_utils/data/ is empty"
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [name for name in shipped if name not in names]
    assert not missing, f"not in the wheel (pyproject.toml [tool.setuptools.package-data]): {missing}"


def test_the_installed_wheel_loads_the_results_and_learners_without_the_repository(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                    str(wheel)], check=True, capture_output=True, text=True)
    elsewhere = tmp_path / "empty"
    elsewhere.mkdir()
    code = ("import chapter_utils, pathlib; from chapter_utils.evaluation import comparison; "
            "print(pathlib.Path(chapter_utils.__file__).parent); r = comparison.load(); print(sorted(r)[:3]); "
            "print(sorted(comparison.load_learners())); "
            "print(chapter_utils.CHARACTER_LEARNERS[0], "
            "type(chapter_utils.load_character_learner(chapter_utils.CHARACTER_LEARNERS[0])).__name__); "
            "from chapter_utils.evaluation import shipped; "
            "print(type(shipped.load('03 MAML')).__name__, shipped.load('03 MAML').returns_after.size)")
    # -I: isolated mode, so neither the working directory nor PYTHONPATH nor the editable
    # install can supply chapter_utils; only the wheel's copy in `target` is on the path.
    result = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(target)!r}); {code}"],
                            cwd=elsewhere, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""})
    assert result.returncode == 0, result.stderr[-2000:]
    package_dir = result.stdout.splitlines()[0]
    assert package_dir == str(target / "chapter_utils"), f"imported from {package_dir}, not the wheel"
    assert "'Meta-SGD'" in result.stdout.splitlines()[-3], result.stdout
    assert result.stdout.splitlines()[-2].startswith("first-order MAML"), result.stdout
    assert result.stdout.splitlines()[-1] == "MAMLPolicyGradient 400", result.stdout   # 02/03's shipped learners
