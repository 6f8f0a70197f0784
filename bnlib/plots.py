"""Plot helpers for the chapters. Each takes a matplotlib ``ax`` and draws on it; none calls ``plt.show``.

Figures are not compared by nbval (PNG output is skipped), so a chapter states every
conclusion a figure shows as a printed number as well. The helpers draw; what they draw is computed
by the maths modules (the chapter passes in a fit, or the helper evaluates a bnlib function).
"""

import numpy as np
from matplotlib.patches import Rectangle

from .alternatives import statistics_sets
from .regression import regression_loss

__all__ = [
    "plot_accuracy_curves",
    "plot_gamma_beta",
    "plot_gradcheck_steps",
    "plot_gradient_parts",
    "plot_loss_contours",
    "plot_loss_gap",
    "plot_moving_statistics",
    "plot_percentile_bands",
    "plot_statistics_sets",
    "plot_sweep",
    "plot_unit_distribution",
]

BOOK_WIDTH = 4.8
"""Width in inches of a chapter figure: 480 px at the inline backend's 100 dpi, shown unscaled in the
book's desktop column and shrunk to about 360 px on a 390 px phone."""

_BOOK_STYLE = {
    # 12 pt on a figure 4.8 in wide is 16.7 px on desktop and still 12.5 px on a 360 px phone column:
    # no text of a figure smaller than the page's small print.
    "font.size": 12, "axes.titlesize": 12, "axes.labelsize": 12, "xtick.labelsize": 12,
    "ytick.labelsize": 12, "legend.fontsize": 12, "figure.titlesize": 12,
    "figure.figsize": (BOOK_WIDTH, 3.4),
    # Titles, tick labels and legends below the axes get their own room instead of overlapping.
    "figure.constrained_layout.use": True,
}


def use_book_style():
    """Set matplotlib's defaults for figures that read on a phone and in the desktop column.

    Figures default to BOOK_WIDTH inches wide with 12 pt text and constrained layout; multi-panel
    figures should stack their panels vertically (``plt.subplots(n, 1, figsize=(BOOK_WIDTH, ...))``).
    Changes ``matplotlib.rcParams`` for the rest of the session. Returns None.
    """
    import matplotlib as mpl

    mpl.rcParams.update(_BOOK_STYLE)


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


def _pair(value, name):
    v = np.asarray(value, dtype=np.float64)
    if v.shape != (2,):
        raise ValueError(f"{name} must be a pair (b, w), e.g. least_squares_fit(x, y); got shape {v.shape}.")
    return v


def _path(path):
    path = np.asarray(path, dtype=np.float64)
    if path.ndim != 2 or path.shape[1] != 2:
        raise ValueError(f"path must have shape (k, 2), rows (b, w); got shape {path.shape}.")
    return path


def plot_unit_distribution(ax, values, title, bins=30, color="C0"):
    """Histogram of one unit's values over a batch, with its mean (solid) and mean +/- one std (dashed).

    values: (m,) or (m, 1), e.g. one column of the pre-activation a^[l-1] before or after BN.
    The standard deviation is the biased one (divide by m), as batch normalization uses.
    Returns ax. Used in chapter 2 (a unit before and after batch normalization).
    """
    v = _one_unit(values, "values")
    mean, std = float(v.mean()), float(v.std())
    ax.hist(v, bins=bins, color=color, alpha=0.7)
    # round, then + 0.0: a mean of -1e-17 is labelled "0.00", not "-0.00"
    ax.axvline(mean, color="k", label=f"mean {round(mean, 2) + 0.0:.2f}")
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
    # outside the axes: the histograms fill the whole width, so any corner would cover one
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    return ax


