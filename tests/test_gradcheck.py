"""bnlib.gradcheck: the finite-difference checker against known derivatives, and its error sizes."""

import numpy as np
import pytest

from bnlib import batchnorm_backward, batchnorm_forward, magnitude, numeric_gradient, rel_error


def test_numeric_gradient_of_known_functions():
    x = np.array([[0.5, -1.0], [2.0, 3.0]])
    dout = np.array([[1.0, 2.0], [-1.0, 0.5]])
    np.testing.assert_allclose(numeric_gradient(np.sin, x, dout), np.cos(x) * dout, rtol=1e-9)
    # F mixes entries: F(x) = x @ B, so d/dx sum((x @ B) * dout) = dout @ B.T
    B = np.array([[1.0, -2.0, 0.5], [3.0, 0.0, 1.0]])
    np.testing.assert_allclose(numeric_gradient(lambda z: z @ B, x, np.ones((2, 3))), np.ones((2, 3)) @ B.T,
                               rtol=1e-9)


def test_numeric_gradient_never_mutates_its_inputs():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    dout = np.array([[1.0, -1.0], [0.5, 2.0]])
    x0, d0 = x.copy(), dout.copy()

    def F_that_mutates(z):
        z *= 2.0  # a badly behaved F must not reach the caller's array
        return z

    grad = numeric_gradient(F_that_mutates, x, dout)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(dout, d0)
    np.testing.assert_allclose(grad, 2.0 * dout, rtol=1e-9)


def test_float32_and_large_steps_spoil_the_check():
    rng = np.random.default_rng(4)
    a = rng.normal(size=(6, 2)) * [0.8, 2.5] + [1.0, -2.0]  # both features well spread
    gamma, beta, dout, eps = np.array([1.5, -0.7]), np.array([0.2, 0.0]), rng.normal(size=(6, 2)), 1e-3
    _, cache = batchnorm_forward(a, gamma, beta, eps=eps)
    da = batchnorm_backward(dout, cache)[0]

    def err(dtype, h):
        def F(x):
            return batchnorm_forward(x, gamma, beta, eps=eps)[0]
        return rel_error(da, numeric_gradient(F, a.astype(dtype), dout.astype(dtype), h=h))

    assert err(np.float64, 1e-5) < 1e-8
    assert err(np.float32, 1e-5) > 1e-4  # rounding: float32 eps / h
    assert err(np.float64, 0.5) > 1e-3  # truncation: O(h^2)


def test_rel_error():
    assert rel_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error([1.0, -1.0], [1.0, 1.0]) == pytest.approx(2.0 / 2.0)
    assert rel_error([1e-3], [2e-3]) == pytest.approx(1.0 / 3.0)


def test_numeric_gradient_bad_step():
    with pytest.raises(ValueError, match="h must be a finite number > 0"):
        numeric_gradient(np.sin, np.ones(2), np.ones(2), h=0.0)
    with pytest.raises(TypeError, match="h must be a positive number"):
        numeric_gradient(np.sin, np.ones(2), np.ones(2), h="1e-5")


def test_numeric_gradient_bad_function_and_shapes():
    with pytest.raises(TypeError, match="F must be a function"):
        numeric_gradient(3.0, np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match=r"F\(x\) has shape \(2,\) but dout has shape \(3,\)"):
        numeric_gradient(np.sin, np.ones(2), np.ones(3))


def test_rel_error_bad_shapes():
    with pytest.raises(ValueError, match="same shape"):
        rel_error(np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="empty"):
        rel_error(np.ones(0), np.ones(0))


def test_magnitude():
    assert magnitude(3.2e-11) == "< 1e-10"
    assert magnitude(1e-8) == "< 1e-07"  # strictly above: a power of ten is bumped to the next one
    assert magnitude(0.5) == "< 1e+00" and magnitude(1.0) == "< 1e+01"
    assert magnitude(0.0) == "< 1e-12" and magnitude(5e-14) == "< 1e-12"  # round-off residue: one bucket
    assert magnitude(float("inf")) == "= inf"
    with pytest.raises(ValueError, match="err must be a number >= 0"):
        magnitude(-1e-3)
    with pytest.raises(ValueError, match="err must be a number >= 0"):
        magnitude(float("nan"))
    with pytest.raises(TypeError, match="err must be a number"):
        magnitude("1e-8")
