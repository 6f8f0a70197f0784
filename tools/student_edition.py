"""The student edition: every chapter as a notebook that reads right in Colab and Jupyter, without MyST.

    python tools/student_edition.py            # regenerate students/ from chapters/ (README, command 1)
    python tools/student_edition.py --check    # exit 1, naming the files, if students/ is stale

The chapters are written for the website: MyST directives (``{exercise}``, ``{solution}``, admonitions),
roles (``{doc}``, ``{cite}``, ``{ref}``, ``{glue:text}``) and cell tags that only Jupyter Book understands.
Opened in Colab or JupyterLab they show as raw text, with every solution in plain sight. For each chapter
``chapters/NN_name.ipynb`` this tool writes

- ``students/NN_name.ipynb``: the same cells with every markdown cell turned into CommonMark + ``$``/``$$``
  math (roles resolved to text and links to the published site, admonitions as blockquotes with a bold
  title, exercises as numbered headings "Exercise N.k" as the site numbers them, glued numbers as their
  values from the executed chapter), code cells verbatim without outputs, and no solution: each
  ``{solution}`` is replaced by a link to
- ``students/solutions/NN_name_solutions.ipynb``: setup and imports cells, then for each exercise its
  statement, the solution (its python code as runnable code cells) and the chapter's check cells.

How: markdown is parsed by myst-parser's own markdown-it configuration (the parser the site uses, with the
extensions of _config.yml), so directives, roles, targets and math are found as the site finds them; only
those spans are rewritten and every other character of a cell is kept. Citations are formatted by
sphinxcontrib-bibtex's own author-year style, glued values by MyST-NB's own ``format_plain_text``.
QuantEcon's sphinx-tojupyter was tried first and does not fit (see the README).

Nothing is dropped silently: a directive, role or construct the converter does not know fails with
ConversionError naming the chapter, the cell and the construct.

This module is also a small Sphinx extension (``setup``), loaded by _config.yml, that points each chapter
page's Colab button at its student notebook and adds that notebook to the page's download menu.
"""

import argparse
import copy
import dataclasses
import hashlib
import importlib
import pathlib
import posixpath
import re
import shutil
import sys
import urllib.parse

import nbformat
import yaml

from bnlib.grading.contract import ANSWER_RE  # the notebook contract: what an answer cell is

ROOT = pathlib.Path(__file__).resolve().parents[1]
STUDENTS = "students"
SOLUTIONS = f"{STUDENTS}/solutions"
COMMAND = "python tools/student_edition.py"

CHECK_RE = re.compile(r"^\s*check\(")
ROLE_START = re.compile(r"\{([a-zA-Z0-9_\-+:]+)\}(`+)")  # myst_role's VALID_NAME_PATTERN + opening ticks
TITLED_TARGET = re.compile(r"^(.*?)\s*<([^<>]+)>$", re.S)

ADMONITIONS = {"admonition": None, "note": "Note", "warning": "Warning", "tip": "Tip", "hint": "Hint",
               "important": "Important", "caution": "Caution", "attention": "Attention", "danger": "Danger",
               "error": "Error", "seealso": "See also", "topic": None, "sidebar": None, "margin": None,
               "dropdown": None}
CODE_DIRECTIVES = {"code", "code-block", "sourcecode"}
GLUE_DIRECTIVES = {"glue", "glue:any", "glue:figure", "glue:math", "glue:md"}
EXERCISE_DIRECTIVES = {"exercise", "solution", "exercise-start", "exercise-end", "solution-start",
                       "solution-end"}
KNOWN_DIRECTIVES = sorted({*ADMONITIONS, *CODE_DIRECTIVES, *GLUE_DIRECTIVES, *EXERCISE_DIRECTIVES, "math"})
LITERAL_ROLES = {"code", "samp", "file", "command", "program", "envvar", "option", "kbd"}
PYTHON_DOMAIN_ROLES = {"func", "class", "meth", "mod", "attr", "obj", "data", "exc", "const"}
TEXT_ROLES = {"term", "abbr", "guilabel", "menuselection", "dfn"}
PYTHON_FENCES = {"python", "python3", "ipython3", "ipython"}
VERBATIM_BLOCKS = {"fence", "code_block", "html_block", "math_block", "hr"}
# Cell tags of the site and what they become here (remove-cell on a code cell: kept, a student must run it).
HIDE_SOURCE_TAGS = {"remove-input", "hide-input", "hide-cell"}
HIDE_OUTPUT_TAGS = {"remove-output", "hide-output", "hide-cell"}
KEPT_CELL_METADATA = {"tags", "jupyter", "editable", "deletable"}


class ConversionError(Exception):
    """A chapter uses MyST the student edition cannot show; the message names the chapter, cell and construct."""


# ---------------------------------------------------------------------------------------------- the book


def _doc_path(root, doc):
    for suffix in (".ipynb", ".md"):
        if (root / f"{doc}{suffix}").is_file():
            return root / f"{doc}{suffix}"
    raise ConversionError(f"_toc.yml lists {doc!r}, but neither {doc}.ipynb nor {doc}.md exists")


def _markdown_cells(path):
    """The markdown sources of a page: a notebook's markdown cells, or a .md file's text."""
    if path.suffix == ".md":
        text = path.read_text()
        if text.startswith("---\n"):  # front matter
            end = text.find("\n---", 4)
            text = "\n" * text[:end + 4].count("\n") + text[end + 4:] if end > 0 else text
        return [text]
    nb = nbformat.read(path, as_version=4)
    # A remove-cell markdown cell is on neither the site nor in the student edition: it numbers nothing.
    return [c.source for c in nb.cells if c.cell_type == "markdown" and "remove-cell" not in c.metadata.get("tags", [])]


