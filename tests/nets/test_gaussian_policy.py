"""The Gaussian policy: compiled rollouts against the numpy environment, log-probabilities,
baseline, advantages (chapter_utils.nets.gaussian_policy; notebook 03, §7.3)."""
import numpy as np
import pytest

from chapter_utils.environment import import_tensorflow
from chapter_utils.nets import gaussian_policy as gp
from chapter_utils.tasks import navigation as nav

tf = import_tensorflow()


def test_compiled_rollout_matches_the_numpy_environment():
    """gaussian_policy.rollout (TensorFlow, batched) and NavigationEnv step the same episodes."""
    rng = np.random.default_rng(3)
    goals = np.array([[0.3, -0.2], [0.0, 0.25], [-0.45, 0.4]], dtype=np.float32)
    # linear policies mean = s W + b, one per task; task 1 steers straight to its goal
    # with almost no noise, so it terminates; the others wander
    weights = rng.normal(0, 0.5, (3, 2, 2)).astype(np.float32)
    weights[1] = -np.eye(2)
    biases = np.array([[0.05, -0.02], goals[1], [0.0, 0.03]], dtype=np.float32)
    log_std = np.array([[-1.5, -1.5], [-12.0, -12.0], [-2.0, -1.0]], dtype=np.float32)
    noise = rng.standard_normal((3, 2, 100, 2)).astype(np.float32)
    traj = gp.rollout([tf.constant(a) for a in (weights, biases, log_std)], tf.constant(goals),
                      tf.constant(noise))
    policies = [gp.GaussianPolicy([weights[i], biases[i], log_std[i]]) for i in range(3)]
    for e in range(2):
        env = nav.NavigationEnv(goals)
        obs, _ = env.reset()
        alive = np.ones(3)
        for t in range(100):
            np.testing.assert_allclose(traj.obs.numpy()[:, e, t], obs, atol=2e-5)
            np.testing.assert_array_equal(traj.alive.numpy()[:, e, t], alive)
            action = np.stack([pol.mean(obs[i:i + 1])[0] + pol.std * noise[i, e, t]
                               for i, pol in enumerate(policies)])
            obs, reward, terminated, _, _ = env.step(action)
            np.testing.assert_allclose(traj.rewards.numpy()[:, e, t], reward, atol=2e-5)
            alive = (~terminated).astype(float)
    assert traj.alive.numpy()[1, :, -1].max() == 0           # the steering policy arrived
    assert traj.alive.numpy()[[0, 2], :, -1].min() == 1      # the others never did
    expected = gp.step_log_probs([tf.constant(a) for a in (weights, biases, log_std)], traj)
    np.testing.assert_allclose(traj.log_prob.numpy(), expected.numpy(), rtol=1e-5, atol=1e-4)


def test_log_prob_is_the_gaussian_density():
    rng = np.random.default_rng(0)
    params = gp.init_policy((5,), rng, log_std=-1.0)
    obs, actions = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    mean = gp.GaussianPolicy(params).mean(obs)
    sd = np.exp(-1.0)
    expected = np.sum(-0.5 * ((actions - mean) / sd) ** 2 - np.log(sd) - 0.5 * np.log(2 * np.pi), 1)
    got = gp.log_prob([tf.constant(p) for p in params], tf.constant(obs, tf.float32),
                      tf.constant(actions, tf.float32)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_linear_baseline_fits_returns_it_can_represent():
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(2, 3, 100, 2))
    alive = np.ones((2, 3, 100))
    feats = gp.baseline_features(tf.constant(obs), tf.constant(alive)).numpy()
    target = feats @ np.array([0.5, -1.0, 2.0, 0.3, 1.5, -0.7, 0.2, 4.0])
    fitted = gp.linear_baseline(tf.constant(obs), tf.constant(target), tf.constant(alive)).numpy()
    np.testing.assert_allclose(fitted, target, atol=1e-2)          # up to the ridge's shrinkage
    for b in range(2):                                              # exactly the ridge solution
        f = feats[b].reshape(-1, 8)
        gram = f.T @ f
        gram += 1e-5 * (np.trace(gram) / 8 + 1) * np.eye(8)
        weights = np.linalg.solve(gram, f.T @ target[b].reshape(-1))
        np.testing.assert_allclose(fitted[b].reshape(-1), f @ weights, rtol=1e-8, atol=1e-8)


def test_advantages_are_normalised_per_task_and_zero_after_the_end():
    rng = np.random.default_rng(1)
    alive = np.ones((2, 4, 100))
    alive[0, 1, 50:] = 0
    rewards = -rng.uniform(size=(2, 4, 100)) * alive
    traj = gp.Trajectories(tf.constant(rng.normal(size=(2, 4, 100, 2))), None,
                           tf.constant(rewards), tf.constant(alive))
    adv, scale = (a.numpy() for a in gp.advantages(traj))
    assert np.all(adv[0, 1, 50:] == 0)
    for b in range(2):
        running = adv[b][alive[b] == 1]
        assert abs(running.mean()) < 1e-6 and running.std() == pytest.approx(1, rel=1e-4)
    assert scale.shape == (2,) and np.all(scale > 0)


def test_policy_and_init_errors():
    with pytest.raises(ValueError, match="log_std"):
        gp.init_policy((4,), 0, log_std=np.nan)
    with pytest.raises(ValueError, match="last_layer_scale"):
        gp.init_policy((4,), 0, last_layer_scale=0)
    policy = gp.GaussianPolicy(gp.init_policy((4,), 0))
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        policy(np.zeros(3))
    assert policy(np.zeros((5, 2))).shape == (5, 2)
