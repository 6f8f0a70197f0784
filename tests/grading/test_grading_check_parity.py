"""``check`` in a notebook and the grader give the same scores: only the answer cells count, both ways.

A corpus of submissions is graded twice: each notebook is executed in a Jupyter kernel (nbclient, as a
student runs it) and the score in every check cell's report is read; then the folder is graded by
``python -m bnlib.grading``. The answers are chosen so that their score does not depend on which cases are
drawn (right on every case, or wrong on every case), so public and hidden cases must agree. Among them
the two traps of issue 17, which ``check`` once passed and the grader scored 0: a helper defined in a cell
that is not an answer cell, and a value computed with bnlib's own implementation.
"""

import csv
import re
import subprocess
import sys

import nbclient
import nbformat
import pytest

from bnlib.exercises.catalogue import EXERCISES
from bnlib.grading import POINTS
from submission_factory import CORRECT, MISTAKES, answers, build_submission

pytestmark = [pytest.mark.slow]

MISTAKE = {(i, h): s for i, s, h in MISTAKES}
HELPER = """\
def helper(a, gamma, beta, eps):
    mu = a.mean(axis=0)
    return beta + gamma * (a - mu) / np.sqrt(a.var(axis=0) + eps)"""

CORPUS = {
    "correct": (answers("correct"), []),
    "alternative": (answers("alternative"), []),
    "stubs": (answers("stub", ["bn_forward", "spread", "bn_param_count"]), []),
    "wrong": ({"bn_forward": MISTAKE[("bn_forward", "m - 1")], "spread": MISTAKE[("spread", "sqrt(gamma)")],
               "bn_param_count": MISTAKE[("bn_param_count", "moving mean and moving variance")]}, []),
    # Trap 1: the answer calls a helper that a cell other than the answer cell defines.
    "helper_elsewhere": ({"bn_forward": "def bn_forward(a, gamma, beta, eps):\n    return helper(a, gamma, beta, eps)",
                          "layer_norm": CORRECT["layer_norm"]}, [HELPER]),
    # Trap 2: a value (and a function) computed with bnlib's own implementation.
    "bnlib_reference": ({"spread": "from bnlib import batchnorm_forward\n\n"
                                   "a = np.array([[2.0], [0.0], [2.0], [4.0]])\n"
                                   "spread = float(np.std(batchnorm_forward(a, np.array([4.0]), np.array([1.0]), "
                                   "0.0)[0]))",
                         "bn_forward": "from bnlib import batchnorm_forward\n\n\n"
                                       "def bn_forward(a, gamma, beta, eps):\n"
                                       "    return batchnorm_forward(a, gamma, beta, eps)[0]",
                         "da_seed": CORRECT["da_seed"]}, []),
}


def _check_points(path):
    """Execute the notebook in a kernel -> {exercise id: points} read from its check cells' reports."""
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    found = {}
    for cell in nb.cells:
        match = re.fullmatch(r'check\("(\w+)", \w+\)', cell.source.strip())
        if not match:
            continue
        report = next(o["data"]["text/plain"] for o in cell.outputs if o.get("output_type") == "execute_result")
        exercise = EXERCISES[match.group(1)]
        found[exercise.id] = (_fraction(report.splitlines()[0]) * POINTS[exercise.kind], report)
    return found


def _fraction(head):
    """The fraction of cases passed that a report's first line states ("7 of 10 cases passed", "correct")."""
    match = re.search(r"(\d+) of (\d+) cases passed", head)
    if match:
        return int(match[1]) / int(match[2])
    return 1.0 if re.search(r": correct\.$", head) else 0.0  # "not correct yet", "not attempted yet"


@pytest.fixture(scope="module")
def both_ways(tmp_path_factory):
    folder = tmp_path_factory.mktemp("parity")
    subs, out = folder / "subs", folder / "out"
    subs.mkdir()
    for name, (answer_sources, before) in CORPUS.items():
        build_submission(subs / f"{name}.ipynb", answer_sources, before=before)
    proc = subprocess.run([sys.executable, "-m", "bnlib.grading", str(subs), "--out", str(out), "--seed", "2718",
                           "--jobs", "2", "--timeout", "120"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    with open(out / "grades.csv", newline="") as fh:
        graded = {r["submission"]: r for r in csv.DictReader(fh)}
    checked = {name: _check_points(subs / f"{name}.ipynb") for name in CORPUS}
    return checked, graded


@pytest.mark.parametrize("name", list(CORPUS))
def test_check_and_grader_give_the_same_scores(both_ways, name):
    checked, graded = both_ways
    assert set(checked[name]) == set(CORPUS[name][0])
    for exercise_id, (points, report) in checked[name].items():
        assert points == pytest.approx(float(graded[name][exercise_id])), (exercise_id, report)


def test_the_two_traps_score_zero_and_check_says_why(both_ways):
    checked, _ = both_ways
    points, report = checked["helper_elsewhere"]["bn_forward"]
    assert points == 0 and "define `helper` inside this cell" in report
    assert checked["helper_elsewhere"]["layer_norm"][0] == 2
    points, report = checked["bnlib_reference"]["spread"]
    assert points == 0 and "bnlib.batchnorm_forward is not available" in report
    points, report = checked["bnlib_reference"]["bn_forward"]
    assert points == 0 and "bnlib.batchnorm.batchnorm_forward, bnlib's own implementation" in report
    assert checked["bnlib_reference"]["da_seed"][0] == 1
    assert checked["correct"]["bn_forward"][0] == 2 and checked["correct"]["spread"][0] == 1
