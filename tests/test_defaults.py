"""bnlib.defaults: the defaults bnlib's signatures read are the frameworks' own (checked against Keras)."""

import numpy as np
import pytest

from bnlib import group_norm, layer_norm, rms_norm
from bnlib.keras_ref import keras_group_norm, keras_layer_norm, keras_rms_norm


@pytest.mark.keras
def test_keras_defaults_are_the_bnlib_defaults():
    rng = np.random.default_rng(4)
    a = rng.normal(size=(2, 3, 3, 64)) * 0.02  # small values, so the epsilon makes a visible difference
    g, b = np.ones(64), np.zeros(64)
    np.testing.assert_allclose(layer_norm(a, g, b), keras_layer_norm(a), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(group_norm(a, 32, g, b), keras_group_norm(a), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(rms_norm(a, g), keras_rms_norm(a), rtol=1e-9, atol=1e-12)
    assert np.abs(rms_norm(a, g) - rms_norm(a, g, eps=1e-3)).max() > 0.01  # the two defaults differ
