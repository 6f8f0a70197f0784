"""bnlib: the shared package of the batch normalization course.

The maths is numpy; ``keras_ref`` is the only module that touches TensorFlow/Keras, and
``compare`` checks one against the other. Modules, by chapter:

- ``stats`` (1): batch statistics and the notes' input standardization; ``regression`` (1): the
  one-feature least-squares example.
- ``batchnorm`` (2, 4): forward pass in training and inference mode.
- ``backprop``, ``gradcheck``, ``fast`` (3): the backward pass, a finite-difference checker, and a
  faster forward/backward pair with fewer passes over memory.
- ``layer``, ``conventions``, ``folding`` (4): moving statistics, the thin ``BatchNorm`` layer,
  the Keras/PyTorch/paper conventions, folding into a Dense layer.
- ``data``, ``mlp`` (5, 6): offline digits data and a numpy network trainer.
- ``alternatives`` (7): layer, group, instance and RMS normalization.
- ``exercises``, ``grading``: graded exercises and the instructors' grading command.
- ``plots``: plot helpers that take a matplotlib ``ax``.

The names below are the public API; import them explicitly, e.g. ``from bnlib import batchnorm_forward``.
"""

from .alternatives import group_norm, instance_norm, layer_norm, rms_norm, statistics_sets
from .backprop import batchnorm_backward, batchnorm_backward_compact
from .batchnorm import BNCache, batchnorm_forward, batchnorm_inference
from .compare import compare
from .data import Dataset, load_dataset, load_digits
from .errors import MismatchError
from .fast import FastBNCache, batchnorm_backward_fast, batchnorm_forward_fast
from .folding import fold_batchnorm
from .glue import glue
from .gradcheck import numeric_gradient, rel_error
from .layer import BatchNorm, update_moving_stats
from .mlp import (
    MLP,
    MLPParams,
    init_params,
    landscape_probe,
    mlp_backward,
    mlp_forward,
    mlp_logits,
    sgd_step,
    sweep,
    train,
)
from .stats import batch_mean, batch_variance, standardize

__version__ = "0.1.0"

__all__ = [
    "BNCache",
    "BatchNorm",
    "Dataset",
    "FastBNCache",
    "MLP",
    "MLPParams",
    "MismatchError",
    "batch_mean",
    "batch_variance",
    "batchnorm_backward",
    "batchnorm_backward_compact",
    "batchnorm_backward_fast",
    "batchnorm_forward",
    "batchnorm_forward_fast",
    "batchnorm_inference",
    "compare",
    "fold_batchnorm",
    "glue",
    "group_norm",
    "init_params",
    "instance_norm",
    "landscape_probe",
    "layer_norm",
    "load_dataset",
    "load_digits",
    "mlp_backward",
    "mlp_forward",
    "mlp_logits",
    "numeric_gradient",
    "rel_error",
    "rms_norm",
    "sgd_step",
    "standardize",
    "statistics_sets",
    "sweep",
    "train",
    "update_moving_stats",
]
