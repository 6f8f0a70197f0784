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


def keras_batchnorm_gradients(a, dout, gamma=None, beta=None, eps=1e-3, axis=-1):
    """Gradients by TensorFlow autodiff through ``keras.layers.BatchNormalization`` in training mode.

    a:    (m, n) or (m, h, w, c) numpy array; float64 input runs a float64 layer, anything else float32.
    dout: array of a's shape, the upstream gradient dL/d(out); the loss is L = sum(out * dout).
    gamma, beta: (n,) or None for Keras's initial values (1, 0);  eps, axis: the layer's epsilon and axis.
    Returns (da, dgamma, dbeta) from ``tf.GradientTape``: da has a's shape, dgamma and dbeta are (n,).
    The reference for chapter 3's backward pass.
    """
    keras()
    import tensorflow as tf

    dtype = _layer_dtype(a)
    layer = _make_bn(np.shape(a), dtype, gamma, beta, None, None, eps, 0.99, axis)
    x = tf.constant(np.asarray(a, dtype=dtype))
    d = tf.constant(np.asarray(dout, dtype=dtype))
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(layer(x, training=True) * d)
    da, dgamma, dbeta = tape.gradient(loss, [x, layer.gamma, layer.beta])
    return np.asarray(da), np.asarray(dgamma).reshape(-1), np.asarray(dbeta).reshape(-1)


def keras_dense_bn_kernel_gradient(u, W, dout, eps=1e-3):
    """dL/dW by TensorFlow autodiff for a small Keras model: a = u @ W (Dense, no bias), then BatchNormalization.

    u:    (m, n_in) inputs;  W: (n_in, n) the Dense kernel (Keras convention a = u @ W).
    dout: (m, n), the upstream gradient at the BN output; the loss is L = sum(BN(u @ W) * dout).
    eps:  the BN layer's epsilon; BN runs in training mode with gamma = 1, beta = 0.
    Returns dL/dW, shape (n_in, n). Float64 u runs a float64 model.
    Chapter 3 calls it at W and at c * W to check the scale invariance dL/d(cW) = (1/c) dL/dW.
    """
    k = keras()
    import tensorflow as tf

    dtype = _layer_dtype(u)
    W = np.asarray(W, dtype=dtype)
    dense = k.layers.Dense(W.shape[1], use_bias=False, dtype=dtype)
    bn = k.layers.BatchNormalization(epsilon=eps, dtype=dtype)
    model = k.Sequential([k.Input(shape=(W.shape[0],), dtype=dtype), dense, bn])
    dense.kernel.assign(W)
    x = tf.constant(np.asarray(u, dtype=dtype))
    d = tf.constant(np.asarray(dout, dtype=dtype))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(x, training=True) * d)
    return np.asarray(tape.gradient(loss, dense.kernel))


@dataclass(frozen=True)
class KerasWeight:
    """One weight array of a Keras layer, as ``layer.weights`` lists it.

    name: the weight's own name, e.g. "gamma" or "moving_mean" (without the layer's path).
    value: numpy array, its value when read.
    trainable: True if gradient descent updates it (gamma, beta, kernel, bias); False for the
               moving statistics, which the layer updates itself during training-mode calls.
    """

    name: str
    value: np.ndarray
    trainable: bool


@dataclass(frozen=True)
class KerasDenseBN:
    """What one training-mode call of the model Dense(use_bias=False) -> BatchNormalization -> Activation produced.

    z:       (m, n) the Dense output x @ W (+ bias if one was given): the pre-activation that BN normalizes.
    a_tilde: (m, n) the BatchNormalization output, beta + gamma * a_std.
    out:     (m, n) the Activation output, g(a_tilde).
    dense_weights: KerasWeight per Dense weight ("kernel", and "bias" only if a bias was given).
    bn_weights:    KerasWeight per BatchNormalization weight, in Keras's order: gamma, beta,
                   moving_mean, moving_variance, each (n,), read after the call.
    Taught in chapter 2 ("these calculations occur within a batch normalization layer").
    """

    z: np.ndarray
    a_tilde: np.ndarray
    out: np.ndarray
    dense_weights: tuple
    bn_weights: tuple


def _weights(layer):
    return tuple(KerasWeight(w.name, np.asarray(w.numpy()).copy(), bool(w.trainable)) for w in layer.weights)


def keras_dense_bn(x, W, gamma=None, beta=None, bias=None, eps=1e-3, momentum=0.99, activation="relu"):
    """Build the model Dense(n, use_bias=False) -> BatchNormalization -> Activation and call it once in training mode.

    x:     (m, n_in) a batch of inputs, batch-first; float64 input builds a float64 model, anything else float32.
    W:     (n_in, n) the Dense kernel, so that z = x @ W (Keras's convention).
    gamma, beta: (n,) BatchNormalization scale and shift, or None for Keras's initial 1 and 0.
    bias:  None for Dense(use_bias=False), the usual choice before BN; or (n,) to build Dense(use_bias=True)
           with that bias, to show that BN's mean subtraction cancels it.
    eps, momentum: BatchNormalization's ``epsilon`` and ``momentum`` (Keras defaults 1e-3, 0.99).
    activation: a Keras activation name, e.g. "relu" or "sigmoid".
    Returns KerasDenseBN: z, a_tilde, out (m, n) and the two layers' weights read back after the call.
    Taught in chapter 2.
    """
    from .validation import as_batch, check_eps, check_momentum

    x = as_batch(x, name="x")
    if x.ndim != 2:
        raise ValueError(f"x must have shape (m, n_in) for a Dense layer, got shape {x.shape}.")
    W = np.asarray(W)
    if W.ndim != 2 or W.shape[0] != x.shape[1]:
        raise ValueError(
            f"W must have shape (n_in, n) = ({x.shape[1]}, n) to multiply x of shape {x.shape} as x @ W, "
            f"got shape {W.shape}."
        )
    n = W.shape[1]
    params = {"gamma": gamma, "beta": beta, "bias": bias}
    for name, value in params.items():
        if value is not None and np.shape(value) != (n,):
            raise ValueError(f"{name} must have shape ({n},), one value per unit of the Dense layer, "
                             f"got shape {np.shape(value)}.")
    eps, momentum = check_eps(eps), check_momentum(momentum)

    k = keras()
    dtype = _layer_dtype(x)
    inputs = k.Input(shape=(x.shape[1],), dtype=dtype)
    dense = k.layers.Dense(n, use_bias=bias is not None, dtype=dtype, name="dense")
    bn = k.layers.BatchNormalization(epsilon=eps, momentum=momentum, dtype=dtype, name="batch_normalization")
    act = k.layers.Activation(activation, dtype=dtype, name="activation")
    z = dense(inputs)
    a_tilde = bn(z)
    model = k.Model(inputs, [z, a_tilde, act(a_tilde)])
    dense.kernel.assign(W.astype(dtype))
    for weight, value in ((getattr(dense, "bias", None), bias), (bn.gamma, gamma), (bn.beta, beta)):
        if value is not None:
            weight.assign(np.asarray(value, dtype=dtype))
    z_out, a_tilde_out, out = (np.asarray(t) for t in model(x.astype(dtype), training=True))
    return KerasDenseBN(z=z_out, a_tilde=a_tilde_out, out=out, dense_weights=_weights(dense), bn_weights=_weights(bn))
