"""chapter_utils.environment: versions reported, seeds applied, bad seeds refused, TensorFlow left alone."""
from __future__ import annotations

import os
import platform
import random
import subprocess
import sys
import types
import warnings
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

from chapter_utils.environment import (
    NOT_INSTALLED,
    _older,
    check_environment,
    in_colab,
    installed_version,
    seed_everything,
)

ROOT = Path(__file__).resolve().parents[1]


def test_returns_and_prints_the_installed_versions(capsys):
    versions = check_environment(seed=7)
    assert versions["python"] == platform.python_version()
    assert versions["numpy"] == metadata.version("numpy")
    assert versions["matplotlib"] == metadata.version("matplotlib")
    assert versions["tensorflow"] == installed_version("tensorflow")
    printed = capsys.readouterr().out
    assert printed.count("\n") == 1
    assert printed.startswith(f"Python {platform.python_version()} · numpy {versions['numpy']}")
    assert printed.rstrip().endswith("seed 7") or printed.rstrip().endswith("seed 7 · Colab")


def test_this_environment_meets_the_minimums():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        versions = check_environment()
    assert NOT_INSTALLED not in versions.values()


def test_seeds_numpy_and_random_reproducibly():
    check_environment(seed=3)
    first = np.random.rand(5), random.random()
    check_environment(seed=3)
    second = np.random.rand(5), random.random()
    check_environment(seed=4)
    other = np.random.rand(5)
    np.testing.assert_array_equal(first[0], second[0])
    assert first[1] == second[1]
    assert not np.array_equal(first[0], other)


@pytest.mark.parametrize("seed", [-1, 1.5, "42", None, True, 2**32])
def test_rejects_bad_seeds(seed):
    with pytest.raises(ValueError):
        check_environment(seed=seed)
    with pytest.raises(ValueError):
        seed_everything(seed)


def test_warns_about_old_and_missing_packages():
    with pytest.warns(UserWarning, match=r"numpy .* is older than 999"):
        check_environment(require={"numpy": "999"})
    with pytest.warns(UserWarning, match="surely-not-a-package-xyz is not installed"):
        versions = check_environment(require={"surely-not-a-package-xyz": "1.0"})
    assert versions["surely-not-a-package-xyz"] == NOT_INSTALLED


def test_version_comparison():
    assert _older("1.25.2", "1.26")
    assert _older("2.9.0", "2.15")  # numerically, not as text
    assert not _older("1.26", "1.26.0")
    assert not _older("2.21.0rc1", "2.15")
    assert not _older("8.1.9", "7.7")


def test_in_colab(monkeypatch):
    assert not in_colab()
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert in_colab()


def test_check_environment_does_not_import_tensorflow():
    code = ("import sys\nfrom chapter_utils.environment import check_environment\n"
            "check_environment()\nassert 'tensorflow' not in sys.modules\n")
    paths = [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": os.pathsep.join(paths)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_seeds_tensorflow_once_imported():
    tf = pytest.importorskip("tensorflow")
    seed_everything(11)
    first = tf.random.uniform([4]).numpy()
    seed_everything(11)
    np.testing.assert_array_equal(first, tf.random.uniform([4]).numpy())


def test_import_tensorflow_is_quiet_and_seeded():
    code = ("from chapter_utils.environment import import_tensorflow, seed_everything\n"
            "seed_everything(5)\n"
            "tf = import_tensorflow()\n"
            "print(tf.random.uniform([3]).numpy().tolist())\n")
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           cwd=ROOT, timeout=300) for _ in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stderr
        assert "cuda" not in run.stderr.lower() and "absl" not in run.stderr, run.stderr
    assert runs[0].stdout == runs[1].stdout


def test_release_memory_without_glibc_reports_false(monkeypatch):
    import ctypes

    from chapter_utils.environment import release_memory

    def missing(name):
        raise OSError(f"{name}: cannot open shared object file")
    monkeypatch.setattr(ctypes, "CDLL", missing)
    assert release_memory() is False


def test_release_memory_calls_malloc_trim(monkeypatch):
    import ctypes

    from chapter_utils.environment import release_memory
    calls = []

    class FakeLibc:
        def malloc_trim(self, pad):
            calls.append(pad)
            return 1
    monkeypatch.setattr(ctypes, "CDLL", lambda name: FakeLibc())
    assert release_memory() is True and calls == [0]
