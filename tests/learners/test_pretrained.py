"""The "pretrained on all tasks" baseline (chapter_utils.learners.pretrained; notebook 07)."""
import numpy as np

from chapter_utils import SineTasks
from chapter_utils.evaluation import sine as bench
from chapter_utils.learners.maml import MAML
from chapter_utils.learners.pretrained import Pretrained


def test_training_has_no_inner_loop_and_fine_tuning_uses_the_fixed_step():
    learner = Pretrained(iterations=3000)
    assert learner.inner_steps == 0 and learner.label == "pretrained"
    learner.fit(SineTasks(), seed=0)
    # Joint regression: the loss recorded is the loss of θ itself, and it falls.
    assert learner.losses[-500:].mean() < learner.losses[:100].mean()
    held = bench.held_out(100, 10)
    mse = bench.mse_by_steps(learner, held, steps=(0, 32))
    assert mse[32].mean() < mse[0].mean(), "fine-tuning on the K points should help"
    # Its fine-tuning is MAML's inner step with the same fixed α, from the same θ.
    twin = MAML().set_parameters(learner.theta, learner.alpha)
    x, y = held.x_support[:3], held.y_support[:3]
    np.testing.assert_allclose(learner.predict_adapted(x, y, bench.GRID, steps=(5,)),
                               twin.predict_adapted(x, y, bench.GRID, steps=(5,)), rtol=1e-6)
