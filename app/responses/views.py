"""JSON API views of the responses domain (under /api/v1): thin wrappers over the service."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Path, Query
from fastapi import Response as HttpResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.auth.models import User
from app.deps import HotSession, current_user, get_db, get_settings_dep, hot_session
from app.errors import Invalid
from app.pagination import PageParams, page_of, page_params
from app.responses import service
from app.responses.schemas import (
    AnswersPatch,
    DetailsPatch,
    EventPage,
    ReopenBody,
    ResponseCreate,
    ResponseOut,
    ResponsePage,
    ResultOut,
    ReturnBody,
    RevisionPage,
    VersionBody,
)
from app.settings import Settings
from app.unit_of_work import UnitOfWork
from app.user_input import MAX_ID, parse_int

router = APIRouter(prefix="/responses", tags=["respuestas"])

Db = Annotated[Session, Depends(get_db)]
CurrentUser = Annotated[User, Depends(current_user)]
AppSettings = Annotated[Settings, Depends(get_settings_dep)]
ResponseId = Annotated[int, Path(description="Número de la respuesta")]
IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description='Versión leída, como ETag: "N" (alternativa a «version» en el cuerpo)'),
]

_ETAG = re.compile(r'^\s*(?:W/)?"?(\d+)"?\s*$', re.ASCII)

_ERRORS = {
    401: {"description": "Sin sesión ni token válido"},
    403: {"description": "Visible pero sin permiso para esta acción"},
    404: {"description": "No existe o no tiene acceso a la cooperativa"},
}
_WRITE_ERRORS = {
    **_ERRORS,
    409: {
        "description": "Versión obsoleta o estado que no permite la acción; el cuerpo trae el estado actual en «current»"
    },
    422: {"description": "Datos no válidos; «details» indica cada campo (answers.<id_pregunta>)"},
}


def _version(body_version: int | None, if_match: str | None) -> int | None:
    if body_version is not None:
        return body_version
    if if_match is None:
        return None
    match = _ETAG.match(if_match)
    if match is None:
        raise Invalid(
            'La cabecera If-Match debe ser la versión entre comillas, por ejemplo "3".',
            details=[{"field": "If-Match", "code": "invalid", "message": "versión no válida"}],
        )
    version = parse_int(match.group(1), maximum=MAX_ID)
    if version is None:
        raise Invalid(
            "La versión de la cabecera If-Match está fuera del rango permitido.",
            details=[{"field": "If-Match", "code": "invalid", "message": "versión no válida"}],
        )
    return version


def _out(response_obj, http: HttpResponse) -> dict:
    http.headers["ETag"] = service.etag(response_obj)
    return service.response_dict(response_obj)


@router.post(
    "",
    response_model=ResponseOut,
    status_code=201,
    summary="Iniciar una respuesta",
    description=(
        "Crea la respuesta (revisión 1, en borrador) de una cooperativa en una ronda abierta. "
        "La cabecera **Idempotency-Key** (generada por el cliente, p. ej. un UUID) es obligatoria: "
        "un reintento con la misma clave devuelve la misma respuesta con estado 200 y nunca crea un duplicado. "
        "Las entrevistas (mode=interview) requieren los datos de la entrevista. Solo hay una respuesta vigente "
        "por cooperativa y ronda: un segundo intento recibe 409 con «existing_id»."
    ),
    responses={
        **_WRITE_ERRORS,
        200: {"description": "Reintento: la respuesta creada por la primera solicitud", "model": ResponseOut},
    },
)
def create_response(
    body: ResponseCreate,
    http: HttpResponse,
    session: Db,
    user: CurrentUser,
    settings: AppSettings,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", description="Clave única generada por el cliente")
    ] = None,
) -> dict:
    with UnitOfWork(session):
        response_obj, created = service.create_response(
            session=session, user=user, settings=settings, data=body.model_dump(), idempotency_key=idempotency_key
        )
    http.status_code = 201 if created else 200
    http.headers["Location"] = f"/api/v1/responses/{response_obj.id}"
    return _out(response_obj, http)


@router.get(
    "",
    response_model=ResponsePage,
    summary="Listar respuestas",
    description="Respuestas de las cooperativas que el usuario puede ver, paginadas; por omisión solo las revisiones vigentes.",
    responses=_ERRORS,
)
def list_responses(
    session: Db,
    user: CurrentUser,
    settings: AppSettings,
    params: Annotated[PageParams, Depends(page_params)],
    round_id: Annotated[int | None, Query(description="Filtrar por ronda")] = None,
    cooperative_id: Annotated[int | None, Query(description="Filtrar por cooperativa")] = None,
    status: Annotated[
        Literal["draft", "submitted", "returned", "validated"] | None, Query(description="Filtrar por estado")
    ] = None,
    mode: Annotated[Literal["self", "interview"] | None, Query(description="Filtrar por modo")] = None,
    current_only: Annotated[bool, Query(description="Solo revisiones vigentes (false: también las reabiertas)")] = True,
) -> dict:
    rows, total = service.list_responses(
        session=session,
        user=user,
        settings=settings,
        params=params,
        round_id=round_id,
        cooperative_id=cooperative_id,
        status=status,
        mode=mode,
        current_only=current_only,
    )
    return page_of([service.list_item_dict(row) for row in rows], total, params)


@router.get(
    "/{response_id}",
    response_model=ResponseOut,
    summary="Ver una respuesta",
    description="Respuestas, estado, versión (también en la cabecera ETag), datos de entrevista, comentario de devolución y resumen del resultado guardado.",
    responses=_ERRORS,
)
def get_response(
    response_id: ResponseId, http: HttpResponse, session: Db, user: CurrentUser, settings: AppSettings
) -> dict:
    return _out(service.get_response(session=session, user=user, settings=settings, response_id=response_id), http)


@router.patch(
    "/{response_id}/answers",
    response_model=ResponseOut,
    summary="Guardar respuestas (autoguardado)",
    description=(
        "Guarda cualquier subconjunto de respuestas `{id_pregunta: valor}`; `null` borra una respuesta. "
        "Cada respuesta se valida con las reglas del cuestionario: si alguna no es válida se rechaza todo (422, "
        "con «answers.<id_pregunta>» en «details») y no se guarda nada. Requiere la versión leída (cuerpo o If-Match); "
        "una versión obsoleta recibe 409 con el estado actual. Solo en borrador o devuelta."
    ),
    responses=_WRITE_ERRORS,
)
async def patch_answers(
    response_id: ResponseId,
    body: AnswersPatch,
    hot: Annotated[HotSession, Depends(hot_session)],
    if_match: IfMatch = None,
) -> HttpResponse:
    # The hot path of the autosave: authentication and the save in one trip to a worker
    # thread, and the JSON written here (FastAPI does not validate a returned Response
    # against ResponseOut; service.response_json writes what that would).
    return await run_in_threadpool(_save_answers, hot, response_id, body, if_match)


def _save_answers(hot: HotSession, response_id: int, body: AnswersPatch, if_match: str | None) -> HttpResponse:
    with hot.session:
        user = hot.authenticate()
        with UnitOfWork(hot.session):
            response_obj = service.update_answers(
                session=hot.session,
                user=user,
                settings=hot.settings,
                response_id=response_id,
                answers=body.answers,
                version=_version(body.version, if_match),
            )
        return HttpResponse(
            service.response_json(response_obj),
            media_type="application/json",
            headers={"ETag": service.etag(response_obj)},
        )


@router.patch(
    "/{response_id}",
    response_model=ResponseOut,
    summary="Modificar los datos de la entrevista",
    description="Cambia solo los campos enviados (entrevistador, institución, fecha, lugar, cargo del entrevistado). Mismas reglas de versión que el autoguardado.",
    responses=_WRITE_ERRORS,
)
def patch_details(
    response_id: ResponseId,
    body: DetailsPatch,
    http: HttpResponse,
    session: Db,
    user: CurrentUser,
    settings: AppSettings,
    if_match: IfMatch = None,
) -> dict:
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    with UnitOfWork(session):
        response_obj = service.update_details(
            session=session,
            user=user,
            settings=settings,
            response_id=response_id,
            changes=changes,
            version=_version(body.version, if_match),
        )
    return _out(response_obj, http)


@router.post(
    "/{response_id}/submit",
    response_model=ResponseOut,
    summary="Enviar la respuesta",
    description=(
        "Exige todas las preguntas obligatorias pertinentes (422 con la lista en «details» y «missing»), valida el "
        "conjunto y guarda el resultado (semáforos) junto con la versión del cuestionario: cambios posteriores de "
        "reglas no lo alteran."
    ),
    responses=_WRITE_ERRORS,
)
def submit(
    response_id: ResponseId,
    http: HttpResponse,
    session: Db,
    user: CurrentUser,
    settings: AppSettings,
    body: VersionBody | None = None,
    if_match: IfMatch = None,
) -> dict:
    version = _version(body.version if body else None, if_match)
    with UnitOfWork(session):
        response_obj = service.submit(
            session=session, user=user, settings=settings, response_id=response_id, version=version
        )
    return _out(response_obj, http)


@router.post(
    "/{response_id}/return",
    response_model=ResponseOut,
    summary="Devolver para corrección",
    description="Equipo de análisis: devuelve una respuesta enviada con un comentario obligatorio que verá quien respondió; vuelve a ser editable.",
    responses=_WRITE_ERRORS,
)
def return_response(
    response_id: ResponseId,
    body: ReturnBody,
    http: HttpResponse,
    session: Db,
    user: CurrentUser,
    settings: AppSettings,
    if_match: IfMatch = None,
) -> dict:
    with UnitOfWork(session):
        response_obj = service.return_for_correction(
            session=session,
            user=user,
            settings=settings,
            response_id=response_id,
            comment=body.comment,
            version=_version(body.version, if_match),
        )
    return _out(response_obj, http)


@router.post(
    "/{response_id}/validate",
    response_model=ResponseOut,
    summary="Validar una respuesta enviada",
    description="Equipo de análisis: da por buena una respuesta enviada.",
    responses=_WRITE_ERRORS,
)
def validate_response(
    response_id: ResponseId,
    http: HttpResponse,
    session: Db,
    user: CurrentUser,
    settings: AppSettings,
    body: VersionBody | None = None,
    if_match: IfMatch = None,
) -> dict:
    version = _version(body.version if body else None, if_match)
    with UnitOfWork(session):
        response_obj = service.validate(
            session=session, user=user, settings=settings, response_id=response_id, version=version
        )
    return _out(response_obj, http)


@router.post(
    "/{response_id}/reopen",
    response_model=ResponseOut,
    summary="Reabrir una respuesta validada",
    description="Equipo de análisis: crea la revisión siguiente (borrador con las mismas respuestas) y deja la anterior intacta. Devuelve la nueva revisión.",
    responses=_WRITE_ERRORS,
)
def reopen_response(
    response_id: ResponseId,
    http: HttpResponse,
    session: Db,
    user: CurrentUser,
    settings: AppSettings,
    body: ReopenBody | None = None,
    if_match: IfMatch = None,
) -> dict:
    version = _version(body.version if body else None, if_match)
    with UnitOfWork(session):
        response_obj = service.reopen(
            session=session,
            user=user,
            settings=settings,
            response_id=response_id,
            version=version,
            comment=body.comment if body else None,
        )
    http.status_code = 201
    http.headers["Location"] = f"/api/v1/responses/{response_obj.id}"
    return _out(response_obj, http)


@router.get(
    "/{response_id}/history",
    response_model=EventPage,
    summary="Historial de cambios",
    description="La auditoría de la respuesta, de lo más antiguo a lo más reciente: quién, cuándo, qué pregunta, valor anterior y nuevo, comentarios.",
    responses=_ERRORS,
)
def get_history(
    response_id: ResponseId,
    session: Db,
    user: CurrentUser,
    settings: AppSettings,
    params: Annotated[PageParams, Depends(page_params)],
) -> dict:
    items, total = service.history(
        session=session, user=user, settings=settings, response_id=response_id, params=params
    )
    return page_of(items, total, params)


@router.get(
    "/{response_id}/result",
    response_model=ResultOut,
    summary="Resultado del diagnóstico",
    description="El resultado guardado al enviar (enviada o validada); en otro caso, un cálculo provisorio con las respuestas actuales («preview»: true).",
    responses=_ERRORS,
)
def get_result(response_id: ResponseId, session: Db, user: CurrentUser, settings: AppSettings) -> dict:
    return service.result(session=session, user=user, settings=settings, response_id=response_id)


@router.get(
    "/{response_id}/revisions",
    response_model=RevisionPage,
    summary="Revisiones",
    description="Todas las revisiones de la respuesta de esa cooperativa en esa ronda, de la primera a la vigente.",
    responses=_ERRORS,
)
def get_revisions(response_id: ResponseId, session: Db, user: CurrentUser, settings: AppSettings) -> dict:
    rows = service.list_revisions(session=session, user=user, settings=settings, response_id=response_id)
    return {"items": [service.response_dict(row) for row in rows]}
