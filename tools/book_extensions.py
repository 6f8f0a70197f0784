"""Sphinx additions the book needs and its extensions do not offer (loaded by _config.yml, local_extensions).

- **One citation style.** The text cites author-year (``bibtex_reference_style: author_year``), but the
  bibliography styles of pybtex label entries ``[IS15]``. ``bibtex_default_style: author_year_labels`` is
  pybtex's ``alpha`` style (sorted by author, year, title) whose labels are rendered with the very template,
  separators and "et al." rule that sphinxcontrib-bibtex uses for the in-text citation, so the label of an
  entry reads exactly like its citations: ``Ioffe and Szegedy, 2015``, ``Santurkar et al., 2018``.
  (Two works of the same authors and year would get the same label; the bibliography has none.)
- **Bibliography entries are list items.** docutils (0.21) marks each entry up with DPUB-ARIA's role
  ``doc-biblioentry`` inside a ``role="list"`` container; DPUB-ARIA 1.1 deprecated that role for
  ``listitem``, and axe-core rejects the list (aria-required-children, critical). Same markup, role
  ``listitem``.
- **Solution dropdowns open where the reader clicks.** sphinx-exercise titles a solution "Solution to
  Exercise 2.1 (...)" and makes the "Exercise 2.1 (...)" part a link back to the exercise; inside a dropdown
  (sphinx-togglebutton) the title is the toggle, so a click on the link jumped away instead of opening the
  solution. The link is unwrapped in dropdown solutions; its text stays.
- **Math in search snippets.** Sphinx builds result snippets from each page's HTML, where math is still TeX
  (``\\(\\tilde a\\)``). ``_static/search-math.js`` has MathJax typeset it; this loads MathJax, the one the
  pages use (``mathjax_path``), on the search page too, through Sphinx's own mathjax extension.
"""

import pybtex.plugin
from docutils import nodes
from docutils.writers.html5_polyglot import HTMLTranslator
from pybtex.style.formatting.alpha import Style as AlphaStyle
from pybtex.style.labels import BaseLabelStyle
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx_exercise.nodes import solution_node
from sphinxcontrib.bibtex.plugin import find_plugin as find_bibtex_plugin
from sphinxcontrib.bibtex.style.template import join, year

__all__ = ["AuthorYearLabelStyle", "AuthorYearLabelledStyle", "UnlinkDropdownSolutionTitles", "setup", "visit_citation"]

# The name _config.yml gives bibtex_default_style.
FORMATTING_STYLE = "author_year_labels"


class AuthorYearLabelStyle(BaseLabelStyle):
    """pybtex labels ``<authors>, <year>`` rendered as sphinxcontrib-bibtex's in-text author-year citations."""

    reference_style = find_bibtex_plugin("sphinxcontrib.bibtex.style.referencing", "author_year")()

    def format_labels(self, sorted_entries):
        style = self.reference_style
        # The inner template of an author-year citation, without its brackets and link (see
        # sphinxcontrib.bibtex.style.referencing.basic_author_year).
        template = join(sep=style.author_year_sep)[style.person.author_or_editor_or_title(full=False), year]
        for entry in sorted_entries:
            yield template.format_data({"entry": entry, "style": style}).render_as("text")


class AuthorYearLabelledStyle(AlphaStyle):
    """pybtex's alpha bibliography (sorted by author, year, title) with author-year labels."""

    default_label_style = AuthorYearLabelStyle


class UnlinkDropdownSolutionTitles(SphinxPostTransform):
    """In a dropdown solution's title, replace the link to the exercise by its text (after sphinx-exercise
    has built the title, at its priority 21)."""

    default_priority = 25

    def run(self):
        for solution in self.document.findall(solution_node):
            if "dropdown" not in solution["classes"]:
                continue
            title = solution.children[0] if solution.children else None
            if not isinstance(title, nodes.title):
                continue
            for reference in list(title.findall(nodes.reference)):
                reference.replace_self(reference.children)


def visit_citation(self, node):
    """docutils' HTMLTranslator.visit_citation, with role listitem instead of doc-biblioentry."""
    if not isinstance(node.previous_sibling(), type(node)):
        self.body.append('<div role="list" class="citation-list">\n')
    self.body.append(self.starttag(node, "div", classes=[node.tagname], role="listitem"))


def _load_mathjax_on_search_page(app, pagename, templatename, context, doctree):
    if pagename == "search":
        # sphinx.ext.mathjax adds MathJax to a page whose document "has equations".
        app.env.get_domain("math").data["has_equations"][pagename] = True


# Registered on import, so that whatever formats the bibliography as the site does (Sphinx, or the student
# edition, tools/student_edition.py) finds the style _config.yml names.
pybtex.plugin.register_plugin("pybtex.style.formatting", FORMATTING_STYLE, AuthorYearLabelledStyle)


def setup(app):
    app.add_node(nodes.citation, override=True, html=(visit_citation, HTMLTranslator.depart_citation))
    app.add_post_transform(UnlinkDropdownSolutionTitles)
    # Before sphinx.ext.mathjax's own html-page-context handler (default priority 500).
    app.connect("html-page-context", _load_mathjax_on_search_page, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
