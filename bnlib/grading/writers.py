"""What the grader writes: points per exercise, Gradescope's results.json, the gradebook CSV; atomically."""

import csv
import io
import os
import tempfile

from ..exercises.catalogue import EXERCISES

__all__ = ["POINTS", "atomic_write", "gradebook_csv", "gradescope_json", "points"]

POINTS = {"function": 2.0, "value": 1.0}


def points(exercise, result, worth=None):
    """The points of one exercise's result: ``worth`` (default POINTS[kind]) times the fraction of cases
    passed, 2 decimals."""
    if result is None:
        return 0.0
    worth = POINTS[exercise.kind] if worth is None else worth
    return round(worth * result["score"] / result["max"], 2)


def atomic_write(path, text):
    """Write ``text`` to ``path`` through a temporary file and ``os.replace``: all of it, or the old file."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def gradescope_json(graded, worths):
    """The results.json dict for one submission (Gradescope's autograder format).

    worths: exercise id -> points, the assignment's columns in order (the denominator is their sum).
    """
    results, notes = graded
    tests = []
    for exercise_id, worth in worths.items():
        exercise = EXERCISES[exercise_id]
        r = results.get(exercise_id)
        output = r["report"] if r else f"no answer cell `# ANSWER: {exercise_id}` found in this submission"
        score = points(exercise, r, worth)
        tests.append({"name": f"{exercise_id} (chapter {exercise.chapter}: {exercise.title})", "score": score,
                      "max_score": worth, "status": "passed" if r and r["score"] == r["max"]
                      else "failed", "output": output, "visibility": "visible"})
    total = round(sum(t["score"] for t in tests), 2)
    maximum = sum(t["max_score"] for t in tests)
    lines = [f"Score {total:g}/{maximum:g}, graded on hidden randomized cases."] + [f"Note: {n}" for n in notes]
    return {"score": total, "output": "\n".join(lines), "tests": tests, "visibility": "visible"}


def gradebook_csv(rows, columns):
    """The gradebook: one row per submission, one column per exercise, the total, and the status ("graded", or
    "regrade" with empty scores when its grading crashed twice: never a 0 to upload by mistake)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["submission", *columns, "total", "status"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
