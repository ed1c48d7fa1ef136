"""Report downloads: one response's PDF and a whole round's PDFs as a streamed ZIP.

The same two downloads exist twice: under /api/v1 (token or session, JSON errors) and as
web paths the pages link to (session cookie, login redirect and HTML error pages).

Both read the PDFs stored by the task queue (``app/reports/tasks.py``); nothing is rendered
in a request. A report not stored yet is asked for and waited for briefly (``WAIT_SECONDS``);
then the answer is 202 «El informe se está preparando» (a page that reloads itself, or JSON
with ``Retry-After``), or 503 when its rendering failed (asked for again). With
``COOPDIAG_QUEUE_URL=immediate`` (tests) the asking renders it at once.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi import Response as HttpResponse
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.orm import Session

from app.auth.models import User
from app.deps import current_user, get_db, get_settings_dep
from app.downloads import download_headers
from app.reports import queueing, service
from app.reports.models import ReportState
from app.settings import Settings
from app.unit_of_work import UnitOfWork
from app.web.deps import page_user
from app.web.render import render

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
_PREPARING = {
    202: {"description": "El informe se está preparando: vuelva a pedirlo tras Retry-After segundos"},
    503: {"description": "No se pudo generar el informe; se volvió a solicitar (Retry-After)"},
}

WAIT_SECONDS = 2.0  # how long a download waits for a report being prepared
RETRY_AFTER = 3  # seconds, for the client (and the page's reload) when it is not ready
RETRY_AFTER_FAILED = 30
PREPARING_MESSAGE = "El informe se está preparando. Estará listo en unos segundos."


def _stored(session: Session, user: User, settings: Settings, response_id: int) -> queueing.Download:
    """The stored report, asked for (and waited for briefly) when there is none; a failed one
    as it is (the caller asks for it again)."""
    download = queueing.find_download(session=session, user=user, settings=settings, response_id=response_id)
    if download.path is not None or download.state == ReportState.FAILED.value:
        return download
    if queueing.needs_request(download):
        with UnitOfWork(session):  # immediate mode: rendered when this commits
            queueing.request_report(session, response_id, asked=True)
    deadline = time.monotonic() + WAIT_SECONDS
    pause = 0.05
    while True:
        with UnitOfWork(session):  # each look in a transaction of its own, to see the worker's commit
            download = queueing.recheck(session, settings, download)
        if download.path is not None or download.state == ReportState.FAILED.value:
            # Failed now: retried by the queue, or (the last attempt) when asked for again.
            return download
        if time.monotonic() + pause > deadline:
            return download
        time.sleep(pause)
        pause = min(pause * 2, 0.4)


def _file(download: queueing.Download) -> HttpResponse | None:
    try:
        content = download.path.read_bytes() if download.path is not None else None
    except OSError:  # replaced by a newer version between the look and the read
        return None
    if content is None:
        return None
    return HttpResponse(content=content, media_type="application/pdf", headers=download_headers(download.filename))


def _failed_message(download: queueing.Download) -> str:
    return (
        f"No se pudo generar el informe ({download.error or 'error interno'}). Se volvió a solicitar; "
        "intente de nuevo en unos minutos. Si el problema continúa, avise al equipo técnico."
    )


def _pdf(session: Session, user: User, settings: Settings, response_id: int) -> HttpResponse:
    for _ in range(2):  # a second look if the file was replaced while being read
        download = _stored(session, user, settings, response_id)
        reply = _file(download)
        if reply is not None:
            return reply
    if download.state == ReportState.FAILED.value:
        with UnitOfWork(session):
            queueing.request_report(session, response_id, asked=True)
        return JSONResponse(
            {"error": {"code": "report_failed", "message": _failed_message(download), "details": []}},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_FAILED)},
        )
    return JSONResponse(
        {
            "status": "preparing",
            "message": PREPARING_MESSAGE,
            "response_id": response_id,
            "retry_after": RETRY_AFTER,
        },
        status_code=202,
        headers={"Retry-After": str(RETRY_AFTER)},
    )


def _pdf_page(request: Request, session: Session, user: User, settings: Settings, response_id: int) -> HttpResponse:
    for _ in range(2):
        download = _stored(session, user, settings, response_id)
        reply = _file(download)
        if reply is not None:
            return reply
    failed = download.state == ReportState.FAILED.value
    if failed:
        with UnitOfWork(session):
            queueing.request_report(session, response_id, asked=True)
    page = render(
        request,
        "report_preparing.html",
        {
            "failed": failed,
            "message": _failed_message(download) if failed else PREPARING_MESSAGE,
            "url": f"/diagnosticos/{response_id}/informe.pdf",
            "refresh": RETRY_AFTER_FAILED if failed else RETRY_AFTER,
        },
        status_code=503 if failed else 202,
    )
    page.headers["Retry-After"] = str(RETRY_AFTER_FAILED if failed else RETRY_AFTER)
    return page


def _zip(session: Session, user: User, settings: Settings, round_id: int) -> StreamingResponse:
    round_, items = queueing.round_reports(session=session, user=user, settings=settings, round_id=round_id)
    missing = [item.response_id for item in items if item.needs_request]
    if missing:  # asked for now; listed «en preparación» (immediate mode: rendered when this commits)
        with UnitOfWork(session):
            queueing.request_reports(session, missing, asked=True)
        round_, items = queueing.round_reports(session=session, user=user, settings=settings, round_id=round_id)
    # Everything is read from the database before streaming starts; the stream reads the stored
    # files one at a time. A report not stored is named in the ZIP's LEEME.txt and manifiesto.csv.
    outcomes = queueing.round_outcomes(items)
    files = service.round_files(outcomes, round_name=round_.name)
    filename = f"informes-{service.slug(round_.name)}.zip"
    headers = download_headers(filename)
    return StreamingResponse(service.zip_stream(files), media_type="application/zip", headers=headers)


@api_router.get(
    "/responses/{response_id}/report.pdf",
    response_class=HttpResponse,
    responses={**_PDF, **_PREPARING, **_ERRORS},
    summary="Informe PDF del diagnóstico",
)
def report_pdf(
    response_id: Annotated[int, Path(description="Número de la respuesta")],
    session: Db,
    settings: AppSettings,
    user: Annotated[User, Depends(current_user)],
) -> HttpResponse:
    """El informe de un diagnóstico enviado o validado, desde su resultado guardado. Se prepara en
    segundo plano al enviarse o validarse el diagnóstico: si aún no está listo, la respuesta es 202
    con `Retry-After`; si su generación falló, 503 (y se vuelve a solicitar)."""
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
    """Un PDF por cooperativa con diagnóstico enviado o validado, en un ZIP que se transmite desde los informes
    ya preparados; los que aún se preparan se listan en LEEME.txt y manifiesto.csv como «en preparación»."""
    return _zip(session, user, settings, round_id)


@web_router.get("/diagnosticos/{response_id}/informe.pdf")
def report_pdf_page(
    request: Request, response_id: int, session: Db, settings: AppSettings, user: Annotated[User, Depends(page_user)]
) -> HttpResponse:
    return _pdf_page(request, session, user, settings, response_id)


@web_router.get("/analista/rondas/{round_id}/informes.zip")
def round_reports_zip_page(
    round_id: int, session: Db, settings: AppSettings, user: Annotated[User, Depends(page_user)]
) -> StreamingResponse:
    return _zip(session, user, settings, round_id)
