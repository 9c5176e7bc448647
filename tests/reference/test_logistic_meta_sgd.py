"""Tests for chapter_utils.reference.logistic_meta_sgd (notebook 04, section 7.4)."""
import numpy as np
import pytest

from chapter_utils.evaluation.gradcheck import finite_difference as _finite_difference
from chapter_utils.evaluation.gradcheck import relative_error as _rel
from chapter_utils.reference import logistic_meta_sgd as msgd
from chapter_utils.tasks import LogisticTasks, chapter_batch


def _problem(seed, d=7, k=6, q=9):
    gen = np.random.default_rng(seed)
    theta = gen.normal(size=(d, 1))
    alpha = gen.uniform(-0.5, 1.5, size=(d, 1))
    x_tr, x_te = gen.normal(size=(k, d)), gen.normal(size=(q, d))
    y_tr = gen.integers(0, 2, size=(k, 1)).astype(float)
    y_te = gen.integers(0, 2, size=(q, 1)).astype(float)
    return theta, alpha, x_tr, y_tr, x_te, y_te


def _objective(theta, alpha, x_tr, y_tr, x_te, y_te, steps=1):
    return float(msgd.bce_loss(msgd.adapt(theta, alpha, x_tr, y_tr, steps), x_te, y_te))


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("steps", [1, 2, 3])
def test_meta_gradients_match_finite_differences(seed, steps):
    theta, alpha, *data = _problem(seed)
    g_theta, g_alpha = msgd.meta_gradients(theta, alpha, *data, steps=steps)
    fd_theta = _finite_difference(lambda t: _objective(t, alpha, *data, steps=steps), theta)
    fd_alpha = _finite_difference(lambda a: _objective(theta, a, *data, steps=steps), alpha)
    assert g_theta.shape == g_alpha.shape == theta.shape
    assert g_theta.dtype == np.float64
    assert _rel(g_theta, fd_theta) < 1e-6
    assert _rel(g_alpha, fd_alpha) < 1e-6


@pytest.mark.parametrize("seed", range(3))
def test_one_step_closed_form(seed):
    theta, alpha, x_tr, y_tr, x_te, y_te = _problem(seed)
    g = msgd.gradient(theta, x_tr, y_tr)
    v = msgd.gradient(theta - alpha * g, x_te, y_te)
    p = msgd.sigmoid(x_tr @ theta)
    hessian = x_tr.T @ (p * (1 - p) * x_tr) / len(x_tr)
    g_theta, g_alpha = msgd.meta_gradients(theta, alpha, x_tr, y_tr, x_te, y_te)
    np.testing.assert_allclose(g_alpha, -v * g, rtol=1e-12)
    np.testing.assert_allclose(g_theta, v - hessian @ (alpha * v), rtol=1e-10)
    # the other order of H and diag(α) is wrong (the Jacobian must be transposed)
    assert _rel(v - alpha * (hessian @ v), g_theta) > 1e-3


def test_first_order_drops_only_the_hessian_term_of_theta():
    theta, alpha, *data = _problem(11)
    exact = msgd.meta_gradients(theta, alpha, *data)
    first = msgd.meta_gradients(theta, alpha, *data, first_order=True)
    np.testing.assert_allclose(first[1], exact[1], rtol=1e-12)
    x_tr, y_tr, x_te, y_te = data
    v = msgd.gradient(theta - alpha * msgd.gradient(theta, x_tr, y_tr), x_te, y_te)
    np.testing.assert_allclose(first[0], v, rtol=1e-12)
    assert _rel(first[0], exact[0]) > 1e-3


def test_zero_alpha_reduces_to_the_plain_gradient():
    theta, alpha, x_tr, y_tr, x_te, y_te = _problem(12)
    g_theta, _ = msgd.meta_gradients(theta, np.zeros_like(alpha), x_tr, y_tr, x_te, y_te)
    np.testing.assert_allclose(g_theta, msgd.gradient(theta, x_te, y_te), rtol=1e-12)


def test_batched_equals_one_task_at_a_time():
    gen = np.random.default_rng(13)
    theta, alpha = gen.normal(size=(50, 1)), gen.uniform(0, 1, size=(50, 1))
    batch = LogisticTasks().sample_batch(4, 10, 12, gen)
    g_theta, g_alpha, loss = msgd.batched_meta_gradients(theta, alpha, *batch, steps=2)
    for t in range(4):
        one = msgd.meta_gradients(theta, alpha, *(b[t] for b in batch), steps=2)
        np.testing.assert_allclose(g_theta[t], one[0], rtol=1e-12)
        np.testing.assert_allclose(g_alpha[t], one[1], rtol=1e-12)
    assert loss.shape == (4,)


def test_loss_is_stable_where_the_chapters_log_overflows():
    x = np.ones((1, 1))
    for logit, label in [(800.0, 0.0), (-800.0, 1.0)]:
        loss = msgd.bce_loss(np.array([[logit]]), x, np.array([[label]]))
        assert np.isfinite(loss) and np.isclose(loss, 800.0)


