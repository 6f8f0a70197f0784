"""Chapter 7's exercises: the variance shift of dropout before BN; a weight-decay step that decays the
wrong parameters (debug it); the batch noise of one example (predict it)."""

import numpy as np

from ...regularization import batch_noise_std, dropout_variance_shift, weight_decay_step
from ..model import Exercise, Mistake
from .common import KERAS_REF

__all__ = ["BATCH_NOISE", "DECAYED_SGD_STEP", "VARIANCE_SHIFT"]

_FORBIDDEN_REG = ("bnlib.regularization:*", "bnlib.nn.params:*", KERAS_REF)


def _ref_variance_shift(mean, var, p):
    return dropout_variance_shift(mean, var, p).ratio


def _public_variance_shift():
    return [
        ("zero-mean units, p = 0.5", (np.zeros(2), np.array([1.0, 4.0]), 0.5)),
        ("mean 1, variance 1, p = 0.5", (np.array([1.0]), np.array([1.0]), 0.5)),
        ("3 units, p = 0.2", (np.array([0.5, -2.0, 3.0]), np.array([0.25, 1.0, 9.0]), 0.2)),
    ]


def _random_variance_shift(rng):
    n = int(rng.integers(1, 6))
    p = float(rng.choice([0.1, 0.2, 0.3, 0.4, 0.6]))
    scale = float(10.0 ** rng.uniform(-1, 1))
    return (f"{n} units, p {p:g}",
            (rng.normal(0, 2 * scale, n), rng.uniform(0.2, 3.0, n) * scale**2, p))


def _shift(train_var):
    return lambda mean, var, p: var / train_var(mean, var, p)


VARIANCE_SHIFT = Exercise(
    "variance_shift", 7, "function", "The variance shift of dropout before BN", _ref_variance_shift,
    ("mean", "var", "p"), ("array",), _public_variance_shift, _random_variance_shift,
    mistakes=(
        Mistake("your answer is 1 - p for every unit: that holds only for a zero-mean unit. Inverted dropout "
                "also scales the squared mean: E[y^2] = (var + mean^2) / (1 - p), so the training variance "
                "has an extra mean^2 p / (1 - p).",
                _shift(lambda mean, var, p: var / (1 - p))),
        Mistake("your answer is training / inference; the shift asked for is inference_var / train_var, "
                "below 1 since dropout adds variance in training.",
                lambda mean, var, p: (var / (1 - p) + mean**2 * p / (1 - p)) / var),
        Mistake("your answer swaps p and 1 - p: p is the probability of DROPPING a value, so a value is kept "
                "with probability 1 - p and scaled by 1 / (1 - p).",
                _shift(lambda mean, var, p: var / p + mean**2 * (1 - p) / p)),
        Mistake("your training variance is E[y^2] = (var + mean^2) / (1 - p); subtract the squared mean "
                "(dropout keeps the mean): Var(y) = E[y^2] - mean^2.",
                _shift(lambda mean, var, p: (var + mean**2) / (1 - p))),
        Mistake("your answer is sqrt(r), the ratio of the spreads (standard deviations) the chapter "
                "prints; the exercise asks for r itself, the ratio of the variances inference_var / train_var.",
                lambda mean, var, p: np.sqrt(var / ((var + mean**2) / (1 - p) - mean**2))),
    ),
    forbidden=_FORBIDDEN_REG,
)


def _ref_decayed_step(W, gamma, beta, dW, dgamma, dbeta, lr, weight_decay):
    return (weight_decay_step(W, dW, lr, weight_decay), weight_decay_step(gamma, dgamma, lr, 0.0),
            weight_decay_step(beta, dbeta, lr, 0.0))


def _step_variant(decay_affine=False, lr_on_decay=True, sign=1.0, decay_W=True):
    def variant(W, gamma, beta, dW, dgamma, dbeta, lr, wd):
        def one(w, g, decayed):
            shrink = sign * wd * w * (lr if lr_on_decay else 1.0) if decayed else 0.0
            return w - lr * g - shrink
        return one(W, dW, decay_W), one(gamma, dgamma, decay_affine), one(beta, dbeta, decay_affine)
    return variant


def _public_decayed_step():
    W = np.array([[1.0, -2.0], [0.5, 3.0]])
    return [
        ("W 2x2, lr 0.1, decay 0.5", (W, np.array([1.0, 2.0]), np.array([0.0, -1.0]),
                                      np.array([[0.1, 0.2], [0.0, -0.3]]), np.array([0.5, -0.5]),
                                      np.array([1.0, 0.0]), 0.1, 0.5)),
        ("W 3x1, no decay", (np.array([[1.0], [2.0], [-1.0]]), np.array([1.5]), np.array([0.2]),
                             np.array([[0.3], [0.0], [1.0]]), np.array([0.1]), np.array([-0.2]), 0.5, 0.0)),
    ]


