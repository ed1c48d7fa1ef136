"""Rescoring a round's stored results with the current scoring method.

A stored result never changes: it was frozen at submission with the method of that day
(``"method"`` in the snapshot; method 1 snapshots have none). An analyst first sees what the
current method would change (``plan``), then adopts it (``adopt``): each response whose
snapshot has an older method gets revision n + 1 with the same answers, status and dates and
the new snapshot, and an audit event with both results; revision n stays as it was.
The questionnaire is the version the old snapshot was scored with, so only the method changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import scoring
from app.auth import policy
from app.auth.models import User
from app.cooperatives.models import Cooperative
from app.errors import Conflict, Forbidden
from app.observatory import publishing as observatory
from app.questionnaires.models import QuestionnaireVersion
from app.reports.queueing import request_reports
from app.responses import lifecycle
from app.responses.models import Response, ResponseStatus
from app.responses.service import record_events, retire_revision, submission_snapshot
from app.rounds.models import DiagnosisRound
from app.rounds.service import get_round, questionnaire_of_version
from app.unit_of_work import unique

SCORED = (ResponseStatus.SUBMITTED.value, ResponseStatus.VALIDATED.value)


def snapshot_method(snapshot: dict[str, Any] | None) -> int:
    """The scoring method a stored snapshot was computed with (method 1 did not say it)."""
    method = (snapshot or {}).get("method")
    return method if isinstance(method, int) and not isinstance(method, bool) else 1


def lights(snapshot: dict[str, Any] | None) -> dict[str, str | None]:
    """``general`` and each dimension id -> its light, in file order."""
    snapshot = snapshot or {}
    found = {"general": (snapshot.get("overall") or {}).get("light")}
    for dimension in snapshot.get("dimensions") or []:
        found[dimension.get("id")] = dimension.get("light")
    return found


@dataclass
class Rescored:
    """One response of the round with a result scored by an older method."""

    response_id: int
    cooperative_id: int
    cooperative_name: str
    status: str
    old_method: int
    old_lights: dict[str, str | None]
    new_lights: dict[str, str | None]
    new_snapshot: dict[str, Any] = field(repr=False)
    new_response_id: int | None = None

    @property
    def changes(self) -> list[tuple[str, str | None, str | None]]:
        """(level, old light, new light) for every level whose light changes."""
        return [
            (level, self.old_lights.get(level), light)
            for level, light in self.new_lights.items()
            if self.old_lights.get(level) != light
        ]


@dataclass
class RescorePlan:
    round: DiagnosisRound
    method: int
    rescored: list[Rescored]
    current: int
    """Responses of the round whose result already has the current method."""
    titles: dict[str, str]
    """Level id -> its Spanish title (``general`` and the dimensions)."""
    refused: list[tuple[int, str, str]] = field(default_factory=list)
    """(response id, cooperative, why) for stored answers that today's validation refuses: kept as they are."""

    @property
    def changed(self) -> list[Rescored]:
        return [item for item in self.rescored if item.changes]

    @property
    def unchanged(self) -> list[Rescored]:
        return [item for item in self.rescored if not item.changes]


def _require_analyst(user: User | None) -> None:
    if user is not None and not policy.can_review_responses(user):
        raise Forbidden("Solo el equipo de análisis puede recalcular los resultados de una ronda.")


def plan(*, session: Session, user: User | None, round_id: int) -> RescorePlan:
    """What the current method would change in the round (writes nothing). ``user`` None: the CLI."""
    _require_analyst(user)
    round_ = get_round(session=session, round_id=round_id)
    rows = session.execute(
        select(Response, Cooperative.name, QuestionnaireVersion)
        .join(Cooperative, Cooperative.id == Response.cooperative_id)
        .join(QuestionnaireVersion, QuestionnaireVersion.id == Response.snapshot_questionnaire_version_id)
        .where(
            Response.round_id == round_.id,
            Response.is_current.is_(True),
            Response.status.in_(SCORED),
            Response.result_snapshot.is_not(None),
        )
        .order_by(Cooperative.name, Response.id)
    ).all()
    rescored: list[Rescored] = []
    refused: list[tuple[int, str, str]] = []
    current = 0
    titles: dict[str, str] = {"general": "General"}
    for response, name, version in rows:
        questionnaire = questionnaire_of_version(version)
        titles.update((d.id, d.title) for d in questionnaire.dimensions)
        old = response.result_snapshot
        if snapshot_method(old) >= scoring.METHOD:
            current += 1
            continue
        try:  # the answers were valid when submitted with this very version; a stricter check may refuse them
            new = submission_snapshot(questionnaire, dict(response.answers or {}))
        except scoring.InvalidAnswers as error:
            refused.append((response.id, name, "; ".join(f"{e.question}: {e.message}" for e in error.errors[:3])))
            continue
        rescored.append(
            Rescored(
                response_id=response.id,
                cooperative_id=response.cooperative_id,
                cooperative_name=name,
                status=response.status,
                old_method=snapshot_method(old),
                old_lights=lights(old),
                new_lights=lights(new),
                new_snapshot=new,
            )
        )
    return RescorePlan(
        round=round_, method=scoring.METHOD, rescored=rescored, current=current, titles=titles, refused=refused
    )


def adopt(*, session: Session, user: User | None, round_id: int) -> RescorePlan:
    """Write revision n + 1 with the current method's snapshot for every response of the round
    scored by an older method, with an audit event each, in the caller's unit of work (all or
    nothing)."""
    result = plan(session=session, user=user, round_id=round_id)
    now = datetime.now(timezone.utc)
    user_id = user.id if user is not None else None
    for item in result.rescored:
        old = session.get_one(Response, item.response_id)
        new, step = lifecycle.rescore(
            old,
            item.new_snapshot,
            old_method=item.old_method,
            old_lights=item.old_lights,
            new_lights=item.new_lights,
            by_id=user_id,
            at=now,
        )
        # The old revision stops being current only if nobody changed it meanwhile.
        if not retire_revision(session, old, old.version):
            raise _changed_meanwhile()
        with unique(session, _changed_meanwhile):
            session.add(new)
        record_events(session, new.id, user_id, now, step.events)
        item.new_response_id = new.id
    # The new revisions' PDFs, prepared on the task queue once this commits (the old ones keep theirs).
    request_reports(session, [item.new_response_id for item in result.rescored if item.new_response_id is not None])
    if result.rescored:
        observatory.round_changed(session, round_id)  # new lights for the validated ones too
    return result


def _changed_meanwhile() -> Conflict:
    return Conflict(
        "Mientras se recalculaba, otra persona cambió una respuesta de la ronda. No se guardó nada: "
        "vuelva a revisar la vista previa y recalcule.",
        code="concurrent_change",
    )
