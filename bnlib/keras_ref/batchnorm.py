"""Keras's ``BatchNormalization`` and ``Normalization`` layers called on numpy arrays (chapters 1 to 4).

Every function takes and returns numpy arrays; the layer's weights are read back after the call.
"""

from dataclasses import dataclass

import numpy as np

from ..defaults import KERAS_EPS, KERAS_MOMENTUM, KERAS_RENORM_MOMENTUM
from .backend import bn_policy, keras, layer_dtype, make_bn, tensorflow

__all__ = [
    "KerasRenorm",
    "keras_batch_renorm_gradients",
    "keras_batch_renorm_steps",
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
                    momentum=KERAS_MOMENTUM, axis=-1, training=True, mask=None):
    """Run one call of ``keras.layers.BatchNormalization`` on ``a``.

    a: (m, n) or (m, h, w, c) numpy array; float64 input runs a float64 layer, float16 a
       "mixed_float16" layer (float32 statistics, float16 output), anything else float32.
    gamma, beta, moving_mean, moving_var: (n,) or None for Keras's initial values (1, 0, 0, 1).
    eps, momentum, axis: passed to the layer as ``epsilon``, ``momentum``, ``axis``.
    training: True (batch statistics, moving statistics updated), False (moving statistics),
              or None (Keras resolves it to inference outside fit()).
    mask: None, or a boolean array of a's shape without the last axis, passed as the call's ``mask``.
    Returns KerasBN with the output and the layer's weights after the call.
    """
    layer = make_bn(np.shape(a), bn_policy(a), gamma, beta, moving_mean, moving_var, eps, momentum, axis)
    x = np.asarray(a, dtype=layer.compute_dtype)
    kwargs = {} if mask is None else {"mask": np.asarray(mask)}
    out = layer(x, training=training, **kwargs) if training is not None else layer(x, **kwargs)
    return _read(layer, out.numpy())


def keras_batchnorm_steps(batches, gamma=None, beta=None, eps=KERAS_EPS, momentum=KERAS_MOMENTUM, axis=-1,
                          training=True, masks=None):
    """Call one Keras ``BatchNormalization`` layer on each batch in turn, as a training loop would.

    batches: a sequence of arrays of the same trailing shape, e.g. k arrays of shape (m, n).
    masks: None, or one boolean mask per batch (its shape without the last axis), passed as ``mask``.
    Returns a list of KerasBN, one per call, each read right after that call (so the moving
    statistics trace the exponential moving average step by step).
    """
    batches = [np.asarray(b) for b in batches]
    layer = make_bn(batches[0].shape, bn_policy(batches[0]), gamma, beta, None, None, eps, momentum, axis)
    dtype = layer.compute_dtype
    masks = [None] * len(batches) if masks is None else masks
    return [_read(layer, layer(np.asarray(b, dtype=dtype), training=training,
                               **({} if mk is None else {"mask": np.asarray(mk)})).numpy())
            for b, mk in zip(batches, masks, strict=True)]


def keras_ghost_batchnorm(a, virtual_batch_size, eps=KERAS_EPS):
    """One training call of Keras 2's ghost batch normalization, ``BatchNormalization(virtual_batch_size=v)``.

    a: (m, n) numpy array;  virtual_batch_size: v, the ghost batch size;  eps: the layer's ``epsilon``.
    Keras 3 dropped the argument: its constructor raises ValueError ("Unrecognized keyword arguments ...
    virtual_batch_size"), which is what the chapter shows; bnlib's ghost BN is checked against
    :func:`keras_batchnorm` on each chunk instead. Returns KerasBN where a Keras version accepts it.
    """
    layer = keras().layers.BatchNormalization(virtual_batch_size=virtual_batch_size, epsilon=eps,
                                              dtype=layer_dtype(a))
    return _read(layer, layer(np.asarray(a, dtype=layer.compute_dtype), training=True).numpy())


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


