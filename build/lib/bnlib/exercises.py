"""Graded exercises: ``check(exercise_id, answer)`` gives instant, specific feedback (every chapter).

Each chapter ends with exercises. The student's answer cell starts with ``# ANSWER: <id>`` and
defines a function or a value named ``<id>``; the next cell runs ``check("<id>", <id>)``.

How a check works
-----------------
* A **function** exercise runs the student's function on 10 cases: a few fixed public cases (the
  notes' batch among them) and randomized ones (shapes, scales, eps, seeds). The expected output of
  every case comes from bnlib's own reference implementation (``bnlib.stats``, ``bnlib.batchnorm``,
  ``bnlib.backprop``, ``bnlib.layer``, ``bnlib.folding``, ``bnlib.alternatives``). A **value**
  exercise is one case, compared with the value bnlib computes (to 5 significant digits).
* When a failed case matches a known mistake (the variance divided by m - 1 instead of m, eps
  outside the square root, the wrong axis, gamma/beta forgotten or swapped, PyTorch's momentum, ...),
  the report says which one. Each mistake is computed as a variant on the failed case and compared.
* The student's code never crashes the check: exceptions, wrong types or shapes, NaN, a function
  that changes its inputs in place, and code that runs too long become failed cases with a message.
  The function always gets copies of the case's inputs.
* Time limit (``CASE_TIME_LIMIT`` seconds per case). On the main thread of a Unix process (a Jupyter
  or Colab kernel) it is a ``SIGALRM`` timer that raises an exception inside the student's code, so
  the kernel survives and nothing is left running; the exception derives from ``BaseException`` so
  an ``except Exception`` in the student's code does not swallow it. Elsewhere (Windows, a worker
  thread) the call runs in a daemon thread that is abandoned after the limit, and an asynchronous
  exception is sent to stop it. After one timeout the remaining cases are skipped.
* A function answer that calls bnlib's (or Keras's) implementation of the very thing the exercise
  asks for scores 0 with that reason; calls are seen with ``sys.setprofile`` while the answer runs.

``check`` returns a :class:`CheckResult` (``score``, ``max_score``) whose repr is the report, so a
notebook cell that ends with ``check(...)`` displays it; a not-yet-attempted stub gets a fixed,
deterministic "not attempted" report (score 0). The instructors' grader (:mod:`bnlib.grading`) uses
the same cases and comparisons with a secret seed, running the student's code in a separate process.
"""

import ctypes
import math
import os
import re
import signal
import sys
import threading
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "CASE_TIME_LIMIT",
    "EXERCISES",
    "CheckResult",
    "check",
    "exercise_ids",
    "get_case",
]

CASE_TIME_LIMIT = 5.0
N_CASES = 10  # cases per function exercise (public + random); a value exercise is one case
PUBLIC_SEED = 2015  # the public check's randomized cases; the grader draws a secret seed instead

_BNLIB_DIR = os.path.dirname(os.path.abspath(__file__))


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """One input for a function exercise: ``args`` in the signature's order, a label for reports."""

    label: str
    args: tuple
    public: bool


@dataclass(frozen=True)
class Outcome:
    """What the student's answer did on one case.

    status: "ok" (value holds the output as float arrays), "error", "timeout", "forbidden",
            "not attempted", "bad output".
    """

    status: str
    value: object = None
    message: str = ""
    mutated: tuple = ()


@dataclass(frozen=True)
class CaseResult:
    label: str
    passed: bool
    message: str = ""


@dataclass(frozen=True)
class CheckResult:
    """The outcome of ``check``: ``score`` out of ``max_score``, per-case results and hints.

    status: "passed", "failed", "not attempted", "error" (no case could run) or "forbidden".
    Its repr is the report (deterministic, so nbval can compare it).
    """

    exercise: str
    score: int
    max_score: int
    status: str
    cases: tuple = ()
    hints: tuple = ()
    report: str = field(default="", repr=False)

    @property
    def passed(self):
        return self.score == self.max_score

    def __repr__(self):
        return self.report

    __str__ = __repr__


# --------------------------------------------------------------------------------------------
# Running the student's code safely
# --------------------------------------------------------------------------------------------

class _CaseTimeout(BaseException):
    """Raised inside the student's code when a case exceeds its time limit."""


class _ForbiddenCalls:
    """A profile hook recording calls into forbidden functions (matched by file and qualified name)."""

    def __init__(self, specs):
        self.rules = {}
        for spec in specs:
            module, _, qual = spec.partition(":")
            path = os.path.join(os.path.dirname(_BNLIB_DIR), *module.split(".")) + ".py"
            self.rules.setdefault(os.path.normcase(os.path.realpath(path)), []).append(qual)
        self.hits = []
        self._files = {}

    def _rule(self, filename):
        key = self._files.get(filename)
        if key is None:
            key = os.path.normcase(os.path.realpath(filename)) if filename else ""
            self._files[filename] = key
        return self.rules.get(key)

    def __call__(self, frame, event, arg):
        if event != "call" or not self.rules:
            return
        code = frame.f_code
        quals = self._rule(code.co_filename)
        if not quals:
            return
        q = getattr(code, "co_qualname", code.co_name)
        if q == "<module>":  # importing a module runs its body: that alone is not using it
            return
        for rule in quals:
            if rule == "*" or q == rule or q.startswith(rule + "."):
                module = os.path.splitext(os.path.basename(code.co_filename))[0]
                self.hits.append(f"bnlib.{module}.{q}")
                return

    @property
    def culprit(self):
        """The first public function called (helpers and module code are implementation details)."""
        public = [h for h in self.hits if not re.search(r"\.[_<]", h)]
        return (public or self.hits)[0]


def _alarm_available():
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def _call_with_limit(func, time_limit, profiler):
    """Run ``func()``; returns (status, value_or_exception). Never raises except KeyboardInterrupt."""
    if _alarm_available():
        def on_alarm(signum, frame):
            raise _CaseTimeout()

        old_handler = signal.signal(signal.SIGALRM, on_alarm)
        old_profile = sys.getprofile()
        # Re-fire every 0.2 s so code that catches and ignores the first timeout is stopped anyway.
        signal.setitimer(signal.ITIMER_REAL, time_limit, 0.2)
        try:
            sys.setprofile(profiler)
            try:
                return "ok", func()
            finally:
                sys.setprofile(old_profile)
                signal.setitimer(signal.ITIMER_REAL, 0)
        except _CaseTimeout:
            return "timeout", None
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # the student's code may raise anything, SystemExit included
            return "error", exc
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old_handler)
    box = {}

    def target():
        sys.setprofile(profiler)
        try:
            box["value"] = ("ok", func())
        except _CaseTimeout:
            box["value"] = ("timeout", None)
        except BaseException as exc:
            box["value"] = ("error", exc)
        finally:
            sys.setprofile(None)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(time_limit)
    if thread.is_alive():
        # Ask the runaway thread to stop at its next bytecode; it is abandoned either way.
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(_CaseTimeout))
        return "timeout", None
    return box.get("value", ("error", RuntimeError("the answer stopped without a result")))


