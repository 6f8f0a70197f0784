"""bnlib.ghost: ghost batch normalization, equal to BN over each chunk (numpy by hand and Keras per chunk)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bnlib import batchnorm_forward, ghost_batchnorm_forward
from bnlib.keras_ref import keras, keras_batchnorm, keras_ghost_batchnorm


def test_each_ghost_batch_is_standardized_with_its_own_statistics_by_hand():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(12, 3)) + np.repeat([[0.0], [5.0], [-3.0]], 4, axis=0)  # ghost batches differ
    out, cache = ghost_batchnorm_forward(a, np.ones(3), np.zeros(3), virtual_batch_size=4, eps=0.0)
    for k in range(3):
        chunk = a[4 * k:4 * k + 4]
        np.testing.assert_allclose(out[4 * k:4 * k + 4], (chunk - chunk.mean(0)) / chunk.std(0), rtol=1e-12)
        np.testing.assert_allclose(cache.mu[k], chunk.mean(axis=0), rtol=1e-12)
    assert cache.mu.shape == cache.var.shape == (3, 3)
    # unlike BN over the whole batch, which mixes the three groups
    assert np.abs(out - batchnorm_forward(a, np.ones(3), np.zeros(3), eps=0.0)[0]).max() > 0.5


def test_one_ghost_batch_is_batch_normalization():
    a = np.random.default_rng(1).normal(size=(6, 2, 2, 3))
    g, b = np.array([1.0, -2.0, 0.5]), np.array([0.0, 1.0, 2.0])
    np.testing.assert_array_equal(ghost_batchnorm_forward(a, g, b, 6)[0], batchnorm_forward(a, g, b)[0])


@pytest.mark.keras
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(g=st.integers(1, 4), v=st.integers(2, 5), n=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_property_equals_keras_batchnorm_on_each_chunk(g, v, n, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(1.0, 2.0, size=(g * v, n))
    gamma, beta = rng.normal(size=n), rng.normal(size=n)
    out, cache = ghost_batchnorm_forward(a, gamma, beta, v)
    for k in range(g):
        ref = keras_batchnorm(a[k * v:(k + 1) * v], gamma=gamma, beta=beta)
        np.testing.assert_allclose(out[k * v:(k + 1) * v], ref.out, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(0.99 + 0.01 * cache.var[k], ref.moving_variance, rtol=1e-12)


@pytest.mark.keras
def test_keras_3_has_no_virtual_batch_size():
    with pytest.raises((TypeError, ValueError), match="virtual_batch_size"):
        keras().layers.BatchNormalization(virtual_batch_size=4)
    # the chapter shows the same error through the reference
    with pytest.raises(ValueError, match="Unrecognized keyword arguments.*virtual_batch_size"):
        keras_ghost_batchnorm(np.ones((8, 2)), virtual_batch_size=4)


def test_virtual_batch_size_that_does_not_divide_m_gets_the_divisors():
    a = np.random.default_rng(2).normal(size=(12, 1))
    with pytest.raises(ValueError, match=r"virtual_batch_size=5 does not divide .* m = 12.*\[1, 2, 3, 4, 6, 12\]"):
        ghost_batchnorm_forward(a, [1.0], [0.0], 5)
    ghost_batchnorm_forward(a, [1.0], [0.0], 6)
    with pytest.raises(ValueError, match="at least 2 values per feature.*larger virtual_batch_size"):
        ghost_batchnorm_forward(a, [1.0], [0.0], 1)
    with pytest.raises(TypeError, match="virtual_batch_size must be a positive int"):
        ghost_batchnorm_forward(a, [1.0], [0.0], 4.0)
