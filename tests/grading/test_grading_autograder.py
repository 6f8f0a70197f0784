"""Gradescope: the autograder zip, run in a temporary folder standing in for /autograder.

The bundle is built by the real command, unpacked as Gradescope unpacks it, and its run_autograder is run
on one student's folder; the results.json it writes must equal what the grader gives the same notebooks.
"""

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile

import pytest

from bnlib.grading.assignment import new_assignment, write_assignment
from submission_factory import CORRECT, MISTAKES, build_submission

pytestmark = [pytest.mark.slow]

MISTAKE = {(i, h): s for i, s, h in MISTAKES}


def test_the_autograder_bundle_grades_a_submission_in_a_stand_in_autograder_root(tmp_path):
    write_assignment(new_assignment(["bn_forward", "spread", "layer_norm"], "hw", seed=2024), tmp_path / "hw.toml")
    bundle = tmp_path / "autograder.zip"
    proc = subprocess.run([sys.executable, "-m", "bnlib.grading", "autograder", "--assignment",
                           str(tmp_path / "hw.toml"), "--out", str(bundle)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    root = tmp_path / "autograder"
    with zipfile.ZipFile(bundle) as zf:
        names = zf.namelist()
        assert {"setup.sh", "run_autograder", "assignment.toml", "bnlib/grading/cli.py"} <= set(names)
        assert "bubblewrap" in zf.read("setup.sh").decode()
        zf.extractall(root / "source")
        for info in zf.infolist():  # zipfile drops the mode bits; Gradescope keeps them
            mode = info.external_attr >> 16
            if mode & stat.S_IXUSR:
                os.chmod(root / "source" / info.filename, mode & 0o777)
    student = root / "submission"
    student.mkdir(parents=True)
    build_submission(student / "ch2.ipynb", {"bn_forward": MISTAKE[("bn_forward", "m - 1")],
                                             "spread": CORRECT["spread"]})
    build_submission(student / "ch7.ipynb", {"layer_norm": CORRECT["layer_norm"]})
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), AUTOGRADER_PYTHON=sys.executable)
    run = subprocess.run([str(root / "source" / "run_autograder")], capture_output=True, text=True, env=env,
                         timeout=600)
    assert run.returncode == 0, run.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    scores = {t["name"].split(" ")[0]: t["score"] for t in results["tests"]}
    assert scores["spread"] == 1 and scores["layer_norm"] == 2 and 0 <= scores["bn_forward"] < 2
    assert results["score"] == pytest.approx(sum(scores.values()))
    # The same notebooks graded directly, with the same assignment: the same results.json.
    out = tmp_path / "direct"
    direct = subprocess.run([sys.executable, "-m", "bnlib.grading", str(student), "--single", "--assignment",
                             str(tmp_path / "hw.toml"), "--out", str(out)], capture_output=True, text=True)
    assert direct.returncode == 0, direct.stderr
    assert json.loads((out / "submission" / "results.json").read_text()) == results
    assert "2024" not in json.dumps(results)  # the seed stays with the instructor


def test_the_autograder_reports_a_grader_that_cannot_run(tmp_path):
    write_assignment(new_assignment(["spread"], seed=1), tmp_path / "hw.toml")
    bundle = tmp_path / "autograder.zip"
    subprocess.run([sys.executable, "-m", "bnlib.grading", "autograder", "--assignment", str(tmp_path / "hw.toml"),
                    "--out", str(bundle)], check=True, capture_output=True)
    root = tmp_path / "autograder"
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(root / "source")
    (root / "submission").mkdir()
    build_submission(root / "submission" / "a.ipynb", {"spread": CORRECT["spread"]})
    # A container without bubblewrap: a PATH holding only the shell tools run_autograder uses.
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("mkdir", "mktemp", "cp"):
        os.symlink(shutil.which(tool), tools / tool)
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), AUTOGRADER_PYTHON=sys.executable, PATH=str(tools))
    run = subprocess.run(["/bin/bash", str(root / "source" / "run_autograder")], capture_output=True, text=True,
                         env=env, timeout=300)
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 0 and "could not grade" in results["output"], run.stderr
    assert "bubblewrap" in results["output"]
