"""Exact references in plain numpy: the algorithms written out where every derivative is known.

The notebooks teach from these functions, and the TF2 learners are checked against them.

* :mod:`~chapter_utils.reference.logistic_meta_sgd` — §7.4 (notebook 04): exact Meta-SGD
  meta-gradients for the chapter's logistic model, the chapter's update and the corrected one;
* :mod:`~chapter_utils.reference.quadratics` — §7.1 (notebook 01): gradient steps on the
  bowls and exact MAML / Meta-SGD meta-gradients through them;
* :mod:`~chapter_utils.reference.quadratic_reptile` — §7.5–7.6 (notebook 05): Reptile on the
  bowls and the Taylor-expansion terms of its update;
* :mod:`~chapter_utils.reference.chapter_reptile` — §7.7 (notebook 06): the chapter's Reptile
  ported to TF2 unchanged, errors included, so they can be measured.
"""
