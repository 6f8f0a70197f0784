"""bnlib.folding (chapter 4): an inference-mode BN folded into the Dense or Conv2D layer before it.

References: bnlib's unfolded inference path (property test, float64, 1e-10), and a trained Keras model
Dense -> BatchNormalization whose ``predict`` is compared with a Keras Dense layer loaded with the folded
weights (float32, rtol 1e-5); for Conv2D, Keras's Conv2D -> BatchNormalization at inference against a
Keras Conv2D loaded with the folded kernel (float64, 1e-10).
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bnlib import batchnorm_inference, fold_batchnorm, fold_batchnorm_into_next
from bnlib.keras_ref import keras_batchnorm, keras_conv2d, keras_conv2d_bn, keras_dense, keras_train_dense_bn


@settings(max_examples=30, deadline=None)
@given(n_in=st.integers(1, 4), n=st.integers(1, 4), use_bias=st.booleans(), seed=st.integers(0, 2**16))
def test_folded_dense_equals_dense_then_bn_inference(n_in, n, use_bias, seed):
    rng = np.random.default_rng(seed)
    a, W = rng.normal(size=(5, n_in)), rng.normal(size=(n_in, n))
    b = rng.normal(size=n) if use_bias else None
    gamma, beta, mean = rng.normal(size=n), rng.normal(size=n), rng.normal(size=n)
    var = rng.uniform(0.01, 4.0, size=n)
    W_f, b_f = fold_batchnorm(W, b, gamma, beta, mean, var, eps=1e-3)
    y = a @ W + (0.0 if b is None else b)
    np.testing.assert_allclose(a @ W_f + b_f, batchnorm_inference(y, mean, var, gamma, beta, eps=1e-3),
                               rtol=1e-10, atol=1e-10)


@pytest.mark.keras
@pytest.mark.parametrize("use_bias", [True, False])
def test_folding_a_trained_keras_model(use_bias):
    rng = np.random.default_rng(0)
    X = rng.normal(2.0, 3.0, size=(48, 4)).astype(np.float32)
    Y = np.tanh(X @ rng.normal(size=(4, 3))).astype(np.float32)
    model = keras_train_dense_bn(X, Y, units=3, batch_size=16, epochs=2, use_bias=use_bias)
    assert (model.bias is None) == (not use_bias)
    assert not np.allclose(model.moving_mean, 0.0)  # the moving statistics were really trained
    W_f, b_f = fold_batchnorm(model.kernel, model.bias, model.gamma, model.beta, model.moving_mean,
                              model.moving_variance, eps=model.epsilon)
    np.testing.assert_allclose(keras_dense(X, W_f, b_f), model.predict, rtol=1e-5, atol=1e-5)


def test_fold_by_hand_one_unit():
    # s = 2 / sqrt(3 + 1) = 1: W' = W, b' = (1 - 0.5) * 1 + 0.25
    W_f, b_f = fold_batchnorm([[3.0]], [1.0], [2.0], [0.25], [0.5], [3.0], eps=1.0)
    assert W_f.tolist() == [[3.0]] and b_f.tolist() == [0.75]


def test_inputs_are_not_modified():
    W, b = np.ones((2, 2)), np.zeros(2)
    fold_batchnorm(W, b, np.full(2, 3.0), np.ones(2), np.ones(2), np.ones(2))
    assert np.array_equal(W, np.ones((2, 2))) and np.array_equal(b, np.zeros(2))


def test_kernel_must_be_two_or_four_dimensional():
    for W in (np.ones(3), np.ones((2, 2, 3))):
        with pytest.raises(ValueError, match=r"W must be a Dense kernel of shape \(n_in, n\).*\(kh, kw, c_in, n\)"):
            fold_batchnorm(W, None, np.ones(3), np.zeros(3), np.zeros(3), np.ones(3))


def test_kernel_must_be_numeric():
    with pytest.raises(TypeError, match="W must be a numeric array"):
        fold_batchnorm(np.array([["a"]]), None, [1.0], [0.0], [0.0], [1.0])


@pytest.mark.parametrize("which", ["b", "gamma", "beta", "moving_mean", "moving_var"])
def test_per_unit_vectors_must_match_the_kernel_columns(which):
    args = {"b": np.zeros(3), "gamma": np.ones(3), "beta": np.zeros(3), "moving_mean": np.zeros(3),
            "moving_var": np.ones(3)}
    args[which] = np.ones(2)
    with pytest.raises(ValueError, match=f"{which} has 2 values but 3 were expected"):
        fold_batchnorm(np.ones((4, 3)), **args)


def test_negative_variance_and_zero_eps():
    with pytest.raises(ValueError, match="moving_var must be >= 0"):
        fold_batchnorm(np.ones((1, 1)), None, [1.0], [0.0], [0.0], [-1.0])
    with pytest.raises(ValueError, match="eps=0"):
        fold_batchnorm(np.ones((1, 1)), None, [1.0], [0.0], [0.0], [0.0], eps=0.0)


# --------------------------------------------------------------------------- Conv2D


def test_conv_fold_scales_each_output_channel_filter_by_hand():
    # a 1x1 convolution is a Dense layer applied at every position: filter j scaled by s_j
    W = np.arange(1.0, 7.0).reshape(1, 1, 2, 3)
    gamma, beta = np.array([1.0, 2.0, -1.0]), np.array([0.0, 1.0, 2.0])
    mean, var = np.ones(3), np.array([3.0, 0.0, 8.0])
    W_f, b_f = fold_batchnorm(W, None, gamma, beta, mean, var, eps=1.0)
    s = np.array([1 / 2, 2 / 1, -1 / 3])  # gamma / sqrt(var + 1) by hand
    np.testing.assert_allclose(W_f[0, 0], W[0, 0] * s)
    np.testing.assert_allclose(b_f, -mean * s + beta)


@pytest.mark.keras
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kh=st.integers(1, 3), kw=st.integers(1, 3), c_in=st.integers(1, 3), c_out=st.integers(1, 4),
       use_bias=st.booleans(), padding=st.sampled_from(["valid", "same"]), seed=st.integers(0, 2**16))
def test_folded_conv2d_matches_keras_conv2d_then_bn_inference(kh, kw, c_in, c_out, use_bias, padding, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2, 5, 4, c_in))
    W = rng.normal(size=(kh, kw, c_in, c_out))
    b = rng.normal(size=c_out) if use_bias else None
    gamma, beta, mean = rng.normal(size=c_out), rng.normal(size=c_out), rng.normal(size=c_out)
    var = rng.uniform(0.1, 3.0, size=c_out)
    W_f, b_f = fold_batchnorm(W, b, gamma, beta, mean, var)
    reference = keras_conv2d_bn(x, W, b, gamma, beta, mean, var, padding=padding)
    np.testing.assert_allclose(keras_conv2d(x, W_f, b_f, padding=padding), reference, rtol=1e-10, atol=1e-10)
    # and Keras's conv followed by bnlib's inference BN agrees too
    unfolded = batchnorm_inference(keras_conv2d(x, W, b, padding=padding), mean, var, gamma, beta)
    np.testing.assert_allclose(unfolded, reference, rtol=1e-10, atol=1e-10)


@pytest.mark.keras
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kh=st.integers(1, 3), kw=st.integers(1, 3), c_in=st.integers(1, 3), c_out=st.integers(1, 4),
       use_bias=st.booleans(), seed=st.integers(0, 2**16))
def test_bn_folded_into_the_next_conv2d_matches_keras_bn_then_conv2d(kh, kw, c_in, c_out, use_bias, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2, 5, 4, c_in))
    gamma, beta, mean = rng.normal(size=c_in), rng.normal(size=c_in), rng.normal(size=c_in)
    var = rng.uniform(0.1, 3.0, size=c_in)
    W = rng.normal(size=(kh, kw, c_in, c_out))
    b = rng.normal(size=c_out) if use_bias else None
    W_f, b_f = fold_batchnorm_into_next(gamma, beta, mean, var, W, b)
    bn_out = keras_batchnorm(x, gamma, beta, mean, var, training=False).out
    reference = keras_conv2d(bn_out, W, b)  # padding "valid"
    np.testing.assert_allclose(keras_conv2d(x, W_f, b_f), reference, rtol=1e-10, atol=1e-10)


@pytest.mark.keras
def test_bn_folded_into_the_next_conv2d_differs_at_the_border_with_same_padding():
    # "same" pads BN's output with zeros; the folded layer pads its input with zeros, which BN would shift.
    rng = np.random.default_rng(5)
    x = rng.normal(size=(1, 4, 4, 2))
    gamma, beta, mean, var = np.ones(2), np.array([1.0, -2.0]), np.array([0.5, 1.0]), np.array([2.0, 0.5])
    W = rng.normal(size=(3, 3, 2, 1))
    W_f, b_f = fold_batchnorm_into_next(gamma, beta, mean, var, W, None)
    bn_out = keras_batchnorm(x, gamma, beta, mean, var, training=False).out
    gap = np.abs(keras_conv2d(x, W_f, b_f, padding="same") - keras_conv2d(bn_out, W, None, padding="same"))[0, :, :, 0]
    assert gap[1:-1, 1:-1].max() < 1e-10  # interior: exact
    assert gap[0].min() > 1e-3 and gap[-1].min() > 1e-3  # border rows: the padding was not shifted


def test_fold_into_next_kernel_must_match_the_bn_units():
    with pytest.raises(ValueError, match=r"one input channel per BN unit, shape \(kh, kw, n, n_out\)"):
        fold_batchnorm_into_next(np.ones(3), np.zeros(3), np.zeros(3), np.ones(3), np.ones((3, 3, 2, 4)), None)
    with pytest.raises(ValueError, match=r"neither|Dense kernel of shape \(n, n_out\)"):
        fold_batchnorm_into_next(np.ones(3), np.zeros(3), np.zeros(3), np.ones(3), np.ones((3, 4, 1)), None)
