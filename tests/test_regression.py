"""bnlib.regression against independent references: direct sums, finite differences, np.linalg.lstsq,
hand derivations and the behaviour of plain gradient descent itself.
"""

import numpy as np
import pytest

from bnlib import (
    gradient_descent,
    hessian_condition_number,
    iterations_to_converge,
    least_squares_fit,
    max_stable_learning_rate,
    regression_gradient,
    regression_hessian,
    regression_loss,
    standardize,
)

X5 = np.array([10.0, 20.0, 30.0, 40.0, 50.0])  # the chapter 1 exercise input


def data(m=40, loc=50.0, scale=10.0, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(loc, scale, m)
    return x, 20.0 + 1.5 * x + rng.normal(0.0, 5.0, m)


def loop_loss(b, w, x, y):
    return sum((b + w * xi - yi) ** 2 for xi, yi in zip(x, y, strict=True)) / (2 * len(x))


def test_loss_matches_a_plain_python_sum():
    x, y = data(m=7)
    for b, w in [(0.0, 0.0), (3.0, -1.0), (20.0, 1.5)]:
        assert regression_loss(b, w, x, y) == pytest.approx(loop_loss(b, w, x, y), rel=1e-12)


def test_loss_on_a_grid_has_the_grid_shape_and_pointwise_values():
    x, y = data(m=9)
    B, W = np.meshgrid(np.linspace(-1, 1, 4), np.linspace(0, 2, 3))
    L = regression_loss(B, W, x, y)
    assert L.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            assert L[i, j] == pytest.approx(loop_loss(B[i, j], W[i, j], x, y), rel=1e-12)


def test_gradient_matches_central_finite_differences():
    # L is quadratic, so central differences are exact up to rounding: relative tolerance 1e-6.
    x, y = data(m=12)
    h = 1e-4
    for b, w in [(0.0, 0.0), (5.0, 2.0), (-3.0, 0.5)]:
        fd = [(loop_loss(b + h, w, x, y) - loop_loss(b - h, w, x, y)) / (2 * h),
              (loop_loss(b, w + h, x, y) - loop_loss(b, w - h, x, y)) / (2 * h)]
        assert regression_gradient(b, w, x, y) == pytest.approx(fd, rel=1e-6)


def test_hessian_matches_finite_differences_of_the_gradient():
    x, y = data(m=12)
    h = 1e-3
    cols = []
    for e in (np.array([h, 0.0]), np.array([0.0, h])):
        cols.append((regression_gradient(*(np.array([1.0, 2.0]) + e), x, y)
                     - regression_gradient(*(np.array([1.0, 2.0]) - e), x, y)) / (2 * h))
    assert regression_hessian(x) == pytest.approx(np.column_stack(cols), rel=1e-7)


def test_hessian_by_hand_for_the_exercise_input():
    # mean x = 30, mean x^2 = (100 + 400 + 900 + 1600 + 2500) / 5 = 1100
    assert regression_hessian(X5) == pytest.approx(np.array([[1.0, 30.0], [30.0, 1100.0]]))
    # eigenvalues of [[1, 30], [30, 1100]]: trace 1101, determinant 1100 - 900 = 200
    root = np.sqrt(1101.0**2 - 4 * 200.0)
    kappa = (1101.0 + root) / (1101.0 - root)
    assert hessian_condition_number(X5) == pytest.approx(kappa, rel=1e-10)
    assert max_stable_learning_rate(X5) == pytest.approx(2.0 / ((1101.0 + root) / 2), rel=1e-12)


def test_hessian_with_several_inputs_matches_finite_differences():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(15, 3)) * [1.0, 10.0, 0.1] + [5.0, 0.0, -2.0]
    y = rng.normal(size=15)

    def loss(theta):
        return np.sum((theta[0] + X @ theta[1:] - y) ** 2) / (2 * len(y))

    h = 1e-3
    theta = rng.normal(size=4)
    step = np.eye(4) * h
    fd = np.array([[(loss(theta + step[i] + step[j]) - loss(theta + step[i] - step[j])
                     - loss(theta - step[i] + step[j]) + loss(theta - step[i] - step[j])) / (4 * h * h)
                    for j in range(4)] for i in range(4)])
    assert regression_hessian(X) == pytest.approx(fd, rel=1e-5, abs=1e-6)


