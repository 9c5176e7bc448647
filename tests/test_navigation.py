"""The navigation environment, the compiled rollouts and the task family (notebook 03, §7.3)."""
import numpy as np
import pytest

from chapter_utils import gaussian_policy as gp
from chapter_utils import navigation as nav
from chapter_utils.environment import import_tensorflow

tf = import_tensorflow()


def test_actions_are_clipped_per_coordinate():
    env = nav.NavigationEnv([[0.4, -0.4]])
    env.reset()
    obs, reward, terminated, truncated, _ = env.step([[0.5, -0.03]])
    np.testing.assert_allclose(obs, [[0.1, -0.03]])
    np.testing.assert_allclose(reward, [-np.hypot(0.3, 0.37)])
    assert not terminated[0] and not truncated[0]


def test_reward_is_minus_distance_after_the_move():
    goals = np.array([[0.3, 0.0], [0.0, -0.2]])
    env = nav.NavigationEnv(goals)
    obs, info = env.reset(seed=3)
    np.testing.assert_array_equal(obs, np.zeros((2, 2)))
    assert info == {}
    obs, reward, *_ = env.step([[0.1, 0.1], [-0.05, 0.0]])
    np.testing.assert_allclose(reward, -np.linalg.norm(obs - goals, axis=1))


def test_episode_terminates_within_goal_radius_and_then_stays():
    env = nav.NavigationEnv([[0.25, 0.0]])
    env.reset()
    rewards = []
    for speed in (1.0, 0.1, 0.05):                          # the first is clipped to 0.1
        obs, reward, terminated, truncated, _ = env.step([[speed, 0.0]])
        rewards.append(reward[0])
    np.testing.assert_allclose(rewards, [-0.15, -0.05, -0.0], atol=1e-12)
    assert terminated[0] and not truncated[0]
    obs2, reward, terminated, truncated, _ = env.step([[1.0, 1.0]])
    np.testing.assert_array_equal(obs2, obs)                 # an ended episode does not move
    assert reward[0] == 0 and terminated[0] and not truncated[0]


def test_episode_is_truncated_at_the_horizon():
    env = nav.NavigationEnv([[0.5, 0.5]], horizon=4)
    env.reset()
    flags = [env.step([[0.0, 0.0]])[3][0] for _ in range(4)]
    assert flags == [False, False, False, True]


def test_vectorised_steps_equal_one_episode_at_a_time():
    rng = np.random.default_rng(0)
    goals = rng.uniform(-0.5, 0.5, (6, 2))
    goals[2] = [0.05, 0.0]                                   # one that terminates early
    actions = rng.normal(0, 0.12, (30, 6, 2))
    actions[:, 2] = [0.05, 0.0]
    batch = nav.NavigationEnv(goals)
    batch.reset()
    together = [batch.step(a) for a in actions]
    for i, goal in enumerate(goals):
        single = nav.NavigationEnv(goal)
        single.reset()
        for t, a in enumerate(actions[:, i]):
            got = single.step(a[None])
            for field_batch, field_single in zip(together[t][:4], got[:4]):
                np.testing.assert_allclose(field_batch[i], field_single[0], atol=1e-15)


def test_env_argument_errors():
    with pytest.raises(ValueError, match="shape"):
        nav.NavigationEnv(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="finite"):
        nav.NavigationEnv([[np.nan, 0.0]])
    with pytest.raises(ValueError, match="horizon"):
        nav.NavigationEnv([[0.0, 0.1]], horizon=0)
    env = nav.NavigationEnv([[0.1, 0.1], [0.2, 0.2]])
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros((2, 2)))
    env.reset()
    with pytest.raises(ValueError, match=r"\(2, 2\)"):
        env.step(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="finite"):
        env.step([[np.inf, 0.0], [0.0, 0.0]])


def test_tasks_sample_goals_in_range_reproducibly():
    tasks = nav.NavigationTasks()
    task = tasks.sample(np.random.default_rng(1))
    assert task.goal.shape == (2,) and np.all(np.abs(task.goal) <= 0.5)
    goals = tasks.sample_goals(500, 7)
    assert goals.shape == (500, 2) and goals.min() >= -0.5 and goals.max() < 0.5
    np.testing.assert_array_equal(goals, tasks.sample_goals(500, 7))
    narrow = nav.NavigationTasks(goal_range=(0.1, 0.2)).sample_goals(100, 0)
    assert narrow.min() >= 0.1 and narrow.max() < 0.2


@pytest.mark.parametrize("goal_range", [(0.5, -0.5), (0.0, 0.0), (0.0, np.inf), "ab", (1,)])
def test_bad_goal_ranges_are_rejected(goal_range):
    with pytest.raises(ValueError, match="goal_range"):
        nav.NavigationTasks(goal_range=goal_range)


def test_task_goal_must_be_one_point():
    with pytest.raises(ValueError, match="goal"):
        nav.NavigationTask(np.zeros((2, 2)))
    assert nav.NavigationTask([0.1, 0.2]).goal.shape == (2,)


def test_average_return_of_a_perfect_controller_is_exact():
    task = nav.NavigationTask([0.25, 0.0])

    def steer(obs):
        return np.clip(task.goal - obs, -0.1, 0.1)
    # distances after each move: 0.15, 0.05, 0 (terminates)
    assert nav.average_return(steer, task, episodes=3) == pytest.approx(-0.2)
    goals = np.array([[0.25, 0.0], [0.0, -0.45]])
    positions, returns = nav.run_episodes(lambda obs: np.clip(goals - obs, -0.1, 0.1), goals,
                                          horizon=3)
    assert positions.shape == (2, 4, 2)
    np.testing.assert_allclose(positions[:, -1], [[0.25, 0.0], [0.0, -0.3]])
    np.testing.assert_allclose(returns, [-0.2, -(0.35 + 0.25 + 0.15)])      # second truncated


def test_average_return_argument_errors():
    task = nav.NavigationTask([0.1, 0.1])
    with pytest.raises(ValueError, match="episodes"):
        nav.average_return(lambda o: o, task, episodes=0)
    with pytest.raises(ValueError, match="goal"):
        nav.average_return(lambda o: o, object())
    with pytest.raises(ValueError, match="policy"):
        nav.run_episodes("not a policy", [[0.1, 0.1]])


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
