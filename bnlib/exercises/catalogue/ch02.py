"""Chapter 2's exercises: batch normalization in training mode; the spread of beta + gamma * a_std."""

import numpy as np

from ...batchnorm import batchnorm_forward
from ..model import Exercise, Mistake
from .common import (
    HINT_AXIS_BN,
    HINT_DDOF1,
    HINT_EPS_MISSING,
    HINT_EPS_OUTSIDE,
    HINT_NO_SQRT,
    HINT_SQRT_GAMMA,
    KERAS_REF,
    NOTES_A,
    affine_mistakes,
    normalized,
    random_batch,
    random_eps,
    scale_label,
    shape_label,
)

__all__ = ["BN_FORWARD", "SPREAD"]


def _ref_bn_forward(a, gamma, beta, eps):
    return batchnorm_forward(a, gamma, beta, eps)[0]


def _public_bn_forward():
    rng = np.random.default_rng(1)
    a2 = np.array([[1.0, 10.0, -3.0], [2.0, 30.0, -1.0], [4.0, 20.0, 0.0], [7.0, 60.0, 2.0]])
    a3 = rng.normal(0.0, 0.02, (6, 2))  # variance ~4e-4 < eps: where eps matters
    return [
        ("the notes' batch [2, 0, 2, 4], gamma 1, beta 0, eps 1e-3", (NOTES_A.copy(), np.ones(1), np.zeros(1), 1e-3)),
        ("a 4x3, gamma [2, 0.5, -1], beta [1, 0, 3]", (a2, np.array([2.0, 0.5, -1.0]), np.array([1.0, 0.0, 3.0]),
                                                       1e-3)),
        ("a 6x2 with tiny variance, eps 1e-3", (a3, np.array([1.5, 2.0]), np.array([0.5, -1.0]), 1e-3)),
    ]


def _random_bn_forward(rng):
    a, scale = random_batch(rng)
    n = a.shape[1]
    eps = random_eps(rng)
    gamma = rng.normal(1.0, 0.5, n)
    beta = rng.normal(0.0, 1.0, n)
    return f"a {shape_label(a)}, {scale_label(scale)}, eps {eps:g}", (a, gamma, beta, eps)

BN_FORWARD = Exercise(
    "bn_forward", 2, "function", "Batch normalization, training mode", _ref_bn_forward,
    ("a", "gamma", "beta", "eps"), ("array",), _public_bn_forward, _random_bn_forward,
    mistakes=(
        Mistake(HINT_DDOF1, lambda a, gamma, beta, eps: beta + gamma * normalized(a, eps, ddof=1)),
        Mistake(HINT_EPS_MISSING, lambda a, gamma, beta, eps: beta + gamma * normalized(a, 0.0)),
        Mistake(HINT_EPS_OUTSIDE, lambda a, gamma, beta, eps: beta + gamma * normalized(a, eps, eps_outside=True)),
        Mistake(HINT_NO_SQRT, lambda a, gamma, beta, eps: beta + gamma * normalized(a, eps, no_sqrt=True)),
        Mistake(HINT_AXIS_BN, lambda a, gamma, beta, eps: beta + gamma * normalized(a, eps, axis=1)),
        Mistake("your answer matches inference mode with a fresh layer's moving statistics (mean 0, variance 1): "
                "(a - 0) / sqrt(1 + eps). In training mode, normalize with the batch's own mean and variance "
                "(in Keras: call the layer with training=True).",
                lambda a, gamma, beta, eps: beta + gamma * a / np.sqrt(1.0 + eps)),
    ) + affine_mistakes(lambda a, eps: normalized(a, eps)),
    forbidden=("bnlib.batchnorm:*", "bnlib.layer:*", "bnlib.alternatives:*", KERAS_REF),
)


def _spread_with(gamma=4.0, eps=0.0, ddof=0):
    def value():
        out = batchnorm_forward(NOTES_A, np.array([gamma]), np.array([1.0]), eps)[0]
        return float(np.std(out, ddof=ddof))
    return value

SPREAD = Exercise(
    "spread", 2, "value", "The spread of beta + gamma * a_std", _spread_with(),
    output=("scalar", ()),
    mistakes=(
        Mistake(HINT_SQRT_GAMMA, lambda: 2.0),
        Mistake("your answer is the variance, gamma^2; the spread (standard deviation) is its square root.",
                lambda: 16.0),
        Mistake("your answer is the standard deviation with 1/(m - 1); over a batch, as in batch normalization, "
                "divide by m (np.std's default ddof=0).", _spread_with(ddof=1)),
        Mistake("your answer uses eps = 1e-3; the exercise sets eps = 0.", _spread_with(eps=1e-3)),
        Mistake("your answer is beta, the mean of the output; the spread is its standard deviation.", lambda: 1.0),
    ),
)
