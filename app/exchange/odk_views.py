"""JSON API view of the ODK Central / KoboToolbox import (under /api/v1).

Field team members (for the cooperatives assigned to them or in their macrozones), analysts
and administrators (``policy.can_use_interview_spreadsheets`` and
``policy.can_import_interview``); managers get 403, no session 401. The body is refused
with 413 before it is read when it is larger than app.limits allows for uploads.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Path, Query, UploadFile
from sqlalchemy.orm import Session

from app.auth.models import User
from app.deps import current_user, get_db, get_settings_dep
from app.errors import Invalid
from app.exchange import odk_import, tabular
from app.exchange.odk_import import InterviewDefaults, Source
from app.settings import Settings
from app.unit_of_work import UnitOfWork
from app.user_input import Text

router = APIRouter(tags=["importación de ODK y KoboToolbox"])


@router.post(
    "/rounds/{round_id}/odk-import",
    summary="Importar entrevistas desde ODK Central o KoboToolbox",
    description=(
        "Sube la exportación de envíos (CSV, XLSX o JSON) del formulario XLSForm de la ronda "
        "(`GET /api/v1/questionnaires/{id}/xlsform`). Cada envío pasa a ser una entrevista de terreno de la "
        "cooperativa de su `rut_cooperativa`, con la misma validación de respuestas que la API. La clave del envío "
        "(`meta-instanceID` o `_uuid`) evita duplicados: un envío ya importado se informa como tal. Una entrevista "
        "completa queda enviada (con su resultado); una incompleta, como borrador. Por omisión es todo o nada: con "
        "un error en cualquier fila no se guarda nada (422 con cada problema: fila, columna, valor y motivo); "
        "`dry_run=true` muestra lo que pasaría sin guardar; `all_or_nothing=false` guarda las filas válidas."
    ),
    responses={
        401: {"description": "Sin sesión ni token válido"},
        403: {"description": "Solo equipos de terreno, analistas y administradores"},
        404: {"description": "No existe la ronda"},
        409: {"description": "La ronda no está abierta, o una importación simultánea"},
        413: {"description": "Archivo demasiado grande"},
        422: {"description": "Archivo ilegible, columnas que no son del formulario o filas con errores"},
    },
)
def odk_import_view(
    session: Annotated[Session, Depends(get_db)],
    settings: Annotated[Settings, Depends(get_settings_dep)],
    user: Annotated[User, Depends(current_user)],
    round_id: Annotated[int, Path(description="Número de la ronda")],
    file: Annotated[UploadFile, File(description="Exportación de envíos: .csv, .xlsx o .json")],
    source: Annotated[Source, Query(description="odk, kobo o auto (reconocida por sus columnas)")] = Source.AUTO,
    dry_run: Annotated[bool, Query(description="Solo revisar: informa lo que se importaría, sin guardar")] = False,
    all_or_nothing: Annotated[bool, Query(description="Con un error en cualquier fila no se guarda nada")] = True,
    institution: Annotated[Text | None, Form(description="Institución (por omisión, la de su cuenta)")] = None,
    interview_place: Annotated[
        Text | None, Form(description="Lugar de las entrevistas sin columna lugar_entrevista")
    ] = None,
    interviewee_role: Annotated[
        Text | None, Form(description="Cargo de las personas entrevistadas sin columna cargo_entrevistado")
    ] = None,
) -> dict:
    content = file.file.read(tabular.MAX_UPLOAD_BYTES + 1)
    if len(content) > tabular.MAX_UPLOAD_BYTES:
        raise Invalid(
            f"El archivo «{file.filename}» supera el máximo de {tabular.MAX_UPLOAD_BYTES // (1024 * 1024)} MB.",
            code="too_large",
        )
    with UnitOfWork(session):
        report = odk_import.import_submissions(
            session=session,
            user=user,
            settings=settings,
            round_id=round_id,
            content=content,
            filename=file.filename or "",
            source=source,
            dry_run=dry_run,
            all_or_nothing=all_or_nothing,
            defaults=InterviewDefaults(
                institution=institution, interview_place=interview_place, interviewee_role=interviewee_role
            ),
        )
    return report.to_dict()