@dataclasses.dataclass
class Label:
    doc: str
    kind: str  # "target", "exercise", "equation", "solution"
    title: str | None
    number: str | None


class Book:
    """What the converter needs to know about the whole book: configuration, pages, titles, labels, sources."""

    def __init__(self, root=ROOT):
        self.root = pathlib.Path(root)
        self.config = yaml.safe_load((self.root / "_config.yml").read_text())
        toc = yaml.safe_load((self.root / "_toc.yml").read_text())
        self.docs = [toc["root"]]
        self.numbers = {}  # doc -> chapter number, as a numbered table of contents numbers it
        numbered_count = 0
        for part in toc.get("parts", []):
            files = [c["file"] for c in part.get("chapters", [])]
            for i, doc in enumerate(files, start=1):
                if part.get("numbered"):
                    numbered_count += 1  # sphinx-multitoc-numbering: numbering runs on across numbered parts
                    self.numbers[doc] = numbered_count
                else:
                    self.numbers[doc] = i
            self.docs += files
        self.docs += [c["file"] for c in toc.get("chapters", [])]
        self.paths = {doc: _doc_path(self.root, doc) for doc in self.docs}

        repo = self.config["repository"]
        url = urllib.parse.urlparse(repo["url"])
        if url.netloc != "github.com":
            raise ConversionError(f"repository.url {repo['url']!r} in _config.yml: Colab opens notebooks "
                                  "from GitHub only")
        self.org, self.repo = url.path.strip("/").split("/")[:2]
        self.branch = repo.get("branch", "master")
        self.colab = self.config.get("launch_buttons", {}).get("colab_url", "https://colab.research.google.com")
        baseurl = (self.config.get("html") or {}).get("baseurl") or f"https://{self.org}.github.io/{self.repo}/"
        self.site_url = baseurl.rstrip("/") + "/"

        extensions = set(self.config.get("parse", {}).get("myst_enable_extensions", []))
        from markdown_it.renderer import RendererHTML
        from myst_parser.config.main import MdParserConfig
        from myst_parser.parsers.mdit import create_md_parser
        self.md = create_md_parser(MdParserConfig(enable_extensions=extensions), RendererHTML)

        self.titles = {}
        self.labels = {}
        self.references_doc = None
        for doc in self.docs:
            self._collect(doc)
        self._bibliography = None

    # -- pages and links

    def chapters(self):
        """The notebook pages under chapters/, in the order of the table of contents."""
        return [doc for doc in self.docs if doc.startswith("chapters/") and self.paths[doc].suffix == ".ipynb"]

    def page_url(self, doc, anchor=None):
        return f"{self.site_url}{doc}.html" + (f"#{anchor}" if anchor else "")

    def colab_url(self, relpath):
        return f"{self.colab.rstrip('/')}/github/{self.org}/{self.repo}/blob/{self.branch}/{relpath}"

    def resolve_doc(self, target, from_doc):
        target = target.strip()
        for suffix in (".md", ".ipynb"):
            target = target.removesuffix(suffix)
        doc = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
            posixpath.join(posixpath.dirname(from_doc), target))
        if doc not in self.paths:
            raise KeyError(doc)
        return doc

    # -- labels: collected in document order, exactly as the converter numbers them

    def _collect(self, doc):
        counters = {"exercise": 0, "equation": 0}
        for text in _markdown_cells(self.paths[doc]):
            self._collect_text(doc, text, counters)
        if doc not in self.titles:
            raise ConversionError(f"{self.paths[doc].relative_to(self.root)} has no heading to take its title from")

    def _collect_text(self, doc, text, counters):
        tokens = self.md.parse(text)
        for i, tok in enumerate(tokens):
            if tok.type == "heading_open" and doc not in self.titles:
                self.titles[doc] = tokens[i + 1].content
            elif tok.type == "myst_target":
                heading = tokens[i + 1].type == "heading_open" if i + 1 < len(tokens) else False
                self.labels[tok.content] = Label(doc, "target", tokens[i + 2].content if heading else None, None)
            elif tok.type == "math_block_label":
                counters["equation"] += 1
                self.labels[tok.info] = Label(doc, "equation", None, self.number(doc, counters["equation"]))
            elif tok.type in ("fence", "colon_fence") and tok.info.startswith("{"):
                name, argument = _directive_head(tok.info)
                options, body = _directive_options(tok.content)
                if name in ("exercise", "exercise-start"):
                    number = None
                    if "nonumber" not in options:
                        counters["exercise"] += 1
                        number = self.number(doc, counters["exercise"])
                    if "label" in options:
                        self.labels[options["label"]] = Label(doc, "exercise", argument or None, number)
                elif name in ("solution", "solution-start"):
                    if "label" in options:
                        self.labels[options["label"]] = Label(doc, "solution", argument, None)
                elif name == "math" and "label" in options:
                    counters["equation"] += 1
                    self.labels[options["label"]] = Label(doc, "equation", None, self.number(doc, counters["equation"]))
                elif name == "bibliography":
                    self.references_doc = doc
                elif "name" in options:
                    self.labels[options["name"]] = Label(doc, "target", argument or None, None)
                if name not in CODE_DIRECTIVES and name != "math":
                    self._collect_text(doc, body, counters)

    def number(self, doc, k):
        """The number the site gives the k-th exercise (or equation) of a page: "N.k" in chapter N."""
        return f"{self.numbers[doc]}.{k}" if doc in self.numbers and doc.startswith("chapters/") else str(k)

    # -- citations

    def cite(self, role, keys):
        """Markdown for a citation role, formatted by sphinxcontrib-bibtex's own reference style (the
        site's ``bibtex_reference_style``), with round brackets: "Author (year)", "(Author, year)"."""
        if self._bibliography is None:
            import pybtex.plugin
            from pybtex.database import BibliographyData, parse_file
            from sphinxcontrib.bibtex.plugin import find_plugin
            from sphinxcontrib.bibtex.style.referencing import BracketStyle
            data = BibliographyData()
            for name in self.config.get("bibtex_bibfiles", []):
                for key, entry in parse_file(self.root / name).entries.items():
                    data.add_entry(key, entry)
            # The site's local extensions may register the pybtex style it names (tools/book_extensions.py).
            for module in (self.config.get("sphinx") or {}).get("local_extensions") or {}:
                importlib.import_module(module)
            sphinx = (self.config.get("sphinx") or {}).get("config") or {}
            style_cls = find_plugin("sphinxcontrib.bibtex.style.referencing",
                                    sphinx.get("bibtex_reference_style", "label"))
            round_brackets = {f.name: BracketStyle(left="(", right=")") for f in dataclasses.fields(style_cls)
                              if f.name.startswith("bracket")}
            formatter = pybtex.plugin.find_plugin("pybtex.style.formatting",
                                                  sphinx.get("bibtex_default_style", "alpha"))()
            formatted = {e.key: e for e in formatter.format_entries(data.entries.values())}
            self._bibliography = (data, formatted, style_cls(**round_brackets))
        data, formatted, style = self._bibliography
        from sphinxcontrib.bibtex.style.referencing import format_references
        from sphinxcontrib.bibtex.style.template import SphinxReferenceInfo
        if self.references_doc is None:
            raise KeyError("no page of _toc.yml has a {bibliography} directive to link citations to")
        refs = []
        for key in keys:
            if key not in data.entries:
                raise KeyError(f"citation key {key!r} is not in {self.config.get('bibtex_bibfiles')}")
            info = SphinxReferenceInfo(builder=None, fromdocname="", todocname=self.references_doc,
                                       citation_id="", title=None, pre_text="", post_text="")
            refs.append((data.entries[key], formatted[key], info))
        return _rich_to_markdown(format_references(style, role, refs), self.page_url(self.references_doc))


