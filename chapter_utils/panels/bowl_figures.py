"""Pictures of the quadratic bowls, drawn in notebooks 01 and 05 and redrawn by their panels.

Each helper draws one picture twice: once in a notebook's lesson and once in that notebook's
panel (:mod:`chapter_utils.panels.bowls`). Keeping it here means the two can't drift apart.

* :func:`alpha_landscape` and :func:`draw_landscape` — notebook 01 (§7.1.3, and the panel of
  §7.1.5): the mean loss after the inner steps over the plane of Meta-SGD's two step sizes
  (α₁, α₂), with the paths α took during meta-training.
* :data:`TASK_COLOURS`, :func:`frame` and :func:`draw_reptile` — notebook 05 (§7.6.1, and the
  panel of §7.6.4): Reptile's θ, meta-iteration by meta-iteration, on the contours of the
  family's mean loss, with the inner loops and where Reptile comes to rest.

Uses numpy and matplotlib only (no TensorFlow).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import matplotlib
import numpy as np

from chapter_utils import plotting
from chapter_utils.reference import quadratic_reptile as qr
from chapter_utils.reference import quadratics as q
from chapter_utils.tasks.quadratic import ArrayLike, Quadratics, loss_grid

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from chapter_utils.reference.quadratic_reptile import ReptileRun

#: One colour per task in notebook 05's pictures: tab20's 10 dark colours, then its 10 light ones.
TASK_COLOURS = matplotlib.colormaps["tab20"].colors[::2] + matplotlib.colormaps["tab20"].colors[1::2]


# ------------------------------------------------------------------ notebook 01, §7.1
def alpha_landscape(theta: ArrayLike, steps: int, bowls: Quadratics,
                    a1: tuple[float, float] = (-0.5, 1.5), a2: tuple[float, float] = (-1.0, 4.0),
                    points: int = 41) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The α-plane of notebook 01 (§7.1.3): mean loss of ``bowls`` after ``steps`` inner steps
    θ ← θ − α ∘ ∇L from ``theta``, for every α = (α₁, α₂) on a ``points × points`` grid.

    Returns ``x, y, z`` for :func:`matplotlib.axes.Axes.contourf`; a step size that
    blows the inner steps up gives ``inf`` or ``nan`` there, without a warning.
    """
    x, y = np.meshgrid(np.linspace(*a1, points), np.linspace(*a2, points))
    alphas = np.stack([x, y], -1)[:, :, None, :]            # (points, points, 1 bowl axis, 2)
    with np.errstate(over="ignore", invalid="ignore"):
        z = bowls.loss(q.sgd_path(bowls, theta, alphas, steps)[-1]).mean(-1)
    return x, y, z


