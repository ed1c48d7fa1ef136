"""Request and response bodies of the diagnosis rounds API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from app.rounds.models import ROUND_STATE_LABELS, RoundState
from app.user_input import Text

_STATE_DOC = "Estado: " + "; ".join(f"`{k}` = {v}" for k, v in ROUND_STATE_LABELS.items()) + "."
_VERSION_DOC = (
    "La versión de cuestionario: por `questionnaire_version_id` (id del registro, vea "
    "GET /api/v1/questionnaires), o bien por `questionnaire_id` y `version`."
)


class RoundCreate(BaseModel):
    __doc__ = "Una nueva ronda de diagnóstico. " + _VERSION_DOC
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Text = Field(min_length=2, max_length=200, description="Nombre único, p. ej. «Diagnóstico nacional 2026»")
    questionnaire_version_id: int | None = Field(None, description="Id del registro de la versión de cuestionario")
    questionnaire_id: Text | None = Field(None, max_length=100, description="Id del cuestionario (con `version`)")
    version: Text | None = Field(None, max_length=50, description="Versión del cuestionario (con `questionnaire_id`)")
    opens_on: date = Field(description="Fecha de apertura (AAAA-MM-DD)")
    closes_on: date = Field(description="Fecha de cierre (AAAA-MM-DD), no anterior a la apertura")
    state: RoundState = Field(RoundState.PLANNED, description=_STATE_DOC)


class RoundUpdate(BaseModel):
    """Cambia solo los campos enviados. Cambiar la versión de cuestionario de una ronda que ya
    tiene respuestas responde 409."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Text | None = Field(None, min_length=2, max_length=200)
    questionnaire_version_id: int | None = None
    questionnaire_id: Text | None = Field(None, max_length=100)
    version: Text | None = Field(None, max_length=50)
    opens_on: date | None = None
    closes_on: date | None = None
    state: RoundState | None = Field(None, description=_STATE_DOC)


class RoundQuestionnaire(BaseModel):
    id: int = Field(description="Id del registro de la versión")
    questionnaire_id: str
    version: str
    title: str
    content_hash: str


class RoundOut(BaseModel):
    id: int
    name: str
    opens_on: date
    closes_on: date
    state: str = Field(description=_STATE_DOC)
    state_label: str
    questionnaire_version_id: int
    questionnaire: RoundQuestionnaire
    response_count: int = Field(description="Respuestas de la ronda (todas las cooperativas)")
    created_at: datetime


class RoundPage(BaseModel):
    items: list[RoundOut]
    total: int
    page: int
    per_page: int
    pages: int
