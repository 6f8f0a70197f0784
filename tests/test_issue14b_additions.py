"""What issue 14 added to bnlib for chapters 5-7, each checked against an independent reference.

- MLPCache.dense_outputs / MLP.dense_outputs (chapter 5: the drift of BN's input z^[2]): Keras's Dense
  layer computes the same z from the same weights and inputs;
- Sweep.models (chapter 6: weight norms in the learning-rate sweep): the very networks a direct call of
  train() produces;
- keras_batchnorm_masked (chapter 8: padding in the statistics): the statistics derived by hand for the
  batch of sequences 1, 2, 3, 4, 5 and 2, 4 padded with zeros;
- plot_median_band, plot_statistics_sets, use_book_style and the legend placement of the training plots
  (issue 18's readable figures).
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pytest

from bnlib import MLP, load_dataset, statistics_sets, sweep, train
from bnlib.plots import (
    BOOK_WIDTH,
    plot_accuracy_curves,
    plot_median_band,
    plot_statistics_sets,
    use_book_style,
)

SIZES = (8, 6, 5, 3)


@pytest.fixture(scope="module")
def small_data():
    """A tiny slice of the digits, 8 pixels per image, so that training takes milliseconds."""
    data = load_dataset("digits")
    return type(data)(data.X_train[:120, 20:28], data.y_train[:120], data.X_test[:60, 20:28],
                      data.y_test[:60], "digits slice")


@pytest.mark.parametrize("batchnorm", [False, True])
@pytest.mark.keras
def test_dense_outputs_are_what_a_keras_dense_layer_computes(batchnorm):
    from bnlib.keras_ref import keras_dense

    model = MLP(SIZES, batchnorm=batchnorm, init_scale=0.7, seed=3)
    X = np.random.default_rng(0).normal(size=(10, SIZES[0]))
    z, s = model.dense_outputs(X), model.sigmoid_inputs(X)
    p = model.params
    assert len(z) == 2
    np.testing.assert_allclose(z[0], keras_dense(X, p.W[0], p.b[0]), rtol=1e-12, atol=1e-12)
    a1 = 1.0 / (1.0 + np.exp(-s[0]))  # the sigmoid, written out
    np.testing.assert_allclose(z[1], keras_dense(a1, p.W[1], p.b[1]), rtol=1e-12, atol=1e-12)
    if not batchnorm:  # without BN the Dense output is the sigmoid input
        for z_l, s_l in zip(z, s, strict=True):
            np.testing.assert_array_equal(z_l, s_l)


def test_sweep_keeps_the_networks_that_train_produces(small_data):
    result = sweep(small_data, "lr", [0.1, 1.0], steps=20, hidden=(6, 5), batch_size=10)
    assert len(result.models) == 2 and all(len(pair) == 2 for pair in result.models)
    for i, lr in enumerate([0.1, 1.0]):
        for j, bn in enumerate((False, True)):
            direct, _ = train(small_data, bn, 20, lr, hidden=(6, 5), batch_size=10)
            kept = result.models[i][j]
            assert kept.params.batchnorm == bn
            for w_kept, w_direct in zip(kept.params.W, direct.params.W, strict=True):
                np.testing.assert_array_equal(w_kept, w_direct)
            assert kept.accuracy(small_data.X_test, small_data.y_test) == result.accuracy[i, j]


def _padded_batch():
    x = np.zeros((2, 5, 1))
    x[0, :, 0] = [1.0, 2.0, 3.0, 4.0, 5.0]
    x[1, :2, 0] = [2.0, 4.0]
    mask = np.array([[True] * 5, [True, True, False, False, False]])
    return x, mask


@pytest.mark.keras
def test_keras_masked_statistics_match_the_hand_derivation():
    from bnlib.keras_ref import keras_batchnorm_masked

    x, mask = _padded_batch()
    # By hand: the values sum to 21 and their squares to 75; 10 values with the padding, 7 without.
    for result, count in ((keras_batchnorm_masked(x), 10), (keras_batchnorm_masked(x, mask), 7)):
        mean, var = 21 / count, 75 / count - (21 / count) ** 2
        # Keras divides by the count plus 1e-7 when it is given a mask: a relative error of 1e-7 / 7.
        np.testing.assert_allclose(result.moving_mean, [mean], rtol=1e-6)
        np.testing.assert_allclose(result.moving_variance, [var], rtol=1e-6)
        np.testing.assert_allclose(result.out[..., 0], (x[..., 0] - mean) / np.sqrt(var + 1e-3), atol=1e-6)
    np.testing.assert_allclose([21 / 10, 75 / 10 - 2.1**2, 3.0, 75 / 7 - 9], [2.1, 3.09, 3.0, 1.7142857],
                               rtol=1e-7)  # the numbers the chapter quotes


def test_median_band_draws_the_median_and_the_middle_half():
    fig, ax = plt.subplots()
    steps = np.array([0.0, 50.0, 100.0])
    values = np.array([[1.0, 2.0, 3.0, 4.0, 5.0], [0.0, 0.0, 1.0, 9.0, 9.0], [2.0, 2.0, 2.0, 2.0, 2.0]])
    plot_median_band(ax, steps, values, "with BN", ylabel="loss", logy=True)
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_ydata(), [3.0, 1.0, 2.0])  # medians, by eye
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == 0.0 and band.max() == 9.0  # the 25th and 75th percentiles reach 0 and 9
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "loss"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["with BN"]
    with pytest.raises(ValueError, match=r"values must have shape \(r, k\) with r = len\(steps\) = 3"):
        plot_median_band(ax, steps, values[:2], "x")
    plt.close(fig)


@pytest.mark.parametrize(("method", "expected_sets"), [("batch", 8), ("layer", 4), ("group", 8), ("instance", 32)])
def test_statistics_sets_figure_numbers_every_cell_with_its_set(method, expected_sets):
    fig, ax = plt.subplots()
    plot_statistics_sets(ax, method, m=4, c=8, groups=2)
    numbers = {(round(t.get_position()[1] - 0.5), round(t.get_position()[0] - 0.5)): int(t.get_text())
               for t in ax.texts}
    assert len(numbers) == 32
    assert len(set(numbers.values())) == expected_sets  # m = 4, c = 8, G = 2, counted by hand
    labels = statistics_sets(method, 4, 8, groups=2)
    for (i, k), n in numbers.items():
        # two cells share a number exactly when they share a set
        assert all((n == numbers[j]) == (labels[i, k] == labels[j]) for j in numbers)
    assert f"{expected_sets} sets" in ax.get_title()
    plt.close(fig)


def test_book_style_sets_text_size_and_width():
    with mpl.rc_context():
        use_book_style()
        fig = plt.figure()
        assert fig.get_size_inches()[0] == BOOK_WIDTH
        # 12 pt on a figure BOOK_WIDTH inches wide shown 360 px wide (a phone) is at least 12 px.
        for key in ("font.size", "xtick.labelsize", "ytick.labelsize", "legend.fontsize", "axes.titlesize"):
            size = mpl.font_manager.FontProperties(size=mpl.rcParams[key]).get_size_in_points()
            assert size / 72 * 360 / BOOK_WIDTH >= 12, key
        plt.close(fig)


def test_legend_below_the_axes_and_no_x_label_on_an_upper_shared_panel():
    fig, axes = plt.subplots(2, 1, sharex=True)
    curves = {"without BN": ([0, 1, 2], [0.1, 0.5, 0.9]), "with BN": ([0, 1, 2], [0.2, 0.9, 0.95])}
    for ax in axes:
        plot_accuracy_curves(ax, curves)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in axes:
        legend = ax.get_legend().get_window_extent(renderer)
        assert legend.y1 <= ax.get_window_extent(renderer).y0  # entirely below the plotting area
    assert axes[0].get_xlabel() == "" and axes[1].get_xlabel() == "training step"
    plt.close(fig)
