"""Grade submitted notebooks against hidden cases: ``python -m bnlib.grading SUBMISSION... --out DIR``.

A SUBMISSION is a notebook (one student) or a folder: each notebook and each sub-folder inside it is
one student's submission (a sub-folder's notebooks are graded together). The command writes
``DIR/grades.csv`` (one row per submission, one column per exercise, and the total) and
``DIR/<submission>/results.json`` in Gradescope's format, prints a summary table on stdout and its
progress on stderr. Points: 2 per function exercise (times the fraction of hidden cases passed),
1 per value exercise.

Trust model: nothing a notebook prints, stores or computes about itself is believed
--------------------------------------------------------------------------------------
Processes (one *worker* per submission, run in parallel; each is a fresh ``python -I``):

* The **main process** reads every submission's bytes up front (a hostile notebook running later
  cannot alter another's file), starts the workers in their own sessions with a wall-clock limit and
  kills each worker's process group when it ends; it validates what a worker returns (scores within
  bounds) and writes every output file itself, atomically (temp file + ``os.replace``) and only
  after all workers have finished, so files a notebook wrote into ``DIR`` are overwritten.
* The **worker** (trusted code only) finds the answer cells by their first line ``# ANSWER: <id>``,
  builds the hidden cases from a secret seed (never passed to any process that runs student code,
  not even on a command line), computes the expected outputs with bnlib's reference
  implementations, and compares. Resource limits set in the worker (address space for data,
  CPU seconds, file size) are inherited by everything it starts.
* **The answer cells are the submission.** Each exercise is scored in its own **sandbox child**: a
  fresh interpreter with an empty working directory that executes ONLY the notebook's answer cells up
  to that exercise's (after the notebook's import statements for numpy, math and bnlib), with the
  exercise's reference implementations replaced by blockers and a profile hook that records any call
  into them. No Jupyter kernel is started and the chapter's other cells never run, so a grade depends
  neither on the chapter's demos nor on the versions of ipykernel, jupyter_client or IPython. A
  function answer receives the case inputs (not the seed) and sends back only the outputs; a value
  answer is read right after its own answer cell ran. Both travel as plain JSON numbers on a private
  pipe, written with references to ``json.dumps`` and the pipe taken before any student code ran; the
  child's stdout and stderr go to /dev/null, so prints cannot reach the worker.
* **Sabotage** (what a submission that patches ``json.dumps``, ``builtins.print``, display hooks,
  numpy or ``bnlib.exercises.check``, or calls ``sys.exit``/``os._exit``, gets): exactly what its
  answers earn without the sabotage, except for the exercises whose own answer the sabotage breaks.
  The patch lives only in the child that ran it; the comparison with the expected outputs runs in the
  worker; an answer cell's value is read before any later cell runs, so a correct answer that ran
  before the sabotage keeps its points, and a child that dies loses only what it had not yet sent.

Limits, stated honestly: student code runs as the grading user. The limits and process isolation
stop mistakes and the hostile behaviours listed in the tests (hangs, memory exhaustion, exits,
monkeypatching, fake output, file tampering, calling bnlib's reference), not a determined attacker
with code execution as that user (who could, e.g., read the worker's memory or copy the reference's
source, which stays visible in the submission for the instructor to see). Grade untrusted
submissions inside a container or as an unprivileged user.
"""

import argparse
import ast
import concurrent.futures
import csv
import io
import json
import math
import os
import re
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import numpy as np

__all__ = ["POINTS", "build_submission", "grade_submissions", "main"]

POINTS = {"function": 2.0, "value": 1.0}
DEFAULT_TIMEOUT = 300.0  # seconds per submission, everything included
DEFAULT_MEMORY_MB = 2048  # data segment limit of every process that runs student code
ANSWER_RE = re.compile(r"^#\s*ANSWER:\s*([A-Za-z_]\w*)\s*$")
_IMPORT_ROOTS = {"numpy", "math", "bnlib", "functools", "itertools", "collections", "dataclasses", "typing",
                 "statistics"}
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_EXEC_LIMIT = 30.0  # seconds to execute the answer cells in the sandbox child
_MAX_JSON = 20_000_000  # bytes accepted from any child


