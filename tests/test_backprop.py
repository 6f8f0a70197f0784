"""bnlib.backprop against finite differences, TensorFlow autodiff and hand derivations.

Tolerances: an error is measured against the size of the terms the gradient is built from
(|gamma| |dout| / s for da, M |dout| max(1, |a_std|) for dgamma and dbeta), and must stay below
1e-9 of it in float64 and 1e-4 in float32. Finite differences (float64, h = 1e-5) must agree to
rel_error < 1e-6 on well-spread batches, and within 1e-7 of that yardstick on any batch.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bnlib import batchnorm_backward, batchnorm_backward_compact, batchnorm_forward, numeric_gradient, rel_error
from bnlib.keras_ref import keras_batchnorm_gradients, keras_dense_bn_kernel_gradient

BACKWARDS = [batchnorm_backward, batchnorm_backward_compact]


SEED = np.array([[2.0], [0.0], [2.0], [4.0]])


TOL = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-9}


def make_case(shape, axis, dtype, seed, eps=1e-3):
    """Random a, gamma, beta, dout with every feature well spread (var > 0.05)."""
    rng = np.random.default_rng(seed)
    n = shape[axis]
    bshape = [1] * len(shape)
    bshape[axis] = n
    a = rng.normal(size=shape) * rng.uniform(0.5, 3.0, size=bshape) + rng.uniform(-3, 3, size=bshape)
    gamma = rng.normal(size=n) + np.where(rng.random(n) < 0.5, -1.0, 1.0)
    beta = rng.normal(size=n)
    dout = rng.normal(size=shape)
    return a.astype(dtype), gamma, beta, dout.astype(dtype), eps


def scales(cache, dout):
    """The size of the terms da and (dgamma, dbeta) are sums of: the yardstick for their rounding error."""
    d = np.abs(np.asarray(dout, dtype=np.float64))
    M = cache.a.size // cache.a.shape[cache.axis]
    s = np.sqrt(cache.var.astype(np.float64) + cache.eps)
    da_scale = float(np.max(np.abs(cache.gamma) / s) * d.max())
    param_scale = float(M * d.max() * max(1.0, np.abs(cache.a_std).max()))
    return da_scale, param_scale


def assert_close_to(ours, ref, cache, dout, tol):
    da_scale, param_scale = scales(cache, dout)
    for got, want, scale, name in zip(ours, ref, (da_scale, param_scale, param_scale), ("da", "dgamma", "dbeta"),
                                      strict=True):
        assert got.shape == np.shape(want), name
        err = float(np.max(np.abs(got.astype(np.float64) - np.asarray(want, dtype=np.float64))))
        assert err <= tol * scale, f"{name}: max error {err:.3g} > {tol:g} * {scale:.3g}"


@pytest.mark.keras
@pytest.mark.parametrize("backward", BACKWARDS)
def test_seed_example_matches_finite_differences_and_keras(backward):
    gamma, beta, eps = np.array([2.0]), np.array([0.5]), 1e-3
    dout = np.array([[1.0], [-1.0], [0.0], [2.0]])
    _, cache = batchnorm_forward(SEED, gamma, beta, eps=eps)
    da, dgamma, dbeta = backward(dout, cache)
    num = numeric_gradient(lambda x: batchnorm_forward(x, gamma, beta, eps=eps)[0], SEED, dout)
    assert rel_error(da, num) < 1e-8
    k_da, k_dgamma, k_dbeta = keras_batchnorm_gradients(SEED, dout, gamma, beta, eps=eps)
    assert_close_to((da, dgamma, dbeta), (k_da, k_dgamma, k_dbeta), cache, dout, 1e-12)


def test_seed_example_by_hand_with_eps_zero():
    # a_std = [0, -r, 0, r], r = sqrt(2). For dout = e_1 (only the first example's output matters):
    # da = gamma/(4 s) (4 e_1 - 1 - a_std * a_std[0]) = gamma/(4 sqrt 2) * [3, -1, -1, -1]
    gamma = 2.0
    _, cache = batchnorm_forward(SEED, [gamma], [0.0], eps=0.0)
    for backward in BACKWARDS:
        da, dgamma, dbeta = backward(np.array([[1.0], [0.0], [0.0], [0.0]]), cache)
        np.testing.assert_allclose(da.ravel(), gamma / (4 * np.sqrt(2)) * np.array([3, -1, -1, -1]), rtol=1e-14)
        assert dgamma == pytest.approx([0.0], abs=1e-15) and dbeta == pytest.approx([1.0])


@pytest.mark.parametrize("backward", BACKWARDS)
@pytest.mark.parametrize("shape,axis", [((6, 3), -1), ((6, 3), 1), ((2, 3, 3, 4), -1), ((2, 4, 3, 3), 1),
                                        ((3, 2, 4, 2), 2)])
def test_gamma_and_beta_gradients_match_finite_differences(backward, shape, axis):
    a, gamma, beta, dout, eps = make_case(shape, axis, np.float64, seed=7)
    _, cache = batchnorm_forward(a, gamma, beta, eps=eps, axis=axis)
    da, dgamma, dbeta = backward(dout, cache)

    def F(x=a, g=gamma, b=beta):
        return batchnorm_forward(x, g, b, eps, axis)[0]

    assert rel_error(da, numeric_gradient(lambda x: F(x=x), a, dout)) < 1e-6
    assert rel_error(dgamma, numeric_gradient(lambda g: F(g=g), gamma, dout)) < 1e-6
    assert rel_error(dbeta, numeric_gradient(lambda b: F(b=b), beta, dout)) < 1e-6


def test_dtype_follows_the_input_and_integer_dout_is_accepted():
    a32 = SEED.astype(np.float32)
    _, cache = batchnorm_forward(a32, [1.0], [0.0])
    for backward in BACKWARDS:
        assert all(g.dtype == np.float32 for g in backward(np.ones((4, 1)), cache))
        assert backward(np.array([[1], [0], [0], [0]]), cache)[0].shape == (4, 1)


def test_tiny_batch_of_two_has_a_zero_gradient_without_eps():
    # m = 2: a_std = [-1, 1] whatever a is, so the output does not depend on a at all.
    a = np.array([[1.0, -3.0], [4.0, 5.0]])
    _, cache = batchnorm_forward(a, [1.5, -2.0], [0.0, 1.0], eps=0.0)
    for backward in BACKWARDS:
        np.testing.assert_allclose(backward(np.array([[0.3, 1.0], [-2.0, 0.7]]), cache)[0], 0.0, atol=1e-15)


@pytest.mark.keras
def test_scale_invariance_with_keras_model():
    # With eps = 0, BN(u @ (cW)) = BN(u @ W), so dL/d(cW) = dL/dW / c (Ioffe and Szegedy 2015, section 3.3).
    rng = np.random.default_rng(3)
    u, W, dout = rng.normal(size=(8, 3)), rng.normal(size=(3, 2)), rng.normal(size=(8, 2))
    g1 = keras_dense_bn_kernel_gradient(u, W, dout, eps=0.0)
    for c in (0.1, 10.0):
        assert rel_error(keras_dense_bn_kernel_gradient(u, c * W, dout, eps=0.0), g1 / c) < 1e-10
    # And Keras's dL/dW is bnlib's da pulled back through a = u @ W.
    _, cache = batchnorm_forward(u @ W, np.ones(2), np.zeros(2), eps=1e-3)
    assert rel_error(u.T @ batchnorm_backward(dout, cache)[0], keras_dense_bn_kernel_gradient(u, W, dout)) < 1e-10


def test_backward_does_not_mutate_dout_or_cache():
    a, gamma, beta, dout, eps = make_case((5, 3), -1, np.float64, seed=2)
    _, cache = batchnorm_forward(a, gamma, beta, eps=eps)
    before = (dout.copy(), cache.a.copy(), cache.a_std.copy(), cache.gamma.copy(), cache.mu.copy(), cache.var.copy())
    for backward in BACKWARDS:
        backward(dout, cache)
    for x, y in zip(before, (dout, cache.a, cache.a_std, cache.gamma, cache.mu, cache.var), strict=True):
        np.testing.assert_array_equal(x, y)


@pytest.fixture
def cache():
    return batchnorm_forward(SEED, [1.0], [0.0])[1]


@pytest.mark.parametrize("backward", BACKWARDS)
def test_dout_with_wrong_shape(backward, cache):
    with pytest.raises(ValueError, match=r"dout has shape \(4, 2\).*shape \(4, 1\)"):
        backward(np.ones((4, 2)), cache)


@pytest.mark.parametrize("backward", BACKWARDS)
def test_dout_one_dimensional(backward, cache):
    with pytest.raises(ValueError, match="reshape"):
        backward(np.ones(4), cache)


@pytest.mark.parametrize("backward", BACKWARDS)
def test_dout_not_finite(backward, cache):
    with pytest.raises(ValueError, match="dout contains 1 non-finite"):
        backward(np.array([[1.0], [np.nan], [0.0], [0.0]]), cache)


@pytest.mark.parametrize("backward", BACKWARDS)
def test_dout_not_numeric(backward, cache):
    with pytest.raises(TypeError, match="dout must be a numeric array"):
        backward(np.array([["x"], ["y"], ["z"], ["w"]]), cache)


@pytest.mark.parametrize("backward", BACKWARDS)
def test_cache_not_a_bncache(backward):
    with pytest.raises(TypeError, match="cache must be the BNCache returned by batchnorm_forward"):
        backward(np.ones((4, 1)), {"a": SEED})


@st.composite
def grad_case(draw):
    if draw(st.booleans()):
        shape = (draw(st.integers(2, 7)), draw(st.integers(1, 4)))
        axis = draw(st.sampled_from([-1, 1]))
    else:
        shape = (draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(2, 3)), draw(st.integers(1, 3)))
        axis = draw(st.sampled_from([-1, 1, 2, 3, -3]))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    assume(np.prod(shape) // shape[axis] >= 2)  # training-mode BN needs two values per feature
    eps = draw(st.sampled_from([1e-5, 1e-3, 0.1]))
    case = make_case(shape, axis, dtype, draw(st.integers(0, 2**31 - 1)), eps)
    _, cache = batchnorm_forward(*case[:3], eps=eps, axis=axis)
    assume(cache.var.min() > 0.05)
    return case, axis, cache


@pytest.mark.keras
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grad_case())
def test_both_versions_match_tensorflow_autodiff(case):
    (a, gamma, beta, dout, eps), axis, cache = case
    ref = keras_batchnorm_gradients(a, dout, gamma, beta, eps=eps, axis=axis)
    for backward in BACKWARDS:
        ours = backward(dout, cache)
        assert all(g.dtype == a.dtype for g in ours)
        assert_close_to(ours, ref, cache, dout, TOL[a.dtype])


@settings(max_examples=25, deadline=None)
@given(grad_case())
def test_both_versions_match_finite_differences_and_each_other(case):
    (a, gamma, beta, dout, eps), axis, _ = case
    a, dout = a.astype(np.float64), dout.astype(np.float64)
    _, cache = batchnorm_forward(a, gamma, beta, eps=eps, axis=axis)
    num = numeric_gradient(lambda x: batchnorm_forward(x, gamma, beta, eps=eps, axis=axis)[0], a, dout)
    graph, compact = batchnorm_backward(dout, cache), batchnorm_backward_compact(dout, cache)
    # Measured against the size of da's terms, not of da itself: with M = 2 and eps -> 0 the true da is
    # nearly 0 by cancellation, and a relative error would then only measure the differencing noise.
    da_scale, _ = scales(cache, dout)
    assert np.max(np.abs(graph[0] - num)) < 1e-7 * da_scale and np.max(np.abs(compact[0] - num)) < 1e-7 * da_scale
    assert_close_to(compact, graph, cache, dout, 1e-12)


@settings(max_examples=30, deadline=None)
@given(grad_case())
def test_gradient_sums_to_zero_and_is_orthogonal_to_a_std(case):
    # Hand derivation: sum_i da_i = 0 exactly, and sum_i da_i a_std_i = gamma eps / s^3 * dgamma,
    # which vanishes as eps -> 0 (with eps = 0, da is orthogonal to a_std).
    (a, gamma, beta, dout, eps), axis, cache = case
    a, dout = a.astype(np.float64), dout.astype(np.float64)
    _, cache = batchnorm_forward(a, gamma, beta, eps=eps, axis=axis)
    axes = cache.reduce_axes
    s = np.sqrt(cache.var + eps)
    M = a.size // a.shape[axis]
    da_scale, _ = scales(cache, dout)
    for backward in BACKWARDS:
        da, dgamma, _ = backward(dout, cache)
        np.testing.assert_allclose(da.sum(axis=axes), 0.0, atol=1e-12 * M * da_scale)
        np.testing.assert_allclose((da * cache.a_std).sum(axis=axes), gamma * eps / s**3 * dgamma,
                                   atol=1e-12 * M * da_scale)
    _, cache0 = batchnorm_forward(a, gamma, beta, eps=0.0, axis=axis)
    da0 = batchnorm_backward(dout, cache0)[0]
    np.testing.assert_allclose((da0 * cache0.a_std).sum(axis=axes), 0.0, atol=1e-12 * M * da_scale)


# --------------------------------------------------------------------------- masks


def _masked_case(seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(1.0, 2.0, size=(3, 5, 2))
    mask = np.arange(5) < np.array([5, 2, 3])[:, None]
    return a, mask, rng.normal(size=a.shape), rng.normal(size=2), rng.normal(size=2)


def test_masked_backward_matches_finite_differences():

    a, mask, dout, gamma, beta = _masked_case(0)
    _, cache = batchnorm_forward(a, gamma, beta, mask=mask)
    da, dgamma, dbeta = batchnorm_backward_compact(dout, cache)
    assert rel_error(da, numeric_gradient(lambda x: batchnorm_forward(x, gamma, beta, mask=mask)[0], a, dout)) < 1e-7
    num_dgamma = numeric_gradient(lambda g: batchnorm_forward(a, g, beta, mask=mask)[0], gamma, dout)
    assert rel_error(dgamma, num_dgamma) < 1e-7
    np.testing.assert_allclose(dbeta, dout.sum(axis=(0, 1)), rtol=1e-12)
    # padding still receives gradient (its output is normalized), but moves no statistic
    assert np.abs(da[~mask]).max() > 0


@pytest.mark.keras
def test_masked_backward_matches_keras_autodiff():

    a, mask, dout, gamma, beta = _masked_case(1)
    _, cache = batchnorm_forward(a, gamma, beta, mask=mask)
    ours = batchnorm_backward_compact(dout, cache)
    theirs = keras_batchnorm_gradients(a, dout, gamma=gamma, beta=beta, mask=mask)
    for x, y in zip(ours, theirs, strict=True):
        # Keras divides by count + 1e-7
        np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-6)
