"""bnlib.plots: each helper draws exactly the data it is given, and refuses malformed data."""

import matplotlib

matplotlib.use("Agg")  # draw off screen, before pyplot is imported
import matplotlib.pyplot as plt
import numpy as np
import pytest

from bnlib import gradient_descent, least_squares_fit, regression_loss
from bnlib.plots import (
    plot_accuracy_curves,
    plot_gamma_beta,
    plot_gradcheck_steps,
    plot_gradient_parts,
    plot_loss_contours,
    plot_loss_gap,
    plot_percentile_bands,
    plot_sweep,
    plot_unit_distribution,
)


def data(m=40, loc=50.0, scale=10.0, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(loc, scale, m)
    return x, 20.0 + 1.5 * x + rng.normal(0.0, 5.0, m)


def test_plot_helpers_draw_and_return_the_axes():
    x, y = data(m=10)
    path = gradient_descent(x, y, (0.0, 0.0), 1e-4, 5)
    fig, (ax1, ax2) = plt.subplots(1, 2)
    best = least_squares_fit(x, y)  # the chapter computes the fit; the helper only draws it
    assert plot_loss_contours(ax1, x, y, (-5, 30), (0, 3), best, path=path, title="t") is ax1
    assert ax1.get_title() == "t" and len(ax1.lines) == 3
    star = next(line for line in ax1.lines if line.get_label() == "minimum")
    np.testing.assert_array_equal(np.ravel(star.get_data()), best)
    assert plot_loss_gap(ax2, x, y, path, best, label="raw") is ax2
    assert ax2.get_yscale() == "log" and len(ax2.lines[0].get_xdata()) == 6
    gap = ax2.lines[0].get_ydata()
    np.testing.assert_allclose(gap[0], regression_loss(0.0, 0.0, x, y) - regression_loss(*best, x, y), rtol=1e-12)
    with pytest.raises(ValueError, match="path"):
        plot_loss_contours(ax1, x, y, (-5, 30), (0, 3), best, path=path[:, :1])
    with pytest.raises(ValueError, match="path"):
        plot_loss_gap(ax2, x, y, path.ravel(), best, label="raw")
    with pytest.raises(ValueError, match=r"minimum must be a pair \(b, w\)"):
        plot_loss_gap(ax2, x, y, path, best[:1], label="raw")
    plt.close(fig)


def test_plot_helpers_draw_and_refuse_bad_input():
    fig, ax = plt.subplots()
    steps = np.array([1e-1, 1e-3, 1e-5])
    assert plot_gradcheck_steps(ax, steps, {"float64": [1e-3, 1e-7, 0.0]}, title="t") is ax
    assert len(ax.get_lines()) == 1 and ax.get_xscale() == "log"
    with pytest.raises(ValueError, match="positive step sizes"):
        plot_gradcheck_steps(ax, [1e-1, -1e-3], {"x": [1.0, 1.0]})
    with pytest.raises(ValueError, match=r"errors\['x'\] has shape \(1,\)"):
        plot_gradcheck_steps(ax, steps, {"x": [1.0]})
    with pytest.raises(ValueError, match="errors must map at least one label"):
        plot_gradcheck_steps(ax, steps, {})
    fig2, ax2 = plt.subplots()
    assert plot_gradient_parts(ax2, {"dout": [1.0, -1.0, 0.0], "da": [0.5, -0.5, 0.0]}) is ax2
    assert len(ax2.patches) == 6
    with pytest.raises(ValueError, match="one value per example"):
        plot_gradient_parts(ax2, {"dout": [1.0, 2.0], "da": [1.0]})
    with pytest.raises(ValueError, match="parts must map at least one label"):
        plot_gradient_parts(ax2, {})
    plt.close(fig)
    plt.close(fig2)


def test_plot_unit_distribution_draws_histogram_mean_and_std_lines():
    values = np.random.default_rng(0).normal(3.0, 2.0, size=(50, 1))
    fig, ax = plt.subplots()
    assert plot_unit_distribution(ax, values, "before BN", bins=10) is ax
    heights = [p.get_height() for p in ax.patches]
    assert len(heights) == 10 and sum(heights) == 50
    v = values[:, 0]
    mean, std = np.mean(v), np.sqrt(np.mean((v - np.mean(v)) ** 2))
    xs = sorted(line.get_xdata()[0] for line in ax.lines if len(line.get_xdata()))
    np.testing.assert_allclose(xs, [mean - std, mean, mean + std], rtol=1e-12)
    assert ax.get_title() == "before BN"
    plt.close(fig)


def test_plot_gamma_beta_one_step_histogram_and_mean_line_per_setting():
    a_std = np.random.default_rng(1).normal(size=40)
    pairs = [(1.0, 0.0), (2.0, 1.0), (-0.5, -2.0)]
    fig, ax = plt.subplots()
    plot_gamma_beta(ax, a_std, pairs, bins=12)
    assert len(ax.patches) == 3  # one step outline per setting
    betas = sorted(line.get_xdata()[0] for line in ax.lines)
    assert betas == [-2.0, 0.0, 1.0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["γ = 1, β = 0", "γ = 2, β = 1", "γ = -0.5, β = -2"]
    plt.close(fig)


@pytest.mark.parametrize("values, match", [
    (np.ones((5, 2)), "one unit's values"),
    (np.ones(1), "m >= 2"),
    (np.array([1.0, np.nan, 2.0]), "NaN or inf"),
])
def test_plot_helpers_bad_values(values, match):
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match=match):
        plot_unit_distribution(ax, values, "t")
    with pytest.raises(ValueError, match=match):
        plot_gamma_beta(ax, values, [(1.0, 0.0)])
    plt.close(fig)


def test_plot_gamma_beta_needs_a_setting():
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="at least one"):
        plot_gamma_beta(ax, np.arange(4.0), [])
    plt.close(fig)


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def test_accuracy_curves_draw_one_line_per_run(ax):
    steps = np.array([0, 50, 100])
    plot_accuracy_curves(ax, {"without BN": (steps, [0.1, 0.2, 0.5]), "with BN": (steps, [0.1, 0.9, 0.95])},
                         logy=True, title="t")
    lines = ax.get_lines()
    assert [ln.get_label() for ln in lines] == ["without BN", "with BN"]
    np.testing.assert_array_equal(lines[1].get_ydata(), [0.1, 0.9, 0.95])
    assert ax.get_yscale() == "log" and ax.get_title() == "t"


