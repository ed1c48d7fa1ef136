"""JSON read from people (imported files, request bodies, the command line) with a limit on how
deeply lists and objects nest.

Python's parser recurses once per level: 100,000 ``[`` raise RecursionError, and code that
walks the result (flattening an ODK export's groups) would recurse as deep. No export or
request of coopdiag nests more than a few levels, so the text is scanned first, without
recursion, and refused beyond ``MAX_DEPTH`` before the parser sees it.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: The deepest nesting of lists and objects accepted (an ODK Central export nests 3 or 4).
MAX_DEPTH = 64

# A JSON string (skipped whole: brackets inside it do not count) or one bracket.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_BYTE_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


class TooDeep(ValueError):
    """The text nests lists or objects deeper than the limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"listas u objetos anidados en más de {limit} niveles")


def nesting_exceeds(text: str | bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether ``text`` opens more than ``limit`` lists or objects inside one another (a scan
    of its brackets outside strings, stopped at the first level too deep; no recursion)."""
    depth = 0
    tokens = _BYTE_TOKENS if isinstance(text, bytes) else _TOKENS
    opening = (b"[", b"{") if isinstance(text, bytes) else ("[", "{")
    closing = (b"]", b"}") if isinstance(text, bytes) else ("]", "}")
    for match in tokens.finditer(text):  # type: ignore[arg-type]
        token = match.group()
        if token in opening:
            depth += 1
            if depth > limit:
                return True
        elif token in closing:
            depth = max(depth - 1, 0)
    return False


def loads(text: str | bytes, *, limit: int = MAX_DEPTH) -> Any:
    """``json.loads`` of text whose nesting is checked first: ``TooDeep`` (a ValueError, as
    ``json.JSONDecodeError`` is) beyond ``limit`` levels."""
    if nesting_exceeds(text, limit):
        raise TooDeep(limit)
    try:
        return json.loads(text)
    except RecursionError:  # cannot happen below the limit; never a 500 if it did
        raise TooDeep(limit) from None
