"""The book's notebooks: hygiene, the Colab setup cell, the table of contents, and proof that nbval bites.

nbval itself re-runs every notebook (pytest collects chapters/*.ipynb with --nbval, see pyproject.toml);
these tests make sure that check cannot pass vacuously.
"""

import ast
import copy
import json
import re
import subprocess
import sys

import pytest

from booktools import CHAPTERS, ROOT, config, install_spec, load, notebooks, setup_cell_source, toc_files

NOTEBOOKS = notebooks()
IDS = [p.name for p in NOTEBOOKS]


def hygiene_problems(nb):
    """What is wrong with a committed notebook (empty list if nothing)."""
    problems = []
    if nb.get("metadata", {}).get("kernelspec", {}).get("name") != "python3":
        problems.append("kernelspec is not python3")
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code" or not "".join(cell["source"]).strip():
            continue
        if cell.get("execution_count") is None:
            problems.append(f"cell {i} not executed")
        for out in cell.get("outputs", []):
            if out["output_type"] == "error":
                problems.append(f"cell {i} has a stored error {out.get('ename')}")
            if out["output_type"] == "stream" and out["name"] == "stderr":
                problems.append(f"cell {i} has stderr output")
            text = "".join(out.get("text", "")) + "".join(out.get("data", {}).get("text/plain", ""))
            if re.search(r"0x[0-9a-f]{6,}", text):
                problems.append(f"cell {i} prints a memory address")
    return problems


def test_there_are_notebooks():
    assert NOTEBOOKS, "no chapter notebooks found"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_hygiene(path):
    assert hygiene_problems(load(path)) == []


def test_hygiene_check_catches_problems():
    nb = load(NOTEBOOKS[0])
    broken = copy.deepcopy(nb)
    code = [c for c in broken["cells"] if c["cell_type"] == "code"]
    code[1]["execution_count"] = None
    code[2]["outputs"].append({"output_type": "stream", "name": "stderr", "text": "I0000 oneDNN ...\n"})
    code[3]["outputs"].append({"output_type": "error", "ename": "ValueError", "evalue": "", "traceback": []})
    broken["metadata"]["kernelspec"]["name"] = "ir"
    problems = hygiene_problems(broken)
    assert len(problems) == 4, problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_setup_cell_first_and_matches_config(path):
    cells = load(path)["cells"]
    first = cells[0]
    assert first["cell_type"] == "code"
    assert "".join(first["source"]) == setup_cell_source()
    assert first["outputs"] == []  # outside Colab it does nothing
    # the site hides it (it only matters in Colab), so each page opens with its title
    assert "remove-cell" in first["metadata"].get("tags", [])
    assert cells[1]["cell_type"] == "markdown" and "".join(cells[1]["source"]).startswith("# ")


def test_setup_cell_is_derived_from_config():
    repo = config()["repository"]
    assert repo["branch"] == "main", "the theme defaults to master; every Colab link would be wrong"
    assert install_spec() == f"bnlib @ git+{repo['url']}@main"
    assert "colab_url" in config()["launch_buttons"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_one_imports_cell_and_no_tensorflow_in_notebooks(path):
    code = ["".join(c["source"]) for c in load(path)["cells"] if c["cell_type"] == "code"]
    imports_cell = code[1]
    assert re.search(r"^(from|import) ", imports_cell, re.M), "cell 1 must be the imports cell"
    for src in code[2:]:
        # the exercise solutions and answers may be self-contained, but chapter code imports once
        if src.startswith("# ANSWER:"):
            continue
        assert not re.search(r"^\s*(import \w|from \w+ import)", src, re.M), f"stray import in:\n{src}"
    for src in code:
        assert not re.search(r"^\s*(import|from)\s+(tensorflow|keras)\b", src, re.M), "Keras only via bnlib.keras_ref"


# The one import path of each public name a chapter uses (README: "Layout"); bnlib's submodules are not it.
CHAPTER_IMPORTS = {"bnlib", "bnlib.keras_ref", "bnlib.plots", "bnlib.exercises", "numpy", "matplotlib.pyplot"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_chapters_import_bnlib_only_through_its_faces(path):
    code = ["".join(c["source"]) for c in load(path)["cells"] if c["cell_type"] == "code"]
    imported = set()
    for node in ast.walk(ast.parse(code[1])):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module)
    assert imported <= CHAPTER_IMPORTS, f"import from {sorted(imported - CHAPTER_IMPORTS)}; use {CHAPTER_IMPORTS}"


def test_keras_lives_in_one_module():
    offenders = []
    for py in sorted((ROOT / "bnlib").rglob("*.py")):
        if py.parent.name == "keras_ref":
            continue
        tree = ast.parse(py.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{py.name}: {n}" for n in names if n.split(".")[0] in ("tensorflow", "keras")]
    assert offenders == []


def test_toc_and_chapters_agree():
    files = toc_files()
    for f in files:
        assert list(ROOT.glob(f + ".*")), f"_toc.yml lists {f}, which does not exist"
    listed = {f for f in files if f.startswith("chapters/")}
    on_disk = {f"chapters/{p.stem}" for p in NOTEBOOKS}
    assert on_disk == listed, "every notebook in chapters/ must be in _toc.yml, and only those"


def _run_nbval(path):
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", str(path), "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
         "--rootdir", str(path.parent), "-c", "/dev/null"],
        capture_output=True, text=True, timeout=900,
    )


@pytest.mark.keras
@pytest.mark.slow
def test_nbval_fails_when_a_stored_number_drifts(tmp_path):
    """Change one digit of one stored output in a copy of chapter 1: nbval must fail on that cell."""
    nb = load(CHAPTERS / "01_normalizing_inputs.ipynb")
    target = None
    code_cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    for i, cell in enumerate(code_cells):  # nbval numbers code cells only
        for out in cell["outputs"]:
            if out["output_type"] == "stream" and re.search(r"\d\.\d", "".join(out["text"])):
                text = "".join(out["text"])
                m = re.search(r"(\d)\.(\d)", text)
                digit = str((int(m.group(2)) + 1) % 10)
                out["text"] = text[: m.start(2)] + digit + text[m.end(2):]
                target = i
                break
        if target is not None:
            break
    assert target is not None, "chapter 1 prints no decimal number to tamper with"
    tampered = tmp_path / "tampered.ipynb"
    tampered.write_text(json.dumps(nb))
    result = _run_nbval(tampered)
    assert result.returncode == 1, result.stdout[-3000:]
    assert "1 failed" in result.stdout
    assert f"Cell {target}" in result.stdout, result.stdout[-3000:]


@pytest.mark.keras
@pytest.mark.slow
def test_nbval_passes_on_an_untouched_copy(tmp_path):
    """The same copy without the change passes, so the failure above is caused by the change alone."""
    original = CHAPTERS / "01_normalizing_inputs.ipynb"
    copy_path = tmp_path / original.name
    copy_path.write_text(original.read_text())
    result = _run_nbval(copy_path)
    assert result.returncode == 0, result.stdout[-3000:]


def test_unexecuted_notebooks_would_pass_nbval_silently_so_hygiene_forbids_them():
    # nbval never compares a cell with execution_count null: that is why test_notebook_hygiene exists.
    nb = load(NOTEBOOKS[0])
    stripped = copy.deepcopy(nb)
    for cell in stripped["cells"]:
        if cell["cell_type"] == "code":
            cell["execution_count"], cell["outputs"] = None, []
    assert any("not executed" in p for p in hygiene_problems(stripped))


def test_notebook_file_names():
    for p in NOTEBOOKS:
        assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", p.name), p.name
