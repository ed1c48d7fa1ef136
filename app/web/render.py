"""Rendering of the web pages: one Jinja2 environment with es-CL formatting filters
(numbers, RUTs and lights in words are ``reports.formatting``'s, the same as the PDF report's).

Every page gets ``user`` and ``csrf_token`` (for the hidden field of its forms) and the
flash messages of the previous redirect. ``user`` is the ``app.web.deps.Viewer`` (id, role,
name) copied when the request was authenticated, and the token a plain copy too, so that any
page, an error page after a rollback included, renders without the database session.
"""

from __future__ import annotations

import base64
from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from app.user_input import text_problem
from reports import formatting as fmt
from reports.formatting import CHILE, LIGHT_ICONS, light_message, numero, rut
from scoring import LIGHT_NAMES_ES, Light

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
FLASH_COOKIE = "coopdiag_flash"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


def fecha(value: date | datetime | str | None) -> str:
    """A Chilean date; a datetime with its time in Chile (a naive one, as SQLite returns
    them, is read as the server's local time); an ISO string is read first."""
    if value in (None, ""):
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        return fmt.fecha(value.astimezone(CHILE), with_time=True)
    return fmt.fecha(value)


def light_name(light: str | None) -> str:
    return LIGHT_NAMES_ES.get(Light(light), light) if light else "—"


# Numbers, scores and percentages read the same on the pages, in the PDF and in messages.
templates.env.filters.update(
    fecha=fecha,
    numero=numero,
    porcentaje=fmt.porcentaje,
    puntaje=fmt.puntaje,
    luz=light_name,
    rut=rut,
    cantidad=fmt.cantidad,
    puntos=fmt.puntos,
)
templates.env.globals.update(light_name=light_name, light_message=light_message, LIGHT_ICONS=LIGHT_ICONS)


def csrf_token(request: Request) -> str | None:
    return getattr(request.state, "csrf_token", None)


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    data = {
        "user": getattr(request.state, "viewer", None),  # plain values: no database session needed
        "csrf_token": csrf_token(request),
        "flash": _read_flash(request.cookies.get(FLASH_COOKIE)),
    }
    data.update(context or {})
    response = templates.TemplateResponse(request, name, data, status_code=status_code)
    if FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def redirect(url: str, *, flash: str | None = None) -> RedirectResponse:
    """A 303 after a form post (so a reload never posts twice), with an optional message."""
    response = RedirectResponse(url, status_code=303)
    if flash:
        response.set_cookie(FLASH_COOKIE, _written_flash(flash), max_age=60, path="/", httponly=True, samesite="lax")
    return response


#: A message longer than this is cut: a cookie holds about 4 KB.
FLASH_LIMIT = 600


def _written_flash(message: str) -> str:
    """The message as a cookie can carry it whatever its letters (a cooperative's name in any
    script): base64url of its UTF-8 bytes."""
    return base64.urlsafe_b64encode(message[:FLASH_LIMIT].encode("utf-8")).decode("ascii")


def _read_flash(value: str | None) -> str | None:
    """The message of a flash cookie; None when it is not one this application wrote."""
    if not value or len(value) > 4 * FLASH_LIMIT:
        return None
    try:
        message = base64.urlsafe_b64decode(value.encode("ascii")).decode("utf-8")
    except (ValueError, UnicodeError):
        return None
    return None if text_problem(message, "aviso") else message
