#!/usr/bin/env python3
"""Run every notebook alone on Colab's stack: the wheel, Colab's versions, no repository.

Colab opens one notebook from GitHub, with nothing of the repository around it,
in its own environment (Python and library versions in ``colab-stack.txt``
beside this file, dated). This check does the same here:

1. makes a fresh virtual environment with that Python and installs those pins;
2. builds the ``chapter_utils`` wheel and installs it, non-editable, without
   letting pip move any pinned version;
3. copies each notebook *alone* into an empty folder and executes it there, top
   to bottom, with that environment's kernel (the repository is not importable).

It prints one line per notebook (seconds, and the first error if a cell
failed) and exits 1 if any notebook failed, 2 if the environment could not be
made. Run from anywhere::

    python3 tests/colab/check_colab_stack.py                 # every notebook and app
    python3 tests/colab/check_colab_stack.py 07_comparison   # some of them, by stem
    python3 tests/colab/check_colab_stack.py --keep /tmp/colab   # keep the venv and executed notebooks

``.ci/run`` runs it beside the README's test command. The Python it needs is
found as ``--python``, ``$COLAB_PYTHON``, ``python3.X`` on the PATH, or pyenv's
``versions/3.X*`` (under ``$PYENV_ROOT``, ``~/.pyenv`` or ``pyenv root``).
"""
from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PINS = HERE / "colab-stack.txt"
CELL_TIMEOUT = 900  # seconds per cell; 03's longest cell takes about 100 s on two cores

#: Runs inside the Colab-stack environment: execute one notebook in its own folder.
RUNNER = r"""
import re, sys, time, nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
path, timeout = sys.argv[1], int(sys.argv[2])
nb = nbformat.read(path, as_version=4)
client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                        resources={"metadata": {"path": str(__import__("pathlib").Path(path).parent)}})
start = time.perf_counter()
try:
    client.execute()
    error = ""
except CellExecutionError as exc:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))  # the traceback's colours
    lines = [line for line in text.splitlines() if line.strip()]
    error = lines[-1] if lines else "a cell failed"
finally:
    nbformat.write(nb, path)
print(f"{time.perf_counter() - start:.1f}\t{error}")
"""


def read_pins(path: Path = PINS) -> tuple[dict[str, str], list[str]]:
    """``({"as-of": ..., "python": ...}, [requirement lines])`` from the pins file."""
    header, requirements = {}, []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        match = re.match(r"#\s*(as-of|python):\s*(\S+)", line)
        if match:
            header[match.group(1)] = match.group(2)
        elif line and not line.startswith("#"):
            requirements.append(line)
    missing = {"as-of", "python"} - set(header)
    if missing:
        raise ValueError(f"{path.name} lacks the header line(s) {sorted(missing)}")
    return header, requirements


def find_python(version: str, given: str | None = None) -> str | None:
    """A Python ``version`` (``"3.13"``) interpreter: ``given``, ``$COLAB_PYTHON``, PATH, or pyenv."""
    candidates = [given, os.environ.get("COLAB_PYTHON"), shutil.which(f"python{version}")]
    roots = [os.environ.get("PYENV_ROOT"), os.path.expanduser("~/.pyenv")]
    if shutil.which("pyenv"):  # pyenv's own answer, whatever $HOME is
        out = subprocess.run(["pyenv", "root"], capture_output=True, text=True)
        roots.append(out.stdout.strip() if out.returncode == 0 else None)
    for root in dict.fromkeys(filter(None, roots)):
        candidates += sorted(glob.glob(os.path.join(root, "versions", f"{version}*", "bin", f"python{version}")))
    for candidate in filter(None, candidates):
        try:
            out = subprocess.run([candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                 capture_output=True, text=True, timeout=60)
        except OSError:
            continue
        if out.returncode == 0 and out.stdout.strip() == version:
            return candidate
    return None


def notebooks(stems: list[str]) -> list[Path]:
    """The collection's notebooks and apps, in contents order (or those named by stem)."""
    sys.path.insert(0, str(ROOT))
    from chapter_utils.tooling.contents import APPS, NOTEBOOKS

    every = [item.path(ROOT) for item in (*NOTEBOOKS, *APPS) if item.path(ROOT).exists()]
    if not stems:
        return every
    chosen = [path for path in every if path.stem in stems]
    unknown = set(stems) - {path.stem for path in chosen}
    if unknown:
        raise SystemExit(f"unknown notebook(s): {sorted(unknown)}")
    return chosen


def _run(command: list[str], **kwargs) -> None:
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-3000:] + result.stderr[-3000:])
        raise SystemExit(2)


