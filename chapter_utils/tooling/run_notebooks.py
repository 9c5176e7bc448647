"""Re-execute the notebooks top to bottom, in place, so their stored outputs are current.

::

    python -m chapter_utils.tooling.run_notebooks                 # every notebook that exists
    python -m chapter_utils.tooling.run_notebooks 00_index 04_meta_sgd_from_scratch
    python -m chapter_utils.tooling.run_notebooks --record             # … and store the run times
    python -m chapter_utils.tooling.run_notebooks --one-core --record  # time them as on Binder

First brings the navigation up to date (:mod:`chapter_utils.tooling.generated_cells`), then
runs each notebook in a fresh kernel of the Python running this command, with
``notebooks/`` as the working directory, and saves it with its outputs and
execution counts. A notebook in which a cell fails is left unchanged on disk,
and the command exits with status 1. ``--record`` stores each notebook's run time
(:mod:`chapter_utils.tooling.run_times`) for the contents tables; ``--one-core``
only times the notebooks — kernel pinned to one CPU, one thread, as on Binder —
and saves nothing but the times.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import nbformat
from jupyter_client import AsyncKernelManager
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from traitlets import default

from chapter_utils.tooling import generated_cells as navigation
from chapter_utils.tooling import run_times
from chapter_utils.tooling.contents import APPS, NOTEBOOK_DIR, NOTEBOOKS, App, Notebook, existing_with_apps

KERNEL_NAME = "python3"
CELL_TIMEOUT = 600  # seconds, the same as pytest's --nbval-cell-timeout


#: The CPU ``--one-core`` pins each kernel to (``None``: no pinning). The kernel pins itself
#: before it starts, so it does not depend on which thread of this process launches it.
_PINNED_CPU: int | None = None
_PINNED_LAUNCHER = ("import os, runpy, sys; os.sched_setaffinity(0, {{{cpu}}}); "
                    "sys.argv = ['ipykernel_launcher'] + sys.argv[1:]; "
                    "runpy.run_module('ipykernel_launcher', run_name='__main__')")


class _CurrentPythonKernels(KernelSpecManager):
    """Kernel specs whose ``python3`` is this interpreter, whatever else is installed."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        if kernel_name == KERNEL_NAME:
            start = (["-m", "ipykernel_launcher"] if _PINNED_CPU is None
                     else ["-c", _PINNED_LAUNCHER.format(cpu=_PINNED_CPU)])
            return KernelSpec(
                argv=[sys.executable, *start, "-f", "{connection_file}"],
                display_name="Python 3 (ipykernel)", language="python", resource_dir="",
            )
        return super().get_kernel_spec(kernel_name)


class _CurrentPythonKernelManager(AsyncKernelManager):
    """nbclient's default kernel manager, starting ``python3`` kernels with this interpreter.

    The kernel talks over Unix sockets (``ipc``), not TCP ports: picking five free
    ports is racy when other kernels (a JupyterLab under test, say) start at the
    same moment, and a lost race left a run waiting for a reply that never came.
    """

    @default("transport")
    def _transport_default(self) -> str:
        return "ipc"

    @default("ip")
    def _ip_default(self) -> str:
        # For ipc the "ip" is the sockets' path prefix; absolute, because the
        # kernel runs in the notebook's folder and the client does not.
        return os.path.join(tempfile.gettempdir(), f"nbkernel-{uuid.uuid4().hex}")

    @default("kernel_spec_manager")
    def _kernel_spec_manager_default(self) -> KernelSpecManager:
        return _CurrentPythonKernels(data_dir=self.data_dir)


#: A kernel that uses no CPU for this long while a cell is running has lost a message
#: (kernel idle, client waiting for a reply that never comes: a ZeroMQ lost wake-up we met in
#: about one multi-notebook run in three on 2026-11-30, with ipykernel 7.4 and pyzmq 27.3).
#: No cell of these notebooks waits without computing; the slowest cell computes for about
#: a minute, so two minutes of zero CPU is a stall, not work.
STALL_SECONDS = 120.0


def kernel_pid(manager: object) -> int | None:
    """The process id of the kernel a jupyter_client kernel manager started, or ``None``."""
    pid = getattr(getattr(manager, "provisioner", None), "pid", None)   # jupyter_client >= 7
    return pid if isinstance(pid, int) else None


