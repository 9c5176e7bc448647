"""The panel of notebook 04 (§7.4.5): Meta-SGD from scratch on structured logistic tasks.

:func:`logistic_panel` retrains Meta-SGD, the learned scalar α, plain MAML (with one fixed α —
the one notebook 04's grid picked in §7.4.4, not re-tuned on every click, so a click trains four
learners, not eight) and the chapter's rule
(:func:`chapter_utils.reference.logistic_meta_sgd.compare_with_tuned_maml` with a one-value
grid) on the notebook's
:class:`~chapter_utils.tasks.logistic.LogisticTasks` at a reduced budget, scores them and plain
gradient steps on held-out tasks, and redraws the figure of §7.4.4 —
:func:`draw_comparison`, which the notebook draws there too.

Its sliders sit in the panel under ``compare_methods``'s (that is, ``meta_train``'s) own
keyword arguments, which ``compare_with_tuned_maml`` passes on — ``alpha_init``, ``beta``,
``inner_steps``, ``shots``, ``tasks_per_batch`` — and show them as ``"symbol · name"``
(``"β · beta"``), as :attr:`chapter_utils.learners.base.Hyperparameter.label` does, so Train
passes the slider values straight through.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from chapter_utils import plotting
from chapter_utils.checks import check_positive_int
from chapter_utils.evaluation.stats import running_mean
from chapter_utils.panels.base import HyperparameterPanel, int_slider, log_slider
from chapter_utils.reference import logistic_meta_sgd as msgd
from chapter_utils.tasks.logistic import LogisticTasks

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: The best possible loss on coin-flip labels, and what predicting ½ everywhere scores (§7.4.2).
LN2 = float(np.log(2))
#: Held-out tasks a panel scores on (the notebook's §7.4.4 uses 2 000), and their seed — not 7,
#: the seed of the 500 validation tasks that chose plain MAML's α in notebooks 04 and 08.
PANEL_TASKS = 500
PANEL_SEED = 2026
#: The sliders' starting values: ``meta_train``'s arguments at notebook 04's settings.
DEFAULTS = dict(alpha_init=0.1, beta=0.5, inner_steps=1, shots=10, tasks_per_batch=16)
#: Query points per training task (``meta_train``'s default, the chapter's 10), and the seed of
#: the training tasks every learner of a click shares (:class:`SharedBatches`).
TRAIN_QUERY = 10
TASK_SEED = 1
#: :func:`draw_comparison`'s margins (figure fractions): room for the y labels, the slanted
#: method names under the middle axes and the titles.
MARGINS = dict(left=0.055, right=0.99, bottom=0.2, top=0.91, wspace=0.2)


def draw_comparison(comparison: msgd.MethodComparison, groups: Sequence[str] | np.ndarray,
                    teacher: msgd.Evaluation | None = None) -> Figure:
    """Notebook 04's figure (§7.4.4, redrawn by the panel of §7.4.5): training curves,
    held-out accuracy and Meta-SGD's learned α, side by side.

    ``groups`` names each coordinate's role (``LogisticTasks.groups``); with a
    ``teacher`` evaluation its loss and accuracy are drawn as reference lines.
    """
    import matplotlib.pyplot as plt

    loss_lines, accuracy_lines = {}, {"chance": 0.5}
    if teacher is not None:
        loss_lines["Bayes-optimal teacher"] = teacher.loss.mean()
        accuracy_lines["Bayes-optimal teacher"] = teacher.accuracy.mean()
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    curves = {name: r.query_loss for name, r in comparison.trained.items()}
    plotting.plot_curves(axes[0], curves, window=50, references=loss_lines,
                         ylabel="query loss after adaptation (nats)", title="meta-training")
    # The chapter's rule starts far higher (its N(0, 1) θ); cap the axis at the others' smoothed
    # curves so theirs can be told apart, and say in the title that the chapter's is cut.
    others = [running_mean(c, 50) for n, c in curves.items() if n != "chapter's code"]
    finite = [c[np.isfinite(c)] for c in others]
    if "chapter's code" in curves and finite and all(f.size for f in finite):
        low = min([f.min() for f in finite] + list(loss_lines.values()))
        top = max(f.max() for f in finite)
        chapter = running_mean(curves["chapter's code"], 50)
        if np.nanmax(chapter) > top:
            pad = 0.08 * (top - low)
            axes[0].set_ylim(low - pad, top + pad)
            axes[0].set_title("meta-training (the chapter's curve runs off the top)")
    accuracy = {name: ev.accuracy for name, ev in comparison.evaluations.items()}
    plotting.plot_comparison(axes[1], accuracy, references=accuracy_lines,
                             ylabel="held-out accuracy", title="new tasks, after adaptation")
    axes[1].set_ylim(0.0, 1.0)
    plotting.plot_coordinates(axes[2], comparison.trained["Meta-SGD"].alpha, groups,
                              ylabel="learned α", title="Meta-SGD's learning rates")
    # Fixed margins, not tight_layout: it lays the figure out once more (about 0.05 s of the
    # panel's 1 s budget on one core), and the panel shows the figure uncropped (crop=False).
    fig.subplots_adjust(**MARGINS)
    return fig


class SharedBatches:
    """A sampler that hands every learner of a panel click the same meta-batches, in order.

    It draws ``iterations`` batches (``family.sample_batch(tasks_per_batch, shots, query, rng)``
    each, as the first learner asks for them), returns them one after another and starts again
    after the last, so
    each :func:`~chapter_utils.reference.logistic_meta_sgd.meta_train` run of ``iterations``
    meta-iterations sees the same tasks: a comparison on common tasks, and a quarter of the
    sampling a click would otherwise do — most of its training time (notebook 04, §7.4.5).
    Asked for another batch shape, it raises ``ValueError``.
    """

    def __init__(self, family: LogisticTasks, iterations: int, tasks_per_batch: int, shots: int,
                 query: int, rng: np.random.Generator) -> None:
        self.family, self.iterations, self.rng = family, check_positive_int(iterations, "iterations"), rng
        self.shape = (tasks_per_batch, shots, query)
        self.batches: list[tuple[np.ndarray, ...]] = []
        self.served = 0

    def __call__(self, n: int, k_train: int, k_test: int, rng: object = None) -> tuple[np.ndarray, ...]:
        if (n, k_train, k_test) != self.shape:
            raise ValueError(f"these shared batches are {self.shape} (tasks, shots, query), "
                             f"asked for {(n, k_train, k_test)}")
        index = self.served % self.iterations
        if index == len(self.batches):
            self.batches.append(self.family.sample_batch(*self.shape, self.rng))
        self.served += 1
        return self.batches[index]


@lru_cache(maxsize=4)       # drawn once per k, not on every click; 22 MB each at k = 10, so only the last four
def panel_held_out(family: LogisticTasks, shots: int, query: int) -> tuple[np.ndarray, ...]:
    """The panel's :data:`PANEL_TASKS` held-out tasks with ``shots`` support and ``query`` query
    points, seed :data:`PANEL_SEED` (notebook 04, §7.4.5; the benchmark scores on them too)."""
    return family.sample_batch(PANEL_TASKS, shots, query, rng=PANEL_SEED)


def click_comparison(family: LogisticTasks, held_out: Sequence[np.ndarray], values: dict, *,
                     iterations: int = 300, maml_alpha: float = 0.5,
                     progress: Callable[..., None] | None = None) -> msgd.MethodComparison:
    """What one Train click of :func:`logistic_panel` trains and scores (notebook 04, §7.4.5).

    ``values`` are the sliders' (:data:`DEFAULTS` names them); the four learners share one
    :class:`SharedBatches` of training tasks (seed :data:`TASK_SEED`), start from ``seed=0``,
    and plain MAML keeps the fixed step ``maml_alpha``; all are scored on ``held_out``.
    """
    tasks = SharedBatches(family, iterations, values["tasks_per_batch"], values["shots"],
                          TRAIN_QUERY, np.random.default_rng(TASK_SEED))
    return msgd.compare_with_tuned_maml(tasks, family.dim, held_out, grid=(maml_alpha,),
                                        iterations=iterations, query=TRAIN_QUERY, seed=0,
                                        progress=progress, **values)


def _summary(comparison: msgd.MethodComparison) -> str:
    """The panel's status line (notebook 04, §7.4.5): each method's mean held-out accuracy,
    and plain MAML's fixed α with how it was picked."""
    acc = {name: ev.accuracy.mean() for name, ev in comparison.evaluations.items()}
    line = "held-out accuracy " + ", ".join(f"{n} {a:.3f}" for n, a in acc.items())
    if comparison.maml_alpha is not None and len(comparison.maml_scores) == 1:
        line += (f"; MAML's fixed α = {comparison.maml_alpha:g} (set when the panel was made — "
                 f"notebook 04's grid pick — not re-tuned for these settings)")
    elif comparison.maml_alpha is not None:
        grid = ", ".join(f"{a:g}" for a in comparison.maml_scores)
        line += (f"; MAML's fixed α = {comparison.maml_alpha:g}, the best of {{{grid}}} "
                 f"by training-task query loss")
    return line


