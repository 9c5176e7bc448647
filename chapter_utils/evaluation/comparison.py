"""MAML, first-order MAML, Meta-SGD and Reptile on one sine benchmark (notebook 07).

:func:`compare` trains each method on :class:`~chapter_utils.tasks.SineTasks`
and scores it on the *same* held-out waves (:mod:`chapter_utils.evaluation.sine`):
the MSE after adaptation for each K, and the MSE against the number of
adaptation steps. Notebook 07 runs it at a reduced budget;
``python -m chapter_utils.tooling.benchmark comparison`` runs it at each method's full
default budget, training a separate learner for every K as the papers do, and
writes :data:`RESULTS_FILE`, which the notebook shows next to its own run.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chapter_utils.checks import check_positive_int
from chapter_utils.environment import same_stack
from chapter_utils.evaluation import records
from chapter_utils.evaluation import sine as bench
from chapter_utils.evaluation.stats import mean_ci
from chapter_utils.tasks.sine import SineTasks

#: Name of the full-budget results inside the package's data folder (``chapter_utils/data/``).
#: They ship inside the installed package, so notebook 07 can show them with no
#: repository around it (on Colab, for instance); :func:`load` reads them with
#: :mod:`importlib.resources`.
RESULTS_NAME = "comparison_full_budget.json"
#: Where :func:`save` writes them: the package source, so a maintainer's run in a checkout updates the shipped file.
RESULTS_FILE = Path(__file__).resolve().parents[1] / "data" / RESULTS_NAME
#: The meta-trained parameters of the K = 10 learner of every method and of the "pretrained"
#: baseline, from the same full-budget run (:func:`save`; loaded by :func:`load_learners`).
PARAMETERS_NAME = "sine_learners.npz"
PARAMETERS_FILE = RESULTS_FILE.with_name(PARAMETERS_NAME)
#: The baselines shipped beside :data:`METHODS`: a network trained on all tasks at once
#: (:class:`~chapter_utils.learners.pretrained.Pretrained`) and an untrained one (seed 0).
#: Both adapt with MAML's fixed step α = 0.01.
BASELINES: tuple[str, ...] = ("pretrained", "random init")

#: The published figures usually quoted for this benchmark: MSE after one step, K = 5 / 10 / 20.
#: Both rows are from the Meta-SGD paper's Table 1: "MAML" there is Li et al.'s own
#: reimplementation of MAML, run on their task family (which also varies the frequency), not
#: a figure from Finn et al.'s MAML paper.
PUBLISHED: dict[str, dict[int, float]] = {
    "MAML": {5: 1.13, 10: 0.85, 20: 0.71},
    "Meta-SGD": {5: 0.90, 10: 0.53, 20: 0.31},
}
PUBLISHED_SOURCE = (
    "Li, Zhou, Chen and Li (2017), Meta-SGD: Learning to Learn Quickly for Few-Shot Learning, "
    "arXiv:1707.09835, Table 1 (sine regression, MSE after one step; their tasks also vary "
    "the frequency; the MAML row is their reimplementation of MAML, not Finn et al.'s figure).")

#: The step counts every method is also scored after, whatever it was trained for, so that
#: the methods can be compared at equal steps (:attr:`MethodResult.by_steps`).
EQUAL_STEPS: tuple[int, ...] = (1, 5, 32)
#: A per-task MSE above this (or not a number) counts as a diverged adaptation
#: (the rule of :mod:`chapter_utils.panels.support_points`).
DIVERGED_MSE = 1e6


def _factories() -> dict[str, Callable[..., Any]]:
    from chapter_utils.learners.maml import MAML
    from chapter_utils.learners.meta_sgd import MetaSGD
    from chapter_utils.learners.pretrained import Pretrained
    from chapter_utils.learners.reptile import Reptile

    return {"MAML": MAML, "first-order MAML": lambda **hp: MAML(first_order=True, **hp),
            "Meta-SGD": MetaSGD, "Reptile": Reptile, "pretrained": Pretrained, "random init": MAML}


#: The methods compared, in the order they are shown.
METHODS: tuple[str, ...] = ("MAML", "first-order MAML", "Meta-SGD", "Reptile")


def make_learner(method: str, **hyperparameters: Any):
    """A fresh learner of ``method`` (one of :data:`METHODS` or :data:`BASELINES`) with its
    recommended defaults, changed by ``hyperparameters`` (e.g. ``shots=5``)."""
    factories = _factories()
    if method not in factories:
        raise ValueError(f"method must be one of {', '.join(METHODS + BASELINES)}, got {method!r}")
    return factories[method](**hyperparameters)


#: Fine-tuning steps the baselines are scored after (they have no training inner loop to copy).
BASELINE_STEPS = 32


def adaptation_steps(learner) -> int:
    """The steps each method is judged after: its training inner steps for MAML and
    Meta-SGD (one, as in their papers), :attr:`eval_steps` (32) for Reptile, and
    :data:`BASELINE_STEPS` for a learner trained without an inner loop (the pretrained baseline)."""
    return int(getattr(learner, "eval_steps", None) or learner.inner_steps or BASELINE_STEPS)


@dataclass
class MethodResult:
    """One method's scores: per-task MSEs, keyed by K, on the shared held-out waves."""

    method: str
    steps: int                                   #: adaptation steps of :attr:`mse`
    iterations: dict[int, int] = field(default_factory=dict)     #: K → meta-iterations trained
    seconds: dict[int, float] = field(default_factory=dict)      #: K → training wall time
    mse: dict[int, np.ndarray] = field(default_factory=dict)     #: K → per-task MSE after ``steps``
    curve: dict[int, np.ndarray] = field(default_factory=dict)   #: step count → per-task MSE at K = curve_shots
    #: K → step count of :data:`EQUAL_STEPS` → per-task MSE (the same waves for every method)
    by_steps: dict[int, dict[int, np.ndarray]] = field(default_factory=dict)


