"""The draw-your-own panel works in a real browser: draw with the mouse, classify, see the bars.

The panel (:mod:`chapter_utils.panels.drawing`) is opened in JupyterLab in
notebook 09 (it runs the notebook with Run All) and in Voilà in the playground app;
where either does not show the panel (yet), in a scratch notebook the test writes
into the server's copy of ``notebooks/``. In the page the test:

1. presses **Clear all**, then **Classify** with nothing drawn, and checks that the
   status line says in plain words which boxes are empty (no traceback anywhere);
2. draws a different character on each support canvas and a smaller copy of
   character 2 on the test canvas with the mouse (press, moves, release), and checks
   that the kernel holds those strokes and that the ink appeared on the canvas (the
   time from the press to the first ink is printed);
3. draws one more stroke on the test canvas with the mouse and one with a finger (touch
   events), presses its **Undo** twice, and checks that the kernel got both strokes and lost them;
4. presses **Classify** and waits for the status "Done in …" and a results table with
   one row per method, in the panel's order (meta-learned, then baselines, under those
   headings), each a guess and percentages summing to 100 (to rounding);
   the time from the click to the shown result is printed (target 3 s, reported, not
   asserted), with the guesses.

What the kernel holds is read over the kernel's WebSocket as a second client (see
``test_panels.py``); the panel is found there as the one ``DrawingPanel`` alive.
"""
from __future__ import annotations

import json
import re
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from test_panels import LabNotebook, PanelPage, VoilaApp, _evidence_on_failure

from chapter_utils.tooling.contents import NOTEBOOK_DIR

ROOT = Path(__file__).resolve().parents[2]
TARGET_STEM = "09_few_shot_characters"
SCRATCH = "draw_scratch.ipynb"
CLASSIFY_TARGET = 3.0        # seconds from the Classify click to the bars shown (reported)
CLASSIFY_TIMEOUT = 180_000   # ms, on a loaded machine (the first call may compile)
INK_TIMEOUT = 10_000         # ms from a press to the ink on the canvas

#: The scratch notebook's code: the panel as notebook 09 shows it (shipped learners and baselines).
SCRATCH_CODE = """\
from chapter_utils.panels.drawing import draw_your_own
drawing = draw_your_own(3)
drawing"""

#: Three characters in the canvas's 150-pixel coordinates: a "Z", an "L", a "+".
SHAPES = (
    [[(20, 20), (130, 20), (20, 130), (130, 130)]],
    [[(30, 15), (30, 135), (120, 135)]],
    [[(75, 15), (75, 135)], [(15, 75), (135, 75)]],
)

# --- JavaScript run in the page ------------------------------------------------------------
_BOXES = """() => [...document.querySelector('.cu-draw').querySelectorAll('.cu-draw-pad')].map(p => {
  const c = p.querySelector('canvas'); const r = c.getBoundingClientRect();
  return {x: r.x, y: r.y, width: r.width, height: r.height, pixels: c.width,
          query: p.classList.contains('cu-draw-query')}; })"""

# Note the canvas's pixels at the next press on it, and when they first change after it.
_INK_WATCH = """(index) => {
  const c = document.querySelectorAll('.cu-draw .cu-draw-pad')[index].querySelector('canvas');
  const w = {old: c.toDataURL(), pressAt: null, inkAt: null};
  window.__cuDraw = w;
  c.addEventListener('mousedown', () => { w.pressAt = performance.now(); }, {capture: true, once: true});
  w.timer = setInterval(() => {
    if (w.pressAt !== null && w.inkAt === null && c.toDataURL() !== w.old) {
      w.inkAt = performance.now(); clearInterval(w.timer); }
  }, 5);
}"""
_INKED = "() => window.__cuDraw.inkAt !== null"
_INK_LATENCY = "() => (window.__cuDraw.inkAt - window.__cuDraw.pressAt) / 1000"

