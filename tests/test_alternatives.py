"""bnlib.alternatives (layer, group, instance, RMS normalization) against hand derivations and Keras 3.

Tolerances: float64 inputs run float64 Keras layers and must agree to 1e-9 (relative, and absolute scaled
by the parameters); float32/float16 inputs run float32 layers and must agree to 2e-4, the float32 rounding
of the mean subtraction and of 1/sqrt(var + eps), amplified when eps dominates a tiny variance.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bnlib import batchnorm_forward, group_norm, instance_norm, layer_norm, rms_norm, statistics_sets
from bnlib.keras_ref import keras_group_norm, keras_layer_norm, keras_rms_norm, keras_rms_norm_op

SEED = np.array([[2.0], [0.0], [2.0], [4.0]])  # the notes' m = 4 batch of one unit


ROW = SEED.T  # the same four numbers as the n = 4 features of one example


SQRT2 = np.sqrt(2.0)


def test_layer_norm_of_seed_row_by_hand():
    # mu = 2, sigma^2 = (0 + 4 + 0 + 4)/4 = 2 over the features of the one example
    np.testing.assert_allclose(layer_norm(ROW, np.ones(4), np.zeros(4), eps=0.0), [[0, -SQRT2, 0, SQRT2]],
                               atol=1e-15)
    gamma, beta, eps = np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.5, 0.0, -1.0, 1.0]), 1e-3
    expected = beta + gamma * (ROW - 2.0) / np.sqrt(2.0 + eps)
    np.testing.assert_allclose(layer_norm(ROW, gamma, beta, eps=eps), expected, rtol=1e-14)


def test_layer_norm_is_batchnorm_of_the_transpose():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(6, 5))
    ln = layer_norm(a.T, np.ones(6), np.zeros(6))
    bn, _ = batchnorm_forward(a, np.ones(5), np.zeros(5))
    np.testing.assert_allclose(ln, bn.T, rtol=1e-12, atol=1e-12)


def test_seed_rescaled_example_gives_the_same_layer_norm():
    # the notes' second batch 200, 0, 200, 400: per-example statistics cancel the factor 100 (up to eps)
    both = np.vstack([ROW, 100 * ROW])
    out = layer_norm(both, np.ones(4), np.zeros(4), eps=0.0)
    np.testing.assert_allclose(out[0], out[1], rtol=1e-14, atol=1e-15)


def test_group_norm_of_seed_row_by_hand():
    # groups {2, 0} and {2, 4}: means 1 and 3, variances 1 and 1
    out = group_norm(ROW, 2, np.ones(4), np.zeros(4), eps=0.0)
    np.testing.assert_allclose(out, [[1.0, -1.0, -1.0, 1.0]], atol=1e-15)


def test_group_norm_with_one_group_is_layer_norm_over_all_non_batch_axes():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(3, 4, 5, 6))
    gamma, beta = rng.normal(size=6), rng.normal(size=6)
    ln = layer_norm(a, np.broadcast_to(gamma, (4, 5, 6)), np.broadcast_to(beta, (4, 5, 6)), axis=(1, 2, 3))
    np.testing.assert_allclose(group_norm(a, 1, gamma, beta), ln, rtol=1e-12, atol=1e-12)


def test_instance_norm_by_hand_and_as_group_norm():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(2, 3, 4, 5)) * 3 + 1
    gamma, beta, eps = rng.normal(size=5), rng.normal(size=5), 0.01
    mu = a.mean(axis=(1, 2), keepdims=True)
    var = ((a - mu) ** 2).mean(axis=(1, 2), keepdims=True)
    expected = beta + gamma * (a - mu) / np.sqrt(var + eps)
    np.testing.assert_allclose(instance_norm(a, gamma, beta, eps=eps), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(instance_norm(a, gamma, beta, eps=eps), group_norm(a, 5, gamma, beta, eps=eps))
    np.testing.assert_array_equal(group_norm(a, -1, gamma, beta, eps=eps), group_norm(a, 5, gamma, beta, eps=eps))


def test_rms_norm_of_seed_row_by_hand():
    # mean square (4 + 0 + 4 + 16)/4 = 6: divide by sqrt(6), no mean subtracted
    np.testing.assert_allclose(rms_norm(ROW, np.ones(4), eps=0.0), ROW / np.sqrt(6.0), rtol=1e-15)


def test_rms_norm_equals_layer_norm_for_zero_mean_examples():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(4, 6))
    a -= a.mean(axis=1, keepdims=True)
    gamma = rng.normal(size=6)
    np.testing.assert_allclose(rms_norm(a, gamma, eps=1e-3), layer_norm(a, gamma, np.zeros(6), eps=1e-3),
                               rtol=1e-12, atol=1e-12)


def test_dtypes():
    a = np.array([[1.0, 2.0, 4.0], [0.0, 1.0, 3.0]])
    g, b = np.ones(3), np.zeros(3)
    assert layer_norm(a.astype(np.float16), g, b).dtype == np.float32
    assert layer_norm(a.astype(np.float32), g, b).dtype == np.float32
    assert group_norm(a.astype(np.float64), 1, g, b).dtype == np.float64
    assert rms_norm(a.astype(int), g).dtype == np.float64


def _changed_cells(method, x, i, k, groups):
    c = x.shape[-1]
    ones, zeros = np.ones(c), np.zeros(c)
    span = np.ones(x.shape[1:])
    run = {
        "batch": lambda v: batchnorm_forward(v, ones, zeros)[0],
        "layer": lambda v: layer_norm(v, span, np.zeros_like(span), axis=(1, 2, 3)),
        "rms": lambda v: rms_norm(v, span, axis=(1, 2, 3)),
        "group": lambda v: group_norm(v, groups, ones, zeros),
        "instance": lambda v: instance_norm(v, ones, zeros),
    }[method]
    noise = np.zeros_like(x)
    noise[i, :, :, k] = np.random.default_rng(9).normal(size=x.shape[1:3])
    return np.any(run(x + noise) != run(x), axis=(1, 2))


@pytest.mark.parametrize("method", ["batch", "layer", "rms", "group", "instance"])
def test_statistics_sets_are_the_cells_that_influence_each_other(method):
    m, c, groups = 3, 4, 2
    x = np.random.default_rng(8).normal(size=(m, 2, 2, c))
    labels = statistics_sets(method, m, c, groups=groups)
    for i in range(m):
        for k in range(c):
            np.testing.assert_array_equal(_changed_cells(method, x, i, k, groups), labels == labels[i, k])


def _data(draw, shape):
    dtype = draw(st.sampled_from([np.float16, np.float32, np.float64]))
    scale = 10.0 ** draw(st.integers(-3, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    a = (rng.normal(size=shape) * scale + rng.normal() * scale).astype(dtype)
    return a, rng


def _shape(draw, min_ndim=2, max_ndim=4):
    ndim = draw(st.integers(min_ndim, max_ndim))
    return (draw(st.integers(1, 4)),) + tuple(draw(st.integers(1, 5)) for _ in range(ndim - 1))


def _norm_axis(draw, ndim):
    """An int (possibly negative) or a sorted/unsorted tuple of non-batch axes."""
    axes = draw(st.lists(st.integers(1, ndim - 1), min_size=1, max_size=ndim - 1, unique=True))
    if len(axes) == 1 and draw(st.booleans()):
        return axes[0] - ndim if draw(st.booleans()) else axes[0]
    return tuple(axes)


def _assert_close(ours, ref, a, *params):
    tol = 1e-9 if a.dtype == np.float64 else 2e-4
    size = 1 + sum(float(np.abs(p).max()) for p in params)
    np.testing.assert_allclose(ours, ref, rtol=tol, atol=tol * size)


@st.composite
def layer_case(draw):
    a, rng = _data(draw, _shape(draw))
    axis = _norm_axis(draw, a.ndim)
    axes = axis if isinstance(axis, tuple) else (axis % a.ndim,)
    span = tuple(a.shape[ax] for ax in sorted(axes))
    gamma, beta = rng.normal(size=span), rng.normal(size=span)
    eps = draw(st.sampled_from([1e-5, 1e-3, 0.1]))
    return a, gamma, beta, eps, axis, int(np.prod(span))


@pytest.mark.keras
@settings(max_examples=35, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layer_case())
def test_layer_norm_matches_keras(case):
    a, gamma, beta, eps, axis, count = case
    ref = keras_layer_norm(a, gamma, beta, eps=eps, axis=axis)
    if count < 2:
        # one value per statistic: Keras silently returns beta, bnlib refuses. Keras computes
        # x * inv + (beta - mu * inv) with inv = gamma / sqrt(eps), which cancels: allow a few roundings of x * inv.
        unit = np.finfo(ref.dtype).eps
        cancel = 8 * unit * np.abs(a.astype(np.float64)).max() * abs(gamma.item()) / np.sqrt(eps)
        np.testing.assert_allclose(ref, np.full(ref.shape, beta.item()), rtol=8 * unit, atol=cancel)
        with pytest.raises(ValueError, match="single value per statistic"):
            layer_norm(a, gamma, beta, eps=eps, axis=axis)
        return
    _assert_close(layer_norm(a, gamma, beta, eps=eps, axis=axis), ref, a, gamma, beta)


@st.composite
def group_case(draw, instance=False):
    a, rng = _data(draw, _shape(draw, min_ndim=3 if instance else 2))
    axis = draw(st.integers(1, a.ndim - 1))
    if draw(st.booleans()):
        axis -= a.ndim
    c = a.shape[axis]
    divisors = [d for d in range(1, c + 1) if c % d == 0]
    groups = c if instance else draw(st.sampled_from(divisors + [-1]))
    gamma, beta = rng.normal(size=c), rng.normal(size=c)
    eps = draw(st.sampled_from([1e-5, 1e-3, 0.1]))
    size = (c // (c if groups == -1 else groups)) * a.size // (a.shape[0] * c)
    return a, groups, gamma, beta, eps, axis, size


@pytest.mark.keras
@settings(max_examples=35, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(group_case())
def test_group_norm_matches_keras(case):
    a, groups, gamma, beta, eps, axis, size = case
    ref = keras_group_norm(a, groups, gamma, beta, eps=eps, axis=axis)
    if size < 2:
        with pytest.raises(ValueError, match="single value per statistic"):
            group_norm(a, groups, gamma, beta, eps=eps, axis=axis)
        return
    _assert_close(group_norm(a, groups, gamma, beta, eps=eps, axis=axis), ref, a, gamma, beta)


@pytest.mark.keras
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(group_case(instance=True))
def test_instance_norm_matches_keras(case):
    a, _, gamma, beta, eps, axis, size = case
    if size < 2:
        with pytest.raises(ValueError, match="single position per"):
            instance_norm(a, gamma, beta, eps=eps, axis=axis)
        return
    ref = keras_group_norm(a, -1, gamma, beta, eps=eps, axis=axis)
    _assert_close(instance_norm(a, gamma, beta, eps=eps, axis=axis), ref, a, gamma, beta)


@pytest.mark.keras
@settings(max_examples=35, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layer_case(), st.sampled_from([1e-6, 1e-3]))
def test_rms_norm_matches_keras(case, eps):
    a, gamma, _, _, axis, _ = case
    axes = sorted(ax % a.ndim for ax in (axis if isinstance(axis, tuple) else (axis,)))
    if axes == list(range(a.ndim - len(axes), a.ndim)):
        ref = keras_rms_norm(a, gamma, eps=eps, axis=axis)
    else:
        # Keras 3.15's RMSNormalization layer multiplies its scale against the last axes whatever `axis` is, so
        # compare with Keras's op without a scale and apply gamma along the normalized axes.
        shape = [a.shape[ax] if ax in axes else 1 for ax in range(a.ndim)]
        ref = keras_rms_norm_op(a, eps=eps, axis=axis) * gamma.reshape(shape)
    _assert_close(rms_norm(a, gamma, eps=eps, axis=axis), ref, a, gamma)


METHODS = {
    "layer": lambda a, c: layer_norm(a, np.ones(a.shape[1:]), np.zeros(a.shape[1:]), axis=(1, 2, 3)),
    "group": lambda a, c: group_norm(a, 2, np.ones(c), np.zeros(c)),
    "instance": lambda a, c: instance_norm(a, np.ones(c), np.zeros(c)),
    "rms": lambda a, c: rms_norm(a, np.ones(c)),
}


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(sorted(METHODS)), st.integers(2, 5), st.integers(0, 2**31 - 1), st.integers(-2, 3))
def test_an_examples_output_ignores_its_batch_mates(method, m, seed, log_scale):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(m, 3, 2, 4))
    mates = a.copy()
    mates[1:] = rng.normal(size=(m - 1, 3, 2, 4)) * 10.0**log_scale + rng.normal()
    out = METHODS[method](a, 4)
    np.testing.assert_array_equal(METHODS[method](mates, 4)[0], out[0])
    np.testing.assert_allclose(METHODS[method](a[:1], 4), out[:1], rtol=1e-13, atol=1e-13)


def test_batchnorm_by_contrast_depends_on_batch_mates():
    a = np.vstack([SEED, [[-5.0]]])
    assert abs(batchnorm_forward(a, [1.0], [0.0])[0][0, 0] - batchnorm_forward(SEED, [1.0], [0.0])[0][0, 0]) > 0.1


@pytest.mark.keras
@pytest.mark.parametrize("name", ["layer", "group", "instance", "rms"])
def test_keras_layers_compute_the_same_in_training_and_inference(name):
    rng = np.random.default_rng(5)
    a = rng.normal(size=(3, 4, 4, 6))
    g, b = rng.normal(size=6), rng.normal(size=6)
    ref = {
        "layer": (lambda t: keras_layer_norm(a, g, b, training=t), layer_norm(a, g, b)),
        "group": (lambda t: keras_group_norm(a, 3, g, b, training=t), group_norm(a, 3, g, b)),
        "instance": (lambda t: keras_group_norm(a, -1, g, b, training=t), instance_norm(a, g, b)),
        "rms": (lambda t: keras_rms_norm(a, g, training=t), rms_norm(a, g)),
    }[name]
    keras_call, ours = ref
    train, infer = keras_call(True), keras_call(False)
    np.testing.assert_array_equal(train, infer)
    np.testing.assert_allclose(ours, train, rtol=1e-9, atol=1e-12)


A = np.random.default_rng(6).normal(size=(2, 3, 3, 6))


G6, B6 = np.ones(6), np.zeros(6)


def test_groups_not_dividing_channels_lists_the_divisors():
    with pytest.raises(ValueError, match=r"groups=4 does not divide the 6 channels.*\[1, 2, 3, 6\]"):
        group_norm(A, 4, G6, B6)


def test_more_groups_than_channels():
    with pytest.raises(ValueError, match=r"groups=12 does not divide the 6 channels"):
        group_norm(A, 12, G6, B6)


def test_zero_or_negative_groups():
    for groups in (0, -2):
        with pytest.raises(ValueError, match=r"groups must be a positive int \(or -1"):
            group_norm(A, groups, G6, B6)


def test_non_integer_groups():
    for groups in (2.0, True, "2"):
        with pytest.raises(TypeError, match="groups must be an int"):
            group_norm(A, groups, G6, B6)


@pytest.mark.parametrize("fn", [
    lambda axis: layer_norm(A, G6, B6, axis=axis),
    lambda axis: group_norm(A, 2, G6, B6, axis=axis),
    lambda axis: instance_norm(A, G6, B6, axis=axis),
    lambda axis: rms_norm(A, G6, axis=axis),
])
def test_batch_axis_and_out_of_range_axes_are_refused(fn):
    with pytest.raises(ValueError, match="axis=0 is the batch axis"):
        fn(0)
    with pytest.raises(ValueError, match="out of range"):
        fn(4)
    with pytest.raises(TypeError, match="axis must be"):
        fn("channels")


def test_axis_tuple_problems():
    span = np.ones((3, 6))
    with pytest.raises(ValueError, match="names the same axis twice"):
        layer_norm(A, span, span, axis=(2, -2))
    with pytest.raises(ValueError, match="empty tuple"):
        layer_norm(A, G6, B6, axis=())
    with pytest.raises(ValueError, match="axis=0 is the batch axis"):
        rms_norm(A, np.ones((2, 6)), axis=(0, 3))
    with pytest.raises(TypeError, match="axis must be an int"):
        group_norm(A, 2, G6, B6, axis=(1, 3))


def test_gamma_shape_must_match_normalized_axes():
    with pytest.raises(ValueError, match=r"gamma has shape \(5,\).*needs shape \(6,\)"):
        layer_norm(A, np.ones(5), B6)
    with pytest.raises(ValueError, match=r"gamma has shape \(6,\).*axes \(2, 3\).*shape \(3, 6\)"):
        layer_norm(A, G6, np.zeros((3, 6)), axis=(2, 3))
    with pytest.raises(ValueError, match=r"beta has shape \(3,\)"):
        group_norm(A, 2, G6, np.zeros(3))
    with pytest.raises(ValueError, match=r"gamma has shape \(4,\)"):
        rms_norm(A, np.ones(4))


def test_scalar_gamma_is_refused_with_a_fix():
    with pytest.raises(ValueError, match=r"got a scalar.*np.full\(6"):
        instance_norm(A, 1.0, B6)


def test_non_finite_input_and_parameters():
    bad = A.copy()
    bad[1, 0, 0, 0] = np.nan
    for fn in (lambda v: layer_norm(v, G6, B6), lambda v: group_norm(v, 2, G6, B6),
               lambda v: instance_norm(v, G6, B6), lambda v: rms_norm(v, G6)):
        with pytest.raises(ValueError, match=r"1 non-finite value"):
            fn(bad)
    with pytest.raises(ValueError, match=r"gamma contains \d+ non-finite value"):
        layer_norm(A, np.full((3, 3, 6), np.inf), np.zeros((3, 3, 6)), axis=(1, 2, 3))


def test_negative_eps():
    with pytest.raises(ValueError, match="eps must be a finite number >= 0"):
        rms_norm(A, G6, eps=-1e-6)


def test_zero_eps_with_constant_example():
    flat = np.ones((2, 4))
    with pytest.raises(ValueError, match="variance 0.*eps=0"):
        layer_norm(flat, np.ones(4), np.zeros(4), eps=0.0)
    with pytest.raises(ValueError, match="all zeros.*eps=0"):
        rms_norm(np.zeros((2, 4)), np.ones(4), eps=0.0)
    np.testing.assert_array_equal(layer_norm(flat, np.ones(4), np.zeros(4)), np.zeros((2, 4)))


def test_one_feature_per_example_is_refused_for_layer_norm():
    # the notes' (4, 1) batch: per-example statistics of one value would make every output beta
    with pytest.raises(ValueError, match=r"single value per statistic.*\(4, 1\).*beta"):
        layer_norm(SEED, [1.0], [0.0])


def test_instance_norm_of_dense_input_points_to_layer_norm():
    with pytest.raises(ValueError, match=r"single position per \(example, channel\).*use layer_norm"):
        instance_norm(ROW, np.ones(4), np.zeros(4))


def test_one_dimensional_input_suggests_reshape():
    with pytest.raises(ValueError, match=r"reshape\(1, -1\)"):
        layer_norm(np.array([2.0, 0.0, 2.0, 4.0]), np.ones(4), np.zeros(4))


def test_statistics_sets_bad_arguments():
    with pytest.raises(ValueError, match="method must be one of"):
        statistics_sets("weight", 4, 8)
    with pytest.raises(ValueError, match=r"groups=3 does not divide the 8 channels"):
        statistics_sets("group", 4, 8, groups=3)
    with pytest.raises(ValueError, match="c must be a positive int"):
        statistics_sets("layer", 4, 0)


def test_float32_near_overflow_is_computed_safely():
    # squares of 3e19 overflow float32 (9e38 > 3.4e38); the answer must not be silent zeros
    huge = np.array([[3e19, -3e19, 1e19, 0.0]], dtype=np.float32)
    x = huge.astype(np.float64)
    rms = rms_norm(huge, np.ones(4), eps=0.0)
    assert rms.dtype == np.float32
    np.testing.assert_allclose(rms, x / np.sqrt((x * x).mean()), rtol=1e-6)
    gn = group_norm(huge.reshape(1, 1, 1, 4), 1, np.ones(4), np.zeros(4), eps=0.0)
    np.testing.assert_allclose(gn.reshape(1, 4), (x - x.mean()) / x.std(), rtol=1e-6)
    with pytest.raises(ValueError, match=r"overflows float64.*a / np.abs\(a\).max\(\)"):
        rms_norm(x * 1e140, np.ones(4))
    np.testing.assert_allclose(rms_norm(x * 1e140 / np.abs(x * 1e140).max(), np.ones(4), eps=0.0), rms, rtol=1e-6)
