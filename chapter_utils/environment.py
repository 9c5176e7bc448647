"""The setup cell's version check and seeding.

Every notebook but the index starts with a generated setup cell that calls
:func:`check_environment`. It reads the installed versions from the package
metadata, so a notebook that never touches TensorFlow does not pay the few
seconds that importing it costs; it prints them on one line, warns about
anything missing or too old, and seeds the random number generators.

TensorFlow is seeded only if it has already been imported. A notebook that
imports TensorFlow after the setup cell calls :func:`seed_everything` again
right after the import.
"""
from __future__ import annotations

import contextlib
import os
import platform
import random
import re
import sys
import warnings
from collections.abc import Mapping
from importlib import metadata

#: Oldest version of each package the notebooks are known to work with.
MINIMUM_VERSIONS: dict[str, str] = {
    "numpy": "1.26",
    "tensorflow": "2.15",
    "matplotlib": "3.7",
    "ipywidgets": "7.7",
}

# The same import package ships under several distribution names; Binder
# installs ``tensorflow-cpu``, Apple machines ``tensorflow-macos``.
_DISTRIBUTION_ALIASES: dict[str, tuple[str, ...]] = {
    "tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tensorflow-intel"),
}

#: What :func:`check_environment` reports for a package that is not installed.
NOT_INSTALLED = "not installed"

# The seed of the last seed_everything call, for import_tensorflow to reuse.
_SEED: list[int] = [42]


def in_colab() -> bool:
    """Whether this code runs inside a Google Colab kernel."""
    return "google.colab" in sys.modules