def _rich_to_markdown(text, url):
    from pybtex.richtext import BaseMultipartText, Tag
    from sphinxcontrib.bibtex.style.template import SphinxReferenceText
    if isinstance(text, SphinxReferenceText):
        return "[" + "".join(_rich_to_markdown(p, url) for p in text.parts) + f"]({url})"
    if isinstance(text, Tag) and text.name in ("em", "i"):
        return "*" + "".join(_rich_to_markdown(p, url) for p in text.parts) + "*"
    if isinstance(text, BaseMultipartText):
        return "".join(_rich_to_markdown(p, url) for p in text.parts)
    return str(text)


# ---------------------------------------------------------------------------------------- directive parts


def _directive_head(info):
    match = re.match(r"\{([^}]+)\}\s*(.*)$", info.strip(), re.S)
    return match[1].strip(), match[2].strip()


def _directive_options(content):
    """Split a directive's content into its options (``:key: value`` lines or a ``---`` YAML block) and body."""
    lines = content.split("\n")
    if lines and lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
        if end is not None:
            options = yaml.safe_load("\n".join(lines[1:end])) or {}
            return {str(k): ("" if v is None else str(v)) for k, v in options.items()}, "\n".join(lines[end + 1:])
    options = {}
    i = 0
    while i < len(lines):
        match = re.match(r"^:([\w-]+):(?:\s+(.*))?$", lines[i])
        if not match:
            break
        options[match[1]] = (match[2] or "").strip()
        i += 1
    return options, "\n".join(lines[i:])


def _make_id(label):
    """The HTML id Sphinx gives a label (docutils' make_id), so that local and site anchors agree."""
    from docutils.nodes import make_id
    return make_id(label)


def _blockquote(text):
    return "\n".join(f"> {line}" if line.strip() else ">" for line in text.strip("\n").split("\n"))


def _split_title(content):
    match = TITLED_TARGET.match(content.strip())
    return (match[1].strip(), match[2].strip()) if match else (None, content.strip())


# ----------------------------------------------------------------------------------------- the converter


@dataclasses.dataclass
class Exercise:
    label: str | None
    number: str | None
    title: str
    statement: str  # converted markdown
    cell: int  # where it is in the chapter
    answers: list = dataclasses.field(default_factory=list)  # answer ids of its answer cells
    checks: list = dataclasses.field(default_factory=list)  # its check cells (code cells)
    solution: list = dataclasses.field(default_factory=list)  # its solution, as cells


