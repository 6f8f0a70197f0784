"""The website as a reader sees it: built, served and opened in a real browser.

The book is built once per session with the README's command (into a temporary directory, so the
repository's own _build/ is left alone), served from 127.0.0.1 by a stdlib HTTP server, and every
page of _toc.yml is opened in headless Chromium driven by Selenium. For each page: no console
errors, nothing fetched from anywhere but the local server (the site must work offline, so MathJax
is vendored), every math element typeset by MathJax and no raw TeX left, every figure loaded and
described by real alt text, the Colab button pointing at this page's notebook on the repository
and branch of _config.yml, every internal link and anchor resolving, and the .ipynb downloadable.
The search page must find "gamma". A screenshot of every page is saved to
test-artifacts/screenshots/.

The browser is Debian's: `apt-get install -y chromium chromium-driver` (done by .ci/run). Selenium
is given both paths explicitly, so Selenium Manager never runs and nothing downloads a browser.
"""

import functools
import html.parser
import http.server
import json
import pathlib
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

import pytest

from booktools import ROOT, config, toc_files

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--window-size=1280,1000",
    # Every host name fails to resolve: a page that needs the internet (a CDN) shows it as an error.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
# Sphinx 7.4 (the newest Jupyter Book 1 allows) registers sphinx-thebe's inline configuration script twice
# (once with filename None, once with ''), so every page declares `const THEBE_JS_URL` twice. The first
# declaration stands and the course does not use thebe: this exact upstream message is tolerated, no other.
KNOWN_UPSTREAM_ERRORS = ("Uncaught SyntaxError: Identifier 'THEBE_JS_URL' has already been declared",)
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
# The README's build command; jupyter-book is the console script installed beside this Python.
JUPYTER_BOOK = shutil.which("jupyter-book", path=str(pathlib.Path(sys.executable).parent)) or "jupyter-book"
BUILD_COMMAND = [JUPYTER_BOOK, "build", "-W", "-n", "--keep-going"]
PAGES = toc_files()


def notebook_pages():
    return [p for p in PAGES if (ROOT / f"{p}.ipynb").is_file()]


# ---------------------------------------------------------------- build, serve, browse


@pytest.fixture(scope="session")
def sources():
    """Each notebook page's .ipynb bytes as the build reads them (a chapter edited during a run must not
    fail the download check)."""
    return {page: (ROOT / f"{page}.ipynb").read_bytes() for page in notebook_pages()}


@pytest.fixture(scope="session")
def site(tmp_path_factory, sources):
    """Build the book once; return the directory of its HTML."""
    out = tmp_path_factory.mktemp("book")
    proc = subprocess.run(
        [*BUILD_COMMAND, "--path-output", str(out), "."],
        cwd=ROOT, capture_output=True, text=True, timeout=1800,
    )
    if proc.returncode != 0:
        log = (proc.stdout + proc.stderr).splitlines()
        problems = [line for line in log if ("WARNING" in line or "ERROR" in line or "Error" in line)
                    and "IPKernelApp" not in line]  # the kernels' start-up notice is not a build problem
        pytest.fail("jupyter-book build -W -n --keep-going failed:\n" + "\n".join(problems[-30:] + ["..."] + log[-15:]),
                    pytrace=False)
    html = out / "_build" / "html"
    assert (html / f"{PAGES[0]}.html").is_file(), f"the build wrote no {PAGES[0]}.html under {html}"
    return html


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def server(site):
    """The built site on http://127.0.0.1:<free port>."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def browser():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not pathlib.Path(p).is_file()]
    if missing:
        pytest.fail(f"{missing} not found: install Debian's browser with "
                    "`apt-get update && apt-get install -y chromium chromium-driver`.", pytrace=False)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


# Runs in the page: resolves once MathJax has typeset it (or at once on a page that loads no MathJax).
WAIT_FOR_MATHJAX = """
const done = arguments[arguments.length - 1];
if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
  MathJax.startup.promise.then(() => done("typeset"), (err) => done("error: " + err));
} else { done(window.MathJax ? "no startup" : "absent"); }
"""

WAIT_FOR_IMAGES = """
const done = arguments[arguments.length - 1];
Promise.all(Array.from(document.images, (img) => img.complete ? null
  : new Promise((ok) => { img.addEventListener("load", ok); img.addEventListener("error", ok); })))
  .then(() => done(true));
