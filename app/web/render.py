"""Rendering of the web pages: one Jinja2 environment with es-CL formatting filters.

Every page gets ``user`` and ``csrf_token`` (for the hidden field of its forms) and the
flash messages of the previous redirect.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from scoring import LIGHT_MESSAGES, LIGHT_NAMES_ES, Light

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
LOCALE = "es_CL"
CHILE = ZoneInfo("America/Santiago")
FLASH_COOKIE = "coopdiag_flash"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


def fecha(value: date | datetime | str | None, format: str = "long") -> str:
    if value in (None, ""):
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        return format_datetime(value.astimezone(CHILE), "d 'de' MMMM 'de' y, HH:mm", locale=LOCALE)
    return format_date(value, format=format, locale=LOCALE)


def numero(value: float | int | None, decimals: int | None = None) -> str:
    if value is None:
        return "—"
    if decimals is not None:
        return format_decimal(value, format="#,##0." + "0" * decimals if decimals else "#,##0", locale=LOCALE)
    return format_decimal(value, locale=LOCALE)


def porcentaje(value: float | None) -> str:
    """A [0, 1] fraction as a percentage (0,85 → 85 %)."""
    return "—" if value is None else format_percent(value, locale=LOCALE)


LIGHT_ICONS = {"green": "●", "yellow": "▲", "red": "■", "insufficient_data": "?", "not_applicable": "–"}


def light_name(light: str | None) -> str:
    return LIGHT_NAMES_ES.get(Light(light), light) if light else "—"


def light_message(light: str | None) -> str:
    return LIGHT_MESSAGES.get(Light(light), "") if light else ""


def rut(value: str | None) -> str:
    """A stored RUT (76123456-7) as people write it (76.123.456-7)."""
    from app.cooperatives.schemas import format_rut

    return format_rut(value) if value else "—"


templates.env.filters.update(fecha=fecha, numero=numero, porcentaje=porcentaje, luz=light_name, rut=rut)
templates.env.globals.update(light_name=light_name, light_message=light_message, LIGHT_ICONS=LIGHT_ICONS)


def csrf_token(request: Request) -> str | None:
    web_session = getattr(request.state, "web_session", None)
    return web_session.csrf_token if web_session is not None else None


def render(request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200) -> HTMLResponse:
    data = {
        "user": getattr(request.state, "user", None),
        "csrf_token": csrf_token(request),
        "flash": request.cookies.get(FLASH_COOKIE),
    }
    data.update(context or {})
    response = templates.TemplateResponse(request, name, data, status_code=status_code)
    if data["flash"]:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def redirect(url: str, *, flash: str | None = None) -> RedirectResponse:
    """A 303 after a form post (so a reload never posts twice), with an optional message."""
    response = RedirectResponse(url, status_code=303)
    if flash:
        response.set_cookie(FLASH_COOKIE, flash, max_age=60, path="/", httponly=True, samesite="lax")
    return response
