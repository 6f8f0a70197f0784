"""Plot helpers for the chapters. Each takes a matplotlib ``ax`` and draws on it; none calls ``plt.show``.

Figures are not compared by nbval (PNG output is skipped), so a chapter states every
conclusion a figure shows as a printed number as well.
"""

import numpy as np


def _one_unit(values, name):
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 2 and v.shape[1] == 1:
        v = v[:, 0]
    if v.ndim != 1 or v.size < 2:
        raise ValueError(f"{name} must hold one unit's values over a batch, shape (m,) or (m, 1) with m >= 2, "
                         f"got shape {np.shape(values)}; pick one column, e.g. a[:, j].")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} contains NaN or inf; only finite values can be histogrammed.")
    return v


def plot_unit_distribution(ax, values, title, bins=30, color="C0"):
    """Histogram of one unit's values over a batch, with its mean (solid) and mean +/- one std (dashed).

    values: (m,) or (m, 1), e.g. one column of the pre-activation a^[l-1] before or after BN.
    The standard deviation is the biased one (divide by m), as batch normalization uses.
    Returns ax. Used in chapter 2 (a unit before and after batch normalization).
    """
    v = _one_unit(values, "values")
    mean, std = v.mean(), v.std()
    ax.hist(v, bins=bins, color=color, alpha=0.7)
    ax.axvline(mean, color="k", label=f"mean {mean:.2f}")
    for edge in (mean - std, mean + std):
        ax.axvline(edge, color="k", linestyle="--")
    ax.plot([], [], color="k", linestyle="--", label=f"mean ± std ({std:.2f})")
    ax.set_title(title)
    ax.set_xlabel("value")
    ax.set_ylabel("count")
    ax.legend(loc="upper right", fontsize="small")
    return ax


def plot_gamma_beta(ax, a_std, settings, bins=30):
    """Histograms of a_tilde = beta + gamma * a_std for several (gamma, beta) pairs, on shared bins.

    a_std:    (m,) or (m, 1), one unit's standardized values.
    settings: sequence of (gamma, beta) pairs; each gets a step histogram and a dotted line at its mean beta.
    Shows that beta moves the distribution and |gamma| stretches it (a negative gamma also mirrors it).
    Returns ax. Used in chapter 2.
    """
    s = _one_unit(a_std, "a_std")
    pairs = [(float(g), float(b)) for g, b in settings]
    if not pairs:
        raise ValueError("settings must contain at least one (gamma, beta) pair, e.g. [(1.0, 0.0)].")
    curves = [b + g * s for g, b in pairs]
    edges = np.histogram_bin_edges(np.concatenate(curves), bins=bins)
    for k, ((g, b), values) in enumerate(zip(pairs, curves, strict=True)):
        color = f"C{k % 10}"
        ax.hist(values, bins=edges, histtype="step", linewidth=2, color=color, label=f"γ = {g:g}, β = {b:g}")
        ax.axvline(b, color=color, linestyle=":")
    ax.set_xlabel("ã = β + γ · a_std")
    ax.set_ylabel("count")
    ax.legend(loc="upper right", fontsize="small")
    return ax