def plot_loss_contours(ax, x, y, b_lim, w_lim, minimum, path=None, title=None, n_levels=12, resolution=201):
    """Contours of the regression loss L(b, w) = 1/(2m) sum (b + w x - y)^2, with a gradient-descent path.

    x, y: (m,) inputs and targets.
    b_lim, w_lim: (low, high) ranges of the intercept b (horizontal axis) and slope w (vertical axis).
    minimum: the minimizer (b*, w*), e.g. from ``bnlib.least_squares_fit(x, y)``; marked with a star.
    path: optional (k, 2) array of (b, w) iterates, e.g. from ``bnlib.gradient_descent``.
    Levels are L* + geometrically spaced gaps, so the narrow valley of a badly conditioned loss shows.
    Returns ax. Used in chapter 1.
    """
    b_grid, w_grid = np.meshgrid(np.linspace(*b_lim, resolution), np.linspace(*w_lim, resolution))
    best = _pair(minimum, "minimum")
    loss_min = regression_loss(best[0], best[1], x, y)
    gap = regression_loss(b_grid, w_grid, x, y) - loss_min
    levels = loss_min + np.geomspace(max(gap.max(), 1e-12) * 1e-4, gap.max(), n_levels)
    ax.contour(b_grid, w_grid, loss_min + gap, levels=levels, cmap="viridis", linewidths=0.8)
    ax.plot(best[0], best[1], marker="*", color="C3", markersize=12, linestyle="none", label="minimum")
    if path is not None:
        path = _path(path)
        ax.plot(path[:, 0], path[:, 1], color="C1", marker=".", markersize=3, linewidth=1,
                label=f"gradient descent ({len(path) - 1} steps)")
        ax.plot(path[0, 0], path[0, 1], marker="o", color="C1", linestyle="none")
    ax.set_xlim(*b_lim)
    ax.set_ylim(*w_lim)
    ax.set_xlabel("intercept b")
    ax.set_ylabel("slope w")
    if title:
        ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_loss_gap(ax, x, y, path, minimum, label, color=None):
    """The loss gap L(theta_k) - L* along a gradient-descent path, against the step k, on a log scale.

    x, y: (m,).  path: (k, 2) iterates (b, w).  minimum: the minimizer (b*, w*), where L* is taken.
    label: legend text. Returns ax. Used in chapter 1 (raw versus standardized input).
    """
    path = _path(path)
    best = _pair(minimum, "minimum")
    gap = regression_loss(path[:, 0], path[:, 1], x, y) - regression_loss(best[0], best[1], x, y)
    # Float rounding can leave a tiny negative gap at the minimum; the log axis needs positive values.
    ax.semilogy(np.arange(len(path)), np.maximum(gap, 1e-16), label=label, color=color)
    ax.set_xlabel("gradient-descent step k")
    ax.set_ylabel("loss gap  L(b, w) - L*")
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_moving_statistics(ax, batch_values, traces, target=None, title=None, ylabel="moving mean"):
    """One unit's running statistic after each training batch, under several conventions.

    batch_values: (T,) the statistic of each batch on its own (drawn as faint dots).
    traces: dict label -> (T,) the running estimate after each batch (drawn as lines).
    target: the population value (dashed horizontal line), or None.
    Returns ax. Used in chapter 4 (Keras's momentum 0.99 starts at 0 and needs hundreds of steps).
    """
    batch_values = np.asarray(batch_values, dtype=np.float64).reshape(-1)
    steps = np.arange(1, batch_values.size + 1)
    ax.plot(steps, batch_values, ".", color="0.6", markersize=3, label="each batch on its own")
    for label, trace in traces.items():
        trace = np.asarray(trace, dtype=np.float64).reshape(-1)
        if trace.shape != batch_values.shape:
            raise ValueError(f"trace {label!r} has {trace.size} values but there are {batch_values.size} batches.")
        ax.plot(steps, trace, label=label)
    if target is not None:
        ax.axhline(target, color="k", linestyle="--", label=f"population value {target:g}")
    ax.set_xlabel("training step (batches seen)")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(loc="lower right", fontsize="small")
    return ax


_SET_TITLES = {
    "batch": "batch norm",
    "layer": "layer norm",
    "rms": "RMS norm",
    "group": "group norm",
    "instance": "instance norm",
}


def plot_statistics_sets(ax, method, m=4, c=8, groups=2, xlabel=True):
    """Which values one normalization averages together, for an image batch (m, h, w, c).

    A grid of m examples (rows) by c channels (columns); each cell stands for the h*w positions of that
    (example, channel). Every cell shows the number of its set: cells with the same number share one mean
    and variance (one RMS for "rms"). The set that holds example 0, channel 0 is drawn dark and outlined,
    and neighbouring sets alternate between two light shades, so no colour has to be told from another.
    method, m, c, groups as in :func:`bnlib.alternatives.statistics_sets`; xlabel: False leaves out the
    channel axis label (for a panel stacked above another). Returns ax. Used in chapter 9.
    """
    labels = statistics_sets(method, m, c, groups=groups)
    for i in range(m):
        for k in range(c):
            first = labels[i, k] == labels[0, 0]
            shade = "C0" if first else ("0.82" if labels[i, k] % 2 else "0.93")
            ax.add_patch(Rectangle((k, i), 1, 1, facecolor=shade, edgecolor="black" if first else "white",
                                   linewidth=2.5 if first else 1))
            ax.text(k + 0.5, i + 0.5, str(labels[i, k] + 1), ha="center", va="center",
                    color="white" if first else "black")
    ax.set_xlim(0, c)
    ax.set_ylim(m, 0)
    ax.set_aspect("equal")
    ax.set_xticks(np.arange(c) + 0.5, [str(k) for k in range(c)])
    ax.set_yticks(np.arange(m) + 0.5, [str(i) for i in range(m)])
    ax.tick_params(length=0)
    if xlabel:
        ax.set_xlabel("channel k")
    ax.set_ylabel("example i")
    title = _SET_TITLES[method] + (f", G = {groups}" if method == "group" else "")
    ax.set_title(f"{title}: {labels.max() + 1} sets")
    return ax


