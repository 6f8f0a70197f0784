"""The layers of the numpy MLP besides batch normalization: Dense, sigmoid, softmax cross-entropy.

Each has a forward returning (output, cache) and a backward taking (upstream gradient, cache), as
chapter 3 writes batch normalization's. No argument checks: the network checks its data once
(:func:`bnlib.nn.network.mlp_logits`) and these run on every training step.
"""

import numpy as np

__all__ = [
    "dense_backward",
    "dense_forward",
    "sigmoid_backward",
    "sigmoid_forward",
    "softmax_cross_entropy_backward",
    "softmax_cross_entropy_forward",
]


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
