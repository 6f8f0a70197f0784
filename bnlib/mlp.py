"""A small numpy MLP and its trainer: the network of Ioffe & Szegedy's Figure 1 (chapters 5 and 6).

Architecture, for hidden layers l = 1..L and a batch X of shape (m, n_0):

    z^[l] = a^[l-1] W^[l] + b^[l]                  Dense, W^[l] (n_{l-1}, n_l), a^[0] = X
    s^[l] = z^[l]            without BN
    s^[l] = BN(z^[l]) = beta^[l] + gamma^[l] * (z^[l] - mu) / sqrt(var + eps)      with BN
    a^[l] = sigmoid(s^[l])                         s^[l] is "the sigmoid input" the chapters plot
    logits = a^[L] W^[L+1] + b^[L+1];  loss = mean_i -log softmax(logits^(i))_{y^(i)}

With BN the hidden Dense layers have no bias: BN subtracts the batch mean, so b^[l] would cancel
exactly and beta^[l] takes its role (chapter 5). Everything is float64 and deterministic: the
same seed gives the same numbers on every run. Parameters live in the frozen :class:`MLPParams`;
every update returns a new one. The only state (parameters, moving statistics, step count) sits
in the thin class :class:`MLP`.

Speed (chapter 6 trains 24 networks, tens of thousands of steps, within its time budget): one numpy
operation on a 60 x 100 batch costs microseconds, so per-call overhead matters. The network checks its
inputs once per :func:`mlp_forward`, and :func:`train` checks its data once and then skips the
per-step checks; inside, BN runs the formulas of :func:`bnlib.batchnorm_forward` (chapter 2) and of
chapter 3's one-expression backward (:func:`bnlib.backprop.batchnorm_backward_compact`) without
repeating those functions' argument checks, the first layer skips the input gradient nobody uses,
and BLAS runs on one thread. The tests compare these steps with the chapter functions, with Keras
and with finite differences.
"""

import contextlib
from dataclasses import dataclass

import numpy as np

from .batchnorm import batchnorm_inference
from .validation import as_batch, check_eps, check_momentum

__all__ = [
    "History",
    "LandscapeProbe",
    "MLP",
    "MLPCache",
    "MLPParams",
    "PERCENTILES",
    "accuracy",
    "dense_backward",
    "dense_forward",
    "init_params",
    "landscape_probe",
    "mlp_backward",
    "mlp_forward",
    "mlp_logits",
    "sgd_step",
    "sigmoid_backward",
    "sigmoid_forward",
    "softmax_cross_entropy_backward",
    "softmax_cross_entropy_forward",
    "Sweep",
    "sweep",
    "train",
]

PERCENTILES = (15, 50, 85)
"""The percentiles of one unit's sigmoid input that Ioffe & Szegedy's Figure 1 (b, c) plot."""


# --------------------------------------------------------------------------- parameters

@dataclass(frozen=True)
class MLPParams:
    """The trainable parameters of an MLP with L hidden layers (also used for their gradients).

    W:     L + 1 arrays, W[l] of shape (n_l, n_{l+1}) (Dense convention y = a @ W + b).
    b:     L + 1 entries, b[l] (n_{l+1},), or None for a hidden layer of a BN network (no bias).
    gamma: L arrays (n_l,) with BN, () without;  beta: the same.
    """

    W: tuple
    b: tuple
    gamma: tuple
    beta: tuple

    @property
    def batchnorm(self):
        """True if the hidden layers are batch-normalized."""
        return len(self.gamma) > 0

    @property
    def layer_sizes(self):
        """(n_0, n_1, ..., n_L, n_classes)."""
        return (self.W[0].shape[0],) + tuple(w.shape[1] for w in self.W)

    def arrays(self):
        """Every parameter array, in a fixed order (W, then the biases that exist, gamma, beta)."""
        return list(self.W) + [v for v in self.b if v is not None] + list(self.gamma) + list(self.beta)

    def vector(self):
        """All parameters as one flat float64 vector, in the order of :meth:`arrays`."""
        return np.concatenate([v.ravel() for v in self.arrays()])

    def from_vector(self, v):
        """A new MLPParams with this one's structure and the values of the flat vector ``v``."""
        v = np.asarray(v, dtype=np.float64)
        total = sum(x.size for x in self.arrays())
        if v.shape != (total,):
            raise ValueError(f"v must be a flat vector of the {total} parameters, got shape {v.shape}.")
        pieces, k = [], 0
        for x in self.arrays():
            pieces.append(v[k:k + x.size].reshape(x.shape))
            k += x.size
        return self._rebuild(iter(pieces))

    def map(self, f, *others):
        """A new MLPParams whose arrays are f(x, *(same array of each other MLPParams))."""
        lists = [o.arrays() for o in others]
        return self._rebuild(iter([f(x, *(lst[i] for lst in lists)) for i, x in enumerate(self.arrays())]))

    def _rebuild(self, it):
        W = tuple(next(it) for _ in self.W)
        b = tuple(None if v is None else next(it) for v in self.b)
        gamma = tuple(next(it) for _ in self.gamma)
        beta = tuple(next(it) for _ in self.beta)
        return MLPParams(W, b, gamma, beta)


