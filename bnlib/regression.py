"""Simple linear regression and the geometry of its loss (chapter 1, "Normalizing inputs").

The model has one input x and two parameters, an intercept b and a slope w; the loss is

    L(b, w) = 1/(2m) * sum_i (b + w x^(i) - y^(i))^2,

a quadratic bowl whose shape is set by x alone: its Hessian is

    H = [[1,      mean x  ],
         [mean x, mean x^2]],

and gradient descent on it converges at a speed set by the condition number
kappa = lambda_max / lambda_min of H. Standardizing x makes H (nearly) the identity.
Parameters are ordered theta = (b, w) everywhere.
"""

import numpy as np

from .validation import as_batch, as_numeric, check_finite, check_int, check_number

__all__ = [
    "regression_loss",
    "regression_gradient",
    "regression_hessian",
    "hessian_condition_number",
    "max_stable_learning_rate",
    "least_squares_fit",
    "gradient_descent",
    "iterations_to_converge",
    "layer_hessian",
]


def _check_xy(x, y):
    """x and y as float arrays of shape (m,), m >= 2; a clear error otherwise."""
    x = _check_x(x, max_ndim=1)
    y = as_batch(y, name="y", min_ndim=1)
    if y.ndim != 1:
        raise ValueError(f"y must have shape (m,), one target per example; got shape {y.shape}. Use y.ravel().")
    if y.shape != x.shape:
        raise ValueError(f"x has {x.shape[0]} examples but y has {y.shape[0]}; they must pair up, shape (m,) each.")
    return x, y.astype(np.float64)


def _check_x(x, max_ndim=1):
    """x as a float64 array of shape (m,) (or (m, n) when max_ndim=2) with m >= 2 and no constant column."""
    x = as_batch(x, name="x", min_ndim=1).astype(np.float64)
    if x.ndim > max_ndim:
        want = "(m,) or (m, n)" if max_ndim == 2 else "(m,), one input per example"
        raise ValueError(f"x must have shape {want}; got shape {x.shape}.")
    if x.shape[0] < 2:
        raise ValueError(f"x has {x.shape[0]} example(s); fitting an intercept and a slope needs m >= 2.")
    spread = np.ptp(x, axis=0)
    if np.any(spread == 0):
        raise ValueError(
            "x is constant (in some column), so the slope cannot be told apart from the intercept and the "
            "Hessian is singular; use inputs that vary."
        )
    return x


def _check_theta(theta, name="start"):
    t = as_numeric(theta, name, " (b, w) of shape (2,)")
    if t.shape != (2,):
        raise ValueError(f"{name} must be a pair (b, w) of shape (2,), got shape {t.shape}.")
    t = t.astype(np.float64)
    check_finite(t, name)
    return t


def regression_loss(b, w, x, y):
    """The loss L(b, w) = 1/(2m) * sum_i (b + w x^(i) - y^(i))^2, for one point or a whole grid.

    b, w: numbers, or arrays of one common (broadcastable) shape S, e.g. a grid from np.meshgrid.
    x, y: (m,) inputs and targets.
    Returns the loss, shape S (a float for scalar b, w).
    Taught in chapter 1.
    """
    x, y = _check_xy(x, y)
    b_arr, w_arr = (as_numeric(v, name).astype(np.float64) for v, name in ((b, "b"), (w, "w")))
    try:
        b_arr, w_arr = np.broadcast_arrays(b_arr, w_arr)
    except ValueError:
        raise ValueError(f"b and w must have broadcastable shapes (e.g. both from np.meshgrid), got shapes "
                         f"{b_arr.shape} and {w_arr.shape}.") from None
    check_finite(b_arr, "b")
    check_finite(w_arr, "w")
    residual = b_arr[..., None] + w_arr[..., None] * x - y  # shape S + (m,)
    loss = 0.5 * np.mean(residual**2, axis=-1)
    return float(loss) if loss.ndim == 0 else loss


