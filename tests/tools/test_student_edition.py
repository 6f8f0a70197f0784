"""The student edition (students/, made by tools/student_edition.py), tested as a student reads it.

- It is up to date with the chapters (the failure names the one command that regenerates it).
- Every markdown cell, rendered by a CommonMark renderer, has no MyST left: no roles, no directive fences,
  no ``:label:``/``:class:`` lines, no targets, no substitutions.
- No solution is in a student notebook: the lines of each chapter's ``{solution}`` bodies (found here with a
  pattern of this file, not with the converter) appear in no cell; they are all in the solutions notebook.
- Every link resolves: links to the published site name a page of _toc.yml (and an anchor that page
  defines), links to Colab or GitHub name a file of this repository, local anchors exist.
- Code cells are the chapter's, verbatim and without outputs; the setup cell that installs bnlib in Colab
  stays first; exercises are numbered per chapter (Exercise N.k) as the site numbers them; pasting each
  worked solution into its answer cell scores full marks.
- Small books made here exercise each construct (roles, admonitions, glue, equations, exercises), and bad
  input (an unknown directive or role) fails with a message naming the chapter, the cell and the construct.
- Two chapters are rendered as Jupyter renders them (nbconvert HTML, MathJax) in headless Chromium; the
  screenshots go to test-artifacts/student-edition/.
"""

import copy
import pathlib
import re
import shutil
import subprocess
import sys
import urllib.parse

import nbformat
import pytest
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

import student_edition
from booktools import ROOT, config, notebooks, setup_cell_source, toc_files

CHAPTERS = notebooks()
COMMAND = "python tools/student_edition.py"
RENDERER = MarkdownIt("commonmark").enable("table").use(dollarmath_plugin)
# MyST that must not survive, in the markdown source or in the rendered HTML.
MYST_LEFTOVERS = {
    "role": re.compile(r"\{[a-zA-Z0-9_:+-]+\}`"),
    "role, rendered": re.compile(r"\{[a-zA-Z0-9_:+-]+\}<code>"),
    "directive fence": re.compile(r"(`{3,}|:{3,})\s*\{"),
    "directive, rendered": re.compile(r'class="language-\{'),
    "directive option": re.compile(r"^\s*(>\s*)*:(label|class|name|nonumber|dropdown):", re.M),
    "target": re.compile(r"^\s*\([\w.:-]+\)=\s*$", re.M),
    "substitution": re.compile(r"\{\{[^}]*\}\}"),
}
SOLUTION_FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{solution(?:-start)?\}[^\n]*\n(?P<body>.*?)^(?P=fence)[ \t]*$",
                            re.S | re.M)
PYTHON_FENCE = re.compile(r"^```python\n(.*?)\n```[ \t]*$", re.S | re.M)


def edition(relpath):
    return nbformat.read(ROOT / relpath, as_version=4)


def student_of(chapter):
    return f"students/{chapter.name}"


def solutions_of(chapter):
    return f"students/solutions/{chapter.stem}_solutions.ipynb"


def solution_bodies(chapter):
    """The body of every {solution} directive of a chapter, found with this file's own pattern."""
    nb = nbformat.read(chapter, as_version=4)
    return [m["body"] for c in nb.cells if c.cell_type == "markdown" for m in SOLUTION_FENCE.finditer(c.source)]


def edition_notebooks():
    paths = [student_of(c) for c in CHAPTERS]
    return paths + [solutions_of(c) for c in CHAPTERS if solution_bodies(c)]


def site_url():
    repo = urllib.parse.urlparse(config()["repository"]["url"]).path.strip("/").split("/")
    # GitHub Pages' address of a project site, unless _config.yml names the site's own base URL.
    return ((config().get("html") or {}).get("baseurl") or f"https://{repo[0]}.github.io/{repo[1]}/").rstrip("/") + "/"


def repository_prefixes():
    """The Colab and GitHub URL prefixes of files of this repository at the configured branch."""
    repo = urllib.parse.urlparse(config()["repository"]["url"]).path.strip("/")
    branch = config()["repository"].get("branch", "master")
    colab = config()["launch_buttons"]["colab_url"].rstrip("/")
    return [f"{colab}/github/{repo}/blob/{branch}/", f"https://github.com/{repo}/blob/{branch}/"]


