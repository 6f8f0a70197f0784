"""The grading command: ``python -m bnlib.grading SUBMISSION... --out DIR`` (see :mod:`bnlib.grading`).

The main process reads every submission's bytes up front, runs one worker per submission (in parallel,
each a fresh ``python -I`` in its own session, with a wall-clock limit), validates what each returns and
writes every output file itself, atomically, only after all workers have finished.
"""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from ..exercises.catalogue import EXERCISES
from .assignment import load_assignment, new_assignment, write_assignment
from .processes import kill_group, python_command
from .transport import MAX_JSON
from .writers import atomic_write, gradebook_csv, gradescope_json, points

__all__ = ["DEFAULT_MEMORY_MB", "DEFAULT_TIMEOUT", "Submission", "assignment_main", "collect_submissions",
           "grade_submissions", "main"]

DEFAULT_TIMEOUT = 300.0  # seconds per submission, everything included
DEFAULT_MEMORY_MB = 2048  # data segment limit of every process that runs student code
_DESCRIPTION = "Grade submitted notebooks against hidden cases."


@dataclass(frozen=True)
class Submission:
    """One student's submission: a safe name and the bytes of its notebooks, read up front."""

    name: str
    notebooks: tuple  # ((file name, bytes), ...)


def collect_submissions(paths):
    """Expand the command-line paths into submissions and read all their bytes now."""
    found = []
    for path in paths:
        path = os.path.abspath(path)
        if os.path.isdir(path):
            for entry in sorted(os.listdir(path)):
                full = os.path.join(path, entry)
                if os.path.isdir(full) and not entry.startswith("."):
                    nbs = sorted(os.path.join(dp, f) for dp, _, fs in os.walk(full) for f in fs if f.endswith(".ipynb")
                                 and ".ipynb_checkpoints" not in dp)
                    found.append((entry, nbs))
                elif entry.endswith(".ipynb"):
                    found.append((entry[: -len(".ipynb")], [full]))
        elif os.path.isfile(path):
            found.append((os.path.basename(path).removesuffix(".ipynb"), [path]))
        else:
            raise FileNotFoundError(f"no such submission: {path}")
    submissions, seen = [], {}
    for name, files in found:
        safe = re.sub(r"[^\w.-]", "_", name) or "submission"
        seen[safe] = seen.get(safe, 0) + 1
        if seen[safe] > 1:
            safe = f"{safe}-{seen[safe]}"
        notebooks = []
        for f in files:
            with open(f, "rb") as fh:
                notebooks.append((os.path.basename(f), fh.read()))
        submissions.append(Submission(safe, tuple(notebooks)))
    return submissions


def _grade_one(submission, assignment, timeout, memory_mb):
    """Run a worker for one submission; returns (results, notes). Never raises."""
    request = {"notebooks": [(n, d.hex()) for n, d in submission.notebooks], "seed": assignment.seed,
               "exercises": assignment.columns, "timeout": timeout, "memory_mb": memory_mb}
    workdir = tempfile.mkdtemp(prefix="bnlib-worker-")
    proc = subprocess.Popen(python_command("from bnlib.grading.worker import worker_main; worker_main()"),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            cwd=workdir, start_new_session=True)
    try:
        out, _ = proc.communicate(json.dumps(request).encode(), timeout=timeout + 60)
    except subprocess.TimeoutExpired:
        kill_group(proc.pid)
        proc.communicate()
        return {}, ["grading this submission ran past its time limit and was stopped"]
    finally:
        kill_group(proc.pid)
        shutil.rmtree(workdir, ignore_errors=True)
    try:
        reply = json.loads(out[:MAX_JSON])
        return _validate(reply["results"], assignment), [str(n)[:500] for n in reply["notes"]][:50]
    except (ValueError, KeyError, TypeError):
        return {}, [f"grading this submission failed (worker exit status {proc.returncode})"]


def _validate(results, assignment):
    clean = {}
    for exercise_id, r in results.items():
        if exercise_id not in assignment.points:
            continue
        score, top = int(r["score"]), int(r["max"])
        if not 0 <= score <= top or top < 1:
            raise ValueError("score out of range")
        clean[exercise_id] = {"score": score, "max": top, "status": str(r["status"]), "report": str(r["report"])}
    return clean


