"""The quadratic bowls (chapter_utils.tasks.quadratic) and the exact references on them
(chapter_utils.reference.quadratics, .quadratic_reptile; notebooks 01 and 05)."""
import numpy as np
import pytest

from chapter_utils.evaluation.gradcheck import finite_difference
from chapter_utils.evaluation.gradcheck import relative_error as rel
from chapter_utils.reference import quadratic_reptile as qr
from chapter_utils.reference import quadratics as q
from chapter_utils.tasks.quadratic import QuadraticFamily, Quadratics, loss_grid, minibatches
from chapter_utils.tasks.quadratic import rotation as q_rotation

ROTATED = QuadraticFamily(centre=(1.0, -0.5), spread=1.0, curvatures=(2.0, 0.5), jitter=0.3,
                            max_angle=np.pi / 2)


def _point(seed=0):
    return np.random.default_rng(seed).normal(size=2)


# ----------------------------------------------------------------------------- bowls
@pytest.mark.parametrize("seed", range(3))
def test_gradient_and_hessian_match_finite_differences(seed):
    tasks = ROTATED.sample(4, seed)
    theta = _point(seed)
    for i in range(len(tasks)):
        bowl = tasks[i]
        fd_grad = finite_difference(lambda p, bowl=bowl: float(bowl.loss(p)), theta)
        assert rel(bowl.gradient(theta), fd_grad) < 1e-7
        fd_hess = np.stack([finite_difference(lambda p, j=j, bowl=bowl: float(bowl.gradient(p)[j]), theta)
                            for j in range(2)])
        np.testing.assert_allclose(bowl.hessian(theta), fd_hess, atol=1e-7)
        assert bowl.loss(bowl.centres) == 0.0


def test_bowls_broadcast_over_tasks_and_points():
    tasks = ROTATED.sample(5, 1)
    assert tasks.loss(_point()).shape == (5,)
    assert tasks.gradient(np.zeros((5, 2))).shape == (5, 2)
    assert tasks.loss(np.zeros((7, 1, 2))).shape == (7, 5)
    assert tasks.hessian(np.zeros(2)).shape == (5, 2, 2)
    assert np.all(np.linalg.eigvalsh(tasks.hessians) > 0)
    x, y, z = loss_grid(tasks, (-1, 1), (-2, 2), points=11)
    assert x.shape == y.shape == (11, 11) and z.shape == (11, 11, 5)
    assert z[3, 4, 2] == pytest.approx(float(tasks[2].loss(np.array([x[3, 4], y[3, 4]]))))


def test_axis_aligned_family_and_minibatches():
    family = QuadraticFamily(centre=(2.0, 3.0), spread=0.0, curvatures=(4.0, 1.0))
    tasks = family.sample(3, 0)
    np.testing.assert_allclose(tasks.centres, [[2.0, 3.0]] * 3)
    np.testing.assert_allclose(tasks.hessians, [np.diag([4.0, 1.0])] * 3)
    batches = minibatches(tasks, 6, rng=0)
    assert batches.batch_shape == (3, 6)
    assert np.all(np.linalg.eigvalsh(batches.hessians) > 0)
    assert not np.allclose(batches.centres[:, 0], batches.centres[:, 1])
    exact = minibatches(tasks, 2, rng=0, centre_noise=0.0, curvature_noise=0.0)
    np.testing.assert_allclose(exact.hessians[:, 1], tasks.hessians)


# ------------------------------------------------------------- inner steps and MAML
def test_sgd_path_is_plain_gradient_descent():
    bowl = ROTATED.sample(1, 2)[0]
    theta = _point(2)
    path = q.sgd_path(bowl, theta, 0.1, steps=3)
    assert path.shape == (4, 2)
    expected = theta
    for t in range(3):
        np.testing.assert_allclose(path[t], expected)
        expected = expected - 0.1 * bowl.gradient(expected)
    np.testing.assert_allclose(path[-1], expected)
    # Meta-SGD's α = 1 / curvature lands on an axis-aligned bowl's minimum in one step.
    aligned = QuadraticFamily(curvatures=(4.0, 0.25)).sample(1, 0)[0]
    landed = q.sgd_path(aligned, theta, np.array([0.25, 4.0]), steps=1)[-1]
    np.testing.assert_allclose(landed, aligned.centres, atol=1e-12)


