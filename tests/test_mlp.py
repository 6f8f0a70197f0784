"""bnlib.mlp against finite differences, Keras (forward pass, loss and gradients) and hand derivations."""

import dataclasses
import warnings

import numpy as np
import pytest

from bnlib.backprop import batchnorm_backward
from bnlib.batchnorm import batchnorm_forward
from bnlib.data import load_digits
from bnlib.keras_ref import keras_mlp
from bnlib.mlp import (
    MLP,
    _bn_train_backward,
    _bn_train_forward,
    init_params,
    landscape_probe,
    mlp_backward,
    mlp_forward,
    mlp_logits,
    sgd_step,
    sigmoid_forward,
    softmax_cross_entropy_forward,
    sweep,
    train,
)

SIZES = (6, 5, 4, 3)


def _batch(m=7, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(m, SIZES[0])), rng.integers(0, SIZES[-1], size=m)


def _params(batchnorm, seed=1):
    # Non-trivial gamma, beta and biases, so that no gradient is special-cased by a starting value.
    p = init_params(SIZES, batchnorm=batchnorm, init_scale=0.7, seed=seed)
    rng = np.random.default_rng(seed + 10)
    return p.map(lambda x: x + 0.3 * rng.normal(size=x.shape))


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
    X, y = _batch()
    params = _params(batchnorm)
    loss, cache = mlp_forward(params, X, y, eps=1e-3)
    analytic = mlp_backward(cache).vector()
    numeric = _numeric_grad(params, X, y, eps=1e-3)
    # Central differences in float64 with h = 1e-6: truncation ~1e-12, rounding ~1e-10.
    rel = np.linalg.norm(analytic - numeric) / np.linalg.norm(analytic + numeric)
    assert rel < 1e-7
    np.testing.assert_allclose(analytic, numeric, atol=1e-8)


@pytest.mark.parametrize("batchnorm", [False, True])
@pytest.mark.parametrize("training", [True, False])
def test_forward_loss_and_gradients_match_keras(batchnorm, training):
    X, y = _batch(m=9, seed=3)
    params = _params(batchnorm, seed=4)
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


def test_bn_network_has_no_hidden_biases_and_same_initial_weights():
    plain, bn = init_params(SIZES, False, seed=2), init_params(SIZES, True, seed=2)
    for w1, w2 in zip(plain.W, bn.W, strict=True):
        np.testing.assert_array_equal(w1, w2)
    assert bn.b[:-1] == (None, None) and bn.b[-1] is not None
    assert [g.tolist() for g in bn.gamma] == [[1.0] * 5, [1.0] * 4]


