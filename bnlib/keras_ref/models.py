"""Small Keras models around a BatchNormalization layer: Dense -> BN (-> activation), trained or called once.

The references for chapter 2 (what a BN layer holds inside a model), chapter 3 (the gradient of a
Dense kernel through BN) and chapter 4 (``fit``, ``predict``, frozen layers, folding into Dense).
"""

from dataclasses import dataclass

import numpy as np

from ..defaults import KERAS_EPS, KERAS_MOMENTUM
from ..validation import as_batch, check_eps, check_momentum
from .backend import keras, layer_dtype, tensorflow

__all__ = [
    "KerasBNAfterActivation",
    "KerasDenseBN",
    "KerasFineTune",
    "KerasFitBN",
    "KerasTrainedDenseBN",
    "KerasWeight",
    "keras_dense",
    "keras_dense_bn",
    "keras_bn_after_activation",
    "keras_dense_bn_kernel_gradient",
    "keras_finetune",
    "keras_fit_bn_dense",
    "keras_train_dense_bn",
]


def keras_dense_bn_kernel_gradient(u, W, dout, eps=KERAS_EPS):
    """dL/dW by TensorFlow autodiff for a small Keras model: a = u @ W (Dense, no bias), then BatchNormalization.

    u:    (m, n_in) inputs;  W: (n_in, n) the Dense kernel (Keras convention a = u @ W).
    dout: (m, n), the upstream gradient at the BN output; the loss is L = sum(BN(u @ W) * dout).
    eps:  the BN layer's epsilon; BN runs in training mode with gamma = 1, beta = 0.
    Returns dL/dW, shape (n_in, n). Float64 u runs a float64 model.
    Chapter 3 calls it at W and at c * W to check the scale invariance dL/d(cW) = (1/c) dL/dW.
    """
    k, tf = keras(), tensorflow()

    dtype = layer_dtype(u)
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


def keras_dense_bn(x, W, gamma=None, beta=None, bias=None, eps=KERAS_EPS, momentum=KERAS_MOMENTUM, activation="relu"):
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
    dtype = layer_dtype(x)
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


def _bn_state(layer):
    """(gamma, beta, moving_mean, moving_variance) of a BatchNormalization layer, as numpy copies."""
    return tuple(np.asarray(w.numpy()).copy() for w in (layer.gamma, layer.beta, layer.moving_mean,
                                                          layer.moving_variance))


@dataclass(frozen=True)
class KerasFitBN:
    """What the model BatchNormalization -> Dense(1) did in ``fit`` and the calls after it (chapter 4).

    bn_before, bn_after: (gamma, beta, moving_mean, moving_variance), each (n,), before and after ``fit``.
    kernel (n, 1), bias (1,): the Dense weights after ``fit``.
    predict:        (m, 1) ``model.predict(X)``.
    call_inference: (m, 1) ``model(X, training=False)``.
    call_default:   (m, 1) ``model(X)`` (training left as None).
    bn_call_training: (m, n) the BatchNormalization layer alone called as ``layer(X, training=True)``
                      after all of the above;  bn_after_call: its four weights after that call.
    """

    bn_before: tuple
    bn_after: tuple
    kernel: np.ndarray
    bias: np.ndarray
    predict: np.ndarray
    call_inference: np.ndarray
    call_default: np.ndarray
    bn_call_training: np.ndarray
    bn_after_call: tuple


def keras_fit_bn_dense(X, y, batch_size, epochs=1, trainable=True, bn_weights=None, learning_rate=0.05, seed=0):
    """Train the model Input -> BatchNormalization -> Dense(1) with ``model.fit`` and probe every calling mode.

    X: (m, n) inputs; y: (m, 1) regression targets (mean squared error, plain SGD).
    batch_size, epochs: passed to ``fit`` with ``shuffle=False``, so the batches are X[0:batch_size], ...
    trainable: the BatchNormalization layer's ``trainable`` flag during ``fit`` (False = frozen, as in fine-tuning).
    bn_weights: None for Keras's initial (1, 0, 0, 1), or [gamma, beta, moving_mean, moving_variance], each (n,).
    seed: ``keras.utils.set_random_seed`` before building, so the Dense initialization is reproducible.
    The model is float32, Keras's default: ``fit`` and ``predict`` cast numpy input to float32 anyway.
    Returns :class:`KerasFitBN`.
    """
    k = keras()
    k.utils.set_random_seed(seed)
    dtype = "float32"
    X = np.asarray(X, dtype=dtype)
    y = np.asarray(y, dtype=dtype)
    bn = k.layers.BatchNormalization(dtype=dtype)
    model = k.Sequential([k.Input((X.shape[1],), dtype=dtype), bn, k.layers.Dense(1, dtype=dtype)])
    if bn_weights is not None:
        bn.set_weights([np.asarray(w, dtype=dtype) for w in bn_weights])
    bn.trainable = trainable
    model.compile(optimizer=k.optimizers.SGD(learning_rate=learning_rate), loss="mse")
    before = _bn_state(bn)
    model.fit(X, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0)
    after = _bn_state(bn)
    dense = model.layers[-1]
    predict = model.predict(X, verbose=0)
    call_inference = model(X, training=False).numpy()
    call_default = model(X).numpy()
    bn_train = bn(X, training=True).numpy()
    return KerasFitBN(before, after, dense.kernel.numpy().copy(), dense.bias.numpy().copy(), np.asarray(predict),
                      call_inference, call_default, bn_train, _bn_state(bn))


