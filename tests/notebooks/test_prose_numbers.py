"""Every number the prose states is glued from the cell that computes it, never typed by hand.

A number in a markdown cell (or a Markdown page of the book) "looks computed" when it has three or more
significant digits (0.953, 458, 1347), a decimal with two or more places (0.05, 3.09), or is a
percentage or an "N-fold" ratio. Such a number must come from a glue role, ``{glue:text}`name:.3f` ``,
whose value a code cell computed and nbval re-checks. Not scanned: code spans and roles (their content
is code, a glue name or a citation key), fenced code blocks (solution code included), directive options,
link targets and HTML tags. Scanned: prose, tables, headings, admonitions, exercise and solution text,
and math (a computed value belongs outside the math, glued). Exempt: years (1900-2099), and the short
allow-list below, each entry a definition with the reason it is one.

Pages: every page of _toc.yml (chapters, intro.md, notation.md, the notes page, ...).
"""

import json
import re

import pytest

from booktools import ROOT, toc_files

# Definitions that look computed. Each is a regex removed from the text before the numbers are counted;
# keep the list short and say why each one is a definition rather than a result.
ALLOWED = [
    # Software versions name a release; nothing computes them.
    (r"\b(?:Python|Keras|TensorFlow|tf\.keras|NumPy|IPython|MathJax|Sphinx|Jupyter Book|PyTorch)"
     r"\s+\d+(?:\.\d+)*(?:\.post\d+)?", "software version"),
    # A result quoted from a cited paper, not computed here: Wu and He (2018), ResNet-50 on ImageNet
    # at 2 images per GPU (their Figure 1 / Table 3).
    (r"10\.6% lower error", "quoted from Wu and He (2018)"),
    # Keras's defaults and the settings a chapter chooses are definitions, not results (the rule:
    # "eps = 1e-3 as a chosen setting ... stay literal"): momentum 0.99, eps 0.001, and the 1% threshold
    # that defines "forgotten" in chapter 4.
    (r"(?<![\d.])0\.99(?!\d)", "Keras's default momentum"),
    (r"(?<![\d.])0\.001(?!\d)", "eps = 1e-3, Keras's default"),
    (r"(?<![\d.])1\s*%", "the 1% threshold chosen in chapter 4"),
]

_NUMBER = re.compile(
    r"(?<![\w.,])"                      # not the tail of an identifier (x0, float64) or of another number
    r"(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"([eE][-+]?\d+)?"                   # 7.1e-04: the exponent does not count as significant digits
    r"(?!\w|\.\d|,\d{3})"                # not followed by letters (64px, 3x3) or by more of a number
    r"(\s*%|-fold)?"
)


def significant_digits(mantissa):
    """Significant digits of a number written without exponent: 0.0530 -> 3, 1347 -> 4, 2500 -> 2."""
    plain = mantissa.replace(",", "")
    if "." in plain:
        return len(plain.replace(".", "").lstrip("0"))
    return len(plain.lstrip("0").rstrip("0"))  # trailing zeros of an integer are placeholders (60,000)


def looks_computed(mantissa, exponent, suffix):
    """True for a number that should be glued: >= 3 significant digits, >= 2 decimals, a % or N-fold."""
    plain = mantissa.replace(",", "")
    if not exponent and not suffix and "." not in plain and "," not in mantissa and 1900 <= int(plain) <= 2099:
        return False  # a year
    decimals = len(plain.split(".")[1]) if "." in plain else 0
    return significant_digits(mantissa) >= 3 or decimals >= 2 or bool(suffix)


_FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*(\S*)")
_CODE_DIRECTIVES = {"{code-cell}", "{code-block}", "{code}", "{literalinclude}"}


def prose(markdown):
    """The text of a Markdown source that is read as prose or math: code, options and targets removed."""
    lines, stack = [], []  # stack of open fences: (fence string, is_code)
    for line in markdown.splitlines():
        m = _FENCE.match(line)
        if m:
            fence, info = m.groups()
            if stack and not info and fence[0] == stack[-1][0][0] and len(fence) >= len(stack[-1][0]):
                stack.pop()
                continue
            if not (stack and stack[-1][1]):  # a fence inside a code block is just code
                is_code = not info.startswith("{") or info in _CODE_DIRECTIVES
                stack.append((fence, is_code))
                if not is_code:
                    lines.append(line[m.end():])  # a directive's title is prose
                continue
        if stack and stack[-1][1]:
            continue
        if stack and re.match(r"^\s*:[\w-]+:", line):  # a directive option, e.g. :label: or :width:
            continue
        lines.append(line)
    text = "\n".join(lines)
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    text = re.sub(r"(`+)(.+?)\1", " ", text, flags=re.S)      # code spans, and the content of every role
    text = re.sub(r"\{[\w:.-]+\}", " ", text)                  # the role names themselves: {glue:text}, {doc}
    text = re.sub(r"\\[A-Za-z]+", " ", text)                  # LaTeX commands: \mp1.414 is the number 1.414
    text = re.sub(r"\]\([^)]*\)", "] ", text)                  # link targets
    text = re.sub(r"https?://\S+", " ", text)
    text = re.sub(r"<[^>]+>", " ", text)                       # HTML tags and their attributes
    text = re.sub(r"^\([\w-]+\)=\s*$", " ", text, flags=re.M)  # MyST targets, (label)=
    return text


