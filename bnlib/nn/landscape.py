"""How smooth the loss landscape is along the gradient, after Santurkar et al. (2018) (chapter 5)."""

from dataclasses import dataclass

import numpy as np

from ..defaults import KERAS_EPS
from .network import mlp_backward, mlp_forward

__all__ = ["LandscapeProbe", "landscape_probe"]


@dataclass(frozen=True)
class LandscapeProbe:
    """The loss landscape along the gradient direction, in the manner of Santurkar et al. (2018).

    step_sizes: (k,) the steps eta tried;  losses: (k,) L(theta - eta g) on the probe's batch.
    loss_range: max - min of the losses (with L(theta) included): "loss variation".
    grad_change: max_eta ||grad L(theta - eta g) - g||: how far the gradient moves ("gradient predictiveness").
    smoothness: max_eta ||grad L(theta - eta g) - g|| / ||eta g||: an effective smoothness, the
                Lipschitz constant of the gradient measured along the gradient direction (what
                Santurkar et al. call "effective beta-smoothness"; their beta is not BN's shift).
    """

    step_sizes: np.ndarray
    losses: np.ndarray
    loss_range: float
    grad_change: float
    smoothness: float


def landscape_probe(params, X, y, step_sizes, eps=KERAS_EPS):
    """Walk along the gradient from theta and measure how much the loss and the gradient change.

    params: MLPParams theta;  X (m, n_0), y (m,): the batch (training mode, as a training step sees it).
    step_sizes: 1-D sequence of positive steps eta (e.g. the learning rate times 0.5, 1, 2, 4).
    Returns a :class:`LandscapeProbe`. A smooth landscape has a small loss range and a small,
    stable gradient change, so large steps are safe: Santurkar et al.'s explanation of BN (chapter 5).
    """
    etas = np.asarray(step_sizes, dtype=np.float64)
    if etas.ndim != 1 or etas.size == 0 or not np.all(np.isfinite(etas) & (etas > 0)):
        raise ValueError(f"step_sizes must be a non-empty 1-D sequence of positive numbers, got {step_sizes!r}.")
    loss0, cache = mlp_forward(params, X, y, eps=eps)
    g = mlp_backward(cache).vector()
    g_norm = float(np.linalg.norm(g))
    theta = params.vector()
    losses, changes = [], []
    for eta in etas:
        moved = params.from_vector(theta - eta * g)
        loss, c = mlp_forward(moved, X, y, eps=eps)
        losses.append(loss)
        changes.append(float(np.linalg.norm(mlp_backward(c).vector() - g)))
    losses, changes = np.array(losses), np.array(changes)
    all_losses = np.append(losses, loss0)
    smooth = float(np.max(changes / (etas * g_norm))) if g_norm > 0 else 0.0
    return LandscapeProbe(etas, losses, float(all_losses.max() - all_losses.min()), float(changes.max()), smooth)
