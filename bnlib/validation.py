"""Input checks shared by every bnlib function: one module, one policy.

Students should never have to decode a bare numpy broadcasting traceback. Every public function checks
its arguments once, with the functions below, and then calls an unchecked kernel. The policy:

* ``TypeError`` when an argument is the wrong KIND of thing: not numeric (text, None, objects,
  complex numbers), a bool where a number or an int is meant, a float where an int is meant.
* ``ValueError`` when it is the right kind with a wrong VALUE: a shape, a size, a range, NaN or inf,
  a batch too small for its statistics, ``eps = 0`` where a variance is 0.
* One dtype rule (:func:`float_dtype`): float32 and float64 are kept; float16 is computed in float32,
  as Keras does; integers and booleans become float64. Batch normalization returns float16 for float16
  input (:func:`result_dtype`), as Keras under the ``mixed_float16`` policy; the chapter-7
  alternatives still return the float32 they compute in.

Every message names the argument and says what was received; where there is a fix, it gives one that
works (the tests apply each suggested fix and check that the call then succeeds).
"""

import numpy as np

from .defaults import DROPOUT_RATE, KERAS_EPS, KERAS_MOMENTUM, TORCH_MOMENTUM

__all__ = [
    "as_batch",
    "as_numeric",
    "as_stat",
    "as_upstream",
    "check_batch_count",
    "check_dropout_rate",
    "check_eps",
    "check_finite",
    "check_int",
    "check_mask",
    "check_momentum",
    "check_number",
    "check_param",
    "check_renorm_clipping",
    "check_variance",
    "check_weight_decay",
    "check_zero_variance",
    "feature_axis",
    "float_dtype",
    "is_int",
    "is_number",
    "reduce_axes",
    "result_dtype",
]


# --------------------------------------------------------------------------- kinds

def is_number(x):
    """True for a real Python or numpy number; False for a bool, a string, an array, None."""
    return not isinstance(x, (bool, np.bool_)) and isinstance(x, (int, float, np.integer, np.floating))


def is_int(x):
    """True for a Python or numpy integer; False for a bool, a float (even 2.0), a string."""
    return not isinstance(x, (bool, np.bool_)) and isinstance(x, (int, np.integer))


def float_dtype(dtype):
    """The dtype bnlib computes in for input of ``dtype``: float32/float64 kept, float16 -> float32, else float64."""
    if dtype == np.float16:
        return np.dtype(np.float32)
    return np.dtype(dtype) if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)


def result_dtype(a, computed):
    """The dtype batch normalization returns for input ``a`` computed in ``computed``.

    float16 input -> float16 (statistics and arithmetic in float32, the result rounded once at the
    end, as Keras's ``mixed_float16`` policy does); any other input -> ``computed``.
    """
    return np.dtype(np.float16) if getattr(a, "dtype", None) == np.float16 else np.dtype(computed)


def as_numeric(x, name, shape=""):
    """``x`` as a numpy array of real numbers (any dtype among ints, bools, floats), or a TypeError.

    shape: the expected shape in words, e.g. " of shape (n,)", for the messages.
    """
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be a numeric array{shape}; numpy could not convert it ({exc}).") from None
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must be real-valued, got complex dtype {arr.dtype}.")
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(
            f"{name} must be a numeric array{shape}, got dtype {arr.dtype}. If it holds numbers stored "
            f"as text, convert it first: np.asarray({name}, dtype=float)."
        )
    return arr


def _range_words(low, high, low_open, high_open):
    """(words for a TypeError, symbols for a ValueError) describing an allowed range."""
    if low is None and high is None:
        return "number", "number"
    if high is None:
        if low == 0 and low_open:
            return "positive number", "number > 0"
        sign = ">" if low_open else ">="
        return f"number {sign} {low:g}", f"number {sign} {low:g}"
    left, right = "(" if low_open else "[", ")" if high_open else "]"
    interval = f"in {left}{low:g}, {high:g}{right}"
    return f"number {interval}", f"number {interval}"


