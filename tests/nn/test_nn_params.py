"""bnlib.nn.params: the initial weights and the SGD step."""

import numpy as np

from bnlib import init_params
from bnlib.nn.params import sgd_step
from nn_cases import SIZES


def test_bn_network_has_no_hidden_biases_and_same_initial_weights():
    plain, bn = init_params(SIZES, False, seed=2), init_params(SIZES, True, seed=2)
    for w1, w2 in zip(plain.W, bn.W, strict=True):
        np.testing.assert_array_equal(w1, w2)
    assert bn.b[:-1] == (None, None) and bn.b[-1] is not None
    assert [g.tolist() for g in bn.gamma] == [[1.0] * 5, [1.0] * 4]


def test_sgd_step_returns_new_params():
    p = init_params(SIZES, seed=0)
    g = p.map(np.ones_like)
    q = sgd_step(p, g, 0.5)
    np.testing.assert_allclose(q.W[0], p.W[0] - 0.5)
    assert not np.array_equal(q.W[0], p.W[0])
