"""Per-replica and synchronized (cross-replica) batch statistics for data-parallel training.

With data parallelism each of R replicas holds a shard of m_k examples of the global batch. Plain BN
normalizes each shard with its own statistics; synchronized BN combines them into the statistics
of the whole batch of N = sum m_k examples. Means and biased variances combine exactly
(the parallel-variance formula of Chan, Golub & LeVeque 1979):

    mu  = (1/N) sum_k m_k mu_k
    var = (1/N) sum_k m_k (var_k + (mu_k - mu)^2)        (within- plus between-shard spread)

Keras's ``BatchNormalization(synchronized=True)`` all-reduces each replica's sum and sum of squares
instead, which is the same quantity computed another way; bnlib matches it (tested under
``tf.distribute.MirroredStrategy`` on two logical CPUs).
"""

import numpy as np

from .batchnorm import batchnorm_inference_kernel, moments_kernel
from .defaults import KERAS_EPS
from .validation import (
    as_batch,
    as_numeric,
    as_stat,
    check_eps,
    check_finite,
    check_param,
    check_variance,
    feature_axis,
    reduce_axes,
    result_dtype,
)

__all__ = ["combine_moments", "combine_moments_kernel", "replica_moments", "sync_batchnorm_forward"]


def replica_moments(shards, axis=-1):
    """Each replica's count, mean and biased variance.

    shards: a list of R arrays (m_k, n) or (m_k, h, w, c) with the same feature size n on ``axis``.
    Returns (counts (R,), means (R, n), variances (R, n)); counts are values per feature (m_k h w).
    Raises ValueError for an empty list or shards with different feature sizes.
    """
    arrs = _check_shards(shards, axis)
    return _replica_moments(arrs, axis)


def combine_moments(counts, means, variances):
    """Combine per-replica statistics into those of the concatenated batch (Chan et al. 1979).

    counts: (R,) values per feature on each replica, > 0;  means, variances: (R, n), variances >= 0.
    Returns (mu, var), each (n,): exactly the mean and biased variance of all sum(counts) values.
    Raises ValueError for mismatched shapes, a count <= 0 or a negative variance.
    """
    counts = as_stat(counts, "counts")
    if np.any(counts <= 0):
        raise ValueError("counts must be > 0 everywhere: each replica contributes at least one value per feature.")
    means, variances = (np.atleast_2d(as_numeric(x, name, " of shape (R, n)")).astype(np.float64)
                        for x, name in ((means, "means"), (variances, "variances")))
    if means.shape != variances.shape or means.shape[0] != counts.size:
        raise ValueError(
            f"means and variances must both have shape (R, n) with R = {counts.size} replicas (one row per "
            f"entry of counts), got {means.shape} and {variances.shape}."
        )
    check_finite(means, "means")
    check_finite(variances, "variances")
    check_variance(variances, "variances")
    return combine_moments_kernel(counts, means, variances)


def combine_moments_kernel(counts, means, variances):
    """:func:`combine_moments` without its checks: counts (R,), means and variances (R, n)."""
    w = counts[:, None] / counts.sum()
    mu = (w * means).sum(axis=0)
    return mu, (w * (variances + (means - mu) ** 2)).sum(axis=0)


def sync_batchnorm_forward(shards, gamma, beta, eps=KERAS_EPS, axis=-1):
    """Synchronized batch normalization: every shard normalized with the global batch's statistics.

    shards: list of R arrays (m_k, n) or (m_k, h, w, c), one per replica;  gamma, beta: (n,).
    Returns (outs, mu, var): outs a list of R arrays of the shards' shapes; mu, var (n,) the
    combined statistics, equal to :func:`bnlib.batchnorm_forward` on the concatenated batch
    (whose output, split back into shards, is ``outs``).
    Raises ValueError as :func:`replica_moments`, or if the whole batch has one value per feature.
    Source: cross-GPU batch normalization, Peng et al. 2018 (MegDet); the combination, Chan et al. 1979.
    """
    arrs = _check_shards(shards, axis)
    ax = feature_axis(arrs[0], axis)
    eps = check_eps(eps)
    g = check_param(gamma, "gamma", arrs[0], ax, arrs[0].dtype)
    b = check_param(beta, "beta", arrs[0], ax, arrs[0].dtype)
    counts, means, variances = _replica_moments(arrs, ax)
    if counts.sum() < 2:
        raise ValueError("the replicas hold 1 value per feature in all: the variance is 0 and every output "
                         "would equal beta. Use more examples per replica.")
    mu, var = combine_moments_kernel(counts, means, variances)
    outs = [batchnorm_inference_kernel(x, mu, var, g, b, eps, ax).astype(result_dtype(s, x.dtype), copy=False)
            for x, s in zip(arrs, shards, strict=True)]
    return outs, mu, var


def _check_shards(shards, axis):
    if not isinstance(shards, (list, tuple)) or len(shards) == 0:
        raise ValueError("shards must be a non-empty list of arrays, one per replica, e.g. np.array_split(a, 2).")
    arrs = [as_batch(s, f"shards[{k}]") for k, s in enumerate(shards)]
    n = {x.shape[feature_axis(x, axis)] for x in arrs}
    if len(n) > 1 or len({x.shape[1:] for x in arrs}) > 1:
        raise ValueError(f"the shards must differ only in their batch size m_k, got shapes {[x.shape for x in arrs]}.")
    return arrs


def _replica_moments(arrs, axis):
    ax = feature_axis(arrs[0], axis)
    stats = [moments_kernel(x, reduce_axes(x, ax)) for x in arrs]
    counts = np.array([x.size // x.shape[ax] for x in arrs], dtype=float)
    return counts, np.stack([m.ravel() for m, _ in stats]), np.stack([v.ravel() for _, v in stats])
