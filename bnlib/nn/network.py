"""The numpy MLP of Ioffe & Szegedy's Figure 1: forward, backward and a thin stateful wrapper (chapters 5, 6).

Architecture, for hidden layers l = 1..L and a batch X of shape (m, n_0):

    z^[l] = a^[l-1] W^[l] + b^[l]                  Dense, W^[l] (n_{l-1}, n_l), a^[0] = X
    s^[l] = z^[l]            without BN
    s^[l] = BN(z^[l]) = beta^[l] + gamma^[l] * (z^[l] - mu) / sqrt(var + eps)      with BN
    a^[l] = sigmoid(s^[l])                         s^[l] is "the sigmoid input" the chapters plot
    logits = a^[L] W^[L+1] + b^[L+1];  loss = mean_i -log softmax(logits^(i))_{y^(i)}

With BN the hidden Dense layers have no bias: BN subtracts the batch mean, so b^[l] would cancel
exactly and beta^[l] takes its role (chapter 5). Everything is float64 and deterministic: the
same seed gives the same numbers on every run. The only state (parameters, moving statistics, step
count) sits in the thin class :class:`MLP`.

Speed (chapter 6 trains 24 networks, tens of thousands of steps, within its time budget): one numpy
operation on a 60 x 100 batch costs microseconds, so per-call overhead matters. The network checks its
inputs once per :func:`mlp_logits`, and the trainer checks its data once and then calls
:meth:`MLP.step`; inside, BN runs the kernels of chapters 2, 3 and 4 (:mod:`bnlib.batchnorm`,
:mod:`bnlib.backprop`, :mod:`bnlib.layer`), which skip those chapters' argument checks, and the first
layer skips the input gradient nobody uses. The tests compare these steps with the chapter
functions, with Keras and with finite differences.
"""

from dataclasses import dataclass

import numpy as np

from ..backprop import batchnorm_backward_kernel
from ..batchnorm import batchnorm_forward_kernel, batchnorm_inference_kernel
from ..defaults import KERAS_EPS, KERAS_MOMENTUM, WEIGHT_DECAY
from ..layer import moving_average
from ..validation import (
    as_batch,
    as_stat,
    check_batch_count,
    check_eps,
    check_momentum,
    check_variance,
    check_weight_decay,
)
from .layers import (
    dense_backward,
    dense_forward,
    sigmoid_backward,
    sigmoid_forward,
    softmax_cross_entropy_backward,
    softmax_cross_entropy_forward,
)
from .params import MLPParams, init_params, sgd_step

__all__ = [
    "MLP",
    "MLPCache",
    "accuracy",
    "check_X",
    "check_y",
    "logits_kernel",
    "mlp_backward",
    "mlp_forward",
    "mlp_logits",
]


@dataclass(frozen=True)
class MLPCache:
    """What one forward pass of the MLP produced and what its backward pass needs.

    logits: (m, n_classes);  sigmoid_inputs: L arrays (m, n_l), s^[l] (BN output, or z^[l] without BN).
    layers: L tuples (dense cache, BN statistics or None, sigmoid cache), then the output Dense cache.
    loss_cache: from :func:`softmax_cross_entropy_forward`, or None if no labels were given.
    training: True if BN used batch statistics (only then is a backward pass possible).
    dense_outputs: L arrays (m, n_l), z^[l] = a^[l-1] W^[l] (+ b^[l]): what BN receives (chapter 5
                   measures how it drifts during training); the same arrays as sigmoid_inputs without BN.
    """

    logits: np.ndarray
    sigmoid_inputs: tuple
    layers: tuple
    loss_cache: tuple | None
    training: bool
    dense_outputs: tuple = ()

    @property
    def batch_stats(self):
        """L pairs (mu, var), the batch statistics of each BN layer (empty without BN or in inference)."""
        return tuple((bn.mu, bn.var) for _, bn, _ in self.layers[:-1] if bn is not None)


def check_X(X, params):
    X = as_batch(X, name="X", one_dim="example")
    if X.ndim != 2 or X.shape[1] != params.layer_sizes[0]:
        raise ValueError(
            f"X must have shape (m, {params.layer_sizes[0]}) for this network (one row per example, "
            f"{params.layer_sizes[0]} features), got {X.shape}. Flatten images with X.reshape(len(X), -1)."
        )
    return X.astype(np.float64, copy=False)


def check_y(y, m, n_classes):
    y = np.asarray(y)
    if y.shape != (m,) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be {m} integer class labels, shape ({m},), got shape {y.shape} and dtype {y.dtype}.")
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"y must hold labels in [0, {n_classes}), got values from {y.min()} to {y.max()}.")
    return y


