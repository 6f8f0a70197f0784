"""The notebook contract between a chapter, its exercises, the grader and the tools, in one place.

A chapter notebook (JSON, read without nbformat, which is not a runtime dependency) carries its exercises as:

* an **answer cell**: a code cell whose first line is ``# ANSWER: <id>`` and which defines ``<id>``
  (a function or a value); the student replaces the stub below that line;
* a **check cell**: exactly ``check("<id>", <id>)`` (:func:`check_source`), after the answer cell;
* a **solution**: a markdown cell with a ``{solution}`` dropdown after the answer cell whose fenced
  python code defines ``<id>`` (:func:`solution_for`); the book hides it, the student edition drops it.

The grader reads the answer cells (:func:`answer_cells`) and replays the notebook's imports
(:func:`import_statements`); the benchmark and the tests hand in worked solutions (:func:`solved`).
"""

import ast
import copy
import json
import re
from dataclasses import dataclass

__all__ = [
    "ANSWER_RE",
    "FENCE_RE",
    "IMPORT_ROOTS",
    "AnswerCell",
    "answer_cells",
    "answer_id",
    "cell_source",
    "check_source",
    "import_statements",
    "parse_notebook",
    "solution_for",
    "solved",
    "strip_magics",
]

ANSWER_RE = re.compile(r"^#\s*ANSWER:\s*([A-Za-z_]\w*)\s*$")
FENCE_RE = re.compile(r"^```python\n(.*?)\n```\s*$", re.S | re.M)
SOLUTION = "{solution}"
# The modules whose imports the grader replays before the answer cells (what an answer may use).
IMPORT_ROOTS = frozenset({"numpy", "math", "bnlib", "functools", "itertools", "collections", "dataclasses", "typing",
                          "statistics"})


@dataclass(frozen=True)
class AnswerCell:
    """One answer cell: the exercise id of its ``# ANSWER:`` line, its index among all cells, its source."""

    exercise_id: str
    index: int
    source: str


def cell_source(cell):
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def parse_notebook(data):
    """Bytes of a .ipynb -> its cells (list of dicts); raises ValueError with a readable reason."""
    try:
        nb = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"not a readable notebook (invalid JSON: {str(exc)[:120]})") from None
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
        raise ValueError("not a readable notebook (no list of cells)")
    return nb


def answer_id(cell):
    """The exercise id if ``cell`` is an answer cell (a code cell starting ``# ANSWER: <id>``), else None."""
    if cell.get("cell_type") != "code":
        return None
    match = ANSWER_RE.match(cell_source(cell).split("\n", 1)[0].strip())
    return match.group(1) if match else None


def answer_cells(nb):
    """The code cells whose first line is ``# ANSWER: <id>``, in notebook order."""
    return [AnswerCell(exercise_id, i, cell_source(cell)) for i, cell in enumerate(nb["cells"])
            if (exercise_id := answer_id(cell)) is not None]


def check_source(exercise_id):
    """The exact source of the check cell that follows an answer cell."""
    return f'check("{exercise_id}", {exercise_id})'


def solution_for(nb, answer):
    """The python code of the ``{solution}`` dropdown of an :class:`AnswerCell`, or None if it has none.

    It is the first markdown cell with a ``{solution}`` dropdown and fenced python code after the
    answer cell and before the next answer cell; several fences in it are joined.
    """
    for cell in nb["cells"][answer.index + 1:]:
        if answer_id(cell) is not None:
            return None
        text = cell_source(cell)
        if cell.get("cell_type") == "markdown" and SOLUTION in text and FENCE_RE.search(text):
            return "\n".join(FENCE_RE.findall(text))
    return None


def solved(nb):
    """A copy of the notebook as a student who got everything right hands it in: each answer cell holds
    the worked solution of its ``{solution}`` dropdown."""
    nb = copy.deepcopy(nb)
    for answer in answer_cells(nb):
        code = solution_for(nb, answer)
        if code is not None:
            nb["cells"][answer.index]["source"] = f"# ANSWER: {answer.exercise_id}\n{code}"
    return nb


def strip_magics(source):
    """IPython magics and shell escapes are not Python: the sandbox drops those lines."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n"))


def import_statements(nb):
    """Top-level import statements of every code cell that import numpy, math, bnlib, ... (as source)."""
    statements = []
    for cell in nb["cells"]:
        if cell.get("cell_type") != "code":
            continue
        try:
            tree = ast.parse(strip_magics(cell_source(cell)))
        except (SyntaxError, ValueError):
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = {node.module.split(".")[0]}
            else:
                continue
            if roots <= IMPORT_ROOTS:
                statements.append(ast.unparse(node))
    return statements