def plot_gradcheck_steps(ax, steps, errors, title=None):
    """Relative error of a finite-difference gradient check against the step h, on log-log axes.

    steps: (k,) positive steps h.  errors: dict label -> (k,) relative errors (e.g. one per dtype);
    zeros are drawn at the floor of the plot's range. Truncation error falls like h^2 to the right,
    rounding error grows like (machine epsilon)/h to the left: each curve is a V. Returns ax.
    Used in chapter 3.
    """
    steps = np.asarray(steps, dtype=np.float64)
    if steps.ndim != 1 or steps.size < 2 or np.any(steps <= 0):
        raise ValueError(f"steps must be a 1-D array of at least 2 positive step sizes, got {steps!r}.")
    if not errors:
        raise ValueError("errors must map at least one label to an array of relative errors, one per step.")
    for k, (label, err) in enumerate(errors.items()):
        err = np.asarray(err, dtype=np.float64)
        if err.shape != steps.shape:
            raise ValueError(f"errors[{label!r}] has shape {err.shape}; it needs one value per step, {steps.shape}.")
        ax.loglog(steps, np.maximum(err, 1e-17), "o-", color=f"C{k}", label=label)
    ax.set_xlabel("finite-difference step h")
    ax.set_ylabel("relative error vs the analytic gradient")
    ax.legend()
    ax.grid(True, which="major", alpha=0.3)
    if title:
        ax.set_title(title)
    return ax


def plot_gradient_parts(ax, parts, title=None):
    """Grouped bars, one group per example i: the pieces a backward pass adds up, and their sum.

    parts: dict label -> (m,) values per example (e.g. the scaled upstream gradient, the mean removed,
    the a_std component removed, and da). Returns ax. Used in chapter 3.
    """
    if not parts:
        raise ValueError("parts must map at least one label to an array of values per example.")
    arrays = {label: np.asarray(v, dtype=np.float64).reshape(-1) for label, v in parts.items()}
    m = next(iter(arrays.values())).size
    if any(v.size != m for v in arrays.values()):
        raise ValueError(f"every part needs one value per example; got sizes {[v.size for v in arrays.values()]}.")
    width = 0.8 / len(arrays)
    for k, (label, v) in enumerate(arrays.items()):
        ax.bar(np.arange(m) + (k - (len(arrays) - 1) / 2) * width, v, width, label=label, color=f"C{k}")
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_xticks(np.arange(m), [f"i = {i + 1}" for i in range(m)])
    ax.set_ylabel("gradient")
    ax.legend(fontsize="small")
    if title:
        ax.set_title(title)
    return ax


def plot_accuracy_curves(ax, curves, title=None, ylabel="test accuracy", logy=False):
    """One line per run against training steps, e.g. test accuracy with and without BN (Figure 1 (a)).

    curves: dict label -> (steps, values), two 1-D arrays of the same length (e.g. from
            ``bnlib.mlp.History``: ``(h.steps, h.test_accuracy)``).
    ylabel: the quantity plotted;  logy: True for a logarithmic y axis (e.g. a loss).
    Returns ax. Used in chapters 5 and 6.
    """
    if not curves:
        raise ValueError("curves must map at least one label to a pair (steps, values).")
    for k, (label, (steps, values)) in enumerate(curves.items()):
        steps, values = np.asarray(steps, dtype=np.float64), np.asarray(values, dtype=np.float64)
        if steps.ndim != 1 or steps.shape != values.shape:
            raise ValueError(f"curves[{label!r}] needs two 1-D arrays of the same length, got shapes "
                             f"{steps.shape} and {values.shape}.")
        ax.plot(steps, values, color=f"C{k}", label=label)
    if logy:
        ax.set_yscale("log")
    return _finish(ax, "training step", ylabel, title)