def grade_submissions(paths, out_dir, jobs=None, seed=None, exercises=None, timeout=DEFAULT_TIMEOUT,
                      memory_mb=DEFAULT_MEMORY_MB, progress=sys.stderr, assignment=None):
    """Grade every submission in ``paths``; write ``out_dir``/grades.csv and results.json files.

    assignment: an :class:`~bnlib.grading.assignment.Assignment` (columns, points, seed); without one,
    ``exercises`` (default: all) and ``seed`` (default: a fresh secret one) make it. Either way the seed
    and the columns are recorded in ``out_dir``/assignment.toml (for the instructor, not the students),
    so the run can be repeated with ``--assignment out_dir/assignment.toml``.
    Returns (the gradebook rows: dicts with submission, one key per exercise, total; the columns).
    """
    if assignment is None:
        assignment = new_assignment(exercises, name="ad hoc", seed=seed)
    submissions = collect_submissions(paths)
    jobs = jobs or max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())
    write_assignment(assignment, os.path.join(out_dir, "assignment.toml"))
    graded, start = {}, time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(_grade_one, s, assignment, timeout, memory_mb): s for s in submissions}
        for k, future in enumerate(concurrent.futures.as_completed(futures), 1):
            s = futures[future]
            graded[s.name] = future.result()
            if progress:
                got = sum(points(EXERCISES[i], r, assignment.points[i]) for i, r in graded[s.name][0].items())
                print(f"[{k}/{len(submissions)}] {s.name}: {got:g} points ({time.monotonic() - start:.1f} s)",
                      file=progress, flush=True)
    columns = assignment.columns
    rows = []
    for s in submissions:
        report = gradescope_json(graded[s.name], assignment.points)
        atomic_write(os.path.join(out_dir, s.name, "results.json"), json.dumps(report, indent=2) + "\n")
        row = {"submission": s.name}
        row.update({t["name"].split(" ")[0]: t["score"] for t in report["tests"]})
        row["total"] = report["score"]
        rows.append(row)
    atomic_write(os.path.join(out_dir, "grades.csv"), gradebook_csv(rows, columns))
    return rows, columns


def assignment_main(argv):
    """``python -m bnlib.grading assignment new FILE``: write an assignment file with a random secret seed."""
    parser = argparse.ArgumentParser(prog="python -m bnlib.grading assignment",
                                     description="Write an assignment file (exercises, points, a secret seed).",
                                     epilog="Example: python -m bnlib.grading assignment new hw1.toml "
                                            "--exercises bn_forward,spread")
    parser.add_argument("action", choices=["new"], help="new: write a new assignment file")
    parser.add_argument("file", help="the assignment file to write (TOML)")
    parser.add_argument("--exercises", default=None, help="comma-separated exercise ids (default: all)")
    parser.add_argument("--name", default="batch normalization", help="a label for the assignment")
    parser.add_argument("--force", action="store_true", help="overwrite an existing file (and its seed)")
    args = parser.parse_args(argv)
    if os.path.exists(args.file) and not args.force:
        parser.error(f"{args.file} exists; its seed decides its hidden cases. Pick another FILE, or add --force")
    try:
        assignment = new_assignment(args.exercises.split(",") if args.exercises else None, args.name)
    except ValueError as exc:
        parser.error(str(exc))
    write_assignment(assignment, args.file)
    print(f"wrote {args.file}: {len(assignment.points)} exercise(s), {assignment.total:g} points, a secret seed")
    return 0


def main(argv=None):
    """``python -m bnlib.grading SUBMISSION... --out DIR``: grade, write the files, print a summary table."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["assignment"]:
        return assignment_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m bnlib.grading", description=_DESCRIPTION,
                                     epilog="Example: python -m bnlib.grading submissions/ --out grades")
    parser.add_argument("submissions", nargs="+", help="notebooks, or folders of notebooks / student sub-folders")
    parser.add_argument("--out", required=True, help="output folder for grades.csv and <submission>/results.json")
    parser.add_argument("--jobs", type=int, default=None, help="submissions graded in parallel (default: cores)")
    parser.add_argument("--assignment", default=None, help="assignment file (exercises, points, secret seed): "
                        "the same file gives the same grades every time; write one with "
                        "`python -m bnlib.grading assignment new FILE`")
    parser.add_argument("--seed", type=int, default=None, help="seed of the hidden cases without --assignment "
                        "(default: a secret one, recorded in DIR/assignment.toml)")
    parser.add_argument("--exercises", default=None, help="comma-separated exercise ids for the columns without "
                        "--assignment (default: every exercise of the course)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per submission")
    parser.add_argument("--memory-mb", type=int, default=DEFAULT_MEMORY_MB, help="memory limit per process")
    args = parser.parse_args(argv)
    if args.assignment and (args.seed is not None or args.exercises):
        parser.error("--assignment fixes the seed and the exercises; drop --seed and --exercises")
    try:
        assignment = load_assignment(args.assignment) if args.assignment else None
        rows, columns = grade_submissions(args.submissions, args.out, args.jobs, args.seed,
                                          args.exercises.split(",") if args.exercises else None, args.timeout,
                                          args.memory_mb, assignment=assignment)
    except (FileNotFoundError, ValueError) as exc:
        parser.error(str(exc))
    width = max([len("submission")] + [len(r["submission"]) for r in rows])
    print(f"{'submission':<{width}}  " + "  ".join(columns) + "  total")
    for r in rows:
        print(f"{r['submission']:<{width}}  " + "  ".join(f"{r[c]:>{len(c)}g}" for c in columns)
              + f"  {r['total']:>5g}")
    print(f"wrote {os.path.join(args.out, 'grades.csv')} and {len(rows)} results.json file(s)")
    return 0
