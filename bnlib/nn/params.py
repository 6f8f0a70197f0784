"""The parameters of the numpy MLP and plain SGD on them (chapters 5 and 6).

Parameters live in the frozen :class:`MLPParams`; every update returns a new one.
"""

from dataclasses import dataclass

import numpy as np

from ..defaults import WEIGHT_DECAY
from ..regularization import weight_decay_kernel
from ..validation import check_number, check_weight_decay, is_int

__all__ = ["MLPParams", "check_lr", "init_params", "sgd_step"]


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
    if sizes is None or len(sizes) < 3 or not all(is_int(n) and n >= 1 for n in sizes):
        raise ValueError(
            "layer_sizes must be a list of positive ints (n_0, n_1, ..., n_L, n_classes) with at least one "
            f"hidden layer, e.g. (64, 100, 100, 100, 10); got {layer_sizes!r}."
        )
    if sizes[-1] < 2:
        raise ValueError(f"the output layer needs at least 2 classes for a softmax, got {sizes[-1]}.")
    return tuple(int(n) for n in sizes)


def check_lr(lr):
    """The learning rate, a finite number > 0, as a float."""
    return check_number(lr, "lr", low=0, low_open=True, hint=" (the learning rate, e.g. 0.5)")


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
    init_scale = check_number(init_scale, "init_scale", low=0, low_open=True,
                              hint=" (the standard deviation of the initial weights)")
    rng = np.random.default_rng(seed)
    W = tuple(init_scale * rng.standard_normal((n_in, n_out)) for n_in, n_out in zip(sizes, sizes[1:], strict=False))
    hidden = sizes[1:-1]
    if batchnorm:
        b = tuple(None for _ in hidden) + (np.zeros(sizes[-1]),)
        return MLPParams(W, b, tuple(np.ones(n) for n in hidden), tuple(np.zeros(n) for n in hidden))
    return MLPParams(W, tuple(np.zeros(n) for n in sizes[1:]), (), ())


def sgd_step(params, grads, lr, weight_decay=WEIGHT_DECAY):
    """Stochastic gradient descent: theta_new = theta - lr * dL/dtheta, for every parameter.

    params, grads: MLPParams of the same structure;  lr: float > 0, the learning rate.
    weight_decay: float >= 0, the L2 coefficient lambda applied to the Dense kernels W only:
        W_new = W - lr * (dL/dW + lambda W)  (:func:`bnlib.regularization.weight_decay_step`).
        Biases, gamma and beta are not decayed, as in common practice (chapter 7 explains why).
    Returns a new MLPParams (params is not modified).
    """
    lr = check_lr(lr)
    weight_decay = check_weight_decay(weight_decay)
    stepped = params.map(lambda p, g: p - lr * g, grads)
    if weight_decay == 0:
        return stepped
    W = tuple(weight_decay_kernel(w, g, lr, weight_decay) for w, g in zip(params.W, grads.W, strict=True))
    return MLPParams(W, stepped.b, stepped.gamma, stepped.beta)
