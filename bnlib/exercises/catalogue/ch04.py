"""Chapter 4's exercises: update the moving statistics; inference mode; fold BN into the Dense layer."""

import numpy as np

from ...batchnorm import batchnorm_inference
from ...folding import fold_batchnorm
from ...layer import update_moving_stats
from ..model import Exercise, Mistake
from .common import (
    HINT_BETA_INSIDE,
    HINT_EPS_MISSING,
    HINT_EPS_OUTSIDE,
    HINT_GB_FORGOTTEN,
    HINT_GB_SWAPPED,
    KERAS_REF,
    NOTES_A,
    normalized,
    random_batch,
    random_eps,
    scale_label,
    shape_label,
)

__all__ = ["BN_INFERENCE", "FOLD", "UPDATE"]


def _ref_update_moving_stats(moving_mean, moving_var, batch_mean, batch_var, momentum):
    return update_moving_stats(moving_mean, moving_var, batch_mean, batch_var, momentum)


def _public_update():
    return [
        ("a fresh layer after the notes' batch, momentum 0.99",
         (np.zeros(1), np.ones(1), np.array([2.0]), np.array([2.0]), 0.99)),
        ("3 features, momentum 0.9", (np.array([0.5, -1.0, 2.0]), np.array([1.0, 0.2, 4.0]),
                                      np.array([1.5, 0.0, 2.5]), np.array([0.5, 0.3, 1.0]), 0.9)),
        ("momentum 0.5", (np.array([1.0, 3.0]), np.array([2.0, 1.0]), np.array([-1.0, 5.0]),
                          np.array([4.0, 3.0]), 0.5)),
    ]


def _random_update(rng):
    n = int(rng.integers(1, 7))
    momentum = float(rng.choice([0.99, 0.9, 0.8, 0.999, 0.95]))
    scale = float(10.0 ** rng.uniform(-1, 2))
    return (f"n {n}, momentum {momentum:g}, {scale_label(scale)}",
            (rng.normal(0, scale, n), rng.uniform(0.1, 2, n) * scale**2, rng.normal(0, scale, n),
             rng.uniform(0.1, 2, n) * scale**2, momentum))

UPDATE = Exercise(
    "update_moving_stats", 4, "function", "Update the moving statistics", _ref_update_moving_stats,
    ("moving_mean", "moving_var", "batch_mean", "batch_var", "momentum"), ("tuple", 2, ("mean", "var")),
    _public_update, _random_update,
    mistakes=(
        Mistake("your answer applies momentum the PyTorch way (momentum weights the NEW value). In Keras's "
                "convention momentum weights the OLD one: mean = momentum * moving_mean + (1 - momentum) * "
                "batch_mean.",
                lambda mm, mv, bm, bv, mom: ((1 - mom) * mm + mom * bm, (1 - mom) * mv + mom * bv)),
        Mistake("your answer returns the old moving statistics unchanged; mix in the batch's: "
                "momentum * old + (1 - momentum) * batch.", lambda mm, mv, bm, bv, mom: (mm, mv)),
        Mistake("your answer returns the batch statistics; the moving average keeps momentum of the old value.",
                lambda mm, mv, bm, bv, mom: (bm, bv)),
        Mistake("your answer returns (var, mean); return (mean, var).",
                lambda mm, mv, bm, bv, mom: (mom * mv + (1 - mom) * bv, mom * mm + (1 - mom) * bm)),
    ),
    forbidden=("bnlib.layer:*", KERAS_REF),
)


def _ref_bn_inference(a, moving_mean, moving_var, gamma, beta, eps):
    return batchnorm_inference(a, moving_mean, moving_var, gamma, beta, eps)


def _inf_norm(a, mm, mv, eps, eps_outside=False, no_sqrt=False):
    if no_sqrt:
        return (a - mm) / (mv + eps)
    return (a - mm) / (np.sqrt(mv) + eps) if eps_outside else (a - mm) / np.sqrt(mv + eps)


def _public_bn_inference():
    return [
        ("one example, 3 features", (np.array([[1.0, -2.0, 0.5]]), np.array([0.5, -1.0, 0.0]),
                                     np.array([4.0, 0.25, 1e-3]), np.array([1.0, 2.0, -1.0]),
                                     np.array([0.0, 1.0, 0.5]), 1e-3)),
        ("the notes' batch with moving mean 2, variance 2", (NOTES_A.copy(), np.array([2.0]), np.array([2.0]),
                                                             np.array([3.0]), np.array([1.0]), 1e-3)),
        ("a 5x2, small moving variance", (np.array([[0.1, 5.0], [0.2, 6.0], [0.0, 7.0], [0.3, 4.0], [0.1, 5.5]]),
                                          np.array([0.1, 5.0]), np.array([2e-3, 1.5]), np.array([2.0, 0.5]),
                                          np.array([-1.0, 1.0]), 1e-3)),
    ]


def _random_bn_inference(rng):
    a, scale = random_batch(rng, m=int(rng.integers(1, 9)))
    n = a.shape[1]
    eps = random_eps(rng)
    mm = a.mean(axis=0) + rng.normal(0, scale, n)
    mv = rng.uniform(0.2, 3.0, n) * scale**2
    return (f"a {shape_label(a)}, {scale_label(scale)}, eps {eps:g}",
            (a, mm, mv, rng.normal(1.0, 0.5, n), rng.normal(0.0, 1.0, n), eps))


