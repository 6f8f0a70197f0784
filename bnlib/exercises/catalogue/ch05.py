"""Chapter 5's exercises: how invariant batch normalization is to scaling its input; why inference is not pinned."""

import numpy as np

from ...batchnorm import batchnorm_forward
from ...defaults import KERAS_EPS
from ...layer import BatchNorm
from ..model import Exercise, Mistake
from .common import HINT_DDOF1, NOTES_A, normalized

__all__ = ["INFERENCE_MOMENTS", "INVARIANCE_GAP"]


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


INFERENCE_CALLS = 100  # training calls on the notes' batch before the inference call (the exercise's setting)


def _inference_moments():
    """bnlib's layer: INFERENCE_CALLS training calls on the notes' batch, then one inference call."""
    layer = BatchNorm()  # Keras's defaults: momentum 0.99, eps 1e-3, gamma 1, beta 0, moving 0 and 1
    for _ in range(INFERENCE_CALLS):
        layer(NOTES_A, training=True)
    out = layer(NOTES_A, training=False)
    return np.array([out.mean(), out.std()])


def _moments_with(calls=INFERENCE_CALLS, momentum=0.99, ddof_update=0, var0=1.0, eps=KERAS_EPS, ddof_out=0):
    """The inference-mode [mean, std] of the notes' batch for a (deliberately wrong) recipe, in closed form."""
    def value():
        a = NOTES_A[:, 0]
        kept = momentum**calls  # the weight the initial moving statistics keep after `calls` updates
        mean = (1 - kept) * a.mean()
        var = kept * var0 + (1 - kept) * a.var(ddof=ddof_update)
        out = (a - mean) / np.sqrt(var + eps)
        return np.array([out.mean(), out.std(ddof=ddof_out)])
    return value

INFERENCE_MOMENTS = Exercise(
    "inference_moments", 5, "value", "Why is the inference-mode output not pinned?", _inference_moments,
    output=("array", (2,)),
    mistakes=(
        Mistake("your answer is what training mode gives, the pinned values: mean 0 and spread "
                "sqrt(sigma^2 / (sigma^2 + eps)), as if the moving statistics had converged to the batch's (which "
                "momentum weighting the NEW value, PyTorch's convention, would nearly do). In Keras momentum "
                "weights the OLD value, and after 100 updates with momentum 0.99 the moving statistics still "
                "hold 0.99^100 of their initial 0 and 1.", _moments_with(calls=10_000)),
        Mistake("your answer is exactly [0, 1], the pinned values of training mode with eps left out. Even in "
                "training mode eps keeps the spread just below 1, and in inference mode the moving statistics "
                "after 100 updates with momentum 0.99 still hold 0.99^100 of their initial 0 and 1: compute "
                "them, then normalize the batch with them.", lambda: np.array([0.0, 1.0])),
        Mistake("your answer updates the moving statistics once; the layer takes one step of the moving average "
                "on each of the 100 training calls.", _moments_with(calls=1)),
        Mistake("your moving variance averages the variance divided by m - 1. Keras updates it with the biased "
                "batch variance (divide by m), the one it normalizes with.", _moments_with(ddof_update=1)),
        Mistake("your moving variance starts at 0; a fresh Keras layer starts it at 1 (and the moving mean at 0).",
                _moments_with(var0=0.0)),
        Mistake("your standard deviation of the four outputs divides by m - 1; use np.std's default (divide by m), "
                "as for the batch statistics.", _moments_with(ddof_out=1)),
        Mistake("your answer leaves out eps: inference divides by sqrt(moving_var + eps).", _moments_with(eps=0.0)),
    ),
)
