"""Hidden means hidden, and the same grade every time: hidden cases, assignment files, regrades.

The hidden cases are compared with the public ones (none in common); reports on hidden cases are
searched for the expected values computed independently here (none may appear); the same submissions
graded three times with one assignment file give byte-identical outputs.
"""

import json
import subprocess
import sys

import numpy as np
import pytest

from bnlib.exercises import check
from bnlib.exercises.catalogue import EXERCISES
from bnlib.exercises.model import N_CASES, Case, Outcome
from bnlib.exercises.scoring import grade
from bnlib.exercises.student import PUBLIC_SEED
from bnlib.grading.assignment import load_assignment, new_assignment, write_assignment
from submission_factory import CORRECT, MISTAKES, answers, build_submission

FUNCTIONS = [i for i, e in EXERCISES.items() if e.kind == "function"]
MISTAKE = {(i, h): s for i, s, h in MISTAKES}


def _same_args(x, y):
    return len(x.args) == len(y.args) and all(
        np.shape(a) == np.shape(b) and np.array_equal(a, b) for a, b in zip(x.args, y.args, strict=True))


@pytest.mark.parametrize("exercise_id", FUNCTIONS)
def test_hidden_cases_exclude_the_public_ones(exercise_id):
    ex = EXERCISES[exercise_id]
    hidden = ex.hidden_cases(424242)
    assert len(hidden) == N_CASES and not any(c.public for c in hidden)
    for seen in ex.cases(PUBLIC_SEED) + ex.cases(424242):  # public cases, and the public check's random ones
        assert not any(_same_args(seen, h) for h in hidden)
    assert all(_same_args(a, b) for a, b in zip(hidden, ex.hidden_cases(424242), strict=True))


def _numbers(report):
    return report.replace(",", " ").replace("[", " ").replace("]", " ").split()


def _revealing(v, shown):
    """True if ``shown`` (the report's words) holds expected value ``v`` to 6 or 4 significant digits. A 4-digit
    form that is a one- or two-digit number (1.99956 -> "2") is not telling: case numbers and labels have those."""
    short = f"{v:.4g}"
    return f"{v:.6g}" in shown or (sum(ch.isdigit() for ch in short.lstrip("-0.")) >= 3 and short in shown)


def test_hidden_case_reports_say_why_but_never_the_expected_values():
    ex = EXERCISES["bn_forward"]
    cases = ex.hidden_cases(7)
    expected = [ex.expected(c) for c in cases]
    # Independent wrong outputs: m - 1 variance, NaN, a wrong shape, all zeros.
    wrong = []
    for k, c in enumerate(cases):
        a, gamma, beta, eps = c.args
        if k % 4 == 0:
            out = beta + gamma * (a - a.mean(0)) / np.sqrt(a.var(0, ddof=1) + eps)
        elif k % 4 == 1:
            out = np.full(a.shape, np.nan)
        elif k % 4 == 2:
            out = np.zeros((a.shape[0] + 1, a.shape[1]))
        else:
            out = np.zeros(a.shape)
        wrong.append(Outcome("ok", np.asarray(out, dtype=np.float64)))
    report = grade(ex, cases, wrong, expected, hidden=True).report
    assert "hidden case 1" in report and "NaN" in report and "shape" in report
    assert "of the largest expected magnitude" in report and "expected [" not in report
    shown = set(_numbers(report))
    for e in expected:
        for v in np.round(e.ravel(), 6):
            if abs(v) > 1e-3:
                assert not _revealing(v, shown), v


@pytest.mark.parametrize("exercise_id", ["torch_to_keras", "group_norm"])
def test_hidden_reports_of_the_issue16_exercises_never_show_expected_values(exercise_id):
    """A known mistake (its hint given) and NaN on hidden cases: how far off, never the expected numbers."""
    ex = EXERCISES[exercise_id]
    cases = ex.hidden_cases(11)
    expected = [ex.expected(c) for c in cases]
    mistake = ex.mistakes[0]
    wrong = []
    for k, c in enumerate(cases):
        out = mistake.output(ex, c)
        if k == 0:  # NaN: a failed case the mistake does not explain, so no hint either
            out = tuple(np.full(o.shape, np.nan) for o in out) if isinstance(out, tuple) else np.full(out.shape, np.nan)
        wrong.append(Outcome("ok", out))
    report = grade(ex, cases, wrong, expected, hidden=True).report
    assert "hidden case 1" in report and "NaN" in report and "expected [" not in report
    assert "Hint" not in report
    shown = set(_numbers(report))
    for e in expected:
        for part in e if isinstance(e, tuple) else (e,):
            for v in np.round(part.ravel(), 6):
                if abs(v) > 1e-3:
                    assert not _revealing(v, shown), v
    explained = grade(ex, cases[1:], wrong[1:], expected[1:], hidden=True)
    assert mistake.hint in explained.hints


