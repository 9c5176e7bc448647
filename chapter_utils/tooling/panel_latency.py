"""How long each widget panel takes from a Train click to its figure, on one core as on Binder.

    python -m chapter_utils.tooling.panel_latency [--one-core] [--cpu N] [--repeats N] [panel ...]

Issue 16 ("Binder's one CPU"): a Binder session has one shared CPU, and every panel must answer
there — at its defaults and at each slider's extremes — within its target: 1 s for the bowls
(notebooks 01 and 05) and notebook 04's logistic toy (§7.4.5), 3 s for sine regression (02, 06,
the playground), 10 s for 2-D navigation (03, §7.3). For each panel of :data:`PANELS` this builds
the panel with the factory its notebook calls, on the notebook's own data, and clicks Train
(:meth:`chapter_utils.panels.base.HyperparameterPanel.train`) at the defaults, at the defaults
again, then with each slider alone at its minimum and at its maximum (a dropdown: at each option),
in that order, in one process — as a reader moves one slider after the notebook's own first
click. Each click's seconds are split as the panel's
:attr:`~chapter_utils.panels.base.HyperparameterPanel.timings` split them: training, drawing
the figure, rendering it to the page's PNG (IPython's display formatter with matplotlib's inline
backend, as in a Jupyter kernel), and the total. What a browser adds (sending the image,
showing it) is not in it; ``tests/browser/test_panels.py`` prints click-to-image times.

Each panel runs in a child process; with ``--one-core`` it is pinned to one CPU (``--cpu``,
default the lowest this process may use) with :data:`~chapter_utils.tooling.run_times.ONE_THREAD_ENV`
(``binder/start``'s one-thread settings). ``--repeats N`` runs each child N times and prints
medians. Timings are printed, never asserted: they measure one machine at one moment (the table
quotes the load average beside them). ``python -m chapter_utils.tooling.benchmark panels`` prints
the same clicks on one core and unpinned (two cores here) side by side.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chapter_utils.environment import available_cpus
from chapter_utils.tooling.run_times import checkout_env

ROOT = Path(__file__).resolve().parents[2]
#: A child's result lines start with this (everything else it prints is passed over).
_MARK = "panel-latency: "
#: The parts of a click, as :attr:`HyperparameterPanel.timings` names them, and their headers.
PARTS = {"train": "train", "draw": "draw", "render": "png", "total": "total"}


@dataclass(frozen=True)
class PanelCase:
    """One panel as its notebook builds it."""

    name: str                  #: the name on the command line
    notebooks: str             #: where it is shown
    target: float              #: seconds from click to figure (issue 16)
    build: Callable[[], Any]   #: makes the panel as the notebook does (imports inside)


def _meta_sgd_bowls() -> Any:
    """Notebook 01's panel (§7.1.5) on the notebook's family, held-out bowls and θ₀."""
    import numpy as np

    from chapter_utils.panels.bowls import meta_sgd_bowls_panel
    from chapter_utils.tasks.quadratic import QuadraticFamily

    family = QuadraticFamily(centre=(1.0, 1.0), spread=1.0, curvatures=(2.0, 0.5), jitter=0.15)
    return meta_sgd_bowls_panel(family, family.sample(2000, rng=2024), np.zeros(2))


def _reptile_bowls() -> Any:
    """Notebook 05's panel (§7.6.4) on the notebook's pool of 12 bowls and θ₀."""
    import numpy as np

    from chapter_utils.panels.bowls import reptile_bowls_panel
    from chapter_utils.tasks.quadratic import QuadraticFamily

    family = QuadraticFamily(centre=(0.0, 0.0), spread=1.5, curvatures=(2.0, 0.3), jitter=0.5,
                             max_angle=np.pi / 8)
    return reptile_bowls_panel(family.sample(12, rng=4), np.array([-1.0, -4.0]))


def _logistic() -> Any:
    """Notebook 04's panel (§7.4.5): its family, ``QUERY = 100`` and the α its grid picks (0.5)."""
    from chapter_utils.panels.logistic import logistic_panel
    from chapter_utils.tasks.logistic import LogisticTasks

    return logistic_panel(LogisticTasks(), 100, maml_alpha=0.5)


def _sine_meta_sgd() -> Any:
    from chapter_utils.panels.sine import meta_sgd_panel

    return meta_sgd_panel()


