"""Tests for chapter_utils.learners.meta_sgd and chapter_utils.learners.maml (notebook 02, §7.2).

Everything here runs without XLA (``jit_compile=False``) on small networks so
the file takes a few seconds; notebook 02 runs the compiled, full-size learners.
"""
import numpy as np
import pytest

from chapter_utils.evaluation import sine as sb
from chapter_utils.evaluation.gradcheck import finite_difference, relative_error
from chapter_utils.learners.maml import MAML
from chapter_utils.learners.meta_sgd import CHUNK, MetaSGD, tf
from chapter_utils.learners.meta_sgd import flatten as _flat
from chapter_utils.learners.meta_sgd import unflatten as _unflat
from chapter_utils.nets import mlp as fmlp
from chapter_utils.tasks import SineTasks

SMALL = dict(hidden=(8, 8), meta_batch=4, jit_compile=False)


@pytest.fixture(scope="module")
def trained() -> MetaSGD:
    return MetaSGD(**SMALL).fit(SineTasks(), iterations=20, seed=3)


def _tasks(n_tasks, k, seed):
    return SineTasks().sample_batch(n_tasks, k, seed)[:2]


# -- API ---------------------------------------------------------------------------------
def test_defaults_labels_and_hyperparameters():
    learner = MetaSGD()
    assert learner.hyperparameters == {**MetaSGD.DEFAULTS}
    assert learner.hidden == (40, 40) and learner.activation == "relu"
    assert MetaSGD(first_order=True).label == "Meta-SGD (first-order)"
    maml = MAML(inner_lr=0.02)
    assert isinstance(maml, MetaSGD) and maml.label == "MAML" and maml.inner_lr == 0.02
    assert MAML(first_order=True).label == "first-order MAML"
    assert "inner_lr=0.02" in repr(maml)


def test_fit_returns_self_records_losses_and_reports_progress():
    calls = []
    learner = MetaSGD(**SMALL, shots=5)
    assert learner.fit(SineTasks(), iterations=CHUNK + 5,
                       progress=lambda *a: calls.append(a)) is learner
    assert learner.losses.shape == (CHUNK + 5,) and np.all(np.isfinite(learner.losses))
    assert [c[:2] for c in calls] == [(CHUNK, CHUNK + 5), (CHUNK + 5, CHUNK + 5)]
    assert learner.seconds > 0


def test_progress_can_stop_training():
    def stop(*_):
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        MetaSGD(**SMALL).fit(SineTasks(), iterations=2 * CHUNK, progress=stop)


def test_same_seed_same_result():
    a = MetaSGD(**SMALL).fit(SineTasks(), iterations=7, seed=5)
    b = MetaSGD(**SMALL).fit(SineTasks(), iterations=7, seed=5)
    c = MetaSGD(**SMALL).fit(SineTasks(), iterations=7, seed=6)
    assert np.array_equal(_flat(a.theta), _flat(b.theta))
    assert not np.array_equal(_flat(a.theta), _flat(c.theta))


def test_unfitted_learner_refuses_to_adapt():
    with pytest.raises(RuntimeError, match="fit"):
        MetaSGD().adapt(np.zeros(3), np.zeros(3))


def test_adapt_leaves_meta_parameters_untouched(trained):
    theta, alpha = trained.theta, trained.alpha
    x, y = _tasks(3, 5, 0)
    predict = trained.adapt(x[0], y[0], steps=3)
    trained.predict_adapted(x, y, sb.GRID, steps=(0, 1, 4))
    assert all(np.array_equal(a, b) for a, b in zip(theta, trained.theta))
    assert all(np.array_equal(a, b) for a, b in zip(alpha, trained.alpha))
    assert predict(sb.GRID).shape == sb.GRID.shape


