"""Graded exercises: ``check(exercise_id, answer)`` gives instant, specific feedback (every chapter).

Each chapter ends with exercises. The student's answer cell starts with ``# ANSWER: <id>`` and
defines a function or a value named ``<id>``; the next cell runs ``check("<id>", <id>)``.

How a check works
-----------------
* A **function** exercise runs the student's function on 10 cases: a few fixed public cases (the
  notes' batch among them) and randomized ones (shapes, scales, eps, seeds). The expected output of
  every case comes from bnlib's own reference implementation (``bnlib.stats``, ``bnlib.batchnorm``,
  ``bnlib.backprop``, ``bnlib.layer``, ``bnlib.folding``, ``bnlib.alternatives``). A **value**
  exercise is one case, compared with the value bnlib computes (to 5 significant digits).
* When a failed case matches a known mistake (the variance divided by m - 1 instead of m, eps
  outside the square root, the wrong axis, gamma/beta forgotten or swapped, PyTorch's momentum, ...),
  the report says which one. Each mistake is computed as a variant on the failed case and compared.
* The student's code never crashes the check: exceptions, wrong types or shapes, NaN, a function
  that changes its inputs in place, and code that runs too long (``runner.CASE_TIME_LIMIT`` seconds
  per case) become failed cases with a message. The function always gets copies of the case's inputs.
* A function answer that calls bnlib's (or Keras's) implementation of the very thing the exercise
  asks for scores 0 with that reason. In a notebook ``check`` applies the grader's rule (only the answer
  cells and the notebook's imports count): it runs the answer cells in an answer process of its own where
  bnlib is a stand-in and Keras cannot be imported, and scores with the grader's own function, saying so
  when an answer uses a name another cell defines. Outside a notebook it calls the object it is given and
  sees calls into the references with ``sys.setprofile``.

``check`` returns a :class:`CheckResult` (``score``, ``max_score``) whose repr is the report, so a
notebook cell that ends with ``check(...)`` displays it; a not-yet-attempted stub gets a fixed,
deterministic "not attempted" report (score 0). The instructors' grader (:mod:`bnlib.grading`) uses
the same cases and comparisons with a secret seed, running the student's code in a separate process.

The package: ``student`` (``check``, ``get_case``: the names this face hands on), ``model`` (Exercise,
Mistake, Case and the result records), ``runner`` (the time limit and the forbidden-call guard, used by
``check`` and by the grader's sandbox), ``scoring`` (scores and reports), ``catalogue/`` (the exercises,
one module per chapter).
"""

from .model import CheckResult
from .student import check, exercise_ids, get_case

__all__ = ["CheckResult", "check", "exercise_ids", "get_case"]
