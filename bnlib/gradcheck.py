"""Gradient checking by central finite differences (chapter 3, "Backpropagation through batch normalization").

For a function F of an array x and an upstream gradient dout (the shape of F(x)), the scalar
f(x) = sum(F(x) * dout) has gradient dL/dx, which is what a backward pass returns. Each entry is
estimated by the central difference

    df/dx_k ~ (f(x + h e_k) - f(x - h e_k)) / (2 h),

whose truncation error is O(h^2) and whose rounding error is O(machine epsilon / h).
"""

import math

import numpy as np

from .validation import as_batch, as_numeric, check_number

__all__ = ["magnitude", "numeric_gradient", "rel_error"]


def numeric_gradient(F, x, dout, h=1e-5):
    """Numerical gradient of f(x) = sum(F(x) * dout) by central differences, entry by entry.

    F:    a function of one array, returning an array of dout's shape (e.g. lambda a: batchnorm_forward(a, ...)[0]).
    x:    array, any shape with at least one dimension; the point where the gradient is taken.
    dout: array of F(x)'s shape, the upstream gradient dL/dF.
    h:    float > 0, the step.
    Returns an array of x's shape and dtype: entry k is (f(x + h e_k) - f(x - h e_k)) / (2h).
    F is always called on a private copy of x, so neither x nor dout is ever modified, even if F
    modifies its argument. The arithmetic of F happens in x's dtype (float32 stays float32), which
    is the point when showing why gradient checks need float64.
    Taught in chapter 3.
    """
    x = as_batch(x, name="x", min_ndim=1)
    dout = as_batch(dout, name="dout", min_ndim=1)
    h = check_number(h, "h", low=0, low_open=True, hint=" (the finite-difference step, e.g. 1e-5)")
    if not callable(F):
        raise TypeError(f"F must be a function of one array, got {type(F).__name__}.")

    def f(xk):
        out = np.asarray(F(xk))
        if out.shape != dout.shape:
            raise ValueError(
                f"F(x) has shape {out.shape} but dout has shape {dout.shape}; dout is dL/dF(x), "
                "so it needs the shape of F's output."
            )
        # Products are formed in F's dtype and summed in float64, so the sum adds no error of its own.
        return np.sum((out * dout.astype(out.dtype, copy=False)).astype(np.float64))

    grad = np.empty(x.shape, dtype=np.float64)
    for k in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[k] += h
        minus[k] -= h
        grad[k] = (f(plus) - f(minus)) / (2.0 * h)
    return grad.astype(x.dtype)


def rel_error(x, y):
    """Relative error  max |x - y| / max(|x| + |y|, tiny)  of two arrays of the same shape.

    x, y: arrays (or scalars) of the same shape, e.g. an analytic and a numeric gradient.
    Returns a float: about 1e-8 or less means agreement in float64; about 1e-2 or more means a bug.
    ``tiny`` is the smallest positive normal float64, so two zero arrays give 0 rather than 0/0.
    Taught in chapter 3.
    """
    x = as_numeric(x, "x").astype(np.float64)
    y = as_numeric(y, "y").astype(np.float64)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape to be compared, got {x.shape} and {y.shape}.")
    if x.size == 0:
        raise ValueError("x and y are empty; there is nothing to compare.")
    num = np.max(np.abs(x - y))
    den = max(float(np.max(np.abs(x) + np.abs(y))), np.finfo(np.float64).tiny)
    return float(num / den)


def magnitude(err):
    """An error's order of magnitude as a stable string: ``'< 1e-10'`` for 3.2e-11, ``'< 1e-12'`` for anything smaller.

    err: a number >= 0 (a relative error, a max |diff|).
    Returns the smallest power of ten strictly above ``err`` (one decade of resolution, as a gradient
    check's error against the step h needs), with a floor at 1e-12: below it lies round-off residue,
    whose exact size can change with the CPU and the libraries, so it is not printed more finely.
    (``compare`` prints its max |diff| in coarser buckets of three decades.)
    Taught in chapter 3.
    """
    err = check_number(err, "err", low=0, finite=False, hint=" (an error size, e.g. a relative error)")
    if not np.isfinite(err):
        return f"= {float(err)}"
    if err < 1e-12:
        return "< 1e-12"
    return f"< 1e{math.floor(math.log10(err)) + 1:+03d}"