class _StallWatch(threading.Thread):
    """Kills the kernel if it sits at zero CPU for :data:`STALL_SECONDS` while a cell runs,
    so the client's wait ends (``DeadKernelError``) and :func:`execute` can start over."""

    def __init__(self, client: NotebookClient, stall_seconds: float) -> None:
        super().__init__(daemon=True)
        self.client, self.stall_seconds = client, stall_seconds
        self.running_cell: int | None = None
        self.stalled_at: int | None = None
        self.done = threading.Event()

    def run(self) -> None:
        last_cpu, since = None, time.monotonic()
        while not self.done.wait(min(5.0, self.stall_seconds / 4)):
            pid = kernel_pid(self.client.km)
            cpu = run_times.cpu_seconds(pid) if pid is not None else None
            if cpu is None or self.running_cell is None or cpu != last_cpu:
                last_cpu, since = cpu, time.monotonic()
                continue
            if time.monotonic() - since > self.stall_seconds:
                self.stalled_at = self.running_cell
                os.kill(pid, signal.SIGKILL)
                return


def execute(path: Path, root: Path, timeout: int = CELL_TIMEOUT, one_core: bool = False,
            stall_seconds: float = STALL_SECONDS) -> tuple[nbformat.NotebookNode, float, int | None]:
    """Execute the notebook at ``path`` top to bottom in memory; return it, the wall time
    in seconds and the kernel's peak resident memory in bytes (``None`` without ``/proc``).

    The kernel is this interpreter, the working directory the notebook's folder
    and the checkout's ``chapter_utils`` first on the path. Nothing is written.
    The peak (``VmHWM``) is read after every cell, as the test suite's memory
    plugin does, so it is the same figure ``pytest`` reports. ``one_core``: the
    kernel pins itself to one CPU (this process's first) and gets ``binder/start``'s
    one-thread settings, as on Binder. A kernel that stalls (no CPU for
    ``stall_seconds`` during a cell; see :data:`STALL_SECONDS`) is killed and the
    notebook run once more from the top, in a new kernel, saying so; the time
    returned is that of the run that finished.

    Raises:
        nbclient.exceptions.CellExecutionError: if a cell fails.
        nbclient.exceptions.CellTimeoutError: if a cell runs longer than ``timeout`` seconds.
        nbclient.exceptions.DeadKernelError: if the kernel dies (out of memory, say), or
            stalls twice.
    """
    for attempt in (1, 2):
        try:
            return _execute_once(Path(path), Path(root), timeout, one_core, stall_seconds)
        except _Stalled as stall:
            if attempt == 2:
                raise DeadKernelError(f"{Path(path).name}: the kernel stalled twice ({stall})") from None
            print(f"[{Path(path).name}: {stall}; running it again from the top in a new kernel]",
                  end=" ", flush=True)
    raise AssertionError("unreachable")


class _Stalled(Exception):
    """The kernel sat idle during a cell and was killed (see :class:`_StallWatch`)."""


def _execute_once(path: Path, root: Path, timeout: int, one_core: bool,
                  stall_seconds: float) -> tuple[nbformat.NotebookNode, float, int | None]:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=KERNEL_NAME,
        kernel_manager_class=_CurrentPythonKernelManager,  # the client shuts the kernel down after
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,  # no timestamps in cell metadata: re-runs give clean diffs
    )
    peak: list[int | None] = [None]    # VmHWM only grows: the last reading is the peak
    watch = _StallWatch(client, stall_seconds)

    def cell_started(cell_index: int, **_) -> None:
        watch.running_cell = cell_index

    def cell_executed(**_) -> None:
        watch.running_cell = None
        pid = kernel_pid(client.km)
        now = run_times.kernel_peak_bytes(pid) if pid is not None else None
        if now is not None:
            peak[0] = now

    client.on_cell_start = cell_started
    client.on_cell_executed = cell_executed
    global _PINNED_CPU
    pinned_before = _PINNED_CPU
    if one_core:
        if not hasattr(os, "sched_setaffinity"):
            raise RuntimeError("one_core needs os.sched_setaffinity (Linux)")
        _PINNED_CPU = min(os.sched_getaffinity(0))   # the kernel pins itself as it starts
    watch.start()
    try:
        start = time.perf_counter()
        client.execute(env=run_times.checkout_env(root, one_core))
        return nb, time.perf_counter() - start, peak[0]
    except DeadKernelError:
        if watch.stalled_at is not None:
            raise _Stalled(f"kernel idle for {stall_seconds:.0f} s in cell {watch.stalled_at}") from None
        raise
    finally:
        watch.done.set()
        _PINNED_CPU = pinned_before