def labels_of(doc):
    """The labels a page of the book defines, read from its source."""
    path = ROOT / f"{doc}.ipynb"
    text = ("\n".join(c.source for c in nbformat.read(path, as_version=4).cells) if path.is_file()
            else (ROOT / f"{doc}.md").read_text())
    return set(re.findall(r"^\s*:(?:label|name):\s*(\S+)", text, re.M) + re.findall(r"^\(([^)\s]+)\)=", text, re.M))


# ---------------------------------------------------------------- the committed edition


def test_edition_is_up_to_date():
    files = student_edition.generate()
    wrong, extra = student_edition.stale(files)
    assert not wrong and not extra, (
        f"students/ is stale: {wrong + extra}. Regenerate it with `{COMMAND}` and commit students/.")


def test_every_chapter_has_its_student_and_solutions_notebooks():
    for chapter in CHAPTERS:
        assert (ROOT / student_of(chapter)).is_file(), f"{chapter.name}: no {student_of(chapter)}"
        assert (ROOT / solutions_of(chapter)).is_file() == bool(solution_bodies(chapter)), chapter.name


@pytest.mark.parametrize("relpath", edition_notebooks())
def test_markdown_reads_as_commonmark_without_myst(relpath):
    left = []
    for i, cell in enumerate(edition(relpath).cells):
        if cell.cell_type != "markdown":
            continue
        html = RENDERER.render(cell.source)
        for what, pattern in MYST_LEFTOVERS.items():
            text = html if what.endswith("rendered") else cell.source
            left += [f"cell {i}: {what}: {m.group(0)!r}" for m in pattern.finditer(text)]
    assert not left, f"{relpath} has MyST left:\n" + "\n".join(left)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_no_solution_in_the_student_notebook(chapter):
    student = "\n".join(c.source for c in edition(student_of(chapter)).cells)
    bodies = solution_bodies(chapter)
    # Lines the chapter also has outside its solutions (a stub's `def` line) may be shown, of course.
    rest = "\n".join(SOLUTION_FENCE.sub("", c.source) for c in nbformat.read(chapter, as_version=4).cells)
    lines = {line.strip() for body in bodies for line in body.split("\n")
             if len(line.strip()) >= 20 and not line.strip().startswith(":") and line.strip() not in rest}
    assert bodies and lines, f"{chapter.name}: no {{solution}} found to check"
    shown = sorted(line for line in lines if line in student)
    assert not shown, f"{student_of(chapter)} shows solution text:\n" + "\n".join(shown)
    # ...and none is lost: every line of solution code is in the solutions notebook's code cells.
    code = "\n".join(c.source for c in edition(solutions_of(chapter)).cells if c.cell_type == "code")
    lost = [line for body in bodies for fence in PYTHON_FENCE.findall(body) for line in fence.split("\n")
            if line.strip() and line not in code]
    assert not lost, f"{solutions_of(chapter)} lacks solution code:\n" + "\n".join(lost)


@pytest.mark.parametrize("relpath", edition_notebooks())
def test_links_resolve(relpath):
    html = "\n".join(RENDERER.render(c.source) for c in edition(relpath).cells if c.cell_type == "markdown")
    anchors = set(re.findall(r'\sid="([^"]+)"', html))
    links = re.findall(r'<a href="([^"]*)"', html)
    site, pages, repo_prefixes = site_url(), set(toc_files()), repository_prefixes()
    broken = []
    for link in links:
        url = urllib.parse.urlparse(link)
        if link.startswith("#"):
            ok = link[1:] in anchors
        elif link.startswith(site):
            doc = url.path[len(urllib.parse.urlparse(site).path):].removesuffix(".html")
            ok = link.split("#")[0].endswith(".html") and doc in pages and (
                not url.fragment or url.fragment in labels_of(doc))
        elif any(link.startswith(p) for p in repo_prefixes):
            path = next(link[len(p):] for p in repo_prefixes if link.startswith(p))
            ok = (ROOT / urllib.parse.unquote(path.split("#")[0])).is_file()
        else:
            ok = url.scheme == "https" and bool(url.netloc)  # elsewhere on the web: not checked offline
        if not ok:
            broken.append(link)
    assert links, f"{relpath} has no link at all"
    assert not broken, f"{relpath}: links that do not resolve:\n" + "\n".join(broken)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_code_cells_are_the_chapters_and_setup_stays_first(chapter):
    student = edition(student_of(chapter))
    original = nbformat.read(chapter, as_version=4)
    assert student.cells[0].cell_type == "code" and student.cells[0].source == setup_cell_source(), (
        "the setup cell that installs bnlib in Colab must be the student notebook's first cell")
    assert [c.source for c in student.cells if c.cell_type == "code"] == [
        c.source for c in original.cells if c.cell_type == "code"]
    for cell in student.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_exercises_are_numbered_per_chapter(chapter):
    doc = chapter.relative_to(ROOT).with_suffix("").as_posix()
    number = [d for d in toc_files() if d.startswith("chapters/")].index(doc) + 1
    count = sum(len(re.findall(r"^(`{3,}|:{3,})\{exercise(-start)?\}", c.source, re.M))
                for c in nbformat.read(chapter, as_version=4).cells if c.cell_type == "markdown")
    headings = [m.group(1) for c in edition(student_of(chapter)).cells if c.cell_type == "markdown"
                for m in re.finditer(r"^#{2,6} Exercise (\d+\.\d+)\b", c.source, re.M)]
    assert headings == [f"{number}.{k}" for k in range(1, count + 1)]


