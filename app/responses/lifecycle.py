"""The life of a response, decided in one place.

How a response starts, which rules its interview details and answers follow, how it is
submitted and which audit events each step leaves are written here once. No database
session and no HTTP: the service (API, web pages, demo), the spreadsheet importer and the
ODK/Kobo importer load what a step needs, call it, and persist what it returns in their
transaction (``service.record_events`` writes the events the same way for all of them).

A step returns the column values it sets and the audit events it adds; a step on a new
response returns the new object. Rules that fail raise the domain errors of ``app.errors``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import scoring
from app.errors import Conflict, Invalid
from app.responses.models import STATUS_LABELS, EventKind, Response, ResponseMode, ResponseStatus
from app.rounds.models import ROUND_STATE_LABELS, DiagnosisRound, RoundState
from app.user_input import text_problem

ROUND_STATE_ES = ROUND_STATE_LABELS  # the name the importers and pages have used
INTERVIEW_FIELDS = ("interviewer_name", "institution", "interview_date", "interview_place", "interviewee_role")
INTERVIEW_FIELD_ES = {
    "interviewer_name": "nombre de quien entrevistó",
    "institution": "institución",
    "interview_date": "fecha de la entrevista",
    "interview_place": "lugar de la entrevista",
    "interviewee_role": "cargo de la persona entrevistada",
}
FIRST_INTERVIEW_YEAR = 2000


@dataclass
class Step:
    """What one step does: the columns it sets and the audit events it adds (each a dict of
    ``kind``, ``question_id``, ``old_value``, ``new_value``, ``comment``)."""

    values: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)


def event(
    kind: EventKind,
    *,
    question_id: str | None = None,
    old_value: Any = None,
    new_value: Any = None,
    comment: str | None = None,
) -> dict[str, Any]:
    return {
        "kind": kind.value,
        "question_id": question_id,
        "old_value": old_value,
        "new_value": new_value,
        "comment": comment,
    }


def require_open(round_: DiagnosisRound, action: str = "iniciar o importar respuestas") -> None:
    """Responses start only in an open round."""
    if round_.state != RoundState.OPEN.value:
        raise Conflict(
            f"La ronda «{round_.name}» está {ROUND_STATE_ES.get(round_.state, round_.state)}: solo se puede "
            f"{action} en una ronda abierta.",
            code="round_not_open",
        )


def interview_problems(values: dict[str, Any], mode: str, *, today: date) -> list[dict[str, Any]]:
    """Problems with the interview details: every detail for an interview (its date a real day,
    not in the future, not before 2000), none for a self-diagnosis."""
    if mode != ResponseMode.INTERVIEW.value:
        return [
            {
                "field": name,
                "code": "not_allowed",
                "message": "solo se registra en entrevistas de terreno (modo interview)",
            }
            for name in INTERVIEW_FIELDS
            if values.get(name) not in (None, "")
        ]
    problems = [
        {"field": name, "code": "missing", "message": f"falta el dato «{INTERVIEW_FIELD_ES[name]}» de la entrevista"}
        for name in INTERVIEW_FIELDS
        if values.get(name) in (None, "")
    ]
    for name in INTERVIEW_FIELDS:
        if isinstance(value := values.get(name), str) and (
            message := text_problem(value, INTERVIEW_FIELD_ES[name], multiline=False)
        ):
            problems.append({"field": name, "code": "forbidden_character", "message": message})
    when = values.get("interview_date")
    if isinstance(when, date):
        if when > today:
            problems.append(
                {
                    "field": "interview_date",
                    "code": "future",
                    "message": "la fecha de la entrevista no puede ser futura",
                }
            )
        elif when.year < FIRST_INTERVIEW_YEAR:
            problems.append(
                {
                    "field": "interview_date",
                    "code": "too_old",
                    "message": f"la fecha de la entrevista debe ser del año {FIRST_INTERVIEW_YEAR} o posterior",
                }
            )
    return problems


# --------------------------------------------------------------------------- the numbers people may answer

#: The largest number (in absolute value) any answer may hold, whatever its question's ``max``,
#: and the most decimals it may have. The format spec bounds a number only by its question's
#: ``min``/``max`` (and scoring follows the spec), but no cooperative counts 10^15 of anything,
#: and larger or finer numbers only break the report, the pages and the exports. Every way in
#: (API, web form, interview spreadsheet, ODK/Kobo) checks answers here.
NUMBER_LIMIT = 10**15
NUMBER_DECIMALS = 6
_LIMIT_WORDS = f"{NUMBER_LIMIT:,}".replace(",", ".")  # 1.000.000.000.000.000


def _named(question: scoring.Question) -> str:
    text = " ".join(question.text.split())
    return f"«{text if len(text) <= 80 else text[:79] + '…'}» ({question.id})"


def app_answer_problem(question: scoring.Question, value: Any) -> scoring.AnswerError | None:
    """The app's own rules on an answer the questionnaire accepts: bounds on a number
    (``NUMBER_LIMIT``, ``NUMBER_DECIMALS``), and no control, bidirectional or non-character in a
    text (``app.user_input``, as every form field and API text); None when it respects them."""
    if isinstance(value, str):
        message = text_problem(value, f"respuesta a {_named(question)}")
        return None if message is None else scoring.AnswerError(question.id, "forbidden_character", message)
    if question.type != "number" or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if -NUMBER_LIMIT <= value <= NUMBER_LIMIT and (isinstance(value, int) or value.is_integer()):
        return None  # the common case, decided without building a message
    where = _named(question)
    if isinstance(value, float) and not math.isfinite(value):
        return scoring.AnswerError(question.id, "out_of_bounds", f"la respuesta a {where} debe ser un número finito")
    if abs(value) > NUMBER_LIMIT:
        return scoring.AnswerError(
            question.id,
            "out_of_bounds",
            f"la respuesta a {where} es demasiado grande ({value:.4g}): el sistema admite números "
            f"entre -{_LIMIT_WORDS} y {_LIMIT_WORDS}",
        )
    if isinstance(value, float) and not value.is_integer():
        exponent = Decimal(repr(value)).as_tuple().exponent
        if isinstance(exponent, int) and exponent < -NUMBER_DECIMALS:
            return scoring.AnswerError(
                question.id,
                "too_many_decimals",
                f"la respuesta a {where} tiene demasiados decimales ({value!r}): el sistema admite "
                f"hasta {NUMBER_DECIMALS}",
            )
    return None


def answer_error(questionnaire: scoring.Questionnaire, question_id: str, value: Any) -> scoring.AnswerError | None:
    """One answer checked as the app accepts it: the questionnaire's rules
    (``scoring.validate_answer``), then the app's bounds on numbers."""
    problem = scoring.validate_answer(questionnaire, question_id, value)
    if problem is None and value is not None:
        problem = app_answer_problem(questionnaire.question(question_id), value)
    return problem