def run_notebook(path: Path, root: Path, timeout: int = CELL_TIMEOUT, *, one_core: bool = False,
                 save: bool = True) -> tuple[float, int | None]:
    """:func:`execute` the notebook at ``path`` and save it (unless ``save`` is false);
    return the wall time in seconds and the kernel's peak memory in bytes.

    A notebook whose execution raises (see :func:`execute`) is not touched.
    """
    nb, elapsed, peak = execute(path, root, timeout, one_core)
    if save:
        text = nbformat.writes(nb)
        Path(path).write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    return elapsed, peak


def _selected(root: Path, stems: Sequence[str]) -> list[Notebook | App]:
    present = existing_with_apps(root)
    if not stems:
        return present
    known = {item.stem for item in (*NOTEBOOKS, *APPS)}
    # accept 04_meta_sgd_from_scratch, 04_meta_sgd_from_scratch.ipynb or notebooks/04_...ipynb
    wanted = {Path(stem).name.removesuffix(".ipynb") for stem in stems}
    unknown = wanted - known
    if unknown:
        raise SystemExit(f"{', '.join(sorted(unknown))}: not in chapter_utils.tooling.contents.NOTEBOOKS or APPS")
    missing = wanted - {item.stem for item in present}
    if missing:
        raise SystemExit(f"not written yet: {', '.join(sorted(missing))} (no file in {NOTEBOOK_DIR}/)")
    return [item for item in present if item.stem in wanted]


def _run_all(selected: Sequence[Notebook | App], root: Path,
             args: argparse.Namespace) -> tuple[list[str], dict[str, float]]:
    failed, times, peaks = [], {}, {}
    total = time.perf_counter()
    for nb in selected:
        print(f"{nb.filename} ...", end=" ", flush=True)
        try:
            seconds, peak = run_notebook(nb.path(root), root, timeout=args.timeout,
                                         one_core=args.one_core, save=not args.one_core)
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
            failed.append(nb.filename)
            print(f"FAILED, left unchanged\n{error}", flush=True)
            continue
        times[nb.stem] = seconds
        if peak is not None:
            peaks[nb.stem] = peak / 2 ** 20
        print(f"{seconds:.1f} s" + (f", kernel peak {peak / 2 ** 20:,.0f} MiB" if peak else ""), flush=True)
    print(f"total {time.perf_counter() - total:.1f} s" + (" (one core)" if args.one_core else ""))
    if args.record and times:
        run_times.record(times, "one core" if args.one_core else "two cores", run_times.path_in(root),
                         peak_mib=peaks)
        for path in navigation.update_all(root):
            print(f"run times updated: {path.relative_to(root)}")
    return failed, times


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: regenerate navigation, then execute the chosen notebooks in order."""
    parser = argparse.ArgumentParser(prog="python -m chapter_utils.tooling.run_notebooks",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("stems", nargs="*", help="notebooks to run, e.g. 04_meta_sgd_from_scratch "
                        "(default: all that exist), always run in the contents' order")
    parser.add_argument("--root", type=Path, default=None, help="repository root (default: found automatically)")
    parser.add_argument("--timeout", type=int, default=CELL_TIMEOUT, help="seconds allowed per cell")
    parser.add_argument("--no-navigation", action="store_true",
                        help="do not regenerate the navigation first")
    parser.add_argument("--one-core", action="store_true",
                        help="time each notebook as on Binder: each kernel pinned to "
                             "one CPU, one thread for BLAS and TensorFlow (binder/start's settings); "
                             "the notebooks are NOT saved (their stored outputs stay the two-core run's)")
    parser.add_argument("--record", action="store_true",
                        help="store each run time in chapter_utils/tooling/run_times.json and "
                             "regenerate the contents tables that show them")
    args = parser.parse_args(argv)
    root = args.root.resolve() if args.root else navigation.find_root()
    if args.one_core and not hasattr(os, "sched_setaffinity"):
        raise SystemExit("--one-core needs os.sched_setaffinity (Linux)")

    selected = _selected(root, args.stems)
    if not args.no_navigation:
        for path in navigation.update_all(root):
            print(f"navigation updated: {path.relative_to(root)}")

    failed, times = _run_all(selected, root, args)
    if failed:
        print("failed:", ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
