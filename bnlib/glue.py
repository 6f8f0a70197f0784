"""Bind a number computed in a chapter to its prose: MyST-NB's ``glue``, without needing MyST-NB.

A chapter computes a value in a code cell and calls ``glue("name", value)``; its markdown then says
``{glue:text}`name:.3f` `` where the number appears, so the prose can never drift from the code
(nbval compares the glued value like any other output). The output written is exactly the one
``myst_nb.glue(name, value, display=False)`` writes (Jupyter Book 1's mechanism), so the website
renders it, while Colab and Jupyter, which do not know the record's MIME type, show nothing. This
module exists because ``myst_nb`` is a book-building dependency that Colab does not have.
"""

import numbers

from .validation import is_number

__all__ = ["glue"]

# The MIME prefix and metadata key of MyST-NB's glue (myst_nb.ext.glue.GLUE_PREFIX).
_GLUE_PREFIX = "application/papermill.record/"


def glue(name, value):
    """Record ``value`` under ``name`` for the book's ``{glue:text}`` / ``{glue}`` roles; display nothing.

    name:  str, unique in the chapter (a Python identifier is safest: letters, digits, underscores).
    value: a number (int, float, numpy scalar; stored with its full repr, so round it first to what the
           prose should be able to show, e.g. ``round(x, 4)``), or a str.
    Raises TypeError for any other value (an array, None): glue one number at a time.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"glue: name must be a non-empty str, got {name!r}.")
    if not (is_number(value) or isinstance(value, str)):
        raise TypeError(f"glue: {name!r} must be a number or a str, got {type(value).__name__}; glue one "
                        "number at a time, e.g. glue(name, float(x)).")
    if isinstance(value, numbers.Integral):
        text = str(int(value))
    elif isinstance(value, numbers.Real):
        text = repr(float(value))
    else:
        text = repr(value)
    from IPython.display import display  # IPython is there whenever a notebook runs; bnlib does not require it

    display({_GLUE_PREFIX + "text/plain": text}, raw=True,
            metadata={"scrapbook": {"name": name, "mime_prefix": _GLUE_PREFIX}})