def _meta_objective(train, test, theta, alpha, steps):
    return float(test.loss(q.sgd_path(train, theta, alpha, steps)[-1]).mean())


@pytest.mark.parametrize("steps", [1, 2, 4])
@pytest.mark.parametrize("alpha", [np.array([0.3, -0.4]), np.array(0.35)])
def test_meta_gradients_match_finite_differences(steps, alpha):
    tasks = ROTATED.sample(3, steps)
    theta = _point(steps)
    loss, g_theta, g_alpha = q.meta_gradients(tasks, theta, alpha, steps)
    assert loss.shape == (3,) and g_theta.shape == (3, 2)
    assert g_alpha.shape == (3,) + alpha.shape
    fd_theta = finite_difference(lambda p: _meta_objective(tasks, tasks, p, alpha, steps), theta)
    fd_alpha = finite_difference(lambda a: _meta_objective(tasks, tasks, theta, a, steps), alpha)
    assert rel(g_theta.mean(0), fd_theta) < 1e-7
    assert rel(np.atleast_1d(g_alpha.mean(0)), np.atleast_1d(fd_alpha)) < 1e-7
    _, first, _ = q.meta_gradients(tasks, theta, alpha, steps, first_order=True)
    assert rel(first.mean(0), fd_theta) > 1e-3, "first-order drops a real term"


def test_meta_gradients_with_a_new_minibatch_each_step():
    batches = minibatches(ROTATED.sample(2, 5), 4, rng=5)            # (2 tasks, 4 draws)
    train = Quadratics(np.moveaxis(batches.centres[:, :3], 1, 0),    # steps on draws 0..2
                         np.moveaxis(batches.hessians[:, :3], 1, 0))
    test = batches[:, 3]
    theta, alpha = _point(5), np.array([0.2, 0.5])
    _, g_theta, g_alpha = q.meta_gradients(train, theta, alpha, test=test)
    fd_theta = finite_difference(lambda p: _meta_objective(train, test, p, alpha, None), theta)
    fd_alpha = finite_difference(lambda a: _meta_objective(train, test, theta, a, None), alpha)
    assert rel(g_theta.mean(0), fd_theta) < 1e-7 and rel(g_alpha.mean(0), fd_alpha) < 1e-7


def test_meta_train_learns_per_coordinate_rates_and_reports_progress():
    family = QuadraticFamily(centre=(1.0, 1.0), curvatures=(2.0, 0.5))   # no jitter
    seen = []
    run = q.meta_train(family, np.zeros(2), np.array([0.1, 0.1]), beta=0.05, iterations=600,
                       progress=lambda i, n, loss: seen.append((i, n, loss)))
    np.testing.assert_allclose(run.alpha, [0.5, 2.0], rtol=0.05)       # α = 1 / curvature
    assert run.thetas.shape == (601, 2) and run.losses.shape == (600,)
    assert [s[0] for s in seen] == list(range(1, 601)) and seen[-1][1] == 600
    assert run.losses[-50:].mean() < 0.05 * run.losses[:10].mean()
    scalar = q.meta_train(family, np.zeros(2), np.array(0.1), beta=0.05, iterations=600)
    assert scalar.alphas.shape == (601,)
    assert scalar.losses[-50:].mean() > 5 * run.losses[-50:].mean()
    fixed = q.meta_train(family, np.zeros(2), np.array(0.1), beta=0.05, iterations=5,
                         learn_alpha=False)
    assert np.all(fixed.alphas == 0.1)


def test_common_angle_turns_every_bowl_by_the_same_angle():
    turned = QuadraticFamily(curvatures=(2.0, 0.5), angle=np.pi / 6).sample(3, 0)
    r = q_rotation(np.pi / 6)
    np.testing.assert_allclose(turned.hessians, np.broadcast_to(r @ np.diag([2.0, 0.5]) @ r.T,
                                                                (3, 2, 2)), atol=1e-12)
    aligned = QuadraticFamily(curvatures=(2.0, 0.5)).sample(3, 0)      # same draws otherwise
    np.testing.assert_array_equal(turned.centres, aligned.centres)
    both = QuadraticFamily(curvatures=(2.0, 0.5), angle=0.3, max_angle=0.2).sample(200, 1)


    eig = np.linalg.eigh(both.hessians)[1][:, :, -1]                  # steep direction
    turn = np.arctan(eig[:, 1] / eig[:, 0])
    assert np.all((turn > 0.1 - 1e-9) & (turn < 0.5 + 1e-9))
    with pytest.raises(ValueError):
        QuadraticFamily(centre=(0.0,), curvatures=(1.0,), angle=0.1)


