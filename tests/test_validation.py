"""bnlib.validation: bad input gets a clear error naming the argument, one policy everywhere.

TypeError for the wrong kind of argument, ValueError for a wrong value; one dtype rule. The checks are
exercised through the public functions that use them (one test per kind of mistake).
"""

import numpy as np
import pytest

from bnlib import batch_mean, batch_variance, batchnorm_forward, batchnorm_inference, standardize

A = np.array([[1.0, 2.0], [3.0, 5.0], [4.0, 9.0]])


G, B = np.ones(2), np.zeros(2)


def test_one_dimensional_input_suggests_reshape():
    with pytest.raises(ValueError, match=r"at least 2 dimensions.*got shape \(4,\).*reshape\(-1, 1\)"):
        batchnorm_forward(np.array([2.0, 0.0, 2.0, 4.0]), [1.0], [0.0])


def test_gamma_not_matching_features_names_the_shape():
    with pytest.raises(ValueError, match=r"gamma has shape \(3,\).*2 features.*needs shape \(2,\)"):
        batchnorm_forward(A, np.ones(3), B)


def test_beta_not_matching_features_names_the_shape():
    with pytest.raises(ValueError, match=r"beta has shape \(1,\)"):
        batchnorm_forward(A, G, np.zeros(1))


def test_scalar_gamma_is_refused_with_a_fix():
    with pytest.raises(ValueError, match=r"got a scalar.*np.full\(2"):
        batchnorm_forward(A, 1.0, B)


def test_notes_column_vector_parameters_are_accepted():
    # the notes write gamma, beta with shape (n, 1); Keras and bnlib use (n,): both are understood
    out_col, _ = batchnorm_forward(A, G.reshape(2, 1), B.reshape(2, 1))
    np.testing.assert_array_equal(out_col, batchnorm_forward(A, G, B)[0])


def test_empty_batch():
    with pytest.raises(ValueError, match="empty batch"):
        batchnorm_forward(np.zeros((0, 2)), G, B)


def test_zero_features():
    with pytest.raises(ValueError, match=r"axis of length 0 \(shape \(3, 0\)\)"):
        batchnorm_forward(np.zeros((3, 0)), np.ones(0), np.zeros(0))


def test_batch_of_one_in_training_mode():
    with pytest.raises(ValueError, match=r"at least 2 values per feature.*batchnorm_inference"):
        batchnorm_forward(A[:1], G, B)


def test_batch_of_one_is_fine_in_inference_mode():
    out = batchnorm_inference(A[:1], np.zeros(2), np.ones(2), G, B)
    assert out.shape == (1, 2)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input(bad):
    a = A.copy()
    a[1, 1] = bad
    with pytest.raises(ValueError, match=r"a contains 1 non-finite value"):
        batchnorm_forward(a, G, B)


def test_non_finite_gamma():
    with pytest.raises(ValueError, match="gamma contains NaN or inf"):
        batchnorm_forward(A, [1.0, np.nan], B)


@pytest.mark.parametrize("eps", [-1e-3, np.nan, np.inf])
def test_bad_eps(eps):
    with pytest.raises(ValueError, match="eps must be a finite number >= 0"):
        batchnorm_forward(A, G, B, eps=eps)


def test_eps_of_wrong_type():
    with pytest.raises(TypeError, match="eps must be a number"):
        batchnorm_forward(A, G, B, eps="0.001")


def test_zero_eps_with_constant_feature():
    a = np.array([[1.0, 2.0], [1.0, 3.0]])
    with pytest.raises(ValueError, match="variance 0.*eps=0"):
        batchnorm_forward(a, G, B, eps=0.0)


NON_NUMERIC = [np.array([["a", "b"], ["c", "d"]]), [[1, None], [2, 3]], np.array([[1 + 2j, 1], [0, 1]])]


@pytest.mark.parametrize("a", NON_NUMERIC)
def test_non_numeric_input(a):
    with pytest.raises(TypeError, match="a must be"):
        batchnorm_forward(a, G, B)


def test_ragged_input():
    with pytest.raises(TypeError, match="numeric array"):
        batch_mean([[1.0, 2.0], [3.0]])


@pytest.mark.parametrize("axis", [2, -3, 5])
def test_axis_out_of_range(axis):
    with pytest.raises(ValueError, match=rf"axis={axis} is out of range.*\[-2, 1\]"):
        batchnorm_forward(A, G, B, axis=axis)


def test_axis_zero_is_the_batch_axis():
    with pytest.raises(ValueError, match="axis=0 is the batch axis"):
        batch_variance(A, axis=0)


def test_axis_of_wrong_type():
    with pytest.raises(TypeError, match="axis must be an int"):
        batchnorm_forward(A, G, B, axis=1.0)


def test_negative_moving_variance():
    with pytest.raises(ValueError, match="moving_var must be >= 0"):
        batchnorm_inference(A, np.zeros(2), np.array([1.0, -1.0]), G, B)


def test_moving_mean_wrong_shape():
    with pytest.raises(ValueError, match=r"moving_mean has shape \(3,\)"):
        batchnorm_inference(A, np.zeros(3), np.ones(2), G, B)


def test_standardize_names_X():
    with pytest.raises(ValueError, match=r"X must be batch-first"):
        standardize(np.arange(5.0))