def _check_sizes(layer_sizes):
    sizes = tuple(layer_sizes) if isinstance(layer_sizes, (list, tuple)) else None
    if sizes is None or len(sizes) < 3 or not all(
            isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1 for n in sizes):
        raise ValueError(
            "layer_sizes must be a list of positive ints (n_0, n_1, ..., n_L, n_classes) with at least one "
            f"hidden layer, e.g. (64, 100, 100, 100, 10); got {layer_sizes!r}."
        )
    if sizes[-1] < 2:
        raise ValueError(f"the output layer needs at least 2 classes for a softmax, got {sizes[-1]}.")
    return tuple(int(n) for n in sizes)


def _check_positive(x, name, hint):
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a positive number ({hint}), got {x!r}.")
    if not (np.isfinite(x) and x > 0):
        raise ValueError(f"{name} must be a finite number > 0 ({hint}), got {x}.")
    return float(x)


def init_params(layer_sizes, batchnorm=False, init_scale=0.1, seed=0):
    """Small Gaussian initial weights, as in Figure 1 of Ioffe & Szegedy (2015).

    layer_sizes: (n_0, n_1, ..., n_L, n_classes), e.g. (64, 100, 100, 100, 10).
    batchnorm: True for a BN network (gamma = 1, beta = 0, no hidden biases), False for the plain one.
    init_scale: float > 0, the standard deviation of every W entry, W ~ N(0, init_scale^2).
    seed: int. The weights W do not depend on ``batchnorm``: both networks start from the same W.
    Returns an :class:`MLPParams`; biases start at 0.
    Taught in chapter 6.
    """
    sizes = _check_sizes(layer_sizes)
    init_scale = _check_positive(init_scale, "init_scale", "the standard deviation of the initial weights")
    rng = np.random.default_rng(seed)
    W = tuple(init_scale * rng.standard_normal((n_in, n_out)) for n_in, n_out in zip(sizes, sizes[1:], strict=False))
    hidden = sizes[1:-1]
    if batchnorm:
        b = tuple(None for _ in hidden) + (np.zeros(sizes[-1]),)
        return MLPParams(W, b, tuple(np.ones(n) for n in hidden), tuple(np.zeros(n) for n in hidden))
    return MLPParams(W, tuple(np.zeros(n) for n in sizes[1:]), (), ())


def sgd_step(params, grads, lr):
    """Plain stochastic gradient descent: theta_new = theta - lr * dL/dtheta, for every parameter.

    params, grads: MLPParams of the same structure;  lr: float > 0, the learning rate.
    Returns a new MLPParams (params is not modified).
    """
    lr = _check_positive(lr, "lr", "the learning rate, e.g. 0.5")
    return params.map(lambda p, g: p - lr * g, grads)


# --------------------------------------------------------------------------- layers

def dense_forward(a, W, b):
    """Dense layer z = a W + b.

    a: (m, n_in);  W: (n_in, n_out);  b: (n_out,) or None (no bias).
    Returns (z, cache): z (m, n_out); cache = (a, W, has_bias) for :func:`dense_backward`.
    """
    z = a @ W
    if b is not None:
        z = z + b
    return z, (a, W, b is not None)


def dense_backward(dz, cache, input_grad=True):
    """Backward of z = a W + b:  da = dz W^T,  dW = a^T dz,  db = sum_i dz^(i).

    dz: (m, n_out), dL/dz;  cache: from :func:`dense_forward`.
    input_grad: False skips da (the first layer's input is the data, which SGD does not update).
    Returns (da, dW, db): (m, n_in) or None, (n_in, n_out), (n_out,) or None when the layer has no bias.
    """
    a, W, has_bias = cache
    return (dz @ W.T if input_grad else None), a.T @ dz, (dz.sum(axis=0) if has_bias else None)


