"""Responses: creation (idempotent), autosave of answers, lifecycle, revisions, audit trail.

Every write names the version it read (optimistic concurrency): the row is updated with
``WHERE version = <read version>`` and the version bumped in the same statement, so of two
concurrent writers exactly one wins and the other gets 409 with the current state; nothing is
ever overwritten silently. Services work inside the caller's unit of work
(``app/unit_of_work.py``) and never commit.

Authorization is asked of ``app.auth.policy``: a response of a cooperative the user may not
see is answered with 404; one they may see but not act on, with 403.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from functools import cache
from typing import Any

import orjson
import pydantic_core
from sqlalchemy import Select, Update, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, load_only
from sqlalchemy.orm.attributes import set_committed_value

import scoring
from app.auth import policy
from app.auth.models import Role, User, UserCooperative
from app.cooperatives.models import Cooperative
from app.errors import Conflict, Forbidden, Invalid, NotFound
from app.notifications import messages
from app.notifications.service import queue_email
from app.observatory import publishing as observatory
from app.pagination import PageParams, paginate
from app.questionnaires.models import QuestionnaireVersion
from app.reports.queueing import request_report, withdraw_report
from app.responses import lifecycle
from app.responses.lifecycle import (  # noqa: F401 - re-exported: the importers and pages use them from here
    INTERVIEW_FIELD_ES,
    INTERVIEW_FIELDS,
    ROUND_STATE_ES,
    consistency_details,
    consistency_errors,
    snapshot_of,
    submission_snapshot,
)
from app.responses.models import (
    MODE_LABELS,
    STATUS_LABELS,
    Response,
    ResponseEvent,
    ResponseMode,
    ResponseStatus,
)
from app.rounds.models import DiagnosisRound
from app.rounds.service import get_round_questionnaire
from app.settings import Settings
from app.user_input import check_text

STATUS_ES = STATUS_LABELS  # the names the pages and exports have used
MODE_ES = MODE_LABELS
EDITABLE = (ResponseStatus.DRAFT.value, ResponseStatus.RETURNED.value)
MAX_IDEMPOTENCY_KEY = 100


def _now() -> datetime:
    return datetime.now(timezone.utc)


# --------------------------------------------------------------------------- questionnaires


def round_questionnaire(*, session: Session, round: DiagnosisRound) -> scoring.Questionnaire:  # noqa: A002
    """The questionnaire the round's responses answer (parsed once per content hash)."""
    return get_round_questionnaire(session=session, round=round)


# --------------------------------------------------------------------------- serialisation


def result_summary(snapshot: dict[str, Any] | None) -> dict[str, Any] | None:
    if not snapshot:
        return None
    return {
        "overall": snapshot.get("overall", {}),
        "dimensions": [
            {key: dimension.get(key) for key in ("id", "score", "light", "coverage")}
            for dimension in snapshot.get("dimensions", [])
        ],
    }


def response_dict(response: Response) -> dict[str, Any]:
    """The full JSON of a response (also the 'current state' of a 409)."""
    return _response_fields(response, _iso)


def response_json(response: Response) -> bytes:
    """``response_dict`` serialised as the API's ``ResponseOut`` model serialises it (UTC
    datetimes end in ``Z``), byte for byte, without building and validating the model: the
    autosave answers with this."""
    return pydantic_core.to_json(_response_fields(response, _utc))


def _response_fields(response: Response, moment: Callable[[datetime | None], Any]) -> dict[str, Any]:
    return {
        "id": response.id,
        "cooperative_id": response.cooperative_id,
        "round_id": response.round_id,
        "revision": response.revision,
        "is_current": response.is_current,
        "previous_revision_id": response.previous_revision_id,
        "mode": response.mode,
        "status": response.status,
        "version": response.version,
        "answers": dict(response.answers or {}),
        "interviewer_name": response.interviewer_name,
        "institution": response.institution,
        "interview_date": response.interview_date.isoformat() if response.interview_date else None,
        "interview_place": response.interview_place,
        "interviewee_role": response.interviewee_role,
        "return_comment": response.return_comment,
        "created_by_id": response.created_by_id,
        "created_at": moment(response.created_at),
        "updated_at": moment(response.updated_at),
        "submitted_at": moment(response.submitted_at),
        "submitted_by_id": response.submitted_by_id,
        "validated_at": moment(response.validated_at),
        "validated_by_id": response.validated_by_id,
        "snapshot_questionnaire_version_id": response.snapshot_questionnaire_version_id,
        "result_summary": result_summary(response.result_snapshot),
    }


