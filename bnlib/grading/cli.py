"""The grading command: ``python -m bnlib.grading SUBMISSION... --out DIR`` (see :mod:`bnlib.grading`).

The main process reads every submission's bytes up front, runs one worker per submission (in parallel,
each a fresh ``python -I`` in its own session, with a wall-clock limit), validates what each returns and
writes every output file itself, atomically, only after all workers have finished.
"""

import argparse
import concurrent.futures
import csv
import hashlib
import io
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
from .processes import INSTALL_HINT, SubmissionCgroup, cgroup_problem, isolation_problem, kill_group, python_command
from .transport import MAX_JSON
from .writers import atomic_write, gradebook_csv, gradescope_json, points

__all__ = ["DEFAULT_MEMORY_MB", "DEFAULT_TIMEOUT", "REGRADE", "RESERVED", "Submission", "WorkerCrash",
           "assignment_main", "collect_submissions", "grade_submissions", "main", "safe_ids", "students_csv"]

DEFAULT_TIMEOUT = 300.0  # seconds per submission, everything included
DEFAULT_MEMORY_MB = 2048  # data segment limit of every process that runs student code
SUBMISSION_MEMORY_MB = 3072  # memory of everything one submission's grading runs, together (cgroup)
SUBMISSION_PROCESSES = 64  # processes of one submission's grading at once (cgroup); a fork bomb stops there
_DESCRIPTION = "Grade submitted notebooks against hidden cases."


@dataclass(frozen=True)
class Submission:
    """One student's submission: a safe id, the student's name and source, and its notebooks' bytes.

    name:      the file or folder name the submission came with (the student's name, as given).
    source:    the path it was read from.
    notebooks: ((path relative to the submission, bytes), ...), in sorted order (the first answer counts).
    """

    name: str
    notebooks: tuple
    student: str = ""
    source: str = ""


_SAFE = re.compile(r"[A-Za-z0-9_-]+")
# Output files of the grader in DIR: no submission id may take their names (ids never contain a dot, and these
# are listed too in case a future output file has none).
RESERVED = frozenset({"grades.csv", "assignment.toml", "students.csv"})


def _digest(text):
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def safe_ids(names, sources):
    """Unique, safe, reversible submission ids for the students' ``names`` (one per submission).

    A name made only of ASCII letters, digits, ``_`` and ``-`` is its own id; any other name (dots, spaces,
    slashes, accents, an output file's name, the empty name) becomes its safe characters plus ``-`` and 8 hex
    digits of its SHA-256, so two names that sanitise alike still get different ids, and an id never depends
    on which other students are graded. The same name twice (two folders) is told apart by its source.
    students.csv in the output folder maps every id back to the name and path.
    """
    ids, taken = [], set()
    for name, source in zip(names, sources, strict=True):
        base = re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64] or "submission"
        candidates = [base] if base == name and name not in RESERVED else []
        candidates += [f"{base}-{_digest(name)}", f"{base}-{_digest(name + chr(0) + source)}"]
        candidates += [f"{base}-{_digest(source)}-{k}" for k in range(2, len(names) + 2)]
        chosen = next(c for c in candidates if c not in taken)
        taken.add(chosen)
        ids.append(chosen)
    return ids


def collect_submissions(paths, single=False):
    """Expand the command-line paths into submissions and read all their bytes now.

    single: every notebook under ``paths`` is one student's submission, named "submission" (Gradescope's
    /autograder/submission folder).
    """
    if single:
        files = []
        for path in paths:
            path = os.path.abspath(path)
            if not os.path.exists(path):
                raise FileNotFoundError(f"no such submission: {path}")
            files += [path] if os.path.isfile(path) else sorted(
                os.path.join(dp, f) for dp, _, fs in os.walk(path) for f in fs
                if f.endswith(".ipynb") and ".ipynb_checkpoints" not in dp)
        base = os.path.abspath(paths[0]) if os.path.isdir(paths[0]) else os.path.dirname(os.path.abspath(paths[0]))
        notebooks = []
        for f in files:
            with open(f, "rb") as fh:
                notebooks.append((os.path.relpath(f, base), fh.read()))
        return [Submission("submission", tuple(notebooks), "submission", base)]
    found = []
    for path in paths:
        path = os.path.abspath(path)
        if os.path.isdir(path):
            for entry in sorted(os.listdir(path)):
                full = os.path.join(path, entry)
                if os.path.isdir(full) and not entry.startswith("."):
                    nbs = sorted(os.path.join(dp, f) for dp, _, fs in os.walk(full) for f in fs if f.endswith(".ipynb")
                                 and ".ipynb_checkpoints" not in dp)
                    found.append((entry, full, nbs))
                elif entry.endswith(".ipynb") and os.path.isfile(full):
                    found.append((entry[: -len(".ipynb")], full, [full]))
        elif os.path.isfile(path):
            found.append((os.path.basename(path).removesuffix(".ipynb"), path, [path]))
        else:
            raise FileNotFoundError(f"no such submission: {path}")
    ids = safe_ids([name for name, _, _ in found], [source for _, source, _ in found])
    submissions = []
    for sid, (name, source, files) in zip(ids, found, strict=True):
        notebooks = []
        for f in files:
            with open(f, "rb") as fh:
                where = os.path.relpath(f, source) if os.path.isdir(source) else os.path.basename(f)
                notebooks.append((where, fh.read()))
        submissions.append(Submission(sid, tuple(notebooks), name, source))
    return submissions


