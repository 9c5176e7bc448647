"""The shipped character learners: small files, a full record, and scores that reproduce."""
from __future__ import annotations

import numpy as np
import pytest

import chapter_utils
from chapter_utils.evaluation import characters as ec
from chapter_utils.evaluation.stats import mean_ci

#: Held-out tasks re-scored here (the first ones of the recorded sample: the same tasks).
N_SMALL = 12


def test_shipped_files_are_small_and_recorded():
    sizes = ec.shipped_sizes()
    assert sum(sizes.values()) < 1_000_000
    record = ec.shipped_record()
    assert record["command"].startswith("python -m chapter_utils.tooling.train_characters")
    assert record["date"] and record["seconds_total"] > 0
    for name in ec.CLASSES:
        assert record["settings"][name]["seconds"] > 0
        for shots in (1, 5):
            score = record["scores"][name][f"{shots}-shot"]
            assert 0 <= score["mean"] <= 1 and 0 < score["ci95"] < 0.2


def test_public_entry_point_ranks_and_loads():
    names = chapter_utils.CHARACTER_LEARNERS
    assert set(names) == set(ec.META_LEARNERS)
    settings = ec.shipped_record()["settings"]

    def validation(n):           # ranked on validation tasks (meta-training scripts), not held-out ones
        v = settings[n]["steps_validation"]
        i = v["candidates"].index(settings[n]["hyperparameters"]["eval_steps"])
        return v["1-shot"][i] + v["5-shot"][i]
    means = [validation(n) for n in names]
    assert means == sorted(means, reverse=True)
    assert "first-order Meta-SGD" in names      # Meta-SGD is shipped first-order and named so
    learner = chapter_utils.load_character_learner(names[0])
    assert learner is chapter_utils.load_character_learner(names[0])          # loaded once
    with pytest.raises(ValueError, match="must be one of"):
        chapter_utils.load_character_learner("Omniglot champion")


def test_adapt_interface_of_learners_and_baselines():
    xs, ys, xq, _ = ec.held_out_tasks(1, 1, seed=5, n_way=3)
    models = {**{n: chapter_utils.load_character_learner(n) for n in chapter_utils.CHARACTER_LEARNERS},
              **ec.character_baselines()}
    assert {"pixel nearest neighbour", "prototypical network"} <= set(models)
    for name, model in models.items():
        p = model.adapt(xs[0], ys[0])(xq[0])
        assert p.shape == (xq.shape[1], 3) and np.allclose(p.sum(1), 1), name
        with pytest.raises(ValueError):
            model.adapt(xs[0][:, :20], ys[0])
        with pytest.raises(ValueError):
            model.adapt(xs[0], ys[0] + 1)


@pytest.mark.parametrize("shots", [1, 5])
def test_shipped_scores_reproduce(shots):
    """On the first tasks of the recorded sample, each method scores what the record says it
    scored on those same tasks; and the recorded mean and 95 % interval are those of the recorded
    per-task accuracies. (A 12-task mean is not compared with the 200-task interval: on so few
    tasks it can honestly fall outside it.)"""
    record, stored = ec.shipped_record()["scores"], ec.shipped_accuracies()
    tasks = ec.held_out_tasks(shots, N_SMALL)
    models = {n: ec.load_character_learner(n) for n in ec.CLASSES}
    models.update({"pixel nearest neighbour": ec.PixelNearestNeighbour(), "from scratch": ec.FromScratch()})
    for name, model in models.items():
        steps = record[name][f"{shots}-shot"]["steps"]
        accuracy = ec.accuracy_by_steps(model, tasks, [steps])[0]
        assert abs(accuracy.mean() - stored[(name, shots)][:N_SMALL].mean()) <= 0.02, name
        mean, half = mean_ci(stored[(name, shots)])
        recorded = record[name][f"{shots}-shot"]
        assert abs(mean - recorded["mean"]) < 1e-3 and abs(half - recorded["ci95"]) < 1e-3, name
