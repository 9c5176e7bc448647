"""How results are measured: held-out protocols, comparisons, gradient checks and statistics.

* :mod:`~chapter_utils.evaluation.sine` — the held-out few-shot sine benchmark (notebooks 02, 06, 07);
* :mod:`~chapter_utils.evaluation.comparison` — the four sine learners side by side (notebook 07);
* :mod:`~chapter_utils.evaluation.bandit` — a bandit whose meta-gradient is known in closed
  form, to check the RL estimators (notebook 03);
* :mod:`~chapter_utils.evaluation.gradcheck` — finite differences for checking gradients;
* :mod:`~chapter_utils.evaluation.stats` — means with 95% intervals, running means.
"""
