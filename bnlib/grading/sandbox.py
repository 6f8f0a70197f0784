"""The grader's side of the answer process: run a notebook's answer cells once, read each exercise's report.

:func:`run_answers` starts one answer process (:mod:`bnlib.grading.answer_process`, a script that never
imports bnlib) per notebook, sends it the import statements, the answer cells and the cases of the
exercises to grade (inputs only, as plain arrays), and reads what it reports after each graded exercise's
cell. A process that ends early (``os._exit``, a crash, a resource limit, a hang past its time limit) loses
only the exercise it was on: a new process runs the answer cells again and reports the exercises after it,
so every exercise is scored after exactly the answer cells up to its own, as if it had a process of its own.

The answer process sees bnlib as a stand-in whose names are placeholders; the names of the placeholders an
answer called come back as data, and :func:`forbidden_culprit` tells which of them are the exercise's own
reference (scored 0, "forbidden", as before).
"""

import dataclasses
import json
import os
import select
import subprocess
import sys
import time

import numpy as np

from ..defaults import __all__ as _DEFAULT_NAMES
from ..exercises.model import Case, Outcome
from ..exercises.runner import CASE_TIME_LIMIT
from ..exercises.scoring import failure, forbidden, grade, not_attempted
from .processes import ANSWER_DIR, isolated_command, kill_group
from .transport import MAX_JSON, decode, encode

__all__ = ["EXEC_LIMIT", "TIP_SELF_CONTAINED", "forbidden_culprit", "reference_name", "run_answers", "score_run"]

EXEC_LIMIT = 30.0  # seconds to execute one answer cell in the answer process

_HERE = os.path.dirname(os.path.abspath(__file__))
_EXERCISES = os.path.join(os.path.dirname(_HERE), "exercises")
# The answer process's script and the three modules it shares with check (none holds a reference).
_FILES = {"answer_process": os.path.join(_HERE, "answer_process.py"),
          "model": os.path.join(_EXERCISES, "model.py"), "runner": os.path.join(_EXERCISES, "runner.py"),
          "transport": os.path.join(_HERE, "transport.py")}


def _constants():
    from .. import defaults

    return {name: getattr(defaults, name) for name in _DEFAULT_NAMES
            if isinstance(getattr(defaults, name), (int, float))}


def reference_name(name):
    """Where the object a placeholder stands for lives, e.g. "bnlib.batchnorm_forward" ->
    "bnlib.batchnorm.batchnorm_forward".

    Resolved through the modules this process has already imported (never importing one an answer names);
    an unresolved name is returned as it is.
    """
    parts = str(name).split(".")
    for i in range(len(parts) - 1, 0, -1):
        obj = sys.modules.get(".".join(parts[:i]))
        if obj is None:
            continue
        for part in parts[i:]:
            obj = vars(obj).get(part) if hasattr(obj, "__dict__") else None
            if obj is None:
                return name
        module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
        return f"{module}.{qualname}" if isinstance(module, str) and isinstance(qualname, str) else name
    return name


def forbidden_culprit(names, exercise):
    """The first of the placeholder ``names`` an answer called that the exercise forbids (its reference), or None."""
    for name in names:
        real = reference_name(name)
        for spec in exercise.forbidden:
            module, _, qual = spec.partition(":")
            rest = real[len(module) + 1:] if real.startswith(module + ".") else None
            if rest and (qual == "*" or rest == qual or rest.startswith(qual + ".")):
                return real
    return None


def _output_json(spec):
    return [list(x) if isinstance(x, tuple) else x for x in spec]