def _describe_exception(exc):
    if isinstance(exc, SystemExit):
        return "sys.exit() (an answer must return its result, not end the program)"
    text = f"{type(exc).__name__}: {exc}"
    text = re.sub(r"0x[0-9a-fA-F]+", "0x...", text).strip()
    return text if len(text) <= 200 else text[:197] + "..."


def _copy_arg(x):
    return np.array(x, copy=True) if isinstance(x, np.ndarray) else x


def _same(x, y):
    if isinstance(y, np.ndarray):
        return isinstance(x, np.ndarray) and x.shape == y.shape and bool(np.array_equal(x, y, equal_nan=True))
    return True


def _to_float_array(x, what):
    """Convert one output to a float64 array, or raise _BadOutput with a message for the student."""
    if x is None:
        raise _BadOutput(f"{what} is None (did you forget `return`?)")
    if callable(x) and not isinstance(x, np.ndarray):
        raise _BadOutput(f"{what} is a function, not numbers")
    if isinstance(x, (str, bytes, dict, set)):
        raise _BadOutput(f"{what} is a {type(x).__name__}, not numbers")
    try:
        arr = np.array(x, dtype=np.float64)
    except Exception:
        raise _BadOutput(f"{what} ({type(x).__name__}) cannot be converted to a numeric array") from None
    return arr


class _BadOutput(Exception):
    pass


def _convert(raw, spec):
    """Student output -> float arrays: one array, or a tuple of ``spec[1]`` arrays."""
    if spec[0] == "array":
        if isinstance(raw, (tuple, list)) and len(raw) in (2, 3) and isinstance(raw[0], np.ndarray):
            raise _BadOutput(f"returned a {type(raw).__name__} of {len(raw)} items; return only the output array")
        return _to_float_array(raw, "the result")
    k, names = spec[1], spec[2]
    if isinstance(raw, np.ndarray) and raw.ndim >= 1 and raw.shape[0] == k:
        raw = tuple(raw)
    if not isinstance(raw, (tuple, list)):
        raise _BadOutput(f"returned a {type(raw).__name__}; return a tuple ({', '.join(names)})")
    if len(raw) != k:
        raise _BadOutput(f"returned {len(raw)} values; return a tuple of {k}: ({', '.join(names)})")
    return tuple(_to_float_array(r, name) for r, name in zip(raw, names, strict=True))


def run_function_case(exercise, func, case, time_limit=None):
    """Call the student's ``func`` on copies of ``case.args`` under the time limit -> :class:`Outcome`."""
    time_limit = CASE_TIME_LIMIT if time_limit is None else time_limit
    pristine = tuple(_copy_arg(x) for x in case.args)
    given = tuple(_copy_arg(x) for x in case.args)
    profiler = _ForbiddenCalls(exercise.forbidden)

    def call():
        raw = func(*given)
        try:
            return "ok", _convert(raw, exercise.output)
        except _BadOutput as exc:
            return "bad output", str(exc)

    status, value = _call_with_limit(call, time_limit, profiler)
    if profiler.hits:
        return Outcome("forbidden", message=profiler.culprit)
    if status == "timeout":
        return Outcome("timeout", message=f"stopped after {time_limit:g} s (the time limit)")
    if status == "error":
        if isinstance(value, NotImplementedError):
            return Outcome("not attempted", message=_describe_exception(value))
        return Outcome("error", message="raised " + _describe_exception(value))
    inner_status, inner = value
    mutated = tuple(name for name, x, y in zip(exercise.params, given, pristine, strict=True) if not _same(x, y))
    if inner_status != "ok":
        return Outcome("bad output", message=inner, mutated=mutated)
    return Outcome("ok", value=inner, mutated=mutated)


def run_value(exercise, value, time_limit=None):
    """Convert a value answer to float arrays (guarded: odd objects can do anything) -> :class:`Outcome`."""
    time_limit = CASE_TIME_LIMIT if time_limit is None else time_limit
    def convert():
        try:
            return "ok", _convert_value(value, exercise)
        except _BadOutput as exc:
            return "bad output", str(exc)

    status, result = _call_with_limit(convert, time_limit, _ForbiddenCalls(()))
    if status == "timeout":
        return Outcome("timeout", message=f"converting the answer took more than {time_limit:g} s")
    if status == "error":
        return Outcome("error", message="converting the answer raised " + _describe_exception(result))
    inner_status, inner = result
    if inner_status != "ok":
        return Outcome("bad output", message=inner)
    return Outcome("ok", value=inner)


def _convert_value(value, exercise):
    spec = exercise.output
    if spec[0] == "int pair":
        if isinstance(value, np.ndarray):
            value = tuple(value.tolist())
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            raise _BadOutput(f"the answer is a {type(value).__name__}; give a tuple of two numbers ({spec[1]})")
        return tuple(_to_float_array(v, name) for v, name in zip(value, spec[1].split(", "), strict=True))
    arr = _to_float_array(value, "the answer")
    shape = spec[1]
    if arr.size != math.prod(shape):
        want = "one number" if shape == () else f"an array of shape {shape}"
        raise _BadOutput(f"the answer has shape {arr.shape}; give {want}")
    return arr.reshape(shape)


# --------------------------------------------------------------------------------------------
# Comparing and reporting
# --------------------------------------------------------------------------------------------

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


def _diff_message(got, expected, names, rtol, atol, detail, reveal=True):
    """Describe how ``got`` differs from ``expected`` (arrays or tuples of arrays).

    detail: show the expected (and received) values in full, rounded; otherwise one line.
    reveal: False for value exercises, whose expected value is the answer itself.
    """
    pairs = list(zip(got, expected, names, strict=True)) if isinstance(expected, tuple) else [(got, expected, None)]
    parts = []
    for g, e, name in pairs:
        prefix = f"{name}: " if name else ""
        if g.shape != e.shape:
            extra = " (transposed?)" if g.ndim == 2 and g.shape == e.shape[::-1] else ""
            parts.append(f"{prefix}shape {g.shape}, expected {e.shape}{extra}")
        elif not np.all(np.isfinite(g)):
            parts.append(f"{prefix}contains NaN or inf" + (f"\n    expected {_fmt(e)}" if detail else ""))
        elif not _close(g, e, rtol, atol):
            if not reveal:  # a value exercise: showing the expected value would give the answer away
                return "your answer is not the expected value (compared to 5 significant digits)"
            if detail:
                parts.append(f"{prefix}wrong values\n    expected {_fmt(e)}\n    got      {_fmt(g)}")
            else:
                err = float(np.max(np.abs(g - e)))
                parts.append(f"{prefix}wrong values (largest difference {err:.3g})")
    return "; ".join(parts) if parts else "wrong values"


_TOL_FUNCTION = (1e-6, 1e-7)  # rtol, atol (atol relative to max(1, |expected|))
_TOL_VALUE = (1e-5, 1e-9)
_DETAILED_FAILURES = 2  # failed cases shown with their expected values in full; later ones get one line


