"""Chapter 6's exercises: count the batch-normalization weights; carry PyTorch's running statistics into Keras."""

import numpy as np

from ...layer import BatchNorm, update_moving_stats
from ..model import Exercise, Mistake
from .common import KERAS_REF, NOTES_A, scale_label

__all__ = ["BN_PARAM_COUNT", "TORCH_TO_KERAS"]


def _param_count(units=(100, 100, 100), moving=True, trainable_moving=False):
    def value():
        total = trainable = 0
        for n in units:
            layer = BatchNorm()
            layer.build(n)
            gamma, beta, mean, var = layer.get_weights()
            total += gamma.size + beta.size + (mean.size + var.size if moving else 0)
            trainable += gamma.size + beta.size + (mean.size + var.size if trainable_moving else 0)
        return (total, trainable)
    return value

BN_PARAM_COUNT = Exercise(
    "bn_param_count", 6, "value", "Count the batch-normalization weights", _param_count(),
    output=("int pair", "total, trainable"),
    mistakes=(
        Mistake("your total leaves out the moving mean and moving variance: each BN layer stores 4 weights per "
                "unit (gamma, beta, moving mean, moving variance).", _param_count(moving=False)),
        Mistake("your trainable count includes the moving statistics; they are updated by the moving average, not "
                "by gradient descent, so only gamma and beta are trainable.", _param_count(trainable_moving=True)),
        Mistake("your answer counts one BN layer; the network has one after each of its 3 hidden layers.",
                _param_count(units=(100,))),
        Mistake("the tuple is (total, trainable): the total comes first.", lambda: _param_count()()[::-1]),
    ),
)


def _ref_torch_to_keras(running_mean, running_var, momentum, a):
    # The Keras layer loaded with PyTorch's statistics, momentum 1 - momentum_torch, one training call on a.
    return update_moving_stats(running_mean, running_var, a.mean(axis=0), a.var(axis=0), 1.0 - momentum)


def _torch_variant(keras_momentum=True, ddof=0, load_factor=False, stats="updated"):
    """A (deliberately wrong, unless all defaults) recipe for the Keras layer's moving statistics."""
    def variant(running_mean, running_var, momentum, a):
        m = a.shape[0]
        mu, var = a.mean(axis=0), a.var(axis=0, ddof=ddof)
        loaded = running_var * (m - 1) / m if load_factor else running_var
        if stats == "unchanged":
            return running_mean, running_var
        if stats == "batch":
            return mu, var
        keep = 1.0 - momentum if keras_momentum else momentum  # the weight of the old value
        return keep * running_mean + (1 - keep) * mu, keep * loaded + (1 - keep) * var
    return variant


def _public_torch_to_keras():
    return [
        ("PyTorch's default momentum 0.1, a fresh layer, the notes' batch",
         (np.zeros(1), np.ones(1), 0.1, NOTES_A.copy())),
        ("3 features, momentum 0.01, m = 5",
         (np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.2, 4.0]), 0.01,
          np.array([[1.0, -1.2, 2.5], [0.0, -0.8, 1.0], [2.0, -1.0, 3.5], [1.5, -0.9, 2.0], [0.5, -1.1, 1.0]]))),
        ("2 features, momentum 0.3, m = 2",
         (np.array([1.0, 3.0]), np.array([2.0, 0.5]), 0.3, np.array([[0.0, 4.0], [2.0, 3.0]]))),
    ]


def _random_torch_to_keras(rng):
    m, n = int(rng.integers(2, 13)), int(rng.integers(1, 6))
    momentum = float(rng.choice([0.1, 0.01, 0.05, 0.2, 0.3]))
    scale = float(10.0 ** rng.uniform(-1, 2))
    a = rng.normal(rng.normal(0, 2, n) * scale, scale, (m, n))
    return (f"a {m}x{n}, momentum {momentum:g}, {scale_label(scale)}",
            (rng.normal(0, scale, n), rng.uniform(0.2, 2, n) * scale**2, momentum, a))

TORCH_TO_KERAS = Exercise(
    "torch_to_keras", 6, "function", "Carry PyTorch's running statistics into Keras", _ref_torch_to_keras,
    ("running_mean", "running_var", "momentum", "a"), ("tuple", 2, ("moving_mean", "moving_var")),
    _public_torch_to_keras, _random_torch_to_keras,
    mistakes=(
        Mistake("your answer uses PyTorch's momentum as Keras's. PyTorch's momentum weights the NEW batch "
                "statistics, Keras's the OLD moving value: momentum_keras = 1 - momentum_torch.",
                _torch_variant(keras_momentum=False)),
        Mistake("your moving variance mixes in the batch variance divided by m - 1: that is PyTorch's update. "
                "Keras updates with the biased batch variance (divide by m), the one it normalizes with.",
                _torch_variant(ddof=1)),
        Mistake("your answer converts momentum the wrong way AND mixes in the unbiased variance: Keras's momentum "
                "is 1 - momentum_torch, and Keras updates with the biased batch variance (divide by m).",
                _torch_variant(keras_momentum=False, ddof=1)),
        Mistake("your answer multiplies the loaded running variance by (m - 1)/m. Load it as it is: PyTorch and "
                "Keras both use the stored variance unchanged at inference; only the NEW batch variance enters "
                "Keras's update biased.", _torch_variant(load_factor=True)),
        Mistake("your answer returns the loaded statistics unchanged; a training call updates them: "
                "(1 - momentum_keras) of the batch statistics are mixed in.", _torch_variant(stats="unchanged")),
        Mistake("your answer returns the batch statistics; the moving average keeps momentum_keras of the old "
                "value.", _torch_variant(stats="batch")),
    ),
    forbidden=("bnlib.layer:*", "bnlib.conventions:*", KERAS_REF),
)
