// Runs in a page of the book: every code cell, output, code block, table and equation (display and inline) of
// the article
// whose content is wider than the place it is shown in, and whether the reader can scroll to the rest.
// Returns {found, page}: found lists, for each such element, {kind, cell, source, tex, content, box,
// scrollbar, cue, where, verdict, reason}, where verdict is
//   "scrolls"  a horizontal scroll container inside the column shows a scrollbar: nothing is lost;
//   "cut"      the content reaches past the column or is clipped, and no scrollbar gives it back;
// cell is the element's code cell (its index among the page's cells) and source that cell's code; tex is an
// equation's TeX; cue says whether the scroll container, scrolled to its start, draws the right-hand scroll
// shadow of _static/book.css (the sign, on a phone whose scrollbars show only while scrolling, that there is
// more to the right).
// Elements that fit are not listed. page gives the document's and the window's widths.
const article = document.querySelector("article.bd-article") || document.querySelector("main");
const column = article.getBoundingClientRect();
const SLACK = 1;  // px: sub-pixel rounding

// Where the element's content ends on the right (its text, its children, a formula's SVG), scrolled-away
// parts included. Used for elements that do not scroll.
function contentRight(el) {
  const range = document.createRange();
  range.selectNodeContents(el);
  return Math.max(range.getBoundingClientRect().right, ...Array.from(el.children, (c) => c.getBoundingClientRect().right));
}

// A scroll container whose content reaches past its visible box. (Its scrollWidth counts the end padding
// after the content: content that only reaches into the padding is fully visible, and Chrome may then draw
// no scrollbar.)
function scrolls(el) {
  const style = getComputedStyle(el);
  return ["auto", "scroll"].includes(style.overflowX)
    && el.scrollWidth - parseFloat(style.paddingRight) > el.clientWidth;
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

// Folded content (solution dropdowns, hidden cells) is opened, as a reader would, and folded again at the end.
const opened = Array.from(document.querySelectorAll(".toggle-hidden > .admonition-title"));
opened.forEach((title) => title.click());
const details = Array.from(document.querySelectorAll("details:not([open])"));
details.forEach((d) => { d.open = true; });

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
  if (rect.width === 0 && rect.height === 0) continue;  // not shown
  // The scroll container that holds the element's overflow: the element, an ancestor inside the article,
  // or a descendant (the <pre> of a div.highlight).
  let scroller = null;
  for (let node = el; node && node !== article && !scroller; node = node.parentElement) {
    if (scrolls(node)) scroller = node;
  }
  if (!scroller) scroller = Array.from(el.querySelectorAll("*")).find(scrolls) || null;
  const base = {kind, ...cellOf(el), tex: texOf.get(el) || null};
  if (scroller) {
    const box = scroller.getBoundingClientRect();
    const bar = scrollbarHeight(scroller);
    const inside = box.left >= column.left - SLACK && box.right <= column.right + SLACK;
    found.push({...base, content: scroller.scrollWidth, box: Math.round(box.width),
                scrollbar: bar, cue: parseFloat(getComputedStyle(scroller).getPropertyValue("--book-shadow-right")) > 0,
                where: describe(scroller), verdict: bar > 0 && inside ? "scrolls" : "cut",
                reason: !inside ? "its scroll box reaches out of the column" : "no horizontal scrollbar"});
    continue;
  }
  // Nothing scrolls: the content must end inside the column, and no clipping box on the way may hide it.
  const right = contentRight(el);
  let clipper = null;
  for (let node = el; node && node !== article && !clipper; node = node.parentElement) {
    const box = node.getBoundingClientRect();
    const clips = ["hidden", "clip"].includes(getComputedStyle(node).overflowX);
    if (clips && right > box.left + node.clientLeft + node.clientWidth + SLACK) clipper = node;
  }
  if (right > column.right + SLACK || clipper) {
    const edge = clipper ? clipper.getBoundingClientRect().right : column.right;
    found.push({...base, content: Math.round(right - rect.left), box: Math.round(edge - rect.left), scrollbar: 0,
                cue: false, where: describe(clipper || el), verdict: "cut",
                reason: clipper ? `clipped by ${describe(clipper)}` : "reaches past the column, nothing scrolls"});
  }
}

opened.forEach((title) => title.click());
details.forEach((d) => { d.open = false; });
return {found, page: {scrollWidth: document.documentElement.scrollWidth, width: window.innerWidth}};
