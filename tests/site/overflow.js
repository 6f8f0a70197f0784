// Runs in a page of the book: every code cell, output, code block, table and display equation of the article
// whose content is wider than the place it is shown in, and whether the reader can scroll to the rest.
// Returns {found, page}: found lists, for each such element, {kind, cell, source, tex, content, box,
// scrollbar, cue, where, verdict}, where verdict is
//   "scrolls"  a horizontal scroll container inside the column shows a scrollbar: nothing is lost;
//   "cut"      the content reaches past the column or is clipped, and no scrollbar gives it back;
// cell is the element's code cell (its index among the page's cells) and source that cell's code; tex is an
// equation's TeX; cue says whether the scroll container draws the scroll shadows of _static/book.css (the
// sign, on a phone whose scrollbars only show while scrolling, that there is more to the right).
// Elements that fit are not listed. page gives the document's and the window's widths.
// Folded content (solution dropdowns, hidden cells) is opened first, as a reader would.
document.querySelectorAll(".toggle-hidden > .admonition-title").forEach((title) => title.click());
document.querySelectorAll("details:not([open])").forEach((details) => { details.open = true; });
const article = document.querySelector("article.bd-article") || document.querySelector("main");
const column = article.getBoundingClientRect();
const SLACK = 1;  // px: sub-pixel rounding

function scrollsX(el) {
  const style = getComputedStyle(el);
  return ["auto", "scroll"].includes(style.overflowX) && el.scrollWidth > el.clientWidth + SLACK;
}

function scrollbarHeight(el) {
  const style = getComputedStyle(el);
  return el.offsetHeight - el.clientHeight - parseFloat(style.borderTopWidth) - parseFloat(style.borderBottomWidth);
}

// The TeX of each typeset equation, from MathJax's own list of what it typeset.
const texOf = new Map();
if (window.MathJax && MathJax.startup && MathJax.startup.document) {
  for (const item of MathJax.startup.document.math) texOf.set(item.typesetRoot, item.math);
}

function cellOf(el) {
  const cell = el.closest("div.cell");
  if (!cell) return {cell: null, source: null};
  const cells = Array.from(article.querySelectorAll("div.cell"));
  const input = cell.querySelector(".cell_input pre");
  return {cell: cells.indexOf(cell), source: input ? input.innerText : null};
}

const describe = (el) => el.tagName.toLowerCase() + (el.className && typeof el.className === "string"
  ? "." + el.className.trim().split(/\s+/).join(".") : "");

const targets = [];
const add = (kind, selector) => article.querySelectorAll(selector).forEach((el) => targets.push([kind, el]));
add("code cell", "div.cell_input div.highlight");
add("output", "div.cell_output > .output");
add("code block", "div.highlight:not(.cell_input div.highlight):not(.cell_output div.highlight)");
add("table", "table");
add("equation", "mjx-container[display='true']");
add("inline equation", "span.math > mjx-container:not([display='true'])");

const found = [];
for (const [kind, el] of targets) {
  const rect = el.getBoundingClientRect();
  if (rect.width === 0 && rect.height === 0) continue;  // folded away (a closed dropdown): not shown
  // The nearest scroll container at or above the element, inside the article, that actually scrolls.
  let scroller = null;
  for (let node = el; node && node !== article; node = node.parentElement) {
    if (scrollsX(node)) { scroller = node; break; }
  }
  // Also look inside: the element may hold its own scroll container (a <pre> in a div.highlight).
  if (!scroller) scroller = Array.from(el.querySelectorAll("*")).find(scrollsX) || null;
  const base = {kind, ...cellOf(el), tex: texOf.get(el) || null};
  if (scroller) {
    const box = scroller.getBoundingClientRect();
    const bar = scrollbarHeight(scroller);
    const inside = box.left >= column.left - SLACK && box.right <= column.right + SLACK;
    found.push({...base, content: scroller.scrollWidth, box: Math.round(box.width), scrollbar: bar,
                cue: getComputedStyle(scroller).backgroundImage.includes("gradient"),
                where: describe(scroller), verdict: bar > 0 && inside ? "scrolls" : "cut"});
    continue;
  }
  // No scroll container: the content's right edge must stay inside the column.
  let right = rect.left + el.scrollWidth;
  el.querySelectorAll("*").forEach((child) => { right = Math.max(right, child.getBoundingClientRect().right); });
  const inline = getComputedStyle(el).display === "inline";  // an inline box has no clientWidth
  if (right > column.right + SLACK || (!inline && el.scrollWidth > el.clientWidth + SLACK)) {
    found.push({...base, content: Math.round(right - rect.left), box: Math.round(Math.min(rect.width,
                column.right - rect.left)), scrollbar: 0, cue: false, where: describe(el), verdict: "cut"});
  }
}
return {found, page: {scrollWidth: document.documentElement.scrollWidth, width: window.innerWidth}};