@dataclass
class Comparison:
    results: dict[str, MethodResult]
    shots: tuple[int, ...]
    curve_shots: int
    n_tasks: int
    budget: float
    train_per_shots: bool
    #: method → its learner trained with K = ``curve_shots`` (what :func:`save` ships)
    learners: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """JSON-ready: each MSE as ``[mean, 95% half-width]``; each point of the
        curve as quartiles ``[25%, median, 75%]`` plus the share of tasks whose
        prediction blew up (Meta-SGD's α is tuned for its training steps, and
        more steps overshoot on some waves), where a mean would be meaningless."""
        def ci(values):
            m, h = mean_ci(values)
            return [round(m, 4), round(h, 4)]
        return {
            "shots": list(self.shots), "curve_shots": self.curve_shots, "n_tasks": self.n_tasks,
            "budget": self.budget, "train_per_shots": self.train_per_shots,
            "methods": {name: {
                "steps": r.steps,
                "iterations": {str(k): v for k, v in r.iterations.items()},
                "seconds": {str(k): round(v, 2) for k, v in r.seconds.items()},
                "mse": {str(k): ci(v) for k, v in r.mse.items()},
                "curve": {str(s): robust(v) for s, v in r.curve.items()},
                "by_steps": {str(k): {str(s): score(v) for s, v in by.items()}
                             for k, by in r.by_steps.items()},
            } for name, r in self.results.items()},
        }


def robust(values: np.ndarray) -> dict[str, Any]:
    """Quartiles of per-task MSEs (blown-up tasks count as +∞) and the share that blew up."""
    v = np.where(np.isfinite(values), values, np.inf)
    q = np.quantile(v, [0.25, 0.5, 0.75])
    return {"quartiles": [round(float(x), 4) if np.isfinite(x) else None for x in q],
            "diverged": round(float(np.mean(~np.isfinite(values))), 4)}


