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

__all__ = ["grade_notebook", "grade_notebooks", "plan_notebook", "worker_main"]


def _result(check_result):
    return {"id": check_result.exercise, "score": int(check_result.score), "max": int(check_result.max_score),
            "status": check_result.status, "report": check_result.report}


def plan_notebook(data, seed, exercises=None, answered=None):
    """What to run of one notebook's bytes -> ((cells, imports, graded) or None, notes).

    exercises: the assignment's exercise ids (default: all); answers to others are ignored with a note.
    answered:  exercise id -> the notebook whose answer is graded: an answer here to one of them is a
               duplicate, noted and not graded (one answer per exercise; the first counts, never the best).
    The answer cells are the submission: only they run (after the notebook's imports), never the rest of the
    chapter, so a grade depends neither on the chapter's demos nor on the Jupyter stack (no kernel is
    started); each graded exercise is reported right after its own cell (:func:`~bnlib.grading.sandbox.run_answers`).
    """
    try:
        nb = parse_notebook(data)
    except ValueError as exc:
        return None, [str(exc)]
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
    graded = {}
    for k, a in enumerate(answers):
        if a.exercise_id in wanted:
            exercise = EXERCISES[a.exercise_id]
            graded[k] = (exercise, exercise.hidden_cases(seed) if exercise.kind == "function" else [])
    if not graded:
        return None, notes
    return ([(a.exercise_id, a.source) for a in answers], import_statements(nb), graded), notes


def grade_notebooks(notebooks, seed, workdir, exercises=None, isolate=False):
    """Grade one submission's notebooks [(name, bytes)] -> (results by exercise id, notes). Runs in the worker.

    isolate: run the answer process inside bubblewrap (see :mod:`bnlib.grading.processes`); one answer
    process runs every notebook of the submission, each in a fresh fork of it.
    """
    notes, answered, plans = [], {}, []
    for name, data in notebooks:
        plan, more = plan_notebook(data, seed, exercises, answered)
        notes += [f"{name}: {n}" for n in more]
        if plan is not None:
            plans.append(plan)
            answered.update({exercise.id: name for exercise, _ in plan[2].values()})
    if not plans:
        return {}, notes
    sandbox_dir = tempfile.mkdtemp(prefix="sandbox-", dir=workdir)
    try:
        runs = run_answers(plans, sandbox_dir, isolate)
    except Exception as exc:  # a grader failure (a bug, a full disk) is reported, never a crash of the run
        why = f"internal grading error ({type(exc).__name__}: {str(exc)[:200]}); please report it to your instructor"
        runs = [{k: ([], None, why) for k in graded} for _, _, graded in plans]
    results = {}
    for (_, _, graded), run in zip(plans, runs, strict=True):
        results.update({exercise.id: _guarded(exercise, cases, run[k]) for k, (exercise, cases) in graded.items()})
    return results, notes


def grade_notebook(data, seed, workdir, exercises=None, isolate=False):
    """Grade one notebook's bytes -> (results by exercise id, notes) (see :func:`grade_notebooks`)."""
    return grade_notebooks([("notebook", data)], seed, workdir, exercises, isolate)


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
    try:
        results, notes = grade_notebooks([(name, bytes.fromhex(data_hex)) for name, data_hex in request["notebooks"]],
                                         request["seed"], workdir, request["exercises"], request["isolate"])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    channel.write(json.dumps({"results": results, "notes": notes}))
    channel.flush()
