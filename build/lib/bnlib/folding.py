"""Folding an inference-mode batch normalization into the Dense layer before it (chapter 4).

In inference mode BN is a fixed affine map per unit, so Dense -> BN is one Dense layer
(Ioffe & Szegedy 2015, Algorithm 2, step 11). With the Dense convention y = a @ W + b:

    s  = gamma / sqrt(moving_var + eps)          (n,)
    W' = W * s        (column j scaled by s_j)
    b' = (b - moving_mean) * s + beta
"""

import numpy as np

from .layer import as_stat
from .validation import check_eps

__all__ = ["fold_batchnorm"]


def fold_batchnorm(W, b, gamma, beta, moving_mean, moving_var, eps=1e-3):
    """Fold an inference-mode BN into the preceding Dense layer.

    W: (n_in, n) Dense kernel, y = a @ W + b.   b: (n,) Dense bias, or None (use_bias=False).
    gamma, beta, moving_mean, moving_var: (n,) the BN layer's weights;  eps: its epsilon (Keras 1e-3).
    Returns (W_folded (n_in, n), b_folded (n,)) with
        a @ W_folded + b_folded == BN_inference(a @ W + b)
    W_folded = W * gamma / sqrt(moving_var + eps)
    b_folded = (b - moving_mean) * gamma / sqrt(moving_var + eps) + beta.
    Only valid for inference: in training mode BN uses each batch's own statistics.
    Taught in chapter 4.
    """
    try:
        W = np.asarray(W)
    except Exception as exc:
        raise TypeError(f"W must be a numeric array of shape (n_in, n); numpy could not convert it ({exc}).") from None
    if W.dtype == object or not np.issubdtype(W.dtype, np.number) or np.iscomplexobj(W):
        raise TypeError(f"W must be a real numeric array of shape (n_in, n), got dtype {W.dtype}.")
    if W.ndim != 2:
        raise ValueError(f"W must be a Dense kernel of shape (n_in, n) (y = a @ W + b), got shape {W.shape}.")
    if not np.issubdtype(W.dtype, np.floating):
        W = W.astype(np.float64)
    if not np.all(np.isfinite(W)):
        raise ValueError("W contains NaN or inf; the kernel must be finite.")
    n = W.shape[1]
    b = np.zeros(n, dtype=W.dtype) if b is None else as_stat(b, "b", n)
    gamma = as_stat(gamma, "gamma", n)
    beta = as_stat(beta, "beta", n)
    moving_mean = as_stat(moving_mean, "moving_mean", n)
    moving_var = as_stat(moving_var, "moving_var", n)
    eps = check_eps(eps)
    if np.any(moving_var < 0):
        raise ValueError("moving_var must be >= 0 everywhere; a variance cannot be negative.")
    if eps == 0 and np.any(moving_var == 0):
        raise ValueError("moving_var has a zero entry and eps=0, so the scale is undefined; use eps > 0.")
    scale = gamma / np.sqrt(moving_var + eps)
    return W * scale, (b - moving_mean) * scale + beta
