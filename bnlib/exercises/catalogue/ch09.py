"""Chapter 9's exercise: layer normalization."""

import numpy as np

from ...alternatives import layer_norm
from ..model import Exercise, Mistake
from .common import (
    HINT_EPS_MISSING,
    HINT_EPS_OUTSIDE,
    KERAS_REF,
    NOTES_A,
    affine_mistakes,
    normalized,
    random_eps,
    scale_label,
    shape_label,
)

__all__ = ["LAYER_NORM"]


def _ref_layer_norm(a, gamma, beta, eps):
    return layer_norm(a, gamma, beta, eps)


def _ln(a, eps, ddof=0, eps_outside=False):
    return normalized(a, eps, axis=1, ddof=ddof, eps_outside=eps_outside)


def _public_layer_norm():
    rng = np.random.default_rng(7)
    return [
        ("the notes' values as one example, 4 features", (NOTES_A.T.copy(), np.ones(4), np.zeros(4), 1e-3)),
        ("a 3x4", (np.array([[1.0, 2.0, 3.0, 10.0], [0.0, -1.0, 1.0, 0.5], [5.0, 5.5, 4.0, 6.0]]),
                   np.array([1.0, 2.0, 0.5, -1.0]), np.array([0.0, 1.0, -1.0, 2.0]), 1e-3)),
        ("a 5x3 with tiny variance", (rng.normal(0, 0.02, (5, 3)), np.array([1.5, 1.0, 2.0]), np.array([0.5, 0, -1]),
                                      1e-3)),
    ]


def _random_layer_norm(rng):
    m, n = int(rng.integers(1, 9)), int(rng.integers(2, 8))
    scale = float(10.0 ** rng.uniform(-2, 2))
    a = rng.normal(rng.normal(0, 3, (m, 1)) * scale, scale, (m, n))
    eps = random_eps(rng)
    return (f"a {shape_label(a)}, {scale_label(scale)}, eps {eps:g}",
            (a, rng.normal(1.0, 0.5, n), rng.normal(0.0, 1.0, n), eps))

# Not common.HINT_DDOF1, whose fix (np.var(a, axis=0)) is batch normalization's axis.
HINT_DDOF1_LAYER = ("your answer matches the variance divided by n - 1. Layer normalization divides by n, the number "
                    "of features it averages over: np.var(a, axis=1, keepdims=True) with its default ddof=0.")

LAYER_NORM = Exercise(
    "layer_norm", 9, "function", "Layer normalization", _ref_layer_norm, ("a", "gamma", "beta", "eps"),
    ("array",), _public_layer_norm, _random_layer_norm,
    mistakes=(
        Mistake("your answer takes the statistics over the batch (axis 0): that is batch normalization. Layer "
                "normalization averages over each example's n features: axis=1 (keepdims=True).",
                lambda a, g, b, eps: b + g * normalized(a, eps, axis=0)),
        Mistake(HINT_DDOF1_LAYER, lambda a, g, b, eps: b + g * _ln(a, eps, ddof=1)),
        Mistake(HINT_EPS_MISSING, lambda a, g, b, eps: b + g * _ln(a, 0.0)),
        Mistake(HINT_EPS_OUTSIDE, lambda a, g, b, eps: b + g * _ln(a, eps, eps_outside=True)),
    ) + affine_mistakes(_ln),
    forbidden=("bnlib.alternatives:*", "bnlib.batchnorm:*", KERAS_REF),
)
