"""Every page of the book in the browser, at a desktop and a phone width.

For each page: no console errors (none tolerated: the THEBE_JS_URL error of sphinx-thebe is fixed at its
source, see _config.yml), nothing fetched from anywhere but the local server (the site must work offline, so
MathJax is vendored), every math element typeset by MathJax and no raw TeX left, every figure loaded and
described by real alt text, the Colab button pointing at this page's student notebook on the repository and
branch of _config.yml, every internal link and anchor resolving, and the .ipynb and its student edition
downloadable. The search page must
find "gamma". Visiting a page saves its full-page screenshot (see conftest.py).
"""

import functools
import html.parser
import json
import pathlib
import urllib.parse
import urllib.request

import pytest
from sitetools import PAGES, SCREENSHOTS, WIDTHS, notebook_pages, raw_tex_snippets, search, set_width, tex_macros

from booktools import ROOT, config

# ---------------------------------------------------------------- expected values, from _config.yml


def student_notebook(page):
    """The student edition of a notebook page (tools/student_edition.py): students/<name>.ipynb."""
    return f"students/{pathlib.PurePosixPath(page).name}.ipynb"


def expected_colab_link(page):
    """The Colab URL of a notebook page's student edition, derived from _config.yml (Jupyter Book's documented
    format, {colab_url}/github/{org}/{repo}/blob/{branch}/{path}, with the student notebook's path)."""
    cfg = config()
    repo = cfg["repository"]
    url = urllib.parse.urlparse(repo["url"])
    assert url.netloc == "github.com", "Colab links are built only for GitHub repositories"
    path = student_notebook(page)
    colab = cfg["launch_buttons"]["colab_url"].rstrip("/")
    return f"{colab}/github/{url.path.strip('/')}/blob/{repo.get('branch', 'master')}/{path}"


