"""Which Chromium the browser tests launch, and whether this run is CI.

Kept apart from ``conftest.py`` so that plain tests can import it
(``tests/browser/test_browser_choice.py``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: Debian's Chromium (packages ``chromium`` and ``chromium-driver``), the one CI installs.
CHROMIUM = Path("/usr/bin/chromium")
# The flags this machine's closed network needs: no background connections.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]


def in_ci() -> bool:
    """Whether this is a CI run (``$CI`` set to anything but ``""``, ``0`` or ``false``)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@dataclass(frozen=True)
class BrowserChoice:
    """Which Chromium the browser tests launch, or why there is none."""

    path: Path | None     #: the executable, None when there is none
    source: str           #: where it came from, or (path None) what to install

    @property
    def available(self) -> bool:
        return self.path is not None


def find_chromium(env_path: str | None = None, debian: Path = CHROMIUM) -> BrowserChoice:
    """``$CHROMIUM``, else Debian's Chromium, else Playwright's own download, else the reason why not."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return BrowserChoice(None, "Playwright is not installed: pip install -r requirements-dev.txt")
    env_path = os.environ.get("CHROMIUM") if env_path is None else env_path
    if env_path:
        path = Path(env_path)
        return (BrowserChoice(path, "$CHROMIUM") if path.is_file() else
                BrowserChoice(None, f"$CHROMIUM={env_path} does not exist"))
    if debian.is_file():
        return BrowserChoice(debian, "Debian's chromium package")
    with sync_playwright() as playwright:
        own = Path(playwright.chromium.executable_path)
    if own.is_file():
        return BrowserChoice(own, "Playwright's own Chromium")
    return BrowserChoice(None, "no Chromium: run `playwright install chromium` (or on Debian/Ubuntu "
                               "`apt-get install chromium chromium-driver`), or set CHROMIUM=/path/to/chromium")
