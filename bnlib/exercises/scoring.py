"""Scoring and reporting: compare an answer's outputs with the expected ones, name known mistakes, report.

``check`` (in the notebook) and the grader (on hidden cases) both score with :func:`grade`, so the same
answer gets the same score and the same report either way. Reports are deterministic text, so nbval can
compare them; a value exercise's report never shows its expected value.
"""

import numpy as np

from .model import CaseResult, CheckResult

__all__ = ["failure", "forbidden", "grade", "not_attempted"]


def _close(got, expected, rtol, atol):
    if got.shape != expected.shape or not np.all(np.isfinite(got)):
        return False
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    return bool(np.all(np.abs(got - expected) <= atol * scale + rtol * np.abs(expected)))


def _matches(got, expected, rtol, atol):
    if isinstance(expected, tuple):
        return (isinstance(got, tuple) and len(got) == len(expected)
                and all(_close(g, e, rtol, atol) for g, e in zip(got, expected, strict=True)))
    return not isinstance(got, tuple) and _close(got, expected, rtol, atol)


def _fmt(x):
    arr = np.round(np.asarray(x, dtype=np.float64), 6) + 0.0  # + 0.0 turns -0.0 into 0.0
    if arr.ndim == 0:
        return f"{float(arr):.6g}"
    return np.array2string(arr, precision=6, suppress_small=True, threshold=8, edgeitems=2,
                           max_line_width=88, separator=", ").replace("\n", "\n" + " " * 13)


def _diff_message(got, expected, names, rtol, atol, detail, shown="public"):
    """Describe how ``got`` differs from ``expected`` (arrays or tuples of arrays).

    detail: show the expected (and received) values in full, rounded; otherwise one line.
    shown:  "public" (a public case: values may be shown), "hidden" (a hidden case: how far off,
            relatively, never the values) or "value" (a value exercise: its expected value is the answer).
    """
    pairs = list(zip(got, expected, names, strict=True)) if isinstance(expected, tuple) else [(got, expected, None)]
    parts = []
    for g, e, name in pairs:
        prefix = f"{name}: " if name else ""
        if g.shape != e.shape:
            extra = " (transposed?)" if g.ndim == 2 and g.shape == e.shape[::-1] else ""
            parts.append(f"{prefix}shape {g.shape}, expected {e.shape}{extra}")
        elif not np.all(np.isfinite(g)):
            reveal = detail and shown == "public"
            parts.append(f"{prefix}contains NaN or inf" + (f"\n    expected {_fmt(e)}" if reveal else ""))
        elif not _close(g, e, rtol, atol):
            if shown == "value":
                return "your answer is not the expected value (compared to 5 significant digits)"
            if shown == "hidden":
                parts.append(f"{prefix}wrong values (largest difference {_relative(g, e):.2g} of the largest "
                             "expected magnitude)")
            elif detail:
                parts.append(f"{prefix}wrong values\n    expected {_fmt(e)}\n    got      {_fmt(g)}")
            else:
                err = float(np.max(np.abs(g - e)))
                parts.append(f"{prefix}wrong values (largest difference {err:.3g})")
    return "; ".join(parts) if parts else "wrong values"


def _relative(got, expected):
    """The largest absolute difference relative to the largest expected magnitude (or absolute if that is 0)."""
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    return float(np.max(np.abs(got - expected))) / (scale or 1.0)


_TOL_FUNCTION = (1e-6, 1e-7)  # rtol, atol (atol relative to max(1, |expected|))

_TOL_VALUE = (1e-5, 1e-9)

# float32 arithmetic (about 7 significant digits, less after a few operations) passes at this tolerance when
# the answer's numbers are float32; other answers this close get _PRECISION_HINT. Known mistakes differ by far more.
_TOL_FLOAT32 = (2e-5, 2e-6)
_PRECISION_HINT = ("your values agree with the expected ones to about 6 significant digits only: compute in "
                   "float64 (numpy's default) and do not round the result; float32 results are accepted to "
                   "float32's precision.")


_ROUNDED_HINT = ("your answer agrees with the expected value to {digits} significant digits only, as if it "
                 "were rounded: do not round (assign the value your code computes, not a typed-in number); "
                 "the check compares to 5 significant digits.")


def _round_significant(x, digits):
    """``x`` rounded to ``digits`` significant digits, elementwise (0 stays 0)."""
    exponent = np.floor(np.log10(np.where(x == 0, 1.0, np.abs(x))))
    return np.round(x / 10.0 ** exponent, digits - 1) * 10.0 ** exponent