def make_environment(python: str, work: Path, requirements: list[str]) -> Path:
    """A venv in ``work/venv`` with the pins and the wheel; returns its Python."""
    venv = work / "venv"
    _run([python, "-m", "venv", str(venv)])
    vpython = venv / "bin" / "python"
    pins = work / "colab-pins.txt"
    pins.write_text("\n".join(requirements) + "\n", encoding="utf-8")
    _run([str(vpython), "-m", "pip", "install", "-q", "-r", str(pins)])
    dist = work / "dist"
    # Build from a copy of the package's sources: .ci/run runs this beside the test command,
    # whose editable install and wheel test build in the checkout itself (build/, *.egg-info).
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", "*.egg-info", "__pycache__", ".ipynb_checkpoints", "notebooks",
        "tests", "colab-stack.log"))
    _run([str(vpython), "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(source)])
    (wheel,) = dist.glob("chapter_utils-*.whl")
    # The pins as constraints: installing the package must not move a Colab version.
    _run([str(vpython), "-m", "pip", "install", "-q", "-c", str(pins), str(wheel)])
    _run([str(vpython), "-m", "pip", "check"])
    return vpython


def describe(vpython: Path, cwd: Path) -> str:
    code = ("import sys, importlib.metadata as m, chapter_utils; "
            "names = ['tensorflow', 'numpy', 'matplotlib', 'ipywidgets', 'ipykernel']; "
            "print('Python %d.%d.%d' % sys.version_info[:3], *[f'{n} {m.version(n)}' for n in names], "
            "'chapter_utils from ' + chapter_utils.__file__, sep=', ')")
    out = subprocess.run([str(vpython), "-c", code], cwd=cwd, capture_output=True, text=True, env=_env(cwd))
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        raise SystemExit(2)
    return out.stdout.strip()


def _env(work: Path) -> dict[str, str]:
    """The environment for the venv's processes: no PYTHONPATH, Jupyter's own folders inside ``work``."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "VIRTUAL_ENV", "JUPYTER_PATH", "JUPYTER_CONFIG_DIR")}
    env.update(JUPYTER_DATA_DIR=str(work / "jupyter-data"), JUPYTER_CONFIG_DIR=str(work / "jupyter-config"),
               JUPYTER_RUNTIME_DIR=str(work / "jupyter-runtime"), MPLBACKEND="Agg", PYDEVD_DISABLE_FILE_VALIDATION="1")
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("stems", nargs="*", help="notebook stems (default: all)")
    parser.add_argument("--python", help="the Python to build the environment with")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    args = parser.parse_args(argv)

    header, requirements = read_pins()
    python = find_python(header["python"], args.python)
    if python is None:
        print(f"no Python {header['python']} found: pass --python or set COLAB_PYTHON", file=sys.stderr)
        return 2
    chosen = notebooks(args.stems)
    if args.keep:
        work = args.keep
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
    else:
        work = Path(tempfile.mkdtemp(prefix="colab-stack-"))
    print(f"Colab stack as of {header['as-of']}: {' '.join(requirements)}", flush=True)
    start = time.perf_counter()
    vpython = make_environment(python, work, requirements)
    print(f"environment ready in {time.perf_counter() - start:.0f} s: {describe(vpython, work)}", flush=True)

    failed = []
    for path in chosen:
        folder = work / "alone" / path.stem
        folder.mkdir(parents=True)
        copy = folder / path.name
        shutil.copyfile(path, copy)
        result = subprocess.run([str(vpython), "-c", RUNNER, str(copy), str(CELL_TIMEOUT)],
                                cwd=folder, capture_output=True, text=True, env=_env(work))
        lines = result.stdout.strip().splitlines()
        seconds, _, error = (lines[-1] if lines else "?\t").partition("\t")
        if result.returncode != 0 and not error:
            error = (result.stderr.strip().splitlines() or ["the runner failed"])[-1]
        status = "FAILED " + error if error else "passed"
        if error:
            failed.append(path.stem)
        print(f"{path.stem:28s} {seconds:>7s} s  {status}", flush=True)
    print(f"{len(chosen) - len(failed)} of {len(chosen)} notebooks passed on Colab's stack "
          f"in {time.perf_counter() - start:.0f} s" + (f"; failed: {', '.join(failed)}" if failed else ""))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
