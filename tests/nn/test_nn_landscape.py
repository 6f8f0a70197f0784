"""bnlib.nn.landscape: the loss-landscape probe against its definitions and a first-order expansion."""

import numpy as np
import pytest

from bnlib import landscape_probe, mlp_backward, mlp_forward
from nn_cases import make_batch, make_params


def test_landscape_probe_first_order_and_definitions():
    X, y = make_batch()
    params = make_params(True)
    loss0, cache = mlp_forward(params, X, y)
    g = mlp_backward(cache).vector()
    eta = 1e-6
    probe = landscape_probe(params, X, y, [eta, 1e-1])
    # Taylor: L(theta - eta g) = L(theta) - eta |g|^2 + O(eta^2)
    assert probe.losses[0] == pytest.approx(loss0 - eta * g @ g, abs=1e-10)
    assert probe.loss_range == pytest.approx(max(probe.losses.max(), loss0) - min(probe.losses.min(), loss0))
    moved = params.from_vector(params.vector() - 0.1 * g)
    g1 = mlp_backward(mlp_forward(moved, X, y)[1]).vector()
    assert probe.grad_change >= np.linalg.norm(g1 - g) - 1e-15
    assert probe.smoothness >= np.linalg.norm(g1 - g) / (0.1 * np.linalg.norm(g)) - 1e-12