def list_item_dict(response: Response) -> dict[str, Any]:
    snapshot = response.result_snapshot or {}
    return {
        "id": response.id,
        "cooperative_id": response.cooperative_id,
        "round_id": response.round_id,
        "revision": response.revision,
        "is_current": response.is_current,
        "mode": response.mode,
        "status": response.status,
        "version": response.version,
        "answered": sum(1 for value in (response.answers or {}).values() if value is not None),
        "updated_at": _iso(response.updated_at),
        "submitted_at": _iso(response.submitted_at),
        "overall_light": (snapshot.get("overall") or {}).get("light") if snapshot else None,
    }


def _utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def _iso(value: datetime | None) -> str | None:
    value = _utc(value)
    return None if value is None else value.isoformat()


def etag(response: Response) -> str:
    return f'"{response.version}"'


# --------------------------------------------------------------------------- lookups


def _visible_response(
    session: Session, user: User, settings: Settings, response_id: int
) -> tuple[Response, Cooperative]:
    response, cooperative, _ = _visible_row(session, user, settings, response_id)
    return response, cooperative


def _visible_row(
    session: Session, user: User, settings: Settings, response_id: int, *, with_round: bool = False
) -> tuple[Response, Cooperative, DiagnosisRound | None]:
    """The response and its cooperative, and with ``with_round`` its round (with the round's
    questionnaire version), all read in one query."""
    row = session.execute(_response_row_statement(with_round), {"response_id": response_id}).one_or_none()
    if row is None or not policy.can_view_response(user, row[0], row[1], settings):
        raise NotFound(f"No existe la respuesta {response_id} o no tiene acceso a ella.")
    return row[0], row[1], row[2] if with_round else None


@cache
def _response_row_statement(with_round: bool) -> Select:
    """Built once (the autosave runs it on every save). Of the cooperative and the round only
    what the policy and the questionnaire cache read is loaded at first (every column costs,
    twice per save); any other attribute loads when it is first read."""
    cooperative = load_only(Cooperative.id, Cooperative.region_code)
    if not with_round:
        return (
            select(Response, Cooperative)
            .join(Cooperative, Cooperative.id == Response.cooperative_id)
            .where(Response.id == bindparam("response_id"))
            .options(cooperative)
        )
    return (
        select(Response, Cooperative, DiagnosisRound)
        .join(Cooperative, Cooperative.id == Response.cooperative_id)
        .join(DiagnosisRound, DiagnosisRound.id == Response.round_id)
        .where(Response.id == bindparam("response_id"))
        .options(
            cooperative,
            load_only(DiagnosisRound.id, DiagnosisRound.questionnaire_version_id),
            joinedload(DiagnosisRound.questionnaire_version).load_only(
                QuestionnaireVersion.id,
                QuestionnaireVersion.questionnaire_id,
                QuestionnaireVersion.version,
                QuestionnaireVersion.content_hash,
            ),
        )
    )


def get_response(*, session: Session, user: User, settings: Settings, response_id: int) -> Response:
    return _visible_response(session, user, settings, response_id)[0]


def list_responses(
    *,
    session: Session,
    user: User,
    settings: Settings,
    params: PageParams,
    round_id: int | None = None,
    cooperative_id: int | None = None,
    status: str | None = None,
    mode: str | None = None,
    current_only: bool = True,
) -> tuple[list[Response], int]:
    statement: Select = (
        select(Response)
        .join(Cooperative, Cooperative.id == Response.cooperative_id)
        .where(policy.cooperative_visibility(user, settings))
        .order_by(Response.id)
    )
    if round_id is not None:
        statement = statement.where(Response.round_id == round_id)
    if cooperative_id is not None:
        statement = statement.where(Response.cooperative_id == cooperative_id)
    if status is not None:
        statement = statement.where(Response.status == status)
    if mode is not None:
        statement = statement.where(Response.mode == mode)
    if current_only:
        statement = statement.where(Response.is_current.is_(True))
    return paginate(session, statement, params)


def list_revisions(*, session: Session, user: User, settings: Settings, response_id: int) -> list[Response]:
    response, _ = _visible_response(session, user, settings, response_id)
    return list(
        session.scalars(
            select(Response)
            .where(Response.cooperative_id == response.cooperative_id, Response.round_id == response.round_id)
            .order_by(Response.revision)
        )
    )


