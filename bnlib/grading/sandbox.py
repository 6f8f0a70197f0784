"""The sandbox: a fresh interpreter that runs ONLY a notebook's answer cells, and the worker's side of it.

The child (:func:`sandbox_main`) replays the notebook's imports, replaces the exercise's reference
implementations by blockers (in the answer's namespace and in every bnlib module), runs the answer cells
in order, each under a time limit, and then either reads the value answer or calls the function answer on
the cases it received (the inputs, never the seed). Everything goes back as plain JSON numbers on a
private pipe, written with references to ``json.dumps`` and the pipe taken before any student code ran;
the child's stdout and stderr go to /dev/null. The worker's side is :func:`run_sandbox`.
"""

import json
import math
import os
import select
import subprocess
import sys
import time

import numpy as np

from ..exercises.catalogue import get_exercise
from ..exercises.model import Case, Outcome
from ..exercises.runner import (
    CASE_TIME_LIMIT,
    ForbiddenCalls,
    call_with_limit,
    describe_exception,
    run_function_case,
    run_value,
)
from .contract import strip_magics
from .processes import isolated_command, kill_group, python_command
from .transport import MAX_JSON, decode, encode

__all__ = ["EXEC_LIMIT", "run_sandbox", "sandbox_main"]

EXEC_LIMIT = 30.0  # seconds to execute the answer cells in the sandbox child


def sandbox_main(result_fd):
    """Entry point of a sandbox child (trusted code that then runs student code; see module docstring)."""
    channel = os.fdopen(result_fd, "w", buffering=1)
    devnull = os.open(os.devnull, os.O_RDWR)
    request = json.loads(sys.stdin.read())
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # the process ends when done; nothing to close

    # Bound now, before any student code runs: an answer cell that patches json.dumps or the file
    # methods changes nothing of what reaches the worker.
    dumps, write, flush = json.dumps, channel.write, channel.flush

    def send(obj):
        write(dumps(obj) + "\n")
        flush()

    exercise = get_exercise(request["exercise"])
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
        status, value = call_with_limit(
            lambda src=source, k=k: exec(compile(strip_magics(src), f"<answer cell {k + 1}>", "exec"), ns),
            EXEC_LIMIT, ForbiddenCalls(()))
        if status == "timeout":
            errors.append(f"answer cell {k + 1} took more than {EXEC_LIMIT:g} s to run")
        elif status == "error":
            errors.append(f"answer cell {k + 1} raised {describe_exception(value)}")
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
        case = Case(f"case {i + 1}", tuple(decode(a) if isinstance(a, dict) else a for a in encoded), False)
        before = len(blocked_calls)
        outcome = run_function_case(exercise, target, case)
        if len(blocked_calls) > before and outcome.status != "forbidden":
            outcome = Outcome("forbidden", message=blocked_calls[-1])
        try:
            value = encode(outcome.value) if outcome.status == "ok" else None
        except TypeError:
            outcome, value = Outcome("bad output", message="the output is not numbers"), None
        send({"kind": "case", "i": i, "status": outcome.status, "value": value, "message": outcome.message,
              "mutated": list(outcome.mutated), "low_precision": outcome.low_precision})
        if outcome.status in ("timeout", "forbidden") or (outcome.status == "not attempted" and i == 0):
            return


def _capture_value(exercise, ns):
    """The message that carries a value answer, read right after its answer cell ran (in the child)."""
    if exercise.id not in ns or ns[exercise.id] is None:
        return {"kind": "value", "status": "not attempted"}
    value = ns[exercise.id]
    if callable(value) and not isinstance(value, np.ndarray):
        return {"kind": "value", "status": "function"}
    outcome = run_value(exercise, value)
    try:
        encoded = encode(outcome.value) if outcome.status == "ok" else None
    except TypeError:
        return {"kind": "value", "status": "bad output", "message": "the answer is not numbers"}
    return {"kind": "value", "status": outcome.status, "value": encoded, "message": outcome.message,
            "low_precision": outcome.low_precision}


def _block_references(exercise, ns, hits):
    """Replace the exercise's forbidden functions by blockers, in the answer namespace and in bnlib's modules."""
    rules = ForbiddenCalls(exercise.forbidden)

    def forbidden(obj):
        code = getattr(obj, "__code__", None)
        return None if code is None else rules.match(code)

    def blocker(name):
        def blocked(*args, **kwargs):
            hits.append(name)
            raise _Blocked(name)
        return blocked

    # Every bnlib module, the exercises' catalogue included: in this child nothing needs the references.
    modules = [m for n, m in list(sys.modules.items()) if n == "bnlib" or n.startswith("bnlib.")]
    for space in [ns] + [vars(m) for m in modules]:
        for key, value in list(space.items()):
            name = forbidden(value)
            if name:
                space[key] = blocker(name)


class _Blocked(BaseException):
    """Raised when an answer calls a forbidden reference implementation."""


def run_sandbox(exercise, sources, imports, cases, workdir, isolate=False):
    """Run the answer cells ``sources`` (and a function exercise's ``cases``) in a sandbox child.

    isolate: run the child inside bubblewrap (:func:`~bnlib.grading.processes.isolated_command`), with
    ``workdir`` its only writable folder.

    Returns (outcomes, ready, note): one :class:`Outcome` per case (or the value's), the child's report
    after running the answer cells (or None if it never got there), and a note on how it ended early.
    """
    request = {"exercise": exercise.id, "sources": sources, "imports": imports,
               "cases": [[encode(a) if isinstance(a, np.ndarray) else a for a in c.args] for c in cases]}
    read_fd, write_fd = os.pipe()
    deadline = time.monotonic() + 30 + EXEC_LIMIT + len(cases) * (CASE_TIME_LIMIT + 1.0)
    command = python_command(f"from bnlib.grading.sandbox import sandbox_main; sandbox_main({write_fd})")
    if isolate:
        command = isolated_command(command, os.path.realpath(workdir))
    proc = subprocess.Popen(command,
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
            if len(buffer) > MAX_JSON:
                note = "the answer's process sent too much data"
                break
            *complete, buffer = buffer.split(b"\n")
            lines += complete
    finally:
        os.close(read_fd)
        kill_group(proc.pid)
        proc.wait()
    return _parse_sandbox(lines, len(cases), note, proc.returncode)


def _parse_sandbox(lines, n_cases, note, returncode):
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
                value = decode(msg["value"]) if status == "ok" else None
                outcomes.append(Outcome(status, value, str(msg.get("message", ""))[:500],
                                        low_precision=msg.get("low_precision") is True))
            elif msg.get("kind") == "case" and msg.get("i") == len(outcomes) and msg["status"] in statuses:
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
    return outcomes, ready, note
