"""Timings, kept out of the test-suite: ``python -m chapter_utils.tooling.benchmark [section ...]``.

Sections (all by default):

* ``scratch`` — notebook 04 (7.4): milliseconds per meta-iteration of each
  trainer in :mod:`chapter_utils.reference.logistic_meta_sgd`, and the compute behind one
  panel retrain at the panel's default settings.
* ``reptile`` — notebook 06 (7.7): seconds per meta-iteration of the chapter's
  Reptile (one task, as printed) and of :class:`chapter_utils.learners.reptile.Reptile`
  (a batch of 10 tasks), measured in one run; then the default
  ``Reptile().fit(SineTasks())`` — its wall time and held-out MSE.
* ``meta_sgd`` — notebook 02 (7.2): milliseconds per meta-iteration of Meta-SGD,
  MAML and their first-order forms (40-40 network, 25 tasks, one inner step, K = 10).
* ``comparison`` — notebook 07: the four methods at their full default budgets,
  one learner per K, and the "pretrained" baseline; writes
  ``chapter_utils/data/comparison_full_budget.json``, which notebook 07 shows, and
  ``chapter_utils/data/sine_learners.npz``, the K = 10 learners its "pose the task"
  panel loads; then notebook 07's half-budget run under five training seeds, once
  more on one TensorFlow thread, and first-order MAML at K = 20 under two more seeds,
  all recorded in the same JSON file (takes ten minutes or more).
* ``navigation`` — notebook 03 (7.3): ``MetaSGDPolicyGradient`` and
  ``MAMLPolicyGradient`` at their default budget, one fit per seed (five seeds),
  each scored on 400 held-out goals after 0–3 adaptation steps; fit times.
* ``notebooks`` — each notebook and app top to bottom (a copy; the committed files
  are not touched): wall time and the kernel's peak memory, on this machine's cores and
  again with the kernel pinned to one CPU and one thread, as on Binder (``binder/start``).
* ``panels`` — every widget panel's Train click to figure shown, at its defaults and with each
  slider at its ends, on one core (pinned, one thread, as on Binder) and unpinned, side by side
  (:mod:`chapter_utils.tooling.panel_latency`; issue 16's targets beside them).

Every figure is measured on the machine it runs on; the README and the
closing notes of the issues quote runs of this script.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Callable, Sequence

ROOT = Path(__file__).resolve().parents[2]


def _best_of(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_scratch(repeats: int = 3) -> dict[str, float]:
    """Notebook 04's trainers and the compute of one panel retrain (seconds)."""
    from chapter_utils.reference import logistic_meta_sgd as msgd
    from chapter_utils.tasks import LogisticTasks

    family = LogisticTasks()
    results: dict[str, float] = {}
    iterations = 500
    for method in ("meta-sgd", "scalar", "chapter"):
        for steps in (1, 3):
            seconds = _best_of(lambda m=method, k=steps: msgd.meta_train(
                family.sample_batch, family.dim, method=m, iterations=iterations,
                inner_steps=k, seed=0), repeats)
            results[f"{method}, {steps} inner step(s): ms per meta-iteration "
                    f"(16 tasks x 10 shots)"] = 1000 * seconds / iterations

    from chapter_utils.panels import logistic as panel
    held_out = panel.panel_held_out(family, panel.DEFAULTS["shots"], 100)   # notebook 04's QUERY

    def panel_compute() -> None:  # what a click of notebook 04's panel trains at its defaults
        panel.click_comparison(family, held_out, panel.DEFAULTS)

    results["notebook 04 panel retrain, compute only (s)"] = _best_of(panel_compute, repeats)
    return results


def bench_reptile(repeats: int = 3) -> dict[str, float]:
    """Notebook 06: the chapter's Reptile against ours, per meta-iteration; the default fit."""
    from chapter_utils.evaluation import sine as bench
    from chapter_utils.learners.reptile import Reptile
    from chapter_utils.reference import chapter_reptile as chapter
    from chapter_utils.tasks import SineTasks

    chapter.train_as_printed(epochs=1, echo=None)                    # compile once
    epochs = 20
    per_task = _best_of(lambda: chapter.train_as_printed(epochs=epochs, echo=None), repeats)
    results = {"chapter's code (1 task, 50 Adam steps): ms per meta-iteration":
               1000 * per_task / (epochs * chapter.NUM_TASKS)}
    Reptile().fit(SineTasks(), iterations=250)                        # compile once
    iterations = 5000
    ours = _best_of(lambda: Reptile().fit(SineTasks(), iterations=iterations), repeats)
    results["Reptile (10 tasks x 5 SGD steps, compiled): ms per meta-iteration"] = 1000 * ours / iterations
    start = time.perf_counter()
    learner = Reptile().fit(SineTasks())
    results[f"Reptile().fit(SineTasks()), {learner.iterations} iterations (s)"] = time.perf_counter() - start
    for shots in (5, 10):
        mse = bench.mse_by_steps(learner, bench.held_out(500, shots), steps=(32,))[32]
        results[f"held-out MSE, K = {shots}, 32 steps (500 tasks, mean)"] = float(mse.mean())
    return results


