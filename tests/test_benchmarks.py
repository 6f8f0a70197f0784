"""benchmarks/run.py's Keras side computes what the layer computes.

References: keras_batchnorm (one layer call) and keras_batchnorm_gradients (GradientTape), built
independently of the benchmark's callables, and bnlib's forward/backward. Float64 layers: tolerance 1e-10.
"""

import importlib.util

import numpy as np
import pytest

from bnlib import batchnorm_backward, batchnorm_forward
from bnlib.keras_ref import keras_batchnorm, keras_batchnorm_gradients
from booktools import ROOT

pytestmark = [pytest.mark.keras]

_spec = importlib.util.spec_from_file_location("benchmarks_run", ROOT / "benchmarks" / "run.py")
run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run)  # benchmarks/ is a folder of scripts, not a package
keras_batchnorm_callables = run.keras_batchnorm_callables


TOL = {"rtol": 1e-10, "atol": 1e-10}


def test_callables_compute_keras_forward_and_gradients():
    rng = np.random.default_rng(3)
    a, dout = rng.standard_normal((16, 5)) * 3 + 1, rng.standard_normal((16, 5))
    forward, forward_backward = keras_batchnorm_callables(a, dout, eps=1e-3)
    for _ in range(2):  # repeated calls (as the benchmark makes) give the same training-mode result
        np.testing.assert_allclose(np.asarray(forward()), keras_batchnorm(a, eps=1e-3).out, **TOL)
        got = [np.asarray(g).reshape(-1) for g in forward_backward()]
        want = [np.asarray(g).reshape(-1) for g in keras_batchnorm_gradients(a, dout, eps=1e-3)]
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, w, **TOL)
    _, cache = batchnorm_forward(a, np.ones(5), np.zeros(5), eps=1e-3)
    da, dgamma, dbeta = batchnorm_backward(dout, cache)
    np.testing.assert_allclose(got[0], da.reshape(-1), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(got[1], dgamma, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(got[2], dbeta, rtol=1e-8, atol=1e-10)


def test_float32_input_runs_a_float32_layer():
    a = np.random.default_rng(4).standard_normal((8, 3)).astype(np.float32)
    forward, forward_backward = keras_batchnorm_callables(a, np.ones_like(a))
    assert np.asarray(forward()).dtype == np.float32
    assert all(np.asarray(g).dtype == np.float32 for g in forward_backward())
