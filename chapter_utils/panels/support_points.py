"""Pose the task yourself: click support points onto a plot and watch six learners adapt (notebook 07).

The other panels let a reader move hyperparameters; this one lets them move the
*data*. Each click on the plot places a support point (click a point to remove
it, drag it to move it); every shipped learner — MAML, first-order MAML,
Meta-SGD and Reptile, meta-trained, and the baselines "pretrained" (trained on
all waves at once) and "random init" (untrained) — adapts to those points from
its starting parameters, and the figure shows each one's fit after the number
of steps on the **steps** slider (0–32). A reader can also draw K points from a
chosen wave (amplitude, phase) or pick an example — a family wave, then
functions outside the family (a taller wave, a phase past π, a line, a step),
then a single point of a family wave — and see where meta-learning's prior
helps and where it misleads.

Nothing trains on a click: the learners are the ones
``python -m chapter_utils.tooling.benchmark comparison`` trained and shipped
(:func:`chapter_utils.evaluation.comparison.load_learners`), and each adapts
with :func:`chapter_utils.nets.numpy_mlp.sgd_trajectory`, which computes all 33
step counts at once; the status line prints how long that took, and the
browser tests measure click to redrawn figure. The figure is an
``ipympl`` canvas (matplotlib's widget backend), redrawn in place; it works in
JupyterLab, in Voilà and on Colab with its custom widget manager enabled (the
notebook's setup cell does that).

Its parts carry the CSS classes ``cu-touch``, ``cu-touch-status``, ``cu-touch-figure``
and ``cu-control-<name>`` for the browser tests.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as widgets
import numpy as np

from chapter_utils.evaluation import comparison
from chapter_utils.nets.numpy_mlp import sgd_trajectory
from chapter_utils.panels.base import control_css_class, float_slider, int_slider
from chapter_utils.plotting import colour

#: Most adaptation steps the slider offers: 32, the steps after which OpenAI's Reptile sine-wave
#: demo (the example code published with Nichol, Achiam and Schulman's 2018 Reptile post) plots
#: its fit; the Reptile paper itself reports no sine-regression score.
MAX_STEPS = 32
#: The plot's extent: the training waves live in x ∈ [−5, 5], |y| ≤ 5.
X_LIMITS, Y_LIMITS = (-6.0, 6.0), (-8.0, 8.0)
#: Where the fits are drawn: the whole plot, every 0.05.
GRID = np.linspace(X_LIMITS[0], X_LIMITS[1], 241)
#: The part of :data:`GRID` where fits are scored against a known function: x in [−5, 5],
#: the benchmark's range (201 points).
SCORED = np.abs(GRID) <= 5.0 + 1e-9
#: A click this close to a point (in pixels) removes or drags it instead of adding one.
PICK_PIXELS = 9.0
#: A press on a point that moves less than this (in pixels) before the release is a click.
DRAG_PIXELS = 3.0


def _sine(amplitude: float, phase: float) -> Callable[[np.ndarray], np.ndarray]:
    return lambda x: amplitude * np.sin(np.asarray(x) + phase)


#: Examples a reader can pick: name → (the function the points come from, K, what it probes).
EXAMPLES: dict[str, tuple[Callable[[np.ndarray], np.ndarray], int, str]] = {
    "a wave from the family (A = 3, φ = 1)": (_sine(3.0, 1.0), 5, "the tasks the learners were trained on"),
    "a taller wave (A = 7)": (_sine(7.0, 2.0), 10, "amplitude outside the training range 0.1–5"),
    "a wave shifted past π (φ = 4)": (_sine(2.0, 4.0), 5, "phase outside the training range 0–π"),
    "a line, y = 0.6 x": (lambda x: 0.6 * np.asarray(x), 10, "not a sine at all"),
    "a step": (lambda x: np.where(np.asarray(x) > 0, 2.0, -2.0), 10, "not smooth, not a sine"),
    "one point (K = 1)": (_sine(3.0, 1.0), 1, "a wave from the family, but a single point of it"),
}
#: The examples' points are drawn with their own seeds, so an example always gives the same points.
EXAMPLE_SEED = 0
#: An MSE above this counts as diverged (the adaptation blew up), as does a non-finite one.
DIVERGED = 1e6


def _mse(prediction: np.ndarray, target: np.ndarray) -> float:
    """The MSE of ``prediction`` on the scored part of :data:`GRID`; ``inf`` once it diverged."""
    with np.errstate(over="ignore", invalid="ignore"):
        mse = float(np.mean((prediction[SCORED] - target) ** 2))
    return mse if np.isfinite(mse) and mse <= DIVERGED else np.inf


def _example_rng(name: str, draw: int = 0) -> np.random.Generator:
    """The generator of draw ``draw`` of example ``name``'s points; draw 0 is what the panel loads."""
    key = [EXAMPLE_SEED, list(EXAMPLES).index(name)]
    return np.random.default_rng(key + [draw] if draw else key)


