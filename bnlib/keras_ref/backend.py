"""The one door to TensorFlow/Keras: importing them quietly, and the helpers every reference shares.

TensorFlow is imported lazily, on the first call of :func:`keras`, after its C++ log messages and
oneDNN notice are switched off: those would land on stderr, where nbval would see them and readers
would be confused by them. No other module of the course imports TensorFlow or Keras.
"""

import os

import numpy as np

__all__ = ["bn_policy", "keras", "layer_dtype", "make_bn", "tensorflow"]


def keras():
    """Import and return the ``keras`` module, silencing TensorFlow's start-up noise first."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # oneDNN reorders float sums, so results could shift in the last bit between runs/machines,
    # and its start-up notice goes to stderr: off for reproducible notebooks.
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    # Imported here, not at the top: TensorFlow takes seconds to load, and only Keras checks need it.
    import absl.logging
    import keras as _keras

    absl.logging.set_verbosity(absl.logging.ERROR)
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    return _keras


def tensorflow():
    """Import and return the ``tensorflow`` module (quietly, through :func:`keras`), e.g. for ``GradientTape``."""
    keras()
    import tensorflow as tf

    return tf


def layer_dtype(a):
    """The dtype of the Keras layer that references input ``a``: "float64" for float64, else "float32"."""
    # Keras computes float16 inputs in float32 (its default dtype policy); float64 is kept
    # so that float64 comparisons can use tight tolerances.
    return "float64" if np.asarray(a).dtype == np.float64 else "float32"


def bn_policy(a):
    """The dtype policy of the BatchNormalization layer that references input ``a``.

    float16 input runs a ``"mixed_float16"`` layer (float32 weights and statistics, float16 output),
    as a model under ``keras.mixed_precision.set_global_policy("mixed_float16")`` would; otherwise
    :func:`layer_dtype`. The policy is the layer's own: no global state changes.
    """
    return "mixed_float16" if np.asarray(a).dtype == np.float16 else layer_dtype(a)


def make_bn(shape, dtype, gamma, beta, moving_mean, moving_var, eps, momentum, axis):
    """A built ``keras.layers.BatchNormalization`` for inputs of ``shape``, its weights set where given (not None).

    dtype: the layer's dtype policy ("float32", "float64" or "mixed_float16"); call the layer on
    input of ``layer.compute_dtype``.
    """
    k = keras()
    layer = k.layers.BatchNormalization(axis=axis, momentum=momentum, epsilon=eps, dtype=dtype)
    layer.build(tuple(shape))
    for weight, value in ((layer.gamma, gamma), (layer.beta, beta),
                          (layer.moving_mean, moving_mean), (layer.moving_variance, moving_var)):
        if value is not None:
            weight.assign(np.asarray(value, dtype=layer.variable_dtype).reshape(weight.shape))
    return layer
