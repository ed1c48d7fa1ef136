"""A response's stored PDF report: rendered on the task queue when the response is submitted,
validated or rescored, kept on disk by the hash of its content, read by a download."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class ReportState(enum.StrEnum):
    QUEUED = "queued"  # asked for; a worker has not taken it yet
    RENDERING = "rendering"  # a worker took it at ``claimed_at``
    READY = "ready"  # ``file_name`` holds the PDF
    FAILED = "failed"  # every attempt failed; ``error`` says why (shown to the analyst)


#: The states in words, as the analyst's pages write them.
REPORT_STATE_LABELS: dict[str, str] = {
    ReportState.QUEUED.value: "en cola",
    ReportState.RENDERING.value: "preparándose",
    ReportState.READY.value: "listo",
    ReportState.FAILED.value: "con error",
}


class StoredReport(Base):
    """One row per response that has (or will have) a PDF. A new request for the same response
    (validated after submitted, rescored) puts it back in the queue; the previous file is served
    until the new one is ready."""

    __tablename__ = "stored_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"), unique=True)
    state: Mapped[str] = mapped_column(String(16), default=ReportState.QUEUED.value, index=True)
    #: sha256 of the report's content (``reports.cache_key``); the file is ``<key>.pdf``.
    content_key: Mapped[str | None] = mapped_column(String(64))
    file_name: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rendered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