class Chapter:
    """Converts one chapter notebook into its student and solutions notebooks."""

    def __init__(self, book, doc):
        self.book, self.doc = book, doc
        self.path = book.paths[doc]
        self.rel = self.path.relative_to(book.root).as_posix()
        self.nb = nbformat.read(self.path, as_version=4)
        self.glue = self._glue_data()
        self.exercise_count = self.equation_count = 0
        self.heading_level = 1
        self.exercises = []
        self.cell = None
        self.attachments = {}
        self.gated_solution = None
        self.used_ids = set()

    # -- names and errors

    @property
    def student_relpath(self):
        return f"{STUDENTS}/{self.path.name}"

    @property
    def solutions_relpath(self):
        return f"{SOLUTIONS}/{self.path.stem}_solutions.ipynb"

    def error(self, message):
        where = f"{self.rel}, cell {self.cell}" if self.cell is not None else self.rel
        return ConversionError(f"{where}: {message}")

    def _glue_data(self):
        from myst_nb.ext.glue import extract_glue_data_cell
        data = {}
        for cell in copy.deepcopy(self.nb).cells:
            if cell.cell_type == "code":
                data.update(dict(extract_glue_data_cell(cell)))
        return data

    # -- markdown

    def convert(self, text):
        """One MyST markdown text (a cell, or a directive's body) as CommonMark + dollar math."""
        tokens = self.book.md.parse(text)
        lines = text.split("\n")
        out, cursor = [], 0
        for i, tok in enumerate(tokens):
            if tok.level != 0 or tok.map is None or tok.nesting == -1:
                continue
            start, end = tok.map
            out += lines[cursor:start]
            cursor = max(cursor, end)
            block = "\n".join(lines[start:end])
            if tok.type in ("fence", "colon_fence") and tok.info.startswith("{"):
                out.append(self.directive(tok))
            elif tok.type in VERBATIM_BLOCKS:
                out.append(block)
            elif tok.type == "myst_target":
                out.append(f'<a id="{_make_id(tok.content)}"></a>\n')
            elif tok.type in ("myst_line_comment", "myst_block_break"):
                pass  # comments and block breaks are not shown on the site either
            elif tok.type == "math_block_label":
                self.equation_count += 1
                number = self.book.number(self.doc, self.equation_count)
                out.append(f'<a id="{_make_id(tok.info)}"></a>\n\n$$\n{tok.content.strip()}\n\\tag{{{number}}}\n$$')
            elif tok.type == "amsmath":
                out.append(f"$$\n{tok.content.strip()}\n$$")
            elif tok.type == "footnote_block_open" or tok.type.startswith("footnote_reference"):
                raise self.error("footnotes ([^name]) cannot be shown in a notebook; write the note inline")
            elif tok.type == "dl_open":
                out.append(self.definition_list(tokens, i, lines))
            else:
                if tok.type == "heading_open":
                    self.heading_level = int(tok.tag[1])
                out.append(self.inline(block, self._inline_tokens(tokens, i)))
        out += lines[cursor:]
        return "\n".join(out)

    def _inline_tokens(self, tokens, i):
        """The inline tokens of the top-level block that starts at tokens[i] (nested ones included)."""
        found = []
        level = 0
        for tok in tokens[i:]:
            if tok.type == "inline":
                found.append(tok)
            level += tok.nesting
            if level <= 0 and tok.nesting != 1:
                break
        return found

    def inline(self, text, inline_tokens):
        """Rewrite the roles, substitutions and relative links of one block; every other character is kept."""
        expected = [(c.meta["name"], c.content) for t in inline_tokens for c in t.children or []
                    if c.type == "myst_role"]
        for t in inline_tokens:
            for c in t.children or []:
                if c.type == "substitution_inline":
                    raise self.error(f"substitution {{{{ {c.content} }}}}: the student edition does not expand "
                                     "substitutions; write the text out")
                if c.type == "footnote_ref":
                    raise self.error("footnotes ([^name]) cannot be shown in a notebook; write the note inline")
                if c.type == "link_open":
                    href = c.attrs.get("href", "")
                    if not re.match(r"^(https?:|mailto:|#)", href):
                        raise self.error(f"relative link {href!r}: write it as {{doc}}`page` or {{ref}}`label`, "
                                         "which the student edition turns into links to the website")
        found, pieces, pos = [], [], 0
        for start, end, name, content in _scan_roles(text):
            found.append((name, content.replace("\n", " ")))
            pieces += [text[pos:start], self.role(name, content.replace("\n", " "))]
            pos = end
        if found != expected:
            raise self.error(f"could not locate the roles of this block in its source (parser: {expected}, "
                             f"scan: {found}); simplify the markup around them")
        return "".join(pieces) + text[pos:]

    def definition_list(self, tokens, i, lines):
        """A MyST definition list (deflist) as a bullet list of bold terms and their definitions."""
        items, level = [], 0
        for j in range(i, len(tokens)):
            tok = tokens[j]
            level += tok.nesting
            if tok.type == "dt_open":
                items.append(f"- **{self.inline(tokens[j + 1].content, [tokens[j + 1]])}**")
            elif tok.type == "dd_open" and tok.map:
                body = [re.sub(r"^\s{0,4}(?:[:~]\s+)?", "", line, count=1) for line in lines[slice(*tok.map)]]
                items[-1] += ": " + "\n  ".join(self.convert("\n".join(body)).strip("\n").split("\n"))
            if level == 0:
                break
        return "\n".join(items)

    # -- roles

    def role(self, name, content):
        book = self.book
        try:
            if name == "doc":
                title, target = _split_title(content)
                doc = book.resolve_doc(target, self.doc)
                return f"[{title or book.titles[doc]}]({book.page_url(doc)})"
            if name in ("ref", "numref", "eq"):
                return self.reference(name, content)
            if name == "cite" or name.startswith("cite:"):
                role = name.split(":", 1)[1] if ":" in name else "p"
                return book.cite(role, [k.strip() for k in content.split(",") if k.strip()])
            if name in ("glue", "glue:any", "glue:text", "glue:md"):
                return self.glue_role(name, content)
            if name == "math":
                return f"${content}$"
            if name in LITERAL_ROLES or name in PYTHON_DOMAIN_ROLES or name.startswith("py:"):
                title, target = _split_title(content)
                text = (title or target).lstrip("~!")
                return f"<kbd>{text}</kbd>" if name == "kbd" else f"`{text}`"
            if name in TEXT_ROLES:
                title, target = _split_title(content)
                return title or target
            if name in ("sub", "sup", "subscript", "superscript"):
                tag = "sub" if name.startswith("sub") else "sup"
                return f"<{tag}>{content}</{tag}>"
        except KeyError as err:
            raise self.error(f"{{{name}}}`{content}`: {err.args[0]} not found") from None
        raise self.error(f"unknown role {{{name}}}`{content}`: the student-edition converter "
                         f"(tools/student_edition.py, Chapter.role) does not know how to show it in a notebook")

    def reference(self, name, content):
        book = self.book
        title, target = _split_title(content)
        if name == "eq":
            label = book.labels.get(target)
            if label is None or label.kind != "equation":
                raise KeyError(f"equation label {target!r}")
            text = f"({label.number})"
        else:
            label = book.labels[target]
            if name == "numref":
                kind = {"exercise": "Exercise", "equation": "Equation"}.get(label.kind)
                if kind is None or label.number is None:
                    raise self.error(f"{{numref}}`{content}`: the student edition numbers exercises and "
                                     "equations only; use {ref} for this label")
                text = (title or f"{kind} {{number}}").replace("{number}", label.number).replace(
                    "{name}", label.title or "").replace("%s", label.number)
            elif title:
                text = title
            elif label.kind == "exercise":
                text = f"Exercise {label.number}" if label.number else (label.title or "Exercise")
            elif label.title:
                text = label.title
            else:
                raise self.error(f"{{ref}}`{content}`: the label has no title to show; write {{ref}}`text <label>`")
        anchor = _make_id(target)
        if label.doc == self.doc and label.kind != "solution":
            return f"[{text}](#{anchor})"
        return f"[{text}]({book.page_url(label.doc, anchor)})"

    def glue_role(self, name, content):
        from myst_nb.core.variables import format_plain_text
        key, fmt = (content.rsplit(":", 1) + [""])[:2] if name == "glue:text" else (content, "")
        if name == "glue:md" and ":" in content:
            key = content.rsplit(":", 1)[0]
        output = self.glued(key)
        data = output["data"]
        if name == "glue:text":
            if "text/plain" not in data:
                raise self.error(f"{{glue:text}}`{content}`: the glued value has no text/plain")
            return format_plain_text(data["text/plain"], fmt or "s")
        if name == "glue:md" or "text/markdown" in data:
            if "text/markdown" not in data:
                raise self.error(f"{{{name}}}`{content}`: the glued value has no text/markdown")
            return data["text/markdown"].strip()
        if "text/latex" in data:
            return data["text/latex"].strip()
        if "text/plain" in data:
            return f"`{data['text/plain']}`"
        raise self.error(f"{{{name}}}`{content}`: the glued value has none of text/markdown, text/latex, text/plain")

    def glued(self, key):
        if "::" in key:
            doc_path, key = key.split("::", 1)
            other = Chapter(self.book, self.book.resolve_doc(doc_path, self.doc))
            glue = other.glue
        else:
            glue = self.glue
        if key not in glue:
            raise self.error(f"glue key {key!r} is not among the glued outputs of the executed notebook: run "
                             f"`python tools/run_notebooks.py {self.rel}` and commit it executed")
        return glue[key]

    # -- directives

    def directive(self, tok):
        name, argument = _directive_head(tok.info)
        options, body = _directive_options(tok.content)
        if name in ADMONITIONS:
            return self.admonition(name, argument, options, body)
        if name in ("exercise", "exercise-start"):
            return self.exercise(argument, options, body)
        if name in ("solution", "solution-start"):
            return self.solution(name, argument, options, body)
        if name == "solution-end":
            self.gated_solution = None
            return ""
        if name == "exercise-end":
            return ""
        if name == "math":
            math = (argument + "\n" + body).strip()
            if "label" in options:
                self.equation_count += 1
                number = self.book.number(self.doc, self.equation_count)
                return f'<a id="{_make_id(options["label"])}"></a>\n\n$$\n{math}\n\\tag{{{number}}}\n$$'
            return f"$$\n{math}\n$$"
        if name in CODE_DIRECTIVES:
            fence = "`" * max(3, max((len(m) for m in re.findall(r"`+", body)), default=0) + 1)
            return f"{fence}{argument}\n{body.strip(chr(10))}\n{fence}"
        if name in GLUE_DIRECTIVES:
            return self.glue_directive(name, argument, options)
        raise self.error(f"unknown directive {{{name}}}: the student-edition converter (tools/student_edition.py) "
                         f"does not know how to show it in a notebook; it knows {', '.join(KNOWN_DIRECTIVES)}")

    def admonition(self, name, argument, options, body):
        title = ADMONITIONS[name]
        if title is None:
            title = argument
        elif argument:
            body = argument + "\n" + body
        if not title:
            raise self.error(f"{{{name}}} without a title")
        anchor = ""
        if "name" in options:
            anchor = f'<a id="{_make_id(options["name"])}"></a>\n\n'
        title = self.inline(title, self.book.md.parseInline(title))
        return anchor + _blockquote(f"**{title}**\n\n{self.convert(body).strip(chr(10))}")

    def exercise(self, argument, options, body):
        number = None
        if "nonumber" not in options:
            self.exercise_count += 1
            number = self.book.number(self.doc, self.exercise_count)
        title = self.inline(argument, self.book.md.parseInline(argument)) if argument else ""
        heading = " ".join(filter(None, ["Exercise", number])) + (f": {title}" if title else "")
        level = "#" * min(self.heading_level + 1, 6)
        anchor = ""
        if "label" in options:
            anchor = f'<a id="{_make_id(options["label"])}"></a>\n\n'
        statement = self.convert(body).strip("\n")
        self.exercises.append(Exercise(options.get("label"), number, title, statement, self.cell))
        return f"{anchor}{level} {heading}\n\n{statement}"

    def solution(self, name, argument, options, body):
        if self.gated_solution is not None:
            raise self.error(f"{{{name}}} {argument} inside the {{solution-start}} of {self.gated_solution.label!r}")
        label = argument.strip()
        exercise = next((e for e in self.exercises if e.label == label), None)
        if exercise is None:
            raise self.error(f"{{{name}}} {label}: no exercise labelled {label!r} before it in this chapter")
        if exercise.solution:
            raise self.error(f"exercise {label!r} has a second solution")
        exercise.solution = self.solution_cells(body)
        if name == "solution-start":
            self.gated_solution = exercise
        return self.solution_pointer(exercise)

    def solution_pointer(self, exercise):
        which = f"Exercise {exercise.number}" if exercise.number else "this exercise"
        url = self.book.colab_url(self.solutions_relpath)
        return f"*The solution to {which} is in the [solutions notebook]({url}): try the exercise first.*"

    def solution_cells(self, body):
        """The solution's body as cells: python fences become runnable code cells, the rest markdown."""
        lines = body.split("\n")
        cells, cursor = [], 0
        for tok in self.book.md.parse(body):
            if tok.level == 0 and tok.type == "fence" and tok.info.strip() in PYTHON_FENCES:
                start, end = tok.map
                cells.append(("markdown", self.convert("\n".join(lines[cursor:start])).strip("\n")))
                cells.append(("code", tok.content.rstrip("\n")))
                cursor = end
        cells.append(("markdown", self.convert("\n".join(lines[cursor:])).strip("\n")))
        return [c for c in cells if c[1].strip()]

    def glue_directive(self, name, argument, options):
        output = self.glued(argument)
        data = output["data"]
        if name == "glue:math":
            return f"$$\n{data['text/latex'].strip().strip('$')}\n$$"
        if name == "glue:md" or (name in ("glue", "glue:any") and "text/markdown" in data):
            return data["text/markdown"].strip()
        for mime in ("image/png", "image/jpeg"):
            if mime in data:
                name_ = f"{argument}{'.png' if mime == 'image/png' else '.jpg'}"
                self.attachments[name_] = {mime: data[mime]}
                alt = options.get("alt", argument)
                return f"![{alt}](attachment:{name_})" + (f"\n\n*{options['caption']}*" if "caption" in options else "")
        if "text/plain" in data:
            return f"```\n{data['text/plain']}\n```"
        raise self.error(f"{{{name}}} {argument}: no image, markdown or text in the glued output")

    # -- notebooks

    def cell_id(self, base, suffix=""):
        ident = re.sub(r"[^A-Za-z0-9_-]", "-", f"{base}{suffix}")[:64]
        n = 1
        while ident in self.used_ids:
            n += 1
            ident = re.sub(r"[^A-Za-z0-9_-]", "-", f"{base}{suffix}-{n}")[:64]
        self.used_ids.add(ident)
        return ident

    def build(self):
        """(student notebook, solutions notebook or None)."""
        cells = []
        self.gated_solution = None
        current = None  # the exercise whose answer and check cells follow
        intro_done = False
        for index, cell in enumerate(self.nb.cells):
            self.cell = index
            tags = set(cell.metadata.get("tags", []))
            if cell.cell_type == "markdown":
                if "remove-cell" in tags:
                    continue  # not on the site, not here
                self.attachments = dict(cell.get("attachments", {}))
                before = len(self.exercises)
                inside = self.gated_solution
                text = self.convert(cell.source)
                if inside is not None:  # a cell between {solution-start} and {solution-end}
                    if self.gated_solution is not None:
                        inside.solution.append(("markdown", text.strip("\n")))
                        continue
                if len(self.exercises) > before:
                    current = self.exercises[-1]
                if "{solution" in cell.source:
                    current = None
                if not intro_done and any(t.type == "heading_open" and t.tag == "h1" for t in self.book.md.parse(text)):
                    text = self.edition_note(text)
                    intro_done = True
                if not text.strip():
                    continue
                new = nbformat.v4.new_markdown_cell(text.strip("\n"))
                if self.attachments:
                    new.attachments = self.attachments
            elif cell.cell_type == "code":
                if self.gated_solution is not None:
                    self.gated_solution.solution.append(("code", cell.source))
                    continue
                first = cell.source.split("\n", 1)[0].strip()
                if current is not None and ANSWER_RE.match(first):
                    current.answers.append(ANSWER_RE.match(first)[1])
                elif current is not None and CHECK_RE.match(cell.source):
                    current.checks.append(cell.source)
                new = self.code_cell(cell)
            else:
                new = nbformat.v4.new_raw_cell(cell.source)
            new.id = self.cell_id(cell.get("id", f"cell{index}"))
            cells.append(new)
        self.cell = None
        if self.gated_solution is not None:
            raise self.error(f"{{solution-start}} of {self.gated_solution.label!r} has no {{solution-end}}")
        if not intro_done:
            raise self.error("no level-1 heading (# Title) to put the student edition's note under")
        for exercise in self.exercises:
            if not exercise.solution:
                self.cell = exercise.cell
                raise self.error(f"exercise {exercise.label or exercise.number!r} has no {{solution}}: the student "
                                 "edition takes solutions out of the chapter, so each exercise needs one")
        self.cell = None
        student = self.notebook(cells)
        solutions = self.solutions_notebook() if self.exercises else None
        return student, solutions

    def code_cell(self, cell):
        new = nbformat.v4.new_code_cell(cell.source)
        new.metadata = {k: copy.deepcopy(v) for k, v in cell.metadata.items() if k in KEPT_CELL_METADATA}
        tags = set(cell.metadata.get("tags", []))
        if tags & HIDE_SOURCE_TAGS:
            new.metadata.setdefault("jupyter", {})["source_hidden"] = True
        if tags & HIDE_OUTPUT_TAGS:
            new.metadata.setdefault("jupyter", {})["outputs_hidden"] = True
        return new

    def notebook(self, cells):
        nb = nbformat.v4.new_notebook()
        nb.nbformat_minor = 5
        nb.cells = cells
        nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                       "language_info": {"name": "python"}, "colab": {"toc_visible": True}}
        return nb

    def edition_note(self, text):
        """The first cell's title, then a note on what this notebook is and where the rest lives."""
        lines = text.split("\n")
        i = next(t.map[1] - 1 for t in self.book.md.parse(text) if t.type == "heading_open" and t.tag == "h1")
        parts = [f"This is the student edition of a chapter of *{self.book.config['title']}*, for Colab and "
                 f"Jupyter: run the cells from the top (the first one installs the course package `bnlib` "
                 f"in Colab). The chapter with all its outputs is on the "
                 f"[course website]({self.book.page_url(self.doc)})."]
        if self.exercises or "{exercise" in "".join(c.source for c in self.nb.cells if c.cell_type == "markdown"):
            parts.append(f"The solutions to its exercises are in a [separate notebook]"
                         f"({self.book.colab_url(self.solutions_relpath)}).")
        note = _blockquote(" ".join(parts))
        rest = "\n".join(lines[i + 1:]).lstrip("\n")
        return "\n".join(lines[:i + 1] + ["", note, ""]) + ("\n" + rest if rest else "")

    def solutions_notebook(self):
        self.used_ids = set()
        code = [c for c in self.nb.cells if c.cell_type == "code"]
        title = self.book.titles[self.doc]
        number = self.book.numbers.get(self.doc)
        cells = [nbformat.v4.new_code_cell(code[0].source)] if code else []
        cells.append(nbformat.v4.new_markdown_cell(
            f"# Solutions: {title}\n\n" + _blockquote(
                f"Worked solutions to the exercises of chapter {number}, *{title}* "
                f"([student notebook]({self.book.colab_url(self.student_relpath)}), "
                f"[course website]({self.book.page_url(self.doc)})). Try each exercise in the student notebook "
                "first. Run the cells from the top: each solution is followed by its check.")))
        if len(code) > 1:  # the imports cell: the code cell after the setup cell, which solutions may use
            cells.append(nbformat.v4.new_code_cell(code[1].source))
        for exercise in self.exercises:
            anchor = f'<a id="{_make_id(exercise.label)}"></a>\n\n' if exercise.label else ""
            heading = f"Exercise {exercise.number}" if exercise.number else "Exercise"
            heading += f": {exercise.title}" if exercise.title else ""
            cells.append(nbformat.v4.new_markdown_cell(f"{anchor}## {heading}\n\n{exercise.statement}"))
            cells.append(nbformat.v4.new_markdown_cell("### Solution"))
            code_parts = [source for kind, source in exercise.solution if kind == "code"]
            if code_parts and (len(exercise.answers) != 1 or len(code_parts) != 1):
                self.cell = exercise.cell
                raise self.error(f"exercise {exercise.label or exercise.number!r}: its solution has "
                                 f"{len(code_parts)} code block(s) for the answer cell(s) {exercise.answers}; "
                                 "the solutions notebook needs one code block for one answer cell, which "
                                 "becomes its answer cell")
            for kind, source in exercise.solution:
                if kind == "code":
                    # check grades the cell whose first line is `# ANSWER: <id>` (the grader's rule): the
                    # solution cell is the answer cell of the solutions notebook.
                    cell = nbformat.v4.new_code_cell(_as_answer_cell(source, exercise.answers[0]))
                    cell.metadata["student_edition"] = {"exercise": exercise.label, "answers": exercise.answers}
                    cells.append(cell)
                else:
                    cells.append(nbformat.v4.new_markdown_cell(source))
            cells += [nbformat.v4.new_code_cell(check) for check in exercise.checks]
        for i, cell in enumerate(cells):
            cell.id = self.cell_id(hashlib.sha256(f"{self.rel}:{i}:{cell.source}".encode()).hexdigest()[:8])
        return self.notebook(cells)


