"""Chapter 3's exercises: the backward pass of batch normalization; one backward pass by hand."""

import numpy as np

from ...backprop import batchnorm_backward
from ...batchnorm import batchnorm_forward
from ..model import Exercise, Mistake, copy_arg
from .common import HINT_DDOF1, KERAS_REF, NOTES_A, moments, random_batch, random_eps, scale_label, shape_label

__all__ = ["BN_BACKWARD", "DA_SEED"]


def _ref_bn_backward(dout, a, gamma, eps):
    _, cache = batchnorm_forward(a, gamma, np.zeros_like(gamma), eps)
    return batchnorm_backward(dout, cache)


def _backward_variant(drop_mu=False, drop_var=False, ddof=0, eps_used=None, swap=False, no_gamma=False):
    """da by the chain rule with one of its pieces wrong (the usual slips)."""
    def variant(dout, a, gamma, eps):
        e = eps if eps_used is None else eps_used
        m = a.shape[0]
        mu, var = moments(a, 0, ddof)
        s = np.sqrt(var + e)
        a_std = (a - mu) / s
        d_std = dout * (1.0 if no_gamma else gamma)
        da = d_std / s
        if not drop_var:
            d_var = np.sum(d_std * (a - mu), axis=0) * -0.5 * s**-3
            da = da + d_var * 2.0 * (a - mu) / (m - ddof)
        if not drop_mu:
            da = da - np.sum(d_std / s, axis=0) / m
        dgamma, dbeta = np.sum(dout * a_std, axis=0), np.sum(dout, axis=0)
        return (da, dbeta, dgamma) if swap else (da, dgamma, dbeta)
    return variant

_HINT_DROP_MU = ("your da matches the chain rule without the path through mu: every a^(i) also moves the mean, "
                 "which adds dL/dmu * (1/m) (here -(1/m) sum gamma * dout / sqrt(sigma^2 + eps)).")

_HINT_DROP_VAR = ("your da matches the chain rule without the path through sigma^2: every a^(i) also moves the "
                  "variance, which adds dL/dsigma^2 * 2 (a - mu) / m.")

_HINT_DROP_BOTH = ("your da treats mu and sigma^2 as constants (da = gamma * dout / sqrt(sigma^2 + eps)); in "
                   "training mode they depend on every a^(i): add the paths through mu and sigma^2.")

_HINT_SWAP = "dgamma and dbeta are swapped: dbeta = sum of dout, dgamma = sum of dout * a_std."

_BACKWARD_MISTAKES = (
    Mistake(_HINT_DROP_BOTH, _backward_variant(drop_mu=True, drop_var=True)),
    Mistake(_HINT_DROP_MU, _backward_variant(drop_mu=True)),
    Mistake(_HINT_DROP_VAR, _backward_variant(drop_var=True)),
    Mistake(HINT_DDOF1, _backward_variant(ddof=1)),
    Mistake("your answer matches the gradients without eps; eps stays inside sqrt(sigma^2 + eps) in the backward "
            "pass too.", _backward_variant(eps_used=0.0)),
    Mistake(_HINT_SWAP, _backward_variant(swap=True)),
    Mistake("your da lacks the factor gamma: out = beta + gamma * a_std, so dL/da_std = gamma * dout.",
            _backward_variant(no_gamma=True)),
)


def _public_bn_backward():
    rng = np.random.default_rng(3)
    a2 = rng.normal(0.0, 1.0, (5, 3))
    a3 = rng.normal(0.0, 0.03, (4, 2))
    return [
        ("the notes' batch, dout [1, 0, 0, 0], gamma 2", (np.array([[1.0], [0.0], [0.0], [0.0]]), NOTES_A.copy(),
                                                          np.array([2.0]), 1e-3)),
        ("a 5x3, dout random", (rng.normal(0.0, 1.0, (5, 3)), a2, np.array([1.0, -2.0, 0.5]), 1e-3)),
        ("a 4x2 with tiny variance", (rng.normal(0.0, 1.0, (4, 2)), a3, np.array([1.5, 0.7]), 1e-3)),
    ]


def _random_bn_backward(rng):
    a, scale = random_batch(rng)
    n = a.shape[1]
    eps = random_eps(rng)
    return (f"a {shape_label(a)}, {scale_label(scale)}, eps {eps:g}",
            (rng.normal(0.0, 1.0, a.shape), a, rng.normal(1.0, 0.5, n), eps))

BN_BACKWARD = Exercise(
    "bn_backward", 3, "function", "The backward pass of batch normalization", _ref_bn_backward,
    ("dout", "a", "gamma", "eps"), ("tuple", 3, ("da", "dgamma", "dbeta")), _public_bn_backward,
    _random_bn_backward, _BACKWARD_MISTAKES,
    forbidden=("bnlib.backprop:*", "bnlib.gradcheck:*", KERAS_REF),
)

_SEED_ARGS = (np.array([[1.0], [0.0], [0.0], [0.0]]), NOTES_A, np.array([2.0]), 1e-3)


def _ref_da_seed():
    return _ref_bn_backward(*(copy_arg(x) for x in _SEED_ARGS))[0]


def _seed_variant(mistake):
    return Mistake(mistake.hint, lambda: mistake.variant(*(copy_arg(x) for x in _SEED_ARGS))[0])

DA_SEED = Exercise(
    "da_seed", 3, "value", "One backward pass by hand", _ref_da_seed, output=("array", (4, 1)),
    # Here dout is 1 at an example with a_std = 0, so the path through sigma^2 contributes nothing and
    # dropping it is not a visible mistake; dgamma/dbeta do not enter da.
    mistakes=tuple(_seed_variant(m) for m in _BACKWARD_MISTAKES if m.hint not in (_HINT_DROP_VAR, _HINT_SWAP))
    + (Mistake("your answer is dL/da_std = gamma * dout; continue through a_std = (a - mu) / sqrt(sigma^2 + eps) "
               "to a.", lambda: 2.0 * _SEED_ARGS[0]),),
    forbidden=("bnlib.backprop:*", "bnlib.gradcheck:*"),
)
