"""The assignment file: which exercises are graded, for how many points, and the secret seed.

``python -m bnlib.grading assignment new FILE [--exercises ID,...]`` writes one (TOML) with a fresh
random seed; ``python -m bnlib.grading SUBMISSION... --assignment FILE --out DIR`` grades with it. The
file fixes the gradebook's columns (in its order) and the hidden cases, so every regrade of the same
submissions gives the same numbers; answers to exercises outside it are ignored with a note and never
change the denominator. Keep the file away from students: its seed decides the hidden cases. Example::

    name = "batch normalization, all chapters"
    seed = 3141592653589793

    [points]
    bn_forward = 2.0
    spread = 1.0
"""

import secrets
import tomllib
from dataclasses import dataclass

from ..exercises.catalogue import EXERCISES
from .writers import POINTS, atomic_write

__all__ = ["Assignment", "load_assignment", "new_assignment", "write_assignment"]

_SEED_BITS = 62


@dataclass(frozen=True)
class Assignment:
    """An assignment: ``points`` maps exercise id -> points (the gradebook columns, in order), ``seed`` the
    secret seed of the hidden cases, ``name`` a label for the gradebook."""

    name: str
    seed: int
    points: dict

    @property
    def columns(self):
        """The gradebook columns: the exercise ids, in the file's order."""
        return list(self.points)

    @property
    def total(self):
        """The denominator of every student's score."""
        return sum(self.points.values())


def _check_exercises(ids, where):
    unknown = [i for i in ids if i not in EXERCISES]
    if unknown:
        raise ValueError(f"{where}: unknown exercise id(s) {', '.join(unknown)}; "
                         f"use ids from: {', '.join(EXERCISES)}")


def new_assignment(exercises=None, name="batch normalization", seed=None):
    """A new :class:`Assignment` with a fresh random secret seed (unless ``seed`` is given).

    exercises: exercise ids (default: every exercise of the course); points are the defaults
               (2 per function exercise, 1 per value exercise).
    """
    ids = list(EXERCISES) if exercises is None else list(dict.fromkeys(exercises))
    _check_exercises(ids, "exercises")
    if not ids:
        raise ValueError("exercises: give at least one exercise id, e.g. --exercises bn_forward,spread")
    seed = secrets.randbits(_SEED_BITS) if seed is None else int(seed)
    return Assignment(str(name), seed, {i: POINTS[EXERCISES[i].kind] for i in ids})


def write_assignment(assignment, path):
    """Write ``assignment`` to ``path`` as TOML (atomically)."""
    lines = ["# bnlib grading assignment. Keep it secret: the seed decides the hidden cases.",
             f"name = {_toml_string(assignment.name)}", f"seed = {assignment.seed}", "", "[points]"]
    lines += [f"{i} = {float(p)!r}" for i, p in assignment.points.items()]
    atomic_write(path, "\n".join(lines) + "\n")


def _toml_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def load_assignment(path):
    """Read an assignment file -> :class:`Assignment`; raises ValueError naming what is wrong and the fix."""
    fix = "write a new one with `python -m bnlib.grading assignment new FILE`"
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ValueError(f"assignment: no such file {path}; {fix}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"assignment: {path} is not valid TOML ({exc}); {fix}") from None
    seed, points = data.get("seed"), data.get("points")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"assignment: {path} needs `seed = <a non-negative integer>`; {fix}")
    if not isinstance(points, dict) or not points:
        raise ValueError(f"assignment: {path} needs a [points] table (exercise id = points); {fix}")
    _check_exercises(list(points), f"assignment {path} [points]")
    for i, p in points.items():
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not p > 0:
            raise ValueError(f"assignment: {path} [points] {i} = {p!r}; give a positive number, e.g. "
                             f"{i} = {POINTS[EXERCISES[i].kind]!r}")
    return Assignment(str(data.get("name", "")), seed, {i: float(p) for i, p in points.items()})
