"""Database model of a registered questionnaire version."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class QuestionnaireVersion(Base):
    """One version of a questionnaire, frozen once registered.

    ``source`` is the full text of the file as it was registered and
    ``content_hash`` its SHA-256: diagnoses stored against a version can
    always be re-read and re-scored with exactly the questionnaire they used.
    """

    __tablename__ = "questionnaire_versions"
    __table_args__ = (UniqueConstraint("questionnaire_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text, deferred=True)  # large; loaded only when parsed
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return (
            f"QuestionnaireVersion(id={self.id!r}, questionnaire_id={self.questionnaire_id!r}, "
            f"version={self.version!r})"
        )
