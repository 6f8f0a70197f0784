"""bnlib.grading.transport: numbers travel as plain JSON, and malformed data is refused."""

import numpy as np
import pytest

from bnlib.grading.transport import decode, encode


def test_transport_rejects_malformed_data():
    arr = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(decode(encode(arr)), arr)
    for bad in [{"shape": [2], "data": [1.0]}, {"shape": [1], "data": ["x"]}, {"tuple": [{}]}, [1.0],
                {"shape": [-1], "data": []}]:
        with pytest.raises(ValueError):
            decode(bad)
