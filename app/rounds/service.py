"""Diagnosis rounds: create, change and read them; the questionnaire a round uses.

Every function is keyword-only, takes the database ``session`` and, when it acts for a
person, the acting ``user``; authorization is checked by the views with ``app.auth.policy``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import Conflict, Invalid, NotFound
from app.questionnaires.models import QuestionnaireVersion
from app.rounds.models import ROUND_STATE_LABELS, DiagnosisRound, RoundState
from app.unit_of_work import unique

if TYPE_CHECKING:
    from app.auth.models import User
    from scoring.model import Questionnaire

# --------------------------------------------------------------------------- questionnaire cache

_CACHE_SIZE = 32
_questionnaire_cache: OrderedDict[str, Questionnaire] = OrderedDict()
_cache_lock = threading.Lock()


def questionnaire_of_version(version: QuestionnaireVersion) -> Questionnaire:
    """The parsed questionnaire of a registered version, cached in-process by content hash.

    The stored ``source`` is frozen for a registered version, so the hash identifies the
    parsed result; a small LRU keeps the few versions in use.
    """
    from scoring import load_questionnaire

    key = version.content_hash
    with _cache_lock:
        cached = _questionnaire_cache.get(key)
        if cached is not None:
            _questionnaire_cache.move_to_end(key)
            return cached
    questionnaire = load_questionnaire(version.source, source=f"{version.questionnaire_id} {version.version}")
    with _cache_lock:
        _questionnaire_cache[key] = questionnaire
        _questionnaire_cache.move_to_end(key)
        while len(_questionnaire_cache) > _CACHE_SIZE:
            _questionnaire_cache.popitem(last=False)
    return questionnaire


def get_round_questionnaire(*, session: Session, round: DiagnosisRound) -> Questionnaire:  # noqa: A002
    """The parsed questionnaire (``scoring.Questionnaire``) the round's responses answer."""
    version = round.questionnaire_version
    if version is None:  # not loaded (e.g. a round built in memory): fetch it
        version = session.get(QuestionnaireVersion, round.questionnaire_version_id)
        if version is None:
            raise NotFound("La versión de cuestionario de la ronda no existe.")
    return questionnaire_of_version(version)


# --------------------------------------------------------------------------- rounds


def get_round(*, session: Session, round_id: int) -> DiagnosisRound:
    diagnosis_round = session.get(DiagnosisRound, round_id)
    if diagnosis_round is None:
        raise NotFound(f"No existe la ronda de diagnóstico {round_id}.")
    return diagnosis_round


def list_rounds_statement(*, state: str | None = None):
    statement = select(DiagnosisRound).order_by(DiagnosisRound.opens_on.desc(), DiagnosisRound.id.desc())
    if state is not None:
        statement = statement.where(DiagnosisRound.state == state)
    return statement


def round_response_count(*, session: Session, round_id: int) -> int:
    from app.responses.models import Response

    return session.scalar(select(func.count()).select_from(Response).where(Response.round_id == round_id)) or 0


def resolve_questionnaire_version(
    *,
    session: Session,
    questionnaire_version_id: int | None = None,
    questionnaire_id: str | None = None,
    version: str | None = None,
) -> QuestionnaireVersion:
    """A registered version, by row id or by (questionnaire id, version)."""
    if questionnaire_version_id is not None:
        row = session.get(QuestionnaireVersion, questionnaire_version_id)
        if row is None:
            raise Invalid(
                "La versión de cuestionario indicada no está registrada.",
                details=[
                    {
                        "field": "questionnaire_version_id",
                        "code": "unknown_questionnaire_version",
                        "message": f"no existe la versión de cuestionario {questionnaire_version_id}",
                    }
                ],
            )
        return row
    if not questionnaire_id or not version:
        raise Invalid(
            "Indique la versión del cuestionario: 'questionnaire_version_id', o bien 'questionnaire_id' y 'version'.",
            details=[
                {
                    "field": "questionnaire_version_id",
                    "code": "missing",
                    "message": "indique 'questionnaire_version_id', o 'questionnaire_id' y 'version'",
                }
            ],
        )
    row = session.scalar(
        select(QuestionnaireVersion).where(
            QuestionnaireVersion.questionnaire_id == questionnaire_id, QuestionnaireVersion.version == version
        )
    )
    if row is None:
        raise Invalid(
            f"La versión '{version}' del cuestionario '{questionnaire_id}' no está registrada.",
            details=[
                {
                    "field": "version",
                    "code": "unknown_questionnaire_version",
                    "message": f"el cuestionario '{questionnaire_id}' no tiene registrada la versión '{version}'",
                }
            ],
        )
    return row


