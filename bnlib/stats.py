"""Batch statistics and the notes' input standardization (chapter 1, "Normalizing inputs").

Notation follows the lecture notes: ``m`` examples in a batch, ``n`` features;
arrays are batch-first, ``(m, n)`` for a dense layer and ``(m, h, w, c)`` for images,
and ``axis`` names the feature axis. Statistics are taken over every other axis.
"""

import numpy as np

from .validation import as_batch, feature_axis, is_int, reduce_axes

__all__ = ["batch_mean", "batch_variance", "standardize"]


def _count(arr, axis):
    """Number of values each feature's statistics average over: m (dense) or m*h*w (images)."""
    return arr.size // arr.shape[axis]


def batch_mean(a, axis=-1):
    """Per-feature batch mean  mu_j = (1/m) * sum_i a_j^(i).

    a: (m, n) or (m, h, w, c), batch-first.
    axis: int, the feature axis (default -1).
    Returns mu: (n,), averaged over every axis but ``axis``.
    Taught in chapter 1 (inputs) and chapter 2 (hidden layers).
    """
    arr = as_batch(a)
    ax = feature_axis(arr, axis)
    return arr.mean(axis=reduce_axes(arr, ax))


def batch_variance(a, axis=-1, ddof=0):
    """Per-feature batch variance  sigma^2_j = 1/(m - ddof) * sum_i (a_j^(i) - mu_j)^2.

    a: (m, n) or (m, h, w, c), batch-first.
    axis: int, the feature axis (default -1).
    ddof: 0 for the biased variance (divide by m; what Keras and the notes' worked example use),
          1 for the unbiased one (divide by m - 1; what the notes' formula writes).
    Returns var: (n,).
    Taught in chapter 1; the m versus m - 1 slip in the notes is settled in chapter 2.
    """
    arr = as_batch(a)
    ax = feature_axis(arr, axis)
    _check_ddof(ddof, _count(arr, ax))
    return _widened(arr, reduce_axes(arr, ax), ddof)[2]


def _widened(arr, axes, ddof):
    """(arr, mu, var) over ``axes``; in float64 (arr converted) when float32 statistics overflow.

    The values are finite, so a non-finite mean or variance is an overflow of the sums or squares
    (float32 near 1.8e19): float64 holds them. Raises ValueError if float64 overflows too.
    """
    with np.errstate(over="ignore"):  # an overflow is detected and handled below
        mu, var = arr.mean(axis=axes), arr.var(axis=axes, ddof=ddof)
    if np.isfinite(mu).all() and np.isfinite(var).all():
        return arr, mu, var
    if arr.dtype == np.float64:
        raise ValueError("the statistics overflow float64 (values beyond about 1e154); rescale the input first, "
                         "e.g. a / np.abs(a).max().")
    return _widened(arr.astype(np.float64), axes, ddof)


def _check_ddof(ddof, count):
    """ddof is 0 or 1, and ``count`` values per feature leave at least one degree of freedom."""
    if not is_int(ddof) or ddof not in (0, 1):
        error = ValueError if is_int(ddof) else TypeError
        raise error(f"ddof must be 0 (divide by m, Keras) or 1 (divide by m-1, the notes' formula), got {ddof!r}.")
    if count - ddof <= 0:
        raise ValueError(
            f"cannot compute a variance with ddof={ddof} from {count} value(s) per feature; "
            "use a batch with at least 2 examples (or ddof=0)."
        )


def standardize(X, ddof=1, axis=-1):
    """The notes' input normalization  X_tilde = (X - mu) / sqrt(sigma^2), per feature.

    X: (m, n) inputs, batch-first (or (m, h, w, c) with ``axis`` the feature axis).
    ddof: 1 divides the variance by m - 1 as the notes' formula does; 0 divides by m as
          ``keras.layers.Normalization`` does.
    Returns (X_tilde, mu, var): X_tilde (m, n) with mean 0 and standard deviation 1 per feature
    (computed with the same ddof), mu (n,), var (n,).
    A constant feature (var = 0) has no spread to divide by and raises ValueError.
    Taught in chapter 1.
    """
    arr = as_batch(X, name="X")
    ax = feature_axis(arr, axis)
    _check_ddof(ddof, _count(arr, ax))
    wide, mu, var = _widened(arr, reduce_axes(arr, ax), ddof)
    if np.any(var == 0):
        cols = np.flatnonzero(var == 0).tolist()
        raise ValueError(
            f"feature(s) {cols} of X are constant (variance 0), so they cannot be scaled to standard "
            "deviation 1; drop them, or use batchnorm_forward, whose eps keeps the division finite."
        )
    shape = [1] * arr.ndim
    shape[ax] = arr.shape[ax]
    X_tilde = (wide - mu.reshape(shape)) / np.sqrt(var.reshape(shape))
    return X_tilde.astype(arr.dtype, copy=False), mu, var
