"""Reptile on quadratic bowls (notebook 05, sections 7.5–7.6).

The bowls are :class:`chapter_utils.reference.quadratics.Quadratics`. Here:

* :func:`reptile_update` — the chapter's update ``θ ← θ + ε · mean_i(φ_i − θ)``;
  :func:`reptile` — serial (one task per meta-iteration) or batched Reptile on a
  finite family; :func:`reptile_fixed_point` — where batched Reptile ends up.
* :func:`all_sequences`, :func:`inner_gradients` and :func:`gradient_statistics` —
  the quantities of the Reptile paper's Taylor expansion (Nichol et al. 2018,
  §5): the Reptile, first-order MAML and MAML updates for every minibatch
  sequence, and AvgGrad / AvgGradInner.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np

from chapter_utils.checks import (
    Progress,
    RngLike,
    as_generator,
    check_positive_float,
    check_positive_int,
    check_steps,
)
from chapter_utils.reference.quadratics import meta_gradients, sgd_path
from chapter_utils.tasks.quadratic import ArrayLike, Quadratics


def reptile_update(theta: ArrayLike, targets: ArrayLike, epsilon: float) -> np.ndarray:
    """``θ + ε · mean_i(φ_i − θ)`` for targets ``φ_i`` of shape ``(n, d)`` (chapter 7.6).

    One target is the serial update ``θ + ε (φ − θ)``; several, the batched one.
    """
    theta, targets = np.asarray(theta, float), np.asarray(targets, float)
    if theta.ndim != 1 or targets.ndim != 2 or targets.shape[1] != theta.shape[0]:
        raise ValueError(f"theta must have shape (d,) and targets (n, d), got "
                         f"{theta.shape} and {targets.shape}")
    return theta + epsilon * (targets - theta).mean(axis=0)


@dataclass
class ReptileRun:
    """A Reptile run on a finite family of bowls (notebook 05)."""

    thetas: np.ndarray     #: θ before each meta-iteration and at the end, ``(T + 1, d)``
    tasks: np.ndarray      #: the bowls each iteration used, ``(T, n)`` indices
    paths: np.ndarray      #: each inner loop's points, ``(T, k + 1, n, d)``; ``paths[:, -1]`` = φ
    losses: np.ndarray     #: mean loss of the whole family at θ after each iteration, ``(T,)``
    seconds: float = 0.0

    @property
    def targets(self) -> np.ndarray:
        """The inner loops' end points φ (the chapter's θ*), ``(T, n, d)``."""
        return self.paths[:, -1]


def reptile(family: Quadratics, theta: ArrayLike, *, epsilon: float, lr: float, steps: int,
            iterations: int, tasks_per_batch: int = 1, rng: RngLike = 0,
            progress: Optional[Progress] = None) -> ReptileRun:
    """Reptile (chapter 7.6) on the bowls of ``family`` (batch shape ``(N,)``), uniform over them.

    Each meta-iteration draws ``tasks_per_batch`` distinct bowls (1: the serial
    version; N: the batched version over the whole family), runs ``steps`` SGD
    steps of rate ``lr`` on each from θ to φ_i, then ``θ ← θ + ε · mean(φ_i − θ)``.
    ``progress`` gets the family's mean loss at the new θ.
    """
    epsilon, lr = check_positive_float(epsilon, "epsilon"), check_positive_float(lr, "lr")
    steps = check_steps(steps, minimum=1)
    iterations = check_positive_int(iterations, "iterations")
    n = check_positive_int(tasks_per_batch, "tasks_per_batch")
    if len(family.batch_shape) != 1 or n > len(family):
        raise ValueError(f"family must be a 1-D batch of at least tasks_per_batch = {n} bowls, "
                         f"got batch shape {family.batch_shape}")
    gen = as_generator(rng)
    theta = np.array(theta, dtype=float)
    if theta.shape != (family.dim,):
        raise ValueError(f"theta must have shape ({family.dim},), got {theta.shape}")
    thetas, chosen, paths, losses = [theta], [], [], np.empty(iterations)
    start = time.perf_counter()
    with np.errstate(over="ignore", invalid="ignore"):
        for it in range(iterations):
            picked = gen.choice(len(family), size=n, replace=False)
            path = sgd_path(family[picked], theta, lr, steps)
            theta = reptile_update(theta, path[-1], epsilon)
            thetas.append(theta)
            chosen.append(picked)
            paths.append(path)
            losses[it] = family.loss(theta).mean()
            if progress is not None:
                progress(it + 1, iterations, float(losses[it]))
    return ReptileRun(np.array(thetas), np.array(chosen), np.array(paths), losses,
                      time.perf_counter() - start)


def reptile_fixed_point(family: Quadratics, lr: float, steps: int) -> np.ndarray:
    """Where Reptile's mean update vanishes on the bowls of ``family`` (uniformly weighted).

    ``k`` steps of rate ``lr`` map θ to ``φ = c + (I − lr A)^k (θ − c)``, so the
    mean update ``E[P (c − θ)]`` with ``P = I − (I − lr A)^k`` is zero at
    ``θ = E[P]⁻¹ E[P c]``. One step (``P = lr A``) gives the minimum of the mean
    loss, ``E[A]⁻¹ E[A c]``; many steps (``P → I``) the mean of the minima.
    """
    lr, steps = check_positive_float(lr, "lr"), check_steps(steps, minimum=1)
    step = np.eye(family.dim) - lr * family.hessians
    p = np.eye(family.dim) - np.linalg.matrix_power(step, steps)
    p_mean = p.reshape(-1, family.dim, family.dim).mean(axis=0)
    pc_mean = np.einsum("...ij,...j->...i", p, family.centres).reshape(-1, family.dim).mean(axis=0)
    return np.linalg.solve(p_mean, pc_mean)


# ------------------------------------------- the Reptile paper's Taylor expansion
def all_sequences(m: int, k: int) -> np.ndarray:
    """Every sequence of ``k`` minibatch indices drawn with replacement from ``m``: ``(m**k, k)``."""
    m, k = check_positive_int(m, "m"), check_positive_int(k, "k")
    return np.array(list(itertools.product(range(m), repeat=k)), dtype=int)


def inner_gradients(batches: Quadratics, theta: ArrayLike, alpha: float,
                    sequences: np.ndarray) -> dict[str, np.ndarray]:
    """The three meta-gradients of the Reptile paper (§5) for every task and minibatch sequence.

    ``batches`` has batch shape ``(n_tasks, m)`` (see :func:`minibatches`);
    ``sequences`` ``(S, k)`` picks the minibatch of each inner step. With
    ``φ_1 = θ`` and ``φ_{i+1} = φ_i − α g_i`` (``g_i`` the gradient of minibatch
    ``i`` at ``φ_i``), returns arrays ``(n_tasks, S, d)``:

    * ``"Reptile"`` — ``(φ_1 − φ_{k+1}) / α`` after all ``k`` steps;
    * ``"first-order MAML"`` — ``g_k``, minibatch k's gradient after k − 1 steps;
    * ``"MAML"`` — the exact gradient of minibatch k's loss at ``φ_k`` w.r.t. θ.
    """
    alpha = check_positive_float(alpha, "alpha")
    sequences = np.asarray(sequences)
    if len(batches.batch_shape) != 2 or sequences.ndim != 2 or sequences.shape[1] < 1:
        raise ValueError(f"batches must have batch shape (n_tasks, m) and sequences (S, k ≥ 1), "
                         f"got {batches.batch_shape} and {sequences.shape}")
    if sequences.min() < 0 or sequences.max() >= batches.batch_shape[1]:
        raise ValueError(f"sequence indices must lie in [0, {batches.batch_shape[1]})")
    steps = Quadratics(np.moveaxis(batches.centres[:, sequences], 2, 0),   # (k, n, S, d)
                       np.moveaxis(batches.hessians[:, sequences], 2, 0))
    theta = np.asarray(theta, dtype=float)
    path = sgd_path(steps, theta, alpha)
    last, before = steps[-1], steps[:-1]
    _, maml, _ = meta_gradients(before, theta, alpha, test=last)
    return {"Reptile": (path[0] - path[-1]) / alpha,
            "first-order MAML": last.gradient(path[-2]),
            "MAML": maml}


def gradient_statistics(batches: Quadratics, theta: ArrayLike) -> dict[str, np.ndarray]:
    """AvgGrad and AvgGradInner at θ (Reptile paper §5), exact over a finite family.

    ``batches`` ``(n_tasks, m)``: a task is drawn uniformly, then minibatches
    independently and uniformly with replacement. ``ḡ_b`` and ``H̄_b`` are
    minibatch b's gradient and Hessian at θ.

    * ``"AvgGrad"`` = E[ḡ₁] — the gradient of the expected loss;
    * ``"AvgGradInner"`` = E[H̄₂ ḡ₁], two independent minibatches of one task;
    * ``"same minibatch"`` = E[H̄₁ ḡ₁], for contrast.
    """
    if len(batches.batch_shape) != 2:
        raise ValueError(f"batches must have batch shape (n_tasks, m), got {batches.batch_shape}")
    g = batches.gradient(np.asarray(theta, dtype=float))                   # (n, m, d)
    h = batches.hessians
    inner = np.einsum("nij,nj->ni", h.mean(axis=1), g.mean(axis=1))
    same = np.einsum("nmij,nmj->ni", h, g) / g.shape[1]
    return {"AvgGrad": g.mean(axis=(0, 1)), "AvgGradInner": inner.mean(axis=0),
            "same minibatch": same.mean(axis=0)}