def _inference_affine(normalize):
    return (
        Mistake(HINT_GB_FORGOTTEN, lambda a, mm, mv, g, b, eps: normalize(a, mm, mv, eps)),
        Mistake(HINT_GB_SWAPPED, lambda a, mm, mv, g, b, eps: g + b * normalize(a, mm, mv, eps)),
        Mistake(HINT_BETA_INSIDE, lambda a, mm, mv, g, b, eps: g * (normalize(a, mm, mv, eps) + b)),
    )

BN_INFERENCE = Exercise(
    "bn_inference", 4, "function", "Batch normalization, inference mode", _ref_bn_inference,
    ("a", "moving_mean", "moving_var", "gamma", "beta", "eps"), ("array",), _public_bn_inference,
    _random_bn_inference,
    mistakes=(
        Mistake("your answer normalizes with the batch's own statistics (training mode). At inference use the "
                "moving statistics, so that each example's output does not depend on its batch-mates.",
                lambda a, mm, mv, g, b, eps: b + g * normalized(a, eps)),
        Mistake(HINT_EPS_MISSING, lambda a, mm, mv, g, b, eps: b + g * _inf_norm(a, mm, mv, 0.0)),
        Mistake(HINT_EPS_OUTSIDE, lambda a, mm, mv, g, b, eps: b + g * _inf_norm(a, mm, mv, eps, eps_outside=True)),
        Mistake("your answer divides by moving_var + eps; moving_var is a variance: divide by "
                "sqrt(moving_var + eps).",
                lambda a, mm, mv, g, b, eps: b + g * _inf_norm(a, mm, mv, eps, no_sqrt=True)),
    ) + _inference_affine(_inf_norm),
    forbidden=("bnlib.batchnorm:batchnorm_inference", "bnlib.batchnorm:batchnorm_inference_kernel", "bnlib.layer:*",
               "bnlib.folding:*", KERAS_REF),
)


def _ref_fold(W, b, gamma, beta, moving_mean, moving_var, eps):
    return fold_batchnorm(W, b, gamma, beta, moving_mean, moving_var, eps)


def _fold_variant(eps_mode="inside", center=True, bias=True, shift=True, rows=False):
    def variant(W, b, gamma, beta, mm, mv, eps):
        var = {"inside": np.sqrt(mv + eps), "missing": np.sqrt(mv), "outside": np.sqrt(mv) + eps,
               "no sqrt": mv + eps}[eps_mode]
        s = gamma / var
        Wf = W * s[:, None] if rows else W * s
        bf = s * ((b if bias else 0.0) - (mm if center else 0.0)) + (beta if shift else 0.0)
        return Wf, bf
    return variant


def _public_fold():
    W = np.array([[1.0, -2.0, 0.5], [0.0, 1.0, 2.0]])
    Wsq = np.array([[1.0, 2.0], [-1.0, 0.5]])
    return [
        ("W 2x3", (W, np.array([0.1, 0.2, -0.3]), np.array([2.0, 0.5, -1.0]), np.array([1.0, 0.0, 0.5]),
                   np.array([0.5, -1.0, 2.0]), np.array([4.0, 0.25, 1.0]), 1e-3)),
        ("W 2x2, small moving variance", (Wsq, np.array([1.0, -1.0]), np.array([1.5, 3.0]), np.array([-0.5, 2.0]),
                                          np.array([1.0, -0.5]), np.array([1e-3, 2.0]), 1e-3)),
        ("W 3x1, eps 0.1", (np.array([[1.0], [2.0], [3.0]]), np.array([0.5]), np.array([2.0]), np.array([1.0]),
                            np.array([3.0]), np.array([0.5]), 0.1)),
    ]


def _random_fold(rng):
    n_in, n = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    eps = random_eps(rng)
    scale = float(10.0 ** rng.uniform(-1, 1))
    return (f"W {n_in}x{n}, eps {eps:g}",
            (rng.normal(0, 1, (n_in, n)), rng.normal(0, 1, n), rng.normal(1, 0.5, n), rng.normal(0, 1, n),
             rng.normal(0, scale, n), rng.uniform(0.1, 2, n) * scale**2, eps))

FOLD = Exercise(
    "fold_batchnorm", 4, "function", "Fold batch normalization into the Dense layer", _ref_fold,
    ("W", "b", "gamma", "beta", "moving_mean", "moving_var", "eps"), ("tuple", 2, ("W_folded", "b_folded")),
    _public_fold, _random_fold,
    mistakes=(
        Mistake("b_folded forgets the moving mean: BN subtracts it from a @ W + b, so b_folded = "
                "gamma * (b - moving_mean) / sqrt(moving_var + eps) + beta.", _fold_variant(center=False)),
        Mistake("b_folded forgets the Dense bias b: b_folded = gamma * (b - moving_mean) / sqrt(moving_var + eps) "
                "+ beta.", _fold_variant(bias=False)),
        Mistake("b_folded forgets beta, BN's shift, which is added after scaling.", _fold_variant(shift=False)),
        Mistake(HINT_EPS_MISSING, _fold_variant("missing")),
        Mistake(HINT_EPS_OUTSIDE, _fold_variant("outside")),
        Mistake("your answer divides by moving_var + eps; divide by its square root.", _fold_variant("no sqrt")),
        Mistake("your W_folded scales the rows of W; each OUTPUT unit j (a column of W, since y = a @ W + b) gets "
                "its own factor gamma_j / sqrt(moving_var_j + eps): W * scale, broadcasting over rows.",
                _fold_variant(rows=True)),
    ),
    forbidden=("bnlib.folding:*", "bnlib.batchnorm:batchnorm_inference", "bnlib.batchnorm:batchnorm_inference_kernel",
               "bnlib.layer:*", KERAS_REF),
)
