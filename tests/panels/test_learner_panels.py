"""Sliders built from a learner's declarations, and the ready-made learner panels (notebooks 02, 03, 06).

The promise checked here: a slider's key is the learner's own hyperparameter name, so a value
keeps one name from the slider to the training loop (``Learner(**panel.values)``).
"""
import math

import matplotlib
import pytest

matplotlib.use("Agg")

import ipywidgets as widgets  # noqa: E402

from chapter_utils import MetaSGD, MetaSGDPolicyGradient, Reptile  # noqa: E402
from chapter_utils.panels.base import hyperparameter_slider, learner_sliders  # noqa: E402


def test_a_slider_is_built_from_the_learners_declaration():
    beta = hyperparameter_slider(MetaSGD, "meta_lr", 1e-4, 1.0)
    assert isinstance(beta, widgets.FloatLogSlider) and beta.description == "β · meta_lr"
    assert math.isclose(beta.value, MetaSGD.DEFAULTS["meta_lr"]) and not beta.continuous_update
    steps = hyperparameter_slider(Reptile, "inner_steps", 1, 20)
    assert isinstance(steps, widgets.IntSlider) and steps.value == Reptile.DEFAULTS["inner_steps"]
    assert hyperparameter_slider(Reptile, "iterations", 250, 20_000, value=3000, step=250).step == 250


@pytest.mark.parametrize("call, match", [
    (lambda: hyperparameter_slider(MetaSGD, "beta", 0.1, 1.0), "no hyperparameter 'beta'"),
    (lambda: hyperparameter_slider(MetaSGD, "meta_lr", 0.0, 1.0), "meta_lr must be"),  # outside the valid range
    (lambda: hyperparameter_slider(MetaSGD, "inner_steps", 0, 3), "inner_steps must be"),
    (lambda: hyperparameter_slider(MetaSGD, "activation", 0, 1), "not a number"),
    (lambda: hyperparameter_slider(MetaSGD, "meta_lr", 0.1, 1.0), "outside"),        # the default 0.005 is off it
])
def test_bad_sliders_are_refused(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_learner_sliders_key_each_slider_by_its_name():
    controls = learner_sliders(MetaSGD, meta_lr=(1e-4, 1.0), iterations=dict(low=250, high=2000, value=500, step=250))
    assert list(controls) == ["meta_lr", "iterations"] and controls["iterations"].value == 500
    learner = MetaSGD(**{name: c.value for name, c in controls.items()})    # the panel's train call
    assert learner.meta_lr == controls["meta_lr"].value and learner.iterations == 500


@pytest.fixture(scope="module")
def ready_made():
    from chapter_utils.panels.navigation import navigation_panel
    from chapter_utils.panels.sine import meta_sgd_panel, reptile_panel
    return {MetaSGD: meta_sgd_panel(), Reptile: reptile_panel(), MetaSGDPolicyGradient: navigation_panel()}


@pytest.mark.parametrize("learner", [MetaSGD, Reptile, MetaSGDPolicyGradient], ids=lambda c: c.__name__)
def test_every_ready_made_panel_names_its_sliders_after_the_learner(ready_made, learner):
    panel = ready_made[learner]
    assert set(panel.controls) <= set(learner.DEFAULTS), set(panel.controls) - set(learner.DEFAULTS)
    for name, control in panel.controls.items():
        assert control.description == learner.hyperparameter(name).label
    built = learner(**panel.values)                      # what the panel's train function builds
    assert all(getattr(built, name) == value for name, value in panel.values.items())


def test_navigation_panel_adapts_without_a_trace_per_step_count():
    """Notebook 03's panel draws the policy after 0 and after ``inner_steps`` steps on every click;
    one compiled inner step serves every step count (no trace, no retracing warning, per click)."""
    from chapter_utils.learners import policy_gradient as pg
    from chapter_utils.tasks.navigation import NavigationTask

    learner = MetaSGDPolicyGradient(iterations=2, meta_batch=2, trajectories=3,
                                    jit_compile=False).fit(seed=0)
    step = pg._adapt_step_fn(learner.activation, learner.trajectories, learner.discount)
    task = NavigationTask((0.2, -0.3))
    learner.adapt(task, steps=1)
    traced = step.experimental_get_tracing_count()
    unadapted = learner.adapt(task, steps=0).params
    assert all((a == b).all() for a, b in zip(unadapted, learner.theta)), "0 steps: θ itself"
    for steps in (1, 2, 3):
        learner.adapt(task, steps=steps)
    assert step.experimental_get_tracing_count() == traced, "a new step count traced anew"


def test_navigation_panel_keeps_the_ranges_the_latency_tool_timed():
    """The ranges issue 16 settled on (the module docstring says why); timings are not asserted."""
    from chapter_utils.panels.navigation import navigation_panel

    controls = navigation_panel().controls
    assert (controls["iterations"].min, controls["iterations"].value, controls["iterations"].max) == (10, 50, 100)
    assert (controls["trajectories"].min, controls["trajectories"].value, controls["trajectories"].max) == (2, 10, 20)
    assert (controls["inner_steps"].min, controls["inner_steps"].max) == (1, 3)