# Time the Classify click to the status "Done…" with a results table shown.
_CLASSIFY_WATCH = """() => {
  const panel = document.querySelector('.cu-draw');
  const w = {clickAt: null, doneAt: null};
  window.__cuClassify = w;
  panel.querySelector('.cu-draw-classify').addEventListener('click', () => { w.clickAt = performance.now(); },
                                                             {capture: true, once: true});
  const seen = () => {
    const status = panel.querySelector('.cu-draw-status').textContent.trim();
    const results = panel.querySelector('.cu-draw-results').textContent;
    if (w.clickAt !== null && w.doneAt === null && status.startsWith('Done') && results.includes('→ character'))
      { w.doneAt = performance.now(); w.observer.disconnect(); }
  };
  w.observer = new MutationObserver(seen);
  w.observer.observe(panel, {subtree: true, childList: true, characterData: true, attributes: true});
}"""
_CLASSIFIED = "() => window.__cuClassify.doneAt !== null"

_PANEL_TEXT = """() => { const panel = document.querySelector('.cu-draw');
  const rows = [...panel.querySelectorAll('.cu-draw-results tr')].slice(1).map(tr =>
    [...tr.querySelectorAll('td')].map(td => td.textContent.trim()));
  return {status: panel.querySelector('.cu-draw-status').textContent.trim(), text: panel.innerText,
          rows, latency: window.__cuClassify && window.__cuClassify.doneAt !== null
                         ? (window.__cuClassify.doneAt - window.__cuClassify.clickAt) / 1000 : null}; }"""

#: The kernel's view of the panel (the one DrawingPanel alive), as JSON.
_KERNEL_STATE = """\
import gc as _gc, json as _json
from chapter_utils.panels.drawing import DrawingPanel as _DP
_panels = [o for o in _gc.get_objects() if isinstance(o, _DP)]
print(_json.dumps({"panels": len(_panels), "strokes": [[len(points) for _, points in pad.strokes]
                   for pad in [*_panels[-1].pads, _panels[-1].query]],
                   "message": _panels[-1].last_message, "runs": _panels[-1].runs,
                   "methods": list(_panels[-1].methods)}))"""


def _scratch_notebook(root: Path) -> str:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Draw your own (browser-test scratch notebook)"),
                nbformat.v4.new_code_cell(SCRATCH_CODE)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / SCRATCH)
    return SCRATCH


def _target() -> str | None:
    """Notebook 09's file name if it exists and builds the panel, else ``None``."""
    path = ROOT / NOTEBOOK_DIR / f"{TARGET_STEM}.ipynb"
    if path.exists() and any(c.cell_type == "code" and "draw_your_own(" in c.source
                             for c in nbformat.read(path, as_version=4).cells):
        return path.name
    return None


class LabFile(LabNotebook):
    """:class:`LabNotebook` for a notebook named by its file (notebook 09, or the scratch one)."""

    def __init__(self, page, lab, filename: str):
        PanelPage.__init__(self, page, lab)
        self.path = filename
        self.label = self.slug = Path(filename).stem


