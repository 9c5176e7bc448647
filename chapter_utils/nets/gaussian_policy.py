"""A Gaussian policy for 2-D navigation, written functionally in TF2 (notebook 03, §7.3).

The policy's parameters are a plain list ``[W1, b1, ..., WL, bL, log_std]``:
a ReLU network (:mod:`chapter_utils.nets.mlp`, as in notebook 02) maps a
position to the mean velocity, and ``log_std`` (shape ``(2,)``) is a learned,
state-independent log standard deviation. Like the regression networks, the
same functions run one policy or a batch of policies — one per task — when
every parameter carries a leading task axis.

What the meta-learners of :mod:`chapter_utils.learners.policy_gradient` build on:

* :func:`rollout` — episodes of many tasks at once, compiled; the dynamics are
  :func:`chapter_utils.tasks.navigation.transition`, the numpy environment's own;
* :func:`advantages` — returns-to-go minus the linear feature baseline of the
  MAML paper's code (fitted per task by ridge regression), normalised per task;
* :func:`surrogate_loss` — the REINFORCE surrogate ``−mean log π(a|s) · A``,
  whose gradient is the policy gradient;
* :class:`GaussianPolicy` — one policy as a numpy function from observations
  to sampled actions, what ``adapt`` returns.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from chapter_utils.checks import RngLike, as_generator, check_positive_int
from chapter_utils.environment import import_tensorflow
from chapter_utils.nets import mlp as fmlp
from chapter_utils.tasks import navigation as nav

tf = import_tensorflow()
tnp = tf.experimental.numpy

_LOG_2PI = float(np.log(2 * np.pi))


def init_policy(hidden: Sequence[int], rng: RngLike = None, *, log_std: float = -2.3,
                last_layer_scale: float = 0.1, dtype: np.dtype = np.float32) -> list[np.ndarray]:
    """Fresh policy parameters ``[W1, b1, ..., WL, bL, log_std]`` as numpy arrays.

    The hidden layers are :func:`chapter_utils.nets.mlp.init_params`'s; the last layer
    is scaled by ``last_layer_scale`` so the first policy barely moves, and
    ``log_std`` starts at the given value in both coordinates (−2.3: a standard
    deviation of 0.1, the largest speed). Both choices keep the first meta-
    iterations stable (notebook 03, §7.3.2).
    """
    if not np.isfinite(log_std):
        raise ValueError(f"log_std must be finite, got {log_std!r}")
    if not (np.isfinite(last_layer_scale) and last_layer_scale > 0):
        raise ValueError(f"last_layer_scale must be a positive number, got {last_layer_scale!r}")
    params = fmlp.init_params(hidden, rng, n_in=2, n_out=2, dtype=dtype)
    params[-2] = (params[-2] * last_layer_scale).astype(dtype)
    params[-1] = (params[-1] * last_layer_scale).astype(dtype)
    return params + [np.full(2, log_std, dtype=dtype)]


def parameter_names(layers: int) -> list[str]:
    """The names of :func:`init_policy`'s arrays for a network of ``layers`` weight layers:
    ``["W1", "b1", …, "W<layers>", "b<layers>", "log_std"]`` (the learners give log σ its own rate by name)."""
    layers = check_positive_int(layers, "layers")
    return [f"{kind}{i}" for i in range(1, layers + 1) for kind in ("W", "b")] + ["log_std"]


def policy_mean(params: list, obs, activation: str = "relu"):
    """The mean action at observations ``obs`` (``(B, N, 2)`` with batched parameters)."""
    return fmlp.forward(params[:-1], obs, activation)


def log_prob(params: list, obs, actions, activation: str = "relu"):
    """``log π(a | s)`` of a diagonal Gaussian, summed over the two action coordinates.

    ``obs`` and ``actions`` are ``(B, N, 2)`` for batched parameters (a task
    axis ``B``) or ``(N, 2)`` for one policy; the result drops the last axis.
    """
    mean = policy_mean(params, obs, activation)
    log_std = params[-1]
    if len(log_std.shape) == 2:                       # batched (B, 2) → (B, 1, 2)
        log_std = log_std[:, None, :]
    z = (actions - mean) * tf.exp(-log_std)
    return tf.reduce_sum(-0.5 * tf.square(z) - log_std - 0.5 * _LOG_2PI, axis=-1)


class Trajectories(NamedTuple):
    """Episodes of ``B`` tasks × ``E`` episodes × ``T`` steps (all tensors ``(B, E, T, ...)``).

    ``obs[..., t, :]`` is the position *before* step ``t``, ``actions`` the
    sampled (unclipped) velocity, ``rewards`` the reward of the step and
    ``alive`` 1.0 while the episode is still running at step ``t``, and
    ``log_prob`` the sampling policy's ``log π(a_t | s_t)`` (for importance
    ratios when the data are reused; ``None`` when not recorded).
    """

    obs: object
    actions: object
    rewards: object
    alive: object
    log_prob: object = None


def rollout(params: list, goals, noise, activation: str = "relu") -> Trajectories:
    """Run ``E`` episodes for each of ``B`` tasks at once, inside TensorFlow.

    ``params`` are batched over tasks (``(B, ...)``), ``goals`` are ``(B, 2)``
    and ``noise`` is ``(B, E, T, 2)`` standard normal draws: the action at
    step ``t`` is ``mean(s_t) + exp(log_std) · noise_t``. Nothing here is
    differentiated (trajectories are data); the log-probabilities are
    recomputed from them by :func:`log_prob`.
    """
    params = [tf.stop_gradient(p) for p in params]
    batch, episodes, horizon = noise.shape[0], noise.shape[1], noise.shape[2]
    std = tf.exp(params[-1])[:, None, :]
    position = tf.zeros((batch, episodes, 2), noise.dtype)
    alive = tf.ones((batch, episodes), noise.dtype)
    goal = goals[:, None, :]
    arrays = [tf.TensorArray(noise.dtype, size=horizon) for _ in range(4)]
    for t in tf.range(horizon):
        action = policy_mean(params, position, activation) + std * noise[:, :, t]
        arrays[0] = arrays[0].write(t, position)
        arrays[1] = arrays[1].write(t, action)
        arrays[3] = arrays[3].write(t, alive)
        position, reward, alive = nav.transition(position, action, goal, alive, xp=tnp)
        arrays[2] = arrays[2].write(t, reward)
    obs, actions, rewards, alive_steps = (a.stack() for a in arrays)
    # (T, B, E, ...) → (B, E, T, ...)
    traj = Trajectories(tf.transpose(obs, [1, 2, 0, 3]), tf.transpose(actions, [1, 2, 0, 3]),
                        tf.transpose(rewards, [1, 2, 0]), tf.transpose(alive_steps, [1, 2, 0]))
    return traj._replace(log_prob=tf.stop_gradient(step_log_probs(params, traj, activation)))


def returns_to_go(rewards, discount: float):
    """``G_t = Σ_{s ≥ t} γ^{s−t} r_s`` along the last axis."""
    horizon = rewards.shape[-1]
    powers = tf.pow(tf.constant(discount, rewards.dtype), tf.range(horizon, dtype=rewards.dtype))
    return tf.cumsum(rewards * powers, axis=-1, reverse=True) / powers


def baseline_features(obs, alive):
    """The MAML code's linear-baseline features: ``s, s², t/100, (t/100)², (t/100)³, 1``."""
    horizon = obs.shape[-2]
    time = tf.range(horizon, dtype=obs.dtype) / 100.0
    time = tf.broadcast_to(time[:, None], obs.shape[:-1] + (1,))
    feats = tf.concat([obs, obs * obs, time, time ** 2, time ** 3, tf.ones_like(time)], axis=-1)
    return feats * alive[..., None]


