"""Normalizations that do not use the batch: layer, group, instance and RMS normalization (chapter 9).

Batch normalization averages one feature over the m examples of a batch. The layers here average
over the features (and, for images, the positions) of ONE example, so an example's output never
depends on its batch-mates and training and inference compute the same thing. For example i
(the notes' notation, statistics over a set S of that example's values, |S| values):

    mu^(i)      = (1/|S|) sum_{k in S} a_k^(i)
    sigma^2(i)  = (1/|S|) sum_{k in S} (a_k^(i) - mu^(i))^2           (biased, as Keras)
    a_std,k^(i) = (a_k^(i) - mu^(i)) / sqrt(sigma^2(i) + eps)
    a_tilde,k^(i) = beta_k + gamma_k * a_std,k^(i)

    layer norm:    S = the normalized axes of example i (Keras ``axis``; all n features of a dense layer)
    group norm:    S = one group of c/G channels, at every spatial position of example i
    instance norm: S = one channel, at every spatial position of example i (group norm with G = c)
    RMS norm:      no mean: a_tilde,k^(i) = gamma_k * a_k^(i) / sqrt((1/|S|) sum_S (a_k^(i))^2 + eps)

Each function matches the Keras 3 layer named in its docstring (same epsilon default, same biased
variance, eps inside the square root). Pure functions, no state: these layers have no moving statistics.
"""

import numpy as np

from .batchnorm import moments_kernel
from .defaults import KERAS_EPS, RMS_EPS
from .validation import (
    as_batch,
    as_numeric,
    check_eps,
    check_finite,
    check_int,
    check_param,
    check_zero_variance,
    feature_axis,
    is_int,
)

__all__ = ["group_norm", "instance_norm", "layer_norm", "rms_norm", "statistics_sets"]


def _norm_axes(arr, axis):
    """Keras's ``axis`` for LayerNormalization/RMSNormalization: an int or a list/tuple of ints, sorted."""
    if isinstance(axis, (list, tuple)):
        if len(axis) == 0:
            raise ValueError("axis is an empty tuple; name at least one axis to normalize over, e.g. axis=-1.")
        axes = tuple(feature_axis(arr, ax) for ax in axis)
        if len(set(axes)) != len(axes):
            raise ValueError(f"axis={tuple(axis)} names the same axis twice for an array of shape {arr.shape}; "
                             "list each axis once.")
        return tuple(sorted(axes))
    if not is_int(axis):
        raise TypeError(f"axis must be an int or a tuple of ints naming the axes to normalize over "
                        f"(default -1), got {axis!r}.")
    return (feature_axis(arr, axis),)


def _check_span_param(p, name, arr, axes):
    """A parameter spanning the normalized axes: shape (n,) for one axis, a.shape[axes] for several."""
    if len(axes) == 1:
        return check_param(p, name, arr, axes[0], arr.dtype)
    want = tuple(arr.shape[ax] for ax in axes)
    p = as_numeric(p, name, f" of shape {want}")
    if p.shape != want:
        raise ValueError(f"{name} has shape {p.shape} but normalizing over axes {axes} of an input of shape "
                         f"{arr.shape} needs {name} of shape {want} (one value per normalized position, "
                         "as Keras's LayerNormalization builds it).")
    p = p.astype(arr.dtype, copy=False)
    check_finite(p, name)
    shape = [1] * arr.ndim
    for ax in axes:
        shape[ax] = arr.shape[ax]
    return p.reshape(shape)


def _standardize_over(x, axes, eps, what):
    """(x - mu) / sqrt(var + eps) with mu, var (biased) over ``axes`` of each example."""
    count = int(np.prod([x.shape[ax] for ax in axes]))
    if count < 2:
        raise ValueError(
            f"{what} would average a single value per statistic (input shape {x.shape}): its variance is 0 and "
            "every output would equal beta whatever the input (Keras returns beta silently). Normalize over an "
            "axis with at least 2 values."
        )
    # The shared kernel falls back to float64 when float32 statistics overflow (|x| near 1.8e19).
    mu, var = moments_kernel(x, axes)
    check_zero_variance(var, eps, f"{what}: an example has a constant set of values (variance 0)")
    return ((x - mu) / np.sqrt(var + eps)).astype(x.dtype, copy=False)