def grade(exercise, cases, outcomes, expected):
    """Score ``outcomes`` (one per case, or fewer if the run stopped early) -> :class:`CheckResult`.

    expected: the reference outputs, one per case. Used by ``check`` and by the grader alike.
    """
    max_score = len(cases)
    if outcomes and outcomes[0].status == "not attempted":
        return _not_attempted(exercise, max_score)
    forbidden = [o for o in outcomes if o.status == "forbidden"]
    if forbidden:
        msg = (f"your answer calls {forbidden[0].message}, bnlib's own implementation of what this exercise "
               "asks for; write it yourself with numpy (score 0).")
        report = f"{exercise.id}: 0/{max_score}. {msg}"
        return CheckResult(exercise.id, 0, max_score, "forbidden", (CaseResult("all", False, msg),), (), report)
    rtol, atol = _TOL_VALUE if exercise.kind == "value" else _TOL_FUNCTION
    results, hints = [], []
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
        elif out.status == "ok":
            detail = sum(not r.passed for r in results) < _DETAILED_FAILURES
            results.append(CaseResult(case.label, False, _diff_message(out.value, exp, exercise.output_names,
                                                                       rtol, atol, detail,
                                                                       reveal=exercise.kind == "function")))
            for mistake in exercise.mistakes:
                if _matches(out.value, mistake.output(exercise, case), rtol, atol):
                    hints.append(mistake.hint)
        else:
            results.append(CaseResult(case.label, False, out.message))
    # Two mistakes can coincide on a case; keep the ones that explain the most failed cases.
    best = max((hints.count(h) for h in hints), default=0)
    hints = list(dict.fromkeys(h for h in hints if hints.count(h) == best))
    score = sum(r.passed for r in results)
    status = "passed" if score == max_score else "failed"
    if score == 0 and all(o.status not in ("ok",) for o in outcomes):
        status = "error"
    return CheckResult(exercise.id, score, max_score, status, tuple(results), tuple(hints),
                       _report(exercise, score, max_score, results, hints))


def _report(exercise, score, max_score, results, hints):
    if exercise.kind == "value":
        head = f"{exercise.id}: correct (score {score}/{max_score})." if score == max_score else \
            f"{exercise.id}: not correct yet (score {score}/{max_score})."
        lines = [head]
        if score < max_score:
            lines.append("  " + results[0].message)
    else:
        if score == max_score:
            return f"{exercise.id}: all {max_score} cases passed (score {score}/{max_score})."
        lines = [f"{exercise.id}: {score}/{max_score} cases passed."]
        failed = [r for r in results if not r.passed]
        shown = set()
        for r in failed:
            same = [f.label.split(" (")[0].removeprefix("case ") for f in failed if f.message == r.message]
            if len(same) == 1:
                lines.append(f"- {r.label}: {r.message}")
            elif r.message not in shown:
                shown.add(r.message)
                lines.append(f"- cases {', '.join(same)}: {r.message}")
        lines.append(f'(The inputs of case k: bnlib.exercises.get_case("{exercise.id}", k).)')
    for h in hints:
        lines.append(f"Hint: {h}")
    return "\n".join(lines)


def _not_attempted(exercise, max_score):
    what = ("Replace `raise NotImplementedError(...)` in the answer cell with your code"
            if exercise.kind == "function" else "Replace None in the answer cell with your answer")
    report = (f"{exercise.id}: not attempted yet (score 0/{max_score}).\n"
              f"{what}, run that cell, then run this check again.")
    return CheckResult(exercise.id, 0, max_score, "not attempted", (), (), report)


def _failure(exercise, max_score, message):
    report = f"{exercise.id}: 0/{max_score}. {message}"
    return CheckResult(exercise.id, 0, max_score, "error", (CaseResult("answer", False, message),), (), report)


# --------------------------------------------------------------------------------------------
# The public entry point
# --------------------------------------------------------------------------------------------

def check(exercise_id, answer):
    """Check an exercise answer and return a :class:`CheckResult` (its repr is the report).

    exercise_id: str, one of :func:`exercise_ids` (the name in the answer cell's ``# ANSWER:`` line).
    answer:      the student's function (function exercises) or value (value exercises).
    Never raises because of the answer; an unknown exercise_id raises ValueError.
    Score: cases passed out of 10 for a function, 0 or 1 for a value.
    """
    exercise = get_exercise(exercise_id)
    if exercise.kind == "value":
        return check_value(exercise, answer)
    cases = exercise.cases(PUBLIC_SEED)
    if answer is None:
        return _not_attempted(exercise, len(cases))
    if not callable(answer):
        return _failure(exercise, len(cases), f"expected a function `{exercise.id}(...)`, got a value of type "
                        f"{type(answer).__name__}; pass the function itself: check(\"{exercise.id}\", {exercise.id}).")
    outcomes = []
    for case in cases:
        outcome = run_function_case(exercise, answer, case)
        outcomes.append(outcome)
        if outcome.status in ("not attempted", "timeout", "forbidden") and (outcome.status != "not attempted"
                                                                               or len(outcomes) == 1):
            break
    return grade(exercise, cases, outcomes, [exercise.expected(c) for c in cases])


def check_value(exercise, answer):
    """The value-exercise half of :func:`check` (one case)."""
    case = Case("the answer", (), True)
    if answer is None:
        return _not_attempted(exercise, 1)
    if callable(answer) and not isinstance(answer, np.ndarray):
        return _failure(exercise, 1, "expected a value (a number or an array), got a function; "
                        "call it and assign the result.")
    return grade(exercise, [case], [run_value(exercise, answer)], [exercise.expected(case)])


def exercise_ids():
    """All exercise ids, in chapter order."""
    return list(EXERCISES)


def get_exercise(exercise_id):
    if not isinstance(exercise_id, str) or exercise_id not in EXERCISES:
        raise ValueError(f"unknown exercise id {exercise_id!r}; the ids are: {', '.join(EXERCISES)}.")
    return EXERCISES[exercise_id]


def get_case(exercise_id, number):
    """The inputs of public case ``number`` (1-based, as in the report) as a dict, to debug an answer.

    For example ``get_case("bn_forward", 4)`` -> {"a": ..., "gamma": ..., "beta": ..., "eps": ...}.
    """
    exercise = get_exercise(exercise_id)
    if exercise.kind == "value":
        raise ValueError(f"{exercise_id} is a value exercise: it has no inputs.")
    cases = exercise.cases(PUBLIC_SEED)
    if not isinstance(number, int) or not 1 <= number <= len(cases):
        raise ValueError(f"number must be an int from 1 to {len(cases)}, got {number!r}.")
    return dict(zip(exercise.params, (_copy_arg(x) for x in cases[number - 1].args), strict=True))


