"""Fixtures for the browser tests: throw-away JupyterLab and Voilà servers, and Debian's Chromium.

Each server runs on 127.0.0.1 at a free port with a random token, serving a
*copy* of ``notebooks/`` (the committed notebooks are never touched), with its
own runtime, config and data folders (and, for JupyterLab, settings and
workspaces) in a temporary directory. It is started through ``binder/start``
and pinned to one CPU (:func:`server_cpu`), so the server and its kernels run as on
Binder's one shared CPU — one core, one thread for BLAS and TensorFlow
(:data:`chapter_utils.tooling.run_times.ONE_THREAD_ENV`) — and with this interpreter: the
click-to-figure times the tests print are one-core times (issue 16). Its kernels talk over Unix sockets, not TCP
ports: choosing free ports races with kernels other processes start at the same
moment, and a lost race leaves a client waiting for replies that never come. The Voilà server is a Jupyter server with
Voilà's server extension, which is what the apps' Binder badges open
(``?urlpath=voila/render/…``). Chromium is driven
with Playwright: ``$CHROMIUM`` if set, else Debian's ``/usr/bin/chromium``
(packages ``chromium`` and ``chromium-driver``; Playwright's own download does
not work on the offline CI machine), else the Chromium that ``playwright install
chromium`` downloaded. With none of them, or without Playwright, the browser
tests are skipped with a one-line reason saying how to get one, except in CI
(``$CI`` set, as ``.ci/run`` does), where they must run and fail instead.

``pytest -m browser`` runs only these tests, ``pytest -m "not browser"`` skips
them. Screenshots go to ``tests/artifacts/`` (git-ignored); the measured
click-to-figure latencies are printed at the end of the run.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from browser_choice import CHROMIUM_ARGS, BrowserChoice, find_chromium, in_ci

from chapter_utils.tooling.contents import NOTEBOOK_DIR
from chapter_utils.tooling.run_times import ONE_THREAD_ENV

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
SERVER_START_TIMEOUT = 120  # seconds
SERVER_STOP_TIMEOUT = 20

# Lab settings: every cell in the page (JupyterLab >= 4.2 otherwise leaves
# off-screen cells out of the DOM), and no news or update checks (no network).
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
}

#: ``(notebook or app, what, seconds, training seconds, target)`` of every Train click, for the summary.
LATENCIES: list[tuple[str, str, float, float, float]] = []
#: Voilà loads that stalled (app, what the page said, attempt); see ``VoilaApp.open``.
VOILA_STALLS: list[tuple[str, str, int]] = []


def server_cpu() -> int | None:
    """The CPU the servers, and so their kernels, are pinned to: ``$CU_BROWSER_CPU`` if set
    (``all``: not pinned, every CPU this process may use), else the lowest this process may
    use. ``None`` where processes cannot be pinned (not Linux) or with ``all``."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    chosen = os.environ.get("CU_BROWSER_CPU", "").strip()
    if chosen == "all":
        return None
    available = os.sched_getaffinity(0)
    if not chosen:
        return min(available)
    if not chosen.isdigit() or int(chosen) not in available:
        raise ValueError(f"CU_BROWSER_CPU={chosen!r}: expected 'all' or one of {sorted(available)}")
    return int(chosen)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _not_to_copy(folder: str, names: list[str]) -> set[str]:
    """Checkpoints, caches, and whatever is not a file or folder (a running kernel's IPC sockets)."""
    skip = set(shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")(folder, names))
    return skip | {name for name in names
                   if not (Path(folder, name).is_file() or Path(folder, name).is_dir())}


@dataclass
class JupyterServer:
    """A Jupyter server serving a copy of ``notebooks/`` from a scratch folder ``base``.

    Subclasses say which application runs (:class:`LabServer`, :class:`VoilaServer`).
    """

    base: Path
    port: int = field(default_factory=_free_port)
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    process: subprocess.Popen | None = None
    sockets: Path | None = None  #: folder of the kernels' Unix sockets (short: paths are limited)
    name = "Jupyter"  #: for messages

    @property
    def root(self) -> Path:
        return self.base / "root"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.base / "server.log"

    def kernel_socket(self, kernel_id: str) -> str:
        """The WebSocket URL of kernel ``kernel_id``'s channels (Jupyter server's kernel API)."""
        return f"ws://127.0.0.1:{self.port}/api/kernels/{kernel_id}/channels?token={self.token}"

    def _rest(self, method: str, path: str, timeout: float = 60.0):
        """Call the Jupyter server's REST API; the decoded JSON answer (``None`` if empty)."""
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def kernel_states(self) -> list[str]:
        """``execution_state`` of every kernel the server runs ("busy", "idle", "starting"…).

        The server follows each kernel's IOPub channel itself, so this is the kernel's
        own report, independent of whichever client is waiting on it.
        """
        return [kernel["execution_state"] for kernel in self._rest("GET", "/api/kernels")]

    def shutdown_kernels(self) -> int:
        """Shut down every kernel the server runs (Jupyter server's REST API); returns how many.

        A lesson's kernel holds up to 1.5 GB once its notebook has run; left running, six of
        them would sit beside whatever the next test starts, as no reader's session would.
        """
        kernels = self._rest("GET", "/api/kernels")
        for kernel in kernels:
            self._rest("DELETE", f"/api/kernels/{kernel['id']}")
        return len(kernels)

    def log_tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return "(no server log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def _application(self) -> list[str]:
        """``python -m`` arguments: the application and its own options."""
        raise NotImplementedError

    def _prepare(self) -> list[str]:
        shutil.copytree(ROOT / NOTEBOOK_DIR, self.root, ignore=_not_to_copy)
        for name in ("runtime", "config", "data", "ipython"):
            (self.base / name).mkdir()
        self.sockets = Path(tempfile.mkdtemp(prefix="cu-kernels-"))
        command = ["bash", str(ROOT / "binder" / "start"), sys.executable, "-m",
                   *self._application(),
                   "--no-browser", "--ServerApp.open_browser=False",
                   "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
                   "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
                   f"--ServerApp.root_dir={self.root}",
                   "--KernelManager.transport=ipc", f"--KernelManager.ip={self.sockets / 'kernel'}"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")
        return command

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        # The kernel imports this checkout's chapter_utils, whatever is installed.
        paths = [str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        env.update(ONE_THREAD_ENV)  # binder/start sets the same; here too, whatever it says
        env.update({
            "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths)),
            # ``python`` in the kernel spec is this interpreter.
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
            "JUPYTER_RUNTIME_DIR": str(self.base / "runtime"),
            "JUPYTER_CONFIG_DIR": str(self.base / "config"),
            "JUPYTER_DATA_DIR": str(self.base / "data"),
            "IPYTHONDIR": str(self.base / "ipython"),
        })
        return env

    def start(self) -> None:
        command = self._prepare()
        cpu = server_cpu()
        pin = None if cpu is None else (lambda: os.sched_setaffinity(0, {cpu}))
        with open(self.log, "wb") as log:
            log.write(f"pinned to CPU {cpu}\n".encode() if cpu is not None else b"not pinned\n")
            log.flush()
            # The kernels are the server's children and inherit its one CPU.
            self.process = subprocess.Popen(command, cwd=self.root, env=self._environment(),
                                            stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True,
                                            preexec_fn=pin)
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with status {self.process.returncode}:\n"
                                   f"{self.log_tail()}")
            if self._api("GET", "/api/status") is not None:
                return
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer within {SERVER_START_TIMEOUT} s:\n"
                           f"{self.log_tail()}")

    def _api(self, method: str, path: str) -> dict | None:
        """:meth:`_rest` with a short timeout, for a server that may not answer: ``None`` if it does not."""
        try:
            answer = self._rest(method, path, timeout=5)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None
        return {} if answer is None else answer

    def stop(self) -> None:
        """Shut the server (and its kernels) down; kill its process group if it lingers."""
        try:
            self._stop()
        finally:
            if self.sockets is not None:
                shutil.rmtree(self.sockets, ignore_errors=True)

    def _stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self._api("POST", "/api/shutdown")  # stops every kernel, then the server
        try:
            self.process.wait(timeout=SERVER_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
        # Kernels are in the server's process group (start_new_session above).
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(timeout=SERVER_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                continue


class LabServer(JupyterServer):
    """JupyterLab, with its own settings (:data:`LAB_SETTINGS`) and workspaces."""

    name = "JupyterLab"

    def notebook_url(self, filename: str) -> str:
        return f"{self.url}/lab/tree/{filename}?reset&token={self.token}"

    def _application(self) -> list[str]:
        settings = self.base / "settings"
        for name, values in LAB_SETTINGS.items():
            path = settings / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values), encoding="utf-8")
        (self.base / "workspaces").mkdir()
        return ["jupyterlab",
                f"--LabApp.user_settings_dir={settings}",
                f"--LabApp.workspaces_dir={self.base / 'workspaces'}",
                "--LabApp.expose_app_in_browser=True",
                "--LabApp.news_url=None",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                "--LabApp.extension_manager=readonly"]


class VoilaServer(JupyterServer):
    """A Jupyter server with Voilà's server extension: what a Binder badge's ``?urlpath=voila/render/…`` opens.

    Voilà runs as it does for a reader (its default configuration: no code,
    tracebacks and stderr hidden); what went wrong is in :meth:`log_tail`.
    """

    name = "Voilà"

    def app_url(self, filename: str) -> str:
        return f"{self.url}/voila/render/{filename}?token={self.token}"

    def _application(self) -> list[str]:
        return ["jupyter_server", "--ServerApp.jpserver_extensions=voila.server_extension=True"]


#: Where the collection hook leaves its choice for the ``chromium`` fixture.
_CHOICE = pytest.StashKey[BrowserChoice]()


def pytest_collection_modifyitems(config, items):
    """Skip the browser tests, with the reason, where no Chromium can run them, except in CI."""
    browser_items = [item for item in items if item.get_closest_marker("browser")]
    if not browser_items or in_ci():
        return
    choice = find_chromium()
    config.stash[_CHOICE] = choice
    if not choice.available:
        skip = pytest.mark.skip(reason=f"browser tests need Chromium — {choice.source}")
        for item in browser_items:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def chromium(pytestconfig):
    """Chromium, headless, driven by Playwright (see :func:`find_chromium`)."""
    choice = pytestconfig.stash.get(_CHOICE, None) or find_chromium()
    if not choice.available:
        # Only reached in CI: elsewhere the tests were skipped at collection.
        pytest.fail(f"the browser tests must run in CI but cannot: {choice.source} "
                    "(.ci/run installs Debian's chromium)", pytrace=False)
    from playwright.sync_api import sync_playwright  # present: find_chromium checked

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(choice.path), headless=True,
                                             args=CHROMIUM_ARGS)
    except Exception:
        playwright.stop()
        raise
    yield browser
    browser.close()
    playwright.stop()