def check_number(x, name, *, low=None, high=None, low_open=False, high_open=False, finite=True, hint="",
                 advice=""):
    """A real number (not a bool) within [low, high] (ends open if asked), returned as a float.

    hint: words after the range in both messages, e.g. " (the learning rate, e.g. 0.5)".
    advice: a sentence appended to the ValueError only.
    finite: False also accepts inf (within the range); NaN is always refused.
    Raises TypeError for anything but a number, ValueError for NaN, inf (if finite) or out of range.
    """
    kind, symbols = _range_words(low, high, low_open, high_open)
    if not is_number(x):
        article = "an" if kind[0] in "aeiou" else "a"
        raise TypeError(f"{name} must be {article} {kind}{hint}, got {x!r}.")
    value = float(x)
    bad = np.isnan(value) or (finite and not np.isfinite(value))
    bad = bad or (low is not None and (value <= low if low_open else value < low))
    bad = bad or (high is not None and (value >= high if high_open else value > high))
    if bad:
        qualifier = "finite " if finite else ""
        raise ValueError(f"{name} must be a {qualifier}{symbols}{hint}, got {value}.{' ' + advice if advice else ''}")
    return value


def check_int(x, name, low=None, hint=""):
    """An int (not a bool, not a float) >= low, returned as a Python int.

    Raises TypeError for anything but an int, ValueError for an int below ``low``.
    """
    kind = "an int" if low is None else ("a positive int" if low == 1 else f"an int >= {low}")
    if not is_int(x):
        raise TypeError(f"{name} must be {kind}{hint}, got {x!r}.")
    if low is not None and x < low:
        raise ValueError(f"{name} must be {kind}{hint}, got {x}.")
    return int(x)


def check_eps(eps, default=KERAS_EPS):
    """eps must be a finite number >= 0; ``default`` is the one the messages quote."""
    return check_number(eps, "eps", low=0, hint=f" (the default is {default:g})")


def check_momentum(momentum):
    """Keras's momentum, the weight of the OLD moving value, must lie in [0, 1]."""
    return check_number(
        momentum, "momentum", low=0, high=1, hint=f" (Keras's default is {KERAS_MOMENTUM:g})",
        advice=f"In Keras's convention it weights the OLD moving value; PyTorch's momentum={TORCH_MOMENTUM:g} "
               f"weights the new one and corresponds to {1 - TORCH_MOMENTUM:g} here.",
    )


def check_dropout_rate(p):
    """The dropout rate: the probability of DROPPING a value, a number in [0, 1)."""
    return check_number(
        p, "p", low=0, high=1, high_open=True, hint=f" (the probability of dropping a value, e.g. {DROPOUT_RATE:g})",
        advice="p is the DROP probability, as Keras's Dropout(rate); a keep probability q is p = 1 - q.",
    )


def check_weight_decay(weight_decay):
    """The L2 coefficient: a finite number >= 0 (0 is plain SGD)."""
    return check_number(weight_decay, "weight_decay", low=0, hint=" (the L2 coefficient, e.g. 5e-4; 0 for none)")


# --------------------------------------------------------------------------- arrays

def check_finite(arr, name="a"):
    """Raise a ValueError counting the NaN and inf values of the float array ``arr``, if it has any."""
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(
            f"{name} contains {bad} non-finite value(s) (NaN or inf). Remove or impute them first: one NaN "
            "spreads to every statistic it enters."
        )


_ONE_DIM_FIXES = {
    "unit": " For the values of one unit, use {name}.reshape(-1, 1) to get shape (m, 1).",
    "example": " For the features of one example, use {name}.reshape(1, -1) to get shape (1, n).",
    None: "",
}