def _rounded_digits(got, expected):
    """The significant digits (2 to 4) to which ``got`` is ``expected`` rounded, or None.

    Rounding to significant digits (0.306 or 0.31 for 0.30627) or to decimals (``round(x, 2)``) that keep
    at least two significant digits of the largest value. Exact comparisons of the rounded numbers: a
    different value (a known mistake, m - 1 say) that happens to be within a few per cent gets no hint.
    """
    if isinstance(expected, tuple) or isinstance(got, tuple) or got.shape != expected.shape or not expected.size:
        return None
    if not (np.all(np.isfinite(got)) and np.all(np.isfinite(expected))) or not np.any(expected):
        return None
    lead = int(np.floor(np.log10(np.max(np.abs(expected)))))  # the exponent of the leading digit
    for digits in (2, 3, 4):
        candidates = [_round_significant(expected, digits), np.round(expected, digits - 1 - lead)]
        if any(_close(got, c, 1e-9, 1e-12) for c in candidates):
            return digits
    return None


def _explains(got, variant, rtol, atol):
    """True if a mistake's output equals the answer's, NaN and inf where the answer has them included."""
    if variant is None or isinstance(got, tuple) != isinstance(variant, tuple):
        return False
    pairs = zip(got, variant, strict=False) if isinstance(got, tuple) else [(got, variant)]
    if isinstance(got, tuple) and len(got) != len(variant):
        return False
    for g, v in pairs:
        if g.shape != v.shape:
            return False
        finite = np.isfinite(v)
        if not np.array_equal(np.isfinite(g), finite) or not np.array_equal(g[~finite], v[~finite], equal_nan=True):
            return False
        if not _close(g[finite], v[finite], rtol, atol):
            return False
    return True


def _constant(x):
    """True for outputs whose every array holds one value (all zeros, say): matching those says nothing."""
    arrays = [a for a in (x if isinstance(x, tuple) else (x,)) if a.size >= 2] if x is not None else []
    return bool(arrays) and all(bool(np.all(a == a.flat[0])) for a in arrays)

_DETAILED_FAILURES = 2  # failed cases shown with their expected values in full; later ones get one line


def grade(exercise, cases, outcomes, expected, hidden=False):
    """Score ``outcomes`` (one per case, or fewer if the run stopped early) -> :class:`CheckResult`.

    expected: the reference outputs, one per case. Used by ``check`` and by the grader alike.
    hidden:   the grader's hidden cases: a failed case is described (shape, NaN, the known mistake, how
              far off relatively) but its expected values are never shown.
    """
    max_score = len(cases)
    if outcomes and outcomes[0].status == "not attempted":
        return not_attempted(exercise, max_score)
    calls = [o for o in outcomes if o.status == "forbidden"]
    if calls:
        return forbidden(exercise, max_score, calls[0].message)
    rtol, atol = _TOL_VALUE if exercise.kind == "value" else _TOL_FUNCTION
    shown = "value" if exercise.kind == "value" else "hidden" if hidden else "public"
    results, hints, telling, precision, rounded = [], [], [], False, None
    for i, case in enumerate(cases):
        if i >= len(outcomes):
            results.append(CaseResult(case.label, False, "not run (an earlier case stopped the run)"))
            continue
        out, exp = outcomes[i], expected[i]
        if out.status == "ok" and out.mutated:
            names = ", ".join(f"`{m}`" for m in out.mutated)
            results.append(CaseResult(case.label, False, f"changed its input {names} in place; compute new arrays "
                                      "instead (e.g. `x = x * 2`, not `x *= 2`)"))
        elif out.status == "ok" and _matches(out.value, exp, rtol, atol):
            results.append(CaseResult(case.label, True))
        elif out.status == "ok" and out.low_precision and _matches(out.value, exp, *_TOL_FLOAT32):
            # Computed in float32: right to float32's precision, so right.
            results.append(CaseResult(case.label, True))
        elif out.status == "ok":
            # A rounded value answer (0.000353 for 0.00035339) may be within float32's tolerance: the
            # rounding hint, not the float64 one.
            rounded = _rounded_digits(out.value, exp) if exercise.kind == "value" else None
            if not rounded and _matches(out.value, exp, *_TOL_FLOAT32):
                results.append(CaseResult(case.label, False, "close, but equal only to about 6 significant digits"))
                precision = True
            else:
                detail = sum(not r.passed for r in results) < _DETAILED_FAILURES
                results.append(CaseResult(case.label, False, _diff_message(out.value, exp, exercise.output_names,
                                                                           rtol, atol, detail, shown)))
            for mistake in exercise.mistakes:
                variant = mistake.output(exercise, case)
                if _explains(out.value, variant, rtol, atol):
                    hints.append(mistake.hint)
                    if not _constant(variant):
                        telling.append(mistake.hint)
        else:
            results.append(CaseResult(case.label, False, out.message))
            if out.status == "error":  # a mistake that raises on this case too explains it (and tells nothing)
                hints += [m.hint for m in exercise.mistakes if m.output(exercise, case) is None]
    # A hint only when its mistake explains every failed case: a mistake that coincides with the answer on some
    # cases only (layer norm's m - 1 and batch norm's axis on a square batch) would send the student the wrong
    # way. A mistake whose output is constant on a case (the wrong axis on one feature gives all zeros) explains
    # that case but tells nothing, so at least one failed case must match a non-constant output of it.
    failed = sum(not r.passed for r in results)
    hints = [h for h in dict.fromkeys(hints) if hints.count(h) == failed and h in telling]
    if precision and not hints:
        hints.append(_PRECISION_HINT)
    if rounded and not hints:  # a value exercise has one case: the hint says how close, never the value
        hints.append(_ROUNDED_HINT.format(digits=rounded))
    score = sum(r.passed for r in results)
    status = "passed" if score == max_score else "failed"
    if score == 0 and all(o.status not in ("ok",) for o in outcomes):
        status = "error"
    return CheckResult(exercise.id, score, max_score, status, tuple(results), tuple(hints),
                       _report(exercise, score, max_score, results, hints, hidden))