@pytest.mark.parametrize("which, shape, message", [
    (0, (7, 2), "theta"), (1, (3, 1), "alpha"), (2, (6, 5), "features"),
    (3, (5, 1), "y_train"), (4, (9, 8), "features"), (5, (9, 2), "y_test"),
    (2, (6,), "dimensions"),
])
def test_shape_errors_name_the_shapes(which, shape, message):
    args = list(_problem(14))
    args[which] = np.zeros(shape)
    with pytest.raises(ValueError, match=message):
        msgd.meta_gradients(*args)


def test_empty_support_set_and_bad_steps():
    theta, alpha, x_tr, y_tr, x_te, y_te = _problem(15)
    with pytest.raises(ValueError, match="no points"):
        msgd.meta_gradients(theta, alpha, x_tr[:0], y_tr[:0], x_te, y_te)
    with pytest.raises(ValueError, match="steps"):
        msgd.meta_gradients(theta, alpha, x_tr, y_tr, x_te, y_te, steps=0)
    with pytest.raises(ValueError, match="steps"):
        msgd.adapt(theta, alpha, x_tr, y_tr, steps=-1)


def test_meta_sgd_learns_the_family_structure_and_beats_baselines():
    family = LogisticTasks()
    held_out = family.sample_batch(500, 10, 50, rng=16)
    comparison = msgd.compare_methods(family.sample_batch, family.dim, held_out,
                                      iterations=300, tasks_per_batch=16, shots=10,
                                      beta=0.5, alpha_init=0.1, seed=0)
    acc = {n: e.accuracy.mean() for n, e in comparison.evaluations.items()}
    assert acc["Meta-SGD"] > acc["learned scalar α"] + 0.03
    assert acc["Meta-SGD"] > acc["no meta-learning"] + 0.1
    assert acc["Meta-SGD"] > acc["chapter's code"] + 0.1
    alpha = comparison.trained["Meta-SGD"].alpha.ravel()
    assert alpha[:5].min() > 5 * np.abs(alpha[5:]).max()


def test_maml_keeps_alpha_fixed_and_learns_theta():
    family = LogisticTasks()
    result = msgd.meta_train(family.sample_batch, family.dim, method="maml", iterations=50,
                             alpha_init=0.3, seed=0)
    assert np.all(result.alpha == 0.3)
    assert not np.allclose(result.theta, result.theta_init)
    learned = msgd.meta_train(family.sample_batch, family.dim, method="scalar", iterations=50,
                              alpha_init=0.3, seed=0)
    assert not np.allclose(learned.alpha, 0.3)


def test_nothing_beats_ln2_on_the_chapters_tasks():
    result = msgd.meta_train(chapter_batch, 50, iterations=300, seed=1)
    ev = msgd.evaluate(result.theta, result.alpha, chapter_batch(1000, 10, 50, rng=17))
    assert ev.loss.mean() > np.log(2) - 0.005


def test_chapter_rule_moves_alpha_with_thetas_gradient():
    calls = []
    result = msgd.meta_train(chapter_batch, 50, method="chapter", iterations=5, beta=0.1,
                             seed=2, progress=lambda i, n, loss: calls.append((i, n)))
    start_theta, start_alpha = msgd.initial_parameters(50, 0.1, np.random.default_rng(2),
                                                       "chapter")
    np.testing.assert_allclose(result.theta - start_theta, result.alpha - start_alpha)
    assert calls[-1] == (5, 5) and len(calls) == 5


def test_initial_alpha_is_small_and_positive():
    _, alpha = msgd.initial_parameters(50, 0.1, np.random.default_rng(0))
    assert alpha.min() >= 0.05 and alpha.max() <= 0.15
    with pytest.raises(ValueError):
        msgd.initial_parameters(50, 0.0, np.random.default_rng(0))


@pytest.mark.parametrize("kwargs", [dict(iterations=0), dict(shots=0), dict(beta=0.0),
                                    dict(method="reptile"), dict(inner_steps=0),
                                    dict(tasks_per_batch=-2)])
def test_meta_train_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        msgd.meta_train(chapter_batch, 50, **kwargs)


def test_comparison_baseline_starts_where_the_meta_learners_start():
    family = LogisticTasks()
    held_out = family.sample_batch(50, 10, 20, rng=18)
    comparison = msgd.compare_methods(family.sample_batch, family.dim, held_out,
                                      methods=("meta-sgd", "chapter"), iterations=5, seed=3)
    start, _ = msgd.initial_parameters(family.dim, 0.1, np.random.default_rng(3))
    np.testing.assert_array_equal(comparison.trained["Meta-SGD"].theta_init, start)
    lr = comparison.plain_lr
    expected = msgd.evaluate(start, lr, held_out).loss
    np.testing.assert_allclose(comparison.evaluations["no meta-learning"].loss, expected)


