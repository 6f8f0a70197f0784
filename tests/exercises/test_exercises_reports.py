"""Reports as the student and the instructor read them, and the chapter number each exercise carries.

- Each Exercise.chapter is the position of the notebook that holds its answer cell among the numbered
  chapters of _toc.yml (read here from _toc.yml and the notebooks, not from the catalogue).
- Reports count cases, not points ("10 of 10 cases passed"): the grader converts cases to the assignment's
  points, so "score 10/10" next to an exercise worth 2 points read as a grade.
- Grouped hidden cases read "hidden cases 1, 2 and 5"; an answer cell that raises is named by its exercise
  id, not by a number that reads like the notebook's cell number.
- A value answer that is the expected value rounded (to 2-4 significant digits) gets "do not round", in check
  and in the grader alike, never the expected value; a different value equally close gets no such hint.
"""

import json
import re
import shutil
import tempfile

import nbformat
import numpy as np
import pytest
import yaml

from bnlib.exercises import check
from bnlib.exercises.catalogue import EXERCISES
from bnlib.exercises.model import Case, Outcome
from bnlib.exercises.scoring import grade
from bnlib.grading.sandbox import run_answers, score_run
from booktools import ROOT
from submission_factory import CORRECT

VALUE_EXERCISES = [i for i, e in EXERCISES.items() if e.kind == "value"]
FUNCTION_EXERCISES = [i for i, e in EXERCISES.items() if e.kind == "function"]


def numbered_chapters():
    """{notebook path: chapter number} from _toc.yml: numbering runs on across numbered parts."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [c["file"] for part in toc["parts"] if part.get("numbered") for c in part["chapters"]]
    return {ROOT / f"{f}.ipynb": k for k, f in enumerate(files, start=1)}


@pytest.mark.parametrize("exercise_id", list(EXERCISES))
def test_exercise_chapter_is_its_notebooks_position_in_the_toc(exercise_id):
    answer_line = re.compile(rf"^\s*#\s*ANSWER:\s*{exercise_id}\s*$", re.M)
    holders = [k for path, k in numbered_chapters().items()
               if any(c.cell_type == "code" and answer_line.search(c.source)
                      for c in nbformat.read(path, as_version=4).cells)]
    assert len(holders) == 1, f"{exercise_id}: answer cell in chapters {holders}"
    assert EXERCISES[exercise_id].chapter == holders[0]


def correct_answer(exercise_id):
    """The shared right answer of an exercise (tests/submission_factory.py), defined as a notebook would."""
    ns = {"np": np}
    exec(CORRECT[exercise_id], ns)
    return ns[exercise_id]


@pytest.mark.parametrize("exercise_id", FUNCTION_EXERCISES)
def test_full_marks_report_counts_cases_not_points(exercise_id):
    report = repr(check(exercise_id, correct_answer(exercise_id)))
    assert report == f"{exercise_id}: 10 of 10 cases passed."


def test_value_reports_say_correct_or_not_without_a_score():
    assert repr(check("spread", 4.0)) == "spread: correct."
    assert repr(check("spread", 5.0)).startswith("spread: not correct yet.\n")
    assert "score" not in repr(check("spread", 5.0))


def test_grouped_hidden_cases_read_as_a_list_of_numbers():
    ex = EXERCISES["bn_forward"]
    cases = ex.hidden_cases(3)
    wrong = [Outcome("ok", np.full(c.args[0].shape, np.nan)) for c in cases]
    wrong[2] = Outcome("ok", ex.expected(cases[2]))
    report = grade(ex, cases, wrong, [ex.expected(c) for c in cases], hidden=True).report
    assert report.startswith("bn_forward: 1 of 10 cases passed.\n")
    assert "- hidden cases 1, 2, 4, 5, 6, 7, 8, 9 and 10: contains NaN or inf" in report
    assert "cases hidden case" not in report


def test_an_answer_cell_that_raises_is_named_by_its_exercise_id():
    ex = EXERCISES["bn_forward"]
    cells = [("spread", "spread = undefined_name * 2"),
             ("bn_forward", "def bn_forward(a, gamma, beta, eps):\n    return a")]
    workdir = tempfile.mkdtemp(prefix="bnlib-test-")
    try:
        run = run_answers([(cells, [], {1: (ex, ex.hidden_cases(1))})], workdir)[0][1]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    errors = run[1]["errors"]
    assert errors == ["the answer cell `# ANSWER: spread` raised NameError: name 'undefined_name' is not "
                      "defined"], errors
    assert not re.search(r"answer cell \d", json.dumps(errors))


def round_significant(x, digits):
    """``x`` rounded to ``digits`` significant digits, with Python's own formatting (independent of bnlib)."""
    return np.vectorize(lambda v: float(f"{v:.{digits}g}"))(np.asarray(x, dtype=np.float64))


def rounding_cases():
    """(exercise id, digits) where rounding the expected value to that many digits changes it at the check's
    precision (integer answers, bn_param_count say, are their own rounding)."""
    found = []
    for exercise_id in VALUE_EXERCISES:
        ex = EXERCISES[exercise_id]
        expected = ex.expected(Case("the answer", (), True))
        if isinstance(expected, tuple):
            continue
        for digits in (2, 3, 4):
            rounded = round_significant(expected, digits)
            if np.any(np.abs(rounded - expected) > 1e-5 * np.abs(expected) + 1e-9):
                found.append((exercise_id, digits))
    return found


def value_report_both_ways(exercise_id, value):
    """check's result (in-process) and the grader's (the answer cell run in an answer process, scored by
    score_run as the grader scores it) for the same value answer."""
    ex = EXERCISES[exercise_id]
    cells = [(exercise_id, f"{exercise_id} = {value!r}")]
    workdir = tempfile.mkdtemp(prefix="bnlib-test-")
    try:
        run = run_answers([(cells, ["import numpy as np"], {0: (ex, [])})], workdir)[0][0]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return check(exercise_id, value), score_run(ex, [], run, hidden=True)


@pytest.mark.parametrize(("exercise_id", "digits"), rounding_cases())
def test_a_rounded_value_gets_do_not_round_and_never_the_value(exercise_id, digits):
    ex = EXERCISES[exercise_id]
    expected = np.asarray(ex.expected(Case("the answer", (), True)), dtype=np.float64)
    rounded = round_significant(expected, digits)
    checked, graded = value_report_both_ways(exercise_id, rounded.reshape(expected.shape).tolist()
                                             if expected.ndim else float(rounded))
    assert not checked.passed and checked.report == graded.report and checked.hints == graded.hints
    assert f"to {digits} significant digits only" in checked.report and "do not round" in checked.report
    for v in expected.ravel():
        for shown in (f"{v:.5g}", f"{v:.6g}", f"{v:.{digits + 1}g}"):
            if shown not in f"{v:.{digits}g}":
                assert shown not in checked.report


@pytest.mark.parametrize("exercise_id", sorted({i for i, _ in rounding_cases()}))
def test_a_different_value_as_close_gets_no_rounding_hint(exercise_id):
    """1.6 % off (the size of 7.3's m - 1 slip) but not a rounding of the expected value: no hint."""
    expected = np.asarray(EXERCISES[exercise_id].expected(Case("the answer", (), True)), dtype=np.float64)
    off = expected * 1.0163
    checked, graded = value_report_both_ways(exercise_id, off.tolist() if expected.ndim else float(off))
    assert not checked.passed and "do not round" not in checked.report and checked.report == graded.report