def answer_errors(questionnaire: scoring.Questionnaire, answers: Any) -> list[scoring.AnswerError]:
    """Every problem of an answer set as the app accepts it: ``scoring.validate_answers``,
    then the app's bounds on the numbers that pass it."""
    errors = scoring.validate_answers(questionnaire, answers)
    if not isinstance(answers, dict):
        return errors
    failed = {error.question for error in errors}
    more = [
        problem
        for qid, value in answers.items()
        if qid not in failed and value is not None and questionnaire.has_question(qid)
        if (problem := app_answer_problem(questionnaire.question(qid), value)) is not None
    ]
    if not more:
        return errors
    order = {str(qid): index for index, qid in enumerate(answers)}  # in the order of the keys, as scoring's
    return sorted([*errors, *more], key=lambda error: order.get(str(error.question), -1))


def answer_problems(questionnaire: scoring.Questionnaire, answers: dict[str, Any]) -> list[dict[str, Any]]:
    """Each answer that breaks the questionnaire's rules or the app's bounds, as error details."""
    details = []
    for qid, value in answers.items():
        problem = answer_error(questionnaire, qid, value)
        if problem is not None:
            details.append({"field": f"answers.{qid}", "code": problem.code, "message": problem.message})
    return details


def invalid_answers(details: list[dict[str, Any]]) -> Invalid:
    count = len(details)
    noun = "respuesta no válida" if count == 1 else "respuestas no válidas"
    return Invalid(f"Hay {count} {noun}; no se guardó ningún cambio.", code="invalid_answers", details=details)


