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
    check_mask,
    check_param,
    check_variance,
    check_zero_variance,
    feature_axis,
    reduce_axes,
    result_dtype,
)

__all__ = [
    "BNCache",
    "batchnorm_forward",
    "batchnorm_forward_kernel",
    "batchnorm_inference",
    "batchnorm_inference_kernel",
    "broadcast_shape",
    "moments_kernel",
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
    mask:   None, or the boolean mask of a's shape without the feature axis that chose the values
            entering mu and var (:func:`bnlib.batchnorm_backward_compact` differentiates it)
    """

    a: np.ndarray
    mu: np.ndarray
    var: np.ndarray
    a_std: np.ndarray
    gamma: np.ndarray
    eps: float
    axis: int
    mask: np.ndarray | None = None

    @property
    def reduce_axes(self):
        """Axes the statistics were taken over: every axis but ``axis``."""
        return reduce_axes(self.a, self.axis)

    @property
    def bshape(self):
        """Shape that broadcasts a (n,) parameter against ``a``."""
        return broadcast_shape(self.a, self.axis)


def batchnorm_forward(a, gamma, beta, eps=KERAS_EPS, axis=-1, mask=None):
    """Training-mode batch normalization with the batch's own statistics.

    a:     (m, n) dense or (m, h, w, c) images, batch-first.
    gamma: (n,) scale, one per feature;  beta: (n,) shift.
    eps:   float >= 0 added to the variance inside the square root (Keras's default 1e-3).
    axis:  int, the feature axis (default -1); statistics over every other axis.
    mask:  None, or a boolean array of a's shape without the feature axis, (m, T) for padded
           sequences (m, T, c): only the True steps enter mu and var; every step is normalized.
           Keras's ``BatchNormalization()(a, mask=mask)`` does the same but divides by
           (count + 1e-7) (``keras.backend.epsilon()``): a relative difference of about 1e-7 / count.
    Returns (out, cache): out has a's shape, out = beta + gamma * (a - mu) / sqrt(var + eps);
    cache is a :class:`BNCache` for the backward pass (chapter 3).
    Precision: float16 input is computed in float32 and out is float16 (Keras's ``mixed_float16``:
    float16's largest value, 65504, is below the square of 256). When the statistics overflow the
    working dtype (float32 input near 1.8e19, whose squares pass float32's 3.4e38), they and out are
    computed in float64 and out is returned in a's dtype (:func:`moments_kernel`).
    Raises ValueError for a batch with one value per feature (its variance is 0 and the output
    would be beta whatever the input): train with m >= 2 or use :func:`batchnorm_inference`; the
    same for a mask with a single True step. Raises TypeError for a non-boolean mask, ValueError
    for a mask of the wrong shape or all False (:func:`bnlib.validation.check_mask`).
    Taught in chapter 2; masks for padded sequences in "Small, distributed, masked and
    mixed-precision batches".
    """
    arr = as_batch(a)
    ax = feature_axis(arr, axis)
    eps = check_eps(eps)
    g = check_param(gamma, "gamma", arr, ax, arr.dtype)
    b = check_param(beta, "beta", arr, ax, arr.dtype)
    if mask is None:
        check_batch_count(arr, ax)
    else:
        mask = check_mask(mask, arr, ax)
    out, cache = batchnorm_forward_kernel(arr, g, b, eps, ax, mask)
    return out.astype(result_dtype(a, arr.dtype), copy=False), cache


def moments_kernel(a, axes, mask=None):
    """The mean and biased variance of ``a`` over ``axes`` (keepdims), over the True entries of ``mask``.

    a: float array;  axes: tuple of ints;  mask: None, or a bool array broadcastable against a
    (with a's number of dimensions), True where a value counts.
    Returns (mu, var) with the reduced axes kept as 1: of a's dtype, or float64 when they overflow
    a's float32 (a's values are finite, so a non-finite statistic is an overflow of the sum or of
    the squares). Raises ValueError when even float64 overflows (values beyond about 1e154).
    """
    with np.errstate(over="ignore"):  # an overflow is detected below and handled, not warned about
        mu, var = _moments(a, axes, mask)
    if np.isfinite(mu).all() and np.isfinite(var).all():
        return mu, var
    if a.dtype != np.float64:
        return _moments(a.astype(np.float64), axes, mask)
    raise ValueError(
        f"the batch statistics overflow float64 (|a| up to {np.abs(a).max():.3g}: its squares pass 1.8e308). "
        "Rescale the input first, e.g. a / np.abs(a).max(): batch normalization is scale invariant, "
        "apart from eps."
    )


def _moments(a, axes, mask):
    """:func:`moments_kernel` in a's dtype, overflow or not."""
    if mask is None:
        mu = a.mean(axis=axes, keepdims=True)
        centered = a - mu
        return mu, (centered * centered).mean(axis=axes, keepdims=True)  # as np.var computes it
    count = np.broadcast_to(mask, a.shape).sum(axis=axes, keepdims=True)
    mu = np.where(mask, a, 0).sum(axis=axes, keepdims=True) / count
    centered = np.where(mask, a - mu, 0)
    return mu.astype(a.dtype), ((centered * centered).sum(axis=axes, keepdims=True) / count).astype(a.dtype)


def batchnorm_forward_kernel(a, gamma, beta, eps, axis, mask=None):
    """:func:`batchnorm_forward` without its argument checks.

    a: float array (m, ...) with at least 2 values per feature;  gamma, beta: (n,) or broadcastable
    against a, of a's dtype;  eps: float >= 0;  axis: the non-negative feature axis;  mask: None or a
    bool array of a's shape without the feature axis, with at least 2 True entries.
    Returns (out, BNCache), out in a's dtype (computed in float64 if the statistics overflow a's
    float32). Raises ValueError only for what needs the data's statistics: eps = 0 with a feature
    constant over the batch, or statistics that overflow even float64.
    """
    axes = reduce_axes(a, axis)
    bshape = broadcast_shape(a, axis)
    mu, var = moments_kernel(a, axes, None if mask is None else np.expand_dims(mask, axis))
    check_zero_variance(var, eps)
    a_std = a - mu
    a_std /= np.sqrt(var + eps)
    gamma = np.reshape(gamma, bshape)
    out = a_std * gamma
    out += np.reshape(beta, bshape)
    cache = BNCache(a=a, mu=mu.ravel(), var=var.ravel(), a_std=a_std, gamma=gamma.ravel(), eps=eps, axis=axis,
                    mask=mask)
    return out.astype(a.dtype, copy=False), cache


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
    out = batchnorm_inference_kernel(arr, mean, var, g, b, eps, ax)
    return out.astype(result_dtype(a, arr.dtype), copy=False)


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