def example_errors(learners: Mapping[str, Any], example: str, draws: int = 50,
                   steps: tuple[int, ...] = (1, 10, 32)) -> dict[int, dict[str, np.ndarray]]:
    """Each learner's MSE on example ``example`` over ``draws`` draws of its K points (notebook 07).

    Draw 0 is the panel's own (:meth:`SupportPointsPanel.load_example`). The MSE is
    against the example's function on x in [−5, 5] after each of ``steps``, as the
    panel scores it; a diverged adaptation (see :data:`DIVERGED`) counts as ``inf``.
    Returns ``{step: {learner: array of shape (draws,)}}``.
    """
    if example not in EXAMPLES:
        raise ValueError(f"example must be one of {list(EXAMPLES)}, got {example!r}")
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
        raise ValueError(f"draws must be a positive integer, got {draws!r}")
    function, k, _ = EXAMPLES[example]
    target = function(GRID[SCORED])
    out = {s: {name: np.empty(draws) for name in learners} for s in steps}
    for draw in range(draws):
        x = np.sort(_example_rng(example, draw).uniform(-5.0, 5.0, size=k))
        for name, learner in learners.items():
            path = sgd_trajectory(learner.theta, learner.alpha, x, function(x), GRID, max(steps),
                                  learner.activation)
            for s in steps:
                out[s][name][draw] = _mse(path[s], target)
    return out


