"""The panels of notebooks 01 (§7.1.5, Meta-SGD) and 05 (§7.6.4, Reptile), on quadratic bowls.

* :func:`meta_sgd_bowls_panel` — notebook 01, "Try it yourself": meta-trains Meta-SGD's θ
  and α (:func:`chapter_utils.reference.quadratics.meta_train`) on the notebook's family of
  axis-aligned bowls from the reader's starting α, and redraws the α-plane with the path α
  took beside one held-out bowl stepped with the starting and the learned α.
* :func:`reptile_bowls_panel` — notebook 05, "Try it yourself": runs serial or batched
  Reptile (:func:`chapter_utils.reference.quadratic_reptile.reptile`) on the first n bowls of
  the notebook's pool, and redraws the picture of §7.6.1 beside the family's mean loss.

Each slider sits in the panel under the name of the training function's own keyword
argument — ``beta``, ``steps`` for ``meta_train``; ``epsilon``, ``lr``, ``steps`` for
``reptile`` — and shows it as ``"symbol · name"`` (``"β · beta"``), as
:attr:`chapter_utils.learners.base.Hyperparameter.label` does. The exceptions say what they
make up: ``alpha_1`` and ``alpha_2`` are the two components of ``meta_train``'s ``alpha``;
``tasks`` (n) picks the first n bowls and ``mode`` sets ``reptile``'s ``tasks_per_batch``
(1 for serial, n for batched).

The notebook passes in its own data (the family, the held-out bowls, the pool, θ₀), so the
panel trains on exactly what the lesson trained on. The pictures the lesson draws too
live in :mod:`chapter_utils.panels.bowl_figures`.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import numpy as np

from chapter_utils import plotting
from chapter_utils.panels.base import HyperparameterPanel, float_slider, int_slider, log_slider
from chapter_utils.panels.bowl_figures import draw_landscape, draw_reptile
from chapter_utils.reference import quadratic_reptile as qr
from chapter_utils.reference import quadratics as q
from chapter_utils.tasks.quadratic import ArrayLike, QuadraticFamily, Quadratics, loss_grid

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: The two versions of Reptile (notebook 05, §7.6.1): one task per meta-iteration, or all n.
MODES = ("serial", "batched")


def _mean_loss_after(bowls: Quadratics, theta: ArrayLike, alpha: ArrayLike, steps: int) -> float:
    """Mean loss of ``bowls`` after ``steps`` inner steps θ ← θ − α ∘ ∇L from ``theta``: the
    score of notebook 01's ``post_step_loss`` (§7.1.3), averaged over the bowls."""
    return float(bowls.loss(q.sgd_path(bowls, theta, alpha, steps)[-1]).mean())