#: Sensible bounds for a round's dates: none before the system's first year, none further
#: ahead than the next decade, and a round lasting at most about three years.
FIRST_ROUND_YEAR = 2000
YEARS_AHEAD = 10
MAX_ROUND_DAYS = 3 * 366


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _check_date_bounds(opens_on: date, closes_on: date, today: date) -> None:
    latest = _years_after(today, YEARS_AHEAD)
    details = []
    for name, label, value in (("opens_on", "apertura", opens_on), ("closes_on", "cierre", closes_on)):
        if value.year < FIRST_ROUND_YEAR:
            message = f"la fecha de {label} debe ser del año {FIRST_ROUND_YEAR} o posterior"
            details.append({"field": name, "code": "too_old", "message": message})
        elif value > latest:
            message = f"la fecha de {label} no puede ser posterior al {latest.strftime('%d-%m-%Y')} ({YEARS_AHEAD} años desde hoy)"
            details.append({"field": name, "code": "too_far", "message": message})
    if not details and (closes_on - opens_on).days > MAX_ROUND_DAYS:
        message = "una ronda puede durar a lo sumo 3 años entre la apertura y el cierre"
        details.append({"field": "closes_on", "code": "too_long", "message": message})
    if details:
        raise Invalid(
            "Las fechas de la ronda no son válidas: " + "; ".join(d["message"] for d in details) + ".",
            details=details,
        )


def _check_dates(opens_on: date, closes_on: date, today: date | None = None) -> None:
    _check_date_bounds(opens_on, closes_on, today or date.today())
    if closes_on < opens_on:
        raise Invalid(
            "La fecha de cierre ('closes_on') no puede ser anterior a la de apertura ('opens_on').",
            details=[
                {
                    "field": "closes_on",
                    "code": "before_opens_on",
                    "message": f"la fecha de cierre {closes_on.isoformat()} es anterior a la de apertura "
                    f"{opens_on.isoformat()}",
                }
            ],
        )


def _check_name_free(session: Session, name: str, exclude_id: int | None = None) -> None:
    statement = select(DiagnosisRound).where(func.lower(DiagnosisRound.name) == name.lower())
    if exclude_id is not None:
        statement = statement.where(DiagnosisRound.id != exclude_id)
    existing = session.scalar(statement)
    if existing is not None:
        raise Conflict(
            f"Ya existe una ronda de diagnóstico llamada «{existing.name}» (id {existing.id}).",
            code="duplicate_name",
            details=[{"field": "name", "code": "duplicate", "message": "ya existe una ronda con este nombre"}],
        )


def create_round(
    *,
    session: Session,
    user: User | None,
    name: str,
    opens_on: date,
    closes_on: date,
    state: str = RoundState.PLANNED.value,
    questionnaire_version_id: int | None = None,
    questionnaire_id: str | None = None,
    version: str | None = None,
) -> DiagnosisRound:
    """Create a round (the caller has checked ``can_manage_rounds``), in the caller's unit of work."""
    name = name.strip()
    _check_dates(opens_on, closes_on)
    row = resolve_questionnaire_version(
        session=session,
        questionnaire_version_id=questionnaire_version_id,
        questionnaire_id=questionnaire_id,
        version=version,
    )
    _check_name_free(session, name)
    diagnosis_round = DiagnosisRound(
        name=name,
        questionnaire_version_id=row.id,
        opens_on=opens_on,
        closes_on=closes_on,
        state=RoundState(state).value,
    )
    with unique(session, _name_taken(name)):
        session.add(diagnosis_round)
    session.refresh(diagnosis_round)
    return diagnosis_round


