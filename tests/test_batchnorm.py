"""bnlib.batchnorm against the notes' hand derivation and Keras, including property tests."""

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bnlib import batchnorm_forward, batchnorm_inference
from bnlib.keras_ref import keras_batchnorm

SEED = np.array([[2.0], [0.0], [2.0], [4.0]])


def test_seed_example_by_hand():
    # mu = 2, var = 2: a_std = (a - 2)/sqrt(2 + eps); with eps = 0 that is 0, -sqrt(2), 0, sqrt(2)
    out, cache = batchnorm_forward(SEED, gamma=[1.0], beta=[0.0], eps=0.0)
    np.testing.assert_allclose(out.ravel(), [0, -np.sqrt(2), 0, np.sqrt(2)], atol=1e-15)
    assert cache.mu == pytest.approx([2.0]) and cache.var == pytest.approx([2.0])
    gamma, beta, eps = 3.0, -1.0, 1e-3
    out, _ = batchnorm_forward(SEED, [gamma], [beta], eps=eps)
    r = np.sqrt(2.0) * np.sqrt(2.0 / (2.0 + eps))  # sqrt(2) shrunk by eps
    np.testing.assert_allclose(out.ravel(), [beta, beta - r * gamma, beta, beta + r * gamma], rtol=1e-14)


@pytest.mark.keras
def test_seed_example_matches_keras_value_from_field_notes():
    out, _ = batchnorm_forward(SEED.astype(np.float32), [1.0], [0.0])
    keras = keras_batchnorm(SEED.astype(np.float32))
    np.testing.assert_allclose(out, keras.out, atol=1e-6)
    assert keras.out[3, 0] == pytest.approx(1.4138602, abs=1e-6)  # independently recorded in field notes
    assert keras.moving_mean == pytest.approx([0.02]) and keras.moving_variance == pytest.approx([1.01])


def test_output_mean_is_beta_and_spread_is_abs_gamma_shrunk_by_eps():
    rng = np.random.default_rng(0)
    a = rng.normal(3.0, 2.0, size=(64, 3))
    gamma, beta, eps = np.array([-4.0, 0.5, 2.0]), np.array([1.0, -2.0, 0.0]), 1e-3
    out, cache = batchnorm_forward(a, gamma, beta, eps=eps)
    np.testing.assert_allclose(out.mean(axis=0), beta, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), np.abs(gamma) * np.sqrt(cache.var / (cache.var + eps)), rtol=1e-12)


def test_layer_can_undo_itself():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(10, 4)) * [1, 10, 100, 0.1] + [0, -5, 50, 3]
    eps = 1e-3
    mu, var = a.mean(axis=0), a.var(axis=0)
    out, _ = batchnorm_forward(a, np.sqrt(var + eps), mu, eps=eps)
    np.testing.assert_allclose(out, a, rtol=1e-12, atol=1e-12)


def test_inference_uses_given_statistics_and_is_per_example():
    a = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 7.0]])
    mean, var = np.array([1.0, 2.0]), np.array([4.0, 9.0])
    gamma, beta, eps = np.array([2.0, 1.0]), np.array([0.5, 0.0]), 0.0
    out = batchnorm_inference(a, mean, var, gamma, beta, eps=eps)
    np.testing.assert_allclose(out, beta + gamma * (a - mean) / np.sqrt(var))
    np.testing.assert_allclose(batchnorm_inference(a[1:2], mean, var, gamma, beta, eps=eps), out[1:2])


def test_float16_is_computed_in_float32_returned_in_float16_and_float64_is_kept():
    a16 = np.array([[1.0], [2.0], [4.0]], dtype=np.float16)
    out, cache = batchnorm_forward(a16, [1.0], [0.0])
    assert out.dtype == np.float16 and cache.var.dtype == np.float32
    assert batchnorm_inference(a16, [0.0], [1.0], [1.0], [0.0]).dtype == np.float16
    assert batchnorm_forward(a16.astype(np.float64), [1.0], [0.0])[0].dtype == np.float64
    assert batchnorm_forward(np.array([[1], [2]]), [1.0], [0.0])[0].dtype == np.float64


