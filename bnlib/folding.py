"""Folding an inference-mode batch normalization into the Dense or Conv2D layer before it (chapter 4).

In inference mode BN is a fixed affine map per unit, so Dense -> BN is one Dense layer
(Ioffe & Szegedy 2015, Algorithm 2, step 11). With the Dense convention y = a @ W + b:

    s  = gamma / sqrt(moving_var + eps)          (n,)
    W' = W * s        (column j scaled by s_j)
    b' = (b - moving_mean) * s + beta

A Conv2D kernel (kh, kw, c_in, c_out) folds the same way, per output channel: output channel j is
a linear function of the input with the filter W[..., j], and BN after a convolution normalizes
each channel with one (mu_j, var_j) over every position (the paper, section 3.2), so filter j is
scaled by s_j and the bias shifted as above.
"""

import numpy as np

from .defaults import KERAS_EPS
from .validation import as_numeric, as_stat, check_eps, check_finite, check_variance, check_zero_variance, float_dtype

__all__ = ["fold_batchnorm"]


def fold_batchnorm(W, b, gamma, beta, moving_mean, moving_var, eps=KERAS_EPS):
    """Fold an inference-mode BN into the preceding Dense or Conv2D layer.

    W: (n_in, n) Dense kernel, y = a @ W + b; or (kh, kw, c_in, n) Conv2D kernel (Keras's layout),
       n output channels.   b: (n,) bias, or None (use_bias=False).
    gamma, beta, moving_mean, moving_var: (n,) the BN layer's weights;  eps: its epsilon (Keras 1e-3).
    Returns (W_folded of W's shape, b_folded (n,)) with
        a @ W_folded + b_folded == BN_inference(a @ W + b)   (conv(a, W_folded) + b_folded for Conv2D)
    W_folded = W * gamma / sqrt(moving_var + eps)   (along the last axis: per unit or output channel)
    b_folded = (b - moving_mean) * gamma / sqrt(moving_var + eps) + beta.
    Only valid for inference: in training mode BN uses each batch's own statistics.
    Raises ValueError for a kernel that is neither 2-D nor 4-D, or (n,) weights that do not match
    W's last axis. Taught in chapter 4 (Dense); Conv2D in "Small, distributed, masked and
    mixed-precision batches".
    """
    W = as_numeric(W, "W", " of shape (n_in, n) or (kh, kw, c_in, n)")
    if W.ndim not in (2, 4):
        raise ValueError(f"W must be a Dense kernel of shape (n_in, n) (y = a @ W + b) or a Conv2D kernel of shape "
                         f"(kh, kw, c_in, n), got shape {W.shape}.")
    W = W.astype(float_dtype(W.dtype), copy=False)
    check_finite(W, "W")
    n = W.shape[-1]
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