"""

COLLECT = """
const skip = new Set(["PRE", "CODE", "SCRIPT", "STYLE", "TEXTAREA", "MJX-CONTAINER"]);
const texts = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
  acceptNode(node) {
    for (let el = node.parentElement; el; el = el.parentElement) {
      if (skip.has(el.tagName)) return NodeFilter.FILTER_REJECT;
    }
    return NodeFilter.FILTER_ACCEPT;
  },
});
while (walker.nextNode()) texts.push(walker.currentNode.nodeValue);
const math = Array.from(document.querySelectorAll(".math"));
return {
  text: texts.join(" "),
  math: math.length,
  untypeset: math.filter((el) => !el.querySelector("mjx-container")).map((el) => el.textContent.slice(0, 80)),
  rendered: document.querySelectorAll("mjx-container").length,
  tex_errors: Array.from(document.querySelectorAll("[data-mjx-error]"), (el) => el.getAttribute("data-mjx-error")),
  mathjax_scripts: Array.from(document.querySelectorAll("script[src*='mathjax']"), (s) => s.src),
  resources: performance.getEntriesByType("resource").map((e) => e.name),
  links: Array.from(document.querySelectorAll("a[href]"), (a) => a.href),
  images: Array.from(document.images, (img) => ({
    src: img.currentSrc || img.src, alt: img.getAttribute("alt"), width: img.naturalWidth, visible:
    !!(img.offsetWidth || img.offsetHeight || img.getClientRects().length)})),
};
"""


def _visit(driver, url, screenshot):
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get(url)
    mathjax = driver.execute_async_script(WAIT_FOR_MATHJAX)
    driver.execute_async_script(WAIT_FOR_IMAGES)
    report = driver.execute_script(COLLECT)
    report["mathjax"] = mathjax
    report["console"] = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert driver.save_screenshot(str(SCREENSHOTS / screenshot)), f"could not save the screenshot of {url}"
    return report


@pytest.fixture(scope="session")
def visit(server, browser):
    """visit(page) -> what the browser saw on that page (each page opened once per session)."""
    cache = {}

    def _report(page):
        if page not in cache:
            cache[page] = _visit(browser, f"{server}/{page}.html", page.replace("/", "__") + ".png")
        return cache[page]

    return _report


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


@pytest.mark.parametrize("page", PAGES)
def test_page_has_no_console_errors(visit, page):
    errors = [e["message"] for e in visit(page)["console"] if not e["message"].endswith(KNOWN_UPSTREAM_ERRORS)]
    assert not errors, f"{page}: browser console errors:\n" + "\n".join(errors)


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_nothing_from_outside(visit, server, page):
    outside = [r for r in visit(page)["resources"] if not r.startswith(server + "/")]
    assert not outside, f"{page}: fetched from outside the site (it must work offline): {outside}"


@pytest.mark.parametrize("page", PAGES)
def test_math_is_typeset(visit, page):
    report = visit(page)
    raw = [report["text"][i:i + 80] for i in (report["text"].find(t) for t in ("$$", "\\begin{")) if i >= 0]
    assert not raw, f"{page}: raw TeX left in the text: {raw}"
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
    from selenium.webdriver.common.by import By

    browser.get(f"{server}/search.html?q=gamma")
    # Sphinx lists results one by one, then writes the summary ("Search finished, found N page(s) ...").
    deadline, summary = time.monotonic() + 30, ""
    while time.monotonic() < deadline and not summary:
        summary = " ".join(e.text for e in browser.find_elements(By.CSS_SELECTOR, "#search-results .search-summary"))
        time.sleep(0.2)
    assert summary, "the search page did not finish searching within 30 s"
    results = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "#search-results li a")]
    assert browser.save_screenshot(str(SCREENSHOTS / "search.png"))
    pages = {urllib.parse.urlparse(r).path.lstrip("/").removesuffix(".html") for r in results}
    # The notation page defines gamma, so it must be found.
    assert "notation" in pages, f"search for 'gamma' found {sorted(pages) or 'nothing'}"
