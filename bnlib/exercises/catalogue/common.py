"""What the chapters' exercises share: the notes' batch, random inputs, and the usual mistakes' formulas.

The formulas here are deliberately wrong (the variance divided by m - 1, eps outside the square root,
the wrong axis, ...): an exercise computes them on a failed case to recognize a known mistake.
"""

import numpy as np

from ..model import Mistake

__all__ = [
    "HINT_AXIS_BN",
    "HINT_BETA_INSIDE",
    "HINT_DDOF1",
    "HINT_EPS_MISSING",
    "HINT_EPS_OUTSIDE",
    "HINT_GB_FORGOTTEN",
    "HINT_GB_SWAPPED",
    "HINT_NO_SQRT",
    "HINT_SQRT_GAMMA",
    "KERAS_REF",
    "NOTES_A",
    "affine_mistakes",
    "moments",
    "normalized",
    "random_batch",
    "random_eps",
    "scale_label",
    "shape_label",
]


def shape_label(x):
    return "x".join(str(d) for d in np.shape(x))


def scale_label(scale):
    return f"scale {scale:.2g}"


def random_batch(rng, m=None, n=None):
    m = int(rng.integers(2, 13)) if m is None else m
    n = int(rng.integers(1, 6)) if n is None else n
    scale = float(10.0 ** rng.uniform(-2, 2))
    a = rng.normal(rng.normal(0, 3, n) * scale, scale, (m, n))
    return a, scale


def random_eps(rng):
    return float(rng.choice([1e-3, 1e-2, 1e-5, 0.1]))

NOTES_A = np.array([[2.0], [0.0], [2.0], [4.0]])

KERAS_REF = "bnlib.keras_ref:*"


# ---- shared mistake formulas (deliberately wrong, to recognise answers) ----


def moments(a, axis=0, ddof=0):
    return a.mean(axis=axis, keepdims=True), a.var(axis=axis, ddof=ddof, keepdims=True)


def normalized(a, eps, axis=0, ddof=0, eps_outside=False, no_sqrt=False):
    mu, var = moments(a, axis, ddof)
    if no_sqrt:
        return (a - mu) / (var + eps)
    return (a - mu) / (np.sqrt(var) + eps) if eps_outside else (a - mu) / np.sqrt(var + eps)

HINT_DDOF1 = ("your answer matches the variance divided by m - 1. Batch normalization (and Keras) divides by m: "
               "sigma^2 = (1/m) sum (a - mu)^2, i.e. np.var(a, axis=0) with its default ddof=0.")

HINT_EPS_MISSING = ("your answer matches the formula without eps. eps goes inside the square root: "
                     "(a - mu) / sqrt(sigma^2 + eps).")

HINT_EPS_OUTSIDE = ("your answer matches eps added outside the square root, (a - mu) / (sqrt(sigma^2) + eps); "
                     "it belongs inside: (a - mu) / sqrt(sigma^2 + eps).")

HINT_NO_SQRT = "your answer divides by the variance; divide by the standard deviation sqrt(sigma^2 + eps)."

HINT_AXIS_BN = ("your answer matches statistics over the wrong axis: batch normalization averages each feature "
                 "over the m examples of the batch, axis=0 of an (m, n) array (one mean per column).")

HINT_GB_FORGOTTEN = "your answer matches a_std alone: finish with beta + gamma * a_std."

HINT_GB_SWAPPED = "your answer matches gamma and beta swapped: gamma scales, beta shifts: beta + gamma * a_std."

HINT_BETA_INSIDE = "your answer matches gamma * (a_std + beta); beta is added after scaling: beta + gamma * a_std."

HINT_SQRT_GAMMA = ("your answer scales by sqrt(gamma). The notes' slip: the spread of beta + gamma * a_std is "
                    "|gamma|, so scale by gamma itself.")


def affine_mistakes(normalize):
    """Mistakes in the last step beta + gamma * a_std, for a normalization ``normalize(a, eps)``."""
    return (
        Mistake(HINT_GB_FORGOTTEN, lambda a, gamma, beta, eps, *r: normalize(a, eps)),
        Mistake(HINT_GB_SWAPPED, lambda a, gamma, beta, eps, *r: gamma + beta * normalize(a, eps)),
        Mistake(HINT_BETA_INSIDE, lambda a, gamma, beta, eps, *r: gamma * (normalize(a, eps) + beta)),
        Mistake(HINT_SQRT_GAMMA, lambda a, gamma, beta, eps, *r: beta + np.sqrt(gamma) * normalize(a, eps)),
    )