@pytest.mark.parametrize("chapter", [c for c in CHAPTERS if solution_bodies(c)], ids=lambda p: p.stem)
def test_pasted_solutions_score_full_marks(chapter):
    from bnlib.exercises import check

    student = edition(student_of(chapter))
    pasted = student_edition.with_solutions(student, edition(solutions_of(chapter)))
    answers = [(i, c) for i, c in enumerate(pasted.cells) if student_edition.ANSWER_RE.match(c.source.split("\n")[0])]
    assert answers, f"{chapter.name}: no answer cell"
    ns = {}
    exec([c.source for c in pasted.cells if c.cell_type == "code"][1], ns)  # the imports cell
    for i, cell in answers:
        assert cell.source != student.cells[i].source, f"cell {i}: no solution was pasted"
        exec(cell.source, ns)
        answer_id = student_edition.ANSWER_RE.match(cell.source.split("\n")[0])[1]
        result = check(answer_id, ns[answer_id])
        assert result.passed, repr(result)


@pytest.mark.parametrize("chapter", [c for c in CHAPTERS if solution_bodies(c)], ids=lambda p: p.stem)
def test_solutions_notebook_scores_full_marks_in_a_kernel_with_history(chapter, tmp_path):
    """Run the solutions notebook as Jupyter and Colab run it: each cell is stored in the kernel's input
    history (nbclient's store_history, unlike nbval), so ``check`` grades the answer cells it finds there."""
    import nbclient

    nb = edition(solutions_of(chapter))
    checks = 0
    for cell in nb.cells:
        if cell.cell_type == "code" and student_edition.CHECK_RE.match(cell.source):
            cell.source = f"result = {cell.source.strip()}\nassert result.passed, repr(result)"
            checks += 1
    assert checks, f"{solutions_of(chapter)}: no check cell"
    # The checks above must have been graded from the history, not from the object (nbval's fallback).
    nb.cells.append(nbformat.v4.new_code_cell(
        "from bnlib.exercises.student import _cell_history\nassert _cell_history(), 'no input history'"))
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()


# ---------------------------------------------------------------- small books, every construct


def small_book(tmp_path, cells):
    """A book with the course's configuration and one chapter, chapters/01_demo.ipynb, of the given cells."""
    for name in ("_config.yml", "references.bib", "references.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "intro.md").write_text("# The intro page\n")
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nparts:\n  - caption: Chapters\n    chapters:\n"
        "      - file: chapters/01_demo\n  - caption: Reference\n    chapters:\n      - file: references\n")
    (tmp_path / "chapters").mkdir(exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(setup_cell_source())] + [
        nbformat.v4.new_markdown_cell(c) if isinstance(c, str) else c for c in cells]
    for i, cell in enumerate(nb.cells):
        cell.id = f"c{i}"
    nbformat.write(nb, tmp_path / "chapters" / "01_demo.ipynb")
    return tmp_path


def convert(tmp_path, cells):
    book = student_edition.Book(small_book(tmp_path, cells))
    return student_edition.Chapter(book, "chapters/01_demo").build()