def sigmoid_forward(s):
    """Logistic sigmoid a = 1 / (1 + exp(-s)), elementwise, any shape.

    For s below about -709, exp(-s) overflows to inf and a = 1 / inf = 0, the correct limit (the
    true value is below 1e-308); numpy's overflow warning is silenced, as it signals nothing wrong.
    Elsewhere the formula is accurate to the last bits.
    Returns (a, cache) with cache = a.
    """
    with np.errstate(over="ignore"):
        a = np.exp(-s)
    a += 1.0
    np.reciprocal(a, out=a)
    return a, a


def sigmoid_backward(da, cache):
    """Backward of the sigmoid: ds = da * a * (1 - a), with a = cache (the forward output)."""
    return da * cache * (1.0 - cache)


def softmax_cross_entropy_forward(logits, y):
    """Mean cross-entropy of a softmax:  loss = (1/m) sum_i [logsumexp(logits^(i)) - logits^(i)_{y^(i)}].

    logits: (m, k);  y: (m,) integer labels in [0, k).
    Returns (loss, cache): loss a float; cache = (softmax probabilities (m, k), y).
    The log-sum-exp is shifted by the row maximum, so large logits do not overflow.
    """
    shifted = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(shifted)
    z = p.sum(axis=1, keepdims=True)
    loss = float(np.mean(np.log(z[:, 0]) - shifted[np.arange(len(y)), y]))
    p /= z
    return loss, (p, y)


def softmax_cross_entropy_backward(dloss, cache):
    """Backward of the mean softmax cross-entropy: dlogits = dloss * (p - onehot(y)) / m, (m, k)."""
    p, y = cache
    d = p.copy()
    d[np.arange(len(y)), y] -= 1.0
    return dloss * d / len(y)


@dataclass(frozen=True)
class _BNStats:
    """What a training-mode BN layer of the MLP keeps for its backward pass and its moving statistics.

    a_std: (m, n) standardized input;  inv_std: (n,) 1 / sqrt(var + eps);  gamma: (n,).
    mu, var: (n,) the batch mean and biased variance (divide by m).
    """

    a_std: np.ndarray
    inv_std: np.ndarray
    gamma: np.ndarray
    mu: np.ndarray
    var: np.ndarray


def _bn_train_forward(z, gamma, beta, eps):
    """Training-mode BN of a dense pre-activation, as the MLP runs it (no argument checks).

    z: (m, n), m >= 2;  gamma, beta: (n,);  eps: float >= 0.
    out = beta + gamma * (z - mu) / sqrt(var + eps), mu and var (biased) over the batch: the formula
    of :func:`bnlib.batchnorm_forward` (chapter 2), which checks its arguments on every call.
    Returns (out, stats): out (m, n); stats a :class:`_BNStats`.
    Raises ValueError if eps = 0 and a unit is constant over the batch (the only data-dependent check).
    """
    m = len(z)
    mu = z.sum(axis=0) / m
    a_std = z - mu
    var = (a_std * a_std).sum(axis=0) / m
    if eps == 0 and np.any(var == 0):
        raise ValueError("a hidden unit is constant over the batch (variance 0) and eps=0, so BN would divide "
                         "0 by 0; use eps > 0 (Keras's default is 1e-3).")
    inv_std = 1.0 / np.sqrt(var + eps)
    a_std *= inv_std
    out = a_std * gamma
    out += beta
    return out, _BNStats(a_std, inv_std, gamma, mu, var)


def _bn_train_backward(dout, stats):
    """Backward of :func:`_bn_train_forward`, chapter 3's one-expression form (no argument checks).

    dout: (m, n), dL/d(out);  stats: the :class:`_BNStats` of the forward pass.
    da = gamma / (m sqrt(var + eps)) * (m dout - sum_i dout^(i) - a_std * sum_i dout^(i) a_std^(i)),
    dgamma = sum_i dout^(i) a_std^(i), dbeta = sum_i dout^(i), as in
    :func:`bnlib.backprop.batchnorm_backward_compact`.
    Returns (da, dgamma, dbeta): (m, n), (n,), (n,).
    """
    m = len(dout)
    dbeta = dout.sum(axis=0)
    dgamma = (dout * stats.a_std).sum(axis=0)
    da = m * dout
    da -= dbeta
    da -= stats.a_std * dgamma
    da *= stats.gamma * stats.inv_std / m
    return da, dgamma, dbeta


