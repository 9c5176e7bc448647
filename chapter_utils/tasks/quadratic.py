"""Quadratic bowls in 2-D: the exactly solvable task family of §7.1 and §7.5–7.6 (notebooks 01, 05, 08).

A task's loss is a bowl

    L_i(θ) = ½ (θ − c_i)ᵀ A_i (θ − c_i),   gradient A_i (θ − c_i),   Hessian A_i,

with minimum c_i and symmetric positive-definite curvature A_i. Everything is
exact and vectorised: a :class:`Quadratics` holds any number of bowls along
leading axes (tasks, minibatches, inner steps), and a point θ of shape
``(..., d)`` broadcasts against them.

* :class:`QuadraticFamily` — bowls whose minima scatter around a centre, with
  anisotropic (and optionally rotated, optionally jittered) curvature;
  :func:`minibatches` — noisy draws of each bowl, as a minibatch would give;
  :func:`loss_grid` — losses on a grid, for contour plots.

Gradient steps on the bowls, Meta-SGD / MAML meta-gradients and Reptile are the
numpy references :mod:`chapter_utils.reference.quadratics` and
:mod:`chapter_utils.reference.quadratic_reptile`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import numpy as np

from chapter_utils.checks import RngLike, as_generator, check_positive_int

ArrayLike = Union[float, np.ndarray]


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

    def __getitem__(self, index) -> Quadratics:
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
    its own) and ``R`` a rotation by ``angle`` (common to every task) plus an angle
    uniform in ``[−max_angle, max_angle]`` (each task its own). Both ``0``:
    axis-aligned bowls; rotations are 2-D only.
    """

    centre: tuple[float, ...] = (0.0, 0.0)
    spread: float = 1.0
    curvatures: tuple[float, ...] = (1.0, 1.0)
    jitter: float = 0.0
    max_angle: float = 0.0
    angle: float = 0.0

    def __post_init__(self) -> None:
        if len(self.centre) != len(self.curvatures) or len(self.centre) < 1:
            raise ValueError(f"centre {self.centre} and curvatures {self.curvatures} must have "
                             f"the same, non-zero length")
        if min(self.curvatures) <= 0:
            raise ValueError(f"curvatures must be positive, got {self.curvatures}")
        if self.spread < 0 or self.jitter < 0 or self.max_angle < 0:
            raise ValueError("spread, jitter and max_angle must be ≥ 0")
        if (self.max_angle > 0 or self.angle != 0) and self.dim != 2:
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
        if self.max_angle > 0 or self.angle != 0:
            turn = np.full(n, float(self.angle))
            if self.max_angle > 0:
                turn = turn + gen.uniform(-self.max_angle, self.max_angle, n)
            r = rotation(turn)
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