def as_batch(a, name="a", min_ndim=2, finite=True, one_dim="unit"):
    """Return ``a`` as a finite floating-point numpy array with batch axis 0.

    a: array-like, shape (m, ...) with at least ``min_ndim`` dimensions.
    Returns float array of the same shape, in the dtype of :func:`float_dtype` (no copy if it already is).
    finite: run :func:`check_finite` (a full pass over memory); ``bnlib.fast`` passes False and
    checks that its per-feature sums are finite instead, which a NaN or inf anywhere makes non-finite.
    one_dim: the fix a 1-D ``a`` is told about: "unit" (batch statistics: the m values of one unit,
    reshape(-1, 1)), "example" (per-example statistics: the n features of one example, reshape(1, -1)),
    or None (no reshape would do).
    """
    arr = as_numeric(a, name)
    if arr.ndim < min_ndim:
        hint = _ONE_DIM_FIXES[one_dim].format(name=name) if arr.ndim == 1 else ""
        raise ValueError(
            f"{name} must be batch-first with at least {min_ndim} dimensions, (m, n) for a dense layer "
            f"or (m, h, w, c) for images; got shape {arr.shape}.{hint}"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch (shape {arr.shape}); batch statistics need m >= 1 examples.")
    if arr.size == 0:
        raise ValueError(f"{name} has an axis of length 0 (shape {arr.shape}); every axis needs at least one entry.")
    arr = arr.astype(float_dtype(arr.dtype), copy=False)
    if finite:
        check_finite(arr, name)
    return arr


def feature_axis(arr, axis, name="axis"):
    """Normalize ``axis`` (an int, possibly negative) against ``arr``; the batch axis 0 is refused."""
    check_int(axis, name, hint=" naming the feature axis (default -1)")
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


def _one_per_feature(x, name, n):
    """x as a 1-D numeric array (a (1, n) or (n, 1) array is flattened); its size is checked by the caller."""
    want = "n" if n is None else str(n)
    arr = as_numeric(x, name, f" of shape ({want},)")
    if arr.ndim == 0:
        raise ValueError(
            f"{name} must have one value per feature, shape ({want},), got a scalar. "
            f"Use np.full({want}, value) to repeat it."
        )
    if arr.ndim > 2 or (arr.ndim == 2 and 1 not in arr.shape):
        return arr, False
    return arr.reshape(-1), True


def as_stat(x, name, n=None):
    """Return a per-feature statistic or weight as a finite 1-D float array of shape (n,).

    x: array-like of shape (n,) (a (1, n) or (n, 1) array is flattened).
    n: the expected number of features, or None to take it from ``x``.
    Raises TypeError for non-numeric input and ValueError for a scalar, a wrong shape or NaN/inf.
    """
    arr, flat = _one_per_feature(x, name, n)
    if not flat:
        raise ValueError(f"{name} must have shape (n,), one value per feature, got shape {arr.shape}.")
    if n is not None and arr.size != n:
        raise ValueError(
            f"{name} has {arr.size} values but {n} were expected (one per feature); "
            "every per-feature statistic must have the same shape (n,)."
        )
    arr = arr.astype(float_dtype(arr.dtype), copy=False)
    check_finite(arr, name)
    return arr


def check_param(p, name, arr, axis, dtype):
    """Check a per-feature parameter (gamma, beta, moving mean/variance): shape (n,) with n = arr.shape[axis].

    Returns it as an array of ``dtype`` reshaped to broadcast against ``arr``.
    """
    n = arr.shape[axis]
    p, flat = _one_per_feature(p, name, n)
    if not flat or p.size != n:
        raise ValueError(
            f"{name} has shape {np.shape(p)} but the feature axis (axis={axis}) of the input has {n} features; "
            f"{name} needs shape ({n},), one value per feature."
        )
    p = p.astype(dtype, copy=False)
    check_finite(p, name)
    shape = [1] * arr.ndim
    shape[axis] = n
    return p.reshape(shape)


def as_upstream(dout, like, finite=True):
    """The upstream gradient dL/d(out) as an array of the forward input ``like``'s shape and dtype."""
    d = as_numeric(dout, "dout")
    if d.shape != like.shape:
        fix = f" If it holds the right values in another layout, use dout.reshape{like.shape}." \
            if d.size == like.size else ""
        raise ValueError(
            f"dout has shape {d.shape} but the forward pass's input a has shape {like.shape}; "
            f"dout = dL/d(out) must have the shape of the layer's output, which is the shape of a.{fix}"
        )
    d = d.astype(like.dtype, copy=False)
    if finite:
        check_finite(d, "dout")
    return d


# --------------------------------------------------------------------------- statistics

def check_variance(var, name, what="a variance"):
    """A variance (or, with ``what``, a standard deviation) must be >= 0 everywhere."""
    if np.any(var < 0):
        raise ValueError(f"{name} must be >= 0 everywhere; {what} cannot be negative.")


def check_batch_count(arr, axis, fix="Use a batch with m >= 2, or batchnorm_inference with moving statistics."):
    """Training mode needs at least 2 values per feature (over every axis but ``axis``); ``fix`` ends the message."""
    if arr.size // arr.shape[axis] < 2:
        raise ValueError(
            f"training-mode batch normalization needs at least 2 values per feature, got a batch of shape "
            f"{arr.shape} (1 value per feature): its variance is 0 and every output would equal beta. {fix}"
        )


def check_zero_variance(var, eps, subject="a feature is constant over the batch (variance 0)", default=KERAS_EPS):
    """With eps = 0 a zero variance (or mean square) would be a division by sqrt(0) = 0.

    subject: what is zero, in words, e.g. "moving_var has a zero entry"; default: the eps to suggest.
    """
    if eps == 0 and np.any(var == 0):
        raise ValueError(
            f"{subject} and eps=0, so the normalization would divide by sqrt(0 + eps) = 0; "
            f"use eps > 0 (the default is {default:g})."
        )


# --------------------------------------------------------------------------- masks

def check_mask(mask, arr, axis, name="mask"):
    """A boolean mask of ``arr``'s shape without the feature axis: (m, T) for (m, T, c), True = a real step.

    Returns it as a bool array. Raises TypeError for a non-boolean mask (with the fix
    ``np.asarray(mask, dtype=bool)`` when it holds only 0 and 1), ValueError for a wrong shape
    (with the fix ``mask.T`` when it is the transpose) or a mask with fewer than 2 True entries.
    """
    want = tuple(s for i, s in enumerate(arr.shape) if i != axis)
    raw = np.asarray(mask)
    if raw.dtype != bool:
        zero_one = np.issubdtype(raw.dtype, np.number) and np.isin(raw, (0, 1)).all()
        fix = f" It holds only 0 and 1: use np.asarray({name}, dtype=bool)." if zero_one else (
            f" Build it from the sequence lengths: {name} = np.arange(T) < lengths[:, None].")
        raise TypeError(f"{name} must be a boolean array (True = a real step, False = padding), "
                        f"got dtype {raw.dtype}.{fix}")
    if raw.shape != want:
        fix = f" It is the transpose: use {name}.T." if raw.shape == want[::-1] and raw.ndim == 2 else ""
        raise ValueError(f"{name} must have the input's shape without the feature axis (axis={axis}), "
                         f"{want} for a of shape {arr.shape}; got shape {raw.shape}.{fix}")
    if not raw.any():
        raise ValueError(f"{name} is all False: every step is padding and no value enters the statistics. "
                         f"Mark the real steps True, e.g. {name} = np.arange(T) < lengths[:, None] with "
                         "each sequence's length >= 1.")
    if np.count_nonzero(raw) < 2:
        raise ValueError(f"{name} has a single True step, so the statistics would average one value per "
                         "feature: its variance is 0 and every output would equal beta. Mark at least 2 "
                         "steps True (padding is False).")
    return raw


def check_renorm_clipping(rmax, rmin, dmax):
    """Batch renormalization's clipping bounds as floats (rmax, rmin, dmax); None is no bound (inf, 0, inf).

    Raises TypeError for a non-number, ValueError for a negative bound or rmin > rmax (as Keras).
    """
    hint = " (None for no clipping; Ioffe 2017 uses rmax = 3, rmin = 1/rmax, dmax = 5)"
    rmax = np.inf if rmax is None else check_number(rmax, "rmax", low=0, hint=hint)
    rmin = 0.0 if rmin is None else check_number(rmin, "rmin", low=0, hint=hint)
    dmax = np.inf if dmax is None else check_number(dmax, "dmax", low=0, hint=hint)
    if rmin > rmax:
        raise ValueError(f"rmin={rmin:g} is above rmax={rmax:g}: r is clipped to [rmin, rmax]; use rmin = 1 / rmax "
                         f"= {1 / rmax:g} as the paper does." if rmax > 0 else
                         f"rmin={rmin:g} is above rmax={rmax:g}: r is clipped to [rmin, rmax]; use rmin=0.")
    return rmax, rmin, dmax
