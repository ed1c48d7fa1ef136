"""Responses (one diagnosis of one cooperative in one round) and their audit trail."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, utcnow


class ResponseMode(StrEnum):
    SELF = "self"  # autodiagnóstico by the cooperative's manager
    INTERVIEW = "interview"  # entrevista by a field team


class ResponseStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"  # sent back for correction with a comment; editable like a draft
    VALIDATED = "validated"


# The labels people read, defined here once (pages, API messages, exports, CLI). Written as they
# read inside a sentence («la respuesta está enviada»); a page capitalises the first letter where
# the label starts a cell or a line (Jinja's ``capitalize``).
STATUS_LABELS: dict[str, str] = {
    ResponseStatus.DRAFT.value: "borrador",
    ResponseStatus.SUBMITTED.value: "enviada",
    ResponseStatus.RETURNED.value: "devuelta para corrección",
    ResponseStatus.VALIDATED.value: "validada",
}
MODE_LABELS: dict[str, str] = {
    ResponseMode.SELF.value: "autodiagnóstico",
    ResponseMode.INTERVIEW.value: "entrevista de terreno",
}


class Response(Base):
    """One revision of a cooperative's diagnosis in a round.

    ``version`` is the optimistic-concurrency counter: every write must name the
    version it read and bumps it; a stale write is refused with 409. Reopening a
    validated response creates revision n + 1 and keeps revision n untouched.
    """

    __tablename__ = "responses"
    __table_args__ = (UniqueConstraint("cooperative_id", "round_id", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cooperative_id: Mapped[int] = mapped_column(ForeignKey("cooperatives.id"), index=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("diagnosis_rounds.id"), index=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    previous_revision_id: Mapped[int | None] = mapped_column(ForeignKey("responses.id"))
    mode: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=ResponseStatus.DRAFT.value)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    # sha256 of the creating request's content: the same key with another body is refused (422).
    idempotency_fingerprint: Mapped[str | None] = mapped_column(String(64))

    # Field interview details (mode = interview)
    interviewer_name: Mapped[str | None] = mapped_column(String(200))
    institution: Mapped[str | None] = mapped_column(String(200))
    interview_date: Mapped[date | None] = mapped_column(Date)
    interview_place: Mapped[str | None] = mapped_column(String(200))
    interviewee_role: Mapped[str | None] = mapped_column(String(200))

    return_comment: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    validated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    validated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    # Frozen at submission: the full scoring output and the questionnaire version it used,
    # so later rule changes never rewrite history.
    result_snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    snapshot_questionnaire_version_id: Mapped[int | None] = mapped_column(ForeignKey("questionnaire_versions.id"))

    events: Mapped[list[ResponseEvent]] = relationship(
        back_populates="response", order_by="ResponseEvent.id", cascade="all, delete-orphan"
    )


class EventKind(StrEnum):
    CREATED = "created"
    ANSWER_CHANGED = "answer_changed"
    DETAILS_CHANGED = "details_changed"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    VALIDATED = "validated"
    REOPENED = "reopened"
    RESCORED = "rescored"  # a new revision whose result was recalculated with a newer scoring method


class ResponseEvent(Base):
    """The audit trail: who did what and when; for answers, the old and new value."""

    __tablename__ = "response_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(30))
    question_id: Mapped[str | None] = mapped_column(String(100))
    old_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    new_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    comment: Mapped[str | None] = mapped_column(Text)

    response: Mapped[Response] = relationship(back_populates="events")
