"""Tests for chapter_utils.panels.bowls: the panels of notebook 01 (§7.1.5) and notebook 05 (§7.6.4)."""
import inspect

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from chapter_utils.panels.bowls import meta_sgd_bowls_panel, reptile_bowls_panel
from chapter_utils.reference import quadratic_reptile as qr
from chapter_utils.reference import quadratics as q
from chapter_utils.tasks import QuadraticFamily

matplotlib.use("Agg")


def _keywords(function) -> set[str]:
    return set(inspect.signature(function).parameters)


# ------------------------------------------------------------------ notebook 01
@pytest.fixture(scope="module")
def meta_sgd_data():
    """Notebook 01's family, held-out bowls (fewer) and θ₀."""
    family = QuadraticFamily(centre=(1.0, 1.0), spread=1.0, curvatures=(2.0, 0.5), jitter=0.15)
    return family, family.sample(200, rng=2024), np.zeros(2)


def test_meta_sgd_panel_controls_are_meta_trains_arguments(meta_sgd_data):
    panel = meta_sgd_bowls_panel(*meta_sgd_data)
    assert list(panel.controls) == ["alpha_1", "alpha_2", "beta", "steps"]
    assert {"beta", "steps"} <= _keywords(q.meta_train) and "alpha" in _keywords(q.meta_train)
    assert panel.controls["beta"].description == "β · beta"
    assert panel.controls["steps"].description == "k · steps"
    assert panel.values == {"alpha_1": pytest.approx(0.1), "alpha_2": pytest.approx(0.1),
                            "beta": pytest.approx(0.05), "steps": 1}


def test_meta_sgd_panel_trains_draws_and_reports(meta_sgd_data):
    panel = meta_sgd_bowls_panel(*meta_sgd_data, iterations=50)
    panel.controls["steps"].value = 2
    result = panel.train()
    assert result is not None and result["run"].thetas.shape == (51, 2)
    assert result["steps"] == 2 and np.allclose(result["alpha_start"], [0.1, 0.1])
    assert panel.last_message.startswith("Done") and "learned α = (" in panel.last_message
    assert plt.get_fignums() == []


def test_meta_sgd_panel_diverges_in_words(meta_sgd_data):
    panel = meta_sgd_bowls_panel(*meta_sgd_data, iterations=200)
    panel.controls["beta"].value = 1.0
    assert panel.train() is None
    assert panel.last_message.startswith("Diverged") and "try a smaller β" in panel.last_message
    assert "θ₀ without any step" in panel.last_message or "stopped being a number" in panel.last_message


# ------------------------------------------------------------------ notebook 05
@pytest.fixture(scope="module")
def reptile_data():
    """Notebook 05's pool of 12 bowls and θ₀."""
    family = QuadraticFamily(centre=(0.0, 0.0), spread=1.5, curvatures=(2.0, 0.3), jitter=0.5,
                             max_angle=np.pi / 8)
    return family.sample(12, rng=4), np.array([-1.0, -4.0])


def test_reptile_panel_controls_are_reptiles_arguments(reptile_data):
    panel = reptile_bowls_panel(*reptile_data)
    assert list(panel.controls) == ["epsilon", "steps", "lr", "tasks", "mode"]
    assert {"epsilon", "steps", "lr"} <= _keywords(qr.reptile)
    assert panel.controls["epsilon"].description == "ε · epsilon"
    assert panel.controls["lr"].description == "α · lr"
    assert panel.controls["steps"].description == "k · steps"
    assert panel.controls["tasks"].max == 12 and panel.controls["tasks"].value == 6
    assert panel.values["mode"] == "batched"


@pytest.mark.parametrize("mode, batch", [("serial", 1), ("batched", 4)])
def test_reptile_panel_trains_draws_and_reports(reptile_data, mode, batch):
    panel = reptile_bowls_panel(*reptile_data, iterations=20)
    panel.controls["tasks"].value = 4
    panel.controls["mode"].value = mode
    result = panel.train()
    assert result is not None and result["run"].tasks.shape == (20, batch)
    assert len(result["bowls"]) == 4
    assert panel.last_message.startswith("Done") and "mean loss at the final θ" in panel.last_message
    assert plt.get_fignums() == []


@pytest.mark.parametrize("lr", [0.55, 0.6, 0.7])
def test_reptile_panel_draws_just_above_the_stable_rate(reptile_data, lr):
    # Above 2 / the steepest curvature the resting point does not exist for some k: the
    # curve has gaps there instead of the panel raising LinAlgError (it did, at these α).
    panel = reptile_bowls_panel(*reptile_data, iterations=20)
    panel.controls["lr"].value = lr
    panel.train()
    assert panel.last_message.startswith(("Done", "Diverged")), panel.last_message
    assert plt.get_fignums() == []


def test_reptile_panel_diverges_in_words(reptile_data):
    panel = reptile_bowls_panel(*reptile_data)
    panel.controls["mode"].value = "serial"
    panel.controls["lr"].value = 3.0
    assert panel.train() is None
    assert panel.last_message.startswith("Diverged") and "smaller inner" in panel.last_message
