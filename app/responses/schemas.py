"""Request and response bodies of the responses API (pydantic v2)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.responses.models import ResponseMode, ResponseStatus
from app.user_input import LongText, Text, json_problem

ModeLiteral = Literal["self", "interview"]


def _check_answers(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """Answers whose question ids and texts (at any depth) have no refused character
    (``app.user_input``: NUL, control, bidirectional controls, non-characters)."""
    if value is not None and (message := json_problem(value, "answers")) is not None:
        raise ValueError(message)
    return value


def _strip(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


class InterviewDetails(BaseModel):
    """Details of a field interview (only for ``mode = interview``)."""

    interviewer_name: Text | None = Field(None, max_length=200, description="Nombre de quien entrevistó")
    institution: Text | None = Field(None, max_length=200, description="Institución del equipo de terreno")
    interview_date: date | None = Field(None, description="Fecha de la entrevista (AAAA-MM-DD)")
    interview_place: Text | None = Field(None, max_length=200, description="Lugar de la entrevista")
    interviewee_role: Text | None = Field(None, max_length=200, description="Cargo de la persona entrevistada")

    _strip_texts = field_validator(
        "interviewer_name", "institution", "interview_place", "interviewee_role", mode="before"
    )(_strip)


class ResponseCreate(InterviewDetails):
    model_config = ConfigDict(extra="forbid")

    cooperative_id: int = Field(description="Cooperativa diagnosticada")
    round_id: int = Field(description="Ronda de diagnóstico")
    mode: ModeLiteral = Field(description="self = autodiagnóstico; interview = entrevista de un equipo de terreno")
    answers: dict[str, Any] | None = Field(None, description="Respuestas iniciales (parciales), {id_pregunta: valor}")

    _check_answers = field_validator("answers")(_check_answers)


class DetailsPatch(InterviewDetails):
    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(None, description="Versión leída (o cabecera If-Match)")


class AnswersPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: dict[str, Any] = Field(description="{id_pregunta: valor}; null borra la respuesta")
    version: int | None = Field(None, description="Versión leída (o cabecera If-Match)")

    _check_answers = field_validator("answers")(_check_answers)


class VersionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(None, description="Versión leída (o cabecera If-Match)")


class ReopenBody(VersionBody):
    comment: LongText | None = Field(None, max_length=5000, description="Motivo de la reapertura (opcional)")


class ReturnBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: LongText = Field(min_length=1, max_length=5000, description="Qué debe corregirse; lo ve quien respondió")
    version: int | None = Field(None, description="Versión leída (o cabecera If-Match)")

    @field_validator("comment", mode="before")
    @classmethod
    def _comment_not_blank(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            raise ValueError("el comentario no puede estar vacío")
        return value.strip() if isinstance(value, str) else value


class ResultSummary(BaseModel):
    overall: dict[str, Any]
    dimensions: list[dict[str, Any]]


class ResponseOut(BaseModel):
    id: int
    cooperative_id: int
    round_id: int
    revision: int
    is_current: bool
    previous_revision_id: int | None
    mode: ModeLiteral
    status: Literal["draft", "submitted", "returned", "validated"]
    version: int
    answers: dict[str, Any]
    interviewer_name: str | None
    institution: str | None
    interview_date: date | None
    interview_place: str | None
    interviewee_role: str | None
    return_comment: str | None
    created_by_id: int | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    submitted_by_id: int | None
    validated_at: datetime | None
    validated_by_id: int | None
    snapshot_questionnaire_version_id: int | None
    result_summary: ResultSummary | None = Field(
        None, description="Resumen del resultado guardado al enviar (semáforo general y por dimensión)"
    )


class ResponseListItem(BaseModel):
    id: int
    cooperative_id: int
    round_id: int
    revision: int
    is_current: bool
    mode: ModeLiteral
    status: Literal["draft", "submitted", "returned", "validated"]
    version: int
    answered: int = Field(description="Número de preguntas respondidas")
    updated_at: datetime
    submitted_at: datetime | None
    overall_light: str | None = Field(None, description="Semáforo general guardado al enviar")


class ResponsePage(BaseModel):
    items: list[ResponseListItem]
    total: int
    page: int
    per_page: int
    pages: int


class RevisionPage(BaseModel):
    items: list[ResponseOut]


class EventOut(BaseModel):
    id: int
    at: datetime
    kind: str
    user_id: int | None
    user_name: str | None
    question_id: str | None
    old_value: Any = None
    new_value: Any = None
    comment: str | None


class EventPage(BaseModel):
    items: list[EventOut]
    total: int
    page: int
    per_page: int
    pages: int


class ResultOut(BaseModel):
    response_id: int
    status: Literal["draft", "submitted", "returned", "validated"]
    preview: bool = Field(
        description="true: cálculo provisorio con las respuestas actuales; false: resultado guardado al enviar"
    )
    questionnaire_version_id: int | None
    computed_at: datetime | None = Field(None, description="Momento del envío que guardó el resultado")
    result: dict[str, Any] = Field(
        description="Salida completa del puntaje (semáforos por dimensión, subcategoría y pregunta)"
    )
    consistency: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Solo en la vista provisoria: verificaciones de coherencia que las respuestas no cumplen "
        "(severity error impide el envío; warning se informa al equipo de análisis)",
    )


STATUS_VALUES = [s.value for s in ResponseStatus]
MODE_VALUES = [m.value for m in ResponseMode]
