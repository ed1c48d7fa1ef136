"""One error shape for the whole JSON API, in Spanish:

    {"error": {"code": "not_found", "message": "…", "details": [...]}}

``details`` lists per-field problems: ``{"field": "answers.q1", "code": "…", "message": "…"}``.
Services raise ApiError (or a subclass); handlers here turn it, FastAPI's request
validation errors and any unexpected exception into that shape, never a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)


class ApiError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: list[dict[str, Any]] | None = None,
        status_code: int | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        self.details = details or []
        self.extra = extra or {}
        self.headers = headers

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message, "details": self.details}
        error.update(self.extra)
        return {"error": error}


class NotAuthenticated(ApiError):
    status_code = 401
    code = "not_authenticated"


class Forbidden(ApiError):
    status_code = 403
    code = "forbidden"


class NotFound(ApiError):
    status_code = 404
    code = "not_found"


class Conflict(ApiError):
    status_code = 409
    code = "conflict"


class Invalid(ApiError):
    status_code = 422
    code = "invalid"


def error_response(status_code: int, code: str, message: str, details: list | None = None, headers=None) -> JSONResponse:
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
    return (f"El servicio no está disponible en este momento ({cause}). No se guardó ningún cambio de esta "
            "solicitud; intente de nuevo en unos minutos.")


def _field_name(location: tuple) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or "solicitud"


_PYDANTIC_MESSAGES = {
    "missing": "falta este campo",
    "extra_forbidden": "campo no permitido",
    "string_too_short": "es demasiado corto",
    "string_too_long": "es demasiado largo",
    "int_parsing": "debe ser un número entero",
    "int_type": "debe ser un número entero",
    "float_parsing": "debe ser un número",
    "bool_parsing": "debe ser verdadero o falso",
    "date_from_datetime_parsing": "debe ser una fecha AAAA-MM-DD",
    "date_parsing": "debe ser una fecha AAAA-MM-DD",
    "enum": "no es uno de los valores permitidos",
    "literal_error": "no es uno de los valores permitidos",
    "json_invalid": "el cuerpo no es JSON válido",
    "dict_type": "debe ser un objeto JSON",
    "list_type": "debe ser una lista",
    "string_type": "debe ser un texto",
    "greater_than_equal": "es menor que el mínimo permitido",
    "less_than_equal": "es mayor que el máximo permitido",
    "value_error": "valor no válido",
}


def validation_details(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    details = []
    for error in errors:
        message = _PYDANTIC_MESSAGES.get(error.get("type", ""), "valor no válido")
        context = error.get("ctx") or {}
        if error.get("type") == "value_error" and context.get("error"):
            message = str(context["error"])  # our own validators raise ValueError with Spanish text
        details.append({"field": _field_name(tuple(error.get("loc", ()))), "code": error.get("type", "invalid"), "message": message})
    return details


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


def _page(request: Request, status_code: int, message: str, headers=None):
    """The same error for a person: a Spanish page, never a stack trace."""
    from app.web.render import render

    response = render(
        request, "error.html", {"title": _PAGE_TITLES.get(status_code, "No se pudo completar"), "message": message},
        status_code=status_code,
    )
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


MAX_ID = 2_147_483_647  # every primary key is a 32-bit integer on both databases


def _out_of_range(segment: str) -> bool:
    """A path segment that is a whole number (negative too) no key can be."""
    digits = segment[1:] if segment.startswith("-") else segment
    return digits.isdigit() and (segment.startswith("-") or int(digits) > MAX_ID)


def install_error_handlers(app: FastAPI) -> None:
    from fastapi.responses import RedirectResponse

    class OutOfRangeIds:
        """A number in the path no key can have is simply not found; without this check the
        database driver's overflow error would surface as a 500. A plain ASGI middleware:
        Starlette's BaseHTTPMiddleware (``@app.middleware``) costs a task and a stream per request."""

        def __init__(self, app) -> None:
            self.app = app

        async def __call__(self, scope, receive, send) -> None:
            if scope["type"] == "http" and any(
                _out_of_range(segment) for segment in scope["path"].split("/")
            ):
                request = Request(scope, receive)
                message = "No existe el recurso solicitado."
                if _is_api(request):
                    response = error_response(404, "not_found", message)
                else:
                    response = _page(request, 404, message)
                await response(scope, receive, send)
                return
            await self.app(scope, receive, send)

    app.add_middleware(OutOfRangeIds)

    from app.web.deps import LoginRequired

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> RedirectResponse:
        return RedirectResponse(exc.next_url, status_code=303)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        if not _is_api(request):
            return _page(request, exc.status_code, exc.message, exc.headers)
        return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers)

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

    from sqlalchemy.exc import DataError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout  # every pooled connection busy for too long

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
        logger.error("Base de datos no disponible en %s %s: %s", request.method, request.url.path, getattr(exc, "orig", exc))
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
            return _page(request, 500, message + " Sus respuestas guardadas no se perdieron.")
        return error_response(500, "internal_error", message)
