"""Every chapter's exercises follow the notebook contract, and every worked solution scores full marks.

For each chapter notebook that exists: each ``# ANSWER: <id>`` cell has its ``check("<id>", <id>)`` cell
and a ``{solution}`` dropdown whose python code defines ``<id>`` (bnlib.grading.contract); that code, run
after the notebook's imports cell, passes ``bnlib.exercises.check``. Chapters written later are covered
automatically.
"""

import ast

import pytest

from bnlib.exercises import check
from bnlib.exercises.catalogue import EXERCISES
from bnlib.grading.contract import answer_cells, cell_source, check_source, solution_for
from booktools import load, notebooks


def defined_names(code):
    names = set()
    for node in ast.parse(code).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return names


def exercises_of(path):
    """[(id, answer cell index, check cell index or None, solution code or None)] of one notebook."""
    nb = load(path)
    found = []
    for answer in answer_cells(nb):
        check_cell = next((j for j, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
                           and cell_source(c).strip() == check_source(answer.exercise_id)), None)
        found.append((answer.exercise_id, answer.index, check_cell, solution_for(nb, answer)))
    return found


CASES = [(path, item) for path in notebooks() for item in exercises_of(path)]


def test_answer_ids_are_known_and_unique():
    ids = [item[0] for _, item in CASES]
    assert set(ids) <= set(EXERCISES), set(ids) - set(EXERCISES)
    assert len(ids) == len(set(ids)), "an exercise id appears twice"


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.stem)
def test_each_chapter_has_its_exercises(path):
    """A chapter notebook NN_*.ipynb carries the exercises the catalogue assigns to chapter NN."""
    chapter = int(path.stem.split("_")[0])
    expected = {i for i, e in EXERCISES.items() if e.chapter == chapter}
    assert expected <= {item[0] for item in exercises_of(path)}


@pytest.mark.parametrize(("path", "item"), CASES, ids=[f"{p.stem}-{item[0]}" for p, item in CASES])
def test_solution_scores_full_marks(path, item):
    exercise_id, index, check_cell, solution = item
    assert check_cell is not None and check_cell > index, f"no check cell after the answer cell of {exercise_id}"
    assert solution is not None and exercise_id in defined_names(solution), (
        f"no {{solution}} dropdown with python code defining {exercise_id} after its answer cell")
    cells = load(path)["cells"]
    ns = {}
    imports_cell = [c for c in cells if c["cell_type"] == "code"][1]  # the code cell after the setup cell
    exec(cell_source(imports_cell), ns)  # solutions may use numpy and the names the imports cell brings in
    for other_id, _, _, other in exercises_of(path):  # earlier solutions too (a value may use a function)
        exec(other or "", ns)
        if other_id == exercise_id:
            break
    result = check(exercise_id, ns[exercise_id])
    assert result.passed, repr(result)
