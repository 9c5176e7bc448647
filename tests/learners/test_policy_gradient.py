"""Meta-SGD / MAML policy gradients (notebook 03, §7.3): the estimators, the API and its errors."""
import numpy as np
import pytest

from chapter_utils import (
    MAMLPolicyGradient,
    MetaSGDPolicyGradient,
    NavigationTask,
    NavigationTasks,
    average_return,
)
from chapter_utils.evaluation import bandit
from chapter_utils.learners import policy_gradient as mpg

SMALL = dict(hidden=(8,), meta_batch=3, trajectories=2, iterations=3)
BANDIT = dict(b=[0.2, -0.1], goal=[0.0, 0.0], sigma=0.3, alpha=[0.05, 0.05], n=4)


@pytest.fixture(scope="module")
def exact():
    return bandit.exact_meta_gradient(**BANDIT)


def test_exact_bandit_gradient_matches_finite_differences(exact):
    def objective(b):
        return float(bandit.exact_meta_objective(b, BANDIT["goal"], BANDIT["sigma"],
                                                 BANDIT["alpha"], BANDIT["n"]))
    h = 1e-6
    b = np.array(BANDIT["b"])
    numeric = [(objective(b + h * e) - objective(b - h * e)) / (2 * h) for e in np.eye(2)]
    np.testing.assert_allclose(exact, numeric, rtol=1e-6)


def test_exact_bandit_objective_matches_simulation():
    """The closed form J(b) against a direct simulation of sample → step → expected reward."""
    rng = np.random.default_rng(0)
    b, sigma, alpha, n = np.array([0.2, -0.1]), 0.3, np.array([0.05, 0.05]), 4
    actions = b + sigma * rng.standard_normal((400_000, n, 2))
    rewards = -np.sum(actions ** 2, axis=-1)
    grad = np.mean(rewards[..., None] * (actions - b) / sigma ** 2, axis=1)
    moved = b + alpha * grad
    simulated = -np.sum(moved ** 2, axis=-1) - 2 * sigma ** 2
    closed = float(bandit.exact_meta_objective(b, [0.0, 0.0], sigma, alpha, n))
    assert abs(simulated.mean() - closed) < 4 * simulated.std() / np.sqrt(simulated.size)


def test_unbiased_estimator_averages_to_the_exact_meta_gradient(exact):
    estimates = bandit.estimated_meta_gradients("unbiased", **BANDIT)
    error = estimates.std(axis=0, ddof=1) / np.sqrt(len(estimates))
    assert np.all(np.abs(estimates.mean(axis=0) - exact) < 4 * error)


@pytest.mark.parametrize("estimator", ["surrogate", "first_order"])
def test_surrogate_estimators_miss_the_sampling_term(exact, estimator):
    estimates = bandit.estimated_meta_gradients(estimator, **BANDIT)
    error = estimates.std(axis=0, ddof=1) / np.sqrt(len(estimates))
    assert np.all(np.abs(estimates.mean(axis=0) - exact) > 10 * error)


def test_fit_adapt_evaluate_api():
    learner = MetaSGDPolicyGradient(**SMALL)
    assert learner.fit(NavigationTasks(), seed=1) is learner
    assert learner.returns_after.shape == (3,) and learner.returns_before.shape == (3,)
    np.testing.assert_array_equal(learner.losses, -learner.returns_after)   # the shared name: loss = −return
    assert np.all(np.isfinite(learner.returns_after)) and learner.seconds > 0
    theta, alpha = learner.theta, learner.alpha
    assert [a.shape for a in alpha] == [t.shape for t in theta]
    task = NavigationTasks().sample(0)
    policy = learner.adapt(task, steps=2, seed=3)
    actions = policy(np.zeros((5, 2)))
    assert actions.shape == (5, 2) and np.all(np.isfinite(actions))
    for before, after in zip(theta + alpha, learner.theta + learner.alpha):
        np.testing.assert_array_equal(before, after)          # adapting leaves θ and α alone
    score = average_return(policy, task, episodes=7, seed=2)
    assert np.isfinite(score) and score <= 0
    assert score == average_return(policy, task, episodes=7, seed=2)
    table = learner.evaluate(NavigationTasks().sample_goals(4, 0), steps=(0, 2), episodes=3)
    assert table.shape == (2, 4) and np.all(table <= 0)


def test_adapting_zero_steps_is_the_meta_learned_policy():
    learner = MetaSGDPolicyGradient(**SMALL).initialise(seed=0)
    policy = learner.adapt(NavigationTask([0.1, 0.2]), steps=0)
    for p, t in zip(policy.params, learner.theta):
        np.testing.assert_array_equal(p, t)


def test_adapted_parameters_are_per_goal_and_zero_steps_is_theta():
    learner = MetaSGDPolicyGradient(**SMALL).initialise(seed=0)
    goals = NavigationTasks().sample_goals(3, 0)
    zero = learner.adapted_parameters(goals, steps=0)
    for p, t in zip(zero, learner.theta):
        assert p.shape == (3,) + t.shape
        np.testing.assert_array_equal(p, np.broadcast_to(t, p.shape))
    one = learner.adapted_parameters(goals, steps=1, seed=2)
    assert [p.shape for p in one] == [p.shape for p in zero]
    assert not np.allclose(one[0][0], one[0][1])            # each goal gets its own step
    again = learner.adapted_parameters(goals, steps=1, seed=2)
    for a, b in zip(one, again):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError):
        learner.adapted_parameters(np.zeros((2, 3)))


