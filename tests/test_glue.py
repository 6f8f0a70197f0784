"""bnlib.glue writes exactly what MyST-NB's glue writes, so the book's {glue:text} roles find it."""

import IPython.display
import myst_nb.ext.glue as myst_glue
import numpy as np
import pytest

from bnlib import glue


def _captured(monkeypatch, module, call):
    calls = []
    monkeypatch.setattr(module, "display" if module is IPython.display else "ipy_display",
                        lambda *args, **kwargs: calls.append((args, kwargs)))
    call()
    return calls


@pytest.mark.parametrize("value", [2, 0.0007071, -1.4138602, np.float64(3.5), np.int64(458), "m - 1"])
def test_same_output_as_myst_nb(monkeypatch, value):
    ours = _captured(monkeypatch, IPython.display, lambda: glue("x", value))
    theirs = _captured(monkeypatch, myst_glue, lambda: myst_glue.glue(
        "x", value.item() if isinstance(value, np.generic) else value, display=False))
    assert ours == theirs


@pytest.mark.parametrize("bad", [np.array([1.0, 2.0]), None, True])
def test_only_one_number_or_str_and_the_suggested_fix_works(monkeypatch, bad):
    with pytest.raises(TypeError, match=r"glue one number at a time, e\.g\. glue\(name, float\(x\)\)"):
        glue("x", bad)
    if isinstance(bad, np.ndarray):
        _captured(monkeypatch, IPython.display, lambda: glue("x", float(bad[0])))