# --------------------------------------------------------------------------------------------
# The catalogue
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mistake:
    """A known wrong answer: ``variant(*case.args)`` (functions) or ``variant()`` (values), and its hint."""

    hint: str
    variant: Callable

    def output(self, exercise, case):
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                raw = self.variant(*case.args)
            return _convert(raw, exercise.output) if exercise.kind == "function" else _convert_value(raw, exercise)
        except Exception:  # a variant undefined for this case (e.g. sqrt of a negative gamma) matches nothing
            return None


@dataclass(frozen=True)
class Exercise:
    """One exercise: its id, kind ("function"/"value"), chapter and how to check it.

    params:    argument names, in the signature's order (function exercises).
    output:    ("array",) | ("tuple", k, names) for functions; ("scalar", ()) | ("array", shape) |
               ("int pair", "names") for values.
    public:    () -> [(label, args)], the fixed public cases;  random: rng -> (label, args), one random case.
    reference: computes the expected output from bnlib (from a case's args, or of nothing for values).
    forbidden: "module:qualname" (or "module:*") specs an answer may not call.
    """

    id: str
    chapter: int
    kind: str
    title: str
    reference: Callable
    params: tuple = ()
    output: tuple = ("array",)
    public: Callable = None
    random: Callable = None
    mistakes: tuple = ()
    forbidden: tuple = ()

    @property
    def output_names(self):
        if self.output[0] == "int pair":
            return tuple(self.output[1].split(", "))
        return self.output[2] if self.output[0] == "tuple" else None

    def cases(self, seed):
        """The public cases followed by randomized ones drawn from ``seed``: N_CASES in all."""
        public = [Case(f"case {i + 1} (public: {label})", args, True) for i, (label, args) in enumerate(self.public())]
        rng = np.random.default_rng([_stable_hash(self.id), seed])
        randomized = []
        for k in range(len(public), N_CASES):
            label, args = self.random(rng)
            randomized.append(Case(f"case {k + 1} (random: {label})", args, False))
        return public + randomized

    def expected(self, case):
        out = self.reference(*case.args)
        return _convert(out, self.output) if self.kind == "function" else _convert_value(out, self)


def _stable_hash(text):
    return zlib.crc32(text.encode())


def _shape(x):
    return "x".join(str(d) for d in np.shape(x))


def _scale_label(scale):
    return f"scale {scale:.2g}"


def _random_batch(rng, m=None, n=None):
    m = int(rng.integers(2, 13)) if m is None else m
    n = int(rng.integers(1, 6)) if n is None else n
    scale = float(10.0 ** rng.uniform(-2, 2))
    a = rng.normal(rng.normal(0, 3, n) * scale, scale, (m, n))
    return a, scale


def _random_eps(rng):
    return float(rng.choice([1e-3, 1e-2, 1e-5, 0.1]))


_NOTES_A = np.array([[2.0], [0.0], [2.0], [4.0]])
_KERAS_REF = "bnlib.keras_ref:*"


# ---- shared mistake formulas (deliberately wrong, to recognise answers) ----

def _stats(a, axis=0, ddof=0):
    return a.mean(axis=axis, keepdims=True), a.var(axis=axis, ddof=ddof, keepdims=True)


def _norm(a, eps, axis=0, ddof=0, eps_outside=False, no_sqrt=False):
    mu, var = _stats(a, axis, ddof)
    if no_sqrt:
        return (a - mu) / (var + eps)
    return (a - mu) / (np.sqrt(var) + eps) if eps_outside else (a - mu) / np.sqrt(var + eps)


_HINT_DDOF1 = ("your answer matches the variance divided by m - 1. Batch normalization (and Keras) divides by m: "
               "sigma^2 = (1/m) sum (a - mu)^2, i.e. np.var(a, axis=0) with its default ddof=0.")
_HINT_EPS_MISSING = ("your answer matches the formula without eps. eps goes inside the square root: "
                     "(a - mu) / sqrt(sigma^2 + eps).")
_HINT_EPS_OUTSIDE = ("your answer matches eps added outside the square root, (a - mu) / (sqrt(sigma^2) + eps); "
                     "it belongs inside: (a - mu) / sqrt(sigma^2 + eps).")
_HINT_NO_SQRT = "your answer divides by the variance; divide by the standard deviation sqrt(sigma^2 + eps)."
_HINT_AXIS_BN = ("your answer matches statistics over the wrong axis: batch normalization averages each feature "
                 "over the m examples of the batch, axis=0 of an (m, n) array (one mean per column).")
_HINT_GB_FORGOTTEN = "your answer matches a_std alone: finish with beta + gamma * a_std."
_HINT_GB_SWAPPED = "your answer matches gamma and beta swapped: gamma scales, beta shifts: beta + gamma * a_std."
_HINT_BETA_INSIDE = "your answer matches gamma * (a_std + beta); beta is added after scaling: beta + gamma * a_std."
_HINT_SQRT_GAMMA = ("your answer scales by sqrt(gamma). The notes' slip: the spread of beta + gamma * a_std is "
                    "|gamma|, so scale by gamma itself.")


def _affine_mistakes(normalize):
    """Mistakes in the last step beta + gamma * a_std, for a normalization ``normalize(a, eps)``."""
    return (
        Mistake(_HINT_GB_FORGOTTEN, lambda a, gamma, beta, eps, *r: normalize(a, eps)),
        Mistake(_HINT_GB_SWAPPED, lambda a, gamma, beta, eps, *r: gamma + beta * normalize(a, eps)),
        Mistake(_HINT_BETA_INSIDE, lambda a, gamma, beta, eps, *r: gamma * (normalize(a, eps) + beta)),
        Mistake(_HINT_SQRT_GAMMA, lambda a, gamma, beta, eps, *r: beta + np.sqrt(gamma) * normalize(a, eps)),
    )


# ---- ch1 standardize ----

def _ref_standardize(X):
    from .stats import standardize

    return standardize(X, ddof=1)[0]


def _public_standardize():
    X2 = np.array([[1.0, 150.0], [2.0, 310.0], [3.0, 280.0], [4.0, 120.0], [5.0, 240.0]])
    X3 = np.array([[0.5, -1.0, 10.0], [0.7, 1.0, 30.0], [0.2, 3.0, 20.0], [0.9, 5.0, 60.0],
                   [0.4, 2.0, 50.0], [0.1, 4.0, 40.0]])
    return [("the notes' batch [2, 0, 2, 4]", (_NOTES_A.copy(),)), ("X 5x2", (X2,)), ("X 6x3", (X3,))]


def _random_standardize(rng):
    X, scale = _random_batch(rng, m=int(rng.integers(3, 13)))
    return f"X {_shape(X)}, {_scale_label(scale)}", (X,)


