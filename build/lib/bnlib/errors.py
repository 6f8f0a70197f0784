"""The course's own exception type."""

__all__ = ["MismatchError"]


class MismatchError(AssertionError):
    """Raised by :func:`bnlib.compare` when bnlib and a reference disagree beyond tolerance.

    It subclasses ``AssertionError`` so that a failing comparison in a notebook
    or a test reads as a failed check, not as a crash in bnlib.
    """
