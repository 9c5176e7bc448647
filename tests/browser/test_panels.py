"""The notebooks' widget panels work in a real browser: JupyterLab in Debian's Chromium.

For each notebook in :data:`SPECS` the test opens a copy of it in JupyterLab,
clears the stored outputs, runs every cell and checks that no cell and no widget
callback produced an error. Then, for each panel on the page (found by the CSS
classes :class:`chapter_utils.widgets.HyperparameterPanel` gives its parts), it
types each new slider value into the slider's readout (or picks a dropdown
option), checks that the kernel received it, presses **Train**, and checks that the figure was redrawn — exactly
one figure, a new image — and that the status line says "Done". Last, it pushes
one setting to where training diverges and checks that the panel says
"Diverged …" in plain words, with no traceback anywhere. The time from the Train
click to the new image is printed at the end of the run (target: about a second;
reported, not asserted — timings on a shared machine are not pass/fail).

Adding a notebook with a panel is one entry in :data:`SPECS`;
``test_every_notebook_with_a_panel_has_a_spec`` fails until it is there.
"""
from __future__ import annotations

import json
import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import nbformat
import pytest

from chapter_utils.contents import NOTEBOOK_DIR, by_stem
from chapter_utils.widgets import control_css_class

ROOT = Path(__file__).resolve().parents[2]


#: A slider's new value (typed into its readout), or the label of a dropdown's or toggle
#: buttons' option.
Value = Union[float, int, str]


@dataclass(frozen=True)
class PanelSpec:
    """How to exercise one displayed panel."""

    variable: str                             #: the panel's name in the notebook's namespace
    moves: tuple[tuple[str, Value], ...]      #: (control, new value): each set alone, then Train
    diverge: tuple[tuple[str, Value], ...]    #: settings, applied together, that blow training up
    latency_target: float = 1.0               #: seconds, Train click to new figure (reported)


@dataclass(frozen=True)
class NotebookSpec:
    """One notebook and its displayed panels, in the order they appear on the page."""

    stem: str
    panels: tuple[PanelSpec, ...]
    run_all_timeout: float = 600.0            #: seconds for "Run All" on a cold kernel


SPECS: tuple[NotebookSpec, ...] = (
    # 04 also builds `stress`, a second panel it never displays (its check cell trains it).
    NotebookSpec("04_meta_sgd_from_scratch", (
        PanelSpec("panel",
                  moves=(("alpha", 1.0), ("beta", 1.0), ("steps", 3), ("shots", 5), ("tasks", 32)),
                  diverge=(("beta", 100.0),), latency_target=1.0),
    )),
    NotebookSpec("06_reptile_sine_regression", (
        PanelSpec("panel",
                  moves=(("epsilon", 0.5), ("steps", 3), ("lr", 0.05), ("k", 5), ("iterations", 1000)),
                  diverge=(("lr", 1.0),), latency_target=3.0),
    )),
)

TRAIN_TIMEOUT = 120_000  # ms: one Train click, on a loaded machine

# --- JavaScript run in the page --------------------------------------------------------------
# The notebook widget whose document is ``path`` (JupyterLab exposes itself as window.jupyterapp).
_FIND = """(path) => {
  for (const w of window.jupyterapp.shell.widgets('main')) {
    if (w.context && w.context.path === path && w.content && w.content.model) return w;
  }
  return null;
}"""

# Record every error the kernel reports, from any request: cells, widget callbacks, our queries.
_LISTEN = f"""async (path) => {{
  const w = ({_FIND})(path);
  await w.context.ready;
  await w.sessionContext.ready;
  window.__cu = {{errors: [], runAll: 'not started'}};
  w.sessionContext.iopubMessage.connect((_, msg) => {{
    const type = msg.header.msg_type;
    if (type === 'error') {{
      window.__cu.errors.push(msg.content.ename + ': ' + msg.content.evalue);
    }} else if (type === 'stream' && msg.content.name === 'stderr' && /Traceback/.test(msg.content.text)) {{
      window.__cu.errors.push(msg.content.text);
    }}
  }});
}}"""

_KERNEL_IDLE = f"""(path) => {{
  const w = ({_FIND})(path);
  const kernel = w && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!kernel && kernel.status === 'idle' && kernel.connectionStatus === 'connected';
}}"""

# Fired, not awaited: the command's promise settles when every cell has run.
_RUN_ALL = """() => {
  const app = window.jupyterapp;
  window.__cu.runAll = 'running';
  app.commands.execute('notebook:clear-all-cell-outputs').then(
    () => app.commands.execute('notebook:run-all-cells')).then(
    (ok) => { window.__cu.runAll = String(ok); },
    (error) => { window.__cu.runAll = 'error: ' + error; });
}"""

