"""The worker: grades one submission (trusted code only), one answer process per notebook.

It builds the hidden cases from the secret seed (never passed to a process that runs student code),
computes the expected outputs with bnlib's reference implementations, and scores what the answer
processes send back with the same rules as ``check`` (:func:`bnlib.exercises.scoring.grade`).
It reads a request (JSON) on stdin and writes the results (JSON) on stdout, nothing else.
"""

import json
import os
import shutil
import sys
import tempfile

from ..exercises.catalogue import EXERCISES
from ..exercises.model import N_CASES
from ..exercises.scoring import failure
from .contract import answer_cells, graded_answers, import_statements, parse_notebook
from .processes import set_limits
from .sandbox import run_answers, score_run

__all__ = ["grade_notebook", "worker_main"]


def _result(check_result):
    return {"id": check_result.exercise, "score": int(check_result.score), "max": int(check_result.max_score),
            "status": check_result.status, "report": check_result.report}


def grade_notebook(data, seed, workdir, exercises=None, answered=None, isolate=False):
    """Grade one notebook's bytes -> (results by exercise id, notes). Runs in the worker.

    exercises: the assignment's exercise ids (default: all); answers to others are ignored with a note.
    answered:  exercise id -> the notebook whose answer is graded: an answer here to one of them is a
               duplicate, noted and not graded (one answer per exercise; the first counts, never the best).
    isolate:   run the answer process inside bubblewrap (see :mod:`bnlib.grading.processes`).

    The answer cells are the submission: one answer process (:mod:`bnlib.grading.sandbox`) runs the
    notebook's imports and its answer cells in order, never the rest of the chapter, and reports each
    exercise right after its own cell, so a grade depends neither on the chapter's demos nor on the
    Jupyter stack (no kernel is started), and each exercise sees exactly the answer cells up to its own.
    """
    try:
        nb = parse_notebook(data)
    except ValueError as exc:
        return {}, [str(exc)]
    answers = graded_answers(answer_cells(nb))
    notes = [f"unknown exercise id in an ANSWER line: {a.exercise_id}" for a in answers
             if a.exercise_id not in EXERCISES]
    answers = [a for a in answers if a.exercise_id in EXERCISES]
    if exercises is not None:
        outside = [i for i in dict.fromkeys(a.exercise_id for a in answers) if i not in exercises]
        notes += [f"the answer to `{i}` was ignored: that exercise is not part of this assignment" for i in outside]
    answered = answered or {}
    duplicates = [i for i in dict.fromkeys(a.exercise_id for a in answers) if i in answered]
    notes += [f"a second answer to `{i}` was not graded: one answer per exercise counts, the first one "
              f"(in {answered[i]})" for i in duplicates]
    wanted = set(EXERCISES if exercises is None else exercises) - set(answered)
    cells = [(a.exercise_id, a.source) for a in answers]
    graded = {}
    for k, a in enumerate(answers):
        if a.exercise_id in wanted:
            exercise = EXERCISES[a.exercise_id]
            graded[k] = (exercise, exercise.hidden_cases(seed) if exercise.kind == "function" else [])
    if not graded:
        return {}, notes
    sandbox_dir = tempfile.mkdtemp(prefix="sandbox-", dir=workdir)
    try:
        runs = run_answers(cells, import_statements(nb), graded, sandbox_dir, isolate)
    except Exception as exc:  # a grader failure (a bug, a full disk) is reported, never a crash of the run
        runs = {k: ([], None, f"internal grading error ({type(exc).__name__}: {str(exc)[:200]}); please report "
                    "it to your instructor") for k in graded}
    results = {exercise.id: _guarded(exercise, cases, runs[k]) for k, (exercise, cases) in graded.items()}
    return results, notes


def _guarded(exercise, cases, run):
    """Score one exercise; a grader failure on it (a bug, a full disk) must not cost the others their scores."""
    try:
        return _result(score_run(exercise, cases, run, hidden=True))
    except Exception as exc:
        return _result(failure(exercise, 1 if exercise.kind == "value" else N_CASES,
                                f"internal grading error ({type(exc).__name__}: {str(exc)[:200]}); "
                                "please report it to your instructor"))


def worker_main():
    """Entry point of a worker process: request JSON on stdin, result JSON on stdout (nothing else)."""
    channel = os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)
    sys.stdout = open(os.devnull, "w")  # the process ends when done; nothing to close
    request = json.loads(sys.stdin.read())
    set_limits(request["memory_mb"], request["timeout"] + 30)
    workdir = tempfile.mkdtemp(prefix="bnlib-grade-")
    results, notes, answered = {}, [], {}
    try:
        for name, data_hex in request["notebooks"]:
            found, more = grade_notebook(bytes.fromhex(data_hex), request["seed"], workdir, request["exercises"],
                                         answered, request["isolate"])
            notes += [f"{name}: {n}" for n in more]
            results.update(found)
            answered.update({exercise_id: name for exercise_id in found})
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    channel.write(json.dumps({"results": results, "notes": notes}))
    channel.flush()
