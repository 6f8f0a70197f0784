"""bnlib.validation: bad input gets a clear error naming the argument, one policy everywhere.

TypeError for the wrong kind of argument, ValueError for a wrong value; one dtype rule. The checks are
exercised through the public functions that use them (one test per kind of mistake).
"""

import re

import numpy as np
import pytest

from bnlib import (
    BatchNorm,
    batch_mean,
    batch_variance,
    batchnorm_backward,
    batchnorm_backward_compact,
    batchnorm_forward,
    batchnorm_forward_fast,
    batchnorm_inference,
    fold_batchnorm,
    group_norm,
    init_params,
    instance_norm,
    iterations_to_converge,
    keras_moving_stats,
    layer_norm,
    least_squares_fit,
    max_stable_learning_rate,
    mlp_logits,
    rms_norm,
    standardize,
    train_test_split,
    update_moving_stats,
)

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
    with pytest.raises(ValueError, match=r"gamma contains 1 non-finite value"):
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


# --- every suggested fix works: the fix is read from the message, applied, and the call then succeeds ----


def _fix(call, pattern, error=ValueError):
    """The suggestion (group 1 of ``pattern``) in the message ``call()`` raises."""
    with pytest.raises(error) as info:
        call()
    match = re.search(pattern, str(info.value))
    assert match, f"no suggestion matching {pattern!r} in: {info.value}"
    return match.group(1)


def _apply(code, **names):
    """Evaluate a suggested expression, e.g. "a.reshape(-1, 1)", with the caller's argument under its name."""
    return eval(code, {"np": np}, names)


UNIT = np.array([2.0, 0.0, 2.0, 4.0])  # the notes' batch of one unit, as a 1-D array
ONE_EXAMPLE = np.array([2.0, 0.0, 2.0, 4.0])  # the same numbers as the 4 features of one example


@pytest.mark.parametrize("name, fn", [
    ("batch_mean", lambda a: batch_mean(a)),
    ("batch_variance", lambda a: batch_variance(a)),
    ("batchnorm_forward", lambda a: batchnorm_forward(a, [1.0], [0.0])),
    ("batchnorm_inference", lambda a: batchnorm_inference(a, [2.0], [2.0], [1.0], [0.0])),
    ("batchnorm_forward_fast", lambda a: batchnorm_forward_fast(a, [1.0], [0.0])),
    ("BatchNorm", lambda a: BatchNorm()(a, training=True)),
])
def test_reshape_of_one_unit_works(name, fn):
    fix = _fix(lambda: fn(UNIT), r"use (a\.reshape\(-1, 1\))")
    assert np.shape(fn(_apply(fix, a=UNIT))[0] if name.endswith(("forward", "fast")) else fn(_apply(fix, a=UNIT)))


def test_reshape_of_standardize_names_X_and_works():
    fix = _fix(lambda: standardize(UNIT), r"use (X\.reshape\(-1, 1\))")
    assert standardize(_apply(fix, X=UNIT))[0].shape == (4, 1)


@pytest.mark.parametrize("fn", [
    lambda a: layer_norm(a, np.ones(4), np.zeros(4)),
    lambda a: group_norm(a, 2, np.ones(4), np.zeros(4)),
    lambda a: rms_norm(a, np.ones(4)),
], ids=["layer_norm", "group_norm", "rms_norm"])
def test_reshape_of_one_example_works_for_per_example_statistics(fn):
    fix = _fix(lambda: fn(ONE_EXAMPLE), r"use (a\.reshape\(1, -1\))")
    assert fn(_apply(fix, a=ONE_EXAMPLE)).shape == (1, 4)


def test_instance_norm_suggests_no_reshape_that_cannot_work():
    with pytest.raises(ValueError) as info:
        instance_norm(ONE_EXAMPLE, np.ones(4), np.zeros(4))
    assert "reshape" not in str(info.value)


def test_reshape_of_one_example_for_the_network_works():
    params = init_params((4, 3, 2))
    fix = _fix(lambda: mlp_logits(params, ONE_EXAMPLE), r"use (X\.reshape\(1, -1\))")
    assert mlp_logits(params, _apply(fix, X=ONE_EXAMPLE))[0].shape == (1, 2)


def test_flattening_images_for_the_network_works():
    params, images = init_params((4, 3, 2)), np.ones((5, 2, 2))
    fix = _fix(lambda: mlp_logits(params, images), r"Flatten images with (X\.reshape\(len\(X\), -1\))")
    assert mlp_logits(params, _apply(fix, X=images))[0].shape == (5, 2)


