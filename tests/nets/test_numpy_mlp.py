"""The numpy inner loop (chapter_utils.nets.numpy_mlp) equals the learners' TensorFlow one (notebook 07)."""
import numpy as np
import pytest

from chapter_utils import MAML, MetaSGD, Reptile
from chapter_utils.nets import numpy_mlp

QUERY = np.linspace(-5, 5, 37)


def _learner(cls):
    learner = cls().initialise(3)
    if cls is MetaSGD:   # a per-parameter α that is not uniform, so a mix-up of entries shows
        rng = np.random.default_rng(0)
        learner.set_parameters(learner.theta, [a * rng.uniform(0.3, 3.0, a.shape).astype(a.dtype)
                                               for a in learner.alpha])
    return learner


@pytest.mark.parametrize("cls", [MetaSGD, MAML, Reptile], ids=lambda c: c.__name__)
@pytest.mark.parametrize("k", [1, 7])
def test_every_step_matches_the_learners_own_predict_adapted(cls, k):
    learner = _learner(cls)
    rng = np.random.default_rng(k)
    x = rng.uniform(-5, 5, k)
    y = 2.5 * np.sin(x + 0.7)
    expected = learner.predict_adapted(x[None], y[None], QUERY, steps=list(range(21)))[:, 0]
    got = numpy_mlp.sgd_trajectory(learner.theta, learner.alpha, x, y, QUERY, 20, learner.activation)
    assert got.shape == (21, QUERY.size)
    np.testing.assert_allclose(got, expected, atol=2e-4, rtol=1e-4)
    assert np.abs(got[20] - got[0]).max() > 1e-3, "the steps changed nothing: the check would be empty"


def test_a_diverging_run_gives_non_finite_predictions_not_an_error():
    learner = MAML().initialise(0)
    x = np.linspace(-5, 5, 10)
    out = numpy_mlp.sgd_trajectory(learner.theta, [np.float32(50.0)] * len(learner.theta), x, 100 * x,
                                   QUERY, 30, "relu")
    assert np.all(np.isfinite(out[0])) and not np.all(np.isfinite(out[-1]))


@pytest.mark.parametrize("kwargs, match", [
    (dict(activation="sigmoid"), "activation"),
    (dict(x=np.zeros(3), y=np.zeros(4)), "same"),
    (dict(x=np.zeros(0), y=np.zeros(0)), "non-zero"),
    (dict(steps=-1), "steps"),
    (dict(alpha=[0.1]), "one entry per parameter"),
])
def test_bad_arguments_are_refused(kwargs, match):
    learner = MAML().initialise(0)
    call = dict(params=learner.theta, alpha=learner.alpha, x=np.zeros(3), y=np.zeros(3), query=QUERY,
                steps=2, activation="relu")
    call.update(kwargs)
    with pytest.raises(ValueError, match=match):
        numpy_mlp.sgd_trajectory(**call)