def _validate_seed(seed: object) -> int:
    # bool is a subclass of int, but seed=True is surely a mistake.
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be a non-negative integer, not {seed!r}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be between 0 and 2**32 - 1 (numpy's range), not {seed}")
    return seed


def seed_everything(seed: int) -> None:
    """Seed Python's :mod:`random`, NumPy's global generator and, if loaded, TensorFlow.

    TensorFlow is seeded (``tf.random.set_seed``) only when it is already in
    ``sys.modules``; this function never imports it.

    Raises:
        ValueError: if ``seed`` is not an integer in ``[0, 2**32)``.
    """
    seed = _validate_seed(seed)
    _SEED[0] = seed
    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    tf = sys.modules.get("tensorflow")
    if tf is not None and hasattr(tf, "random"):
        tf.random.set_seed(seed)


def _release(version: str) -> tuple[int, ...]:
    """The numeric release part of a version string: ``"2.21.0rc1"`` → ``(2, 21, 0)``."""
    match = re.match(r"\d+(?:\.\d+)*", version)
    if match is None:
        return ()
    return tuple(int(part) for part in match.group().split("."))


def _older(installed: str, minimum: str) -> bool:
    """Whether ``installed`` is an older release than ``minimum`` (missing parts count as 0)."""
    have, need = _release(installed), _release(minimum)
    width = max(len(have), len(need))
    return have + (0,) * (width - len(have)) < need + (0,) * (width - len(need))


def installed_version(package: str) -> str | None:
    """The installed version of ``package``, or ``None``; never imports it."""
    for distribution in _DISTRIBUTION_ALIASES.get(package, (package,)):
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
    return None


def check_environment(seed: int = 42, require: Mapping[str, str] | None = None) -> dict[str, str]:
    """Print the versions in use on one line, warn about problems, and seed everything.

    Args:
        seed: passed to :func:`seed_everything`.
        require: minimum versions to check, ``{package: version}``; added to (and
            overriding) :data:`MINIMUM_VERSIONS`.

    Returns:
        ``{"python": ..., package: version, ...}`` for Python and every checked
        package, with :data:`NOT_INSTALLED` for packages that are missing.

    Warns:
        UserWarning: for every package that is missing or older than its minimum.

    Raises:
        ValueError: if ``seed`` is not an integer in ``[0, 2**32)``.
    """
    seed = _validate_seed(seed)
    # Quieten TensorFlow's C++ start-up chatter before anything imports it.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    minimums = dict(MINIMUM_VERSIONS)
    if require:
        minimums.update(require)

    versions = {"python": platform.python_version()}
    for package, minimum in minimums.items():
        version = installed_version(package)
        if version is None:
            versions[package] = NOT_INSTALLED
            warnings.warn(
                f"{package} is not installed; these notebooks need {package} {minimum} or newer. "
                "Install everything with: pip install -r requirements.txt",
                stacklevel=2,
            )
            continue
        versions[package] = version
        if _older(version, minimum):
            warnings.warn(
                f"{package} {version} is older than {minimum}, the oldest version these "
                f"notebooks are tested with; upgrade it with: pip install -U {package}",
                stacklevel=2,
            )

    seed_everything(seed)
    parts = [f"Python {versions['python']}"]
    parts += [f"{name} {version}" for name, version in versions.items() if name != "python"]
    parts.append(f"seed {seed}")
    if in_colab():
        parts.append("Colab")
    print(" · ".join(parts))
    return versions


@contextlib.contextmanager
def _silenced_fd(fd: int = 2):
    """Send what C/C++ code writes to file descriptor ``fd`` to /dev/null for a while."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, ValueError):
            pass
    saved = os.dup(fd)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def import_tensorflow():
    """Import TensorFlow without its C++ start-up chatter, seed it, and return the module.

    A full ``tensorflow`` wheel on a machine without a GPU prints a screen of
    log lines (oneDNN, CUDA stubs, ``cuInit``) straight to file descriptor 2,
    where no environment variable reaches them and where a notebook shows them
    under the cell. This imports TensorFlow and initialises its devices with
    that descriptor pointed at ``/dev/null``, then seeds TensorFlow with the
    seed of the last :func:`check_environment`. Errors still raise as usual.
    Used by every notebook that needs TensorFlow (first in notebook 04, §7.4.3).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" not in sys.modules:
        with _silenced_fd(2):
            import tensorflow as tf
            tf.config.list_physical_devices()
            tf.constant(0.0) + 1.0   # the first op initialises the devices (and cuInit)
    tf = sys.modules["tensorflow"]
    tf.random.set_seed(_SEED[0])
    return tf


def release_memory() -> bool:
    """Hand freed heap memory back to the operating system, where glibc allows it.

    TensorFlow frees the buffers of a finished training run, but glibc keeps the
    pages, so the next run's peak lands on top of the last one's. Notebook 03
    trains several RL learners in one kernel; the learners call this before and
    after ``fit`` so the kernel stays under the memory a Binder session allows.
    Returns whether memory was released (False off glibc, or when nothing was).
    """
    import ctypes
    import gc

    gc.collect()
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.malloc_trim(0))
    except (OSError, AttributeError):
        return False


def available_cpus() -> int:
    """How many CPUs this process may run on (its affinity where the OS has one, else the count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def machine_line(cpus: int | None = None) -> str:
    """``"x86_64, Linux, 2 CPUs, Python 3.11.7"``: where a shipped result was made (the records
    of :mod:`chapter_utils.evaluation.comparison` and :mod:`chapter_utils.evaluation.shipped`)."""
    cpus = available_cpus() if cpus is None else cpus
    return (f"{platform.machine()}, {platform.system()}, {cpus} CPUs, "
            f"Python {platform.python_version()}")


def stack_versions() -> dict[str, str]:
    """The TensorFlow and numpy in use: what a shipped record keeps as ``"versions"``, because
    another release of either trains and sums in another order (see :func:`same_stack`)."""
    import numpy

    return {"tensorflow": import_tensorflow().__version__, "numpy": numpy.__version__}


def same_stack(recorded: Mapping[str, str]) -> bool:
    """Whether this kernel runs the TensorFlow and numpy a record was made with (``recorded``:
    its ``"versions"``). On another stack — Colab's, say — training takes other paths, so a check
    of a stored run's own numbers applies only where this is true."""
    current = stack_versions()
    return current == {key: recorded.get(key) for key in current}