_ALL_RAN = f"""(path) => {{
  const w = ({_FIND})(path);
  const kernel = w.sessionContext.session.kernel;
  const prompts = [...w.node.querySelectorAll('.jp-InputPrompt')].map(p => p.textContent);
  return window.__cu.runAll !== 'running' && kernel.status === 'idle'
         && !prompts.some(text => text.includes('*'));
}}"""

# Everything in the notebook that looks like an error: model outputs and what the page shows.
_PROBLEMS = f"""(path) => {{
  const w = ({_FIND})(path);
  const problems = [];
  const cells = w.content.model.cells;
  for (let i = 0; i < cells.length; i++) {{
    const cell = cells.get(i);
    if (cell.type !== 'code') continue;
    if (cell.executionCount === null) problems.push(`cell ${{i}} did not run`);
    for (const out of cell.outputs.toJSON()) {{
      if (out.output_type === 'error') problems.push(`cell ${{i}}: ${{out.ename}}: ${{out.evalue}}`);
      const text = Array.isArray(out.text) ? out.text.join('') : (out.text || '');
      if (out.output_type === 'stream' && out.name === 'stderr' && text.includes('Traceback'))
        problems.push(`cell ${{i}} stderr: ${{text.slice(0, 400)}}`);
    }}
  }}
  for (const node of w.node.querySelectorAll(
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')) {{
    if (/Traceback/.test(node.textContent)) problems.push('shown: ' + node.textContent.slice(0, 400));
  }}
  for (const node of w.node.querySelectorAll('.jp-OutputArea-output')) {{
    if (/Error displaying widget|Error rendering/.test(node.textContent))
      problems.push('shown: ' + node.textContent.slice(0, 200));
  }}
  return problems.concat(window.__cu.errors.map(e => 'kernel: ' + e.slice(0, 400)));
}}"""

_EXECUTE = f"""async ([path, code]) => {{
  const kernel = ({_FIND})(path).sessionContext.session.kernel;
  const future = kernel.requestExecute({{code, silent: false, store_history: false}});
  let out = '', error = null;
  future.onIOPub = (msg) => {{
    if (msg.header.msg_type === 'stream') out += msg.content.text;
    if (msg.header.msg_type === 'error') error = msg.content.ename + ': ' + msg.content.evalue;
  }};
  await future.done;
  return {{out, error}};
}}"""

# Before a Train click: note the current image, time the click and the first new image.
_WATCH = """(index) => {
  const panel = document.querySelectorAll('.cu-panel')[index];
  const output = panel.querySelector('.cu-panel-output');
  const image = output.querySelector('img');
  const watch = {oldSrc: image ? image.src : null, clickAt: null, imageAt: null};
  window.__cu.watch = watch;
  panel.querySelector('.cu-panel-train').addEventListener(
    'click', () => { watch.clickAt = performance.now(); }, {capture: true, once: true});
  const seen = () => {
    const now = performance.now(), image = output.querySelector('img');
    if (watch.imageAt === null && watch.clickAt !== null && image && image.src !== watch.oldSrc)
      watch.imageAt = now;
  };
  watch.observer = new MutationObserver(seen);
  watch.observer.observe(output, {subtree: true, childList: true, attributes: true});
}"""

# The run a Train click started has finished: its last message has arrived and the kernel is idle.
_FINISHED = f"""([path, index]) => {{
  const panel = document.querySelectorAll('.cu-panel')[index];
  const status = panel.querySelector('.cu-panel-status').textContent.trim();
  const button = panel.querySelector('.cu-panel-train');
  const kernel = ({_FIND})(path).sessionContext.session.kernel;
  const settled = !button.disabled && kernel.status === 'idle';
  if (/^(Diverged|Could not)/.test(status)) return settled;
  return settled && window.__cu.watch.imageAt !== null && status.startsWith('Done');
}}"""

_PANEL_STATE = """(index) => {
  const panel = document.querySelectorAll('.cu-panel')[index];
  const output = panel.querySelector('.cu-panel-output');
  const watch = window.__cu.watch || {};
  if (watch.observer) watch.observer.disconnect();
  return {
    status: panel.querySelector('.cu-panel-status').textContent.trim(),
    button: panel.querySelector('.cu-panel-train').textContent.trim(),
    outputs: output.querySelectorAll('.jp-OutputArea-child').length,
    images: [...output.querySelectorAll('img')].map(img => img.src.length),
    stderr: output.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"]').length,
    text: output.textContent.trim(),
    latency: (watch.imageAt != null && watch.clickAt != null) ? (watch.imageAt - watch.clickAt) / 1000 : null,
    oldSrc: watch.oldSrc ? watch.oldSrc.length : null,
  };
}"""