class WorkerCrash(Exception):
    """A worker ended without a valid reply (killed, crashed): the submission is graded again, once."""


def _run_worker(submission, assignment, timeout, memory_mb, isolate=True):
    """Run one worker for one submission -> (results, notes); raises WorkerCrash without a valid reply."""
    request = {"notebooks": [(n, d.hex()) for n, d in submission.notebooks], "seed": assignment.seed,
               "exercises": assignment.columns, "timeout": timeout, "memory_mb": memory_mb, "isolate": isolate}
    workdir = tempfile.mkdtemp(prefix="bnlib-worker-")
    group = SubmissionCgroup(max(memory_mb, SUBMISSION_MEMORY_MB), SUBMISSION_PROCESSES) if cgroup_problem() is None \
        else None
    proc = subprocess.Popen(python_command("from bnlib.grading.worker import worker_main; worker_main()"),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            cwd=workdir, start_new_session=True)
    try:
        if group:  # before the worker reads its request, so before it starts anything
            group.add(proc.pid)
        out, _ = proc.communicate(json.dumps(request).encode(), timeout=timeout + 60)
    except subprocess.TimeoutExpired:
        kill_group(proc.pid)
        proc.communicate()
        return {}, ["grading this submission ran past its time limit and was stopped"]
    finally:
        kill_group(proc.pid)
        if group:
            group.close()
        shutil.rmtree(workdir, ignore_errors=True)
    try:
        reply = json.loads(out[:MAX_JSON])
        return _validate(reply["results"], assignment), [str(n)[:500] for n in reply["notes"]][:50]
    except (ValueError, KeyError, TypeError):
        raise WorkerCrash(f"worker exit status {proc.returncode}") from None


REGRADE = "regrade"


