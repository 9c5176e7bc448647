"""Which Chromium the browser tests use, and the skip-or-fail rule (no browser needed)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from browser_choice import find_chromium, in_ci

ROOT = Path(__file__).resolve().parents[2]


def test_chromium_variable_wins_and_a_wrong_one_says_so(tmp_path):
    fake = tmp_path / "chrome"
    fake.write_text("")
    assert find_chromium(env_path=str(fake), debian=tmp_path / "none").path == fake
    missing = find_chromium(env_path=str(tmp_path / "absent"), debian=fake)
    assert missing.path is None and "does not exist" in missing.source


def test_debian_chromium_comes_before_playwrights_own(tmp_path):
    debian = tmp_path / "chromium"
    debian.write_text("")
    choice = find_chromium(env_path="", debian=debian)
    assert choice.path == debian and "Debian" in choice.source


def test_without_debian_chromium_either_playwrights_own_or_how_to_install(tmp_path):
    choice = find_chromium(env_path="", debian=tmp_path / "none")
    if choice.available:
        assert choice.source == "Playwright's own Chromium" and choice.path.is_file()
    else:
        assert "playwright install chromium" in choice.source


@pytest.mark.parametrize(("value", "expected"), [("", False), ("0", False), ("false", False),
                                                 ("true", True), ("1", True), ("yes", True)])
def test_ci_is_read_from_the_variable(monkeypatch, value, expected):
    monkeypatch.setenv("CI", value)
    assert in_ci() is expected


@pytest.mark.parametrize("ci", ["", "true"])
def test_a_machine_without_chromium_skips_outside_ci_and_fails_in_ci(tmp_path, ci):
    """Runs one browser test in a child pytest, with $CHROMIUM pointing nowhere."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "CI": ci,
           "CHROMIUM": str(tmp_path / "no-chromium")}
    result = subprocess.run([sys.executable, "-m", "pytest", "-m", "browser", "-rs", "-q", "-p", "no:randomly",
                             "tests/browser/test_panels.py::test_app_panels_respond_in_voila"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    out = result.stdout
    if ci:
        assert result.returncode != 0 and "must run in CI" in out, out[-1500:]
    else:
        assert result.returncode == 0 and "skipped" in out and "does not exist" in out, out[-1500:]
