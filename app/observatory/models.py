"""Which rounds the Observatorio publishes, their precomputed public figures, and who
published or withdrew them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class Publication(Base):
    """A published round. Its figures (``payload``, JSON) are computed on the task queue when
    it is published and again whenever a response of the round is validated, reopened or
    rescored (``requested_at`` moves; the task catches up). Withdrawing deletes the row."""

    __tablename__ = "observatory_publications"

    round_id: Mapped[int] = mapped_column(ForeignKey("diagnosis_rounds.id", ondelete="CASCADE"), primary_key=True)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    payload: Mapped[str | None] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(String(64))


class PublicationEvent(Base):
    """The audit trail of publishing: who published or withdrew which round, when."""

    __tablename__ = "observatory_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("diagnosis_rounds.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))  # published | withdrawn
