"""Folding an inference-mode batch normalization into a neighbouring Dense or Conv2D layer (chapter 4).

In inference mode BN is a fixed affine map per unit (Ioffe & Szegedy 2015, Algorithm 2, step 11,
replaces the layer by that map: :func:`batchnorm_affine`). Merging the map into the Dense layer
before it (Dense -> BN, :func:`fold_batchnorm`) or, for BN after an activation, into the Dense
layer after it (:func:`fold_batchnorm_into_next`) is a further step. With y = a @ W + b:

    s  = gamma / sqrt(moving_var + eps)          (n,)
    W' = W * s        (column j scaled by s_j)
    b' = (b - moving_mean) * s + beta
"""

import numpy as np

from .defaults import KERAS_EPS
from .validation import as_numeric, as_stat, check_eps, check_finite, check_variance, check_zero_variance, float_dtype

__all__ = ["batchnorm_affine", "fold_batchnorm", "fold_batchnorm_into_next"]


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
    A Conv2D kernel folds per output channel: channel j is linear in the input through the filter
    W[..., j], and BN after a convolution uses one (mu_j, var_j) per channel at every position
    (Ioffe & Szegedy 2015, section 3.2).
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
    gamma, beta, moving_mean, moving_var, eps = _checked_stats(gamma, beta, moving_mean, moving_var, eps, n)
    scale, shift = batchnorm_affine_kernel(gamma, beta, moving_mean, moving_var, eps)
    return W * scale, b * scale + shift


def batchnorm_affine_kernel(gamma, beta, moving_mean, moving_var, eps):
    """:func:`batchnorm_affine` without its checks: (gamma / sqrt(moving_var + eps), beta - scale * mu)."""
    scale = gamma / np.sqrt(moving_var + eps)
    return scale, beta - scale * moving_mean


def _checked_stats(gamma, beta, moving_mean, moving_var, eps, n):
    """The four (n,) BN weights and eps, checked once (n=None: gamma's length)."""
    n = as_stat(gamma, "gamma").size if n is None else n
    stats = [as_stat(v, name, n) for v, name in ((gamma, "gamma"), (beta, "beta"),
                                                  (moving_mean, "moving_mean"), (moving_var, "moving_var"))]
    eps = check_eps(eps)
    check_variance(stats[3], "moving_var")
    check_zero_variance(stats[3], eps, "moving_var has a zero entry")
    return (*stats, eps)


def batchnorm_affine(gamma, beta, moving_mean, moving_var, eps=KERAS_EPS):
    """Inference-mode BN as one affine map per unit: BN(x) = scale * x + shift (Algorithm 2, step 11).

    gamma, beta, moving_mean, moving_var: (n,) the layer's weights; eps: its epsilon (Keras 1e-3).
    Returns (scale, shift), each (n,):  scale = gamma / sqrt(moving_var + eps),
    shift = beta - scale * moving_mean. Ioffe & Szegedy (2015), Algorithm 2, step 11 replaces the
    layer by this map; merging it into a neighbouring Dense layer is :func:`fold_batchnorm` (BN
    after the Dense layer) or :func:`fold_batchnorm_into_next` (BN before it).
    Taught in chapter 4.
    """
    return batchnorm_affine_kernel(*_checked_stats(gamma, beta, moving_mean, moving_var, eps, None))


def fold_batchnorm_into_next(gamma, beta, moving_mean, moving_var, W, b, eps=KERAS_EPS):
    """Fold an inference-mode BN into the Dense or Conv2D layer AFTER it: BN -> Dense(W, b) becomes Dense(W', b').

    This is the fold for BN placed after an activation (Dense -> ReLU -> BN -> Dense), where the
    activation stands between BN and the layer before it.
    gamma, beta, moving_mean, moving_var: (n,) the BN weights;  eps: its epsilon.
    W: (n, n_out) the next Dense kernel, y = x @ W + b; or (kh, kw, n, n_out) the next Conv2D kernel
       (Keras's layout), n input channels;  b: (n_out,) its bias, or None.
    Returns (W_folded of W's shape, b_folded (n_out,)) with  BN_inference(x) @ W + b == x @ W_folded + b_folded:
    W_folded = scale[:, None] * W (row j scaled by scale_j),  b_folded = shift @ W + b; for Conv2D input
    channel j of every filter is scaled by scale_j and b_folded = sum over (kh, kw, j) of shift_j * W + b.
    The Conv2D fold is exact for padding="valid" only: "same" pads BN's OUTPUT with zeros, which the
    folded layer would see as its input's zeros, shifted (the border pixels then differ).
    Raises ValueError for a W that is neither 2-D nor 4-D, or whose input axis does not match the n
    units of the BN layer. Taught in chapter 4 (Dense); Conv2D in "Small, distributed, masked and
    mixed-precision batches".
    """
    W = as_numeric(W, "W", " of shape (n, n_out) or (kh, kw, n, n_out)")
    if W.ndim not in (2, 4):
        raise ValueError(f"W must be a Dense kernel of shape (n, n_out) (y = x @ W + b) or a Conv2D kernel of "
                         f"shape (kh, kw, n, n_out), got shape {W.shape}.")
    W = W.astype(float_dtype(W.dtype), copy=False)
    check_finite(W, "W")
    n, n_out = W.shape[-2:]
    if as_stat(gamma, "gamma").size != n:
        inputs, what = (("rows", "one row per BN unit, shape (n, n_out)") if W.ndim == 2 else
                        ("input channels", "one input channel per BN unit, shape (kh, kw, n, n_out)"))
        raise ValueError(f"W has {n} {inputs} but the BN layer has {as_stat(gamma, 'gamma').size} units; the "
                         f"next layer's kernel must have {what}.")
    b = np.zeros(n_out, dtype=W.dtype) if b is None else as_stat(b, "b", n_out)
    scale, shift = batchnorm_affine_kernel(*_checked_stats(gamma, beta, moving_mean, moving_var, eps, n))
    return scale[:, None] * W, np.tensordot(shift, W, axes=([0], [W.ndim - 2])).reshape(-1, n_out).sum(axis=0) + b
