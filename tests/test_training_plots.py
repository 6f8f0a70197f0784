"""The plot helpers of chapters 5 and 6 draw exactly the data they are given, and refuse malformed data."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from bnlib.plots import plot_accuracy_curves, plot_percentile_bands, plot_sweep  # noqa: E402


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
