"""Equal-step scores, divergence and the training-seed study of chapter_utils.evaluation.comparison (notebook 07)."""
from __future__ import annotations

import numpy as np
import pytest

from chapter_utils.evaluation import comparison


def test_score_gives_no_mean_once_a_task_diverged():
    fine = np.array([0.1, 0.2, 0.3, 0.4])
    assert comparison.score(fine)["mse"][0] == pytest.approx(0.25) and comparison.score(fine)["diverged"] == 0
    blown = np.array([0.1, 0.2, np.inf, 2e6])
    record = comparison.score(blown)
    assert record["mse"] is None and record["diverged"] == 0.5 and record["median"] is None
    assert comparison.format_score(blown) == "diverges on 50%"
    assert comparison.format_score(fine).startswith("0.250 ± ")


def test_seed_interval_is_wider_than_the_normal_one_for_few_seeds():
    values = [1.0, 1.2, 0.9, 1.1, 1.05]
    mean, half = comparison.seed_interval(values)
    assert mean == pytest.approx(np.mean(values))
    assert half == pytest.approx(2.776 * np.std(values, ddof=1) / np.sqrt(5), rel=1e-3)
    with pytest.raises(ValueError):
        comparison.seed_interval([1.0])


def _study(values: dict[str, list[float | None]]) -> dict:
    seeds = list(range(len(next(iter(values.values())))))
    return {"seeds": seeds, "methods": {name: {"scores": {str(s): {"10": {"1": {
        "mse": None if v is None else [v, 0.01]}}} for s, v in zip(seeds, vs)}} for name, vs in values.items()}}


def test_settled_below_needs_every_seed_and_separate_intervals():
    study = _study({"a": [0.10, 0.11, 0.12], "b": [0.30, 0.31, 0.29], "c": [0.12, 0.09, 0.13],
                    "d": [0.1, None, 0.1]})
    assert comparison.settled_below(study, "a", "b", 10, 1)
    assert not comparison.settled_below(study, "b", "a", 10, 1)
    assert not comparison.settled_below(study, "a", "c", 10, 1)        # c is below a under seed 1
    assert not comparison.settled_below(study, "d", "b", 10, 1)        # d diverged under seed 1
    assert comparison.ranking_text(study, 10, 1) == "a ≈ c < b; d (diverges)"


def test_compare_scores_every_method_at_equal_steps():
    run = comparison.compare(methods=("MAML", "Reptile"), shots=(5, 10), budget=0.001, n_tasks=20,
                             equal_steps=(1, 3), log=None)
    for r in run.results.values():
        assert set(r.by_steps) == {5, 10} and all(set(v) == {1, 3} for v in r.by_steps.values())
        for k in (5, 10):    # the table as judged is the equal-step score at the judged step, when it is one
            if r.steps in r.by_steps[k]:
                np.testing.assert_array_equal(r.by_steps[k][r.steps], r.mse[k])
    assert run.results["MAML"].steps == 1 and run.results["Reptile"].steps == 32
    summary = run.summary()["methods"]["Reptile"]["by_steps"]
    assert set(summary) == {"5", "10"} and set(summary["5"]) == {"1", "3"}


def test_clearly_below_by_needs_a_gap_between_the_intervals():
    rng = np.random.default_rng(0)
    a = rng.normal(1.0, 0.1, 400)
    assert comparison.clearly_below_by(a, a + 1.0)
    assert not comparison.clearly_below_by(a, a + 0.08)      # intervals apart, but no clear gap
    assert not comparison.clearly_below_by(a + 1.0, a)


def test_blown_share_and_format_cell_report_blow_ups_below_the_divergence_line():
    values = np.array([0.1, 0.2, 0.3, 659.0])           # one wave blew up, none diverged
    assert comparison.blown_share(values) == 0.25 and comparison.diverged_share(values) == 0
    assert comparison.format_cell(values).endswith("[0.250]")     # the median, beside the inflated mean
    few = np.r_[np.full(999, 0.5), np.inf]
    assert comparison.format_cell(few) == "no mean, 0.1% div. [0.500]"   # never "0%"
    most = np.array([0.1, np.inf, 2e6, np.inf])
    assert comparison.format_cell(most) == "no mean, 75% div. [inf]"
