"""The learner base: hyperparameter declarations, one fit vocabulary, Adam, schedules, predict_by_steps."""
import numpy as np
import pytest

from chapter_utils.learners.base import predict_by_steps


def test_predict_by_steps_visits_counts_in_order_once():
    calls = []

    def advance(state, done, n):
        calls.append((done, n))
        return state + n

    out = predict_by_steps(0, advance, lambda state: np.full((2, 3), state), steps=[32, 0, 1, 32])
    assert calls == [(0, 1), (1, 31)]                       # 32 steps in all, not 65
    assert out.shape == (4, 2, 3)
    np.testing.assert_array_equal(out[:, 0, 0], [32, 0, 1, 32])
    with pytest.raises(ValueError):
        predict_by_steps(0, advance, lambda s: np.zeros((1, 1)), steps=[])


# -- one shape for every learner --------------------------------------------------------------
import math  # noqa: E402

from chapter_utils import MAML, MAMLPolicyGradient, MetaSGD, MetaSGDPolicyGradient, Reptile  # noqa: E402
from chapter_utils.learners.base import (  # noqa: E402
    Hyperparameter,
    MetaLearner,
    NotFittedError,
    adam_slots,
    adam_update,
    revise,
    schedule,
    tf,
)
from chapter_utils.learners.policy_gradient import PretrainedPolicyGradient  # noqa: E402

LEARNERS = (MetaSGD, MAML, Reptile, MetaSGDPolicyGradient, MAMLPolicyGradient, PretrainedPolicyGradient)


@pytest.mark.parametrize("cls", LEARNERS, ids=lambda c: c.__name__)
def test_every_learner_declares_its_hyperparameters_once(cls):
    assert issubclass(cls, MetaLearner)
    names = [h.name for h in cls.HYPERPARAMETERS]
    assert len(names) == len(set(names)) and {"inner_lr", "inner_steps", "iterations"} <= set(names)
    assert dict(cls.DEFAULTS) == {h.name: h.default for h in cls.HYPERPARAMETERS}
    assert all(h.doc for h in cls.HYPERPARAMETERS)
    learner = cls()
    assert dict(learner.hyperparameters) == dict(cls.DEFAULTS) and repr(learner) == f"{cls.__name__}()"
    assert learner.inner_lr == cls.DEFAULTS["inner_lr"]                  # read as attributes
    assert "inner_lr" in cls.describe()
    with pytest.raises(ValueError, match="unknown hyperparameter"):
        cls(learning_rate=0.1)
    with pytest.raises(ValueError, match="inner_lr must be a finite number > 0"):
        cls(inner_lr=-1.0)
    with pytest.raises(TypeError):                                         # read-only once checked
        learner.hyperparameters["inner_lr"] = 5.0


@pytest.mark.parametrize("cls", LEARNERS, ids=lambda c: c.__name__)
def test_every_learner_has_one_fitted_state_vocabulary_and_one_not_fitted_error(cls):
    learner = cls(hidden=(4,))
    assert not learner.is_fitted
    for attribute in ("theta", "alpha"):
        with pytest.raises(NotFittedError, match="call fit"):
            getattr(learner, attribute)
    assert learner.initialise(seed=3) is learner and learner.is_fitted
    assert len(learner.theta) == len(learner.alpha) == len(learner.initial_theta)
    for a, b in zip(learner.theta, learner.initial_theta):
        np.testing.assert_array_equal(a, b)
    assert learner.losses.shape == (0,) and math.isnan(learner.seconds)
    again = cls(hidden=(4,)).initialise(seed=3)                              # seeded: the same start
    for a, b in zip(learner.theta, again.theta):
        np.testing.assert_array_equal(a, b)


