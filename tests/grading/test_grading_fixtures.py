"""The folder of hostile submissions (tests/grading/fixtures/hostile), graded by the real command.

Each row of tests/grading/fixtures/README.md's table is a notebook, an exercise (or "total"), the points it
must get and a fragment of its report: the README says why. Graded once per module, like CI does.
"""

import csv
import json
import pathlib
import shutil
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.slow]

FIXTURES = pathlib.Path(__file__).parent / "fixtures"


def expected_rows():
    """The README's table -> [(notebook, exercise, points, fragment, why)]."""
    rows = []
    for line in (FIXTURES / "README.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] not in ("notebook", "---"):
            rows.append((cells[0], cells[1], float(cells[2]), cells[3].replace("`", ""), cells[4]))
    return rows


ROWS = expected_rows()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    if shutil.which("bwrap") is None:  # grading for credit needs it: a missing tool fails, never skips
        pytest.fail("bwrap not found: `apt-get install -y bubblewrap` (README command 1, .ci/run)", pytrace=False)
    out = tmp_path_factory.mktemp("fixtures") / "out"
    proc = subprocess.run([sys.executable, "-m", "bnlib.grading", str(FIXTURES / "hostile"), "--out", str(out),
                           "--seed", "424242", "--timeout", "45", "--memory-mb", "1024", "--jobs", "2"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    print(proc.stderr)  # the progress lines, shown by pytest when a test fails
    with open(out / "grades.csv", newline="") as fh:
        rows = {r["submission"]: r for r in csv.DictReader(fh)}
    return rows, {name: json.loads((out / name / "results.json").read_text()) for name in rows}


def test_every_notebook_has_a_row_and_every_row_a_notebook():
    notebooks = {p.stem for p in (FIXTURES / "hostile").glob("*.ipynb")}
    assert notebooks == {r[0] for r in ROWS}
    assert len(ROWS) >= 30


def test_every_submission_is_graded(graded):
    rows, _ = graded
    assert set(rows) == {r[0] for r in ROWS}
    assert all(r["status"] == "graded" for r in rows.values())


@pytest.mark.parametrize(("notebook", "exercise", "points", "fragment", "why"), ROWS,
                         ids=[f"{r[0]}-{r[1]}" for r in ROWS])
def test_expected_points_and_report(graded, notebook, exercise, points, fragment, why):
    rows, results = graded
    assert float(rows[notebook][exercise]) == points, why
    if exercise == "total":
        report = results[notebook]["output"]
    else:
        report = next(t["output"] for t in results[notebook]["tests"] if t["name"].startswith(exercise + " "))
    assert fragment in report, (why, report)