# --------------------------------------------------------------------------- the network

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


def _check_X(X, params):
    X = as_batch(X, name="X")
    if X.ndim != 2 or X.shape[1] != params.layer_sizes[0]:
        raise ValueError(
            f"X must have shape (m, {params.layer_sizes[0]}) for this network (one row per example, "
            f"{params.layer_sizes[0]} features), got {X.shape}. Flatten images with X.reshape(len(X), -1)."
        )
    return X.astype(np.float64, copy=False)


def _check_y(y, m, n_classes):
    y = np.asarray(y)
    if y.shape != (m,) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be {m} integer class labels, shape ({m},), got shape {y.shape} and dtype {y.dtype}.")
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"y must hold labels in [0, {n_classes}), got values from {y.min()} to {y.max()}.")
    return y


def mlp_logits(params, X, moving=None, eps=1e-3):
    """Forward pass to the logits.

    params: MLPParams;  X: (m, n_0).
    moving: None for training mode (BN normalizes with the batch's own statistics), or a pair
            (moving_means, moving_vars) of L arrays (n_l,) for inference mode (chapter 4).
    eps: BN's epsilon (Keras's 1e-3). Ignored without BN.
    Returns (logits, cache): logits (m, n_classes); cache an :class:`MLPCache` (loss_cache None).
    """
    X = _check_X(X, params)
    eps = check_eps(eps)
    if params.batchnorm and moving is not None and (len(moving) != 2 or len(moving[0]) != len(params.gamma)):
        raise ValueError("moving must be a pair (moving_means, moving_vars), one (n_l,) array per hidden layer.")
    if params.batchnorm and moving is None and len(X) < 2:
        raise ValueError("training-mode batch normalization needs a batch of m >= 2 examples (one example has "
                         "variance 0); pass the moving statistics for inference mode instead.")
    return _logits(params, X, moving, eps)


def _logits(params, X, moving, eps):
    """:func:`mlp_logits` after its argument checks (the training loop checks its data once)."""
    a, layers, s_list, z_list = X, [], [], []
    for i in range(len(params.W) - 1):
        z, dcache = dense_forward(a, params.W[i], params.b[i])
        z_list.append(z)
        bcache = None
        if not params.batchnorm:
            s = z
        elif moving is None:
            s, bcache = _bn_train_forward(z, params.gamma[i], params.beta[i], eps)
        else:
            s = batchnorm_inference(z, moving[0][i], moving[1][i], params.gamma[i], params.beta[i], eps=eps)
        a, scache = sigmoid_forward(s)
        layers.append((dcache, bcache, scache))
        s_list.append(s)
    logits, dcache = dense_forward(a, params.W[-1], params.b[-1])
    layers.append(dcache)
    return logits, MLPCache(logits, tuple(s_list), tuple(layers), None, moving is None, tuple(z_list))


def mlp_forward(params, X, y, moving=None, eps=1e-3):
    """Forward pass to the mean softmax cross-entropy loss.

    params: MLPParams;  X: (m, n_0);  y: (m,) integer labels.
    moving, eps: as in :func:`mlp_logits` (None = training mode).
    Returns (loss, cache): loss a float; cache an :class:`MLPCache` for :func:`mlp_backward`.
    """
    logits, cache = mlp_logits(params, X, moving=moving, eps=eps)
    return _add_loss(cache, _check_y(y, len(logits), logits.shape[1]))


def _add_loss(cache, y):
    """(loss, the MLPCache with its loss cache) for checked labels y."""
    loss, lcache = softmax_cross_entropy_forward(cache.logits, y)
    return loss, MLPCache(cache.logits, cache.sigmoid_inputs, cache.layers, lcache, cache.training,
                          cache.dense_outputs)


