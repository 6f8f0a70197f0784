"""The catalogue of graded exercises, one module per chapter, in chapter order.

Each chapter module defines its :class:`bnlib.exercises.model.Exercise` objects: the public and
randomized cases, the reference (bnlib's own implementation) and the known mistakes with their hints.
"""

from .ch01 import CONDITION_NUMBER, STANDARDIZE
from .ch02 import BN_FORWARD, SPREAD
from .ch03 import BN_BACKWARD, DA_SEED
from .ch04 import BN_INFERENCE, FOLD, UPDATE
from .ch05 import INFERENCE_MOMENTS, INVARIANCE_GAP
from .ch06 import BN_PARAM_COUNT, TORCH_TO_KERAS
from .ch07 import BATCH_NOISE, DECAYED_SGD_STEP, VARIANCE_SHIFT
from .ch08 import COMBINE_MOMENTS, FLOAT16_MEAN, MASKED_MOMENTS, RENORM_R_D
from .ch09 import GROUP_NORM, LAYER_NORM

__all__ = ["EXERCISES", "get_exercise"]

EXERCISES = {ex.id: ex for ex in (
    STANDARDIZE, CONDITION_NUMBER, BN_FORWARD, SPREAD, BN_BACKWARD, DA_SEED, UPDATE, BN_INFERENCE,
    FOLD, INVARIANCE_GAP, INFERENCE_MOMENTS, BN_PARAM_COUNT, TORCH_TO_KERAS, VARIANCE_SHIFT, DECAYED_SGD_STEP,
    BATCH_NOISE, RENORM_R_D, COMBINE_MOMENTS, MASKED_MOMENTS, FLOAT16_MEAN, LAYER_NORM, GROUP_NORM,
)}
"""Every exercise by id, in chapter order."""


def get_exercise(exercise_id):
    """The :class:`Exercise` with this id; a ValueError listing the ids for an unknown one."""
    if not isinstance(exercise_id, str) or exercise_id not in EXERCISES:
        raise ValueError(f"unknown exercise id {exercise_id!r}; the ids are: {', '.join(EXERCISES)}.")
    return EXERCISES[exercise_id]
