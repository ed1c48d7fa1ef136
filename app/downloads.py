"""Headers of a file the browser should save rather than show, and the text of a spreadsheet
cell: one definition for every download (exports, reports, templates)."""

from __future__ import annotations

import re
from urllib.parse import quote


def download_headers(filename: str) -> dict[str, str]:
    """``Content-Disposition`` with the plain name and its UTF-8 form (accents survive), and
    no caching outside the user's own browser (the files hold a cooperative's data)."""
    return {
        "Content-Disposition": f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}",
        "Cache-Control": "private, no-store",
    }


#: What XML 1.0 cannot hold (a spreadsheet is XML): C0 controls but tab, LF and CR; lone
#: surrogates (no UTF-8 form either); U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
#: The first characters that make a spreadsheet take a text for a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot hold (a sheet's name, a comment, a prompt)."""
    return _NOT_XML.sub("", text)


def cell_text(text: str) -> str:
    """The text of a spreadsheet cell (XLSX and CSV, every writer): without the characters XML
    1.0 cannot hold, and, when a spreadsheet would take it for a formula (``=``, ``+``, ``-``,
    ``@``, a tab or a carriage return first), behind an apostrophe: ``'=HYPERLINK(…)``."""
    text = _NOT_XML.sub("", text)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
