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
    dtype = _layer_dtype(a)
    kernel = np.asarray(kernel, dtype=dtype)
    layer = k.layers.Dense(kernel.shape[1], use_bias=bias is not None, dtype=dtype)
    layer.build((None, kernel.shape[0]))
    layer.set_weights([kernel] if bias is None else [kernel, np.asarray(bias, dtype=dtype)])
    return layer(np.asarray(a, dtype=dtype)).numpy()


# --- chapter 7: normalizations without the batch -------------------------------------------------

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


def keras_layer_norm(a, gamma=None, beta=None, eps=1e-3, axis=-1, rms_scaling=False, training=None):
    """Output of ``keras.layers.LayerNormalization(axis, epsilon)`` on ``a``.

    a:     batch-first numpy array; float64 input runs a float64 layer, anything else float32.
    gamma, beta: arrays spanning the normalized axes ((n,) for one axis), or None for Keras's 1 and 0.
    eps, axis: the layer's ``epsilon`` and ``axis`` (int or tuple: the axes normalized over).
    rms_scaling: Keras's deprecated option, out = x * rsqrt(var + eps) * gamma (no beta: pass None); its
                 deprecation warning is silenced here so notebooks stay clean (chapter 7 explains it).
    training: passed to the call (True/False), or None; these layers compute the same either way.
    Returns out, a's shape. The reference for :func:`bnlib.alternatives.layer_norm` (chapter 7).
    """
    import warnings

    if rms_scaling and beta is not None:
        raise ValueError("LayerNormalization(rms_scaling=True) has no beta weight; pass beta=None.")
    k = keras()
    dtype = _layer_dtype(a)
    # rms_scaling warns both when the layer is made and on every call.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        layer = k.layers.LayerNormalization(axis=_keras_axis(axis), epsilon=eps, dtype=dtype,
                                            **({"rms_scaling": True} if rms_scaling else {}))
        return _call_norm_layer(layer, a, dtype, {"gamma": gamma, "beta": beta}, training)


def keras_group_norm(a, groups=32, gamma=None, beta=None, eps=1e-3, axis=-1, training=None):
    """Output of ``keras.layers.GroupNormalization(groups, axis, epsilon)`` on ``a``.

    a:      batch-first numpy array, e.g. (m, h, w, c); float64 runs a float64 layer, anything else float32.
    groups: G dividing the channels (Keras's default 32); -1 gives one group per channel (instance norm).
    gamma, beta: (c,) or None for Keras's 1 and 0;  eps, axis: ``epsilon`` and the channel ``axis``.
    training: passed to the call, or None.
    Returns out, a's shape. The reference for ``group_norm`` and ``instance_norm`` (chapter 7).
    """
    k = keras()
    dtype = _layer_dtype(a)
    layer = k.layers.GroupNormalization(groups=int(groups), axis=int(axis), epsilon=eps, dtype=dtype)
    return _call_norm_layer(layer, a, dtype, {"gamma": gamma, "beta": beta}, training)


