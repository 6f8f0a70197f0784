"""bnlib's additions for issue 14, each against an independent reference.

- ``layer_hessian``: a finite-difference Hessian of a sigmoid unit's cross-entropy loss, written here
  from the loss alone, and the regression Hessian [[1, mean x], [mean x, mean x^2]] of chapter 1.
- ``batchnorm_affine`` and ``fold_batchnorm_into_next``: Keras's BatchNormalization in inference mode.
- ``keras_finetune``: the moving mean replayed by hand with Keras's rule
  moving = 0.99 * moving + 0.01 * batch mean (learning rate 0, so the base's kernel stays the identity).
- ``keras_bn_after_activation``: the model Dense -> ReLU -> BN -> Dense written out in numpy.
"""

import numpy as np
import pytest

from bnlib import batchnorm_affine, fold_batchnorm_into_next, layer_hessian, regression_hessian
from bnlib.keras_ref import keras_batchnorm, keras_bn_after_activation, keras_finetune


def _bce_loss(theta, a, y):
    z = theta[0] + a @ theta[1:]
    return np.mean(np.logaddexp(0.0, z) - y * z)  # -[y log p + (1-y) log(1-p)], p = sigmoid(z)


def _fd_hessian(f, theta, h=1e-4):
    k = theta.size
    H = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            e_i, e_j = np.eye(k)[i] * h, np.eye(k)[j] * h
            H[i, j] = (f(theta + e_i + e_j) - f(theta + e_i - e_j) - f(theta - e_i + e_j)
                       + f(theta - e_i - e_j)) / (4 * h * h)
    return H


def test_layer_hessian_is_the_hessian_of_a_sigmoid_cross_entropy_unit():
    rng = np.random.default_rng(0)
    a = np.maximum(0.0, rng.normal(size=(40, 3)) + 0.5)
    y = (rng.uniform(size=40) < 0.5).astype(float)
    theta = np.array([-0.3, 0.8, -0.5, 0.2])
    p = 1.0 / (1.0 + np.exp(-(theta[0] + a @ theta[1:])))
    expected = _fd_hessian(lambda t: _bce_loss(t, a, y), theta)
    np.testing.assert_allclose(layer_hessian(a, p * (1 - p)), expected, atol=1e-6)
    # the unweighted second moment is not that Hessian: the curvature weights matter
    assert np.abs(layer_hessian(a) - expected).max() > 0.1


def test_layer_hessian_without_curvature_is_the_regression_hessian():
    x = np.array([1.0, 2.0, 4.0, 7.0])
    by_hand = np.array([[1.0, x.mean()], [x.mean(), np.mean(x**2)]])
    np.testing.assert_allclose(layer_hessian(x), by_hand, rtol=1e-14)
    np.testing.assert_allclose(regression_hessian(x), by_hand, rtol=1e-14)


@pytest.mark.parametrize("curvature, match", [(np.ones(3), r"curvature must have shape \(4,\)"),
                                              (np.array([1.0, np.nan, 1.0, 1.0]), "NaN or inf")])
def test_layer_hessian_bad_curvature_and_the_fix(curvature, match):
    x = np.array([1.0, 2.0, 4.0, 7.0])
    with pytest.raises(ValueError, match=match):
        layer_hessian(x, curvature)
    assert layer_hessian(x, np.ones(4)).shape == (2, 2)  # the fix: one finite h_i per example


def _bn_weights(rng, n):
    return [rng.uniform(0.5, 2.0, n), rng.normal(size=n), rng.normal(size=n), rng.uniform(0.5, 3.0, n)]


@pytest.mark.keras
def test_batchnorm_affine_is_keras_inference():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(7, 3))
    gamma, beta, mean, var = _bn_weights(rng, 3)
    scale, shift = batchnorm_affine(gamma, beta, mean, var, eps=1e-3)
    keras = keras_batchnorm(x, gamma, beta, moving_mean=mean, moving_var=var, eps=1e-3, training=False).out
    np.testing.assert_allclose(x * scale + shift, keras, atol=1e-10)


@pytest.mark.keras
def test_fold_into_next_matches_keras_model_with_bn_after_relu():
    rng = np.random.default_rng(2)
    x, W1, b1 = rng.normal(size=(9, 4)), rng.normal(size=(4, 3)), rng.normal(size=3)
    W2, b2 = rng.normal(size=(3, 2)), rng.normal(size=2)
    weights = _bn_weights(rng, 3)
    keras = keras_bn_after_activation(x, W1, b1, W2, b2, bn_weights=weights, eps=1e-3, training=False)
    W_f, b_f = fold_batchnorm_into_next(*weights, W2, b2, eps=1e-3)
    np.testing.assert_allclose(keras.a @ W_f + b_f, keras.out, atol=1e-10)


def test_fold_into_next_bad_kernel_and_the_fix():
    weights = _bn_weights(np.random.default_rng(3), 3)
    with pytest.raises(ValueError, match="W has 2 rows but the BN layer has 3 units"):
        fold_batchnorm_into_next(*weights, np.ones((2, 1)), None)
    assert fold_batchnorm_into_next(*weights, np.ones((3, 1)), None)[0].shape == (3, 1)


@pytest.mark.keras
def test_keras_bn_after_activation_by_hand():
    rng = np.random.default_rng(4)
    x, W1, b1 = rng.normal(size=(6, 3)), rng.normal(size=(3, 2)), rng.normal(size=2)
    W2, b2 = rng.normal(size=(2, 1)), rng.normal(size=1)
    r = keras_bn_after_activation(x, W1, b1, W2, b2, eps=1e-3, training=True)
    a = np.maximum(0.0, x @ W1 + b1)
    a_tilde = (a - a.mean(axis=0)) / np.sqrt(a.var(axis=0) + 1e-3)
    np.testing.assert_allclose(r.a, a, atol=1e-12)
    np.testing.assert_allclose(r.a_tilde, a_tilde, atol=1e-10)
    np.testing.assert_allclose(r.out, a_tilde @ W2 + b2, atol=1e-10)


@pytest.mark.parametrize("freeze_bn", [False, True])
@pytest.mark.keras
def test_keras_finetune_training_false_does_not_freeze_bn_but_trainable_false_does(freeze_bn):
    rng = np.random.default_rng(5)
    X = (rng.normal(size=(32, 2)) + [3.0, -2.0]).astype(np.float32)
    y = X[:, :1]
    weights = [np.ones(2), np.zeros(2), np.array([1.0, 0.5]), np.array([2.0, 1.0])]
    r = keras_finetune(X, y, weights, freeze_bn=freeze_bn, batch_size=8, learning_rate=0.0)
    assert r.steps == 4
    moving = weights[2].copy()
    for start in range(0, 32, 8):  # Keras's rule, batch by batch, through the identity kernel
        moving = 0.99 * moving + 0.01 * X[start:start + 8].astype(np.float64).mean(axis=0)
    expected = weights[2] if freeze_bn else moving
    np.testing.assert_allclose(r.moving_mean_after, expected, atol=1e-5)
    np.testing.assert_allclose(r.moving_mean_before, weights[2], atol=1e-7)
