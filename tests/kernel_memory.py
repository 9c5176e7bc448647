"""Pytest plugin: how much memory each notebook's kernel needs (registered by the root conftest.py).

A mybinder.org session is stopped when it uses more than 2 GB, so while nbval
runs a notebook, the kernel's peak resident memory (``VmHWM`` in
``/proc/<pid>/status``, which only grows) is read after every cell. The cell
after which it first exceeds the limit fails: 1.2 GB (1,144 MiB), which leaves room under
Binder's 2 GB for the server and the browser's share, and for a second kernel a reader may
have open (issue 16); ``--kernel-memory-limit`` (in GiB) changes it.
At the end of the run a table gives each notebook's peak and the cell at which
it was reached. Where there is no ``/proc`` (macOS, Windows) nothing is measured
and the table says so.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from chapter_utils.tooling.run_notebooks import kernel_pid
from chapter_utils.tooling.run_times import kernel_peak_bytes

DEFAULT_LIMIT_GIB = 1.2e9 / 1024 ** 3   # 1.2 GB
_GIB = 1024 ** 3
_MIB = 1024 ** 2


@dataclass
class _Peak:
    """A notebook's kernel: the highest VmHWM seen, the cell that first reached it."""

    bytes: int = 0
    cell: str = ""
    over_limit_reported: bool = False
    cells_measured: int = field(default=0)


_PEAKS = pytest.StashKey[dict]()


def pytest_addoption(parser):
    parser.addoption("--kernel-memory-limit", type=float, default=DEFAULT_LIMIT_GIB,
                     metavar="GIB", help="fail a notebook cell after which the kernel's peak "
                     f"resident memory exceeds this many GiB (default {DEFAULT_LIMIT_GIB:.3f}, i.e. 1.2 GB)")


def pytest_configure(config):
    config.stash[_PEAKS] = {}


def _kernel_pid(item) -> int | None:
    """The pid of the kernel nbval runs ``item`` (a notebook cell) in, or ``None``."""
    try:
        from nbval.plugin import IPyNbCell
    except ImportError:
        return None
    if not isinstance(item, IPyNbCell):
        return None
    return kernel_pid(getattr(getattr(item.parent, "kernel", None), "km", None))


def _record(item) -> tuple[_Peak, int] | None:
    pid = _kernel_pid(item)
    if pid is None:
        return None
    peaks = item.config.stash[_PEAKS]
    try:
        name = str(item.path.relative_to(item.config.rootpath))
    except ValueError:
        name = str(item.path)
    peak = peaks.setdefault(name, _Peak())
    now = kernel_peak_bytes(pid)
    if now is None:
        return None
    peak.cells_measured += 1
    if now > peak.bytes:
        peak.bytes, peak.cell = now, item.name
    return peak, now


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    try:
        result = yield
    except BaseException:
        _record(item)  # the cell failed on its own; still count its memory
        raise
    recorded = _record(item)
    if recorded is not None:
        peak, now = recorded
        limit = item.config.getoption("kernel_memory_limit") * _GIB
        if now > limit and not peak.over_limit_reported:
            peak.over_limit_reported = True
            pytest.fail(f"after this cell the kernel's peak memory is {now / _MIB:,.0f} MiB, above "
                        f"the {limit / _MIB:,.0f} MiB limit (Binder stops sessions above 2 GB)",
                        pytrace=False)
    return result


def pytest_terminal_summary(terminalreporter, config):
    peaks = config.stash.get(_PEAKS, {})
    if not peaks:
        return
    limit = config.getoption("kernel_memory_limit") * _GIB
    terminalreporter.section("notebook kernels: peak resident memory (VmHWM)")
    for notebook, peak in sorted(peaks.items()):
        if not peak.cells_measured:
            terminalreporter.write_line(f"{notebook:50s} not measured (no /proc)")
            continue
        flag = "  OVER THE LIMIT" if peak.bytes > limit else ""
        terminalreporter.write_line(f"{notebook:50s} {peak.bytes / _MIB:8,.0f} MiB  "
                                    f"(reached at {peak.cell}){flag}")
    terminalreporter.write_line(f"limit {limit / _MIB:,.0f} MiB per kernel "
                                "(--kernel-memory-limit); Binder stops sessions above 2 GB")