class Drawer:
    """Draws on the panel's canvases with the mouse and reads what the page and kernel show."""

    def __init__(self, document: PanelPage):
        self.document, self.page = document, document.page
        self.panel = self.page.locator(".cu-draw").first

    def state(self) -> dict:
        return json.loads(self.document.kernel(_KERNEL_STATE))

    def text(self) -> dict:
        return self.page.evaluate(_PANEL_TEXT)

    def stroke(self, index: int, points, scale: float = 1.0, shift=(0.0, 0.0)) -> None:
        box = self.page.evaluate(_BOXES)[index]
        ratio = box["width"] / box["pixels"]
        xy = [(box["x"] + (x * scale + shift[0]) * ratio, box["y"] + (y * scale + shift[1]) * ratio)
              for x, y in points]
        self.page.mouse.move(*xy[0])
        self.page.mouse.down()
        for x, y in xy[1:]:
            self.page.mouse.move(x, y, steps=8)     # intermediate mousemove events, as a hand makes
        self.page.mouse.up()

    def touch_stroke(self, index: int, points) -> None:
        """A finger's stroke: touch events sent through Chromium's DevTools protocol (as a touch screen)."""
        box = self.page.evaluate(_BOXES)[index]
        ratio = box["width"] / box["pixels"]
        xy = [{"x": box["x"] + x * ratio, "y": box["y"] + y * ratio} for x, y in points]
        cdp = self.page.context.new_cdp_session(self.page)
        try:
            cdp.send("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 1})
            cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [xy[0]]})
            for point in xy[1:]:
                cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
                self.page.wait_for_timeout(20)
            cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        finally:
            cdp.detach()

    def draw(self, index: int, shape: int, scale: float = 1.0, shift=(0.0, 0.0)) -> None:
        for stroke in SHAPES[shape]:
            self.stroke(index, stroke, scale, shift)

    def wait_for_kernel(self, condition, what: str) -> dict:
        state = self.state()
        for _ in range(100):
            if condition(state):
                return state
            self.page.wait_for_timeout(100)
            state = self.state()
        raise AssertionError(f"{what}: the kernel's panel holds {state}")

    def click(self, css: str, index: int = 0) -> None:
        self.panel.locator(css).nth(index).click()


def _exercise_drawing(document: PanelPage, artifacts: Path, latency_log: list) -> None:
    drawer = Drawer(document)
    assert drawer.panel.count() == 1, "no draw-your-own panel on the page"
    drawer.panel.scroll_into_view_if_needed()
    boxes = drawer.page.evaluate(_BOXES)
    pads = len(boxes) - 1
    assert pads >= 2 and boxes[-1]["query"] and not any(b["query"] for b in boxes[:-1]), boxes

    # 1. Nothing drawn: a plain sentence naming the empty boxes.
    drawer.click(".cu-draw-clear-all")
    drawer.wait_for_kernel(lambda s: not any(s["strokes"]) and s["message"].startswith("Cleared"), "Clear all")
    drawer.click(".cu-draw-classify")
    state = drawer.wait_for_kernel(lambda s: "is empty" in s["message"], "Classify with nothing drawn")
    shown = drawer.text()
    assert "The character 1 box is empty" in shown["status"] and "The test drawing box is empty" in shown["status"]
    assert "Traceback" not in shown["text"] and state["runs"] == 0

    # 2. A character per support canvas, and a smaller character 2 on the test canvas.
    for index in range(pads):
        if index == 0:
            drawer.page.evaluate(_INK_WATCH, 0)
        drawer.draw(index, index % len(SHAPES))
        if index == 0:
            drawer.page.wait_for_function(_INKED, timeout=INK_TIMEOUT, polling=10)
            ink = drawer.page.evaluate(_INK_LATENCY)
            print(f"{document.label}: first ink on the canvas {1e3 * ink:.0f} ms after the mouse press")
            latency_log.append((document.label, "draw: press to first ink", ink, float("nan"), 0.1))
    drawer.draw(pads, 1, scale=0.6, shift=(25, 20))
    expected = [len(SHAPES[i % len(SHAPES)]) for i in range(pads)] + [1]
    state = drawer.wait_for_kernel(lambda s: [len(p) for p in s["strokes"]] == expected, "strokes drawn")
    assert all(n > 2 for pad in state["strokes"] for n in pad), f"strokes came with too few points: {state}"

    # 3. One stroke more on the test canvas with the mouse and one with a finger, then Undo twice.
    drawer.stroke(pads, [(10, 140), (140, 140)])
    drawer.wait_for_kernel(lambda s: len(s["strokes"][-1]) == 2, "the extra stroke")
    drawer.touch_stroke(pads, [(10, 10), (50, 10), (90, 10), (140, 10)])
    state = drawer.wait_for_kernel(lambda s: len(s["strokes"][-1]) == 3, "a touch stroke")
    assert state["strokes"][-1][-1] >= 2, f"the touch stroke came with too few points: {state}"
    for left in (2, 1):
        drawer.click(".cu-draw-query .cu-draw-undo")
        drawer.wait_for_kernel(lambda s, n=left: len(s["strokes"][-1]) == n, "Undo on the test canvas")

    # 4. Classify: the bars appear.
    drawer.page.evaluate(_CLASSIFY_WATCH)
    drawer.click(".cu-draw-classify")
    drawer.page.wait_for_function(_CLASSIFIED, timeout=CLASSIFY_TIMEOUT, polling=20)
    shown = drawer.text()
    state = drawer.state()
    assert state["runs"] == 1 and shown["status"] == state["message"], (shown["status"], state)
    rows = [row for row in shown["rows"] if len(row) > 1]
    headings = [row[0] for row in shown["rows"] if len(row) == 1]
    assert [row[0] for row in rows] == state["methods"], shown["rows"]
    assert headings in (["meta-learned", "baselines"], []), headings
    guesses = {}
    for row in rows:
        name, *percents, guess = row
        assert len(percents) == pads and re.fullmatch(r"→ character [1-9]", guess), row
        total = sum(float(p.rstrip(" %")) for p in percents)
        assert abs(total - 100) <= pads, f"{name}: the percentages add up to {total}"
        guesses[name] = guess
    seconds = float(re.match(r"Done in ([0-9.]+) s", shown["status"]).group(1))
    latency_log.append((document.label, "draw: Classify click to bars", shown["latency"], seconds,
                        CLASSIFY_TARGET))
    print(f"{document.label}: bars shown {shown['latency']:.2f} s after the Classify click "
          f"(kernel {seconds:.2f} s); test drawing = character 2 drawn smaller; guesses: {guesses}")
    if shown["latency"] > CLASSIFY_TARGET:
        warnings.warn(f"{document.label}: Classify took {shown['latency']:.2f} s to show, "
                      f"target {CLASSIFY_TARGET} s", stacklevel=1)
    drawer.panel.screenshot(path=str(artifacts / f"{document.slug}-drawing.png"))
    assert "Traceback" not in shown["text"]


