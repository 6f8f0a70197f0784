"""Finding one's way: numbered chapters, exercises numbered per chapter, one citation style, one search box,
solution dropdowns that open where the reader clicks, math typeset in search results.

Expected values come from the sources, not from the build: chapter numbers from the order of _toc.yml's
numbered part, titles from each notebook's first heading, exercise counts from the `{exercise}` directives
in each notebook, bibliography labels from references.bib (authors' last names and year).
"""

import json
import re
import time
import urllib.parse

import pytest
from pybtex.database import parse_file
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from sitetools import PAGES, WIDTHS, chapter_pages, eventually, load, raw_tex, search, tex_macros

from booktools import ROOT

CHAPTERS = chapter_pages()
NUMBERED = [pytest.param(number, page, id=page) for number, page in enumerate(CHAPTERS, start=1)]


def notebook_title(page):
    """The chapter's title: the first '# ' heading of its notebook."""
    for cell in json.loads((ROOT / f"{page}.ipynb").read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    raise AssertionError(f"{page}.ipynb has no '# ' title")


def exercise_titles(page):
    """The titles of the notebook's exercises, in order (the text after ```{exercise})."""
    titles = []
    for cell in json.loads((ROOT / f"{page}.ipynb").read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] == "markdown":
            titles += re.findall(r"^`{3,}\{exercise\}[ \t]*(.*)$", "".join(cell["source"]), flags=re.M)
    return [t.strip() for t in titles]


def open_page(browser, server, page, width=WIDTHS["desktop"]):
    load(browser, f"{server}/{page}.html", width)


def texts(browser, selector):
    """The text of each element matching ``selector``, whitespace collapsed."""
    return [" ".join(e.get_attribute("textContent").split()) for e in browser.find_elements(By.CSS_SELECTOR, selector)]


# ---------------------------------------------------------------- numbered chapters and exercises


def test_sidebar_numbers_the_chapters(browser, server):
    open_page(browser, server, PAGES[0])
    sidebar = texts(browser, "nav.bd-docs-nav a.reference.internal")
    expected = [f"{number}. {notebook_title(page)}" for number, page in enumerate(CHAPTERS, start=1)]
    numbered = [t for t in sidebar if re.match(r"\d+\. ", t)]
    assert numbered == expected, f"sidebar: {sidebar}"


@pytest.mark.parametrize(("number", "page"), NUMBERED)
def test_chapter_title_is_numbered(browser, server, number, page):
    open_page(browser, server, page)
    titles = [t.rstrip("#").strip() for t in texts(browser, "article h1")]
    assert titles == [f"{number}. {notebook_title(page)}"]


@pytest.mark.parametrize(("number", "page"), NUMBERED)
def test_exercises_are_numbered_per_chapter(browser, server, number, page):
    open_page(browser, server, page)
    titles = exercise_titles(page)
    expected = [f"Exercise {number}.{k} ({title})" for k, title in enumerate(titles, start=1)]
    # Sphinx's smartquotes print the exercise's apostrophe as a typographic one (PyTorch’s), not the solution's.
    assert [t.replace("\u2019", "'") for t in texts(browser, "div.exercise > .admonition-title")] == expected
    # Each exercise has its solution, named by the same number.
    assert texts(browser, "div.solution > .admonition-title") == [f"Solution to {e}" for e in expected]


# ---------------------------------------------------------------- one citation style


def expected_label(entry):
    """'Last, year', 'Last and Last, year' or 'Last et al., year', from a .bib entry ("van Laarhoven" keeps
    its "van")."""
    names = [" ".join(person.prelast_names + person.last_names) for person in entry.persons["author"]]
    names = [re.sub(r"[{}]", "", n) for n in names]
    authors = names[0] if len(names) == 1 else " and ".join(names) if len(names) == 2 else f"{names[0]} et al."
    return f"{authors}, {entry.fields['year']}"


def test_bibliography_labels_are_author_year(browser, server):
    bib = parse_file(str(ROOT / "references.bib"))
    open_page(browser, server, "references")
    labels = [t.strip("[]") for t in texts(browser, "div.citation > span.label")]
    assert sorted(labels) == sorted(expected_label(e) for e in bib.entries.values())


def citing_pages():
    """The pages whose source cites a reference ({cite}`...`)."""
    return [page for page in PAGES
            for path in (ROOT / f"{page}.ipynb", ROOT / f"{page}.md")
            if path.is_file() and "{cite" in path.read_text(encoding="utf-8")]


@pytest.mark.parametrize("page", citing_pages())
def test_citations_read_like_their_bibliography_labels(browser, server, page):
    open_page(browser, server, page)
    cited = [(a.get_attribute("textContent").strip(), a.get_attribute("href"))
             for a in browser.find_elements(By.CSS_SELECTOR, "span.bibtex-citation a")]
    assert cited, f"{page} cites in its source but shows no citation"
    labels = {}
    for _, href in cited:
        url = urllib.parse.urlparse(href)
        if url.path not in labels:
            browser.get(href)
            labels[url.path] = {e.get_attribute("id"): e.find_element(By.CSS_SELECTOR, "span.label")
                                .get_attribute("textContent").strip("[]")
                                for e in browser.find_elements(By.CSS_SELECTOR, "div.citation")}
    pairs = [(text, labels[urllib.parse.urlparse(href).path].get(urllib.parse.urlparse(href).fragment))
             for text, href in cited]
    mismatched = [(text, label) for text, label in pairs if text != label]
    assert not mismatched, f"{page}: (citation, bibliography label) pairs that differ: {mismatched}"


# ---------------------------------------------------------------- one search box


@pytest.mark.parametrize(("page", "width"), [pytest.param(p, w, id=f"{p}@{w}px") for p in PAGES
                                             for w in WIDTHS.values()])
def test_one_search_box(visit, page, width):
    assert visit(page, width)["search_controls"] == 1


def test_search_snippets_show_math_typeset(browser, server):
    load(browser, f"{server}/{PAGES[0]}.html", WIDTHS["desktop"])
    assert search(browser, server, "spread")
    # MathJax typesets the snippets after Sphinx has written them.
    deadline, snippets = time.monotonic() + 20, []
    while time.monotonic() < deadline:
        snippets = browser.execute_script("""
            return Array.from(document.querySelectorAll("#search-results p.context"), (p) => {
              const copy = p.cloneNode(true);
              copy.querySelectorAll("mjx-container").forEach((m) => m.remove());
              return {text: copy.textContent, math: p.querySelectorAll("mjx-container").length};
            });""")
        if snippets and not any("\\(" in s["text"] for s in snippets):
            break
        time.sleep(0.2)
    macros = tex_macros()
    raw = [s["text"][:160] for s in snippets if raw_tex(s["text"], macros)]
    assert not raw, f"raw TeX in search snippets: {raw}"
    assert sum(s["math"] for s in snippets) > 0, "no typeset math in the snippets for 'spread'"


# ---------------------------------------------------------------- solutions open where the reader clicks


@pytest.mark.parametrize("page", CHAPTERS)
def test_solution_titles_hold_no_link(browser, server, page):
    open_page(browser, server, page)
    links = texts(browser, "div.solution.dropdown > .admonition-title a")
    assert not links, f"{page}: links in solution dropdown titles (a click there jumps away): {links}"


@pytest.mark.parametrize("width", WIDTHS.values())
def test_clicking_a_solution_title_opens_it_in_place(browser, server, width):
    page = CHAPTERS[1]
    open_page(browser, server, page, width)
    solution = browser.find_element(By.CSS_SELECTOR, "div.solution.dropdown")
    title = solution.find_element(By.CSS_SELECTOR, ".admonition-title")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", title)
    url, top = browser.current_url, title.rect["y"] - browser.execute_script("return window.scrollY")
    content = solution.find_element(By.CSS_SELECTOR, "section")
    assert not content.is_displayed(), "the solution is not folded away to begin with"
    # Click on the words of the title (where "Exercise 2.1 (...)" used to be a link), not on the chevron.
    ActionChains(browser).move_to_element_with_offset(title, -title.rect["width"] // 2 + 60, 0).click().perform()
    assert browser.current_url == url, "clicking the solution title navigated away"
    assert eventually(content.is_displayed), "clicking the solution title did not open the solution"
    moved = title.rect["y"] - browser.execute_script("return window.scrollY") - top
    assert abs(moved) <= 2, f"the page jumped by {moved} px"