def test_adapt_and_predict_adapted_agree(trained):
    x, y = _tasks(3, 5, 1)
    batched = trained.predict_adapted(x, y, sb.GRID, steps=(2, 0, 1))
    assert batched.shape == (3, 3, sb.GRID.size)
    for j, steps in enumerate((2, 0, 1)):
        single = trained.adapt(x[1], y[1], steps=steps)(sb.GRID)
        np.testing.assert_allclose(single, batched[j, 1], rtol=1e-4, atol=1e-5)
    start = fmlp.forward(trained.theta, sb.GRID[:, None].astype(np.float32)).numpy()[:, 0]
    np.testing.assert_allclose(batched[1, 0], start, rtol=1e-5, atol=1e-6)
    assert not np.allclose(batched[2, 0], start), "one step changes the prediction"
    default = trained.adapt(x[1], y[1])(sb.GRID)          # steps=None: the training inner_steps
    np.testing.assert_allclose(default, batched[2, 1], rtol=1e-4, atol=1e-5)


def test_maml_keeps_alpha_fixed_and_learns_theta():
    learner = MAML(inner_lr=0.03, **SMALL)
    theta0, _ = learner.initial_parameters(0)
    learner.fit(SineTasks(), iterations=5, seed=0)
    assert all(float(a) == pytest.approx(0.03) for a in learner.alpha)
    assert not np.allclose(_flat(theta0), _flat(learner.theta))


def test_meta_sgd_learns_alpha():
    learner = MetaSGD(inner_lr=0.02, **SMALL).fit(SineTasks(), iterations=5)
    assert [a.shape for a in learner.alpha] == [t.shape for t in learner.theta]
    assert not np.allclose(_flat(learner.alpha), 0.02)


def test_flatten_round_trip():
    arrays = [np.arange(6.0).reshape(2, 3), np.array(7.0), np.ones(2)]
    vector = _flat(arrays)
    assert vector.shape == (9,)
    assert all(np.array_equal(a, b) for a, b in zip(_unflat(vector, arrays), arrays))
    with pytest.raises(ValueError):
        _unflat(vector[:-1], arrays)


# -- argument errors ------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [
    dict(hidden=(0, 4)), dict(hidden="40"), dict(hidden=40), dict(hidden=(4.5,)),
    dict(meta_batch=0), dict(inner_steps=0), dict(query=-1), dict(iterations=0),
    dict(inner_lr=0.0), dict(meta_lr=-1e-3), dict(meta_lr=float("nan")),
    dict(first_order="yes"), dict(dtype="int32"), dict(activation="sigmoid"),
    dict(learning_rate=0.1),
])
def test_bad_hyperparameters(kwargs):
    with pytest.raises(ValueError):
        MetaSGD(**kwargs)


@pytest.mark.parametrize("kwargs", [dict(iterations=0), dict(seed=-1),
                                    dict(tasks=object()), dict(progress="print")])
def test_bad_fit_arguments(kwargs):
    kwargs = {"tasks": SineTasks(), **kwargs}
    with pytest.raises(ValueError):
        MetaSGD(**SMALL).fit(**kwargs)


@pytest.mark.parametrize("x, y, steps, message", [
    ([], [], 1, "empty"), ([1.0, 2.0], [1.0], 1, "same length"),
    ([1.0], [1.0], -1, "steps"), ([[1.0]], [[1.0]], 1, "1-D"), ([np.nan], [0.0], 1, "finite"),
])
def test_bad_adapt_arguments(trained, x, y, steps, message):
    with pytest.raises(ValueError, match=message):
        trained.adapt(x, y, steps=steps)


def test_bad_predict_adapted_arguments(trained):
    x, y = _tasks(2, 3, 0)
    for args in [(x, y[:1], sb.GRID, (1,)), (x[:, :0], y[:, :0], sb.GRID, (1,)),
                 (x, y, sb.GRID, (-1,)), (x, y, sb.GRID, ()), (x, y, sb.GRID[:, None], (1,))]:
        with pytest.raises(ValueError):
            trained.predict_adapted(*args)
    with pytest.raises(ValueError, match="1-D"):
        trained.adapt(x[0], y[0])(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="finite"):       # a NaN query point is rejected, as a NaN support point is
        trained.adapt(x[0], y[0])(np.array([0.0, np.nan]))


