"""The hyperparameter panel of notebook 03 (§7.3.7): Meta-SGD on 2-D navigation, retrained small.

Sliders for the learner's own ``inner_lr`` (α₀), ``meta_lr`` (β), ``inner_steps``,
``trajectories`` and ``iterations`` (α's and log σ's rates follow β by the learner's
own ratios); Train meta-trains :class:`MetaSGDPolicyGradient` at that
(small) budget and draws the meta-training curve, the return on held-out goals
after 0 … 3 adaptation steps, and trajectories for one held-out goal before
and after adapting.

**Ranges** (issue 16: a click must answer within 10 s on Binder's one CPU, at the defaults and
with any one slider at either end). A meta-iteration costs about 17 ms plus 3.4 ms per trajectory
per task on one core (20 goals, 100 steps each; three inner steps cost about twice one), and the
first click at a new ``trajectories`` or ``inner_steps`` traces TensorFlow's functions anew
(about 2–3 s). So the panel starts at 50 meta-iterations with 10 trajectories per task (about
3 s a click, 5 s the first time) and offers ``iterations`` 10–100, ``trajectories`` 2–20 and
``inner_steps`` 1–3: each end alone answers in under about 8 s on one core
(``python -m chapter_utils.tooling.panel_latency --one-core navigation`` prints the times). Several
sliders at their tops together take longer — 100 iterations of 20 trajectories with 3 inner steps
about half a minute — and the status line says how long the click took. Already at the defaults
one adaptation step clearly beats none on the held-out goals.
"""
from __future__ import annotations

from functools import cache

import numpy as np

from chapter_utils import plotting
from chapter_utils.evaluation.stats import format_ci, mean_ci
from chapter_utils.learners.policy_gradient import MetaSGDPolicyGradient
from chapter_utils.panels.base import HyperparameterPanel, learner_sliders
from chapter_utils.tasks import navigation as nav

#: Held-out goals the panel scores on, and the adaptation steps it reports.
PANEL_GOALS = 20
PANEL_STEPS = (0, 1, 2, 3)
#: The seed of the panel's held-out goals (not a seed any training run uses).
PANEL_SEED = 2024
#: The panel's "loss" is minus the meta-batch's return after adapting; above this the run is
#: stopped as diverged — a policy that flies off at full speed scores about −700, standing
#: still about −40, a fresh policy after one step at the default α about −70.
MAX_LOSS = 400.0


@cache
def panel_goals() -> np.ndarray:
    """The panel's held-out goals, drawn once."""
    return nav.NavigationTasks().sample_goals(PANEL_GOALS, PANEL_SEED)


#: The panel's starting budget: meta-iterations and trajectories per task (module docstring).
PANEL_ITERATIONS = 50
PANEL_TRAJECTORIES = 10


def navigation_panel(iterations: int = PANEL_ITERATIONS) -> HyperparameterPanel:
    """Notebook 03's panel (§7.3.7); ``iterations`` is the meta-iteration budget it starts at.

    Sliders and their ranges: the module docstring. Trains without XLA: at this budget a
    compiled run saves less time than the compiler takes for each new setting, and it holds
    more memory.
    """

    def train(values, progress):
        # the learner's loss is minus the return after adapting: it grows when a run blows up
        learner = MetaSGDPolicyGradient(**values, jit_compile=False).fit(
            nav.NavigationTasks(), seed=0, progress=progress)
        scores = learner.evaluate(panel_goals(), steps=PANEL_STEPS, episodes=10)
        if not np.all(np.isfinite(scores)):
            raise ValueError("the adapted policies' returns are not finite — "
                             "try a smaller β or initial α")
        return learner, scores

    def draw(result):
        import matplotlib.pyplot as plt

        learner, scores = result
        fig, axes = plt.subplots(1, 3, figsize=(15, 4.3))
        plotting.plot_curves(axes[0], {"before adapting": learner.returns_before,
                                       "Meta-SGD": learner.returns_after}, window=10,
                             ylabel="mean return of the meta-batch", title="meta-training")
        means = [mean_ci(s) for s in scores]
        axes[1].errorbar(PANEL_STEPS, [m for m, _ in means], yerr=[h for _, h in means],
                         marker="o", color=plotting.colour("Meta-SGD"), capsize=3)
        axes[1].set_xticks(PANEL_STEPS)
        axes[1].set(xlabel="adaptation steps", ylabel="average return",
                    title=f"{PANEL_GOALS} held-out goals")
        goal = panel_goals()[0]
        for steps, who in ((0, "before adapting"), (learner.inner_steps, "Meta-SGD")):
            policy = learner.adapt(nav.NavigationTask(goal), steps=steps, seed=1)
            positions, _ = nav.run_episodes(policy, np.broadcast_to(goal, (3, 2)))
            plotting.plot_trajectories(axes[2], positions, goal, colour_name=who,
                                       name=f"after {steps} step{'s' * (steps != 1)}")
        axes[2].legend(frameon=False, fontsize="small")
        axes[2].set_title("one held-out goal")
        fig.tight_layout()
        return fig

    def summary(result):
        learner, scores = result
        k = learner.inner_steps
        return (f"held-out return after {k} step{'s' * (k != 1)}: {format_ci(scores[k])} "
                f"(before adapting {scores[0].mean():.1f})")

    controls = learner_sliders(MetaSGDPolicyGradient, inner_lr=(1e-3, 10.0), meta_lr=(1e-4, 1.0),
                               inner_steps=(1, 3),
                               trajectories=dict(low=2, high=20, value=PANEL_TRAJECTORIES),
                               iterations=dict(low=10, high=100, value=iterations, step=10))
    # the loss of standing still at the origin (minus its return: 100 steps at each goal's
    # distance, on the panel's goals). Quoted as a loss, in the hint, not as ``baseline``: the
    # base panel words a baseline as "<label> scores <value>", and a positive "score" would
    # contradict the negative returns shown everywhere else.
    still = float(100 * np.linalg.norm(panel_goals(), axis=1).mean())
    return HyperparameterPanel(
        controls, train, draw, summary=summary, title="Meta-SGD on 2-D navigation (small budget)",
        divergence_hint=(f"a policy standing still has a loss of about {still:.3g}; the adapted "
                         "policies fly off; try a smaller β or initial α"),
        max_loss=MAX_LOSS)
