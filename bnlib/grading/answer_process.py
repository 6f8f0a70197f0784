"""The answer process: the only code that runs student code, as a script that never imports bnlib.

Run as ``python -I answer_process.py FD`` (inside bubblewrap when grading for credit, see
:func:`bnlib.grading.processes.isolated_command`). It reads one request (JSON) on stdin: for each notebook
of a submission, its import statements, its answer cells in order and the cases of the exercises to grade
(plain arrays); and the paths of the three modules it shares with ``check`` (``exercises/model.py``,
``exercises/runner.py``, ``grading/transport.py``, loaded by path as the package ``answer_support``: none of
them holds a reference implementation). It runs the answer cells in order; right after each graded
exercise's cell it reports that exercise (the value, or the function's outputs on the cases) as JSON lines
on the pipe ``FD``, written with references taken before any student code ran. Nothing here knows an
expected output.

Inside it, ``bnlib`` is a stand-in (:class:`StandIn`): ``bnlib.exercises.check`` is a no-op returning
None, the defaults' constants (``KERAS_EPS``, ...) are plain numbers, and every other name is a
placeholder that records the call and raises :class:`BnlibUnavailable`. Importing Keras or TensorFlow
raises ModuleNotFoundError (under bubblewrap their folders, and bnlib's, are not even mounted).
"""

import importlib.abc
import importlib.machinery
import importlib.util
import json
import math
import os
import sys
import types

import numpy as np

__all__ = ["BnlibUnavailable", "StandIn", "main"]

# Modules answers may not import: the reference frameworks (the grader hides their folders too).
HIDDEN = ("keras", "tensorflow", "tf_keras")

_CALLS = []  # names of bnlib placeholders called, in order (read by the reports)


class BnlibUnavailable(Exception):
    """Raised by a bnlib placeholder: bnlib's implementations do not exist where answers are graded."""


class _Placeholder:
    """A bnlib name in the answer process: calling it records the call and raises BnlibUnavailable."""

    def __init__(self, name):
        self._name = name

    def __call__(self, *args, **kwargs):
        _CALLS.append(self._name)
        raise BnlibUnavailable(f"{self._name} is not available where answers are graded (the grader runs the "
                               "answer cells without bnlib): compute it with numpy inside your answer cell")

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return _Placeholder(f"{self._name}.{attr}")

    def __repr__(self):
        return f"<unavailable {self._name}>"


def _no_check(*args, **kwargs):
    """The stand-in of ``bnlib.exercises.check``: grading happens outside the answer process."""
    return None


class _StandInModule(types.ModuleType):
    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        if self.__name__ == "bnlib.exercises" and attr == "check":
            return _no_check
        if self.__name__ == "bnlib" and attr in self.__dict__.get("_constants", {}):
            return self.__dict__["_constants"][attr]
        return _Placeholder(f"{self.__name__}.{attr}")


class StandIn(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """The import hook of the answer process: stand-in ``bnlib`` modules; Keras and TensorFlow refused.

    constants: bnlib's default constants ({name: number}), offered as ``bnlib.NAME``.
    """

    def __init__(self, constants):
        self.constants = dict(constants)

    def find_spec(self, fullname, path=None, target=None):
        root = fullname.split(".")[0]
        if root in HIDDEN:
            raise ModuleNotFoundError(f"No module named {fullname!r}: Keras and TensorFlow are not available "
                                      "where answers are graded", name=fullname)
        if root != "bnlib":
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec):
        module = _StandInModule(spec.name)
        module.__path__ = []
        if spec.name == "bnlib":
            module._constants = self.constants
        return module

    def exec_module(self, module):
        pass


def _load_support(paths):
    """Load model, runner and transport from their files as the package ``answer_support``."""
    package = types.ModuleType("answer_support")
    package.__path__ = []
    sys.modules["answer_support"] = package
    for name in ("model", "runner", "transport"):
        spec = importlib.util.spec_from_file_location(f"answer_support.{name}", paths[name])
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        setattr(package, name, module)
    return package


class _Exercise:
    """What the answer process knows of an exercise: its id, kind, arguments and output form (no reference)."""

    def __init__(self, spec):
        self.id, self.kind = spec["id"], spec["kind"]
        self.params = tuple(spec["params"])
        self.output = _output_spec(spec["output"])
        self.forbidden = ()


def _output_spec(raw):
    """The output spec as the model module expects it (tuples, not JSON lists)."""
    if raw[0] == "tuple":
        return ("tuple", raw[1], tuple(raw[2]))
    if raw[0] == "array" and len(raw) > 1:
        return ("array", tuple(raw[1]))
    if raw[0] == "scalar":
        return ("scalar", ())
    return tuple(raw)


def _strip_magics(source):
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n"))


