"""Headers of a file the browser should save rather than show: one definition for every
download (exports, reports, templates)."""

from __future__ import annotations

from urllib.parse import quote


def download_headers(filename: str) -> dict[str, str]:
    """``Content-Disposition`` with the plain name and its UTF-8 form (accents survive), and
    no caching outside the user's own browser (the files hold a cooperative's data)."""
    return {
        "Content-Disposition": f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}",
        "Cache-Control": "private, no-store",
    }