@pytest.mark.parametrize("exercise_id", ["spread", "condition_number", "invariance_gap", "inference_moments"])
def test_a_nan_value_answer_never_shows_the_expected_value(exercise_id):
    ex = EXERCISES[exercise_id]
    answer = float("nan") if ex.output[1] == () else np.full(ex.output[1], np.nan)
    report = check(exercise_id, answer).report
    assert "NaN" in report and "expected" not in report.replace("expected value", "")
    for v in np.ravel(ex.expected(Case("the answer", (), True))):
        assert f"{float(v):.6g}" not in report and f"{float(v):.4g}" not in report


def test_assignment_new_writes_a_random_secret_seed_and_reads_back(tmp_path):
    paths = [tmp_path / "a.toml", tmp_path / "b.toml"]
    for p in paths:
        proc = subprocess.run([sys.executable, "-m", "bnlib.grading", "assignment", "new", str(p),
                               "--exercises", "bn_forward,spread"], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    a, b = (load_assignment(p) for p in paths)
    assert a.columns == ["bn_forward", "spread"] and a.points == {"bn_forward": 2.0, "spread": 1.0}
    assert a.seed != b.seed  # a fresh secret seed each time
    again = subprocess.run([sys.executable, "-m", "bnlib.grading", "assignment", "new", str(paths[0])],
                           capture_output=True, text=True)
    assert again.returncode != 0 and "--force" in again.stderr  # never overwrites a seed by accident
    assert load_assignment(paths[0]).seed == a.seed


def test_a_bad_assignment_file_is_named_with_a_fix_that_works(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('seed = 5\n[points]\nbn_forwrd = 2.0\n')
    with pytest.raises(ValueError, match="unknown exercise id.*bn_forwrd.*bn_forward"):
        load_assignment(bad)
    bad.write_text('seed = 5\n[points]\nbn_forward = 2.0\n')
    assert load_assignment(bad).columns == ["bn_forward"]
    bad.write_text('[points]\nbn_forward = 2.0\n')
    with pytest.raises(ValueError, match="seed = <a non-negative integer>.*assignment new"):
        load_assignment(bad)
    bad.write_text('seed = 5\n[points]\nbn_forward = -1\n')
    with pytest.raises(ValueError, match=r"bn_forward = 2\.0"):
        load_assignment(bad)
    bad.write_text('seed = 5\n[points]\nbn_forward = 2.0\n')
    assert load_assignment(bad).points == {"bn_forward": 2.0}


def _grade(submissions, out, assignment):
    proc = subprocess.run([sys.executable, "-m", "bnlib.grading", str(submissions), "--out", str(out),
                           "--assignment", str(assignment), "--jobs", "2", "--timeout", "60"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    files = sorted(p for p in out.rglob("*") if p.is_file())
    return {str(p.relative_to(out)): p.read_bytes() for p in files}


@pytest.mark.slow
def test_the_same_submissions_graded_three_times_give_identical_results(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    build_submission(subs / "honest.ipynb", answers("correct"))
    # Right on some random shapes only, so the score depends on which hidden cases are drawn.
    build_submission(subs / "lucky.ipynb", {
        "bn_forward": "def bn_forward(a, gamma, beta, eps):\n"
                      "    if a.shape[0] % 2:\n        return np.zeros_like(a)\n"
                      "    mu = a.mean(0)\n    return beta + gamma * (a - mu) / np.sqrt(a.var(0) + eps)",
        "update_moving_stats": MISTAKE[("update_moving_stats", "PyTorch way")],
        "spread": "spread = float('nan')",
        "da_seed": CORRECT["da_seed"],  # not in the assignment: ignored with a note
    })
    assignment = new_assignment(["bn_forward", "update_moving_stats", "spread", "layer_norm"], "hw", seed=99)
    write_assignment(assignment, tmp_path / "hw.toml")
    runs = [_grade(subs, tmp_path / f"out{k}", tmp_path / "hw.toml") for k in range(3)]
    assert runs[0] == runs[1] == runs[2]
    grades = runs[0]["grades.csv"].decode().splitlines()
    assert grades[0] == "submission,bn_forward,update_moving_stats,spread,layer_norm,total,status"
    lucky = json.loads(runs[0]["lucky/results.json"])
    assert [t["max_score"] for t in lucky["tests"]] == [2.0, 2.0, 1.0, 2.0]  # the denominator stays 7
    assert "da_seed` was ignored" in lucky["output"]
    assert 0 < lucky["tests"][0]["score"] < 2
    # No expected value of a hidden case anywhere in what the student sees.
    text = runs[0]["lucky/results.json"].decode()
    for exercise_id in ("bn_forward", "update_moving_stats"):
        ex = EXERCISES[exercise_id]
        for case in ex.hidden_cases(99):
            for e in (ex.expected(case) if isinstance(ex.expected(case), tuple) else (ex.expected(case),)):
                for v in np.round(e.ravel(), 6):
                    if abs(v) > 1e-3:
                        assert f"{v:.6g}" not in text
    assert load_assignment(tmp_path / "out0" / "assignment.toml") == assignment  # the seed is recorded
