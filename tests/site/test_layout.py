"""Nothing clipped, at a desktop (1400 px) and a phone (390 px) width.

tests/site/overflow.js measures, on every page, every code cell, output, code block, table and equation
(display and inline, solutions opened) whose content is wider than the column, and whether it scrolls with a
visible horizontal scrollbar inside the column ("scrolls") or is cut: reaching past the column, clipped, or
in a scroll container without a scrollbar ("cut"). A cut element fails the test with its page, width, and
the notebook cell (or the equation's TeX) it comes from. Every scrolling element must also draw the scroll
shadows of _static/book.css, the sign that there is more to the right on a phone, whose scrollbars only show
while scrolling. And the page itself must not scroll sideways.
"""

import json

import pytest
from sitetools import PAGES, WIDTHS, load, script

from booktools import ROOT

EVERY_PAGE = [pytest.param(page, width, id=f"{page}@{width}px") for page in PAGES for width in WIDTHS.values()]


def notebook_cell(page, source=None, tex=None):
    """'<notebook> cell N' of the page's notebook: the code cell whose code is ``source`` (as the page shows it),
    or the Markdown cell whose text holds the TeX ``tex``; None if not found."""
    path = ROOT / f"{page}.ipynb"
    if not path.is_file():
        return None
    squeeze = " ".join
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for index, cell in enumerate(cells):
        text = "".join(cell["source"])
        if cell["cell_type"] == "code" and source is not None and text.strip() == source.strip():
            return f"{path.relative_to(ROOT)} cell {index}"
        if cell["cell_type"] == "markdown" and tex is not None and squeeze(tex.split()) in squeeze(text.split()):
            return f"{path.relative_to(ROOT)} cell {index}"
    return None


def where(page, item):
    """Where a measured element comes from, for a reader of the failure."""
    if item["tex"]:
        cell = notebook_cell(page, tex=item["tex"])
        return f"{cell + ', ' if cell else ''}TeX {' '.join(item['tex'].split())[:70]!r}"
    cell = notebook_cell(page, source=item["source"]) if item["source"] else None
    first_line = (item["source"] or "").strip().splitlines()[:1]
    if cell:
        return f"{cell} ({first_line[0][:60]!r})"
    if item["cell"] is not None:
        return f"code cell #{item['cell']} on the page"
    return f"element {item['where']}"


def describe(page, width, item):
    return (f"{page} at {width} px: {item['kind']} from {where(page, item)}: {item['content']} px of content "
            f"in a {item['box']} px box ({item['where']}): {item['reason']}")


@pytest.mark.parametrize(("page", "width"), EVERY_PAGE)
def test_nothing_is_cut(visit, page, width):
    report = visit(page, width)["overflow"]
    problems = [describe(page, width, item) for item in report["found"] if item["verdict"] == "cut"]
    sideways = report["page"]
    if sideways["scrollWidth"] > sideways["width"]:
        problems.append(f"{page} at {width} px: the page is {sideways['scrollWidth']} px wide in a "
                        f"{sideways['width']} px window, so it scrolls sideways")
    assert not problems, f"{len(problems)} element(s) cut without a scrollbar:\n" + "\n".join(problems)


@pytest.mark.parametrize(("page", "width"), EVERY_PAGE)
def test_wide_content_shows_that_it_scrolls(visit, page, width):
    unmarked = [describe(page, width, item) for item in visit(page, width)["overflow"]["found"]
                if item["verdict"] == "scrolls" and not item["cue"]]
    assert not unmarked, "scrolls without the scroll shadows of _static/book.css:\n" + "\n".join(unmarked)


# ---------------------------------------------------------------- the measurement bites

SYNTHETIC = """<!doctype html><html><head><style>
  body { margin: 0; } article { width: 300px; margin-left: 20px; }
  .clip { overflow: hidden; } .scroll { overflow-x: auto; } pre { margin: 0 0 1em; }
</style></head><body><main><article class="bd-article">
  <div class="cell"><div class="cell_input"><div class="highlight clip"><pre>%(long)s</pre></div></div>
    <div class="cell_output"><div class="output"><pre class="scroll">%(long)s</pre></div></div></div>
  <div class="highlight"><pre style="overflow: visible">%(long)s</pre></div>
  <div class="highlight"><pre class="scroll">short</pre></div>
</article></main></body></html>"""


def test_overflow_measurement_tells_cut_from_scrolling(browser, tmp_path):
    page = tmp_path / "synthetic.html"
    page.write_text(SYNTHETIC % {"long": "x = 1  # " + "very long line " * 20})
    load(browser, page.as_uri(), WIDTHS["desktop"])
    found = browser.execute_script(script("overflow.js"))["found"]
    verdicts = sorted((item["kind"], item["verdict"]) for item in found)
    # A clipped code cell and a code block spilling over the column are cut; the scrolling output is not;
    # the short block fits and is not listed.
    assert verdicts == [("code block", "cut"), ("code cell", "cut"), ("output", "scrolls")], found


CLIPPED_NAVIGATION = """
return Array.from(document.querySelectorAll(".prev-next-area a"), (a) => {
  const box = a.getBoundingClientRect();
  const right = Math.max(...Array.from(a.querySelectorAll("*"), (el) => el.getBoundingClientRect().right));
  return {text: a.textContent.trim().replace(/\\s+/g, " "), overflow: Math.round(right - box.right)};
}).filter((link) => link.overflow > 1);
"""


@pytest.mark.parametrize("width", WIDTHS.values())
def test_previous_and_next_links_are_not_clipped(browser, server, width):
    clipped = []
    for page in PAGES:
        load(browser, f"{server}/{page}.html", width)
        clipped += [f"{page}: {link['text']!r} reaches {link['overflow']} px past its link"
                    for link in browser.execute_script(CLIPPED_NAVIGATION)]
    assert not clipped, f"at {width} px:\n" + "\n".join(clipped)