def update_round(
    *,
    session: Session,
    user: User | None,
    round: DiagnosisRound,  # noqa: A002
    changes: dict[str, Any],
) -> DiagnosisRound:
    """Apply ``changes`` (only the fields sent), in the caller's unit of work.

    Changing the questionnaire version of a round that already has responses is refused
    (409): those responses answer the version they were started with.
    """
    diagnosis_round = round
    name = changes.get("name")
    if name is not None:
        name = name.strip()
        if name != diagnosis_round.name:
            _check_name_free(session, name, exclude_id=diagnosis_round.id)
    opens_on = changes.get("opens_on") or diagnosis_round.opens_on
    closes_on = changes.get("closes_on") or diagnosis_round.closes_on
    _check_dates(opens_on, closes_on)

    new_version_id = None
    if any(changes.get(key) is not None for key in ("questionnaire_version_id", "questionnaire_id", "version")):
        questionnaire_id = changes.get("questionnaire_id")
        version = changes.get("version")
        if changes.get("questionnaire_version_id") is None and (questionnaire_id is None) != (version is None):
            current = diagnosis_round.questionnaire_version
            questionnaire_id = questionnaire_id or current.questionnaire_id
            version = version or current.version
        row = resolve_questionnaire_version(
            session=session,
            questionnaire_version_id=changes.get("questionnaire_version_id"),
            questionnaire_id=questionnaire_id,
            version=version,
        )
        if row.id != diagnosis_round.questionnaire_version_id:
            count = round_response_count(session=session, round_id=diagnosis_round.id)
            if count:
                raise Conflict(
                    f"La ronda «{diagnosis_round.name}» ya tiene {count} respuesta(s): no se puede "
                    "cambiar su versión de cuestionario.",
                    code="round_has_responses",
                    details=[
                        {
                            "field": "questionnaire_version_id",
                            "code": "round_has_responses",
                            "message": "la ronda ya tiene respuestas con la versión actual",
                        }
                    ],
                )
            new_version_id = row.id

    if name is not None:
        diagnosis_round.name = name
    diagnosis_round.opens_on = opens_on
    diagnosis_round.closes_on = closes_on
    if changes.get("state") is not None:
        diagnosis_round.state = RoundState(changes["state"]).value
    if new_version_id is not None:
        diagnosis_round.questionnaire_version_id = new_version_id
    with unique(session, _name_taken(diagnosis_round.name)):
        pass  # the changes above are flushed here
    session.refresh(diagnosis_round)
    return diagnosis_round


def _name_taken(name: str) -> Callable[[], Conflict]:
    """A concurrent request took the name after the check."""
    return lambda: Conflict(
        f"Ya existe una ronda de diagnóstico llamada «{name}».",
        code="duplicate_name",
        details=[{"field": "name", "code": "duplicate", "message": "ya existe una ronda con este nombre"}],
    )


def response_counts(*, session: Session, round_ids: list[int], current_only: bool = False) -> dict[int, int]:
    """Responses per round: every revision, or (``current_only``) one per cooperative, its
    current revision, as the analyst's pages count them."""
    from app.responses.models import Response

    if not round_ids:
        return {}
    statement = select(Response.round_id, func.count()).where(Response.round_id.in_(round_ids))
    if current_only:
        statement = statement.where(Response.is_current.is_(True))
    rows = session.execute(statement.group_by(Response.round_id))
    return {round_id: count for round_id, count in rows}


def to_dict(diagnosis_round: DiagnosisRound, response_count: int) -> dict[str, Any]:
    version = diagnosis_round.questionnaire_version
    return {
        "id": diagnosis_round.id,
        "name": diagnosis_round.name,
        "opens_on": diagnosis_round.opens_on,
        "closes_on": diagnosis_round.closes_on,
        "state": diagnosis_round.state,
        "state_label": ROUND_STATE_LABELS.get(diagnosis_round.state, diagnosis_round.state).capitalize(),
        "questionnaire_version_id": diagnosis_round.questionnaire_version_id,
        "questionnaire": {
            "id": version.id,
            "questionnaire_id": version.questionnaire_id,
            "version": version.version,
            "title": version.title,
            "content_hash": version.content_hash,
        },
        "response_count": response_count,
        "created_at": diagnosis_round.created_at,
    }


def list_rounds(*, session: Session, params, state: str | None = None) -> dict[str, Any]:
    from app.pagination import page_of, paginate

    rows, total = paginate(session, list_rounds_statement(state=state), params)
    counts = response_counts(session=session, round_ids=[row.id for row in rows])
    return page_of([to_dict(row, counts.get(row.id, 0)) for row in rows], total, params)


def round_dict(*, session: Session, round: DiagnosisRound) -> dict[str, Any]:  # noqa: A002
    return to_dict(round, round_response_count(session=session, round_id=round.id))