def test_reshape_of_dout_works():
    _, cache = batchnorm_forward(UNIT.reshape(-1, 1), [1.0], [0.0])
    dout = np.array([1.0, 0.0, 0.0, 0.0])
    for backward in (batchnorm_backward, batchnorm_backward_compact):
        fix = _fix(lambda b=backward: b(dout, cache), r"use (dout\.reshape\(4, 1\))")
        assert backward(_apply(fix, dout=dout), cache)[0].shape == (4, 1)


def test_full_for_a_scalar_parameter_works():
    for fn in (lambda g: batchnorm_forward(A, g, B)[0], lambda g: instance_norm(np.ones((2, 3, 3, 2)), g, B)):
        fix = _fix(lambda f=fn: f(1.0), r"Use (np\.full\(2, value\))")
        assert np.all(np.isfinite(fn(_apply(fix, value=1.0))))
    fix = _fix(lambda: update_moving_stats(0.0, [1.0], [1.0], [1.0]), r"Use (np\.full\(n, value\))")
    assert len(update_moving_stats(_apply(fix, n=1, value=0.0), [1.0], [1.0], [1.0])) == 2


def test_converting_numbers_stored_as_text_works():
    text = np.array([["1", "2"], ["3", "5"], ["4", "9"]])
    fix = _fix(lambda: batchnorm_forward(text, G, B), r"convert it first: (np\.asarray\(a, dtype=float\))", TypeError)
    np.testing.assert_array_equal(batchnorm_forward(_apply(fix, a=text), G, B)[0], batchnorm_forward(A, G, B)[0])


@pytest.mark.parametrize("axis", [2, -3, 0])
def test_the_suggested_axis_works(axis):
    fix = _fix(lambda: batchnorm_forward(A, G, B, axis=axis), r"(the default -1|-1 for \(m, n\))")
    assert fix and batchnorm_forward(A, G, B, axis=-1)[0].shape == A.shape


@pytest.mark.parametrize("name, call", [
    ("batchnorm_forward", lambda eps: batchnorm_forward([[1.0], [1.0]], [1.0], [0.0], eps=eps)),
    ("batchnorm_forward_fast", lambda eps: batchnorm_forward_fast([[1.0], [1.0]], [1.0], [0.0], eps=eps)),
    ("batchnorm_inference", lambda eps: batchnorm_inference([[1.0]], [0.0], [0.0], [1.0], [0.0], eps=eps)),
    ("fold_batchnorm", lambda eps: fold_batchnorm(np.ones((1, 1)), None, [1.0], [0.0], [0.0], [0.0], eps=eps)),
    ("layer_norm", lambda eps: layer_norm(np.ones((2, 4)), np.ones(4), np.zeros(4), eps=eps)),
    ("rms_norm", lambda eps: rms_norm(np.zeros((2, 4)), np.ones(4), eps=eps)),
    ("BatchNorm", lambda eps: BatchNorm(epsilon=eps)(np.ones((3, 2)), training=True)),
])
def test_a_positive_eps_works_where_eps_0_divides_by_0(name, call):
    default = float(_fix(lambda: call(0.0), r"use eps > 0 \(the default is ([0-9.e-]+)\)"))
    assert default > 0
    call(default)


def test_inference_mode_works_for_a_batch_of_one():
    assert "batchnorm_inference" in _fix(lambda: batchnorm_forward(A[:1], G, B), r"(batchnorm_inference)")
    assert batchnorm_inference(A[:1], np.zeros(2), np.ones(2), G, B).shape == (1, 2)


def test_the_suggested_ddof_works_for_one_example():
    fix = _fix(lambda: batch_variance(np.ones((1, 3)), ddof=1), r"\(or (ddof=0)\)")
    assert batch_variance(np.ones((1, 3)), **{fix.split("=")[0]: int(fix.split("=")[1])}).shape == (3,)


def test_dropping_constant_features_works():
    X = np.array([[1.0, 2.0, 7.0], [1.0, 3.0, 7.0], [1.0, 5.0, 8.0]])
    with pytest.raises(ValueError, match=r"feature\(s\) \[0\] of X are constant.*drop them") as info:
        standardize(X)
    cols = [int(c) for c in re.search(r"feature\(s\) \[([0-9, ]+)\]", str(info.value)).group(1).split(",")]
    assert standardize(np.delete(X, cols, axis=1))[0].shape == (3, 2)


