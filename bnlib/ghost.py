"""Ghost batch normalization (Hoffer, Hubara & Soudry 2017): statistics over virtual sub-batches.

With a large batch, BN's statistics become nearly deterministic and lose the regularizing noise of
small batches. Ghost batch normalization (Hoffer et al. 2017, Algorithm 1) splits a batch
of m examples into m / v "ghost" batches of v consecutive examples and normalizes each with its own
mean and biased variance: it is plain batch normalization applied to each chunk, which is exactly
how bnlib computes it (the kernel of :func:`bnlib.batchnorm_forward`, once per chunk).

Keras 3's BatchNormalization has no ``virtual_batch_size`` (Keras 2 had one, which also required v
to divide m, and updated the moving statistics once per call with the average over the ghost
batches of their means and of their variances); the reference is Keras's layer called on each chunk.
"""

from dataclasses import dataclass

import numpy as np

from .batchnorm import BNCache, batchnorm_forward_kernel
from .defaults import KERAS_EPS
from .validation import (
    as_batch,
    check_batch_count,
    check_eps,
    check_int,
    check_param,
    feature_axis,
    result_dtype,
)

__all__ = ["GhostBNCache", "ghost_batchnorm_forward", "ghost_batchnorm_forward_kernel"]


@dataclass(frozen=True)
class GhostBNCache:
    """The per-ghost-batch caches of a ghost batch normalization: ``caches[k]`` is chunk k's BNCache."""

    caches: tuple[BNCache, ...]

    @property
    def mu(self):
        """(g, n): the mean of each of the g ghost batches."""
        return np.stack([c.mu for c in self.caches])

    @property
    def var(self):
        """(g, n): the biased variance of each ghost batch."""
        return np.stack([c.var for c in self.caches])


def ghost_batchnorm_forward(a, gamma, beta, virtual_batch_size, eps=KERAS_EPS, axis=-1):
    """Training-mode ghost batch normalization: BN over each block of ``virtual_batch_size`` examples.

    a: (m, n) or (m, h, w, c), batch-first;  gamma, beta: (n,), shared by every ghost batch.
    virtual_batch_size: v, an int that divides m; examples k*v ... (k+1)*v - 1 form ghost batch k.
    eps, axis: as :func:`bnlib.batchnorm_forward`.
    Returns (out, GhostBNCache): out has a's shape, out[k*v:(k+1)*v] = BN(a[k*v:(k+1)*v]);
    the cache holds each ghost batch's mu and var, shape (g, n) with g = m / v.
    With v = m it is :func:`bnlib.batchnorm_forward`.
    Raises TypeError for a non-int v, ValueError when v does not divide m (the message lists the
    divisors) or a ghost batch has one value per feature.
    Source: Hoffer, Hubara & Soudry 2017, "Train longer, generalize better", Algorithm 1.
    """
    arr = as_batch(a)
    ax = feature_axis(arr, axis)
    eps = check_eps(eps)
    g = check_param(gamma, "gamma", arr, ax, arr.dtype)
    b = check_param(beta, "beta", arr, ax, arr.dtype)
    m = arr.shape[0]
    v = check_int(virtual_batch_size, "virtual_batch_size", 1, f" that divides the batch size m = {m}")
    if m % v:
        divisors = [d for d in range(1, m + 1) if m % d == 0]
        raise ValueError(f"virtual_batch_size={v} does not divide the batch size m = {m}: every ghost batch "
                         f"needs the same number of examples. Choose one of {divisors}.")
    check_batch_count(arr[:v], ax, fix="Use a larger virtual_batch_size.")
    out, cache = ghost_batchnorm_forward_kernel(arr, g, b, v, eps, ax)
    return out.astype(result_dtype(a, arr.dtype), copy=False), cache


def ghost_batchnorm_forward_kernel(a, gamma, beta, virtual_batch_size, eps, axis):
    """:func:`ghost_batchnorm_forward` without its checks: the BN kernel on each chunk of v examples."""
    chunks = [batchnorm_forward_kernel(chunk, gamma, beta, eps, axis)
              for chunk in np.split(a, a.shape[0] // virtual_batch_size)]
    return np.concatenate([out for out, _ in chunks]), GhostBNCache(tuple(c for _, c in chunks))
