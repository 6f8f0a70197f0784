"""bnlib: the shared package of the batch normalization course.

The maths is numpy (``stats``, ``batchnorm``); ``keras_ref`` is the only module that
touches TensorFlow/Keras; ``compare`` checks one against the other. Public names are
listed in ``__all__``; import them explicitly, e.g. ``from bnlib import batchnorm_forward``.
"""

from .batchnorm import BNCache, batchnorm_forward, batchnorm_inference
from .compare import compare
from .errors import MismatchError
from .stats import batch_mean, batch_variance, standardize

__version__ = "0.1.0"

__all__ = [
    "BNCache",
    "MismatchError",
    "batch_mean",
    "batch_variance",
    "batchnorm_forward",
    "batchnorm_inference",
    "compare",
    "standardize",
]
