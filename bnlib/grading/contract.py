"""The notebook contract between a chapter, its exercises, the grader and the tools, in one place.

A chapter notebook (JSON, read without nbformat, which is not a runtime dependency) carries its exercises as:

* an **answer cell**: a code cell whose first line (after blank and comment lines) is ``# ANSWER: <id>``
  and which defines ``<id>`` (a function or a value); the student replaces the stub below that line;
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
    "graded_answers",
    "import_statements",
    "is_stub",
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
    """The exercise id if ``cell`` is an answer cell, else None.

    An answer cell is a code cell whose first line of code-or-comment that is not blank is ``# ANSWER: <id>``,
    after any blank lines and other comment lines (a student's note above it does not hide the answer).
    """
    if cell.get("cell_type") != "code":
        return None
    for line in cell_source(cell).split("\n"):
        line = line.strip()
        match = ANSWER_RE.match(line)
        if match:
            return match.group(1)
        if line and not line.startswith("#"):
            return None
    return None


def is_stub(answer):
    """True if an :class:`AnswerCell` is an unmodified stub: only ``def <id>(...): raise NotImplementedError``
    (a docstring and comments allowed) or ``<id> = None``."""
    try:
        body = ast.parse(strip_magics(answer.source)).body
    except (SyntaxError, ValueError):
        return False
    if len(body) != 1:
        return False
    node = body[0]
    if isinstance(node, ast.Assign):
        return ([ast.unparse(t) for t in node.targets] == [answer.exercise_id]
                and isinstance(node.value, ast.Constant) and node.value.value is None)
    if isinstance(node, ast.FunctionDef) and node.name == answer.exercise_id:
        statements = [b for b in node.body if not (isinstance(b, ast.Expr) and isinstance(b.value, ast.Constant))]
        if len(statements) == 1 and isinstance(statements[0], ast.Raise) and statements[0].exc is not None:
            exc = statements[0].exc
            name = exc.func if isinstance(exc, ast.Call) else exc
            return isinstance(name, ast.Name) and name.id == "NotImplementedError"
    return False


def answer_cells(nb):
    """The answer cells (see :func:`answer_id`), in notebook order."""
    return [AnswerCell(exercise_id, i, cell_source(cell)) for i, cell in enumerate(nb["cells"])
            if (exercise_id := answer_id(cell)) is not None]


def graded_answers(answers):
    """The answer cells that count: for each exercise answered more than once in a notebook, the last cell
    that is not an unmodified stub (a leftover stub copy below a real answer does not undo it); every other
    cell of that exercise is dropped. A notebook with only stubs for an exercise keeps its last stub."""
    keep = {}
    for a in answers:
        if a.exercise_id not in keep or not is_stub(a) or is_stub(keep[a.exercise_id]):
            keep[a.exercise_id] = a
    chosen = {a.index for a in keep.values()}
    return [a for a in answers if a.index in chosen]


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
