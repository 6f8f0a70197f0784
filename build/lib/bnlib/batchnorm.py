"""Batch normalization, forward pass, in training and inference mode (chapters 2 and 4).

For one unit j of layer l-1 and a batch of m examples (the notes' notation):

    mu_j      = (1/m) sum_i a_j^(i)
    sigma^2_j = (1/m) sum_i (a_j^(i) - mu_j)^2          (biased, as Keras)
    a_std_j^(i) = (a_j^(i) - mu_j) / sqrt(sigma^2_j + eps)
    a_tilde_j^(i) = beta_j + gamma_j * a_std_j^(i)

Pure functions: no state. The moving statistics live in :class:`bnlib.BatchNorm`.
"""

from dataclasses import dataclass

import numpy as np

from .validation import (
    as_batch,
    check_batch_count,
    check_eps,
    check_param,
    check_zero_variance,
    feature_axis,
    reduce_axes,
)

__all__ = ["BNCache", "batchnorm_forward", "batchnorm_inference"]


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
        shape = [1] * self.a.ndim
        shape[self.axis] = self.a.shape[self.axis]
        return tuple(shape)


def batchnorm_forward(a, gamma, beta, eps=1e-3, axis=-1):
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
    axes = reduce_axes(arr, ax)
    mu = arr.mean(axis=axes, keepdims=True)
    var = arr.var(axis=axes, keepdims=True)
    check_zero_variance(var, eps)
    a_std = (arr - mu) / np.sqrt(var + eps)
    out = b + g * a_std
    cache = BNCache(a=arr, mu=mu.ravel(), var=var.ravel(), a_std=a_std, gamma=g.ravel(), eps=eps, axis=ax)
    return out, cache


def batchnorm_inference(a, moving_mean, moving_var, gamma, beta, eps=1e-3, axis=-1):
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
    if np.any(var < 0):
        raise ValueError("moving_var must be >= 0 everywhere; a variance cannot be negative.")
    if eps == 0 and np.any(var == 0):
        raise ValueError("moving_var has a zero entry and eps=0, so the division is undefined; use eps > 0.")
    return b + g * (arr - mean) / np.sqrt(var + eps)