@pytest.mark.browser
def test_draw_classify_in_jupyterlab(page, lab, artifacts, latency_log):
    target = _target()
    if target is not None:
        notebook, timeout = LabFile(page, lab, target), 1200.0
    else:
        notebook, timeout = LabFile(page, lab, _scratch_notebook(lab.root)), 300.0
    try:
        with _evidence_on_failure(notebook, artifacts):
            notebook.open()
            notebook.run_all(timeout)
            assert notebook.problems() == [], "errors after Run All"
            notebook.check_kernel_python()
            start = time.perf_counter()
            _exercise_drawing(notebook, artifacts, latency_log)
            print(f"{notebook.label}: drawing test took {time.perf_counter() - start:.1f} s")
            assert notebook.problems() == [], "errors after drawing and classifying"
    finally:
        page.close()
        lab.shutdown_kernels()


def _voila_target() -> str | None:
    """The playground app's file name if it shows the panel, else ``None``."""
    path = ROOT / NOTEBOOK_DIR / "playground.ipynb"
    if path.exists() and any(c.cell_type == "code" and "draw_your_own(" in c.source
                             for c in nbformat.read(path, as_version=4).cells):
        return path.name
    return None


@pytest.mark.browser
def test_draw_classify_in_voila(page, voila, artifacts, latency_log, voila_stalls):
    """The same in Voilà (as the playground's Binder badge opens it): in the playground app once it
    shows the panel, until then on the scratch notebook."""
    filename = _voila_target() or _scratch_notebook(voila.root)
    app = VoilaApp(page, voila, SimpleNamespace(filename=filename, stem=Path(filename).stem))
    with _evidence_on_failure(app, artifacts):
        app.open(900.0, 0, voila_stalls)
        assert app.problems() == [], "errors when Voilà executed the notebook"
        page.wait_for_selector(".cu-draw .cu-draw-status", timeout=60_000)
        _exercise_drawing(app, artifacts, latency_log)
        assert app.problems() == [], "errors after drawing and classifying"
        assert page.console_errors == [], "uncaught JavaScript errors in the page"