def glue_cell(name, text_plain):
    cell = nbformat.v4.new_code_cell(f'glue("{name}", value, display=False)')
    cell.outputs = [nbformat.v4.new_output(
        "display_data", data={"application/papermill.record/text/plain": text_plain},
        metadata={"scrapbook": {"name": name, "mime_prefix": "application/papermill.record/"}})]
    return cell


def test_roles_admonitions_glue_and_equations(tmp_path):
    site = site_url()
    student, _ = convert(tmp_path, [
        "# Demo\n\nSee {doc}`the intro </intro>` and {doc}`/references`; {cite:t}`ioffe2015batch` and "
        "{cite}`ioffe2015batch,santurkar2018how`. Code ``{doc}`x` `` stays.",
        glue_cell("gap", "0.000353429"),
        "The gap is {glue:text}`gap:.4f`, or {glue}`gap`.\n\n% a comment the reader never sees\n\n"
        ":::{warning}\nMind {eq}`eq-demo`.\n:::\n\n$$ y = x $$ (eq-demo)\n",
        "```{admonition} A title with $x$\n:class: note\n\nBody.\n```",
    ])
    text = "\n".join(c.source for c in student.cells if c.cell_type == "markdown")
    assert f"See [the intro]({site}intro.html) and [References]({site}references.html);" in text
    assert f"Ioffe and Szegedy ([2015]({site}references.html))" in text
    assert (f"([Ioffe and Szegedy, 2015]({site}references.html), "
            f"[Santurkar *et al.*, 2018]({site}references.html))") in text
    assert "Code ``{doc}`x` `` stays." in text
    assert "The gap is 0.0004, or `0.000353429`." in text
    assert "a comment" not in text
    assert "> **Warning**\n>\n> Mind [(1.1)](#eq-demo)." in text
    assert '<a id="eq-demo"></a>\n\n$$\ny = x\n\\tag{1.1}\n$$' in text
    assert "> **A title with $x$**\n>\n> Body." in text
    assert "This is the student edition" in student.cells[1].source


def test_exercise_solution_and_references(tmp_path):
    answer = nbformat.v4.new_code_cell("# ANSWER: demo\ndemo = None")
    check = nbformat.v4.new_code_cell('check("demo", demo)')
    student, solutions = convert(tmp_path, [
        "# Demo\n\n## Exercises",
        "```{exercise} Find the value\n:label: ex-demo\n\nCompute $x$.\n```",
        answer, check,
        "````{solution} ex-demo\n:class: dropdown\n\n```python\ndemo = 42  # the secret value\n```\n\n"
        "Because of the notes.\n````\n\nThen {numref}`ex-demo`, {ref}`ex-demo` and {ref}`it <ex-demo>`.",
    ])
    text = "\n".join(c.source for c in student.cells)
    assert '<a id="ex-demo"></a>\n\n### Exercise 1.1: Find the value\n\nCompute $x$.' in text
    assert "the secret value" not in text and "Because of the notes" not in text
    assert "[Exercise 1.1](#ex-demo), [Exercise 1.1](#ex-demo) and [it](#ex-demo)." in text
    assert "solutions/01_demo_solutions.ipynb" in text
    code = [c for c in solutions.cells if c.cell_type == "code"]
    assert code[0].source == setup_cell_source()
    # The solution cell is the solutions notebook's answer cell: check grades only `# ANSWER:` cells.
    assert [c.source for c in code[-2:]] == ["# ANSWER: demo\ndemo = 42  # the secret value", 'check("demo", demo)']
    assert code[-2].metadata["student_edition"]["answers"] == ["demo"]
    pasted = student_edition.with_solutions(student, solutions)
    assert "# ANSWER: demo\ndemo = 42  # the secret value" in [c.source for c in pasted.cells]


def test_a_solution_in_two_code_blocks_fails_naming_the_exercise(tmp_path):
    with pytest.raises(student_edition.ConversionError, match="ex-demo.*2 code block"):
        convert(tmp_path, [
            "# Demo\n\n## Exercises", "```{exercise} Find the value\n:label: ex-demo\n\nCompute $x$.\n```",
            nbformat.v4.new_code_cell("# ANSWER: demo\ndemo = None"), nbformat.v4.new_code_cell('check("demo", demo)'),
            "````{solution} ex-demo\n\n```python\nhalf = 21\n```\n\nThen\n\n```python\ndemo = 2 * half\n```\n````",
        ])


