"""Input checks shared by every bnlib function.

Each check raises ``TypeError`` or ``ValueError`` with a message that names the
argument, says what was received, and says how to fix it: students should never
have to decode a bare numpy broadcasting traceback.
"""

import numpy as np

__all__ = [
    "as_batch", "check_finite", "feature_axis", "reduce_axes", "check_param", "check_eps", "check_momentum",
    "check_batch_count", "check_zero_variance",
]


def as_batch(a, name="a", min_ndim=2, finite=True):
    """Return ``a`` as a finite floating-point numpy array with batch axis 0.

    a: array-like, shape (m, ...) with at least ``min_ndim`` dimensions.
    Returns float array of the same shape; float16 is promoted to float32 (as Keras
    computes in float32), integers and booleans to float64, other floats keep their dtype.
    finite: run :func:`check_finite` (a full pass over memory); ``bnlib.fast`` passes False and
    checks that its per-feature sums are finite instead, which a NaN or inf anywhere makes non-finite.
    """
    try:
        arr = np.asarray(a)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be a numeric array; numpy could not convert it ({exc}).") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(
            f"{name} must be a numeric array, got dtype {arr.dtype}. "
            "Convert it first, e.g. np.asarray(values, dtype=float)."
        )
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must be real-valued, got complex dtype {arr.dtype}.")
    if arr.ndim < min_ndim:
        hint = " For the values of one unit, use a.reshape(-1, 1) to get shape (m, 1)." if arr.ndim == 1 else ""
        raise ValueError(
            f"{name} must be batch-first with at least {min_ndim} dimensions, (m, n) for a dense layer "
            f"or (m, h, w, c) for images; got shape {arr.shape}.{hint}"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch (shape {arr.shape}); batch statistics need m >= 1 examples.")
    if arr.size == 0:
        raise ValueError(f"{name} has an axis of length 0 (shape {arr.shape}); every axis needs at least one entry.")
    if arr.dtype == np.float16:
        arr = arr.astype(np.float32)
    elif not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    if finite:
        check_finite(arr, name)
    return arr


def check_finite(arr, name="a"):
    """Raise a ValueError counting the NaN and inf values of the float array ``arr``, if it has any."""
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(
            f"{name} contains {bad} non-finite value(s) (NaN or inf). Remove or impute them before "
            "normalizing: one NaN would spread to the statistics of its whole feature."
        )


def feature_axis(arr, axis, name="axis"):
    """Normalize ``axis`` (an int, possibly negative) against ``arr``; the batch axis 0 is refused."""
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{name} must be an int naming the feature axis (default -1), got {axis!r}.")
    ndim = arr.ndim
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"{name}={axis} is out of range for an array of shape {arr.shape}; "
            f"use a value in [-{ndim}, {ndim - 1}] (the default -1 is the last axis)."
        )
    axis = int(axis) % ndim
    if axis == 0:
        raise ValueError(
            f"{name}=0 is the batch axis; arrays are batch-first (m, ...), so the feature axis must be "
            "another one (-1 for (m, n) or channels-last images, 1 for channels-first)."
        )
    return axis


def reduce_axes(arr, axis):
    """Axes that statistics are computed over: every axis but the feature axis."""
    return tuple(i for i in range(arr.ndim) if i != axis)


def check_param(p, name, arr, axis, dtype):
    """Check a per-feature parameter (gamma, beta, moving mean/variance): shape (n,) with n = arr.shape[axis].

    Returns it as an array of ``dtype`` reshaped to broadcast against ``arr``.
    """
    n = arr.shape[axis]
    try:
        p = np.asarray(p)
    except Exception as exc:
        raise TypeError(
            f"{name} must be a numeric array of shape ({n},); numpy could not convert it ({exc})."
        ) from None
    if p.dtype == object or not (np.issubdtype(p.dtype, np.number) or p.dtype == bool):
        raise TypeError(f"{name} must be numeric, got dtype {p.dtype}.")
    if p.ndim == 0:
        raise ValueError(
            f"{name} must have one value per feature, shape ({n},), got a scalar. "
            f"Use np.full({n}, value) to repeat it."
        )
    if p.size != n or p.ndim > 2 or (p.ndim == 2 and 1 not in p.shape):
        raise ValueError(
            f"{name} has shape {p.shape} but the feature axis (axis={axis}) of the input has {n} features; "
            f"{name} needs shape ({n},), one value per feature."
        )
    p = p.reshape(n).astype(dtype, copy=False)
    if not np.all(np.isfinite(p)):
        raise ValueError(f"{name} contains NaN or inf; every per-feature parameter must be finite.")
    shape = [1] * arr.ndim
    shape[axis] = n
    return p.reshape(shape)


def check_eps(eps):
    """eps must be a finite number >= 0."""
    if isinstance(eps, (bool, np.bool_)) or not isinstance(eps, (int, float, np.integer, np.floating)):
        raise TypeError(f"eps must be a number (Keras's default is 1e-3), got {eps!r}.")
    if not np.isfinite(eps) or eps < 0:
        raise ValueError(f"eps must be a finite number >= 0 (Keras's default is 1e-3), got {eps}.")
    return float(eps)


def check_momentum(momentum):
    """momentum must lie in [0, 1]."""
    if isinstance(momentum, (bool, np.bool_)) or not isinstance(momentum, (int, float, np.integer, np.floating)):
        raise TypeError(f"momentum must be a number in [0, 1] (Keras's default is 0.99), got {momentum!r}.")
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(
            f"momentum must lie in [0, 1], got {momentum}. In Keras's convention it weights the OLD moving "
            "value (0.99 by default); PyTorch's momentum=0.1 weights the new one and corresponds to 0.9 here."
        )
    return float(momentum)


def check_batch_count(arr, axis):
    """Training mode needs at least 2 values per feature (over every axis but ``axis``)."""
    if arr.size // arr.shape[axis] < 2:
        raise ValueError(
            f"training-mode batch normalization needs at least 2 values per feature, got a batch of shape "
            f"{arr.shape} (1 value per feature): its variance is 0 and every output would equal beta. "
            "Use a batch with m >= 2, or batchnorm_inference with moving statistics."
        )


def check_zero_variance(var, eps):
    """With eps = 0 a constant feature (variance 0) would make a_std = 0 / 0."""
    if eps == 0 and np.any(var == 0):
        raise ValueError(
            "a feature is constant over the batch (variance 0) and eps=0, so a_std would divide 0 by 0; "
            "use eps > 0 (Keras's default is 1e-3)."
        )
