"""What the site tests share: the build steps of README command 1, the reader's widths, and the browser helpers
(open a page at a width and wait until it is ready, collect what it shows, take a full-page screenshot)."""

import base64
import json
import pathlib
import re
import shlex
import shutil
import sys
import time
import urllib.parse

import yaml

from booktools import ROOT, toc_files

HERE = pathlib.Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--window-size=1400,900",
    # Every host name fails to resolve: a page that needs the internet (a CDN) shows it as an error.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
# The reader's widths: a desktop browser and a phone. Emulated without touch, so that a horizontal
# scrollbar is drawn and can be measured.
WIDTHS = {"desktop": 1400, "phone": 390}
HEIGHT = 900
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
PAGES = toc_files()

# README command 1's build steps, as written there (test_pdf.py checks that the README says exactly this).
README_BUILD_STEPS = [
    "jupyter-book build -W -n --keep-going .",
    "jupyter-book build -W -n --keep-going --builder singlehtml .",
    "python tools/print_pdf.py",
]
PDF_NAME = "batchnorm-book.pdf"


def notebook_pages():
    return [p for p in PAGES if (ROOT / f"{p}.ipynb").is_file()]


def chapter_pages():
    """The numbered pages: the chapters part of _toc.yml, in order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [c["file"] for part in toc["parts"] if part.get("numbered") for c in part["chapters"]]


def step_command(step, out):
    """A README build step, run with this Python's tools and writing under ``out`` instead of the repository."""
    argv = shlex.split(step)
    if argv[0] == "jupyter-book":
        exe = shutil.which("jupyter-book", path=str(pathlib.Path(sys.executable).parent)) or "jupyter-book"
        return [exe, *argv[1:-1], "--path-output", str(out), argv[-1]]
    if argv[0] == "python":
        return [sys.executable, *argv[1:], "--build", str(out / "_build")]
    raise ValueError(f"unexpected build step {step!r}")


def set_width(driver, width):
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False})


def script(name):
    return (HERE / name).read_text(encoding="utf-8")


# Runs in the page: resolves once MathJax has typeset it (or at once on a page that loads no MathJax), the
# images and fonts have loaded, and two frames have been laid out with them.
READY = """
const done = arguments[arguments.length - 1];
const images = Array.from(document.images, (img) => img.complete ? null
  : new Promise((ok) => { img.addEventListener("load", ok); img.addEventListener("error", ok); }));
const math = window.MathJax && MathJax.startup && MathJax.startup.promise
  ? MathJax.startup.promise.then(() => "typeset", (err) => "error: " + err)
  : Promise.resolve(window.MathJax ? "no startup" : "absent");
const frame = () => new Promise((ok) => requestAnimationFrame(() => ok()));
Promise.all([math, document.fonts.ready, ...images])
  .then(([mathjax]) => frame().then(frame).then(() => done(mathjax)));
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
const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
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
    src: img.currentSrc || img.src, alt: img.getAttribute("alt"), width: img.naturalWidth, visible: visible(img)})),
  search_controls: Array.from(document.querySelectorAll(
    ".search-button, .search-button-field, form.bd-search input[type='search']")).filter(visible).length,
};
"""


TWO_FRAMES = "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(done));"


def screenshot(driver, path):
    """A screenshot of the whole page, as PNG: the window is made as tall as the page for the shot, then put
    back. (Chrome's capture beyond the window instead mislaid the sidebars of some pages and dropped the
    scrollbars for the rest of the page's life.)"""
    width = driver.execute_script("return window.innerWidth")
    height = driver.execute_script("return Math.max(document.documentElement.scrollHeight, window.innerHeight)")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    try:
        driver.execute_async_script(TWO_FRAMES)
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    finally:
        set_width(driver, width)
    path.write_bytes(base64.b64decode(shot["data"]))


def load(driver, url, width):
    """Open ``url`` at ``width`` px and wait until it is ready; return MathJax's state."""
    set_width(driver, width)
    driver.get(url)
    return driver.execute_async_script(READY)


def collect_page(driver, url, width, name):
    """Open ``url`` at ``width`` px; return what the reader sees there (text, math, links, images, search
    controls, overflowing elements, console errors) and save a full-page screenshot as SCREENSHOTS/``name``."""
    driver.get_log("browser")  # drop what earlier pages logged
    mathjax = load(driver, url, width)
    report = driver.execute_script(COLLECT)
    report["mathjax"] = mathjax
    report["console"] = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    report["overflow"] = driver.execute_script(script("overflow.js"))
    screenshot(driver, SCREENSHOTS / name)
    report["screenshot"] = SCREENSHOTS / name
    return report


def search(browser, server, query):
    """Open the search page for ``query``; return the result links once Sphinx has finished searching."""
    from selenium.webdriver.common.by import By

    browser.get(f"{server}/search.html?q={urllib.parse.quote(query)}")
    # Sphinx lists results one by one, then writes the summary ("Search finished, found N page(s) ...").
    deadline, summary = time.monotonic() + 30, ""
    while time.monotonic() < deadline and not summary:
        summary = " ".join(e.text for e in browser.find_elements(By.CSS_SELECTOR, "#search-results .search-summary"))
        time.sleep(0.2)
    assert summary, "the search page did not finish searching within 30 s"
    return [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "#search-results li a")]


def tex_macros():
    """The TeX commands of the book's prose (\\frac, \\gamma, ...), from the Markdown of its sources, less any
    that also occurs in a code cell or its output (\\n): any of them in rendered text is TeX left untypeset."""
    prose = [path.read_text(encoding="utf-8") for path in ROOT.glob("*.md")]
    code = []
    for path in (ROOT / "chapters").glob("*.ipynb"):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "markdown":
                prose.append("".join(cell["source"]))
            else:
                code.append("".join(cell["source"]))
                for output in cell.get("outputs", []):
                    code.append("".join(output.get("text", "")) + "".join(output.get("data", {}).get("text/plain", "")))
    commands = re.compile(r"\\[A-Za-z]+")
    return {m for text in prose for m in commands.findall(text)} - {m for text in code for m in commands.findall(text)}


def raw_tex(text, macros):
    """The pieces of ``text`` that are TeX: math delimiters, or commands among ``macros``."""
    return [m for m in re.findall(r"\\[()\[\]]|\$\$|\\[A-Za-z]+", text) if not m[1:2].isalpha() or m in macros]


def eventually(condition, timeout=5.0):
    """Whether ``condition()`` becomes true within ``timeout`` seconds (dropdowns and menus animate)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def raw_tex_snippets(text, macros, width=50):
    """The passages of ``text`` holding raw TeX (see raw_tex): pieces less than ``width`` characters apart make
    one passage, shown with ``width`` characters of context either side (at most 240 characters)."""
    spans = []
    for m in re.finditer(r"\\[()\[\]]|\$\$|\\[A-Za-z]+", text):
        if not raw_tex(m.group(), macros):
            continue
        if spans and m.start() - spans[-1][1] < width:
            spans[-1][1] = m.end()
        else:
            spans.append([m.start(), m.end()])
    return [" ".join(text[max(0, a - width):b + width].split())[:240] for a, b in spans]
