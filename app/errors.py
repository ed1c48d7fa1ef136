"""The domain errors of coopdiag, in Spanish, and nothing about HTTP.

Services, importers and the CLI raise an :class:`ApiError` (or a subclass): what went wrong
(``code``, a stable identifier), a Spanish ``message``, per-field ``details``
(``{"field": "answers.q1", "code": "…", "message": "…"}``), ``extra`` data that belongs to the
answer (e.g. ``{"current": …}`` or ``{"report": …}``) and, where it helps the caller, plain
facts such as ``retry_after`` (seconds until trying again may succeed) or ``current_version``
(the version of the record a stale write ran into).

Which HTTP status, body, page and headers an error becomes is decided in one place,
``app.http_errors``; this module imports nothing from FastAPI, Starlette or the rest of the
app. (The class is still called ``ApiError`` because every service imports it by that name.)
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """The base of every domain error (see the module's docstring)."""

    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
        retry_after: int | None = None,
        current_version: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details or []
        self.extra = extra or {}
        self.retry_after = retry_after
        self.current_version = current_version


class NotAuthenticated(ApiError):
    code = "not_authenticated"


class Forbidden(ApiError):
    code = "forbidden"


class NotFound(ApiError):
    code = "not_found"


class Conflict(ApiError):
    code = "conflict"


class Gone(ApiError):
    """What the request names existed but cannot be used any more (an invitation used or expired)."""

    code = "gone"


class Invalid(ApiError):
    code = "invalid"


class TooLarge(ApiError):
    """An upload beyond the size allowed (any error with ``code="too_large"`` means the same)."""

    code = "too_large"


class TooManyAttempts(ApiError):
    """Refused for a while (``retry_after`` seconds) after too many failed attempts."""

    code = "too_many_attempts"


# --------------------------------------------------------------------------- pydantic errors as details


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
    """Pydantic's errors as Spanish ``details`` (``field``, ``code``, ``message``)."""
    details = []
    for error in errors:
        message = _PYDANTIC_MESSAGES.get(error.get("type", ""), "valor no válido")
        context = error.get("ctx") or {}
        if error.get("type") == "value_error" and context.get("error"):
            message = str(context["error"])  # our own validators raise ValueError with Spanish text
        details.append(
            {
                "field": _field_name(tuple(error.get("loc", ()))),
                "code": error.get("type", "invalid"),
                "message": message,
            }
        )
    return details
