"""Folding an inference-mode batch normalization into the Dense layer before it (chapter 4).

In inference mode BN is a fixed affine map per unit, so Dense -> BN is one Dense layer
(Ioffe & Szegedy 2015, Algorithm 2, step 11). With the Dense convention y = a @ W + b:

    s  = gamma / sqrt(moving_var + eps)          (n,)
    W' = W * s        (column j scaled by s_j)
    b' = (b - moving_mean) * s + beta
"""

import numpy as np

from .defaults import KERAS_EPS
from .validation import as_numeric, as_stat, check_eps, check_finite, check_variance, check_zero_variance, float_dtype

__all__ = ["fold_batchnorm"]


def fold_batchnorm(W, b, gamma, beta, moving_mean, moving_var, eps=KERAS_EPS):
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
    W = as_numeric(W, "W", " of shape (n_in, n)")
    if W.ndim != 2:
        raise ValueError(f"W must be a Dense kernel of shape (n_in, n) (y = a @ W + b), got shape {W.shape}.")
    W = W.astype(float_dtype(W.dtype), copy=False)
    check_finite(W, "W")
    n = W.shape[1]
    b = np.zeros(n, dtype=W.dtype) if b is None else as_stat(b, "b", n)
    gamma = as_stat(gamma, "gamma", n)
    beta = as_stat(beta, "beta", n)
    moving_mean = as_stat(moving_mean, "moving_mean", n)
    moving_var = as_stat(moving_var, "moving_var", n)
    eps = check_eps(eps)
    check_variance(moving_var, "moving_var")
    check_zero_variance(moving_var, eps, "moving_var has a zero entry")
    scale = gamma / np.sqrt(moving_var + eps)
    return W * scale, (b - moving_mean) * scale + beta
