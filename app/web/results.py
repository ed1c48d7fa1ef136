"""A stored result in words for the result pages of the manager (``app.web.manager``) and
the field team (``app.web.field``): titles from the questionnaire, and for each red or
yellow subcategory its critical failures and the other questions that pulled it down, with
the answer given as the form words it. (The PDF report words its own: reports/view.py.)"""

from __future__ import annotations

from typing import Any

import scoring
from app.web.questionnaire_form import answer_text


def _described(questionnaire: scoring.Questionnaire, answers: dict[str, Any], ids: list[str]) -> list[dict[str, str]]:
    items = []
    for qid in ids:
        if questionnaire.has_question(qid):
            question = questionnaire.question(qid)
            items.append({"id": qid, "text": question.text, "answer": answer_text(question, answers.get(qid))})
        else:  # a question of another version of the questionnaire: its id and raw value
            items.append({"id": qid, "text": qid, "answer": "—" if answers.get(qid) is None else str(answers.get(qid))})
    return items


def results_in_words(questionnaire: scoring.Questionnaire, snapshot: dict[str, Any],
                     answers: dict[str, Any]) -> dict[str, Any]:
    """``overall`` (the snapshot's) and ``dimensions``, each with its title and its
    subcategories; a red or yellow subcategory lists its ``critical`` failures and the other
    questions that ``pulled`` it down, each with the answer in words."""
    dimensions_by_id = {d.id: d for d in questionnaire.dimensions}
    dimensions = []
    for dim in snapshot.get("dimensions", []):
        model = dimensions_by_id.get(dim.get("id"))
        subs_by_id = {s.id: s for s in model.subcategories} if model else {}
        subcategories = []
        for sub in dim.get("subcategories", []):
            sub_model = subs_by_id.get(sub.get("id"))
            lit = sub.get("light") in ("red", "yellow")
            critical = list(sub.get("critical_failures") or [])
            pulled = [qid for qid in sub.get("pulled_down_by") or [] if qid not in critical]
            subcategories.append({
                "id": sub.get("id"),
                "title": sub_model.title if sub_model else sub.get("id"),
                "light": sub.get("light"),
                "score": sub.get("score"),
                "coverage": sub.get("coverage"),
                "critical": _described(questionnaire, answers, critical) if lit else [],
                "pulled": _described(questionnaire, answers, pulled) if lit else [],
            })
        dimensions.append({
            "id": dim.get("id"),
            "title": model.title if model else dim.get("id"),
            "light": dim.get("light"),
            "score": dim.get("score"),
            "coverage": dim.get("coverage"),
            "capped": dim.get("capped", False),
            "subcategories": subcategories,
        })
    return {"overall": snapshot.get("overall") or {}, "dimensions": dimensions}
