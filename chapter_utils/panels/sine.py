"""Ready-made panels for few-shot sine regression (notebook 06, §7.7, and the Voilà playground).

Each function returns a :class:`chapter_utils.panels.base.HyperparameterPanel` that
meta-trains a learner with the reader's settings at a *reduced budget* (so a
retrain answers in seconds), then draws the held-out MSE against the number of
adaptation steps beside a random initialisation, and one held-out wave fitted
after 0 steps and after the steps it is scored after. Each panel's status line
(:func:`panel_summary`) reports the inner steps its own learner trained with and
the steps it is scored after (:func:`scored_steps`: Reptile's ``eval_steps``,
Meta-SGD's training ``inner_steps``), read from the learner that panel just
trained. Notebook 06 and ``notebooks/playground.ipynb`` both show
:func:`reptile_panel`, notebook 02 and the playground :func:`meta_sgd_panel`;
keeping them here means they cannot drift apart.
"""
from __future__ import annotations

from functools import cache

from chapter_utils import plotting
from chapter_utils.evaluation import sine as bench
from chapter_utils.evaluation.stats import format_ci
from chapter_utils.learners.meta_sgd import MetaSGD
from chapter_utils.learners.reptile import Reptile
from chapter_utils.panels.base import HyperparameterPanel, learner_sliders
from chapter_utils.tasks.sine import SineTasks

#: Adaptation steps at which a panel scores its learner.
PANEL_STEPS = (0, 1, 2, 4, 8, 16, 32)
#: Held-out waves a panel scores on (fewer than the notebooks' 500: it must answer fast).
PANEL_TASKS = 200


@cache
def panel_held_out(shots: int) -> bench.HeldOut:
    """The panels' held-out waves with ``shots`` support points, drawn once per ``shots``."""
    return bench.held_out(PANEL_TASKS, shots=shots)


@cache
def _random_init_mse(shots: int) -> dict[int, object]:
    return bench.mse_by_steps(Reptile().initialise(seed=0), panel_held_out(shots), steps=PANEL_STEPS)


