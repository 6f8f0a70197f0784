"""Chapter 5's exercise: how invariant batch normalization is to scaling its input."""

import numpy as np

from ...batchnorm import batchnorm_forward
from ...defaults import KERAS_EPS
from ..model import Exercise, Mistake
from .common import HINT_DDOF1, NOTES_A, normalized

__all__ = ["INVARIANCE_GAP"]


def _gap_with(eps=KERAS_EPS, ddof=None):
    def value():
        g, b = np.ones(1), np.zeros(1)
        if ddof is None:
            return float(np.max(np.abs(batchnorm_forward(100 * NOTES_A, g, b, eps)[0]
                                       - batchnorm_forward(NOTES_A, g, b, eps)[0])))
        return float(np.max(np.abs(normalized(100 * NOTES_A, eps, ddof=ddof) - normalized(NOTES_A, eps, ddof=ddof))))
    return value

INVARIANCE_GAP = Exercise(
    "invariance_gap", 5, "value", "How invariant is BN to scaling its input?", _gap_with(),
    output=("scalar", ()),
    mistakes=(
        Mistake("your answer is what eps = 0 gives (exact invariance); with eps = 1e-3 inside the square root the "
                "small batch is damped a little more than the large one, so the gap is small but not 0.",
                _gap_with(eps=0.0)),
        Mistake(HINT_DDOF1, _gap_with(ddof=1)),
    ),
)