# ------------------------------------------------------------------ notebook 01, §7.1.5
def meta_sgd_bowls_panel(family: QuadraticFamily, held_out: Quadratics, theta0: ArrayLike, *,
                         iterations: int = 600, tasks_per_batch: int = 32) -> HyperparameterPanel:
    """Notebook 01's panel (§7.1.5): Meta-SGD on ``family`` from ``theta0`` and the reader's α.

    Sliders: ``alpha_1``, ``alpha_2`` (the starting α = (α₁, α₂)) and ``beta``, ``steps`` —
    :func:`~chapter_utils.reference.quadratics.meta_train`'s own arguments. Train calls
    ``q.meta_train(family, theta0, (alpha_1, alpha_2), beta=…, steps=…)`` with
    ``iterations`` meta-iterations of ``tasks_per_batch`` bowls (600 of 32, as in §7.1.3)
    and ``rng=0``. The α-plane and the summary score the first 100 bowls of ``held_out``;
    the right-hand picture steps, from the learned θ, the one of ``held_out``'s first 50
    bowls whose minimum lies furthest from the family's centre. A run whose loss passes
    1000 has diverged; the message quotes the mean loss of ``held_out`` at ``theta0``.
    Notebook 01 passes its ``family``, ``held_out`` and ``theta0``.
    """
    theta0 = np.asarray(theta0, dtype=float)
    panel_bowls = held_out[:100]          # scores and the α-plane: 100 held-out bowls, drawn once
    far = np.linalg.norm(held_out.centres[:50] - family.centre, axis=1)
    example = held_out[int(np.argmax(far))]   # drawn on the right: a bowl far from the family's centre

    def train(values: dict, progress: Callable[..., None]) -> dict[str, Any]:
        settings = dict(values)
        alpha = np.array([settings.pop("alpha_1"), settings.pop("alpha_2")])
        run = q.meta_train(family, theta0, alpha, **settings, iterations=iterations,
                           tasks_per_batch=tasks_per_batch, rng=0, progress=progress)
        return dict(values, run=run, alpha_start=alpha)

    def draw(result: dict[str, Any]) -> Figure:
        import matplotlib.pyplot as plt

        run, steps = result["run"], result["steps"]
        fig, axes = plt.subplots(1, 2, figsize=(13, 5), gridspec_kw={"width_ratios": [1.2, 1]})
        draw_landscape(axes[0], run.theta, steps, panel_bowls, {"Meta-SGD": run.alphas})
        axes[0].plot(*result["alpha_start"], "s", color="black", ms=7, label="your starting α")
        axes[0].legend(loc="upper right", fontsize="small", framealpha=0.9)
        xlim, ylim = [(c - 3.0, c + 3.0) for c in example.centres]
        x, y, z = loss_grid(example, xlim, ylim)
        axes[1].contour(x, y, z, levels=np.geomspace(0.01, 20, 12), colors="0.75", linewidths=0.8)
        axes[1].plot(*example.centres, "*", color="black", ms=14, label="this bowl's minimum")
        for label, alpha, colour in [("starting α", result["alpha_start"], "0.4"),
                                     ("learned α", run.alpha, plotting.colour("Meta-SGD"))]:
            path = q.sgd_path(example, run.theta, alpha, steps)
            axes[1].plot(path[:, 0], path[:, 1], "o-", color=colour, lw=2, ms=5,
                         label=f"{steps} step(s) with the {label}")
        axes[1].set(xlim=xlim, ylim=ylim, aspect="equal", xlabel="θ₁", ylabel="θ₂",
                    title="inner steps from the learned θ on a new bowl")
        axes[1].legend(loc="upper left", fontsize="small", framealpha=0.9)
        fig.tight_layout()
        return fig

    def summary(result: dict[str, Any]) -> str:
        run, steps = result["run"], result["steps"]
        before = _mean_loss_after(panel_bowls, run.theta, result["alpha_start"], steps)
        after = _mean_loss_after(panel_bowls, run.theta, run.alpha, steps)
        return (f"learned α = ({run.alpha[0]:.3f}, {run.alpha[1]:.3f}); held-out loss after "
                f"{steps} step(s): {before:.3g} with your α, {after:.3g} with the learned α")

    controls = {
        "alpha_1": float_slider("α₁ · alpha_1", 0.1, -1.0, 2.0, 0.05),
        "alpha_2": float_slider("α₂ · alpha_2", 0.1, -1.0, 4.0, 0.05),
        "beta": log_slider("β · beta", 0.05, 0.001, 1.0),
        "steps": int_slider("k · steps", 1, 1, 5),
    }
    return HyperparameterPanel(controls, train, draw, summary=summary,
                               title="Meta-SGD on axis-aligned bowls",
                               divergence_hint="try a smaller β", max_loss=1e3,
                               baseline=(float(held_out.loss(theta0).mean()),
                                         "θ₀ without any step"))


