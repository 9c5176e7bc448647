"""Quadratic bowls in 2-D, gradient steps on them, and MAML / Meta-SGD meta-gradients.

Notebook 01 (section 7.1, Meta-SGD) and notebook 05 (sections 7.5–7.6, Reptile)
use tasks whose loss is a bowl

    L_i(θ) = ½ (θ − c_i)ᵀ A_i (θ − c_i),   gradient A_i (θ − c_i),   Hessian A_i,

with minimum c_i and symmetric positive-definite curvature A_i. Everything is
exact and vectorised: a :class:`Quadratics` holds any number of bowls along
leading axes (tasks, minibatches, inner steps), and a point θ of shape
``(..., d)`` broadcasts against them.

* :class:`QuadraticFamily` — bowls whose minima scatter around a centre, with
  anisotropic (and optionally rotated, optionally jittered) curvature;
  :func:`minibatches` — noisy draws of each bowl, as a minibatch would give;
  :func:`loss_grid` — losses on a grid, for contour plots.
* :func:`sgd_path` — inner gradient steps ``θ ← θ − α ∘ ∇L`` (α scalar or per
  coordinate); :func:`meta_gradients` — the exact MAML / Meta-SGD
  meta-gradients through them; :func:`meta_train` — learn θ and α (notebook 01).

Reptile on the same bowls lives in :mod:`chapter_utils.quadratic_reptile`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Optional, Union

import numpy as np

from .tasks import RngLike, as_generator, check_positive_int

#: ``progress(iteration, total, loss)``; it may raise to stop a run (the panels do).
ProgressFn = Callable[[int, int, float], None]
ArrayLike = Union[float, np.ndarray]


def check_steps(steps: object, minimum: int = 0) -> int:
    """``steps`` as an int, or ``ValueError`` unless it is an integer ≥ ``minimum``."""
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < minimum:
        raise ValueError(f"steps must be an integer ≥ {minimum}, got {steps!r}")
    return int(steps)


def check_positive_number(value: float, name: str) -> float:
    """``value`` as a float, or ``ValueError`` unless it is finite and > 0."""
    if not np.isfinite(value) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


# ------------------------------------------------------------------------- bowls
@dataclass(frozen=True)
class Quadratics:
    """Bowls ``½ (θ − c)ᵀ A (θ − c)``: ``centres (..., d)`` and ``hessians (..., d, d)``.

    The leading axes (the *batch shape*) index tasks, minibatches or steps.
    Each ``A`` must be symmetric; indexing (``quads[i]``) selects along them.
    """

    centres: np.ndarray
    hessians: np.ndarray

    def __post_init__(self) -> None:
        c = np.asarray(self.centres, dtype=float)
        a = np.asarray(self.hessians, dtype=float)
        if c.ndim < 1 or a.shape != c.shape + c.shape[-1:]:
            raise ValueError(f"hessians must have shape centres.shape + (d,) = "
                             f"{c.shape + c.shape[-1:]}, got centres {c.shape}, hessians {a.shape}")
        if not np.allclose(a, np.swapaxes(a, -1, -2)):
            raise ValueError("every Hessian must be symmetric")
        object.__setattr__(self, "centres", c)
        object.__setattr__(self, "hessians", a)

    @property
    def dim(self) -> int:
        return self.centres.shape[-1]

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return self.centres.shape[:-1]

    def __len__(self) -> int:
        if not self.batch_shape:
            raise TypeError("a single bowl has no length")
        return self.batch_shape[0]

    def __getitem__(self, index) -> "Quadratics":
        return Quadratics(self.centres[index], self.hessians[index])

    def _offset(self, theta: ArrayLike) -> np.ndarray:
        theta = np.asarray(theta, dtype=float)
        if theta.ndim < 1 or theta.shape[-1] != self.dim:
            raise ValueError(f"theta must have shape (..., {self.dim}), got {theta.shape}")
        return theta - self.centres

    def loss(self, theta: ArrayLike) -> np.ndarray:
        """``½ (θ − c)ᵀ A (θ − c)``, broadcast over the batch; shape ``(...)``."""
        diff = self._offset(theta)
        return 0.5 * np.einsum("...i,...ij,...j->...", diff, self.hessians, diff)

    def gradient(self, theta: ArrayLike) -> np.ndarray:
        """``A (θ − c)``, shape ``(..., d)``."""
        return np.einsum("...ij,...j->...i", self.hessians, self._offset(theta))

    def hessian(self, theta: ArrayLike) -> np.ndarray:
        """``A`` (constant), broadcast to θ's batch: shape ``(..., d, d)``."""
        shape = self._offset(theta).shape
        return np.broadcast_to(self.hessians, shape + shape[-1:])


def rotation(angle: ArrayLike) -> np.ndarray:
    """2-D rotation matrices, shape ``angle.shape + (2, 2)``."""
    cos, sin = np.cos(angle), np.sin(angle)
    return np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)


