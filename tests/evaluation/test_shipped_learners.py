"""The learners shipped in chapter_utils/data/ still score what their record says (notebook 07).

``python -m chapter_utils.tooling.benchmark comparison`` trains them at full budget and writes
their parameters (sine_learners.npz) and, beside the comparison, each one's held-out MSE at
K = 10 after its adaptation steps. Loading the shipped file here and scoring it again on the
same held-out waves must give those numbers: if the learners, the benchmark or the file
change without the record, this fails instead of the panel silently showing stale learners.
"""
import numpy as np
import pytest

from chapter_utils.evaluation import comparison
from chapter_utils.evaluation import sine as bench
from chapter_utils.evaluation.stats import mean_ci

RECORD = comparison.load()


def test_every_method_and_baseline_is_shipped():
    shipped = RECORD["shipped"]
    assert list(shipped["methods"]) == list(comparison.METHODS + comparison.BASELINES)
    assert shipped["shots"] == RECORD["curve_shots"] == 10
    assert comparison.PARAMETERS_FILE.is_file()
    assert comparison.PARAMETERS_FILE.stat().st_size < 200_000, "keep the shipped parameters small"


@pytest.fixture(scope="module")
def learners():
    return comparison.load_learners()


@pytest.fixture(scope="module")
def held():
    return bench.held_out(RECORD["n_tasks"], shots=RECORD["shipped"]["shots"])


@pytest.mark.parametrize("name", comparison.METHODS + comparison.BASELINES)
def test_shipped_parameters_reproduce_the_recorded_score(name, learners, held):
    recorded = RECORD["shipped"]["methods"][name]
    learner = learners[name]
    assert learner.is_fitted and learner.shots == RECORD["shipped"]["shots"]
    steps = recorded["steps"]
    mean, half = mean_ci(bench.mse_by_steps(learner, held, steps=(steps,))[steps])
    # The record keeps 4 decimals; float32 sums over 500 waves differ in the last digits only.
    assert mean == pytest.approx(recorded["mse"][0], rel=2e-3, abs=2e-4), f"{name}: {mean:.4f} vs {recorded}"
    assert half == pytest.approx(recorded["mse"][1], rel=2e-2, abs=2e-4)


def test_the_four_methods_shipped_are_the_ones_the_comparison_scored(learners):
    """The shipped K = 10 learners are the full-budget run's: their scores equal its K = 10 column."""
    for name in comparison.METHODS:
        assert RECORD["shipped"]["methods"][name]["mse"] == RECORD["methods"][name]["mse"]["10"], name


def test_the_meta_learners_beat_both_baselines_after_their_steps():
    scores = {name: record["mse"][0] for name, record in RECORD["shipped"]["methods"].items()}
    for name in comparison.METHODS:
        assert scores[name] < min(scores["pretrained"], scores["random init"]), (name, scores)
    assert np.isfinite(list(scores.values())).all()


@pytest.mark.parametrize("name", comparison.METHODS + comparison.BASELINES)
def test_the_panels_numpy_steps_match_each_shipped_learner_over_32_steps(name, learners, held):
    """What the "pose the task" panel draws is what the learner itself predicts (float64 vs float32)."""
    from chapter_utils.nets.numpy_mlp import sgd_trajectory

    learner = learners[name]
    query = np.linspace(-5, 5, 41)
    for task in range(3):
        x, y = held.x_support[task], held.y_support[task]
        expected = learner.predict_adapted(x[None], y[None], query, steps=list(range(33)))[:, 0]
        got = sgd_trajectory(learner.theta, learner.alpha, x, y, query, 32, learner.activation)
        finite = np.isfinite(expected).all(axis=1) & np.isfinite(got).all(axis=1)
        assert finite[:2].all(), f"{name}: not even the first step is finite"
        np.testing.assert_allclose(got[finite], expected[finite], atol=2e-3, rtol=1e-3, err_msg=name)


def test_save_and_load_learners_round_trip_on_a_tiny_run(tmp_path):
    """save() ships what compare() scored (not a second scoring), and load_learners reads it back."""
    run = comparison.compare(methods=("MAML",), shots=(10,), budget=0.002, n_tasks=20, log=None)
    baselines = {"random init": comparison.make_learner("random init").initialise(comparison.RANDOM_INIT_SEED)}
    path = comparison.save(run, command="test", path=tmp_path / "results.json", baselines=baselines)
    record = comparison.load(path)
    assert record["shipped"]["methods"]["MAML"]["mse"] == record["methods"]["MAML"]["mse"]["10"]
    loaded = comparison.load_learners(path)
    assert list(loaded) == ["MAML", "random init"]
    held = bench.held_out(20, shots=10)
    for name, learner in loaded.items():
        steps = record["shipped"]["methods"][name]["steps"]
        mean, _ = mean_ci(bench.mse_by_steps(learner, held, steps=(steps,))[steps])
        assert mean == pytest.approx(record["shipped"]["methods"][name]["mse"][0], abs=1e-4), name
