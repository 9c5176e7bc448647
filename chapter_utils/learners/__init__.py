"""The TF2 meta-learners, all of one shape (:class:`~chapter_utils.learners.base.MetaLearner`).

Every learner declares its hyperparameters once (name, default, valid range,
one-line doc), is built as ``Learner(**hyperparameters)``, trains with
``fit(tasks, iterations=None, seed=0, progress=None)``, adapts with ``adapt(…)``
and exposes the same fitted state: ``theta`` (the meta-learned start),
``alpha`` (the inner step sizes), ``initial_theta``, ``losses`` and ``seconds``.

* :mod:`~chapter_utils.learners.base` — the shared base: hyperparameter declarations,
  checks, ``repr``, Adam, schedules, the "not fitted" error;
* :mod:`~chapter_utils.learners.meta_sgd` — :class:`MetaSGD` for few-shot regression (notebook 02, §7.2);
* :mod:`~chapter_utils.learners.maml` — :class:`MAML`, Meta-SGD with α fixed;
* :mod:`~chapter_utils.learners.reptile` — :class:`Reptile` (notebook 06, §7.7);
* :mod:`~chapter_utils.learners.pretrained` — :class:`Pretrained`, the sine baseline trained on
  all tasks at once (MAML with no inner loop in training; notebook 07);
* :mod:`~chapter_utils.learners.policy_gradient` — Meta-SGD, MAML and a pretrained
  policy for reinforcement learning (notebook 03, §7.3).

Learners import tasks and networks, never evaluation, panels or tooling.
"""
