"""A fast path for training-mode batch normalization (chapter 3, "A faster implementation").

Same maths, arguments, checks and error messages as :func:`bnlib.batchnorm_forward` and
:func:`bnlib.backprop.batchnorm_backward`, with fewer passes over memory. The taught functions write one
line per formula and numpy makes a fresh full-size array for each; for a large batch the time goes into
reading and writing those arrays, not into arithmetic. Here:

- per-feature sums, and sums of products, are one ``np.einsum`` each: one read, no temporary. (BLAS's
  ``ones @ a`` reads as fast on an idle machine, but its threads wait for each other when another process
  holds a core, and end to end it was no faster on the course's 2-core benchmark machine);
- the variance is the corrected two-pass formula (Chan, Golub and LeVeque 1983):
  var = mean(c^2) - mean(c)^2 with c = a - mu0 the values centred on the rounded mean mu0; never
  E[a^2] - E[a]^2 on the raw values, which cancels catastrophically when |mu| >> sigma;
- the output is written once, into ``out`` (which the caller may preallocate and reuse), then scaled and
  shifted in place; the cache keeps a and the (n,) statistics, not a full-size a_std;
- NaN and inf are caught through the sums (one anywhere makes its feature's sum non-finite) rather than by
  a separate ``np.isfinite`` pass; the exact count is only computed to word the error;
- the backward builds da = k1 * (dout - mean(dout) - a_std * mean(dout * a_std)) in place in its output,
  from a - mu and per-feature coefficients (k1 = gamma / s), with no full-size temporary.

Arrays are viewed, without copying, as a matrix (M, n) when the feature axis is the last one (dense layers,
channels-last images), otherwise as (pre, n, post), e.g. (m, c, h*w) for channels-first images.
"""

import math
from dataclasses import dataclass

import numpy as np

from .defaults import KERAS_EPS
from .validation import (
    as_batch,
    as_upstream,
    check_batch_count,
    check_eps,
    check_finite,
    check_param,
    check_zero_variance,
    feature_axis,
)

__all__ = ["FastBNCache", "batchnorm_forward_fast", "batchnorm_backward_fast"]


@dataclass(frozen=True)
class FastBNCache:
    """What :func:`batchnorm_backward_fast` needs from :func:`batchnorm_forward_fast`.

    a:      (m, n) or (m, h, w, c), the input itself (a reference, not a copy: do not modify it before
            the backward pass, as with :class:`bnlib.BNCache`)
    mu:     (n,) batch mean;  var: (n,) biased batch variance
    gamma:  (n,) scale;  eps: float;  axis: int, the feature axis (non-negative)
    Unlike :class:`bnlib.BNCache` there is no full-size a_std: writing it would cost a pass over memory,
    and the backward recomputes a - mu in the buffer of its own output instead.
    """

    a: np.ndarray
    mu: np.ndarray
    var: np.ndarray
    gamma: np.ndarray
    eps: float
    axis: int


def _features_view(arr, axis):
    """``arr`` viewed as (M, n) if ``axis`` is its last axis, else as (pre, n, post), and the shape that
    broadcasts an (n,) coefficient against that view. No copy for a C-contiguous ``arr``."""
    n = arr.shape[axis]
    pre, post = math.prod(arr.shape[:axis]), math.prod(arr.shape[axis + 1:])
    if post == 1:
        return arr.reshape(pre, n), (n,)
    return arr.reshape(pre, n, post), (n, 1)


def _feature_sum(x):
    """Per-feature sum of a view from :func:`_features_view`: one pass, no temporary."""
    return np.einsum("ij->j" if x.ndim == 2 else "ijk->j", x)


def _feature_dot(x, y):
    """Per-feature sum of x * y: einsum multiplies and adds in one pass, with no full-size product."""
    return np.einsum("ij,ij->j" if x.ndim == 2 else "ijk,ijk->j", x, y)


def _check_sums(sums, arr, name):
    """Non-finite per-feature sums mean a NaN or inf in ``arr`` (the usual error) or an overflow."""
    if not np.all(np.isfinite(sums)):
        check_finite(arr, name)
        raise ValueError(
            f"{name} is finite but its per-feature sums overflow {arr.dtype} (values up to "
            f"{np.max(np.abs(arr)):.3g}); rescale {name} or convert it to float64."
        )


def _check_out(out, like, inputs):
    """A buffer for the result: new if ``out`` is None, else checked to be usable in place."""
    if out is None:
        return np.empty(like.shape, like.dtype)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy array to write the result into, e.g. np.empty_like(a); "
                        f"got {type(out).__name__}.")
    if out.shape != like.shape or out.dtype != like.dtype:
        raise ValueError(f"out has shape {out.shape} and dtype {out.dtype}; it must have shape {like.shape} "
                         f"and dtype {like.dtype}, those of the result (e.g. np.empty_like(a)).")
    if not (out.flags.c_contiguous and out.flags.writeable):
        raise ValueError("out must be a writeable C-contiguous array, e.g. np.empty_like(a).")
    if any(np.may_share_memory(out, x) for x in inputs):
        raise ValueError("out must not overlap the inputs (the backward pass still needs them); "
                         "use a separate buffer, e.g. np.empty_like(a).")
    return out


