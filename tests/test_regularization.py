"""bnlib.regularization: batch noise (Monte Carlo), inverted dropout and its variance shift (Monte Carlo,
Keras's Dropout and a Dropout -> BatchNormalization model), L2 weight decay (finite differences, Keras's SGD)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bnlib import (
    MLP,
    batch_noise_std,
    batchnorm_forward,
    dropout_forward,
    dropout_variance_shift,
    init_params,
    mlp_backward,
    mlp_forward,
    sgd_step,
    weight_decay_step,
)
from bnlib.keras_ref import (
    keras,
    keras_conv_bn_step,
    keras_dropout_bn,
    keras_residual_digits,
    keras_sgd_weight_decay_step,
)

# ---------------------------------------------------------------- batch noise


@pytest.mark.parametrize(("u", "m"), [(0.0, 128), (1.5, 256), (-2.0, 128)])
def test_batch_noise_matches_monte_carlo_on_gaussian_batch_mates(u, m):
    # first order in 1/m: the relative error is O(1/m), so the Monte Carlo uses large batches
    rng = np.random.default_rng(0)
    mates = rng.standard_normal((20_000, m))  # the example's batch-mates, drawn apart from it
    a_std = (u - mates.mean(axis=1)) / mates.std(axis=1)
    assert a_std.std() == pytest.approx(batch_noise_std(u, m), rel=0.03)


def test_batch_noise_uses_skewness_and_kurtosis():
    rng = np.random.default_rng(1)
    pop = rng.exponential(size=2_000_000)  # skewness 2, kurtosis 9
    u, m = 1.0, 64
    mates = rng.exponential(size=(40_000, m))
    a_std = ((1.0 + u) - mates.mean(axis=1)) / mates.std(axis=1)  # mean 1, std 1: x = 1 + u
    z = (pop - pop.mean()) / pop.std()
    pred = batch_noise_std(u, m, skewness=float(np.mean(z**3)), kurtosis=float(np.mean(z**4)))
    assert a_std.std() == pytest.approx(pred, rel=0.1)
    assert pred > 1.5 * batch_noise_std(u, m)  # the Gaussian formula would be far off


def test_batch_noise_checks_its_arguments():
    with pytest.raises(ValueError, match="m must be an int >= 2"):
        batch_noise_std(1.0, 1)
    with pytest.raises(ValueError, match="kurtosis"):
        batch_noise_std(1.0, 8, kurtosis=0.5)
    assert batch_noise_std(np.array([0.0, 1.0]), 4).shape == (2,)


# ---------------------------------------------------------------- dropout


def test_dropout_keeps_with_probability_one_minus_p_and_rescales():
    a = np.full((400, 50), 2.0)
    out, mask = dropout_forward(a, 0.3, seed=0)
    assert mask.mean() == pytest.approx(0.7, abs=0.01)
    np.testing.assert_allclose(out[mask], 2.0 / 0.7)
    assert np.all(out[~mask] == 0)
    same, ones = dropout_forward(a, 0.3, training=False)
    np.testing.assert_array_equal(same, a)
    assert ones.all()


@pytest.mark.keras
def test_dropout_scaling_matches_keras_dropout():
    k = keras()
    a = np.random.default_rng(2).uniform(1.0, 2.0, size=(200, 20)).astype("float32")
    ref = np.asarray(k.layers.Dropout(0.5, seed=3)(a, training=True))
    ours, mask = dropout_forward(a, 0.5, seed=3)
    kept = ref != 0
    assert 0.4 < kept.mean() < 0.6
    np.testing.assert_allclose(ref[kept], a[kept] / 0.5, rtol=1e-6)  # Keras also scales by 1 / (1 - p)
    np.testing.assert_allclose(ours[mask], a[mask] / 0.5, rtol=1e-6)
    assert ours.dtype == np.float32


@pytest.mark.keras
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=st.sampled_from([0.1, 0.25, 0.5, 0.8]), m=st.integers(50, 200), n=st.integers(1, 8),
       seed=st.integers(0, 2**16))
def test_property_dropout_keeps_and_scales_as_keras_dropout(p, m, n, seed):
    k = keras()
    a = np.random.default_rng(seed).uniform(1.0, 2.0, size=(m, n)).astype("float32")  # never 0
    ref = np.asarray(k.layers.Dropout(p, seed=seed)(a, training=True))
    ours, mask = dropout_forward(a, p, seed=seed)
    for out, kept in ((ref, ref != 0), (ours, mask)):
        np.testing.assert_allclose(out[kept], a[kept] / (1 - p), rtol=1e-6)
        assert np.all(out[~kept] == 0)
    # both keep a share 1 - p: binomial counts within 5 standard deviations of each other
    sd = np.sqrt(2 * m * n * p * (1 - p))
    assert abs(int(mask.sum()) - int((ref != 0).sum())) <= 5 * sd
    np.testing.assert_array_equal(np.asarray(k.layers.Dropout(p)(a, training=False)),
                                  dropout_forward(a, p, training=False)[0])


@pytest.mark.parametrize(("mean", "var", "p"), [(0.0, 1.0, 0.5), (1.0, 1.0, 0.5), (-2.0, 0.5, 0.2)])
def test_variance_shift_matches_monte_carlo(mean, var, p):
    rng = np.random.default_rng(4)
    x = rng.normal(mean, np.sqrt(var), size=2_000_000)
    y, _ = dropout_forward(x, p, seed=5)
    shift = dropout_variance_shift(mean, var, p)
    assert y.var() == pytest.approx(shift.train_var, rel=0.01)
    assert shift.inference_var == var
    assert shift.ratio == pytest.approx(x.var() / y.var(), rel=0.01)


@settings(max_examples=50, deadline=None)
@given(mean=st.floats(-100, 100), var=st.floats(1e-3, 1e3), p=st.floats(0, 0.95), c=st.floats(0.01, 100))
def test_property_variance_shift(mean, var, p, c):
    shift = dropout_variance_shift(mean, var, p)
    assert 0 < shift.ratio <= 1 - p + 1e-12  # dropout never shrinks the variance; the mean only adds
    assert dropout_variance_shift(c * mean, c**2 * var, p).ratio == pytest.approx(shift.ratio, rel=1e-9)
    assert dropout_variance_shift(0.0, var, p).ratio == pytest.approx(1 - p, rel=1e-12)


def test_dropout_checks_p_and_the_fix_works():
    with pytest.raises(ValueError, match=r"p must be .*\[0, 1\).*DROP probability") as info:
        dropout_forward(np.ones(3), 1.0)
    assert "p = 1 - q" in str(info.value)
    dropout_forward(np.ones(3), 1 - 0.8)  # keep probability 0.8, as the message says
    with pytest.raises(TypeError, match="p must be"):
        dropout_variance_shift(0.0, 1.0, "0.5")
    with pytest.raises(ValueError, match="var must be > 0"):
        dropout_variance_shift(0.0, np.array([1.0, 0.0]), 0.5)


@pytest.mark.keras
def test_keras_dropout_then_bn_learns_the_training_variance():
    rng = np.random.default_rng(6)
    x = rng.normal([0.0, 1.0, -2.0], 1.0, size=(512, 3))
    y = rng.normal(size=(512, 1))
    ref = keras_dropout_bn(x, y, p=0.5, epochs=40, momentum=0.8)
    shift = dropout_variance_shift(x.mean(axis=0), x.var(axis=0), 0.5)
    np.testing.assert_allclose(ref.moving_variance, shift.train_var, rtol=0.15)
    # at inference the BN output is spread |gamma| sqrt(inference_var / moving_var), not |gamma|
    np.testing.assert_allclose(ref.inference_std / np.abs(ref.gamma),
                               np.sqrt(x.var(axis=0) / (ref.moving_variance + 1e-3)), rtol=0.02)
    np.testing.assert_allclose(ref.train_std, np.abs(ref.gamma), rtol=0.01)


# ---------------------------------------------------------------- weight decay


def test_weight_decay_step_is_the_gradient_step_on_the_l2_penalty():
    rng = np.random.default_rng(7)
    A, t = rng.normal(size=(5, 3)), rng.normal(size=5)
    w, lam, lr = rng.normal(size=3), 0.3, 0.1

    def loss(v):
        return 0.5 * np.sum((A @ v - t) ** 2) + 0.5 * lam * np.sum(v**2)

    h = 1e-6
    numeric = np.array([(loss(w + h * e) - loss(w - h * e)) / (2 * h) for e in np.eye(3)])
    grad_data = A.T @ (A @ w - t)
    np.testing.assert_allclose(weight_decay_step(w, grad_data, lr, lam), w - lr * numeric, rtol=1e-7)
    np.testing.assert_array_equal(weight_decay_step(w, grad_data, lr, 0.0), w - lr * grad_data)


@pytest.mark.keras
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lr=st.floats(1e-3, 1.0), wd=st.floats(0, 0.5), seed=st.integers(0, 2**16))
def test_property_weight_decay_step_matches_keras_sgd(lr, wd, seed):
    rng = np.random.default_rng(seed)
    w, g = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    ref = keras_sgd_weight_decay_step(w, g, lr, wd)
    np.testing.assert_allclose(weight_decay_step(w.astype("float32"), g.astype("float32"), lr, wd), ref,
                               rtol=1e-5, atol=1e-6)


def test_sgd_step_decays_the_dense_kernels_only():
    params = init_params((4, 3, 2), batchnorm=True, init_scale=1.0, seed=0)
    rng = np.random.default_rng(8)
    X, y = rng.normal(size=(6, 4)), rng.integers(0, 2, 6)
    grads = mlp_backward(mlp_forward(params, X, y)[1])
    plain, decayed = sgd_step(params, grads, 0.5), sgd_step(params, grads, 0.5, weight_decay=0.1)
    for w, g, d in zip(params.W, grads.W, decayed.W, strict=True):
        np.testing.assert_allclose(d, w - 0.5 * (g + 0.1 * w), rtol=1e-12)
    for name in ("gamma", "beta"):
        for a, b in zip(getattr(plain, name), getattr(decayed, name), strict=True):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(plain.b[-1], decayed.b[-1])


def test_weight_decay_keeps_bn_weights_short():
    rng = np.random.default_rng(9)
    X, y = rng.normal(size=(32, 4)), rng.integers(0, 2, 32)
    norms = {}
    for wd in (0.0, 0.05):
        model = MLP((4, 8, 2), batchnorm=True, init_scale=1.0, seed=0, weight_decay=wd)
        for _ in range(200):
            model.step(X, y, 0.5)
        norms[wd] = np.linalg.norm(model.params.W[0])
    assert norms[0.05] < 0.5 * norms[0.0]


def test_weight_decay_is_checked_and_the_fix_works():
    with pytest.raises(ValueError, match="weight_decay must be a finite number >= 0"):
        weight_decay_step(np.ones(2), np.ones(2), 0.1, -1e-4)
    weight_decay_step(np.ones(2), np.ones(2), 0.1, 1e-4)
    with pytest.raises(ValueError, match="grad must have w's shape"):
        weight_decay_step(np.ones(2), np.ones(3), 0.1)
    with pytest.raises(ValueError, match="weight_decay"):
        MLP((4, 3, 2), weight_decay=-1.0)


# ---------------------------------------------------------------- convolutions


@pytest.mark.keras
def test_conv_bn_statistics_are_per_channel_over_m_h_w():
    rng = np.random.default_rng(10)
    x = rng.uniform(size=(5, 8, 8, 1))
    ref = keras_conv_bn_step(x, rng.normal(size=(3, 3, 1, 4)))
    z = ref.z.astype(np.float64)
    np.testing.assert_allclose(ref.moving_mean, z.mean(axis=(0, 1, 2)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ref.moving_variance, z.var(axis=(0, 1, 2)), rtol=1e-4)
    np.testing.assert_allclose(ref.out, batchnorm_forward(z, np.ones(4), np.zeros(4))[0], atol=1e-4)


@pytest.mark.keras
@pytest.mark.slow
def test_zero_gamma_residual_block_starts_as_identity():
    rng = np.random.default_rng(11)
    X, y = rng.uniform(size=(64, 8, 8, 1)), rng.integers(0, 10, 64)
    zero = keras_residual_digits(X, y, X[:16], y[:16], zero_gamma=True, epochs=1)
    one = keras_residual_digits(X, y, X[:16], y[:16], zero_gamma=False, epochs=1)
    assert zero.block_gap == 0.0
    assert one.block_gap > 0.1
    assert zero.loss.shape == zero.test_accuracy.shape == (1,)
