"""A stored result in words for the result pages of the manager (``app.web.manager``) and
the field team (``app.web.field``): titles from the questionnaire, and for each red or
yellow subcategory its critical failures and the other questions that pulled it down, with
the answer given as the form words it. (The PDF report words its own: reports/view.py.)

What the stored snapshot says beyond the lights is worked out once in ``reports.view``, for
these pages, the analyst's and the PDF alike (``beyond_the_lights``: peers, change since the
previous diagnosis and suggested programmes, from the very report context of the PDF): the method it was scored with, the critical
questions answered «No sé» in plain words, why a dimension is red by the critical rule and
the data-quality note on the share of «No sé» answers; the light messages say «su
organización» to a pre-cooperative group (``reports.formatting.is_pre_cooperative``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

import scoring
from app.cooperatives.models import Cooperative
from app.reports.service import STORED, build_context, today_in_chile
from app.responses.models import Response
from app.rounds.models import DiagnosisRound
from app.settings import Settings
from app.web.questionnaire_form import answer_text
from reports import formatting as fmt
from reports import view


def _described(
    questionnaire: scoring.Questionnaire, answers: dict[str, Any], ids: list[str], computed: dict[str, Any]
) -> list[dict[str, str]]:
    items = []
    for qid in ids:
        if questionnaire.has_question(qid):
            question = questionnaire.question(qid)
            if question.type == "computed":  # an indicator: the value its formula gives, as in the form and the PDF
                value = computed.get(qid)
                words = answer_text(question, value) if value is not None else "No se pudo calcular (faltan datos)"
            else:
                words = answer_text(question, answers.get(qid))
            items.append({"id": qid, "text": question.text, "answer": words})
        else:  # a question of another version of the questionnaire: its id and raw value
            items.append({"id": qid, "text": qid, "answer": "—" if answers.get(qid) is None else str(answers.get(qid))})
    return items


def results_in_words(
    questionnaire: scoring.Questionnaire, snapshot: dict[str, Any], answers: dict[str, Any]
) -> dict[str, Any]:
    """``overall`` (the snapshot's) and ``dimensions``, each with its title and its
    subcategories; a red or yellow subcategory lists its ``critical`` failures and the other
    questions that ``pulled`` it down, each with the answer in words; every subcategory its
    critical ``unknown`` questions as sentences, a dimension red by the critical rule its
    ``critical_note``. Also the snapshot's ``method`` (1 when it does not say), whether the
    answers are a pre-cooperative group's (``precooperative``, for the light messages) and
    the ``ns_note`` (None unless more than 10 % of the answers that apply are «No sé»)."""
    snapshot = snapshot or {}
    method = view.snapshot_method(snapshot)
    computed = view.computed_values(questionnaire, answers)
    dimensions_by_id = {d.id: d for d in questionnaire.dimensions}
    dimensions = []
    for dim in view.scored_dimensions(snapshot, questionnaire):
        model = dimensions_by_id.get(dim.get("id"))
        subs_by_id = {s.id: s for s in model.subcategories} if model else {}
        titles = {sid: s.title for sid, s in subs_by_id.items()}
        subcategories = []
        for sub in dim.get("subcategories", []):
            sub_model = subs_by_id.get(sub.get("id"))
            lit = sub.get("light") in ("red", "yellow")
            critical = list(sub.get("critical_failures") or [])
            pulled = [qid for qid in sub.get("pulled_down_by") or [] if qid not in critical]
            subcategories.append(
                {
                    "id": sub.get("id"),
                    "title": sub_model.title if sub_model else sub.get("id"),
                    "light": sub.get("light"),
                    "score": sub.get("score"),
                    "coverage": sub.get("coverage"),
                    "critical": _described(questionnaire, answers, critical, computed) if lit else [],
                    "pulled": _described(questionnaire, answers, pulled, computed) if lit else [],
                    "unknown": view.critical_unknowns(sub, questionnaire),
                }
            )
        dimensions.append(
            {
                "id": dim.get("id"),
                "title": model.title if model else dim.get("id"),
                "light": dim.get("light"),
                "score": dim.get("score"),
                "coverage": dim.get("coverage"),
                "capped": dim.get("capped", False),
                "critical_note": view.critical_note(dim, model.thresholds if model else None, titles, method),
                "subcategories": subcategories,
            }
        )
    return {
        "overall": snapshot.get("overall") or {},
        "dimensions": dimensions,
        "method": method,
        "precooperative": fmt.is_pre_cooperative(answers),
        "ns_note": view.ns_note(snapshot),
    }


def beyond_the_lights(
    *, session: Session, settings: Settings, response: Response, cooperative: Cooperative, round_: DiagnosisRound
) -> dict[str, Any] | None:
    """Peers, change since the previous diagnosis and suggested programmes of a sent diagnosis,
    worked out from the same report context as its PDF; None for a draft (no stored result)."""
    if response.status not in STORED or response.result_snapshot is None:
        return None
    context, _ = build_context(
        session=session,
        settings=settings,
        response=response,
        cooperative=cooperative,
        round_=round_,
        today=today_in_chile(),
    )
    return view.beyond_the_lights(context)
