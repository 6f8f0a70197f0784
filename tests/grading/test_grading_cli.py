"""Tests of ``python -m bnlib.grading``: hidden cases, Gradescope output, and file tampering.

One folder of generated submissions (correct, differently written, stubs, wrong, and one that attacks the
output folder, whose path it needs) is graded ONCE by
the real command in a subprocess (module fixture, 2 jobs in parallel); each test reads its part of
the result. Expected points come from the exercises' definitions: 2 per function exercise times the
fraction of hidden cases passed, 1 per value exercise. The other hostile submissions are committed
notebooks, graded by test_grading_fixtures.py.
"""

import csv
import json
import subprocess
import sys

import pytest

from bnlib.exercises.catalogue import EXERCISES
from bnlib.grading import POINTS
from submission_factory import CORRECT, MISTAKES, answers, build_submission

pytestmark = [pytest.mark.slow]


FULL = sum(POINTS[e.kind] for e in EXERCISES.values())


MISTAKE = {(i, h): s for i, s, h in MISTAKES}


def pick(table, *ids):
    return {i: table[i] for i in ids}


def build_folder(folder, out):
    """The submissions; ``out`` is the output folder (the 'files' submission attacks it)."""
    nb = folder / "submissions"
    nb.mkdir()
    build_submission(nb / "all_correct.ipynb", answers("correct"))
    build_submission(nb / "alternative.ipynb", answers("alternative"))
    build_submission(nb / "stubs.ipynb", answers("stub"))
    build_submission(nb / "wrong.ipynb", {
        "bn_forward": MISTAKE[("bn_forward", "m - 1")],
        "update_moving_stats": MISTAKE[("update_moving_stats", "PyTorch way")],
        "spread": MISTAKE[("spread", "sqrt(gamma)")],
    })
    build_submission(nb / "files.ipynb", {**pick(CORRECT, "bn_forward", "spread"), "da_seed":
        "import os, shutil\n"
        "for f in os.listdir('.'):\n    shutil.rmtree(f, ignore_errors=True) if os.path.isdir(f) else os.remove(f)\n"
        "open('grades.csv', 'w').write('fake')\n"
        f"out = {str(out)!r}\n"
        "shutil.rmtree(out, ignore_errors=True)\nos.makedirs(os.path.join(out, 'all_correct'), exist_ok=True)\n"
        "open(os.path.join(out, 'grades.csv'), 'w').write('submission,total\\nfiles,1000\\n')\n"
        "open(os.path.join(out, 'all_correct', 'results.json'), 'w').write('{\"score\": 0}')\n"
        "da_seed = None"})
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("grading")
    out = folder / "out"
    submissions = build_folder(folder, out)
    proc = subprocess.run(
        [sys.executable, "-m", "bnlib.grading", str(submissions), "--out", str(out), "--jobs", "2",
         "--seed", "424242", "--timeout", "45", "--memory-mb", "1024"],
        capture_output=True, text=True, timeout=600, cwd=folder)
    assert proc.returncode == 0, proc.stderr
    with open(out / "grades.csv", newline="") as fh:
        rows = {r["submission"]: r for r in csv.DictReader(fh)}
    results = {name: json.loads((out / name / "results.json").read_text()) for name in rows}
    print(proc.stderr)  # the progress lines, shown by pytest when a test fails
    return {"rows": rows, "results": results, "stdout": proc.stdout, "stderr": proc.stderr, "out": out}


def points(graded, name, exercise_id=None):
    row = graded["rows"][name]
    return float(row[exercise_id or "total"])


def output(graded, name, exercise_id):
    test = next(t for t in graded["results"][name]["tests"] if t["name"].startswith(exercise_id + " "))
    return test["output"]


def test_gradebook_rows_and_columns(graded):
    assert len(graded["rows"]) == 5
    with open(graded["out"] / "grades.csv", newline="") as fh:
        header = next(csv.reader(fh))
    assert header == ["submission", *EXERCISES, "total", "status"]
    for row in graded["rows"].values():
        assert row["status"] == "graded"
        assert float(row["total"]) == pytest.approx(sum(float(row[i]) for i in EXERCISES), abs=1e-9)


def test_results_json_is_gradescopes_format(graded):
    report = graded["results"]["wrong"]
    assert set(report) >= {"score", "output", "tests"}
    assert len(report["tests"]) == len(EXERCISES)
    for test in report["tests"]:
        assert set(test) >= {"name", "score", "max_score", "status", "output", "visibility"}
        assert test["status"] in ("passed", "failed") and 0 <= test["score"] <= test["max_score"]
    assert report["score"] == pytest.approx(sum(t["score"] for t in report["tests"]))


def test_progress_goes_to_stderr_and_a_summary_to_stdout(graded):
    assert "[5/5]" in graded["stderr"]
    assert "all_correct" in graded["stdout"] and "grades.csv" in graded["stdout"]


def test_correct_answers_get_full_marks(graded):
    assert points(graded, "all_correct") == FULL
    assert points(graded, "alternative") == FULL


def test_stubs_get_zero_and_not_attempted(graded):
    assert points(graded, "stubs") == 0
    assert "not attempted" in output(graded, "stubs", "bn_forward")


def test_wrong_answers_get_partial_marks_and_hints(graded):
    assert points(graded, "wrong", "bn_forward") < 2
    assert "divided by m - 1" in output(graded, "wrong", "bn_forward")
    assert "PyTorch way" in output(graded, "wrong", "update_moving_stats")
    assert points(graded, "wrong", "spread") == 0 and "sqrt(gamma)" in output(graded, "wrong", "spread")


def test_the_grader_starts_no_jupyter_kernel():
    # A grade must not depend on the versions of the Jupyter stack: grading imports none of it.
    code = ("import sys; import bnlib.grading; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'nbclient', 'jupyter_client', 'ipykernel', 'IPython', 'zmq', 'nbformat'}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_file_tampering_does_not_reach_the_gradebook(graded):
    assert points(graded, "files") == 3
    assert points(graded, "all_correct") == FULL
    assert graded["results"]["all_correct"]["score"] == FULL
    assert "1000" not in (graded["out"] / "grades.csv").read_text()
    assert not [p for p in graded["out"].rglob(".tmp-*")]