def _serve(server: JupyterServer):
    try:
        server.start()
    except RuntimeError as error:
        server.stop()
        pytest.fail(str(error), pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """A running JupyterLab server over a copy of ``notebooks/``; shut down at the end."""
    yield from _serve(LabServer(tmp_path_factory.mktemp("lab")))


@pytest.fixture(scope="session")
def voila(tmp_path_factory):
    """A running Jupyter server with Voilà over a copy of ``notebooks/``; shut down at the end."""
    yield from _serve(VoilaServer(tmp_path_factory.mktemp("voila")))


@pytest.fixture
def page(chromium):
    """A fresh browser tab (its own context: no shared storage between tests)."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(60_000)
    tab = context.new_page()
    tab.console_errors = []
    tab.on("pageerror", lambda error: tab.console_errors.append(str(error)))
    yield tab
    context.close()


@pytest.fixture(scope="session")
def latency_log() -> list[tuple[str, str, float, float, float]]:
    """Where the tests record ``(notebook or app, what, seconds, training seconds, target)``."""
    return LATENCIES


@pytest.fixture(scope="session")
def voila_stalls() -> list[tuple[str, str, int]]:
    """Where the Voilà test records a load that stalled: ``(app, page text, attempt)``."""
    return VOILA_STALLS


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def pytest_terminal_summary(terminalreporter):
    if VOILA_STALLS:
        terminalreporter.section("Voilà loads that stalled and were reloaded")
        for app, text, attempt in VOILA_STALLS:
            terminalreporter.write_line(f"{app}: attempt {attempt} stopped at {text!r} with its kernel idle")
    if not LATENCIES:
        return
    cpu = server_cpu()
    where = f"kernels on one core, CPU {cpu}" if cpu is not None else "kernels not pinned"
    terminalreporter.section(f"panel latency: Train click to new figure (browser; {where})")
    terminalreporter.write_line(f"{'notebook or app':28s} {'setting':36s} {'click→figure':>12s} "
                                f"{'of it training':>14s}")
    for notebook, what, seconds, training, target in LATENCIES:
        flag = "" if seconds <= target else f"  over the {target:g} s target"
        trained = f"{training:12.2f} s" if training == training else f"{'—':>12s}  "  # NaN: nothing trains
        terminalreporter.write_line(f"{notebook:28s} {what:36s} {seconds:10.2f} s {trained}{flag}")
    terminalreporter.write_line("(measured on a shared machine: pessimistic; figures are in "
                                f"{ARTIFACTS.relative_to(ROOT)}/)")