def _sine_reptile() -> Any:
    from chapter_utils.panels.sine import reptile_panel

    return reptile_panel()


def _navigation() -> Any:
    from chapter_utils.panels.navigation import navigation_panel

    return navigation_panel()


#: Every panel with a Train button, by name, in notebook order.
PANELS: dict[str, PanelCase] = {case.name: case for case in (
    PanelCase("bowls_meta_sgd", "01", 1.0, _meta_sgd_bowls),
    PanelCase("sine_meta_sgd", "02, playground", 3.0, _sine_meta_sgd),
    PanelCase("navigation", "03", 10.0, _navigation),
    PanelCase("logistic", "04", 1.0, _logistic),
    PanelCase("bowls_reptile", "05", 1.0, _reptile_bowls),
    PanelCase("sine_reptile", "06, playground", 3.0, _sine_reptile),
)}


def settings(controls: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The clicks to time, in order: ``(label, {control: value})``.

    The defaults twice (the first click pays for set-up such as TensorFlow's tracing, as the
    notebook's own first click does), then each control alone at its minimum and its maximum
    (a control with ``options``, such as a dropdown: each option but the default), the others
    at their defaults.
    """
    clicks: list[tuple[str, dict[str, Any]]] = [("defaults, first click", {}), ("defaults", {})]
    for name, control in controls.items():
        if hasattr(control, "options"):
            labels = [o[0] if isinstance(o, tuple) else o for o in control.options]
            clicks += [(f"{name} = {v}", {name: v}) for v in labels if v != control.value]
            continue
        if hasattr(control, "base"):                 # a FloatLogSlider: min and max are exponents
            low, high = control.base ** control.min, control.base ** control.max
        else:
            low, high = control.min, control.max
        clicks += [(f"{name} = {low:g} (min)", {name: low}), (f"{name} = {high:g} (max)", {name: high})]
    return clicks


def _silent_shell() -> Any:
    """An IPython shell with matplotlib's inline backend, as a Jupyter kernel has, whose display
    messages go nowhere (there is no page): the panel renders its figure as it would there."""
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell

    class Discard(DisplayPublisher):
        """Keeps the MIME types of the last message instead of printing it."""

        last: tuple[str, ...] = ()

        def publish(self, data, metadata=None, *args: Any, **kwargs: Any) -> None:
            self.last = tuple(data)

        def clear_output(self, wait: bool = False) -> None:
            pass

    class Shell(InteractiveShell):
        def enable_gui(self, gui: str | None = None) -> None:   # inline needs no event loop
            pass

    shell = Shell.instance()
    shell.display_pub = Discard(shell=shell)
    shell.enable_matplotlib("inline")
    return shell


def run_child(name: str) -> list[dict[str, Any]]:
    """Build panel ``name`` and time each click of :func:`settings` (in this process).

    Returns one record per click: its label, the panel's timings, the outcome ("Done",
    "Diverged", …, the status line's first word) and the MIME types of the figure shown.
    """
    shell = _silent_shell()
    case = PANELS[name]
    start = time.perf_counter()
    panel = case.build()
    built = time.perf_counter() - start
    defaults = dict(panel.values)
    records = []
    for label, changes in settings(panel.controls):
        for control, value in {**defaults, **changes}.items():
            panel.controls[control].value = value
        shell.display_pub.last = ()
        panel.train()
        records.append({"panel": name, "setting": label, "values": {k: str(v) for k, v in panel.values.items()},
                        "outcome": panel.last_message.split(" ", 1)[0],
                        "shown": list(shell.display_pub.last), "built": built, **panel.timings})
    return records


def _child_env(one_core: bool) -> dict[str, str]:
    env = checkout_env(ROOT, one_core)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def measure(name: str, one_core: bool = False, cpu: int | None = None,
            timeout: float = 1800.0) -> list[dict[str, Any]]:
    """Run :func:`run_child` for panel ``name`` in a child process and return its records.

    With ``one_core`` the child is pinned to ``cpu`` (default: the lowest CPU this process may
    use) and runs with :data:`~chapter_utils.tooling.run_times.ONE_THREAD_ENV`.
    """
    if name not in PANELS:
        raise ValueError(f"unknown panel {name!r}; choose from {', '.join(PANELS)}")
    pin = None
    if one_core:
        if not hasattr(os, "sched_setaffinity"):
            raise ValueError("--one-core needs os.sched_setaffinity (Linux)")
        cpu = min(os.sched_getaffinity(0)) if cpu is None else cpu
        if cpu not in os.sched_getaffinity(0):
            raise ValueError(f"CPU {cpu} is not one this process may use: {sorted(os.sched_getaffinity(0))}")
        pin = {cpu}
    child = subprocess.run(
        [sys.executable, "-m", "chapter_utils.tooling.panel_latency", "--child", name],
        cwd=ROOT, env=_child_env(one_core), capture_output=True, text=True, timeout=timeout,
        preexec_fn=(lambda: os.sched_setaffinity(0, pin)) if pin else None)
    records = [json.loads(line[len(_MARK):]) for line in child.stdout.splitlines()
               if line.startswith(_MARK)]
    if child.returncode != 0 or not records:
        raise RuntimeError(f"timing panel {name!r} failed (exit {child.returncode}):\n"
                           f"{child.stderr[-3000:]}")
    return records


def median_records(runs: Sequence[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """One record per click: the median of each part over ``runs`` (lists of equal clicks)."""
    merged = []
    for clicks in zip(*runs):
        record = dict(clicks[0])
        for part in PARTS:
            values = [c[part] for c in clicks if part in c]
            if values:
                record[part] = statistics.median(values)
        record["repeats"] = len(clicks)
        merged.append(record)
    return merged


def within(record: dict[str, Any]) -> bool:
    """Whether a click answered within its panel's target."""
    return record["total"] <= PANELS[record["panel"]].target


def time_panels(names: Sequence[str] = (), one_core: bool = False, cpu: int | None = None,
                repeats: int = 1) -> list[dict[str, Any]]:
    """Every click of every panel in ``names`` (default: all), medians over ``repeats`` children."""
    if repeats < 1:
        raise ValueError(f"repeats must be ≥ 1, got {repeats}")
    records = []
    for name in names or list(PANELS):
        records += median_records([measure(name, one_core, cpu) for _ in range(repeats)])
    return records


def _cell(record: dict[str, Any], part: str) -> str:
    return f"{record[part]:6.2f}" if part in record else "     —"


def table(records: Sequence[dict[str, Any]]) -> str:
    """The records as a text table: panel, setting, seconds per part, target, within it?"""
    lines = [f"{'panel':15s} {'setting':32s} {'train':>6s} {'draw':>6s} {'png':>6s} {'total':>6s}"
             f" {'target':>6s}  within  outcome"]
    for r in records:
        target = PANELS[r["panel"]].target
        lines.append(f"{r['panel']:15s} {r['setting'][:32]:32s} "
                     + " ".join(_cell(r, part) for part in PARTS)
                     + f" {target:6.1f}  {'yes' if within(r) else 'NO':6s}  {r['outcome']}")
    return "\n".join(lines)


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages, as ``uptime`` prints them ("?" where unknown)."""
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("panels", nargs="*", metavar="panel",
                        help=f"any of {', '.join(PANELS)} (default: all)")
    parser.add_argument("--one-core", action="store_true",
                        help="pin each panel's process to one CPU with binder/start's one-thread settings")
    parser.add_argument("--cpu", type=int, default=None,
                        help="the CPU --one-core pins to (default: the lowest available)")
    parser.add_argument("--repeats", type=int, default=1, help="children per panel; medians are printed")
    parser.add_argument("--json", type=Path, default=None, help="also write the records to this file")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        for record in run_child(args.child):
            print(_MARK + json.dumps(record), flush=True)
        return 0
    unknown = [p for p in args.panels if p not in PANELS]
    if unknown:
        parser.error(f"unknown panel(s) {', '.join(unknown)}; choose from {', '.join(PANELS)}")
    first = min(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0
    where = (f"one core (CPU {args.cpu if args.cpu is not None else first}, one thread)"
             if args.one_core else f"unpinned, {available_cpus()} CPU(s)")
    print(f"Train click to figure shown, seconds ({where}; median of {args.repeats}); "
          f"load average before: {load_average()}")
    records = time_panels(args.panels, args.one_core, args.cpu, args.repeats)
    print(table(records))
    print(f"load average after: {load_average()}")
    if args.json:
        args.json.write_text(json.dumps(records, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