_STANDARDIZE = Exercise(
    "standardize", 1, "function", "Standardize the inputs", _ref_standardize, ("X",), ("array",),
    _public_standardize, _random_standardize,
    mistakes=(
        Mistake("your answer matches the variance divided by m. The notes' input normalization divides by m - 1: "
                "np.var(X, axis=0, ddof=1) (or np.std(X, axis=0, ddof=1)).", lambda X: _norm(X, 0.0)),
        Mistake("your answer matches statistics over the wrong axis: each feature (column) is standardized over "
                "the m examples, axis=0 of an (m, n) array.", lambda X: _norm(X, 0.0, axis=1, ddof=1)),
        Mistake("your answer divides by the variance; divide by the standard deviation, its square root.",
                lambda X: _norm(X, 0.0, ddof=1, no_sqrt=True)),
        Mistake("your answer only centers X; also divide by the standard deviation.",
                lambda X: X - X.mean(axis=0)),
        Mistake("your answer adds an eps; the notes' input normalization has none (eps belongs to batch norm).",
                lambda X: _norm(X, 1e-3, ddof=1)),
    ),
    forbidden=("bnlib.stats:standardize", _KERAS_REF),
)


# ---- ch1 condition_number ----

_CN_X = np.array([10.0, 20.0, 30.0, 40.0, 50.0])


def _ref_condition_number():
    from .regression import hessian_condition_number

    return hessian_condition_number(_CN_X)


def _cn_variant(transform):
    def variant():
        from .regression import regression_hessian

        return transform(np.linalg.eigvalsh(regression_hessian(_CN_X)))
    return variant


_CONDITION_NUMBER = Exercise(
    "condition_number", 1, "value", "The condition number of the raw inputs' Hessian", _ref_condition_number,
    output=("scalar", ()),
    mistakes=(
        Mistake("your answer is smallest/largest eigenvalue; the condition number is largest/smallest (>= 1).",
                _cn_variant(lambda lam: lam[0] / lam[-1])),
        Mistake("your answer is the ratio of the singular values of the design matrix [1, x], the square root of "
                "the Hessian's condition number; the Hessian (1/m) A^T A squares it.",
                _cn_variant(lambda lam: np.sqrt(lam[-1] / lam[0]))),
        Mistake("your answer is the condition number for standardized x; the exercise asks for the raw x.",
                lambda: 1.0),
    ),
    forbidden=("bnlib.regression:*",),
)


# ---- ch2 bn_forward ----

def _ref_bn_forward(a, gamma, beta, eps):
    from .batchnorm import batchnorm_forward

    return batchnorm_forward(a, gamma, beta, eps)[0]


def _public_bn_forward():
    rng = np.random.default_rng(1)
    a2 = np.array([[1.0, 10.0, -3.0], [2.0, 30.0, -1.0], [4.0, 20.0, 0.0], [7.0, 60.0, 2.0]])
    a3 = rng.normal(0.0, 0.02, (6, 2))  # variance ~4e-4 < eps: where eps matters
    return [
        ("the notes' batch [2, 0, 2, 4], gamma 1, beta 0, eps 1e-3", (_NOTES_A.copy(), np.ones(1), np.zeros(1), 1e-3)),
        ("a 4x3, gamma [2, 0.5, -1], beta [1, 0, 3]", (a2, np.array([2.0, 0.5, -1.0]), np.array([1.0, 0.0, 3.0]),
                                                       1e-3)),
        ("a 6x2 with tiny variance, eps 1e-3", (a3, np.array([1.5, 2.0]), np.array([0.5, -1.0]), 1e-3)),
    ]


def _random_bn_forward(rng):
    a, scale = _random_batch(rng)
    n = a.shape[1]
    eps = _random_eps(rng)
    gamma = rng.normal(1.0, 0.5, n)
    beta = rng.normal(0.0, 1.0, n)
    return f"a {_shape(a)}, {_scale_label(scale)}, eps {eps:g}", (a, gamma, beta, eps)


_BN_FORWARD = Exercise(
    "bn_forward", 2, "function", "Batch normalization, training mode", _ref_bn_forward,
    ("a", "gamma", "beta", "eps"), ("array",), _public_bn_forward, _random_bn_forward,
    mistakes=(
        Mistake(_HINT_DDOF1, lambda a, gamma, beta, eps: beta + gamma * _norm(a, eps, ddof=1)),
        Mistake(_HINT_EPS_MISSING, lambda a, gamma, beta, eps: beta + gamma * _norm(a, 0.0)),
        Mistake(_HINT_EPS_OUTSIDE, lambda a, gamma, beta, eps: beta + gamma * _norm(a, eps, eps_outside=True)),
        Mistake(_HINT_NO_SQRT, lambda a, gamma, beta, eps: beta + gamma * _norm(a, eps, no_sqrt=True)),
        Mistake(_HINT_AXIS_BN, lambda a, gamma, beta, eps: beta + gamma * _norm(a, eps, axis=1)),
        Mistake("your answer matches inference mode with a fresh layer's moving statistics (mean 0, variance 1): "
                "(a - 0) / sqrt(1 + eps). In training mode, normalize with the batch's own mean and variance "
                "(in Keras: call the layer with training=True).",
                lambda a, gamma, beta, eps: beta + gamma * a / np.sqrt(1.0 + eps)),
    ) + _affine_mistakes(lambda a, eps: _norm(a, eps)),
    forbidden=("bnlib.batchnorm:*", "bnlib.layer:*", "bnlib.alternatives:*", _KERAS_REF),
)


# ---- ch2 spread ----

def _spread_with(gamma=4.0, eps=0.0, ddof=0):
    def value():
        from .batchnorm import batchnorm_forward

        out = batchnorm_forward(_NOTES_A, np.array([gamma]), np.array([1.0]), eps)[0]
        return float(np.std(out, ddof=ddof))
    return value


_SPREAD = Exercise(
    "spread", 2, "value", "The spread of beta + gamma * a_std", _spread_with(),
    output=("scalar", ()),
    mistakes=(
        Mistake(_HINT_SQRT_GAMMA, lambda: 2.0),
        Mistake("your answer is the variance, gamma^2; the spread (standard deviation) is its square root.",
                lambda: 16.0),
        Mistake("your answer is the standard deviation with 1/(m - 1); over a batch, as in batch normalization, "
                "divide by m (np.std's default ddof=0).", _spread_with(ddof=1)),
        Mistake("your answer uses eps = 1e-3; the exercise sets eps = 0.", _spread_with(eps=1e-3)),
        Mistake("your answer is beta, the mean of the output; the spread is its standard deviation.", lambda: 1.0),
    ),
)


# ---- ch3 bn_backward ----

def _ref_bn_backward(dout, a, gamma, eps):
    from .backprop import batchnorm_backward
    from .batchnorm import batchnorm_forward

    _, cache = batchnorm_forward(a, gamma, np.zeros_like(gamma), eps)
    return batchnorm_backward(dout, cache)


