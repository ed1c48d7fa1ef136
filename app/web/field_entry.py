"""Interview entry helpers for the field pages (the form itself is app.web.questionnaire_form):
relevance applied on the server when saving, the fields of a dimension grouped by
subcategory, the review counts per dimension and the result view."""

from __future__ import annotations

from typing import Any

import scoring
from app.web import questionnaire_form as qf


def apply_relevance(
    questionnaire: scoring.Questionnaire, posted: dict[str, Any], stored: dict[str, Any]
) -> dict[str, Any]:
    """The changes to save: the posted answers, plus the removal of every stored answer that
    the new answers make irrelevant (anywhere in the questionnaire)."""
    changes = dict(posted)
    answers = {qid: value for qid, value in {**stored, **posted}.items() if value is not None}
    for _ in range(10):  # clearing one answer can make another irrelevant
        relevance = scoring.relevant_questions(questionnaire, answers)
        cleared = [qid for qid in answers if relevance.get(qid) is False]
        if not cleared:
            break
        for qid in cleared:
            answers.pop(qid)
            changes[qid] = None
    return changes


def grouped(section: qf.Section, fields: list[qf.QuestionField]) -> list[dict[str, Any]]:
    """The fields of a dimension page under their subcategory headings (empty ones left out)."""
    groups = []
    for subcategory in section.subcategories:
        ids = {q.id for q in subcategory.questions}
        items = [f for f in fields if f.id in ids]
        if items:
            groups.append({"s": subcategory, "fields": items})
    return groups


def review(questionnaire: scoring.Questionnaire, answers: dict[str, Any]) -> dict[str, Any]:
    """Unanswered required questions with their dimension number, and the counts."""
    missing_ids = set(scoring.missing_required(questionnaire, answers))
    relevance = scoring.relevant_questions(questionnaire, answers)
    missing = []
    total = answered = 0
    per_dimension = []
    for number, dimension in enumerate(questionnaire.dimensions, start=1):
        dim_total = dim_answered = 0
        for subcategory in dimension.subcategories:
            for question in subcategory.questions:
                if question.type == "computed" or not relevance.get(question.id, True):
                    continue
                dim_total += 1
                dim_answered += answers.get(question.id) is not None
                if question.id in missing_ids:
                    missing.append(
                        {
                            "q": question,
                            "number": number,
                            "dimension": dimension,
                            "subcategory": subcategory,
                            "anchor": qf.anchor(question.id),
                        }
                    )
        per_dimension.append({"number": number, "d": dimension, "total": dim_total, "answered": dim_answered})
        total += dim_total
        answered += dim_answered
    return {"missing": missing, "total": total, "answered": answered, "per_dimension": per_dimension}
