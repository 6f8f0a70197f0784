"""Chapter 9's exercises: layer normalization; group normalization."""

import numpy as np

from ...alternatives import group_norm, layer_norm
from ..model import Exercise, Mistake
from .common import (
    HINT_EPS_MISSING,
    HINT_EPS_OUTSIDE,
    HINT_GB_FORGOTTEN,
    HINT_GB_SWAPPED,
    KERAS_REF,
    NOTES_A,
    affine_mistakes,
    normalized,
    random_eps,
    scale_label,
    shape_label,
)

__all__ = ["GROUP_NORM", "LAYER_NORM"]


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


def _ref_group_norm(a, groups, gamma, beta, eps):
    return group_norm(a, groups, gamma, beta, eps)


def _gn(a, groups, eps, layout="consecutive", over="example", ddof=0, eps_mode="inside"):
    """Group statistics of images a (m, h, w, c), standardized; the options are known mistakes."""
    m, h, w, c = a.shape
    if layout == "consecutive":  # the right grouping: group g holds channels g*c/G ... (g+1)*c/G - 1
        x = a.reshape(m, h, w, groups, c // groups)
    else:  # channel k in group k % G
        x = a.reshape(m, h, w, c // groups, groups).swapaxes(3, 4)
    axes = {"example": (1, 2, 4), "position": (4,), "batch": (0, 1, 2, 4)}[over]
    mu = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, ddof=ddof, keepdims=True)
    scale = {"inside": np.sqrt(var + eps), "missing": np.sqrt(var), "outside": np.sqrt(var) + eps}[eps_mode]
    out = (x - mu) / scale
    if layout != "consecutive":
        out = out.swapaxes(3, 4)
    return out.reshape(a.shape)


def _gn_variant(**options):
    return lambda a, groups, g, b, eps: b + g * _gn(a, groups, eps, **options)


def _public_group_norm():
    rng = np.random.default_rng(9)
    pair = np.array([[2.0, 0.0, 2.0, 4.0], [200.0, 0.0, 200.0, 400.0]]).reshape(2, 1, 1, 4)
    return [
        ("the chapter's two examples as 1x1 images of 4 channels, G = 2", (pair, 2, np.ones(4), np.zeros(4), 1e-3)),
        ("1 image 2x3, 6 channels, G = 3",
         (rng.normal([0.0, 1.0, 5.0, -3.0, 2.0, 0.5], [1.0, 2.0, 0.5, 3.0, 1.0, 0.2], (1, 2, 3, 6)), 3,
          np.array([1.0, 2.0, 0.5, -1.0, 1.5, 1.0]), np.array([0.0, 0.1, -0.2, 0.3, 1.0, -0.5]), 1e-3)),
        ("1 image 2x2, 4 channels, G = 2, eps 0.1",
         (np.array([[[[1.0, 2.0, 10.0, 0.0], [3.0, 2.5, 12.0, 1.0]], [[0.0, 1.0, 8.0, 2.0], [2.0, 4.0, 11.0, 3.0]]]]),
          2, np.array([1.0, 0.5, 2.0, 1.5]), np.array([0.5, 0.0, -1.0, 0.2]), 0.1)),
    ]


def _random_group_norm(rng):
    # 1 < G < c and m >= 2: with G = 1 or c/G = 1 interleaved and consecutive groups coincide, and with one
    # example pooling over the batch changes nothing, so such cases would pass those mistakes.
    m, h, w = int(rng.integers(2, 4)), int(rng.integers(1, 4)), int(rng.integers(2, 4))
    groups = int(rng.choice([2, 3, 4]))
    c = groups * int(rng.integers(2, 4))
    scale = float(10.0 ** rng.uniform(-2, 2))
    a = rng.normal(rng.normal(0, 3, c) * scale, rng.uniform(0.3, 2.0, c) * scale, (m, h, w, c))
    eps = random_eps(rng)
    return (f"a {shape_label(a)}, G {groups}, {scale_label(scale)}, eps {eps:g}",
            (a, groups, rng.normal(1.0, 0.5, c), rng.normal(0.0, 1.0, c), eps))

GROUP_NORM = Exercise(
    "group_norm", 9, "function", "Group normalization", _ref_group_norm, ("a", "groups", "gamma", "beta", "eps"),
    ("array",), _public_group_norm, _random_group_norm,
    mistakes=(
        Mistake("your answer puts channel k in group k % groups. Group normalization splits the channels into "
                "CONSECUTIVE blocks of c/G: a.reshape(m, h, w, groups, c // groups).",
                _gn_variant(layout="interleaved")),
        Mistake("your answer averages each group at each position (h, w) separately. A group's statistics pool "
                "its c/G channels over ALL h*w positions of the example: axes (1, 2, 4) of the "
                "(m, h, w, G, c/G) array.", _gn_variant(over="position")),
        Mistake("your answer pools the statistics over the batch as well: that mixes examples, as batch "
                "normalization does. Group normalization's statistics are per example: never reduce over axis 0.",
                _gn_variant(over="batch")),
        Mistake("your answer matches the variance divided by (number of values) - 1. Group normalization divides "
                "by the number of values it averages, (c/G) * h * w: np.var with its default ddof=0.",
                _gn_variant(ddof=1)),
        Mistake(HINT_EPS_MISSING, _gn_variant(eps_mode="missing")),
        Mistake(HINT_EPS_OUTSIDE, _gn_variant(eps_mode="outside")),
        Mistake(HINT_GB_FORGOTTEN, lambda a, groups, g, b, eps: _gn(a, groups, eps)),
        Mistake(HINT_GB_SWAPPED, lambda a, groups, g, b, eps: g + b * _gn(a, groups, eps)),
    ),
    forbidden=("bnlib.alternatives:*", "bnlib.batchnorm:*", KERAS_REF),
)
