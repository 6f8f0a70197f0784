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

from .batchnorm import batchnorm_inference_kernel, broadcast_shape, moments_kernel
from .defaults import KERAS_EPS, KERAS_MOMENTUM, KERAS_RENORM_MOMENTUM
from .layer import moving_average
from .validation import (
    as_batch,
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

__all__ = ["BatchRenorm", "RenormCache", "batch_renorm_forward", "batch_renorm_forward_kernel"]


@dataclass(frozen=True)
class RenormCache:
    """What a batch-renormalization training step computed, per feature (all (n,)).

    mu, var: the batch mean and biased variance;  std: sqrt(var + eps), the batch's sigma_B;
    r, d: the clipped corrections (constants in backprop).
    """

    mu: np.ndarray
    var: np.ndarray
    std: np.ndarray
    r: np.ndarray
    d: np.ndarray


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
    check_variance(std, "renorm_std")
    rmax, rmin, dmax = check_renorm_clipping(rmax, rmin, dmax)
    check_batch_count(arr, ax)
    out, cache = batch_renorm_forward_kernel(arr, g, b, mean, std, rmax, rmin, dmax, eps, ax)
    return out.astype(result_dtype(a, arr.dtype), copy=False), cache


def batch_renorm_forward_kernel(a, gamma, beta, renorm_mean, renorm_std, rmax, rmin, dmax, eps, axis):
    """:func:`batch_renorm_forward` without its checks; rmax, rmin, dmax are floats (inf, 0, inf: no clipping)."""
    bshape = broadcast_shape(a, axis)
    mu, var = moments_kernel(a, reduce_axes(a, axis))
    std = np.sqrt(var + eps)
    s = np.maximum(np.reshape(renorm_std, bshape), np.sqrt(eps))
    r = np.clip(std / s, rmin, rmax)
    d = np.clip((mu - np.reshape(renorm_mean, bshape)) / s, -dmax, dmax)
    gamma = np.reshape(gamma, bshape)
    out = (a - mu) / std * (r * gamma) + (d * gamma + np.reshape(beta, bshape))
    cache = RenormCache(mu=mu.ravel(), var=var.ravel(), std=std.ravel(), r=r.ravel(), d=d.ravel())
    return out.astype(a.dtype, copy=False), cache


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
