"""Running a student's answer safely: a time limit, a forbidden-call guard, and copies of every input.

This is the part of the exercises that both ``check`` (in the student's notebook) and the instructors'
grader (in its answer process, which loads this file by path and never imports bnlib: it may import only
numpy, ``.model`` and the standard library) use to call student code:

* :func:`call_with_limit` runs a function under a time limit. On the main thread of a Unix process
  (a Jupyter or Colab kernel) it is a ``SIGALRM`` timer that raises :class:`CaseTimeout` inside the
  student's code, so the kernel survives and nothing is left running; :class:`CaseTimeout` derives from
  ``BaseException`` so an ``except Exception`` in the student's code does not swallow it. Elsewhere
  (Windows, a worker thread) the call runs in a daemon thread that is abandoned after the limit, and an
  asynchronous exception is sent to stop it.
* :class:`ForbiddenCalls` is a profile hook (``sys.setprofile``) that records calls into the functions an
  exercise forbids (bnlib's or Keras's implementation of the very thing it asks for), for ``check``
  outside a notebook; where the grader runs answers, bnlib and Keras are not there at all.
* :func:`run_function_case` and :func:`run_value` turn whatever the answer does (exceptions, wrong types
  or shapes, NaN, changing its inputs in place, running too long) into an :class:`Outcome`.
"""

import ctypes
import os
import re
import signal
import sys
import threading

import numpy as np

from .model import BadOutput, Outcome, convert_output, convert_value, copy_arg, is_low_precision

__all__ = [
    "CASE_TIME_LIMIT",
    "CaseTimeout",
    "ForbiddenCalls",
    "call_with_limit",
    "describe_exception",
    "run_function_case",
    "run_value",
]

CASE_TIME_LIMIT = 5.0  # seconds per case

# The folder that holds the bnlib package: forbidden specs name modules relative to it.
_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class CaseTimeout(BaseException):
    """Raised inside the student's code when a case exceeds its time limit."""


class ForbiddenCalls:
    """A profile hook recording calls into forbidden functions (matched by file and qualified name).

    specs: "module:qualname" or "module:*" strings, e.g. "bnlib.batchnorm:batchnorm_forward" or
    "bnlib.keras_ref:*"; a module that is a package covers every file inside it.
    Calls are recorded in ``hits`` as dotted names, e.g. "bnlib.batchnorm.batchnorm_forward".
    """

    def __init__(self, specs):
        self.files, self.folders = {}, []
        for spec in specs:
            module, _, qual = spec.partition(":")
            base = os.path.join(_PACKAGE_PARENT, *module.split("."))
            if os.path.isdir(base):
                self.folders.append((_key(base) + os.sep, qual))
            else:
                self.files.setdefault(_key(base + ".py"), []).append(qual)
        self.hits = []
        self._seen = {}

    def rules_for(self, filename):
        """The qualname rules that apply to code from ``filename`` (an empty list if none)."""
        rules = self._seen.get(filename)
        if rules is None:
            key = _key(filename) if filename else ""
            rules = self.files.get(key, []) + [qual for folder, qual in self.folders if key.startswith(folder)]
            self._seen[filename] = rules
        return rules

    def match(self, code):
        """The dotted name of the forbidden function whose code object is ``code``, or None."""
        rules = self.rules_for(code.co_filename)
        q = code.co_qualname
        if not rules or q == "<module>":  # importing a module runs its body: that alone is not using it
            return None
        if any(rule == "*" or q == rule or q.startswith(rule + ".") for rule in rules):
            return f"{_dotted_module(code.co_filename)}.{q}"
        return None

    def __call__(self, frame, event, arg):
        if event != "call" or not (self.files or self.folders):
            return
        name = self.match(frame.f_code)
        if name:
            self.hits.append(name)

    @property
    def culprit(self):
        """The first public function called (helpers and module code are implementation details)."""
        public = [h for h in self.hits if not re.search(r"\.[_<]", h)]
        return (public or self.hits)[0]


def _key(path):
    return os.path.normcase(os.path.realpath(path))


def _dotted_module(filename):
    """bnlib/keras_ref/batchnorm.py -> "bnlib.keras_ref.batchnorm" (a package's __init__ is the package)."""
    relative = os.path.splitext(os.path.relpath(os.path.realpath(filename), os.path.realpath(_PACKAGE_PARENT)))[0]
    parts = relative.split(os.sep)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _alarm_available():
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def call_with_limit(func, time_limit, profiler):
    """Run ``func()``; returns (status, value_or_exception). Never raises except KeyboardInterrupt."""
    if _alarm_available():
        def on_alarm(signum, frame):
            raise CaseTimeout()

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
        except CaseTimeout:
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
        except CaseTimeout:
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
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(CaseTimeout))
        return "timeout", None
    return box.get("value", ("error", RuntimeError("the answer stopped without a result")))


def describe_exception(exc):
    """A short, deterministic description of an exception the answer raised (no memory addresses)."""
    if isinstance(exc, SystemExit):
        return "sys.exit() (an answer must return its result, not end the program)"
    text = f"{type(exc).__name__}: {exc}"
    text = re.sub(r"0x[0-9a-fA-F]+", "0x...", text).strip()
    return text if len(text) <= 200 else text[:197] + "..."


def _same(x, y):
    if isinstance(y, np.ndarray):
        return isinstance(x, np.ndarray) and x.shape == y.shape and bool(np.array_equal(x, y, equal_nan=True))
    return True


def run_function_case(exercise, func, case, time_limit=None):
    """Call the student's ``func`` on copies of ``case.args`` under the time limit -> :class:`Outcome`."""
    time_limit = CASE_TIME_LIMIT if time_limit is None else time_limit
    pristine = tuple(copy_arg(x) for x in case.args)
    given = tuple(copy_arg(x) for x in case.args)
    profiler = ForbiddenCalls(exercise.forbidden)

    def call():
        raw = func(*given)
        try:
            return "ok", (convert_output(raw, exercise.output), is_low_precision(raw))
        except BadOutput as exc:
            return "bad output", str(exc)

    status, value = call_with_limit(call, time_limit, profiler)
    if profiler.hits:
        return Outcome("forbidden", message=profiler.culprit)
    if status == "timeout":
        return Outcome("timeout", message=f"stopped after {time_limit:g} s (the time limit)")
    if status == "error":
        if isinstance(value, NotImplementedError):
            return Outcome("not attempted", message=describe_exception(value))
        return Outcome("error", message="raised " + describe_exception(value))
    inner_status, inner = value
    mutated = tuple(name for name, x, y in zip(exercise.params, given, pristine, strict=True) if not _same(x, y))
    if inner_status != "ok":
        return Outcome("bad output", message=inner, mutated=mutated)
    return Outcome("ok", value=inner[0], mutated=mutated, low_precision=inner[1])


def run_value(exercise, value, time_limit=None):
    """Convert a value answer to float arrays (guarded: odd objects can do anything) -> :class:`Outcome`."""
    time_limit = CASE_TIME_LIMIT if time_limit is None else time_limit
    def convert():
        try:
            return "ok", (convert_value(value, exercise), is_low_precision(value))
        except BadOutput as exc:
            return "bad output", str(exc)

    status, result = call_with_limit(convert, time_limit, ForbiddenCalls(()))
    if status == "timeout":
        return Outcome("timeout", message=f"converting the answer took more than {time_limit:g} s")
    if status == "error":
        return Outcome("error", message="converting the answer raised " + describe_exception(result))
    inner_status, inner = result
    if inner_status != "ok":
        return Outcome("bad output", message=inner)
    return Outcome("ok", value=inner[0], low_precision=inner[1])