def linear_baseline(obs, returns, alive, ridge: float = 1e-5):
    """Each task's returns-to-go fitted by ridge regression on :func:`baseline_features`.

    One least-squares fit per task, over all its episodes' running steps, the
    ridge ``ridge × (mean diagonal of the Gram matrix + 1)``; returns the fitted
    values, shaped like ``returns`` (``(B, E, T)``).
    """
    batch = obs.shape[0]
    feats = baseline_features(obs, alive)
    width = feats.shape[-1]
    # a policy that has blown up gives non-finite features: fit zeros instead of failing the
    # solve, and let the non-finite returns report the blow-up
    feats = tf.reshape(tf.where(tf.math.is_finite(feats), feats, 0.0), (batch, -1, width))
    target = tf.reshape(returns * alive, (batch, -1, 1))
    target = tf.where(tf.math.is_finite(target), target, 0.0)
    gram = tf.matmul(feats, feats, transpose_a=True)
    # ridge relative to the features' scale: far-flung positions make the plain system singular
    scale = tf.linalg.trace(gram)[:, None, None] / width + 1.0
    gram += ridge * scale * tf.eye(width, dtype=obs.dtype)
    weights = tf.linalg.solve(gram, tf.matmul(feats, target, transpose_a=True))
    return tf.reshape(tf.matmul(feats, weights), returns.shape)


