"""Batch renormalization (Ioffe 2017): training with small or non-i.i.d. batches.

Plain batch normalization trains with the batch's mu_B and sigma_B but infers with moving
statistics; with small batches the two differ. Batch renormalization (Ioffe 2017, section 3,
Algorithm 1) keeps the training output close to the inference one with a per-feature correction
that is treated as a constant in backprop:

    sigma_B = sqrt(var_B + eps)
    r = clip(sigma_B / sigma, rmin, rmax)          d = clip((mu_B - mu) / sigma, -dmax, dmax)
    a_tilde = beta + gamma * ((a - mu_B) / sigma_B * r + d)

where mu and sigma are moving averages. With r = 1 and d = 0 (rmax = 1, dmax = 0) this is plain
BN; without clipping the output is exactly the inference output with (mu, sigma).

Keras 3's ``BatchNormalization(renorm=True, renorm_clipping={...}, renorm_momentum=...)``, which
bnlib matches, differs from the paper in two details: r and d are measured against a separate pair
(renorm_mean, renorm_stddev) averaged with ``renorm_momentum``, while inference uses (moving_mean,
moving_stddev) averaged with ``momentum`` and moving_variance = max(moving_stddev^2 - eps, 0); and a
missing rmin is 0 (the paper uses 1/rmax), rmax and dmax default to no clipping. sigma is floored at
sqrt(eps) before dividing.
"""

from dataclasses import dataclass

import numpy as np

from .backprop import batchnorm_backward_kernel
from .batchnorm import BNCache, batchnorm_forward_kernel, batchnorm_inference_kernel, moments_kernel
from .defaults import KERAS_EPS, KERAS_MOMENTUM, KERAS_RENORM_MOMENTUM
from .layer import moving_average
from .validation import (
    as_batch,
    as_upstream,
    check_batch_count,
    check_eps,
    check_int,
    check_momentum,
    check_number,
    check_param,
    check_renorm_clipping,
    check_variance,
    feature_axis,
    reduce_axes,
    result_dtype,
)

__all__ = ["BatchRenorm", "RenormCache", "batch_renorm_backward", "batch_renorm_forward", "batch_renorm_forward_kernel"]


@dataclass(frozen=True)
class RenormCache:
    """What a batch-renormalization training step computed.

    bn: the :class:`bnlib.BNCache` of the batch normalization it runs, with scale gamma * r and
        shift gamma * d + beta (holds a, the batch mu and var, a_std);
    gamma: (n,) the layer's scale;  r, d: (n,) the clipped corrections (constants in backprop).
    """

    bn: BNCache
    gamma: np.ndarray
    r: np.ndarray
    d: np.ndarray

    @property
    def mu(self):
        """(n,) the batch mean mu_B."""
        return self.bn.mu

    @property
    def var(self):
        """(n,) the biased batch variance."""
        return self.bn.var

    @property
    def std(self):
        """(n,) sigma_B = sqrt(var + eps)."""
        return np.sqrt(self.bn.var + self.bn.eps)


def batch_renorm_forward(a, gamma, beta, renorm_mean, renorm_std, rmax=None, rmin=None, dmax=None,
                         eps=KERAS_EPS, axis=-1):
    """Training-mode batch renormalization (Ioffe 2017, Algorithm 1), as Keras 3 computes it.

    a: (m, n) or (m, h, w, c), batch-first;  gamma, beta: (n,).
    renorm_mean, renorm_std: (n,) the moving mean and standard deviation r and d are measured
        against (Keras's renorm_mean and renorm_stddev; the paper's mu and sigma), renorm_std >= 0.
    rmax, rmin, dmax: the clipping of r to [rmin, rmax] and of d to [-dmax, dmax]; None is no
        bound (Keras's renorm_clipping keys; the paper sets rmin = 1/rmax).
    eps: float >= 0;  axis: the feature axis.
    Returns (out, RenormCache): out has a's shape,
        out = beta + gamma * ((a - mu_B) / sigma_B * r + d),  sigma_B = sqrt(var_B + eps),
        r = clip(sigma_B / s, rmin, rmax),  d = clip((mu_B - renorm_mean) / s, -dmax, dmax),
        s = max(renorm_std, sqrt(eps)).
    Raises ValueError for a batch with one value per feature, a negative renorm_std or bad
    clipping values (rmin > rmax, a negative bound). Source: Ioffe 2017, section 3.
    """
    arr = as_batch(a)
    ax = feature_axis(arr, axis)
    eps = check_eps(eps)
    g = check_param(gamma, "gamma", arr, ax, arr.dtype)
    b = check_param(beta, "beta", arr, ax, arr.dtype)
    mean = check_param(renorm_mean, "renorm_mean", arr, ax, arr.dtype)
    std = check_param(renorm_std, "renorm_std", arr, ax, arr.dtype)
    check_variance(std, "renorm_std", "a standard deviation")
    rmax, rmin, dmax = check_renorm_clipping(rmax, rmin, dmax)
    check_batch_count(arr, ax)
    out, cache = batch_renorm_forward_kernel(arr, g, b, mean, std, rmax, rmin, dmax, eps, ax)
    return out.astype(result_dtype(a, arr.dtype), copy=False), cache