def test_standardized_input_makes_the_hessian_nearly_the_identity():
    x, _ = data(m=25)
    x0 = standardize(x.reshape(-1, 1), ddof=0)[0].ravel()
    x1 = standardize(x.reshape(-1, 1), ddof=1)[0].ravel()
    # ddof=0: mean 0 and mean of squares 1, so H = I exactly (up to rounding).
    assert regression_hessian(x0) == pytest.approx(np.eye(2), abs=1e-12)
    assert hessian_condition_number(x0) == pytest.approx(1.0, abs=1e-12)
    # ddof=1: mean of squares (m - 1) / m, so kappa = m / (m - 1).
    assert hessian_condition_number(x1) == pytest.approx(25 / 24, rel=1e-12)
    assert hessian_condition_number(x) > 1000


def test_condition_number_is_the_ratio_of_numpy_eigenvalues():
    x, _ = data(m=30)
    lam = np.linalg.eigvals(np.array([[1.0, x.mean()], [x.mean(), np.mean(x**2)]])).real
    assert hessian_condition_number(x) == pytest.approx(lam.max() / lam.min(), rel=1e-8)


def test_least_squares_fit_matches_lstsq():
    x, y = data(m=50)
    ref = np.linalg.lstsq(np.column_stack([np.ones_like(x), x]), y, rcond=None)[0]
    assert least_squares_fit(x, y) == pytest.approx(ref, rel=1e-10)
    assert regression_gradient(*ref, x, y) == pytest.approx([0.0, 0.0], abs=1e-8)


def test_gradient_descent_path_follows_the_update_rule():
    x, y = data(m=10)
    lr = 1e-4
    path = gradient_descent(x, y, start=(1.0, -1.0), lr=lr, steps=3)
    assert path.shape == (4, 2)
    assert path[0] == pytest.approx([1.0, -1.0])
    h = 1e-4
    for k in range(3):
        b, w = path[k]
        fd = np.array([(loop_loss(b + h, w, x, y) - loop_loss(b - h, w, x, y)) / (2 * h),
                       (loop_loss(b, w + h, x, y) - loop_loss(b, w - h, x, y)) / (2 * h)])
        assert path[k + 1] == pytest.approx(path[k] - lr * fd, rel=1e-8)


def test_gradient_descent_reaches_the_lstsq_optimum_when_well_conditioned():
    x, y = data(m=30, loc=0.0, scale=1.0)
    lr = 1.0 / np.linalg.eigvalsh(regression_hessian(x))[-1]
    path = gradient_descent(x, y, start=(0.0, 0.0), lr=lr, steps=300)
    ref = np.linalg.lstsq(np.column_stack([np.ones_like(x), x]), y, rcond=None)[0]
    assert path[-1] == pytest.approx(ref, rel=1e-9)


def test_max_stable_learning_rate_separates_convergence_from_divergence():
    x, y = data(m=20, loc=3.0, scale=1.0)
    bound = max_stable_learning_rate(x)
    best = least_squares_fit(x, y)
    below = gradient_descent(x, y, (0.0, 0.0), 0.98 * bound, 3000)
    above = gradient_descent(x, y, (0.0, 0.0), 1.02 * bound, 3000)
    assert np.linalg.norm(below[-1] - best) < 1e-3 * np.linalg.norm(below[0] - best)
    assert np.linalg.norm(above[-1] - best) > 1e3 * np.linalg.norm(above[0] - best)