def _backward_variant(drop_mu=False, drop_var=False, ddof=0, eps_used=None, swap=False, no_gamma=False):
    """da by the chain rule with one of its pieces wrong (the usual slips)."""
    def variant(dout, a, gamma, eps):
        e = eps if eps_used is None else eps_used
        m = a.shape[0]
        mu, var = _stats(a, 0, ddof)
        s = np.sqrt(var + e)
        a_std = (a - mu) / s
        d_std = dout * (1.0 if no_gamma else gamma)
        da = d_std / s
        if not drop_var:
            d_var = np.sum(d_std * (a - mu), axis=0) * -0.5 * s**-3
            da = da + d_var * 2.0 * (a - mu) / (m - ddof)
        if not drop_mu:
            da = da - np.sum(d_std / s, axis=0) / m
        dgamma, dbeta = np.sum(dout * a_std, axis=0), np.sum(dout, axis=0)
        return (da, dbeta, dgamma) if swap else (da, dgamma, dbeta)
    return variant


_HINT_DROP_MU = ("your da matches the chain rule without the path through mu: every a^(i) also moves the mean, "
                 "which adds dL/dmu * (1/m) (here -(1/m) sum gamma * dout / sqrt(sigma^2 + eps)).")
_HINT_DROP_VAR = ("your da matches the chain rule without the path through sigma^2: every a^(i) also moves the "
                  "variance, which adds dL/dsigma^2 * 2 (a - mu) / m.")
_HINT_DROP_BOTH = ("your da treats mu and sigma^2 as constants (da = gamma * dout / sqrt(sigma^2 + eps)); in "
                   "training mode they depend on every a^(i): add the paths through mu and sigma^2.")

_HINT_SWAP = "dgamma and dbeta are swapped: dbeta = sum of dout, dgamma = sum of dout * a_std."

_BACKWARD_MISTAKES = (
    Mistake(_HINT_DROP_BOTH, _backward_variant(drop_mu=True, drop_var=True)),
    Mistake(_HINT_DROP_MU, _backward_variant(drop_mu=True)),
    Mistake(_HINT_DROP_VAR, _backward_variant(drop_var=True)),
    Mistake(_HINT_DDOF1, _backward_variant(ddof=1)),
    Mistake("your answer matches the gradients without eps; eps stays inside sqrt(sigma^2 + eps) in the backward "
            "pass too.", _backward_variant(eps_used=0.0)),
    Mistake(_HINT_SWAP, _backward_variant(swap=True)),
    Mistake("your da lacks the factor gamma: out = beta + gamma * a_std, so dL/da_std = gamma * dout.",
            _backward_variant(no_gamma=True)),
)


def _public_bn_backward():
    rng = np.random.default_rng(3)
    a2 = rng.normal(0.0, 1.0, (5, 3))
    a3 = rng.normal(0.0, 0.03, (4, 2))
    return [
        ("the notes' batch, dout [1, 0, 0, 0], gamma 2", (np.array([[1.0], [0.0], [0.0], [0.0]]), _NOTES_A.copy(),
                                                          np.array([2.0]), 1e-3)),
        ("a 5x3, dout random", (rng.normal(0.0, 1.0, (5, 3)), a2, np.array([1.0, -2.0, 0.5]), 1e-3)),
        ("a 4x2 with tiny variance", (rng.normal(0.0, 1.0, (4, 2)), a3, np.array([1.5, 0.7]), 1e-3)),
    ]


def _random_bn_backward(rng):
    a, scale = _random_batch(rng)
    n = a.shape[1]
    eps = _random_eps(rng)
    return (f"a {_shape(a)}, {_scale_label(scale)}, eps {eps:g}",
            (rng.normal(0.0, 1.0, a.shape), a, rng.normal(1.0, 0.5, n), eps))


_BN_BACKWARD = Exercise(
    "bn_backward", 3, "function", "The backward pass of batch normalization", _ref_bn_backward,
    ("dout", "a", "gamma", "eps"), ("tuple", 3, ("da", "dgamma", "dbeta")), _public_bn_backward,
    _random_bn_backward, _BACKWARD_MISTAKES,
    forbidden=("bnlib.backprop:*", "bnlib.gradcheck:*", _KERAS_REF),
)


# ---- ch3 da_seed ----

_SEED_ARGS = (np.array([[1.0], [0.0], [0.0], [0.0]]), _NOTES_A, np.array([2.0]), 1e-3)


def _ref_da_seed():
    return _ref_bn_backward(*(_copy_arg(x) for x in _SEED_ARGS))[0]


def _seed_variant(mistake):
    return Mistake(mistake.hint, lambda: mistake.variant(*(_copy_arg(x) for x in _SEED_ARGS))[0])


_DA_SEED = Exercise(
    "da_seed", 3, "value", "One backward pass by hand", _ref_da_seed, output=("array", (4, 1)),
    # Here dout is 1 at an example with a_std = 0, so the path through sigma^2 contributes nothing and
    # dropping it is not a visible mistake; dgamma/dbeta do not enter da.
    mistakes=tuple(_seed_variant(m) for m in _BACKWARD_MISTAKES if m.hint not in (_HINT_DROP_VAR, _HINT_SWAP))
    + (Mistake("your answer is dL/da_std = gamma * dout; continue through a_std = (a - mu) / sqrt(sigma^2 + eps) "
               "to a.", lambda: 2.0 * _SEED_ARGS[0]),),
    forbidden=("bnlib.backprop:*", "bnlib.gradcheck:*"),
)


# ---- ch4 update_moving_stats ----

def _ref_update_moving_stats(moving_mean, moving_var, batch_mean, batch_var, momentum):
    from .layer import update_moving_stats

    return update_moving_stats(moving_mean, moving_var, batch_mean, batch_var, momentum)


def _public_update():
    return [
        ("a fresh layer after the notes' batch, momentum 0.99",
         (np.zeros(1), np.ones(1), np.array([2.0]), np.array([2.0]), 0.99)),
        ("3 features, momentum 0.9", (np.array([0.5, -1.0, 2.0]), np.array([1.0, 0.2, 4.0]),
                                      np.array([1.5, 0.0, 2.5]), np.array([0.5, 0.3, 1.0]), 0.9)),
        ("momentum 0.5", (np.array([1.0, 3.0]), np.array([2.0, 1.0]), np.array([-1.0, 5.0]),
                          np.array([4.0, 3.0]), 0.5)),
    ]


def _random_update(rng):
    n = int(rng.integers(1, 7))
    momentum = float(rng.choice([0.99, 0.9, 0.8, 0.999, 0.95]))
    scale = float(10.0 ** rng.uniform(-1, 2))
    return (f"n {n}, momentum {momentum:g}, {_scale_label(scale)}",
            (rng.normal(0, scale, n), rng.uniform(0.1, 2, n) * scale**2, rng.normal(0, scale, n),
             rng.uniform(0.1, 2, n) * scale**2, momentum))


