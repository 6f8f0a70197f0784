"""bnlib.layer (chapter 4): the moving average and the stateful layer, against Keras.

Tolerances: float64 comparisons with Keras (float64 layers) use 1e-10; the float32 model trained by
``fit`` uses rtol 1e-5 with a small atol, since float32 sums round at about 1e-7 relative.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bnlib import BatchNorm, batchnorm_inference, keras_moving_stats, update_moving_stats
from bnlib.keras_ref import keras_batchnorm, keras_batchnorm_steps, keras_fit_bn_dense

TIGHT = {"rtol": 1e-10, "atol": 1e-10}


def random_batches(seed, k, m, n, loc=3.0, scale=2.0):
    rng = np.random.default_rng(seed)
    return [rng.normal(loc, scale, size=(m, n)) for _ in range(k)]


@pytest.mark.keras
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 4),
    momentum=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**16),
)
def test_one_update_matches_one_keras_training_call(n, momentum, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(rng.uniform(-5, 5), rng.uniform(0.1, 5), size=(6, n))
    moving_mean, moving_var = rng.normal(size=n), rng.uniform(0.1, 3, size=n)
    keras = keras_batchnorm(a, moving_mean=moving_mean, moving_var=moving_var, momentum=momentum, training=True)
    mean, var = update_moving_stats(moving_mean, moving_var, a.mean(axis=0), a.var(axis=0), momentum)
    np.testing.assert_allclose(mean, keras.moving_mean, **TIGHT)
    np.testing.assert_allclose(var, keras.moving_variance, **TIGHT)


def test_update_does_not_modify_its_inputs():
    moving_mean, moving_var = np.zeros(2), np.ones(2)
    update_moving_stats(moving_mean, moving_var, np.array([5.0, 6.0]), np.array([4.0, 9.0]))
    assert np.array_equal(moving_mean, np.zeros(2)) and np.array_equal(moving_var, np.ones(2))


def test_momentum_extremes_by_hand():
    old, new = (np.array([1.0]), np.array([2.0])), (np.array([5.0]), np.array([7.0]))
    assert update_moving_stats(*old, *new, momentum=1.0) == (pytest.approx([1.0]), pytest.approx([2.0]))
    assert update_moving_stats(*old, *new, momentum=0.0) == (pytest.approx([5.0]), pytest.approx([7.0]))


@pytest.mark.keras
def test_closed_form_weight_of_the_initial_values():
    # After t steps the EMA is momentum^t * initial + (1 - momentum) * sum_k momentum^(t-k) * x_k.
    batches = random_batches(3, 30, 8, 2)
    mean, var = (x[-1] for x in keras_moving_stats(batches))
    t, beta = len(batches), 0.99
    w = (1 - beta) * beta ** np.arange(t - 1, -1, -1)
    np.testing.assert_allclose(mean, w @ np.array([b.mean(axis=0) for b in batches]), rtol=1e-12)
    np.testing.assert_allclose(var, beta**t + w @ np.array([b.var(axis=0) for b in batches]), rtol=1e-12)


@pytest.mark.keras
@pytest.mark.parametrize("dtype, tol", [(np.float64, TIGHT), (np.float32, {"rtol": 1e-5, "atol": 1e-5})])
def test_layer_matches_keras_over_25_training_calls(dtype, tol):
    batches = [b.astype(dtype) for b in random_batches(0, 25, 8, 3)]
    keras_steps = keras_batchnorm_steps(batches)
    layer = BatchNorm()
    for a, keras in zip(batches, keras_steps, strict=True):
        out = layer(a, training=True)
        np.testing.assert_allclose(out, keras.out, **tol)
        np.testing.assert_allclose(layer.moving_mean, keras.moving_mean, **tol)
        np.testing.assert_allclose(layer.moving_var, keras.moving_variance, **tol)


@pytest.mark.keras
def test_layer_matches_keras_with_other_momentum_eps_and_image_axis():
    rng = np.random.default_rng(5)
    batches = [rng.normal(1.0, 3.0, size=(4, 3, 3, 2)) for _ in range(20)]
    keras_steps = keras_batchnorm_steps(batches, eps=1e-5, momentum=0.9, axis=-1)
    layer = BatchNorm(momentum=0.9, epsilon=1e-5)
    for a, keras in zip(batches, keras_steps, strict=True):
        np.testing.assert_allclose(layer(a, training=True), keras.out, **TIGHT)
        np.testing.assert_allclose(layer.moving_mean, keras.moving_mean, **TIGHT)
        np.testing.assert_allclose(layer.moving_var, keras.moving_variance, **TIGHT)


@pytest.mark.keras
@pytest.mark.parametrize("training", [False, None])
def test_fresh_layer_in_inference_matches_keras(training):
    a = np.array([[2.0], [0.0], [2.0], [4.0]])
    keras = keras_batchnorm(a, training=training)
    layer = BatchNorm()
    np.testing.assert_allclose(layer(a, training=training), keras.out, **TIGHT)
    np.testing.assert_allclose(keras.out, a / np.sqrt(1 + 1e-3), **TIGHT)  # the classic pitfall, by hand
    assert np.array_equal(layer.moving_mean, [0.0]) and np.array_equal(layer.moving_var, [1.0])


@pytest.mark.keras
def test_inference_after_training_matches_keras():
    batches = random_batches(1, 20, 8, 2)
    layer = BatchNorm()
    for a in batches:
        layer(a, training=True)
    test = random_batches(2, 1, 5, 2)[0]
    keras = keras_batchnorm(test, moving_mean=layer.moving_mean, moving_var=layer.moving_var, training=False)
    np.testing.assert_allclose(layer(test), keras.out, **TIGHT)


def test_default_call_is_inference_and_changes_nothing():
    layer = BatchNorm()
    layer(random_batches(0, 1, 8, 2)[0], training=True)
    before = layer.get_weights()
    layer(random_batches(1, 1, 8, 2)[0])
    assert all(np.array_equal(x, y) for x, y in zip(before, layer.get_weights(), strict=True))


@pytest.mark.keras
def test_frozen_layer_matches_keras_frozen_layer():
    # Keras: BN.trainable = False during fit, then layer(X, training=True) on the frozen layer.
    rng = np.random.default_rng(4)
    X = rng.normal(5.0, 2.0, size=(32, 3)).astype(np.float32)
    y = X @ np.array([[1.0], [-1.0], [0.5]], dtype=np.float32)
    weights = [np.array([1.5, 0.5, 2.0]), np.array([0.1, -0.2, 0.3]), np.array([4.0, 5.0, 6.0]),
               np.array([3.0, 4.0, 5.0])]
    keras = keras_fit_bn_dense(X, y, batch_size=8, trainable=False, bn_weights=weights)
    layer = BatchNorm()
    layer.set_weights(weights)
    layer.trainable = False
    out = layer(X, training=True)
    np.testing.assert_allclose(out, keras.bn_call_training, rtol=1e-5, atol=1e-5)
    for ours, before, after_fit, after_call in zip(layer.get_weights(), keras.bn_before, keras.bn_after,
                                                   keras.bn_after_call, strict=True):
        np.testing.assert_allclose(ours, before, rtol=1e-6)
        assert np.array_equal(before, after_fit) and np.array_equal(before, after_call)


@pytest.mark.keras
def test_fit_updates_moving_stats_like_training_calls_and_predict_uses_them():
    rng = np.random.default_rng(6)
    X = rng.normal(5.0, 2.0, size=(40, 2)).astype(np.float32)
    y = X[:, :1] - X[:, 1:]
    keras = keras_fit_bn_dense(X, y, batch_size=16, epochs=2)  # batches of 16, 16, 8, twice
    layer = BatchNorm()
    for _ in range(2):
        for start in range(0, 40, 16):
            layer(X[start:start + 16], training=True)
    np.testing.assert_allclose(layer.moving_mean, keras.bn_after[2], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.moving_var, keras.bn_after[3], rtol=1e-5, atol=1e-6)
    gamma, beta, mean, var = keras.bn_after
    expected = batchnorm_inference(X.astype(np.float64), mean, var, gamma, beta) @ keras.kernel + keras.bias
    for name in ("predict", "call_inference", "call_default"):
        np.testing.assert_allclose(getattr(keras, name), expected, rtol=1e-5, atol=1e-5, err_msg=name)


def test_weights_round_trip_and_lazy_build():
    layer = BatchNorm()
    assert not layer.built
    layer(np.ones((3, 4)))
    assert [w.shape for w in layer.get_weights()] == [(4,)] * 4
    layer.set_weights([np.full(4, 2.0), np.full(4, 1.0), np.zeros(4), np.ones(4)])
    np.testing.assert_allclose(layer(np.zeros((1, 4))), 1.0)


@pytest.mark.parametrize("momentum", [-0.1, 1.5, float("nan")])
def test_momentum_outside_unit_interval(momentum):
    with pytest.raises(ValueError, match=r"momentum must be a finite number in \[0, 1\]"):
        update_moving_stats([0.0], [1.0], [1.0], [1.0], momentum=momentum)
    with pytest.raises(ValueError, match=r"momentum must be a finite number in \[0, 1\]"):
        BatchNorm(momentum=momentum)


@pytest.mark.parametrize("momentum", [True, "0.9", None])
def test_momentum_of_wrong_type(momentum):
    with pytest.raises(TypeError, match="momentum must be a number"):
        update_moving_stats([0.0], [1.0], [1.0], [1.0], momentum=momentum)


def test_mismatched_shapes_name_the_argument():
    with pytest.raises(ValueError, match="batch_mean has 3 values but 2 were expected"):
        update_moving_stats(np.zeros(2), np.ones(2), np.zeros(3), np.ones(2))
    with pytest.raises(ValueError, match="moving_var has 1 values but 2 were expected"):
        update_moving_stats(np.zeros(2), np.ones(1), np.zeros(2), np.ones(2))


def test_scalar_and_matrix_statistics_are_refused():
    with pytest.raises(ValueError, match="got a scalar"):
        update_moving_stats(0.0, [1.0], [1.0], [1.0])
    with pytest.raises(ValueError, match=r"must have shape \(n,\)"):
        update_moving_stats(np.zeros((2, 2)), np.ones(4), np.zeros(4), np.ones(4))


def test_negative_variance_is_refused():
    with pytest.raises(ValueError, match="batch_var must be >= 0"):
        update_moving_stats([0.0], [1.0], [0.0], [-1.0])


def test_layer_refuses_a_different_feature_size():
    layer = BatchNorm()
    layer(np.ones((4, 3)), training=True)
    with pytest.raises(ValueError, match="built for 3 features but a has 2"):
        layer(np.ones((4, 2)))


def test_layer_refuses_a_non_boolean_training_flag():
    with pytest.raises(TypeError, match="training must be True, False or None"):
        BatchNorm()(np.ones((4, 1)), training="yes")


def test_layer_bad_epsilon_and_axis():
    with pytest.raises(ValueError, match="eps must be a finite number"):
        BatchNorm(epsilon=-1.0)
    with pytest.raises(TypeError, match="axis must be an int"):
        BatchNorm(axis=1.5)


def test_set_weights_needs_four_matching_arrays():
    with pytest.raises(ValueError, match="gamma, beta, moving_mean, moving_var"):
        BatchNorm().set_weights([np.ones(2)] * 3)
    with pytest.raises(ValueError, match="beta has 3 values but 2 were expected"):
        BatchNorm().set_weights([np.ones(2), np.ones(3), np.ones(2), np.ones(2)])


@pytest.mark.keras
def test_masked_training_calls_match_keras_moving_statistics():
    rng = np.random.default_rng(7)
    batches = [rng.normal(3.0, 2.0, size=(3, 6, 2)) for _ in range(3)]
    masks = [np.arange(6) < rng.integers(1, 7, size=3)[:, None] for _ in range(3)]
    layer = BatchNorm()
    keras = keras_batchnorm_steps(batches, masks=masks)
    for a, mask, k in zip(batches, masks, keras, strict=True):
        out = layer(a, training=True, mask=mask)
        # Keras divides by count + 1e-7 (see batchnorm_forward): agreement to about 1e-7
        np.testing.assert_allclose(out, k.out, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(layer.moving_mean, k.moving_mean, rtol=1e-7)
        np.testing.assert_allclose(layer.moving_var, k.moving_variance, rtol=1e-7)
    # and the padding really is left out: the first moving mean is 0.01 * the real steps' mean
    first = BatchNorm()
    first(batches[0], training=True, mask=masks[0])
    np.testing.assert_allclose(first.moving_mean, 0.01 * batches[0][masks[0]].mean(axis=0), rtol=1e-12)


def test_mask_is_checked_and_ignored_at_inference():
    a = np.random.default_rng(8).normal(size=(2, 4, 1))
    layer = BatchNorm()
    mask = np.arange(4) < np.array([4, 2])[:, None]
    np.testing.assert_array_equal(layer(a, mask=mask), layer(a))
    with pytest.raises(TypeError, match="mask must be a boolean array"):
        layer(a, training=True, mask=mask.astype(int))