@dataclass(frozen=True)
class KerasTrainedDenseBN:
    """A model Dense(units) -> BatchNormalization trained with ``fit`` (chapter 4, folding).

    kernel (n_in, units); bias (units,) or None for use_bias=False;
    gamma, beta, moving_mean, moving_variance (units,): the BatchNormalization weights; epsilon: its eps.
    predict: (m, units) ``model.predict(X)``, i.e. Dense -> BN in inference mode.
    """

    kernel: np.ndarray
    bias: np.ndarray | None
    gamma: np.ndarray
    beta: np.ndarray
    moving_mean: np.ndarray
    moving_variance: np.ndarray
    epsilon: float
    predict: np.ndarray


def keras_train_dense_bn(X, y, units, batch_size=16, epochs=2, use_bias=True, learning_rate=0.05, seed=0):
    """Train Input -> Dense(units, use_bias) -> BatchNormalization with SGD on mean squared error.

    X: (m, n_in) inputs; y: (m, units) targets. ``fit`` runs with ``shuffle=False``, ``verbose=0``,
    after ``keras.utils.set_random_seed(seed)``. The model is float32 (``fit`` and ``predict`` cast numpy
    input to float32 anyway). Returns :class:`KerasTrainedDenseBN` with the trained weights and ``model.predict(X)``.
    """
    k = keras()
    k.utils.set_random_seed(seed)
    dtype = "float32"
    X = np.asarray(X, dtype=dtype)
    dense = k.layers.Dense(units, use_bias=use_bias, dtype=dtype)
    bn = k.layers.BatchNormalization(dtype=dtype)
    model = k.Sequential([k.Input((X.shape[1],), dtype=dtype), dense, bn])
    model.compile(optimizer=k.optimizers.SGD(learning_rate=learning_rate), loss="mse")
    model.fit(X, np.asarray(y, dtype=dtype), batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0)
    bias = dense.bias.numpy().copy() if use_bias else None
    return KerasTrainedDenseBN(dense.kernel.numpy().copy(), bias, *_bn_state(bn), float(bn.epsilon),
                               np.asarray(model.predict(X, verbose=0)))


def keras_dense(a, kernel, bias=None):
    """A Keras ``Dense`` layer loaded with ``kernel`` (n_in, n) and ``bias`` (n,) (None: use_bias=False), applied to a.

    a: (m, n_in). Returns (m, n) = a @ kernel + bias as Keras computes it (float64 for float64 a).
    """
    k = keras()
    dtype = layer_dtype(a)
    kernel = np.asarray(kernel, dtype=dtype)
    layer = k.layers.Dense(kernel.shape[1], use_bias=bias is not None, dtype=dtype)
    layer.build((None, kernel.shape[0]))
    layer.set_weights([kernel] if bias is None else [kernel, np.asarray(bias, dtype=dtype)])
    return layer(np.asarray(a, dtype=dtype)).numpy()


@dataclass(frozen=True)
class KerasFineTune:
    """What ``fit`` did to a pretrained base during fine-tuning, the Keras transfer-learning guide's way.

    moving_mean_before, moving_mean_after, moving_variance_before, moving_variance_after: (n,) the
    base's BatchNormalization statistics before and after the fine-tuning ``fit``.
    kernel_change: float, the largest |change| of the base's Dense kernel in that ``fit`` (> 0 shows
    that the base really was fine-tuned).
    steps: int, the number of optimizer steps ``fit`` took.
    """

    moving_mean_before: np.ndarray
    moving_mean_after: np.ndarray
    moving_variance_before: np.ndarray
    moving_variance_after: np.ndarray
    kernel_change: float
    steps: int