def test_same_seed_same_learner():
    a = MetaSGDPolicyGradient(**SMALL).fit(NavigationTasks(), seed=4)
    b = MetaSGDPolicyGradient(**SMALL).fit(NavigationTasks(), seed=4)
    for x, y in zip(a.theta + a.alpha, b.theta + b.alpha):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-7)
    c = MetaSGDPolicyGradient(**SMALL).fit(NavigationTasks(), seed=5)
    assert not np.allclose(a.theta[0], c.theta[0])


def test_meta_sgd_learns_alpha_and_maml_keeps_it_fixed():
    meta_sgd = MetaSGDPolicyGradient(**SMALL).fit(NavigationTasks(), seed=0)
    assert any(not np.allclose(a, meta_sgd.inner_lr) for a in meta_sgd.alpha)
    maml = MAMLPolicyGradient(**SMALL, inner_lr=0.02).fit(NavigationTasks(), seed=0)
    assert all(a.shape == () and a == np.float32(0.02) for a in maml.alpha)


def test_unfitted_learner_raises():
    learner = MetaSGDPolicyGradient()
    with pytest.raises(RuntimeError, match="fit"):
        learner.adapt(NavigationTask([0.0, 0.1]))
    with pytest.raises(RuntimeError, match="fit"):
        learner.evaluate([[0.0, 0.1]])
    with pytest.raises(RuntimeError, match="fit"):
        _ = learner.theta


@pytest.mark.parametrize("kwargs, match", [
    (dict(meta_batch=0), "meta_batch"), (dict(trajectories=1.5), "trajectories"),
    (dict(inner_steps=-1), "inner_steps"), (dict(inner_steps=0), "inner_steps"),
    (dict(inner_lr=0), "inner_lr"), (dict(meta_lr=-1e-3), "meta_lr"),
    (dict(estimator="dice"), "estimator"), (dict(discount=1.5), "discount"),
    (dict(hidden="64"), "hidden"), (dict(activation="gelu"), "activation"),
    (dict(init_log_std=np.inf), "init_log_std"), (dict(anneal="yes"), "anneal"),
    (dict(outer_epochs=0), "outer_epochs"), (dict(clip=0), "clip"),
    (dict(estimator="unbiased", meta_batch=1), "meta_batch"), (dict(learning_rate=1), "unknown"),
    (dict(alpha_lr_ratio=0.0), "alpha_lr_ratio"), (dict(log_std_lr_ratio=-1.0), "log_std_lr_ratio"),
])
def test_bad_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MetaSGDPolicyGradient(**kwargs)


def test_bad_call_arguments():
    learner = MetaSGDPolicyGradient(**SMALL).initialise(seed=0)
    with pytest.raises(ValueError, match="sample_goals"):
        learner.fit(object())
    with pytest.raises(ValueError, match="iterations"):
        learner.fit(NavigationTasks(), iterations=0)
    with pytest.raises(ValueError, match="seed"):
        learner.fit(NavigationTasks(), seed=-1)
    with pytest.raises(ValueError, match="progress"):
        learner.fit(NavigationTasks(), progress="bar")
    with pytest.raises(ValueError, match="steps"):
        learner.adapt(NavigationTask([0.0, 0.1]), steps=-1)
    with pytest.raises(ValueError, match="one task"):
        learner.adapt(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="episodes"):
        learner.evaluate([[0.0, 0.1]], episodes=0)
    with pytest.raises(ValueError, match="steps"):
        learner.evaluate([[0.0, 0.1]], steps=())
    with pytest.raises(ValueError, match="estimator"):
        bandit.estimated_meta_gradients("dice", **BANDIT)
    with pytest.raises(ValueError, match="sigma"):
        bandit.exact_meta_gradient(BANDIT["b"], BANDIT["goal"], 0.0, BANDIT["alpha"], 4)


def test_progress_can_stop_training():
    seen = []

    def progress(i, total, ret):
        seen.append((i, total))
        if i == 2:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        MetaSGDPolicyGradient(**SMALL).fit(NavigationTasks(), progress=progress)
    assert seen == [(1, 3), (2, 3)]


def test_pretrained_baseline_trains_without_an_inner_step():
    learner = mpg.PretrainedPolicyGradient(**SMALL).fit(NavigationTasks(), seed=0)
    assert learner.inner_steps == 0
    np.testing.assert_array_equal(learner.returns_before, learner.returns_after)
    assert learner.evaluate([[0.2, 0.2]], steps=(0, 1), episodes=2).shape == (2, 1)


def test_with_step_size_shares_theta_and_changes_only_alpha():
    learner = MAMLPolicyGradient(**SMALL).initialise(seed=0)
    other = learner.with_step_size(0.1)
    assert all(a == np.float32(0.1) for a in other.alpha)
    assert all(a == np.float32(0.01) for a in learner.alpha)
    for x, y in zip(learner.theta, other.theta):
        np.testing.assert_array_equal(x, y)
    with pytest.raises(ValueError, match="inner_lr"):
        learner.with_step_size(-1.0)
    with pytest.raises(RuntimeError, match="fit"):
        MAMLPolicyGradient().with_step_size(0.1)


def test_alpha_and_log_std_rates_follow_beta_by_the_learners_ratios():
    learner = MetaSGDPolicyGradient(hidden=(8,), meta_lr=0.004, alpha_lr_ratio=0.5, log_std_lr_ratio=3.0)
    rates = [float(r) for r in learner._rates(0.5)]
    # θ = [W1, b1, W2, b2, log_std], then one α per θ tensor
    assert rates[:4] == pytest.approx([0.002] * 4)
    assert rates[4] == pytest.approx(0.004 * 3.0 * 0.5)
    assert rates[5:] == pytest.approx([0.004 * 0.5 * 0.5] * 5)
    maml_rates = MAMLPolicyGradient(hidden=(8,))._rates(1.0)
    assert len(maml_rates) == 5                      # MAML trains θ only