def start(
    *,
    round_: DiagnosisRound,
    questionnaire: scoring.Questionnaire,
    cooperative_id: int,
    mode: str,
    answers: dict[str, Any] | None,
    details: dict[str, Any],
    by_id: int | None,
    at: datetime,
    origin: str,
    idempotency_key: str | None = None,
    fingerprint: str | None = None,
) -> tuple[Response, Step]:
    """A new response (revision 1, a draft) in an open round, with its first answers. Events:
    ``created`` (its comment says where it came from), then one ``answer_changed`` per answer."""
    require_open(round_)
    problems = interview_problems(details, mode, today=at.date())
    if problems:
        raise Invalid("Faltan, sobran o no son válidos datos de la entrevista.", details=problems)
    answers = {qid: value for qid, value in (answers or {}).items() if value is not None}
    problems = answer_problems(questionnaire, answers)
    if problems:
        raise invalid_answers(problems)
    response = Response(
        cooperative_id=cooperative_id,
        round_id=round_.id,
        revision=1,
        is_current=True,
        mode=mode,
        status=ResponseStatus.DRAFT.value,
        answers=answers,
        version=1,
        idempotency_key=idempotency_key,
        idempotency_fingerprint=fingerprint,
        created_by_id=by_id,
        created_at=at,
        updated_at=at,
        **{name: details.get(name) for name in INTERVIEW_FIELDS},
    )
    step = Step(events=[event(EventKind.CREATED, comment=origin)])
    step.events += [event(EventKind.ANSWER_CHANGED, question_id=qid, new_value=value) for qid, value in answers.items()]
    return response, step


def change_answers(
    response: Response, questionnaire: scoring.Questionnaire, answers: dict[str, Any], *, at: datetime
) -> Step:
    """Autosave: some answers set (``None`` removes one), all or nothing; only what really changed
    counts. Events: one ``answer_changed`` per changed answer, with its old and new value. An empty
    step when nothing changed (no new version, no event)."""
    problems = answer_problems(questionnaire, answers)
    if problems:
        raise invalid_answers(problems)
    current = dict(response.answers or {})
    events = []
    for qid, value in answers.items():
        old = current.get(qid)
        if old == value and type(old) is type(value):
            continue
        events.append(event(EventKind.ANSWER_CHANGED, question_id=qid, old_value=old, new_value=value))
        if value is None:
            current.pop(qid, None)
        else:
            current[qid] = value
    return Step(values={"answers": current, "updated_at": at}, events=events) if events else Step()


def change_details(response: Response, changes: dict[str, Any], *, at: datetime) -> Step:
    """Interview details changed (only the fields sent), under the same rules as at the start.
    Event: ``details_changed`` with the old and new values. An empty step when nothing changed."""
    merged = {name: getattr(response, name) for name in INTERVIEW_FIELDS}
    merged.update(changes)
    problems = interview_problems(merged, response.mode, today=at.date())
    if problems:
        relevant = [p for p in problems if p["field"] in changes] or problems
        raise Invalid("Los datos de la entrevista no son válidos; no se guardó ningún cambio.", details=relevant)
    old = {name: json_value(getattr(response, name)) for name in changes if getattr(response, name) != changes[name]}
    if not old:
        return Step()
    return Step(
        values={**{name: changes[name] for name in old}, "updated_at": at},
        events=[
            event(EventKind.DETAILS_CHANGED, old_value=old, new_value={name: json_value(changes[name]) for name in old})
        ],
    )


def json_value(value: Any) -> Any:
    """A detail as JSON stores it (a date as ISO text)."""
    return value.isoformat() if isinstance(value, date) else value


def status_problem(response: Response, allowed: tuple[str, ...], action: str) -> str | None:
    """Why ``action`` cannot be done in the response's current status, or None."""
    if response.status in allowed:
        return None
    wanted = " o ".join(f"«{STATUS_LABELS[s]}»" for s in allowed)
    return (
        f"No se puede {action}: la respuesta está «{STATUS_LABELS.get(response.status, response.status)}» "
        f"y debe estar {wanted}."
    )


def _require_status(response: Response, allowed: tuple[str, ...], action: str) -> None:
    problem = status_problem(response, allowed, action)
    if problem is not None:
        raise Conflict(problem, code="wrong_status")


def return_for_correction(response: Response, *, comment: str, at: datetime) -> Step:
    """An analyst sends a submitted response back with a comment: editable again. Event: ``returned``."""
    _require_status(response, (ResponseStatus.SUBMITTED.value,), "devolver la respuesta")
    return Step(
        values={"status": ResponseStatus.RETURNED.value, "return_comment": comment, "updated_at": at},
        events=[event(EventKind.RETURNED, comment=comment)],
    )


