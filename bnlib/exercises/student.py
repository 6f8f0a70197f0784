"""The student's face of the exercises: ``check(exercise_id, answer)`` and ``get_case(exercise_id, k)``.

The student's answer cell starts with ``# ANSWER: <id>`` and defines a function or a value named
``<id>``; the next cell runs ``check("<id>", <id>)``, which returns a :class:`CheckResult` whose repr is
the report. A function answer runs on the public cases (``PUBLIC_SEED``); the grader draws a secret
seed instead.
"""

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
