"""A one-step Gaussian bandit whose meta-gradient is known exactly (notebook 03, §7.3.4).

The case on which :mod:`chapter_utils.learners.policy_gradient`'s outer-gradient
estimators are checked. A policy ``a ~ N(b, σ²I)`` in 2-D earns
``r(a) = −‖a − g‖²``. The inner step takes the REINFORCE gradient of ``n``
samples (no baseline), ``ĝ = (1/n) Σ r(aᵢ)(aᵢ − b)/σ²``, and moves
``b' = b + α ∘ ĝ``; the meta-objective is the expected reward after the step,

    J(b) = E_D[ −‖b' − g‖² − 2σ² ] = −Σⱼ [ (dⱼ(1 − 2αⱼ))² + αⱼ² Var ĝⱼ ] − 2σ²,

with ``d = b − g`` and ``Var ĝⱼ`` from the Gaussian moments (written out in
:func:`exact_meta_objective`). Its gradient is what an unbiased estimator must
average to; the policy here is the navigation policy with no hidden layer,
observed at the origin, so its mean is the bias ``b``.
"""
from __future__ import annotations

import numpy as np

from chapter_utils.checks import check_positive_float, check_positive_int
from chapter_utils.environment import import_tensorflow
from chapter_utils.learners import policy_gradient as mpg
from chapter_utils.nets import gaussian_policy as gp

tf = import_tensorflow()


def _check_pair(value: object, name: str) -> np.ndarray:
    value = np.asarray(value, dtype=float)
    if value.shape != (2,) or not np.all(np.isfinite(value)):
        raise ValueError(f"{name} must be two finite numbers, got {value!r}")
    return value


def exact_meta_objective(b, goal, sigma: float, alpha, n: int):
    """``J(b)`` in closed form (a TF scalar, differentiable in ``b``); module docstring.

    With ``r = −(u₁ + u₂)``, ``uⱼ = (dⱼ + σzⱼ)²``, ``n·Var ĝⱼ = E[(r zⱼ)²]/σ² − 4dⱼ²``
    and ``E[(r zⱼ)²] = E[uⱼ²zⱼ²] + 2E[uⱼzⱼ²]E[uₖ] + E[uₖ²]`` (k the other coordinate).
    """
    b = tf.convert_to_tensor(b, tf.float64)
    d = b - tf.constant(goal, tf.float64)
    s2 = float(sigma) ** 2
    e_u2z2 = d ** 4 + 18 * d ** 2 * s2 + 15 * s2 ** 2
    e_uz2 = d ** 2 + 3 * s2
    e_u_other = tf.reverse(d ** 2 + s2, [0])
    e_u2_other = tf.reverse(d ** 4 + 6 * d ** 2 * s2 + 3 * s2 ** 2, [0])
    var = ((e_u2z2 + 2 * e_uz2 * e_u_other + e_u2_other) / s2 - 4 * d ** 2) / n
    alpha = tf.constant(alpha, tf.float64)
    return -tf.reduce_sum(tf.square(d * (1 - 2 * alpha)) + alpha ** 2 * var) - 2 * s2


def exact_meta_gradient(b, goal, sigma: float, alpha, n: int) -> np.ndarray:
    """``∇b J`` of :func:`exact_meta_objective`, by automatic differentiation of the closed form."""
    b = tf.Variable(_check_pair(b, "b"))
    goal, alpha = _check_pair(goal, "goal"), _check_pair(alpha, "alpha")
    sigma = check_positive_float(sigma, "sigma")
    n = check_positive_int(n, "n")
    with tf.GradientTape() as tape:
        objective = exact_meta_objective(b, goal, sigma, alpha, n)
    return tape.gradient(objective, b).numpy()


def estimated_meta_gradients(estimator: str, b, goal, sigma: float, alpha, n: int,
                             tasks: int = 20_000, repeats: int = 20, seed: int = 0) -> np.ndarray:
    """``repeats`` estimates of ``∇b J``, each the mean over ``tasks`` independent inner batches.

    Runs :func:`chapter_utils.learners.policy_gradient.meta_loss` with the given
    ``estimator`` on the bandit (one-step episodes; the reward itself is the
    advantage, so no baseline enters the inner step). Returns ``(repeats, 2)``:
    their mean estimates the estimator's expectation, their spread its error.
    """
    if estimator not in mpg.ESTIMATORS:
        raise ValueError(f"estimator must be one of {mpg.ESTIMATORS}, got {estimator!r}")
    b, goal, alpha = _check_pair(b, "b"), _check_pair(goal, "goal"), _check_pair(alpha, "alpha")
    sigma = check_positive_float(sigma, "sigma")
    n, tasks, repeats = (check_positive_int(v, name) for v, name in
                         ((n, "n"), (tasks, "tasks"), (repeats, "repeats")))
    if tasks < 2:
        raise ValueError("tasks must be ≥ 2 (the unbiased estimator's baseline leaves one out)")
    theta = [tf.zeros((2, 2), tf.float64), tf.constant(b), tf.constant(np.full(2, np.log(sigma)))]
    rates = [tf.zeros((2, 2), tf.float64), tf.constant(alpha), tf.zeros(2, tf.float64)]
    target = tf.constant(goal)

    def one(repeat: int) -> np.ndarray:
        def collect(params: list, k: int):
            noise = tf.random.stateless_normal((tasks, n, 1, 2), seed=[seed, 2 * repeat + k],
                                               dtype=tf.float64)
            obs = tf.zeros((tasks, n, 1, 2), tf.float64)
            mean = gp.policy_mean(params, obs[:, :, 0])[:, :, None, :]
            actions = tf.stop_gradient(mean + tf.exp(params[-1])[:, None, None, :] * noise)
            rewards = -tf.reduce_sum(tf.square(actions - target), axis=-1)
            traj = gp.Trajectories(obs, actions, rewards, tf.ones_like(rewards))
            return traj, rewards, tf.ones((tasks,), tf.float64)
        with tf.GradientTape() as tape:
            tape.watch(theta)
            loss, _, _ = mpg.meta_loss(theta, rates, collect, tasks, 1, estimator)
        return -tape.gradient(loss, theta)[1].numpy()
    return np.array([one(r) for r in range(repeats)])
