"""Small builders for spec-level unit tests of the scoring core.

Questionnaires are plain dicts in the shape of shared/spec/questionnaire-format.md,
loaded through the public API (``scoring.questionnaire_from_data``), so the
tests check the published contract rather than the engine's internals.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from scoring import (
    Problem,
    QuestionnaireError,
    load_questionnaire,
    questionnaire_from_data,
    score,
)

# --------------------------------------------------------------------------- questions


def yes_no(qid: str, **keys: Any) -> dict:
    return {"id": qid, "text": f"¿{qid}?", "type": "yes_no", **keys}


def _options(options: Any) -> list[dict]:
    if isinstance(options, dict):  # {value: score}; score None = unscored option
        built = []
        for value, option_score in options.items():
            option = {"value": value, "label": value.capitalize()}
            if option_score is not None:
                option["score"] = option_score
            built.append(option)
        return built
    return list(options)


def choice(qid: str, options: Any, **keys: Any) -> dict:
    return {"id": qid, "text": f"¿{qid}?", "type": "choice", "options": _options(options), **keys}


def multi(qid: str, options: Any, **keys: Any) -> dict:
    return {"id": qid, "text": f"¿{qid}?", "type": "multi", "options": _options(options), **keys}


def number(qid: str, **keys: Any) -> dict:
    return {"id": qid, "text": f"¿{qid}?", "type": "number", **keys}


def computed(qid: str, formula: str, **keys: Any) -> dict:
    return {"id": qid, "text": qid, "type": "computed", "formula": formula, **keys}


def text(qid: str, **keys: Any) -> dict:
    return {"id": qid, "text": f"¿{qid}?", "type": "text", **keys}


def date(qid: str, **keys: Any) -> dict:
    return {"id": qid, "text": f"¿{qid}?", "type": "date", **keys}


#: Three bands: below 1 scores 0, [1, 2) scores 0.5, 2 and above scores 1.
BANDS = [{"max": 1, "score": 0}, {"min": 1, "max": 2, "score": 0.5}, {"min": 2, "score": 1}]

# --------------------------------------------------------------------------- structure


def sub(sid: str, *questions: dict, **keys: Any) -> dict:
    return {"id": sid, "title": f"Subcategoría {sid}", **keys, "questions": list(questions)}


def dim(did: str, *subcategories: dict, **keys: Any) -> dict:
    return {"id": did, "title": f"Dimensión {did}", **keys, "subcategories": list(subcategories)}


def doc(*dimensions: dict, **keys: Any) -> dict:
    return {"id": "prueba", "version": "1", "title": "Prueba", **keys, "dimensions": list(dimensions)}


def single(*questions: dict, **keys: Any) -> dict:
    """A file with one dimension ``d`` and one subcategory ``s`` holding the questions."""
    return doc(dim("d", sub("s", *questions)), **keys)


# --------------------------------------------------------------------------- loading and scoring


def load(data: dict, *, source: str = "prueba.yaml"):
    return questionnaire_from_data(data, source=source)


def load_text(text_: str, *, source: str = "prueba.yaml"):
    return load_questionnaire(text_, source=source)


def problems(data: Any, *, source: str = "prueba.yaml") -> list[Problem]:
    """The problems of a file that must not load (fails the test if it loads)."""
    with pytest.raises(QuestionnaireError) as caught:
        questionnaire_from_data(data, source=source)
    assert caught.value.problems, "QuestionnaireError without problems"
    return caught.value.problems


def text_problems(text_: str, *, source: str = "prueba.yaml") -> list[Problem]:
    with pytest.raises(QuestionnaireError) as caught:
        load_questionnaire(text_, source=source)
    assert caught.value.problems, "QuestionnaireError without problems"
    return caught.value.problems


def run(data_or_questionnaire: Any, answers: dict | None = None):
    """Score ``answers`` (default: none) on a questionnaire dict or a loaded questionnaire."""
    questionnaire = data_or_questionnaire
    if isinstance(data_or_questionnaire, dict):
        questionnaire = load(data_or_questionnaire)
    return score(questionnaire, answers or {})


def question_results(result) -> dict:
    """Every question result of a diagnosis by id, walking the public result tree."""
    return {
        q.id: q
        for dimension in result.dimensions
        for subcategory in dimension.subcategories
        for q in subcategory.questions
    }


def subcategory_results(result) -> dict:
    return {s.id: s for d in result.dimensions for s in d.subcategories}


def dimension_results(result) -> dict:
    return {d.id: d for d in result.dimensions}


def status(result, qid: str) -> str:
    return str(question_results(result)[qid].status)


def as_method_1(snapshot: dict) -> dict:
    """A snapshot as method 1 stored it: no ``method``, no ``critical_unknown`` (a critical «No
    sé» was a critical failure) and no ``consistency_warnings``; «No sé» scored 0."""
    old = copy.deepcopy(snapshot)
    old.pop("method", None)
    old.pop("consistency_warnings", None)
    for dim in old["dimensions"]:
        for sub in dim["subcategories"]:
            unknown = sub.pop("critical_unknown", [])
            if unknown:
                sub["critical_failures"] = list(sub["critical_failures"]) + list(unknown)
                sub["light"] = "red"
            for question in sub["questions"]:
                if question["status"] == "ns":
                    question["score"] = 0.0
    return old