@st.composite
def bn_case(draw):
    ndim = draw(st.sampled_from([2, 4]))
    if ndim == 2:
        shape = (draw(st.integers(2, 9)), draw(st.integers(1, 5)))
        axis = -1
    else:
        shape = (draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(2, 3)), draw(st.integers(1, 3)))
        axis = draw(st.sampled_from([-1, 1, 2, 3]))
    dtype = draw(st.sampled_from([np.float16, np.float32, np.float64]))
    scale = 10.0 ** draw(st.integers(-3, 4))
    seed = draw(st.integers(0, 2**31 - 1))
    eps = 10.0 ** draw(st.floats(-5.0, 0.0))  # eps anywhere in [1e-5, 1], log-uniformly
    rng = np.random.default_rng(seed)
    a = (rng.normal(size=shape) * scale + rng.normal() * scale).astype(dtype)
    n = shape[axis]
    gamma, beta = rng.normal(size=n), rng.normal(size=n)
    return a, gamma, beta, eps, axis


def _tolerance(a):
    # float32 rounding of the input, of the mean subtraction and of 1/sqrt(var + eps): relative error ~1e-6
    # of the standardized value, larger when eps dominates a tiny variance.
    if a.dtype == np.float64:
        return 1e-9
    # float16 output (Keras's mixed_float16 layer too): both round the float32 result to float16,
    # one float16 step (2^-10 relative) apart at most
    return 2e-3 if a.dtype == np.float16 else 2e-4


@pytest.mark.keras
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bn_case())
def test_forward_matches_keras_training(case):
    a, gamma, beta, eps, axis = case
    count = a.size // a.shape[axis]
    if count < 2:
        with pytest.raises(ValueError, match="at least 2 values per feature"):
            batchnorm_forward(a, gamma, beta, eps=eps, axis=axis)
        return
    ours, cache = batchnorm_forward(a, gamma, beta, eps=eps, axis=axis)
    ref = keras_batchnorm(a, gamma=gamma, beta=beta, eps=eps, axis=axis, training=True)
    tol = _tolerance(a)
    np.testing.assert_allclose(ours, ref.out, atol=tol * (1 + np.max(np.abs(gamma)) * 10), rtol=tol)
    # Keras updates the moving statistics with the same biased batch statistics
    mean_tol = tol * np.abs(cache.mu).max()
    np.testing.assert_allclose(ref.moving_mean, 0.99 * 0 + 0.01 * cache.mu, rtol=tol * 10, atol=mean_tol)
    np.testing.assert_allclose(ref.moving_variance, 0.99 * 1 + 0.01 * cache.var, rtol=tol * 10)


@pytest.mark.keras
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bn_case())
def test_inference_matches_keras(case):
    a, gamma, beta, eps, axis = case
    rng = np.random.default_rng(7)
    n = a.shape[axis]
    scale = float(np.abs(a.astype(np.float64)).max()) + 1.0
    mean = rng.normal(size=n) * scale
    var = rng.uniform(0.1, 2.0, size=n) * scale**2
    ours = batchnorm_inference(a, mean, var, gamma, beta, eps=eps, axis=axis)
    ref = keras_batchnorm(a, gamma=gamma, beta=beta, moving_mean=mean, moving_var=var, eps=eps, axis=axis,
                          training=False)
    tol = {np.dtype(np.float64): 1e-9, np.dtype(np.float32): 1e-4}.get(a.dtype, 2e-3)
    np.testing.assert_allclose(ours, ref.out, rtol=tol, atol=tol * (1 + np.abs(gamma).max() + np.abs(beta).max()))


# --------------------------------------------------------------------------- masks (padded sequences)

# Two sequences, lengths 5 and 2, zero-padded to T = 5, one channel: shape (2, 5, 1).
PADDED = np.array([[1.0, 2.0, 3.0, 4.0, 5.0], [2.0, 4.0, 0.0, 0.0, 0.0]])[..., None]
LENGTHS = np.array([5, 2])
PAD_MASK = np.arange(5) < LENGTHS[:, None]


