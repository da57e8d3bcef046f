"""One exception type for bad input: the CLIs print its message on one line and exit 2."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

T = TypeVar("T")


class JnrError(Exception):
    """A user-facing error: the message is the whole story, no traceback needed."""

    exit_code = 2


def lookup(table: Mapping[str, T], name: str, what: str) -> T:
    """``table[name]``, or a JnrError ``unknown WHAT 'NAME'; known: ...``: every registry's one error path."""
    try:
        return table[name]
    except (KeyError, TypeError):
        raise JnrError(f"unknown {what} {name!r}; known: {', '.join(table)}") from None