# --------------------------------------------------------------------------------------------
# Reading notebooks
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AnswerCell:
    exercise_id: str
    index: int
    source: str


def _cell_source(cell):
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def parse_notebook(data):
    """Bytes of a .ipynb -> its cells (list of dicts); raises ValueError with a readable reason."""
    try:
        nb = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"not a readable notebook (invalid JSON: {str(exc)[:120]})") from None
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
        raise ValueError("not a readable notebook (no list of cells)")
    return nb


def answer_cells(nb):
    """The code cells whose first line is ``# ANSWER: <id>``, in notebook order."""
    found = []
    for i, cell in enumerate(nb["cells"]):
        if cell.get("cell_type") != "code":
            continue
        source = _cell_source(cell)
        match = ANSWER_RE.match(source.split("\n", 1)[0].strip())
        if match:
            found.append(AnswerCell(match.group(1), i, source))
    return found


def _strip_magics(source):
    """IPython magics and shell escapes are not Python: the sandbox drops those lines."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n"))


def import_statements(nb):
    """Top-level import statements of every code cell that import numpy, math, bnlib, ... (as source)."""
    statements = []
    for cell in nb["cells"]:
        if cell.get("cell_type") != "code":
            continue
        try:
            tree = ast.parse(_strip_magics(_cell_source(cell)))
        except (SyntaxError, ValueError):
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = {node.module.split(".")[0]}
            else:
                continue
            if roots <= _IMPORT_ROOTS:
                statements.append(ast.unparse(node))
    return statements


# --------------------------------------------------------------------------------------------
# Building submissions (for tests, benchmarks, and instructors trying the grader)
# --------------------------------------------------------------------------------------------

def build_submission(path, answers, *, before=(), after=(), imports=None):
    """Write a minimal submission notebook: an imports cell, then per exercise its answer and check cells.

    path:    where to write the .ipynb.
    answers: {exercise_id: source of the answer cell WITHOUT its "# ANSWER:" line}, in order.
    before:  extra code cells (sources) placed before the exercises; after: after them.
    imports: the imports cell's source (default: numpy and ``check``).
    Returns the path.
    """
    import nbformat

    imports = imports if imports is not None else "import numpy as np\nfrom bnlib.exercises import check"
    cells = [nbformat.v4.new_code_cell(imports)]
    cells += [nbformat.v4.new_code_cell(src) for src in before]
    for exercise_id, source in answers.items():
        cells.append(nbformat.v4.new_code_cell(f"# ANSWER: {exercise_id}\n{source}"))
        cells.append(nbformat.v4.new_code_cell(f'check("{exercise_id}", {exercise_id})'))
    cells += [nbformat.v4.new_code_cell(src) for src in after]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))
    return path


# --------------------------------------------------------------------------------------------
# Plain-JSON transport of numbers (never pickle)
# --------------------------------------------------------------------------------------------

def _encode(x):
    if isinstance(x, tuple):
        return {"tuple": [_encode(v) for v in x]}
    if isinstance(x, np.ndarray):
        return {"shape": list(x.shape), "data": x.astype(np.float64).ravel().tolist()}
    if isinstance(x, (bool, int, float, np.number)):
        return {"shape": [], "data": [float(x)]}
    raise TypeError(f"cannot encode {type(x).__name__}")


def _decode(obj, depth=0):
    """Inverse of ``_encode`` with strict validation (the data may come from student code)."""
    if depth > 3 or not isinstance(obj, dict):
        raise ValueError("malformed data")
    if "tuple" in obj:
        items = obj["tuple"]
        if not isinstance(items, list) or len(items) > 8:
            raise ValueError("malformed tuple")
        return tuple(_decode(v, depth + 1) for v in items)
    shape, data = obj.get("shape"), obj.get("data")
    if (not isinstance(shape, list) or not all(isinstance(d, int) and 0 <= d < 10**7 for d in shape)
            or not isinstance(data, list) or len(data) != math.prod(shape) or len(data) > 10**6
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in data)):
        raise ValueError("malformed array")
    return np.array(data, dtype=np.float64).reshape(shape)


# --------------------------------------------------------------------------------------------
# The sandbox child: runs ONLY the answer cells, one function exercise at a time
# --------------------------------------------------------------------------------------------

def _sandbox_main(result_fd):
    """Entry point of a sandbox child (trusted code that then runs student code; see module docstring)."""
    channel = os.fdopen(result_fd, "w", buffering=1)
    devnull = os.open(os.devnull, os.O_RDWR)
    request = json.loads(sys.stdin.read())
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - the process ends when done

    # Bound now, before any student code runs: an answer cell that patches json.dumps or the file
    # methods changes nothing of what reaches the worker.
    dumps, write, flush = json.dumps, channel.write, channel.flush

    def send(obj):
        write(dumps(obj) + "\n")
        flush()

    from . import exercises as ex_mod

    exercise = ex_mod.get_exercise(request["exercise"])
    ns = {"__name__": "__main__", "__builtins__": __builtins__, "np": np, "numpy": np, "math": math}
    for statement in request["imports"]:
        try:
            exec(compile(statement, "<imports>", "exec"), ns)
        except Exception:  # an import that fails in the notebook fails here too; the answer may not need it
            pass
    blocked_calls = []
    _block_references(exercise, ns, blocked_calls)
    errors, own_blocked = [], []
    for k, (cell_id, source) in enumerate(request["sources"]):
        before = len(blocked_calls)
        status, value = ex_mod._call_with_limit(
            lambda src=source, k=k: exec(compile(_strip_magics(src), f"<answer cell {k + 1}>", "exec"), ns),
            _EXEC_LIMIT, ex_mod._ForbiddenCalls(()))
        if status == "timeout":
            errors.append(f"answer cell {k + 1} took more than {_EXEC_LIMIT:g} s to run")
        elif status == "error":
            errors.append(f"answer cell {k + 1} raised {ex_mod._describe_exception(value)}")
        if cell_id == exercise.id:  # another exercise's cell may use what this exercise may not
            own_blocked += blocked_calls[before:]
    _block_references(exercise, ns, blocked_calls)
    target = ns.get(exercise.id)
    send({"kind": "ready", "defined": exercise.id in ns, "callable": callable(target),
          "errors": errors, "blocked": own_blocked})
    if exercise.kind == "value":
        send(_capture_value(exercise, ns))
        return
    if not callable(target):
        return
    for i, encoded in enumerate(request["cases"]):
        case = ex_mod.Case(f"case {i + 1}", tuple(_decode(a) if isinstance(a, dict) else a for a in encoded), False)
        before = len(blocked_calls)
        outcome = ex_mod.run_function_case(exercise, target, case)
        if len(blocked_calls) > before and outcome.status != "forbidden":
            outcome = ex_mod.Outcome("forbidden", message=blocked_calls[-1])
        try:
            value = _encode(outcome.value) if outcome.status == "ok" else None
        except TypeError:
            outcome, value = ex_mod.Outcome("bad output", message="the output is not numbers"), None
        send({"kind": "case", "i": i, "status": outcome.status, "value": value, "message": outcome.message,
              "mutated": list(outcome.mutated)})
        if outcome.status in ("timeout", "forbidden") or (outcome.status == "not attempted" and i == 0):
            return


def _capture_value(exercise, ns):
    """The message that carries a value answer, read right after its answer cell ran (in the child)."""
    from .exercises import run_value

    if exercise.id not in ns or ns[exercise.id] is None:
        return {"kind": "value", "status": "not attempted"}
    value = ns[exercise.id]
    if callable(value) and not isinstance(value, np.ndarray):
        return {"kind": "value", "status": "function"}
    outcome = run_value(exercise, value)
    try:
        encoded = _encode(outcome.value) if outcome.status == "ok" else None
    except TypeError:
        return {"kind": "value", "status": "bad output", "message": "the answer is not numbers"}
    return {"kind": "value", "status": outcome.status, "value": encoded, "message": outcome.message}


def _block_references(exercise, ns, hits):
    """Replace the exercise's forbidden functions by blockers, in the answer namespace and in bnlib's modules."""
    from .exercises import _ForbiddenCalls

    rules = _ForbiddenCalls(exercise.forbidden)

    def forbidden(obj):
        code = getattr(obj, "__code__", None)
        if code is None:
            return None
        quals = rules._rule(code.co_filename)
        if not quals:
            return None
        q = code.co_qualname
        if any(rule == "*" or q == rule or q.startswith(rule + ".") for rule in quals):
            return f"{obj.__module__}.{q}"
        return None

    def blocker(name):
        def blocked(*args, **kwargs):
            hits.append(name)
            raise _Blocked(name)
        return blocked

    modules = [m for n, m in list(sys.modules.items()) if n == "bnlib" or n.startswith("bnlib.")]
    for space in [ns] + [vars(m) for m in modules if m.__name__ not in ("bnlib.exercises", "bnlib.grading")]:
        for key, value in list(space.items()):
            name = forbidden(value)
            if name:
                space[key] = blocker(name)


class _Blocked(BaseException):
    """Raised when an answer calls a forbidden reference implementation."""


# --------------------------------------------------------------------------------------------
# The worker: one submission
# --------------------------------------------------------------------------------------------

def _set_limits(memory_mb, cpu_seconds):
    import resource

    limits = [(resource.RLIMIT_DATA, memory_mb * 2**20), (resource.RLIMIT_CPU, int(cpu_seconds)),
              (resource.RLIMIT_FSIZE, 256 * 2**20), (resource.RLIMIT_CORE, 0)]
    for which, value in limits:
        soft, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        try:
            resource.setrlimit(which, (value, hard))
        except (ValueError, OSError):
            pass


def _kill_group(pid):
    try:
        os.killpg(os.getpgid(pid), signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        pass


def _python_command(entry):
    # -I: no user site, no PYTHON* variables, no current directory on sys.path (a notebook may write
    # a numpy.py into its working directory); bnlib is found from its own location.
    return [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {_ROOT!r}); {entry}"]


def _run_sandbox(exercise, sources, imports, cases, workdir):
    """Score one function exercise in a sandbox child -> (outcomes, ready_info, note)."""
    request = {"exercise": exercise.id, "sources": sources, "imports": imports,
               "cases": [[_encode(a) if isinstance(a, np.ndarray) else a for a in c.args] for c in cases]}
    read_fd, write_fd = os.pipe()
    from .exercises import CASE_TIME_LIMIT

    deadline = time.monotonic() + 30 + _EXEC_LIMIT + len(cases) * (CASE_TIME_LIMIT + 1.0)
    proc = subprocess.Popen(_python_command(f"from bnlib.grading import _sandbox_main; _sandbox_main({write_fd})"),
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            pass_fds=(write_fd,), cwd=workdir, start_new_session=True)
    os.close(write_fd)
    lines, buffer, note = [], b"", ""
    try:
        try:
            proc.stdin.write(json.dumps(request).encode())
            proc.stdin.close()
        except BrokenPipeError:
            pass
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                note = "the answer's process ran past its time limit and was stopped"
                break
            ready, _, _ = select.select([read_fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(read_fd, 65536)
            if not chunk:
                break
            buffer += chunk
            if len(buffer) > _MAX_JSON:
                note = "the answer's process sent too much data"
                break
            *complete, buffer = buffer.split(b"\n")
            lines += complete
    finally:
        os.close(read_fd)
        _kill_group(proc.pid)
        proc.wait()
    return _parse_sandbox(lines, len(cases), note, proc.returncode)


def _parse_sandbox(lines, n_cases, note, returncode):
    from .exercises import Outcome

    ready, outcomes = None, []
    statuses = {"ok", "error", "timeout", "forbidden", "not attempted", "bad output"}
    for line in lines:
        try:
            msg = json.loads(line)
            if msg.get("kind") == "ready" and ready is None:
                ready = {"defined": bool(msg["defined"]), "callable": bool(msg["callable"]),
                         "errors": [str(e)[:300] for e in msg["errors"]][:10],
                         "blocked": [str(b)[:200] for b in msg["blocked"]][:5]}
            elif msg.get("kind") == "value" and ready is not None and not outcomes:
                status = msg["status"] if msg["status"] in statuses | {"function"} else "bad output"
                value = _decode(msg["value"]) if status == "ok" else None
                outcomes.append(Outcome(status, value, str(msg.get("message", ""))[:500]))
            elif msg.get("kind") == "case" and msg.get("i") == len(outcomes) and msg["status"] in statuses:
                value = _decode(msg["value"]) if msg["status"] == "ok" else None
                outcomes.append(Outcome(msg["status"], value, str(msg.get("message", ""))[:500],
                                        tuple(str(m) for m in msg.get("mutated", []))[:10]))
        except (ValueError, KeyError, TypeError, AttributeError):
            note = note or "the answer's process sent malformed data"
            break
    if ready is None and not note:
        note = (f"the answer's process ended early (exit status {returncode}) while running the answer cells: "
                "os._exit, a crash, or a resource limit")
    stopped = bool(outcomes) and (outcomes[-1].status in ("timeout", "forbidden")
                                  or (len(outcomes) == 1 and outcomes[0].status == "not attempted"))
    if ready is not None and ready["callable"] and len(outcomes) < n_cases and not stopped:
        note = note or (f"the answer's process ended early (exit status {returncode}): os._exit, a crash, "
                        "or a resource limit")
        outcomes.append(Outcome("error", message=note))
    return outcomes, ready, note


def _score_function(exercise, answers, imports, seed, workdir):
    """Hidden-case score of one function exercise -> a result dict."""
    from .exercises import CheckResult, _failure, _not_attempted, grade

    cases = exercise.cases(seed)
    # The answer cells up to this exercise's (last) one: earlier answers may hold helpers it uses, and a
    # later cell that misbehaves (os._exit at its top level, say) cannot take this exercise down with it.
    last = max(a.index for a in answers if a.exercise_id == exercise.id)
    sources = [(a.exercise_id, a.source) for a in answers if a.index <= last]
    outcomes, ready, note = _run_sandbox(exercise, sources, imports, cases, workdir)
    if ready is None:
        return _result(_failure(exercise, len(cases), note or "the answer cells could not be run"))
    if ready["blocked"]:
        msg = (f"your answer cells call {ready['blocked'][0]}, bnlib's own implementation of what this exercise "
               "asks for; write it yourself with numpy (score 0).")
        return _result(CheckResult(exercise.id, 0, len(cases), "forbidden", (), (), f"{exercise.id}: 0/{len(cases)}. "
                                   + msg))
    if not ready["callable"]:
        why = "; ".join(ready["errors"]) or f"no function named `{exercise.id}` is defined by its answer cell"
        return _result(_failure(exercise, len(cases), why + _TIP_SELF_CONTAINED))
    if not outcomes:
        return _result(_failure(exercise, len(cases), note or "no case could be run"))
    if outcomes[0].status == "not attempted":
        return _result(_not_attempted(exercise, len(cases)))
    result = grade(exercise, cases, outcomes, [exercise.expected(c) for c in cases])
    report = result.report
    if any("NameError" in o.message for o in outcomes):
        report += _TIP_SELF_CONTAINED
    return _result(result, report)


_TIP_SELF_CONTAINED = ("\n(The grader runs the answer cells on their own, after the notebook's imports: an answer "
                       "may use numpy and its own arguments, and must define everything else inside its cell.)")


def _result(check_result, report=None):
    return {"id": check_result.exercise, "score": int(check_result.score), "max": int(check_result.max_score),
            "status": check_result.status, "report": report or check_result.report}


# ---- values ----

def _score_value(exercise, answers, imports, workdir):
    """Score one value exercise from its answer cell, run in a sandbox child -> a result dict."""
    from .exercises import Case, CheckResult, _failure, _not_attempted, grade

    last = max(a.index for a in answers if a.exercise_id == exercise.id)
    sources = [(a.exercise_id, a.source) for a in answers if a.index <= last]
    outcomes, ready, note = _run_sandbox(exercise, sources, imports, [], workdir)
    if ready is None or not outcomes:
        return _result(_failure(exercise, 1, note or "the answer cells could not be run"))
    if ready["blocked"]:
        return _result(CheckResult(exercise.id, 0, 1, "forbidden", (), (), f"{exercise.id}: 0/1. The answer cell "
                                   f"calls {ready['blocked'][0]}, bnlib's own implementation of what this exercise "
                                   "asks for; compute it yourself (score 0)."))
    outcome = outcomes[0]
    if outcome.status == "not attempted":
        if ready["errors"]:
            return _result(_failure(exercise, 1, "; ".join(ready["errors"]) + _TIP_SELF_CONTAINED))
        return _result(_not_attempted(exercise, 1))
    if outcome.status == "function":
        return _result(_failure(exercise, 1, "the answer is a function, not a value; call it and assign the result"))
    case = Case("the answer", (), True)
    return _result(grade(exercise, [case], [outcome], [exercise.expected(case)]))


def grade_notebook(data, seed, workdir):
    """Grade one notebook's bytes -> (results by exercise id, notes). Runs in the worker.

    The answer cells are the submission: each exercise is scored in its own sandbox child that runs the
    notebook's imports and the answer cells up to that exercise's, never the rest of the chapter, so a
    grade depends neither on the chapter's demos nor on the Jupyter stack (no kernel is started).
    """
    from .exercises import EXERCISES

    try:
        nb = parse_notebook(data)
    except ValueError as exc:
        return {}, [str(exc)]
    answers = answer_cells(nb)
    notes = [f"unknown exercise id in an ANSWER line: {a.exercise_id}" for a in answers
             if a.exercise_id not in EXERCISES]
    answers = [a for a in answers if a.exercise_id in EXERCISES]
    imports = import_statements(nb)
    results = {}
    for exercise_id in dict.fromkeys(a.exercise_id for a in answers):
        exercise = EXERCISES[exercise_id]
        sandbox_dir = tempfile.mkdtemp(prefix="sandbox-", dir=workdir)
        if exercise.kind == "function":
            results[exercise_id] = _guarded(exercise, _score_function, exercise, answers, imports, seed,
                                            sandbox_dir)
        else:
            results[exercise_id] = _guarded(exercise, _score_value, exercise, answers, imports, sandbox_dir)
    return results, notes


def _guarded(exercise, scorer, *args):
    """A grader failure on one exercise (a bug, a full disk) must not cost the others their scores."""
    from .exercises import N_CASES, _failure

    try:
        return scorer(*args)
    except Exception as exc:
        return _result(_failure(exercise, 1 if exercise.kind == "value" else N_CASES,
                                f"internal grading error ({type(exc).__name__}: {str(exc)[:200]}); "
                                "please report it to your instructor"))


def _worker_main():
    """Entry point of a worker process: request JSON on stdin, result JSON on stdout (nothing else)."""
    channel = os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the process ends when done
    request = json.loads(sys.stdin.read())
    _set_limits(request["memory_mb"], request["timeout"] + 30)
    workdir = tempfile.mkdtemp(prefix="bnlib-grade-")
    results, notes = {}, []
    try:
        for name, data_hex in request["notebooks"]:
            found, more = grade_notebook(bytes.fromhex(data_hex), request["seed"], workdir)
            notes += [f"{name}: {n}" for n in more]
            for exercise_id, result in found.items():
                if exercise_id not in results or result["score"] > results[exercise_id]["score"]:
                    results[exercise_id] = result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    channel.write(json.dumps({"results": results, "notes": notes}))
    channel.flush()


# --------------------------------------------------------------------------------------------
# The main process
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Submission:
    name: str
    notebooks: tuple  # ((file name, bytes), ...)


def collect_submissions(paths):
    """Expand the command-line paths into submissions and read all their bytes now."""
    found = []
    for path in paths:
        path = os.path.abspath(path)
        if os.path.isdir(path):
            for entry in sorted(os.listdir(path)):
                full = os.path.join(path, entry)
                if os.path.isdir(full) and not entry.startswith("."):
                    nbs = sorted(os.path.join(dp, f) for dp, _, fs in os.walk(full) for f in fs if f.endswith(".ipynb")
                                 and ".ipynb_checkpoints" not in dp)
                    found.append((entry, nbs))
                elif entry.endswith(".ipynb"):
                    found.append((entry[: -len(".ipynb")], [full]))
        elif os.path.isfile(path):
            found.append((os.path.basename(path).removesuffix(".ipynb"), [path]))
        else:
            raise FileNotFoundError(f"no such submission: {path}")
    submissions, seen = [], {}
    for name, files in found:
        safe = re.sub(r"[^\w.-]", "_", name) or "submission"
        seen[safe] = seen.get(safe, 0) + 1
        if seen[safe] > 1:
            safe = f"{safe}-{seen[safe]}"
        notebooks = []
        for f in files:
            with open(f, "rb") as fh:
                notebooks.append((os.path.basename(f), fh.read()))
        submissions.append(Submission(safe, tuple(notebooks)))
    return submissions


def _grade_one(submission, seed, timeout, memory_mb):
    """Run a worker for one submission; returns (results, notes). Never raises."""
    request = {"notebooks": [(n, d.hex()) for n, d in submission.notebooks], "seed": seed, "timeout": timeout,
               "memory_mb": memory_mb}
    workdir = tempfile.mkdtemp(prefix="bnlib-worker-")
    proc = subprocess.Popen(_python_command("from bnlib.grading import _worker_main; _worker_main()"),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            cwd=workdir, start_new_session=True)
    try:
        out, _ = proc.communicate(json.dumps(request).encode(), timeout=timeout + 60)
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)
        proc.communicate()
        return {}, ["grading this submission ran past its time limit and was stopped"]
    finally:
        _kill_group(proc.pid)
        shutil.rmtree(workdir, ignore_errors=True)
    try:
        reply = json.loads(out[:_MAX_JSON])
        return _validate(reply["results"]), [str(n)[:500] for n in reply["notes"]][:50]
    except (ValueError, KeyError, TypeError):
        return {}, [f"grading this submission failed (worker exit status {proc.returncode})"]


def _validate(results):
    from .exercises import EXERCISES

    clean = {}
    for exercise_id, r in results.items():
        if exercise_id not in EXERCISES:
            continue
        score, top = int(r["score"]), int(r["max"])
        if not 0 <= score <= top or top < 1:
            raise ValueError("score out of range")
        clean[exercise_id] = {"score": score, "max": top, "status": str(r["status"]), "report": str(r["report"])}
    return clean


def _points(exercise, result):
    if result is None:
        return 0.0
    return round(POINTS[exercise.kind] * result["score"] / result["max"], 2)


def _atomic_write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def gradescope_json(submission, graded, columns):
    """The results.json dict for one submission (Gradescope's autograder format)."""
    from .exercises import EXERCISES

    results, notes = graded
    tests = []
    for exercise_id in columns:
        exercise = EXERCISES[exercise_id]
        r = results.get(exercise_id)
        output = r["report"] if r else f"no answer cell `# ANSWER: {exercise_id}` found in this submission"
        score = _points(exercise, r)
        tests.append({"name": f"{exercise_id} (chapter {exercise.chapter}: {exercise.title})", "score": score,
                      "max_score": POINTS[exercise.kind], "status": "passed" if r and r["score"] == r["max"]
                      else "failed", "output": output, "visibility": "visible"})
    total = round(sum(t["score"] for t in tests), 2)
    maximum = sum(t["max_score"] for t in tests)
    lines = [f"Score {total:g}/{maximum:g}, graded on hidden randomized cases."] + [f"Note: {n}" for n in notes]
    return {"score": total, "output": "\n".join(lines), "tests": tests, "visibility": "visible"}


def grade_submissions(paths, out_dir, jobs=None, seed=None, exercises=None, timeout=DEFAULT_TIMEOUT,
                      memory_mb=DEFAULT_MEMORY_MB, progress=sys.stderr):
    """Grade every submission in ``paths``; write ``out_dir``/grades.csv and results.json files.

    Returns the gradebook rows (dicts: submission, one key per exercise, total).
    """
    from .exercises import EXERCISES

    submissions = collect_submissions(paths)
    seed = secrets.randbits(62) if seed is None else int(seed)
    jobs = jobs or max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())
    graded, start = {}, time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(_grade_one, s, seed, timeout, memory_mb): s for s in submissions}
        for k, future in enumerate(concurrent.futures.as_completed(futures), 1):
            s = futures[future]
            graded[s.name] = future.result()
            if progress:
                got = sum(_points(EXERCISES[i], r) for i, r in graded[s.name][0].items())
                print(f"[{k}/{len(submissions)}] {s.name}: {got:g} points ({time.monotonic() - start:.1f} s)",
                      file=progress, flush=True)
    if exercises:
        columns = [e for e in exercises if e in EXERCISES]
    else:
        found = {i for results, _ in graded.values() for i in results}
        columns = [i for i in EXERCISES if i in found]
    rows = []
    for s in submissions:
        report = gradescope_json(s, graded[s.name], columns)
        _atomic_write(os.path.join(out_dir, s.name, "results.json"), json.dumps(report, indent=2) + "\n")
        row = {"submission": s.name}
        row.update({t["name"].split(" ")[0]: t["score"] for t in report["tests"]})
        row["total"] = report["score"]
        rows.append(row)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["submission", *columns, "total"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    _atomic_write(os.path.join(out_dir, "grades.csv"), buffer.getvalue())
    return rows, columns


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bnlib.grading", description=__doc__.split("\n")[0],
                                     epilog="Example: python -m bnlib.grading submissions/ --out grades")
    parser.add_argument("submissions", nargs="+", help="notebooks, or folders of notebooks / student sub-folders")
    parser.add_argument("--out", required=True, help="output folder for grades.csv and <submission>/results.json")
    parser.add_argument("--jobs", type=int, default=None, help="submissions graded in parallel (default: cores)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the hidden cases (default: a secret one)")
    parser.add_argument("--exercises", default=None, help="comma-separated exercise ids for the columns "
                        "(default: every exercise found in a submission)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per submission")
    parser.add_argument("--memory-mb", type=int, default=DEFAULT_MEMORY_MB, help="memory limit per process")
    args = parser.parse_args(argv)
    try:
        rows, columns = grade_submissions(args.submissions, args.out, args.jobs, args.seed,
                                          args.exercises.split(",") if args.exercises else None, args.timeout,
                                          args.memory_mb)
    except FileNotFoundError as exc:
        parser.error(str(exc))
    width = max([len("submission")] + [len(r["submission"]) for r in rows])
    print(f"{'submission':<{width}}  " + "  ".join(columns) + "  total")
    for r in rows:
        print(f"{r['submission']:<{width}}  " + "  ".join(f"{r[c]:>{len(c)}g}" for c in columns)
              + f"  {r['total']:>5g}")
    print(f"wrote {os.path.join(args.out, 'grades.csv')} and {len(rows)} results.json file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