@pytest.mark.parametrize("methods", [(), ("reptile",)])
def test_compare_methods_rejects_unknown_methods(methods):
    with pytest.raises(ValueError, match="methods"):
        msgd.compare_methods(chapter_batch, 50, chapter_batch(5, 10, 10, rng=0), methods=methods)


def test_pick_fixed_alpha_uses_training_losses_only():
    family = LogisticTasks()
    choice = msgd.pick_fixed_alpha(family.sample_batch, family.dim, (0.05, 0.5, 50.0),
                                   iterations=60, seed=0, alpha_init=123.0)
    assert set(choice.scores) == {0.05, 0.5, 50.0} and choice.last == 12
    for a, run in choice.runs.items():
        assert run.method == "maml" and np.all(run.alpha == a)
        expected = run.query_loss[-12:].mean()
        assert choice.scores[a] == (expected if np.isfinite(expected) else np.inf)
    assert choice.alpha == min(choice.scores, key=choice.scores.get)
    assert choice.scores[50.0] > choice.scores[choice.alpha]   # a huge step is not chosen
    with pytest.raises(ValueError, match="positive"):
        msgd.pick_fixed_alpha(family.sample_batch, family.dim, (0.1, -1.0), iterations=2)


def test_compare_with_tuned_maml_keeps_order_and_other_methods():
    family = LogisticTasks()
    held_out = family.sample_batch(200, 10, 20, rng=18)
    settings = dict(iterations=40, tasks_per_batch=8, beta=0.5, alpha_init=0.1, seed=0)
    tuned = msgd.compare_with_tuned_maml(family.sample_batch, family.dim, held_out,
                                         grid=(0.1, 0.5), **settings)
    assert list(tuned.evaluations) == ["Meta-SGD", "learned scalar α", "MAML (fixed α)",
                                       "chapter's code", "no meta-learning"]
    assert tuned.maml_alpha in (0.1, 0.5) and set(tuned.maml_scores) == {0.1, 0.5}
    maml = msgd.meta_train(family.sample_batch, family.dim, method="maml",
                           **{**settings, "alpha_init": tuned.maml_alpha})
    np.testing.assert_array_equal(tuned.trained["MAML (fixed α)"].theta, maml.theta)
    plain = msgd.compare_methods(family.sample_batch, family.dim, held_out, **settings)
    np.testing.assert_array_equal(tuned.trained["Meta-SGD"].alpha, plain.trained["Meta-SGD"].alpha)
    assert tuned.plain_lr == plain.plain_lr and plain.maml_alpha is None


def test_pick_fixed_alpha_on_validation_tasks_scores_held_out_loss():
    family = LogisticTasks()
    validation = family.sample_batch(50, 10, 20, rng=7)
    choice = msgd.pick_fixed_alpha(family.sample_batch, family.dim, (0.05, 0.5, 50.0),
                                   validation=validation, iterations=30, seed=0)
    assert choice.scored_on == "validation"
    for a, run in choice.runs.items():
        with np.errstate(all="ignore"):
            expected = msgd.evaluate(run.theta, run.alpha, validation).loss.mean()
        assert choice.scores[a] == (expected if np.isfinite(expected) else np.inf)
        # not the training-loss score: the two protocols really differ
        assert choice.scores[a] != run.query_loss[-choice.last:].mean()
    assert choice.alpha == min(choice.scores, key=choice.scores.get)
    assert choice.scores[50.0] > choice.scores[choice.alpha]
    training = msgd.pick_fixed_alpha(family.sample_batch, family.dim, (0.5,), iterations=30, seed=0)
    assert training.scored_on == "training"


def test_compare_with_tuned_maml_one_value_grid_trains_maml_once():
    family = LogisticTasks()
    held_out = family.sample_batch(100, 10, 20, rng=18)
    settings = dict(iterations=20, tasks_per_batch=4, beta=0.5, alpha_init=0.1, seed=0)
    calls = []
    fixed = msgd.compare_with_tuned_maml(family.sample_batch, family.dim, held_out, grid=(0.7,),
                                         progress=lambda *a: calls.append(a[-1]), **settings)
    assert fixed.maml_alpha == 0.7 and list(fixed.maml_scores) == [0.7]
    assert np.all(fixed.trained["MAML (fixed α)"].alpha == 0.7)
    assert calls.count("MAML (fixed α)") == 1          # one MAML run, not a grid of them
    validation = family.sample_batch(50, 10, 20, rng=7)
    tuned = msgd.compare_with_tuned_maml(family.sample_batch, family.dim, held_out,
                                         grid=(0.1, 0.7), validation=validation, **settings)
    runs = {a: msgd.meta_train(family.sample_batch, family.dim, method="maml",
                               **{**settings, "alpha_init": a}) for a in (0.1, 0.7)}
    losses = {a: msgd.evaluate(r.theta, r.alpha, validation).loss.mean() for a, r in runs.items()}
    assert tuned.maml_alpha == min(losses, key=losses.get)
    assert tuned.maml_scores == pytest.approx(losses)
