"""Accessible: axe-core finds no serious or critical violation on any page (desktop and phone widths, light
and dark), and the skip link, the navigation, the phone menu and the solution dropdowns work by keyboard.

axe-core is vendored (tests/site/vendor/axe-core/axe.min.js, MPL-2.0; see README.md there) and injected into
each page by Selenium. Keys are real key presses sent by WebDriver (Tab, Enter, Space, Escape).
"""

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from sitetools import HERE, PAGES, WIDTHS, chapter_pages, eventually, load

AXE = HERE / "vendor" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ["violations"]}).then(
  (result) => done(result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => n.target.join(" ") + ": " + (n.failureSummary || "").replace(/\\s+/g, " "))}))),
  (err) => done([{id: "axe-error", impact: "critical", help: String(err), nodes: []}]));
"""
VIEWS = [(WIDTHS["desktop"], "light"), (WIDTHS["phone"], "light"), (WIDTHS["desktop"], "dark")]


def axe_violations(browser):
    """axe-core's violations on the page the browser shows."""
    browser.execute_script(AXE.read_text(encoding="utf-8"))
    return browser.execute_async_script(RUN_AXE)


def run_axe(browser, url, width, mode):
    """axe-core's violations on the book's page ``url`` at ``width`` px in colour mode ``mode``."""
    # pydata-sphinx-theme reads the colour mode from localStorage before the page paints.
    load(browser, url, width)
    browser.execute_script("localStorage.setItem('mode', arguments[0]); localStorage.setItem('theme', arguments[0]);",
                           mode)
    try:
        load(browser, url, width)
        assert browser.execute_script("return document.documentElement.dataset.theme") == mode
        return axe_violations(browser)
    finally:
        browser.execute_script("localStorage.removeItem('mode'); localStorage.removeItem('theme');")


@pytest.mark.parametrize(("page", "width", "mode"), [pytest.param(p, w, m, id=f"{p}@{w}px-{m}")
                                                     for p in PAGES for w, m in VIEWS])
def test_axe_finds_no_serious_violation(browser, server, page, width, mode):
    violations = [v for v in run_axe(browser, f"{server}/{page}.html", width, mode) if v["impact"] in BLOCKING]
    report = [f"{v['impact']} {v['id']} ({v['help']}):\n    " + "\n    ".join(v["nodes"][:5]) for v in violations]
    assert not violations, f"{page} at {width} px, {mode}: axe-core violations:\n" + "\n".join(report)


def test_axe_bites(browser, tmp_path):
    page = tmp_path / "bad.html"
    page.write_text('<!doctype html><html lang="en"><head><title>t</title></head><body><main>'
                    '<img src="x.png"><button></button></main></body></html>')
    load(browser, page.as_uri(), WIDTHS["desktop"])
    found = {v["id"] for v in axe_violations(browser) if v["impact"] in BLOCKING}
    assert {"image-alt", "button-name"} <= found, found


# ---------------------------------------------------------------- by keyboard


def press(browser, *keys):
    chain = ActionChains(browser)
    for key in keys:
        chain.send_keys(key)
    chain.perform()


FOCUSED = """
const el = document.activeElement, style = getComputedStyle(el);
return {tag: el.tagName, text: (el.textContent || "").trim().slice(0, 80), href: el.getAttribute("href"),
        classes: el.className && typeof el.className === "string" ? el.className : "",
        ring: (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== "none"};
"""


def tab_to(browser, matches, limit):
    """Press Tab until the focused element satisfies ``matches``; return it (fail after ``limit`` presses)."""
    seen = []
    for _ in range(limit):
        press(browser, Keys.TAB)
        focused = browser.execute_script(FOCUSED)
        if matches(focused):
            assert focused["ring"], f"the focused {focused} shows no focus ring"
            return focused
        seen.append(f"{focused['tag']} {focused['text'][:30]!r}")
    raise AssertionError(f"not reached in {limit} Tab presses; focus went through: {seen}")


@pytest.mark.parametrize("width", WIDTHS.values())
def test_skip_link_comes_first_and_skips_to_the_content(browser, server, width):
    load(browser, f"{server}/{chapter_pages()[1]}.html", width)
    focused = tab_to(browser, lambda f: True, 1)
    assert focused["tag"] == "A" and focused["href"] == "#main-content", focused
    press(browser, Keys.ENTER)
    press(browser, Keys.TAB)
    inside = browser.execute_script("return document.querySelector('#main-content').contains(document.activeElement)")
    assert inside, f"after the skip link, Tab went to {browser.execute_script(FOCUSED)}"


def test_sidebar_navigation_by_keyboard(browser, server):
    here, there = chapter_pages()[1], chapter_pages()[2]
    load(browser, f"{server}/{here}.html", WIDTHS["desktop"])
    tab_to(browser, lambda f: f["tag"] == "A" and (f["href"] or "").endswith(there.rsplit("/", 1)[-1] + ".html"), 40)
    press(browser, Keys.ENTER)
    assert browser.current_url == f"{server}/{there}.html"


def test_phone_menu_by_keyboard(browser, server):
    here, there = chapter_pages()[1], chapter_pages()[2]
    url = f"{server}/{here}.html"
    load(browser, url, WIDTHS["phone"])

    def menu_open():
        return browser.execute_script("const d = document.querySelector('#pst-primary-sidebar-modal');"
                                      "return !!(d && d.open);")

    tab_to(browser, lambda f: "primary-toggle" in f["classes"], 5)
    press(browser, Keys.ENTER)
    assert eventually(menu_open), "Enter on the menu button did not open the navigation"
    press(browser, Keys.ESCAPE)
    assert eventually(lambda: not menu_open()), "Escape did not close the navigation"
    tab_to(browser, lambda f: "primary-toggle" in f["classes"], 40)
    press(browser, Keys.SPACE)
    assert eventually(menu_open), "Space on the menu button did not open the navigation"
    tab_to(browser, lambda f: f["tag"] == "A" and (f["href"] or "").endswith(there.rsplit("/", 1)[-1] + ".html"), 20)
    press(browser, Keys.ENTER)
    assert browser.current_url == f"{server}/{there}.html"


@pytest.mark.parametrize("width", WIDTHS.values())
def test_solution_dropdown_by_keyboard(browser, server, width):
    url = f"{server}/{chapter_pages()[1]}.html"
    load(browser, url, width)
    solution = browser.find_element(By.CSS_SELECTOR, "div.solution.dropdown")
    content = solution.find_element(By.CSS_SELECTOR, "section")
    # Start from just before the dropdown, as a reader tabbing down the page arrives there.
    browser.execute_script("const s = document.createElement('span'); s.tabIndex = -1;"
                           "arguments[0].before(s); s.focus();", solution)
    focused = tab_to(browser, lambda f: True, 1)
    in_title = browser.execute_script(
        "return arguments[0].querySelector('.admonition-title').contains(document.activeElement)", solution)
    assert in_title and focused["tag"] == "BUTTON", f"Tab into the dropdown reached {focused}, not its toggle"
    assert not content.is_displayed()
    press(browser, Keys.ENTER)
    assert eventually(content.is_displayed), "Enter did not open the solution"
    assert browser.current_url == url, "Enter on the dropdown navigated away"
    press(browser, Keys.SPACE)
    assert eventually(lambda: not content.is_displayed()), "Space did not fold the solution again"
