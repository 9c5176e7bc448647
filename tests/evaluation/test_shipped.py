"""The full-budget learners notebooks 02 and 03 load (chapter_utils/evaluation/shipped.py).

``python -m chapter_utils.tooling.train_shipped`` trains them and records each one's held-out
score. Loading the shipped parameters here and scoring them again must give that score, and
each shipped learner must be what its recipe (the notebook's ``RETRAIN = True``) would train:
same class, same hyperparameters. If a learner's defaults, the scoring or the file change
without the record, this fails instead of a notebook silently showing stale learners.
"""
import json

import numpy as np
import pytest

from chapter_utils.evaluation import shipped
from chapter_utils.evaluation.stats import mean_ci

RECORD = shipped.record()


def test_every_recipe_is_shipped_and_the_files_are_small():
    assert list(RECORD["learners"]) == list(shipped.RECIPES)
    assert {"command", "date", "machine", "versions"} <= set(RECORD)
    size = (shipped.DATA_DIR / shipped.PARAMETERS_NAME).stat().st_size
    assert size < 1_000_000, f"keep the shipped parameters small ({size:,} bytes)"


@pytest.mark.parametrize("name", list(shipped.RECIPES))
def test_shipped_learner_is_what_its_recipe_trains(name):
    recipe, learner = shipped.RECIPES[name], shipped.load(name)
    fresh, recorded = recipe.make(), RECORD["learners"][name]
    assert type(learner) is type(fresh)
    # load() builds the learner from the recipe, so compare the recipe with what was recorded
    # when the parameters were trained (JSON turns tuples into lists, hence the round trip).
    assert recorded["class"] == type(fresh).__name__, f"{name}: the recipe's class changed"
    assert recorded["hyperparameters"] == json.loads(json.dumps(dict(fresh.hyperparameters))), \
        f"{name}: the learner's hyperparameters changed since it was shipped; rerun {shipped.COMMAND}"
    assert dict(learner.hyperparameters) == dict(fresh.hyperparameters)
    assert RECORD["learners"][name]["seed"] == recipe.seed
    assert learner.losses.size == fresh.iterations, "the training curve covers every meta-iteration"


@pytest.mark.parametrize("name", list(shipped.RECIPES))
def test_shipped_parameters_reproduce_the_recorded_score(name):
    recorded = RECORD["learners"][name]["held_out"]
    mean, half = (float(v) for v in mean_ci(shipped.RECIPES[name].score(shipped.load(name))))
    # The record keeps 4 decimals; float32 sums differ in the last digits only.
    assert mean == pytest.approx(recorded[0], rel=2e-3, abs=2e-3), f"{name}: {mean:.4f} vs {recorded}"
    assert half == pytest.approx(recorded[1], rel=2e-2, abs=2e-3)


def test_save_and_load_round_trip(tmp_path):
    """What save() writes, load() reads back: θ, α, curves and the recorded training time."""
    original = shipped.load("03 pretrained")
    shipped.save({"03 pretrained": original}, data_dir=tmp_path, log=None)
    again = shipped.load("03 pretrained", data_dir=tmp_path)
    for a, b in zip(original.theta + original.alpha, again.theta + again.alpha):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(original.returns_before, again.returns_before)
    assert again.seconds == pytest.approx(original.seconds, abs=0.05)


def test_unknown_names_raise():
    with pytest.raises(ValueError, match="no shipped learner"):
        shipped.load("06 Reptile")
    with pytest.raises(ValueError, match="no shipped learner"):
        shipped.learner("nothing", retrain=True)


def test_retraining_the_quickest_recipe_gives_the_shipped_parameters():
    """RETRAIN = True trains what was shipped: the recipe of 02's first-order MAML (about 15 s),
    run again here, ends at the shipped θ — on the TensorFlow and numpy that trained it (another
    stack sums in another order, so there it is only the score test above that applies)."""
    if not shipped.on_recorded_stack():
        pytest.skip(f"the shipped learners were trained on {RECORD['versions']}")
    name = "02 first-order MAML"
    again, shipped_one = shipped.RECIPES[name].train(), shipped.load(name)
    for a, b in zip(again.theta + again.alpha, shipped_one.theta + shipped_one.alpha):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(again.losses, shipped_one.losses, rtol=1e-5, atol=1e-6)