def _tally(exercise, score, max_score):
    """The head of a report: cases passed, not points (the grader converts to the assignment's points)."""
    if exercise.kind == "value":
        return "correct" if score == max_score else "not correct yet"
    return f"{score} of {max_score} cases passed"


def _numbers(labels):
    """'1, 2 and 5' from case labels ("case 1 (...)" or "hidden case 1 (...)")."""
    numbers = [label.split(" (")[0].rsplit(" ", 1)[-1] for label in labels]
    return numbers[0] if len(numbers) == 1 else f"{', '.join(numbers[:-1])} and {numbers[-1]}"


def _report(exercise, score, max_score, results, hints, hidden=False):
    head = f"{exercise.id}: {_tally(exercise, score, max_score)}."
    if exercise.kind == "value":
        lines = [head]
        if score < max_score:
            lines.append("  " + results[0].message)
    else:
        if score == max_score:
            return head
        lines = [head]
        failed = [r for r in results if not r.passed]
        shown = set()
        for r in failed:
            same = [f.label for f in failed if f.message == r.message]
            if len(same) == 1:
                lines.append(f"- {r.label}: {r.message}")
            elif r.message not in shown:
                shown.add(r.message)
                lines.append(f"- {'hidden ' if hidden else ''}cases {_numbers(same)}: {r.message}")
        if hidden:
            lines.append("(Hidden cases: their inputs and expected values are not shown; the public check's "
                         "cases and the hints above are there to debug with.)")
        else:
            lines.append(f'(The inputs of case k: bnlib.exercises.get_case("{exercise.id}", k).)')
    for h in hints:
        lines.append(f"Hint: {h}")
    return "\n".join(lines)


def not_attempted(exercise, max_score):
    """Score 0, "not attempted": the stub was not replaced (a fixed, deterministic report)."""
    what = ("Replace `raise NotImplementedError(...)` in the answer cell with your code"
            if exercise.kind == "function" else "Replace None in the answer cell with your answer")
    report = (f"{exercise.id}: not attempted yet (score 0/{max_score}).\n"
              f"{what}, run that cell, then run this check again.")
    return CheckResult(exercise.id, 0, max_score, "not attempted", (), (), report)


def failure(exercise, max_score, message):
    """Score 0 with status "error": no case could run, for the reason ``message``."""
    report = f"{exercise.id}: {_tally(exercise, 0, max_score)}. {message}"
    return CheckResult(exercise.id, 0, max_score, "error", (CaseResult("answer", False, message),), (), report)


def forbidden(exercise, max_score, culprit, who="your answer calls", fix="write it yourself with numpy"):
    """Score 0 because the answer calls ``culprit``, bnlib's (or Keras's) own implementation of the exercise."""
    msg = f"{who} {culprit}, bnlib's own implementation of what this exercise asks for; {fix} (score 0)."
    return CheckResult(exercise.id, 0, max_score, "forbidden", (CaseResult("all", False, msg),), (),
                       f"{exercise.id}: {_tally(exercise, 0, max_score)}. {msg}")
