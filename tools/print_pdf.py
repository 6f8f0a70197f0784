"""Print the whole book as one PDF from its single-page build, in the system's Chromium.

    jupyter-book build -W -n --keep-going --builder singlehtml .   # writes _build/singlehtml/
    python tools/print_pdf.py                                       # writes _build/html/batchnorm-book.pdf

The single page is served from 127.0.0.1 and opened in headless Chromium driven by Selenium (as the browser
tests do); once MathJax has typeset every formula, the images have loaded and the solution dropdowns are
open (sphinx-togglebutton opens them for printing), Chrome's own printing (the DevTools protocol's
Page.printToPDF) writes an A4 PDF with page numbers. The print styles are in _static/book.css. The PDF lands
in the website's directory, so the site serves it; the landing page (intro.md) links to it.

The browser is Debian's (`apt-get install -y chromium chromium-driver`); CHROMIUM and CHROMEDRIVER name
another one (GitHub's runners have Google Chrome). Selenium is given both paths, so nothing downloads a browser.
"""

import argparse
import base64
import functools
import http.server
import os
import pathlib
import sys
import threading

ROOT = pathlib.Path(__file__).resolve().parents[1]
PDF_NAME = "batchnorm-book.pdf"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--window-size=1200,1000",
    # The book must print offline (MathJax is vendored): any host other than the local server fails.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
TIMEOUT_S = 180

# Resolves once fonts, images and MathJax are done, and the dropdowns are open as for printing.
READY = """
const done = arguments[arguments.length - 1];
const images = Array.from(document.images, (img) => img.complete ? null
  : new Promise((ok) => { img.addEventListener("load", ok); img.addEventListener("error", ok); }));
const math = window.MathJax && MathJax.startup && MathJax.startup.promise ? MathJax.startup.promise : null;
Promise.all([document.fonts.ready, math, ...images]).then(() => {
  window.dispatchEvent(new Event("beforeprint"));  // sphinx-togglebutton opens every toggle
  const errors = Array.from(document.querySelectorAll("[data-mjx-error]"), (el) => el.getAttribute("data-mjx-error"));
  const broken = Array.from(document.images).filter((img) => !img.naturalWidth).map((img) => img.src);
  done({mathjax: !!math, errors, broken});
}, (err) => done({error: String(err)}));
"""

FOOTER = ('<div style="font-size: 8px; width: 100%; text-align: center; color: #555;">'
          '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _page(singlehtml):
    """The single page of a singlehtml build (Sphinx names it after the root document; index.html redirects)."""
    pages = [p for p in singlehtml.glob("*.html") if p.name not in ("index.html", "genindex.html", "search.html")]
    if len(pages) != 1:
        raise SystemExit(f"expected one page in {singlehtml} (a singlehtml build), found {[p.name for p in pages]}; "
                         "build it with: jupyter-book build -W -n --keep-going --builder singlehtml .")
    return pages[0].name


def print_pdf(singlehtml, out):
    """Print the singlehtml build in directory ``singlehtml`` to the PDF file ``out``; return its size in bytes."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not pathlib.Path(p).is_file()]
    if missing:
        raise SystemExit(f"{missing} not found: install Debian's browser with "
                         "`apt-get install -y chromium chromium-driver`, or set CHROMIUM and CHROMEDRIVER.")
    page = _page(singlehtml)
    handler = functools.partial(_QuietHandler, directory=str(singlehtml))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        driver.set_page_load_timeout(TIMEOUT_S)
        driver.set_script_timeout(TIMEOUT_S)
        driver.get(f"http://127.0.0.1:{httpd.server_address[1]}/{page}")
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        state = driver.execute_async_script(READY)
        problems = [state["error"]] if "error" in state else []
        problems += [f"MathJax error: {e}" for e in state.get("errors", [])]
        problems += [f"image did not load: {src}" for src in state.get("broken", [])]
        if not state.get("mathjax"):
            problems.append("MathJax is not on the page: the PDF would show raw TeX")
        if problems:
            raise SystemExit(f"not printing {page}:\n" + "\n".join(problems))
        pdf = driver.execute_cdp_cmd("Page.printToPDF", {
            "printBackground": True,
            "preferCSSPageSize": True,  # A4 and margins from @page in _static/book.css
            "displayHeaderFooter": True,
            "headerTemplate": "<span></span>",
            "footerTemplate": FOOTER,
        })
    finally:
        driver.quit()
        httpd.shutdown()
        httpd.server_close()
    data = base64.b64decode(pdf["data"])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return len(data)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", type=pathlib.Path, default=ROOT / "_build",
                        help="the _build directory holding singlehtml/ and html/ (default: %(default)s)")
    args = parser.parse_args(argv)
    out = args.build / "html" / PDF_NAME
    size = print_pdf(args.build / "singlehtml", out)
    print(f"wrote {out} ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    sys.exit(main())