def history(
    *, session: Session, user: User, settings: Settings, response_id: int, params: PageParams
) -> tuple[list[dict[str, Any]], int]:
    """The audit trail of a response, oldest first."""
    _visible_response(session, user, settings, response_id)
    total = session.scalar(select(func.count()).where(ResponseEvent.response_id == response_id)) or 0
    rows = session.execute(
        select(ResponseEvent, User.full_name)
        .outerjoin(User, User.id == ResponseEvent.user_id)
        .where(ResponseEvent.response_id == response_id)
        .order_by(ResponseEvent.id)
        .limit(params.per_page)
        .offset((params.page - 1) * params.per_page)
    ).all()
    items = [
        {
            "id": event.id,
            "at": _iso(event.at),
            "kind": event.kind,
            "user_id": event.user_id,
            "user_name": name,
            "question_id": event.question_id,
            "old_value": event.old_value,
            "new_value": event.new_value,
            "comment": event.comment,
        }
        for event, name in rows
    ]
    return items, total


def result(*, session: Session, user: User, settings: Settings, response_id: int) -> dict[str, Any]:
    """The stored snapshot of a submitted or validated response, else a live preview."""
    response, _ = _visible_response(session, user, settings, response_id)
    stored = response.status in (ResponseStatus.SUBMITTED.value, ResponseStatus.VALIDATED.value)
    if stored and response.result_snapshot is not None:
        return {
            "response_id": response.id,
            "status": response.status,
            "preview": False,
            "questionnaire_version_id": response.snapshot_questionnaire_version_id,
            "computed_at": _iso(response.submitted_at),
            "result": response.result_snapshot,
        }
    round_ = session.get(DiagnosisRound, response.round_id)
    questionnaire = round_questionnaire(session=session, round=round_)
    answers = _valid_subset(questionnaire, response.answers or {})
    return {
        "response_id": response.id,
        "status": response.status,
        "preview": True,
        "questionnaire_version_id": round_.questionnaire_version_id,
        "computed_at": None,
        "result": snapshot_of(scoring.score(questionnaire, answers)),
        # What the consistency checks say of the answers so far (errors refuse the submission).
        "consistency": [
            {"id": c.id, "severity": c.severity, "message": c.message, "questions": list(c.questions)}
            for c in scoring.failed_checks(questionnaire, answers)
        ],
    }


def _valid_subset(questionnaire: scoring.Questionnaire, answers: dict[str, Any]) -> dict[str, Any]:
    """Answers minus any that no longer validate (a preview must not fail on one stale answer)."""
    bad = {error.question for error in lifecycle.answer_errors(questionnaire, answers)}
    return {qid: value for qid, value in answers.items() if qid not in bad}


# --------------------------------------------------------------------------- helpers for writes


def record_events(
    session: Session, response_id: int, user_id: int | None, at: datetime, events: Sequence[dict[str, Any]]
) -> None:
    """Write the audit events of a lifecycle step (``lifecycle.Step.events``) for one response,
    in one INSERT statement: every writer (API, pages, importers, demo) records them this way."""
    record_many_events(session, user_id, at, [(response_id, events)])


def record_many_events(
    session: Session, user_id: int | None, at: datetime, steps: Sequence[tuple[int, Sequence[dict[str, Any]]]]
) -> None:
    """``record_events`` for many responses at once (an import): one statement for all."""
    rows = [
        {"response_id": response_id, "user_id": user_id, "at": at, **item}
        for response_id, events in steps
        for item in events
    ]
    if rows:
        session.execute(_EVENT_INSERT, rows)


_EVENT_INSERT = insert(ResponseEvent.__table__)


def _conflict_with_state(message: str, response: Response, code: str = "conflict") -> Conflict:
    return Conflict(message, code=code, extra={"current": response_dict(response)}, current_version=response.version)


def _stale(response: Response) -> Conflict:
    return _conflict_with_state(
        f"La respuesta fue modificada por otra persona o en otra pestaña (versión actual {response.version}). "
        "Revise los valores actuales y vuelva a guardar.",
        response,
        code="stale_version",
    )


def _require_version(version: int | None) -> int:
    if version is None:
        raise Invalid(
            "Falta la versión leída: envíe «version» en el cuerpo o la cabecera If-Match.",
            details=[{"field": "version", "code": "missing", "message": "falta la versión leída de la respuesta"}],
        )
    return version