def _random_decayed_step(rng):
    n_in, n = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    # lr * weight_decay >= 1e-2: a smaller decay per step leaves every known mistake within float
    # precision of the right answer (a wrong answer passed, or got the precision hint); lr < 1, or
    # forgetting lr in the decay would go unseen
    lr, wd = (float(v) for v in rng.choice([(0.1, 0.1), (0.1, 0.5), (0.2, 0.05), (0.2, 0.1), (0.5, 0.02),
                                            (0.5, 0.1)]))
    return (f"W {n_in}x{n}, lr {lr:g}, decay {wd:g}",
            (rng.normal(size=(n_in, n)), rng.normal(1.0, 0.5, n), rng.normal(0.0, 0.5, n),
             rng.normal(size=(n_in, n)), rng.normal(size=n), rng.normal(size=n), lr, wd))


DECAYED_SGD_STEP = Exercise(
    "decayed_sgd_step", 7, "function", "Debug a weight-decay step", _ref_decayed_step,
    ("W", "gamma", "beta", "dW", "dgamma", "dbeta", "lr", "weight_decay"), ("tuple", 3, ("W", "gamma", "beta")),
    _public_decayed_step, _random_decayed_step,
    mistakes=(
        Mistake("your answer still decays gamma and beta. They come after the normalization, so the loss is not "
                "invariant to their scale: decaying them pulls the layer's output scale and shift towards 0. "
                "Decay W only.", _step_variant(decay_affine=True)),
        Mistake("your decay is not multiplied by the learning rate: the L2 penalty's gradient is "
                "weight_decay * W, and the step is lr * (dW + weight_decay * W).", _step_variant(lr_on_decay=False)),
        Mistake("your decay has the wrong sign: the L2 penalty pulls W towards 0, so subtract "
                "lr * weight_decay * W.", _step_variant(sign=-1.0)),
        Mistake("your answer has no decay at all: the fix is to stop decaying gamma and beta, not W. Keep the "
                "L2 step on W: W - lr * (dW + weight_decay * W).", _step_variant(decay_W=False)),
    ),
    forbidden=_FORBIDDEN_REG,
)


def _noise(u=2.0, m=32, variance_term=0.5, sqrt=True):
    def value():
        if (variance_term, m, sqrt) == (0.5, 32, True):
            return batch_noise_std(u, m)
        var = (1 + variance_term * u**2) / m
        return float(np.sqrt(var)) if sqrt else var
    return value


BATCH_NOISE = Exercise(
    "batch_noise", 7, "value", "Predict an example's batch noise", _noise(), output=("scalar", ()),
    mistakes=(
        Mistake("your answer is 1 / sqrt(m), the noise of the batch mean alone. An example 2 standard deviations "
                "from the mean also moves with the batch's standard deviation: add u^2 (kurtosis - 1) / 4 = "
                "u^2 / 2 (Gaussian) inside the square root.", _noise(variance_term=0.0)),
        Mistake("the batch variance's noise enters through sigma_B = sqrt(var_B): a relative change d_v / var of "
                "the variance changes sigma_B by half of it, so its term is u^2 (kurtosis - 1) / 4, i.e. u^2 / 2 "
                "for a Gaussian, not u^2.", _noise(variance_term=1.0)),
        Mistake("your answer is the variance, not the standard deviation: take the square root of "
                "(1 + u^2 / 2) / m.", _noise(sqrt=False)),
        Mistake("your variance term is u^2 / 4: the factor kurtosis - 1 is missing. For a Gaussian it is 2, so "
                "the term is u^2 (kurtosis - 1) / 4 = u^2 / 2.", _noise(variance_term=0.25)),
        Mistake("your variance term is u^2 kurtosis / 4: the batch variance's noise is Var(var_B) = "
                "(kurtosis - 1) sigma^4 / m, so the term is u^2 (kurtosis - 1) / 4 = u^2 / 2 for a Gaussian.",
                _noise(variance_term=0.75)),
        Mistake("your answer divides by m - 1: to first order the batch statistics' variances are "
                "sigma^2 / m and (kurtosis - 1) sigma^4 / m, so divide by m, not m - 1.", _noise(m=31)),
    ),
)
