"""Notebook tooling for maintainers; readers never need it.

* :mod:`~chapter_utils.tooling.contents` — the one list of notebooks and apps, and where the badges point;
* :mod:`~chapter_utils.tooling.generated_cells` — generates navigation, setup cells and contents tables
  (``python -m chapter_utils.tooling.generated_cells``);
* :mod:`~chapter_utils.tooling.run_notebooks` — re-executes notebooks in place, or times them
  on one CPU with their peak memory (``python -m chapter_utils.tooling.run_notebooks``);
* :mod:`~chapter_utils.tooling.run_times` — the measured run times the contents tables show;
* :mod:`~chapter_utils.tooling.benchmark` — timings and the full-budget runs
  (``python -m chapter_utils.tooling.benchmark``);
* :mod:`~chapter_utils.tooling.panel_latency` — each panel's click to figure, at its defaults and
  slider ends, on one CPU or more (``python -m chapter_utils.tooling.panel_latency --one-core``);
* :mod:`~chapter_utils.tooling.train_shipped` — trains the learners notebooks 02 and 03 load
  (``python -m chapter_utils.tooling.train_shipped``);
* :mod:`~chapter_utils.tooling.train_characters` — trains notebook 09's character learners
  (``python -m chapter_utils.tooling.train_characters``).
"""