def bench_meta_sgd(repeats: int = 3) -> dict[str, float]:
    """Notebook 02: seconds → ms per meta-iteration, the issue's throughput configuration."""
    from chapter_utils.learners.maml import MAML
    from chapter_utils.learners.meta_sgd import MetaSGD, time_meta_iteration

    config = dict(hidden=(40, 40), meta_batch=25, inner_steps=1)
    results = {}
    for cls in (MetaSGD, MAML):
        for first_order in (False, True):
            name = cls.LABELS[first_order]
            seconds = time_meta_iteration(cls, repeats=repeats, first_order=first_order, **config)
            results[f"{name}: ms per meta-iteration (40-40, 25 tasks, 1 step, K = 10)"] = 1000 * seconds
    return results


#: Run in a child process: notebook 07's seed-0 run with TensorFlow on one thread (a reader's
#: setup the default run on two cores does not cover); prints the :func:`seed_study` record as JSON.
_ONE_THREAD = """
import json, tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)
from chapter_utils.evaluation import comparison
print(json.dumps(comparison.seed_study(seeds=(0,), log=None)))
"""


def bench_comparison() -> dict[str, float]:
    """Notebook 07 at full budget: train, score, save the results file and the shipped learners.

    Besides the four methods (one learner per K), trains the "pretrained" baseline
    at K = 10 with its default budget; :func:`comparison.save` ships the K = 10
    learners and both baselines with their held-out scores. Then, for the notebook's
    claims about rankings, three more records go into the same file:
    ``seed_study`` (notebook 07's half-budget K = 10 run under training seeds 0–4,
    :func:`comparison.seed_study`), ``one_thread`` (seed 0 again, TensorFlow on one
    thread, in a child process) and ``first_order_k20_seeds`` (first-order MAML
    trained with K = 20 at full budget under seeds 1 and 2; seed 0 is the main run).
    """
    import json
    import subprocess
    import sys

    import numpy as np

    from chapter_utils.evaluation import comparison
    from chapter_utils.tasks import SineTasks

    result = comparison.compare(train_per_shots=True, budget=1.0)
    start = time.perf_counter()
    pretrained = comparison.make_learner("pretrained", shots=result.curve_shots).fit(SineTasks(), seed=0)
    print(f"pretrained          K={result.curve_shots}: {pretrained.iterations} iterations in "
          f"{time.perf_counter() - start:5.1f} s")
    baselines = {"pretrained": pretrained,
                 "random init": comparison.make_learner("random init").initialise(comparison.RANDOM_INIT_SEED)}
    print("seed study: notebook 07's half-budget run under five training seeds")
    seeds = comparison.seed_study()
    print("first-order MAML trained with K = 20 at full budget, seeds 1 and 2")
    first_order = comparison.seed_study(methods=("first-order MAML",), seeds=(1, 2), budget=1.0,
                                        train_shots=20, shots=(20,), steps=(1,))
    print("seed 0 again with TensorFlow on one thread (child process)")
    child = subprocess.run([sys.executable, "-c", _ONE_THREAD], capture_output=True, text=True,
                           check=True, cwd=ROOT)
    one_thread = json.loads(child.stdout.strip().splitlines()[-1])
    extra = {"seed_study": seeds, "one_thread": one_thread, "first_order_k20_seeds": first_order}
    path = comparison.save(result, command="python -m chapter_utils.tooling.benchmark comparison",
                           baselines=baselines, extra=extra)
    print(f"wrote {path.relative_to(ROOT)} and {comparison.PARAMETERS_NAME} beside it")
    out = {f"{name}, K = {k}: held-out MSE after {r.steps} step(s)": float(r.mse[k].mean())
           for name, r in result.results.items() for k in result.shots}
    for name in comparison.METHODS:
        for steps in comparison.EQUAL_STEPS:
            means = comparison.seed_means(seeds, name, 10, steps)
            if None not in means:
                out[f"{name}, K = 10, {steps} step(s), mean of {len(means)} seeds"] = float(np.mean(means))
    return out


