"""Draw your own characters: a meta-learned network learns them from one drawing each (notebook 09).

The reader invents N characters (2–5) and draws one example of each on its own
small canvas, draws a new character on the **test** canvas, and presses
**Classify**. Every method — the shipped meta-trained learners
(:data:`chapter_utils.CHARACTER_LEARNERS`) and the baselines of
:func:`chapter_utils.evaluation.characters.character_baselines` (pixel nearest
neighbour, the prototypical network, …) — adapts to the N drawings (one shot
each) and gives its probabilities that the test drawing is each character: one
bar per character, one row per method. The status line prints how long that
took ("Done in … s").

Each drawing becomes a 28 × 28 image through
:func:`chapter_utils.tasks.characters.frame_character`, the very function the
character renderer normalises its glyphs with (crop to the ink, scale, centre),
so a drawing reaches the networks as a rendered character does; the panel shows
those images beside the bars ("what the networks see").

Every canvas has **Undo** (the last stroke, or the last Clear), **Clear** and an
**Erase** toggle (strokes then rub ink out). An empty canvas or a drawing too
small to read gives a plain sentence in the status line, never a traceback.

The canvases are ``ipycanvas`` widgets (JupyterLab, Voilà, and Colab with its
custom widget manager, which the notebook's setup cell turns on; ipycanvas 0.14
supports ipywidgets 7.6 up to 8). The mouse (or a finger) draws: ipycanvas sends
each press, move and release to the kernel, which records the point and sends
back one line segment — a few microseconds of kernel work per event. The ink the
networks see is rasterised from the recorded strokes in the kernel (Pillow), so
nothing depends on reading pixels back from the browser.

Its parts carry the CSS classes ``cu-draw`` (the panel), ``cu-draw-pad`` (each
canvas with its buttons; also ``cu-draw-support`` or ``cu-draw-query``),
``cu-draw-canvas``, ``cu-draw-undo``, ``cu-draw-clear``, ``cu-draw-erase``,
``cu-draw-classify``, ``cu-draw-status`` and ``cu-draw-results`` for the browser tests.
"""
from __future__ import annotations

import base64
import html
import io
import time
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as widgets
import numpy as np

from chapter_utils.checks import check_steps
from chapter_utils.tasks.characters import BOX, SIZE

#: Fewest and most characters the reader can invent (the shipped learners are meta-trained 5-way).
MIN_WAY, MAX_WAY = 2, 5
#: Side of each square canvas, in pixels (the ink is rasterised at this size).
CANVAS_PIXELS = 150
#: The pen's and the eraser's width, in canvas pixels.
PEN_WIDTH, ERASER_WIDTH = 9.0, 22.0
#: Width, in pixels of the 28 × 28 image, that a drawing's strokes are thickened to (see
#: :func:`match_stroke_width`): the stems of the regular faces the characters are rendered in
#: measure 2.5 (DejaVu Sans) to 3.3 (STIX) pixels once framed, the bold ones about 5.
STROKE_WIDTH = 3.0
#: Pixels the larger side of the ink fills once framed (frame_character's 20-in-28 box).
FRAMED_BOX = BOX * SIZE
#: A drawing whose ink spans fewer pixels than this, both ways, is too small to read (a dot).
MIN_EXTENT = 12
#: Side of the 28 × 28 images the networks see, as shown beside the bars (CSS pixels).
THUMBNAIL_PIXELS = 56
#: Most undo steps each canvas keeps.
HISTORY = 100

INK, ERASE = "ink", "erase"
_COLOURS = {INK: "black", ERASE: "white"}
_BAR_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")


def _canvas_class():
    try:
        from ipycanvas import Canvas, hold_canvas
    except ImportError:
        raise ImportError("the draw-your-own panel draws with ipycanvas: pip install ipycanvas "
                          "(it is in requirements.txt)") from None
    return Canvas, hold_canvas