def hand_typed_numbers(markdown):
    """The computed-looking numbers of a Markdown source outside glue roles, with some context each."""
    text = prose(markdown)
    for pattern, _why in ALLOWED:
        text = re.sub(pattern, " ", text)
    found = []
    for m in _NUMBER.finditer(text):
        mantissa, exponent, suffix = m.groups()
        if looks_computed(mantissa, exponent, suffix):
            context = " ".join(text[max(0, m.start() - 40):m.end() + 20].split())
            found.append(f"{m.group(0).strip()!r} in '...{context}...'")
    return found


def pages():
    """Every page of the table of contents, as (name, [markdown sources])."""
    result = []
    for name in toc_files():
        path = ROOT / f"{name}.ipynb"
        if path.exists():
            cells = json.loads(path.read_text())["cells"]
            result.append((name, ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]))
        else:
            result.append((name, [(ROOT / f"{name}.md").read_text()]))
    return result


PAGES = pages()


@pytest.mark.parametrize(("name", "sources"), PAGES, ids=[name for name, _ in PAGES])
def test_no_hand_typed_numbers(name, sources):
    found = [number for source in sources for number in hand_typed_numbers(source)]
    assert not found, (f"{name}: {len(found)} computed-looking numbers typed by hand; glue them from the cell "
                       "that computes them ({glue:text}`name:.3f`), or add a definition to ALLOWED:\n  "
                       + "\n  ".join(found))


# --- the detector itself ----------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "test accuracy 0.953 after training",       # three significant digits
    "it ends at 0.953.",                         # at the end of a sentence
    r"gives $0, \mp1.414, 0$",                   # right after a LaTeX command
    "reaches 0.9 at step 458",                   # an integer with three significant digits
    "1347 training images",
    "a loss of 3.09",                            # two decimal places
    "the learning rate 0.05",                    # two decimal places, even with one significant digit
    "a gap of 7.07e-04",                         # exponent notation
    "the 1,347 images",                          # thousands separator
    "a 400-fold range",                          # a ratio
    "78% of the output",                         # a percentage
    r"the last example gives $3.327720$",        # math is scanned too
    "| 0.896 | table cell |",
    "```{note}\nspread 0.41, not 1\n```",        # the text of an admonition is prose
    "````{solution} ex-1\n:class: dropdown\n\nthe gap is about 3.53e-4\n````",  # so is a solution's
    "```{exercise} Reach 0.95 accuracy\n:label: ex-x\n\ntext\n```",            # and a directive's title
    "Keras 3.15.1 gives 0.125 here",             # the allow-list removes only the version
])
def test_detector_flags(text):
    assert hand_typed_numbers(text), text


@pytest.mark.parametrize("text", [
    "a batch of m = 4 examples with eps = 1e-3",          # definitions with few digits
    r"$\epsilon = 10^{-3}$ and $\sigma^2 = 20000$",       # one significant digit
    "the notes' batch 200, 0, 200, 400",                  # lists, not thousands separators
    "trained for 2500 steps, the paper 50,000",           # trailing zeros are placeholders
    "{cite}`ioffe2015batch` (2015) and Santurkar et al. (2018)",  # citation keys and years
    "the value {glue:text}`gap:.6f` is tiny",              # glued
    "`np.float64(0.953)` and ``x = 1347``",                # code spans
    "```python\nlr = 0.05\nsteps = 1347\n```",             # fenced code
    "````{solution} ex-1\n:class: dropdown\n\n```python\nx = 0.125\n```\n````",  # solution code
    "```{figure} img.png\n:width: 450px\n:name: fig-1\n```",  # directive options
    "see [the docs](https://example.org/v3.15.1/page?id=12345)",  # link targets
    "float64, x0, C10 and W1234 are names",              # digits inside identifiers
    "Keras 3.15.1 and Python 3.11",                       # software versions (allow-list)
    "Wu and He report 10.6% lower error than BN",         # a quoted result (allow-list)
    "(4, 12, 5) and 15th, 50th and 85th percentiles",
])
def test_detector_passes(text):
    assert not hand_typed_numbers(text), hand_typed_numbers(text)


def test_allow_list_entries_are_explained():
    assert all(isinstance(p, str) and why.strip() for p, why in ALLOWED)


# --- glue roles point at glued values -----------------------------------------------------------

_ROLE = re.compile(r"\{glue(?::\w+)?\}`([^`:]+)")


def _glued_names(cells):
    names = []
    for cell in cells:
        for out in cell.get("outputs", []) if cell["cell_type"] == "code" else []:
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                names.append(name)
    return names


NOTEBOOKS = [ROOT / f"{name}.ipynb" for name, _ in PAGES if (ROOT / f"{name}.ipynb").exists()]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_glue_role_has_a_glued_value(path):
    cells = json.loads(path.read_text())["cells"]
    glued = _glued_names(cells)
    used = {name for c in cells if c["cell_type"] == "markdown" for name in _ROLE.findall("".join(c["source"]))}
    assert sorted(used - set(glued)) == [], "glue roles with no glued value of that name in the notebook"
    assert len(glued) == len(set(glued)), "a name is glued twice: the page would show only one of the values"


def test_detector_catches_a_glued_number_typed_back_by_hand():
    """Replacing one glue role of a chapter with the number it shows makes that chapter fail."""
    for path in NOTEBOOKS:
        for cell in json.loads(path.read_text())["cells"]:
            source = "".join(cell["source"])
            role = re.search(r"\{glue:text\}`(\w+):\.(\d)f`", source) if cell["cell_type"] == "markdown" else None
            if role and int(role.group(2)) >= 2 and not hand_typed_numbers(source):
                typed = source.replace(role.group(0), f"{0.123456:.{int(role.group(2))}f}", 1)
                assert hand_typed_numbers(typed)
                return
    pytest.fail("no chapter glues a number with two or more decimals to type back")
