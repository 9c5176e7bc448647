"""The functional 4-block conv net: shapes, batching over tasks, per-image normalisation."""
from __future__ import annotations

import numpy as np
import pytest

from chapter_utils.nets import conv


def test_feature_size_and_init():
    assert conv.feature_size(32) == 32 * 2 * 2                     # 28 → 14 → 7 → 4 → 2
    body = conv.init_body(8, 0)
    assert [p.shape for p in body[:2]] == [(3, 3, 1, 8), (8,)] and len(body) == 8
    assert all(np.array_equal(a, b) for a, b in zip(body, conv.init_body(8, 0)))
    assert conv.count(body) == 9 * 8 + 8 + 3 * (9 * 64 + 8)
    w, b = conv.zero_head(8, 5)
    assert w.shape == (32, 5) and not w.any() and not b.any()


def test_batched_networks_match_one_at_a_time():
    rng = np.random.default_rng(0)
    bodies = [conv.init_body(4, s) for s in (1, 2)]
    heads = [[rng.normal(size=(16, 3)).astype(np.float32), rng.normal(size=3).astype(np.float32)]
             for _ in range(2)]
    x = rng.random((2, 6, 28, 28)).astype(np.float32)
    batched = conv.logits([np.stack(p) for p in zip(*bodies)], [np.stack(p) for p in zip(*heads)], x)
    for t in range(2):
        single = conv.logits(bodies[t], heads[t], x[t])
        np.testing.assert_allclose(batched[t].numpy(), single.numpy(), rtol=1e-4, atol=1e-4)
    shared = conv.features(bodies[0], x)                          # one network, a batch of tasks
    np.testing.assert_allclose(shared[1].numpy(), conv.features(bodies[0], x[1]).numpy(), atol=1e-5)


def test_normalisation_is_per_image():
    """An image's features do not depend on the other images beside it (nothing transductive)."""
    body = conv.init_body(4, 0)
    rng = np.random.default_rng(1)
    x = rng.random((5, 28, 28)).astype(np.float32)
    alone = conv.features(body, x[:1]).numpy()
    together = conv.features(body, x).numpy()[:1]
    np.testing.assert_allclose(alone, together, atol=1e-5)


def test_cross_entropy_of_zero_head_is_log_n():
    body = conv.init_body(4, 0)
    x = np.random.default_rng(2).random((4, 28, 28)).astype(np.float32)
    loss = conv.cross_entropy(body, conv.zero_head(4, 5), x, np.arange(4))
    assert float(loss) == pytest.approx(np.log(5), rel=1e-6)
