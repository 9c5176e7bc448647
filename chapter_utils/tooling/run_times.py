"""Each notebook's measured run time, on two cores and on one, for the contents tables.

``python -m chapter_utils.tooling.run_notebooks --record`` (two cores) and
``… --one-core --record`` (the kernel pinned to one CPU with ``binder/start``'s
one-thread settings, as on Binder) store here how long each notebook took top
to bottom, with the date and the machine. The contents tables in
``notebooks/00_index.ipynb`` and ``README.md`` show them
(:func:`chapter_utils.tooling.generated_cells.contents_table`). Nothing here is
asserted anywhere: a run time is a measurement of one machine on one day.
"""
from __future__ import annotations

import datetime
import json
import os
import platform
from pathlib import Path

from chapter_utils.environment import available_cpus

#: Where the times live (beside this module, so the generator finds them in any checkout).
PATH = Path(__file__).with_name("run_times.json")
#: The two settings a notebook is timed in.
SETTINGS = ("two cores", "one core")

#: ``binder/start``'s environment: one thread for BLAS and for TensorFlow (a test keeps the two equal).
ONE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
    "TF_NUM_INTRAOP_THREADS": "1",
}


def checkout_env(root: Path, one_core: bool = False) -> dict[str, str]:
    """This process's environment, with the checkout ``root``'s ``chapter_utils`` first on the
    path and, for ``one_core``, :data:`ONE_THREAD_ENV` — for the kernels :mod:`run_notebooks`
    starts and the children :mod:`panel_latency` times."""
    env = dict(os.environ)
    if one_core:
        env.update(ONE_THREAD_ENV)
    paths = [str(root)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return env


def kernel_peak_bytes(pid: int) -> int | None:
    """Peak resident memory (``VmHWM`` in ``/proc/<pid>/status``) of process ``pid`` in bytes;
    ``None`` where there is no ``/proc`` (macOS, Windows) or the process is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            value, unit = line.split()[1:3]
            if unit != "kB":
                raise ValueError(f"unexpected unit in /proc/{pid}/status: {line!r}")
            return int(value) * 1024
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` (all its threads, from ``/proc/<pid>/stat``);
    ``None`` where there is no ``/proc`` or the process is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def path_in(root: Path) -> Path:
    """The times file of the checkout at ``root``."""
    return Path(root) / "chapter_utils" / "tooling" / PATH.name


def cpu_model() -> str:
    """The processor's model name (Linux), else what :mod:`platform` says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load(path: Path = PATH) -> dict:
    """The stored times: ``{setting: {"measured": {...}, "seconds": {stem: float}}}``."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return data if isinstance(data, dict) else {}


def record(times: dict[str, float], setting: str, path: Path = PATH,
           peak_mib: dict[str, float] | None = None) -> None:
    """Store ``times`` (stem -> seconds) and the kernels' peak memory ``peak_mib``
    (stem -> MiB) under ``setting``, keeping the other notebooks' figures."""
    if setting not in SETTINGS:
        raise ValueError(f"setting must be one of {SETTINGS}, got {setting!r}")
    data = load(path)
    entry = data.setdefault(setting, {"seconds": {}})
    entry["seconds"].update({stem: round(float(s), 1) for stem, s in times.items()})
    entry["seconds"] = dict(sorted(entry["seconds"].items()))
    if peak_mib:
        memory = entry.setdefault("peak MiB", {})
        memory.update({stem: round(float(m)) for stem, m in peak_mib.items()})
        entry["peak MiB"] = dict(sorted(memory.items()))
    entry["measured"] = {"date": datetime.date.today().isoformat(), "cpu": cpu_model(),
                         # what the kernels ran on: one pinned CPU, or every CPU this process may use
                         "cpus available": 1 if setting == "one core" else available_cpus()}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _format(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def cell(stem: str, data: dict | None = None) -> str:
    """``"45 s / 48 s"``: the notebook's run time on two cores / one core ("—" if not measured)."""
    data = load() if data is None else data
    return " / ".join(_format(data.get(s, {}).get("seconds", {}).get(stem)) for s in SETTINGS)


def footnote(data: dict | None = None) -> str:
    """One sentence saying how, when and where the times in the table were measured."""
    data = load() if data is None else data
    parts = []
    for setting in SETTINGS:
        measured = data.get(setting, {}).get("measured")
        if measured:
            parts.append(f"{setting} on {measured['date']} ({measured['cpu']})")
    if not parts:
        return ""
    return ("*Run time*: top to bottom, kernel start included, by "
            "`python -m chapter_utils.tooling.run_notebooks --record` (two cores) and "
            "`… --one-core --record` (the kernel pinned to one CPU with `binder/start`'s one-thread "
            "settings, like a Binder session); measured " + "; ".join(parts) +
            ". A Binder CPU may be slower; the timings are not checked anywhere.")
