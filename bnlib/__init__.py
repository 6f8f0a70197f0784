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
from .conventions import KERAS_EPS, TORCH_EPS, keras_moving_stats, paper_population_stats, torch_running_stats
from .data import Dataset, load_dataset, load_digits
from .errors import MismatchError
from .fast import FastBNCache, batchnorm_backward_fast, batchnorm_forward_fast
from .folding import batchnorm_affine, fold_batchnorm, fold_batchnorm_into_next
from .glue import glue
from .gradcheck import magnitude, numeric_gradient, rel_error
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
from .regression import (
    gradient_descent,
    hessian_condition_number,
    iterations_to_converge,
    layer_hessian,
    least_squares_fit,
    max_stable_learning_rate,
    regression_hessian,
    regression_loss,
)
from .stats import batch_mean, batch_variance, standardize

__all__ = [
    "BNCache",
    "BatchNorm",
    "Dataset",
    "FastBNCache",
    "KERAS_EPS",
    "MLP",
    "MLPParams",
    "MismatchError",
    "TORCH_EPS",
    "batch_mean",
    "batch_variance",
    "batchnorm_affine",
    "batchnorm_backward",
    "batchnorm_backward_compact",
    "batchnorm_backward_fast",
    "batchnorm_forward",
    "batchnorm_forward_fast",
    "batchnorm_inference",
    "compare",
    "fold_batchnorm",
    "fold_batchnorm_into_next",
    "glue",
    "gradient_descent",
    "group_norm",
    "hessian_condition_number",
    "init_params",
    "instance_norm",
    "iterations_to_converge",
    "keras_moving_stats",
    "landscape_probe",
    "layer_hessian",
    "layer_norm",
    "least_squares_fit",
    "load_dataset",
    "load_digits",
    "magnitude",
    "max_stable_learning_rate",
    "mlp_backward",
    "mlp_forward",
    "mlp_logits",
    "numeric_gradient",
    "paper_population_stats",
    "regression_hessian",
    "regression_loss",
    "rel_error",
    "rms_norm",
    "sgd_step",
    "standardize",
    "statistics_sets",
    "sweep",
    "torch_running_stats",
    "train",
    "update_moving_stats",
]