def validate(response: Response, *, by_id: int | None, at: datetime) -> Step:
    """An analyst validates a submitted response. Event: ``validated``."""
    _require_status(response, (ResponseStatus.SUBMITTED.value,), "validar la respuesta")
    return Step(
        values={
            "status": ResponseStatus.VALIDATED.value,
            "validated_at": at,
            "validated_by_id": by_id,
            "updated_at": at,
        },
        events=[event(EventKind.VALIDATED)],
    )


def next_revision(old: Response, *, by_id: int | None, at: datetime, **values: Any) -> Response:
    """Revision n + 1 of a response: the same cooperative, round, mode, answers and interview
    details; ``values`` set the rest (its status, and for a rescored one its dates and snapshot)."""
    return Response(
        cooperative_id=old.cooperative_id,
        round_id=old.round_id,
        revision=old.revision + 1,
        is_current=True,
        previous_revision_id=old.id,
        mode=old.mode,
        answers=dict(old.answers or {}),
        version=1,
        created_by_id=by_id,
        created_at=at,
        updated_at=at,
        **{name: getattr(old, name) for name in INTERVIEW_FIELDS},
        **values,
    )


def reopen(old: Response, *, by_id: int | None, at: datetime, comment: str | None) -> tuple[Response, Step]:
    """A validated response opened again as revision n + 1, a draft; revision n stays as it was.
    Event (on the new revision): ``reopened``."""
    _require_status(old, (ResponseStatus.VALIDATED.value,), "reabrir la respuesta")
    if not old.is_current:
        raise Conflict("Esta revisión ya fue reabierta; trabaje sobre la revisión vigente.", code="not_current")
    new = next_revision(old, by_id=by_id, at=at, status=ResponseStatus.DRAFT.value)
    text = f"Reabre la revisión {old.revision} (respuesta {old.id})"
    return new, Step(events=[event(EventKind.REOPENED, comment=f"{text}: {comment}" if comment else text)])


def rescore(
    old: Response,
    snapshot: dict[str, Any],
    *,
    old_method: int,
    old_lights: dict[str, Any],
    new_lights: dict[str, Any],
    by_id: int | None,
    at: datetime,
) -> tuple[Response, Step]:
    """A stored result recalculated with the current scoring method, as revision n + 1 with the
    same status, answers and dates; revision n keeps its snapshot. Event: ``rescored`` with both
    sets of lights."""
    new = next_revision(
        old,
        by_id=by_id,
        at=at,
        status=old.status,
        submitted_at=old.submitted_at,
        submitted_by_id=old.submitted_by_id,
        validated_at=old.validated_at,
        validated_by_id=old.validated_by_id,
        result_snapshot=snapshot,
        snapshot_questionnaire_version_id=old.snapshot_questionnaire_version_id,
    )
    method = snapshot.get("method")
    return new, Step(
        events=[
            event(
                EventKind.RESCORED,
                old_value={"method": old_method, "lights": old_lights},
                new_value={"method": method, "lights": new_lights},
                comment=f"Resultado recalculado con el método {method} (la revisión {old.revision}, respuesta {old.id}, "
                f"conserva el del método {old_method})",
            )
        ]
    )


def _submission_problem(questionnaire: scoring.Questionnaire, answers: dict[str, Any]) -> Invalid | None:
    """Why these answers cannot be submitted (invalid, or required questions missing), or None."""
    errors = [
        {"field": f"answers.{e.question}" if e.question else "answers", "code": e.code, "message": e.message}
        for e in answer_errors(questionnaire, answers)
    ]
    if errors:
        return invalid_answers(errors)
    missing = scoring.missing_required(questionnaire, answers)
    if missing:
        count = len(missing)
        noun = "pregunta obligatoria sin responder" if count == 1 else "preguntas obligatorias sin responder"
        return Invalid(
            f"No se puede enviar: hay {count} {noun}.",
            code="missing_required",
            details=[
                {"field": f"answers.{qid}", "code": "required", "message": "pregunta obligatoria sin responder"}
                for qid in missing
            ],
            extra={"missing": missing},
        )
    return None


