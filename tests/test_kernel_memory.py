"""The kernel-memory plugin (tests/kernel_memory.py): each notebook kernel's peak memory, and its limit."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
pytest_plugins = ["pytester"]

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(),
                                reason="peak memory is read from /proc (Linux only)")

# 300 MiB of bytes actually written, so the kernel's resident memory grows by that much.
_BIG = "big = b'x' * (300 * 2**20)"


def _run(pytester, limit_gib: float):
    pytester.makeconftest((ROOT / "tests" / "kernel_memory.py").read_text(encoding="utf-8"))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell(_BIG),
                nbformat.v4.new_code_cell("del big")]
    nbformat.write(nb, pytester.path / "memory.ipynb")
    return pytester.runpytest_subprocess("--nbval-lax", "--nbval-current-env", "-p", "no:cacheprovider",
                                         f"--kernel-memory-limit={limit_gib}", "memory.ipynb")


def _peak_mib(output: str) -> float:
    match = re.search(r"^memory\.ipynb\s+([\d,]+) MiB\s+\(reached at Cell 1\)", output, re.MULTILINE)
    assert match, output
    return float(match.group(1).replace(",", ""))


def test_kernel_peak_memory_is_reported_per_notebook(pytester):
    result = _run(pytester, limit_gib=1.5)
    result.assert_outcomes(passed=3)
    output = result.stdout.str()
    assert "notebook kernels: peak resident memory" in output
    assert 300 < _peak_mib(output) < 1536, "the 300 MiB the notebook allocates are in the peak"


def test_the_cell_that_crosses_the_limit_fails_and_only_it(pytester):
    result = _run(pytester, limit_gib=0.25)
    result.assert_outcomes(passed=2, failed=1)
    output = result.stdout.str()
    assert re.search(r"FAILED memory\.ipynb::Cell 1", output), output
    assert "above the 256 MiB limit" in output and "OVER THE LIMIT" in output
