"""Submission rules: one answer per exercise, safe reversible ids, results as they come, a crash retried once.

Hostile names (dots, an output file's name, names that collide once sanitised) and a folder answering one
exercise twice are graded by the real command; a crashing worker is simulated in-process (the worker run is
replaced by one that fails), and an answer cell that kills its grading process crashes it for real.
"""

import csv
import json
import re
import subprocess
import sys
import time

import pytest

from bnlib.grading import cli
from bnlib.grading.assignment import new_assignment, write_assignment
from bnlib.grading.cli import RESERVED, collect_submissions, grade_submissions, safe_ids
from submission_factory import CORRECT, MISTAKES, build_submission

MISTAKE = {(i, h): s for i, s, h in MISTAKES}
NAMES = [".", "..", "...", "grades.csv", "students.csv", "assignment.toml", "a b", "a_b", "a?b", "Zoë", "",
         "a_b-" + "0" * 8]


def test_safe_ids_are_unique_safe_reversible_and_independent_of_the_others():
    ids = safe_ids(NAMES, [f"/subs/{k}" for k in range(len(NAMES))])
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", i) and i not in RESERVED and i not in (".", "..") for i in ids)
    assert ids[NAMES.index("a_b")] == "a_b"  # a name that is already safe keeps it
    for name, sid in zip(NAMES, ids, strict=True):
        assert safe_ids([name], ["/elsewhere"]) == [sid]  # the same id whoever else is graded
    same_twice = safe_ids(["ada", "ada"], ["/x/ada", "/y/ada"])
    assert len(set(same_twice)) == 2


def _sub(folder, name, answers):
    build_submission(folder / f"{name}.ipynb", answers)


@pytest.mark.slow
def test_hostile_names_and_duplicate_answers(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    for name in [n for n in NAMES if n not in (".", "")]:  # "." and "" are not file names: "..ipynb", ".ipynb"
        _sub(subs, name, {"spread": CORRECT["spread"]})
    _sub(subs, ".", {"spread": CORRECT["spread"]})  # the file "..ipynb"
    four = subs / "four_guesses"
    four.mkdir()
    # Four notebooks answer bn_forward: the first (sorted) is wrong; the best of four would be full marks.
    build_submission(four / "1.ipynb", {"bn_forward": MISTAKE[("bn_forward", "m - 1")]})
    for k in (2, 3, 4):
        build_submission(four / f"{k}.ipynb", {"bn_forward": CORRECT["bn_forward"], "spread": CORRECT["spread"]})
    write_assignment(new_assignment(["bn_forward", "spread"], seed=5), tmp_path / "hw.toml")
    proc = subprocess.run([sys.executable, "-m", "bnlib.grading", str(subs), "--out", str(out), "--assignment",
                           str(tmp_path / "hw.toml"), "--jobs", "2", "--timeout", "60"],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "results.json").exists() and not (subs / "results.json").exists()
    with open(out / "grades.csv", newline="") as fh:
        rows = {r["submission"]: r for r in csv.DictReader(fh)}
    with open(out / "students.csv", newline="") as fh:
        students = {r["submission"]: r["name"] for r in csv.DictReader(fh)}
    graded_names = sorted(students.values())
    assert len(rows) == len(students) == len(NAMES) - 1 + 1  # every file but ".ipynb" (""), plus four_guesses
    assert "." in graded_names and ".." in graded_names and "grades.csv" in graded_names
    for sid, name in students.items():
        if name != "four_guesses":
            assert float(rows[sid]["spread"]) == 1, name
        assert json.loads((out / sid / "results.json").read_text())["tests"]
    four_id = next(s for s, n in students.items() if n == "four_guesses")
    assert float(rows[four_id]["bn_forward"]) < 2  # the first answer, not the best of four
    report = json.loads((out / four_id / "results.json").read_text())["output"]
    assert report.count("a second answer to `bn_forward` was not graded") == 3 and "(in 1.ipynb)" in report
    assert float(rows[four_id]["spread"]) == 1 and "second answer to `spread`" in report  # 3.ipynb's, 4.ipynb's


def _fake_worker(fail_times, seen, out):
    calls = {}

    def run(submission, assignment, timeout, memory_mb, isolate):
        # Results are written as they come: while the last one is still being graded, the earlier ones
        # appear on disk (polled for a few seconds: the main thread writes them as it collects them).
        if submission.name == "cy":
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and len(list(out.glob("*/results.json"))) < 2:
                time.sleep(0.05)
            seen.append({p.parent.name for p in out.glob("*/results.json")})
        calls[submission.name] = calls.get(submission.name, 0) + 1
        if calls[submission.name] <= fail_times.get(submission.name, 0):
            raise cli.WorkerCrash("killed")
        return {"spread": {"score": 1, "max": 1, "status": "passed", "report": "ok"}}, []
    return run, calls


def test_a_crashed_worker_is_retried_once_then_marked_regrade(tmp_path, monkeypatch):
    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    for name in ("ada", "ben", "cy"):
        _sub(subs, name, {"spread": CORRECT["spread"]})
    seen = []
    run, calls = _fake_worker({"ada": 1, "ben": 5}, seen, out)
    monkeypatch.setattr(cli, "_run_worker", run)
    rows, _ = grade_submissions([subs], out, jobs=1, assignment=new_assignment(["spread"], seed=1), progress=None)
    assert calls == {"ada": 2, "ben": 2, "cy": 1}
    by = {r["submission"]: r for r in rows}
    assert by["ada"]["status"] == "graded" and by["ada"]["total"] == 1
    assert by["ben"]["status"] == "regrade" and by["ben"]["total"] == "" and by["ben"]["spread"] == ""
    assert "crashed twice" in json.loads((out / "ben" / "results.json").read_text())["output"]
    assert by["cy"]["total"] == 1
    assert seen == [{"ada", "ben"}]  # on disk while cy was still being graded
    assert "ben,,,regrade" in (out / "grades.csv").read_text()


def test_collect_submissions_reads_the_bytes_and_keeps_the_students_names(tmp_path):
    _sub(tmp_path, "a b", {"spread": CORRECT["spread"]})
    (s,) = collect_submissions([tmp_path])
    assert s.student == "a b" and s.name.startswith("a_b-") and s.notebooks[0][0] == "a b.ipynb"