def run_answers(notebooks, workdir, isolate=False):
    """Run the answer cells of a submission's notebooks and report their graded exercises.

    notebooks: [(cells, imports, graded)] per notebook: ``cells`` the answer cells [(exercise id, source)]
               in notebook order; ``imports`` its import statements (replayed first); ``graded`` {index into
               ``cells``: (exercise, cases)}: after that cell, report that exercise (a value's cases: []).
    isolate:   run the answer process inside bubblewrap, ``workdir`` its only writable folder.
    Returns one {index: (outcomes, ready, note)} per notebook: one :class:`Outcome` per case (or the
    value's), the answer process's report after the cell (or None if it never got there), and a note on
    how it ended early.
    """
    results = [{} for _ in notebooks]
    pending = sorted((j, k) for j, (_, _, graded) in enumerate(notebooks) for k in graded)
    payload = []
    for cells, imports, graded in notebooks:
        payload.append({"imports": imports, "cells": [list(c) for c in cells], "grade": {
            str(k): {"id": ex.id, "kind": ex.kind, "params": list(ex.params), "output": _output_json(ex.output),
                     "cases": [[encode(a) if isinstance(a, np.ndarray) else a for a in c.args] for c in cases]}
            for k, (ex, cases) in graded.items()}})
    span = max([1] + [b - a for _, _, graded in notebooks
                      for a, b in zip([-1, *sorted(graded)], sorted(graded), strict=False)])
    gap = 30 + EXEC_LIMIT * span + CASE_TIME_LIMIT + 1.0
    constants, retried = _constants(), set()
    while pending:
        request = {"notebooks": payload, "start": list(pending[0]), "exec_limit": EXEC_LIMIT,
                   "constants": constants}
        messages, note, returncode = _run_process(request, workdir, isolate, gap)
        started = {m.get("nb") for m in messages if m.get("kind") == "start"}
        for j, k in list(pending):
            if j not in started and (j, k) not in retried:
                # The process ended before this notebook began (an earlier notebook took the answer
                # process down with it): run it again, once, in a process of its own.
                retried.add((j, k))
                break
            mine = [m for m in messages if m.get("nb") == j and m.get("cell") == k]
            done = any(m.get("kind") == "done" for m in mine)
            ex, cases = notebooks[j][2][k]
            results[j][k] = _parse(mine, ex, len(cases), "" if done else note, returncode)
            pending.remove((j, k))
            if not done:
                break  # the process ended on this exercise: the ones after it get a process of their own
    return results


def _run_process(request, workdir, isolate, gap):
    """Start one answer process, send ``request``, collect its JSON messages -> (messages, note, returncode)."""
    read_fd, write_fd = os.pipe()
    if isolate:
        inside = {name: f"{ANSWER_DIR}/{name}.py" for name in _FILES}
        command = isolated_command([sys.executable, "-I", inside["answer_process"], str(write_fd)],
                                   os.path.realpath(workdir), [(_FILES[n], inside[n]) for n in _FILES])
    else:
        inside = _FILES
        command = [sys.executable, "-I", inside["answer_process"], str(write_fd)]
    request = dict(request, modules={n: inside[n] for n in ("model", "runner", "transport")})
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            pass_fds=(write_fd,), cwd=workdir, start_new_session=True)
    os.close(write_fd)
    messages, buffer, note, size = [], b"", "", 0
    deadline = time.monotonic() + gap
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
            size += len(chunk)
            if size > MAX_JSON:
                note = "the answer's process sent too much data"
                break
            buffer += chunk
            *complete, buffer = buffer.split(b"\n")
            ended = False
            for line in complete:
                try:
                    msg = json.loads(line)
                except ValueError:
                    msg = None
                if not isinstance(msg, dict):
                    note = "the answer's process sent malformed data"
                    break
                if msg.get("kind") == "end":
                    ended = True
                    break
                messages.append(msg)
            if note or ended:
                break
            if complete:
                deadline = time.monotonic() + gap  # a time limit between two reports, not on the whole notebook
    finally:
        os.close(read_fd)
        kill_group(proc.pid)
        proc.wait()
    return messages, note, proc.returncode