@dataclass(frozen=True)
class QuadraticFamily:
    """A distribution over bowls (notebooks 01 and 05).

    Minima ``c = centre + spread · N(0, I)``. Curvature ``A = R diag(λ) Rᵀ``
    with eigenvalues ``λ_j = curvatures[j] · exp(jitter · N(0, 1))`` (each task
    its own) and ``R`` a rotation by an angle uniform in
    ``[−max_angle, max_angle]`` (``0``: axis-aligned bowls, 2-D only otherwise).
    """

    centre: tuple[float, ...] = (0.0, 0.0)
    spread: float = 1.0
    curvatures: tuple[float, ...] = (1.0, 1.0)
    jitter: float = 0.0
    max_angle: float = 0.0

    def __post_init__(self) -> None:
        if len(self.centre) != len(self.curvatures) or len(self.centre) < 1:
            raise ValueError(f"centre {self.centre} and curvatures {self.curvatures} must have "
                             f"the same, non-zero length")
        if min(self.curvatures) <= 0:
            raise ValueError(f"curvatures must be positive, got {self.curvatures}")
        if self.spread < 0 or self.jitter < 0 or self.max_angle < 0:
            raise ValueError("spread, jitter and max_angle must be ≥ 0")
        if self.max_angle > 0 and self.dim != 2:
            raise ValueError("rotated bowls are only defined in 2-D")

    @property
    def dim(self) -> int:
        return len(self.centre)

    def sample(self, n: int, rng: RngLike = None) -> Quadratics:
        """``n`` bowls, batch shape ``(n,)``."""
        n = check_positive_int(n, "n")
        gen = as_generator(rng)
        centres = np.asarray(self.centre, float) + self.spread * gen.standard_normal((n, self.dim))
        eigen = np.asarray(self.curvatures, float) * np.exp(
            self.jitter * gen.standard_normal((n, self.dim)))
        hessians = eigen[:, :, None] * np.eye(self.dim)
        if self.max_angle > 0:
            r = rotation(gen.uniform(-self.max_angle, self.max_angle, n))
            hessians = r @ hessians @ np.swapaxes(r, -1, -2)
            hessians = 0.5 * (hessians + np.swapaxes(hessians, -1, -2))
        return Quadratics(centres, hessians)


def loss_grid(quads: Quadratics, xlim: tuple[float, float], ylim: tuple[float, float],
              points: int = 150) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``X, Y`` of a ``points × points`` grid and the losses there, ``(points, points) + batch_shape``
    (for ``plt.contour(X, Y, Z)``; average ``Z`` over the last axis for a family's mean loss)."""
    if quads.dim != 2:
        raise ValueError(f"a contour grid needs 2-D bowls, got d = {quads.dim}")
    points = check_positive_int(points, "points")
    x, y = np.meshgrid(np.linspace(*xlim, points), np.linspace(*ylim, points))
    grid = np.stack([x, y], -1).reshape((points, points) + (1,) * len(quads.batch_shape) + (2,))
    return x, y, quads.loss(grid)


def minibatches(tasks: Quadratics, m: int, rng: RngLike = None, *, centre_noise: float = 0.5,
                curvature_noise: float = 0.3) -> Quadratics:
    """``m`` noisy draws of each bowl (notebook 05, §7.6.3): batch shape ``tasks.batch_shape + (m,)``.

    A draw moves the minimum by ``centre_noise · N(0, I)`` and rescales the
    curvature as ``S A S``, ``S = diag(exp(curvature_noise · N(0, 1)))`` — the
    gradient *and* the Hessian of a minibatch differ from draw to draw.
    """
    m = check_positive_int(m, "m")
    if centre_noise < 0 or curvature_noise < 0:
        raise ValueError("centre_noise and curvature_noise must be ≥ 0")
    gen = as_generator(rng)
    shape = tasks.batch_shape + (m, tasks.dim)
    centres = tasks.centres[..., None, :] + centre_noise * gen.standard_normal(shape)
    scale = np.exp(curvature_noise * gen.standard_normal(shape))
    hessians = scale[..., :, None] * tasks.hessians[..., None, :, :] * scale[..., None, :]
    return Quadratics(centres, hessians)


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
               progress: Optional[ProgressFn] = None) -> MetaRun:
    """Meta-SGD (α a vector), MAML with a learned rate (α a scalar) or plain MAML
    (``learn_alpha=False``) on ``family`` (notebook 01, §7.1.3–7.1.5).

    Each iteration draws ``tasks_per_batch`` bowls, takes ``steps`` inner steps
    and moves θ (and α) by ``−β ×`` the mean exact meta-gradient — the chapter's
    plain outer step. ``progress`` gets the batch's mean post-step loss; a run
    that overflows shows up there as ``inf`` or ``nan``.
    """
    beta = check_positive_number(beta, "beta")
    steps = check_steps(steps, 1)
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
