"""Networks written functionally in TensorFlow 2: parameters are plain tensors, batched over tasks.

* :mod:`~chapter_utils.nets.mlp` — the small multilayer perceptron of the sine notebooks
  (02, 06, 07), with a leading task axis so a whole meta-batch adapts in one pass;
* :mod:`~chapter_utils.nets.gaussian_policy` — the Gaussian policy of §7.3 (notebook 03):
  compiled rollouts on the navigation dynamics, baseline, advantages, surrogate loss.

Importing this package imports no TensorFlow; each module does, when imported.
"""