def batchnorm_forward_fast(a, gamma, beta, eps=KERAS_EPS, axis=-1, out=None):
    """Training-mode batch normalization, as :func:`bnlib.batchnorm_forward`, with fewer passes over memory.

    a:     (m, n) dense or (m, h, w, c) images, batch-first; float32 stays float32, integers become float64.
    gamma: (n,) scale;  beta: (n,) shift;  eps: float >= 0;  axis: int, the feature axis (default -1).
    out:   optional preallocated array for the result, a's shape and (float) dtype, C-contiguous, not
           overlapping a; reusing one across calls saves allocating it every time.
    Returns (out, cache): out = beta + gamma * (a - mu) / sqrt(var + eps); cache is a :class:`FastBNCache`.
    Raises what batchnorm_forward raises, with the same messages, and a ValueError if finite values are so
    large that a per-feature sum overflows.
    Taught in chapter 3 (the maths in chapter 2).
    """
    arr = as_batch(a, finite=False)  # finiteness is checked through the sums below, without its own pass
    ax = feature_axis(arr, axis)
    eps = check_eps(eps)
    g = check_param(gamma, "gamma", arr, ax, arr.dtype).ravel()
    b = check_param(beta, "beta", arr, ax, arr.dtype).ravel()
    check_batch_count(arr, ax)
    out = _check_out(out, arr, [arr])
    x, pshape = _features_view(arr, ax)
    y, _ = _features_view(out, ax)
    M = x.size // x.shape[1]

    mu0 = _feature_sum(x) / M  # read a
    _check_sums(mu0, arr, "a")
    np.subtract(x, mu0.reshape(pshape), out=y)  # read a, write out: the centred values c
    # mu0 is rounded, so c sums to M * delta rather than 0; removing delta^2 makes the variance exact to
    # rounding (the "corrected two-pass" formula), and mu0 + delta is a better mean than mu0.
    delta = _feature_sum(y) / M  # read out
    var = np.maximum(_feature_dot(y, y) / M - delta * delta, 0)  # read out; rounding could dip below 0
    _check_sums(var, arr, "a")
    check_zero_variance(var, eps)
    k = g / np.sqrt(var + eps)
    y *= k.reshape(pshape)  # in place: (a - mu0) * k
    y += (b - delta * k).reshape(pshape)  # in place: + beta - delta * k, i.e. beta + (a - mu) * k
    return out, FastBNCache(a=arr, mu=mu0 + delta, var=var, gamma=g, eps=eps, axis=ax)


def batchnorm_backward_fast(dout, cache, out=None):
    """Backward pass of :func:`batchnorm_forward_fast`, as :func:`bnlib.backprop.batchnorm_backward`.

    dout:  dL/d(out), the shape of a: (m, n) or (m, h, w, c).
    cache: the :class:`FastBNCache` from ``batchnorm_forward_fast``.
    out:   optional preallocated array for da (a's shape and dtype, C-contiguous, not overlapping a or dout).
    Returns (da, dgamma, dbeta): da has a's shape, dgamma and dbeta are (n,);
    dbeta = sum(dout), dgamma = sum(dout * a_std) and, with s = sqrt(var + eps) and M values per feature,
    da = k1 * (dout - dbeta / M - a_std * dgamma / M) with the per-feature k1 = gamma / s, computed in
    place in da from a - mu with four per-feature coefficients, so no full-size temporary is made.
    Taught in chapter 3.
    """
    if not isinstance(cache, FastBNCache):
        raise TypeError(
            f"cache must be the FastBNCache returned by batchnorm_forward_fast(a, gamma, beta, ...), got "
            f"{type(cache).__name__}. (The BNCache of batchnorm_forward goes to batchnorm_backward.)"
        )
    d = as_upstream(dout, cache.a, finite=False)  # finiteness is checked through the sums below
    out = _check_out(out, d, [d, cache.a])
    x, pshape = _features_view(cache.a, cache.axis)
    g, _ = _features_view(d, cache.axis)
    da, _ = _features_view(out, cache.axis)
    M = x.size // x.shape[1]
    inv_s = 1 / np.sqrt(cache.var + cache.eps)

    dbeta = _feature_sum(g)  # read dout
    _check_sums(dbeta, d, "dout")
    np.subtract(x, cache.mu.reshape(pshape), out=da)  # read a, write da: a - mu, for now
    dgamma = _feature_dot(g, da) * inv_s  # read dout and da: sum(dout * a_std)
    _check_sums(dgamma, d, "dout")
    # da = k1 * (dout - mean(dout) - a_std * mean(dout * a_std)), built in place in da, no temporary:
    da *= (-dgamma * inv_s / M).reshape(pshape)  # - a_std * mean(dout * a_std), as a_std = (a - mu) / s
    da += g  # + dout
    da -= (dbeta / M).reshape(pshape)  # - mean(dout)
    da *= (cache.gamma * inv_s).reshape(pshape)  # * k1, k1 = gamma / s
    return out, dgamma, dbeta
