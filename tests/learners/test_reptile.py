"""Reptile (notebook 06, §7.6–7.7): the update, adaptation, the API's errors."""
import numpy as np
import pytest

from chapter_utils.environment import import_tensorflow
from chapter_utils.learners.reptile import Reptile
from chapter_utils.nets import mlp as fmlp
from chapter_utils.tasks import SineTasks

tf = import_tensorflow()
SMALL = dict(hidden=(8,), inner_steps=3, inner_lr=0.05)


class FixedTasks:
    """Hands out the same support sets every time: tasks whose θ*ᵢ we can compute by hand."""

    def __init__(self, n, k, seed=0):
        self.x, self.y, _, _ = SineTasks().sample_batch(n, k, seed)

    def sample_batch(self, n, k, rng):
        assert n == len(self.x) and k == self.x.shape[1]
        return self.x, self.y, None, None


def sgd_by_hand(params, x, y, lr, steps):
    """Plain SGD on one task, one network, eagerly: the reference θ*."""
    w = [tf.constant(p) for p in params]
    x, y = tf.constant(x[:, None], tf.float32), tf.constant(y[:, None], tf.float32)
    for _ in range(steps):
        with tf.GradientTape() as tape:
            tape.watch(w)
            loss = fmlp.mse(w, x, y, "tanh")
        w = [a - lr * g for a, g in zip(w, tape.gradient(loss, w))]
    return [a.numpy() for a in w]


def test_epsilon_one_with_one_task_is_plain_sgd():
    tasks = FixedTasks(1, 10)
    learner = Reptile(meta_batch=1, epsilon=1.0, shots=10, **SMALL).fit(tasks, iterations=1)
    expected = sgd_by_hand(learner.initial_theta, tasks.x[0], tasks.y[0], 0.05, 3)
    for got, want in zip(learner.theta, expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_batched_update_is_the_mean_interpolation():
    tasks = FixedTasks(4, 5, seed=1)
    learner = Reptile(meta_batch=4, epsilon=0.3, shots=5, **SMALL).fit(tasks, iterations=1)
    stars = [sgd_by_hand(learner.initial_theta, x, y, 0.05, 3) for x, y in zip(tasks.x, tasks.y)]
    for j, theta in enumerate(learner.initial_theta):
        target = np.mean([s[j] for s in stars], axis=0)
        np.testing.assert_allclose(learner.theta[j], theta + 0.3 * (target - theta), rtol=1e-5, atol=1e-6)


def test_one_inner_step_is_sgd_on_the_mixture_of_tasks():
    """k = 1 (notebook 06's joint-training baseline): one batched update is one SGD step of rate
    ε·α on the mean loss of the batch's tasks — ordinary training on their mixture."""
    tasks = FixedTasks(4, 5, seed=3)
    learner = Reptile(meta_batch=4, epsilon=0.5, shots=5, hidden=(8,), inner_steps=1,
                      inner_lr=0.05).fit(tasks, iterations=1)
    w = [tf.constant(p) for p in learner.initial_theta]
    x = tf.constant(tasks.x.reshape(-1, 1), tf.float32)          # all 20 points, one dataset
    y = tf.constant(tasks.y.reshape(-1, 1), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(w)
        loss = fmlp.mse(w, x, y, "tanh")
    for got, p, g in zip(learner.theta, learner.initial_theta, tape.gradient(loss, w)):
        np.testing.assert_allclose(got, p - 0.5 * 0.05 * g.numpy(), rtol=1e-5, atol=1e-6)


def test_adapt_fits_a_task_and_leaves_the_meta_parameters_alone():
    learner = Reptile(**SMALL).fit(SineTasks(), iterations=300, seed=2)
    before = [p.copy() for p in learner.theta]
    task = SineTasks().sample(5)
    x, y = task.sample_points(10, 6)
    grid = np.linspace(-5, 5, 50)
    errors = [np.mean((learner.adapt(x, y, steps=s)(grid) - task(grid)) ** 2) for s in (0, 32)]
    assert errors[1] < errors[0]
    for a, b in zip(before, learner.theta):
        np.testing.assert_array_equal(a, b)
    # the vectorised path agrees with adapt, task by task
    batch = learner.predict_adapted(x[None], y[None], grid, steps=[32, 0])
    np.testing.assert_allclose(batch[0, 0], learner.adapt(x, y, steps=32)(grid), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(batch[1, 0], learner.adapt(x, y, steps=0)(grid), rtol=1e-5, atol=1e-6)


def test_meta_training_beats_its_starting_point():
    from chapter_utils.evaluation import sine as sb
    learner = Reptile().fit(SineTasks(), iterations=3000, seed=0)
    data = sb.held_out(100, 10)
    mse = sb.mse_by_steps(learner, data, steps=(32,))[32]
    start = Reptile().initialise(seed=0)          # the θ fit(seed=0) started from
    for a, b in zip(start.theta, learner.initial_theta):
        np.testing.assert_array_equal(a, b)
    assert mse.mean() < 0.6 * sb.mse_by_steps(start, data, steps=(32,))[32].mean()
    assert learner.losses[-500:].mean() < learner.losses_before[-500:].mean()


@pytest.mark.parametrize("kwargs", [dict(inner_steps=-1), dict(inner_lr=0.0), dict(meta_batch=0),
                                    dict(epsilon=float("nan")), dict(hidden=(0,)), dict(activation="sin"),
                                    dict(iterations=0), dict(eval_steps=1.5)])
def test_bad_hyperparameters_raise(kwargs):
    with pytest.raises(ValueError):
        Reptile(**kwargs)


def test_bad_calls_raise():
    with pytest.raises(RuntimeError, match="call fit"):
        Reptile().adapt(np.zeros(3), np.zeros(3))
    learner = Reptile(**SMALL).fit(SineTasks(), iterations=1)
    with pytest.raises(ValueError, match="empty"):
        learner.adapt(np.array([]), np.array([]))
    with pytest.raises(ValueError, match="same length"):
        learner.adapt(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="steps"):
        learner.adapt(np.zeros(3), np.zeros(3), steps=-1)
    with pytest.raises(ValueError):
        learner.fit(SineTasks(), iterations=0)
    with pytest.raises(ValueError, match="shots"):
        Reptile(shots=0)
    with pytest.raises(ValueError, match="finite"):
        learner.adapt(np.zeros(3), np.zeros(3))(np.array([np.nan]))