def test_preconditioner_meta_gradients_match_finite_differences_and_meta_sgd():
    tasks = ROTATED.sample(4, 3)
    theta, P = _point(3), np.array([[0.4, -0.2], [0.1, 0.9]])

    def objective(t, m):
        g = tasks.gradient(t)
        return float(tasks.loss(t - g @ m.T).mean())

    _, g_theta, g_P = q.preconditioner_meta_gradients(tasks, theta, P)
    assert rel(g_theta.mean(0), finite_difference(lambda t: objective(t, P), theta)) < 1e-7
    fd_P = finite_difference(lambda m: objective(theta, m.reshape(2, 2)), P.ravel()).reshape(2, 2)
    assert rel(g_P.mean(0), fd_P) < 1e-7
    alpha = np.array([0.3, 0.7])                   # a diagonal P is Meta-SGD's α
    _, d_theta, d_P = q.preconditioner_meta_gradients(tasks, theta, np.diag(alpha))
    _, m_theta, m_alpha = q.meta_gradients(tasks, theta, alpha, steps=1)
    np.testing.assert_allclose(d_theta, m_theta, atol=1e-12)
    np.testing.assert_allclose(np.diagonal(d_P, axis1=-2, axis2=-1), m_alpha, atol=1e-12)
    with pytest.raises(ValueError):
        q.preconditioner_meta_gradients(tasks, theta, alpha)


def test_meta_train_preconditioner_diagonal_is_meta_sgd_and_full_matrix_undoes_a_common_turn():
    family = QuadraticFamily(centre=(1.0, 1.0), curvatures=(2.0, 0.5), angle=np.pi / 6)
    settings = dict(beta=0.05, iterations=300, rng=0)
    diag = q.meta_train_preconditioner(family, np.zeros(2), 0.1 * np.eye(2), diagonal=True, **settings)
    vector = q.meta_train(family, np.zeros(2), np.full(2, 0.1), **settings)
    np.testing.assert_allclose(diag.thetas, vector.thetas, atol=1e-12)
    np.testing.assert_allclose(np.diagonal(diag.alphas, axis1=-2, axis2=-1), vector.alphas, atol=1e-12)
    assert np.all(diag.alpha[[0, 1], [1, 0]] == 0)
    full = q.meta_train_preconditioner(family, np.zeros(2), 0.1 * np.eye(2),
                                       **{**settings, "iterations": 3000})
    assert full.alphas.shape == (3001, 2, 2) and full.losses.shape == (3000,)
    inverse = np.linalg.inv(family.sample(1, 0).hessians[0])            # no jitter: one Hessian
    np.testing.assert_allclose(full.alpha, inverse, atol=0.02)
    assert full.losses[-50:].mean() < 0.1 * diag.losses[-50:].mean()


def test_meta_train_stops_when_progress_raises():
    def stop(i, n, loss):
        if i == 3:
            raise RuntimeError("stop")
    with pytest.raises(RuntimeError):
        q.meta_train(QuadraticFamily(), np.zeros(2), 0.1, beta=0.1, iterations=50, progress=stop)


# --------------------------------------------------------------------------- Reptile
def test_reptile_with_epsilon_one_on_one_task_is_plain_sgd():
    bowl = ROTATED.sample(1, 7)
    theta = _point(7)
    run = qr.reptile(bowl, theta, epsilon=1.0, lr=0.2, steps=5, iterations=1)
    np.testing.assert_allclose(run.thetas[1], q.sgd_path(bowl[0], theta, 0.2, steps=5)[-1])
    long = qr.reptile(bowl, theta, epsilon=1.0, lr=0.2, steps=5, iterations=200)
    np.testing.assert_allclose(long.thetas[-1], bowl.centres[0], atol=1e-8)   # θ*


