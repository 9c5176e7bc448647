"""Notebook tooling for maintainers; readers never need it.

* :mod:`~chapter_utils.tooling.contents` — the one list of notebooks and apps, and where the badges point;
* :mod:`~chapter_utils.tooling.generated_cells` — generates navigation, setup cells and contents tables
  (``python -m chapter_utils.tooling.generated_cells``);
* :mod:`~chapter_utils.tooling.run_notebooks` — re-executes notebooks in place
  (``python -m chapter_utils.tooling.run_notebooks``);
* :mod:`~chapter_utils.tooling.benchmark` — timings and the full-budget runs
  (``python -m chapter_utils.tooling.benchmark``).
"""
