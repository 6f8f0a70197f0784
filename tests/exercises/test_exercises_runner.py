"""bnlib.exercises.runner: the student's code never crashes a check, runs on copies, and stops in time."""

import threading
import time

import numpy as np
import pytest

from bnlib.exercises import check, get_case, runner
from submission_factory import REFERENCE_CALLERS

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def answer(exercise_id, source):
    """Run an answer cell's source the way a notebook would, and return the name it defines."""
    ns = {"np": np}
    exec(source, ns)
    return ns[exercise_id]


@pytest.mark.parametrize("exercise_id", list(REFERENCE_CALLERS))
def test_calling_bnlibs_reference_scores_zero(exercise_id):
    result = check(exercise_id, answer(exercise_id, REFERENCE_CALLERS[exercise_id]))
    assert (result.score, result.status) == (0, "forbidden")
    assert "bnlib's own implementation" in repr(result) and "bnlib." in repr(result)


def bn(a, gamma, beta, eps):
    return beta + gamma * (a - a.mean(0)) / np.sqrt(a.var(0) + eps)


@pytest.mark.parametrize(("func", "message"), [
    (lambda a, g, b, e: 1 / 0, "raised ZeroDivisionError: division by zero"),
    (lambda a, g, b, e: bn(a, g, b, e).T, "expected"),
    (lambda a, g, b, e: "out", "is a str, not numbers"),
    (lambda a, g, b, e: None, "did you forget `return`"),
    (lambda a, g, b, e: np.full(a.shape, np.nan), "contains NaN or inf"),
    (lambda a, g, b, e: (bn(a, g, b, e), None), "return only the output array"),
    (lambda a, g, b, e: [[object()]], "cannot be converted"),
    (lambda a, g, b, e: __import__("sys").exit(1), "sys.exit()"),
])
def test_bad_answers_become_failed_cases(func, message):
    result = check("bn_forward", func)
    assert result.score == 0 and result.status in ("failed", "error")
    assert message in repr(result)


def test_in_place_mutation_is_reported_and_the_cases_stay_intact():
    before = get_case("bn_forward", 2)["a"]

    def in_place(a, gamma, beta, eps):
        a -= a.mean(axis=0)
        a /= np.sqrt(a.var(axis=0) + eps)
        return beta + gamma * a

    result = check("bn_forward", in_place)
    assert result.score == 0 and "changed its input `a` in place" in repr(result)
    assert np.array_equal(get_case("bn_forward", 2)["a"], before)


def test_time_limit_stops_a_hanging_answer(monkeypatch):
    monkeypatch.setattr(runner, "CASE_TIME_LIMIT", 0.3)

    def stubborn(a, gamma, beta, eps):
        while True:
            try:
                time.sleep(0.01)
            except Exception:  # the time limit is not an Exception: it cannot be swallowed here
                pass

    start = time.monotonic()
    result = check("bn_forward", stubborn)
    assert time.monotonic() - start < 3
    assert result.score == 0 and "time limit" in repr(result) and "not run" in repr(result)
    assert check("bn_forward", bn).passed  # the alarm is disarmed afterwards


def test_time_limit_outside_the_main_thread(monkeypatch):
    """Where SIGALRM is unavailable (a worker thread, Windows) the answer runs in a thread that is abandoned."""
    monkeypatch.setattr(runner, "CASE_TIME_LIMIT", 0.3)
    box = {}

    def spin(a, gamma, beta, eps):
        while True:
            pass

    thread = threading.Thread(target=lambda: box.setdefault("result", check("bn_forward", spin)))
    thread.start()
    thread.join(10)
    assert not thread.is_alive() and "time limit" in repr(box["result"])