def bench_notebooks(stems: Sequence[str] = ()) -> dict[str, float]:
    """Each existing notebook (or ``stems``) top to bottom, on this machine's cores and again
    with the kernel pinned to one CPU and one thread (as on Binder): seconds and the kernel's
    peak memory (MiB). Nothing is saved."""
    from chapter_utils.tooling.contents import existing_with_apps
    from chapter_utils.tooling.run_notebooks import execute

    results: dict[str, float] = {}
    for nb in existing_with_apps(ROOT):
        if stems and nb.stem not in stems:
            continue
        for setting, one_core in (("two cores", False), ("one core", True)):
            _, seconds, peak = execute(nb.path(ROOT), ROOT, one_core=one_core)
            results[f"{nb.filename}, {setting}: top to bottom (s)"] = seconds
            if peak is not None:
                results[f"{nb.filename}, {setting}: kernel peak memory (MiB)"] = peak / 2 ** 20
    return results


def bench_navigation(seeds: Sequence[int] = (0, 1, 2, 3, 4)) -> dict[str, float]:
    """Notebook 03's learners at their default budget, one fit per seed, scored on 400
    held-out goals (one adaptation each, 20 scoring episodes) after 0–3 adaptation steps."""
    import numpy as np

    from chapter_utils.learners.policy_gradient import MAMLPolicyGradient, MetaSGDPolicyGradient
    from chapter_utils.tasks.navigation import NavigationTasks, held_out_goals

    goals, results = held_out_goals(400), {}
    for cls in (MetaSGDPolicyGradient, MAMLPolicyGradient):
        table = []
        for seed in seeds:
            learner = cls().fit(NavigationTasks(), seed=seed)
            table.append(learner.evaluate(goals, steps=(0, 1, 2, 3), episodes=20).mean(axis=1))
            results[f"{cls.LABEL}, seed {seed}: fit (s)"] = learner.seconds
            for steps, value in enumerate(table[-1]):
                results[f"{cls.LABEL}, seed {seed}: return after {steps} step(s)"] = value
        for steps, value in enumerate(np.mean(table, axis=0)):
            results[f"{cls.LABEL}, mean of {len(seeds)} seeds: return after {steps} step(s)"] = value
    return results


def bench_panels(names: Sequence[str] = ()) -> dict[str, float]:
    """Each panel's clicks (:func:`chapter_utils.tooling.panel_latency.settings`) on one core and
    unpinned (every CPU this process may use: two on the CI machine): prints a table with both
    columns, returns the number of clicks within target and the slowest click of each."""
    from chapter_utils.environment import available_cpus
    from chapter_utils.tooling import panel_latency as pl

    print(f"load average before: {pl.load_average()}")
    one = pl.time_panels(names, one_core=True)
    two = pl.time_panels(names, one_core=False)
    n = available_cpus()
    cores = f"{n} core{'s' * (n != 1)}"           # unpinned: every CPU this process may use
    print(f"{'panel':15s} {'setting':32s} {'1 core':>7s} {cores:>8s} {'target':>6s}  within (1 core)")
    for a, b in zip(one, two):
        print(f"{a['panel']:15s} {a['setting'][:32]:32s} {a['total']:7.2f} {b['total']:8.2f} "
              f"{pl.PANELS[a['panel']].target:6.1f}  {'yes' if pl.within(a) else 'NO'}")
    print(f"load average after: {pl.load_average()}")
    return {"panel clicks timed": float(len(one)),
            "clicks within target, one core": float(sum(map(pl.within, one))),
            f"clicks within target, {cores}": float(sum(map(pl.within, two))),
            "slowest click, one core (s)": max(r["total"] for r in one),
            f"slowest click, {cores} (s)": max(r["total"] for r in two)}


SECTIONS = {"scratch": bench_scratch, "reptile": bench_reptile, "meta_sgd": bench_meta_sgd,
            "comparison": bench_comparison, "navigation": bench_navigation,
            "notebooks": bench_notebooks, "panels": bench_panels}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sections", nargs="*", metavar="section",
                        help=f"any of {', '.join(SECTIONS)} (default: all)")
    args = parser.parse_args(argv)
    unknown = [s for s in args.sections if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    for name in args.sections or list(SECTIONS):
        print(f"== {name}")
        for label, value in SECTIONS[name]().items():
            print(f"{value:10.3f}  {label}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
