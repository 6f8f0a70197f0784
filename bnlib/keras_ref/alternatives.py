"""Keras's normalizations that do not use the batch: layer, group, instance and RMS normalization (chapter 9)."""

import warnings

import numpy as np

from ..defaults import KERAS_EPS, RMS_EPS
from .backend import keras, layer_dtype

__all__ = ["keras_group_norm", "keras_layer_norm", "keras_rms_norm", "keras_rms_norm_op"]


def _keras_axis(axis):
    # Keras's LayerNormalization accepts only a Python int or a list of ints (numpy ints raise TypeError).
    return [int(ax) for ax in axis] if isinstance(axis, (list, tuple)) else int(axis)


def _call_norm_layer(layer, a, dtype, weights, training):
    """Build ``layer`` for a's shape, assign {attribute name: value or None}, call it on a."""
    layer.build(tuple(np.shape(a)))
    for name, value in weights.items():
        if value is not None:
            weight = getattr(layer, name)
            weight.assign(np.asarray(value, dtype=dtype).reshape(weight.shape))
    x = np.asarray(a, dtype=dtype)
    out = layer(x, training=training) if training is not None else layer(x)
    return np.asarray(out)


def keras_layer_norm(a, gamma=None, beta=None, eps=KERAS_EPS, axis=-1, rms_scaling=False, training=None):
    """Output of ``keras.layers.LayerNormalization(axis, epsilon)`` on ``a``.

    a:     batch-first numpy array; float64 input runs a float64 layer, anything else float32.
    gamma, beta: arrays spanning the normalized axes ((n,) for one axis), or None for Keras's 1 and 0.
    eps, axis: the layer's ``epsilon`` and ``axis`` (int or tuple: the axes normalized over).
    rms_scaling: Keras's deprecated option, out = x * rsqrt(var + eps) * gamma (no beta: pass None); its
                 deprecation warning is silenced here so notebooks stay clean (chapter 9 explains it).
    training: passed to the call (True/False), or None; these layers compute the same either way.
    Returns out, a's shape. The reference for :func:`bnlib.alternatives.layer_norm` (chapter 9).
    """
    if rms_scaling and beta is not None:
        raise ValueError("LayerNormalization(rms_scaling=True) has no beta weight; pass beta=None.")
    k = keras()
    dtype = layer_dtype(a)
    # rms_scaling warns both when the layer is made and on every call.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        layer = k.layers.LayerNormalization(axis=_keras_axis(axis), epsilon=eps, dtype=dtype,
                                            **({"rms_scaling": True} if rms_scaling else {}))
        return _call_norm_layer(layer, a, dtype, {"gamma": gamma, "beta": beta}, training)


def keras_group_norm(a, groups=32, gamma=None, beta=None, eps=KERAS_EPS, axis=-1, training=None):
    """Output of ``keras.layers.GroupNormalization(groups, axis, epsilon)`` on ``a``.

    a:      batch-first numpy array, e.g. (m, h, w, c); float64 runs a float64 layer, anything else float32.
    groups: G dividing the channels (Keras's default 32); -1 gives one group per channel (instance norm).
    gamma, beta: (c,) or None for Keras's 1 and 0;  eps, axis: ``epsilon`` and the channel ``axis``.
    training: passed to the call, or None.
    Returns out, a's shape. The reference for ``group_norm`` and ``instance_norm`` (chapter 9).
    """
    k = keras()
    dtype = layer_dtype(a)
    layer = k.layers.GroupNormalization(groups=int(groups), axis=int(axis), epsilon=eps, dtype=dtype)
    return _call_norm_layer(layer, a, dtype, {"gamma": gamma, "beta": beta}, training)


def keras_rms_norm(a, gamma=None, eps=RMS_EPS, axis=-1, training=None):
    """Output of ``keras.layers.RMSNormalization(axis, epsilon)`` on ``a``: x * rsqrt(mean(x^2) + eps) * scale.

    a:     batch-first numpy array; float64 runs a float64 layer, anything else float32.
    gamma: the layer's ``scale`` ((n,) for one axis) or None for ones;  eps: ``epsilon`` (default 1e-6).
    axis:  int or tuple, the axes normalized over, which must be the LAST axes of a (see below).
    training: passed to the call, or None.
    Returns out, a's shape. The reference for :func:`bnlib.alternatives.rms_norm` (chapter 9).
    Raises ValueError for other axes: Keras 3.15's layer multiplies its scale (ones by default) against the
    last axes whatever ``axis`` says, which gives wrong values, a wrong output shape or a shape error there.
    Use :func:`keras_rms_norm_op` (no scale) for those axes.
    """
    ndim = np.ndim(a)
    axes = sorted(ax % ndim for ax in (axis if isinstance(axis, (list, tuple)) else [axis]))
    if axes != list(range(ndim - len(axes), ndim)):
        raise ValueError(f"keras.layers.RMSNormalization applies its scale to the last axes, so it is only a valid "
                         f"reference for trailing axes, not axis={axis} of a {ndim}-d input; use keras_rms_norm_op "
                         "and multiply by gamma yourself.")
    k = keras()
    dtype = layer_dtype(a)
    layer = k.layers.RMSNormalization(axis=_keras_axis(axis), epsilon=eps, dtype=dtype)
    return _call_norm_layer(layer, a, dtype, {"scale": gamma}, training)


def keras_rms_norm_op(a, eps=RMS_EPS, axis=-1):
    """``keras.ops.rms_normalization(a, scale=None, axis, epsilon)``: a * rsqrt(mean(a^2 over axis) + eps).

    a: batch-first numpy array (float64 stays float64, anything else float32); axis: int or tuple, any axes.
    Returns out, a's shape, without a scale: the reference for :func:`bnlib.alternatives.rms_norm` over
    non-trailing axes, where the RMSNormalization layer misapplies its scale (chapter 9).
    """
    k = keras()
    x = np.asarray(a, dtype=layer_dtype(a))
    return np.asarray(k.ops.rms_normalization(x, scale=None, axis=_keras_axis(axis), epsilon=eps))