def _check_version(response: Response, version: int | None) -> int:
    version = _require_version(version)
    if response.version != version:
        raise _stale(response)
    return version


def _check_status(response: Response, allowed: tuple[str, ...], action: str) -> None:
    problem = lifecycle.status_problem(response, allowed, action)
    if problem is not None:
        raise _conflict_with_state(problem, response, code="wrong_status")


@cache
def _compare_and_set_statement(names: tuple[str, ...]) -> Update:
    """``UPDATE responses SET <names>, version = :new_version WHERE id = :id AND version = :version``,
    built once per set of columns (a plain table statement: no ORM bulk-update machinery)."""
    table = Response.__table__
    return (
        update(table)
        .where(table.c.id == bindparam("cas_id"), table.c.version == bindparam("cas_version"))
        .values({table.c[name]: bindparam(f"new_{name}") for name in (*names, "version")})
    )


def _compare_and_set(session: Session, response: Response, version: int, **values: Any) -> None:
    """Write ``values`` and bump the version only if the row still has ``version``; 409 otherwise."""
    values.setdefault("updated_at", _now())
    session.flush()  # what the ORM update statement did first (usually nothing to write)
    outcome = session.execute(
        _compare_and_set_statement(tuple(sorted(values))),
        {
            "cas_id": response.id,
            "cas_version": version,
            "new_version": version + 1,
            **{f"new_{name}": value for name, value in values.items()},
        },
    )
    if outcome.rowcount != 1:
        # The row changed since it was read: report its current state (this statement sees
        # the winner's commit) and let the unit of work roll back.
        session.refresh(response)
        raise _stale(response)
    # Mirror the written values on the loaded object (no re-read after the commit).
    for name, value in {**values, "version": version + 1}.items():
        set_committed_value(response, name, value)


def _apply(
    session: Session, response: Response, version: int, user: User, now: datetime, step: lifecycle.Step
) -> Response:
    """Persist a lifecycle step on a response read at ``version``: its values by compare-and-set
    (409 when stale), then its audit events, in the caller's unit of work."""
    _compare_and_set(session, response, version, **step.values)
    record_events(session, response.id, user.id, now, step.events)
    return response


def can_edit_now(*, user: User, response: Response, cooperative: Cooperative, settings: Settings) -> bool:
    """Whether the pages should offer ``user`` to edit ``response`` now: the policy allows it
    and the response is in an editable state (what _editable enforces on a write)."""
    return policy.can_edit_response(user, response, cooperative, settings) and response.status in EDITABLE


def _editable(
    session: Session, user: User, settings: Settings, response_id: int, action: str
) -> tuple[Response, DiagnosisRound]:
    """The response the user may edit now, and its round (read with it: the writes need it)."""
    response, cooperative, round_ = _visible_row(session, user, settings, response_id, with_round=True)
    if not policy.can_edit_response(user, response, cooperative, settings):
        raise Forbidden("No tiene permiso para modificar esta respuesta.")
    _check_status(response, EDITABLE, action)
    return response, round_


def _reviewable(session: Session, user: User, settings: Settings, response_id: int) -> Response:
    response, _ = _visible_response(session, user, settings, response_id)
    if not policy.can_review_responses(user):
        raise Forbidden("Solo el equipo de análisis puede revisar respuestas.")
    return response


# --------------------------------------------------------------------------- create