def diverged_share(values: np.ndarray) -> float:
    """The share of per-task MSEs that diverged (above :data:`DIVERGED_MSE` or not a number)."""
    values = np.asarray(values, dtype=float)
    return float(np.mean(~(np.isfinite(values) & (values <= DIVERGED_MSE))))


def score(values: np.ndarray) -> dict[str, Any]:
    """JSON-ready per-task MSEs: ``mse`` = [mean, 95% half-width] when no task diverged
    (``None`` otherwise: a mean with a blown-up task in it means nothing), the median
    (``None`` when half or more diverged) and the share that diverged."""
    values = np.asarray(values, dtype=float)
    share = diverged_share(values)
    ci = None
    if share == 0:
        m, h = mean_ci(values)
        ci = [round(m, 4), round(h, 4)]
    median = float(np.median(np.where(np.isfinite(values), values, np.inf)))
    return {"mse": ci, "median": round(median, 4) if np.isfinite(median) and median <= DIVERGED_MSE else None,
            "diverged": round(share, 4)}


def format_score(values: np.ndarray, digits: int = 3) -> str:
    """``"0.311 ± 0.035"``, or ``"diverges on 23%"`` when some task's adaptation diverged."""
    share = diverged_share(values)
    if share > 0:
        return f"diverges on {share:.0%}" if share >= 0.005 else f"diverges on {share:.1%}"
    mean, half = mean_ci(values)
    return f"{mean:.{digits}f} ± {half:.{digits}f}"


#: Per-task MSE above which notebook 07 counts an adaptation as blown up while it is still
#: below :data:`DIVERGED_MSE` (predicting 0 scores about 4 on the sine waves; a finite but huge
#: error on a few waves dominates a mean, so the tables print the median beside it).
BLOWN_UP_MSE = 100.0


def blown_share(values: np.ndarray, threshold: float = BLOWN_UP_MSE) -> float:
    """The share of per-task MSEs above ``threshold`` or not a number (diverged ones included)."""
    values = np.asarray(values, dtype=float)
    return float(np.mean(~(np.isfinite(values) & (values <= threshold))))


def format_cell(values: np.ndarray, digits: int = 3) -> str:
    """:func:`format_score` with the median beside it: ``"0.311 ± 0.035 [0.170]"``, or
    ``"no mean, 9% div. [0.052]"`` when some task diverged (never "0%": a share below 0.5% is
    printed to one decimal). The median counts a diverged task as +∞ (``inf`` if half did)."""
    values = np.asarray(values, dtype=float)
    median = float(np.median(np.where(np.isfinite(values) & (values <= DIVERGED_MSE), values, np.inf)))
    med = f"[{median:.{digits}f}]" if np.isfinite(median) else "[inf]"
    share = diverged_share(values)
    if share > 0:
        return f"no mean, {share:.0%} div. {med}" if share >= 0.005 else f"no mean, {share:.1%} div. {med}"
    mean, half = mean_ci(values)
    return f"{mean:.{digits}f} ± {half:.{digits}f} {med}"