def logistic_panel(family: LogisticTasks, query: int = 100, *,
                   iterations: int = 300, maml_alpha: float = 0.5) -> HyperparameterPanel:
    """Notebook 04's panel (§7.4.5) on the notebook's task ``family``.

    Sliders: ``alpha_init``, ``beta``, ``inner_steps``, ``shots``, ``tasks_per_batch`` —
    :func:`~chapter_utils.reference.logistic_meta_sgd.meta_train`'s own arguments. Train
    calls :func:`click_comparison` — ``msgd.compare_with_tuned_maml`` with
    ``grid=(maml_alpha,)``: Meta-SGD, learned scalar α, plain MAML and the chapter's rule —
    with ``iterations`` meta-iterations each (300: a tenth of §7.4.4's budget) and ``seed=0``
    (their starting θ and α), all four on the same ``iterations`` meta-batches of training
    tasks (:class:`SharedBatches`, seed :data:`TASK_SEED`, drawn once per click). Plain MAML is
    trained once, with the fixed step ``maml_alpha`` (pass the α the notebook's grid picked,
    ``comparison.maml_alpha``; 0.5 is what notebooks 04 and 08 pick) — the grid is not re-run
    per click, which would double a click's training; the status line says so;
    ``held_out`` is :data:`PANEL_TASKS` tasks with ``shots`` support and ``query`` query
    points (notebook 04's ``QUERY``), drawn once per number of shots with seed
    :data:`PANEL_SEED`. A run whose loss passes 10 has diverged; the message quotes ln 2.

    Ranges: ``alpha_init`` 0.01–3, ``beta`` 0.01–100, ``inner_steps`` 1–5, ``shots`` 1–40,
    ``tasks_per_batch`` 1–32 — each end, the others at their defaults, answers within issue
    16's 1 s on Binder's one CPU (``python -m chapter_utils.tooling.panel_latency --one-core
    logistic``; ``tests/browser/test_panels.py`` clicks the slow ends in the page). A click's
    time grows with ``shots`` and ``tasks_per_batch``: drawing the training tasks is much of it,
    which is why the four learners share one set of them (:class:`SharedBatches`).
    """

    if not maml_alpha > 0:
        raise ValueError(f"maml_alpha must be > 0, got {maml_alpha}")

    def train(values: dict, progress: Callable[..., None]) -> msgd.MethodComparison:
        return click_comparison(family, panel_held_out(family, values["shots"], query), values,
                                iterations=iterations,
                                maml_alpha=maml_alpha, progress=progress)

    def draw(comparison: msgd.MethodComparison) -> Figure:
        return draw_comparison(comparison, family.groups)

    controls = {
        "alpha_init": log_slider("α₀ · alpha_init", DEFAULTS["alpha_init"], 0.01, 3.0),
        "beta": log_slider("β · beta", DEFAULTS["beta"], 0.01, 100.0),
        "inner_steps": int_slider("inner_steps", DEFAULTS["inner_steps"], 1, 5),
        "shots": int_slider("k · shots", DEFAULTS["shots"], 1, 40),
        "tasks_per_batch": int_slider("tasks_per_batch", DEFAULTS["tasks_per_batch"], 1, 32),
    }
    return HyperparameterPanel(controls, train, draw, summary=_summary,
                               title="Meta-SGD on structured logistic tasks",
                               divergence_hint="try a smaller β", max_loss=10.0,
                               baseline=(LN2, "predicting ½ everywhere"), crop=False)