def test_choosing_a_listed_group_count_works():
    images = np.random.default_rng(0).normal(size=(2, 3, 3, 6))
    divisors = _fix(lambda: group_norm(images, 4, np.ones(6), np.zeros(6)), r"choose groups in (\[[0-9, ]+\])")
    for groups in eval(divisors):
        assert group_norm(images, groups, np.ones(6), np.zeros(6)).shape == images.shape


def test_layer_norm_works_where_instance_norm_has_no_positions():
    dense = np.random.default_rng(0).normal(size=(3, 5))
    assert _fix(lambda: instance_norm(dense, np.ones(5), np.zeros(5)), r"use (layer_norm)") == "layer_norm"
    assert layer_norm(dense, np.ones(5), np.zeros(5)).shape == dense.shape


def test_a_new_layer_works_for_another_feature_size():
    layer = BatchNorm()
    layer(np.ones((4, 3)), training=True)
    _fix(lambda: layer(np.ones((4, 2))), r"(use a new layer)")
    assert BatchNorm()(np.ones((4, 2))).shape == (4, 2)


def test_building_the_layer_first_works():
    _fix(lambda: BatchNorm().get_weights(), r"(call build\(n\)\) first)")
    layer = BatchNorm()
    layer.build(3)
    assert len(layer.get_weights()) == 4


def test_the_forward_pass_first_works():
    fix = _fix(lambda: batchnorm_backward(np.ones((3, 2)), {"a": A}), r"first: (out, cache = batchnorm_forward)",
               TypeError)
    assert fix and batchnorm_backward(np.ones((3, 2)), batchnorm_forward(A, G, B)[1])[0].shape == (3, 2)


def test_a_list_of_batches_works():
    stacked = np.ones((3, 4, 2))
    fix = _fix(lambda: keras_moving_stats(stacked), r"use (list\(batches\))", TypeError)
    assert keras_moving_stats(_apply(fix, batches=stacked))[0].shape == (3, 2)


def test_float64_works_where_float32_sums_overflow():
    big = np.full((4, 2), 3e38, np.float32)
    assert "float64" in _fix(lambda: batchnorm_forward_fast(big, G, B), r"convert it to (float64)")
    assert np.all(np.isfinite(batchnorm_forward_fast(big.astype(np.float64), G, B)[0]))


def test_np_empty_like_works_as_an_out_buffer():
    for bad in ([[0.0, 0.0]] * 3, np.empty((2, 3)).T):
        fix = _fix(lambda o=bad: batchnorm_forward_fast(A, G, B, out=o), r"e\.g\. (np\.empty_like\(a\))",
                   (TypeError, ValueError))
        out = _apply(fix, a=A)
        assert batchnorm_forward_fast(A, G, B, out=out)[0] is out


def test_integer_labels_work():
    y = np.array([0.0, 1.0, 0.0, 1.0])
    fix = _fix(lambda: train_test_split(np.zeros((4, 2)), y), r"use (y\.astype\(int\))", TypeError)
    assert train_test_split(np.zeros((4, 2)), _apply(fix, y=y), test_fraction=0.5)[1].dtype.kind == "i"


def test_ravel_of_targets_works():
    x, y = np.arange(5.0), np.arange(5.0).reshape(5, 1) * 2 + 1
    fix = _fix(lambda: least_squares_fit(x, y), r"Use (y\.ravel\(\))")
    np.testing.assert_allclose(least_squares_fit(x, _apply(fix, y=y)), [1.0, 2.0])


def test_a_smaller_learning_rate_works():
    x, y = np.arange(1.0, 6.0), np.arange(1.0, 6.0)
    assert "max_stable_learning_rate" in _fix(lambda: iterations_to_converge(x, y, (0.0, 0.0), 1.0),
                                              r"use a smaller learning rate \(see (max_stable_learning_rate)\)")
    assert iterations_to_converge(x, y, (0.0, 0.0), max_stable_learning_rate(x) / 2) > 0


def test_the_moving_statistics_work_for_a_network_batch_of_one():
    params = init_params((4, 3, 2), batchnorm=True)
    assert "moving=" in _fix(lambda: mlp_logits(params, np.ones((1, 4))), r"(moving=\.\.\.)")
    moving = ((np.zeros(3),), (np.ones(3),))
    assert mlp_logits(params, np.ones((1, 4)), moving=moving)[0].shape == (1, 2)
