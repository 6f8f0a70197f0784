"""Moving statistics and a small stateful batch-normalization layer (chapter 4, "Training versus inference").

Keras's convention, the course default: after every training call

    moving_mean = momentum * moving_mean + (1 - momentum) * mu
    moving_var  = momentum * moving_var  + (1 - momentum) * sigma^2      (sigma^2 biased, divide by m)

with momentum = 0.99 weighting the OLD value. The maths is the pure function
:func:`update_moving_stats`; :class:`BatchNorm` only holds the four weights and decides,
like ``keras.layers.BatchNormalization``, which of the pure functions a call runs.
"""

import numpy as np

from .batchnorm import batchnorm_forward, batchnorm_inference
from .validation import as_batch, check_eps, check_momentum, feature_axis

__all__ = ["BatchNorm", "update_moving_stats"]


def as_stat(x, name, n=None):
    """Return a per-feature statistic as a finite 1-D float array of shape (n,).

    x: array-like of shape (n,) (a (1, n) or (n, 1) array is flattened).
    n: the expected number of features, or None to take it from ``x``.
    Raises TypeError for non-numeric input and ValueError for a scalar, a wrong shape or NaN/inf.
    """
    try:
        arr = np.asarray(x)
    except Exception as exc:
        raise TypeError(f"{name} must be a numeric array of shape (n,); numpy could not convert it ({exc}).") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}.")
    if arr.ndim == 0:
        raise ValueError(f"{name} must have one value per feature, shape (n,), got a scalar; use np.full(n, value).")
    if arr.ndim > 2 or (arr.ndim == 2 and 1 not in arr.shape):
        raise ValueError(f"{name} must have shape (n,), one value per feature, got shape {arr.shape}.")
    arr = arr.reshape(-1)
    if n is not None and arr.size != n:
        raise ValueError(
            f"{name} has {arr.size} values but {n} were expected (one per feature); "
            "every per-feature statistic must have the same shape (n,)."
        )
    if not np.issubdtype(arr.dtype, np.floating) or arr.dtype == np.float16:
        arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf; per-feature statistics must be finite.")
    return arr


def update_moving_stats(moving_mean, moving_var, batch_mean, batch_var, momentum=0.99):
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
    for name, v in (("moving_var", moving_var), ("batch_var", batch_var)):
        if np.any(v < 0):
            raise ValueError(f"{name} must be >= 0 everywhere; a variance cannot be negative.")
    mean = momentum * moving_mean + (1.0 - momentum) * batch_mean
    var = momentum * moving_var + (1.0 - momentum) * batch_var
    return mean, var


class BatchNorm:
    """A thin stateful batch-normalization layer with Keras 3's semantics.

    momentum: float in [0, 1], weight of the old moving value (default 0.99, Keras).
    epsilon:  float >= 0 added to the variance (default 1e-3, Keras).
    axis:     int, the feature axis of the input (default -1).
    State (all (n,), created on the first call from the input's feature size n, with Keras's
    initial values): gamma = 1, beta = 0, moving_mean = 0, moving_var = 1; ``trainable`` = True.

    ``layer(a, training=...)``:
      * training=True and trainable: batch statistics (:func:`batchnorm_forward`), then the
        moving statistics take one :func:`update_moving_stats` step;
      * otherwise (training False or None, or trainable=False): moving statistics
        (:func:`batchnorm_inference`), nothing changes. Keras 3 also ignores training=True
        on a frozen layer, which is what fine-tuning wants.
    Taught in chapter 4.
    """

    def __init__(self, momentum=0.99, epsilon=1e-3, axis=-1):
        self.momentum = check_momentum(momentum)
        self.epsilon = check_eps(epsilon)
        if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"axis must be an int naming the feature axis (default -1), got {axis!r}.")
        self.axis = int(axis)
        self.trainable = True
        self.gamma = self.beta = self.moving_mean = self.moving_var = None

    @property
    def built(self):
        """True once the weights exist (after the first call or :meth:`build`)."""
        return self.gamma is not None

    def build(self, n, dtype=np.float64):
        """Create the four (n,) weights with Keras's initial values 1, 0, 0, 1."""
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive int, the number of features, got {n!r}.")
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
        if np.any(var < 0):
            raise ValueError("moving_var must be >= 0 everywhere; a variance cannot be negative.")
        self.gamma, self.beta, self.moving_mean, self.moving_var = gamma, beta, mean, var

    def __call__(self, a, training=False):
        """Normalize ``a`` (m, n) or (m, h, w, c); returns an array of a's shape (see the class docstring)."""
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
        if training and self.trainable:
            out, cache = batchnorm_forward(arr, self.gamma, self.beta, eps=self.epsilon, axis=ax)
            self.moving_mean, self.moving_var = update_moving_stats(
                self.moving_mean, self.moving_var, cache.mu, cache.var, self.momentum)
            return out
        return batchnorm_inference(arr, self.moving_mean, self.moving_var, self.gamma, self.beta,
                                   eps=self.epsilon, axis=ax)
