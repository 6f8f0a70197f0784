"""Chapter 1's exercises: standardize the inputs; the condition number of the raw inputs' Hessian."""

import numpy as np

from ...regression import hessian_condition_number, regression_hessian
from ...stats import standardize
from ..model import Exercise, Mistake
from .common import KERAS_REF, NOTES_A, normalized, random_batch, scale_label, shape_label

__all__ = ["CONDITION_NUMBER", "STANDARDIZE"]


def _ref_standardize(X):
    return standardize(X, ddof=1)[0]


def _public_standardize():
    X2 = np.array([[1.0, 150.0], [2.0, 310.0], [3.0, 280.0], [4.0, 120.0], [5.0, 240.0]])
    X3 = np.array([[0.5, -1.0, 10.0], [0.7, 1.0, 30.0], [0.2, 3.0, 20.0], [0.9, 5.0, 60.0],
                   [0.4, 2.0, 50.0], [0.1, 4.0, 40.0]])
    return [("the notes' batch [2, 0, 2, 4]", (NOTES_A.copy(),)), ("X 5x2", (X2,)), ("X 6x3", (X3,))]


def _random_standardize(rng):
    X, scale = random_batch(rng, m=int(rng.integers(3, 13)))
    return f"X {shape_label(X)}, {scale_label(scale)}", (X,)

STANDARDIZE = Exercise(
    "standardize", 1, "function", "Standardize the inputs", _ref_standardize, ("X",), ("array",),
    _public_standardize, _random_standardize,
    mistakes=(
        Mistake("your answer matches the variance divided by m. The notes' input normalization divides by m - 1: "
                "np.var(X, axis=0, ddof=1) (or np.std(X, axis=0, ddof=1)).", lambda X: normalized(X, 0.0)),
        Mistake("your answer matches statistics over the wrong axis: each feature (column) is standardized over "
                "the m examples, axis=0 of an (m, n) array.", lambda X: normalized(X, 0.0, axis=1, ddof=1)),
        Mistake("your answer divides by the variance; divide by the standard deviation, its square root.",
                lambda X: normalized(X, 0.0, ddof=1, no_sqrt=True)),
        Mistake("your answer only centers X; also divide by the standard deviation.",
                lambda X: X - X.mean(axis=0)),
        Mistake("your answer adds an eps; the notes' input normalization has none (eps belongs to batch norm).",
                lambda X: normalized(X, 1e-3, ddof=1)),
    ),
    forbidden=("bnlib.stats:standardize", KERAS_REF),
)

_CN_X = np.array([10.0, 20.0, 30.0, 40.0, 50.0])


def _ref_condition_number():
    return hessian_condition_number(_CN_X)


def _cn_variant(transform):
    def variant():
        return transform(np.linalg.eigvalsh(regression_hessian(_CN_X)))
    return variant

CONDITION_NUMBER = Exercise(
    "condition_number", 1, "value", "The condition number of the raw inputs' Hessian", _ref_condition_number,
    output=("scalar", ()),
    mistakes=(
        Mistake("your answer is smallest/largest eigenvalue; the condition number is largest/smallest (>= 1).",
                _cn_variant(lambda lam: lam[0] / lam[-1])),
        Mistake("your answer is the ratio of the singular values of the design matrix [1, x], the square root of "
                "the Hessian's condition number; the Hessian (1/m) A^T A squares it.",
                _cn_variant(lambda lam: np.sqrt(lam[-1] / lam[0]))),
        Mistake("your answer is the condition number for standardized x; the exercise asks for the raw x.",
                lambda: 1.0),
    ),
    forbidden=("bnlib.regression:*",),
)
