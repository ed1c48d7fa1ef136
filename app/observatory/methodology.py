"""docs/methodology.md as a public page: the method the lights follow, in the analysts' words.

Rendered once per process with markdown-it (CommonMark and tables; raw HTML in the file is
escaped, not passed through), so the page and the repository's document never differ.
"""

from __future__ import annotations

from functools import cache

from markdown_it import MarkdownIt
from markupsafe import Markup

from app.settings import PROJECT_ROOT

METHODOLOGY = PROJECT_ROOT / "docs" / "methodology.md"


@cache
def methodology_html() -> Markup:
    """The document as HTML (its first heading is the page's title, left out here)."""
    text = METHODOLOGY.read_text(encoding="utf-8")
    first, _, rest = text.partition("\n")
    body = rest if first.startswith("# ") else text
    renderer = MarkdownIt("commonmark", {"html": False}).enable("table")
    return Markup(renderer.render(body))


__all__ = ["METHODOLOGY", "methodology_html"]
