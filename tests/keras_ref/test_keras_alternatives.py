"""bnlib.keras_ref.alternatives: where Keras's own layers are (and are not) a valid reference."""

import numpy as np
import pytest

from bnlib import rms_norm
from bnlib.keras_ref import keras_layer_norm, keras_rms_norm, keras_rms_norm_op

pytestmark = [pytest.mark.keras]


SEED = np.array([[2.0], [0.0], [2.0], [4.0]])  # the notes' m = 4 batch of one unit
ROW = SEED.T  # the same four numbers as the n = 4 features of one example


def test_keras_rms_scaling_divides_by_the_standard_deviation_not_the_rms():
    # the chapter's warning: LayerNormalization(rms_scaling=True) is not RMS normalization
    a = ROW.astype(np.float64)
    keras_out = keras_layer_norm(a, gamma=np.ones(4), rms_scaling=True)
    np.testing.assert_allclose(keras_out, a / np.sqrt(a.var() + 1e-3), rtol=1e-12)
    assert np.abs(keras_out - rms_norm(a, np.ones(4), eps=1e-3)).max() > 0.5


def test_keras_rms_reference_refuses_axes_where_the_layer_misapplies_its_scale_and_the_fix_works():
    a = np.random.default_rng(7).normal(size=(2, 3, 3))
    gamma = np.arange(1.0, 4.0)
    for g in (None, gamma):
        with pytest.raises(ValueError, match="applies its scale to the last axes.*use keras_rms_norm_op and "
                                             "multiply by gamma yourself"):
            keras_rms_norm(a, g, axis=1)
    fixed = keras_rms_norm_op(a, axis=1) * gamma.reshape(1, 3, 1)  # the suggested fix
    np.testing.assert_allclose(fixed, rms_norm(a, gamma, axis=1), rtol=1e-12)


def test_keras_rms_scaling_has_no_beta_and_beta_none_works():
    with pytest.raises(ValueError, match="no beta weight; pass (beta=None)"):
        keras_layer_norm(ROW, beta=np.zeros(4), rms_scaling=True)
    assert keras_layer_norm(ROW, beta=None, rms_scaling=True).shape == ROW.shape
