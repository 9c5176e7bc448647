"""The navigation environment and its task family (chapter_utils.tasks.navigation; notebook 03, §7.3)."""
import numpy as np
import pytest

from chapter_utils.environment import import_tensorflow
from chapter_utils.tasks import navigation as nav

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
