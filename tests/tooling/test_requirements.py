"""The reader's and the test install, Binder's copy of the first, and the scripts that use them."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(~=|==|>=|<=|!=|<|>)\s*(\S+)$")
# The CPU-only wheel of the same TensorFlow release, where one exists.
SAME_PACKAGE = {"tensorflow-cpu": "tensorflow"}


def _lines(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


def _pins(path: Path) -> dict[str, tuple[str, str]]:
    """``{normalised name: (operator, version)}`` for every pinned line of a requirements file.

    ``tensorflow`` and ``tensorflow-cpu`` (the same release, chosen by environment
    markers) count as one package, pinned once.
    """
    pins = {}
    for line in _lines(path):
        if line.startswith("-"):
            continue
        requirement = line.split(";", 1)[0].strip()
        match = PIN.match(requirement)
        assert match, f"{path.relative_to(ROOT)}: cannot read {line!r}"
        name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
        name = SAME_PACKAGE.get(name, name)
        pin = (match.group(2), match.group(3))
        assert pins.get(name, pin) == pin, f"{path.relative_to(ROOT)} pins {name} twice, differently"
        pins[name] = pin
    return pins


ROOT_PINS = _pins(ROOT / "requirements.txt")
DEV_PINS = _pins(ROOT / "requirements-dev.txt")
#: Packages only the tests and the maintainer tools use: never in the reader's install.
TEST_ONLY = {"pytest", "nbval", "ruff", "playwright"}


def _marker_lines(path: Path) -> dict[str, str]:
    """``{name: environment marker}`` for the lines of a requirements file that carry one."""
    markers = {}
    for line in _lines(path):
        if ";" in line:
            requirement, marker = line.split(";", 1)
            markers[re.split(r"[~=<>!\s]", requirement.strip(), maxsplit=1)[0].lower()] = marker.strip()
    return markers


def test_reader_requirements_pin_compatible_releases_and_install_the_package_last():
    lines = _lines(ROOT / "requirements.txt")
    assert lines[-1] == "-e .", "requirements.txt must end with -e . (installs chapter_utils)"
    assert {"numpy", "tensorflow", "matplotlib", "ipywidgets", "jupyterlab", "ipykernel", "voila"} <= set(ROOT_PINS)
    for name, (operator, version) in {**ROOT_PINS, **DEV_PINS}.items():
        assert operator == "~=" and version.count(".") == 2, f"pin {name} as ~=X.Y.Z, not {operator}{version}"


def test_reader_install_leaves_out_what_only_the_tests_use():
    assert not TEST_ONLY & set(ROOT_PINS), f"test-only packages in requirements.txt: {TEST_ONLY & set(ROOT_PINS)}"
    assert TEST_ONLY <= set(DEV_PINS), f"requirements-dev.txt lacks {TEST_ONLY - set(DEV_PINS)}"


def test_dev_requirements_add_to_the_readers_and_repeat_nothing():
    lines = _lines(ROOT / "requirements-dev.txt")
    assert lines[0] == "-r requirements.txt", "requirements-dev.txt must start from the reader's set"
    assert not set(DEV_PINS) & set(ROOT_PINS), f"pinned in both files: {set(DEV_PINS) & set(ROOT_PINS)}"


# (sys_platform, platform_machine) → the TensorFlow distribution that has a wheel there.
PLATFORMS = {("linux", "x86_64"): "tensorflow-cpu", ("win32", "AMD64"): "tensorflow-cpu",
             ("darwin", "arm64"): "tensorflow", ("linux", "aarch64"): "tensorflow"}


@pytest.mark.parametrize("platform", sorted(PLATFORMS), ids="-".join)
def test_exactly_one_tensorflow_is_installed_on_each_platform(platform):
    from packaging.markers import Marker

    markers = _marker_lines(ROOT / "requirements.txt")
    environment = {"sys_platform": platform[0], "platform_machine": platform[1]}
    chosen = [name for name in ("tensorflow", "tensorflow-cpu")
              if Marker(markers[name]).evaluate(environment)]
    assert chosen == [PLATFORMS[platform]], f"{platform}: requirements.txt installs {chosen}"


def test_binder_installs_exactly_the_readers_set_except_the_package():
    root = [line for line in _lines(ROOT / "requirements.txt") if line != "-e ."]
    binder = _lines(ROOT / "binder" / "requirements.txt")
    assert binder == root, "binder/requirements.txt must be requirements.txt without its -e . line"


def test_python_versions_agree():
    """requires-python, the README and Binder's runtime name the same range of Pythons."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["requires-python"] == ">=3.11,<3.14"
    runtime = (ROOT / "binder" / "runtime.txt").read_text(encoding="utf-8").strip()
    assert runtime in ("python-3.11", "python-3.12", "python-3.13")
    assert "Python 3.11–3.13" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_binder_runtime_is_python_3_11():
    assert (ROOT / "binder" / "runtime.txt").read_text(encoding="utf-8").strip() == "python-3.11"


@pytest.mark.parametrize("script", ["binder/postBuild", "binder/start", ".ci/run"])
def test_scripts_are_executable_bash(script):
    path = ROOT / script
    assert path.stat().st_mode & 0o111, f"{script} is not executable (chmod +x, and commit the mode)"
    assert os.access(path, os.X_OK)
    assert path.read_text(encoding="utf-8").split("\n", 1)[0] in ("#!/usr/bin/env bash", "#!/bin/bash")


def test_postbuild_installs_the_package_without_dependencies():
    assert "pip install --no-deps -e ." in _lines(ROOT / "binder" / "postBuild")


def test_start_limits_threads_and_hands_over():
    lines = _lines(ROOT / "binder" / "start")
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                     "TF_NUM_INTEROP_THREADS", "TF_NUM_INTRAOP_THREADS"):
        assert f"export {variable}=1" in lines
    assert lines[-1] == 'exec "$@"'


def readme_test_command() -> str:
    """The README's test command: the code line that installs requirements-dev.txt and runs pytest."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = [line.split("#", 1)[0].strip() for line in readme.splitlines()
                if line.startswith("pip install -r requirements-dev.txt")]
    assert len(commands) == 1, f"the README should give one test command, found {commands}"
    return commands[0]


def test_readme_test_command_installs_then_runs_pytest_in_one_line():
    assert readme_test_command() == "pip install -r requirements-dev.txt && pytest"


def test_ci_runs_exactly_the_readme_test_command():
    lines = _lines(ROOT / ".ci" / "run")
    assert "set -euo pipefail" in lines
    assert readme_test_command() in lines, "CI must call the README's test command as written"
