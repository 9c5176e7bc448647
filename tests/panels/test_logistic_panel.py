"""Tests for chapter_utils.panels.logistic: the panel of notebook 04 (§7.4.5)."""
import inspect

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from chapter_utils.panels.logistic import LN2, SharedBatches, draw_comparison, logistic_panel, panel_held_out
from chapter_utils.reference import logistic_meta_sgd as msgd
from chapter_utils.tasks import LogisticTasks

matplotlib.use("Agg")

KEYS = ["alpha_init", "beta", "inner_steps", "shots", "tasks_per_batch"]


def test_controls_are_meta_trains_arguments():
    panel = logistic_panel(LogisticTasks())
    assert list(panel.controls) == KEYS
    assert set(KEYS) <= set(inspect.signature(msgd.meta_train).parameters)
    assert panel.controls["beta"].description == "β · beta"
    assert panel.controls["alpha_init"].description == "α₀ · alpha_init"
    assert panel.values == {"alpha_init": pytest.approx(0.1), "beta": pytest.approx(0.5),
                            "inner_steps": 1, "shots": 10, "tasks_per_batch": 16}
    assert panel.baseline == (pytest.approx(LN2), "predicting ½ everywhere")


def test_train_at_small_settings_draws_and_reports():
    panel = logistic_panel(LogisticTasks(), query=20, iterations=20)
    panel.controls["shots"].value = 5
    panel.controls["tasks_per_batch"].value = 4
    comparison = panel.train()
    assert comparison is not None
    assert list(comparison.evaluations) == ["Meta-SGD", "learned scalar α", "MAML (fixed α)",
                                            "chapter's code", "no meta-learning"]
    assert comparison.maml_alpha == 0.5 and list(comparison.maml_scores) == [0.5]
    assert np.all(comparison.trained["MAML (fixed α)"].alpha == 0.5)
    assert "MAML's fixed α = 0.5" in panel.last_message and "not re-tuned" in panel.last_message
    meta_sgd = comparison.trained["Meta-SGD"]
    assert meta_sgd.settings["shots"] == 5 and meta_sgd.settings["tasks_per_batch"] == 4
    assert len(meta_sgd.query_loss) == 20
    assert panel.last_message.startswith("Done") and "held-out accuracy Meta-SGD" in panel.last_message
    assert plt.get_fignums() == []
    figure = draw_comparison(comparison, LogisticTasks().groups)
    assert len(figure.axes) == 3
    plt.close(figure)


def test_too_large_beta_diverges_in_words():
    panel = logistic_panel(LogisticTasks(), iterations=100)
    panel.controls["beta"].value = 100.0
    assert panel.train() is None
    assert panel.last_message.startswith("Diverged") and "try a smaller β" in panel.last_message


def test_maml_alpha_is_fixed_not_tuned_per_click():
    panel = logistic_panel(LogisticTasks(), query=20, iterations=10, maml_alpha=0.3)
    panel.controls["tasks_per_batch"].value = 2
    comparison = panel.train()
    maml = comparison.trained["MAML (fixed α)"]
    assert np.all(maml.alpha == 0.3) and comparison.maml_scores.keys() == {0.3}
    assert "MAML's fixed α = 0.3" in panel.last_message
    with pytest.raises(ValueError, match="maml_alpha"):
        logistic_panel(LogisticTasks(), maml_alpha=0.0)


def test_loss_axis_has_units_and_is_capped_below_the_chapters_curve():
    family = LogisticTasks()
    held_out = family.sample_batch(50, 10, 20, rng=1)
    comparison = msgd.compare_with_tuned_maml(family.sample_batch, family.dim, held_out,
                                              grid=(0.5,), iterations=60, tasks_per_batch=4, seed=0)
    figure = draw_comparison(comparison, family.groups)
    ax = figure.axes[0]
    assert ax.get_ylabel() == "query loss after adaptation (nats)"
    top = max(np.convolve(comparison.trained[n].query_loss, np.ones(50) / 50, "valid").max()
              for n in ("Meta-SGD", "learned scalar α", "MAML (fixed α)"))
    assert ax.get_ylim()[1] < comparison.trained["chapter's code"].query_loss.max()
    assert ax.get_ylim()[1] >= top
    plt.close(figure)


def test_shared_batches_repeat_the_same_tasks_for_each_run():
    tasks = SharedBatches(LogisticTasks(), 3, 2, 5, 10, np.random.default_rng(0))
    first = [tasks(2, 5, 10) for _ in range(3)]
    second = [tasks(2, 5, 10, np.random.default_rng(99)) for _ in range(3)]   # its rng is ignored
    assert all(a is b for a, b in zip(first, second)), "each run gets the same batches, in order"
    assert not np.array_equal(first[0][0], first[1][0]), "but a run's batches differ"
    assert first[0][0].shape == (2, 5, 50) and first[0][2].shape == (2, 10, 50)
    with pytest.raises(ValueError, match="asked for"):
        tasks(2, 6, 10)


def test_a_click_draws_the_training_tasks_once_for_all_four_learners(monkeypatch):
    drawn = []
    original = LogisticTasks.sample_batch

    def counted(self, n, k_train, k_test, rng=None):
        drawn.append((n, k_train, k_test))
        return original(self, n, k_train, k_test, rng)

    monkeypatch.setattr(LogisticTasks, "sample_batch", counted)
    panel_held_out.cache_clear()            # the held-out sets are cached per process
    panel = logistic_panel(LogisticTasks(), query=20, iterations=15)
    panel.controls["tasks_per_batch"].value = 3
    comparison = panel.train()
    assert comparison is not None and len(comparison.trained) == 4
    assert drawn.count((3, 10, 10)) == 15, "one draw per meta-iteration, shared by the four"
    assert drawn.count((500, 10, 20)) == 1, "the held-out tasks, drawn once"
    panel.train()
    assert drawn.count((500, 10, 20)) == 1, "a second click draws no held-out tasks"
