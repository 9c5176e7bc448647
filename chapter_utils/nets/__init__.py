"""Networks written functionally: parameters are plain tensors (or arrays), batched over tasks.

* :mod:`~chapter_utils.nets.mlp` — the small multilayer perceptron of the sine notebooks
  (02, 06, 07), with a leading task axis so a whole meta-batch adapts in one pass;
* :mod:`~chapter_utils.nets.numpy_mlp` — the sine MLP's inner loop in plain numpy, so the
  click-the-points panel of notebook 07 answers in milliseconds (no TensorFlow);
* :mod:`~chapter_utils.nets.gaussian_policy` — the Gaussian policy of §7.3 (notebook 03):
  compiled rollouts on the navigation dynamics, baseline, advantages, surrogate loss.

Importing this package imports no TensorFlow; each module does, when imported.
"""
