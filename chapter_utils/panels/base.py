"""The hyperparameter panel every notebook ends its build-up with (first used in notebook 04, §5).

Sliders for a learner's hyperparameters come from the learner's own
declarations (:func:`hyperparameter_slider`) and sit in the panel under the
learner's names, so ``train`` is ``Learner(**values).fit(…)``.

A panel is a column of sliders (``continuous_update=False``: nothing happens
while a slider is dragged), a **Train** button, a progress bar, a one-line
status and one :class:`ipywidgets.Output` that is redrawn in place. Pressing
Train disables the controls, calls your ``train`` function with the slider
values and a progress callback, hands its result to your ``draw`` function, and
shows the figure — always the *same* output area, cleared first, so a reader
never sees a second figure pile up.

A run whose loss stops being finite (or exceeds ``max_loss``) is stopped by the
progress callback and reported in plain words — "Diverged at iteration 312 …
try a smaller β" — never as a traceback.

Each click's time is kept in :attr:`HyperparameterPanel.timings`, split into training, drawing
the figure and rendering it to the image the page shows (PNG, by IPython's display formatter, as
``display(figure)`` would); ``python -m chapter_utils.tooling.panel_latency`` prints them.

Each part carries a CSS class (``cu-panel``, ``cu-panel-train``, ``cu-panel-status``,
``cu-panel-output``, ``cu-control-<name>``, …) so the browser tests in
``tests/browser/`` can find it in the page.

Only widget APIs present in both ipywidgets 7.7 (what Colab ships) and 8 are used.
"""
from __future__ import annotations

import base64
import html
import io
import math
import re
import time
from typing import Any, Callable, Mapping, Optional

import ipywidgets as widgets
from IPython import get_ipython
from IPython.display import clear_output, display, publish_display_data

#: ``train(values, progress) -> result``; ``progress(iteration, total, loss, label="")``.
TrainFn = Callable[[dict, Callable[[int, int, float], None]], Any]
#: ``draw(result) -> matplotlib.figure.Figure``.
DrawFn = Callable[[Any], Any]

#: Prefix of the CSS classes a panel puts on its parts: ``cu-panel`` (the whole panel),
#: ``cu-panel-train``, ``cu-panel-progress``, ``cu-panel-status``, ``cu-panel-output`` and
#: ``cu-control-<name>`` for each control (see :func:`control_css_class`).
CSS_PREFIX = "cu-"

_DESCRIPTION_STYLE = {"description_width": "9em"}
_SLIDER_LAYOUT = dict(width="26em")


def _check_range(description: str, value: float, low: float, high: float) -> None:
    if not low < high:
        raise ValueError(f"slider {description!r}: min {low} must be below max {high}")
    if not low <= value <= high:
        raise ValueError(f"slider {description!r}: value {value} is outside [{low}, {high}]")


def float_slider(description: str, value: float, low: float, high: float,
                 step: float, readout_format: str = ".3g") -> widgets.FloatSlider:
    """A float slider that only reports a value when released."""
    _check_range(description, value, low, high)
    return widgets.FloatSlider(value=value, min=low, max=high, step=step,
                               description=description, continuous_update=False,
                               readout_format=readout_format, style=_DESCRIPTION_STYLE,
                               layout=widgets.Layout(**_SLIDER_LAYOUT))


def log_slider(description: str, value: float, low: float, high: float,
               steps_per_decade: int = 4) -> widgets.FloatLogSlider:
    """A slider over ``[low, high]`` on a log scale (for learning rates such as α, β, ε)."""
    if not 0 < low:
        raise ValueError(f"slider {description!r}: a log slider needs min > 0, got {low}")
    _check_range(description, value, low, high)
    return widgets.FloatLogSlider(value=value, base=10, min=math.log10(low),
                                  max=math.log10(high), step=1.0 / steps_per_decade,
                                  description=description, continuous_update=False,
                                  readout_format=".3g", style=_DESCRIPTION_STYLE,
                                  layout=widgets.Layout(**_SLIDER_LAYOUT))


