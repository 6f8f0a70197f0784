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
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from ..exercises.catalogue import EXERCISES
from .processes import kill_group, python_command
from .transport import MAX_JSON
from .writers import atomic_write, gradebook_csv, gradescope_json, points

__all__ = ["DEFAULT_MEMORY_MB", "DEFAULT_TIMEOUT", "Submission", "collect_submissions", "grade_submissions", "main"]

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


def _grade_one(submission, seed, timeout, memory_mb):
    """Run a worker for one submission; returns (results, notes). Never raises."""
    request = {"notebooks": [(n, d.hex()) for n, d in submission.notebooks], "seed": seed, "timeout": timeout,
               "memory_mb": memory_mb}
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
        return _validate(reply["results"]), [str(n)[:500] for n in reply["notes"]][:50]
    except (ValueError, KeyError, TypeError):
        return {}, [f"grading this submission failed (worker exit status {proc.returncode})"]


def _validate(results):
    clean = {}
    for exercise_id, r in results.items():
        if exercise_id not in EXERCISES:
            continue
        score, top = int(r["score"]), int(r["max"])
        if not 0 <= score <= top or top < 1:
            raise ValueError("score out of range")
        clean[exercise_id] = {"score": score, "max": top, "status": str(r["status"]), "report": str(r["report"])}
    return clean


def grade_submissions(paths, out_dir, jobs=None, seed=None, exercises=None, timeout=DEFAULT_TIMEOUT,
                      memory_mb=DEFAULT_MEMORY_MB, progress=sys.stderr):
    """Grade every submission in ``paths``; write ``out_dir``/grades.csv and results.json files.

    Returns the gradebook rows (dicts: submission, one key per exercise, total).
    """
    submissions = collect_submissions(paths)
    seed = secrets.randbits(62) if seed is None else int(seed)
    jobs = jobs or max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())
    graded, start = {}, time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(_grade_one, s, seed, timeout, memory_mb): s for s in submissions}
        for k, future in enumerate(concurrent.futures.as_completed(futures), 1):
            s = futures[future]
            graded[s.name] = future.result()
            if progress:
                got = sum(points(EXERCISES[i], r) for i, r in graded[s.name][0].items())
                print(f"[{k}/{len(submissions)}] {s.name}: {got:g} points ({time.monotonic() - start:.1f} s)",
                      file=progress, flush=True)
    if exercises:
        columns = [e for e in exercises if e in EXERCISES]
    else:
        found = {i for results, _ in graded.values() for i in results}
        columns = [i for i in EXERCISES if i in found]
    rows = []
    for s in submissions:
        report = gradescope_json(graded[s.name], columns)
        atomic_write(os.path.join(out_dir, s.name, "results.json"), json.dumps(report, indent=2) + "\n")
        row = {"submission": s.name}
        row.update({t["name"].split(" ")[0]: t["score"] for t in report["tests"]})
        row["total"] = report["score"]
        rows.append(row)
    atomic_write(os.path.join(out_dir, "grades.csv"), gradebook_csv(rows, columns))
    return rows, columns


def main(argv=None):
    """``python -m bnlib.grading SUBMISSION... --out DIR``: grade, write the files, print a summary table."""
    parser = argparse.ArgumentParser(prog="python -m bnlib.grading", description=_DESCRIPTION,
                                     epilog="Example: python -m bnlib.grading submissions/ --out grades")
    parser.add_argument("submissions", nargs="+", help="notebooks, or folders of notebooks / student sub-folders")
    parser.add_argument("--out", required=True, help="output folder for grades.csv and <submission>/results.json")
    parser.add_argument("--jobs", type=int, default=None, help="submissions graded in parallel (default: cores)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the hidden cases (default: a secret one)")
    parser.add_argument("--exercises", default=None, help="comma-separated exercise ids for the columns "
                        "(default: every exercise found in a submission)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per submission")
    parser.add_argument("--memory-mb", type=int, default=DEFAULT_MEMORY_MB, help="memory limit per process")
    args = parser.parse_args(argv)
    try:
        rows, columns = grade_submissions(args.submissions, args.out, args.jobs, args.seed,
                                          args.exercises.split(",") if args.exercises else None, args.timeout,
                                          args.memory_mb)
    except FileNotFoundError as exc:
        parser.error(str(exc))
    width = max([len("submission")] + [len(r["submission"]) for r in rows])
    print(f"{'submission':<{width}}  " + "  ".join(columns) + "  total")
    for r in rows:
        print(f"{r['submission']:<{width}}  " + "  ".join(f"{r[c]:>{len(c)}g}" for c in columns)
              + f"  {r['total']:>5g}")
    print(f"wrote {os.path.join(args.out, 'grades.csv')} and {len(rows)} results.json file(s)")
    return 0