def _as_answer_cell(source, answer):
    """``source`` with ``# ANSWER: <answer>`` as its first line (added unless it is there already)."""
    first = source.split("\n", 1)[0].strip()
    return source if ANSWER_RE.match(first) else f"# ANSWER: {answer}\n{source}"


def _scan_roles(text):
    """(start, end, name, content) of each MyST role in a block's source, skipping code spans, math and
    escapes, with myst_role's own rules (name pattern, closing ticks searched from one character on)."""
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            match = ROLE_START.match(text, i)
            if match:
                ticks = match[2]
                close = text.find(ticks, match.end() + 1)
                if close >= 0:
                    yield i, close + len(ticks), match[1], text[match.end():close]
                    i = close + len(ticks)
                    continue
        if c == "`":
            run = len(re.match(r"`+", text[i:])[0])
            close = re.compile(r"(?<!`)" + "`" * run + r"(?!`)").search(text, i + run)
            i = close.end() if close else i + run
            continue
        if c == "$":
            double = text.startswith("$$", i)
            delim = "$$" if double else "$"
            close = text.find(delim, i + len(delim))
            if close >= 0 and (double or not text[i + 1].isspace()):
                i = close + len(delim)
                continue
        i += 1


# ---------------------------------------------------------------------------------------------- the edition


