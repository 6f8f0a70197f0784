"""The student's face of the exercises: ``check(exercise_id, answer)`` and ``get_case(exercise_id, k)``.

The student's answer cell starts with ``# ANSWER: <id>`` and defines a function or a value named
``<id>``; the next cell runs ``check("<id>", <id>)``, which returns a :class:`CheckResult` whose repr is
the report. A function answer runs on the public cases (``PUBLIC_SEED``); the grader draws a secret
seed instead.

In a notebook (IPython), ``check`` applies the grader's rule: the answer cells are the submission. It
takes the answer cells run so far from the kernel's input history (for each exercise, the last run of its
``# ANSWER:`` cell that is not the untouched stub, in the order the exercises were first answered, up to
this one) and the notebook's import statements, runs them in an answer process of its own exactly as the
grader does (:func:`bnlib.grading.sandbox.run_answers`, without bubblewrap, where bnlib is a stand-in and
Keras and TensorFlow cannot be imported) and scores what it reports with the grader's own function
(:func:`bnlib.grading.sandbox.score_run`), so the object passed to ``check`` is not what is scored. When
the answer uses a name that only another cell defines, the report says so. Outside IPython (a script, the
tests, nbval, which runs cells without storing them in the history) there is no cell history: ``check``
scores the object it is given, in-process.
"""

import dataclasses
import re
import shutil
import sys
import tempfile

import numpy as np

from ..validation import check_int
from .catalogue import EXERCISES, get_exercise
from .model import Case, copy_arg
from .runner import run_function_case, run_value
from .scoring import failure, grade, not_attempted

__all__ = ["PUBLIC_SEED", "check", "exercise_ids", "get_case"]

PUBLIC_SEED = 2015  # the public check's randomized cases; the grader draws a secret seed instead


def check(exercise_id, answer):
    """Check an exercise answer and return a :class:`CheckResult` (its repr is the report).

    exercise_id: str, one of :func:`exercise_ids` (the name in the answer cell's ``# ANSWER:`` line).
    answer:      the student's function (function exercises) or value (value exercises).
    Never raises because of the answer; an unknown exercise_id raises ValueError.
    Score: cases passed out of 10 for a function, 0 or 1 for a value.
    """
    exercise = get_exercise(exercise_id)
    history = _cell_history()
    if history is not None:
        return _check_as_graded(exercise, history)
    if exercise.kind == "value":
        return _check_value(exercise, answer)
    cases = exercise.cases(PUBLIC_SEED)
    if answer is None:
        return not_attempted(exercise, len(cases))
    if not callable(answer):
        return failure(exercise, len(cases), f"expected a function `{exercise.id}(...)`, got a value of type "
                        f"{type(answer).__name__}; pass the function itself: check(\"{exercise.id}\", {exercise.id}).")
    outcomes = []
    for case in cases:
        outcome = run_function_case(exercise, answer, case)
        outcomes.append(outcome)
        if outcome.status in ("not attempted", "timeout", "forbidden") and (outcome.status != "not attempted"
                                                                               or len(outcomes) == 1):
            break
    return grade(exercise, cases, outcomes, [exercise.expected(c) for c in cases])


def _cell_history():
    """The sources of the cells run so far in this IPython kernel, oldest first; None outside IPython or
    where the kernel keeps no history (a client that executes with ``store_history=False``, as nbval does)."""
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    manager = getattr(shell, "history_manager", None)
    raw = getattr(manager, "input_hist_raw", None)
    if not isinstance(raw, list) or not any(str(src).strip() for src in raw):
        return None
    return [str(src) for src in raw]


def _answer_sources(history, exercise_id):
    """The answer cells the grader would run for ``exercise_id``, from the kernel's history, or None.

    For each exercise, the last run of its answer cell that is not an unmodified stub (the last stub if
    there is nothing else), in the order the exercises were first answered, up to ``exercise_id``'s.
    """
    from ..grading.contract import AnswerCell, answer_id, is_stub

    first, last = {}, {}
    for k, source in enumerate(history):
        found = answer_id({"cell_type": "code", "source": source})
        if found not in EXERCISES:  # the grader runs only the answer cells of known exercises
            continue
        first.setdefault(found, k)
        cell = AnswerCell(found, k, source)
        if found not in last or not is_stub(cell) or is_stub(last[found]):
            last[found] = cell
    if exercise_id not in first:
        return None
    order = sorted((i for i in first if first[i] <= first[exercise_id]), key=first.get)
    return [(i, last[i].source) for i in order]


def _check_as_graded(exercise, history):
    """Score the answer as the grader does: only the answer cells (and the notebook's imports) count."""
    from ..grading.contract import import_statements
    from ..grading.sandbox import run_answers, score_run

    cells = _answer_sources(history, exercise.id)
    n = len(exercise.cases(PUBLIC_SEED)) if exercise.kind == "function" else 1
    if cells is None:
        return failure(exercise, n, f"no answer cell `# ANSWER: {exercise.id}` has been run: the grader grades only "
                       f"the cell whose first line is `# ANSWER: {exercise.id}`; put your answer there and run it.")
    cases = exercise.cases(PUBLIC_SEED) if exercise.kind == "function" else []
    imports = import_statements({"cells": [{"cell_type": "code", "source": src} for src in history]})
    workdir = tempfile.mkdtemp(prefix="bnlib-check-")
    try:
        run = run_answers([(cells, imports, {len(cells) - 1: (exercise, cases)})], workdir)[0][len(cells) - 1]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result = score_run(exercise, cases, run, hidden=False)
    missing = _names_from_other_cells(run)
    if missing:
        names = ", ".join(f"`{name}`" for name in missing)
        result = dataclasses.replace(result, report=result.report + f"\nThe grader only sees the answer cells "
                                     f"(after the notebook's imports): define {names} inside this cell.")
    return result


def _names_from_other_cells(run):
    """Names the answer cells used without defining them that this kernel has (another cell defined them)."""
    outcomes, ready, _ = run
    messages = [o.message for o in outcomes] + (ready["errors"] if ready else [])
    names = dict.fromkeys(m for text in messages for m in re.findall(r"NameError: name '(\w+)' is not defined", text))
    shell = sys.modules["IPython"].get_ipython()
    user_ns = getattr(shell, "user_ns", {})
    return [n for n in names if n in user_ns]


def _check_value(exercise, answer):
    """The value-exercise half of :func:`check` (one case)."""
    case = Case("the answer", (), True)
    if answer is None:
        return not_attempted(exercise, 1)
    if callable(answer) and not isinstance(answer, np.ndarray):
        return failure(exercise, 1, "expected a value (a number or an array), got a function; "
                        "call it and assign the result.")
    return grade(exercise, [case], [run_value(exercise, answer)], [exercise.expected(case)])


def exercise_ids():
    """All exercise ids, in chapter order."""
    return list(EXERCISES)


def get_case(exercise_id, number):
    """The inputs of public case ``number`` (1-based, as in the report) as a dict, to debug an answer.

    For example ``get_case("bn_forward", 4)`` -> {"a": ..., "gamma": ..., "beta": ..., "eps": ...}.
    """
    exercise = get_exercise(exercise_id)
    if exercise.kind == "value":
        raise ValueError(f"{exercise_id} is a value exercise: it has no inputs.")
    cases = exercise.cases(PUBLIC_SEED)
    number = check_int(number, "number", 1, f" from 1 to {len(cases)} (as in the report)")
    if number > len(cases):
        raise ValueError(f"number must be an int from 1 to {len(cases)}, got {number}.")
    return dict(zip(exercise.params, (copy_arg(x) for x in cases[number - 1].args), strict=True))
