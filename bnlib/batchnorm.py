"""Batch normalization, forward pass, in training and inference mode (chapters 2 and 4).

For one unit j of layer l-1 and a batch of m examples (the notes' notation):

    mu_j      = (1/m) sum_i a_j^(i)
    sigma^2_j = (1/m) sum_i (a_j^(i) - mu_j)^2          (biased, as Keras)
    a_std_j^(i) = (a_j^(i) - mu_j) / sqrt(sigma^2_j + eps)
    a_tilde_j^(i) = beta_j + gamma_j * a_std_j^(i)

Pure functions: no state. The moving statistics live in :class:`bnlib.BatchNorm`.
Each public function checks its arguments (:mod:`bnlib.validation`) and then calls its kernel, which
computes without checking; the layer of chapter 4 and the network of chapters 5 and 6 call the kernels
directly, having checked their own inputs once.
"""

from dataclasses import dataclass

import numpy as np

from .defaults import KERAS_EPS
from .validation import (
    as_batch,
    check_batch_count,
    check_eps,
    check_param,
    check_variance,
    check_zero_variance,
    feature_axis,
    reduce_axes,
)

__all__ = [
    "BNCache",
    "batchnorm_forward",
    "batchnorm_forward_kernel",
    "batchnorm_inference",
    "batchnorm_inference_kernel",
    "broadcast_shape",
]


def broadcast_shape(a, axis):
    """The shape that broadcasts a per-feature (n,) array against ``a`` along ``axis``: (1, n) for (m, n)."""
    shape = [1] * a.ndim
    shape[axis] = a.shape[axis]
    return tuple(shape)


@dataclass(frozen=True)
class BNCache:
    """What the backward pass needs from a training-mode forward pass.

    a:      (m, n) or (m, h, w, c), the input (as a float array)
    mu:     (n,) batch mean;  var: (n,) biased batch variance
    a_std:  same shape as a, the standardized input
    gamma:  (n,) scale;  eps: float;  axis: int, the feature axis (non-negative)
    """

    a: np.ndarray
    mu: np.ndarray
    var: np.ndarray
    a_std: np.ndarray
    gamma: np.ndarray
    eps: float
    axis: int

    @property
    def reduce_axes(self):
        """Axes the statistics were taken over: every axis but ``axis``."""
        return reduce_axes(self.a, self.axis)

    @property
    def bshape(self):
        """Shape that broadcasts a (n,) parameter against ``a``."""
        return broadcast_shape(self.a, self.axis)


def batchnorm_forward(a, gamma, beta, eps=KERAS_EPS, axis=-1):
    """Training-mode batch normalization with the batch's own statistics.

    a:     (m, n) dense or (m, h, w, c) images, batch-first.
    gamma: (n,) scale, one per feature;  beta: (n,) shift.
    eps:   float >= 0 added to the variance inside the square root (Keras's default 1e-3).
    axis:  int, the feature axis (default -1); statistics over every other axis.
    Returns (out, cache): out has a's shape, out = beta + gamma * (a - mu) / sqrt(var + eps);
    cache is a :class:`BNCache` for the backward pass (chapter 3).
    Raises ValueError for a batch with one value per feature (its variance is 0 and the output
    would be beta whatever the input): train with m >= 2 or use :func:`batchnorm_inference`.
    Taught in chapter 2.
    """
    arr = as_batch(a)
    ax = feature_axis(arr, axis)
    eps = check_eps(eps)
    g = check_param(gamma, "gamma", arr, ax, arr.dtype)
    b = check_param(beta, "beta", arr, ax, arr.dtype)
    check_batch_count(arr, ax)
    return batchnorm_forward_kernel(arr, g, b, eps, ax)


def batchnorm_forward_kernel(a, gamma, beta, eps, axis):
    """:func:`batchnorm_forward` without its argument checks.

    a: float array (m, ...) with at least 2 values per feature;  gamma, beta: (n,) or broadcastable
    against a, of a's dtype;  eps: float >= 0;  axis: the non-negative feature axis.
    Returns (out, BNCache). Raises ValueError only when eps = 0 and a feature is constant over the
    batch, the one check that needs the data's statistics.
    """
    axes = reduce_axes(a, axis)
    bshape = broadcast_shape(a, axis)
    mu = a.mean(axis=axes, keepdims=True)
    a_std = a - mu
    var = (a_std * a_std).mean(axis=axes, keepdims=True)  # the biased variance, as np.var computes it
    check_zero_variance(var, eps)
    a_std /= np.sqrt(var + eps)
    gamma = np.reshape(gamma, bshape)
    out = a_std * gamma
    out += np.reshape(beta, bshape)
    return out, BNCache(a=a, mu=mu.ravel(), var=var.ravel(), a_std=a_std, gamma=gamma.ravel(), eps=eps, axis=axis)


def batchnorm_inference(a, moving_mean, moving_var, gamma, beta, eps=KERAS_EPS, axis=-1):
    """Inference-mode batch normalization with fixed (moving) statistics.

    a:           (m, n) or (m, h, w, c), batch-first; m = 1 is fine here.
    moving_mean: (n,);  moving_var: (n,), non-negative.
    gamma, beta: (n,).
    eps:         float >= 0;  axis: int, the feature axis.
    Returns out, a's shape: beta + gamma * (a - moving_mean) / sqrt(moving_var + eps).
    Each example is normalized on its own: the output does not depend on its batch-mates.
    Taught in chapter 4.
    """
    arr = as_batch(a)
    ax = feature_axis(arr, axis)
    eps = check_eps(eps)
    mean = check_param(moving_mean, "moving_mean", arr, ax, arr.dtype)
    var = check_param(moving_var, "moving_var", arr, ax, arr.dtype)
    g = check_param(gamma, "gamma", arr, ax, arr.dtype)
    b = check_param(beta, "beta", arr, ax, arr.dtype)
    check_variance(var, "moving_var")
    return batchnorm_inference_kernel(arr, mean, var, g, b, eps, ax)


def batchnorm_inference_kernel(a, moving_mean, moving_var, gamma, beta, eps, axis):
    """:func:`batchnorm_inference` without its argument checks.

    a: float array (m, ...);  moving_mean, moving_var (>= 0), gamma, beta: (n,) or broadcastable against
    a;  eps: float >= 0;  axis: the non-negative feature axis.
    Raises ValueError only when eps = 0 and a moving variance is 0.
    """
    bshape = broadcast_shape(a, axis)
    var = np.reshape(moving_var, bshape)
    check_zero_variance(var, eps, "moving_var has a zero entry")
    mean, gamma, beta = (np.reshape(p, bshape) for p in (moving_mean, gamma, beta))
    return beta + gamma * (a - mean) / np.sqrt(var + eps)