def keras_rms_norm(a, gamma=None, eps=1e-6, axis=-1, training=None):
    """Output of ``keras.layers.RMSNormalization(axis, epsilon)`` on ``a``: x * rsqrt(mean(x^2) + eps) * scale.

    a:     batch-first numpy array; float64 runs a float64 layer, anything else float32.
    gamma: the layer's ``scale`` ((n,) for one axis) or None for ones;  eps: ``epsilon`` (default 1e-6).
    axis:  int or tuple, the axes normalized over, which must be the LAST axes of a (see below).
    training: passed to the call, or None.
    Returns out, a's shape. The reference for :func:`bnlib.alternatives.rms_norm` (chapter 7).
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
    dtype = _layer_dtype(a)
    layer = k.layers.RMSNormalization(axis=_keras_axis(axis), epsilon=eps, dtype=dtype)
    return _call_norm_layer(layer, a, dtype, {"scale": gamma}, training)


def keras_rms_norm_op(a, eps=1e-6, axis=-1):
    """``keras.ops.rms_normalization(a, scale=None, axis, epsilon)``: a * rsqrt(mean(a^2 over axis) + eps).

    a: batch-first numpy array (float64 stays float64, anything else float32); axis: int or tuple, any axes.
    Returns out, a's shape, without a scale: the reference for :func:`bnlib.alternatives.rms_norm` over
    non-trailing axes, where the RMSNormalization layer misapplies its scale (chapter 7).
    """
    k = keras()
    x = np.asarray(a, dtype=_layer_dtype(a))
    return np.asarray(k.ops.rms_normalization(x, scale=None, axis=_keras_axis(axis), epsilon=eps))


def keras_mnist():
    """MNIST through ``keras.datasets.mnist`` (downloads about 11 MB on first use; meant for Colab).

    Returns (X_train, y_train, X_test, y_test): X float64 (60000, 784) and (10000, 784), pixel
    values / 255 in [0, 1]; y int64 labels. Used by ``bnlib.data.load_dataset("mnist")`` only,
    never by the tests or by default (the book builds offline with scikit-learn's digits).
    """
    k = keras()
    (X_train, y_train), (X_test, y_test) = k.datasets.mnist.load_data()

    def flat(X):
        return X.reshape(len(X), -1).astype(np.float64) / 255.0

    return flat(X_train), y_train.astype(np.int64), flat(X_test), y_test.astype(np.int64)


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


def keras_mlp(X, y, W, b, gamma=(), beta=(), moving_mean=(), moving_var=(), eps=1e-3, training=True):
    """Run the MLP of ``bnlib.mlp`` with Keras layers and the given weights (float64), under ``tf.GradientTape``.

    X: (m, n_0);  y: (m,) integer labels.
    W: L + 1 kernels (n_in, n_out);  b: L + 1 biases (n_out,) or None for Dense(use_bias=False).
    gamma, beta: L arrays (n_l,) each for a BN network, or empty for none.
    moving_mean, moving_var: L arrays (n_l,) each, or empty for Keras's initial 0 and 1.
    Hidden layer l is Dense -> BatchNormalization(epsilon=eps) -> sigmoid; the output is a Dense to logits.
    training: True (BN uses batch statistics) or False (moving statistics).
    Returns a :class:`KerasMLP`. The reference for ``bnlib.mlp`` (chapters 5 and 6).
    """
    k = keras()
    import tensorflow as tf

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
            norms.append(_make_bn((1, kernel.shape[1]), dtype, gamma[i], beta[i], *moving, eps, 0.99, -1))
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


def keras_batchnorm_callables(a, dout, eps=1e-3, axis=-1):
    """Two zero-argument callables on one pre-built ``keras.layers.BatchNormalization``, for timing.

    a, dout: (m, n) or (m, h, w, c) numpy arrays; float64 runs a float64 layer, anything else float32.
    Returns (forward, forward_backward): ``forward()`` is one eager training-mode call ``layer(a)``;
    ``forward_backward()`` is that call under ``tf.GradientTape`` plus the gradients (da, dgamma, dbeta)
    of L = sum(out * dout). The layer is built and the inputs are TensorFlow tensors beforehand, so the
    calls time Keras itself, with no numpy conversion (used by benchmarks/run.py; chapter 3 for the maths).
    """
    keras()
    import tensorflow as tf

    dtype = _layer_dtype(a)
    layer = _make_bn(np.shape(a), dtype, None, None, None, None, eps, 0.99, axis)
    x = tf.constant(np.asarray(a, dtype=dtype))
    d = tf.constant(np.asarray(dout, dtype=dtype))

    def forward():
        return layer(x, training=True)

    def forward_backward():
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x, training=True) * d)
        return tape.gradient(loss, [x, layer.gamma, layer.beta])

    return forward, forward_backward


# ---- added for issue 14 ----

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


def keras_bn_after_activation(x, W1, b1, W2, b2, bn_weights=None, eps=1e-3, activation="relu", training=True):
    """Run Dense(W1, b1) -> Activation -> BatchNormalization -> Dense(W2, b2), BN after the activation.

    x: (m, n_in);  W1: (n_in, n), b1: (n,);  W2: (n, n_out), b2: (n_out,).
    bn_weights: None for Keras's initial (1, 0, 0, 1), or [gamma, beta, moving_mean, moving_variance] (n,).
    eps: BN's epsilon;  activation: a Keras activation name;  training: the call's training flag.
    Float64 x builds a float64 model. Returns :class:`KerasBNAfterActivation`.
    Chapter 2 (the bias before BN is not redundant here) and chapter 4 (folding into the next layer).
    """
    k = keras()
    dtype = _layer_dtype(x)
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


# ---- added for issue 14 (ch5-7) ----

def keras_batchnorm_masked(a, mask=None, gamma=None, beta=None, eps=1e-3):
    """One training-mode call of ``keras.layers.BatchNormalization`` on a padded sequence batch.

    a:    (m, T, c) numpy array, sequences padded to T steps; float64 runs a float64 layer, else float32.
    mask: (m, T) bool, True at the valid (example, step) pairs; or None, so that padding counts as data.
          Passed as the call's ``mask``: Keras then computes the statistics over the valid pairs only.
    gamma, beta: (c,) or None for Keras's 1 and 0;  eps: the layer's ``epsilon``.
    Returns KerasBN. The layer is built with ``momentum=0``, so the moving statistics read back after
    the call are exactly the batch statistics the call used (moving = momentum * moving + (1 - momentum)
    * batch): one mean and one variance per feature c, pooled over examples and time steps (chapter 7).
    """
    dtype = _layer_dtype(a)
    layer = _make_bn(np.shape(a), dtype, gamma, beta, None, None, eps, 0.0, -1)
    x = np.asarray(a, dtype=dtype)
    out = layer(x, training=True) if mask is None else layer(x, training=True, mask=np.asarray(mask, dtype=bool))
    return _read(layer, np.asarray(out))
