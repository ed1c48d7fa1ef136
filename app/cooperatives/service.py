"""The cooperative registry: search, register, change and approve cooperatives.

Every function is keyword-only and takes the database ``session``; those acting for a
person take the acting ``user``. Authorization decisions come from ``app.auth.policy``
(views check them; the list query applies ``cooperative_visibility``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.orm import Session

from app.auth import policy
from app.auth.models import User, UserCooperative
from app.cooperatives.models import COOPERATIVE_STATE_LABELS, LEGAL_TYPE_LABELS, Cooperative
from app.cooperatives.schemas import (
    REQUIRED_FIELDS,
    format_rut,
    normalize_rut,
)
from app.cooperatives.sectors import SECTORS, sector_label
from app.errors import Conflict, Forbidden, Invalid, NotFound
from app.pagination import PageParams, page_of, paginate
from app.settings import REGIONS, Settings
from app.unit_of_work import unique

# --------------------------------------------------------------------------- search helpers

_ACCENTS = [
    ("Á", "a"),
    ("É", "e"),
    ("Í", "i"),
    ("Ó", "o"),
    ("Ú", "u"),
    ("Ü", "u"),
    ("Ñ", "n"),
    ("á", "a"),
    ("é", "e"),
    ("í", "i"),
    ("ó", "o"),
    ("ú", "u"),
    ("ü", "u"),
    ("ñ", "n"),
]


def fold_text(value: str) -> str:
    """Lower case without accents (Python side of the search)."""
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def _fold_column(column):
    """Lower case without Spanish accents, in SQL that SQLite and PostgreSQL both run
    (SQLite's lower() only knows ASCII, so accented capitals are replaced first)."""
    expression = column
    for accented, plain in _ACCENTS:
        expression = func.replace(expression, accented, plain)
    return func.lower(expression)


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_RUT_LIKE = re.compile(r"^[0-9.\s]+(-?\s*[0-9kK])?$")


@dataclass(frozen=True)
class CooperativeFilters:
    q: str | None = None
    region: int | None = None
    macrozone: str | None = None
    sector: str | None = None
    legal_type: str | None = None
    state: str | None = None
    approved: bool | None = None


def _filter_error(field: str, message: str) -> Invalid:
    return Invalid(
        f"El filtro '{field}' no es válido: {message}.",
        details=[{"field": field, "code": "invalid", "message": message}],
    )


def list_statement(*, user: User, settings: Settings, filters: CooperativeFilters):
    """The SELECT of the cooperatives ``user`` may see that match ``filters``, by name."""
    statement = select(Cooperative).where(policy.cooperative_visibility(user, settings))
    if filters.q and filters.q.strip():
        q = filters.q.strip()
        conditions = [_fold_column(Cooperative.name).like(f"%{_escape_like(fold_text(q))}%", escape="\\")]
        if _RUT_LIKE.match(q):
            digits = re.sub(r"[^0-9kK]", "", q).upper()
            if len(digits) >= 3:
                conditions.append(func.replace(Cooperative.rut, "-", "").like(f"%{digits}%"))
        statement = statement.where(or_(*conditions))
    if filters.region is not None:
        if filters.region not in REGIONS:
            raise _filter_error("region", f"{filters.region} no es un código de región (1 a 16)")
        statement = statement.where(Cooperative.region_code == filters.region)
    if filters.macrozone is not None:
        codes = settings.macrozones.get(filters.macrozone)
        if codes is None:
            raise _filter_error(
                "macrozone", f"«{filters.macrozone}» no es una macrozona (" + ", ".join(settings.macrozones) + ")"
            )
        statement = statement.where(Cooperative.region_code.in_(sorted(codes)))
    if filters.sector is not None:
        if filters.sector not in SECTORS:
            raise _filter_error("sector", f"«{filters.sector}» no es un rubro conocido")
        # Codes are ASCII identifiers, so their JSON text is the same on every backend.
        statement = statement.where(cast(Cooperative.sectors, String).like(f'%"{filters.sector}"%'))
    if filters.legal_type is not None:
        statement = statement.where(Cooperative.legal_type == filters.legal_type)
    if filters.state is not None:
        statement = statement.where(Cooperative.state == filters.state)
    if filters.approved is not None:
        statement = statement.where(Cooperative.approved == filters.approved)
    return statement.order_by(Cooperative.name, Cooperative.id)


def list_cooperatives(
    *, session: Session, user: User, settings: Settings, filters: CooperativeFilters, params: PageParams
) -> dict[str, Any]:
    rows, total = paginate(session, list_statement(user=user, settings=settings, filters=filters), params)
    return page_of([to_dict(row, settings) for row in rows], total, params)


# --------------------------------------------------------------------------- reading


def to_dict(cooperative: Cooperative, settings: Settings) -> dict[str, Any]:
    """The API representation, with the derived macrozone and Spanish labels."""
    women, men = cooperative.members_women, cooperative.members_men
    total = None if women is None and men is None else (women or 0) + (men or 0)
    return {
        "id": cooperative.id,
        "rut": cooperative.rut,
        "rut_formatted": format_rut(cooperative.rut),
        "name": cooperative.name,
        "daes_number": cooperative.daes_number,
        "legal_type": cooperative.legal_type,
        "legal_type_label": LEGAL_TYPE_LABELS.get(cooperative.legal_type, cooperative.legal_type),
        "state": cooperative.state,
        "state_label": COOPERATIVE_STATE_LABELS.get(cooperative.state, cooperative.state),
        "legally_current": cooperative.legally_current,
        "region_code": cooperative.region_code,
        "region_name": REGIONS.get(cooperative.region_code, str(cooperative.region_code)),
        "macrozone": settings.macrozone_of(cooperative.region_code),
        "comuna": cooperative.comuna,
        "sectors": list(cooperative.sectors or []),
        "sector_labels": [sector_label(code) for code in cooperative.sectors or []],
        "members_women": women,
        "members_men": men,
        "members_under_35": cooperative.members_under_35,
        "members_total": total,
        "founding_year": cooperative.founding_year,
        "contact_name": cooperative.contact_name,
        "contact_email": cooperative.contact_email,
        "contact_phone": cooperative.contact_phone,
        "approved": cooperative.approved,
        "notes": cooperative.notes,
        "created_at": cooperative.created_at,
        "updated_at": cooperative.updated_at,
    }


def get_visible_cooperative(*, session: Session, user: User, settings: Settings, cooperative_id: int) -> Cooperative:
    """The cooperative, or 404 when it does not exist or ``user`` may not see it."""
    cooperative = session.get(Cooperative, cooperative_id)
    if cooperative is None or not policy.can_view_cooperative(user, cooperative, settings):
        raise NotFound(f"No existe la cooperativa {cooperative_id}.")
    return cooperative


def regions(*, settings: Settings) -> list[dict[str, Any]]:
    return [{"code": code, "name": name, "macrozone": settings.macrozone_of(code)} for code, name in REGIONS.items()]


# --------------------------------------------------------------------------- changing


def _check_consistency(values: dict[str, Any], today: date) -> None:
    """Checks across fields and against the clock, with Spanish messages naming the field."""
    details = []
    year = values.get("founding_year")
    if year is not None and not 1900 <= year <= today.year:
        details.append(
            {
                "field": "founding_year",
                "code": "out_of_range",
                "message": f"el año de fundación debe estar entre 1900 y {today.year}",
            }
        )
    under_35 = values.get("members_under_35")
    women, men = values.get("members_women"), values.get("members_men")
    if under_35 is not None and (women is not None or men is not None):
        total = (women or 0) + (men or 0)
        if under_35 > total:
            details.append(
                {
                    "field": "members_under_35",
                    "code": "exceeds_total",
                    "message": f"los socios menores de 35 ({under_35}) no pueden ser más que el total de socios ({total})",
                }
            )
    if details:
        raise Invalid(
            "Hay datos no válidos en la cooperativa: " + "; ".join(d["message"] for d in details) + ".", details=details
        )


def _check_rut_free(
    session: Session, rut: str, *, user: User | None, settings: Settings, exclude_id: int | None = None
) -> None:
    """Refuse a RUT already registered (409). Who may see that cooperative is told which one it
    is, with its id; anyone else gets the same status with a neutral message that names no
    record (a field team member must not learn the registry of other regions this way)."""
    statement = select(Cooperative).where(Cooperative.rut == rut)
    if exclude_id is not None:
        statement = statement.where(Cooperative.id != exclude_id)
    existing = session.scalar(statement)
    if existing is None:
        return
    if user is None or policy.can_view_cooperative(user, existing, settings):
        raise _duplicate_rut(existing)
    raise _rut_unavailable()


#: What someone who may not see the cooperative holding a RUT is told (no name, region or id).
RUT_UNAVAILABLE_MESSAGE = "No se puede registrar este RUT; si cree que es un error, contacte al equipo de ODEPA."


def _rut_unavailable() -> Conflict:
    return Conflict(
        RUT_UNAVAILABLE_MESSAGE,
        code="rut_unavailable",
        details=[{"field": "rut", "code": "unavailable", "message": RUT_UNAVAILABLE_MESSAGE}],
    )


def _duplicate_rut(existing: Cooperative) -> Conflict:
    named = f" «{existing.name}»"
    return Conflict(
        f"Ya está registrada la cooperativa{named} con el RUT {format_rut(existing.rut)}.",
        code="duplicate_rut",
        details=[
            {
                "field": "rut",
                "code": "duplicate",
                "message": f"el RUT {format_rut(existing.rut)} ya está registrado para{named}",
            }
        ],
        extra={"existing": {"id": existing.id, "url": f"/api/v1/cooperatives/{existing.id}", "rut": existing.rut}},
    )


def _rut_taken_meanwhile(rut: str) -> Callable[[], Conflict]:
    """A concurrent request registered the same RUT after the check: the neutral refusal (the
    transaction has failed, so who may see the other cooperative cannot be read)."""
    return _rut_unavailable


def create_cooperative(
    *, session: Session, user: User, settings: Settings, data: dict[str, Any], today: date | None = None
) -> Cooperative:
    """Register a cooperative (in the caller's unit of work). ``data`` is a validated ``CooperativeCreate`` dump.

    Staff register it approved. A field team member's registration is not approved until
    an analyst approves it, and is assigned to them so they can see it and interview it.
    """
    if not policy.can_register_cooperative(user):
        raise Forbidden("Su rol no permite registrar cooperativas.")
    today = today or date.today()
    _check_consistency(data, today)
    _check_rut_free(session, data["rut"], user=user, settings=settings)
    cooperative = Cooperative(**data)
    cooperative.approved = policy.is_staff(user)
    with unique(session, _rut_taken_meanwhile(data["rut"])):
        session.add(cooperative)
    if not cooperative.approved:
        session.add(UserCooperative(user_id=user.id, cooperative_id=cooperative.id))
        session.flush()
    session.refresh(cooperative)
    if not cooperative.approved:
        session.refresh(user)  # its cooperative links now include the new one
    return cooperative


def update_cooperative(
    *,
    session: Session,
    user: User,
    settings: Settings,
    cooperative: Cooperative,
    changes: dict[str, Any],
    today: date | None = None,
) -> Cooperative:
    """Apply a validated ``CooperativeUpdate`` dump (only the fields sent), in the caller's unit of work."""
    if not policy.can_edit_cooperative(user, cooperative, settings):
        raise Forbidden("No tiene permiso para modificar esta cooperativa.")
    allowed = policy.cooperative_fields_editable_by(user, cooperative, settings)
    if allowed is not None:
        refused = sorted(set(changes) - set(allowed))
        if refused:
            raise Forbidden(
                "Solo puede modificar los datos de contacto de la cooperativa ("
                + ", ".join(sorted(allowed))
                + "); no: "
                + ", ".join(refused)
                + ".",
                details=[
                    {"field": name, "code": "not_editable", "message": "no puede modificar este campo"}
                    for name in refused
                ],
            )
    cleared = [name for name in REQUIRED_FIELDS if name in changes and changes[name] is None]
    if cleared:
        raise Invalid(
            "Estos campos no pueden quedar vacíos: " + ", ".join(cleared) + ".",
            details=[
                {"field": name, "code": "required", "message": "este campo no puede quedar vacío"} for name in cleared
            ],
        )
    merged = {
        name: changes.get(name, getattr(cooperative, name))
        for name in ("founding_year", "members_women", "members_men", "members_under_35")
    }
    _check_consistency(merged, today or date.today())
    if "rut" in changes and changes["rut"] != cooperative.rut:
        _check_rut_free(session, changes["rut"], user=user, settings=settings, exclude_id=cooperative.id)
    with unique(session, _rut_taken_meanwhile(changes.get("rut", cooperative.rut))):
        for name, value in changes.items():
            setattr(cooperative, name, value)
    session.refresh(cooperative)
    return cooperative


def approve_cooperative(*, session: Session, user: User, settings: Settings, cooperative: Cooperative) -> Cooperative:
    """An analyst or admin approves a cooperative registered by a field team; idempotent."""
    if not policy.can_approve_cooperative(user):
        raise Forbidden("Solo un analista o un administrador puede aprobar cooperativas.")
    if not cooperative.approved:
        cooperative.approved = True
        session.flush()
    return cooperative


def find_by_rut(*, session: Session, rut: str) -> Cooperative | None:
    """The cooperative with this RUT (any format), or None (also for an invalid RUT)."""
    try:
        normalized = normalize_rut(rut)
    except ValueError:
        return None
    return session.scalar(select(Cooperative).where(Cooperative.rut == normalized))


__all__ = [
    "CooperativeFilters",
    "approve_cooperative",
    "create_cooperative",
    "find_by_rut",
    "fold_text",
    "get_visible_cooperative",
    "list_cooperatives",
    "list_statement",
    "regions",
    "to_dict",
    "update_cooperative",
]
