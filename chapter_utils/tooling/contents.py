"""The collection's table of contents: one list, read by everything that needs it.

The navigation cells in every notebook, the contents table in
``notebooks/00_index.ipynb`` and the table in ``README.md`` are all generated
from :data:`NOTEBOOKS` by ``python -m chapter_utils.tooling.generated_cells``. Add a notebook
here first; a notebook listed here but not yet written shows as *planned*.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: GitHub ``owner/name`` the Binder and Colab badges point at. Change it here
#: (and nowhere else) when the repository moves or is forked.
REPOSITORY = "hands-on-meta-learning/chapter7-meta-sgd-reptile"
#: Branch the badges open.
BRANCH = "main"

#: Folder that holds the notebooks, relative to the repository root.
NOTEBOOK_DIR = "notebooks"


@dataclass(frozen=True)
class Notebook:
    """One notebook of the collection and the chapter section it accompanies."""

    stem: str          #: file name without ``.ipynb``, e.g. ``"04_meta_sgd_from_scratch"``
    section: str       #: chapter section, e.g. ``"7.4"``; ``"—"`` when none
    title_en: str      #: English title
    title_zh: str      #: the chapter's Chinese title for the section
    tweak: str         #: what the notebook's panel lets a reader move ("" for none)
    #: whether its widgets go beyond ipywidgets' own (ipympl, ipycanvas, …): then its Colab
    #: setup cell turns on Colab's custom widget manager
    custom_widgets: bool = False

    @property
    def filename(self) -> str:
        return f"{self.stem}.ipynb"

    @property
    def number(self) -> str:
        return self.stem.split("_", 1)[0]

    def path(self, root: Path) -> Path:
        """Where the notebook lives below the repository ``root``."""
        return Path(root) / NOTEBOOK_DIR / self.filename


NOTEBOOKS: tuple[Notebook, ...] = (
    Notebook("00_index", "—", "Contents and how to use the collection", "目录", ""),
    Notebook("01_meta_sgd_idea", "7.1", "Meta-SGD: learning the step as well as the start",
             "元 SGD", "α₁, α₂, β, inner steps"),
    Notebook("02_meta_sgd_supervised", "7.2", "Meta-SGD for supervised learning",
             "Meta-SGD 用于监督学习", "β, initial α, K shots, inner steps, meta-iterations"),
    Notebook("03_meta_sgd_reinforcement", "7.3", "Meta-SGD for reinforcement learning",
             "Meta-SGD 用于强化学习",
             "initial α, β, inner steps, trajectories per task, meta-iterations"),
    Notebook("04_meta_sgd_from_scratch", "7.4", "Building Meta-SGD from scratch",
             "从头开始构建 Meta-SGD", "initial α scale, β, inner steps, k shots, tasks per batch"),
    Notebook("05_reptile_idea", "7.5–7.6", "Reptile and the Reptile algorithm",
             "爬虫（爬行动物）· 爬行动物算法",
             "ε, inner steps, inner learning rate, number of tasks, serial/batched"),
    Notebook("06_reptile_sine_regression", "7.7", "Sine wave regression using Reptile",
             "使用爬行动物进行正弦波回归", "ε, inner steps, inner learning rate, K shots, meta-iterations"),
    Notebook("07_comparison", "7.2 · 7.7", "MAML, first-order MAML, Meta-SGD and Reptile side by side",
             "四种方法对比", "the support points themselves (click, drag), adaptation steps",
             custom_widgets=True),
    Notebook("08_chapter_questions", "问题", "The chapter's questions, answered with code",
             "问题", "—"),
    Notebook("09_few_shot_characters", "beyond", "Few-shot character classification: the papers' headline task",
             "少样本字符分类", "meta-training hyperparameters; characters you draw yourself",
             custom_widgets=True),
)


@dataclass(frozen=True)
class App:
    """A notebook meant to be shown as a Voilà app (widgets, no code), not read as a lesson.

    Apps are not numbered and get no navigation or setup cells; the contents
    tables list them under the notebooks with a Binder badge that opens them
    through Voilà.
    """

    stem: str          #: file name without ``.ipynb``
    title_en: str
    title_zh: str
    description: str

    @property
    def filename(self) -> str:
        return f"{self.stem}.ipynb"

    def path(self, root: Path) -> Path:
        return Path(root) / NOTEBOOK_DIR / self.filename


APPS: tuple[App, ...] = (
    App("playground", "Playground", "游乐场",
        "the sine-regression panels of 7.2 and 7.7, 07's click-the-points panel and 09's "
        "draw-your-own characters as an app: sliders, plots and canvases, no code"),
)


def existing(root: Path) -> list[Notebook]:
    """The notebooks of :data:`NOTEBOOKS` that exist below ``root``, in order."""
    return [nb for nb in NOTEBOOKS if nb.path(root).exists()]


def existing_with_apps(root: Path) -> list[Notebook | App]:
    """What :func:`existing` gives, then the :data:`APPS` that exist: everything to execute."""
    return [*existing(root), *(app for app in APPS if app.path(root).exists())]


def by_stem(stem: str) -> Notebook:
    """Look a notebook up by its file stem; ``ValueError`` if it is not listed."""
    for nb in NOTEBOOKS:
        if nb.stem == stem:
            return nb
    raise ValueError(f"{stem!r} is not in chapter_utils.tooling.contents.NOTEBOOKS")