def compare(methods: Sequence[str] = METHODS, shots: Sequence[int] = (5, 10, 20), *,
            budget: float = 1.0, train_per_shots: bool = False, curve_shots: int = 10,
            curve_steps: Sequence[int] = tuple(range(11)), n_tasks: int = 500, seed: int = 0,
            equal_steps: Sequence[int] = EQUAL_STEPS,
            log: Callable[[str], None] | None = print) -> Comparison:
    """Train every method and score it on the same held-out waves.

    ``budget`` scales each method's default number of meta-iterations (1 = the
    full default). With ``train_per_shots`` a separate learner is trained with
    each K of ``shots`` (as the papers do); otherwise one learner, trained with
    K = ``curve_shots``, is scored at every K. ``curve_steps``: the step counts
    of the MSE-against-steps curve, at K = ``curve_shots``.
    """
    shots = tuple(check_positive_int(k, "shots") for k in shots)
    curve_shots = check_positive_int(curve_shots, "curve_shots")
    if train_per_shots and curve_shots not in shots:
        raise ValueError(f"curve_shots={curve_shots} must be one of shots={shots} when training per K")
    if not 0 < budget <= 10:
        raise ValueError(f"budget must be in (0, 10], got {budget}")
    for name in methods:
        make_learner(name)                     # unknown names fail before any training
    held = {k: bench.held_out(n_tasks, shots=k) for k in sorted(set(shots) | {curve_shots})}
    results, kept = {}, {}
    for name in methods:
        result = None
        for k in (shots if train_per_shots else (curve_shots,)):
            learner = make_learner(name, shots=k)
            iterations = max(1, round(budget * learner.iterations))
            start = time.perf_counter()
            learner.fit(SineTasks(), iterations=iterations, seed=seed)
            seconds = time.perf_counter() - start
            if result is None:
                result = MethodResult(name, adaptation_steps(learner))
            scored = shots if not train_per_shots else (k,)
            for kk in scored:
                wanted = sorted(set(equal_steps) | {result.steps})
                by = bench.mse_by_steps(learner, held[kk], steps=wanted)
                result.mse[kk] = by[result.steps]
                result.by_steps[kk] = {s: by[s] for s in equal_steps}
                result.iterations[kk], result.seconds[kk] = iterations, seconds
            if k == curve_shots or (not train_per_shots):
                result.curve = bench.mse_by_steps(learner, held[curve_shots], steps=curve_steps)
                kept[name] = learner
            if log is not None:
                log(f"{name:17s} K={k:2d}: {iterations} iterations in {seconds:5.1f} s; " + ", ".join(
                    f"K={kk} MSE {result.mse[kk].mean():.3f}" for kk in scored))
        results[name] = result
    return Comparison(results, shots, curve_shots, n_tasks, budget, train_per_shots, kept)


def save(comparison: Comparison, command: str, path: Path = RESULTS_FILE,
         baselines: Mapping[str, Any] | None = None, extra: Mapping[str, Any] | None = None) -> Path:
    """Write :meth:`Comparison.summary` with the command, date and machine that made it.

    With ``comparison.learners`` (and ``baselines``, name → learner), also writes
    their parameters to :data:`PARAMETERS_NAME` beside ``path`` ("random init":
    only its seed, :data:`RANDOM_INIT_SEED`) and records, under ``"shipped"``, each
    one's held-out MSE at K = ``curve_shots`` after its :func:`adaptation_steps`
    (the baselines: after :data:`BASELINE_STEPS`) — the score
    ``tests/evaluation/test_shipped_learners.py`` reproduces from the shipped file.
    ``extra``: further JSON-ready entries of the record (the benchmark's seed study,
    :func:`seed_study`).
    """
    record = {**records.header(command), **comparison.summary(), **(extra or {})}
    path = Path(path)
    learners = {**comparison.learners, **(baselines or {})}
    arrays = None
    if learners:
        held = bench.held_out(comparison.n_tasks, shots=comparison.curve_shots)
        arrays, shipped = {}, {}
        for name, learner in learners.items():
            if name in comparison.results:   # scored already, by compare(), on these same waves
                steps = comparison.results[name].steps
                mse = comparison.results[name].mse[comparison.curve_shots]
            else:
                steps = BASELINE_STEPS if name in BASELINES else adaptation_steps(learner)
                mse = bench.mse_by_steps(learner, held, steps=(steps,))[steps]
            m, h = mean_ci(mse)
            shipped[name] = {"steps": steps, "mse": [round(m, 4), round(h, 4)],
                             "trained": name != "random init"}
            if name != "random init":
                arrays.update(records.pack(name, learner))
        record["shipped"] = {"file": PARAMETERS_NAME, "shots": comparison.curve_shots,
                             "random_init_seed": RANDOM_INIT_SEED, "methods": shipped}
    return records.write(path.parent, path.name, record, PARAMETERS_NAME if learners else None, arrays)


