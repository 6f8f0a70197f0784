"""bnlib.grading.contract: a notebook's answer cells, imports and solutions, as the grader and the tools read them."""

import json

import nbformat

from bnlib.grading.contract import (
    answer_cells,
    cell_source,
    check_source,
    import_statements,
    parse_notebook,
    solution_for,
    solved,
)
from submission_factory import CORRECT, STUB, build_submission


def pick(table, *ids):
    return {i: table[i] for i in ids}


def test_answer_cells_and_imports_are_found(tmp_path):
    path = build_submission(tmp_path / "s.ipynb", pick(CORRECT, "bn_forward", "spread"),
                            before=["import os\nimport numpy.linalg as la\nx = 1", "%matplotlib inline\nimport math"])
    nb = parse_notebook(path.read_bytes())
    assert [(a.exercise_id, a.index) for a in answer_cells(nb)] == [("bn_forward", 3), ("spread", 5)]
    assert import_statements(nb) == ["import numpy as np", "from bnlib.exercises import check",
                                     "import numpy.linalg as la", "import math"]


def test_build_submission_writes_a_valid_notebook(tmp_path):
    path = build_submission(tmp_path / "s.ipynb", pick(STUB, "spread"))
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    assert nb.cells[1].source.startswith("# ANSWER: spread\n") and nb.cells[2].source == 'check("spread", spread)'


def test_a_solution_is_the_dropdown_after_its_answer_cell_and_solved_hands_it_in(tmp_path):
    path = build_submission(tmp_path / "s.ipynb", pick(STUB, "spread", "da_seed"))
    nb = json.loads(path.read_text())
    solution = "```{solution} spread\n:class: dropdown\n\n```python\nspread = 4.0\n```\n```"
    nb["cells"].insert(3, {"cell_type": "markdown", "metadata": {}, "source": solution})  # after spread's check cell
    spread, da_seed = answer_cells(nb)
    assert cell_source(nb["cells"][spread.index + 1]) == check_source("spread") == 'check("spread", spread)'
    assert solution_for(nb, spread) == "spread = 4.0"
    assert solution_for(nb, da_seed) is None  # the next answer cell ends the search
    handed_in = solved(nb)
    assert answer_cells(handed_in)[0].source == "# ANSWER: spread\nspread = 4.0"
    assert answer_cells(handed_in)[1].source == da_seed.source  # no solution: the answer stays as it was
    assert answer_cells(nb)[0].source == spread.source  # and the original notebook is left alone
