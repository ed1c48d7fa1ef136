"""JSON API views of the imports (under /api/v1): the cooperative registry and a round's
interview spreadsheets (template download and import).

Uploads are ``multipart/form-data`` with one file (field ``archivo`` or ``file``). The size
limit (app.exchange.tabular.MAX_UPLOAD_BYTES) is enforced before anything is read when the
request announces its length (Content-Length) and again while the body is read, so an
oversized upload is refused with 413 without being stored. ``dry_run=true`` (the default)
only previews; ``dry_run=false`` imports all or nothing (422 with the report otherwise).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from app.auth.models import User
from app.deps import current_user, get_db, get_settings_dep
from app.errors import Invalid, TooLarge
from app.exchange import interviews, registry_import
from app.exchange.exports import Download
from app.exchange.tabular import MAX_UPLOAD_BYTES
from app.settings import Settings
from app.unit_of_work import UnitOfWork
from app.user_input import parse_int

router = APIRouter(tags=["importaciones"])

Db = Annotated[Session, Depends(get_db)]
AppSettings = Annotated[Settings, Depends(get_settings_dep)]
CurrentUser = Annotated[User, Depends(current_user)]
RoundId = Annotated[int, Path(description="Número de la ronda")]
DryRun = Annotated[bool, Query(description="true (por omisión): solo revisar y mostrar qué se haría; false: importar")]

#: What a multipart body may add to the file itself (boundaries, part headers).
MULTIPART_OVERHEAD = 64 * 1024
FILE_FIELDS = ("archivo", "file")

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["archivo"],
                    "properties": {
                        "archivo": {
                            "type": "string",
                            "format": "binary",
                            "description": f"Planilla .xlsx o .csv, de hasta {MAX_UPLOAD_BYTES // (1024 * 1024)} MB",
                        }
                    },
                }
            }
        },
    }
}
_ERRORS = {
    401: {"description": "Sin sesión ni token válido"},
    403: {"description": "Su rol no permite esta importación"},
    413: {"description": "El archivo supera el tamaño máximo"},
    422: {
        "description": "El archivo no se puede leer o tiene problemas (details: fila, columna, valor, motivo); "
        "no se importó nada"
    },
}


def _too_large() -> TooLarge:
    return TooLarge(
        f"El archivo supera el máximo de {MAX_UPLOAD_BYTES // (1024 * 1024)} MB; divídalo en varios archivos.",
        details=[{"field": "archivo", "code": "too_large", "message": "archivo demasiado grande"}],
    )


async def read_upload(request: Request) -> tuple[bytes, str]:
    """The uploaded file's bytes and name, refusing an oversized body before and while reading."""
    limit = MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD
    length = request.headers.get("content-length")
    if length is not None and parse_int(length, maximum=limit) is None:
        raise _too_large()
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise Invalid(
            "Envíe el archivo como multipart/form-data en el campo «archivo».",
            details=[{"field": "archivo", "code": "missing", "message": "falta el archivo"}],
        )

    async def limited() -> AsyncIterator[bytes]:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise _too_large()
            yield chunk

    parser = MultiPartParser(request.headers, limited(), max_files=2, max_fields=10)
    try:
        form = await parser.parse()
    except MultiPartException as error:
        raise Invalid(
            f"El formulario enviado no es válido ({error.message}).",
            details=[{"field": "archivo", "code": "bad_multipart", "message": "formulario mal formado"}],
        ) from None
    try:
        upload = next(
            (value for key, value in form.multi_items() if key in FILE_FIELDS and isinstance(value, UploadFile)), None
        )
        if upload is None:
            raise Invalid(
                "Falta el archivo: envíelo en el campo «archivo».",
                details=[{"field": "archivo", "code": "missing", "message": "falta el archivo"}],
            )
        data = await upload.read(MAX_UPLOAD_BYTES + 1)
        return data, (upload.filename or "archivo")[:200]
    finally:
        await form.close()


