"""The exercises' data model: an Exercise, its Cases and known Mistakes, and the records of a check.

An :class:`Exercise` knows how to make its cases (public ones, then randomized ones from a seed), how
to compute the expected output (from bnlib's reference implementation) and which known mistakes to
recognize. What the student's answer did on a case is an :class:`Outcome`; a scored check is a
:class:`CheckResult`, whose repr is the report a notebook shows. Outputs are compared as float arrays:
:func:`convert_output` and :func:`convert_value` turn what an answer returned into them.
"""

import math
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "N_CASES",
    "BadOutput",
    "Case",
    "CaseResult",
    "CheckResult",
    "Exercise",
    "Mistake",
    "Outcome",
    "convert_output",
    "convert_value",
    "copy_arg",
    "is_low_precision",
    "to_float_array",
]

N_CASES = 10  # cases per function exercise (public + random); a value exercise is one case


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
    low_precision: bool = False  # the answer returned float32 (or float16) numbers


@dataclass(frozen=True)
class CaseResult:
    """One case of a scored check: its label, whether it passed, and the message for the student."""

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
        """True if every case passed (full marks)."""
        return self.score == self.max_score

    def __repr__(self):
        return self.report

    __str__ = __repr__


@dataclass(frozen=True)
class Mistake:
    """A known wrong answer: ``variant(*case.args)`` (functions) or ``variant()`` (values), and its hint."""

    hint: str
    variant: Callable

    def output(self, exercise, case):
        """What this mistake gives on ``case``, as float arrays, or None where it is undefined."""
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                raw = self.variant(*case.args)
            return convert_output(raw, exercise.output) if exercise.kind == "function" else convert_value(raw, exercise)
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
        """The names of the outputs in reports: a tuple for tuple outputs, None for one array or a value."""
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

    def hidden_cases(self, seed):
        """The grader's cases: N_CASES randomized ones drawn from the secret ``seed``, none of them public.

        Drawn from a stream of their own (not the one :meth:`cases` uses), so hard-coding the public
        cases, or the public check's randomized ones, earns nothing here.
        """
        rng = np.random.default_rng([_stable_hash(self.id), seed, _HIDDEN_STREAM])
        hidden = []
        for k in range(N_CASES):
            label, args = self.random(rng)
            hidden.append(Case(f"hidden case {k + 1} ({label})", args, False))
        return hidden

    def expected(self, case):
        """The reference output for ``case``, as float arrays (computed by bnlib)."""
        out = self.reference(*case.args)
        return convert_output(out, self.output) if self.kind == "function" else convert_value(out, self)


_HIDDEN_STREAM = 17  # separates the hidden cases' random stream from the public check's


def _stable_hash(text):
    return zlib.crc32(text.encode())


def copy_arg(x):
    """A fresh copy of an array argument (other arguments are immutable numbers), so an answer cannot alter a case."""
    return np.array(x, copy=True) if isinstance(x, np.ndarray) else x


class BadOutput(Exception):
    """An answer's output that is not numbers of the expected form; the message is for the student."""


def to_float_array(x, what):
    """Convert one output to a float64 array, or raise BadOutput with a message for the student."""
    if x is None:
        raise BadOutput(f"{what} is None (did you forget `return`?)")
    if callable(x) and not isinstance(x, np.ndarray):
        raise BadOutput(f"{what} is a function, not numbers")
    if isinstance(x, (str, bytes, dict, set)):
        raise BadOutput(f"{what} is a {type(x).__name__}, not numbers")
    try:
        arr = np.array(x, dtype=np.float64)
    except Exception:
        raise BadOutput(f"{what} ({type(x).__name__}) cannot be converted to a numeric array") from None
    return arr


def is_low_precision(raw, depth=0):
    """True if the output holds float32 or float16 numbers (numpy arrays or scalars, or lists/tuples of them)."""
    dtype = getattr(raw, "dtype", None)
    if isinstance(dtype, np.dtype):
        return dtype.kind in "fc" and dtype.itemsize < (8 if dtype.kind == "f" else 16)
    if isinstance(raw, (tuple, list)) and depth < 3:
        return any(is_low_precision(r, depth + 1) for r in raw[:10_000])
    return False


def convert_output(raw, spec):
    """Student output -> float arrays: one array (a list of rows counts as one), or a tuple of ``spec[1]`` arrays."""
    if spec[0] == "array":
        if isinstance(raw, tuple) and len(raw) in (2, 3) and isinstance(raw[0], np.ndarray):
            raise BadOutput(f"returned a {type(raw).__name__} of {len(raw)} items; return only the output array")
        return to_float_array(raw, "the result")
    k, names = spec[1], spec[2]
    if isinstance(raw, np.ndarray) and raw.ndim >= 1 and raw.shape[0] == k:
        raw = tuple(raw)
    if not isinstance(raw, (tuple, list)):
        raise BadOutput(f"returned a {type(raw).__name__}; return a tuple ({', '.join(names)})")
    if len(raw) != k:
        raise BadOutput(f"returned {len(raw)} values; return a tuple of {k}: ({', '.join(names)})")
    return tuple(to_float_array(r, name) for r, name in zip(raw, names, strict=True))


def convert_value(value, exercise):
    spec = exercise.output
    if spec[0] == "int pair":
        if isinstance(value, np.ndarray):
            value = tuple(value.tolist())
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            raise BadOutput(f"the answer is a {type(value).__name__}; give a tuple of two numbers ({spec[1]})")
        return tuple(to_float_array(v, name) for v, name in zip(value, spec[1].split(", "), strict=True))
    arr = to_float_array(value, "the answer")
    shape = spec[1]
    if arr.size != math.prod(shape):
        want = "one number" if shape == () else f"an array of shape {shape}"
        raise BadOutput(f"the answer has shape {arr.shape}; give {want}")
    return arr.reshape(shape)
