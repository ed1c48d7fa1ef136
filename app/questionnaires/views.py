"""JSON API views of the questionnaires domain (under /api/v1): the registered versions
and their parsed definitions, for forms. Any user with a session may read them; the XLSForm
of a version is for those who collect or manage interviews (policy.can_download_xlsform)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response as HttpResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth import policy
from app.auth.models import User
from app.deps import current_user, get_db
from app.downloads import download_headers
from app.errors import Forbidden, Invalid, NotFound
from app.exchange.xlsform import (
    XLSFORM_MEDIA_TYPE,
    XLSFormError,
    xlsform_bytes,
    xlsform_filename,
)
from app.pagination import PageParams, page_of, page_params, paginate
from app.questionnaires import service
from app.questionnaires.models import QuestionnaireVersion
from app.rounds.service import questionnaire_of_version

router = APIRouter(tags=["cuestionarios"])


class QuestionnaireVersionOut(BaseModel):
    id: int = Field(description="Id del registro de la versión (lo usan las rondas: questionnaire_version_id)")
    questionnaire_id: str
    version: str
    title: str
    content_hash: str = Field(description="SHA-256 del archivo registrado")
    registered_at: datetime
    dimensions: int
    subcategories: int
    questions: int
    rounds: int = Field(description="Rondas que usan esta versión")
    responses: int = Field(description="Respuestas que usan esta versión (la vuelven inmutable)")


class QuestionnaireVersionPage(BaseModel):
    items: list[QuestionnaireVersionOut]
    total: int
    page: int
    per_page: int
    pages: int


def _version_dict(row: QuestionnaireVersion, usage: dict[str, int]) -> dict[str, Any]:
    questionnaire = questionnaire_of_version(row)
    subcategories = [s for d in questionnaire.dimensions for s in d.subcategories]
    return {
        "id": row.id,
        "questionnaire_id": row.questionnaire_id,
        "version": row.version,
        "title": row.title,
        "content_hash": row.content_hash,
        "registered_at": row.registered_at,
        "dimensions": len(questionnaire.dimensions),
        "subcategories": len(subcategories),
        "questions": sum(len(s.questions) for s in subcategories),
        "rounds": usage.get("rounds", 0),
        "responses": usage.get("responses", 0),
    }


def _get(session: Session, version_id: int) -> QuestionnaireVersion:
    row = service.get_version(session=session, version_id=version_id)
    if row is None:
        raise NotFound(f"No existe la versión de cuestionario {version_id}.")
    return row


@router.get(
    "/questionnaires",
    response_model=QuestionnaireVersionPage,
    summary="Versiones de cuestionario registradas",
    description="Lista paginada de las versiones registradas, por id de cuestionario y fecha de registro.",
)
def list_versions(
    questionnaire_id: str | None = Query(None, max_length=100, description="Solo las versiones de este cuestionario"),
    params: PageParams = Depends(page_params),
    user: User = Depends(current_user),
    session: Session = Depends(get_db),
) -> dict:
    statement = select(QuestionnaireVersion).order_by(
        QuestionnaireVersion.questionnaire_id, QuestionnaireVersion.registered_at, QuestionnaireVersion.id
    )
    if questionnaire_id:
        statement = statement.where(QuestionnaireVersion.questionnaire_id == questionnaire_id)
    rows, total = paginate(session, statement, params)
    usage = service.version_usage(session=session, version_ids=[row.id for row in rows])
    return page_of([_version_dict(row, usage[row.id]) for row in rows], total, params)


@router.get(
    "/questionnaires/{version_id}",
    response_model=QuestionnaireVersionOut,
    summary="Una versión de cuestionario registrada",
    responses={404: {"description": "No existe"}},
)
def get_version(version_id: int, user: User = Depends(current_user), session: Session = Depends(get_db)) -> dict:
    row = _get(session, version_id)
    return _version_dict(row, service.version_usage(session=session, version_ids=[row.id])[row.id])


@router.get(
    "/questionnaires/{version_id}/definition",
    summary="Definición completa de una versión de cuestionario",
    description=(
        "El cuestionario interpretado, como JSON, para construir formularios: dimensiones, "
        "subcategorías y preguntas con su tipo, opciones, condiciones (`relevant`), rangos y "
        "umbrales. `scored` indica si la pregunta cuenta en el puntaje."
    ),
    responses={404: {"description": "No existe"}},
)
def get_definition(version_id: int, user: User = Depends(current_user), session: Session = Depends(get_db)) -> dict:
    row = _get(session, version_id)
    questionnaire = questionnaire_of_version(row)
    definition = questionnaire.model_dump(mode="json")
    for dimension, dimension_json in zip(questionnaire.dimensions, definition["dimensions"], strict=True):
        for subcategory, subcategory_json in zip(dimension.subcategories, dimension_json["subcategories"], strict=True):
            for question, question_json in zip(subcategory.questions, subcategory_json["questions"], strict=True):
                question_json["scored"] = question.scored
    definition["version_id"] = row.id
    definition["content_hash"] = row.content_hash
    return definition


@router.get(
    "/questionnaires/{version_id}/xlsform",
    summary="XLSForm de una versión de cuestionario (ODK Collect, KoboCollect)",
    description=(
        "El cuestionario como XLSForm (hojas `survey`, `choices` y `settings`) para recolectar "
        "entrevistas sin conexión con ODK Collect o KoboCollect. Lo descargan el equipo de terreno, "
        "analistas y administradores."
    ),
    response_class=HttpResponse,
    responses={
        200: {"content": {XLSFORM_MEDIA_TYPE: {}}, "description": "El archivo XLSX"},
        403: {"description": "Su rol no descarga formularios"},
        404: {"description": "No existe"},
        422: {"description": "El cuestionario usa algo que XLSForm no puede expresar"},
    },
)
def get_xlsform(
    version_id: int, user: User = Depends(current_user), session: Session = Depends(get_db)
) -> HttpResponse:
    row = _get(session, version_id)
    if not policy.can_download_xlsform(user):
        raise Forbidden("Solo el equipo de terreno, analistas y administradores descargan el formulario XLSForm.")
    questionnaire = questionnaire_of_version(row)
    try:
        content = xlsform_bytes(questionnaire)
    except XLSFormError as error:
        raise Invalid(f"Este cuestionario no se puede exportar a XLSForm: {error}") from None
    return HttpResponse(
        content=content, media_type=XLSFORM_MEDIA_TYPE, headers=download_headers(xlsform_filename(questionnaire))
    )