def submit(
    response: Response,
    questionnaire: scoring.Questionnaire,
    *,
    questionnaire_version_id: int,
    by_id: int | None,
    at: datetime,
) -> Step:
    """Submit: the answers must be valid, complete and consistent; the result is scored now
    and frozen in the snapshot, with the questionnaire version it used. Event: ``submitted``
    with the overall result."""
    answers = dict(response.answers or {})
    problem = _submission_problem(questionnaire, answers)
    if problem is not None:
        raise problem
    failed = scoring.failed_checks(questionnaire, answers)  # once: errors refuse, warnings are stored
    inconsistent = [check for check in failed if check.severity == "error"]
    if inconsistent:
        raise Invalid(
            "No se puede enviar: hay respuestas que no son coherentes entre sí. "
            + " ".join(check.message for check in inconsistent),
            code="inconsistent_answers",
            details=consistency_details(inconsistent),
        )
    # Already validated just above: score without validating again.
    snapshot = snapshot_of(
        scoring.score_valid(questionnaire, answers), [check for check in failed if check.severity == "warning"]
    )
    return Step(
        values={
            "status": ResponseStatus.SUBMITTED.value,
            "result_snapshot": snapshot,
            "snapshot_questionnaire_version_id": questionnaire_version_id,
            "submitted_at": at,
            "submitted_by_id": by_id,
            "updated_at": at,
        },
        events=[event(EventKind.SUBMITTED, new_value={"overall": snapshot.get("overall")})],
    )


# --------------------------------------------------------------------------- the result snapshot


def start_imported_interview(
    *,
    round_: DiagnosisRound,
    questionnaire: scoring.Questionnaire,
    cooperative_id: int,
    answers: dict[str, Any],
    details: dict[str, Any],
    send: bool,
    by_id: int | None,
    at: datetime,
    idempotency_key: str,
    origin: str,
) -> tuple[Response, Step]:
    """An interview entered elsewhere (the round's spreadsheet, an ODK/Kobo export): started
    and, when ``send``, submitted at once; the same rules and events as ``start`` then
    ``submit`` on the web. The importers differ only in how they read a row."""
    response, step = start(
        round_=round_,
        questionnaire=questionnaire,
        cooperative_id=cooperative_id,
        mode=ResponseMode.INTERVIEW.value,
        answers=answers,
        details=details,
        by_id=by_id,
        at=at,
        idempotency_key=idempotency_key,
        origin=origin,
    )
    if not send:
        return response, step
    sent = submit(response, questionnaire, questionnaire_version_id=round_.questionnaire_version_id, by_id=by_id, at=at)
    for name, value in sent.values.items():
        setattr(response, name, value)
    return response, Step(events=step.events + sent.events)


def snapshot_of(result: scoring.DiagnosisResult, warnings: tuple[scoring.Check, ...] | list = ()) -> dict[str, Any]:
    """The stored result: the scoring output (with its ``method``) plus, for the pages and the
    report, whether the cap rule turned an overall or dimension green into yellow (so it can be
    explained) and the consistency warnings the answers raised (flagged to the analyst)."""
    snapshot = result.to_dict()
    snapshot["overall"]["capped"] = result.overall.capped
    for data, dimension in zip(snapshot["dimensions"], result.dimensions, strict=True):
        data["capped"] = dimension.capped
    snapshot["consistency_warnings"] = [
        {"id": check.id, "message": check.message, "questions": list(check.questions)} for check in warnings
    ]
    return snapshot


def consistency_errors(questionnaire: scoring.Questionnaire, answers: dict[str, Any]) -> list[scoring.Check]:
    """The consistency checks of severity error that ``answers`` break: a submission with one
    is refused (a draft may be inconsistent while it is being filled)."""
    return [check for check in scoring.failed_checks(questionnaire, answers) if check.severity == "error"]


def consistency_details(checks: list[scoring.Check]) -> list[dict[str, Any]]:
    """Error details naming each broken check (``checks.<id>``) and the questions it reads."""
    return [
        {
            "field": f"checks.{check.id}",
            "code": "inconsistent",
            "message": check.message,
            "questions": list(check.questions),
        }
        for check in checks
    ]


def submission_snapshot(questionnaire: scoring.Questionnaire, answers: dict[str, Any]) -> dict[str, Any]:
    """The result snapshot of answers being submitted (valid, complete and consistent), with the
    warnings of the questionnaire's checks."""
    warnings = [check for check in scoring.failed_checks(questionnaire, answers) if check.severity == "warning"]
    return snapshot_of(scoring.score(questionnaire, answers), warnings)