class LabNotebook:
    """A notebook open in JupyterLab, driven through the page and its kernel."""

    def __init__(self, page, lab, filename: str):
        self.page, self.lab, self.path = page, lab, filename

    def open(self) -> None:
        self.page.goto(self.lab.notebook_url(self.path))
        self.page.wait_for_function("() => window.jupyterapp !== undefined", timeout=120_000)
        self.page.wait_for_function(f"({_FIND})({json.dumps(self.path)}) !== null", timeout=120_000)
        self.page.evaluate(_LISTEN, self.path)
        self.page.wait_for_function(_KERNEL_IDLE, arg=self.path, timeout=120_000)

    def run_all(self, timeout: float) -> None:
        self.page.evaluate(_RUN_ALL)
        self.page.wait_for_function(_ALL_RAN, arg=self.path, timeout=timeout * 1000, polling=250)
        outcome = self.page.evaluate("() => window.__cu.runAll")
        assert outcome == "true", f"Run All did not succeed ({outcome}): {self.problems()}"

    def problems(self) -> list[str]:
        return self.page.evaluate(_PROBLEMS, self.path)

    def kernel(self, code: str) -> str:
        """Run ``code`` in the notebook's kernel (not in a cell) and return what it printed."""
        result = self.page.evaluate(_EXECUTE, [self.path, code])
        assert result["error"] is None, f"{code!r} failed in the kernel: {result['error']}"
        return result["out"]

    def panel_state(self, variable: str) -> dict:
        """What the kernel knows of a panel: values, option labels, number of runs, last message."""
        code = (f"print(__import__('json').dumps({{'values': {variable}.values, "
                f"'labels': {{k: getattr(c, 'label', None) for k, c in {variable}.controls.items()}}, "
                f"'runs': {variable}.runs, 'message': {variable}.last_message}}))")
        return json.loads(self.kernel(code))


class PanelDriver:
    """One displayed panel: set its sliders, press Train, read what it shows."""

    def __init__(self, notebook: LabNotebook, index: int, spec: PanelSpec):
        self.notebook, self.index, self.spec = notebook, index, spec
        self.page = notebook.page
        self.locator = self.page.locator(".cu-panel").nth(index)

    def control(self, key: str):
        control = self.locator.locator(f".{control_css_class(key)}")
        assert control.count() == 1, f"panel {self.spec.variable!r} has no control {key!r}"
        return control

    def set_value(self, key: str, value: Value) -> None:
        """Set a control as a reader can, and check that the kernel received the new value.

        A slider: type ``value`` into its readout and press Enter (a log slider's
        readout shows and takes the value itself, not its exponent). A dropdown:
        pick the option labelled ``value``. Toggle buttons: click the one labelled ``value``.
        """
        control = self.control(key)
        if control.locator(".widget-readout").count():
            readout = control.locator(".widget-readout")
            readout.fill(str(value))
            readout.press("Enter")
        elif control.locator("select").count():
            control.locator("select").select_option(label=str(value))
        elif control.locator("button").count():
            control.get_by_role("button", name=str(value), exact=True).click()
        else:
            raise AssertionError(f"do not know how to set {key!r}: {control.inner_html()[:300]}")
        state = {}
        for _ in range(50):  # the change travels to the kernel as a widget message
            state = self.notebook.panel_state(self.spec.variable)
            if _same(state, key, value):
                return
            self.page.wait_for_timeout(100)
        raise AssertionError(f"{self.spec.variable}.controls[{key!r}] is {state['values'][key]!r} "
                             f"in the kernel after setting it to {value!r} in the page")

    def train(self) -> dict:
        """Click Train (a real mouse click) and wait for the run to finish; return the panel state."""
        self.page.evaluate(_WATCH, self.index)
        self.locator.locator(".cu-panel-train").click()
        self.page.wait_for_function(_FINISHED, arg=[self.notebook.path, self.index],
                                    timeout=TRAIN_TIMEOUT, polling=20)
        return self.page.evaluate(_PANEL_STATE, self.index)


def _same(state: dict, key: str, value: Value) -> bool:
    """Whether the kernel's ``state`` of a panel has control ``key`` at ``value``."""
    if isinstance(value, str):
        return state["labels"][key] == value
    return math.isclose(float(state["values"][key]), float(value), rel_tol=1e-9)


def _current(state: dict, key: str) -> Value:
    """Control ``key``'s current setting in the kernel's ``state``, as :func:`PanelDriver.set_value` takes it."""
    label = state["labels"][key]
    return label if label is not None else state["values"][key]