#: The seed of the "random init" baseline's parameters.
RANDOM_INIT_SEED = 0


def on_recorded_stack() -> bool:
    """Whether this kernel runs the TensorFlow and numpy that recorded the full-budget results
    (the record's ``"versions"``; :func:`chapter_utils.environment.same_stack`). On another
    stack — Colab's, say — training takes other paths, so a check of one run's own numbers
    applies only here."""
    return same_stack(load().get("versions", {}))


def load(path: Path | None = None) -> Mapping[str, Any]:
    """The saved full-budget results (see :func:`save`).

    With no ``path``, the copy shipped inside the installed package
    (``chapter_utils/data/``), read through :mod:`importlib.resources`, so it works
    from a wheel as well as from a checkout.
    """
    if path is None:
        return records.read_json(RESULTS_NAME)
    return records.read_json(Path(path).name, Path(path).parent)


def load_learners(path: Path | None = None) -> dict[str, Any]:
    """The shipped learners, ready to adapt: name → learner, in the order :func:`save` wrote them
    (:data:`METHODS`, then :data:`BASELINES`, for the shipped file).

    Each is built with its method's defaults and K = the recorded ``shots`` and
    given the shipped θ and α (:meth:`~chapter_utils.learners.base.MetaLearner.set_parameters`);
    "random init" is an untrained learner seeded by :data:`RANDOM_INIT_SEED`.
    ``path``: a results file written by :func:`save` (default: the shipped one),
    with its parameters file beside it. Nothing is trained.
    """
    record = load(path)
    if "shipped" not in record:
        raise ValueError("these results carry no shipped learners: rerun "
                         "python -m chapter_utils.tooling.benchmark comparison")
    shipped = record["shipped"]
    arrays = records.read_arrays(shipped["file"], None if path is None else Path(path).parent)
    learners = {}
    for name in shipped["methods"]:
        learner = make_learner(name, shots=shipped["shots"])
        if name == "random init":
            learner.initialise(shipped["random_init_seed"])
        else:
            learner.set_parameters(*records.unpack(arrays, name))
        learners[name] = learner
    return learners


def seed_study(methods: Sequence[str] = METHODS, seeds: Sequence[int] = (0, 1, 2, 3, 4), *,
               budget: float = 0.5, train_shots: int = 10, shots: Sequence[int] = (5, 10, 20),
               steps: Sequence[int] = EQUAL_STEPS, n_tasks: int = 500,
               log: Callable[[str], None] | None = print) -> dict[str, Any]:
    """Train each method once per training seed and score every learner on the same held-out waves.

    How far a ranking moves when only the training run changes: each learner is
    trained with K = ``train_shots`` at ``budget`` times its default meta-iterations
    (seed 0 with the defaults is notebook 07's own run), then scored at each K of
    ``shots`` after each of ``steps`` and after the steps it is judged after
    (:func:`adaptation_steps`). Returns a JSON-ready record: per method, seed, K and
    step count, :func:`score` of the per-task MSEs.
    """
    from chapter_utils.tasks.sine import SineTasks as _Tasks

    held = {k: bench.held_out(n_tasks, shots=k) for k in shots}
    record: dict[str, Any] = {"budget": budget, "train_shots": train_shots, "seeds": list(seeds),
                              "shots": list(shots), "steps": list(steps), "n_tasks": n_tasks,
                              "methods": {}}
    for name in methods:
        entry: dict[str, Any] = {"judged_after": None, "seconds": {}, "scores": {}}
        for seed in seeds:
            learner = make_learner(name, shots=train_shots)
            iterations = max(1, round(budget * learner.iterations))
            start = time.perf_counter()
            learner.fit(_Tasks(), iterations=iterations, seed=seed)
            entry["seconds"][str(seed)] = round(time.perf_counter() - start, 2)
            judged = adaptation_steps(learner)
            entry["judged_after"] = judged
            wanted = sorted(set(steps) | {judged})
            entry["scores"][str(seed)] = {
                str(k): {str(s): score(v) for s, v in bench.mse_by_steps(learner, held[k], steps=wanted).items()}
                for k in shots}
            if log is not None:
                log(f"{name:17s} seed {seed}: {iterations} iterations in {entry['seconds'][str(seed)]:5.1f} s")
        record["methods"][name] = entry
    return record


