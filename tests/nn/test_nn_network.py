"""bnlib.nn.network against finite differences, Keras (forward pass, loss and gradients) and the chapter functions."""

import numpy as np
import pytest

from bnlib import (
    MLP,
    batchnorm_forward,
    init_params,
    landscape_probe,
    mlp_backward,
    mlp_forward,
    mlp_logits,
)
from bnlib.keras_ref import keras_mlp
from bnlib.nn.params import sgd_step
from nn_cases import SIZES, make_batch, make_params


def _numeric_grad(params, X, y, eps, h=1e-6):
    theta = params.vector()
    g = np.zeros_like(theta)
    for k in range(theta.size):
        e = np.zeros_like(theta)
        e[k] = h
        up = mlp_forward(params.from_vector(theta + e), X, y, eps=eps)[0]
        down = mlp_forward(params.from_vector(theta - e), X, y, eps=eps)[0]
        g[k] = (up - down) / (2 * h)
    return g


@pytest.mark.parametrize("batchnorm", [False, True])
def test_whole_network_gradient_matches_finite_differences(batchnorm):
    X, y = make_batch()
    params = make_params(batchnorm)
    loss, cache = mlp_forward(params, X, y, eps=1e-3)
    analytic = mlp_backward(cache).vector()
    numeric = _numeric_grad(params, X, y, eps=1e-3)
    # Central differences in float64 with h = 1e-6: truncation ~1e-12, rounding ~1e-10.
    rel = np.linalg.norm(analytic - numeric) / np.linalg.norm(analytic + numeric)
    assert rel < 1e-7
    np.testing.assert_allclose(analytic, numeric, atol=1e-8)


@pytest.mark.keras
@pytest.mark.parametrize("batchnorm", [False, True])
@pytest.mark.parametrize("training", [True, False])
def test_forward_loss_and_gradients_match_keras(batchnorm, training):
    X, y = make_batch(m=9, seed=3)
    params = make_params(batchnorm, seed=4)
    rng = np.random.default_rng(5)
    hidden = SIZES[1:-1]
    moving = (tuple(rng.normal(size=n) for n in hidden), tuple(rng.uniform(0.5, 2.0, size=n) for n in hidden))
    kmov = moving if batchnorm else ((), ())
    ours_moving = None if training else (moving if batchnorm else None)
    loss, cache = mlp_forward(params, X, y, moving=ours_moving, eps=1e-3)
    ref = keras_mlp(X, y, params.W, params.b, params.gamma, params.beta, kmov[0], kmov[1], eps=1e-3, training=training)
    np.testing.assert_allclose(cache.logits, ref.logits, rtol=1e-12, atol=1e-12)
    assert loss == pytest.approx(ref.loss, rel=1e-12)
    if training:  # SGD differentiates the training-mode pass only
        grads = mlp_backward(cache)
        keras_arrays = list(ref.dW) + [v for v in ref.db if v is not None] + list(ref.dgamma) + list(ref.dbeta)
        for ours, theirs in zip(grads.arrays(), keras_arrays, strict=True):
            np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


def test_scale_invariance_of_first_layer_weights_with_bn():
    # With eps = 0, BN(a (cW)) = BN(a W) for c > 0, so L(cW) = L(W) and c dL/d(cW) = dL/dW (chapter 5).
    X, y = make_batch()
    params = make_params(True)
    c = 10.0
    scaled = type(params)((c * params.W[0],) + params.W[1:], params.b, params.gamma, params.beta)
    loss, cache = mlp_forward(params, X, y, eps=0.0)
    loss_c, cache_c = mlp_forward(scaled, X, y, eps=0.0)
    assert loss_c == pytest.approx(loss, rel=1e-13)
    np.testing.assert_allclose(c * mlp_backward(cache_c).W[0], mlp_backward(cache).W[0], rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize("eps", [0.0, 1e-3])
def test_the_networks_batchnorm_is_the_chapters(eps):
    # The network runs chapter 2's kernel without its argument checks: its sigmoid input is exactly
    # batchnorm_forward of the Dense output, with the same batch statistics. (Its gradients, through chapter
    # 3's kernel, are checked against finite differences and Keras above.)
    params, (X, y) = make_params(True), make_batch()
    _, cache = mlp_forward(params, X, y, eps=eps)
    z1 = X @ params.W[0]  # no hidden bias with BN
    s1, bn_cache = batchnorm_forward(z1, params.gamma[0], params.beta[0], eps=eps)
    np.testing.assert_array_equal(cache.sigmoid_inputs[0], s1)
    np.testing.assert_array_equal(cache.batch_stats[0][0], bn_cache.mu)
    np.testing.assert_array_equal(cache.batch_stats[0][1], bn_cache.var)


def test_moving_statistics_follow_the_first_layer_by_hand():
    X, y = make_batch(m=8)
    model = MLP(SIZES, batchnorm=True, init_scale=0.7, seed=1)
    z1 = X @ model.params.W[0]  # no hidden bias with BN
    model.train_step(X, y, lr=0.1)
    np.testing.assert_allclose(model.moving_mean[0], 0.01 * z1.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(model.moving_var[0], 0.99 + 0.01 * z1.var(axis=0), rtol=1e-12)
    assert model.steps == 1


@pytest.mark.parametrize("call, match", [
    (lambda: init_params((6, 3)), "at least one hidden layer"),
    (lambda: init_params((6, 0, 3)), "positive ints"),
    (lambda: init_params((6, 4, 1)), "2 classes"),
    (lambda: init_params(SIZES, init_scale=0.0), "init_scale"),
    (lambda: sgd_step(init_params(SIZES), init_params(SIZES), lr=-1.0), "lr"),
    (lambda: mlp_forward(init_params(SIZES), np.zeros((4, 5)), np.zeros(4, int)), "shape \\(m, 6\\)"),
    (lambda: mlp_forward(init_params(SIZES), np.zeros((4, 6)), np.array([0, 1, 2, 3])), "labels in \\[0, 3\\)"),
    (lambda: mlp_forward(init_params(SIZES), np.zeros((4, 6)), np.zeros(4)), "integer class labels"),
    (lambda: mlp_logits(init_params(SIZES, True), np.zeros((4, 6)), moving=((), ())), "moving"),
    (lambda: init_params(SIZES).from_vector(np.zeros(3)), "flat vector"),
    (lambda: landscape_probe(init_params(SIZES), *make_batch(), [0.1, -1.0]), "step_sizes"),
    (lambda: mlp_forward(init_params(SIZES, True), np.zeros((1, 6)), np.zeros(1, int)), "m >= 2"),
    (lambda: mlp_forward(init_params(SIZES, True), np.ones((4, 6)), np.zeros(4, int), eps=0.0), "variance 0"),
    (lambda: MLP(SIZES, batchnorm=True).train_step(np.zeros((1, 6)), np.zeros(1, int), 0.5), "m >= 2"),
    (lambda: MLP(SIZES).train_step(np.zeros((4, 6)), np.zeros(4, int), -0.5), "lr"),
])
def test_bad_inputs_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_backward_needs_a_training_mode_cache():
    p = init_params(SIZES, True)
    X, y = make_batch()
    moving = (tuple(np.zeros(n) for n in (5, 4)), tuple(np.ones(n) for n in (5, 4)))
    with pytest.raises(ValueError, match="training-mode"):
        mlp_backward(mlp_forward(p, X, y, moving=moving)[1])
    with pytest.raises(TypeError, match="MLPCache"):
        mlp_backward(mlp_logits(p, X)[1])