def create_response(
    *,
    session: Session,
    user: User,
    settings: Settings,
    data: dict[str, Any],
    idempotency_key: str | None,
    at: datetime | None = None,
) -> tuple[Response, bool]:
    """Create a response (revision 1). Returns ``(response, created)``; a retry with the same
    ``idempotency_key`` returns the response made by the first request and ``created=False``."""
    key = (idempotency_key or "").strip()
    if not key:
        raise Invalid(
            "Falta la cabecera Idempotency-Key: genere un identificador único en el cliente "
            "(por ejemplo un UUID) y reenvíelo igual en cada reintento.",
            details=[{"field": "Idempotency-Key", "code": "missing", "message": "falta la clave de idempotencia"}],
        )
    if len(key) > MAX_IDEMPOTENCY_KEY:
        raise Invalid(
            f"La cabecera Idempotency-Key es demasiado larga (máximo {MAX_IDEMPOTENCY_KEY} caracteres).",
            details=[{"field": "Idempotency-Key", "code": "too_long", "message": "clave demasiado larga"}],
        )
    check_text(key, "Idempotency-Key", multiline=False)

    replay = _replay(session, user, settings, key, data)
    if replay is not None:
        return replay, False

    cooperative = session.get(Cooperative, data["cooperative_id"])
    if cooperative is None or not policy.can_view_cooperative(user, cooperative, settings):
        raise NotFound(
            f"No existe la cooperativa {data['cooperative_id']} o no tiene acceso a ella.",
            details=[
                {"field": "cooperative_id", "code": "not_found", "message": "cooperativa inexistente o sin acceso"}
            ],
        )
    round_ = session.get(DiagnosisRound, data["round_id"])
    if round_ is None:
        raise NotFound(
            f"No existe la ronda de diagnóstico {data['round_id']}.",
            details=[{"field": "round_id", "code": "not_found", "message": "ronda inexistente"}],
        )
    mode = data["mode"]
    if not policy.can_create_response(user, cooperative, mode, settings):
        kind = "autodiagnósticos" if mode == ResponseMode.SELF.value else "entrevistas"
        raise Forbidden(f"No tiene permiso para iniciar {kind} de esta cooperativa.")
    existing = _existing_for(session, cooperative.id, round_.id)
    if existing is not None and existing.idempotency_key == key:  # the original request committed meanwhile
        return existing, False
    now = at or _now()  # a loader may date what it writes (the demo's past rounds)
    response, step = lifecycle.start(
        round_=round_,
        questionnaire=round_questionnaire(session=session, round=round_),
        cooperative_id=cooperative.id,
        mode=mode,
        answers=data.get("answers"),
        details={name: data.get(name) for name in INTERVIEW_FIELDS},
        by_id=user.id,
        at=now,
        origin=MODE_ES.get(mode, mode).capitalize(),
        idempotency_key=key,
        fingerprint=request_fingerprint(data),
    )
    if existing is not None:
        raise _already_exists(existing, cooperative, round_)
    session.add(response)
    try:
        session.flush()
    except IntegrityError:
        # A concurrent request won: the same key (a retry racing its original) or the same
        # cooperative and round (two people starting at once). This insert is the unit of
        # work's first write, so rolling it all back loses nothing; a savepoint would not do on
        # SQLite, where no transaction is open before the first write and releasing the
        # savepoint would commit.
        session.rollback()
        replay = _replay(session, user, settings, key, data)
        if replay is not None:
            return replay, False
        existing = _existing_for(session, data["cooperative_id"], data["round_id"])
        if existing is not None:
            raise _already_exists(
                existing,
                session.get(Cooperative, data["cooperative_id"]),
                session.get(DiagnosisRound, data["round_id"]),
            ) from None
        raise
    record_events(session, response.id, user.id, now, step.events)
    return response, True


def _replay(session: Session, user: User, settings: Settings, key: str, data: dict[str, Any]) -> Response | None:
    earlier = session.scalar(select(Response).where(Response.idempotency_key == key))
    if earlier is None:
        return None
    cooperative = session.get(Cooperative, earlier.cooperative_id)
    if not policy.can_view_response(user, earlier, cooperative, settings):
        raise Conflict(
            "La clave Idempotency-Key ya se usó en otra solicitud; genere una clave nueva.",
            code="idempotency_key_reused",
        )
    if (earlier.cooperative_id, earlier.round_id) != (data["cooperative_id"], data["round_id"]):
        raise Conflict(
            "La clave Idempotency-Key ya se usó para crear una respuesta de otra cooperativa o ronda; "
            "genere una clave nueva para cada respuesta.",
            code="idempotency_key_reused",
            extra={"existing_id": earlier.id},
        )
    if earlier.idempotency_fingerprint is not None and earlier.idempotency_fingerprint != request_fingerprint(data):
        # A retry repeats its request exactly; another body under the same key would be lost.
        raise Invalid(
            "La clave Idempotency-Key ya se usó con otros datos (otras respuestas, modalidad o datos de la "
            "entrevista). Un reintento debe repetir exactamente la misma solicitud; para datos nuevos, guarde "
            f"los cambios en la respuesta {earlier.id} o use una clave nueva.",
            code="idempotency_key_mismatch",
            details=[
                {"field": "Idempotency-Key", "code": "mismatch", "message": "la clave ya se usó con otro contenido"}
            ],
            extra={"existing_id": earlier.id},
        )
    return earlier


