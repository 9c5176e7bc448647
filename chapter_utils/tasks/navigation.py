"""2-D point navigation: the meta-RL task family of §7.3 (notebook 03).

The task family the MAML paper (Finn et al., 2017, §5.3) used to show
meta-reinforcement learning, as in its released code: a point agent starts at
the origin; each task hides a goal drawn uniformly from ``[−0.5, 0.5]²``; an
action is a 2-D velocity, clipped to ``[−0.1, 0.1]`` per coordinate; the reward
of a step is minus the Euclidean distance to the goal *after* the move; an
episode lasts :data:`HORIZON` steps, or ends as soon as the agent is within
:data:`GOAL_RADIUS` of the goal.

* :func:`transition` — one step of the dynamics, written once for numpy and
  TensorFlow alike (the compiled rollouts of
  :mod:`chapter_utils.nets.gaussian_policy` call it with ``xp=tf.experimental.numpy``);
* :class:`NavigationEnv` — many episodes stepped at once in numpy, with
  Gymnasium's ``reset``/``step`` conventions;
* :class:`NavigationTasks` / :class:`NavigationTask` — the task family;
* :func:`average_return` and :func:`run_episodes` — score or trace any policy.

The learners, :class:`MetaSGDPolicyGradient` and :class:`MAMLPolicyGradient`,
live in :mod:`chapter_utils.learners.policy_gradient` (or ``from chapter_utils
import MetaSGDPolicyGradient``); this module knows nothing of them.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from chapter_utils.checks import RngLike, as_generator, check_positive_int

#: Steps in an episode (Gymnasium's ``truncated`` turns True at this step).
HORIZON = 100
#: Largest speed per coordinate: actions are clipped to ``[−MAX_SPEED, MAX_SPEED]``.
MAX_SPEED = 0.1
#: An episode terminates once the agent is closer than this to the goal.
GOAL_RADIUS = 0.01
#: Where goals are drawn from, per coordinate.
GOAL_RANGE = (-0.5, 0.5)

#: Seed of the held-out goals notebook 03 and ``python -m chapter_utils.tooling.benchmark navigation``
#: score on (no training run draws goals from it).
HELD_OUT_SEED = 2017

#: A policy: observations ``(n, 2)`` → actions ``(n, 2)``.
Policy = Callable[[np.ndarray], np.ndarray]


def transition(position, action, goal, alive, xp: Any = np):
    """One step for a batch of episodes: ``(new position, reward, still alive)``.

    ``position``, ``action`` and ``goal`` are ``(..., 2)``; ``alive`` is
    ``(...)``, 1.0 for an episode still running and 0.0 for one that has
    ended. The action is clipped to ±:data:`MAX_SPEED`; an ended episode does
    not move and earns 0; a running one earns minus its distance to the goal
    after the move and ends when that distance is below :data:`GOAL_RADIUS`.
    ``xp`` is ``numpy`` or ``tf.experimental.numpy``: the same code steps the
    numpy environment and the compiled TensorFlow rollouts.
    """
    position = position + xp.clip(action, -MAX_SPEED, MAX_SPEED) * alive[..., None]
    offset = position - goal
    distance = xp.sqrt(xp.sum(offset * offset, axis=-1))
    reward = -distance * alive
    alive = alive * xp.asarray(distance >= GOAL_RADIUS, dtype=reward.dtype)
    return position, reward, alive


def check_goals(goals: object, name: str = "goals") -> np.ndarray:
    """``goals`` as a finite float array of shape ``(n, 2)`` (one goal ``(2,)`` becomes ``(1, 2)``)."""
    goals = np.asarray(goals, dtype=float)
    if goals.shape == (2,):
        goals = goals[None]
    if goals.ndim != 2 or goals.shape[1] != 2 or goals.shape[0] == 0:
        raise ValueError(f"{name} must have shape (n, 2) with n ≥ 1, got {goals.shape}")
    if not np.all(np.isfinite(goals)):
        raise ValueError(f"{name} must be finite")
    return goals


@dataclass(frozen=True)
class NavigationTask:
    """One task of the family: reach :attr:`goal` (shape ``(2,)``) from the origin."""

    goal: np.ndarray

    def __post_init__(self) -> None:
        goal = check_goals(self.goal, "goal")
        if goal.shape[0] != 1:
            raise ValueError(f"goal must have shape (2,), got {np.shape(self.goal)}")
        object.__setattr__(self, "goal", goal[0])

    def env(self, episodes: int = 1) -> NavigationEnv:
        """A :class:`NavigationEnv` running ``episodes`` episodes of this task at once."""
        episodes = check_positive_int(episodes, "episodes")
        return NavigationEnv(np.broadcast_to(self.goal, (episodes, 2)))


@dataclass(frozen=True)
class NavigationTasks:
    """The task family: goals uniform in ``goal_range``² (notebook 03, §7.3).

    ``sample(rng)`` → one :class:`NavigationTask`; ``sample_goals(n, rng)`` →
    an ``(n, 2)`` array of goals, what the learners draw their meta-batches from.
    """

    goal_range: tuple[float, float] = GOAL_RANGE

    def __post_init__(self) -> None:
        try:
            low, high = (float(v) for v in self.goal_range)
        except (TypeError, ValueError):
            raise ValueError(f"goal_range must be two numbers (low, high), "
                             f"got {self.goal_range!r}") from None
        if not (np.isfinite(low) and np.isfinite(high)) or low >= high:
            raise ValueError(f"goal_range must satisfy low < high, both finite, got {self.goal_range!r}")
        object.__setattr__(self, "goal_range", (low, high))

    def sample_goals(self, n: int, rng: RngLike = None) -> np.ndarray:
        """``n`` goals, shape ``(n, 2)``, uniform in the square."""
        n = check_positive_int(n, "n")
        return as_generator(rng).uniform(*self.goal_range, size=(n, 2))

    def sample(self, rng: RngLike = None) -> NavigationTask:
        """One task with a fresh goal."""
        return NavigationTask(self.sample_goals(1, rng)[0])


def held_out_goals(n: int = 40) -> np.ndarray:
    """The held-out goals of notebook 03 and the benchmark: ``(n, 2)``, from :data:`HELD_OUT_SEED`."""
    return NavigationTasks().sample_goals(n, np.random.default_rng(HELD_OUT_SEED))


class NavigationEnv:
    """``n`` navigation episodes stepped at once, with Gymnasium's conventions.

    ``reset(seed=None)`` → ``(observations, info)``; ``step(actions)`` →
    ``(observations, rewards, terminated, truncated, info)``, with observations
    ``(n, 2)`` (the positions), rewards and flags ``(n,)``. Episode ``i`` heads
    for ``goals[i]``. Unlike a Gymnasium vector environment there is no
    automatic reset: an episode that has ended stays where it is, earns 0 and
    keeps its flag, so a whole batch can be stepped until every episode is
    done. The starting state is always the origin; ``seed`` is accepted for
    the familiar signature and changes nothing.
    """

    def __init__(self, goals: object, horizon: int = HORIZON) -> None:
        self.goals = check_goals(goals)
        self.horizon = check_positive_int(horizon, "horizon")
        self.num_envs = self.goals.shape[0]
        self._position: np.ndarray | None = None

    def reset(self, *, seed: int | None = None, options: dict | None = None
              ) -> tuple[np.ndarray, dict]:
        """Put every agent back at the origin; return ``(observations, info)``."""
        self._position = np.zeros((self.num_envs, 2))
        self._alive = np.ones(self.num_envs)
        self._steps = 0
        return self._position.copy(), {}

    def step(self, actions: object) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        """Move every running agent by its clipped action; see the class docstring."""
        if self._position is None:
            raise RuntimeError("call reset() before step()")
        actions = np.asarray(actions, dtype=float)
        if actions.shape != (self.num_envs, 2):
            raise ValueError(f"actions must have shape ({self.num_envs}, 2), got {actions.shape}")
        if not np.all(np.isfinite(actions)):
            raise ValueError("actions must be finite")
        self._position, reward, self._alive = transition(self._position, actions, self.goals,
                                                         self._alive)
        self._steps += 1
        terminated = self._alive == 0
        truncated = np.full(self.num_envs, self._steps >= self.horizon) & ~terminated
        return self._position.copy(), reward, terminated, truncated, {"steps": self._steps}


def run_episodes(policy: Policy, goals: object, horizon: int = HORIZON
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Run one episode per goal with ``policy``; return ``(positions, returns)``.

    ``positions`` is ``(n, horizon + 1, 2)``, starting at the origin (an
    ended episode repeats its last position); ``returns`` is ``(n,)``, the
    undiscounted sum of rewards. Used for the trajectory plots of notebook 03.
    """
    if not callable(policy):
        raise ValueError(f"policy must be a function from observations to actions, got {policy!r}")
    env = NavigationEnv(goals, horizon)
    obs, _ = env.reset()
    positions, total = [obs], np.zeros(env.num_envs)
    for _ in range(env.horizon):
        actions = np.asarray(policy(obs), dtype=float)
        obs, reward, terminated, truncated, _ = env.step(actions)
        positions.append(obs)
        total += reward
        if np.all(terminated | truncated):
            break
    while len(positions) < env.horizon + 1:
        positions.append(obs)
    return np.stack(positions, axis=1), total


def average_return(policy: Policy, task: NavigationTask, episodes: int = 40, seed: int = 0) -> float:
    """The mean undiscounted return of ``policy`` over ``episodes`` episodes of ``task``.

    ``seed`` seeds the policy's sampling when the policy takes one (the
    policies from ``adapt`` draw their noise from a generator of their own;
    pass a fresh one through ``policy.reseed(seed)`` if present).
    """
    episodes = check_positive_int(episodes, "episodes")
    goal = getattr(task, "goal", None)
    if goal is None:
        raise ValueError(f"task must have a .goal, got {task!r}")
    if hasattr(policy, "reseed"):
        policy.reseed(seed)
    _, returns = run_episodes(policy, np.broadcast_to(np.asarray(goal, float), (episodes, 2)))
    return float(np.mean(returns))
