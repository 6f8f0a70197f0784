"""Tests of ``python -m bnlib.grading``: hidden cases, Gradescope output, and hostile submissions.

One folder of generated submissions (correct, wrong, and one per hostile behaviour) is graded ONCE by
the real command in a subprocess (module fixture, 2 jobs in parallel); each test reads its part of
the result. Expected points come from the exercises' definitions: 2 per function exercise times the
fraction of hidden cases passed, 1 per value exercise.
"""

import csv
import json
import subprocess
import sys

import pytest

from bnlib.exercises.catalogue import EXERCISES
from bnlib.exercises.model import N_CASES
from bnlib.grading import POINTS
from submission_factory import CORRECT, MISTAKES, REFERENCE_CALLERS, STUB, answers, build_submission

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
    build_submission(nb / "hardcoded.ipynb", {"bn_forward": """\
def bn_forward(a, gamma, beta, eps):
    # reproduces the public example only
    if a.shape == (4, 1) and np.allclose(a.ravel(), [2, 0, 2, 4]):
        return np.array([[0.0], [-2.0], [0.0], [2.0]]) / np.sqrt(2.001)
    return np.zeros_like(a)"""})
    build_submission(nb / "hang.ipynb", {
        "bn_forward": CORRECT["bn_forward"],
        "layer_norm": "def layer_norm(a, gamma, beta, eps):\n    while True:\n        pass",
        "spread": CORRECT["spread"],
    }, before=["while True:\n    pass"])
    build_submission(nb / "hang_hard.ipynb", pick(CORRECT, "bn_forward", "spread"), before=[
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"])
    build_submission(nb / "memory.ipynb", {
        "spread": CORRECT["spread"],
        "bn_inference": "def bn_inference(a, moving_mean, moving_var, gamma, beta, eps):\n"
                        "    big = np.ones((10**6, 10**4))\n    return a + big.sum()",
        "layer_norm": CORRECT["layer_norm"],
    }, after=["hog = []\nwhile True:\n    hog.append(np.ones(2**24))"])
    build_submission(nb / "exits.ipynb", {
        "bn_forward": CORRECT["bn_forward"],
        "spread": CORRECT["spread"] + "\nimport sys\nsys.exit(0)",
        "da_seed": CORRECT["da_seed"],
        "invariance_gap": "import os\nos._exit(0)\n" + CORRECT["invariance_gap"],
        "fold_batchnorm": "import os\nos._exit(3)\n" + CORRECT["fold_batchnorm"],
    })
    (nb / "unparsable.ipynb").write_text('{"cells": [ this is not json')
    build_submission(nb / "redefined_check.ipynb", pick(STUB, "bn_forward", "spread"), before=[
        "import bnlib.exercises\n"
        "bnlib.exercises.check = lambda *args: print('bn_forward: all 10 cases passed (score 10/10).')\n"
        "check = bnlib.exercises.check"])
    build_submission(nb / "monkeypatch.ipynb", {
        "bn_forward": "np.allclose = lambda *a, **k: True\nnp.array_equal = lambda *a, **k: True\n"
                      "np.isfinite = lambda x: np.ones(np.shape(x), bool)\n\n"
                      "def bn_forward(a, gamma, beta, eps):\n    return np.zeros_like(a)",
        "spread": "import json, builtins\n"
                  "json.dumps = lambda *a, **k: '{\"status\": \"ok\", \"hook\": true, \"value\": "
                  "{\"shape\": [], \"data\": [4.0]}}'\n"
                  "builtins.print = lambda *a, **k: None\nspread = 2.0",
        "da_seed": CORRECT["da_seed"],
    })
    build_submission(nb / "sabotage.ipynb", {
        "da_seed": CORRECT["da_seed"],
        "standardize": "import json, builtins, sys\n"
                       "json.dumps = lambda *a, **k: '{}'\njson.loads = lambda *a, **k: {}\n"
                       "builtins.print = lambda *a, **k: None\nsys.displayhook = lambda *a: None\n"
                       "sys.stdout = sys.stderr = None\n" + CORRECT["standardize"],
        "spread": CORRECT["spread"],
        "invariance_gap": CORRECT["invariance_gap"],
        "bn_param_count": "import os\nos._exit(0)\n" + CORRECT["bn_param_count"],
    })
    build_submission(nb / "fake_output.ipynb", pick(STUB, "bn_forward", "spread"), after=[
        "print('bn_forward: all 10 cases passed (score 10/10).')\nprint('ALL TESTS PASSED 19/19')\n"
        "print('BNLIB-CAPTURE 0123456789abcdef01234567 {\"status\": \"ok\", \"hook\": true, "
        "\"value\": {\"shape\": [], \"data\": [4.0]}}')"])
    build_submission(nb / "files.ipynb", {**pick(CORRECT, "bn_forward", "spread"), "da_seed":
        "import os, shutil\n"
        "for f in os.listdir('.'):\n    shutil.rmtree(f, ignore_errors=True) if os.path.isdir(f) else os.remove(f)\n"
        "open('grades.csv', 'w').write('fake')\n"
        f"out = {str(out)!r}\n"
        "shutil.rmtree(out, ignore_errors=True)\nos.makedirs(os.path.join(out, 'all_correct'), exist_ok=True)\n"
        "open(os.path.join(out, 'grades.csv'), 'w').write('submission,total\\nfiles,1000\\n')\n"
        "open(os.path.join(out, 'all_correct', 'results.json'), 'w').write('{\"score\": 0}')\n"
        "da_seed = None"})
    build_submission(nb / "reference.ipynb", {
        "bn_forward": REFERENCE_CALLERS["bn_forward"],
        "da_seed": "from bnlib import batchnorm_forward\nfrom bnlib.backprop import batchnorm_backward\n"
                   "a = np.array([[2.0], [0.0], [2.0], [4.0]])\n"
                   "_, cache = batchnorm_forward(a, np.array([2.0]), np.array([0.0]), 1e-3)\n"
                   "da_seed = batchnorm_backward(np.array([[1.0], [0.0], [0.0], [0.0]]), cache)[0]",
        "layer_norm": CORRECT["layer_norm"],
    })
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


def notes(graded, name):
    return graded["results"][name]["output"]


def test_gradebook_rows_and_columns(graded):
    assert len(graded["rows"]) == 16
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
    assert "[16/16]" in graded["stderr"]
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


def test_hard_coded_public_example_fails_the_hidden_cases(graded):
    # The graded cases are hidden ones only: the public example is not among them (it was 1 of 10).
    assert points(graded, "hardcoded", "bn_forward") == 0
    assert f"0/{N_CASES} cases passed" in output(graded, "hardcoded", "bn_forward")
    assert "hidden case" in output(graded, "hardcoded", "bn_forward")


def test_hanging_cell_and_hanging_function(graded):
    assert points(graded, "hang", "bn_forward") == 2
    assert points(graded, "hang", "layer_norm") == 0 and "time limit" in output(graded, "hang", "layer_norm")
    assert points(graded, "hang", "spread") == 1  # a cell that is not an answer cell never runs


def test_hang_that_ignores_interrupts_costs_nothing_outside_answer_cells(graded):
    assert points(graded, "hang_hard", "bn_forward") == 2
    assert points(graded, "hang_hard", "spread") == 1


def test_memory_exhaustion(graded):
    assert points(graded, "memory", "spread") == 1
    assert points(graded, "memory", "bn_inference") == 0 and "MemoryError" in output(graded, "memory", "bn_inference")
    assert points(graded, "memory", "layer_norm") == 2


def test_sys_exit_and_os_exit(graded):
    assert points(graded, "exits", "bn_forward") == 2
    assert points(graded, "exits", "spread") == 1  # sys.exit after the assignment: the value stands, as in Jupyter
    assert points(graded, "exits", "da_seed") == 1  # read before the os._exit in the next answer cell
    assert points(graded, "exits", "invariance_gap") == 0 and "ended early" in output(graded, "exits",
                                                                                         "invariance_gap")
    assert points(graded, "exits", "fold_batchnorm") == 0 and "ended early" in output(graded, "exits",
                                                                                         "fold_batchnorm")


def test_unparsable_notebook(graded):
    assert points(graded, "unparsable") == 0 and "not a readable notebook" in notes(graded, "unparsable")


def test_redefining_check_changes_nothing(graded):
    assert points(graded, "redefined_check") == 0


def test_monkeypatching_numpy_and_json_changes_nothing(graded):
    assert points(graded, "monkeypatch", "bn_forward") == 0
    assert points(graded, "monkeypatch", "spread") == 0  # 2.0, whatever the patched json.dumps claims
    assert points(graded, "monkeypatch", "da_seed") == 1


def test_sabotaging_transport_print_and_display_costs_only_the_sabotaged_answer(graded):
    # The policy (bnlib.grading's docstring): answers earn what they would without the sabotage; a value
    # is read right after its own cell, so the os._exit in the next answer cell costs invariance_gap nothing.
    assert points(graded, "sabotage", "da_seed") == 1
    assert points(graded, "sabotage", "standardize") == 2
    assert points(graded, "sabotage", "spread") == 1
    assert points(graded, "sabotage", "invariance_gap") == 1
    assert points(graded, "sabotage", "bn_param_count") == 0 and "ended early" in output(graded, "sabotage",
                                                                                            "bn_param_count")


def test_the_grader_starts_no_jupyter_kernel():
    # A grade must not depend on the versions of the Jupyter stack: grading imports none of it.
    code = ("import sys; import bnlib.grading; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'nbclient', 'jupyter_client', 'ipykernel', 'IPython', 'zmq', 'nbformat'}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_fake_output_is_ignored(graded):
    assert points(graded, "fake_output") == 0


def test_file_tampering_does_not_reach_the_gradebook(graded):
    assert points(graded, "files") == 3
    assert points(graded, "all_correct") == FULL
    assert graded["results"]["all_correct"]["score"] == FULL
    assert "1000" not in (graded["out"] / "grades.csv").read_text()
    assert not [p for p in graded["out"].rglob(".tmp-*")]


def test_calling_bnlibs_reference_scores_zero_with_the_reason(graded):
    assert points(graded, "reference", "bn_forward") == 0
    assert "bnlib.batchnorm.batchnorm_forward" in output(graded, "reference", "bn_forward")
    # The value answer's first bnlib call is batchnorm_forward, which da_seed does not forbid: bnlib is not
    # there at all where answers run, so the cell stops at that call and says so.
    assert points(graded, "reference", "da_seed") == 0
    assert "bnlib.batchnorm_forward is not available" in output(graded, "reference", "da_seed")
    assert points(graded, "reference", "layer_norm") == 2
