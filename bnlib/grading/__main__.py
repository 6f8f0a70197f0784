"""``python -m bnlib.grading``: the grading command (see :mod:`bnlib.grading`)."""

import sys

from .cli import main

__all__ = []

sys.exit(main())
