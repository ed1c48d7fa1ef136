"""The words of every e-mail coopdiag sends, in one place: short plain-text messages in
Spanish (es-CL), each a (subject, body) pair built from a small Jinja2 text template.

Links are absolute: ``Settings.public_url`` (where people reach coopdiag) plus the page's
path. Dates are written as the pages write them (``reports.formatting.fecha``, Chile's time).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment, StrictUndefined

from app.settings import Settings
from reports.formatting import fecha

_env = Environment(autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True, trim_blocks=True)
_env.filters["fecha"] = lambda value: fecha(value, with_time=True)

#: After the standard signature separator ("-- ", with its space), which mail clients recognise.
SIGNATURE = "\n-- \ncoopdiag, autodiagnóstico de cooperativas\nEste mensaje se envió automáticamente; no lo responda.\n"

_INVITATION = _env.from_string(
    """Hola, {{ name }}:

{{ inviter }} le envía una invitación a coopdiag, el sistema de autodiagnóstico de cooperativas, con el rol de {{ role }}.

Para crear su cuenta, abra este enlace y elija una contraseña:
{{ link }}

El enlace sirve una sola vez y vence el {{ expires_at | fecha }}. Si no esperaba esta invitación, puede ignorar este correo.
"""
)

_PASSWORD_RESET = _env.from_string(
    """Hola, {{ name }}:

Recibimos una solicitud para cambiar la contraseña de su cuenta de coopdiag ({{ email }}).

Para elegir una contraseña nueva, abra este enlace:
{{ link }}

El enlace sirve una sola vez y vence en una hora ({{ expires_at | fecha }}). Si usted no lo pidió, ignore este correo: su contraseña no cambia.
"""
)

_ACCESS_ADDED = _env.from_string(
    """Hola, {{ name }}:

{{ by }} le dio acceso en coopdiag a {{ what }}, además de lo que ya tenía asignado.

Entre con su correo y su contraseña de siempre; lo verá en su página de inicio:
{{ link }}
"""
)

_RETURNED = _env.from_string(
    """Hola, {{ name }}:

El equipo de análisis devolvió el diagnóstico de {{ cooperative }} ({{ round }}) para que lo corrija.

Comentario del equipo de análisis:
{{ comment }}

Puede revisarlo y enviarlo de nuevo aquí:
{{ link }}
"""
)

_VALIDATED = _env.from_string(
    """Hola, {{ name }}:

El equipo de análisis validó el diagnóstico de {{ cooperative }} ({{ round }}). Sus resultados ya son definitivos.

Puede verlos aquí:
{{ link }}
"""
)


def link(settings: Settings, path: str) -> str:
    """The absolute address of a page for an e-mail."""
    return settings.public_url.rstrip("/") + path


def _message(subject: str, template: Any, **values: Any) -> tuple[str, str]:
    return subject, template.render(**values).rstrip() + "\n" + SIGNATURE


def invitation(
    *, settings: Settings, name: str, inviter: str, role: str, path: str, expires_at: datetime
) -> tuple[str, str]:
    return _message(
        "Invitación a coopdiag",
        _INVITATION,
        name=name,
        inviter=inviter,
        role=role,
        link=link(settings, path),
        expires_at=expires_at,
    )


def access_added(*, settings: Settings, name: str, by: str, what: str, path: str) -> tuple[str, str]:
    """An existing account was given more cooperatives (or macrozones) instead of an invitation."""
    return _message("Nuevo acceso en coopdiag", _ACCESS_ADDED, name=name, by=by, what=what, link=link(settings, path))


def password_reset(*, settings: Settings, name: str, email: str, path: str, expires_at: datetime) -> tuple[str, str]:
    return _message(
        "Cambio de contraseña en coopdiag",
        _PASSWORD_RESET,
        name=name,
        email=email,
        link=link(settings, path),
        expires_at=expires_at,
    )


def response_returned(
    *, settings: Settings, name: str, cooperative: str, round_name: str, comment: str, path: str
) -> tuple[str, str]:
    return _message(
        f"Su diagnóstico fue devuelto: {cooperative}",
        _RETURNED,
        name=name,
        cooperative=cooperative,
        round=round_name,
        comment=comment.strip() or "(sin comentario)",
        link=link(settings, path),
    )


def response_validated(
    *, settings: Settings, name: str, cooperative: str, round_name: str, path: str
) -> tuple[str, str]:
    return _message(
        f"Su diagnóstico fue validado: {cooperative}",
        _VALIDATED,
        name=name,
        cooperative=cooperative,
        round=round_name,
        link=link(settings, path),
    )
