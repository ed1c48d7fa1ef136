"""Every error as HTTP, in one place: the status of each domain error, the JSON body of the API,
the Spanish error page of the web, and the headers that go with them.

One error shape for the whole JSON API, in Spanish::

    {"error": {"code": "not_found", "message": "…", "details": [...]}}

``details`` lists per-field problems: ``{"field": "answers.q1", "code": "…", "message": "…"}``;
an error's ``extra`` data is added next to them (e.g. ``"current"``, ``"report"``). The domain
errors of ``app.errors`` carry no HTTP: ``status_of`` and ``headers_of`` below decide it. The
handlers installed by ``install_error_handlers`` turn those errors, FastAPI's request validation
errors, Starlette's HTTP errors, database outages and any unexpected exception into that shape
(``/api/…``) or into a page, never a traceback.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout  # every pooled connection busy for too long
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from app.errors import (
    ApiError,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    NotAuthenticated,
    NotFound,
    TooLarge,
    TooManyAttempts,
    validation_details,
)
from app.headers import security_headers
from app.user_input import MAX_ID, looks_like_number, parse_int, text_problem
from app.web.deps import FIELD_LABELS, LoginRequired
from app.web.render import render

logger = logging.getLogger(__name__)

#: The status of each kind of domain error; the most specific class wins (a subclass defined
#: elsewhere gets its parent's status).
STATUS_BY_CLASS: dict[type[ApiError], int] = {
    NotAuthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Gone: 410,
    TooLarge: 413,
    Invalid: 422,
    TooManyAttempts: 429,
    ApiError: 400,
}

#: Codes whose status does not depend on the class: a file beyond the size allowed is 413
#: whether the reader raised TooLarge or Invalid(code="too_large").
STATUS_BY_CODE: dict[str, int] = {"too_large": 413}


def status_of(error: ApiError) -> int:
    """The HTTP status of a domain error (also for a page showing it)."""
    if error.code in STATUS_BY_CODE:
        return STATUS_BY_CODE[error.code]
    for kind in type(error).__mro__:
        if kind in STATUS_BY_CLASS:
            return STATUS_BY_CLASS[kind]
    return 400


def etag(version: int) -> str:
    """The entity tag of a record at ``version`` (the same as ``app.responses.service.etag``)."""
    return f'"{version}"'


def headers_of(error: ApiError) -> dict[str, str] | None:
    """The headers that go with a domain error: ``Retry-After`` from its ``retry_after``
    seconds, ``ETag`` of the current record from its ``current_version``."""
    headers: dict[str, str] = {}
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    if error.current_version is not None:
        headers["ETag"] = etag(error.current_version)
    return headers or None


def error_body(error: ApiError) -> dict[str, Any]:
    """The JSON body of a domain error: ``{"error": {"code", "message", "details", …extra}}``."""
    body: dict[str, Any] = {"code": error.code, "message": error.message, "details": error.details}
    body.update(error.extra)
    return {"error": body}


def error_response(
    status_code: int, code: str, message: str, details: list | None = None, headers=None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "details": details or []}},
        status_code=status_code,
        headers=headers,
    )


_STATUS_MESSAGES = {
    400: ("bad_request", "La solicitud no es válida."),
    401: ("not_authenticated", "Debe iniciar sesión."),
    403: ("forbidden", "No tiene permiso para esta acción."),
    404: ("not_found", "No existe el recurso solicitado."),
    405: ("method_not_allowed", "Método no permitido para este recurso."),
    413: ("too_large", "La solicitud es demasiado grande."),
}


def database_problem(exc: Exception) -> str:
    """What an operational database error means for the person, in Spanish."""
    text = str(getattr(exc, "orig", exc)).lower()
    if "readonly" in text or "read-only" in text or "read only" in text:
        cause = "la base de datos está en modo de solo lectura"
    elif "disk is full" in text or "no space" in text or "database or disk is full" in text:
        cause = "no queda espacio en el disco del servidor"
    elif "locked" in text or "busy" in text or "queuepool limit" in text:
        cause = "la base de datos está ocupada"
    else:
        cause = "no hay conexión con la base de datos"
    return (
        f"El servicio no está disponible en este momento ({cause}). No se guardó ningún cambio de esta "
        "solicitud; intente de nuevo en unos minutos."
    )


_PAGE_TITLES = {
    400: "Solicitud no válida",
    401: "Debe iniciar sesión",
    403: "Sin permiso",
    404: "Página no encontrada",
    405: "Acción no permitida",
    409: "Conflicto",
    410: "Enlace vencido",
    413: "Demasiado grande",
    422: "Datos no válidos",
    500: "Error inesperado",
    503: "Servicio no disponible",
}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/healthz"


def _page(request: Request, status_code: int, message: str, headers=None) -> Response:
    """The same error for a person: a Spanish page, never a stack trace."""
    response = render(
        request,
        "error.html",
        {"title": _PAGE_TITLES.get(status_code, "No se pudo completar"), "message": message},
        status_code=status_code,
    )
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def error_page(request: Request, error: ApiError) -> Response:
    """A domain error as a web page, with its status and headers."""
    return _page(request, status_of(error), error.message, headers_of(error))


def _out_of_range(segment: str) -> bool:
    """A path segment written as a whole number (negative too, of any length) no key can be."""
    return looks_like_number(segment) and parse_int(segment, minimum=0, maximum=MAX_ID) is None


def _query_problem(query_string: bytes) -> tuple[str, str] | None:
    """(parameter, message) for a query parameter with a character no field accepts."""
    # As UTF-8: a client that sends raw (not %-escaped) UTF-8 bytes meant letters, not C1 controls.
    for name, value in parse_qsl(query_string.decode("utf-8", "replace"), keep_blank_values=True):
        for text, label in ((name, "nombre de parámetro"), (value, FIELD_LABELS.get(name, name))):
            if (message := text_problem(text, label, multiline=False)) is not None:
                return name, message
    return None


class OutOfRangeIds:
    """The path and query, checked before any route reads them. A number in the path no key
    can have (negative, beyond 32 bits, thousands of digits) and a path segment with a control
    character are simply not found (without this check the database driver's overflow error,
    or PostgreSQL's refusal of a NUL, would surface as a 500); a query parameter with such a
    character is refused (422) naming it (``app.user_input``). A plain ASGI middleware:
    Starlette's BaseHTTPMiddleware (``@app.middleware``) costs a task and a stream per request."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response = None
        if any(
            _out_of_range(segment) or text_problem(segment, "ruta", multiline=False)
            for segment in scope["path"].split("/")
        ):
            request = Request(scope, receive)
            message = "No existe el recurso solicitado."
            response = error_response(404, "not_found", message) if _is_api(request) else _page(request, 404, message)
        elif scope.get("query_string") and (problem := _query_problem(scope["query_string"])) is not None:
            request = Request(scope, receive)
            name, message = problem
            details = [{"field": name, "code": "forbidden_character", "message": message}]
            response = (
                error_response(422, "invalid", message, details) if _is_api(request) else _page(request, 422, message)
            )
        if response is not None:
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    app.add_middleware(OutOfRangeIds)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> RedirectResponse:
        return RedirectResponse(exc.next_url, status_code=303)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        if not _is_api(request):
            return error_page(request, exc)
        return JSONResponse(error_body(exc), status_code=status_of(exc), headers=headers_of(exc))

    @app.exception_handler(RequestValidationError)
    async def request_validation(request: Request, exc: RequestValidationError):
        if not _is_api(request):
            return _page(request, 422, "Hay datos no válidos en la solicitud.")
        return error_response(422, "invalid", "Hay datos no válidos en la solicitud.", validation_details(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        code, message = _STATUS_MESSAGES.get(exc.status_code, ("error", "No se pudo completar la solicitud."))
        if not _is_api(request):
            return _page(request, exc.status_code, message, getattr(exc, "headers", None))
        return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def number_too_large(request: Request, exc: Exception):
        # An id or number in a body or query beyond the columns' integers: SQLite cannot even
        # bind it (OverflowError), PostgreSQL refuses it (DataError, numeric value out of range).
        # Invalid input, not a server error; the transaction is rolled back by the session.
        message = "Un número de la solicitud está fuera del rango permitido."
        if not _is_api(request):
            return _page(request, 422, message)
        return error_response(422, "invalid", message)

    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeout)
    async def database_unavailable(request: Request, exc: Exception):
        # The server is down or restarting, the connection dropped, or (SQLite) the file is
        # read-only, locked or the disk is full. The transaction was rolled back: nothing was
        # half-saved, and the same request can simply be sent again later.
        logger.error(
            "Base de datos no disponible en %s %s: %s", request.method, request.url.path, getattr(exc, "orig", exc)
        )
        message = database_problem(exc)
        headers = {"Retry-After": "10"}
        if not _is_api(request):
            return _page(request, 503, message, headers)
        return error_response(503, "database_unavailable", message, headers=headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        logger.exception("Error inesperado en %s %s", request.method, request.url.path)
        message = "Ocurrió un error inesperado; el equipo técnico fue notificado."
        if not _is_api(request):
            response = _page(request, 500, message + " Sus respuestas guardadas no se perdieron.")
        else:
            response = error_response(500, "internal_error", message)
        # This handler answers outside every middleware (Starlette's ServerErrorMiddleware),
        # SecurityHeaders included: its headers are added here.
        https_only = request.app.state.settings.is_production
        for name, value in security_headers(request.url.path, https_only=https_only):
            response.headers.setdefault(name.decode(), value.decode())
        return response