def draw_sine_result(model, data: bench.HeldOut, mse: dict, name: str):
    """The panels' figure: held-out MSE against steps, and one wave after 0 and 32 steps."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    plotting.plot_mse_by_steps(axes[0], {name: mse, "random init": _random_init_mse(data.shots)},
                               references={"predicting 0": float(bench.zero_mse(data).mean())},
                               title=f"held-out MSE, K = {data.shots} ({len(data)} waves)")
    x, y = data.x_support[0], data.y_support[0]
    fits = {f"{name}, {s} step{'s' * (s != 1)}": model.adapt(x, y, steps=s)(bench.GRID)
            for s in (0, scored_steps(model))}
    plotting.plot_sine_fits(axes[1], bench.GRID, data.y_grid[0], (x, y), fits,
                            title="one held-out wave")
    fig.tight_layout()
    return fig


def scored_steps(learner) -> int:
    """The adaptation steps a panel scores ``learner`` after — its own, read from the trained
    learner: Reptile's ``eval_steps`` (32, as in its paper), Meta-SGD's training ``inner_steps``
    (its learned α is tuned for exactly that many)."""
    return int(getattr(learner, "eval_steps", None) or learner.inner_steps)


def panel_summary(learner, data: bench.HeldOut, mse: dict) -> str:
    """A sine panel's status line: what the learner trained with and what it is scored after,
    both read from the learner the panel just trained (not from a constant)."""
    steps = scored_steps(learner)
    trained = f"{learner.label} trained with {learner.inner_steps} inner step{'s' * (learner.inner_steps != 1)}"
    return (f"{trained}; held-out MSE with K = {data.shots} after {steps} adaptation "
            f"step{'s' * (steps != 1)}: {format_ci(mse[steps])} (before adapting {mse[0].mean():.2f})")


def reptile_panel(iterations: int = 3000) -> HyperparameterPanel:
    """Reptile on sine waves (notebook 06, "Try it", and the playground): ``epsilon``,
    ``inner_steps``, ``inner_lr``, ``shots``, ``iterations``.

    Every slider is a :class:`Reptile` hyperparameter of the same name.
    ``iterations`` is the budget the panel starts at (the library's default is
    100 000; the panel's is small enough for a click to answer in seconds).

    **Ranges** (issue 16: a click answers within 3 s on Binder's one CPU, at the defaults and
    with any one slider at either end): ``iterations`` 250–10 000 (about 0.2 ms a
    meta-iteration on one core, so 10 000 train in about 2 s; the library's 100 000 would take
    20 s), ``shots`` 2–20 (a new K recompiles the XLA training step, about a second, and 40
    shots trained for longer than the target) and ``inner_steps`` 1–20 (20 steps: about 2.4 s).
    ``python -m chapter_utils.tooling.panel_latency --one-core sine_reptile`` prints the times.
    """

    def train(values, progress):
        model = Reptile(**values).fit(SineTasks(), seed=0, progress=progress)
        data = panel_held_out(model.shots)
        steps = sorted(set(PANEL_STEPS) | {scored_steps(model)})
        return model, data, bench.mse_by_steps(model, data, steps=steps)

    controls = learner_sliders(Reptile, epsilon=(0.01, 1.0), inner_steps=(1, 20), inner_lr=(0.001, 1.0),
                               shots=(2, 20),
                               iterations=dict(low=250, high=10_000, value=iterations, step=250))
    zero = float(bench.zero_mse(panel_held_out(10)).mean())
    return HyperparameterPanel(
        controls, train, lambda result: draw_sine_result(*result, name="Reptile"),
        summary=lambda result: panel_summary(*result), title="Reptile on sine waves (reduced budget)",
        divergence_hint="try a smaller inner learning rate", max_loss=1e3,
        baseline=(zero, "predicting 0"))


def meta_sgd_panel(iterations: int = 1000) -> HyperparameterPanel:
    """Meta-SGD on sine waves (notebook 02, §7.2): ``meta_lr`` (β), ``inner_lr`` (α₀),
    ``shots`` (K), ``inner_steps``, ``iterations`` — each a :class:`MetaSGD` hyperparameter.

    Runs without XLA, so a new K or step count does not wait for the compiler. Each slider's
    whole range answers within issue 16's 3 s on one core (about 1 s at 2 000 meta-iterations;
    ``python -m chapter_utils.tooling.panel_latency --one-core sine_meta_sgd``). The figure
    shows the meta-training curve and two held-out waves (a middling and the largest) before
    and after the inner steps the learner trained with — Meta-SGD's learned α is tuned for
    exactly that many steps.
    """

    def train(values, progress):
        learner = MetaSGD(**values, jit_compile=False).fit(SineTasks(), seed=0, progress=progress)
        data = panel_held_out(learner.shots)
        return learner, data, bench.mse_by_steps(learner, data, steps=(0, scored_steps(learner)))

    def draw(result):
        import matplotlib.pyplot as plt

        learner, data, _ = result
        zero = float(bench.zero_mse(data).mean())
        fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
        plotting.plot_curves(axes[0], {"Meta-SGD": learner.losses}, window=50,
                             references={"predicting 0": zero},
                             ylabel="query MSE after adapting", title="meta-training")
        axes[0].set_yscale("log")
        order = sorted(range(len(data)), key=lambda i: data.tasks[i].amplitude)
        steps = scored_steps(learner)
        for ax, i in zip(axes[1:], (order[len(order) // 2], order[-1])):   # a middling, the largest
            x, y = data.x_support[i], data.y_support[i]
            fits = {f"Meta-SGD, {s} step{'s' * (s != 1)}": learner.adapt(x, y, steps=s)(bench.GRID)
                    for s in (0, steps)}
            plotting.plot_sine_fits(ax, bench.GRID, data.y_grid[i], (x, y), fits,
                                    title=f"held-out wave, A = {data.tasks[i].amplitude:.2f}")
        fig.tight_layout()
        return fig


    controls = learner_sliders(MetaSGD, meta_lr=(1e-4, 1.0), inner_lr=(1e-3, 1.0), shots=(1, 20),
                               inner_steps=(1, 3),
                               iterations=dict(low=250, high=2000, value=iterations, step=250))
    zero = float(bench.zero_mse(panel_held_out(10)).mean())
    return HyperparameterPanel(
        controls, train, draw, summary=lambda result: panel_summary(*result),
        title="Meta-SGD on few-shot sine regression",
        divergence_hint="try a smaller β or initial α, or fewer inner steps", max_loss=1e3,
        baseline=(zero, "predicting 0"))
