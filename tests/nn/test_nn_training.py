"""bnlib.nn.training: train and sweep on the digits, deterministic and doing what they record."""

import dataclasses

import numpy as np
import pytest

from bnlib import load_digits, mlp_logits, sweep, train


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
