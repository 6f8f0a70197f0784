"""Numbers between the grader's processes as plain JSON (never pickle): what a child sends is data, not code."""

import math

import numpy as np

__all__ = ["MAX_JSON", "decode", "encode"]

MAX_JSON = 20_000_000  # bytes accepted from any child


def encode(x):
    """An array, a number or a tuple of them as JSON-ready dicts and lists (float64 values).

    A boolean array (a mask) is marked ``"dtype": "bool"`` so that it arrives as booleans, as the
    in-notebook check passes it; every other array arrives as float64.
    """
    if isinstance(x, tuple):
        return {"tuple": [encode(v) for v in x]}
    if isinstance(x, np.ndarray):
        encoded = {"shape": list(x.shape), "data": x.astype(np.float64).ravel().tolist()}
        return {**encoded, "dtype": "bool"} if x.dtype == bool else encoded
    if isinstance(x, (bool, int, float, np.number)):
        return {"shape": [], "data": [float(x)]}
    raise TypeError(f"cannot encode {type(x).__name__}")


def decode(obj, depth=0):
    """Inverse of :func:`encode` with strict validation (the data may come from student code)."""
    if depth > 3 or not isinstance(obj, dict):
        raise ValueError("malformed data")
    if "tuple" in obj:
        items = obj["tuple"]
        if not isinstance(items, list) or len(items) > 8:
            raise ValueError("malformed tuple")
        return tuple(decode(v, depth + 1) for v in items)
    shape, data = obj.get("shape"), obj.get("data")
    if (not isinstance(shape, list) or not all(isinstance(d, int) and 0 <= d < 10**7 for d in shape)
            or not isinstance(data, list) or len(data) != math.prod(shape) or len(data) > 10**6
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in data)):
        raise ValueError("malformed array")
    arr = np.array(data, dtype=np.float64).reshape(shape)
    dtype = obj.get("dtype", "float64")
    if dtype == "bool" and np.isin(arr, (0.0, 1.0)).all():
        return arr.astype(bool)
    if dtype != "float64":
        raise ValueError("malformed array")
    return arr
