"""bnlib.renorm: batch renormalization (Ioffe 2017) against Keras's renorm=True, a derivation and its limits."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bnlib import (
    BatchNorm,
    BatchRenorm,
    batch_renorm_backward,
    batch_renorm_forward,
    batchnorm_forward,
    batchnorm_inference,
    numeric_gradient,
    rel_error,
)
from bnlib.keras_ref import keras_batch_renorm_gradients, keras_batch_renorm_steps

CLIPPING = {"rmax": 1.5, "rmin": 0.8, "dmax": 0.5}


def drifting_batches(seed, k=5, m=4, n=3):
    """Small batches whose mean and spread drift, so r and d leave [rmin, rmax] and [-dmax, dmax]."""
    rng = np.random.default_rng(seed)
    return [rng.normal(0.5 * i, 1.0 + 0.5 * i, size=(m, n)) for i in range(k)]


def test_without_clipping_training_output_is_the_inference_output():
    # r and d undo the batch statistics: (a - mu_B)/sigma_B * sigma_B/s + (mu_B - mu)/s = (a - mu)/s
    rng = np.random.default_rng(0)
    a = rng.normal(2.0, 3.0, size=(8, 2))
    mean, std = np.array([1.0, -1.0]), np.array([2.0, 0.5])
    gamma, beta = np.array([1.5, -1.0]), np.array([0.2, 0.0])
    out, cache = batch_renorm_forward(a, gamma, beta, mean, std, eps=0.0)
    np.testing.assert_allclose(out, beta + gamma * (a - mean) / std, rtol=1e-12)
    np.testing.assert_allclose(cache.r, a.std(axis=0) / std, rtol=1e-12)


def test_r_one_d_zero_is_plain_batch_normalization():
    a = np.random.default_rng(1).normal(size=(6, 3))
    out, cache = batch_renorm_forward(a, np.ones(3), np.zeros(3), np.full(3, 9.0), np.full(3, 7.0),
                                      rmax=1.0, rmin=1.0, dmax=0.0)
    np.testing.assert_allclose(out, batchnorm_forward(a, np.ones(3), np.zeros(3))[0], rtol=1e-12)
    assert (cache.r == 1).all() and (cache.d == 0).all()


def test_clipping_bounds_r_and_d():
    a = np.random.default_rng(2).normal(5.0, 10.0, size=(6, 2))
    _, cache = batch_renorm_forward(a, np.ones(2), np.zeros(2), np.zeros(2), np.ones(2), **CLIPPING)
    np.testing.assert_array_equal(cache.r, [1.5, 1.5])
    assert np.all(np.abs(cache.d) <= 0.5)


@pytest.mark.keras
@pytest.mark.parametrize("clipping", [CLIPPING, {}, {"rmax": 3.0, "dmax": 5.0}])
def test_layer_matches_keras_over_several_training_calls(clipping):
    batches = drifting_batches(3)
    gamma, beta = np.array([1.0, 2.0, -0.5]), np.array([0.0, 0.5, 1.0])
    keras = keras_batch_renorm_steps(batches, gamma=gamma, beta=beta, renorm_clipping=clipping,
                                     momentum=0.9, renorm_momentum=0.8)
    layer = BatchRenorm(momentum=0.9, renorm_momentum=0.8, **clipping)
    layer.build(3)
    layer.gamma, layer.beta = gamma.copy(), beta.copy()
    for a, k in zip(batches, keras, strict=True):
        np.testing.assert_allclose(layer(a, training=True), k.out, rtol=1e-10, atol=1e-10)
        for ours, theirs in ((layer.moving_mean, k.moving_mean), (layer.moving_var, k.moving_variance),
                             (layer.moving_std, k.moving_stddev), (layer.renorm_mean, k.renorm_mean),
                             (layer.renorm_std, k.renorm_stddev)):
            np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
    # renorm changes the training output: after a few drifting batches it is no longer plain BN's
    assert np.abs(layer(batches[-1], training=True) - batchnorm_forward(batches[-1], gamma, beta)[0]).max() > 0.1
    # inference is plain BN inference with the moving statistics
    np.testing.assert_allclose(layer(batches[0]), batchnorm_inference(batches[0], layer.moving_mean,
                                                                      layer.moving_var, gamma, beta))


@pytest.mark.keras
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rmax=st.floats(1.0, 4.0), rmin=st.floats(0.1, 1.0), dmax=st.floats(0.0, 3.0),
    m=st.integers(2, 6), seed=st.integers(0, 2**16),
)
def test_property_matches_keras(rmax, rmin, dmax, m, seed):
    batches = drifting_batches(seed, k=3, m=m, n=2)
    clipping = {"rmax": rmax, "rmin": rmin, "dmax": dmax}
    keras = keras_batch_renorm_steps(batches, renorm_clipping=clipping, renorm_momentum=0.5)
    layer = BatchRenorm(renorm_momentum=0.5, **clipping)
    for a, k in zip(batches, keras, strict=True):
        np.testing.assert_allclose(layer(a, training=True), k.out, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(layer.renorm_std, k.renorm_stddev, rtol=1e-10)
        np.testing.assert_allclose(layer.moving_var, k.moving_variance, rtol=1e-10, atol=1e-12)


def test_fresh_layer_with_default_statistics_matches_batchnorm_inference_scale():
    # first call: renorm_mean 0, renorm_std 1; with no clipping out = (a - 0)/1 * gamma + beta
    a = np.random.default_rng(4).normal(3.0, 2.0, size=(5, 2))
    out = BatchRenorm(epsilon=0.0)(a, training=True)
    np.testing.assert_allclose(out, a, rtol=1e-12)
    assert BatchNorm()(a, training=True).std() < 1.01  # plain BN would have standardized it


def test_bad_clipping_is_refused_with_a_working_fix():
    a = np.random.default_rng(5).normal(size=(4, 1))
    with pytest.raises(ValueError, match=r"rmin=2 is above rmax=1.5.*use rmin = 1 / rmax = 0.666667"):
        batch_renorm_forward(a, [1.0], [0.0], [0.0], [1.0], rmax=1.5, rmin=2.0)
    batch_renorm_forward(a, [1.0], [0.0], [0.0], [1.0], rmax=1.5, rmin=1 / 1.5)
    with pytest.raises(ValueError, match="dmax must be"):
        batch_renorm_forward(a, [1.0], [0.0], [0.0], [1.0], dmax=-1.0)
    with pytest.raises(ValueError, match="renorm_std must be >= 0 everywhere; a standard deviation"):
        batch_renorm_forward(a, [1.0], [0.0], [0.0], [-1.0])
    with pytest.raises(TypeError, match="renorm_momentum must be"):
        BatchRenorm(renorm_momentum="0.9")


def _renorm_case(seed, m=5, n=3):
    rng = np.random.default_rng(seed)
    a = rng.normal(1.0, 2.0, size=(m, n))
    return (a, rng.normal(size=(m, n)), rng.normal(size=n), rng.normal(size=n), rng.normal(size=n),
            rng.uniform(0.5, 3.0, size=n))


@pytest.mark.parametrize("clipping", [{}, CLIPPING])
def test_backward_matches_finite_differences_with_r_and_d_held_constant(clipping):
    a, dout, gamma, beta, mean, std = _renorm_case(5)
    out, cache = batch_renorm_forward(a, gamma, beta, mean, std, **clipping)
    da, dgamma, dbeta = batch_renorm_backward(dout, cache)
    r, d = cache.r, cache.d
    # r and d are constants: the forward with them frozen is BN with scale gamma*r, shift gamma*d + beta
    def frozen_a(x):
        return batchnorm_forward(x, gamma * r, gamma * d + beta)[0]

    def frozen_gamma(g):
        return batchnorm_forward(a, g * r, g * d + beta)[0]

    assert rel_error(da, numeric_gradient(frozen_a, a, dout)) < 1e-7
    assert rel_error(dgamma, numeric_gradient(frozen_gamma, gamma, dout)) < 1e-7
    np.testing.assert_allclose(dbeta, dout.sum(axis=0), rtol=1e-12)


@pytest.mark.keras
@pytest.mark.parametrize("clipping", [{}, CLIPPING])
def test_backward_matches_keras_autodiff(clipping):
    a, dout, gamma, beta, mean, std = _renorm_case(6)
    _, cache = batch_renorm_forward(a, gamma, beta, mean, std, **clipping)
    ours = batch_renorm_backward(dout, cache)
    theirs = keras_batch_renorm_gradients(a, dout, gamma, beta, mean, std, renorm_clipping=clipping)
    for x, y in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-10)


def test_backward_refuses_a_batchnorm_cache():
    a = np.random.default_rng(7).normal(size=(4, 2))
    out, cache = batchnorm_forward(a, [1.0, 1.0], [0.0, 0.0])
    with pytest.raises(TypeError, match="RenormCache returned by batch_renorm_forward"):
        batch_renorm_backward(out, cache)