def solutions_of(student_notebook):
    """The solutions notebook of a student notebook (a path to students/NN_name.ipynb)."""
    path = pathlib.Path(student_notebook)
    return path.parent / "solutions" / f"{path.stem}_solutions.ipynb"


def student_relpath(doc):
    """Where the student notebook of a page (e.g. "chapters/02_forward_pass") lives in the repository."""
    return f"{STUDENTS}/{posixpath.basename(doc)}.ipynb"


def generate(book=None):
    """{path relative to the repository: file content} of the whole student edition."""
    book = book or Book()
    files = {}
    for doc in book.chapters():
        chapter = Chapter(book, doc)
        student, solutions = chapter.build()
        files[chapter.student_relpath] = nbformat.writes(student) + "\n"
        if solutions is not None:
            files[chapter.solutions_relpath] = nbformat.writes(solutions) + "\n"
    for text in files.values():
        nbformat.validate(nbformat.reads(text, as_version=4))
    return files


def stale(files, root=ROOT):
    """The files of the edition that differ from what is on disk, and those on disk that should not be."""
    wrong = sorted(p for p, text in files.items() if not (root / p).is_file() or (root / p).read_text() != text)
    extra = sorted(p.relative_to(root).as_posix() for p in (root / STUDENTS).rglob("*.ipynb")
                   if p.relative_to(root).as_posix() not in files)
    return wrong, extra


