"""Figures the notebooks share: training curves, held-out comparisons, per-coordinate bars.

Every function draws on an ``ax`` it is given and returns it, so a notebook
composes them into one figure (``fig, axes = plt.subplots(...)``) and a panel's
``draw`` function can rebuild the same figure on every retrain. Method colours
are fixed in :data:`COLOURS` so a method looks the same in every notebook.
First used in notebook 04 (section 7.4).
"""
from __future__ import annotations

from typing import Mapping, Optional, Sequence

import numpy as np

from chapter_utils.evaluation.stats import mean_ci, running_mean

#: One colour per method, the same in every notebook.
COLOURS: dict[str, str] = {
    "Meta-SGD": "#1f77b4",
    "Meta-SGD (first-order)": "#6baed6",
    "MAML": "#ff7f0e",
    "MAML (fixed α)": "#ff7f0e",
    "learned scalar α": "#8c564b",
    "first-order MAML": "#fdae6b",
    "Reptile": "#2ca02c",
    "no meta-learning": "#9467bd",
    "chapter's code": "#7f7f7f",
    "random init": "#9467bd",
    "pretrained": "#8c564b",
    "before adapting": "#9e9e9e",
    "oracle": "#000000",
}
#: Colours of coordinate groups (e.g. the features of ``LogisticTasks``).
GROUP_COLOURS: dict[str, str] = {
    "task-specific": "#d62728",
    "shared": "#1f77b4",
    "irrelevant": "#bdbdbd",
}
_FALLBACK = ("#8c564b", "#e377c2", "#17becf", "#bcbd22")


def colour(name: str, index: int = 0) -> str:
    """The colour of ``name`` in :data:`COLOURS`, or a fallback picked by ``index``."""
    return COLOURS.get(name, _FALLBACK[index % len(_FALLBACK)])