@pytest.mark.parametrize("loc,scale,frac", [(0.0, 1.0, 0.5), (5.0, 1.0, 1.0), (3.0, 2.0, 1.9), (10.0, 3.0, 1.0)])
def test_iterations_to_converge_matches_running_gradient_descent(loc, scale, frac):
    x, y = data(m=20, loc=loc, scale=scale)
    lr = frac / np.linalg.eigvalsh(regression_hessian(x))[-1]
    tol = 1e-6
    k = iterations_to_converge(x, y, (0.0, 0.0), lr, tol=tol)
    assert 0 < k < 20000
    path = gradient_descent(x, y, (0.0, 0.0), lr, k + 5)
    best = least_squares_fit(x, y)
    gaps = np.array([loop_loss(b, w, x, y) for b, w in path]) - loop_loss(*best, x, y)
    first = int(np.argmax(gaps <= tol))
    assert gaps[first] <= tol and np.all(gaps[:first] > tol)
    assert k == first


def test_iterations_to_converge_is_zero_at_the_optimum_and_grows_with_conditioning():
    x, y = data(m=20, loc=0.0, scale=1.0)
    assert iterations_to_converge(x, y, least_squares_fit(x, y), 0.5) == 0
    counts = []
    for loc in (0.0, 5.0, 20.0):
        xs = x + loc
        lr = 1.0 / np.linalg.eigvalsh(regression_hessian(xs))[-1]
        counts.append(iterations_to_converge(xs, y, (0.0, 0.0), lr))
    assert counts[0] < counts[1] < counts[2]


def test_x_with_two_dimensions_is_refused_where_one_input_is_expected():
    with pytest.raises(ValueError, match=r"x must have shape \(m,\)"):
        regression_loss(0.0, 0.0, np.ones((5, 2)), np.ones(5))


def test_y_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="pair up"):
        least_squares_fit(X5, np.ones(4))


def test_y_with_two_dimensions_is_refused():
    with pytest.raises(ValueError, match=r"y must have shape \(m,\)"):
        least_squares_fit(X5, np.ones((5, 1)))


def test_constant_x_is_refused():
    with pytest.raises(ValueError, match="constant"):
        regression_hessian(np.full(5, 3.0))


def test_a_single_example_is_refused():
    with pytest.raises(ValueError, match="m >= 2"):
        hessian_condition_number(np.array([1.0]))


def test_an_empty_x_is_refused():
    with pytest.raises(ValueError, match="empty"):
        regression_hessian(np.array([]))


def test_nan_in_x_is_refused():
    with pytest.raises(ValueError, match="non-finite"):
        regression_gradient(0.0, 0.0, np.array([1.0, np.nan, 3.0]), np.ones(3))


def test_non_numeric_x_is_refused():
    with pytest.raises(TypeError, match="numeric"):
        regression_hessian(["a", "b", "c"])


def test_non_numeric_b_is_refused():
    with pytest.raises(TypeError, match="b must be a number"):
        regression_gradient("1", 0.0, X5, X5)


def test_infinite_w_is_refused():
    with pytest.raises(ValueError, match="finite"):
        regression_loss(0.0, np.inf, X5, X5)


@pytest.mark.parametrize("lr", [0.0, -0.1])
def test_non_positive_learning_rate_is_refused(lr):
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        gradient_descent(X5, X5, (0.0, 0.0), lr, 3)


def test_unstable_learning_rate_is_refused_by_iterations_to_converge():
    with pytest.raises(ValueError, match="does not converge"):
        iterations_to_converge(X5, X5, (0.0, 0.0), max_stable_learning_rate(X5))


def test_vanishing_learning_rate_is_refused_by_iterations_to_converge():
    with pytest.raises(ValueError, match="too small"):
        iterations_to_converge(X5, X5, (0.0, 0.0), 1e-300)


def test_negative_steps_are_refused():
    with pytest.raises(ValueError, match="steps must be an int >= 0"):
        gradient_descent(X5, X5, (0.0, 0.0), 1e-4, -1)


def test_non_integer_steps_are_refused():
    with pytest.raises(TypeError, match="steps must be an int"):
        gradient_descent(X5, X5, (0.0, 0.0), 1e-4, 2.5)


def test_start_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match=r"start must be a pair"):
        gradient_descent(X5, X5, (0.0, 0.0, 0.0), 1e-4, 3)


def test_non_positive_tol_is_refused():
    with pytest.raises(ValueError, match="tol must be a finite number > 0"):
        iterations_to_converge(X5, X5, (0.0, 0.0), 1e-4, tol=0.0)