def regression_gradient(b, w, x, y):
    """The gradient of L at (b, w):  dL/db = mean(r),  dL/dw = mean(r * x),  with r_i = b + w x^(i) - y^(i).

    b, w: numbers.  x, y: (m,).
    Returns (2,) array [dL/db, dL/dw].
    Taught in chapter 1.
    """
    x, y = _check_xy(x, y)
    b = check_number(b, "b")
    w = check_number(w, "w")
    return _gradient(b, w, x, y)


def _gradient(b, w, x, y):
    """:func:`regression_gradient` without its argument checks; gradient descent steps with it."""
    r = b + w * x - y
    return np.array([r.mean(), (r * x).mean()])


def regression_hessian(x):
    """The Hessian of L with respect to theta = (b, w): H = (1/m) A^T A with A = [1, x].

    For one input this is [[1, mean x], [mean x, mean x^2]]; it does not depend on y, b or w
    (L is quadratic), so the shape of the loss bowl is a property of the inputs alone.
    x: (m,) for simple regression, or (m, n) for n inputs (theta = (b, w_1, ..., w_n)).
    Returns H: (2, 2), or (n + 1, n + 1).
    Taught in chapter 1.
    """
    x = _check_x(x, max_ndim=2)
    return _weighted_second_moment(x, np.ones(x.shape[0]))


def hessian_condition_number(x):
    """kappa = lambda_max / lambda_min of the Hessian H of L (see ``regression_hessian``).

    x: (m,) or (m, n).
    Returns a float >= 1; 1 means circular contours, large means a long narrow valley.
    Taught in chapter 1.
    """
    lam = np.linalg.eigvalsh(regression_hessian(x))
    return float(lam[-1] / lam[0])


def max_stable_learning_rate(x):
    """The largest learning rate for which gradient descent on L converges: eta < 2 / lambda_max(H).

    Each eigen-direction of H is multiplied by (1 - eta * lambda) per step, which must stay inside (-1, 1).
    x: (m,) or (m, n).
    Returns 2 / lambda_max, a float (the bound itself is not stable: that direction oscillates forever).
    Taught in chapter 1.
    """
    return float(2.0 / np.linalg.eigvalsh(regression_hessian(x))[-1])


def least_squares_fit(x, y):
    """The minimizer (b*, w*) of L:  w* = sum (x - mean x)(y - mean y) / sum (x - mean x)^2,  b* = mean y - w* mean x.

    x, y: (m,).
    Returns (2,) array [b*, w*].
    Taught in chapter 1.
    """
    x, y = _check_xy(x, y)
    xc = x - x.mean()
    w = float(xc @ (y - y.mean()) / (xc @ xc))
    return np.array([y.mean() - w * x.mean(), w])


def gradient_descent(x, y, start, lr, steps):
    """Run plain gradient descent  theta <- theta - lr * grad L(theta)  on the regression loss.

    x, y: (m,).
    start: (2,) starting point (b, w).
    lr: learning rate eta > 0 (see ``max_stable_learning_rate``).
    steps: number of updates, an int >= 0.
    Returns the path: (steps + 1, 2) array, row k is (b, w) after k updates (row 0 is ``start``).
    Taught in chapter 1.
    """
    x, y = _check_xy(x, y)
    theta = _check_theta(start)
    lr = check_number(lr, "lr", low=0, low_open=True)
    steps = check_int(steps, "steps", 0)
    path = np.empty((steps + 1, 2))
    path[0] = theta
    for k in range(1, steps + 1):
        theta = theta - lr * _gradient(theta[0], theta[1], x, y)
        path[k] = theta
    return path


