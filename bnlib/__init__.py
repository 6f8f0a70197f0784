"""bnlib: the shared package of the batch normalization course.

The maths is numpy, in flat modules a student can open beside the chapter that teaches them; the
infrastructure lives in subpackages. ``keras_ref`` is the only code that touches TensorFlow/Keras,
and ``compare`` checks one against the other.

- ``stats``, ``regression`` (chapter 1): batch statistics, the notes' input standardization, and the
  one-feature least-squares example.
- ``batchnorm`` (2, 4): forward pass in training and inference mode.
- ``backprop``, ``gradcheck``, ``fast`` (3): the backward pass, a finite-difference checker, and a
  faster forward/backward pair with fewer passes over memory.
- ``layer``, ``conventions``, ``folding`` (4): moving statistics and the thin ``BatchNorm`` layer, the
  Keras/PyTorch/paper conventions, folding into a Dense layer.
- ``data``, ``nn/`` (5, 6): offline digits data, and the numpy network with its trainer and experiments.
- ``regularization`` (7): batch noise, inverted dropout and its variance shift, weight decay.
- ``alternatives`` (9): layer, group, instance and RMS normalization.
- ``renorm``, ``ghost``, ``sync`` (small, large and distributed batches): batch renormalization, ghost
  batch normalization, per-replica statistics combined exactly. Masks and mixed precision are
  arguments of ``batchnorm``; folding into Conv2D is ``folding``'s.
- ``defaults`` (the frameworks' eps and momentum), ``validation`` (every argument check), ``compare``,
  ``errors``, ``glue`` (a computed number bound to the prose): shared by all of the above.
- ``keras_ref/``: the Keras reference;  ``plots``: plot helpers that take a matplotlib ``ax``;
  ``exercises/``: graded exercises (``check``);  ``grading/``: the instructors' grading command.

Each public name has one import path. The maths below comes from ``bnlib`` itself, e.g.
``from bnlib import batchnorm_forward``; the Keras references from ``bnlib.keras_ref``, the plot
helpers from ``bnlib.plots``, the exercise checks from ``bnlib.exercises``.
"""

from .alternatives import group_norm, instance_norm, layer_norm, rms_norm, statistics_sets
from .backprop import batchnorm_backward, batchnorm_backward_compact
from .batchnorm import BNCache, batchnorm_forward, batchnorm_inference
from .compare import compare
from .conventions import keras_moving_stats, paper_population_stats, torch_running_stats, torch_update_running_stats
from .data import Dataset, load_dataset, load_digits, load_mnist, train_test_split
from .defaults import (
    DROPOUT_RATE,
    KERAS_EPS,
    KERAS_MOMENTUM,
    KERAS_RENORM_MOMENTUM,
    RMS_EPS,
    TORCH_EPS,
    TORCH_MOMENTUM,
    WEIGHT_DECAY,
)
from .errors import MismatchError
from .fast import FastBNCache, batchnorm_backward_fast, batchnorm_forward_fast
from .folding import batchnorm_affine, fold_batchnorm, fold_batchnorm_into_next
from .ghost import GhostBNCache, ghost_batchnorm_forward
from .glue import glue
from .gradcheck import magnitude, numeric_gradient, rel_error
from .layer import BatchNorm, update_moving_stats
from .nn.landscape import LandscapeProbe, landscape_probe
from .nn.network import MLP, mlp_backward, mlp_forward, mlp_logits
from .nn.params import MLPParams, init_params, sgd_step
from .nn.training import History, Sweep, sweep, train
from .regression import (
    gradient_descent,
    hessian_condition_number,
    iterations_to_converge,
    layer_hessian,
    least_squares_fit,
    max_stable_learning_rate,
    regression_gradient,
    regression_hessian,
    regression_loss,
)
from .regularization import (
    VarianceShift,
    batch_noise_std,
    dropout_forward,
    dropout_variance_shift,
    weight_decay_step,
)
from .renorm import BatchRenorm, RenormCache, batch_renorm_backward, batch_renorm_forward
from .stats import batch_mean, batch_variance, standardize
from .sync import combine_moments, replica_moments, sync_batchnorm_forward

__version__ = "0.1.0"

__all__ = [
    "BNCache",
    "DROPOUT_RATE",
    "BatchNorm",
    "BatchRenorm",
    "Dataset",
    "FastBNCache",
    "GhostBNCache",
    "History",
    "KERAS_EPS",
    "KERAS_MOMENTUM",
    "KERAS_RENORM_MOMENTUM",
    "LandscapeProbe",
    "MLP",
    "MLPParams",
    "MismatchError",
    "RMS_EPS",
    "RenormCache",
    "Sweep",
    "TORCH_EPS",
    "TORCH_MOMENTUM",
    "VarianceShift",
    "WEIGHT_DECAY",
    "batch_mean",
    "batch_noise_std",
    "batch_renorm_backward",
    "batch_renorm_forward",
    "batch_variance",
    "batchnorm_affine",
    "batchnorm_backward",
    "batchnorm_backward_compact",
    "batchnorm_backward_fast",
    "batchnorm_forward",
    "batchnorm_forward_fast",
    "batchnorm_inference",
    "combine_moments",
    "compare",
    "dropout_forward",
    "dropout_variance_shift",
    "fold_batchnorm",
    "fold_batchnorm_into_next",
    "ghost_batchnorm_forward",
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
    "load_mnist",
    "magnitude",
    "max_stable_learning_rate",
    "mlp_backward",
    "mlp_forward",
    "mlp_logits",
    "numeric_gradient",
    "paper_population_stats",
    "regression_gradient",
    "regression_hessian",
    "regression_loss",
    "rel_error",
    "replica_moments",
    "rms_norm",
    "sgd_step",
    "standardize",
    "statistics_sets",
    "sweep",
    "sync_batchnorm_forward",
    "torch_running_stats",
    "torch_update_running_stats",
    "train",
    "train_test_split",
    "update_moving_stats",
    "weight_decay_step",
]