_UPDATE = Exercise(
    "update_moving_stats", 4, "function", "Update the moving statistics", _ref_update_moving_stats,
    ("moving_mean", "moving_var", "batch_mean", "batch_var", "momentum"), ("tuple", 2, ("mean", "var")),
    _public_update, _random_update,
    mistakes=(
        Mistake("your answer applies momentum the PyTorch way (momentum weights the NEW value). In Keras's "
                "convention momentum weights the OLD one: mean = momentum * moving_mean + (1 - momentum) * "
                "batch_mean.",
                lambda mm, mv, bm, bv, mom: ((1 - mom) * mm + mom * bm, (1 - mom) * mv + mom * bv)),
        Mistake("your answer returns the old moving statistics unchanged; mix in the batch's: "
                "momentum * old + (1 - momentum) * batch.", lambda mm, mv, bm, bv, mom: (mm, mv)),
        Mistake("your answer returns the batch statistics; the moving average keeps momentum of the old value.",
                lambda mm, mv, bm, bv, mom: (bm, bv)),
        Mistake("your answer returns (var, mean); return (mean, var).",
                lambda mm, mv, bm, bv, mom: (mom * mv + (1 - mom) * bv, mom * mm + (1 - mom) * bm)),
    ),
    forbidden=("bnlib.layer:*", _KERAS_REF),
)


# ---- ch4 bn_inference ----

def _ref_bn_inference(a, moving_mean, moving_var, gamma, beta, eps):
    from .batchnorm import batchnorm_inference

    return batchnorm_inference(a, moving_mean, moving_var, gamma, beta, eps)


def _inf_norm(a, mm, mv, eps, eps_outside=False, no_sqrt=False):
    if no_sqrt:
        return (a - mm) / (mv + eps)
    return (a - mm) / (np.sqrt(mv) + eps) if eps_outside else (a - mm) / np.sqrt(mv + eps)


def _public_bn_inference():
    return [
        ("one example, 3 features", (np.array([[1.0, -2.0, 0.5]]), np.array([0.5, -1.0, 0.0]),
                                     np.array([4.0, 0.25, 1e-3]), np.array([1.0, 2.0, -1.0]),
                                     np.array([0.0, 1.0, 0.5]), 1e-3)),
        ("the notes' batch with moving mean 2, variance 2", (_NOTES_A.copy(), np.array([2.0]), np.array([2.0]),
                                                             np.array([3.0]), np.array([1.0]), 1e-3)),
        ("a 5x2, small moving variance", (np.array([[0.1, 5.0], [0.2, 6.0], [0.0, 7.0], [0.3, 4.0], [0.1, 5.5]]),
                                          np.array([0.1, 5.0]), np.array([2e-3, 1.5]), np.array([2.0, 0.5]),
                                          np.array([-1.0, 1.0]), 1e-3)),
    ]


def _random_bn_inference(rng):
    a, scale = _random_batch(rng, m=int(rng.integers(1, 9)))
    n = a.shape[1]
    eps = _random_eps(rng)
    mm = a.mean(axis=0) + rng.normal(0, scale, n)
    mv = rng.uniform(0.2, 3.0, n) * scale**2
    return (f"a {_shape(a)}, {_scale_label(scale)}, eps {eps:g}",
            (a, mm, mv, rng.normal(1.0, 0.5, n), rng.normal(0.0, 1.0, n), eps))


def _inference_affine(normalize):
    return (
        Mistake(_HINT_GB_FORGOTTEN, lambda a, mm, mv, g, b, eps: normalize(a, mm, mv, eps)),
        Mistake(_HINT_GB_SWAPPED, lambda a, mm, mv, g, b, eps: g + b * normalize(a, mm, mv, eps)),
        Mistake(_HINT_BETA_INSIDE, lambda a, mm, mv, g, b, eps: g * (normalize(a, mm, mv, eps) + b)),
    )


_BN_INFERENCE = Exercise(
    "bn_inference", 4, "function", "Batch normalization, inference mode", _ref_bn_inference,
    ("a", "moving_mean", "moving_var", "gamma", "beta", "eps"), ("array",), _public_bn_inference,
    _random_bn_inference,
    mistakes=(
        Mistake("your answer normalizes with the batch's own statistics (training mode). At inference use the "
                "moving statistics, so that each example's output does not depend on its batch-mates.",
                lambda a, mm, mv, g, b, eps: b + g * _norm(a, eps)),
        Mistake(_HINT_EPS_MISSING, lambda a, mm, mv, g, b, eps: b + g * _inf_norm(a, mm, mv, 0.0)),
        Mistake(_HINT_EPS_OUTSIDE, lambda a, mm, mv, g, b, eps: b + g * _inf_norm(a, mm, mv, eps, eps_outside=True)),
        Mistake("your answer divides by moving_var + eps; moving_var is a variance: divide by "
                "sqrt(moving_var + eps).",
                lambda a, mm, mv, g, b, eps: b + g * _inf_norm(a, mm, mv, eps, no_sqrt=True)),
    ) + _inference_affine(_inf_norm),
    forbidden=("bnlib.batchnorm:batchnorm_inference", "bnlib.layer:*", "bnlib.folding:*", _KERAS_REF),
)


# ---- ch4 fold_batchnorm ----

def _ref_fold(W, b, gamma, beta, moving_mean, moving_var, eps):
    from .folding import fold_batchnorm

    return fold_batchnorm(W, b, gamma, beta, moving_mean, moving_var, eps)


def _fold_variant(eps_mode="inside", center=True, bias=True, shift=True, rows=False):
    def variant(W, b, gamma, beta, mm, mv, eps):
        var = {"inside": np.sqrt(mv + eps), "missing": np.sqrt(mv), "outside": np.sqrt(mv) + eps,
               "no sqrt": mv + eps}[eps_mode]
        s = gamma / var
        Wf = W * s[:, None] if rows else W * s
        bf = s * ((b if bias else 0.0) - (mm if center else 0.0)) + (beta if shift else 0.0)
        return Wf, bf
    return variant


def _public_fold():
    W = np.array([[1.0, -2.0, 0.5], [0.0, 1.0, 2.0]])
    Wsq = np.array([[1.0, 2.0], [-1.0, 0.5]])
    return [
        ("W 2x3", (W, np.array([0.1, 0.2, -0.3]), np.array([2.0, 0.5, -1.0]), np.array([1.0, 0.0, 0.5]),
                   np.array([0.5, -1.0, 2.0]), np.array([4.0, 0.25, 1.0]), 1e-3)),
        ("W 2x2, small moving variance", (Wsq, np.array([1.0, -1.0]), np.array([1.5, 3.0]), np.array([-0.5, 2.0]),
                                          np.array([1.0, -0.5]), np.array([1e-3, 2.0]), 1e-3)),
        ("W 3x1, eps 0.1", (np.array([[1.0], [2.0], [3.0]]), np.array([0.5]), np.array([2.0]), np.array([1.0]),
                            np.array([3.0]), np.array([0.5]), 0.1)),
    ]


def _random_fold(rng):
    n_in, n = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    eps = _random_eps(rng)
    scale = float(10.0 ** rng.uniform(-1, 1))
    return (f"W {n_in}x{n}, eps {eps:g}",
            (rng.normal(0, 1, (n_in, n)), rng.normal(0, 1, n), rng.normal(1, 0.5, n), rng.normal(0, 1, n),
             rng.normal(0, scale, n), rng.uniform(0.1, 2, n) * scale**2, eps))