def int_slider(description: str, value: int, low: int, high: int,
               step: int = 1) -> widgets.IntSlider:
    """An integer slider (inner steps, shots, tasks per batch, iterations)."""
    _check_range(description, value, low, high)
    return widgets.IntSlider(value=value, min=low, max=high, step=step,
                             description=description, continuous_update=False,
                             style=_DESCRIPTION_STYLE, layout=widgets.Layout(**_SLIDER_LAYOUT))


def hyperparameter_slider(learner: type, name: str, low: float, high: float,
                          value: float | None = None, step: float | None = None) -> widgets.ValueWidget:
    """A slider for ``learner``'s hyperparameter ``name``, built from its declaration.

    The slider is labelled as the learner declares it (``"β · meta_lr"``), starts
    at the learner's default unless ``value`` is given, moves on a log scale when
    the declaration says so, and goes in a panel under the key ``name`` — so
    the panel's ``train`` can call ``learner(**values)`` and the value keeps one
    name from the slider to the training loop. ``low`` and ``high`` are the
    panel's range (within the declared one: the panel answers in seconds there).
    """
    declared = learner.hyperparameter(name)
    if declared.kind not in ("int", "float"):
        raise ValueError(f"{learner.__name__}.{name} is a {declared.kind}, not a number a slider can set")
    value = declared.default if value is None else value
    for end in (low, value, high):
        declared.check(end)
    if declared.kind == "int":
        return int_slider(declared.label, value, low, high, step=int(step or 1))
    if declared.log_scale:
        return log_slider(declared.label, value, low, high)
    if step is None:
        raise ValueError(f"a linear slider for {name} needs a step")
    return float_slider(declared.label, value, low, high, step)


def learner_sliders(learner: type, **ranges: tuple[float, float] | Mapping[str, float]
                    ) -> dict[str, widgets.ValueWidget]:
    """A panel's controls for ``learner``: one :func:`hyperparameter_slider` per keyword, keyed by
    the hyperparameter's own name — the name is written once, so it cannot drift.

    Each keyword is a hyperparameter of ``learner``; its value is the panel's range ``(low, high)``
    or a mapping of :func:`hyperparameter_slider`'s arguments (``low``, ``high``, ``value``, ``step``).
    """
    controls = {}
    for name, spec in ranges.items():
        arguments = dict(spec) if isinstance(spec, Mapping) else dict(zip(("low", "high"), spec))
        controls[name] = hyperparameter_slider(learner, name, **arguments)
    return controls


def control_css_class(name: str) -> str:
    """The CSS class a panel gives its control ``name``: ``cu-control-<name>``.

    Characters other than ASCII letters, digits, ``-`` and ``_`` become ``-``.
    """
    safe = re.sub(r"[^A-Za-z0-9_-]", "-", name)
    return f"{CSS_PREFIX}control-{safe}"


class Diverged(Exception):
    """Raised by the progress callback to stop a run whose loss blew up."""

    def __init__(self, iteration: int, loss: float, label: str = ""):
        super().__init__(f"loss {loss} at iteration {iteration} {label}".rstrip())
        self.iteration = iteration
        self.loss = loss
        self.label = label