def plot_percentile_bands(ax, steps, percentiles, title=None, color="C0", ylabel="sigmoid input"):
    """The 15th, 50th and 85th percentiles of one unit's input over training (Figure 1 (b, c)).

    steps: (r,) training steps;  percentiles: (r, 3) the 15th/50th/85th percentiles at each step
    (``History.percentiles[:, layer]``). Draws the median as a line and the 15-85 band shaded.
    Returns ax. Used in chapters 5 and 6.
    """
    steps = np.asarray(steps, dtype=np.float64)
    p = np.asarray(percentiles, dtype=np.float64)
    if steps.ndim != 1 or p.shape != (steps.size, 3):
        raise ValueError(f"percentiles must have shape (r, 3) with r = len(steps) = {steps.size} (the 15th, 50th "
                         f"and 85th percentile at each step), got {p.shape}.")
    ax.fill_between(steps, p[:, 0], p[:, 2], color=color, alpha=0.25, label="15th to 85th percentile")
    ax.plot(steps, p[:, 1], color=color, label="median")
    for col in (0, 2):
        ax.plot(steps, p[:, col], color=color, linewidth=0.8)
    return _finish(ax, "training step", ylabel, title)


def plot_median_band(ax, steps, values, label, color="C0", ylabel=None, title=None, logy=False):
    """The median of repeated measurements at each step, with the band of their middle half shaded.

    steps:  (r,) training steps;  values: (r, k) k measurements at each step (e.g. a landscape probe
            along k different mini-batch gradients), so the curve is not one noisy sample.
    label:  legend text of this curve;  ylabel, title: the axes' labels (the x axis is the step).
    logy:   True for a logarithmic y axis.
    Call it once per curve on the same ax; the legend (below the axes) lists every curve.
    Returns ax. Used in chapter 5 (the loss landscape along the gradient).
    """
    steps = np.asarray(steps, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if steps.ndim != 1 or v.ndim != 2 or v.shape[0] != steps.size:
        raise ValueError(f"values must have shape (r, k) with r = len(steps) = {steps.size} (k measurements "
                         f"per step), got {v.shape}.")
    low, median, high = np.percentile(v, (25, 50, 75), axis=1)
    ax.fill_between(steps, low, high, color=color, alpha=0.25, linewidth=0)
    ax.plot(steps, median, color=color, label=label)
    if logy:
        ax.set_yscale("log")
    return _finish(ax, "training step", ylabel or "", title)


def plot_sweep(ax, values, results, labels, xlabel, title=None, logx=True, ylabel="test accuracy"):
    """Final accuracy of several networks across a hyperparameter sweep (chapter 6).

    values: (k,) the swept setting (learning rate, batch size, initial weight scale).
    results: (k, j) one column per network;  labels: j names, e.g. ("without BN", "with BN").
    logx: True for a logarithmic x axis (the sweeps use geometric grids). Returns ax.
    """
    values = np.asarray(values, dtype=np.float64)
    results = np.asarray(results, dtype=np.float64)
    if values.ndim != 1 or results.ndim != 2 or results.shape[0] != values.size or results.shape[1] != len(labels):
        raise ValueError(f"results must have shape (len(values), len(labels)) = ({values.size}, {len(labels)}), "
                         f"got {results.shape}.")
    for k, label in enumerate(labels):
        ax.plot(values, results[:, k], "o-", color=f"C{k}", label=label)
    if logx:
        ax.set_xscale("log")
        # A short log axis gets crowded minor labels like "2 x 10^0": label the swept values instead.
        ax.minorticks_off()
        ax.set_xticks(values, [f"{v:g}" for v in values])
    return _finish(ax, xlabel, ylabel, title)


def _finish(ax, xlabel, ylabel, title=None, **legend_kw):
    """Axis labels, a light grid, the legend and an optional title: the common ending of the training plots.

    The legend sits below the axes, in one row, so it never covers a curve (remove it from the upper
    panels of a stack with ``ax.get_legend().remove()`` when the lowest one explains the lines). An
    upper panel of a stack that shares its x axis (``plt.subplots(n, 1, sharex=True)``) has no tick
    labels, so it gets no x label either, and its legend sits right under it.
    """
    from matplotlib.transforms import ScaledTranslation

    inner = not ax.xaxis.get_tick_params().get("labelbottom", True)
    if not inner:
        ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    # Anchored a fixed distance (in inches) below the axes: under the tick labels and the axis label.
    below = ax.transAxes + ScaledTranslation(0, -0.1 if inner else -0.6, ax.figure.dpi_scale_trans)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0), bbox_transform=below, ncols=2,
              frameon=False, **legend_kw)
    if title:
        ax.set_title(title)
    return ax
