"""The widget panels: sliders named after a learner's own hyperparameters, a Train button, one figure.

* :mod:`~chapter_utils.panels.base` — :class:`HyperparameterPanel` and the slider makers,
  including :func:`hyperparameter_slider`, which builds a slider from a learner's declaration;
* :mod:`~chapter_utils.panels.bowls` — Meta-SGD and Reptile on quadratic bowls (notebooks 01, 05);
  :mod:`~chapter_utils.panels.bowl_figures` — the bowl pictures those notebooks and panels draw;
* :mod:`~chapter_utils.panels.logistic` — Meta-SGD from scratch on logistic tasks (notebook 04);
* :mod:`~chapter_utils.panels.sine` — Meta-SGD and Reptile on sine waves (02, 06, playground);
* :mod:`~chapter_utils.panels.navigation` — Meta-SGD on 2-D navigation (03);
* :mod:`~chapter_utils.panels.support_points` — pose the task: click support points onto a
  plot and watch six shipped learners adapt, no training (07, playground);
* :mod:`~chapter_utils.panels.drawing` — draw your own characters on canvases and watch the
  shipped character learners and the baselines classify a new drawing (09, playground).

Panels import learners, references, evaluation and plotting; nothing below imports panels.
"""