def advantages(traj: Trajectories, discount: float = 0.99, normalise: bool = True):
    """Returns-to-go minus the linear baseline; per task zero-mean, unit-std when ``normalise``.

    Returns ``(advantages, scale)``: advantages ``(B, E, T)`` are a constant
    to any tape (they are data) and 0 after an episode ended; ``scale`` (``(B,)``)
    is the factor ``c`` by which :func:`surrogate_loss`'s gradient is ``−c``
    times the policy gradient of an episode's expected return:
    ``E / (running steps · std)``, the std taken as 1 without ``normalise``.
    """
    returns = returns_to_go(traj.rewards, discount)
    adv = (returns - linear_baseline(traj.obs, returns, traj.alive)) * traj.alive
    count = tf.reduce_sum(traj.alive, axis=[1, 2], keepdims=True)
    std = tf.ones_like(count)
    if normalise:
        mean = tf.reduce_sum(adv, axis=[1, 2], keepdims=True) / count
        std = tf.sqrt(tf.reduce_sum(tf.square((adv - mean) * traj.alive), axis=[1, 2],
                                    keepdims=True) / count) + 1e-8
        adv = (adv - mean) * traj.alive / std
    scale = traj.alive.shape[1] / (count * std)[:, 0, 0]
    return tf.stop_gradient(adv), tf.stop_gradient(scale)


def step_log_probs(params: list, traj: Trajectories, activation: str = "relu"):
    """``log π(a_t | s_t)`` under ``params`` for every step of the trajectories: ``(B, E, T)``."""
    batch, episodes, horizon = traj.alive.shape
    obs = tf.reshape(traj.obs, (batch, episodes * horizon, 2))
    actions = tf.reshape(traj.actions, (batch, episodes * horizon, 2))
    return tf.reshape(log_prob(params, obs, actions, activation), traj.alive.shape)


def surrogate_loss(params: list, traj: Trajectories, adv, activation: str = "relu",
                   clip: float | None = None):
    """``−Σ_t log π(a_t|s_t) · A_t / (running steps)`` for each task: shape ``(B,)``.

    Its gradient is the REINFORCE policy gradient (with a baseline) of the
    trajectories' own policy — *with the trajectories held fixed*, which is all
    an inner step needs and not all an outer step needs (notebook 03, §7.3.4).
    With ``clip`` it is PPO's clipped objective instead, ``−Σ min(ρ A, clip(ρ,
    1 ± clip) A)`` with ``ρ = π(a|s) / π_sampling(a|s)``: the same gradient
    where ``params`` sampled the data (ρ = 1), and a bounded one when the data
    are reused for several outer steps.
    """
    logp = step_log_probs(params, traj, activation)
    if clip is None:
        total = logp * adv
    else:
        ratio = tf.exp(logp - traj.log_prob)
        total = tf.minimum(ratio * adv, tf.clip_by_value(ratio, 1 - clip, 1 + clip) * adv)
    return -tf.reduce_sum(total, axis=[1, 2]) / tf.reduce_sum(traj.alive, axis=[1, 2])


def trajectory_log_prob(params: list, traj: Trajectories, activation: str = "relu"):
    """``log p(D | θ)`` up to terms free of θ: every running step's ``log π``, summed per task."""
    return tf.reduce_sum(step_log_probs(params, traj, activation) * traj.alive, axis=[1, 2])


class GaussianPolicy:
    """One policy as a numpy function: ``policy(obs (n, 2)) → actions (n, 2)``, sampled.

    What ``adapt`` returns (notebook 03). :meth:`mean` gives the noise-free
    actions; :meth:`reseed` restarts the noise (``average_return`` calls it
    with its ``seed``). ``params`` are numpy arrays ``[W1, b1, ..., log_std]``.
    """

    def __init__(self, params: Sequence[np.ndarray], activation: str = "relu", seed: RngLike = 0):
        self.params = [np.asarray(p) for p in params]
        self.activation = activation
        self._rng = as_generator(seed)

    @property
    def std(self) -> np.ndarray:
        """The standard deviation of each action coordinate."""
        return np.exp(self.params[-1]).astype(float)

    def reseed(self, seed: RngLike) -> None:
        """Draw the action noise from a fresh generator seeded with ``seed``."""
        self._rng = as_generator(seed)

    def mean(self, obs: np.ndarray) -> np.ndarray:
        """The mean action (the deterministic part of the policy)."""
        obs = np.asarray(obs, dtype=self.params[0].dtype)
        if obs.ndim != 2 or obs.shape[1] != 2:
            raise ValueError(f"observations must have shape (n, 2), got {obs.shape}")
        return policy_mean(self.params, obs, self.activation).numpy().astype(float)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        mean = self.mean(obs)
        return mean + self.std * self._rng.standard_normal(mean.shape)
