"""The character learners: one learner shape, training moves what it should, adapt checks its input."""
from __future__ import annotations

import numpy as np
import pytest

from chapter_utils.learners import characters as lc
from chapter_utils.learners.base import NotFittedError


class BarTasks:
    """A tiny stand-in family: class c is a vertical bar at column 4 + 4c plus noise (no rendering)."""

    def sample(self, tasks, n_way, shots, query, rng=None):
        rng = np.random.default_rng(rng)
        def images(labels, perm):
            x = rng.random((tasks, labels.size, 28, 28)).astype(np.float32) * 0.2
            for t in range(tasks):
                for i, c in enumerate(labels):
                    col = 4 + 4 * perm[t, c]
                    x[t, i, 4:24, col:col + 2] = 1.0
            return x
        perm = np.stack([rng.permutation(6)[:n_way] for _ in range(tasks)])
        ys, yq = np.repeat(np.arange(n_way), shots), np.repeat(np.arange(n_way), query)
        return (images(ys, perm), np.tile(ys, (tasks, 1)).astype(np.int32),
                images(yq, perm), np.tile(yq, (tasks, 1)).astype(np.int32))


SMALL = dict(channels=4, n_way=3, shots=1, query=2, meta_batch=2)
CLASSES = [lc.CharacterMetaSGD, lc.CharacterMAML, lc.CharacterReptile, lc.CharacterProtoNet]


@pytest.mark.parametrize("cls", CLASSES)
def test_fit_moves_theta_and_records_losses(cls):
    learner = cls(**SMALL, iterations=3)
    with pytest.raises(NotFittedError):
        _ = learner.theta
    learner.fit(BarTasks(), seed=0)
    assert learner.losses.shape == (3,) and np.all(np.isfinite(learner.losses))
    assert any(not np.allclose(a, b) for a, b in zip(learner.theta, learner.initial_theta))
    assert learner.seconds > 0


def test_meta_sgd_learns_alpha_and_maml_keeps_it():
    meta_sgd = lc.CharacterMetaSGD(**SMALL, iterations=3).fit(BarTasks())
    maml = lc.CharacterMAML(**SMALL, iterations=3).fit(BarTasks())
    assert any(not np.allclose(a, 0.4) for a in meta_sgd.alpha)
    assert all(np.allclose(a, 0.4) for a in maml.alpha)
    assert meta_sgd.alpha[-2].shape == (16, 1)           # head α: one per feature, shared by classes


def test_pretrained_trains_on_every_class():
    class Family:                                        # what CharacterPretrained reads
        classes = np.arange(6)
        class set:                                       # noqa: N801
            images = (np.random.default_rng(0).random((6, 4, 28, 28)) * 255).astype(np.uint8)
        sample = BarTasks.sample
    learner = lc.CharacterPretrained(channels=4, batch=8, iterations=3).fit(Family())
    assert np.all(np.isfinite(learner.losses))


def test_adapt_gives_probabilities_and_learns_bars():
    tasks = BarTasks()
    xs, ys, xq, yq = tasks.sample(1, 3, 2, 4, 0)
    learner = lc.CharacterMAML(channels=8, n_way=3).initialise(0)
    predict = learner.adapt(xs[0], ys[0], steps=20)
    p = predict(xq[0])
    assert p.shape == (12, 3) and np.allclose(p.sum(1), 1)
    assert (p.argmax(1) == yq[0]).mean() >= 0.9          # bars at distinct columns are easy
    proto = lc.CharacterProtoNet(channels=8).initialise(0).adapt(xs[0], ys[0])(xq[0])
    assert proto.shape == (12, 3) and np.allclose(proto.sum(1), 1)


def test_adapt_does_not_change_theta():
    learner = lc.CharacterMetaSGD(channels=4).initialise(0)
    before = learner.theta
    xs, ys, _, _ = BarTasks().sample(1, 3, 1, 1, 0)
    learner.adapt(xs[0], ys[0], steps=3)
    assert all(np.array_equal(a, b) for a, b in zip(before, learner.theta))


@pytest.mark.parametrize("images, labels, words", [
    (np.zeros((3, 28)), [0, 1, 2], "shape"),
    (np.zeros((3, 27, 28)), [0, 1, 2], "shape"),
    (np.zeros((0, 28, 28)), [], "shape"),
    (np.full((3, 28, 28), 1.5), [0, 1, 2], r"\[0, 1\]"),
    (np.full((3, 28, 28), np.nan), [0, 1, 2], "finite"),
    (np.zeros((3, 28, 28)), [0, 1], "one label per image"),
    (np.zeros((3, 28, 28)), [0, 2, 2], "every class present"),
    (np.zeros((3, 28, 28)), [1, 2, 3], "every class present"),
    (np.zeros((3, 28, 28)), [0, 0, 0], "N ≥ 2"),
    (np.zeros((3, 28, 28)), [0, 1.5, 2], "integers"),
    (np.zeros((3, 28, 28)), ["a", "b", "c"], "integers"),
])
def test_adapt_rejects_bad_arguments(images, labels, words):
    learner = lc.CharacterMAML(channels=4).initialise(0)
    with pytest.raises(ValueError, match=words):
        learner.adapt(images, labels)


def test_adapt_rejects_bad_steps_and_query():
    learner = lc.CharacterMAML(channels=4).initialise(0)
    x = np.zeros((2, 28, 28))
    x[:, 10:20, 10:12] = 1
    with pytest.raises(ValueError):
        learner.adapt(x, [0, 1], steps=-1)
    predict = learner.adapt(x, [0, 1], steps=1)
    with pytest.raises(ValueError, match="query images"):
        predict(np.zeros((28, 28)))


def test_tasks_must_have_sample():
    with pytest.raises(ValueError, match="sample"):
        lc.CharacterMAML(**SMALL).fit(object(), iterations=1)
