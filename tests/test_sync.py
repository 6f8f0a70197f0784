"""bnlib.sync: per-replica statistics combined exactly; synchronized BN against Keras under MirroredStrategy."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bnlib import batchnorm_forward, combine_moments, replica_moments, sync_batchnorm_forward
from bnlib.keras_ref import keras_replica_batchnorm, start_replica_batchnorm


@settings(max_examples=50, deadline=None)
@given(sizes=st.lists(st.integers(1, 7), min_size=1, max_size=5), n=st.integers(1, 3),
       seed=st.integers(0, 2**16))
def test_combined_moments_are_those_of_the_concatenated_batch(sizes, n, seed):
    rng = np.random.default_rng(seed)
    shards = [rng.normal(rng.normal() * 5, rng.uniform(0.1, 3), size=(m, n)) for m in sizes]
    mu, var = combine_moments(*replica_moments(shards))
    whole = np.concatenate(shards)
    np.testing.assert_allclose(mu, whole.mean(axis=0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(var, whole.var(axis=0), rtol=1e-10, atol=1e-12)


def test_averaging_replica_variances_misses_the_spread_between_replicas():
    shards = [np.array([[0.0], [2.0]]), np.array([[10.0], [12.0]])]
    counts, means, variances = replica_moments(shards)
    mu, var = combine_moments(counts, means, variances)
    assert variances.mean() == pytest.approx(1.0) and var == pytest.approx([26.0])  # 1 + 5^2
    assert mu == pytest.approx([6.0])


def test_sync_output_is_batchnorm_of_the_concatenated_batch_split_back():
    rng = np.random.default_rng(1)
    shards = [rng.normal(0, 1, size=(3, 2, 2, 4)), rng.normal(2, 3, size=(5, 2, 2, 4))]
    gamma, beta = rng.normal(size=4), rng.normal(size=4)
    outs, mu, var = sync_batchnorm_forward(shards, gamma, beta)
    whole, cache = batchnorm_forward(np.concatenate(shards), gamma, beta)
    np.testing.assert_allclose(np.concatenate(outs), whole, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(var, cache.var, rtol=1e-12)


@pytest.mark.keras
@pytest.mark.slow
def test_keras_synchronized_and_per_replica_layers_under_mirrored_strategy():
    rng = np.random.default_rng(2)
    shards = [rng.normal(0.0, 1.0, size=(4, 3)), rng.normal(3.0, 2.0, size=(6, 3))]
    synced = keras_replica_batchnorm(shards, synchronized=True)
    outs, mu, var = sync_batchnorm_forward(shards, np.ones(3), np.zeros(3))
    for ours, theirs in zip(outs, synced.outs, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(synced.moving_mean, 0.01 * mu, rtol=1e-9)
    np.testing.assert_allclose(synced.moving_variance, 0.99 + 0.01 * var, rtol=1e-9)

    local = keras_replica_batchnorm(shards, synchronized=False)
    for shard, theirs in zip(shards, local.outs, strict=True):
        np.testing.assert_allclose(batchnorm_forward(shard, np.ones(3), np.zeros(3))[0], theirs, rtol=1e-9,
                                   atol=1e-9)
    # unsynchronized, the mirrored moving statistics keep the first replica's update only
    _, first = batchnorm_forward(shards[0], np.ones(3), np.zeros(3))
    np.testing.assert_allclose(local.moving_mean, 0.01 * first.mu, rtol=1e-9)
    np.testing.assert_allclose(local.moving_variance, 0.99 + 0.01 * first.var, rtol=1e-9)


def test_bad_shards_and_statistics_get_clear_errors():
    with pytest.raises(ValueError, match=r"np.array_split\(a, 2\)"):
        sync_batchnorm_forward(np.ones((4, 2)), [1.0, 1.0], [0.0, 0.0])
    a = np.random.default_rng(3).normal(size=(4, 2))
    outs, _, _ = sync_batchnorm_forward(np.array_split(a, 2), [1.0, 1.0], [0.0, 0.0])
    np.testing.assert_allclose(np.concatenate(outs), batchnorm_forward(a, [1.0, 1.0], [0.0, 0.0])[0])
    with pytest.raises(ValueError, match="differ only in their batch size"):
        replica_moments([np.ones((2, 2)), np.ones((2, 3))])
    with pytest.raises(ValueError, match="counts must be > 0"):
        combine_moments([2, 0], [[0.0], [1.0]], [[1.0], [1.0]])
    with pytest.raises(ValueError, match=r"shape \(R, n\) with R = 2"):
        combine_moments([2, 2], [[0.0]], [[1.0]])
    with pytest.raises(ValueError, match="variances must be >= 0"):
        combine_moments([2, 2], [[0.0], [1.0]], [[1.0], [-1.0]])


def test_start_replica_batchnorm_needs_a_tuple_of_flags():
    with pytest.raises(ValueError, match=r"non-empty tuple of bools, e.g. \(True, False\)"):
        start_replica_batchnorm([np.ones((2, 1)), np.ones((2, 1))], synchronized=True)
