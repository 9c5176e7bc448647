"""Task families: what a meta-learner is trained and tested on (numpy only, no TensorFlow).

* :mod:`~chapter_utils.tasks.logistic` — §7.4 (notebook 04): the chapter's sampler
  :func:`sample_points` (coin-flip labels) and :class:`LogisticTasks`, a family with structure;
* :mod:`~chapter_utils.tasks.sine` — §7.2 and §7.7 (notebooks 02, 06, 07): :class:`SineTasks`
  and the chapter's 7.7 sampler :func:`sample_sine_points`;
* :mod:`~chapter_utils.tasks.quadratic` — §7.1 and §7.5–7.6 (notebooks 01, 05, 08): 2-D
  quadratic bowls, where every gradient and Hessian is exact;
* :mod:`~chapter_utils.tasks.navigation` — §7.3 (notebook 03): 2-D point navigation, a
  vectorised environment with Gymnasium's ``reset``/``step``.
"""
from chapter_utils.tasks.logistic import (
                                          CHAPTER_DIM,
                                          LogisticTask,
                                          LogisticTasks,
                                          chapter_batch,
                                          sample_points,
)
from chapter_utils.tasks.navigation import (
                                          NavigationEnv,
                                          NavigationTask,
                                          NavigationTasks,
                                          average_return,
                                          held_out_goals,
                                          run_episodes,
)
from chapter_utils.tasks.quadratic import QuadraticFamily, Quadratics, loss_grid, minibatches, rotation
from chapter_utils.tasks.sine import SineTask, SineTasks, sample_sine_points

__all__ = ["CHAPTER_DIM", "LogisticTask", "LogisticTasks", "chapter_batch", "sample_points",
           "NavigationEnv", "NavigationTask", "NavigationTasks", "average_return", "held_out_goals",
           "run_episodes", "QuadraticFamily", "Quadratics", "loss_grid", "minibatches", "rotation",
           "SineTask", "SineTasks", "sample_sine_points"]