# ------------------------------------------------------------------ notebook 05, §7.6.4
def reptile_bowls_panel(pool: Quadratics, theta0: ArrayLike, *, iterations: int = 100,
                        tasks: int = 6) -> HyperparameterPanel:
    """Notebook 05's panel (§7.6.4): Reptile from ``theta0`` on the first n bowls of ``pool``.

    Sliders: ``epsilon``, ``steps``, ``lr`` —
    :func:`~chapter_utils.reference.quadratic_reptile.reptile`'s own arguments — and
    ``tasks`` (n, from 2 to ``len(pool)``, starting at ``tasks``) and ``mode``
    (``"serial"``: ``tasks_per_batch=1``; ``"batched"``: ``tasks_per_batch=n``). Train calls
    ``qr.reptile(pool[:n], theta0, epsilon=…, lr=…, steps=…)`` for ``iterations``
    meta-iterations with ``rng=1``, and draws the run as §7.6.1 does beside the family's
    mean loss at θ and after k steps from θ. A run whose loss passes 10 000 has diverged;
    the message quotes the mean loss of the first ``tasks`` bowls at ``theta0``.
    Notebook 05 passes its ``pool`` of 12 bowls and ``theta0``.
    """
    theta0 = np.asarray(theta0, dtype=float)

    def train(values: dict, progress: Callable[..., None]) -> dict[str, Any]:
        settings = dict(values)
        n, mode = settings.pop("tasks"), settings.pop("mode")
        bowls = pool[:n]
        run = qr.reptile(bowls, theta0, **settings, iterations=iterations,
                         tasks_per_batch=1 if mode == "serial" else n, rng=1, progress=progress)
        return dict(values, bowls=bowls, run=run)

    def draw(result: dict[str, Any]) -> Figure:
        import matplotlib.pyplot as plt

        bowls, run = result["bowls"], result["run"]
        fig, axes = plt.subplots(1, 2, figsize=(13, 6), gridspec_kw={"width_ratios": [1.3, 1]})
        draw_reptile(axes[0], bowls, run, result["lr"], result["steps"],
                     f"{result['mode']} Reptile: ε = {result['epsilon']:.3g}, k = {result['steps']}, "
                     f"α = {result['lr']:.3g}")
        adapted = q.sgd_path(bowls, run.thetas[:, None, :], result["lr"], result["steps"])[-1]
        meta_iterations = np.arange(run.thetas.shape[0])
        axes[1].semilogy(meta_iterations, bowls.loss(run.thetas[:, None, :]).mean(1), color="0.4",
                         label="at θ (before adapting)")
        axes[1].semilogy(meta_iterations, bowls.loss(adapted).mean(1), color=plotting.colour("Reptile"),
                         label=f"after k = {result['steps']} steps from θ")
        axes[1].set(xlabel="meta-iteration", ylabel="mean loss over the tasks",
                    title="the family's mean loss")
        axes[1].legend(frameon=False)
        fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=4, frameon=False,
                   fontsize="small")
        fig.tight_layout(rect=(0, 0.1, 1, 1))
        return fig

    def summary(result: dict[str, Any]) -> str:
        bowls, theta = result["bowls"], result["run"].thetas[-1]
        after = _mean_loss_after(bowls, theta, result["lr"], result["steps"])
        return (f"mean loss at the final θ {bowls.loss(theta).mean():.3f}, "
                f"after k steps from it {after:.3f}")

    controls = {
        "epsilon": log_slider("ε · epsilon", 0.3, 0.01, 1.0),
        "steps": int_slider("k · steps", 5, 1, 30),
        "lr": log_slider("α · lr", 0.3, 0.01, 3.0),
        "tasks": int_slider("n · tasks", tasks, 2, len(pool)),
        "mode": widgets.Dropdown(options=list(MODES), value="batched", description="mode",
                                 style={"description_width": "9em"}),
    }
    start_loss = float(pool[:tasks].loss(theta0).mean())
    return HyperparameterPanel(controls, train, draw, summary=summary,
                               title="Reptile on quadratic bowls",
                               divergence_hint="try a smaller inner learning rate α",
                               max_loss=1e4, baseline=(start_loss, "the starting θ₀"))
