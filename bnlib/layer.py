"""Moving statistics and a small stateful batch-normalization layer (chapter 4, "Training versus inference").

Keras's convention, the course default: after every training call

    moving_mean = momentum * moving_mean + (1 - momentum) * mu
    moving_var  = momentum * moving_var  + (1 - momentum) * sigma^2      (sigma^2 biased, divide by m)

with momentum = 0.99 weighting the OLD value. The maths is the pure function
:func:`update_moving_stats` (its kernel :func:`moving_average`); :class:`BatchNorm` only holds the
four weights and decides, like ``keras.layers.BatchNormalization``, which kernel a call runs, after
checking its input once.
"""

import numpy as np

from .batchnorm import batchnorm_forward_kernel, batchnorm_inference_kernel
from .defaults import KERAS_EPS, KERAS_MOMENTUM
from .validation import (
    as_batch,
    as_stat,
    check_batch_count,
    check_eps,
    check_int,
    check_mask,
    check_momentum,
    check_variance,
    feature_axis,
    result_dtype,
)

__all__ = ["BatchNorm", "moving_average", "update_moving_stats"]


def update_moving_stats(moving_mean, moving_var, batch_mean, batch_var, momentum=KERAS_MOMENTUM):
    """One step of Keras's exponential moving average of the batch statistics.

    moving_mean, moving_var: (n,) the running estimates before the step.
    batch_mean, batch_var:   (n,) this batch's mu and biased sigma^2 (divide by m).
    momentum: float in [0, 1], the weight of the OLD value (Keras's default 0.99):
        mean = momentum * moving_mean + (1 - momentum) * batch_mean
        var  = momentum * moving_var  + (1 - momentum) * batch_var
    Returns (mean, var), new (n,) arrays; the inputs are not modified.
    The average remembers about 1 / (1 - momentum) batches (100 for 0.99).
    Taught in chapter 4.
    """
    momentum = check_momentum(momentum)
    moving_mean = as_stat(moving_mean, "moving_mean")
    n = moving_mean.size
    moving_var = as_stat(moving_var, "moving_var", n)
    batch_mean = as_stat(batch_mean, "batch_mean", n)
    batch_var = as_stat(batch_var, "batch_var", n)
    check_variance(moving_var, "moving_var")
    check_variance(batch_var, "batch_var")
    return moving_average(moving_mean, batch_mean, momentum), moving_average(moving_var, batch_var, momentum)


def moving_average(moving, batch, momentum):
    """momentum * moving + (1 - momentum) * batch, a new array: :func:`update_moving_stats`'s kernel (no checks)."""
    return momentum * moving + (1.0 - momentum) * batch


class BatchNorm:
    """A thin stateful batch-normalization layer with Keras 3's semantics.

    momentum: float in [0, 1], weight of the old moving value (default 0.99, Keras).
    epsilon:  float >= 0 added to the variance (default 1e-3, Keras).
    axis:     int, the feature axis of the input (default -1).
    State (all (n,), created on the first call from the input's feature size n, with Keras's
    initial values): gamma = 1, beta = 0, moving_mean = 0, moving_var = 1; ``trainable`` = True.

    ``layer(a, training=...)``:
      * training=True and trainable: batch statistics (:func:`bnlib.batchnorm_forward`), then the
        moving statistics take one :func:`update_moving_stats` step;
      * otherwise (training False or None, or trainable=False): moving statistics
        (:func:`bnlib.batchnorm_inference`), nothing changes. Keras 3 also ignores training=True
        on a frozen layer, which is what fine-tuning wants.
    Taught in chapter 4.
    """

    def __init__(self, momentum=KERAS_MOMENTUM, epsilon=KERAS_EPS, axis=-1):
        self.momentum = check_momentum(momentum)
        self.epsilon = check_eps(epsilon)
        self.axis = check_int(axis, "axis", hint=" naming the feature axis (default -1)")
        self.trainable = True
        self.gamma = self.beta = self.moving_mean = self.moving_var = None

    @property
    def built(self):
        """True once the weights exist (after the first call or :meth:`build`)."""
        return self.gamma is not None

    def build(self, n, dtype=np.float64):
        """Create the four (n,) weights with Keras's initial values 1, 0, 0, 1."""
        n = check_int(n, "n", 1, ", the number of features")
        self.gamma = np.ones(n, dtype=dtype)
        self.beta = np.zeros(n, dtype=dtype)
        self.moving_mean = np.zeros(n, dtype=dtype)
        self.moving_var = np.ones(n, dtype=dtype)

    def get_weights(self):
        """[gamma, beta, moving_mean, moving_var], copies, in Keras's order."""
        if not self.built:
            raise ValueError("the layer has no weights yet; call it on a batch (or call build(n)) first.")
        return [w.copy() for w in (self.gamma, self.beta, self.moving_mean, self.moving_var)]

    def set_weights(self, weights):
        """Set [gamma, beta, moving_mean, moving_var], each (n,), as Keras's ``set_weights``."""
        if len(weights) != 4:
            raise ValueError(f"weights must be [gamma, beta, moving_mean, moving_var], got {len(weights)} arrays.")
        gamma = as_stat(weights[0], "gamma")
        beta, mean, var = (as_stat(w, name, gamma.size) for w, name in
                           zip(weights[1:], ("beta", "moving_mean", "moving_var"), strict=True))
        check_variance(var, "moving_var")
        self.gamma, self.beta, self.moving_mean, self.moving_var = gamma, beta, mean, var

    def __call__(self, a, training=False, mask=None):
        """Normalize ``a`` (m, n), (m, T, c) or (m, h, w, c); returns an array of a's shape (see the class docstring).

        mask: None, or a boolean array of a's shape without the feature axis ((m, T) for padded
        sequences): in training, only the True steps enter the batch statistics and so the moving
        statistics' update (:func:`bnlib.batchnorm_forward`); inference ignores it, as Keras does.
        """
        if training is not None and not isinstance(training, (bool, np.bool_)):
            raise TypeError(f"training must be True, False or None, got {training!r}.")
        arr = as_batch(a)
        ax = feature_axis(arr, self.axis)
        if not self.built:
            self.build(arr.shape[ax], dtype=arr.dtype)
        elif arr.shape[ax] != self.gamma.size:
            raise ValueError(
                f"the layer was built for {self.gamma.size} features but a has {arr.shape[ax]} on axis "
                f"{self.axis} (shape {arr.shape}); use a new layer for a different feature size."
            )
        # The weights were checked when they were set; they compute in the input's dtype.
        gamma, beta = (w.astype(arr.dtype, copy=False) for w in (self.gamma, self.beta))
        if mask is not None:
            mask = check_mask(mask, arr, ax)
        if training and self.trainable:
            if mask is None:
                check_batch_count(arr, ax)
            out, cache = batchnorm_forward_kernel(arr, gamma, beta, self.epsilon, ax, mask)
            self.moving_mean = moving_average(self.moving_mean, cache.mu, self.momentum)
            self.moving_var = moving_average(self.moving_var, cache.var, self.momentum)
            return out.astype(result_dtype(a, arr.dtype), copy=False)
        mean, var = (w.astype(arr.dtype, copy=False) for w in (self.moving_mean, self.moving_var))
        out = batchnorm_inference_kernel(arr, mean, var, gamma, beta, self.epsilon, ax)
        return out.astype(result_dtype(a, arr.dtype), copy=False)
