"""The held-out few-shot sine benchmark every sine notebook reports (notebooks 02, 06, 07).

The MAML paper's protocol (the Meta-SGD paper's and OpenAI's Reptile demo's task
families differ a little: see :mod:`chapter_utils.tasks.sine`): a new task (amplitude
U[0.1, 5], phase U[0, π]), ``K`` support points uniform in [−5, 5], adapt, then
the mean squared error on 100 evenly spaced points of [−5, 5]; averaged over
hundreds of held-out tasks with a 95% interval (:func:`chapter_utils.evaluation.stats.mean_ci`).

A learner is anything with ``adapt(x, y, steps=None) -> predict`` (the protocol
of :class:`chapter_utils.learners.reptile.Reptile`, :class:`chapter_utils.learners.meta_sgd.MetaSGD`
and :class:`chapter_utils.learners.maml.MAML`, and of the chapter's own 7.7 code in
:mod:`chapter_utils.reference.chapter_reptile`). A learner that also has
``predict_adapted(x_support, y_support, x_query, steps)`` — support sets of
shape ``(T, K)``, query points ``(Q,)``, a sequence of step counts; returns
``(len(steps), T, Q)`` — is evaluated on all tasks at once.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from chapter_utils.checks import as_generator, check_positive_int, check_step_counts
from chapter_utils.tasks.sine import SineTask, SineTasks

#: Where the error is measured: 100 evenly spaced points of [−5, 5].
GRID = np.linspace(-5.0, 5.0, 100)
#: Seed of the held-out tasks, so every notebook scores the same tasks.
HELD_OUT_SEED = 7_2018


@dataclass(frozen=True)
class HeldOut:
    """Held-out tasks with their support sets and the targets on :data:`GRID`."""

    tasks: tuple[SineTask, ...]
    x_support: np.ndarray   #: (T, K)
    y_support: np.ndarray   #: (T, K)
    y_grid: np.ndarray      #: (T, 100)

    @property
    def shots(self) -> int:
        return self.x_support.shape[1]

    def __len__(self) -> int:
        return len(self.tasks)


def held_out(n_tasks: int = 300, shots: int = 10, seed: int = HELD_OUT_SEED,
             family: SineTasks | None = None) -> HeldOut:
    """``n_tasks`` held-out tasks, each with ``shots`` support points.

    The tasks depend only on ``seed`` and ``n_tasks`` (not on ``shots``), so the
    K = 5 and K = 10 sets of one seed are the same waves.
    """
    n_tasks = check_positive_int(n_tasks, "n_tasks")
    shots = check_positive_int(shots, "shots")
    family = family or SineTasks()
    tasks = tuple(family.sample_tasks(n_tasks, seed))
    gen = as_generator(np.random.SeedSequence([seed, shots]).generate_state(1)[0])
    x = np.stack([t.sample_points(shots, gen)[0] for t in tasks])
    y = np.stack([t(row) for t, row in zip(tasks, x)])
    return HeldOut(tasks, x, y, np.stack([t(GRID) for t in tasks]))


def predictions(learner, data: HeldOut, steps: Sequence[int] = (0, 1, 32)) -> np.ndarray:
    """Predictions on :data:`GRID` after each number of ``steps``: ``(len(steps), T, 100)``."""
    steps = check_step_counts(steps)
    if hasattr(learner, "predict_adapted"):
        return np.asarray(learner.predict_adapted(data.x_support, data.y_support, GRID, steps))
    out = np.empty((len(steps), len(data), GRID.size))
    for j, s in enumerate(steps):
        for i in range(len(data)):
            out[j, i] = learner.adapt(data.x_support[i], data.y_support[i], steps=s)(GRID)
    return out


def mse_by_steps(learner, data: HeldOut, steps: Sequence[int] = (0, 1, 32)) -> dict[int, np.ndarray]:
    """Per-task MSE on :data:`GRID` after each number of ``steps``: ``{steps: (T,)}``."""
    steps = check_step_counts(steps)
    pred = predictions(learner, data, steps)
    err = ((pred - data.y_grid[None]) ** 2).mean(axis=-1)
    return {s: err[j] for j, s in enumerate(steps)}


def zero_mse(data: HeldOut) -> np.ndarray:
    """Per-task MSE of predicting 0 everywhere: the score of knowing nothing (≈ 4.2)."""
    return (data.y_grid ** 2).mean(axis=-1)
