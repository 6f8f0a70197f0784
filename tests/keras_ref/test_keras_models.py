"""bnlib.keras_ref.models: the Keras model Dense -> BatchNormalization -> Activation.

The Keras model is checked against a hand derivation in plain numpy (not against bnlib), written from the
notes' formulas: z = x @ W, mu = mean over the batch, sigma^2 = biased variance, a_tilde = beta + gamma * a_std,
and Keras's moving-average rule moving = momentum * moving + (1 - momentum) * batch. Tolerances: 1e-10 in
float64 (a few roundings of O(1) numbers), 1e-5 in float32.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bnlib.keras_ref import keras_dense_bn

pytestmark = [pytest.mark.keras]


def by_hand(x, W, gamma, beta, eps, bias=None):
    z = x @ W + (0 if bias is None else bias)
    mu = z.sum(axis=0) / len(z)
    var = ((z - mu) ** 2).sum(axis=0) / len(z)
    return z, mu, var, beta + gamma * (z - mu) / np.sqrt(var + eps)


def case(seed=0, m=6, n_in=3, n=2):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(m, n_in)), rng.normal(size=(n_in, n)),
            rng.uniform(0.5, 2.0, size=n), rng.normal(size=n))


def test_notes_example_inside_a_model_at_eps_zero_is_exactly_plus_minus_sqrt2():
    # W = [[1]] passes a = [2, 0, 2, 4] through; by hand mu = 2, sigma^2 = 8/4 = 2, a_std = 0, -sqrt2, 0, sqrt2.
    x = np.array([[2.0], [0.0], [2.0], [4.0]])
    r = keras_dense_bn(x, np.eye(1), eps=0.0, activation="linear")
    np.testing.assert_allclose(r.a_tilde[:, 0], [0, -np.sqrt(2), 0, np.sqrt(2)], atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**16), m=st.integers(2, 9), n_in=st.integers(1, 4), n=st.integers(1, 4),
       eps=st.sampled_from([0.0, 1e-5, 1e-3, 0.5]))
def test_model_outputs_match_hand_derivation(seed, m, n_in, n, eps):
    x, W, gamma, beta = case(seed, m, n_in, n)
    r = keras_dense_bn(x, W, gamma=gamma, beta=beta, eps=eps)
    z, _, _, a_tilde = by_hand(x, W, gamma, beta, eps)
    np.testing.assert_allclose(r.z, z, atol=1e-10)
    np.testing.assert_allclose(r.a_tilde, a_tilde, atol=1e-10)
    np.testing.assert_allclose(r.out, np.maximum(a_tilde, 0.0), atol=1e-10)


def test_bn_weights_are_gamma_beta_trainable_and_moving_stats_not():
    x, W, gamma, beta = case(1)
    r = keras_dense_bn(x, W, gamma=gamma, beta=beta, momentum=0.99)
    _, mu, var, _ = by_hand(x, W, gamma, beta, 1e-3)
    names = [w.name for w in r.bn_weights]
    assert names == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [w.trainable for w in r.bn_weights] == [True, True, False, False]
    got = {w.name: w.value for w in r.bn_weights}
    np.testing.assert_allclose(got["gamma"], gamma, atol=1e-12)
    np.testing.assert_allclose(got["beta"], beta, atol=1e-12)
    # one training call from Keras's initial moving mean 0 and moving variance 1
    np.testing.assert_allclose(got["moving_mean"], 0.99 * 0.0 + 0.01 * mu, atol=1e-10)
    np.testing.assert_allclose(got["moving_variance"], 0.99 * 1.0 + 0.01 * var, atol=1e-10)


def test_default_gamma_beta_are_keras_initial_values():
    x, W, _, _ = case(2)
    r = keras_dense_bn(x, W)
    got = {w.name: w.value for w in r.bn_weights}
    np.testing.assert_array_equal(got["gamma"], np.ones(2))
    np.testing.assert_array_equal(got["beta"], np.zeros(2))


def test_dense_has_no_bias_unless_given_and_bn_cancels_it():
    x, W, gamma, beta = case(3)
    plain = keras_dense_bn(x, W, gamma=gamma, beta=beta)
    bias = np.array([5.0, -3.0])
    biased = keras_dense_bn(x, W, gamma=gamma, beta=beta, bias=bias)
    assert [(w.name, w.trainable) for w in plain.dense_weights] == [("kernel", True)]
    assert [w.name for w in biased.dense_weights] == ["kernel", "bias"]
    np.testing.assert_allclose(biased.dense_weights[0].value, W, atol=1e-12)
    np.testing.assert_allclose(biased.z, x @ W + bias, atol=1e-10)
    np.testing.assert_allclose(biased.a_tilde, plain.a_tilde, atol=1e-10)


def test_other_activation_and_float32():
    x, W, gamma, beta = case(4)
    r = keras_dense_bn(x.astype(np.float32), W, gamma=gamma, beta=beta, activation="sigmoid")
    assert r.out.dtype == np.float32
    _, _, _, a_tilde = by_hand(x, W, gamma, beta, 1e-3)
    np.testing.assert_allclose(r.out, 1.0 / (1.0 + np.exp(-a_tilde)), atol=1e-5)


@pytest.mark.parametrize("kwargs, match", [
    ({"x": np.ones(4)}, "x must be batch-first"),
    ({"x": np.ones((4, 2, 2))}, r"x must have shape \(m, n_in\)"),
    ({"W": np.ones((2, 2))}, r"W must have shape \(n_in, n\)"),
    ({"gamma": np.ones(3)}, r"gamma must have shape \(2,\)"),
    ({"beta": 0.0}, r"beta must have shape \(2,\)"),
    ({"bias": np.ones((2, 1))}, r"bias must have shape \(2,\)"),
    ({"eps": -1.0}, "eps must be a finite number >= 0"),
    ({"momentum": 1.5}, r"momentum must be a finite number in \[0, 1\]"),
    ({"activation": "no-such-activation"}, "activation"),
])
def test_keras_dense_bn_bad_input(kwargs, match):
    x, W, _, _ = case(5)
    args = {"x": x, "W": W} | kwargs
    with pytest.raises(ValueError, match=match):
        keras_dense_bn(**args)
