"""Three ways to turn batch statistics into the statistics used at inference (chapter 4).

* Keras (the course default, checked against Keras itself): ``momentum = 0.99`` weights the OLD
  value, the stored variance is the biased batch variance (divide by m), eps = 1e-3.
* PyTorch ``BatchNorm1d`` (from its documentation): ``momentum = 0.1`` weights the NEW value,
  the stored running variance is the unbiased one (divide by m - 1), eps = 1e-5;
  ``momentum=None`` makes it a cumulative (equal-weight) average over all batches seen.
* Ioffe & Szegedy (2015), Algorithm 2: after training, E[x] = mean of the batch means and
  Var[x] = m/(m-1) * mean of the (biased) batch variances over many training batches of size m.

All start from the batches' own statistics; they differ in weighting and in m versus m - 1.
Names say which convention they compute; nothing here mixes them.
"""

import numpy as np

from .defaults import KERAS_MOMENTUM, TORCH_MOMENTUM
from .layer import moving_average
from .validation import as_batch, as_stat, check_int, check_momentum, feature_axis, reduce_axes

__all__ = [
    "keras_moving_stats",
    "paper_population_stats",
    "torch_running_stats",
    "torch_update_running_stats",
    "torch_update_running_stats_kernel",
]


def _batch_stats(batches, axis):
    """Per batch: (mu (n,), biased var (n,), count = values per feature); same feature size throughout."""
    if not isinstance(batches, (list, tuple)):
        raise TypeError(f"batches must be a list of batch-first arrays, e.g. [a1, a2, ...], each (m, n); got "
                        f"{type(batches).__name__}. For one array of batches, use list(batches).")
    if len(batches) == 0:
        raise ValueError("batches must be a non-empty list of batch-first arrays, e.g. [a1, a2, ...], each (m, n).")
    stats = []
    for k, b in enumerate(batches):
        arr = as_batch(b, name=f"batches[{k}]")
        ax = feature_axis(arr, axis)
        if stats and arr.shape[ax] != stats[0][0].size:
            raise ValueError(
                f"batches[{k}] has {arr.shape[ax]} features but batches[0] has {stats[0][0].size}; "
                "every batch must have the same feature size."
            )
        count = arr.size // arr.shape[ax]
        axes = reduce_axes(arr, ax)
        stats.append((arr.mean(axis=axes), arr.var(axis=axes), count))
    return stats


def torch_update_running_stats(running_mean, running_var, batch_mean, batch_var, m, momentum=TORCH_MOMENTUM):
    """One step of PyTorch ``BatchNorm1d``'s running statistics (its documented update).

    running_mean, running_var: (n,) before the step (PyTorch starts from 0 and 1).
    batch_mean, batch_var: (n,) this batch's mu and BIASED sigma^2 (divide by m), as used to normalize.
    m: int >= 2, the number of values per feature in the batch (m, or m*h*w for images).
    momentum: float in [0, 1], the weight of the NEW value (PyTorch's default 0.1):
        mean = (1 - momentum) * running_mean + momentum * batch_mean
        var  = (1 - momentum) * running_var  + momentum * batch_var * m / (m - 1)   (unbiased)
    Returns (mean, var), new (n,) arrays. PyTorch's momentum=p is Keras's momentum=1-p, apart from m/(m-1).
    Taught in chapter 4.
    """
    momentum = check_momentum(momentum)
    m = check_int(m, "m", 2, " (the unbiased variance divides by m - 1)")
    running_mean = as_stat(running_mean, "running_mean")
    n = running_mean.size
    running_var = as_stat(running_var, "running_var", n)
    batch_mean = as_stat(batch_mean, "batch_mean", n)
    batch_var = as_stat(batch_var, "batch_var", n)
    return torch_update_running_stats_kernel(running_mean, running_var, batch_mean, batch_var, m, momentum)


def torch_update_running_stats_kernel(running_mean, running_var, batch_mean, batch_var, m, momentum):
    """:func:`torch_update_running_stats` without its argument checks (m an int >= 2, momentum in [0, 1])."""
    unbiased = batch_var * (m / (m - 1))
    return (1.0 - momentum) * running_mean + momentum * batch_mean, (1.0 - momentum) * running_var + momentum * unbiased


def keras_moving_stats(batches, momentum=KERAS_MOMENTUM, axis=-1):
    """Keras's moving statistics after one training call on each batch, from the initial 0 and 1.

    batches: list of batch-first arrays, each (m, n) (or (m, h, w, c) with ``axis``).
    momentum: weight of the old value (0.99).
    Returns (moving_mean, moving_var), each (T, n) for T batches: row t is the exponential moving
    average of the batch means (of the biased batch variances) after batch t, as
    :func:`bnlib.update_moving_stats` computes it; the last row is what the layer holds at the end.
    Taught in chapter 4.
    """
    momentum = check_momentum(momentum)
    stats = _batch_stats(batches, axis)
    mean, var = np.zeros_like(stats[0][0]), np.ones_like(stats[0][1])
    means, variances = [], []
    for mu, v, _ in stats:
        mean, var = moving_average(mean, mu, momentum), moving_average(var, v, momentum)
        means.append(mean)
        variances.append(var)
    return np.array(means), np.array(variances)


def torch_running_stats(batches, momentum=TORCH_MOMENTUM, axis=-1):
    """PyTorch ``BatchNorm1d``'s running statistics after a training forward pass on each batch.

    batches: list of batch-first arrays, each (m, n).
    momentum: weight of the new value (0.1), or None for PyTorch's cumulative moving average:
              the t-th batch then gets weight 1/t, so the result is the plain mean over all batches
              of the means and of the unbiased variances (the initial 0 and 1 are forgotten at t = 1).
    Returns (running_mean, running_var), each (T, n) for T batches: row t holds the running
    statistics after batch t, starting from the initial 0 and 1; the last row is the final state.
    Taught in chapter 4.
    """
    if momentum is not None:
        momentum = check_momentum(momentum)
    stats = _batch_stats(batches, axis)
    if min(count for _, _, count in stats) < 2:
        raise ValueError("a batch with one value per feature has no unbiased variance (it divides by m - 1); "
                         "use batches of m >= 2 examples.")
    mean, var = np.zeros_like(stats[0][0]), np.ones_like(stats[0][1])
    means, variances = [], []
    for t, (mu, v, count) in enumerate(stats, start=1):
        factor = 1.0 / t if momentum is None else momentum
        mean, var = torch_update_running_stats_kernel(mean, var, mu, v, count, factor)
        means.append(mean)
        variances.append(var)
    return np.array(means), np.array(variances)


def paper_population_stats(batches, axis=-1):
    """Ioffe & Szegedy (2015), Algorithm 2, steps 8-10: population statistics for inference.

    batches: list of training batches, each (m, n) with the same m.
    Returns (mean, var), (n,):  mean = average of the batch means mu_B,
    var = m/(m-1) * average of the biased batch variances sigma_B^2 (an unbiased estimate).
    Taught in chapter 4.
    """
    stats = _batch_stats(batches, axis)
    counts = {count for _, _, count in stats}
    if len(counts) != 1:
        raise ValueError(
            f"Algorithm 2's m/(m-1) correction assumes every batch has the same size m; got sizes {sorted(counts)}."
        )
    m = counts.pop()
    if m < 2:
        raise ValueError("batches of one value per feature have no variance; Algorithm 2 needs m >= 2.")
    mean = np.mean([mu for mu, _, _ in stats], axis=0)
    var = m / (m - 1) * np.mean([v for _, v, _ in stats], axis=0)
    return mean, var