def main(result_fd):
    """Run one request (see the module docstring); everything goes to the pipe ``result_fd``.

    Each notebook runs in a child forked from this process after numpy and the support modules were
    loaded and before any student code ran, so every notebook starts from the same pristine state at
    the cost of a fork, not of an interpreter; the child's process group is killed when it is done.
    """
    channel = os.fdopen(result_fd, "w", buffering=1)
    request = json.loads(sys.stdin.read())
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # the process ends when done; nothing to close
    support = _load_support(request["modules"])
    sys.meta_path.insert(0, StandIn(request.get("constants", {})))
    for name in [m for m in sys.modules if m.split(".")[0] in ("bnlib",) + HIDDEN]:
        del sys.modules[name]
    first, start = request["start"]
    for j, notebook in enumerate(request["notebooks"]):
        if j < first:
            continue
        channel.write(json.dumps({"kind": "start", "nb": j}) + "\n")
        channel.flush()
        pid = os.fork()
        if pid == 0:
            os.setpgid(0, 0)
            try:
                _run_notebook(notebook, j, start if j == first else 0, request["exec_limit"], channel, support)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        try:
            os.killpg(pid, 9)  # what the notebook left running (not what it detached into a new session)
        except OSError:
            pass
    # The end, said explicitly: a process an answer detached may hold the pipe open after this one exits.
    channel.write(json.dumps({"kind": "end"}) + "\n")
    channel.flush()


def _run_notebook(notebook, j, start, limit, channel, support):
    """Run one notebook's answer cells in order, reporting each graded exercise right after its cell."""
    runner, model, transport = support.runner, support.model, support.transport
    # Bound now, before any student code runs: an answer cell that patches json.dumps or the file
    # methods changes nothing of what reaches the grader.
    dumps, write, flush, calls = json.dumps, channel.write, channel.flush, _CALLS

    def send(obj):
        obj["nb"] = j
        write(dumps(obj) + "\n")
        flush()

    ns = {"__name__": "__main__", "__builtins__": __builtins__, "np": np, "numpy": np, "math": math}
    for statement in notebook["imports"]:
        try:
            exec(compile(statement, "<imports>", "exec"), ns)
        except Exception:  # an import that fails in the notebook fails here too; the answer may not need it
            pass
    errors = []
    for k, (cell_id, source) in enumerate(notebook["cells"]):
        before = len(calls)
        # Named by its exercise id, as the student sees it (a cell number would read as the notebook's).
        cell = f"the answer cell `# ANSWER: {cell_id}`"
        status, value = runner.call_with_limit(
            lambda src=source, cid=cell_id: exec(compile(_strip_magics(src), f"<ANSWER: {cid}>", "exec"), ns),
            limit, runner.ForbiddenCalls(()))
        if status == "timeout":
            errors.append(f"{cell} took more than {limit:g} s to run")
        elif status == "error":
            errors.append(f"{cell} raised {runner.describe_exception(value)}")
        spec = notebook["grade"].get(str(k))
        if spec is None or k < start:
            continue
        exercise = _Exercise(spec)
        target = ns.get(exercise.id)
        send({"kind": "ready", "cell": k, "defined": exercise.id in ns, "callable": callable(target),
              "errors": list(errors), "calls": calls[before:]})
        if exercise.kind == "value":
            send(dict(_capture_value(exercise, ns, runner, transport), cell=k))
        elif callable(target):
            _run_cases(exercise, target, spec["cases"], k, send, calls, runner, model, transport)
        send({"kind": "done", "cell": k})


def _run_cases(exercise, target, cases, cell, send, calls, runner, model, transport):
    for i, encoded in enumerate(cases):
        case = model.Case(f"case {i + 1}", tuple(transport.decode(a) if isinstance(a, dict) else a
                                                 for a in encoded), False)
        before = len(calls)
        outcome = runner.run_function_case(exercise, target, case)
        try:
            value = transport.encode(outcome.value) if outcome.status == "ok" else None
        except TypeError:
            outcome, value = model.Outcome("bad output", message="the output is not numbers"), None
        send({"kind": "case", "cell": cell, "i": i, "status": outcome.status, "value": value,
              "message": outcome.message, "mutated": list(outcome.mutated), "low_precision": outcome.low_precision,
              "calls": calls[before:]})
        if outcome.status == "timeout" or (outcome.status == "not attempted" and i == 0):
            return


def _capture_value(exercise, ns, runner, transport):
    """The message that carries a value answer, read right after its answer cell ran."""
    if exercise.id not in ns or ns[exercise.id] is None:
        return {"kind": "value", "status": "not attempted"}
    value = ns[exercise.id]
    if callable(value) and not isinstance(value, np.ndarray):
        return {"kind": "value", "status": "function"}
    outcome = runner.run_value(exercise, value)
    try:
        encoded = transport.encode(outcome.value) if outcome.status == "ok" else None
    except TypeError:
        return {"kind": "value", "status": "bad output", "message": "the answer is not numbers"}
    return {"kind": "value", "status": outcome.status, "value": encoded, "message": outcome.message,
            "low_precision": outcome.low_precision}


if __name__ == "__main__":
    main(int(sys.argv[1]))
