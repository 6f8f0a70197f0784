"""The network of chapters 5 and 6 built from Keras layers: logits, loss and gradients by autodiff."""

from dataclasses import dataclass

import numpy as np

from ..defaults import KERAS_EPS, KERAS_MOMENTUM
from .backend import keras, make_bn, tensorflow

__all__ = ["KerasMLP", "keras_mlp"]


@dataclass(frozen=True)
class KerasMLP:
    """The Figure-1 network built from Keras layers: its logits, loss and gradients.

    logits: (m, n_classes);  loss: float, mean sparse categorical cross-entropy from the logits.
    dW, db: tuples of gradients per Dense layer (db entry None where the layer has no bias);
    dgamma, dbeta: tuples per BatchNormalization layer (empty without BN).
    """

    logits: np.ndarray
    loss: float
    dW: tuple
    db: tuple
    dgamma: tuple
    dbeta: tuple


def keras_mlp(X, y, W, b, gamma=(), beta=(), moving_mean=(), moving_var=(), eps=KERAS_EPS, training=True):
    """Run the MLP of ``bnlib.mlp`` with Keras layers and the given weights (float64), under ``tf.GradientTape``.

    X: (m, n_0);  y: (m,) integer labels.
    W: L + 1 kernels (n_in, n_out);  b: L + 1 biases (n_out,) or None for Dense(use_bias=False).
    gamma, beta: L arrays (n_l,) each for a BN network, or empty for none.
    moving_mean, moving_var: L arrays (n_l,) each, or empty for Keras's initial 0 and 1.
    Hidden layer l is Dense -> BatchNormalization(epsilon=eps) -> sigmoid; the output is a Dense to logits.
    training: True (BN uses batch statistics) or False (moving statistics).
    Returns a :class:`KerasMLP`. The reference for ``bnlib.mlp`` (chapters 5 and 6).
    """
    k, tf = keras(), tensorflow()

    dtype = "float64"
    use_bn = len(gamma) > 0
    dense, norms = [], []
    for i, kernel in enumerate(W):
        kernel = np.asarray(kernel, dtype=dtype)
        layer = k.layers.Dense(kernel.shape[1], use_bias=b[i] is not None, dtype=dtype)
        layer.build((None, kernel.shape[0]))
        layer.kernel.assign(kernel)
        if b[i] is not None:
            layer.bias.assign(np.asarray(b[i], dtype=dtype))
        dense.append(layer)
        if use_bn and i < len(W) - 1:
            moving = (moving_mean[i], moving_var[i]) if len(moving_mean) else (None, None)
            norms.append(make_bn((1, kernel.shape[1]), dtype, gamma[i], beta[i], *moving, eps, KERAS_MOMENTUM, -1))
    x = tf.constant(np.asarray(X, dtype=dtype))
    loss_fn = k.losses.SparseCategoricalCrossentropy(from_logits=True, dtype=dtype)  # float32 otherwise
    with tf.GradientTape() as tape:
        a = x
        for i, layer in enumerate(dense[:-1]):
            z = layer(a)
            a = tf.sigmoid(norms[i](z, training=training) if use_bn else z)
        logits = dense[-1](a)
        loss = loss_fn(tf.constant(np.asarray(y)), logits)
    wanted = [d.kernel for d in dense] + [d.bias for d in dense if d.use_bias]
    wanted += [n.gamma for n in norms] + [n.beta for n in norms]
    grads = [np.asarray(g) for g in tape.gradient(loss, wanted)]
    L1 = len(dense)
    dW, rest = tuple(grads[:L1]), iter(grads[L1:])
    db = tuple(next(rest) if d.use_bias else None for d in dense)
    dgamma = tuple(next(rest) for _ in norms)
    dbeta = tuple(next(rest) for _ in norms)
    return KerasMLP(np.asarray(logits), float(loss), dW, db, dgamma, dbeta)
