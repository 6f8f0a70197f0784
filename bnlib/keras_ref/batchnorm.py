"""Keras's ``BatchNormalization`` and ``Normalization`` layers called on numpy arrays (chapters 1 to 4).

Every function takes and returns numpy arrays; the layer's weights are read back after the call.
"""

from dataclasses import dataclass

import numpy as np

from ..defaults import KERAS_EPS, KERAS_MOMENTUM
from .backend import keras, layer_dtype, make_bn, tensorflow

__all__ = [
    "keras_batchnorm",
    "keras_batchnorm_gradients",
    "keras_batchnorm_masked",
    "keras_batchnorm_steps",
    "keras_normalization",
    "KerasBN",
]


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


def _read(layer, out):
    return KerasBN(
        out=np.asarray(out),
        gamma=layer.gamma.numpy().copy(),
        beta=layer.beta.numpy().copy(),
        moving_mean=layer.moving_mean.numpy().copy(),
        moving_variance=layer.moving_variance.numpy().copy(),
    )


def keras_batchnorm(a, gamma=None, beta=None, moving_mean=None, moving_var=None, eps=KERAS_EPS,
                    momentum=KERAS_MOMENTUM, axis=-1, training=True):
    """Run one call of ``keras.layers.BatchNormalization`` on ``a``.

    a: (m, n) or (m, h, w, c) numpy array; float64 input runs a float64 layer, anything else float32.
    gamma, beta, moving_mean, moving_var: (n,) or None for Keras's initial values (1, 0, 0, 1).
    eps, momentum, axis: passed to the layer as ``epsilon``, ``momentum``, ``axis``.
    training: True (batch statistics, moving statistics updated), False (moving statistics),
              or None (Keras resolves it to inference outside fit()).
    Returns KerasBN with the output and the layer's weights after the call.
    """
    dtype = layer_dtype(a)
    layer = make_bn(np.shape(a), dtype, gamma, beta, moving_mean, moving_var, eps, momentum, axis)
    x = np.asarray(a, dtype=dtype)
    out = layer(x, training=training) if training is not None else layer(x)
    return _read(layer, out.numpy())


def keras_batchnorm_steps(batches, gamma=None, beta=None, eps=KERAS_EPS, momentum=KERAS_MOMENTUM, axis=-1,
                          training=True):
    """Call one Keras ``BatchNormalization`` layer on each batch in turn, as a training loop would.

    batches: a sequence of arrays of the same trailing shape, e.g. k arrays of shape (m, n).
    Returns a list of KerasBN, one per call, each read right after that call (so the moving
    statistics trace the exponential moving average step by step).
    """
    batches = [np.asarray(b) for b in batches]
    dtype = layer_dtype(batches[0])
    layer = make_bn(batches[0].shape, dtype, gamma, beta, None, None, eps, momentum, axis)
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


def keras_batchnorm_gradients(a, dout, gamma=None, beta=None, eps=KERAS_EPS, axis=-1):
    """Gradients by TensorFlow autodiff through ``keras.layers.BatchNormalization`` in training mode.

    a:    (m, n) or (m, h, w, c) numpy array; float64 input runs a float64 layer, anything else float32.
    dout: array of a's shape, the upstream gradient dL/d(out); the loss is L = sum(out * dout).
    gamma, beta: (n,) or None for Keras's initial values (1, 0);  eps, axis: the layer's epsilon and axis.
    Returns (da, dgamma, dbeta) from ``tf.GradientTape``: da has a's shape, dgamma and dbeta are (n,).
    The reference for chapter 3's backward pass.
    """
    tf = tensorflow()

    dtype = layer_dtype(a)
    layer = make_bn(np.shape(a), dtype, gamma, beta, None, None, eps, KERAS_MOMENTUM, axis)
    x = tf.constant(np.asarray(a, dtype=dtype))
    d = tf.constant(np.asarray(dout, dtype=dtype))
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(layer(x, training=True) * d)
    da, dgamma, dbeta = tape.gradient(loss, [x, layer.gamma, layer.beta])
    return np.asarray(da), np.asarray(dgamma).reshape(-1), np.asarray(dbeta).reshape(-1)


def keras_batchnorm_masked(a, mask=None, gamma=None, beta=None, eps=KERAS_EPS):
    """One training-mode call of ``keras.layers.BatchNormalization`` on a padded sequence batch.

    a:    (m, T, c) numpy array, sequences padded to T steps; float64 runs a float64 layer, else float32.
    mask: (m, T) bool, True at the valid (example, step) pairs; or None, so that padding counts as data.
          Passed as the call's ``mask``: Keras then computes the statistics over the valid pairs only.
    gamma, beta: (c,) or None for Keras's 1 and 0;  eps: the layer's ``epsilon``.
    Returns KerasBN. The layer is built with ``momentum=0``, so the moving statistics read back after
    the call are exactly the batch statistics the call used (moving = momentum * moving + (1 - momentum)
    * batch): one mean and one variance per feature c, pooled over examples and time steps (chapter 7).
    """
    dtype = layer_dtype(a)
    layer = make_bn(np.shape(a), dtype, gamma, beta, None, None, eps, 0.0, -1)
    x = np.asarray(a, dtype=dtype)
    out = layer(x, training=True) if mask is None else layer(x, training=True, mask=np.asarray(mask, dtype=bool))
    return _read(layer, np.asarray(out))
