// Search results show math typeset, not as TeX. (Jupyter Book adds every .js file in _static/ to every
// page; this one only acts on the search page, which tools/book_extensions.py gives MathJax.)
//
// Sphinx cuts each result's snippet out of the text of the page's HTML, where math is still TeX
// ("\(\tilde a\)"), and may cut through a formula. Here each math element is first replaced by one
// private-use character, so the snippet keeps or drops a formula whole; the characters are then turned back
// into math elements that MathJax typesets. They carry Sphinx's "nohighlight" class, so the highlighting of
// the search words leaves their TeX alone.
const installSearchMath = () => {
  if (typeof Search === "undefined" || typeof Search.makeSearchSummary !== "function") return;
  const FIRST = 0xe000;
  const LAST = 0xf8ff;
  const placeholder = /[\ue000-\uf8ff]/g;
  const makeSearchSummary = Search.makeSearchSummary;
  let typesetting = Promise.resolve();

  // "\(x\)", "\[x\]" or a bare environment, as inline TeX.
  const inline = (tex) => {
    let body = tex.trim();
    const delimited = body.match(/^\\[([]([\s\S]*)\\[)\]]$/);
    if (delimited) body = delimited[1];
    body = body.replace(/\\(begin|end)\{(align|equation|gather)\*?\}/g, (_, which, env) =>
      env === "equation" ? "" : `\\${which}{${env === "align" ? "aligned" : "gathered"}}`);
    return `\\(${body.trim()}\\)`;
  };

  Search.makeSearchSummary = (htmlText, keywords, anchor) => {
    const page = new DOMParser().parseFromString(htmlText, "text/html");
    const formulas = [];
    for (const el of page.querySelectorAll(".math")) {
      if (FIRST + formulas.length > LAST) break;
      formulas.push(el.textContent);
      el.textContent = String.fromCharCode(FIRST + formulas.length - 1);
    }
    const summary = makeSearchSummary(page.documentElement.outerHTML, keywords, anchor);
    if (!summary || !formulas.length) return summary;

    const text = summary.textContent;
    summary.textContent = "";
    let last = 0;
    for (const match of text.matchAll(placeholder)) {
      summary.append(text.slice(last, match.index));
      const math = document.createElement("span");
      math.className = "math notranslate nohighlight";
      math.textContent = inline(formulas[match[0].charCodeAt(0) - FIRST]);
      summary.append(math);
      last = match.index + 1;
    }
    summary.append(text.slice(last));

    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      // Typeset once the summary is in the page (the caller appends it right after this returns), one
      // typesetting at a time, as MathJax asks.
      typesetting = typesetting
        .then(() => MathJax.startup.promise)
        .then(() => MathJax.typesetPromise([summary]))
        .catch((err) => console.warn("search-math: MathJax could not typeset a snippet", err));
    }
    return summary;
  };
};

// This file may load before Sphinx's searchtools.js; all are in place once the document is parsed, and this
// listener, added first, runs before the one that starts the search.
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", installSearchMath);
else installSearchMath();