def iterations_to_converge(x, y, start, lr, tol=1e-6):
    """The number of gradient-descent updates until the loss is within ``tol`` of its minimum.

    Returns the smallest k with L(theta_k) - L(theta*) <= tol, where theta_k is the k-th iterate
    of ``gradient_descent(x, y, start, lr, k)``. Because L is quadratic, the error after k steps is
    exactly e_k = (I - lr H)^k e_0 (e = theta - theta*), so in the eigenbasis of H (eigenvalues
    lambda_j, coordinates c_j of e_0) the gap is  (1/2) sum_j lambda_j c_j^2 (1 - lr lambda_j)^(2k).
    It decreases in k, and k is found by doubling then bisection: no loop over hundreds of
    thousands of updates is needed even when H is badly conditioned.
    x, y: (m,).  start: (2,) (b, w).  lr: 0 < lr < 2 / lambda_max.  tol: > 0, in units of the loss.
    Returns an int >= 0.
    Taught in chapter 1.
    """
    x, y = _check_xy(x, y)
    theta0 = _check_theta(start)
    lr = check_number(lr, "lr", low=0, low_open=True)
    tol = check_number(tol, "tol", low=0, low_open=True)
    lam, vecs = np.linalg.eigh(regression_hessian(x))
    if lr >= 2.0 / lam[-1]:
        raise ValueError(
            f"lr={lr:g} is not below 2/lambda_max = {2.0 / lam[-1]:g}, so gradient descent does not converge; "
            "use a smaller learning rate (see max_stable_learning_rate)."
        )
    c = vecs.T @ (theta0 - least_squares_fit(x, y))
    weight = 0.5 * lam * c**2
    rho2 = (1.0 - lr * lam) ** 2
    if np.sum(weight[rho2 >= 1.0]) > tol:
        # lr * lambda_min is below float64 resolution: that direction never moves.
        raise ValueError(f"lr={lr:g} is too small for gradient descent to make progress in float64; increase it.")

    def gap(k):
        return float(np.sum(weight * rho2**k))

    if gap(0) <= tol:
        return 0
    hi = 1
    while gap(hi) > tol:
        hi *= 2
    lo = hi // 2  # gap(lo) > tol >= gap(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if gap(mid) > tol:
            lo = mid
        else:
            hi = mid
    return hi


# ---- added for issue 14 ----

def _weighted_second_moment(x, h):
    """(1/m) sum_i h_i [1, x_i][1, x_i]^T for x (m, n) or (m,) and h (m,); unchecked kernel."""
    A = np.column_stack([np.ones(x.shape[0]), x])
    return (A * h[:, None]).T @ A / x.shape[0]


def layer_hessian(a, curvature=None):
    """The Hessian of a mean per-example loss with respect to one unit's (b, w), where z_i = b + a_i . w.

    Because z_i is affine in (b, w), the chain rule gives exactly

        H = (1/m) sum_i h_i [1, a_i][1, a_i]^T,     h_i = d^2 loss_i / d z_i^2,

    a second moment of the inputs [1, a_i] weighted by each example's curvature. For a linear
    output under squared loss h_i = 1 and H is ``regression_hessian(a)``; for a sigmoid output
    under cross-entropy h_i = p_i (1 - p_i); for a sigmoid output under squared loss the
    Gauss-Newton approximation keeps h_i = g'(z_i)^2 and drops (g(z_i) - y_i) g''(z_i).
    a: (m,) or (m, n) the inputs of the unit (e.g. the activations a^[1] feeding layer 2).
    curvature: (m,) the h_i, or None for h_i = 1.
    Returns H: (n + 1, n + 1), parameters ordered (b, w_1, ..., w_n).
    Raises ValueError for a curvature of the wrong shape or with NaN/inf.
    Taught in chapter 1 (the layer-2 Hessian).
    """
    a = _check_x(a, max_ndim=2)
    m = a.shape[0]
    if curvature is None:
        h = np.ones(m)
    else:
        h = np.asarray(curvature, dtype=np.float64)
        if h.shape != (m,):
            raise ValueError(f"curvature must have shape ({m},), one h_i per example of a, got shape {h.shape}.")
        if not np.all(np.isfinite(h)):
            raise ValueError("curvature contains NaN or inf; each h_i must be a finite number.")
    return _weighted_second_moment(a, h)