def rasterise(strokes: list[tuple[str, np.ndarray]], size: int = CANVAS_PIXELS,
              pen: float = PEN_WIDTH, eraser: float = ERASER_WIDTH) -> np.ndarray:
    """The ink of ``strokes`` on a ``size`` × ``size`` canvas: floats in [0, 1], ink 1 on 0.

    Each stroke is ``(mode, points)`` with ``mode`` :data:`INK` or :data:`ERASE` and
    ``points`` an ``(n, 2)`` array of canvas pixel coordinates (x right, y down); strokes are
    drawn in order with round ends and joints, so an eraser stroke removes the ink under it.
    """
    from PIL import Image, ImageDraw

    image = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(image)
    for mode, points in strokes:
        if mode not in (INK, ERASE):
            raise ValueError(f"a stroke's mode must be {INK!r} or {ERASE!r}, got {mode!r}")
        width = pen if mode == INK else eraser
        fill = 255 if mode == INK else 0
        xy = [(float(x), float(y)) for x, y in np.asarray(points, dtype=float).reshape(-1, 2)]
        if len(xy) > 1:
            draw.line(xy, fill=fill, width=int(round(width)), joint="curve")
        r = width / 2.0
        for x, y in xy:  # round ends (and a lone press is a dot)
            draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)
    return np.asarray(image, dtype=np.float64) / 255.0


def match_stroke_width(ink: np.ndarray, width: float = STROKE_WIDTH, pen: float = PEN_WIDTH) -> np.ndarray:
    """Thicken a pen drawing's strokes so that, once framed, they are about ``width`` pixels of 28 wide.

    A font's strokes grow with the glyph, a pen's do not: framed to 28 × 28, a drawing
    that fills the canvas would have strokes of 1.4 pixels, thinner than any rendered
    character, and a small one thicker. So the ink is dilated (a max filter) until its
    strokes, framed, are ``width`` wide — the regular faces' stems (see :data:`STROKE_WIDTH`).
    A drawing whose strokes are already that wide or wider is left as it is.
    """
    from PIL import Image, ImageFilter

    rows, cols = np.nonzero(ink > 0.5)
    if not rows.size:
        return ink
    extent = max(rows.max() - rows.min(), cols.max() - cols.min()) + 1
    target = width * extent / FRAMED_BOX          # canvas pixels that frame to ``width``
    grow = int(round(target - pen))
    if grow < 2:
        return ink
    size = grow + 1 if grow % 2 == 0 else grow    # the filter's side must be odd
    picture = Image.fromarray((np.clip(ink, 0, 1) * 255).round().astype(np.uint8))
    return np.asarray(picture.filter(ImageFilter.MaxFilter(size)), dtype=np.float64) / 255.0


