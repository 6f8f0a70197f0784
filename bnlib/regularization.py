"""Batch normalization as a regularizer (chapter 7): batch noise, dropout before BN, weight decay.

- :func:`batch_noise_std`: how much an example's normalized value moves with its batch-mates, to
  first order in 1/m.
- :func:`dropout_forward` and :func:`dropout_variance_shift`: inverted dropout, and the variance a
  BN layer after it sees in training against at inference (Li et al. 2019).
- :func:`weight_decay_step`: one SGD step on a weight with an L2 penalty (van Laarhoven 2017);
  :func:`bnlib.sgd_step` applies it to the network's Dense kernels only.
"""

from dataclasses import dataclass

import numpy as np

from .defaults import DROPOUT_RATE, WEIGHT_DECAY
from .validation import (
    as_numeric,
    check_dropout_rate,
    check_finite,
    check_int,
    check_number,
    check_weight_decay,
    float_dtype,
)

__all__ = [
    "VarianceShift",
    "batch_noise_std",
    "dropout_forward",
    "dropout_variance_shift",
    "variance_shift_kernel",
    "weight_decay_kernel",
    "weight_decay_step",
]


def _floats(x, name):
    """x as a finite float array (float32 kept, anything else float64), checked once."""
    arr = as_numeric(x, name)
    arr = arr.astype(float_dtype(arr.dtype), copy=False)
    check_finite(arr, name)
    return arr


def batch_noise_std(u, m, skewness=0.0, kurtosis=3.0):
    """The spread of an example's normalized value over random batches, to first order in 1/m.

    An example at standardized position u (its distance from the population mean in population
    standard deviations) is normalized with a batch mean and variance that vary from batch to batch:
    mu_B = mu + d_mu, var_B = sigma^2 + d_v, with Var(d_mu) = sigma^2 / m,
    Var(d_v) = (kurtosis - 1) sigma^4 / m and Cov(d_mu, d_v) = skewness sigma^3 / m. To first order,
    a_std = u - d_mu / sigma - u d_v / (2 sigma^2), so

        std(a_std) = sqrt((1 + u * skewness + u^2 (kurtosis - 1) / 4) / m)

    (Gaussian data: sqrt((1 + u^2 / 2) / m)). The batch-mates are drawn independently of the example;
    the example's own share 1/m of the batch statistics is a higher-order term.
    u: float or array, any shape;  m: int >= 2, the batch size;  skewness, kurtosis: the population's
    third and fourth standardized moments (kurtosis, not excess kurtosis: 3 for a Gaussian).
    Returns an array of u's shape (a float for a float u). Derived in chapter 7.
    """
    u = _floats(u, "u")
    m = check_int(m, "m", 2, " (the batch size; BN needs at least 2 examples)")
    skewness = check_number(skewness, "skewness", hint=" (0 for symmetric data)")
    kurtosis = check_number(kurtosis, "kurtosis", low=1, hint=" (3 for a Gaussian; always >= 1)")
    var = (1.0 + u * skewness + u**2 * (kurtosis - 1.0) / 4.0) / m
    out = np.sqrt(np.maximum(var, 0.0))
    return float(out) if out.ndim == 0 else out


def dropout_forward(a, p=DROPOUT_RATE, seed=0, training=True):
    """Inverted dropout, as Keras's ``layers.Dropout``: out = a * mask / (1 - p) in training, a at inference.

    a: array of any shape;  p: float in [0, 1), the probability of dropping a value (default 0.5).
    seed: int or a ``numpy.random.Generator``, the mask's randomness (each entry kept with
          probability 1 - p, independently).
    training: False returns a unchanged (inference: nothing is dropped, nothing rescaled).
    Returns (out, mask): out of a's shape; mask boolean of a's shape (all True at inference).
    The factor 1 / (1 - p) keeps the mean: E[out] = a. It does not keep the second moment:
    E[out^2] = a^2 / (1 - p) (see :func:`dropout_variance_shift`). Srivastava et al. (2014).
    """
    a = _floats(a, "a")
    p = check_dropout_rate(p)
    if not training:
        return a.copy(), np.ones(a.shape, dtype=bool)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(check_int(seed, "seed"))
    mask = rng.random(a.shape) >= p
    return (a * mask / (1.0 - p)).astype(a.dtype, copy=False), mask