def test_batched_update_is_the_mean_of_the_serial_interpolations():
    gen = np.random.default_rng(8)
    theta, targets = gen.normal(size=2), gen.normal(size=(5, 2))
    serial = [qr.reptile_update(theta, t[None], 0.3) for t in targets]
    np.testing.assert_allclose(qr.reptile_update(theta, targets, 0.3), np.mean(serial, axis=0))
    np.testing.assert_allclose(qr.reptile_update(theta, targets[:1], 0.3),
                               theta + 0.3 * (targets[0] - theta))
    tasks = ROTATED.sample(5, 8)
    run = qr.reptile(tasks, theta, epsilon=0.3, lr=0.1, steps=4, iterations=1, tasks_per_batch=5)
    ends = q.sgd_path(tasks, theta, 0.1, steps=4)[-1]
    np.testing.assert_allclose(run.thetas[1], theta + 0.3 * (ends - theta).mean(axis=0))
    assert sorted(run.tasks[0]) == list(range(5)) and run.targets.shape == (1, 5, 2)


def test_reptile_fixed_point_between_mean_loss_minimum_and_mean_of_minima():
    tasks = ROTATED.sample(6, 9)
    one = qr.reptile_fixed_point(tasks, lr=0.1, steps=1)
    np.testing.assert_allclose(tasks.gradient(one).mean(axis=0), 0.0, atol=1e-12)
    many = qr.reptile_fixed_point(tasks, lr=0.2, steps=2000)
    np.testing.assert_allclose(many, tasks.centres.mean(axis=0), atol=1e-8)
    target = qr.reptile_fixed_point(tasks, lr=0.1, steps=5)
    run = qr.reptile(tasks, np.zeros(2), epsilon=0.5, lr=0.1, steps=5, iterations=400,
                     tasks_per_batch=6)
    np.testing.assert_allclose(run.thetas[-1], target, atol=1e-8)
    assert run.losses.shape == (400,)


def test_reptile_reports_a_diverging_inner_loop_to_progress():
    losses = []
    qr.reptile(ROTATED.sample(3, 10), np.ones(2), epsilon=0.5, lr=5.0, steps=10, iterations=20,
               progress=lambda i, n, loss: losses.append(loss))
    assert not np.isfinite(losses[-1]) or losses[-1] > 1e10


# ------------------------------------------------------- the Taylor expansion (§5)
def _batches(seed=11):
    return minibatches(ROTATED.sample(3, seed), 4, rng=seed)


def test_one_inner_step_makes_all_three_updates_the_average_gradient():
    batches, theta = _batches(), _point(11)
    grads = qr.inner_gradients(batches, theta, 0.1, qr.all_sequences(4, 1))
    stats = qr.gradient_statistics(batches, theta)
    for _name, g in grads.items():
        assert g.shape == (3, 4, 2)
        np.testing.assert_allclose(g.mean(axis=(0, 1)), stats["AvgGrad"], atol=1e-12)
    fd = finite_difference(lambda p: float(batches.loss(p).mean()), theta)
    assert rel(stats["AvgGrad"], fd) < 1e-7


def test_maml_gradient_matches_finite_differences_for_one_sequence():
    batches, theta, alpha = _batches(12), _point(12), 0.15
    sequence = np.array([[2, 0, 3]])
    maml = qr.inner_gradients(batches, theta, alpha, sequence)["MAML"][1, 0]

    def objective(p):
        phi = p
        for b in sequence[0, :-1]:
            phi = phi - alpha * batches[1, b].gradient(phi)
        return float(batches[1, sequence[0, -1]].loss(phi))
    assert rel(maml, finite_difference(objective, theta)) < 1e-7


def test_avg_grad_inner_is_half_the_gradient_of_the_alignment():
    batches, theta = _batches(13), _point(13)
    stats = qr.gradient_statistics(batches, theta)

    def alignment(p):     # E over tasks and independent pairs of minibatches of ḡ1 · ḡ2
        g = batches.gradient(p)
        return float(np.einsum("nad,nbd->nab", g, g).mean())
    assert rel(stats["AvgGradInner"], 0.5 * finite_difference(alignment, theta)) < 1e-7
    assert rel(stats["same minibatch"], stats["AvgGradInner"]) > 0.05