@router.post(
    "/cooperatives/import",
    summary="Importar el registro de cooperativas (CSV o XLSX)",
    description=(
        "Columnas al estilo del registro DAES (RUT, Razón social, N° registro DAES, Tipo, Estado, Vigente, Región, "
        "Comuna, Rubro(s), socios…; vea docs/data-exchange.md). Se cruza por RUT: crea las cooperativas nuevas y "
        "cambia las registradas (una celda vacía no borra un dato). `dry_run=true` muestra qué se crearía, "
        "cambiaría (campo: antes → después) y rechazaría, con cada problema (fila, columna, valor, motivo); "
        "`dry_run=false` importa todo en una transacción, o nada si hay algún problema (422 con el informe). "
        "Solo analistas y administradores."
    ),
    openapi_extra=_UPLOAD_BODY,
    responses=_ERRORS,
)
async def import_cooperatives(
    request: Request, session: Db, settings: AppSettings, user: CurrentUser, dry_run: DryRun = True
) -> dict:
    data, filename = await read_upload(request)

    def run() -> registry_import.ImportReport:
        with UnitOfWork(session):
            return registry_import.import_registry(
                session=session, user=user, settings=settings, data=data, filename=filename, dry_run=dry_run
            )

    return (await run_in_threadpool(run)).as_dict()


@router.get(
    "/rounds/{round_id}/interview-template.xlsx",
    summary="Planilla para digitar entrevistas de una ronda",
    description=(
        "Hoja «entrevistas» (una fila por entrevista: clave_entrevista, rut_cooperativa, entrevistador, "
        "institucion, fecha, lugar, cargo_entrevistado, enviar y una columna por pregunta, con listas de valores), "
        "hoja «codigos» (textos, opciones, unidades y condiciones) y hoja «cooperativas» (las que puede "
        "entrevistar). Equipos de terreno, analistas y administradores."
    ),
    responses={
        200: {"content": {interviews.XLSX_MEDIA_TYPE: {}}},
        401: _ERRORS[401],
        403: {"description": "Solo equipos de terreno, analistas y administradores"},
        404: {"description": "No existe la ronda"},
    },
)
def interview_template(round_id: RoundId, session: Db, settings: AppSettings, user: CurrentUser) -> StreamingResponse:
    template = interviews.interview_template(session=session, user=user, settings=settings, round_id=round_id)
    download = Download(template.filename, template.media_type, iter([template.content]))
    return StreamingResponse(download.chunks, media_type=download.media_type, headers=download.headers)


@router.post(
    "/rounds/{round_id}/interviews/import",
    summary="Importar entrevistas digitadas en la planilla de la ronda",
    description=(
        "Cada fila crea una entrevista de terreno de la ronda, validada igual que en la API. `clave_entrevista` "
        "es la clave de idempotencia: importar dos veces el mismo archivo no crea nada nuevo y una fila cambiada "
        "con una clave ya importada se informa, no se sobrescribe. `enviar` = si envía la entrevista (debe estar "
        "completa); si no, queda como borrador. Todo o nada: con cualquier problema no se importa ninguna fila "
        "(422 con el informe). Ronda abierta; equipos de terreno para las cooperativas de sus macrozonas o "
        "asignadas, analistas y administradores para todas."
    ),
    openapi_extra=_UPLOAD_BODY,
    responses={**_ERRORS, 404: {"description": "No existe la ronda"}, 409: {"description": "La ronda no está abierta"}},
)
async def import_interviews(
    round_id: RoundId,
    request: Request,
    session: Db,
    settings: AppSettings,
    user: CurrentUser,
    dry_run: DryRun = True,
) -> dict:
    data, filename = await read_upload(request)

    def run() -> interviews.ImportReport:
        with UnitOfWork(session):
            return interviews.import_interviews(
                session=session,
                user=user,
                settings=settings,
                round_id=round_id,
                data=data,
                filename=filename,
                dry_run=dry_run,
            )

    return (await run_in_threadpool(run)).as_dict()