def test_scale_invariance_of_first_layer_weights_with_bn():
    # With eps = 0, BN(a (cW)) = BN(a W) for c > 0, so L(cW) = L(W) and c dL/d(cW) = dL/dW (chapter 5).
    X, y = _batch()
    params = _params(True)
    c = 10.0
    scaled = type(params)((c * params.W[0],) + params.W[1:], params.b, params.gamma, params.beta)
    loss, cache = mlp_forward(params, X, y, eps=0.0)
    loss_c, cache_c = mlp_forward(scaled, X, y, eps=0.0)
    assert loss_c == pytest.approx(loss, rel=1e-13)
    np.testing.assert_allclose(c * mlp_backward(cache_c).W[0], mlp_backward(cache).W[0], rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize("eps", [0.0, 1e-3])
def test_trainer_batchnorm_matches_the_chapter_functions(eps):
    # The trainer's check-free BN pair against chapter 2's forward and chapter 3's node-by-node backward.
    rng = np.random.default_rng(7)
    z, dout = rng.normal(2.0, 3.0, size=(9, 4)), rng.normal(size=(9, 4))
    gamma, beta = rng.normal(size=4), rng.normal(size=4)
    out, stats = _bn_train_forward(z, gamma, beta, eps)
    ref_out, ref_cache = batchnorm_forward(z, gamma, beta, eps=eps)
    np.testing.assert_allclose(out, ref_out, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(stats.mu, ref_cache.mu, rtol=1e-13)
    np.testing.assert_allclose(stats.var, ref_cache.var, rtol=1e-13)
    for ours, ref in zip(_bn_train_backward(dout, stats), batchnorm_backward(dout, ref_cache), strict=True):
        np.testing.assert_allclose(ours, ref, rtol=1e-11, atol=1e-13)


def test_sigmoid_is_stable_and_matches_the_textbook_formula():
    s = np.array([-1000.0, -30.0, -1.0, 0.0, 2.5, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning would land on a notebook's stderr
        a, _ = sigmoid_forward(s)
    np.testing.assert_allclose(a[1:-1], 1.0 / (1.0 + np.exp(-s[1:-1])), rtol=1e-14, atol=1e-300)
    assert a[0] == 0.0 and a[-1] == 1.0


def test_cross_entropy_by_hand_and_large_logits():
    logits = np.array([[0.0, np.log(3.0)], [1000.0, 0.0]])
    loss, _ = softmax_cross_entropy_forward(logits, np.array([1, 0]))
    # -log(3/4) for the first row, -log(1) = 0 for the second: mean -log(3/4)/2
    assert loss == pytest.approx(-np.log(0.75) / 2, rel=1e-14)


def test_moving_statistics_follow_the_first_layer_by_hand():
    X, y = _batch(m=8)
    model = MLP(SIZES, batchnorm=True, init_scale=0.7, seed=1)
    z1 = X @ model.params.W[0]  # no hidden bias with BN
    model.train_step(X, y, lr=0.1)
    np.testing.assert_allclose(model.moving_mean[0], 0.01 * z1.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(model.moving_var[0], 0.99 + 0.01 * z1.var(axis=0), rtol=1e-12)
    assert model.steps == 1


def test_sgd_step_returns_new_params():
    p = init_params(SIZES, seed=0)
    g = p.map(np.ones_like)
    q = sgd_step(p, g, 0.5)
    np.testing.assert_allclose(q.W[0], p.W[0] - 0.5)
    assert not np.array_equal(q.W[0], p.W[0])


def test_landscape_probe_first_order_and_definitions():
    X, y = _batch()
    params = _params(True)
    loss0, cache = mlp_forward(params, X, y)
    g = mlp_backward(cache).vector()
    eta = 1e-6
    probe = landscape_probe(params, X, y, [eta, 1e-1])
    # Taylor: L(theta - eta g) = L(theta) - eta |g|^2 + O(eta^2)
    assert probe.losses[0] == pytest.approx(loss0 - eta * g @ g, abs=1e-10)
    assert probe.loss_range == pytest.approx(max(probe.losses.max(), loss0) - min(probe.losses.min(), loss0))
    moved = params.from_vector(params.vector() - 0.1 * g)
    g1 = mlp_backward(mlp_forward(moved, X, y)[1]).vector()
    assert probe.grad_change >= np.linalg.norm(g1 - g) - 1e-15
    assert probe.smoothness >= np.linalg.norm(g1 - g) / (0.1 * np.linalg.norm(g)) - 1e-12


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def test_training_is_deterministic_and_seed_dependent(digits):
    _, h1 = train(digits, True, 60, 0.5, record_every=20)
    _, h2 = train(digits, True, 60, 0.5, record_every=20)
    _, h3 = train(digits, True, 60, 0.5, record_every=20, seed=1)
    np.testing.assert_array_equal(h1.test_accuracy, h2.test_accuracy)
    np.testing.assert_array_equal(h1.percentiles, h2.percentiles)
    np.testing.assert_array_equal(h1.loss, h2.loss)
    assert not np.array_equal(h1.loss, h3.loss)
    np.testing.assert_array_equal(h1.steps, [0, 20, 40, 60])
    assert h1.percentiles.shape == (4, 3, 3)


@pytest.mark.parametrize("batchnorm", [False, True])
def test_training_reduces_loss(digits, batchnorm):
    model, h = train(digits, batchnorm, 300, 2.0, init_scale=0.5, record_every=100)
    assert h.loss[-1] < 0.5 * h.loss[0]
    assert h.test_accuracy[-1] > 0.8 > h.test_accuracy[0]
    assert model.accuracy(digits.X_test, digits.y_test) == h.test_accuracy[-1]


def test_percentiles_are_of_the_recorded_unit(digits):
    model, h = train(digits, False, 10, 0.5, record_every=10, unit=3, probe_size=100)
    s = mlp_logits(model.params, digits.X_train[:100])[1].sigmoid_inputs
    np.testing.assert_allclose(h.percentiles[-1, 2], np.percentile(s[2][:, 3], [15, 50, 85]))


def test_sweep_reports_the_final_accuracy_and_the_last_tenth_loss(digits):
    result = sweep(digits, "lr", [0.5], steps=20, init_scale=0.5)
    for j, bn in enumerate((False, True)):
        # Recording every 2 steps, train's last loss entry averages steps 18 and 19: the last tenth.
        _, h = train(digits, bn, 20, 0.5, init_scale=0.5, record_every=2)
        assert result.accuracy[0, j] == h.test_accuracy[-1]
        assert result.loss[0, j] == pytest.approx(h.loss[-1], rel=1e-15)


def test_probe_hook_and_sweep(digits):
    _, h = train(digits, False, 20, 0.5, record_every=10, probe=lambda model, X, y: (model.steps, len(y)))
    assert h.probes == ((0, 60), (10, 60), (20, 60))
    result = sweep(digits, "lr", [0.5, 1.0], steps=20)
    _, h_bn = train(digits, True, 20, 1.0, record_every=20)
    assert result.accuracy.shape == (2, 2) and result.accuracy[1, 1] == h_bn.test_accuracy[-1]


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
    (lambda: landscape_probe(init_params(SIZES), *_batch(), [0.1, -1.0]), "step_sizes"),
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
    X, y = _batch()
    moving = (tuple(np.zeros(n) for n in (5, 4)), tuple(np.ones(n) for n in (5, 4)))
    with pytest.raises(ValueError, match="training-mode"):
        mlp_backward(mlp_forward(p, X, y, moving=moving)[1])
    with pytest.raises(TypeError, match="MLPCache"):
        mlp_backward(mlp_logits(p, X)[1])


def test_bad_training_arguments(digits):
    with pytest.raises(ValueError, match="at least 2 examples"):
        train(digits, True, 10, 0.5, batch_size=1)
    with pytest.raises(ValueError, match="unit"):
        train(digits, False, 10, 0.5, unit=100)
    with pytest.raises(ValueError, match="steps"):
        train(digits, False, 0, 0.5)
    with pytest.raises(ValueError, match="cannot be swept"):
        sweep(digits, "steps", [1, 2], steps=10, lr=0.5)
    with pytest.raises(ValueError, match="record_every"):
        sweep(digits, "lr", [0.5], steps=10, record_every=5)
    with pytest.raises(ValueError, match="test set is not usable"):
        train(dataclasses.replace(digits, y_test=digits.y_test.astype(float)), False, 10, 0.5)
    with pytest.raises(TypeError, match="lr"):
        train(digits, False, 10, "fast")