def test_taylor_expansion_error_shrinks_like_alpha_squared():
    batches, theta, k = _batches(14), _point(14), 3
    stats = qr.gradient_statistics(batches, theta)
    sequences = qr.all_sequences(4, k)
    coefficients = {"Reptile": (k, k * (k - 1) / 2), "first-order MAML": (1, k - 1),
                    "MAML": (1, 2 * k - 2)}
    errors = {name: [] for name in coefficients}
    for alpha in (0.02, 0.01):
        grads = qr.inner_gradients(batches, theta, alpha, sequences)
        for name, (a, b) in coefficients.items():
            predicted = a * stats["AvgGrad"] - b * alpha * stats["AvgGradInner"]
            errors[name].append(np.linalg.norm(grads[name].mean(axis=(0, 1)) - predicted))
    for name, (big, small) in errors.items():
        assert 3.5 < big / small < 4.5, name


# ---------------------------------------------------------------- argument errors
TASKS = ROTATED.sample(3, 0)
BAD_CALLS = [
    lambda: Quadratics(np.zeros((3, 2)), np.zeros((3, 3, 3))),
    lambda: Quadratics(np.zeros(2), np.array([[1.0, 2.0], [0.0, 1.0]])),
    lambda: TASKS.loss(np.zeros(3)),
    lambda: QuadraticFamily(centre=(0.0,), curvatures=(1.0, 1.0)),
    lambda: QuadraticFamily(curvatures=(1.0, -1.0)),
    lambda: QuadraticFamily(centre=(0, 0, 0), curvatures=(1, 1, 1), max_angle=0.1),
    lambda: ROTATED.sample(0),
    lambda: minibatches(TASKS, 0),
    lambda: q.sgd_path(TASKS, np.zeros(2), 0.1, steps=-1),
    lambda: q.sgd_path(TASKS, np.zeros(2), 0.1, steps=1.5),
    lambda: q.meta_gradients(TASKS, np.zeros(2), np.ones(3), 1),
    lambda: q.meta_gradients(TASKS, np.zeros(2), np.ones(1), 1),
    lambda: q.meta_gradients(TASKS, np.zeros(2), 0.1),                  # no steps, no test
    lambda: q.meta_train(ROTATED, np.zeros(2), 0.1, beta=0.0),
    lambda: q.meta_train(ROTATED, np.zeros(2), 0.1, beta=0.1, steps=0),
    lambda: q.meta_train(ROTATED, np.zeros(3), 0.1, beta=0.1),
    lambda: loss_grid(QuadraticFamily((0, 0, 0), 1, (1, 1, 1)).sample(1), (0, 1), (0, 1)),
    lambda: qr.reptile(TASKS, np.zeros(2), epsilon=0.1, lr=0.1, steps=0, iterations=1),
    lambda: qr.reptile(TASKS, np.zeros(2), epsilon=0.0, lr=0.1, steps=1, iterations=1),
    lambda: qr.reptile(TASKS, np.zeros(2), epsilon=0.1, lr=-1.0, steps=1, iterations=1),
    lambda: qr.reptile(TASKS, np.zeros(2), epsilon=0.1, lr=0.1, steps=1, iterations=0),
    lambda: qr.reptile(TASKS, np.zeros(2), epsilon=0.1, lr=0.1, steps=1, iterations=1,
                       tasks_per_batch=4),
    lambda: qr.reptile(TASKS, np.zeros(3), epsilon=0.1, lr=0.1, steps=1, iterations=1),
    lambda: qr.reptile_update(np.zeros(2), np.zeros((3, 3)), 0.1),
    lambda: qr.reptile_fixed_point(TASKS, lr=0.1, steps=0),
    lambda: qr.all_sequences(4, 0),
    lambda: qr.inner_gradients(_batches(), np.zeros(2), 0.1, np.array([[0, 4]])),
    lambda: qr.inner_gradients(TASKS, np.zeros(2), 0.1, np.array([[0]])),
    lambda: qr.inner_gradients(_batches(), np.zeros(2), 0.0, np.array([[0]])),
    lambda: qr.gradient_statistics(TASKS, np.zeros(2)),
]


@pytest.mark.parametrize("case", range(len(BAD_CALLS)))
def test_bad_arguments_raise_value_errors(case):
    with pytest.raises(ValueError):
        BAD_CALLS[case]()