def _check_success(state: dict, what: str) -> None:
    assert state["status"].startswith("Done"), f"{what}: status {state['status']!r}"
    assert state["button"] == "Train", f"{what}: button says {state['button']!r}"
    assert state["outputs"] == 1 and len(state["images"]) == 1, (
        f"{what}: the panel's output shows {state['outputs']} outputs, {len(state['images'])} images")
    assert state["stderr"] == 0, f"{what}: the panel's output shows an error: {state['text'][:300]}"
    assert state["latency"] is not None, f"{what}: the figure was not redrawn"


@pytest.mark.browser
@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.stem)
def test_panels_respond_in_the_browser(spec, page, lab, artifacts, latency_log):
    notebook = LabNotebook(page, lab, by_stem(spec.stem).filename)
    try:
        notebook.open()
        notebook.run_all(spec.run_all_timeout)
        assert notebook.problems() == [], "errors after Run All"
        shown = page.locator(".cu-panel").count()
        assert shown == len(spec.panels), (
            f"{spec.stem} shows {shown} panels; SPECS describes {len(spec.panels)}")
        for index, panel_spec in enumerate(spec.panels):
            _exercise_panel(notebook, PanelDriver(notebook, index, panel_spec), spec.stem,
                            artifacts, latency_log)
        assert notebook.problems() == [], "errors after using the panels"
    except BaseException:
        page.screenshot(path=str(artifacts / f"{spec.stem}-failure.png"), full_page=True)
        if page.console_errors:
            print("page errors:", *page.console_errors, sep="\n  ")
        raise


def _exercise_panel(notebook: LabNotebook, panel: PanelDriver, stem: str, artifacts: Path,
                    latency_log: list) -> None:
    spec, name = panel.spec, panel.spec.variable
    start = notebook.panel_state(name)
    assert start["message"].startswith("Done"), f"{name} did not train at its defaults: {start}"
    defaults = {key: _current(start, key) for key, _ in spec.moves}
    runs = start["runs"]
    for number, (key, value) in enumerate(spec.moves, 1):
        panel.set_value(key, value)
        state = panel.train()
        what = f"{name}: {key} = {value}"
        _check_success(state, what)
        after = notebook.panel_state(name)
        assert after["runs"] == runs + 1, f"{what}: one click should train once, not {after['runs'] - runs}"
        runs = after["runs"]
        training = float(re.match(r"Done in ([0-9.]+) s", state["status"]).group(1))
        latency_log.append((stem, what, state["latency"], training, spec.latency_target))
        print(f"{stem} {what}: new figure {state['latency']:.2f} s after the click "
              f"(training {training:.2f} s)")
        if state["latency"] > spec.latency_target:
            warnings.warn(f"{stem} {what}: {state['latency']:.2f} s from click to figure, "
                          f"target {spec.latency_target} s", stacklevel=1)
        if number == len(spec.moves):  # the figure and the sliders that made it
            panel.locator.screenshot(path=str(artifacts / f"{stem}-{name}.png"))
        panel.set_value(key, defaults[key])  # back to the default, so each move is measured alone

    for key, value in spec.diverge:
        panel.set_value(key, value)
    state = panel.train()
    assert state["status"].startswith("Diverged"), f"{name}: {spec.diverge} gave {state['status']!r}"
    assert "Traceback" not in state["status"] + state["text"]
    assert state["images"] == [] and state["stderr"] == 0, f"{name}: the diverged run left {state}"
    assert state["text"] == state["status"], "the output shows the same plain sentence as the status"
    assert notebook.panel_state(name)["message"] == state["status"]
    panel.locator.screenshot(path=str(artifacts / f"{stem}-{name}-diverged.png"))


def _builds_a_panel(path: Path) -> bool:
    cells = nbformat.read(path, as_version=4).cells
    return any(cell.cell_type == "code" and "HyperparameterPanel(" in cell.source for cell in cells)


def test_every_notebook_with_a_panel_has_a_spec():
    """Not a browser test: it only reads the notebooks, so it runs under -m 'not browser' too."""
    specified = {spec.stem for spec in SPECS}
    with_panel = {path.stem for path in sorted((ROOT / NOTEBOOK_DIR).glob("*.ipynb"))
                  if _builds_a_panel(path)}
    assert with_panel, "no notebook builds a HyperparameterPanel: is the search broken?"
    missing = with_panel - specified
    assert not missing, f"add these notebooks to SPECS in {Path(__file__).name}: {sorted(missing)}"
    for stem in specified:
        assert (ROOT / NOTEBOOK_DIR / by_stem(stem).filename).is_file(), f"SPECS lists unwritten {stem}"