def request_fingerprint(data: dict[str, Any]) -> str:
    """sha256 of what a creation request asks for (cooperative, round, mode, answers, interview
    details), independent of key order and of answers sent as null."""
    content = {
        "cooperative_id": data.get("cooperative_id"),
        "round_id": data.get("round_id"),
        "mode": data.get("mode"),
        "answers": {qid: value for qid, value in (data.get("answers") or {}).items() if value is not None},
        **{name: lifecycle.json_value(data.get(name)) for name in INTERVIEW_FIELDS},
    }
    try:
        data = orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # an integer beyond 64 bits (the answers' bounds refuse it next)
        data = json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(data).hexdigest()


def _existing_for(session: Session, cooperative_id: int, round_id: int) -> Response | None:
    return session.scalar(
        select(Response)
        .where(Response.cooperative_id == cooperative_id, Response.round_id == round_id)
        .order_by(Response.is_current.desc(), Response.revision.desc())
        .limit(1)
    )


def _already_exists(existing: Response, cooperative: Cooperative | None, round_: DiagnosisRound | None) -> Conflict:
    who = f"«{cooperative.name}»" if cooperative is not None else "esta cooperativa"
    where = f"«{round_.name}»" if round_ is not None else "esta ronda"
    return Conflict(
        f"Ya existe una respuesta de {who} en la ronda {where} (número {existing.id}); continúe esa respuesta.",
        code="response_exists",
        details=[
            {"field": "cooperative_id", "code": "response_exists", "message": f"respuesta existente {existing.id}"}
        ],
        extra={"existing_id": existing.id},
    )


# --------------------------------------------------------------------------- autosave and details


def update_answers(
    *,
    session: Session,
    user: User,
    settings: Settings,
    response_id: int,
    answers: dict[str, Any],
    version: int | None,
    at: datetime | None = None,
) -> Response:
    """Autosave: apply a subset of answers (null removes one). All or nothing."""
    response, round_ = _editable(session, user, settings, response_id, "modificar las respuestas")
    version = _check_version(response, version)
    now = at or _now()  # a loader may date what it writes (the demo's past rounds)
    step = lifecycle.change_answers(response, round_questionnaire(session=session, round=round_), answers, at=now)
    if not step.events:
        return response  # nothing changed: same version, no event
    return _apply(session, response, version, user, now, step)


def update_details(
    *, session: Session, user: User, settings: Settings, response_id: int, changes: dict[str, Any], version: int | None
) -> Response:
    """Change interview details (only the fields sent)."""
    response, _ = _editable(session, user, settings, response_id, "modificar los datos de la entrevista")
    version = _check_version(response, version)
    now = _now()
    step = lifecycle.change_details(response, changes, at=now)
    if not step.events:
        return response
    return _apply(session, response, version, user, now, step)


def submit(
    *,
    session: Session,
    user: User,
    settings: Settings,
    response_id: int,
    version: int | None,
    at: datetime | None = None,
) -> Response:
    response, round_ = _editable(session, user, settings, response_id, "enviar la respuesta")
    version = _check_version(response, version)
    now = at or _now()  # a loader may date what it writes (the demo's past rounds)
    step = lifecycle.submit(
        response,
        round_questionnaire(session=session, round=round_),
        questionnaire_version_id=round_.questionnaire_version_id,
        by_id=user.id,
        at=now,
    )
    _apply(session, response, version, user, now, step)
    request_report(session, response.id)  # its PDF, prepared on the task queue once this commits
    return response


def return_for_correction(
    *, session: Session, user: User, settings: Settings, response_id: int, comment: str, version: int | None
) -> Response:
    response = _reviewable(session, user, settings, response_id)
    _check_status(response, (ResponseStatus.SUBMITTED.value,), "devolver la respuesta")
    version = _check_version(response, version)
    now = _now()
    step = lifecycle.return_for_correction(response, comment=comment, at=now)
    _apply(session, response, version, user, now, step)
    withdraw_report(session, response.id, settings)  # a returned response has no report
    _notify_review(session, settings, response, returned=True)
    return response