def batch_renorm_forward_kernel(a, gamma, beta, renorm_mean, renorm_std, rmax, rmin, dmax, eps, axis):
    """:func:`batch_renorm_forward` without its checks; rmax, rmin, dmax are floats (inf, 0, inf: no clipping).

    gamma * (a_std * r + d) + beta is batch normalization with scale gamma * r and shift
    gamma * d + beta, so the BN kernel computes it (as Keras composes it).
    """
    mu, var = moments_kernel(a, reduce_axes(a, axis))
    mu, var = mu.ravel(), var.ravel()
    s = np.maximum(np.ravel(renorm_std), np.sqrt(eps))
    r = np.clip(np.sqrt(var + eps) / s, rmin, rmax)
    d = np.clip((mu - np.ravel(renorm_mean)) / s, -dmax, dmax)
    gamma = np.ravel(gamma)
    out, bn = batchnorm_forward_kernel(a, gamma * r, gamma * d + np.ravel(beta), eps, axis)
    return out, RenormCache(bn=bn, gamma=gamma, r=r, d=d)


def batch_renorm_backward(dout, cache):
    """Backward pass of :func:`batch_renorm_forward`, with r and d constants (Ioffe 2017, Algorithm 1).

    dout: dL/d(out), a's shape;  cache: the RenormCache of the forward pass.
    Returns (da, dgamma, dbeta): da has a's shape; dgamma, dbeta are (n,).
    da is batch normalization's backward pass with scale gamma * r (the gradient still flows through
    mu_B and sigma_B); dgamma = r * sum(dout * a_std) + d * sum(dout); dbeta = sum(dout).
    Raises TypeError for a cache that is not a RenormCache, ValueError for dout of the wrong shape.
    """
    if not isinstance(cache, RenormCache):
        raise TypeError(f"cache must be the RenormCache returned by batch_renorm_forward, got {type(cache).__name__}. "
                        "Run the forward pass first: out, cache = batch_renorm_forward(...).")
    da, dscale, dbeta = batchnorm_backward_kernel(as_upstream(dout, cache.bn.a), cache.bn)
    return da, cache.r * dscale + cache.d * dbeta, dbeta


class BatchRenorm:
    """A thin stateful batch-renormalization layer with Keras 3's ``renorm=True`` semantics.

    momentum: weight of the old moving_mean / moving_std (inference statistics; default 0.99).
    renorm_momentum: weight of the old renorm_mean / renorm_std (r and d; default 0.99).
    rmax, rmin, dmax: clipping as in :func:`batch_renorm_forward` (None: no bound).
    epsilon, axis: as :class:`bnlib.BatchNorm`.
    State, (n,) each, created on the first call: gamma = 1, beta = 0, moving_mean = renorm_mean = 0,
    moving_std = renorm_std = 1 and moving_var = 1. A training call runs
    :func:`batch_renorm_forward` with (renorm_mean, renorm_std), then moves both pairs toward
    (mu_B, sigma_B) and sets moving_var = max(moving_std^2 - eps, 0); inference is plain
    :func:`bnlib.batchnorm_inference` with (moving_mean, moving_var). Source: Ioffe 2017, Algorithm 1.
    """

    def __init__(self, momentum=KERAS_MOMENTUM, renorm_momentum=KERAS_RENORM_MOMENTUM, rmax=None, rmin=None,
                 dmax=None, epsilon=KERAS_EPS, axis=-1):
        self.momentum = check_momentum(momentum)
        self.renorm_momentum = check_number(renorm_momentum, "renorm_momentum", low=0, high=1,
                                            hint=f" (Keras's default is {KERAS_RENORM_MOMENTUM:g})")
        self.rmax, self.rmin, self.dmax = check_renorm_clipping(rmax, rmin, dmax)
        self.epsilon = check_eps(epsilon)
        self.axis = check_int(axis, "axis", hint=" naming the feature axis (default -1)")
        self.gamma = None

    def build(self, n, dtype=np.float64):
        """Create the (n,) weights with Keras's initial values."""
        n = check_int(n, "n", 1, ", the number of features")
        self.gamma, self.moving_var, self.moving_std, self.renorm_std = (np.ones(n, dtype) for _ in range(4))
        self.beta, self.moving_mean, self.renorm_mean = (np.zeros(n, dtype) for _ in range(3))

    def __call__(self, a, training=False):
        """Normalize ``a``; returns an array of a's shape (see the class docstring)."""
        if training is not None and not isinstance(training, (bool, np.bool_)):
            raise TypeError(f"training must be True, False or None, got {training!r}.")
        arr = as_batch(a)
        ax = feature_axis(arr, self.axis)
        if self.gamma is None:
            self.build(arr.shape[ax], dtype=arr.dtype)
        elif arr.shape[ax] != self.gamma.size:
            raise ValueError(
                f"the layer was built for {self.gamma.size} features but a has {arr.shape[ax]} on axis "
                f"{self.axis} (shape {arr.shape}); use a new layer for a different feature size."
            )
        if not training:
            out = batchnorm_inference_kernel(arr, self.moving_mean, self.moving_var, self.gamma, self.beta,
                                             self.epsilon, ax)
            return out.astype(result_dtype(a, arr.dtype), copy=False)
        check_batch_count(arr, ax)
        out, c = batch_renorm_forward_kernel(arr, self.gamma, self.beta, self.renorm_mean, self.renorm_std,
                                             self.rmax, self.rmin, self.dmax, self.epsilon, ax)
        self.renorm_mean = moving_average(self.renorm_mean, c.mu, self.renorm_momentum)
        self.renorm_std = moving_average(self.renorm_std, c.std, self.renorm_momentum)
        self.moving_mean = moving_average(self.moving_mean, c.mu, self.momentum)
        self.moving_std = moving_average(self.moving_std, c.std, self.momentum)
        self.moving_var = np.maximum(self.moving_std * self.moving_std - self.epsilon, 0.0)
        return out.astype(result_dtype(a, arr.dtype), copy=False)
