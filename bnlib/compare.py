"""Compare a bnlib result with a reference (usually Keras): one quiet line, or a loud table and an exception.

Every worked example in the book goes through :func:`compare`. When the values agree it prints a
single line (what was compared, how many values, the largest difference, the tolerance); a table
of the values themselves only on request (``table=True``, where the numbers teach) or on a
mismatch, where it is followed by :class:`~bnlib.errors.MismatchError`. The printout is
deterministic so nbval can check it: values are rounded, and round-off residue prints as 0.
"""

import numpy as np

from .errors import MismatchError

__all__ = ["compare"]

# Differences below this fraction of the values' scale are float64 round-off: their last bits
# depend on the CPU's summation order, so they are printed as a bound, not as a number.
_ROUND_OFF = 1e-12


def _fmt(v, scale):
    v = float(v)
    # Round-off residue (e.g. 1e-17 where the exact answer is 0) differs between CPUs; print it as 0.
    if abs(v) <= 1e-9 * scale or abs(v) < 1e-14:
        return "0.000000"
    s = f"{v:.6e}" if abs(v) >= 1e6 or abs(v) < 1e-4 else f"{v:.6f}"
    return s[1:] if s.startswith("-") and float(s) == 0 else s


def _magnitude(d, scale):
    """The largest difference with one significant digit ("3e-08"), or a bound below round-off."""
    if not np.isfinite(d):
        return str(d)
    if d == 0:
        return "0"
    floor = _ROUND_OFF * max(1.0, scale)
    if d < floor:
        return f"< {floor:.0e}"
    return f"{d:.0e}"


def _as_parts(ours, reference):
    """{part name: (ours array, reference array)} from arrays or from dicts with the same keys."""
    if isinstance(ours, dict) or isinstance(reference, dict):
        if not (isinstance(ours, dict) and isinstance(reference, dict)) or list(ours) != list(reference):
            raise TypeError("compare: ours and reference must both be arrays, or both dicts with the same keys "
                            f"in the same order; got {type(ours).__name__} and {type(reference).__name__}.")
        return {str(k): (np.asarray(ours[k], dtype=np.float64), np.asarray(reference[k], dtype=np.float64))
                for k in ours}
    return {"": (np.asarray(ours, dtype=np.float64), np.asarray(reference, dtype=np.float64))}


def _table(a, b, ok, labels, title, max_rows):
    """The values side by side (first ``max_rows``), failing rows marked."""
    ours_label, ref_label = labels
    width = max(13, len(ours_label) + 2, len(ref_label) + 2)
    index_width = max(7, len(str((0,) * max(a.ndim, 1))) + 2)
    if title:
        print(title)
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


def compare(ours, reference, name="value", labels=("bnlib", "Keras"), atol=1e-5, rtol=1e-5, table=False,
            max_rows=8):
    """Check ``ours`` against ``reference``: one line when they agree, a table and an exception when not.

    ours, reference: arrays (or scalars) of the same shape; or two dicts with the same keys, each
                     value an array, checked together and reported on one line (e.g. moving mean and
                     moving variance).
    name:   what is compared, e.g. "a_std for a = [2, 0, 2, 4]".
    labels: the two sources (ours, reference).
    atol, rtol: the check is |ours - reference| <= atol + rtol * |reference| elementwise.
    table:  also print the values side by side (where the numbers themselves teach).
    max_rows: at most this many rows of a table are printed (the first ones); every value is checked.
    Returns None (so a notebook cell ending in compare() displays nothing extra).
    Raises MismatchError naming the worst element when the check fails or shapes differ, after printing
    the table of the part that differs; TypeError when only one of ours and reference is a dict.
    """
    parts = _as_parts(ours, reference)
    ours_label, ref_label = labels
    count, max_diff, scale = 0, 0.0, 0.0
    for part, (a, b) in parts.items():
        what = f"{name}, {part}" if part else name
        if a.shape != b.shape:
            print(f"✗ {what}: {ours_label} has shape {a.shape} but {ref_label} has shape {b.shape}")
            raise MismatchError(f"{what}: {ours_label} has shape {a.shape} but {ref_label} has shape {b.shape}.")
        diff = np.abs(a - b)
        allowed = atol + rtol * np.abs(b)
        finite = np.isfinite(a) & np.isfinite(b)
        ok = (finite & (diff <= allowed)) | ((~finite) & (a == b))
        if not np.all(ok):
            bad = int(np.count_nonzero(~ok))
            _table(a, b, ok, labels, f"{ours_label} vs {ref_label}: {what}", max_rows)
            print(f"✗ MISMATCH in {bad} of {a.size} values (tolerance {atol:g} + {rtol:g}·|{ref_label}|)")
            worst = np.unravel_index(int(np.argmax(np.where(ok, -np.inf, np.where(finite, diff - allowed, np.inf)))),
                                     a.shape)
            raise MismatchError(
                f"{what}: {ours_label} and {ref_label} differ in {bad} of {a.size} values; worst at index "
                f"{tuple(int(i) for i in worst)}: {float(a[worst])!r} vs {float(b[worst])!r} "
                f"(allowed |diff| {float(allowed[worst]):.3g}).")
        if table:
            _table(a, b, ok, labels, f"{part}:" if part else "", max_rows)
        count += a.size
        if a.size:
            max_diff = max(max_diff, float(np.max(np.where(finite, diff, 0.0))))
            finite_values = np.concatenate([a[np.isfinite(a)], b[np.isfinite(b)], [0.0]])
            scale = max(scale, float(np.max(np.abs(finite_values))))
    what = name if len(parts) == 1 else f"{name} ({', '.join(parts)})"
    print(f"✓ {what}: {ours_label} matches {ref_label} ({count} value{'s' if count != 1 else ''}, "
          f"max |diff| {_magnitude(max_diff, scale)} ≤ {atol:g} + {rtol:g}·|{ref_label}|)")