def validate(
    *,
    session: Session,
    user: User,
    settings: Settings,
    response_id: int,
    version: int | None,
    at: datetime | None = None,
) -> Response:
    response = _reviewable(session, user, settings, response_id)
    _check_status(response, (ResponseStatus.SUBMITTED.value,), "validar la respuesta")
    version = _check_version(response, version)
    now = at or _now()  # a loader may date what it writes (the demo's past rounds)
    step = lifecycle.validate(response, by_id=user.id, at=now)
    _apply(session, response, version, user, now, step)
    request_report(session, response.id)  # the PDF shows the status: a new one, the old served meanwhile
    _notify_review(session, settings, response, returned=False)
    observatory.round_changed(session, response.round_id)  # it counts in the public figures now
    return response


def review_recipients(session: Session, response: Response, *, returned: bool) -> list[tuple[User, str]]:
    """Who hears that a diagnosis was returned or validated, with the page each is sent to:
    the active managers of the cooperative and, for an interview, the field team member who
    entered it (still active and on the field team)."""
    recipients: dict[str, tuple[User, str]] = {}
    managers = session.scalars(
        select(User)
        .join(UserCooperative, UserCooperative.user_id == User.id)
        .where(
            UserCooperative.cooperative_id == response.cooperative_id,
            User.role == Role.MANAGER.value,
            User.is_active.is_(True),
        )
        .order_by(User.id)
    )
    for manager in managers:
        path = f"/diagnosticos/{response.id}" + ("" if returned else "/resultados")
        recipients.setdefault(manager.email, (manager, path))
    if response.mode == ResponseMode.INTERVIEW.value and response.created_by_id is not None:
        creator = session.get(User, response.created_by_id)
        if creator is not None and creator.is_active and creator.role == Role.FIELD.value:
            path = f"/terreno/entrevistas/{response.id}/" + ("revision" if returned else "resultado")
            recipients.setdefault(creator.email, (creator, path))
    return list(recipients.values())


def _notify_review(session: Session, settings: Settings, response: Response, *, returned: bool) -> None:
    """Queue «Su diagnóstico fue devuelto / validado» in the caller's unit of work."""
    cooperative = session.get(Cooperative, response.cooperative_id)
    round_ = session.get(DiagnosisRound, response.round_id)
    names = {
        "cooperative": cooperative.name if cooperative else f"la cooperativa {response.cooperative_id}",
        "round_name": round_.name if round_ else f"ronda {response.round_id}",
    }
    for person, path in review_recipients(session, response, returned=returned):
        if returned:
            subject, body = messages.response_returned(
                settings=settings, name=person.full_name, comment=response.return_comment or "", path=path, **names
            )
        else:
            subject, body = messages.response_validated(settings=settings, name=person.full_name, path=path, **names)
        queue_email(
            session,
            kind="response_returned" if returned else "response_validated",
            to=person.email,
            subject=subject,
            body=body,
        )


def retire_revision(session: Session, old: Response, version: int) -> bool:
    """Revision n stops being current, only if nobody changed it meanwhile (its version stays:
    the revision itself is untouched). False when it was changed or retired already."""
    outcome = session.execute(
        update(Response)
        .where(Response.id == old.id, Response.version == version, Response.is_current.is_(True))
        .values(is_current=False)
        .execution_options(synchronize_session=False)
    )
    return outcome.rowcount == 1


def reopen(
    *,
    session: Session,
    user: User,
    settings: Settings,
    response_id: int,
    version: int | None,
    comment: str | None = None,
) -> Response:
    """Open a validated response again as revision n + 1 (a draft); revision n stays as it was."""
    old = _reviewable(session, user, settings, response_id)
    _check_status(old, (ResponseStatus.VALIDATED.value,), "reabrir la respuesta")
    version = _check_version(old, version)
    if not old.is_current:
        raise _conflict_with_state(
            "Esta revisión ya fue reabierta; trabaje sobre la revisión vigente.", old, code="not_current"
        )
    now = _now()
    new, step = lifecycle.reopen(old, by_id=user.id, at=now, comment=comment)
    if not retire_revision(session, old, version):
        session.refresh(old)
        raise _stale(old)
    try:
        # A savepoint (the UPDATE above opened the transaction, so it nests on SQLite too):
        # the current state of ``old`` can still be read for the 409.
        with session.begin_nested():
            session.add(new)
            session.flush()
    except IntegrityError:  # a concurrent reopening added revision n + 1 first
        session.refresh(old)
        raise _stale(old) from None
    record_events(session, new.id, user.id, now, step.events)
    session.refresh(new)
    observatory.round_changed(session, new.round_id)  # a draft again: it no longer counts
    return new