def draw_landscape(ax: Axes, theta: ArrayLike, steps: int, bowls: Quadratics,
                   paths: Mapping[str, np.ndarray],
                   colours: Mapping[str, str] | None = None) -> Axes:
    """Draw notebook 01's α-plane (§7.1.3 and its panel, §7.1.5) on ``ax``.

    Filled contours of :func:`alpha_landscape` at ``theta``, the diagonal α₁ = α₂
    (every scalar α: MAML's fixed one or a learned one), and for each
    ``name -> alphas`` in ``paths`` the path α took during meta-training
    (``(T + 1, 2)``, or ``(T + 1,)`` for a scalar α; a fixed α is a single point),
    in ``colours[name]`` or else :func:`chapter_utils.plotting.colour` ``(name, i)``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    x, y, z = alpha_landscape(theta, steps, bowls)
    levels = np.geomspace(max(z.min(), 1e-4), 10 * np.median(z), 14)
    filled = ax.contourf(x, y, np.clip(z, None, levels[-1]), levels=levels, cmap="Greys",
                         norm=LogNorm())
    plt.colorbar(filled, ax=ax, label="mean loss after the inner steps", format="%.2g")
    ax.plot([-1, 4], [-1, 4], "--", color="0.3", lw=1, label="α₁ = α₂: one scalar α")
    for i, (name, alphas) in enumerate(paths.items()):
        colour = (colours or {}).get(name) or plotting.colour(name, i)
        alphas = np.asarray(alphas, dtype=float)
        alphas = np.broadcast_to(alphas[:, None] if alphas.ndim == 1 else alphas, (len(alphas), 2))
        ax.plot(alphas[:, 0], alphas[:, 1], "-", color=colour, lw=2, label=name)
        ax.plot(*alphas[-1], "o", color=colour, mec="white", ms=8)
    ax.set(xlim=(-0.5, 1.5), ylim=(-1.0, 4.0), xlabel="α₁", ylabel="α₂",
           title=f"α-plane at the learned θ, {steps} inner step(s)")
    ax.legend(loc="upper right", fontsize="small", framealpha=0.9)
    return ax


# ------------------------------------------------------------------ notebook 05, §7.6
def frame(tasks: Quadratics, theta0: ArrayLike,
          margin: float = 1.5) -> tuple[tuple[float, float], tuple[float, float]]:
    """``xlim, ylim`` that show every task's minimum and ``theta0``, ``margin`` beyond them
    (notebook 05's pictures)."""
    points = np.vstack([tasks.centres, theta0])
    low, high = points.min(0) - margin, points.max(0) + margin
    return (low[0], high[0]), (low[1], high[1])


def resting_points(tasks, lr: float, max_steps: int) -> np.ndarray:
    """Reptile's resting point for k = 1 … ``max_steps`` inner steps of rate ``lr``, ``(max_steps, d)``.

    Where the inner loop is unstable (``lr`` above 2 / the steepest curvature) the
    mean update matrix can be singular or overflow for some k: there is no resting
    point then, and that row is NaN (a gap in the drawn curve, not an error).
    """
    rows = []
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(1, max_steps + 1):
            try:
                point = qr.reptile_fixed_point(tasks, lr, k)
            except np.linalg.LinAlgError:
                point = np.full(tasks.dim, np.nan)
            rows.append(point if np.all(np.isfinite(point)) else np.full(tasks.dim, np.nan))
    return np.array(rows)


def draw_reptile(ax: Axes, tasks: Quadratics, run: ReptileRun, lr: float, steps: int, title: str,
                 shown: int = 6) -> Axes:
    """Draw a Reptile run on ``tasks`` (notebook 05, §7.6.1 and its panel, §7.6.4) on ``ax``.

    The contours of the tasks' mean loss; each task's minimum cᵢ (a star) and one
    level set of its own bowl (dotted), in its colour of :data:`TASK_COLOURS`;
    the inner loops of the first ``shown`` meta-iterations, each ending at φᵢ;
    θ after every meta-iteration (black); and the resting points of
    :func:`chapter_utils.reference.quadratic_reptile.reptile_fixed_point` for
    k = 1 … 200 inner steps of rate ``lr`` — the one for ``steps`` marked — with
    the minimum of the mean loss and the mean of the minima.
    """
    xlim, ylim = frame(tasks, run.thetas[0])
    x, y, z = loss_grid(tasks, xlim, ylim)
    mean_loss = z.mean(axis=-1)
    ax.contour(x, y, mean_loss, levels=np.quantile(mean_loss, np.linspace(0.02, 0.9, 12)),
               colors="0.8", linewidths=0.8)
    for i in range(len(tasks)):
        colour = TASK_COLOURS[i % len(TASK_COLOURS)]
        ax.contour(x, y, z[..., i], levels=[0.25], colors=[colour], linewidths=0.8,
                   linestyles=":")                          # one level set of the task's own bowl
        ax.plot(*tasks.centres[i], "*", ms=13, color=colour, mec="black", mew=0.6, zorder=4)
        for it in range(min(shown, len(run.tasks))):
            for j in np.flatnonzero(run.tasks[it] == i):
                path = run.paths[it, :, j]
                ax.plot(path[:, 0], path[:, 1], color=colour, lw=0.9, alpha=0.9)
                ax.plot(*path[-1], "o", color=colour, ms=4)
    ax.plot(run.thetas[:, 0], run.thetas[:, 1], ".-", color="black", lw=1.3, ms=3, zorder=5,
            label="θ, meta-iteration by meta-iteration")
    curve = resting_points(tasks, lr, 200)
    ax.plot(curve[:, 0], curve[:, 1], "--", color="black", lw=1.2,
            label="resting point for k = 1 … 200 steps")
    if np.all(np.isfinite(curve[steps - 1])):
        ax.plot(*curve[steps - 1], "X", color="black", ms=11, mec="white", zorder=6,
                label=f"resting point for k = {steps}")
    ax.plot(*curve[0], "D", color="white", ms=8, mec="black", zorder=6,
            label="minimum of the mean loss (k = 1)")
    ax.plot(*tasks.centres.mean(0), "P", color="white", ms=10, mec="black", zorder=6,
            label="mean of the task minima")
    ax.plot([], [], "*", color="0.5", mec="black", ms=11, label="task minimum cᵢ (dotted: its bowl)")
    ax.plot([], [], "o-", color="0.5", ms=4, lw=0.9, label="inner loop, ending at φᵢ (θ*)")
    ax.set(xlim=xlim, ylim=ylim, aspect="equal", title=title, xlabel="θ₁", ylabel="θ₂")
    return ax