def mlp_backward(cache):
    """Backward pass: the gradient of the loss with respect to every parameter.

    cache: the MLPCache of a training-mode :func:`mlp_forward` (with labels).
    Returns an MLPParams of gradients with the structure of the parameters.
    BN layers are differentiated in chapter 3's one-expression form (:func:`_bn_train_backward`), which
    includes the paths through the batch mean and variance.
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
            ds, dg, dbt = _bn_train_backward(ds, bcache)
            dgamma.append(dg)
            dbeta.append(dbt)
        d, dW_l, db_l = dense_backward(ds, dcache, input_grad=i > 0)
        dW.append(dW_l)
        db.append(db_l)
    return MLPParams(tuple(reversed(dW)), tuple(reversed(db)), tuple(reversed(dgamma)), tuple(reversed(dbeta)))


def accuracy(params, X, y, moving=None, eps=1e-3):
    """Share of examples whose largest logit is the true class (float in [0, 1]).

    moving: the BN network's moving statistics for inference mode (what test accuracy uses), or None.
    """
    logits, _ = mlp_logits(params, X, moving=moving, eps=eps)
    y = _check_y(y, len(logits), logits.shape[1])
    return float(np.mean(np.argmax(logits, axis=1) == y))


# --------------------------------------------------------------------------- the smoothness probe

@dataclass(frozen=True)
class LandscapeProbe:
    """The loss landscape along the gradient direction, in the manner of Santurkar et al. (2018).

    step_sizes: (k,) the steps eta tried;  losses: (k,) L(theta - eta g) on the probe's batch.
    loss_range: max - min of the losses (with L(theta) included): "loss variation".
    grad_change: max_eta ||grad L(theta - eta g) - g||: how far the gradient moves ("gradient predictiveness").
    smoothness: max_eta ||grad L(theta - eta g) - g|| / ||eta g||: an effective smoothness, the
                Lipschitz constant of the gradient measured along the gradient direction (what
                Santurkar et al. call "effective beta-smoothness"; their beta is not BN's shift).
    """

    step_sizes: np.ndarray
    losses: np.ndarray
    loss_range: float
    grad_change: float
    smoothness: float


def landscape_probe(params, X, y, step_sizes, eps=1e-3):
    """Walk along the gradient from theta and measure how much the loss and the gradient change.

    params: MLPParams theta;  X (m, n_0), y (m,): the batch (training mode, as a training step sees it).
    step_sizes: 1-D sequence of positive steps eta (e.g. the learning rate times 0.5, 1, 2, 4).
    Returns a :class:`LandscapeProbe`. A smooth landscape has a small loss range and a small,
    stable gradient change, so large steps are safe: Santurkar et al.'s explanation of BN (chapter 5).
    """
    etas = np.asarray(step_sizes, dtype=np.float64)
    if etas.ndim != 1 or etas.size == 0 or not np.all(np.isfinite(etas) & (etas > 0)):
        raise ValueError(f"step_sizes must be a non-empty 1-D sequence of positive numbers, got {step_sizes!r}.")
    loss0, cache = mlp_forward(params, X, y, eps=eps)
    g = mlp_backward(cache).vector()
    g_norm = float(np.linalg.norm(g))
    theta = params.vector()
    losses, changes = [], []
    for eta in etas:
        moved = params.from_vector(theta - eta * g)
        loss, c = mlp_forward(moved, X, y, eps=eps)
        losses.append(loss)
        changes.append(float(np.linalg.norm(mlp_backward(c).vector() - g)))
    losses, changes = np.array(losses), np.array(changes)
    all_losses = np.append(losses, loss0)
    smooth = float(np.max(changes / (etas * g_norm))) if g_norm > 0 else 0.0
    return LandscapeProbe(etas, losses, float(all_losses.max() - all_losses.min()), float(changes.max()), smooth)


# --------------------------------------------------------------------------- state and training

class MLP:
    """A thin stateful wrapper: parameters, BN moving statistics and the step count.

    layer_sizes: (n_0, n_1, ..., n_L, n_classes);  batchnorm: BN before every hidden sigmoid.
    init_scale: std of the initial Gaussian weights;  seed: int for the initial weights.
    eps, momentum: BN's epsilon and moving-average momentum (Keras's 1e-3 and 0.99).
    """

    def __init__(self, layer_sizes, batchnorm=False, init_scale=0.1, seed=0, eps=1e-3, momentum=0.99):
        self.params = init_params(layer_sizes, batchnorm=batchnorm, init_scale=init_scale, seed=seed)
        self.eps = check_eps(eps)
        self.momentum = check_momentum(momentum)
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
        X = _check_X(X, self.params)
        y = _check_y(y, len(X), self.params.layer_sizes[-1])
        if self.params.batchnorm and len(X) < 2:
            raise ValueError("a training step with batch normalization needs a batch of m >= 2 examples.")
        return self._step(X, y, lr)

    def _step(self, X, y, lr):
        # train_step after its checks of X and y (sgd_step checks lr); train's loop calls it directly,
        # having checked its data once.
        loss, cache = _add_loss(_logits(self.params, X, None, self.eps)[1], y)
        self.params = sgd_step(self.params, mlp_backward(cache), lr)
        if self.params.batchnorm:
            # Keras's moving average, chapter 4's update_moving_stats without its argument checks:
            # new = momentum * old + (1 - momentum) * batch statistic.
            mom, stats = self.momentum, cache.batch_stats
            self.moving_mean = tuple(mom * old + (1.0 - mom) * mu
                                     for old, (mu, _) in zip(self.moving_mean, stats, strict=True))
            self.moving_var = tuple(mom * old + (1.0 - mom) * var
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


@dataclass(frozen=True)
class History:
    """What :func:`train` recorded, every ``record_every`` steps (the first record is before any step).

    steps: (r,) step numbers;  test_accuracy: (r,) in inference mode;  loss: (r,) mean training-batch
    loss over the steps since the previous record (at step 0: the first batch's loss).
    percentiles: (r, L, 3) the 15th/50th/85th percentiles of the sigmoid input s^[l] of hidden unit
    ``unit`` in every hidden layer l, on a fixed probe batch.
    probes: r values returned by the ``probe`` hook (empty if none was given).
    unit: the hidden unit whose percentiles were recorded.
    """

    steps: np.ndarray
    test_accuracy: np.ndarray
    loss: np.ndarray
    percentiles: np.ndarray
    probes: tuple
    unit: int


def _check_int(x, name, minimum, hint):
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)) or x < minimum:
        raise ValueError(f"{name} must be an int >= {minimum} ({hint}), got {x!r}.")
    return int(x)


def _one_blas_thread():
    """A context that runs BLAS on one thread (if threadpoolctl, which scikit-learn installs, is present).

    The matrices here are tiny (60 x 100): BLAS threads add only overhead, and on a busy machine
    they contend for the cores and slow training down about tenfold.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def train(data, batchnorm, steps, lr, batch_size=60, hidden=(100, 100, 100), init_scale=0.1, seed=0,
          record_every=50, unit=0, probe_size=600, probe=None, eps=1e-3, momentum=0.99):
    """Train the Figure-1 network with mini-batch SGD and record its progress. Deterministic.

    data: a :class:`bnlib.data.Dataset`.  batchnorm: True/False.  steps: number of SGD steps.
    lr: learning rate;  batch_size: m (60 in the paper);  hidden: sizes of the hidden layers.
    init_scale: std of the Gaussian initial weights;  seed: fixes the weights and the batch order.
    record_every: record every this many steps (and at step 0 and at the end).
    unit: the hidden unit whose sigmoid-input percentiles are recorded in every layer.
    probe_size: the first probe_size training images form the fixed probe batch for the percentiles.
    probe: None, or a hook f(model, X_batch, y_batch) -> value called at every record with the batch
           about to be trained on (at the final record: the last batch), e.g. a :func:`landscape_probe`;
           its values land in History.probes.
    Returns (model, history): the trained :class:`MLP` and a :class:`History`.
    Mini-batches: each epoch is a fresh permutation of the training set, cut into batches of
    batch_size (a remainder smaller than a batch is dropped).
    """
    steps = _check_int(steps, "steps", 1, "the number of SGD steps")
    batch_size = _check_int(batch_size, "batch_size", 2 if batchnorm else 1,
                            "BN needs at least 2 examples per batch to compute a variance")
    record_every = _check_int(record_every, "record_every", 1, "record every this many steps")
    lr = _check_positive(lr, "lr", "the learning rate, e.g. 0.5")
    m_train = len(data.y_train)
    if batch_size > m_train:
        raise ValueError(f"batch_size={batch_size} exceeds the {m_train} training examples.")
    sizes = (data.n_features, *hidden, data.n_classes)
    model = MLP(sizes, batchnorm=batchnorm, init_scale=init_scale, seed=seed, eps=eps, momentum=momentum)
    unit = _check_int(unit, "unit", 0, "a hidden unit index")
    if unit >= min(hidden):
        raise ValueError(f"unit must index a unit of every hidden layer, i.e. be < {min(hidden)}, got {unit}.")
    X_probe = data.X_train[:_check_int(probe_size, "probe_size", 2, "the size of the probe batch")]
    for X, y, part in ((data.X_train, data.y_train, "training"), (data.X_test, data.y_test, "test")):
        try:
            _check_y(y, len(_check_X(X, model.params)), data.n_classes)
        except ValueError as exc:
            raise ValueError(f"data's {part} set is not usable: {exc}") from None

    with _one_blas_thread():
        return _train_loop(model, data, steps, lr, batch_size, record_every, unit, X_probe, probe, seed)


def _train_loop(model, data, steps, lr, batch_size, record_every, unit, X_probe, probe, seed):
    m_train = len(data.y_train)
    rng = np.random.default_rng([seed, 1])  # the batch order, independent of the initial weights
    per_epoch = m_train // batch_size
    order = None
    rec_steps, rec_acc, rec_loss, rec_pct, rec_probe = [], [], [], [], []
    losses = []

    def record(step, batch):
        rec_steps.append(step)
        rec_acc.append(model.accuracy(data.X_test, data.y_test))
        unit_inputs = np.stack([s_l[:, unit] for s_l in model.sigmoid_inputs(X_probe)], axis=1)  # (probe, L)
        rec_pct.append(np.percentile(unit_inputs, PERCENTILES, axis=0).T)
        if probe is not None:
            rec_probe.append(probe(model, *batch))

    for step in range(steps):
        k = step % per_epoch
        if k == 0:
            order = rng.permutation(m_train)
        idx = order[k * batch_size:(k + 1) * batch_size]
        batch = (data.X_train[idx], data.y_train[idx])
        if step % record_every == 0:
            record(step, batch)
            rec_loss.append(np.mean(losses) if losses else mlp_forward(model.params, *batch, eps=model.eps)[0])
            losses = []
        losses.append(model._step(*batch, lr))
    record(steps, batch)
    rec_loss.append(np.mean(losses))
    history = History(np.array(rec_steps), np.array(rec_acc), np.array(rec_loss), np.array(rec_pct),
                      tuple(rec_probe), unit)
    return model, history


@dataclass(frozen=True)
class Sweep:
    """Final results of :func:`sweep`: one row per value of the swept setting.

    setting: the name of the swept argument of :func:`train`;  values: (k,) its values.
    accuracy: (k, 2) final test accuracy, column 0 without BN, column 1 with BN.
    loss: (k, 2) mean training mini-batch loss over the last tenth of the run (at least one step), same
          columns.
    models: k pairs (plain MLP, BN MLP), the trained networks (e.g. for their weight norms, chapter 6).
    """

    setting: str
    values: np.ndarray
    accuracy: np.ndarray
    loss: np.ndarray
    models: tuple = ()


def sweep(data, setting, values, steps, **kwargs):
    """Train the plain and the BN network once for each value of one setting of :func:`train` (chapter 6).

    data: a Dataset;  setting: "lr", "batch_size", "init_scale" (or another keyword of :func:`train`).
    values: the values to try;  steps: SGD steps per run;  kwargs: the other arguments of :func:`train`
    (fixed across the sweep; ``lr`` is required unless it is the swept setting; ``record_every`` is
    chosen here). Each run records only at step 0, at the start of its last tenth and at the end: the
    sweep reports the final test accuracy and the loss averaged over the last tenth, and recording
    more often would only cost time.
    Returns a :class:`Sweep`.
    """
    if setting in ("data", "batchnorm", "steps", "record_every") or setting in kwargs:
        raise ValueError(f"setting={setting!r} cannot be swept here (or is also passed as a fixed keyword); "
                         "sweep a keyword of train such as 'lr', 'batch_size' or 'init_scale'.")
    if "record_every" in kwargs:
        raise ValueError("sweep chooses record_every itself (it reports the last tenth's loss); leave it out, "
                         "or call train for a full training curve.")
    values = list(values)
    if not values:
        raise ValueError("values must hold at least one value of the swept setting.")
    kwargs["record_every"] = max(1, steps - max(1, steps // 10))
    acc, loss, models = np.zeros((len(values), 2)), np.zeros((len(values), 2)), []
    for i, v in enumerate(values):
        pair = []
        for j, bn in enumerate((False, True)):
            model, h = train(data, bn, steps, **{**kwargs, setting: v})
            acc[i, j], loss[i, j] = h.test_accuracy[-1], h.loss[-1]
            pair.append(model)
        models.append(tuple(pair))
    return Sweep(setting, np.array(values), acc, loss, tuple(models))
