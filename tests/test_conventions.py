"""bnlib.conventions (chapter 4): Keras's, PyTorch's and the paper's statistics for inference."""

import numpy as np
import pytest

from bnlib import (
    keras_moving_stats,
    paper_population_stats,
    torch_running_stats,
    torch_update_running_stats,
    update_moving_stats,
)
from bnlib.keras_ref import keras_batchnorm_steps

TIGHT = {"rtol": 1e-10, "atol": 1e-10}


def random_batches(seed, k, m, n, loc=3.0, scale=2.0):
    rng = np.random.default_rng(seed)
    return [rng.normal(loc, scale, size=(m, n)) for _ in range(k)]


@pytest.mark.keras
def test_keras_moving_stats_equal_keras_layer_after_the_same_calls():
    batches = random_batches(7, 20, 10, 2)
    keras_steps = keras_batchnorm_steps(batches)
    mean, var = keras_moving_stats(batches)
    assert mean.shape == var.shape == (20, 2)
    np.testing.assert_allclose(mean, [k.moving_mean for k in keras_steps], **TIGHT)
    np.testing.assert_allclose(var, [k.moving_variance for k in keras_steps], **TIGHT)


def test_torch_running_stats_closed_form():
    # PyTorch docs: x_new = (1 - momentum) * x_old + momentum * x_t, unbiased variance, start 0 and 1.
    batches = random_batches(8, 12, 5, 3)
    p, t = 0.1, len(batches)
    w = p * (1 - p) ** np.arange(t - 1, -1, -1)
    mean, var = (x[-1] for x in torch_running_stats(batches))
    np.testing.assert_allclose(mean, w @ np.array([b.mean(axis=0) for b in batches]), rtol=1e-12)
    unbiased = np.array([b.var(axis=0, ddof=1) for b in batches])
    np.testing.assert_allclose(var, (1 - p) ** t + w @ unbiased, rtol=1e-12)


def test_torch_cumulative_average_is_the_paper_algorithm_2():
    batches = random_batches(9, 15, 6, 2)
    torch_mean, torch_var = (x[-1] for x in torch_running_stats(batches, momentum=None))
    paper_mean, paper_var = paper_population_stats(batches)
    np.testing.assert_allclose(torch_mean, paper_mean, rtol=1e-12)
    np.testing.assert_allclose(torch_var, paper_var, rtol=1e-12)
    np.testing.assert_allclose(paper_mean, np.mean([b.mean(axis=0) for b in batches], axis=0), rtol=1e-12)
    np.testing.assert_allclose(paper_var, np.mean([b.var(axis=0, ddof=1) for b in batches], axis=0), rtol=1e-12)


def test_torch_momentum_is_one_minus_keras_momentum_up_to_bessel():
    rng = np.random.default_rng(10)
    a = rng.normal(size=(8, 2))
    old = (rng.normal(size=2), rng.uniform(1, 2, size=2))
    t_mean, t_var = torch_update_running_stats(*old, a.mean(axis=0), a.var(axis=0), m=8, momentum=0.1)
    k_mean, k_var = update_moving_stats(*old, a.mean(axis=0), a.var(axis=0, ddof=1), momentum=0.9)
    np.testing.assert_allclose(t_mean, k_mean, rtol=1e-12)
    np.testing.assert_allclose(t_var, k_var, rtol=1e-12)


@pytest.mark.keras
def test_conventions_bad_input():
    with pytest.raises(ValueError, match="non-empty list"):
        keras_moving_stats([])
    with pytest.raises(ValueError, match="same feature size"):
        torch_running_stats([np.ones((4, 2)), np.ones((4, 3))])
    with pytest.raises(ValueError, match="same size m"):
        paper_population_stats([np.ones((4, 2)), np.ones((5, 2))])
    with pytest.raises(ValueError, match="m must be an int >= 2"):
        torch_update_running_stats([0.0], [1.0], [0.0], [0.0], m=1)
