"""The Keras references of chapter 7, "Batch normalization as a regularizer".

- :func:`keras_dropout_bn`: a Dropout -> BatchNormalization model trained with ``fit``: the moving
  variance it learns with dropout on, and the spread of its inference output with dropout off.
- :func:`keras_sgd_weight_decay_step`: one step of ``optimizers.SGD(weight_decay=...)``.
- :func:`keras_conv_bn_step`: Conv2D -> BatchNormalization, one training call: per-channel statistics.
- :func:`keras_residual_digits`: a small residual conv net on 8x8 digits, with the last BN of its block
  initialized at gamma = 1 or gamma = 0 (Goyal et al. 2017).

All models are float32 (Keras's default) and seeded with ``keras.utils.set_random_seed``.
"""

from dataclasses import dataclass

import numpy as np

from ..defaults import DROPOUT_RATE, WEIGHT_DECAY
from ..validation import as_batch, check_dropout_rate, check_int, check_momentum, check_number, check_weight_decay
from .backend import keras, tensorflow

__all__ = [
    "KerasConvBN",
    "KerasDropoutBN",
    "KerasResidualRun",
    "keras_conv_bn_step",
    "keras_dropout_bn",
    "keras_residual_digits",
    "keras_sgd_weight_decay_step",
]

_F32 = "float32"


@dataclass(frozen=True)
class KerasDropoutBN:
    """A Dropout(p) -> BatchNormalization -> Dense(1) model after ``fit``.

    moving_mean, moving_variance: (n,) the BN layer's moving statistics, learned with dropout on.
    train_std: (n,) the standard deviation over the batch of the BN output in one more training-mode
               call (dropout on, batch statistics): about |gamma|.
    inference_std: (n,) the same in inference mode (dropout off, moving statistics).
    gamma: (n,) the BN layer's scale after training.
    """

    moving_mean: np.ndarray
    moving_variance: np.ndarray
    train_std: np.ndarray
    inference_std: np.ndarray
    gamma: np.ndarray


def keras_dropout_bn(x, y, p=DROPOUT_RATE, epochs=50, momentum=0.9, learning_rate=0.01, seed=0):
    """Train Input -> Dropout(p) -> BatchNormalization(momentum) -> Dense(1) with ``fit`` (SGD, mean squared error).

    x: (m, n) inputs, one batch (``fit`` runs with batch_size=m, so each epoch is one step);
    y: (m, 1) targets;  p: the dropout rate;  epochs: training steps;  momentum: BN's momentum
    (0.9 so that the moving statistics settle within a few dozen steps).
    Returns :class:`KerasDropoutBN`. The reference for Li et al.'s (2019) variance shift (chapter 7).
    """
    k = keras()
    x = as_batch(x, name="x").astype(_F32)
    y = np.asarray(y, dtype=_F32).reshape(len(x), -1)
    p = check_dropout_rate(p)
    epochs = check_int(epochs, "epochs", 1, " (the number of training steps)")
    k.utils.set_random_seed(seed)
    dropout = k.layers.Dropout(p, seed=seed)
    bn = k.layers.BatchNormalization(momentum=check_momentum(momentum))
    model = k.Sequential([k.Input((x.shape[1],)), dropout, bn, k.layers.Dense(y.shape[1])])
    model.compile(optimizer=k.optimizers.SGD(learning_rate=learning_rate), loss="mse")
    model.fit(x, y, batch_size=len(x), epochs=epochs, shuffle=False, verbose=0)
    mean, var = (np.asarray(w.numpy()).copy() for w in (bn.moving_mean, bn.moving_variance))
    features = k.Sequential([k.Input((x.shape[1],)), dropout, bn])
    train_out = features(x, training=True).numpy()  # one more update of the moving statistics: read them first
    inference_out = features(x, training=False).numpy()
    return KerasDropoutBN(mean, var, train_out.std(axis=0), inference_out.std(axis=0), bn.gamma.numpy().copy())


def keras_sgd_weight_decay_step(w, grad, lr, weight_decay=WEIGHT_DECAY):
    """One step of ``keras.optimizers.SGD(learning_rate=lr, weight_decay=weight_decay)`` on the weight w.

    w, grad: arrays of the same shape;  the optimizer applies the gradient ``grad`` once.
    Returns the updated weight (float32, Keras's default). The reference for
    :func:`bnlib.weight_decay_step`.
    """
    k = keras()
    w = np.asarray(w, dtype=_F32)
    lr = check_number(lr, "lr", low=0, low_open=True, hint=" (the learning rate)")
    weight_decay = check_weight_decay(weight_decay)
    variable = k.Variable(w)
    optimizer = k.optimizers.SGD(learning_rate=lr, weight_decay=weight_decay or None)
    optimizer.apply_gradients([(np.asarray(grad, dtype=_F32), variable)])
    return np.asarray(variable.numpy())


