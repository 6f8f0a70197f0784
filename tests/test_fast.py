"""bnlib.fast against the taught functions, Keras and a float64 reference; its errors and its ``out=`` buffers.

Tolerances: an error is measured against the size of the terms the result is built from
(|beta| + |gamma| max(1, |a_std|) for the output, |gamma| |dout| / s for da, M |dout| max(1, |a_std|) for
dgamma and dbeta, max(1, |mu|) for the mean, var + |mu| * sigma for the variance), and must stay below 1e-12
of it in float64 and 1e-5 in float32 (the worst seen over 400 random cases: 1.2e-14 and 2e-6).
No timings here: speed is benchmarks/run.py's business.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bnlib import (
    BNCache,
    FastBNCache,
    batchnorm_backward,
    batchnorm_backward_fast,
    batchnorm_forward,
    batchnorm_forward_fast,
)
from bnlib.keras_ref import keras_batchnorm, keras_batchnorm_gradients

TOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}


A = np.array([[1.0, 2.0], [3.0, 5.0], [4.0, 9.0]])


G, B = np.ones(2), np.zeros(2)


def make_case(shape, axis, dtype, seed):
    """Random a (each feature with its own spread and offset), gamma (a zero among them), beta and dout."""
    rng = np.random.default_rng(seed)
    n = shape[axis]
    bshape = [1] * len(shape)
    bshape[axis] = n
    a = rng.normal(size=shape) * rng.uniform(0.1, 5.0, size=bshape) + rng.uniform(-10, 10, size=bshape)
    gamma = rng.normal(size=n) * 2
    gamma[rng.integers(n)] = 0.0
    beta, dout = rng.normal(size=n), rng.normal(size=shape)
    return a.astype(dtype), gamma, beta, dout.astype(dtype)


def max_err(got, want):
    return float(np.max(np.abs(np.asarray(got, np.float64) - np.asarray(want, np.float64))))


shapes = st.one_of(
    st.tuples(st.integers(2, 40), st.integers(1, 12)).map(lambda s: (s, -1)),
    st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5), st.integers(1, 6)).flatmap(
        lambda s: st.sampled_from([1, 2, 3, -1]).map(lambda ax: (s, ax))
    ),
).filter(lambda c: np.prod(c[0]) // c[0][c[1]] >= 2)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=shapes, dtype=st.sampled_from([np.float32, np.float64]), eps=st.sampled_from([1e-3, 1e-5, 0.1]),
       seed=st.integers(0, 2**32 - 1))
def test_fast_matches_taught(case, dtype, eps, seed):
    shape, axis = case
    a, gamma, beta, dout = make_case(shape, axis, dtype, seed)
    out, cache = batchnorm_forward(a, gamma, beta, eps=eps, axis=axis)
    fout, fcache = batchnorm_forward_fast(a, gamma, beta, eps=eps, axis=axis)
    tol = TOL[np.dtype(dtype)]
    assert fout.dtype == out.dtype and fout.shape == out.shape
    a_std = float(max(1.0, np.abs(cache.a_std).max()))
    assert max_err(fout, out) <= tol * (np.abs(beta).max() + np.abs(gamma).max() * a_std)
    assert max_err(fcache.mu, cache.mu) <= tol * max(1.0, np.abs(cache.mu).max())
    spread = cache.var + np.abs(cache.mu) * np.sqrt(cache.var)
    assert np.all(np.abs(fcache.var - cache.var) <= tol * spread)

    da, dgamma, dbeta = batchnorm_backward(dout, cache)
    fda, fdgamma, fdbeta = batchnorm_backward_fast(dout, fcache)
    M = a.size // a.shape[axis]
    da_scale = float(np.max(np.abs(cache.gamma) / np.sqrt(cache.var + eps)) * np.abs(dout).max())
    param_scale = float(M * np.abs(dout).max() * a_std)
    assert fda.shape == da.shape and fdgamma.shape == dgamma.shape == fdbeta.shape
    assert max_err(fda, da) <= tol * da_scale
    assert max_err(fdgamma, dgamma) <= tol * param_scale
    assert max_err(fdbeta, dbeta) <= tol * param_scale


@pytest.mark.keras
def test_fast_matches_keras_on_images_channels_first():
    # axis=1 takes the (pre, n, post) path; Keras is an independent reference (tolerance 1e-5 in float32)
    a, gamma, beta, dout = make_case((3, 4, 5, 6), 1, np.float32, 0)
    out, cache = batchnorm_forward_fast(a, gamma, beta, axis=1)
    ref = keras_batchnorm(a, gamma, beta, axis=1)
    np.testing.assert_allclose(out, ref.out, atol=1e-5 * np.abs(gamma).max())
    grads = batchnorm_backward_fast(dout, cache)
    for got, want in zip(grads, keras_batchnorm_gradients(a, dout, gamma, beta, axis=1), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5 * np.abs(want).max())


def test_variance_stays_accurate_for_a_large_mean_in_float32():
    # 1e4 + N(0, 1) in float32: the values keep about 3 decimals of their spread, and E[a^2] - E[a]^2
    # (each term ~1e8, float32 spacing there is 8) loses all of it. Reference: float64 of the same values.
    rng = np.random.default_rng(0)
    a = (1e4 + rng.standard_normal((4096, 8))).astype(np.float32)
    exact = a.astype(np.float64)
    mu, var = exact.mean(axis=0), exact.var(axis=0)
    naive = (a * a).mean(axis=0) - a.mean(axis=0) ** 2
    assert np.max(np.abs(naive - var) / var) > 0.1  # the formula the fast path must not use is far off
    out, cache = batchnorm_forward_fast(a, np.ones(8), np.zeros(8), eps=0.0)
    # A plain two-pass variance is off by the square of the float32 mean's rounding error (about 2e-4
    # here), and every output by that error (about 1.5e-2); the corrected two-pass formula removes both.
    assert np.max(np.abs(cache.var - var) / var) < 1e-4
    assert np.max(np.abs(cache.mu - mu)) < 1e-3  # float32 spacing at 1e4 is 1e-3
    assert max_err(out, (exact - mu) / np.sqrt(var)) < 1e-4


def with_values(shape, **where):
    """A random normal array with some entries replaced, e.g. with_values((5, 3), nan=(0, 0))."""
    a = np.random.default_rng(0).normal(size=shape)
    for value, index in where.items():
        a[index] = {"nan": np.nan, "inf": np.inf, "minus_inf": -np.inf}[value]
    return a


BAD_FORWARD = {
    "one-dimensional": (np.array([2.0, 0.0, 2.0, 4.0]), [1.0], [0.0], {}),
    "gamma shape": (A, np.ones(3), B, {}),
    "beta shape": (A, G, np.zeros(1), {}),
    "scalar gamma": (A, 1.0, B, {}),
    "gamma NaN": (A, [1.0, np.nan], B, {}),
    "empty batch": (np.zeros((0, 2)), G, B, {}),
    "batch of one": (A[:1], G, B, {}),
    "one value per channel": (np.ones((1, 1, 1, 2)), G, B, {}),
    "NaN first": (with_values((5, 3), nan=(0, 0)), np.ones(3), np.zeros(3), {}),
    "NaN last": (with_values((5, 3), nan=(4, 2)), np.ones(3), np.zeros(3), {}),
    "inf": (with_values((5, 3), inf=(2, 1)), np.ones(3), np.zeros(3), {}),
    "inf and -inf in one feature": (with_values((5, 3), inf=(1, 1), minus_inf=(3, 1)), np.ones(3), np.zeros(3), {}),
    "NaN in an image": (with_values((2, 3, 4, 5), nan=(1, 2, 3, 4)), np.ones(5), np.zeros(5), {}),
    "NaN channels-first": (with_values((2, 3, 4, 5), nan=(1, 2, 3, 4)), np.ones(3), np.zeros(3), {"axis": 1}),
    "negative eps": (A, G, B, {"eps": -1e-3}),
    "NaN eps": (A, G, B, {"eps": np.nan}),
    "string eps": (A, G, B, {"eps": "0.001"}),
    "zero eps, constant feature": (np.array([[1.0, 2.0], [1.0, 3.0]]), G, B, {"eps": 0.0}),
    "axis 0": (A, np.ones(3), np.zeros(3), {"axis": 0}),
    "axis out of range": (A, G, B, {"axis": 2}),
    "axis not an int": (A, G, B, {"axis": 1.0}),
    "strings": (np.array([["a", "b"], ["c", "d"]]), G, B, {}),
    "complex": (A + 1j, G, B, {}),
}


def raised(fn, *args, **kwargs):
    with pytest.raises((TypeError, ValueError)) as info:
        fn(*args, **kwargs)
    return type(info.value), str(info.value)


@pytest.mark.parametrize("name", list(BAD_FORWARD))
def test_forward_refuses_what_the_taught_forward_refuses_with_the_same_message(name):
    a, gamma, beta, kwargs = BAD_FORWARD[name]
    assert raised(batchnorm_forward_fast, a, gamma, beta, **kwargs) == raised(
        batchnorm_forward, a, gamma, beta, **kwargs)


@pytest.mark.parametrize("dout", [np.ones((3, 3)), with_values((3, 2), nan=(2, 1)),
                                  with_values((3, 2), minus_inf=(0, 0))], ids=["shape", "NaN", "-inf"])
def test_backward_refuses_what_the_taught_backward_refuses_with_the_same_message(dout):
    _, cache = batchnorm_forward(A, G, B)
    _, fcache = batchnorm_forward_fast(A, G, B)
    assert raised(batchnorm_backward_fast, dout, fcache) == raised(batchnorm_backward, dout, cache)


def test_backward_wants_the_fast_cache():
    _, cache = batchnorm_forward(A, G, B)
    assert isinstance(cache, BNCache)
    with pytest.raises(TypeError, match=r"FastBNCache returned by batchnorm_forward_fast.*got BNCache"):
        batchnorm_backward_fast(np.ones_like(A), cache)


def test_overflowing_sums_are_reported_as_such():
    a = np.full((4, 2), 3e38, np.float32)  # finite, but the sum of four of them is not
    with pytest.raises(ValueError, match=r"a is finite but its per-feature sums overflow float32.*float64"):
        batchnorm_forward_fast(a, G, B)
    a = np.array([[1e20], [-1e20]], np.float32)  # the mean is fine, the squares overflow
    with pytest.raises(ValueError, match=r"a is finite but its per-feature sums overflow float32"):
        batchnorm_forward_fast(a, [1.0], [0.0])


def test_out_is_filled_and_reused():
    rng = np.random.default_rng(1)
    a1, a2 = rng.normal(size=(2, 6, 3)).astype(np.float32)
    gamma, beta = rng.normal(size=3), rng.normal(size=3)
    buf, dbuf = np.empty_like(a1), np.empty_like(a1)
    for a in (a1, a2):  # the second call overwrites the first's result
        out, cache = batchnorm_forward_fast(a, gamma, beta, out=buf)
        assert out is buf
        np.testing.assert_array_equal(out, batchnorm_forward_fast(a, gamma, beta)[0])
        dout = rng.normal(size=a.shape)
        da, dgamma, dbeta = batchnorm_backward_fast(dout, cache, out=dbuf)
        assert da is dbuf
        for got, want in zip((da, dgamma, dbeta), batchnorm_backward_fast(dout, cache), strict=True):
            np.testing.assert_array_equal(got, want)


def test_out_of_the_right_kind_for_an_image_and_an_integer_input():
    images = np.arange(48).reshape(2, 2, 3, 4)  # integers: the result is float64, as for batchnorm_forward
    buf = np.empty(images.shape)
    out, _ = batchnorm_forward_fast(images, np.ones(2), np.zeros(2), axis=1, out=buf)
    np.testing.assert_allclose(out, batchnorm_forward(images, np.ones(2), np.zeros(2), axis=1)[0], atol=1e-12)


@pytest.mark.parametrize("out, error, message", [
    ([[0.0, 0.0]] * 3, TypeError, r"out must be a numpy array.*got list"),
    (np.empty((3, 3)), ValueError, r"out has shape \(3, 3\) and dtype float64; it must have shape \(3, 2\)"),
    (np.empty((3, 2), np.float32), ValueError, r"dtype float32; it must have shape \(3, 2\) and dtype float64"),
    (np.empty((2, 3)).T, ValueError, r"writeable C-contiguous"),
    (np.zeros((3, 2)).view(), ValueError, None),  # made read-only below
    (A, ValueError, r"must not overlap the inputs"),
])
def test_out_is_validated(out, error, message):
    a = A.copy()
    if out is A:
        out = a
    elif message is None:
        out.flags.writeable = False
        message = r"writeable C-contiguous"
    with pytest.raises(error, match=message):
        batchnorm_forward_fast(a, G, B, out=out)
    np.testing.assert_array_equal(a, A)  # nothing was written over the input


def test_backward_out_may_not_overlap_dout():
    _, cache = batchnorm_forward_fast(A, G, B)
    dout = np.ones_like(A)
    with pytest.raises(ValueError, match="must not overlap the inputs"):
        batchnorm_backward_fast(dout, cache, out=dout)


def test_cache_is_a_fast_cache_without_a_std():
    _, cache = batchnorm_forward_fast(A, G, B)
    assert isinstance(cache, FastBNCache) and not hasattr(cache, "a_std")
