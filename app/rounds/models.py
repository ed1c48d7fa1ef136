"""Diagnosis rounds: a period in which cooperatives answer one questionnaire version."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, utcnow
from app.questionnaires.models import QuestionnaireVersion


class RoundState(StrEnum):
    PLANNED = "planned"
    OPEN = "open"
    CLOSED = "closed"


#: A round's state as people read it, defined here once; written as inside a sentence («la ronda
#: está abierta»), capitalised where it starts a cell (and in the API's ``state_label``).
ROUND_STATE_LABELS: dict[str, str] = {
    RoundState.PLANNED.value: "planificada",
    RoundState.OPEN.value: "abierta",
    RoundState.CLOSED.value: "cerrada",
}


class DiagnosisRound(Base):
    __tablename__ = "diagnosis_rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    questionnaire_version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_versions.id"))
    opens_on: Mapped[date] = mapped_column(Date)
    closes_on: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(20), default=RoundState.PLANNED.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    questionnaire_version: Mapped[QuestionnaireVersion] = relationship(lazy="joined")