@dataclass(frozen=True)
class KerasConvBN:
    """One training-mode call of Conv2D(c, 3x3, same, no bias) -> BatchNormalization(momentum=0).

    z: (m, h, w, c) the convolution output, BN's input;  out: (m, h, w, c) the BN output;
    moving_mean, moving_variance: (c,) after the call; with momentum 0 they are the batch statistics.
    """

    z: np.ndarray
    out: np.ndarray
    moving_mean: np.ndarray
    moving_variance: np.ndarray


def keras_conv_bn_step(x, kernel):
    """Call Conv2D -> BatchNormalization(momentum=0) once in training mode on images x.

    x: (m, h, w, c_in) batch-first images (Keras's channels-last);  kernel: (3, 3, c_in, c) the
    Conv2D kernel ("same" padding, no bias). Returns :class:`KerasConvBN`. BN keeps one mean and one
    variance per channel, taken over the m * h * w positions (chapter 7).
    """
    k = keras()
    x = np.asarray(x, dtype=_F32)
    kernel = np.asarray(kernel, dtype=_F32)
    if x.ndim != 4 or kernel.ndim != 4 or kernel.shape[2] != x.shape[3]:
        raise ValueError(f"x must be (m, h, w, c_in) and kernel (kh, kw, c_in, c) with the same c_in; got shapes "
                         f"{x.shape} and {kernel.shape}.")
    conv = k.layers.Conv2D(kernel.shape[3], kernel.shape[:2], padding="same", use_bias=False)
    bn = k.layers.BatchNormalization(momentum=0.0)
    k.Sequential([k.Input(x.shape[1:]), conv, bn])
    conv.set_weights([kernel])
    z = conv(x).numpy()
    out = bn(z, training=True).numpy()
    return KerasConvBN(z, out, bn.moving_mean.numpy().copy(), bn.moving_variance.numpy().copy())


@dataclass(frozen=True)
class KerasResidualRun:
    """A small residual conv net trained on digits with ``fit``.

    block_gap: max |block output - block input| at initialization, in training mode, on the
               training images: 0 when the block starts as the identity.
    loss: (epochs,) mean training loss of each epoch;  test_accuracy: (epochs,) after each epoch.
    first_bn_mean: (c,) the moving mean of the first BN layer after one training call with
                   momentum 0 (the first batch's per-channel mean).
    """

    block_gap: float
    loss: np.ndarray
    test_accuracy: np.ndarray


def keras_residual_digits(X_train, y_train, X_test, y_test, zero_gamma, epochs=3, filters=8, batch_size=32,
                          learning_rate=0.1, momentum=0.9, seed=0):
    """Train a residual conv net with per-channel BN on 8x8 digits (Keras, SGD, cross-entropy).

    X_train, X_test: (m, 8, 8, 1) images;  y_train, y_test: (m,) integer labels.
    zero_gamma: True initializes gamma = 0 in the block's last BN (Goyal et al. 2017), False gamma = 1.
    momentum: every BN layer's momentum (0.9: a short run's moving statistics settle within an epoch).
    The model: Conv2D(filters) -> BN -> ReLU, then one residual block
    x + BN(Conv2D(ReLU(BN(Conv2D(x))))) -> ReLU, then Flatten -> Dense(10).
    With gamma = 0 the block's residual branch outputs beta = 0, so the block starts as the identity
    on its (non-negative) input. ``fit`` shuffles with the seeded generator.
    Returns :class:`KerasResidualRun`.
    """
    k, tf = keras(), tensorflow()
    epochs = check_int(epochs, "epochs", 1, " (the number of epochs)")
    k.utils.set_random_seed(seed)
    X_train, X_test = (np.asarray(v, dtype=_F32) for v in (X_train, X_test))
    L = k.layers
    momentum = check_momentum(momentum)

    def conv():
        return L.Conv2D(filters, 3, padding="same", use_bias=False)

    inp = k.Input(X_train.shape[1:])
    x = L.ReLU()(L.BatchNormalization(momentum=momentum)(conv()(inp)))
    block_in = x
    h = L.ReLU()(L.BatchNormalization(momentum=momentum)(conv()(x)))
    last_bn = L.BatchNormalization(momentum=momentum, gamma_initializer="zeros" if zero_gamma else "ones")
    x = L.ReLU()(L.Add()([block_in, last_bn(conv()(h))]))
    probe = k.Model(inp, [block_in, x])
    logits = L.Dense(10)(L.Flatten()(x))
    model = k.Model(inp, logits)
    b_in, b_out = (t.numpy() for t in probe(tf.constant(X_train), training=True))
    gap = float(np.max(np.abs(b_out - b_in)))
    model.compile(optimizer=k.optimizers.SGD(learning_rate=learning_rate),
                  loss=k.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    hist = model.fit(X_train, np.asarray(y_train), batch_size=batch_size, epochs=epochs,
                     validation_data=(X_test, np.asarray(y_test)), verbose=0)
    return KerasResidualRun(gap, np.array(hist.history["loss"]), np.array(hist.history["val_accuracy"]))

