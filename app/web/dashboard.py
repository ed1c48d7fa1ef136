"""Read-only aggregations for the analyst pages: rounds and their progress, the share of each
light per dimension by region and macrozone (from the stored result snapshots), cooperative
lists with the light of the latest round, a cooperative's history, and answers in words.

Only staff reach these (the views ask ``app.auth.policy``); the cooperative filters reuse
``app.cooperatives.service.list_statement`` so the visibility rule stays in one place.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import scoring
from app.auth.models import User
from app.cooperatives.models import Cooperative
from app.cooperatives.service import CooperativeFilters, list_statement
from app.exchange.aggregates import Grouping, aggregate, counted_statement, result_rows
from app.exchange.exports import QUESTION_STATUS_ES, questionnaire_levels
from app.responses.models import Response, ResponseStatus
from app.rounds.models import DiagnosisRound
from app.rounds.service import get_round_questionnaire
from app.settings import Settings
from reports import formatting as fmt
from reports import view

#: The categories of a dashboard bar, in drawing order.
CATEGORIES = ("green", "yellow", "red", "insufficient_data", "not_applicable")
SCORED_STATUSES = (ResponseStatus.SUBMITTED.value, ResponseStatus.VALIDATED.value)
STATUS_ORDER = (
    ResponseStatus.DRAFT.value,
    ResponseStatus.RETURNED.value,
    ResponseStatus.SUBMITTED.value,
    ResponseStatus.VALIDATED.value,
)
#: Filter value of the cooperative list for "no submitted diagnosis in the latest round".
NO_RESULT = "sin_resultado"


# --------------------------------------------------------------------------- rounds


def rounds_overview(*, session: Session) -> list[dict[str, Any]]:
    """Every round, newest first, with its questionnaire and number of (current) responses."""
    rounds = list(
        session.scalars(select(DiagnosisRound).order_by(DiagnosisRound.opens_on.desc(), DiagnosisRound.id.desc()))
    )
    counts = dict(
        session.execute(
            select(Response.round_id, func.count()).where(Response.is_current.is_(True)).group_by(Response.round_id)
        ).all()
    )
    return [{"round": r, "responses": counts.get(r.id, 0)} for r in rounds]


def latest_round(session: Session) -> DiagnosisRound | None:
    return session.scalar(
        select(DiagnosisRound).order_by(DiagnosisRound.opens_on.desc(), DiagnosisRound.id.desc()).limit(1)
    )


# --------------------------------------------------------------------------- round dashboard


@dataclass
class Breakdown:
    """Counts of each category for one group (a region, a macrozone or everything)."""

    label: str
    counts: Counter = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def share(self, category: str) -> float | None:
        return self.counts[category] / self.total if self.total else None


@dataclass
class DimensionStats:
    id: str
    title: str
    total: Breakdown
    by_macrozone: list[Breakdown]
    by_region: list[Breakdown]


@dataclass
class RoundDashboard:
    round: DiagnosisRound
    cooperatives: int
    by_status: dict[str, int]
    without_response: list[Cooperative]
    scored: int
    dimensions: list[DimensionStats]  # the first one is the overall result


def _breakdowns(groups: list[dict[str, Any]], level: int) -> list[Breakdown]:
    """The light counts of one level of each group of ``app.exchange.aggregates.aggregate``."""
    return [
        Breakdown(group["label"], Counter({light: n for light, n in group["levels"][level]["counts"].items() if n}))
        for group in groups
    ]


def round_dashboard(
    *,
    session: Session,
    user: User,
    settings: Settings,
    round: DiagnosisRound,  # noqa: A002
    filters: CooperativeFilters,
) -> RoundDashboard:
    # Every matching cooperative counts for the responses (a field team may interview one that
    # still waits for approval); only approved ones count as missing a response.
    cooperatives = {c.id: c for c in session.scalars(list_statement(user=user, settings=settings, filters=filters))}
    responses = session.execute(
        select(Response.cooperative_id, Response.status).where(
            Response.round_id == round.id, Response.is_current.is_(True)
        )
    ).all()
    responses = [row for row in responses if row.cooperative_id in cooperatives]
    by_status = {status: 0 for status in STATUS_ORDER}
    for row in responses:
        by_status[row.status] = by_status.get(row.status, 0) + 1
    answered = {row.cooperative_id for row in responses}
    without = sorted(
        (c for cid, c in cooperatives.items() if cid not in answered and c.approved), key=lambda c: (c.name, c.id)
    )

    # The light counts are the observatory aggregates of the round, by macrozone and by region.
    levels = questionnaire_levels(get_round_questionnaire(session=session, round=round), subcategories=False)
    results = result_rows(session, counted_statement(user=user, settings=settings, round_id=round.id, filters=filters))
    by_zone = aggregate(results, levels=levels, grouping=Grouping.MACROZONE, settings=settings)
    by_region = aggregate(results, levels=levels, grouping=Grouping.REGION, settings=settings)
    dimensions = [
        DimensionStats(
            id="__overall__" if level.kind == "overall" else level.id,
            title=level.title,
            total=_breakdowns([by_zone["total"]], index)[0],
            by_macrozone=_breakdowns(by_zone["groups"], index),
            by_region=_breakdowns(by_region["groups"], index),
        )
        for index, level in enumerate(levels)
    ]
    return RoundDashboard(
        round=round,
        cooperatives=sum(1 for c in cooperatives.values() if c.approved or c.id in answered),
        by_status=by_status,
        without_response=without,
        scored=len(results),
        dimensions=dimensions,
    )


# --------------------------------------------------------------------------- cooperative lists


def _light_expression():
    return Response.result_snapshot[("overall", "light")].as_string()


def light_filter_statement(statement, *, session: Session, light: str | None):
    """Narrow a cooperative SELECT to the overall light of their response in the latest round."""
    if not light:
        return statement
    latest = latest_round(session)
    if latest is None:
        return statement.where(Cooperative.id.is_(None))
    scored = select(Response.cooperative_id).where(
        Response.round_id == latest.id, Response.is_current.is_(True), Response.status.in_(SCORED_STATUSES)
    )
    if light == NO_RESULT:
        return statement.where(Cooperative.id.not_in(scored))
    return statement.where(Cooperative.id.in_(scored.where(_light_expression() == light)))


def latest_lights(*, session: Session, cooperative_ids: list[int]) -> dict[int, dict[str, Any]]:
    """For each cooperative: status and overall light of its current response in the latest round."""
    latest = latest_round(session)
    if latest is None or not cooperative_ids:
        return {}
    rows = session.execute(
        select(Response.id, Response.cooperative_id, Response.status, _light_expression()).where(
            Response.round_id == latest.id, Response.is_current.is_(True), Response.cooperative_id.in_(cooperative_ids)
        )
    ).all()
    return {
        cid: {"response_id": rid, "status": status, "light": light if status in SCORED_STATUSES else None}
        for rid, cid, status, light in rows
    }


def cooperative_history(*, session: Session, cooperative_id: int) -> list[dict[str, Any]]:
    """Every response of the cooperative (all revisions), oldest round first."""
    rows = session.execute(
        select(Response, DiagnosisRound)
        .join(DiagnosisRound, DiagnosisRound.id == Response.round_id)
        .where(Response.cooperative_id == cooperative_id)
        .order_by(DiagnosisRound.opens_on, DiagnosisRound.id, Response.revision)
    ).all()
    history = []
    for response, round_ in rows:
        snapshot = response.result_snapshot if response.status in SCORED_STATUSES else None
        overall = (snapshot or {}).get("overall") or {}
        history.append(
            {
                "response": response,
                "round": round_,
                "light": overall.get("light"),
                "score": overall.get("score"),
            }
        )
    return history


# --------------------------------------------------------------------------- answers in words


def answer_in_words(question: scoring.Question, value: Any) -> str:
    """An answer in words for the analyst pages: «No sabe», options separated by commas."""
    return fmt.answer_in_words(question, value, separator=", ", decimals=None)


def review_sections(questionnaire: scoring.Questionnaire, answers: dict[str, Any], snapshot: dict | None) -> list[dict]:
    """The questionnaire with every answer in words and, when scored, each level's result,
    with what the snapshot says beyond the lights (reports.view, as on the other pages and
    in the PDF): a subcategory's critical questions answered «No sé» (``unknown``, as
    sentences), why a dimension is red by the critical rule (``critical_note``) and whether
    a question is named by a consistency warning (``flagged``)."""
    method = view.snapshot_method(snapshot)
    flagged = {
        str(qid)
        for warning in (snapshot or {}).get("consistency_warnings") or []
        for qid in warning.get("questions") or []
    }
    results = {}
    if snapshot:
        for d in snapshot.get("dimensions", []):
            results[("d", d["id"])] = d
            for s in d.get("subcategories", []):
                results[("s", s["id"])] = s
                for q in s.get("questions", []):
                    results[("q", q["id"])] = q
    titles = {q.id: q.text for q in questionnaire.questions}
    sections = []
    for d in questionnaire.dimensions:
        subcategories = []
        for s in d.subcategories:
            sub_result = results.get(("s", s.id))
            questions = []
            for q in s.questions:
                q_result = results.get(("q", q.id)) or {}
                questions.append(
                    {
                        "question": q,
                        "answer": answer_in_words(q, answers.get(q.id)) if q.type != "computed" else "Calculada",
                        "status": QUESTION_STATUS_ES.get(q_result.get("status"), None),
                        "score": q_result.get("score"),
                        "flagged": q.id in flagged,
                    }
                )
            subcategories.append(
                {
                    "subcategory": s,
                    "result": sub_result,
                    "questions": questions,
                    "unknown": view.critical_unknowns(sub_result, questionnaire) if sub_result else [],
                    "pulled_down_by": [
                        {
                            "id": qid,
                            "text": titles.get(qid, qid),
                            "critical": qid in (sub_result or {}).get("critical_failures", []),
                        }
                        for qid in (sub_result or {}).get("pulled_down_by", [])
                    ],
                }
            )
        dim_result = results.get(("d", d.id))
        sections.append(
            {
                "dimension": d,
                "result": dim_result,
                "subcategories": subcategories,
                "critical_note": view.critical_note(
                    dim_result, d.thresholds, {s.id: s.title for s in d.subcategories}, method
                )
                if dim_result
                else None,
            }
        )
    return sections