class _Anchors(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "id" or (tag == "a" and name == "name"):
                self.ids.add(value)


@functools.cache
def _anchors(path):
    parser = _Anchors()
    parser.feed(pathlib.Path(path).read_text(encoding="utf-8"))
    return frozenset(parser.ids)


def broken_links(links, base, site):
    """The links among ``links`` that point into the local site at a missing file or a missing anchor."""
    origin = urllib.parse.urlparse(base).netloc
    broken = []
    for link in links:
        url = urllib.parse.urlparse(link)
        if url.scheme not in ("http", "https") or url.netloc != origin:
            continue
        path = urllib.parse.unquote(url.path).lstrip("/")
        target = site / path
        if path == "" or path.endswith("/"):
            target = target / "index.html"
        if not target.is_file():
            broken.append(f"{link} (no file {path or 'index.html'})")
        elif url.fragment and target.suffix == ".html" and urllib.parse.unquote(url.fragment) not in _anchors(target):
            broken.append(f"{link} (no element with id {url.fragment!r})")
    return broken


# ---------------------------------------------------------------- the book's shape


def test_mathjax_is_vendored_not_fetched():
    cfg = config()["sphinx"]["config"]
    path = cfg["mathjax_path"]
    assert "://" not in path, f"mathjax_path {path!r} points to the network; the site must work offline"
    extra = [ROOT / p for p in cfg.get("html_extra_path", [])]
    candidates = [ROOT / "_static" / path] + [e / pathlib.PurePosixPath(path).relative_to("..") for e in extra
                                              if path.startswith("../")]
    assert any(c.resolve().is_file() for c in candidates), f"no vendored file for mathjax_path {path!r}"


# ---------------------------------------------------------------- every page, in the browser

EVERY_PAGE = [pytest.param(page, width, id=f"{page}@{width}px") for page in PAGES for width in WIDTHS.values()]


@pytest.mark.parametrize(("page", "width"), EVERY_PAGE)
def test_page_has_no_console_errors(visit, page, width):
    errors = [e["message"] for e in visit(page, width)["console"]]
    assert not errors, f"{page} at {width} px: browser console errors:\n" + "\n".join(errors)


@pytest.mark.parametrize(("page", "width"), EVERY_PAGE)
def test_page_screenshot_is_kept(visit, page, width):
    shot = visit(page, width)["screenshot"]
    assert shot.parent == SCREENSHOTS and shot.stat().st_size > 10_000, f"no real screenshot of {page} at {shot}"
    # PNG header: width and height, big-endian, at bytes 16-24. The shot is the whole page at the reader's width.
    header = shot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(header[16:20], "big") == width
    assert int.from_bytes(header[20:24], "big") >= 900


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_nothing_from_outside(visit, server, page):
    outside = [r for r in visit(page)["resources"] if not r.startswith(server + "/")]
    assert not outside, f"{page}: fetched from outside the site (it must work offline): {outside}"


@pytest.mark.parametrize("page", PAGES)
def test_math_is_typeset(visit, page):
    report = visit(page)
    raw = raw_tex_snippets(report["text"], tex_macros())
    assert not raw, (f"{page}: raw TeX in the text (math that MyST did not parse, or a heading's math in a link):\n"
                     + "\n".join(raw))
    if report["math"]:
        assert report["mathjax"] == "typeset", f"{page}: MathJax did not finish: {report['mathjax']}"
        assert len(report["mathjax_scripts"]) == 1, f"{page}: MathJax loaded {report['mathjax_scripts']}"
        assert not report["untypeset"], f"{page}: math elements MathJax did not render: {report['untypeset']}"
        assert report["rendered"] >= report["math"]
        assert not report["tex_errors"], f"{page}: TeX errors: {report['tex_errors']}"


@pytest.mark.parametrize("page", PAGES)
def test_figures_load_and_have_alt_text(visit, page):
    for img in visit(page)["images"]:
        name = img["src"].rsplit("/", 1)[-1]
        assert img["width"] > 0, f"{page}: image {img['src']} did not load"
        alt = (img["alt"] or "").strip()
        # Without cell metadata myst-nb falls back to the file name, which tells a screen reader nothing.
        assert alt and name not in alt and not alt.endswith((".png", ".svg", ".jpg")), (
            f"{page}: image {name} has no real alt text ({img['alt']!r}); set the cell metadata "
            '"mystnb": {"image": {"alt": "..."}}'
        )


@pytest.mark.parametrize("page", PAGES)
def test_colab_link_opens_this_notebook(visit, page):
    colab = config()["launch_buttons"]["colab_url"].rstrip("/")
    links = sorted({link for link in visit(page)["links"] if link.startswith(colab)})
    if page in notebook_pages():
        assert links == [expected_colab_link(page)], f"{page}: Colab links {links}"
    else:
        assert links == [], f"{page} is not a notebook but links to Colab: {links}"


@pytest.mark.parametrize("page", PAGES)
def test_internal_links_resolve(visit, server, site, page):
    broken = broken_links(visit(page)["links"], server, site)
    assert not broken, f"{page}: broken links:\n" + "\n".join(broken)


def test_broken_link_check_bites(tmp_path):
    (tmp_path / "a.html").write_text('<h2 id="here">x</h2>')
    base = "http://127.0.0.1:1"
    links = [f"{base}/a.html#here", f"{base}/a.html#gone", f"{base}/missing.html", "https://example.org/x"]
    assert broken_links(links, base, tmp_path) == [
        f"{base}/a.html#gone (no element with id 'gone')", f"{base}/missing.html (no file missing.html)"]


@pytest.mark.parametrize("page", notebook_pages())
def test_notebook_page_offers_the_notebook_for_download(visit, server, sources, page):
    downloads = [link for link in visit(page)["links"] if link.endswith(".ipynb") and link.startswith(server)]
    assert downloads, f"{page}: no download link for its .ipynb"
    student = (ROOT / student_notebook(page)).read_bytes()
    bodies = []
    for link in downloads:
        with urllib.request.urlopen(link, timeout=10) as response:
            body = response.read()
        assert body in (sources[page], student), f"{link} is neither the chapter's notebook nor its student edition"
        assert json.loads(body)["nbformat"] == 4
        bodies.append(body)
    assert sources[page] in bodies and student in bodies, f"{page}: offer both the notebook and its student edition"


def test_search_finds_gamma(server, browser):


    set_width(browser, WIDTHS["desktop"])
    results = search(browser, server, "gamma")
    assert browser.save_screenshot(str(SCREENSHOTS / "search.png"))
    pages = {urllib.parse.urlparse(r).path.lstrip("/").removesuffix(".html") for r in results}
    # The notation page defines gamma, so it must be found.
    assert "notation" in pages, f"search for 'gamma' found {sorted(pages) or 'nothing'}"