def write(files, root=ROOT):
    for path in stale(files, root)[1]:
        (root / path).unlink()
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        if not (root / path).is_file() or (root / path).read_text() != text:
            (root / path).write_text(text)


def with_solutions(student, solutions):
    """The student notebook with each answer cell's stub replaced by the worked solution (its first line,
    ``# ANSWER: <id>``, kept): what a student who solved every exercise submits."""
    code = {}
    for cell in solutions.cells:
        info = cell.metadata.get("student_edition") if cell.cell_type == "code" else None
        for answer in (info or {}).get("answers", []):
            body = cell.source.split("\n", 1)
            if ANSWER_RE.match(body[0].strip()):  # the solution cell's own answer line: the stub's is kept
                body = body[1:]
            code[answer] = code.get(answer, "") + "\n".join(body).rstrip("\n") + "\n"
    nb = copy.deepcopy(student)
    for cell in nb.cells:
        match = ANSWER_RE.match(cell.source.split("\n", 1)[0].strip()) if cell.cell_type == "code" else None
        if match:
            if match[1] not in code:
                raise KeyError(f"the solutions notebook has no solution for the answer cell {match[1]!r}")
            cell.source = f"{cell.source.split(chr(10), 1)[0]}\n{code[match[1]]}".rstrip("\n")
    return nb


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only check that students/ is up to date")
    parser.add_argument("--root", type=pathlib.Path, default=ROOT, help="the book's folder (default: this one)")
    args = parser.parse_args(argv)
    try:
        files = generate(Book(args.root))
    except ConversionError as err:
        print(f"student edition: {err}", file=sys.stderr)
        return 1
    if args.check:
        wrong, extra = stale(files, args.root)
        if wrong or extra:
            print("students/ is stale: " + ", ".join(wrong + [f"{p} (no chapter)" for p in extra]) +
                  f"\nRegenerate it with `{COMMAND}` and commit students/.", file=sys.stderr)
            return 1
        print(f"students/ is up to date ({len(files)} notebooks)")
        return 0
    write(files, args.root)
    print(f"wrote the student edition: {len(files)} notebooks in {STUDENTS}/")
    return 0