class SupportPointsPanel:
    """Click-to-place support points; the shipped learners adapt to them (notebook 07).

    ``learners``: name → fitted learner (default: the shipped ones,
    :func:`~chapter_utils.evaluation.comparison.load_learners`). Use :attr:`widget`
    to display it; :meth:`set_points`, :meth:`add_point`, :meth:`move_point`,
    :meth:`remove_point`, :meth:`clear`, :meth:`undo` and :meth:`sample` do from
    code what the mouse and buttons do.
    """

    def __init__(self, learners: Mapping[str, Any] | None = None, seed: int = 0):
        try:
            from ipympl.backend_nbagg import Canvas, FigureManager
        except ImportError:
            raise ImportError("the pose-the-task panel draws with ipympl, matplotlib's widget backend: "
                              "pip install ipympl (it is in requirements.txt)") from None
        from matplotlib.figure import Figure

        self.learners = dict(comparison.load_learners() if learners is None else learners)
        if not self.learners:
            raise ValueError("learners must name at least one fitted learner")
        self._params = {name: (learner.theta, learner.alpha, learner.activation)
                        for name, learner in self.learners.items()}
        self._rng = np.random.default_rng(seed)
        self.x = np.empty(0)
        self.y = np.empty(0)
        self.truth: Callable[[np.ndarray], np.ndarray] | None = None
        #: name → predictions on :data:`GRID` after 0…MAX_STEPS steps, ``(MAX_STEPS + 1, len(GRID))``
        self.curves: dict[str, np.ndarray] = {}
        self._history: list[tuple[np.ndarray, np.ndarray, Any]] = []
        self._drag: dict[str, Any] | None = None
        #: How many times the figure was redrawn, and the seconds the last adaptation took.
        self.redraws, self.adapt_seconds = 0, 0.0

        self.figure = Figure(figsize=(8.2, 4.4), dpi=90)
        self.canvas = Canvas(self.figure)
        FigureManager(self.canvas, 0)
        for trait, value in (("toolbar_visible", False), ("header_visible", False),
                             ("footer_visible", False), ("resizable", False)):
            setattr(self.canvas, trait, value)
        self.canvas.add_class("cu-touch-figure")
        self._build_axes()

        self.controls: dict[str, widgets.Widget] = {
            "steps": int_slider("steps", 10, 0, MAX_STEPS),
            "amplitude": float_slider("amplitude A", 3.0, 0.1, 7.5, 0.1, ".1f"),
            "phase": float_slider("phase φ", 1.0, 0.0, 2 * np.pi, 0.05, ".2f"),
            "shots": int_slider("K points", 5, 1, 20),
            "example": widgets.Dropdown(options=["—", *EXAMPLES], value="—", description="example",
                                        style={"description_width": "9em"},
                                        layout=widgets.Layout(width="26em")),
        }
        for name, control in self.controls.items():
            control.add_class(control_css_class(name))
        self.buttons = {name: widgets.Button(description=label) for name, label in
                        (("sample", "Sample K points from the wave"), ("undo", "Undo"), ("clear", "Clear"))}
        for name, button in self.buttons.items():
            button.add_class(control_css_class(name))
        self.buttons["sample"].layout.width = "17em"
        self.status = widgets.HTML()
        self.status.add_class("cu-touch-status")
        self.controls["steps"].observe(lambda _: self._draw(), names="value")
        self.controls["example"].observe(self._on_example, names="value")
        self.buttons["sample"].on_click(lambda _: self.sample())
        self.buttons["undo"].on_click(lambda _: self.undo())
        self.buttons["clear"].on_click(lambda _: self.clear())
        self.canvas.mpl_connect("button_press_event", self._on_press)
        self.canvas.mpl_connect("motion_notify_event", self._on_motion)
        self.canvas.mpl_connect("button_release_event", self._on_release)

        wave = widgets.VBox([self.controls["amplitude"], self.controls["phase"], self.controls["shots"],
                             self.buttons["sample"]])
        side = widgets.VBox([self.controls["steps"], self.controls["example"], wave,
                             widgets.HBox([self.buttons["undo"], self.buttons["clear"]])])
        self.widget = widgets.VBox([widgets.HBox([self.canvas, side]), self.status])
        self.widget.add_class("cu-touch")
        self._update()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    # -- the figure -----------------------------------------------------------------------
    def _build_axes(self) -> None:
        ax = self.ax = self.figure.add_subplot()
        ax.set_xlim(*X_LIMITS)
        ax.set_ylim(*Y_LIMITS)
        ax.set_xlabel("x (training waves: x in [−5, 5])")
        ax.set_ylabel("y")
        ax.axvspan(X_LIMITS[0], -5, color="0.93", zorder=0)
        ax.axvspan(5, X_LIMITS[1], color="0.93", zorder=0)
        (self._truth_line,) = ax.plot([], [], "k--", lw=1.2, label="function the points were drawn from")
        self._lines = {name: ax.plot([], [], lw=1.8, color=colour(name, i), label=name)[0]
                       for i, name in enumerate(self.learners)}
        (self._points,) = ax.plot([], [], "o", ms=8, color="black", mfc="white", mew=2, zorder=5,
                                  label="support points (yours)")
        self._title = ax.set_title("")
        ax.legend(loc="upper left", fontsize="small", frameon=False, ncol=2)
        self.figure.tight_layout()

    def _draw(self) -> None:
        steps = int(self.controls["steps"].value)
        blown = set(self.diverged(steps))               # not drawn: the status line names them
        for name, line in self._lines.items():
            curve = self.curves.get(name)
            shown = curve is not None and name not in blown
            line.set_data(GRID, curve[steps] if shown else np.full(GRID.size, np.nan))
        self._points.set_data(self.x, self.y)
        if self.truth is not None:
            self._truth_line.set_data(GRID, self.truth(GRID))
        else:
            self._truth_line.set_data([], [])
        self._title.set_text(f"K = {self.x.size} point{'s' * (self.x.size != 1)}, "
                             f"each learner after {steps} step{'s' * (steps != 1)}")
        self.canvas.draw_idle()
        self.redraws += 1
        self.status.value = self._status_text(steps, sorted(blown, key=list(self.learners).index))

    def _status_text(self, steps: int, blown: list[str]) -> str:
        hint = "click to add a point, click a point to remove it, drag to move it"
        if not self.x.size:
            return f"No points yet: {hint}, or pick an example."
        parts = [f"K = {self.x.size}, after {steps} step{'s' * (steps != 1)}"]
        errors = self.errors(steps)
        if errors:
            ranked = sorted(errors.items(), key=lambda item: item[1])
            parts.append("MSE against the dashed curve on x in [−5, 5]: " + ", ".join(
                f"{name} {value:.3g}" if np.isfinite(value) else f"{name} diverged" for name, value in ranked))
        else:
            parts.append("no dashed curve to score against (your own points)")
            if blown:
                parts.append("diverged, not drawn: " + ", ".join(blown))
        parts.append(f"adapted in {1e3 * self.adapt_seconds:.0f} ms")
        return " · ".join(parts)

    # -- the data ------------------------------------------------------------------------
    def diverged(self, steps: int | None = None) -> list[str]:
        """The learners whose adaptation blew up by ``steps`` (default: the slider's): no prediction
        within ±√:data:`DIVERGED` (= ±1000) anywhere on the grid. Their curves are not drawn."""
        steps = int(self.controls["steps"].value) if steps is None else steps
        with np.errstate(invalid="ignore"):
            return [name for name, curve in self.curves.items()
                    if not (np.abs(curve[steps]) <= np.sqrt(DIVERGED)).any()]

    def errors(self, steps: int | None = None) -> dict[str, float]:
        """Each learner's MSE against the function of the dashed curve (the one an example or
        Sample drew the points from), on x in [−5, 5], ``inf`` once diverged; {} when there is none."""
        if self.truth is None or not self.curves:
            return {}
        steps = int(self.controls["steps"].value) if steps is None else steps
        target = self.truth(GRID[SCORED])
        return {name: _mse(curve[steps], target) for name, curve in self.curves.items()}

    def _update(self) -> None:
        start = time.perf_counter()
        if self.x.size:
            self.curves = {name: sgd_trajectory(theta, alpha, self.x, self.y, GRID, MAX_STEPS, activation)
                           for name, (theta, alpha, activation) in self._params.items()}
        else:
            self.curves = {}
        self.adapt_seconds = time.perf_counter() - start
        self._draw()

    def _remember(self) -> None:
        self._history.append((self.x.copy(), self.y.copy(), self.truth))
        del self._history[:-50]

    def set_points(self, x: Any, y: Any, truth: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        """Replace the support points (1-D, same length, finite; may be empty) and the wave, if any."""
        x, y = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
        if x.shape != y.shape or not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise ValueError(f"x and y must be finite and of the same length, got {x.shape} and {y.shape}")
        self._remember()
        self.x, self.y, self.truth = x, y, truth
        self._update()

    def add_point(self, x: float, y: float) -> None:
        self.set_points(np.append(self.x, x), np.append(self.y, y), self.truth)

    def remove_point(self, index: int) -> None:
        self.set_points(np.delete(self.x, index), np.delete(self.y, index), self.truth)

    def move_point(self, index: int, x: float, y: float) -> None:
        xs, ys = self.x.copy(), self.y.copy()
        xs[index], ys[index] = x, y
        self.set_points(xs, ys, self.truth)

    def clear(self) -> None:
        """No points, no wave."""
        self.controls["example"].value = "—"
        self.set_points([], [], None)

    def undo(self) -> None:
        """Back to the points (and wave) before the last change."""
        if self._history:
            self.x, self.y, self.truth = self._history.pop()
            self._update()

    def sample(self, function: Callable[[np.ndarray], np.ndarray] | None = None, k: int | None = None,
               rng: np.random.Generator | None = None) -> None:
        """K points at x ~ U[−5, 5] from ``function`` (default: the wave on the sliders)."""
        if function is None:
            function = _sine(float(self.controls["amplitude"].value), float(self.controls["phase"].value))
        k = int(self.controls["shots"].value) if k is None else k
        x = np.sort((self._rng if rng is None else rng).uniform(-5.0, 5.0, size=k))
        self.set_points(x, function(x), function)

    def load_example(self, name: str) -> None:
        """The points of example ``name`` (:data:`EXAMPLES`): always the same ones for the same name."""
        if name not in EXAMPLES:
            raise ValueError(f"example must be one of {list(EXAMPLES)}, got {name!r}")
        function, k, _ = EXAMPLES[name]
        self.sample(function, k, _example_rng(name))

    def _on_example(self, change: dict) -> None:
        # The dropdown works as a menu: it loads the example and goes back to "—", so the
        # same example can be loaded again after the points were changed.
        if change["new"] in EXAMPLES:
            self.load_example(change["new"])
            self.controls["example"].value = "—"

    # -- the mouse -----------------------------------------------------------------------
    def _nearest(self, event) -> int | None:
        if not self.x.size:
            return None
        shown = self.ax.transData.transform(np.column_stack([self.x, self.y]))
        distance = np.hypot(shown[:, 0] - event.x, shown[:, 1] - event.y)
        index = int(np.argmin(distance))
        return index if distance[index] <= PICK_PIXELS else None

    def _on_press(self, event) -> None:
        if event.inaxes is not self.ax or event.xdata is None:
            return
        index = self._nearest(event)
        if index is None:
            self.add_point(event.xdata, event.ydata)
        else:
            self._drag = {"index": index, "moved": False, "from": (event.x, event.y)}

    def _on_motion(self, event) -> None:
        if self._drag is None or event.inaxes is not self.ax or event.xdata is None:
            return
        if not self._drag["moved"] and np.hypot(event.x - self._drag["from"][0],
                                                event.y - self._drag["from"][1]) < DRAG_PIXELS:
            return  # a hand's tremor during a click is not a drag
        self._drag["moved"] = True
        xs, ys = self.x.copy(), self.y.copy()
        xs[self._drag["index"]], ys[self._drag["index"]] = event.xdata, event.ydata
        self._drag["to"] = (event.xdata, event.ydata)
        self._points.set_data(xs, ys)
        self.canvas.draw_idle()

    def _on_release(self, event) -> None:
        drag, self._drag = self._drag, None
        if drag is None:
            return
        if drag["moved"] and "to" in drag:
            self.move_point(drag["index"], *drag["to"])
        else:
            self.remove_point(drag["index"])


def pose_the_task(learners: Mapping[str, Any] | None = None, seed: int = 0) -> SupportPointsPanel:
    """The panel of notebook 07's "pose the task" section and the playground; display ``.widget``."""
    return SupportPointsPanel(learners, seed)
