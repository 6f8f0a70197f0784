"""The whole book as one PDF: built by README command 1, linked from the landing page, served with the site,
every document starting a page with its title, no raw TeX (read back with poppler's pdftotext)."""

import json
import pathlib
import re
import shlex
import shutil
import subprocess
import urllib.request

import print_pdf  # tools/print_pdf.py (tools/ is on pytest's pythonpath)
import pytest
from sitetools import PAGES, PDF_NAME, README_BUILD_STEPS, chapter_pages, raw_tex, raw_tex_snippets, tex_macros

from booktools import ROOT


def readme_command(number):
    """The command line under the comment '# <number>.' in the README's code block of the two commands."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if line.startswith(f"# {number}."):
            return next(line for line in lines[i + 1:] if not line.startswith("#"))
    raise AssertionError(f"README.md has no command '# {number}.'")


def test_readme_command_1_builds_the_site_then_the_pdf():
    steps = [s.strip() for s in readme_command(1).split("&&")]
    assert steps[-len(README_BUILD_STEPS):] == README_BUILD_STEPS, steps
    apt = next(s for s in steps if s.startswith("apt-get install"))
    assert {"chromium", "chromium-driver", "poppler-utils"} <= set(shlex.split(apt)), apt
    assert print_pdf.PDF_NAME == PDF_NAME


def test_ci_installs_what_the_browser_tests_use():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for needed in ("chromium", "chromium-driver", "poppler-utils", "pdftotext"):
        assert needed in ci, f".ci/run does not install {needed}"


def pdftotext(pdf):
    exe = shutil.which("pdftotext")
    if exe is None:
        pytest.fail("pdftotext not found: `apt-get install -y poppler-utils` (README command 1)", pytrace=False)
    return subprocess.run([exe, "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="session")
def pdf(site):
    path = site / PDF_NAME
    assert path.is_file(), f"no {PDF_NAME} in the website ({site})"
    return path


@pytest.fixture(scope="session")
def pdf_pages(pdf):
    """The PDF's text, page by page, whitespace collapsed."""
    return [" ".join(page.split()) for page in pdftotext(pdf).split("\f")]


def test_landing_page_links_the_pdf_and_the_site_serves_it(visit, server, pdf):
    link = f"{server}/{PDF_NAME}"
    assert link in visit(PAGES[0])["links"], f"{PAGES[0]} does not link {PDF_NAME}"
    with urllib.request.urlopen(link, timeout=30) as response:
        assert response.read(5) == b"%PDF-"


def title(page):
    """A page's title as its source writes it (the notebook's or Markdown file's first '# ' line)."""
    path = ROOT / f"{page}.ipynb"
    if path.is_file():
        text = "\n".join("".join(c["source"]) for c in json.loads(path.read_text(encoding="utf-8"))["cells"]
                         if c["cell_type"] == "markdown")
    else:
        text = (ROOT / f"{page}.md").read_text(encoding="utf-8")
    return re.search(r"^# (.+)$", text, flags=re.M).group(1).strip()


def test_pdf_has_every_document_each_starting_a_page(pdf_pages):
    numbers = {page: n for n, page in enumerate(chapter_pages(), start=1)}
    expected = [(f"{numbers[p]}. " if p in numbers else "") + title(p) for p in PAGES]
    # In book order: each document starts a page after the previous document's first page. (Searching in
    # order also skips the landing page's list of chapters, whose lines start like the chapter titles.)
    found, after = [], -1
    for heading in expected:
        # pdftotext drops the hyphen of a word that a line break splits ("mixed-" / "precision" -> mixedprecision).
        after = next((i for i in range(after + 1, len(pdf_pages))
                      if pdf_pages[i].replace("-", "").startswith(heading.replace("-", ""))), None)
        if after is None:
            break
        found.append(after)
    missing = expected[len(found):]
    assert not missing, (f"no page of the PDF, after the pages of {expected[:len(found)]}, starts with "
                         f"{missing[0]!r} (documents still to find: {missing})")


def test_pdf_has_no_raw_tex(pdf_pages):
    macros = tex_macros()
    raw = [f"page {i + 1}: {passage}" for i, text in enumerate(pdf_pages) for passage in raw_tex_snippets(text, macros)]
    assert not raw, "raw TeX in the PDF:\n" + "\n".join(raw)


@pytest.mark.browser
def test_print_refuses_a_page_without_mathjax(tmp_path):
    singlehtml = tmp_path / "singlehtml"
    singlehtml.mkdir()
    (singlehtml / "book.html").write_text("<!doctype html><html><body><p>\\(a\\)</p></body></html>")
    with pytest.raises(SystemExit, match="MathJax is not on the page"):
        print_pdf.print_pdf(singlehtml, tmp_path / "book.pdf")
    assert not (tmp_path / "book.pdf").exists()


def test_raw_tex_check_bites():
    macros = tex_macros()
    command = min(macros)  # any TeX command of the book's prose
    text = f"a \\(x\\) and {command}{{y}}; print('\\n'), $$"
    assert raw_tex(text, macros) == ["\\(", "\\)", command, "$$"]


def test_pdf_is_a4(pdf):
    exe = shutil.which("pdfinfo")
    assert exe, "pdfinfo not found: `apt-get install -y poppler-utils`"
    info = subprocess.run([exe, str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Page size:\s+59[45](\.\d+)? x 84[12](\.\d+)? pts \(A4\)", info), info
    assert pathlib.Path(pdf).stat().st_size > 100_000
