"""What people type, checked in one place: numbers and text.

Every place that turns user text (a path segment, a query parameter, a form field, a cookie,
a header, a command-line argument) into a whole number calls :func:`parse_int`: ASCII digits
only (``str.isdigit()`` is also true for «²» and «١٢», which ``int()`` refuses or reads), the
length capped before ``int()`` runs (Python refuses more than 4,300 digits), within the
range asked for; anything else is ``None``, and the caller answers 404 or 422.

Every text a form or the API accepts goes through :func:`text_problem` / :func:`check_text`
(pydantic: the :data:`Text` and :data:`LongText` types): NUL and the other control characters
(C0 and C1; tab, line feed and carriage return only in multi-line text), non-characters
(U+FFFE, U+FFFF, U+FDD0–U+FDEF…), lone surrogates and the bidirectional embedding, override
and isolate controls (U+202A–U+202E, U+2066–U+2069) are refused with a Spanish message
naming the field. PostgreSQL cannot even store a NUL; the others hide or reorder text.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, ValidationInfo

from app.errors import Invalid

MAX_ID = 2_147_483_647  # every primary key is a 32-bit integer on both databases
MAX_DIGITS = 32  # longer digit strings are refused before int() reads them (leading zeros too)

_ASCII_DIGITS = frozenset("0123456789")


def parse_int(text: Any, *, minimum: int = 0, maximum: int = MAX_ID, signed: bool = False) -> int | None:
    """The whole number ``text`` writes, or None: ASCII digits only (spaces around are
    ignored), a leading ``-`` only when ``signed``, at most MAX_DIGITS digits, within
    ``minimum``..``maximum``."""
    if not isinstance(text, str):
        return None
    text = text.strip(" \t")
    digits = text[1:] if signed and text.startswith("-") else text
    if not digits or len(digits) > MAX_DIGITS or not _ASCII_DIGITS.issuperset(digits):
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None


def parse_id(text: Any) -> int | None:
    """A database id (1 to MAX_ID) written by a person, or None."""
    return parse_int(text, minimum=1, maximum=MAX_ID)


def looks_like_number(text: str) -> bool:
    """Whether ``text`` is written as a whole number (ASCII digits, a leading ``-``), whatever its size."""
    digits = text[1:] if text.startswith("-") else text
    return bool(digits) and _ASCII_DIGITS.issuperset(digits)


# --------------------------------------------------------------------------- text

_LINE_BREAKS = frozenset("\t\n\r")
_BIDI_CONTROLS = frozenset(chr(code) for code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
_CHARACTER_NAMES = {
    "\x00": "NUL",
    "\t": "tabulación",
    "\n": "salto de línea",
    "\r": "retorno de carro",
    "\x7f": "DEL",
    "\u202a": "LRE",
    "\u202b": "RLE",
    "\u202c": "PDF",
    "\u202d": "LRO",
    "\u202e": "RLO",
    "\u2066": "LRI",
    "\u2067": "RLI",
    "\u2068": "FSI",
    "\u2069": "PDI",
}
#: Characters that show nothing although Unicode counts them as letters or symbols.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def _forbidden(char: str, multiline: bool) -> bool:
    code = ord(char)
    if code < 0x20:
        return not (multiline and char in _LINE_BREAKS)
    if 0x7F <= code <= 0x9F:  # DEL and the C1 controls
        return True
    if 0xD800 <= code <= 0xDFFF:  # a lone surrogate (only from JSON escapes)
        return True
    if 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE:  # non-characters
        return True
    return char in _BIDI_CONTROLS


def character_name(char: str) -> str:
    """How a message names a refused character: «NUL», «RLO», «U+FFFF»."""
    return _CHARACTER_NAMES.get(char, f"U+{ord(char):04X}")


def text_problem(value: str, label: str, *, multiline: bool = True) -> str | None:
    """The Spanish message for a text with a character no field accepts, or None.
    ``multiline``: tab, line feed and carriage return are allowed (text areas)."""
    if value.isascii() and value.isprintable():  # the common case, without a look at each character
        return None
    found = [char for char in dict.fromkeys(value) if _forbidden(char, multiline)]
    if not found:
        return None
    names = ", ".join(character_name(char) for char in found[:3]) + (", …" if len(found) > 3 else "")
    return f"El campo «{label}» contiene caracteres no permitidos ({names})."


def check_text(value: str, label: str, *, field: str | None = None, multiline: bool = True) -> str:
    """``value`` when every character is allowed; else Invalid (422) naming the field."""
    message = text_problem(value, label, multiline=multiline)
    if message is not None:
        raise Invalid(message, details=[{"field": field or label, "code": "forbidden_character", "message": message}])
    return value


def is_blank(value: str) -> bool:
    """Whether a text shows nothing: only spaces and invisible characters (U+200B, U+FEFF…)."""
    return all(
        char.isspace() or char in _BLANK_LETTERS or unicodedata.category(char) in ("Cf", "Cc", "Mn", "Me", "Zs")
        for char in value
    )


def _checked(multiline: bool):
    def check(value: str, info: ValidationInfo) -> str:
        message = text_problem(value, info.field_name or "texto", multiline=multiline)
        if message is not None:
            raise ValueError(message)
        return value

    return check


#: A one-line text of an API body (a name, an e-mail, a place): no line breaks either.
Text = Annotated[str, AfterValidator(_checked(multiline=False))]
#: A text that may span lines (a comment, notes).
LongText = Annotated[str, AfterValidator(_checked(multiline=True))]


def json_problem(value: Any, label: str) -> str | None:
    """The message for a refused character anywhere in JSON data (keys and texts, at any
    depth), or None."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            texts: list[Any] = [item]
        elif isinstance(item, dict):
            texts = list(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
            continue
        else:
            continue
        for text in texts:
            if isinstance(text, str) and (message := text_problem(text, label)) is not None:
                return message
    return None
