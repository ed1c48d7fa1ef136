"""Diagnostic reports: a cooperative's result as a print-quality A4 PDF in Spanish.

``reports`` renders from a :class:`ReportContext` (stored snapshot, answers, cooperative,
peers, previous diagnosis) with no database, no clock and no network:

- :func:`render_pdf` → PDF bytes; :func:`render_html` → the HTML it is made from;
- :func:`cache_key` → sha256 of everything that changes the PDF, for the app's cache.
"""

from .context import (
    MIN_PEERS,
    PeerGroup,
    PeerStats,
    PreviousDiagnosis,
    ReportContext,
    ReportCooperative,
    ReportDiagnosis,
)
from .render import RENDERER_VERSION, cache_key, render_html, render_pdf

__all__ = [
    "MIN_PEERS",
    "PeerGroup",
    "PeerStats",
    "PreviousDiagnosis",
    "RENDERER_VERSION",
    "ReportContext",
    "ReportCooperative",
    "ReportDiagnosis",
    "cache_key",
    "render_html",
    "render_pdf",
]