def test_percentile_bands_draw_median_and_band(ax):
    steps = np.array([0.0, 10.0])
    p = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.5, 3.0]])
    plot_percentile_bands(ax, steps, p)
    median = [ln for ln in ax.get_lines() if ln.get_label() == "median"][0]
    np.testing.assert_array_equal(median.get_ydata(), [0.0, 0.5])
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].min() == -2.0 and band[:, 1].max() == 3.0


def test_sweep_labels_the_swept_values(ax):
    plot_sweep(ax, [2, 4, 60], [[0.8, 0.5], [0.9, 0.9], [0.95, 0.96]], ("without BN", "with BN"), "batch size")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2", "4", "60"]
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), [0.5, 0.9, 0.96])


def test_bad_plot_inputs(ax):
    with pytest.raises(ValueError, match="at least one label"):
        plot_accuracy_curves(ax, {})
    with pytest.raises(ValueError, match="same length"):
        plot_accuracy_curves(ax, {"a": ([0, 1], [0.1])})
    with pytest.raises(ValueError, match=r"shape \(r, 3\)"):
        plot_percentile_bands(ax, [0, 1], np.zeros((2, 2)))
    with pytest.raises(ValueError, match="len\\(labels\\)"):
        plot_sweep(ax, [1, 2], np.zeros((2, 3)), ("a", "b"), "x")