@dataclass(frozen=True)
class VarianceShift:
    """The variance of one unit after inverted dropout, in training and at inference.

    train_var: what BN's batch statistics (and so its moving variance) see in training;
    inference_var: what BN sees at inference, when dropout is off;
    ratio: inference_var / train_var, Li et al.'s variance shift (1 - p for a zero-mean unit).
    Arrays of the broadcast shape of the inputs, or floats.
    """

    train_var: object
    inference_var: object
    ratio: object


def variance_shift_kernel(mean, var, p):
    """:func:`dropout_variance_shift` without its checks: (train_var, inference_var, ratio)."""
    train_var = var / (1.0 - p) + mean**2 * p / (1.0 - p)
    return train_var, var, var / train_var


def dropout_variance_shift(mean, var, p=DROPOUT_RATE):
    """The variance shift of Li et al. (2019): a unit with dropout before BN, in training and at inference.

    A unit x with mean ``mean`` and variance ``var`` passes through inverted dropout with rate p:
    y = x * b / (1 - p), b ~ Bernoulli(1 - p) independent of x. Then E[y] = mean and
    E[y^2] = E[x^2] E[b^2] / (1 - p)^2 = (var + mean^2) / (1 - p), so in training

        Var(y) = (var + mean^2) / (1 - p) - mean^2 = var / (1 - p) + mean^2 p / (1 - p),

    while at inference (dropout off) Var(y) = var. BN's moving variance learns the first and is applied
    to the second, which is smaller by ratio = (1 - p) var / (var + p mean^2).
    mean, var: floats or arrays of the same shape (var > 0: a constant unit has no shift to speak of);
    p: float in [0, 1), the dropout rate.
    Returns a :class:`VarianceShift`. Li et al. (2019), "Understanding the disharmony between dropout
    and batch normalization by variance shift", section 3.
    """
    mean = _floats(mean, "mean")
    var = _floats(var, "var")
    if np.any(var <= 0):
        raise ValueError("var must be > 0 (the variance of the unit before dropout); a constant unit has "
                         "no variance to shift: pass its variance, e.g. a.var(axis=0).")
    p = check_dropout_rate(p)
    try:
        np.broadcast_shapes(mean.shape, var.shape)
    except ValueError:
        raise ValueError(f"mean and var must have the same shape, got {mean.shape} and {var.shape}.") from None
    shift = variance_shift_kernel(mean, var, p)
    return VarianceShift(*(float(v) if np.ndim(v) == 0 else v for v in shift))


def weight_decay_kernel(w, grad, lr, weight_decay):
    """:func:`weight_decay_step` without its checks: w - lr * (grad + weight_decay * w), a new array."""
    return w - lr * (grad + weight_decay * w)


def weight_decay_step(w, grad, lr, weight_decay=WEIGHT_DECAY):
    """One SGD step on the loss plus the L2 penalty (weight_decay / 2) * ||w||^2.

    w, grad: arrays of the same shape (the weight and dL/dw);  lr: float > 0;
    weight_decay: float >= 0 (0: plain SGD).
    Returns w - lr * (grad + weight_decay * w) = (1 - lr * weight_decay) w - lr * grad, a new array:
    the step shrinks w by the factor (1 - lr * weight_decay) before the gradient step, which is also
    what Keras's ``optimizers.SGD(weight_decay=...)`` does. For weights before BN the loss does not
    depend on ||w|| (chapter 5), so the decay only changes ||w|| and with it the effective learning
    rate lr / ||w||^2 (van Laarhoven 2017; Zhang et al. 2019). Taught in chapter 7.
    """
    w = _floats(w, "w")
    grad = _floats(grad, "grad")
    if grad.shape != w.shape:
        raise ValueError(f"grad must have w's shape {w.shape} (dL/dw), got {grad.shape}.")
    lr = check_number(lr, "lr", low=0, low_open=True, hint=" (the learning rate, e.g. 0.5)")
    return weight_decay_kernel(w, grad, lr, check_weight_decay(weight_decay))
