"""Gradient steps on the quadratic bowls, and exact MAML / Meta-SGD meta-gradients (numpy reference).

Notebook 01 (section 7.1, Meta-SGD) and notebook 05 (sections 7.5–7.6, Reptile)
teach on the bowls of :mod:`chapter_utils.tasks.quadratic`, where every
gradient and Hessian is exact:

* :func:`sgd_path` — inner gradient steps ``θ ← θ − α ∘ ∇L`` (α scalar or per
  coordinate); :func:`meta_gradients` — the exact MAML / Meta-SGD
  meta-gradients through them; :func:`meta_train` — learn θ and α (notebook 01).
* :func:`preconditioner_meta_gradients` and :func:`meta_train_preconditioner` —
  one inner step ``θ ← θ − P ∇L`` with a full ``d × d`` matrix ``P`` in place of
  Meta-SGD's diagonal α (notebook 01, exercise 4).

Reptile on the same bowls lives in :mod:`chapter_utils.reference.quadratic_reptile`.
"""
from __future__ import annotations

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
from chapter_utils.tasks.quadratic import ArrayLike, QuadraticFamily, Quadratics


# ------------------------------------------------------------- inner steps, MAML
def sgd_path(quads: Quadratics, theta: ArrayLike, lr: ArrayLike,
             steps: Optional[int] = None) -> np.ndarray:
    """Inner gradient steps ``θ ← θ − lr ∘ ∇L``: the points visited, ``(steps + 1, ..., d)``.

    ``lr`` is a scalar (plain SGD, MAML's α) or per coordinate (Meta-SGD's α),
    broadcast like θ. With ``steps`` every step descends the same bowls; with
    ``steps=None`` the first axis of ``quads`` is the step: step ``t`` descends
    ``quads[t]`` (a new minibatch each step).
    """
    step_quads = _step_quads(quads, steps)
    lr = np.asarray(lr, dtype=float)
    shape = np.broadcast_shapes(np.shape(theta), quads.centres.shape[1 if steps is None else 0:],
                                lr.shape)
    path = [np.broadcast_to(np.asarray(theta, dtype=float), shape)]
    for q in step_quads:
        path.append(path[-1] - lr * q.gradient(path[-1]))
    return np.stack(path)


def _step_quads(quads: Quadratics, steps: Optional[int]) -> list[Quadratics]:
    if steps is None:
        if not quads.batch_shape:
            raise ValueError("with steps=None, quads needs a leading step axis")
        return [quads[t] for t in range(len(quads))]
    return [quads] * check_steps(steps)