_NEEDS_TWO = "Use a batch with m >= 2, or pass the moving statistics for inference mode (moving=...)."


def _check_moving(moving, params):
    """The moving statistics of inference mode: a pair of L arrays (n_l,), the variances >= 0."""
    hidden = params.layer_sizes[1:-1]
    if not isinstance(moving, (list, tuple)) or len(moving) != 2 or any(
            not isinstance(m, (list, tuple)) or len(m) != len(hidden) for m in moving):
        raise ValueError("moving must be a pair (moving_means, moving_vars), one (n_l,) array per hidden layer.")
    means = tuple(as_stat(v, f"moving[0][{i}]", n) for i, (v, n) in enumerate(zip(moving[0], hidden, strict=True)))
    variances = tuple(as_stat(v, f"moving[1][{i}]", n) for i, (v, n) in enumerate(zip(moving[1], hidden, strict=True)))
    for i, v in enumerate(variances):
        check_variance(v, f"moving[1][{i}]")
    return means, variances


def mlp_logits(params, X, moving=None, eps=KERAS_EPS):
    """Forward pass to the logits.

    params: MLPParams;  X: (m, n_0).
    moving: None for training mode (BN normalizes with the batch's own statistics), or a pair
            (moving_means, moving_vars) of L arrays (n_l,) for inference mode (chapter 4).
    eps: BN's epsilon (Keras's 1e-3). Ignored without BN.
    Returns (logits, cache): logits (m, n_classes); cache an :class:`MLPCache` (loss_cache None).
    """
    X = check_X(X, params)
    eps = check_eps(eps)
    if params.batchnorm and moving is not None:
        moving = _check_moving(moving, params)
    if params.batchnorm and moving is None:
        check_batch_count(X, 1, _NEEDS_TWO)
    return logits_kernel(params, X, moving, eps)


def logits_kernel(params, X, moving, eps):
    """:func:`mlp_logits` without its argument checks (the training loop checks its data once).

    BN runs chapter 2's kernel in training mode and chapter 4's in inference mode.
    """
    a, layers, s_list, z_list = X, [], [], []
    for i in range(len(params.W) - 1):
        z, dcache = dense_forward(a, params.W[i], params.b[i])
        z_list.append(z)
        bcache = None
        if not params.batchnorm:
            s = z
        elif moving is None:
            s, bcache = batchnorm_forward_kernel(z, params.gamma[i], params.beta[i], eps, 1)
        else:
            s = batchnorm_inference_kernel(z, moving[0][i], moving[1][i], params.gamma[i], params.beta[i], eps, 1)
        a, scache = sigmoid_forward(s)
        layers.append((dcache, bcache, scache))
        s_list.append(s)
    logits, dcache = dense_forward(a, params.W[-1], params.b[-1])
    layers.append(dcache)
    return logits, MLPCache(logits, tuple(s_list), tuple(layers), None, moving is None, tuple(z_list))


def mlp_forward(params, X, y, moving=None, eps=KERAS_EPS):
    """Forward pass to the mean softmax cross-entropy loss.

    params: MLPParams;  X: (m, n_0);  y: (m,) integer labels.
    moving, eps: as in :func:`mlp_logits` (None = training mode).
    Returns (loss, cache): loss a float; cache an :class:`MLPCache` for :func:`mlp_backward`.
    """
    logits, cache = mlp_logits(params, X, moving=moving, eps=eps)
    return _add_loss(cache, check_y(y, len(logits), logits.shape[1]))


def _add_loss(cache, y):
    """(loss, the MLPCache with its loss cache) for checked labels y."""
    loss, lcache = softmax_cross_entropy_forward(cache.logits, y)
    return loss, MLPCache(cache.logits, cache.sigmoid_inputs, cache.layers, lcache, cache.training,
                          cache.dense_outputs)


def mlp_backward(cache):
    """Backward pass: the gradient of the loss with respect to every parameter.

    cache: the MLPCache of a training-mode :func:`mlp_forward` (with labels).
    Returns an MLPParams of gradients with the structure of the parameters.
    BN layers are differentiated in chapter 3's one-expression form
    (:func:`bnlib.backprop.batchnorm_backward_kernel`), which includes the paths through the batch mean
    and variance.
    """
    if not isinstance(cache, MLPCache) or cache.loss_cache is None:
        raise TypeError("cache must be the MLPCache returned by mlp_forward(params, X, y) (with labels).")
    if not cache.training:
        raise ValueError("mlp_backward needs a training-mode forward pass (moving=None); inference mode "
                         "uses fixed statistics and is not what SGD differentiates.")
    d = softmax_cross_entropy_backward(1.0, cache.loss_cache)
    d, dW_out, db_out = dense_backward(d, cache.layers[-1])
    dW, db, dgamma, dbeta = [dW_out], [db_out], [], []
    for i in reversed(range(len(cache.layers) - 1)):
        dcache, bcache, scache = cache.layers[i]
        ds = sigmoid_backward(d, scache)
        if bcache is not None:
            ds, dg, dbt = batchnorm_backward_kernel(ds, bcache)
            dgamma.append(dg)
            dbeta.append(dbt)
        d, dW_l, db_l = dense_backward(ds, dcache, input_grad=i > 0)
        dW.append(dW_l)
        db.append(db_l)
    return MLPParams(tuple(reversed(dW)), tuple(reversed(db)), tuple(reversed(dgamma)), tuple(reversed(dbeta)))