_FOLD = Exercise(
    "fold_batchnorm", 4, "function", "Fold batch normalization into the Dense layer", _ref_fold,
    ("W", "b", "gamma", "beta", "moving_mean", "moving_var", "eps"), ("tuple", 2, ("W_folded", "b_folded")),
    _public_fold, _random_fold,
    mistakes=(
        Mistake("b_folded forgets the moving mean: BN subtracts it from a @ W + b, so b_folded = "
                "gamma * (b - moving_mean) / sqrt(moving_var + eps) + beta.", _fold_variant(center=False)),
        Mistake("b_folded forgets the Dense bias b: b_folded = gamma * (b - moving_mean) / sqrt(moving_var + eps) "
                "+ beta.", _fold_variant(bias=False)),
        Mistake("b_folded forgets beta, BN's shift, which is added after scaling.", _fold_variant(shift=False)),
        Mistake(_HINT_EPS_MISSING, _fold_variant("missing")),
        Mistake(_HINT_EPS_OUTSIDE, _fold_variant("outside")),
        Mistake("your answer divides by moving_var + eps; divide by its square root.", _fold_variant("no sqrt")),
        Mistake("your W_folded scales the rows of W; each OUTPUT unit j (a column of W, since y = a @ W + b) gets "
                "its own factor gamma_j / sqrt(moving_var_j + eps): W * scale, broadcasting over rows.",
                _fold_variant(rows=True)),
    ),
    forbidden=("bnlib.folding:*", "bnlib.batchnorm:batchnorm_inference", "bnlib.layer:*", _KERAS_REF),
)


# ---- ch5 invariance_gap ----

def _gap_with(eps=1e-3, ddof=None):
    def value():
        from .batchnorm import batchnorm_forward

        g, b = np.ones(1), np.zeros(1)
        if ddof is None:
            return float(np.max(np.abs(batchnorm_forward(100 * _NOTES_A, g, b, eps)[0]
                                       - batchnorm_forward(_NOTES_A, g, b, eps)[0])))
        return float(np.max(np.abs(_norm(100 * _NOTES_A, eps, ddof=ddof) - _norm(_NOTES_A, eps, ddof=ddof))))
    return value


_INVARIANCE_GAP = Exercise(
    "invariance_gap", 5, "value", "How invariant is BN to scaling its input?", _gap_with(),
    output=("scalar", ()),
    mistakes=(
        Mistake("your answer is what eps = 0 gives (exact invariance); with eps = 1e-3 inside the square root the "
                "small batch is damped a little more than the large one, so the gap is small but not 0.",
                _gap_with(eps=0.0)),
        Mistake(_HINT_DDOF1, _gap_with(ddof=1)),
    ),
)


# ---- ch6 bn_param_count ----

def _param_count(units=(100, 100, 100), moving=True, trainable_moving=False):
    def value():
        from .layer import BatchNorm

        total = trainable = 0
        for n in units:
            layer = BatchNorm()
            layer.build(n)
            gamma, beta, mean, var = layer.get_weights()
            total += gamma.size + beta.size + (mean.size + var.size if moving else 0)
            trainable += gamma.size + beta.size + (mean.size + var.size if trainable_moving else 0)
        return (total, trainable)
    return value


_BN_PARAM_COUNT = Exercise(
    "bn_param_count", 6, "value", "Count the batch-normalization weights", _param_count(),
    output=("int pair", "total, trainable"),
    mistakes=(
        Mistake("your total leaves out the moving mean and moving variance: each BN layer stores 4 weights per "
                "unit (gamma, beta, moving mean, moving variance).", _param_count(moving=False)),
        Mistake("your trainable count includes the moving statistics; they are updated by the moving average, not "
                "by gradient descent, so only gamma and beta are trainable.", _param_count(trainable_moving=True)),
        Mistake("your answer counts one BN layer; the network has one after each of its 3 hidden layers.",
                _param_count(units=(100,))),
        Mistake("the tuple is (total, trainable): the total comes first.", lambda: _param_count()()[::-1]),
    ),
)


# ---- ch7 layer_norm ----

def _ref_layer_norm(a, gamma, beta, eps):
    from .alternatives import layer_norm

    return layer_norm(a, gamma, beta, eps)


def _ln(a, eps, ddof=0, eps_outside=False):
    return _norm(a, eps, axis=1, ddof=ddof, eps_outside=eps_outside)


def _public_layer_norm():
    rng = np.random.default_rng(7)
    return [
        ("the notes' values as one example, 4 features", (_NOTES_A.T.copy(), np.ones(4), np.zeros(4), 1e-3)),
        ("a 3x4", (np.array([[1.0, 2.0, 3.0, 10.0], [0.0, -1.0, 1.0, 0.5], [5.0, 5.5, 4.0, 6.0]]),
                   np.array([1.0, 2.0, 0.5, -1.0]), np.array([0.0, 1.0, -1.0, 2.0]), 1e-3)),
        ("a 5x3 with tiny variance", (rng.normal(0, 0.02, (5, 3)), np.array([1.5, 1.0, 2.0]), np.array([0.5, 0, -1]),
                                      1e-3)),
    ]


def _random_layer_norm(rng):
    m, n = int(rng.integers(1, 9)), int(rng.integers(2, 8))
    scale = float(10.0 ** rng.uniform(-2, 2))
    a = rng.normal(rng.normal(0, 3, (m, 1)) * scale, scale, (m, n))
    eps = _random_eps(rng)
    return (f"a {_shape(a)}, {_scale_label(scale)}, eps {eps:g}",
            (a, rng.normal(1.0, 0.5, n), rng.normal(0.0, 1.0, n), eps))


_LAYER_NORM = Exercise(
    "layer_norm", 7, "function", "Layer normalization", _ref_layer_norm, ("a", "gamma", "beta", "eps"),
    ("array",), _public_layer_norm, _random_layer_norm,
    mistakes=(
        Mistake("your answer takes the statistics over the batch (axis 0): that is batch normalization. Layer "
                "normalization averages over each example's n features: axis=1 (keepdims=True).",
                lambda a, g, b, eps: b + g * _norm(a, eps, axis=0)),
        Mistake(_HINT_DDOF1, lambda a, g, b, eps: b + g * _ln(a, eps, ddof=1)),
        Mistake(_HINT_EPS_MISSING, lambda a, g, b, eps: b + g * _ln(a, 0.0)),
        Mistake(_HINT_EPS_OUTSIDE, lambda a, g, b, eps: b + g * _ln(a, eps, eps_outside=True)),
    ) + _affine_mistakes(_ln),
    forbidden=("bnlib.alternatives:*", "bnlib.batchnorm:*", _KERAS_REF),
)


EXERCISES = {ex.id: ex for ex in (
    _STANDARDIZE, _CONDITION_NUMBER, _BN_FORWARD, _SPREAD, _BN_BACKWARD, _DA_SEED, _UPDATE, _BN_INFERENCE,
    _FOLD, _INVARIANCE_GAP, _BN_PARAM_COUNT, _LAYER_NORM,
)}