def run_cli(root, *args):
    return subprocess.run([sys.executable, str(ROOT / "tools" / "student_edition.py"), "--root", str(root), *args],
                          capture_output=True, text=True)


def test_unknown_directive_fails_naming_chapter_cell_and_directive(tmp_path):
    small_book(tmp_path, ["# Demo", "Text.\n\n```{sidenote} Careful\nThe body.\n```"])
    result = run_cli(tmp_path)
    assert result.returncode == 1
    assert "chapters/01_demo.ipynb, cell 2: unknown directive {sidenote}" in result.stderr, result.stderr
    assert not (tmp_path / "students").exists(), "a failed conversion must write nothing"
    # The fix the message suggests (a directive it knows, such as admonition) works.
    assert "admonition" in result.stderr
    small_book(tmp_path, ["# Demo", "Text.\n\n```{admonition} Careful\nThe body.\n```"])
    assert run_cli(tmp_path).returncode == 0
    cells = nbformat.read(tmp_path / "students" / "01_demo.ipynb", as_version=4).cells
    assert "Text.\n\n> **Careful**\n>\n> The body." in [c.source for c in cells]


def test_cell_tags_as_a_student_needs_them(tmp_path):
    tagged = {tag: nbformat.v4.new_code_cell(f"x = '{tag}'", metadata={"tags": [tag]})
              for tag in ("remove-cell", "hide-input", "remove-output", "hide-cell")}
    note = nbformat.v4.new_markdown_cell("A note for the website only.", metadata={"tags": ["remove-cell"]})
    student, _ = convert(tmp_path, ["# Demo", note, *tagged.values()])
    assert "A note for the website only." not in [c.source for c in student.cells]
    hidden = {c.source: c.metadata.get("jupyter", {}) for c in student.cells if c.cell_type == "code"}
    # Every code cell stays (a student runs them all); what the site hides is folded in Jupyter.
    assert hidden["x = 'remove-cell'"] == {}
    assert hidden["x = 'hide-input'"] == {"source_hidden": True}
    assert hidden["x = 'remove-output'"] == {"outputs_hidden": True}
    assert hidden["x = 'hide-cell'"] == {"source_hidden": True, "outputs_hidden": True}


def test_definition_lists_become_bullet_lists(tmp_path):
    student, _ = convert(tmp_path, ["# Demo\n\nBatch\n: the $m$ examples of one step, {cite:t}`ioffe2015batch`.\n"])
    assert (f"- **Batch**: the $m$ examples of one step, Ioffe and Szegedy ([2015]({site_url()}references.html))."
            in student.cells[1].source)


def test_unknown_role_and_missing_glue_fail_loudly(tmp_path):
    with pytest.raises(student_edition.ConversionError, match=r"01_demo.ipynb, cell 1: unknown role \{sidenote\}"):
        convert(tmp_path, ["# Demo {sidenote}`x`"])
    with pytest.raises(student_edition.ConversionError, match=r"cell 1: glue key 'gap' .*tools/run_notebooks.py"):
        convert(tmp_path, ["# Demo {glue:text}`gap:.3f`"])
    with pytest.raises(student_edition.ConversionError, match=r"cell 1: footnotes"):
        convert(tmp_path, ["# Demo\n\nText[^1].\n\n[^1]: The note."])
    with pytest.raises(student_edition.ConversionError, match=r"cell 1: relative link '02_other.ipynb'.*\{doc\}"):
        convert(tmp_path, ["# Demo\n\nSee [the next chapter](02_other.ipynb)."])
    with pytest.raises(student_edition.ConversionError, match=r"cell 2: exercise 'ex-a' has no \{solution\}"):
        convert(tmp_path, ["# Demo", "```{exercise}\n:label: ex-a\n\nDo it.\n```"])


def test_check_names_the_regenerating_command(tmp_path):
    small_book(tmp_path, ["# Demo", "First text."])
    assert run_cli(tmp_path).returncode == 0
    assert run_cli(tmp_path, "--check").returncode == 0
    small_book(tmp_path, ["# Demo", "Changed text."])
    result = run_cli(tmp_path, "--check")
    assert result.returncode == 1 and "students/01_demo.ipynb" in result.stderr
    assert COMMAND in result.stderr
    assert run_cli(tmp_path).returncode == 0 and run_cli(tmp_path, "--check").returncode == 0