def _last_line(error: Exception) -> str:
    """The gist of an error's message: its last non-empty line (TensorFlow's put the cause last)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[-1] if lines else type(error).__name__
    return text if len(text) <= 200 else text[:197] + "…"


def _png(image: np.ndarray) -> str:
    """A data URL of ``image`` (2-D, [0, 1], ink 1) as black ink on white, scaled up without smoothing."""
    from PIL import Image

    pixels = (255 - np.clip(image, 0.0, 1.0) * 255).round().astype(np.uint8)
    picture = Image.fromarray(pixels).resize((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS), Image.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


class DrawingPad:
    """One canvas, with its Undo, Clear and Erase buttons, and the strokes drawn on it.

    :meth:`press`, :meth:`move` and :meth:`release` are what the mouse does (canvas pixel
    coordinates); :meth:`add_stroke`, :meth:`undo` and :meth:`clear` do from code what
    drawing and the buttons do; :meth:`ink` is the drawing as an array.
    """

    def __init__(self, title: str, kind: str, on_change: Callable[[], None] | None = None):
        Canvas, self._hold = _canvas_class()
        self.title = title
        self.strokes: list[tuple[str, np.ndarray]] = []
        self._history: list[list[tuple[str, np.ndarray]]] = []
        self._current: list[tuple[float, float]] | None = None
        self._mode_drawn: str | None = None
        self._on_change = on_change
        #: Events handled, and the kernel seconds they took (for the latency report).
        self.events, self.event_seconds = 0, 0.0

        px = f"{CANVAS_PIXELS}px"
        self.canvas = Canvas(width=CANVAS_PIXELS, height=CANVAS_PIXELS,
                             layout=widgets.Layout(width=px, height=px, border="1px solid #888"))
        self.canvas.add_class("cu-draw-canvas")
        self._paint_background()
        self.canvas.on_mouse_down(self.press)
        self.canvas.on_mouse_move(self.move)
        self.canvas.on_mouse_up(self.release)
        self.canvas.on_mouse_out(self.release)
        self.canvas.on_touch_start(lambda touches: touches and self.press(*touches[0]))
        self.canvas.on_touch_move(lambda touches: touches and self.move(*touches[0]))
        self.canvas.on_touch_end(lambda touches: self.release())
        self.canvas.on_touch_cancel(lambda touches: self.release())

        button = dict(layout=widgets.Layout(width="48px", padding="0px"))
        self.undo_button = widgets.Button(description="Undo", tooltip="take back the last stroke", **button)
        self.clear_button = widgets.Button(description="Clear", tooltip="wipe this canvas", **button)
        self.erase_button = widgets.ToggleButton(description="Erase", value=False,
                                                 tooltip="on: strokes rub ink out", **button)
        for name, control in (("undo", self.undo_button), ("clear", self.clear_button),
                              ("erase", self.erase_button)):
            control.add_class(f"cu-draw-{name}")
        self.undo_button.on_click(lambda _: self.undo())
        self.clear_button.on_click(lambda _: self.clear())
        self.label = widgets.HTML(f"<b>{html.escape(title)}</b>")
        self.widget = widgets.VBox([self.label, self.canvas,
                                    widgets.HBox([self.erase_button, self.undo_button, self.clear_button])],
                                   layout=widgets.Layout(margin="0 8px 0 0", width=f"{CANVAS_PIXELS + 8}px"))
        self.widget.add_class("cu-draw-pad")
        self.widget.add_class(f"cu-draw-{kind}")

    # -- what the mouse does -------------------------------------------------------------
    @property
    def mode(self) -> str:
        return ERASE if self.erase_button.value else INK

    def _style(self, mode: str) -> None:
        if self._mode_drawn != mode:  # each style change is a message to the browser: only on a change
            self.canvas.stroke_style = self.canvas.fill_style = _COLOURS[mode]
            self.canvas.line_width = PEN_WIDTH if mode == INK else ERASER_WIDTH
            self.canvas.line_cap = self.canvas.line_join = "round"
            self._mode_drawn = mode

    def press(self, x: float, y: float) -> None:
        """The button goes down at ``(x, y)``: a stroke starts (with a dot, in case it is only a click)."""
        start = time.perf_counter()
        if self._current is not None:
            self.release()
        self._current = [(float(x), float(y))]
        self._current_mode = self.mode
        self._style(self._current_mode)
        width = PEN_WIDTH if self._current_mode == INK else ERASER_WIDTH
        self.canvas.fill_circle(float(x), float(y), width / 2.0)
        self._count(start)

    def move(self, x: float, y: float) -> None:
        """The mouse moved to ``(x, y)``: extend the stroke if the button is down (else nothing)."""
        if self._current is None:
            return
        start = time.perf_counter()
        x0, y0 = self._current[-1]
        self._current.append((float(x), float(y)))
        self.canvas.stroke_line(x0, y0, float(x), float(y))
        self._count(start)

    def release(self, x: float | None = None, y: float | None = None) -> None:
        """The button went up (or the mouse left the canvas): the stroke is done."""
        if self._current is None:
            return
        points, self._current = np.array(self._current), None
        if len(points) > 1:  # once more as one line: the segments' antialiased joints left beads
            self._style(self._current_mode)
            self.canvas.stroke_lines(points)
        self._remember()
        self.strokes.append((self._current_mode, points))
        self._changed()

    def _count(self, start: float) -> None:
        self.events += 1
        self.event_seconds += time.perf_counter() - start

    # -- what the buttons and code do ------------------------------------------------------
    def add_stroke(self, points: Any, mode: str | None = None) -> None:
        """Add a whole stroke: ``points`` an ``(n, 2)`` array-like of canvas pixel coordinates."""
        points = np.asarray(points, dtype=float)
        if points.ndim != 2 or points.shape[1] != 2 or not len(points) or not np.all(np.isfinite(points)):
            raise ValueError(f"a stroke's points must be a non-empty (n, 2) array of finite pixel "
                             f"coordinates, got shape {points.shape}")
        mode = self.mode if mode is None else mode
        if mode not in (INK, ERASE):
            raise ValueError(f"mode must be {INK!r} or {ERASE!r}, got {mode!r}")
        self.release()
        self._remember()
        self.strokes.append((mode, points))
        self._redraw()
        self._changed()

    def undo(self) -> None:
        """Back to the strokes before the last stroke or Clear (nothing happens if there is none)."""
        self.release()
        if self._history:
            self.strokes = self._history.pop()
            self._redraw()
            self._changed()

    def clear(self) -> None:
        """Wipe the canvas (Undo brings the strokes back)."""
        self.release()
        if self.strokes:
            self._remember()
            self.strokes = []
            self._redraw()
            self._changed()

    def ink(self) -> np.ndarray:
        """The drawing as the networks get it: ``(CANVAS_PIXELS, CANVAS_PIXELS)``, [0, 1], ink 1 on 0.

        It is :func:`rasterise` of the strokes as drawn, with the strokes thickened like a
        font's (see :func:`match_stroke_width`).
        """
        return match_stroke_width(rasterise(self.strokes))

    def _remember(self) -> None:
        self._history.append(list(self.strokes))
        del self._history[:-HISTORY]

    def _paint_background(self) -> None:
        self.canvas.fill_style = "white"
        self.canvas.fill_rect(0, 0, CANVAS_PIXELS, CANVAS_PIXELS)
        self._mode_drawn = None

    def _redraw(self) -> None:
        with self._hold(self.canvas):
            self.canvas.clear()
            self._paint_background()
            for mode, points in self.strokes:
                self._style(mode)
                width = PEN_WIDTH if mode == INK else ERASER_WIDTH
                if len(points) > 1:
                    self.canvas.stroke_lines(points)
                self.canvas.fill_circles(points[[0, -1], 0], points[[0, -1], 1], width / 2.0)

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()


def shipped_methods() -> dict[str, Any]:
    """The shipped meta-trained learners, best first (:data:`chapter_utils.CHARACTER_LEARNERS`)."""
    import chapter_utils

    return {name: chapter_utils.load_character_learner(name) for name in chapter_utils.CHARACTER_LEARNERS}


def shipped_baselines() -> dict[str, Any]:
    """The baselines of :func:`chapter_utils.evaluation.characters.character_baselines`."""
    from chapter_utils.evaluation.characters import character_baselines

    return dict(character_baselines())


def _default_frame() -> Callable[[np.ndarray], np.ndarray]:
    from chapter_utils.tasks.characters import frame_character

    return frame_character


class DrawingPanel(widgets.VBox):
    """The draw-your-own panel (see the module's description); it is a widget: display it.

    ``methods``: the meta-learners, name → object with ``adapt(images, labels, steps=None)``
    returning a function from images to class probabilities (default: the shipped ones,
    :func:`shipped_methods`); ``baselines``: the same for the baselines shown below them
    (default: :func:`shipped_baselines`; ``{}`` for none). ``frame``: the function that turns a drawing's ink into the
    28 × 28 image (default :func:`chapter_utils.tasks.characters.frame_character`).
    ``steps``: adaptation steps handed to every ``adapt`` (default: each method's own).
    ``warm_up``: adapt every method once to made-up drawings while the panel is built, so
    the reader's first Classify is as quick as the later ones (XLA compiles the conv net's
    adaptation on its first call); the seconds it took are in :attr:`warm_up_seconds`.

    From code: :attr:`pads` (the N character canvases), :attr:`query` (the test canvas),
    :meth:`classify`; afterwards :attr:`probabilities` (name → N probabilities),
    :attr:`last_message` and :attr:`classify_seconds`.
    """

    def __init__(self, n_way: int = 3, methods: Mapping[str, Any] | None = None,
                 baselines: Mapping[str, Any] | None = None,
                 frame: Callable[[np.ndarray], np.ndarray] | None = None, steps: int | None = None,
                 warm_up: bool = True):
        if isinstance(n_way, bool) or not isinstance(n_way, (int, np.integer)) or not MIN_WAY <= n_way <= MAX_WAY:
            raise ValueError(f"n_way must be an integer from {MIN_WAY} to {MAX_WAY}, got {n_way!r}")
        self.n_way, self.steps = int(n_way), None if steps is None else check_steps(steps)
        self.frame = _default_frame() if frame is None else frame
        learners = dict(shipped_methods() if methods is None else methods)
        others = dict(shipped_baselines() if baselines is None else baselines)
        if set(learners) & set(others):
            raise ValueError(f"a method and a baseline share a name: {sorted(set(learners) & set(others))}")
        #: Every method, meta-learners first, then baselines: name → object with ``adapt``.
        self.methods = {**learners, **others}
        #: The names of :attr:`methods` that are baselines.
        self.baseline_names = tuple(others)
        if not self.methods:
            raise ValueError("methods and baselines must name at least one learner to classify with")
        for name, method in self.methods.items():
            if not callable(getattr(method, "adapt", None)):
                raise ValueError(f"method {name!r} has no adapt(images, labels, steps=None)")

        self.pads = [DrawingPad(f"character {i + 1}", "support", self._on_drawing) for i in range(self.n_way)]
        self.query = DrawingPad("test drawing", "query", self._on_drawing)
        self.classify_button = widgets.Button(description="Classify", button_style="primary",
                                              tooltip="adapt every method to your drawings and classify the test")
        self.classify_button.add_class("cu-draw-classify")
        self.classify_button.on_click(lambda _: self.classify())
        self.clear_all_button = widgets.Button(description="Clear all")
        self.clear_all_button.add_class("cu-draw-clear-all")
        self.clear_all_button.on_click(lambda _: self.clear_all())
        self.status_line = widgets.HTML()
        self.status_line.add_class("cu-draw-status")
        self.results = widgets.HTML()
        self.results.add_class("cu-draw-results")

        #: name → the N probabilities of the last Classify (empty until one succeeds).
        self.probabilities: dict[str, np.ndarray] = {}
        #: The 28 × 28 images of the last Classify: ``(support (N, 28, 28), query (28, 28))``.
        self.images: tuple[np.ndarray, np.ndarray] | None = None
        self.last_message, self.classify_seconds, self.runs = "", float("nan"), 0
        #: name → why that method gave no probabilities in the last Classify (its ValueError's gist).
        self.failures: dict[str, str] = {}
        self._stale = False

        instructions = widgets.HTML(
            f"Invent {self.n_way} characters and draw one of each in the boxes on the left "
            "(hold the mouse button down to draw). Then draw any one of them again, your own way, "
            "in the <i>test drawing</i> box and press <b>Classify</b>: each method learns your "
            f"{self.n_way} characters from the one drawing of each and says which one it thinks the "
            "test drawing is.")
        pads = widgets.HBox([pad.widget for pad in self.pads], layout=widgets.Layout(flex_flow="row wrap"))
        query = widgets.HBox([self.query.widget], layout=widgets.Layout(margin="0 0 0 24px"))
        super().__init__([instructions, widgets.HBox([pads, query]),
                          widgets.HBox([self.classify_button, self.clear_all_button]),
                          self.status_line, self.results])
        self.add_class("cu-draw")
        #: Seconds the warm-up took (0 without one): each method adapted once to made-up strokes.
        self.warm_up_seconds = self._warm_up() if warm_up else 0.0
        self._set_status("Draw one example of each character and a test drawing, then press Classify.")

    def _warm_up(self) -> float:
        """Adapt every method once to N made-up drawings (straight strokes at N angles), so the
        reader's first Classify does not wait for one-off set-up such as compiling (the shapes,
        N support images and one query, are the reader's). Returns the seconds it took."""
        start = time.perf_counter()
        centre, half = CANVAS_PIXELS / 2, CANVAS_PIXELS / 3
        images = []
        for i in range(self.n_way):
            angle = np.pi * i / self.n_way
            dx, dy = half * np.cos(angle), half * np.sin(angle)
            ink = rasterise([(INK, np.array([[centre - dx, centre - dy], [centre + dx, centre + dy]]))])
            images.append(np.asarray(self.frame(match_stroke_width(ink)), dtype=np.float64))
        support = np.stack(images)
        for method in self.methods.values():
            method.adapt(support, np.arange(self.n_way), steps=self.steps)(support[:1])
        return time.perf_counter() - start

    # -- reading the drawings --------------------------------------------------------------
    def _image(self, pad: DrawingPad) -> np.ndarray | str:
        """``pad``'s 28 × 28 image, or a sentence saying why there is none."""
        ink = pad.ink()
        rows, cols = np.nonzero(ink > 0.5)
        if not rows.size:
            return f"The {pad.title} box is empty"
        if max(rows.max() - rows.min(), cols.max() - cols.min()) + 1 < MIN_EXTENT:
            return f"The drawing in the {pad.title} box is too small to read (a dot?): draw it bigger"
        try:
            image = np.asarray(self.frame(ink), dtype=np.float64)
        except ValueError as error:
            return f"The drawing in the {pad.title} box cannot be read ({error})"
        if image.shape != (28, 28) or not np.all(np.isfinite(image)) or image.max() <= 0:
            return f"The drawing in the {pad.title} box cannot be read (it framed to nothing)"
        return image

    def read_drawings(self) -> tuple[np.ndarray, np.ndarray] | str:
        """``(support images (N, 28, 28), query image (28, 28))``, or a sentence naming every problem."""
        images = [self._image(pad) for pad in [*self.pads, self.query]]
        problems = [image for image in images if isinstance(image, str)]
        if problems:
            return "; ".join(problems) + ". Draw in every box, then press Classify again."
        return np.stack(images[:-1]), images[-1]

    # -- classifying -----------------------------------------------------------------------
    def classify(self) -> dict[str, np.ndarray]:
        """Adapt every method to the drawings and classify the test drawing; returns :attr:`probabilities`.

        An empty or unreadable drawing leaves a plain sentence in the status line and
        returns ``{}``. A method whose ``adapt`` raises ``ValueError`` (the interface's
        error for images it cannot take) is left out, named with the error's gist in the
        status line and in :attr:`failures`; the others are shown.
        """
        start = time.perf_counter()
        self.classify_button.disabled = True
        self.classify_button.description = "Classifying…"
        self._set_status("Classifying: every method adapts to your drawings…")
        try:
            drawings = self.read_drawings()
            if isinstance(drawings, str):
                return self._fail(drawings)
            support, query = drawings
            labels = np.arange(self.n_way)
            probabilities, self.failures = {}, {}
            for name, method in self.methods.items():
                try:
                    predict = method.adapt(support, labels, steps=self.steps)
                    p = np.asarray(predict(query[None]), dtype=np.float64).reshape(-1)
                except ValueError as error:   # the interface's error for images it cannot take
                    self.failures[name] = _last_line(error)
                    continue
                if p.shape != (self.n_way,) or not np.all(np.isfinite(p)):
                    self.failures[name] = f"no usable probabilities (shape {p.shape})"
                    continue
                probabilities[name] = p
            if not probabilities:
                return self._fail("No method could classify these drawings: " + "; ".join(
                    f"{name}: {why}" for name, why in self.failures.items()))
            self.probabilities, self.images = probabilities, (support, query)
            self._stale = False
            self.runs += 1
            self.results.value = self._results_html()
            self.classify_seconds = time.perf_counter() - start
            count = len(probabilities)
            message = (f"Done in {self.classify_seconds:.2f} s: {count} method{'s' * (count != 1)} adapted "
                       f"to your {self.n_way} drawings (1 each) and classified the test drawing.")
            if self.failures:
                message += " Could not classify: " + "; ".join(
                    f"{name} ({why})" for name, why in self.failures.items()) + "."
            self._set_status(message)
            return probabilities
        finally:
            self.classify_button.description = "Classify"
            self.classify_button.disabled = False

    def _fail(self, message: str) -> dict[str, np.ndarray]:
        self.probabilities, self.images = {}, None
        self.failures = {}
        self.results.value = ""
        self._set_status(message)
        return {}

    def _set_status(self, message: str) -> None:
        self.last_message = message
        self.status_line.value = html.escape(message)

    def _on_drawing(self) -> None:
        if self.probabilities and not self._stale:
            self._stale = True
            self._set_status(self.last_message + " (Drawings changed since: press Classify again.)")

    def clear_all(self) -> None:
        """Clear every canvas and the results."""
        for pad in [*self.pads, self.query]:
            pad.clear()
        self._fail("Cleared. Draw one example of each character and a test drawing, then press Classify.")

    def _results_html(self) -> str:
        support, query = self.images
        cell = "padding:2px 6px;text-align:center;vertical-align:bottom"
        head = "".join(f'<th style="{cell}"><img src="{_png(image)}" width="{THUMBNAIL_PIXELS}" '
                       f'height="{THUMBNAIL_PIXELS}" style="border:1px solid #ccc;image-rendering:pixelated" '
                       f'alt="character {i + 1}"><br>character {i + 1}</th>'
                       for i, image in enumerate(support))
        rows = []
        groups = {name: "baselines" if name in self.baseline_names else "meta-learned" for name in self.methods}
        kinds = set(groups.values())
        for name, p in self.probabilities.items():
            if len(kinds) > 1 and name == next(n for n in self.probabilities if groups[n] == groups[name]):
                rows.append(f'<tr><td colspan="{self.n_way + 2}" style="padding:6px 6px 0;font-style:italic;'
                            f'border-bottom:1px solid #ccc">{groups[name]}</td></tr>')
            best = int(np.argmax(p))
            bars = []
            for i, value in enumerate(p):
                colour = _BAR_COLOURS[i % len(_BAR_COLOURS)]
                weight = "bold" if i == best else "normal"
                bars.append(f'<td style="{cell};width:{THUMBNAIL_PIXELS + 30}px">'
                            f'<div style="background:#eee;width:{THUMBNAIL_PIXELS + 24}px;height:12px">'
                            f'<div style="background:{colour};width:{100 * value:.1f}%;height:12px"></div></div>'
                            f'<span style="font-weight:{weight}">{100 * value:.0f} %</span></td>')
            rows.append(f'<tr><td style="padding:2px 6px;text-align:right">{html.escape(name)}</td>'
                        f'{"".join(bars)}<td style="padding:2px 6px">→ character {best + 1}</td></tr>')
        query_image = (f'<img src="{_png(query)}" width="{THUMBNAIL_PIXELS}" height="{THUMBNAIL_PIXELS}" '
                       'style="border:1px solid #ccc;image-rendering:pixelated" alt="test drawing">')
        return (f'<div style="display:flex;align-items:flex-start;gap:16px">'
                f'<div style="text-align:center">{query_image}<br>test drawing</div>'
                f'<table style="border-collapse:collapse"><tr><th style="{cell};text-align:right">method</th>'
                f'{head}<th style="{cell}">guess</th></tr>{"".join(rows)}</table></div>'
                f'<div style="color:#555;font-size:smaller">The images are your drawings as the networks see them '
                f'(28 × 28, framed like the training characters). Bars: each method\'s probability that the test '
                f'drawing is each character, after adapting to one drawing of each; bold is its guess.</div>')


def draw_your_own(n_way: int = 3, methods: Mapping[str, Any] | None = None,
                  baselines: Mapping[str, Any] | None = None,
                  frame: Callable[[np.ndarray], np.ndarray] | None = None,
                  steps: int | None = None, warm_up: bool = True) -> DrawingPanel:
    """The draw-your-own panel of notebook 09 and the playground: a widget, display it.

    ``n_way`` characters (2–5), one drawing each, then a test drawing; see :class:`DrawingPanel`.
    """
    return DrawingPanel(n_way, methods=methods, baselines=baselines, frame=frame, steps=steps, warm_up=warm_up)