# -- gradients ------------------------------------------------------------------------------
def _gradient_problem(first_order, steps=2):
    learner = MetaSGD(hidden=(4, 3), dtype="float64", inner_steps=steps, first_order=first_order)
    theta, alpha = learner.initial_parameters(0)
    gen = np.random.default_rng(1)
    alpha = [a * gen.uniform(1, 20, a.shape) for a in alpha]      # different rates, up to 0.2
    x, y = _tasks(3, 9, 2)
    return learner, theta, alpha, (x[:, :4], y[:, :4], x[:, 4:], y[:, 4:])


def _finite_differences(learner, theta, alpha, data):
    def loss_theta(v):
        return learner.meta_gradients(*data, _unflat(v, theta), alpha)[0]

    def loss_alpha(v):
        return learner.meta_gradients(*data, theta, _unflat(v, alpha))[0]
    return (finite_difference(loss_theta, _flat(theta)),
            finite_difference(loss_alpha, _flat(alpha)))


def test_second_order_meta_gradient_matches_finite_differences():
    learner, theta, alpha, data = _gradient_problem(first_order=False)
    _, d_theta, d_alpha = learner.meta_gradients(*data, theta, alpha)
    fd_theta, fd_alpha = _finite_differences(learner, theta, alpha, data)
    assert relative_error(_flat(d_theta), fd_theta) < 1e-6
    assert relative_error(_flat(d_alpha), fd_alpha) < 1e-6


def test_first_order_meta_gradient_differs_from_the_true_one():
    exact_learner, theta, alpha, data = _gradient_problem(first_order=False)
    first_learner = _gradient_problem(first_order=True)[0]
    loss_exact, d_exact, _ = exact_learner.meta_gradients(*data, theta, alpha)
    loss_first, d_first, _ = first_learner.meta_gradients(*data, theta, alpha)
    assert loss_first == pytest.approx(loss_exact, rel=1e-12), "same loss, different gradient"
    assert relative_error(_flat(d_first), _flat(d_exact)) > 1e-2


def test_alpha_gradient_of_one_step_is_minus_query_gradient_times_support_gradient():
    # θ' = θ − α ∘ g  ⇒  ∂L/∂α = −Σ_tasks ∇θ'L ∘ g (exact even when first-order: g is a constant)
    learner, theta, alpha, (xs, ys, xq, yq) = _gradient_problem(first_order=True, steps=1)
    _, _, d_alpha = learner.meta_gradients(xs, ys, xq, yq, theta, alpha)
    expected = [np.zeros_like(a) for a in alpha]
    for i in range(xs.shape[0]):
        t = [tf.constant(p) for p in theta]
        with tf.GradientTape() as tape:
            tape.watch(t)
            support = fmlp.mse(t, tf.constant(xs[i][:, None]), tf.constant(ys[i][:, None]))
        g = tape.gradient(support, t)
        adapted = [p - a * gi for p, a, gi in zip(t, alpha, g)]
        with tf.GradientTape() as tape:
            tape.watch(adapted)
            query = fmlp.mse(adapted, tf.constant(xq[i][:, None]), tf.constant(yq[i][:, None]))
        v = tape.gradient(query, adapted)
        for e, vi, gi in zip(expected, v, g):
            e -= (vi * gi).numpy() / xs.shape[0]
    assert relative_error(_flat(d_alpha), _flat(expected)) < 1e-10


# -- learning -------------------------------------------------------------------------------
def test_short_fit_reduces_held_out_loss():
    data = sb.held_out(100, 10)
    scores = [sb.mse_by_steps(MetaSGD(**{**SMALL, "hidden": (20, 20), "meta_batch": 10})
                              .fit(SineTasks(), iterations=n), data, (1,))[1].mean()
              for n in (1, 500)]
    assert scores[1] < 0.5 * scores[0] and scores[1] < 0.5 * sb.zero_mse(data).mean()