def layer_norm(a, gamma, beta, eps=KERAS_EPS, axis=-1):
    """Layer normalization (Ba et al. 2016): statistics over the features of each example.

    a:     (m, n) dense, (m, T, n) sequences or (m, h, w, c) images, batch-first.
    gamma, beta: scale and shift spanning the normalized axes: (n,) for one axis (the usual case),
           a.shape[axis] for a tuple of axes, e.g. (h, w, c) for axis=(1, 2, 3).
    eps:   float >= 0 inside the square root (Keras's default 1e-3).
    axis:  int or tuple of ints, the axes to normalize OVER (Keras's meaning), never the batch axis 0.
           axis=-1 on (m, n): mu^(i) = (1/n) sum_j a_j^(i), sigma^2(i) = (1/n) sum_j (a_j^(i) - mu^(i))^2.
    Returns out, a's shape: beta + gamma * (a - mu^(i)) / sqrt(sigma^2(i) + eps), float32 or float64.
    Matches ``keras.layers.LayerNormalization(axis, epsilon)`` (its default, rms_scaling=False).
    Raises ValueError if the normalized axes hold a single value (n = 1): the output would be beta.
    Taught in chapter 9.
    """
    arr = as_batch(a, one_dim="example")
    axes = _norm_axes(arr, axis)
    eps = check_eps(eps)
    g = _check_span_param(gamma, "gamma", arr, axes)
    b = _check_span_param(beta, "beta", arr, axes)
    return b + g * _standardize_over(arr, axes, eps, "layer normalization")


def _check_groups(groups, c, ax):
    groups = check_int(groups, "groups", hint=f" that divides the number of channels ({c})")
    if groups == -1:  # Keras's shorthand for one group per channel (instance normalization)
        return c
    divisors = [d for d in range(1, c + 1) if c % d == 0]
    if groups <= 0:
        raise ValueError(f"groups must be a positive int (or -1 for one group per channel), got {groups}; "
                         f"for {c} channels the valid choices are {divisors}.")
    if groups > c or c % groups:
        raise ValueError(f"groups={groups} does not divide the {c} channels of axis {ax}: every group needs the same "
                         f"number of channels. For {c} channels choose groups in {divisors}.")
    return groups


