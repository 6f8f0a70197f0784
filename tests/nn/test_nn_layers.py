"""bnlib.nn.layers: the sigmoid and the softmax cross-entropy against textbook formulas and hand values."""

import warnings

import numpy as np
import pytest

from bnlib.nn.layers import sigmoid_forward, softmax_cross_entropy_forward


def test_sigmoid_is_stable_and_matches_the_textbook_formula():
    s = np.array([-1000.0, -30.0, -1.0, 0.0, 2.5, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning would land on a notebook's stderr
        a, _ = sigmoid_forward(s)
    np.testing.assert_allclose(a[1:-1], 1.0 / (1.0 + np.exp(-s[1:-1])), rtol=1e-14, atol=1e-300)
    assert a[0] == 0.0 and a[-1] == 1.0


def test_cross_entropy_by_hand_and_large_logits():
    logits = np.array([[0.0, np.log(3.0)], [1000.0, 0.0]])
    loss, _ = softmax_cross_entropy_forward(logits, np.array([1, 0]))
    # -log(3/4) for the first row, -log(1) = 0 for the second: mean -log(3/4)/2
    assert loss == pytest.approx(-np.log(0.75) / 2, rel=1e-14)
