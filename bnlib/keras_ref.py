"""The Keras reference: the only module of the course that imports TensorFlow/Keras.

Every function takes and returns numpy arrays. TensorFlow is imported lazily, on the
first call, after its C++ log messages and oneDNN notice are switched off: those
would land on stderr, where nbval would see them and readers would be confused by them.
"""

import os
from dataclasses import dataclass

import numpy as np

def keras():
    """Import and return the ``keras`` module, silencing TensorFlow's start-up noise first."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # oneDNN reorders float sums, so results could shift in the last bit between runs/machines,
    # and its start-up notice goes to stderr: off for reproducible notebooks.
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import absl.logging
    import keras as _keras

    absl.logging.set_verbosity(absl.logging.ERROR)
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    return _keras


def _layer_dtype(a):
    # Keras computes float16 inputs in float32 (its default dtype policy); float64 is kept
    # so that float64 comparisons can use tight tolerances.
    return "float64" if np.asarray(a).dtype == np.float64 else "float32"


@dataclass(frozen=True)
class KerasBN:
    """What a Keras ``BatchNormalization`` call produced, read back from the layer.

    out: the layer's output, shape of the input.
    gamma, beta, moving_mean, moving_variance: (n,) the layer's four weights after the call.
    """

    out: np.ndarray
    gamma: np.ndarray
    beta: np.ndarray
    moving_mean: np.ndarray
    moving_variance: np.ndarray


def _make_bn(shape, dtype, gamma, beta, moving_mean, moving_var, eps, momentum, axis):
    k = keras()
    layer = k.layers.BatchNormalization(axis=axis, momentum=momentum, epsilon=eps, dtype=dtype)
    layer.build(tuple(shape))
    for weight, value in ((layer.gamma, gamma), (layer.beta, beta),
                          (layer.moving_mean, moving_mean), (layer.moving_variance, moving_var)):
        if value is not None:
            weight.assign(np.asarray(value, dtype=dtype).reshape(weight.shape))
    return layer


def _read(layer, out):
    return KerasBN(
        out=np.asarray(out),
        gamma=layer.gamma.numpy().copy(),
        beta=layer.beta.numpy().copy(),
        moving_mean=layer.moving_mean.numpy().copy(),
        moving_variance=layer.moving_variance.numpy().copy(),
    )


def keras_batchnorm(a, gamma=None, beta=None, moving_mean=None, moving_var=None, eps=1e-3,
                    momentum=0.99, axis=-1, training=True):
    """Run one call of ``keras.layers.BatchNormalization`` on ``a``.

    a: (m, n) or (m, h, w, c) numpy array; float64 input runs a float64 layer, anything else float32.
    gamma, beta, moving_mean, moving_var: (n,) or None for Keras's initial values (1, 0, 0, 1).
    eps, momentum, axis: passed to the layer as ``epsilon``, ``momentum``, ``axis``.
    training: True (batch statistics, moving statistics updated), False (moving statistics),
              or None (Keras resolves it to inference outside fit()).
    Returns KerasBN with the output and the layer's weights after the call.
    """
    dtype = _layer_dtype(a)
    layer = _make_bn(np.shape(a), dtype, gamma, beta, moving_mean, moving_var, eps, momentum, axis)
    x = np.asarray(a, dtype=dtype)
    out = layer(x, training=training) if training is not None else layer(x)
    return _read(layer, out.numpy())


def keras_batchnorm_steps(batches, gamma=None, beta=None, eps=1e-3, momentum=0.99, axis=-1, training=True):
    """Call one Keras ``BatchNormalization`` layer on each batch in turn, as a training loop would.

    batches: a sequence of arrays of the same trailing shape, e.g. k arrays of shape (m, n).
    Returns a list of KerasBN, one per call, each read right after that call (so the moving
    statistics trace the exponential moving average step by step).
    """
    batches = [np.asarray(b) for b in batches]
    dtype = _layer_dtype(batches[0])
    layer = _make_bn(batches[0].shape, dtype, gamma, beta, None, None, eps, momentum, axis)
    return [_read(layer, layer(np.asarray(b, dtype=dtype), training=training).numpy()) for b in batches]


def keras_normalization(X, axis=-1):
    """``keras.layers.Normalization`` adapted to ``X`` and applied to it.

    X: (m, n) numpy array.
    Returns (out, mean, variance): out (m, n); mean and variance (n,) as Keras stores them
    (the variance divides by m, not m - 1).
    """
    k = keras()
    X = np.asarray(X, dtype=np.float32)
    layer = k.layers.Normalization(axis=axis)
    layer.adapt(X)
    out = layer(X).numpy()
    return out, np.asarray(layer.mean).reshape(-1), np.asarray(layer.variance).reshape(-1)
