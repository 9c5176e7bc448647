"""chapter_utils.tooling.run_notebooks: runs in place with this Python in notebooks/, leaves failures untouched."""
from __future__ import annotations

import concurrent.futures
import os
import sys
from pathlib import Path

import nbformat

from chapter_utils.tooling import run_notebooks, run_times
from chapter_utils.tooling.contents import NOTEBOOKS


def _notebook(path: Path, *sources: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# title")] + [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, path)


def test_runs_in_place_in_order_and_keeps_failures_unchanged(tmp_path, capsys):
    (tmp_path / "notebooks").mkdir()
    good, bad = NOTEBOOKS[0].path(tmp_path), NOTEBOOKS[1].path(tmp_path)
    _notebook(good, "import os, sys\nprint(sys.executable)", "print(os.getcwd())",
              "import chapter_utils.tooling.contents; print(chapter_utils.tooling.contents.__file__)")
    _notebook(bad, "x = 1", "raise RuntimeError('boom')")
    bad_before = bad.read_bytes()

    assert run_notebooks.main(["--root", str(tmp_path), "--no-navigation"]) == 1
    assert bad.read_bytes() == bad_before
    cells = [c for c in nbformat.read(good, as_version=4).cells if c.cell_type == "code"]
    assert [c.execution_count for c in cells] == [1, 2, 3]
    outputs = [c.outputs[0].text.strip() for c in cells]
    assert outputs[0] == sys.executable
    assert Path(outputs[1]).resolve() == (tmp_path / "notebooks").resolve()
    assert Path(outputs[2]).resolve() == Path(run_notebooks.__file__).with_name("contents.py").resolve()
    printed = capsys.readouterr().out
    assert f"{good.name} ..." in printed and " s\n" in printed and "FAILED" in printed


def test_one_core_times_without_saving_and_records(tmp_path, capsys):
    (tmp_path / "notebooks").mkdir()
    nb = NOTEBOOKS[0].path(tmp_path)
    probe = tmp_path / "probe.txt"
    _notebook(nb, "import os\n"
                  f"open({str(probe)!r}, 'w').write(f\"{{len(os.sched_getaffinity(0))}} "
                  "{os.environ['TF_NUM_INTRAOP_THREADS']} {os.environ['OMP_NUM_THREADS']}\")")
    affinity = os.sched_getaffinity(0)
    # A thread that exists before the run (as an event loop's may, in a long test session):
    # the kernel must be pinned even if it is started from there.
    pool = concurrent.futures.ThreadPoolExecutor(1)
    pool.submit(lambda: None).result()

    assert run_notebooks.main(["--root", str(tmp_path), "--no-navigation", "--one-core",
                               "--record", NOTEBOOKS[0].stem]) == 0
    assert probe.read_text() == "1 1 1"          # the kernel ran on one CPU, one thread
    code = [c for c in nbformat.read(nb, as_version=4).cells if c.cell_type == "code"]
    assert [(c.execution_count, c.outputs) for c in code] == [(None, [])]  # outputs not saved
    assert os.sched_getaffinity(0) == affinity    # this process got its CPUs back
    stored = run_times.load(run_times.path_in(tmp_path))
    assert set(stored) == {"one core"} and stored["one core"]["seconds"][NOTEBOOKS[0].stem] > 0
    assert 20 < stored["one core"]["peak MiB"][NOTEBOOKS[0].stem] < 1024   # a bare kernel's peak
    printed = capsys.readouterr().out
    assert "(one core)" in printed and "MiB" in printed
    pool.shutdown()


def test_a_stalled_kernel_is_killed_and_the_notebook_run_again(tmp_path, capsys):
    """A kernel idle during a cell (here: asleep, as when a ZeroMQ message is lost) is killed
    after ``stall_seconds`` and the notebook starts over once; a second stall is an error."""
    import time

    import pytest
    from nbclient.exceptions import DeadKernelError

    marker = tmp_path / "first-run.txt"
    path = tmp_path / "stall.ipynb"
    # The first run sleeps (no CPU); the second finds the marker and goes on.
    _notebook(path, "import os, time\n"
                    f"if not os.path.exists({str(marker)!r}):\n"
                    f"    open({str(marker)!r}, 'w').close(); time.sleep(60)\n"
                    "print('done')")
    start = time.perf_counter()
    nb, _, _ = run_notebooks.execute(path, tmp_path, stall_seconds=3)
    assert time.perf_counter() - start < 50, "the stall was not cut short"
    assert nb.cells[1].outputs[0].text.strip() == "done"
    assert "kernel idle for 3 s in cell 1; running it again" in capsys.readouterr().out

    _notebook(path, "import time; time.sleep(60)")
    with pytest.raises(DeadKernelError, match="stalled twice"):
        run_notebooks.execute(path, tmp_path, stall_seconds=3)
