"""Batch normalization, backward pass (chapter 3, "Backpropagation through batch normalization").

For one unit j and the M values it averages over (M = m for (m, n), M = m*h*w for (m, h, w, c)),
with s = sqrt(sigma^2 + eps) and dout = dL/da_tilde (the upstream gradient):

    dL/da_std  = dout * gamma
    dL/dsigma^2 = sum_i dL/da_std^(i) * (a^(i) - mu) * (-1/2) * s^-3
    dL/dmu     = sum_i dL/da_std^(i) * (-1/s) + dL/dsigma^2 * (-2/M) * sum_i (a^(i) - mu)
    dL/da^(i)  = dL/da_std^(i) / s + dL/dsigma^2 * 2 (a^(i) - mu) / M + dL/dmu / M
    dL/dgamma  = sum_i dout^(i) * a_std^(i);   dL/dbeta = sum_i dout^(i)

(Ioffe and Szegedy 2015, section 3), which simplifies to one expression

    dL/da^(i) = gamma / (M s) * (M dout^(i) - sum_k dout^(k) - a_std^(i) * sum_k dout^(k) a_std^(k)).

Both functions take the :class:`bnlib.BNCache` returned by :func:`bnlib.batchnorm_forward`.
"""

import numpy as np

from .batchnorm import BNCache
from .validation import as_upstream

__all__ = ["batchnorm_backward", "batchnorm_backward_compact", "batchnorm_backward_kernel"]


def _check(dout, cache):
    """dout as an array of the cache's dtype and shape, or a clear error."""
    if not isinstance(cache, BNCache):
        raise TypeError(
            f"cache must be the BNCache returned by batchnorm_forward(a, gamma, beta, ...), got "
            f"{type(cache).__name__}. Run the forward pass first: out, cache = batchnorm_forward(...)."
        )
    return as_upstream(dout, cache.a)


def batchnorm_backward(dout, cache):
    """Backward pass of training-mode batch normalization, node by node along the computational graph.

    dout:  dL/d(out), the shape of a: (m, n) dense or (m, h, w, c) images.
    cache: the BNCache from ``batchnorm_forward`` (holds a, mu, var, a_std, gamma, eps and the feature axis).
    Returns (da, dgamma, dbeta): da has a's shape; dgamma, dbeta are (n,).
    The steps are the paper's: dL/da_std = dout * gamma; dL/dsigma^2 = sum dL/da_std (a - mu) (-1/2) s^-3;
    dL/dmu = -sum dL/da_std / s + dL/dsigma^2 * (-2/M) sum (a - mu);
    dL/da = dL/da_std / s + dL/dsigma^2 * 2 (a - mu) / M + dL/dmu / M, with s = sqrt(sigma^2 + eps).
    Sums run over every axis but the feature axis (M values per feature).
    Taught in chapter 3.
    """
    d = _check(dout, cache)
    if cache.mask is not None:
        raise ValueError(
            "cache comes from a masked forward pass (mask=...); this node-by-node backward pass follows "
            "the paper's unmasked graph. Use batchnorm_backward_compact(dout, cache), which handles masks."
        )
    axes, bshape = cache.reduce_axes, cache.bshape
    M = cache.a.size // cache.a.shape[cache.axis]
    gamma = cache.gamma.reshape(bshape)
    centered = cache.a - cache.mu.reshape(bshape)
    s = np.sqrt(cache.var.reshape(bshape) + cache.eps)

    d_a_std = d * gamma
    d_var = np.sum(d_a_std * centered, axis=axes, keepdims=True) * -0.5 * s**-3
    # The second term is zero in exact arithmetic (the centered values sum to 0); the paper keeps it.
    d_mu = np.sum(-d_a_std / s, axis=axes, keepdims=True) + d_var * np.sum(-2.0 * centered, axis=axes,
                                                                            keepdims=True) / M
    da = d_a_std / s + d_var * 2.0 * centered / M + d_mu / M
    dgamma = np.sum(d * cache.a_std, axis=axes)
    dbeta = np.sum(d, axis=axes)
    return da, dgamma, dbeta


def batchnorm_backward_compact(dout, cache):
    """Backward pass of training-mode batch normalization in the simplified one-expression form.

    dout:  dL/d(out), the shape of a: (m, n) or (m, h, w, c).
    cache: the BNCache from ``batchnorm_forward``.
    Returns (da, dgamma, dbeta) as :func:`batchnorm_backward` does, with
    da = gamma / (M s) * (M dout - sum dout - a_std * sum(dout * a_std)), s = sqrt(sigma^2 + eps),
    dgamma = sum(dout * a_std), dbeta = sum(dout); sums over the M values of each feature.
    Taught in chapter 3.
    """
    return batchnorm_backward_kernel(_check(dout, cache), cache)


def batchnorm_backward_kernel(dout, cache):
    """:func:`batchnorm_backward_compact` without its argument checks.

    dout: float array of the shape and dtype of ``cache.a``;  cache: a :class:`bnlib.BNCache`.
    Returns (da, dgamma, dbeta). The network of chapters 5 and 6 differentiates its BN layers with it.
    With a mask (w = 1 at the M real steps, 0 at padding) only the real steps move mu and var:
    da = gamma / (M s) * (M dout - w sum(dout) - w a_std sum(dout * a_std)), the sums over every
    step, padding too, since every output depends on mu and var.
    """
    axes, bshape = cache.reduce_axes, cache.bshape
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * cache.a_std).sum(axis=axes)
    if cache.mask is None:
        M = cache.a.size // cache.a.shape[cache.axis]
        da = M * dout
        da -= dbeta.reshape(bshape)
        da -= cache.a_std * dgamma.reshape(bshape)
    else:
        M = np.count_nonzero(cache.mask)
        w = np.expand_dims(cache.mask, cache.axis)
        da = M * dout - w * (dbeta.reshape(bshape) + cache.a_std * dgamma.reshape(bshape))
    da *= (cache.gamma / (M * np.sqrt(cache.var + cache.eps))).reshape(bshape)
    return da, dgamma, dbeta