class HyperparameterPanel:
    """Sliders + Train button + progress bar + status line + one redrawn output.

    Parameters
    ----------
    controls:
        ``name -> widget``; the widget's ``.value`` is passed to ``train`` under
        ``name``. Build sliders with :func:`float_slider`, :func:`log_slider`
        and :func:`int_slider`.
    train:
        ``train(values, progress)``; must call ``progress(i, total, loss)`` as it
        goes (every iteration is fine: the bar is throttled), optionally with a
        fourth argument ``label`` naming what is being trained (a run that
        trains several models in turn); the status line shows it. Returns a result.
    draw:
        ``draw(result)`` returns a matplotlib figure; the panel shows and closes it.
    summary:
        Optional ``summary(result) -> str`` appended to the status line.
    divergence_hint:
        The advice given when a run diverges, e.g. ``"try a smaller β"``.
    max_loss:
        Losses above this also count as divergence (``None``: only non-finite).
    baseline:
        Optional ``(loss, "what scores it")`` quoted in the divergence message
        so a reader can judge the blown-up loss.
    crop:
        ``True`` (the default): the figure is shown as IPython shows any figure, cropped to
        its artists (``bbox_inches="tight"``, which lays the figure out a second time).
        ``False``: shown as drawn, for a ``draw`` that sets fixed margins — one layout pass
        fewer (notebook 04's panel, whose click has a 1 s budget).

    After each click, :attr:`timings` holds its seconds: ``"train"`` (the ``train`` call),
    ``"draw"`` (the ``draw`` call: the figure's artists and layout), ``"render"`` (the figure
    encoded as the page's image: rasterised and PNG-compressed by IPython's display formatter;
    0 outside IPython, where nothing renders it) and ``"total"`` (click to figure shown).

    Notebook 04 (section 7.4) shows the panel in use; ``tests/panels/test_panel_base.py``
    covers it.
    """

    def __init__(self, controls: Mapping[str, widgets.ValueWidget], train: TrainFn,
                 draw: DrawFn, *, title: str = "", summary: Optional[Callable[[Any], str]] = None,
                 divergence_hint: str = "try a smaller learning rate",
                 max_loss: Optional[float] = None,
                 baseline: Optional[tuple[float, str]] = None, crop: bool = True) -> None:
        if not controls:
            raise ValueError("a panel needs at least one control")
        for name, control in controls.items():
            if not hasattr(control, "value"):
                raise ValueError(f"control {name!r} has no .value")
        if max_loss is not None and not max_loss > 0:
            raise ValueError(f"max_loss must be positive, got {max_loss}")
        self.controls = dict(controls)
        self._train_fn, self._draw_fn, self._summary = train, draw, summary
        self.divergence_hint = divergence_hint
        self.max_loss = max_loss
        self.baseline = baseline
        self.crop = bool(crop)
        self.button = widgets.Button(description="Train", button_style="primary",
                                     icon="play", tooltip="Retrain with these settings")
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="",
                                            layout=widgets.Layout(width="26em"))
        self.status = widgets.HTML(value="Move a slider, then press <b>Train</b>.")
        self.output = widgets.Output()
        self.button.on_click(self.train)
        header = [widgets.HTML(f"<b>{html.escape(title)}</b>")] if title else []
        self.widget = widgets.VBox(header + list(self.controls.values()) + [
            widgets.HBox([self.button, self.progress]), self.status, self.output])
        self._add_css_classes()
        self.last_result: Any = None
        self.last_message = ""
        self.runs = 0
        #: Seconds the last click spent: ``train``, ``draw``, ``render``, ``total`` (class docstring).
        self.timings: dict[str, float] = {}

    # -- public -----------------------------------------------------------------
    @property
    def values(self) -> dict:
        """The current control values, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def train(self, *_: Any) -> Any:
        """Train with the current values and redraw; the Train button calls this.

        Returns the training result, or ``None`` when the run diverged (the
        status line then says so in plain words).
        """
        start = time.perf_counter()
        try:
            return self._train_and_show()
        finally:
            self.timings["total"] = time.perf_counter() - start

    # -- internals ---------------------------------------------------------------
    def _train_and_show(self) -> Any:
        self._set_disabled(True)
        self.button.description = "Training…"
        self.progress.value = 0
        self.status.value = "Training…"
        self.timings = {}
        start = time.perf_counter()
        try:
            result = self._train_fn(self.values, self._make_progress())
        except Diverged as stop:
            self.last_result = None
            self._report(self._divergence_message(stop), ok=False, replace_plot=True)
            return None
        except (ValueError, FloatingPointError, OverflowError) as error:
            self.last_result = None
            self._report(f"Could not train with these settings: {error}", ok=False,
                         replace_plot=True)
            return None
        finally:
            self.timings["train"] = seconds = time.perf_counter() - start
            self._set_disabled(False)
            self.button.description = "Train"
        self.progress.value = self.progress.max
        try:
            self._show(result)
        except (ValueError, FloatingPointError, OverflowError) as error:  # incl. LinAlgError
            self.last_result = None
            self._report(f"Trained, but could not draw the result with these settings: {error}",
                         ok=False, replace_plot=True)
            return None
        self.runs += 1
        self.last_result = result
        extra = f" — {self._summary(result)}" if self._summary else ""
        self._report(f"Done in {seconds:.2f} s{extra}.", ok=True)
        return result

    #: Seconds between two moves of the progress bar (each move is a message the Jupyter server
    #: relays to the page; on Binder's one CPU the server shares it with the kernel), besides
    #: at most about 20 moves per run and the move to each run's end.
    progress_interval: float = 0.1

    def _make_progress(self) -> Callable[..., None]:
        state = {"shown": -1, "label": "", "at": -math.inf}

        def progress(iteration: int, total: int, loss: float, label: str = "") -> None:
            if not math.isfinite(loss) or (self.max_loss is not None and loss > self.max_loss):
                raise Diverged(iteration, loss, label)
            if label != state["label"]:
                state["label"], state["shown"] = label, -1
                self.status.value = f"Training {html.escape(label)}…"
            step = max(1, total // 20)
            now = time.perf_counter()
            if iteration == total or (iteration - state["shown"] >= step
                                      and now - state["at"] >= self.progress_interval):
                state["shown"], state["at"] = iteration, now
                self.progress.max = max(1, total)
                self.progress.value = min(iteration, total)
        return progress

    def _divergence_message(self, stop: Diverged) -> str:
        what = "stopped being a number" if not math.isfinite(stop.loss) else \
            f"reached {stop.loss:.3g}"
        reference = ""
        if self.baseline is not None and math.isfinite(stop.loss):
            reference = f" ({self.baseline[1]} scores {self.baseline[0]:.3g})"
        where = f" ({stop.label})" if stop.label else ""
        return (f"Diverged at iteration {stop.iteration}{where}: the loss {what}{reference}"
                f" — {self.divergence_hint}.")

    def _report(self, message: str, ok: bool, replace_plot: bool = False) -> None:
        self.last_message = message
        colour = "#1a7f37" if ok else "#b35900"
        self.status.value = f'<span style="color:{colour}">{html.escape(message)}</span>'
        if replace_plot:
            with self.output:
                clear_output(wait=True)
                print(message)

    def _show(self, result: Any) -> None:
        """Draw ``result`` and show it in the output area, timing the two (:attr:`timings`)."""
        import matplotlib.pyplot as plt

        start = time.perf_counter()
        figure = self._draw_fn(result)
        self.timings["draw"] = time.perf_counter() - start
        try:
            with self.output:
                clear_output(wait=True)
                self._display_figure(figure)
        finally:
            plt.close(figure)

    def _display_figure(self, figure: Any) -> None:
        """``display(figure)``, in its two steps: the figure is rendered as a PNG — by IPython's
        display formatter (matplotlib's inline backend), or as drawn without ``crop`` — timed
        as ``"render"``; then the image is published."""
        start = time.perf_counter()
        shell = get_ipython()
        if shell is None:                  # plain Python: nothing renders a figure
            display(figure)
            self.timings["render"] = 0.0
            return
        if self.crop:
            data, metadata = shell.display_formatter.format(figure)
        else:
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png")
            data = {"image/png": base64.b64encode(buffer.getvalue()).decode("ascii"),
                    "text/plain": repr(figure)}
            metadata = {}
        self.timings["render"] = time.perf_counter() - start
        if data:                           # empty when the object displayed itself
            publish_display_data(data, metadata=metadata)

    def _add_css_classes(self) -> None:
        """Name the parts in the page, so browser tests (``tests/browser/``) can find them."""
        for part, name in [(self.widget, "panel"), (self.button, "panel-train"),
                           (self.progress, "panel-progress"), (self.status, "panel-status"),
                           (self.output, "panel-output")]:
            part.add_class(f"{CSS_PREFIX}{name}")
        for name, control in self.controls.items():
            if hasattr(control, "add_class"):
                control.add_class(control_css_class(name))

    def _set_disabled(self, disabled: bool) -> None:
        for control in list(self.controls.values()) + [self.button]:
            control.disabled = disabled

    def _ipython_display_(self) -> None:
        display(self.widget)
