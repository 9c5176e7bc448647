"""Helpers shared by the chapter 7 notebooks (Meta-SGD and Reptile).

Small modules, each named after what it holds:

* :mod:`chapter_utils.tasks` — the chapter's task samplers and task families
  (``LogisticTasks`` for 7.4, ``SineTasks`` for 7.2 and 7.7).
* :mod:`chapter_utils.meta_sgd_scratch` — notebook 04 (7.4): exact Meta-SGD
  meta-gradients for the chapter's logistic model, and the trainers it compares.
* :mod:`chapter_utils.quadratics`, :mod:`chapter_utils.quadratic_reptile` — notebooks
  01 and 05 (7.1, 7.5–7.6): 2-D quadratic bowls, Meta-SGD/MAML and Reptile on them.
* :mod:`chapter_utils.functional_mlp` — a TF2 network whose parameters are plain
  tensors, batched over tasks (notebooks 02, 06, 07).
* :mod:`chapter_utils.meta_sgd`, :mod:`chapter_utils.maml` — notebook 02 (7.2):
  Meta-SGD and MAML for few-shot sine regression.
* :mod:`chapter_utils.reptile` — notebook 06 (7.7): Reptile, fixed and fast;
  :mod:`chapter_utils.reptile_chapter` — the chapter's 7.7 code in TF2, unchanged.
* :mod:`chapter_utils.sine_benchmark` — the held-out sine benchmark;
  :mod:`chapter_utils.sine_panels` — the sine panels of notebook 06 and the playground;
  :mod:`chapter_utils.comparison` — the four methods side by side (notebook 07);
  :mod:`chapter_utils.checks` — the argument checks the learners share.
* :mod:`chapter_utils.gradcheck` — finite differences to check every gradient.
* :mod:`chapter_utils.stats` — means with 95% intervals, running means.
* :mod:`chapter_utils.plotting` — figures the notebooks share.
* :mod:`chapter_utils.widgets` — the hyperparameter panel every notebook uses.
* :mod:`chapter_utils.environment` — the setup cell's version check and seeding.
* :mod:`chapter_utils.contents` / :mod:`chapter_utils.generated_cells` — the table of
  contents and the generated navigation cells; :mod:`chapter_utils.run_notebooks`
  re-executes the notebooks; :mod:`chapter_utils.benchmark` times things.

Importing the package imports no TensorFlow; the modules that need it import it
through :func:`chapter_utils.environment.import_tensorflow`.
"""

__version__ = "0.1.0"
