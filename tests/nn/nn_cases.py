"""The small network and batch the tests of bnlib.nn share (imported by the test modules of this folder)."""

import numpy as np

from bnlib import init_params

SIZES = (6, 5, 4, 3)


def make_batch(m=7, seed=0):
    """A random batch (X (m, 6), y (m,)) for a network of SIZES."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(m, SIZES[0])), rng.integers(0, SIZES[-1], size=m)


def make_params(batchnorm, seed=1):
    """Parameters of SIZES with non-trivial gamma, beta and biases, so no gradient is special-cased by a start value."""
    p = init_params(SIZES, batchnorm=batchnorm, init_scale=0.7, seed=seed)
    rng = np.random.default_rng(seed + 10)
    return p.map(lambda x: x + 0.3 * rng.normal(size=x.shape))