# ------------------------------------------------------------------------------------ the Sphinx extension


def _page_buttons(app, pagename, templatename, context, doctree):
    """Colab button -> the student notebook; the download menu offers it too (copied into the site)."""
    relpath = student_relpath(pagename)
    if not (pathlib.Path(app.srcdir) / relpath).is_file():
        return
    book_colab = app.config.html_theme_options.get("launch_buttons", {}).get("colab_url", "").rstrip("/")
    for group in context.get("header_buttons", []):
        for button in group.get("buttons", []):
            if group.get("label") == "launch-buttons" and book_colab and button.get("url", "").startswith(book_colab):
                button["url"] = re.sub(r"/blob/([^/]+)/.*$", rf"/blob/\1/{relpath}", button["url"])
                button["tooltip"] = "Open the student edition in Colab"
        if group.get("label") == "download-buttons":
            group["buttons"].insert(0, {
                "type": "link", "url": context["pathto"](relpath, 1), "text": "student .ipynb",
                "tooltip": "Download the student notebook (for Colab or Jupyter, solutions separate)",
                "icon": "fas fa-graduation-cap", "label": "download-student-notebook-button"})


def _copy_edition(app, exception):
    if exception is None and app.builder.format == "html" and (pathlib.Path(app.srcdir) / STUDENTS).is_dir():
        shutil.copytree(pathlib.Path(app.srcdir) / STUDENTS, pathlib.Path(app.outdir) / STUDENTS, dirs_exist_ok=True)


def setup(app):
    app.connect("html-page-context", _page_buttons, priority=600)  # after sphinx-book-theme's (501)
    app.connect("build-finished", _copy_edition)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    sys.exit(main())
