"""bnlib.stats against hand derivations and Keras's Normalization layer."""

import numpy as np
import pytest

from bnlib import batch_mean, batch_variance, standardize
from bnlib.keras_ref import keras_normalization

SEED = np.array([[2.0], [0.0], [2.0], [4.0]])  # the notes' worked example, m = 4, one unit


def test_seed_mean_and_variances_by_hand():
    # (2+0+2+4)/4 = 2; squared deviations 0,4,0,4 sum to 8: /4 = 2 (Keras), /3 = 8/3 (the notes' formula)
    assert batch_mean(SEED) == pytest.approx([2.0])
    assert batch_variance(SEED) == pytest.approx([2.0])
    assert batch_variance(SEED, ddof=1) == pytest.approx([8.0 / 3.0])


def test_image_statistics_are_per_channel_over_m_h_w():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(3, 4, 5, 2))
    for c in range(2):
        values = a[..., c].ravel()
        assert batch_mean(a)[c] == pytest.approx(sum(values) / values.size)
        assert batch_variance(a)[c] == pytest.approx(sum((values - values.mean()) ** 2) / values.size)
    # channels-first view of the same data
    assert batch_mean(np.moveaxis(a, -1, 1), axis=1) == pytest.approx(batch_mean(a))


def test_standardize_gives_mean_0_std_1_with_its_ddof():
    rng = np.random.default_rng(2)
    X = rng.normal(50.0, 10.0, size=(30, 3))
    for ddof in (0, 1):
        X_tilde, mu, var = standardize(X, ddof=ddof)
        assert X_tilde.mean(axis=0) == pytest.approx(np.zeros(3), abs=1e-12)
        assert X_tilde.std(axis=0, ddof=ddof) == pytest.approx(np.ones(3))
        assert mu == pytest.approx(X.mean(axis=0))
        assert var == pytest.approx(X.var(axis=0, ddof=ddof))


@pytest.mark.keras
def test_standardize_ddof0_matches_keras_normalization():
    rng = np.random.default_rng(3)
    X = rng.normal(5.0, 3.0, size=(40, 2))
    out, mean, var = keras_normalization(X)
    ours, mu, v = standardize(X, ddof=0)
    np.testing.assert_allclose(mu, mean, rtol=1e-5)
    np.testing.assert_allclose(v, var, rtol=1e-4)
    np.testing.assert_allclose(ours, out, atol=1e-4)
    # the notes' 1/(m-1) version differs from Keras by exactly sqrt((m-1)/m)
    notes, _, _ = standardize(X, ddof=1)
    np.testing.assert_allclose(notes, out * np.sqrt(39 / 40), atol=1e-4)


def test_standardize_constant_feature_is_a_clear_error():
    X = np.array([[1.0, 2.0], [1.0, 3.0], [1.0, 5.0]])
    with pytest.raises(ValueError, match=r"feature\(s\) \[0\].*constant"):
        standardize(X)


@pytest.mark.parametrize("ddof, error", [(2, ValueError), (-1, ValueError), (0.5, TypeError), (True, TypeError)])
def test_batch_variance_rejects_other_ddof(ddof, error):
    with pytest.raises(error, match="ddof must be 0"):
        batch_variance(SEED, ddof=ddof)


def test_unbiased_variance_of_one_example_is_a_clear_error():
    with pytest.raises(ValueError, match="at least 2 examples"):
        batch_variance(np.ones((1, 3)), ddof=1)


def test_float32_near_overflow_is_computed_safely_not_zeros():
    # squares of 3e19 overflow float32 (9e38 > 3.4e38): the answer must not be inf or silent zeros
    huge = np.array([[3e19], [-3e19], [1e19], [0.0]], dtype=np.float32)
    x = huge.astype(np.float64)
    assert batch_variance(huge) == pytest.approx([x.var()], rel=1e-12)
    X_tilde, mu, var = standardize(huge, ddof=1)
    assert X_tilde.dtype == np.float32
    np.testing.assert_allclose(X_tilde, (x - x.mean()) / x.std(ddof=1), rtol=1e-6)
    with pytest.raises(ValueError, match=r"overflow float64.*a / np.abs\(a\).max\(\)"):
        batch_variance(x * 1e140)
    np.testing.assert_allclose(batch_variance(x * 1e140 / np.abs(x * 1e140).max()), x.var() / np.abs(x).max() ** 2,
                               rtol=1e-12)