# ---------------------------------------------------------------- the site's buttons


def test_site_buttons_open_and_offer_the_student_edition():
    class App:
        srcdir = str(ROOT)
        config = type("Config", (), {"html_theme_options": {"launch_buttons": {
            "colab_url": config()["launch_buttons"]["colab_url"]}}})()

    colab = config()["launch_buttons"]["colab_url"].rstrip("/")
    repo = urllib.parse.urlparse(config()["repository"]["url"]).path.strip("/")
    chapter_colab = f"{colab}/github/{repo}/blob/main/chapters/02_forward_pass.ipynb"
    context = {"pathto": lambda path, resource: f"../{path}", "header_buttons": [
        {"label": "launch-buttons", "buttons": [{"url": chapter_colab}]},
        {"label": "download-buttons", "buttons": [{"url": "../_sources/chapters/02_forward_pass.ipynb"}]}]}
    student_edition._page_buttons(App(), "chapters/02_forward_pass", "page.html", context, None)
    launch, download = context["header_buttons"]
    assert launch["buttons"][0]["url"] == f"{colab}/github/{repo}/blob/main/students/02_forward_pass.ipynb"
    assert [b["url"] for b in download["buttons"]] == ["../students/02_forward_pass.ipynb",
                                                       "../_sources/chapters/02_forward_pass.ipynb"]
    before = copy.deepcopy(context)
    student_edition._page_buttons(App(), "notation", "page.html", context, None)  # a page with no notebook
    assert context == before


# ---------------------------------------------------------------- as Jupyter renders it, in a browser

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREENSHOTS = ROOT / "test-artifacts" / "student-edition"
MATHJAX = ROOT / "_vendor" / "mathjax" / "tex-svg-full.js"
# Jupyter and Colab typeset $...$ and $$...$$; MathJax 3 needs to be told about single dollars.
MATHJAX_CONFIG = ("<script>window.MathJax = {tex: {inlineMath: [['$', '$'], ['\\\\(', '\\\\)']], "
                  "displayMath: [['$$', '$$'], ['\\\\[', '\\\\]']], processEscapes: true}};</script>")


@pytest.mark.browser
@pytest.mark.parametrize("name", ["02_forward_pass", "04_training_vs_inference"])
def test_screenshots_as_jupyter_renders_the_notebook(tmp_path, name):
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not pathlib.Path(p).is_file()]
    if missing:
        pytest.fail(f"{missing} not found: `apt-get install -y chromium chromium-driver`", pytrace=False)
    from nbconvert import HTMLExporter
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    exporter = HTMLExporter(template_name="lab", mathjax_url=MATHJAX.as_uri())
    html, _ = exporter.from_notebook_node(edition(f"students/{name}.ipynb"))
    html = html.replace(f'<script src="{MATHJAX.as_uri()}">', MATHJAX_CONFIG + f'<script src="{MATHJAX.as_uri()}">')
    page = tmp_path / f"{name}.html"
    page.write_text(html)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--window-size=1100,1400", "--allow-file-access-from-files",
                 "--host-resolver-rules=MAP * ~NOTFOUND"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        driver.get(page.as_uri())
        state = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "if (window.MathJax && MathJax.startup) { MathJax.startup.promise.then(() => done('typeset')); }"
            "else { done('no MathJax'); }")
        assert state == "typeset"
        text = driver.find_element("tag name", "body").text
        assert driver.find_elements("css selector", "mjx-container"), "no math was typeset"
        for raw in ("{doc}", "{cite}", "```{", ":label:", ":class:", "{solution}"):
            assert raw not in text, f"{name}: {raw!r} shows in the rendered notebook"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(SCREENSHOTS / f"{name}-top.png"))
        # The first blockquote is the edition's own note; the next ones are the chapter's admonitions.
        for label, element in (("admonition", driver.find_elements("css selector", "blockquote")[1]),
                               ("exercise", driver.find_element("css selector", "a[id^='ex-']"))):
            driver.execute_script("arguments[0].scrollIntoView();", element)
            driver.save_screenshot(str(SCREENSHOTS / f"{name}-{label}.png"))
    finally:
        driver.quit()