def accuracy(params, X, y, moving=None, eps=KERAS_EPS):
    """Share of examples whose largest logit is the true class (float in [0, 1]).

    moving: the BN network's moving statistics for inference mode (what test accuracy uses), or None.
    """
    logits, _ = mlp_logits(params, X, moving=moving, eps=eps)
    y = check_y(y, len(logits), logits.shape[1])
    return float(np.mean(np.argmax(logits, axis=1) == y))


class MLP:
    """A thin stateful wrapper: parameters, BN moving statistics and the step count.

    layer_sizes: (n_0, n_1, ..., n_L, n_classes);  batchnorm: BN before every hidden sigmoid.
    init_scale: std of the initial Gaussian weights;  seed: int for the initial weights.
    eps, momentum: BN's epsilon and moving-average momentum (Keras's 1e-3 and 0.99).
    weight_decay: the L2 coefficient on the Dense kernels of every step (0: none; chapter 7).
    """

    def __init__(self, layer_sizes, batchnorm=False, init_scale=0.1, seed=0, eps=KERAS_EPS, momentum=KERAS_MOMENTUM,
                 weight_decay=WEIGHT_DECAY):
        self.params = init_params(layer_sizes, batchnorm=batchnorm, init_scale=init_scale, seed=seed)
        self.eps = check_eps(eps)
        self.momentum = check_momentum(momentum)
        self.weight_decay = check_weight_decay(weight_decay)
        hidden = self.params.layer_sizes[1:-1] if batchnorm else ()
        # Keras's initial moving statistics: mean 0, variance 1.
        self.moving_mean = tuple(np.zeros(n) for n in hidden)
        self.moving_var = tuple(np.ones(n) for n in hidden)
        self.steps = 0

    @property
    def moving(self):
        """(moving_means, moving_vars) for inference mode, or None without BN."""
        return (self.moving_mean, self.moving_var) if self.params.batchnorm else None

    def train_step(self, X, y, lr):
        """One SGD step on the batch (X, y); updates the moving statistics. Returns the batch loss (before the step)."""
        X = check_X(X, self.params)
        y = check_y(y, len(X), self.params.layer_sizes[-1])
        if self.params.batchnorm:
            check_batch_count(X, 1, "Use a batch with m >= 2.")
        return self.step(X, y, lr)

    def step(self, X, y, lr):
        """:meth:`train_step` without its checks of X and y, for a loop that checked its data once.

        X: float64 (m, n_0), m >= 2 with BN;  y: (m,) int labels in range;  lr: checked by ``sgd_step``.
        """
        loss, cache = _add_loss(logits_kernel(self.params, X, None, self.eps)[1], y)
        self.params = sgd_step(self.params, mlp_backward(cache), lr, self.weight_decay)
        if self.params.batchnorm:
            stats, mom = cache.batch_stats, self.momentum
            self.moving_mean = tuple(moving_average(old, mu, mom)
                                     for old, (mu, _) in zip(self.moving_mean, stats, strict=True))
            self.moving_var = tuple(moving_average(old, var, mom)
                                    for old, (_, var) in zip(self.moving_var, stats, strict=True))
        self.steps += 1
        return loss

    def accuracy(self, X, y):
        """Accuracy in inference mode (BN with the moving statistics), as test accuracy is measured."""
        return accuracy(self.params, X, y, moving=self.moving, eps=self.eps)

    def sigmoid_inputs(self, X):
        """The L sigmoid inputs s^[l] (m, n_l) on the batch X, in training mode (as a training step sees X)."""
        return mlp_logits(self.params, X, eps=self.eps)[1].sigmoid_inputs

    def dense_outputs(self, X):
        """The L hidden Dense outputs z^[l] (m, n_l) on the batch X (BN's inputs), in training mode."""
        return mlp_logits(self.params, X, eps=self.eps)[1].dense_outputs
