"""Every link and launch badge in README.md and in the notebooks' markdown cells leads somewhere real.

* A relative link names a file or folder that exists (checked from the file that holds it).
* A Binder link (``?urlpath=lab/tree/<path>`` for JupyterLab, ``?urlpath=voila/render/<path>``
  for a Voilà app) a Colab and an nbviewer link (``.../github/<owner>/<repo>/blob/<branch>/<path>``) use
  :data:`~chapter_utils.tooling.contents.REPOSITORY` and :data:`~chapter_utils.tooling.contents.BRANCH` and
  open a file that exists in this repository.
* Every notebook's navigation cells carry a Binder, a Colab and an nbviewer badge that open that notebook.

Nothing is fetched: other web addresses are not checked. The generated cells themselves
(content, staleness) are tested in ``test_generated_cells.py``.
"""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import nbformat
import pytest

from chapter_utils.tooling.contents import APPS, BRANCH, NOTEBOOK_DIR, REPOSITORY
from chapter_utils.tooling.generated_cells import (
    BINDER_BADGE,
    COLAB_BADGE,
    NAVIGATION_MARKER,
    NBVIEWER_BADGE,
    binder_url,
    colab_url,
    voila_url,
)

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_FILES = sorted((ROOT / NOTEBOOK_DIR).glob("*.ipynb"))
#: The lessons: every notebook file but the Voilà apps, which carry no navigation or setup cells.
LESSON_FILES = [p for p in NOTEBOOK_FILES if p.name not in {app.filename for app in APPS}]
README = ROOT / "README.md"