def test_hyperparameter_checks_say_what_is_allowed():
    rate = Hyperparameter("meta_lr", 0.1, "a rate", low=0.0, symbol="β", log_scale=True)
    assert rate.label == "β · meta_lr" and rate.check(1) == 1.0 and isinstance(rate.check(1), float)
    for bad in (0.0, -1.0, float("nan"), True, "0.1"):
        with pytest.raises(ValueError, match="meta_lr must be a finite number > 0"):
            rate.check(bad)
    steps = Hyperparameter("inner_steps", 1, "steps", kind="int", low=1, high=3)
    assert steps.check(3) == 3
    for bad in (0, 4, 1.0, True):
        with pytest.raises(ValueError, match=r"inner_steps must be an integer in \[1, 3\]"):
            steps.check(bad)
    widths = Hyperparameter("hidden", (4,), "widths", kind="widths")
    assert widths.check([3, 2]) == (3, 2)
    for bad in ("64", (0,), (1.5,)):
        with pytest.raises(ValueError, match="hidden"):
            widths.check(bad)
    with pytest.raises(ValueError, match="unknown kind"):
        Hyperparameter("x", 1, "x", kind="complex")
    with pytest.raises(ValueError):                                        # a default must pass its own check
        Hyperparameter("x", -1, "x", kind="int", low=0)
    revised = revise((rate, steps), "meta_lr", default=0.5)
    assert revised[0].default == 0.5 and revised[1] is steps and rate.default == 0.1
    with pytest.raises(ValueError, match="no hyperparameter"):
        revise((rate,), "epsilon", default=1.0)


def test_maml_is_meta_sgd_with_alpha_fixed_and_its_own_doc_for_it():
    assert MAML.DEFAULTS == MetaSGD.DEFAULTS
    assert MAML.hyperparameter("inner_lr").doc != MetaSGD.hyperparameter("inner_lr").doc
    assert PretrainedPolicyGradient.DEFAULTS["inner_steps"] == 0
    with pytest.raises(ValueError, match="no hyperparameter 'beta'"):
        MetaSGD.hyperparameter("beta")


def test_schedules():
    done = np.arange(5)
    np.testing.assert_allclose(schedule("constant", done, 4), 1.0)
    np.testing.assert_allclose(schedule("linear", done, 4), [1, 0.75, 0.5, 0.25, 0])
    np.testing.assert_allclose(schedule("cosine", done, 4), [1, (1 + np.cos(np.pi / 4)) / 2, 0.5,
                                                             (1 + np.cos(3 * np.pi / 4)) / 2, 0])
    with pytest.raises(ValueError, match="schedule"):
        schedule("step", 1, 4)


def test_adam_update_is_adam():
    """Three steps of adam_update against Adam written out in numpy (Kingma & Ba, Algorithm 1)."""
    gen = np.random.default_rng(0)
    start = [gen.normal(size=(3, 2)), gen.normal(size=(2,))]
    grads = [[gen.normal(size=p.shape) for p in start] for _ in range(3)]
    rates = [0.01, 0.003]                                                  # one step size per tensor
    variables = [tf.Variable(p) for p in start]
    m, v, count = adam_slots(variables)
    for g in grads:
        adam_update(variables, [tf.constant(x) for x in g], m, v, count, [tf.constant(r, tf.float64) for r in rates])
    for j, p in enumerate(start):
        mj, vj, pj = np.zeros_like(p), np.zeros_like(p), p.copy()
        for t, g in enumerate(grads, start=1):
            mj = 0.9 * mj + 0.1 * g[j]
            vj = 0.999 * vj + 0.001 * g[j] ** 2
            pj = pj - rates[j] * (mj / (1 - 0.9 ** t)) / (np.sqrt(vj / (1 - 0.999 ** t)) + 1e-8)
        np.testing.assert_allclose(variables[j].numpy(), pj, rtol=1e-6, atol=1e-9)
    assert float(count.numpy()) == 3.0


# -- set_parameters: loading shipped parameters (notebook 07's "pose the task") -------------------
def test_set_parameters_round_trips_and_refuses_wrong_shapes():
    from chapter_utils import MetaSGD, Reptile

    source = MetaSGD().initialise(5)
    copy = MetaSGD().set_parameters(source.theta, source.alpha)
    x = np.linspace(-4, 4, 6)[None]
    np.testing.assert_array_equal(copy.predict_adapted(x, np.sin(x), x[0], steps=(0, 2)),
                                  source.predict_adapted(x, np.sin(x), x[0], steps=(0, 2)))
    with pytest.raises(ValueError, match="needs 6 arrays"):
        MetaSGD().set_parameters(source.theta[:-2], source.alpha)
    with pytest.raises(ValueError, match=r"theta\[0\] must have shape"):
        Reptile().set_parameters(source.theta, source.alpha)          # 40-40 into a 64-64 learner
    with pytest.raises(ValueError, match="non-finite"):
        MetaSGD().set_parameters([t * np.nan for t in source.theta], source.alpha)
