"""Answer validation (format spec, section "Answers").

Every problem of an answer set is reported with its question id; an answer set
with any problem is neither scored nor stored. The same per-question check
serves the API's autosave of a single answer.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from .model import Question, Questionnaire

_LARGEST_FLOAT = sys.float_info.max
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True, slots=True)
class AnswerError:
    question: str | None
    code: str
    message: str

    def to_dict(self) -> dict:
        return {"question": self.question, "code": self.code, "message": self.message}

    def __str__(self) -> str:
        return f"{self.question}: {self.message}" if self.question else self.message


class InvalidAnswers(Exception):
    """Raised by scoring when the answer set fails validation; ``errors`` lists every problem."""

    def __init__(self, errors: list[AnswerError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


Check = Callable[[Any], "AnswerError | None"]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def answer_check(question: Question) -> Check:
    """Build the validator of one question's answer (None = unanswered is always fine)."""
    qid = question.id

    def error(code: str, message: str) -> AnswerError:
        return AnswerError(qid, code, message)

    if question.type == "computed":

        def check_computed(value: Any) -> AnswerError | None:
            return error("computed_answered", "es una pregunta calculada: su valor sale de la fórmula y no se responde")

        return check_computed

    allows_na = question.na

    def reserved(value: Any) -> AnswerError | None | Literal[False]:
        """None when the value is na/ns and allowed, an error when na is not allowed, False otherwise."""
        if value == "ns":
            return None
        if value == "na":
            if allows_na:
                return None
            return error("na_not_allowed", '"na" (no aplica) no está permitido en esta pregunta')
        return False

    if question.type == "yes_no":

        def check(value: Any) -> AnswerError | None:
            if isinstance(value, bool):
                return None
            outcome = reserved(value)
            if outcome is False:
                return error("wrong_type", f"se espera true o false (sí/no), no {_show(value)}")
            return outcome

        return check

    if question.type in ("choice", "multi"):
        allowed = {option.value for option in question.options}
        listing = ", ".join(sorted(allowed))
        if question.type == "choice":

            def check(value: Any) -> AnswerError | None:
                if isinstance(value, str):
                    if value in allowed:
                        return None
                    outcome = reserved(value)
                    if outcome is False:
                        return error("unknown_option", f"'{value}' no es una opción; las opciones son: {listing}")
                    return outcome
                return error("wrong_type", f"se espera el valor de una opción (texto), no {_show(value)}")

            return check

        def check_multi(value: Any) -> AnswerError | None:
            if isinstance(value, list):
                seen: set[str] = set()
                for item in value:
                    if not isinstance(item, str):
                        return error(
                            "wrong_type", f"la lista debe contener valores de opciones (texto), no {_show(item)}"
                        )
                    if item not in allowed:
                        return error("unknown_option", f"'{item}' no es una opción; las opciones son: {listing}")
                    if item in seen:
                        return error("duplicate_option", f"la opción '{item}' aparece más de una vez")
                    seen.add(item)
                return None
            outcome = reserved(value) if isinstance(value, str) else False
            if outcome is False:
                return error("wrong_type", f"se espera una lista de opciones, no {_show(value)}")
            return outcome

        return check_multi

    if question.type == "number":
        low, high, whole = question.min, question.max, question.integer

        def check_number(value: Any) -> AnswerError | None:
            if not _is_number(value):
                outcome = reserved(value)
                if outcome is False:
                    return error("wrong_type", f"se espera un número, no {_show(value)}")
                return outcome
            if value.__class__ is int:
                if not -_LARGEST_FLOAT <= value <= _LARGEST_FLOAT:
                    # JSON integers have no size limit; ones no float can hold would break arithmetic
                    return error("out_of_bounds", "el número es demasiado grande")
            elif not math.isfinite(value):
                return error("wrong_type", "se espera un número finito")
            if whole and not float(value).is_integer():
                return error("not_integer", f"se espera un número entero, no {value}")
            if low is not None and value < low:
                return error("out_of_bounds", f"{value} es menor que el mínimo permitido ({_format_number(low)})")
            if high is not None and value > high:
                return error("out_of_bounds", f"{value} es mayor que el máximo permitido ({_format_number(high)})")
            return None

        return check_number

    if question.type == "date":

        def check_date(value: Any) -> AnswerError | None:
            if isinstance(value, str):
                outcome = reserved(value)
                if outcome is not False:
                    return outcome
                if _DATE_RE.match(value):
                    try:
                        date.fromisoformat(value)
                        return None
                    except ValueError:
                        pass
                return error("invalid_date", f"{value!r} no es una fecha válida con formato AAAA-MM-DD")
            return error("wrong_type", f"se espera una fecha AAAA-MM-DD (texto), no {_show(value)}")

        return check_date

    # text
    def check_text(value: Any) -> AnswerError | None:
        if isinstance(value, str):
            outcome = reserved(value)
            return None if outcome is False else outcome
        return error("wrong_type", f"se espera un texto, no {_show(value)}")

    return check_text


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (dict, list)):
        return "una lista" if isinstance(value, list) else "un objeto"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def validate_answer(questionnaire: Questionnaire, question_id: str, value: Any) -> AnswerError | None:
    """Check one answer (for autosave); None when it is valid or empty."""
    checks = questionnaire._plan.checks
    check = checks.get(question_id)
    if check is None:
        return AnswerError(question_id, "unknown_question", f"'{question_id}' no es una pregunta de este cuestionario")
    if value is None:
        return None
    return check(value)


def quick_acceptance(question: Question) -> frozenset | type | None:
    """What lets validate_answers accept the commonest answers without calling the full check:
    ``bool`` for yes_no (a bool, exactly), or the set of accepted strings of a choice."""
    if question.type == "yes_no":
        return bool
    if question.type == "choice":
        return frozenset({option.value for option in question.options} | {"ns"} | ({"na"} if question.na else set()))
    return None


def validate_answers(questionnaire: Questionnaire, answers: Any) -> list[AnswerError]:
    """Every problem of an answer set, in the order of its keys; empty when it is valid."""
    if not isinstance(answers, dict):
        return [AnswerError(None, "not_an_object", "las respuestas deben ser un objeto JSON {id_pregunta: valor}")]
    plan = questionnaire._plan
    checks, quick = plan.checks, plan.quick_acceptance
    errors: list[AnswerError] = []
    for question_id, value in answers.items():
        if value is None:
            if question_id in checks:
                continue
        else:
            accepted = quick.get(question_id)
            if accepted is not None:
                if accepted is bool:
                    if value.__class__ is bool:
                        continue
                elif value.__class__ is str and value in accepted:
                    continue
        check = checks.get(question_id)
        if check is None:
            errors.append(
                AnswerError(
                    str(question_id), "unknown_question", f"'{question_id}' no es una pregunta de este cuestionario"
                )
            )
        else:
            problem = check(value)
            if problem is not None:
                errors.append(problem)
    return errors
