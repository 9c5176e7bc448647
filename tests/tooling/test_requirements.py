"""requirements.txt and binder/ agree, and Binder's scripts are in working order."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(~=|==|>=|<=|!=|<|>)\s*(\S+)$")
# Binder installs the CPU-only wheel of the same TensorFlow release.
SAME_PACKAGE = {"tensorflow-cpu": "tensorflow"}


def _lines(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


def _pins(path: Path) -> dict[str, tuple[str, str]]:
    """``{normalised name: (operator, version)}`` for every pinned line of a requirements file."""
    pins = {}
    for line in _lines(path):
        if line.startswith("-"):
            continue
        match = PIN.match(line)
        assert match, f"{path.relative_to(ROOT)}: cannot read {line!r}"
        name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
        name = SAME_PACKAGE.get(name, name)
        assert name not in pins, f"{path.relative_to(ROOT)} names {name} twice"
        pins[name] = (match.group(2), match.group(3))
    return pins


ROOT_PINS = _pins(ROOT / "requirements.txt")
BINDER_PINS = _pins(ROOT / "binder" / "requirements.txt")


def test_root_requirements_pin_compatible_releases_and_install_the_package_last():
    lines = _lines(ROOT / "requirements.txt")
    assert lines[-1] == "-e .", "requirements.txt must end with -e . (installs chapter_utils)"
    assert {"numpy", "tensorflow", "matplotlib", "ipywidgets", "jupyterlab", "pytest", "nbval"} <= set(ROOT_PINS)
    for name, (operator, version) in ROOT_PINS.items():
        assert operator == "~=" and version.count(".") == 2, f"pin {name} as ~=X.Y.Z, not {operator}{version}"


@pytest.mark.parametrize("name", sorted(ROOT_PINS))
def test_binder_has_every_root_package_at_the_same_version(name):
    assert name in BINDER_PINS, f"binder/requirements.txt lacks {name}"
    assert BINDER_PINS[name] == ROOT_PINS[name], f"{name}: binder {BINDER_PINS[name]} != root {ROOT_PINS[name]}"


def test_binder_installs_cpu_tensorflow_and_not_the_package():
    lines = _lines(ROOT / "binder" / "requirements.txt")
    names = [re.split(r"[~=<>!\s]", line, maxsplit=1)[0].lower() for line in lines]
    assert "tensorflow-cpu" in names and "tensorflow" not in names
    assert not any(line.startswith("-e") for line in lines), "binder/postBuild installs chapter_utils"


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


def test_ci_installs_requirements_then_runs_pytest():
    lines = _lines(ROOT / ".ci" / "run")
    assert "set -euo pipefail" in lines
    assert "python3 -m pip install -q -r requirements.txt" in lines
    assert lines[-1] == "pytest", "CI must run the README's test command, plain pytest"