def test_mask_excludes_padding_from_the_statistics_by_hand():
    # Real values 1..5 and 2, 4: mean 21/7 = 3, variance (4+1+0+1+4+1+1)/7 = 12/7.
    # Counting the three zeros: mean 21/10 = 2.1, variance 75/10 - 2.1^2 = 3.09.
    _, plain = batchnorm_forward(PADDED, [1.0], [0.0])
    _, masked = batchnorm_forward(PADDED, [1.0], [0.0], mask=PAD_MASK)
    assert plain.mu == pytest.approx([2.1]) and plain.var == pytest.approx([3.09])
    assert masked.mu == pytest.approx([3.0]) and masked.var == pytest.approx([12 / 7])


def test_masked_statistics_equal_those_of_the_real_steps_alone():
    rng = np.random.default_rng(3)
    a = rng.normal(1.0, 2.0, size=(4, 6, 3))
    mask = np.arange(6) < np.array([6, 1, 3, 4])[:, None]
    gamma, beta = np.array([1.0, 2.0, -1.0]), np.array([0.0, 1.0, 0.5])
    out, cache = batchnorm_forward(a, gamma, beta, mask=mask)
    real = a[mask]  # (sum of lengths, c)
    np.testing.assert_allclose(cache.mu, real.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(cache.var, real.var(axis=0), rtol=1e-12)
    # every step, padding too, is normalized with those statistics (as Keras does)
    np.testing.assert_allclose(out, beta + gamma * (a - real.mean(0)) / np.sqrt(real.var(0) + 1e-3), rtol=1e-12)


def test_all_true_mask_is_no_mask():
    a = np.random.default_rng(4).normal(size=(3, 4, 2))
    out, _ = batchnorm_forward(a, [1.0, 1.0], [0.0, 0.0])
    masked, _ = batchnorm_forward(a, [1.0, 1.0], [0.0, 0.0], mask=np.ones((3, 4), dtype=bool))
    np.testing.assert_allclose(masked, out, rtol=1e-12)


@pytest.mark.keras
def test_mask_matches_keras_outputs_and_moving_statistics():
    for dtype, tol in ((np.float64, 1e-6), (np.float32, 1e-5)):
        a = PADDED.astype(dtype)
        out, cache = batchnorm_forward(a, [1.0], [0.0], mask=PAD_MASK)
        keras = keras_batchnorm(a, mask=PAD_MASK)
        # Keras divides by count + 1e-7: a relative difference of about 1e-7 / 7 here.
        np.testing.assert_allclose(out, keras.out, rtol=tol, atol=tol)
        np.testing.assert_allclose(0.01 * cache.mu, keras.moving_mean, rtol=tol)
        np.testing.assert_allclose(0.99 + 0.01 * cache.var, keras.moving_variance, rtol=tol)
    assert keras.moving_mean == pytest.approx([0.03], rel=1e-5)  # 0.01 * 3.0, not 0.01 * 2.1


@pytest.mark.keras
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lengths=st.lists(st.integers(0, 5), min_size=2, max_size=4).filter(lambda ls: sum(ls) >= 2),
    c=st.integers(1, 3),
    seed=st.integers(0, 2**16),
)
@example(lengths=[1, 1], c=3, seed=8211)
def test_mask_property_matches_keras(lengths, c, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(2.0, 3.0, size=(len(lengths), 5, c))
    mask = np.arange(5) < np.array(lengths)[:, None]
    gamma, beta = rng.normal(size=c), rng.normal(size=c)
    out, cache = batchnorm_forward(a, gamma, beta, mask=mask)
    keras = keras_batchnorm(a, gamma=gamma, beta=beta, mask=mask)
    # Keras divides the masked sums by count + 1e-7, bnlib by the count: the means differ by up to
    # |mu| * 1e-7 / count, which the normalization magnifies by |gamma| / sqrt(var + eps), a lot for a
    # feature whose valid values nearly agree (lengths [1, 1], seed 8211: 2.4e-6, all of it that 1e-7).
    rel = 1e-7 / mask.sum()
    std = np.sqrt(cache.var + 1e-3)
    d_mu, d_var = np.abs(cache.mu) * rel, 2 * (cache.var + cache.mu**2) * rel
    d_out = np.abs(gamma) * (d_mu / std + np.abs(a - cache.mu).max(axis=(0, 1)) * d_var / (2 * std**3))
    assert np.all(np.abs(out - keras.out) <= 1e-6 + 2 * d_out + 1e-6 * np.abs(keras.out))
    np.testing.assert_allclose(0.99 * 1 + 0.01 * cache.var, keras.moving_variance, rtol=1e-6)


def test_mask_of_integers_is_refused_with_a_working_fix():
    int_mask = PAD_MASK.astype(int)
    with pytest.raises(TypeError, match=r"mask must be a boolean array.*np.asarray\(mask, dtype=bool\)"):
        batchnorm_forward(PADDED, [1.0], [0.0], mask=int_mask)
    _, cache = batchnorm_forward(PADDED, [1.0], [0.0], mask=np.asarray(int_mask, dtype=bool))
    assert cache.mu == pytest.approx([3.0])


def test_mask_of_lengths_is_refused_with_a_working_fix():
    with pytest.raises(TypeError, match=r"np.arange\(T\) < lengths\[:, None\]"):
        batchnorm_forward(PADDED, [1.0], [0.0], mask=np.array([5.0, 2.0]))
    T = PADDED.shape[1]
    _, cache = batchnorm_forward(PADDED, [1.0], [0.0], mask=np.arange(T) < LENGTHS[:, None])
    assert cache.mu == pytest.approx([3.0])


def test_transposed_mask_is_refused_with_a_working_fix():
    mask = PAD_MASK.T
    with pytest.raises(ValueError, match=r"mask must have .*\(2, 5\).*got shape \(5, 2\).*use mask\.T"):
        batchnorm_forward(PADDED, [1.0], [0.0], mask=mask)
    _, cache = batchnorm_forward(PADDED, [1.0], [0.0], mask=mask.T)
    assert cache.mu == pytest.approx([3.0])


def test_mask_with_the_feature_axis_is_refused():
    with pytest.raises(ValueError, match=r"without the feature axis.*\(2, 5\)"):
        batchnorm_forward(PADDED, [1.0], [0.0], mask=np.ones((2, 5, 1), dtype=bool))


def test_all_false_mask_is_refused_with_a_working_fix():
    with pytest.raises(ValueError, match=r"mask is all False.*np.arange\(T\) < lengths\[:, None\]"):
        batchnorm_forward(PADDED, [1.0], [0.0], mask=np.zeros((2, 5), dtype=bool))
    T = PADDED.shape[1]
    _, cache = batchnorm_forward(PADDED, [1.0], [0.0], mask=np.arange(T) < LENGTHS[:, None])
    assert cache.var == pytest.approx([12 / 7])


def test_mask_with_one_true_step_is_refused():
    mask = np.zeros((2, 5), dtype=bool)
    mask[0, 0] = True
    with pytest.raises(ValueError, match="single True step.*at least 2"):
        batchnorm_forward(PADDED, [1.0], [0.0], mask=mask)
    mask[1, 0] = True
    out, _ = batchnorm_forward(PADDED, [1.0], [0.0], mask=mask)
    assert np.isfinite(out).all()


def test_node_by_node_backward_refuses_a_masked_cache_with_a_working_fix():
    from bnlib import batchnorm_backward, batchnorm_backward_compact

    out, cache = batchnorm_forward(PADDED, [1.0], [0.0], mask=PAD_MASK)
    with pytest.raises(ValueError, match=r"masked forward pass.*batchnorm_backward_compact\(dout, cache\)"):
        batchnorm_backward(np.ones_like(out), cache)
    da, _, _ = batchnorm_backward_compact(np.ones_like(out), cache)
    assert da.shape == PADDED.shape


# --------------------------------------------------------------------------- precision

def test_float16_squares_overflow_but_the_float32_statistics_do_not():
    # float16's largest value is 65504: deviations of 300 square to 90000 (inf in float16)
    a16 = np.array([[300.0], [-300.0], [100.0], [0.0]], dtype=np.float16)
    centered = a16 - a16.mean(axis=0)
    with np.errstate(over="ignore"):
        assert np.isinf(centered * centered).any()  # what statistics in float16 would do
    out, cache = batchnorm_forward(a16, [1.0], [0.0])
    truth = a16.astype(np.float64)
    expected = (truth - truth.mean()) / np.sqrt(truth.var() + 1e-3)
    assert out.dtype == np.float16
    np.testing.assert_allclose(out.astype(np.float64), expected, rtol=2**-10, atol=2**-10)
    assert cache.var == pytest.approx([truth.var()], rel=1e-6)


@pytest.mark.keras
def test_float16_matches_keras_mixed_float16():
    rng = np.random.default_rng(11)
    a16 = (rng.normal(2.0, 150.0, size=(16, 3))).astype(np.float16)
    gamma, beta = np.array([1.0, 0.5, -2.0]), np.array([0.0, 1.0, 0.25])
    out, cache = batchnorm_forward(a16, gamma, beta)
    keras = keras_batchnorm(a16, gamma=gamma, beta=beta)
    assert keras.out.dtype == np.float16 and keras.moving_variance.dtype == np.float32
    assert out.dtype == np.float16
    # both round the same float32 result to float16: at most one float16 step apart
    np.testing.assert_allclose(out.astype(np.float32), keras.out.astype(np.float32), rtol=2**-10, atol=2**-9)
    np.testing.assert_allclose(0.99 + 0.01 * cache.var, keras.moving_variance, rtol=1e-6)


# float32 values whose squares overflow float32 (3e19 squared is 9e38 > 3.4e38)
HUGE = np.array([[3e19], [-3e19], [1e19], [0.0]], dtype=np.float32)


def _float64_truth(a, eps=1e-3):
    x = a.astype(np.float64)
    return (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)


def test_float32_near_overflow_is_computed_safely_not_zeros():
    out, cache = batchnorm_forward(HUGE, [1.0], [0.0])
    truth = _float64_truth(HUGE)
    assert out.dtype == np.float32 and np.abs(out).max() > 1.0
    np.testing.assert_allclose(out, truth, rtol=1e-6)
    assert cache.var == pytest.approx([HUGE.astype(np.float64).var()], rel=1e-12)


def test_float32_near_overflow_layer_norm_on_the_transpose():
    from bnlib import layer_norm

    out = layer_norm(HUGE.T, np.ones(4), np.zeros(4))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, _float64_truth(HUGE).T, rtol=1e-6)


def test_float32_near_overflow_masked_and_in_the_layer():
    from bnlib import BatchNorm

    a = np.concatenate([HUGE, np.zeros((4, 1), np.float32)], axis=1)[..., None]  # (4, 2, 1), padded
    mask = np.array([[True, False]] * 4)
    out, _ = batchnorm_forward(a, [1.0], [0.0], mask=mask)
    np.testing.assert_allclose(out[:, 0], _float64_truth(HUGE), rtol=1e-6)
    layer = BatchNorm()
    np.testing.assert_allclose(layer(HUGE, training=True), _float64_truth(HUGE), rtol=1e-6)
    assert np.isfinite(layer.moving_var).all()


def test_float64_overflow_raises_with_a_working_fix():
    a = HUGE.astype(np.float64) * 1e140  # squares near 1e319: beyond float64
    with pytest.raises(ValueError, match=r"overflow float64.*a / np.abs\(a\).max\(\)"):
        batchnorm_forward(a, [1.0], [0.0])
    out, _ = batchnorm_forward(a / np.abs(a).max(), [1.0], [0.0], eps=0.0)
    np.testing.assert_allclose(out, _float64_truth(HUGE, eps=0.0), rtol=1e-12)