def _grade_one(submission, assignment, timeout, memory_mb, isolate):
    """Grade one submission, retrying once if its worker crashes -> (results, notes), or None ("regrade")."""
    for _attempt in range(2):
        try:
            return _run_worker(submission, assignment, timeout, memory_mb, isolate)
        except WorkerCrash:
            continue
    return None


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
                      memory_mb=DEFAULT_MEMORY_MB, progress=sys.stderr, assignment=None, unsafe=False,
                      single=False):
    """Grade every submission in ``paths``; write ``out_dir``/grades.csv and results.json files.

    assignment: an :class:`~bnlib.grading.assignment.Assignment` (columns, points, seed); without one,
    ``exercises`` (default: all) and ``seed`` (default: a fresh secret one) make it. Either way the seed
    and the columns are recorded in ``out_dir``/assignment.toml (for the instructor, not the students),
    so the run can be repeated with ``--assignment out_dir/assignment.toml``.
    unsafe: grade without bubblewrap's isolation (not for credit); without it, a machine where bubblewrap
    cannot isolate raises RuntimeError saying why.
    Returns (the gradebook rows: dicts with submission, one key per exercise, total; the columns).
    """
    problem = None if unsafe else isolation_problem()
    if problem:
        raise RuntimeError(f"cannot grade for credit: {problem}. To fix it, {INSTALL_HINT}.")
    if progress and cgroup_problem():
        print(f"note: {cgroup_problem()}: each process that runs student code has its own memory limit "
              f"({memory_mb} MiB), the submission as a whole none, and no process-count cap", file=progress)
    if assignment is None:
        assignment = new_assignment(exercises, name="ad hoc", seed=seed)
    submissions = collect_submissions(paths, single)
    jobs = jobs or max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())
    os.makedirs(out_dir, exist_ok=True)
    write_assignment(assignment, os.path.join(out_dir, "assignment.toml"))
    graded, start = {}, time.monotonic()
    atomic_write(os.path.join(out_dir, "students.csv"), students_csv(submissions))
    columns = assignment.columns
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(_grade_one, s, assignment, timeout, memory_mb, not unsafe): s for s in submissions}
        for k, future in enumerate(concurrent.futures.as_completed(futures), 1):
            s = futures[future]
            graded[s.name] = future.result()
            # Written as they come (atomically), so a run stopped midway keeps what it graded.
            _write_results(out_dir, s, graded[s.name], assignment)
            atomic_write(os.path.join(out_dir, "grades.csv"),
                         gradebook_csv(_rows([t for t in submissions if t.name in graded], graded, assignment),
                                       columns))
            if progress:
                got = (REGRADE if graded[s.name] is None else
                       f"{sum(points(EXERCISES[i], r, assignment.points[i]) for i, r in graded[s.name][0].items()):g}"
                       " points")
                print(f"[{k}/{len(submissions)}] {s.name}: {got} ({time.monotonic() - start:.1f} s)",
                      file=progress, flush=True)
    # Written again at the end: whatever a submission graded meanwhile did to the folder, the final files are
    # the grader's.
    write_assignment(assignment, os.path.join(out_dir, "assignment.toml"))
    atomic_write(os.path.join(out_dir, "students.csv"), students_csv(submissions))
    for s in submissions:
        _write_results(out_dir, s, graded[s.name], assignment)
    rows = _rows(submissions, graded, assignment)
    atomic_write(os.path.join(out_dir, "grades.csv"), gradebook_csv(rows, columns))
    return rows, columns


def students_csv(submissions):
    """The map from submission ids back to the students' names and the paths graded (for the instructor)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["submission", "name", "source"])
    writer.writerows([s.name, s.student, s.source] for s in submissions)
    return buffer.getvalue()


def _write_results(out_dir, submission, graded, assignment):
    if graded is None:
        graded = ({}, ["this submission could not be graded: its grading process crashed twice; it is marked "
                       "\"regrade\" for the instructor"])
    report = gradescope_json(graded, assignment.points)
    atomic_write(os.path.join(out_dir, submission.name, "results.json"), json.dumps(report, indent=2) + "\n")


def _rows(submissions, graded, assignment):
    rows = []
    for s in submissions:
        row = {"submission": s.name}
        if graded[s.name] is None:
            row.update({c: "" for c in assignment.columns})
            row.update(total="", status=REGRADE)
        else:
            report = gradescope_json(graded[s.name], assignment.points)
            row.update({t["name"].split(" ")[0]: t["score"] for t in report["tests"]})
            row.update(total=report["score"], status="graded")
        rows.append(row)
    return rows


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
    if argv[:1] == ["autograder"]:
        from .autograder import autograder_main
        return autograder_main(argv[1:])
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
    parser.add_argument("--single", action="store_true", help="all the paths are ONE student's submission "
                        "(as on Gradescope); its results go to DIR/submission/results.json")
    parser.add_argument("--unsafe", action="store_true", help="grade without bubblewrap's isolation where it is "
                        "unavailable (student code then runs as you: not for credit)")
    args = parser.parse_args(argv)
    if args.assignment and (args.seed is not None or args.exercises):
        parser.error("--assignment fixes the seed and the exercises; drop --seed and --exercises")
    try:
        assignment = load_assignment(args.assignment) if args.assignment else None
        rows, columns = grade_submissions(args.submissions, args.out, args.jobs, args.seed,
                                          args.exercises.split(",") if args.exercises else None, args.timeout,
                                          args.memory_mb, assignment=assignment, unsafe=args.unsafe,
                                          single=args.single)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        parser.error(str(exc))
    width = max([len("submission")] + [len(r["submission"]) for r in rows])
    print(f"{'submission':<{width}}  " + "  ".join(columns) + "  total")
    for r in rows:
        if r["status"] == REGRADE:
            print(f"{r['submission']:<{width}}  {REGRADE}")
            continue
        print(f"{r['submission']:<{width}}  " + "  ".join(f"{r[c]:>{len(c)}g}" for c in columns)
              + f"  {r['total']:>5g}")
    print(f"wrote {os.path.join(args.out, 'grades.csv')} and {len(rows)} results.json file(s)")
    return 0
