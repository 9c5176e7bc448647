"""Helpers shared by the chapter 7 notebooks (Meta-SGD and Reptile).

Small modules, each named after what it holds:

* :mod:`chapter_utils.tasks` — the chapter's task samplers and task families.
* :mod:`chapter_utils.meta_sgd_scratch` — notebook 04 (7.4): exact Meta-SGD
  meta-gradients for the chapter's logistic model, and the trainers it compares.
* :mod:`chapter_utils.gradcheck` — finite differences to check every gradient.
* :mod:`chapter_utils.stats` — means with 95% intervals, running means.
* :mod:`chapter_utils.plotting` — figures the notebooks share.
* :mod:`chapter_utils.widgets` — the hyperparameter panel every notebook uses.
* :mod:`chapter_utils.environment` — the setup cell's version check and seeding.
* :mod:`chapter_utils.contents` / :mod:`chapter_utils.generated_cells` — the table of
  contents and the generated navigation cells; :mod:`chapter_utils.run_notebooks`
  re-executes the notebooks; :mod:`chapter_utils.benchmark` times things.

Nothing here imports TensorFlow at import time.
"""

__version__ = "0.1.0"