def _group_norm(arr, groups, gamma, beta, eps, ax, what):
    c = arr.shape[ax]
    g = check_param(gamma, "gamma", arr, ax, arr.dtype)
    b = check_param(beta, "beta", arr, ax, arr.dtype)
    # Split the channel axis into (groups, c/groups); the group axis takes the channel axis's place.
    grouped = arr.reshape(arr.shape[:ax] + (groups, c // groups) + arr.shape[ax + 1:])
    axes = tuple(i for i in range(1, grouped.ndim) if i != ax)
    a_std = _standardize_over(grouped, axes, eps, what).reshape(arr.shape)
    return b + g * a_std


def group_norm(a, groups, gamma, beta, eps=KERAS_EPS, axis=-1):
    """Group normalization (Wu & He 2018): statistics over groups of channels and every position of each example.

    a:      (m, h, w, c) images (or (m, n) dense, (m, T, c) sequences), batch-first.
    groups: int G dividing c = a.shape[axis] (Keras's default is 32); -1 means G = c, as in Keras.
            Group g holds channels S_g = [g*c/G, (g+1)*c/G); for example i:
            mu_g^(i) = 1/(|S_g| h w) sum_{k in S_g} sum_{positions p} a_{p,k}^(i), sigma^2_g^(i) likewise (biased).
    gamma, beta: (c,), one per channel (not per group).
    eps:    float >= 0 inside the square root (Keras's default 1e-3).
    axis:   int, the channel axis (default -1; 1 for channels-first); never the batch axis 0.
    Returns out, a's shape: beta_k + gamma_k * (a_k - mu_g^(i)) / sqrt(sigma^2_g^(i) + eps) for k in S_g.
    Matches ``keras.layers.GroupNormalization(groups, axis, epsilon)``. G = 1 is layer normalization over
    (h, w, c) with per-channel gamma, beta; G = c is instance normalization.
    Raises ValueError if G does not divide c, or if a group holds a single value (output would be beta).
    Taught in chapter 9.
    """
    arr = as_batch(a, one_dim="example")
    ax = feature_axis(arr, axis)
    eps = check_eps(eps)
    groups = _check_groups(groups, arr.shape[ax], ax)
    return _group_norm(arr, groups, gamma, beta, eps, ax, f"group normalization with groups={groups}")


def instance_norm(a, gamma, beta, eps=KERAS_EPS, axis=-1):
    """Instance normalization (Ulyanov et al. 2016): statistics over the positions of one channel of one example.

    a:     (m, h, w, c) images (or (m, T, c) sequences), batch-first; needs positions besides the channels.
           mu_k^(i) = 1/(h w) sum_p a_{p,k}^(i), sigma^2_k^(i) = 1/(h w) sum_p (a_{p,k}^(i) - mu_k^(i))^2.
    gamma, beta: (c,).
    eps:   float >= 0 (Keras's default 1e-3);  axis: int, the channel axis (default -1).
    Returns out, a's shape: beta_k + gamma_k * (a_{p,k}^(i) - mu_k^(i)) / sqrt(sigma^2_k^(i) + eps).
    Matches ``keras.layers.GroupNormalization(groups=-1, axis, epsilon)`` (Keras 3 has no separate layer).
    Raises ValueError for a dense (m, n) input: each (example, channel) is one value, the output would be beta.
    Taught in chapter 9.
    """
    arr = as_batch(a, one_dim=None)  # it needs positions besides the channels: no reshape of one vector does
    ax = feature_axis(arr, axis)
    eps = check_eps(eps)
    if arr.size // (arr.shape[0] * arr.shape[ax]) < 2:
        raise ValueError(
            f"instance normalization averages each channel over the positions of one example, but a of shape "
            f"{arr.shape} has a single position per (example, channel) (axis={axis}): every output would be beta. "
            "It is meant for images (m, h, w, c); for dense (m, n) inputs use layer_norm."
        )
    return _group_norm(arr, arr.shape[ax], gamma, beta, eps, ax, "instance normalization")


def rms_norm(a, gamma, eps=RMS_EPS, axis=-1):
    """RMS normalization (Zhang & Sennrich 2019): divide each example by its root mean square; no mean, no beta.

    a:     (m, n) dense or (m, T, n) sequences (any batch-first array), axis as in :func:`layer_norm`.
    gamma: scale spanning the normalized axes, (n,) for one axis (Keras calls it ``scale``).
    eps:   float >= 0 added to the mean square (Keras's default 1e-6, not 1e-3).
    axis:  int or tuple of ints, the axes to normalize over; never the batch axis 0.
    Returns out, a's shape: gamma * a^(i) / sqrt((1/n) sum_j (a_j^(i))^2 + eps)
    (Keras: x * rsqrt(mean(square(x)) + epsilon) * scale).
    Matches ``keras.layers.RMSNormalization(axis, epsilon)``. Not ``LayerNormalization(rms_scaling=True)``:
    that deprecated option divides by sqrt(variance + eps), i.e. it subtracts the mean in the variance.
    Raises ValueError if eps = 0 and an example is all zeros (0/0).
    Taught in chapter 9.
    """
    arr = as_batch(a, one_dim="example")
    axes = _norm_axes(arr, axis)
    eps = check_eps(eps, default=RMS_EPS)
    g = _check_span_param(gamma, "gamma", arr, axes)
    with np.errstate(over="ignore"):  # an overflow is detected and handled below
        mean_square = np.mean(arr * arr, axis=axes, keepdims=True)
    if not np.isfinite(mean_square).all():
        # float32 squares overflow above |a| ~ 1.8e19: recompute in float64 rather than return zeros
        if arr.dtype == np.float64:
            raise ValueError("the mean square overflows float64 (|a| beyond about 1e154); rescale the input "
                             "first, e.g. a / np.abs(a).max().")
        wide = arr.astype(np.float64)
        mean_square = np.mean(wide * wide, axis=axes, keepdims=True)
        return (g * (wide / np.sqrt(mean_square + eps))).astype(arr.dtype)
    check_zero_variance(mean_square, eps, "rms normalization: an example is all zeros (mean square 0)", RMS_EPS)
    return g * arr / np.sqrt(mean_square + eps)


_METHODS = ("batch", "layer", "group", "instance", "rms")


def statistics_sets(method, m, c, groups=2):
    """Which (example, channel) cells of an image batch share one set of statistics.

    method: "batch", "layer" (over (h, w, c), Ba et al.'s convolutional layer norm), "group", "instance"
            or "rms" (same sets as "layer").
    m, c:   examples and channels; every cell stands for all h*w positions of that (example, channel).
    groups: G for "group" (must divide c).
    Returns labels, (m, c) ints: cells with equal labels are averaged together, each label one mu (and var).
    Used by :func:`bnlib.plots.plot_statistics_sets` and the table in chapter 9.
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}.")
    m, c = check_int(m, "m", 1), check_int(c, "c", 1)
    i, k = np.meshgrid(np.arange(m), np.arange(c), indexing="ij")
    if method == "batch":
        return k
    if method in ("layer", "rms"):
        return i
    if method == "instance":
        return i * c + k
    groups = _check_groups(groups, c, -1)
    return i * groups + k // (c // groups)
