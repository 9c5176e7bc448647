"""The functional MLP (chapter_utils.nets.mlp; notebooks 02, 06, 07)."""
import numpy as np
import pytest


def test_functional_mlp_batched_equals_one_at_a_time():
    from chapter_utils.nets import mlp as fmlp
    params = fmlp.init_params((5, 4), 0)
    assert fmlp.count(params) == 1 * 5 + 5 + 5 * 4 + 4 + 4 + 1
    assert all(np.abs(w).max() <= 1 / np.sqrt(w.shape[0]) for w in params[::2])
    batch = fmlp.tile(params, 3)
    x = np.random.default_rng(1).normal(size=(3, 6, 1)).astype(np.float32)
    together = fmlp.forward(batch, x, "tanh").numpy()
    for i in range(3):
        np.testing.assert_allclose(fmlp.forward(params, x[i], "tanh").numpy(), together[i], rtol=1e-6)
    assert fmlp.mse(batch, x, np.zeros_like(x), "relu").shape == (3,)
    with pytest.raises(ValueError):
        fmlp.init_params((0,))
    with pytest.raises(ValueError):
        fmlp.forward(params, x[0], "sigmoid")
