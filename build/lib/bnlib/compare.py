"""Compare a bnlib result with a reference (usually Keras): a small stable table, or an exception.

Every worked example in the book goes through :func:`compare`. Its printout is
deterministic so nbval can check it: values are rounded, and the largest
difference is reported only as an order of magnitude.
"""

import math

import numpy as np

from .errors import MismatchError

__all__ = ["compare"]


def _fmt(v, scale):
    v = float(v)
    # Round-off residue (e.g. 1e-17 where the exact answer is 0) differs between CPUs; print it as 0.
    if abs(v) <= 1e-9 * scale or abs(v) < 1e-14:
        return "0.000000"
    s = f"{v:.6e}" if abs(v) >= 1e6 or abs(v) < 1e-4 else f"{v:.6f}"
    return s[1:] if s.startswith("-") and float(s) == 0 else s


def _magnitude(d):
    # Coarse buckets, three decades wide with a floor at 1e-12: the last bits of a float sum may differ
    # between CPUs, and the printed line must not (nbval compares it).
    if not math.isfinite(d):
        return f"= {d}"
    for k in (-12, -9, -6, -3, 0, 3, 6, 9):
        if d < 10.0**k:
            return f"< 1e{k:+03d}"
    return f"= {d:.1e}"


def compare(ours, reference, name="value", labels=("bnlib", "Keras"), atol=1e-5, rtol=1e-5, max_rows=8):
    """Print a table of ``ours`` against ``reference`` and raise if they differ beyond tolerance.

    ours, reference: arrays (or scalars) of the same shape.
    name: what is compared, e.g. "a_std for a = [2, 0, 2, 4]".
    labels: column titles (ours, reference).
    atol, rtol: the check is |ours - reference| <= atol + rtol * |reference| elementwise.
    max_rows: at most this many rows are printed (the first ones); the check covers all values.
    Returns None (so a notebook cell ending in compare() displays nothing extra).
    Raises MismatchError naming the worst element when the check fails, or when shapes differ.
    """
    a = np.asarray(ours, dtype=np.float64)
    b = np.asarray(reference, dtype=np.float64)
    ours_label, ref_label = labels
    if a.shape != b.shape:
        print(f"{ours_label} vs {ref_label}: {name}")
        print(f"shape {a.shape} != {b.shape}   ✗ MISMATCH")
        raise MismatchError(f"{name}: {ours_label} has shape {a.shape} but {ref_label} has shape {b.shape}.")
    diff = np.abs(a - b)
    allowed = atol + rtol * np.abs(b)
    finite = np.isfinite(a) & np.isfinite(b)
    same_nonfinite = (~finite) & (a == b)
    ok = (finite & (diff <= allowed)) | same_nonfinite
    max_diff = float(np.max(np.where(finite, diff, 0.0))) if a.size else 0.0

    print(f"{ours_label} vs {ref_label}: {name}   ({a.size} value{'s' if a.size != 1 else ''}; "
          f"tolerance {atol:g} + {rtol:g}*|{ref_label}|)")
    width = max(15, len(ours_label) + 2, len(ref_label) + 2)
    index_width = max(7, len(str((0,) * max(a.ndim, 1))) + 2)
    print(f"{'index':>{index_width}}{ours_label:>{width}}{ref_label:>{width}}")
    flat_a, flat_b = a.reshape(-1), b.reshape(-1)
    finite_values = np.concatenate([flat_a[np.isfinite(flat_a)], flat_b[np.isfinite(flat_b)], [0.0]])
    scale = float(np.max(np.abs(finite_values)))
    for k in range(min(max_rows, a.size)):
        idx = np.unravel_index(k, a.shape) if a.ndim else ()
        label = str(tuple(int(i) for i in idx)) if a.ndim > 1 else (str(int(idx[0])) if a.ndim == 1 else "-")
        mark = "" if ok.reshape(-1)[k] else "   ✗"
        print(f"{label:>{index_width}}{_fmt(flat_a[k], scale):>{width}}{_fmt(flat_b[k], scale):>{width}}{mark}")
    if a.size > max_rows:
        print(f"{'...':>{index_width}}   ({a.size - max_rows} more not shown, all checked)")
    if np.all(ok):
        print(f"max |diff| {_magnitude(max_diff)}   ✓ {ours_label} matches {ref_label}")
        return None
    bad = int(np.count_nonzero(~ok))
    worst = np.unravel_index(int(np.argmax(np.where(ok, -np.inf, np.where(finite, diff - allowed, np.inf)))), a.shape)
    where = tuple(int(i) for i in worst)
    print(f"max |diff| {_magnitude(max_diff)}   ✗ MISMATCH in {bad} of {a.size} values")
    raise MismatchError(
        f"{name}: {ours_label} and {ref_label} differ in {bad} of {a.size} values; worst at index {where}: "
        f"{float(a[worst])!r} vs {float(b[worst])!r} (allowed |diff| {float(allowed[worst]):.3g})."
    )