# [text](target), ![alt](target), [ref]: target, and HTML href= / src= attributes.
_MARKDOWN_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
_HTML = re.compile(r"""\b(?:href|src)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_BINDER_APPS = {"lab/tree/": "lab", "voila/render/": "voila"}
_NOT_CHECKED = ("mailto:", "attachment:", "data:")


def links(text: str) -> list[str]:
    """Every link target in markdown ``text``, in order (a badge gives its image and its target)."""
    found = [(m.start(), m.group(1)) for pattern in (_MARKDOWN_LINK, _REFERENCE, _HTML)
             for m in pattern.finditer(text)]
    return [target for _, target in sorted(found)]


def launch_target(url: str) -> tuple[str, str, str, str] | None:
    """``(app, repository, branch, path)`` of a Binder or Colab launch link, else ``None``.

    ``app`` is ``"lab"`` or ``"voila"`` (Binder), ``"colab"`` or ``"nbviewer"``. A
    Binder, Colab or nbviewer address that is not a launch link in a form used here
    raises ``ValueError``, except the badge images.
    """
    if url in (BINDER_BADGE, COLAB_BADGE, NBVIEWER_BADGE):
        return None
    parts = urlsplit(url)
    if parts.netloc == "mybinder.org":
        match = re.fullmatch(r"/v2/gh/([^/]+/[^/]+)/([^/]+)/?", parts.path)
        urlpath = parse_qs(parts.query).get("urlpath", [""])[0]
        for prefix, app in _BINDER_APPS.items():
            if match and parts.scheme == "https" and urlpath.startswith(prefix):
                return app, match.group(1), unquote(match.group(2)), urlpath[len(prefix):]
        raise ValueError(f"not a Binder launch link of the form "
                         f"https://mybinder.org/v2/gh/<owner>/<repo>/<branch>?urlpath="
                         f"(lab/tree|voila/render)/<path>: {url}")
    viewers = {"colab.research.google.com": "colab", "nbviewer.org": "nbviewer"}
    if parts.netloc in viewers:
        match = re.fullmatch(r"/github/([^/]+/[^/]+)/blob/([^/]+)/(.+)", parts.path)
        if not match or parts.scheme != "https":
            raise ValueError(f"not a {viewers[parts.netloc]} link of the form https://{parts.netloc}/"
                             f"github/<owner>/<repo>/blob/<branch>/<path>: {url}")
        return viewers[parts.netloc], match.group(1), unquote(match.group(2)), unquote(match.group(3))
    return None


def _documents() -> list[tuple[str, Path, str]]:
    """``(name, folder links are relative to, markdown)``: README and each markdown cell."""
    documents = [("README.md", ROOT, README.read_text(encoding="utf-8"))]
    for path in NOTEBOOK_FILES:
        for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
            if cell.cell_type == "markdown":
                documents.append((f"{path.name} cell {i}", path.parent, cell.source))
    return documents


DOCUMENTS = _documents()


def _inside_repository(path: Path) -> bool:
    try:
        path.resolve().relative_to(ROOT)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("name, folder, text", DOCUMENTS, ids=[d[0] for d in DOCUMENTS])
def test_every_link_leads_to_a_file_of_this_repository(name, folder, text):
    for target in links(text):
        if target.startswith(("#", *_NOT_CHECKED)):
            continue
        if urlsplit(target).scheme in ("http", "https"):
            launch = launch_target(target)
            if launch is not None:
                app, repository, branch, path = launch
                assert (repository, branch) == (REPOSITORY, BRANCH), (
                    f"{name}: {app} link to {repository}@{branch}, not {REPOSITORY}@{BRANCH}: "
                    "regenerate with python -m chapter_utils.tooling.generated_cells")
                assert (ROOT / path).is_file() and _inside_repository(ROOT / path), (
                    f"{name}: {app} link opens {path}, which is not in the repository")
            continue
        relative = unquote(urlsplit(target).path)
        assert relative, f"{name}: empty link {target!r}"
        resolved = folder / relative
        assert resolved.exists(), f"{name}: link to missing {target}"
        assert _inside_repository(resolved), f"{name}: link {target} leaves the repository"


@pytest.mark.parametrize("path", LESSON_FILES, ids=lambda p: p.name)
def test_navigation_badges_open_the_notebook_itself(path):
    cells = [c.source for c in nbformat.read(path, as_version=4).cells
             if c.cell_type == "markdown" and c.source.startswith(NAVIGATION_MARKER)]
    assert len(cells) == 2, f"{path.name} should have navigation at the top and at the bottom"
    for source in cells:
        opened = sorted((app, file) for app, _, _, file in filter(None, map(launch_target, links(source))))
        own = f"{NOTEBOOK_DIR}/{path.name}"
        assert opened == [("colab", own), ("lab", own), ("nbviewer", own)], f"{path.name}: badges open {opened}"


def test_readme_has_both_badges_and_links_notebooks():
    text = README.read_text(encoding="utf-8")
    targets = links(text)
    assert BINDER_BADGE in targets and COLAB_BADGE in targets
    apps = {launch[0] for launch in filter(None, map(launch_target, targets))}
    assert {"lab", "colab", "nbviewer"} <= apps, f"README launches only {apps}"
    assert any(t.startswith(f"{NOTEBOOK_DIR}/") and t.endswith(".ipynb") for t in targets), (
        "README's contents table links no notebook")


def test_launch_urls_round_trip():
    name = "04_meta_sgd_from_scratch.ipynb"
    own = f"{NOTEBOOK_DIR}/{name}"
    assert launch_target(binder_url(name)) == ("lab", REPOSITORY, BRANCH, own)
    assert launch_target(voila_url(name)) == ("voila", REPOSITORY, BRANCH, own)
    assert launch_target(colab_url(name)) == ("colab", REPOSITORY, BRANCH, own)


def test_voila_url_opens_the_notebook_through_voila_on_binder():
    assert voila_url("09_playground.ipynb") == (
        f"https://mybinder.org/v2/gh/{REPOSITORY}/{BRANCH}?urlpath=voila/render/{NOTEBOOK_DIR}/"
        "09_playground.ipynb")


@pytest.mark.parametrize("url", [
    "https://mybinder.org/v2/gh/a/b/main",                                # opens nothing in particular
    "https://mybinder.org/v2/gh/a/b/main?urlpath=tree/notebooks/x.ipynb",  # classic tree: not used here
    "https://colab.research.google.com/drive/123",                        # not from GitHub
])
def test_unrecognised_launch_links_are_errors(url):
    with pytest.raises(ValueError):
        launch_target(url)


def test_links_finds_badges_references_and_html():
    text = ("[![B](https://mybinder.org/badge_logo.svg)](https://x.org/a) see [one](a.md#part) "
            '<a href="b.md">b</a> <img src="c.png">\n[ref]: d.md\n[t](e.md "title")')
    assert links(text) == ["https://mybinder.org/badge_logo.svg", "https://x.org/a", "a.md#part",
                           "b.md", "c.png", "d.md", "e.md"]


@pytest.mark.parametrize("app", APPS, ids=lambda a: a.stem)
def test_readme_and_index_open_each_app_through_voila(app):
    if not app.path(ROOT).exists():
        pytest.fail(f"{app.filename} is listed in APPS but not written")
    index = "\n".join(c.source for c in nbformat.read(ROOT / NOTEBOOK_DIR / "00_index.ipynb", as_version=4).cells)
    for name, text in [("README.md", (ROOT / "README.md").read_text(encoding="utf-8")), ("00_index", index)]:
        assert voila_url(app.filename) in text, f"{name} has no Voilà badge for {app.filename}"
