"""Report downloads: one response's PDF and a whole round's PDFs as a streamed ZIP.

The same two downloads exist twice: under /api/v1 (token or session, JSON errors) and as
web paths the pages link to (session cookie, login redirect and HTML error pages).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi import Response as HttpResponse
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from app.auth.models import User
from app.deps import current_user, get_db, get_settings_dep
from app.downloads import download_headers
from app.reports import service
from app.settings import Settings
from app.web.deps import page_user

api_router = APIRouter(tags=["informes"])
web_router = APIRouter(include_in_schema=False)

Db = Annotated[Session, Depends(get_db)]
AppSettings = Annotated[Settings, Depends(get_settings_dep)]

_PDF = {200: {"content": {"application/pdf": {}}, "description": "El informe en PDF"}}
_ZIP = {200: {"content": {"application/zip": {}}, "description": "Un ZIP con un PDF por cooperativa"}}
_ERRORS = {
    401: {"description": "Sin sesión ni token válido"},
    403: {"description": "Sin permiso para descargar una ronda completa"},
    404: {"description": "No existe o no tiene acceso"},
    409: {"description": "El diagnóstico aún no ha sido enviado"},
}


def _pdf(session: Session, user: User, settings: Settings, response_id: int) -> HttpResponse:
    report = service.report_pdf(session=session, user=user, settings=settings, response_id=response_id)
    headers = download_headers(report.filename)
    return HttpResponse(content=report.content, media_type="application/pdf", headers=headers)


def _zip(session: Session, user: User, settings: Settings, round_id: int) -> StreamingResponse:
    round_, jobs = service.round_jobs(session=session, user=user, settings=settings, round_id=round_id)
    # Everything is read from the database before streaming starts; the stream only renders.
    cache_dir = settings.reports_cache_dir
    # A report that fails is left out and named in the ZIP's LEEME.txt: never a ZIP cut short.
    outcomes = (service.render_outcome(job, cache_dir) for job in jobs)
    files = service.round_files(outcomes, round_name=round_.name)
    filename = f"informes-{service.slug(round_.name)}.zip"
    headers = download_headers(filename)
    return StreamingResponse(service.zip_stream(files), media_type="application/zip", headers=headers)


@api_router.get(
    "/responses/{response_id}/report.pdf",
    response_class=HttpResponse,
    responses={**_PDF, **_ERRORS},
    summary="Informe PDF del diagnóstico",
)
def report_pdf(
    response_id: Annotated[int, Path(description="Número de la respuesta")],
    session: Db,
    settings: AppSettings,
    user: Annotated[User, Depends(current_user)],
) -> HttpResponse:
    """El informe de un diagnóstico enviado o validado, desde su resultado guardado."""
    return _pdf(session, user, settings, response_id)


@api_router.get(
    "/rounds/{round_id}/reports.zip",
    response_class=StreamingResponse,
    responses={**_ZIP, **_ERRORS},
    summary="Informes PDF de toda una ronda (ZIP)",
)
def round_reports_zip(
    round_id: Annotated[int, Path(description="Número de la ronda")],
    session: Db,
    settings: AppSettings,
    user: Annotated[User, Depends(current_user)],
) -> StreamingResponse:
    """Un PDF por cooperativa con diagnóstico enviado o validado, en un ZIP que se transmite a medida que se genera."""
    return _zip(session, user, settings, round_id)


@web_router.get("/diagnosticos/{response_id}/informe.pdf")
def report_pdf_page(
    response_id: int, session: Db, settings: AppSettings, user: Annotated[User, Depends(page_user)]
) -> HttpResponse:
    return _pdf(session, user, settings, response_id)


@web_router.get("/analista/rondas/{round_id}/informes.zip")
def round_reports_zip_page(
    round_id: int, session: Db, settings: AppSettings, user: Annotated[User, Depends(page_user)]
) -> StreamingResponse:
    return _zip(session, user, settings, round_id)