def keras_finetune(X, y, bn_weights, freeze_bn=False, batch_size=8, epochs=1, learning_rate=0.01, seed=0):
    """Fine-tune a pretrained base as the Keras guide writes it, and report what happened to its BN layer.

    The base is ``Sequential([Input, Dense(n, kernel identity, no bias), BatchNormalization()])`` with the
    BN weights ``bn_weights`` (its "pretrained" state). As the transfer-learning guide does, it is
    frozen (``base.trainable = False``), called as ``base(inputs, training=False)`` inside a model with
    a ``Dense(1)`` head, then unfrozen (``base.trainable = True``); with ``freeze_bn=True`` the BN
    layers of the base are then set back to ``trainable = False``. The model is compiled (SGD,
    mean squared error) and ``fit`` on (X, y) with ``shuffle=False``.
    X: (m, n) inputs; y: (m, 1) targets; bn_weights: [gamma, beta, moving_mean, moving_variance], each (n,).
    Returns :class:`KerasFineTune`. Chapter 4 shows that in Keras 3 ``training=False`` at the call
    does not keep BN in inference mode once the base is trainable, and that ``freeze_bn`` does.
    """
    k = keras()
    k.utils.set_random_seed(seed)
    dtype = "float32"
    X = np.asarray(X, dtype=dtype)
    n = X.shape[1]
    bn = k.layers.BatchNormalization(dtype=dtype)
    dense = k.layers.Dense(n, use_bias=False, kernel_initializer="identity", dtype=dtype)
    base = k.Sequential([k.Input((n,), dtype=dtype), dense, bn])
    bn.set_weights([np.asarray(w, dtype=dtype) for w in bn_weights])
    base.trainable = False
    inputs = k.Input((n,), dtype=dtype)
    model = k.Model(inputs, k.layers.Dense(1, dtype=dtype)(base(inputs, training=False)))
    base.trainable = True
    if freeze_bn:
        for layer in base.layers:
            if isinstance(layer, k.layers.BatchNormalization):
                layer.trainable = False
    model.compile(optimizer=k.optimizers.SGD(learning_rate=learning_rate), loss="mse")
    mean0, var0 = bn.moving_mean.numpy().copy(), bn.moving_variance.numpy().copy()
    kernel0 = dense.kernel.numpy().copy()
    history = model.fit(X, np.asarray(y, dtype=dtype), batch_size=batch_size, epochs=epochs, shuffle=False,
                        verbose=0)
    steps = len(history.history["loss"]) * int(np.ceil(len(X) / batch_size))
    return KerasFineTune(mean0, bn.moving_mean.numpy().copy(), var0, bn.moving_variance.numpy().copy(),
                         float(np.abs(dense.kernel.numpy() - kernel0).max()), steps)


@dataclass(frozen=True)
class KerasBNAfterActivation:
    """One call of the model Dense(W1, b1) -> Activation -> BatchNormalization -> Dense(W2, b2).

    a: (m, n) the activation output (what BN receives, the notes' a^[l-1]);
    a_tilde: (m, n) the BN output;  out: (m, n_out) the next Dense layer's output.
    """

    a: np.ndarray
    a_tilde: np.ndarray
    out: np.ndarray


def keras_bn_after_activation(x, W1, b1, W2, b2, bn_weights=None, eps=KERAS_EPS, activation="relu", training=True):
    """Run Dense(W1, b1) -> Activation -> BatchNormalization -> Dense(W2, b2), BN after the activation.

    x: (m, n_in);  W1: (n_in, n), b1: (n,);  W2: (n, n_out), b2: (n_out,).
    bn_weights: None for Keras's initial (1, 0, 0, 1), or [gamma, beta, moving_mean, moving_variance] (n,).
    eps: BN's epsilon;  activation: a Keras activation name;  training: the call's training flag.
    Float64 x builds a float64 model. Returns :class:`KerasBNAfterActivation`.
    Chapter 2 (the bias before BN is not redundant here) and chapter 4 (folding into the next layer).
    """
    k = keras()
    dtype = layer_dtype(x)
    W1, W2 = np.asarray(W1, dtype=dtype), np.asarray(W2, dtype=dtype)
    inputs = k.Input((W1.shape[0],), dtype=dtype)
    dense1 = k.layers.Dense(W1.shape[1], dtype=dtype)
    bn = k.layers.BatchNormalization(epsilon=eps, dtype=dtype)
    dense2 = k.layers.Dense(W2.shape[1], dtype=dtype)
    a = k.layers.Activation(activation, dtype=dtype)(dense1(inputs))
    a_tilde = bn(a)
    model = k.Model(inputs, [a, a_tilde, dense2(a_tilde)])
    dense1.set_weights([W1, np.asarray(b1, dtype=dtype)])
    dense2.set_weights([W2, np.asarray(b2, dtype=dtype)])
    if bn_weights is not None:
        bn.set_weights([np.asarray(w, dtype=dtype) for w in bn_weights])
    a_out, a_tilde_out, out = (np.asarray(t) for t in model(np.asarray(x, dtype=dtype), training=training))
    return KerasBNAfterActivation(a_out, a_tilde_out, out)