def meta_gradients(train: Quadratics, theta: ArrayLike, alpha: ArrayLike,
                   steps: Optional[int] = None, test: Optional[Quadratics] = None,
                   first_order: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact MAML / Meta-SGD meta-gradients of ``test.loss(θ')``, θ′ the end of :func:`sgd_path`.

    Back-propagation by hand (notebook 01, §7.1.2): with ``v = ∇L_test(θ′)``,
    each step ``θ_{t+1} = θ_t − α ∘ g_t`` sends ``v ← v − A_t (α ∘ v)`` and adds
    ``−g_t ∘ v`` to ∇α; ∇θ is the final ``v``. ``first_order`` drops the
    ``A_t`` term (first-order MAML). ``test`` defaults to ``train`` (needs
    ``steps``). A scalar α gives a scalar ∇α per task (MAML's learnable rate).

    Returns ``(test loss (...), ∇θ (..., d), ∇α)``, per task; average them yourself.
    """
    if test is None:
        if steps is None:
            raise ValueError("give test bowls when train has a step axis (steps=None)")
        test = train
    alpha = np.asarray(alpha, dtype=float)
    if alpha.ndim > 0 and alpha.shape[-1] != train.dim:
        raise ValueError(f"alpha must be a scalar or have {train.dim} coordinates, got {alpha.shape}")
    step_quads = _step_quads(train, steps)
    path = sgd_path(train, theta, alpha, steps)
    final = path[-1]
    loss, v = test.loss(final), test.gradient(final)
    grad_alpha = np.zeros(np.broadcast_shapes(v.shape, alpha.shape))
    for t in reversed(range(len(step_quads))):
        grad_alpha = grad_alpha - step_quads[t].gradient(path[t]) * v
        if not first_order:
            v = v - np.einsum("...ij,...j->...i", step_quads[t].hessians, alpha * v)
    if alpha.ndim == 0:
        grad_alpha = grad_alpha.sum(axis=-1)
    return loss, v, grad_alpha


@dataclass
class MetaRun:
    """What :func:`meta_train` learned, and the path it took."""

    thetas: np.ndarray            #: θ before each iteration and at the end, ``(T + 1, d)``
    alphas: np.ndarray            #: α likewise, ``(T + 1, d)`` or ``(T + 1,)`` for a scalar
    losses: np.ndarray            #: mean post-step loss of each meta-batch, ``(T,)``
    seconds: float = 0.0

    @property
    def theta(self) -> np.ndarray:
        return self.thetas[-1]

    @property
    def alpha(self) -> np.ndarray:
        return self.alphas[-1]


def meta_train(family: QuadraticFamily, theta: ArrayLike, alpha: ArrayLike, *, beta: float,
               steps: int = 1, iterations: int = 300, tasks_per_batch: int = 32,
               learn_alpha: bool = True, rng: RngLike = 0,
               progress: Optional[Progress] = None) -> MetaRun:
    """Meta-SGD (α a vector), MAML with a learned rate (α a scalar) or plain MAML
    (``learn_alpha=False``) on ``family`` (notebook 01, §7.1.3–7.1.5).

    Each iteration draws ``tasks_per_batch`` bowls, takes ``steps`` inner steps
    and moves θ (and α) by ``−β ×`` the mean exact meta-gradient — the chapter's
    plain outer step. ``progress`` gets the batch's mean post-step loss; a run
    that overflows shows up there as ``inf`` or ``nan``.
    """
    beta = check_positive_float(beta, "beta")
    steps = check_steps(steps, minimum=1)
    iterations = check_positive_int(iterations, "iterations")
    tasks_per_batch = check_positive_int(tasks_per_batch, "tasks_per_batch")
    gen = as_generator(rng)
    theta = np.array(theta, dtype=float)
    alpha = np.array(alpha, dtype=float)
    if theta.shape != (family.dim,) or alpha.shape not in ((), (family.dim,)):
        raise ValueError(f"theta must have shape ({family.dim},) and alpha () or ({family.dim},), "
                         f"got {theta.shape} and {alpha.shape}")
    thetas, alphas, losses = [theta], [alpha], np.empty(iterations)
    start = time.perf_counter()
    with np.errstate(over="ignore", invalid="ignore"):
        for it in range(iterations):
            loss, g_theta, g_alpha = meta_gradients(family.sample(tasks_per_batch, gen),
                                                    theta, alpha, steps)
            theta = theta - beta * g_theta.mean(axis=0)
            if learn_alpha:
                alpha = alpha - beta * g_alpha.mean(axis=0)
            thetas.append(theta)
            alphas.append(alpha)
            losses[it] = loss.mean()
            if progress is not None:
                progress(it + 1, iterations, float(losses[it]))
    return MetaRun(np.array(thetas), np.array(alphas), losses, time.perf_counter() - start)


# ------------------------------------------------- a full preconditioning matrix P
def preconditioner_meta_gradients(train: Quadratics, theta: ArrayLike, P: ArrayLike
                                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact meta-gradients of ``train.loss(θ′)`` for one inner step ``θ′ = θ − P ∇L(θ)``
    with a full matrix ``P`` (``(d, d)``; a diagonal ``P`` is Meta-SGD's α).

    With ``g = A(θ − c)`` and ``v = A(θ′ − c)``: ``∇P = −v gᵀ`` and
    ``∇θ = (I − P A)ᵀ v = v − A Pᵀ v`` (notebook 01, exercise 4).

    Returns ``(loss (...), ∇θ (..., d), ∇P (..., d, d))``, per task.
    """
    P = np.asarray(P, dtype=float)
    if P.shape != (train.dim, train.dim):
        raise ValueError(f"P must have shape ({train.dim}, {train.dim}), got {P.shape}")
    g = train.gradient(theta)
    final = np.asarray(theta, dtype=float) - np.einsum("ij,...j->...i", P, g)
    loss, v = train.loss(final), train.gradient(final)
    grad_theta = v - np.einsum("...ij,kj,...k->...i", train.hessians, P, v)
    return loss, grad_theta, -v[..., :, None] * g[..., None, :]


def meta_train_preconditioner(family: QuadraticFamily, theta: ArrayLike, P: ArrayLike, *,
                              beta: float, iterations: int = 300, tasks_per_batch: int = 32,
                              diagonal: bool = False, rng: RngLike = 0) -> MetaRun:
    """Meta-learn θ and a full preconditioning matrix ``P`` for one inner step
    ``θ′ = θ − P ∇L`` on ``family`` — the plain outer step of :func:`meta_train`,
    with :func:`preconditioner_meta_gradients`. ``diagonal=True`` keeps ``P``
    diagonal (Meta-SGD; the same batches as :func:`meta_train` with the same
    ``rng``). ``alphas`` of the result are the ``P`` s, ``(T + 1, d, d)``.
    """
    beta = check_positive_float(beta, "beta")
    iterations = check_positive_int(iterations, "iterations")
    tasks_per_batch = check_positive_int(tasks_per_batch, "tasks_per_batch")
    gen = as_generator(rng)
    theta = np.array(theta, dtype=float)
    P = np.array(P, dtype=float)
    if theta.shape != (family.dim,) or P.shape != (family.dim, family.dim):
        raise ValueError(f"theta must have shape ({family.dim},) and P ({family.dim}, "
                         f"{family.dim}), got {theta.shape} and {P.shape}")
    mask = np.eye(family.dim) if diagonal else np.ones((family.dim, family.dim))
    P = P * mask
    thetas, Ps, losses = [theta], [P], np.empty(iterations)
    start = time.perf_counter()
    with np.errstate(over="ignore", invalid="ignore"):
        for it in range(iterations):
            loss, g_theta, g_P = preconditioner_meta_gradients(
                family.sample(tasks_per_batch, gen), theta, P)
            theta = theta - beta * g_theta.mean(axis=0)
            P = P - beta * mask * g_P.mean(axis=0)
            thetas.append(theta)
            Ps.append(P)
            losses[it] = loss.mean()
    return MetaRun(np.array(thetas), np.array(Ps), losses, time.perf_counter() - start)