def keras_batchnorm_gradients(a, dout, gamma=None, beta=None, eps=KERAS_EPS, axis=-1, mask=None):
    """Gradients by TensorFlow autodiff through ``keras.layers.BatchNormalization`` in training mode.

    a:    (m, n) or (m, h, w, c) numpy array; float64 input runs a float64 layer, float16 a
          "mixed_float16" layer, anything else float32.
    dout: array of a's shape, the upstream gradient dL/d(out); the loss is L = sum(out * dout).
    gamma, beta: (n,) or None for Keras's initial values (1, 0);  eps, axis: the layer's epsilon and axis.
    mask: None, or a boolean array of a's shape without the last axis, passed as the call's ``mask``.
    Returns (da, dgamma, dbeta) from ``tf.GradientTape``: da has a's shape, dgamma and dbeta are (n,).
    The reference for chapter 3's backward pass.
    """
    tf = tensorflow()

    layer = make_bn(np.shape(a), bn_policy(a), gamma, beta, None, None, eps, KERAS_MOMENTUM, axis)
    dtype = layer.compute_dtype
    x = tf.constant(np.asarray(a, dtype=dtype))
    d = tf.constant(np.asarray(dout, dtype=dtype))
    with tf.GradientTape() as tape:
        tape.watch(x)
        kwargs = {} if mask is None else {"mask": tf.constant(np.asarray(mask, dtype=bool))}
        loss = tf.reduce_sum(layer(x, training=True, **kwargs) * d)
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
    * batch): one mean and one variance per feature c, pooled over examples and time steps (chapters 8 and 9).
    """
    return keras_batchnorm(a, gamma=gamma, beta=beta, eps=eps, momentum=0.0, training=True,
                           mask=None if mask is None else np.asarray(mask, dtype=bool))


@dataclass(frozen=True)
class KerasRenorm:
    """What one training call of ``BatchNormalization(renorm=True)`` produced, read back from the layer.

    out: the output;  moving_mean, moving_variance, moving_stddev, renorm_mean, renorm_stddev: (n,)
    the layer's statistics after the call.
    """

    out: np.ndarray
    moving_mean: np.ndarray
    moving_variance: np.ndarray
    moving_stddev: np.ndarray
    renorm_mean: np.ndarray
    renorm_stddev: np.ndarray


def keras_batch_renorm_steps(batches, gamma=None, beta=None, renorm_clipping=None, eps=KERAS_EPS,
                             momentum=KERAS_MOMENTUM, renorm_momentum=KERAS_RENORM_MOMENTUM, training=True):
    """Call one ``BatchNormalization(renorm=True, ...)`` layer on each batch in turn (feature axis -1).

    batches: arrays of the same trailing shape;  gamma, beta: (n,) or None (1, 0).
    renorm_clipping: dict with optional keys "rmax", "rmin", "dmax", as Keras takes it.
    Returns a list of KerasRenorm, one per call, read right after it. The reference for
    :func:`bnlib.batch_renorm_forward` and :class:`bnlib.BatchRenorm`.
    """
    k = keras()
    batches = [np.asarray(b) for b in batches]
    layer = k.layers.BatchNormalization(momentum=momentum, epsilon=eps, renorm=True,
                                        renorm_clipping=dict(renorm_clipping or {}),
                                        renorm_momentum=renorm_momentum, dtype=bn_policy(batches[0]))
    layer.build(batches[0].shape)
    for weight, value in ((layer.gamma, gamma), (layer.beta, beta)):
        if value is not None:
            weight.assign(np.asarray(value, dtype=layer.variable_dtype))
    results = []
    for b in batches:
        out = layer(np.asarray(b, dtype=layer.compute_dtype), training=training)
        results.append(KerasRenorm(
            out=np.asarray(out),
            **{name: getattr(layer, name).numpy().copy() for name in
               ("moving_mean", "moving_variance", "moving_stddev", "renorm_mean", "renorm_stddev")},
        ))
    return results


def keras_batch_renorm_gradients(a, dout, gamma, beta, renorm_mean, renorm_std, renorm_clipping=None,
                                 eps=KERAS_EPS):
    """Gradients by TensorFlow autodiff through one training call of ``BatchNormalization(renorm=True)``.

    a: (m, n) numpy array (float64 runs a float64 layer);  dout: a's shape, the loss is sum(out * dout).
    gamma, beta, renorm_mean, renorm_std: (n,) set on the layer before the call (renorm_std is
    Keras's renorm_stddev);  renorm_clipping: Keras's dict of "rmax", "rmin", "dmax".
    Returns (da, dgamma, dbeta). Keras stops the gradient at r and d, as the paper does.
    """
    k, tf = keras(), tensorflow()
    layer = k.layers.BatchNormalization(epsilon=eps, renorm=True, renorm_clipping=dict(renorm_clipping or {}),
                                        dtype=bn_policy(a))
    layer.build(np.shape(a))
    for weight, value in ((layer.gamma, gamma), (layer.beta, beta), (layer.renorm_mean, renorm_mean),
                          (layer.renorm_stddev, renorm_std)):
        weight.assign(np.asarray(value, dtype=layer.variable_dtype))
    x = tf.constant(np.asarray(a, dtype=layer.compute_dtype))
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(layer(x, training=True) * tf.constant(np.asarray(dout, dtype=layer.compute_dtype)))
    da, dgamma, dbeta = tape.gradient(loss, [x, layer.gamma, layer.beta])
    return np.asarray(da), np.asarray(dgamma), np.asarray(dbeta)
