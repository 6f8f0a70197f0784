"""The website as a reader sees it: built as README command 1 builds it, served, opened in a real browser.

The book is built once per session by README command 1's build steps (into a temporary directory, so the
repository's own _build/ is left alone): the website, the single-page build, and the whole-book PDF printed
from it into the website. The site is served from 127.0.0.1 by a stdlib HTTP server, and every page of
_toc.yml is opened in headless Chromium driven by Selenium, at a desktop width (1400 px) and a phone width
(390 px). A full-page screenshot of every page at both widths is saved to test-artifacts/screenshots/.

The browser is Debian's: `apt-get install -y chromium chromium-driver` (README command 1 and .ci/run).
Selenium is given both paths explicitly, so Selenium Manager never runs and nothing downloads a browser.
Markers (keras, slow, browser) follow from the fixtures a test uses; tests that need neither the build nor the
browser run on a laptop too.
"""

import functools
import http.server
import pathlib
import subprocess
import sys
import threading

import pytest
from sitetools import (
    CHROMEDRIVER,
    CHROMIUM,
    CHROMIUM_FLAGS,
    PAGES,
    README_BUILD_STEPS,
    SCREENSHOTS,
    WIDTHS,
    collect_page,
    notebook_pages,
    step_command,
)

from booktools import ROOT


def pytest_collection_modifyitems(config, items):
    """Markers for the website tests, from the fixtures a test uses: building the book runs every chapter (Keras,
    minutes) and prints the PDF in Chromium; the browser is Chromium."""
    for item in items:
        if "site" not in item.path.parts[-2:-1]:
            continue
        if "build" in item.fixturenames:
            for marker in ("keras", "slow", "browser"):
                item.add_marker(marker)
        if "browser" in item.fixturenames:
            item.add_marker("browser")


# ---------------------------------------------------------------- build, serve, browse


@pytest.fixture(scope="session")
def sources():
    """Each notebook page's .ipynb bytes as the build reads them (a chapter edited during a run must not
    fail the download check)."""
    return {page: (ROOT / f"{page}.ipynb").read_bytes() for page in notebook_pages()}


@pytest.fixture(scope="session")
def build(tmp_path_factory, sources):
    """Run README command 1's build steps once; return the _build directory (html/, singlehtml/)."""
    out = tmp_path_factory.mktemp("book")
    for step in README_BUILD_STEPS:
        proc = subprocess.run(step_command(step, out), cwd=ROOT, capture_output=True, text=True, timeout=1800)
        if proc.returncode != 0:
            log = (proc.stdout + proc.stderr).splitlines()
            problems = [line for line in log if ("WARNING" in line or "ERROR" in line or "Error" in line)
                        and "IPKernelApp" not in line]  # the kernels' start-up notice is not a build problem
            pytest.fail(f"`{step}` failed:\n" + "\n".join(problems[-30:] + ["..."] + log[-15:]), pytrace=False)
    return out / "_build"


@pytest.fixture(scope="session")
def site(build):
    """The directory of the website's HTML (the PDF included)."""
    html = build / "html"
    assert (html / f"{PAGES[0]}.html").is_file(), f"the build wrote no {PAGES[0]}.html under {html}"
    return html


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # The browser drops connections it no longer needs (a page left while loading): not an error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture(scope="session")
def server(site):
    """The built site on http://127.0.0.1:<free port>."""
    httpd = _Server(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site)))
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
    driver.set_script_timeout(120)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
def visit(server, browser):
    """visit(page, width=1400) -> what the browser saw on that page at that width (each opened once)."""
    cache = {}

    def _report(page, width=WIDTHS["desktop"]):
        if (page, width) not in cache:
            name = f"{page.replace('/', '__')}@{width}px.png"
            cache[page, width] = collect_page(browser, f"{server}/{page}.html", width, name)
        return cache[page, width]

    return _report