#: Two-sided 95% quantiles of Student's t, by degrees of freedom (for intervals over a few seeds).
_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
        10: 2.228, 15: 2.131, 20: 2.086, 30: 2.042}


def seed_interval(values: Sequence[float]) -> tuple[float, float]:
    """Mean of a few per-seed values and the half-width of its 95% Student-t interval
    (the spread between training runs, not between tasks)."""
    values = np.asarray(values, dtype=float).ravel()
    if values.size < 2 or not np.all(np.isfinite(values)):
        raise ValueError("need at least 2 finite values for an interval over seeds")
    dof = values.size - 1
    t = _T95.get(dof) or _T95[max(d for d in _T95 if d <= dof)]
    return float(values.mean()), float(t * values.std(ddof=1) / np.sqrt(values.size))


def seed_means(study: Mapping[str, Any], method: str, shots: int, steps: int) -> list[float | None]:
    """Each seed's mean held-out MSE in a :func:`seed_study` record (``None``: some task diverged)."""
    scores = study["methods"][method]["scores"]
    return [None if (s := scores[seed][str(shots)][str(steps)])["mse"] is None else s["mse"][0]
            for seed in map(str, study["seeds"])]


def settled_below(study: Mapping[str, Any], a: str, b: str, shots: int, steps: int) -> bool:
    """Whether ``a``'s mean held-out MSE is below ``b``'s beyond training-seed noise, in a
    :func:`seed_study` record: no task diverged for either under any seed, ``a`` is below
    ``b`` under every seed, and the 95% intervals over seeds (:func:`seed_interval`) do not
    overlap."""
    ma, mb = seed_means(study, a, shots, steps), seed_means(study, b, shots, steps)
    if None in ma or None in mb:
        return False
    if not all(x < y for x, y in zip(ma, mb)):
        return False
    (ca, ha), (cb, hb) = seed_interval(ma), seed_interval(mb)
    return ca + ha < cb - hb


def ranking_text(study: Mapping[str, Any], shots: int, steps: int,
                 methods: Sequence[str] | None = None) -> str:
    """The methods from lowest to highest mean over seeds, joined by ``<`` where the step is
    :func:`settled_below` and by ``≈`` where it is within training-seed noise; a method that
    diverged on some wave under some seed comes last, marked "(diverges)"."""
    methods = list(methods or study["methods"])
    finite = [m for m in methods if None not in seed_means(study, m, shots, steps)]
    finite.sort(key=lambda m: float(np.mean(seed_means(study, m, shots, steps))))
    text = finite[0] if finite else ""
    for left, right in zip(finite, finite[1:]):
        text += (" < " if settled_below(study, left, right, shots, steps) else " ≈ ") + right
    rest = [f"{m} (diverges)" for m in methods if m not in finite]
    return "; ".join([text] + rest) if text else "; ".join(rest)


#: How far apart two 95% intervals must be for notebook 07 to call one method lower: the gap
#: between them at least this share of the lower mean (so a ranking a small shift could undo is
#: not asserted).
CLEAR_MARGIN = 0.1


def clearly_below_by(a: np.ndarray, b: np.ndarray, margin: float = CLEAR_MARGIN) -> bool:
    """Whether the 95% interval of ``a``'s mean ends below ``b``'s by at least ``margin`` × ``a``'s
    mean (per-task scores, lower is better): :func:`~chapter_utils.evaluation.stats.clearly_below`
    with a clear gap."""
    (ma, ha), (mb, hb) = mean_ci(a), mean_ci(b)
    return ma + ha + margin * ma < mb - hb
