"""Interview entry for the field pages: a whole dimension as form fields, posted fields back
into typed answers, relevance applied on the server, the review list and the result view.

Form field names: ``q-<question id>`` (``q-<id>-especial`` for "no sabe"/"no aplica" of
numbers, texts and dates); the hidden ``preguntas`` lists the questions the page showed, so
a question left blank is removed and one not shown is left as it was.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import scoring
from app.errors import ApiError
from app.web.render import numero

SPECIAL_LABELS = {"ns": "No sabe", "na": "No aplica"}
_THOUSANDS = re.compile(r"^-?\d{1,3}(\.\d{3})+$")


def field_name(qid: str) -> str:
    return f"q-{qid}"


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."


def parse_number(raw: str) -> int | float | None:
    """es-CL or plain numbers: ``1.250.000``, ``0,5``, ``1250000``, ``2.5``; None if not a number."""
    text = raw.replace(" ", "").replace("\u00a0", "").replace("$", "")
    if not text:
        return None
    if "," in text:
        text = text.replace(".", "").replace(",", ".")
    elif _THOUSANDS.match(text):
        text = text.replace(".", "")
    try:
        value = float(text)
    except ValueError:
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return None
    if "." not in text and "e" not in text.lower():
        return int(text)
    return value


def _special_choices(question: scoring.Question) -> list[tuple[str, str]]:
    return [("ns", SPECIAL_LABELS["ns"])] + ([("na", SPECIAL_LABELS["na"])] if question.na else [])


def parse_dimension(questionnaire: scoring.Questionnaire, dimension: scoring.Dimension, form) -> tuple[dict, dict, dict]:
    """(answers posted {qid: value or None}, what was typed {qid: raw}, errors {qid: message})."""
    shown = set(form.getlist("preguntas"))
    posted: dict[str, Any] = {}
    typed: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for subcategory in dimension.subcategories:
        for question in subcategory.questions:
            if question.id not in shown or question.type == "computed":
                continue
            name = field_name(question.id)
            value: Any
            if question.type == "multi":
                raw = [str(v) for v in form.getlist(name)]
                typed[question.id] = raw
                special = [v for v in raw if v in ("na", "ns")]
                value = special[0] if special else (raw or None)
            elif question.type in ("yes_no", "choice"):
                raw = str(form.get(name) or "")
                typed[question.id] = raw
                if question.type == "yes_no" and raw in ("si", "no"):
                    value = raw == "si"
                else:
                    value = raw or None
            else:
                raw = str(form.get(name) or "").strip()
                special = str(form.get(f"{name}-especial") or "")
                typed[question.id] = raw
                typed[f"{question.id}-especial"] = special
                if special in ("na", "ns"):
                    value = special
                elif not raw:
                    value = None
                elif question.type == "number":
                    value = parse_number(raw)
                    if value is None:
                        errors[question.id] = "Escriba un número (por ejemplo 1.250.000 o 0,5)."
                        continue
                elif question.type == "date":
                    value = raw
                    try:
                        date.fromisoformat(raw)
                    except ValueError:
                        errors[question.id] = "Escriba una fecha válida (AAAA-MM-DD)."
                        continue
                else:
                    value = raw
            if value is not None:
                problem = scoring.validate_answer(questionnaire, question.id, value)
                if problem is not None:
                    errors[question.id] = _sentence(problem.message)
                    continue
            posted[question.id] = value
    return posted, typed, errors


def apply_relevance(questionnaire: scoring.Questionnaire, dimension: scoring.Dimension,
                    posted: dict[str, Any], merged: dict[str, Any]) -> dict[str, Any]:
    """The changes to save: the posted answers, and a removal of every stored answer the new
    answers make irrelevant (anywhere in the questionnaire)."""
    changes = dict(posted)
    answers = dict(merged)
    for _ in range(10):  # clearing one answer can make another irrelevant
        relevance = scoring.relevant_questions(questionnaire, answers)
        cleared = [qid for qid, value in answers.items() if value is not None and relevance.get(qid) is False]
        if not cleared:
            break
        for qid in cleared:
            answers.pop(qid)
            changes[qid] = None
    return changes


def answer_errors(error: ApiError) -> dict[str, str]:
    out = {}
    for detail in error.details:
        field = str(detail.get("field") or "")
        if field.startswith("answers."):
            out.setdefault(field.removeprefix("answers."), _sentence(str(detail.get("message") or "")))
    return out


def differs(left: Any, right: Any) -> bool:
    return left != right or type(left) is not type(right)


def display_value(question: scoring.Question, value: Any) -> str:
    """An answer as people read it."""
    if value is None:
        return "sin respuesta"
    if value in SPECIAL_LABELS and not (question.type in ("choice", "multi") and value in {o.value for o in question.options}):
        return SPECIAL_LABELS[value]
    if question.type == "yes_no":
        return "Sí" if value is True else "No" if value is False else str(value)
    if question.type in ("choice", "multi"):
        labels = {option.value: option.label for option in question.options}
        items = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(item, str(item)) for item in items)
    if question.type == "number" and isinstance(value, (int, float)):
        text = numero(value)
        return f"{text} {question.unit}" if question.unit else text
    return str(value)


def _form_value(question: scoring.Question, value: Any) -> tuple[Any, str]:
    """(the field's value, the special choice) of a stored answer."""
    if question.type == "yes_no":
        return ("si" if value is True else "no" if value is False else (value or "")), ""
    if question.type == "choice":
        return value or "", ""
    if question.type == "multi":
        return (value if isinstance(value, list) else [value] if value else []), ""
    if value in ("na", "ns"):
        return "", value
    if question.type == "number" and isinstance(value, (int, float)):
        return (str(value).replace(".", ",") if isinstance(value, float) else str(value)), ""
    return ("" if value is None else str(value)), ""


def dimension_view(questionnaire: scoring.Questionnaire, dimension: scoring.Dimension, answers: dict[str, Any],
                   typed: dict[str, Any] | None, errors: dict[str, str], theirs: dict[str, Any] | None = None) -> dict:
    """What the dimension template shows: per subcategory, each question with its value,
    relevance, error and (after a stale save) what the person had typed."""
    relevance = scoring.relevant_questions(questionnaire, {k: v for k, v in answers.items() if v is not None})
    theirs = theirs or {}
    subcategories = []
    answered = total = 0
    for subcategory in dimension.subcategories:
        items = []
        for question in subcategory.questions:
            value, special = _form_value(question, answers.get(question.id))
            if typed is not None and question.id in typed:
                value = typed[question.id]
                special = typed.get(f"{question.id}-especial", "")
            relevant = relevance.get(question.id, True)
            if question.type != "computed" and relevant:
                total += 1
                answered += answers.get(question.id) is not None
            items.append({
                "q": question,
                "name": field_name(question.id),
                "value": value,
                "special": special,
                "specials": _special_choices(question),
                "relevant": relevant,
                "error": errors.get(question.id),
                "theirs": (display_value(question, _typed_to_value(question, theirs[question.id]))
                           if question.id in theirs else None),
                "current": display_value(question, answers.get(question.id)),
            })
        subcategories.append({"s": subcategory, "questions": items})
    return {"subcategories": subcategories, "answered": answered, "total": total}


def _typed_to_value(question: scoring.Question, raw: Any) -> Any:
    if raw in (None, "", []):
        return None
    if question.type == "yes_no":
        return True if raw == "si" else False if raw == "no" else raw
    if question.type == "number":
        number = parse_number(str(raw))
        return number if number is not None else raw
    return raw


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
                    missing.append({"q": question, "number": number, "dimension": dimension, "subcategory": subcategory})
        per_dimension.append({"number": number, "d": dimension, "total": dim_total, "answered": dim_answered})
        total += dim_total
        answered += dim_answered
    return {"missing": missing, "total": total, "answered": answered, "per_dimension": per_dimension}


def result_view(questionnaire: scoring.Questionnaire, outcome: dict[str, Any]) -> dict[str, Any]:
    """The result page: overall, dimensions and subcategories with titles, and the questions
    that pulled each red or yellow down."""
    data = outcome.get("result") or {}
    titles_d = {d.id: d.title for d in questionnaire.dimensions}
    titles_s = {s.id: s.title for d in questionnaire.dimensions for s in d.subcategories}
    texts = {q.id: q.text for q in questionnaire.questions}
    dimensions = []
    for dimension in data.get("dimensions", []):
        subs = []
        for sub in dimension.get("subcategories", []):
            subs.append({
                "title": titles_s.get(sub["id"], sub["id"]), "light": sub.get("light"), "score": sub.get("score"),
                "pulled": [texts.get(qid, qid) for qid in sub.get("pulled_down_by", [])],
            })
        dimensions.append({"title": titles_d.get(dimension["id"], dimension["id"]), "light": dimension.get("light"),
                           "score": dimension.get("score"), "subcategories": subs})
    return {"overall": data.get("overall") or {}, "result_dimensions": dimensions, "preview": outcome.get("preview")}