def plot_curves(ax, curves: Mapping[str, np.ndarray], *, window: int = 1,
                references: Optional[Mapping[str, float]] = None,
                xlabel: str = "meta-iteration", ylabel: str = "loss",
                title: str = "") -> object:
    """Training curves (smoothed by a trailing mean of ``window``) and dashed
    horizontal reference lines (``label -> y``), e.g. a loss floor."""
    for i, (name, values) in enumerate(curves.items()):
        values = np.asarray(values, dtype=float)
        x = np.arange(1, values.size + 1)
        if window > 1:
            ax.plot(x, values, color=colour(name, i), alpha=0.15, linewidth=0.8)
        ax.plot(x, running_mean(values, window), color=colour(name, i), label=name,
                linewidth=1.8)
    for j, (label, y) in enumerate((references or {}).items()):
        ax.axhline(y, color="black", linestyle=("--", ":", "-.")[j % 3], linewidth=1,
                   label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(frameon=False, fontsize="small")
    return ax


def plot_comparison(ax, scores: Mapping[str, np.ndarray], *,
                    references: Optional[Mapping[str, float]] = None,
                    ylabel: str = "", title: str = "", fmt: str = ".3f",
                    tick_labels: Optional[Sequence[str]] = None) -> object:
    """One bar per method: the mean of its per-task ``scores`` with a 95% interval,
    the value written above the interval's cap; dashed lines for ``references``.
    ``tick_labels`` (one per method, may hold line breaks) are drawn horizontal and
    centred under the bars; without them the method names are rotated 15°, each
    anchored at its bar."""
    names = list(scores)
    stats = [mean_ci(scores[n]) for n in names]
    means = [m for m, _ in stats]
    halves = [h for _, h in stats]
    bars = ax.bar(range(len(names)), means, yerr=halves, capsize=4,
                  color=[colour(n, i) for i, n in enumerate(names)])
    for bar, m, h in zip(bars, means, halves):
        ax.annotate(format(m, fmt), (bar.get_x() + bar.get_width() / 2, m + h),
                    xytext=(0, 3), textcoords="offset points", ha="center",
                    va="bottom", fontsize="small")
    for j, (label, y) in enumerate((references or {}).items()):
        ax.axhline(y, color="black", linestyle=("--", ":", "-.")[j % 3], linewidth=1,
                   label=label)
    if references:
        ax.legend(frameon=False, fontsize="small", loc="upper right")
    ax.set_xticks(range(len(names)))
    if tick_labels is not None:
        ax.set_xticklabels(list(tick_labels), rotation=0, ha="center")
    else:
        ax.set_xticklabels(names, rotation=15, ha="right", rotation_mode="anchor")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return ax


def plot_coordinates(ax, values: np.ndarray, groups: Sequence[str], *,
                     ylabel: str = "", title: str = "") -> object:
    """One bar per coordinate of a parameter vector (e.g. Meta-SGD's α), coloured
    by the coordinate's group, with a legend naming the groups."""
    values = np.asarray(values, dtype=float).ravel()
    groups = list(groups)
    if len(groups) != values.size:
        raise ValueError(f"{values.size} values but {len(groups)} group labels")
    colours = [GROUP_COLOURS.get(g, "#8c564b") for g in groups]
    ax.bar(np.arange(values.size), values, color=colours, width=0.8)
    ax.axhline(0.0, color="black", linewidth=0.8)
    for g in dict.fromkeys(groups):
        ax.bar([np.nan], [np.nan], color=GROUP_COLOURS.get(g, "#8c564b"), label=g)
    ax.legend(frameon=False, fontsize="small")
    ax.set_xlabel("coordinate")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return ax


def plot_mse_by_steps(ax, curves: Mapping[str, Mapping[int, np.ndarray]], *,
                      references: Optional[Mapping[str, float]] = None,
                      xlabel: str = "inner steps on the K support points",
                      title: str = "", log: bool = True, robust: bool = False) -> object:
    """Held-out MSE against the number of adaptation steps, one line per method:
    ``curves[name][steps]`` holds the per-task MSEs (as from
    :func:`chapter_utils.evaluation.sine.mse_by_steps`); the line is the mean and
    the band its 95% interval — or, with ``robust``, the median and the middle
    half of the tasks (a blown-up task counts as +∞), for learners whose
    predictions diverge on some tasks. Dashed lines for ``references`` (e.g.
    predicting zero). Used by notebooks 06 and 07 and the playground."""
    for i, (name, by_steps) in enumerate(curves.items()):
        steps = sorted(by_steps)
        if robust:
            q = np.array([np.quantile(np.where(np.isfinite(by_steps[s]), by_steps[s], np.inf),
                                      [0.5, 0.25, 0.75]) for s in steps])
            middle, low, high = q[:, 0], q[:, 1], q[:, 2]
        else:
            stats = np.array([mean_ci(by_steps[s]) for s in steps])
            middle, low, high = stats[:, 0], stats[:, 0] - stats[:, 1], stats[:, 0] + stats[:, 1]
        c = colour(name, i)
        ax.plot(steps, middle, "o-", color=c, label=name, markersize=3, linewidth=1.8)
        ax.fill_between(steps, low, high, color=c, alpha=0.2, linewidth=0)
    for j, (label, y) in enumerate((references or {}).items()):
        ax.axhline(y, color="black", linestyle=("--", ":", "-.")[j % 3], linewidth=1, label=label)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("held-out MSE (median, middle half)" if robust else "held-out MSE")
    if title:
        ax.set_title(title)
    ax.legend(frameon=False, fontsize="small")
    return ax


def plot_sine_fits(ax, grid: np.ndarray, truth: np.ndarray, support: tuple[np.ndarray, np.ndarray],
                   fits: Mapping[str, np.ndarray], *, title: str = "") -> object:
    """One sine task: the true wave, its K support points and the predictions
    ``fits[label]`` on ``grid`` (e.g. after 0, 1 and 32 steps). Later entries are
    drawn darker. Used by notebooks 02, 06 and the playground."""
    ax.plot(grid, truth, color="black", linewidth=2, label="true wave")
    ax.plot(*support, "^", color="black", markersize=7, label=f"K = {len(support[0])} points")
    for i, (label, y) in enumerate(fits.items()):
        style = "-" if i == len(fits) - 1 else (":", "--")[i % 2]
        ax.plot(grid, y, style, color=colour(label.split(",")[0], i), linewidth=1.6, label=label,
                alpha=0.45 + 0.55 * (i + 1) / len(fits))
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    if title:
        ax.set_title(title)
    ax.legend(frameon=False, fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.15),
              ncol=min(3, len(fits) + 2))
    return ax


def plot_trajectories(ax, positions: np.ndarray, goal: Sequence[float], *, name: str = "",
                      colour_name: str = "Meta-SGD", linestyle: str = "-",
                      title: str = "", limit: float = 0.6) -> object:
    """Episodes of 2-D navigation on the plane (notebook 03, §7.3): paths from the
    origin (``positions``: ``(episodes, steps + 1, 2)``), the goal as a star."""
    positions = np.asarray(positions, dtype=float)
    if positions.ndim != 3 or positions.shape[-1] != 2:
        raise ValueError(f"positions must have shape (episodes, steps, 2), got {positions.shape}")
    for i, path in enumerate(positions):
        ax.plot(path[:, 0], path[:, 1], color=colour(colour_name), linestyle=linestyle,
                linewidth=1.2, alpha=0.8, label=name if i == 0 and name else None)
    ax.plot(0, 0, "o", color="black", markersize=4)
    ax.plot(*goal, marker="*", color="#d62728", markersize=14, linestyle="none")
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")
    if title:
        ax.set_title(title)
    return ax