def _parse(lines, exercise, n_cases, note, returncode):
    """One exercise's messages -> (outcomes, ready, note), validated (they come from student code's process)."""
    ready, outcomes = None, []
    statuses = {"ok", "error", "timeout", "forbidden", "not attempted", "bad output"}
    for msg in lines:
        try:
            if msg.get("kind") == "ready" and ready is None:
                calls = [str(c)[:200] for c in msg["calls"]][:20]
                culprit = forbidden_culprit(calls, exercise)
                ready = {"defined": bool(msg["defined"]), "callable": bool(msg["callable"]),
                         "errors": [str(e)[:300] for e in msg["errors"]][:10],
                         "blocked": [culprit] if culprit else []}
            elif msg.get("kind") == "value" and ready is not None and not outcomes:
                status = msg["status"] if msg["status"] in statuses | {"function"} else "bad output"
                value = decode(msg["value"]) if status == "ok" else None
                outcomes.append(Outcome(status, value, str(msg.get("message", ""))[:500],
                                        low_precision=msg.get("low_precision") is True))
            elif (msg.get("kind") == "case" and ready is not None and msg.get("i") == len(outcomes)
                  and msg["status"] in statuses):
                culprit = forbidden_culprit([str(c)[:200] for c in msg.get("calls", [])][:20], exercise)
                if culprit:
                    outcomes.append(Outcome("forbidden", message=culprit))
                    continue
                value = decode(msg["value"]) if msg["status"] == "ok" else None
                outcomes.append(Outcome(msg["status"], value, str(msg.get("message", ""))[:500],
                                        tuple(str(m) for m in msg.get("mutated", []))[:10],
                                        msg.get("low_precision") is True))
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
    if ready is not None and exercise.kind == "value" and not outcomes and not note:
        note = f"the answer's process ended early (exit status {returncode}) before its value was read"
    return outcomes, ready, note


TIP_SELF_CONTAINED = ("\n(The grader runs the answer cells on their own, after the notebook's imports: an answer "
                      "may use numpy and its own arguments, and must define everything else inside its cell.)")


def score_run(exercise, cases, run, hidden):
    """Score one exercise from what its answer process reported -> a :class:`CheckResult`.

    cases:  the cases it was run on (a value exercise's: []); run: (outcomes, ready, note) of :func:`run_answers`.
    hidden: the grader's hidden cases (reports never show their values) or the public ones (``check``).
    The grader and ``check`` in a notebook both score with this, so an answer gets the same score either way.
    """
    outcomes, ready, note = run
    n = len(cases) if exercise.kind == "function" else 1
    if ready is None or (exercise.kind == "value" and not outcomes):
        return failure(exercise, n, note or "the answer cells could not be run")
    if ready["blocked"]:
        if exercise.kind == "value":
            return forbidden(exercise, n, ready["blocked"][0], who="The answer cell calls", fix="compute it yourself")
        return forbidden(exercise, n, ready["blocked"][0], who="your answer cells call")
    if exercise.kind == "value":
        outcome = outcomes[0]
        if outcome.status == "not attempted":
            if ready["errors"]:
                return failure(exercise, 1, "; ".join(ready["errors"]) + TIP_SELF_CONTAINED)
            return not_attempted(exercise, 1)
        if outcome.status == "function":
            return failure(exercise, 1, "the answer is a function, not a value; call it and assign the result")
        case = Case("the answer", (), True)
        return grade(exercise, [case], [outcome], [exercise.expected(case)])
    if not ready["callable"]:
        why = "; ".join(ready["errors"]) or f"no function named `{exercise.id}` is defined by its answer cell"
        return failure(exercise, n, why + TIP_SELF_CONTAINED)
    if not outcomes:
        return failure(exercise, n, note or "no case could be run")
    if outcomes[0].status == "not attempted":
        return not_attempted(exercise, n)
    result = grade(exercise, cases, outcomes, [exercise.expected(c) for c in cases], hidden=hidden)
    if any("NameError" in o.message or "BnlibUnavailable" in o.message for o in outcomes):
        result = dataclasses.replace(result, report=result.report + TIP_SELF_CONTAINED)
    return result
