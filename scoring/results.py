"""Typed results of a diagnosis and their JSON form (scoring.md section 5)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import orjson


class Light(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"
    INSUFFICIENT_DATA = "insufficient_data"
    NOT_APPLICABLE = "not_applicable"

    @property
    def is_light(self) -> bool:
        """True for the three lights; False for the two states that are not lights."""
        return self in (Light.GREEN, Light.YELLOW, Light.RED)


class Status(StrEnum):
    NOT_RELEVANT = "not_relevant"
    UNSCORED = "unscored"
    NA = "na"
    NS = "ns"
    UNANSWERED = "unanswered"
    UNDEFINED = "undefined"
    SCORED = "scored"


# Official messages shown to the cooperative for each light (scoring.md).
LIGHT_MESSAGES: dict[Light, str] = {
    Light.GREEN: "La gestión de su cooperativa es buena; ¡Siga adelante!",
    Light.YELLOW: (
        "Señal de precaución: algunas buenas prácticas están adoptadas, pero hay otras que "
        "necesitan atención; ¡Deténgase y analice!"
    ),
    Light.RED: "Urgencia en la atención a esta categoría o subcategoría; ¡Tome medidas antes de continuar!",
    Light.INSUFFICIENT_DATA: "Hay muy pocas respuestas para emitir un juicio.",
    Light.NOT_APPLICABLE: "Nada de esta sección se aplica a la organización.",
}

LIGHT_NAMES_ES: dict[Light, str] = {
    Light.GREEN: "verde",
    Light.YELLOW: "amarillo",
    Light.RED: "rojo",
    Light.INSUFFICIENT_DATA: "datos insuficientes",
    Light.NOT_APPLICABLE: "no aplica",
}


def percent(score: float | None) -> float | None:
    """A [0, 1] score on the 0–100 output scale, rounded to one decimal."""
    return None if score is None else round(score * 100, 1)


def fraction(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


_COUNTED_IN_COVERAGE = frozenset({"scored", "ns", "unanswered"})


@dataclass(frozen=True, slots=True)
class QuestionResult:
    """One question's outcome. The engine builds these once per questionnaire and shares them
    between diagnoses, with what the question adds to its subcategory precomputed."""

    id: str
    status: Status
    score: float | None
    """In [0, 1] for `scored` and `ns` (0); None when not counted in the score."""
    weight: float
    critical: bool = False
    applicable_weight: float = field(default=0.0, repr=False)
    answered_weight: float = field(default=0.0, repr=False)
    points: float = field(default=0.0, repr=False)
    critical_failure: bool = field(default=False, repr=False)
    loss: float = field(default=0.0, repr=False)
    """Weighted points lost, w * (1 - s), for `scored` and `ns`; 0 otherwise."""
    shared_dict: dict = field(default_factory=dict, repr=False, compare=False)
    """This result's JSON object, made once; only serialised, never handed out (see to_dict)."""

    @classmethod
    def build(cls, id: str, status: Status, score: float | None, weight: float, critical: bool) -> "QuestionResult":
        counted = score is not None  # `scored` and `ns`
        return cls(
            id, status, score, weight, critical,
            applicable_weight=weight if status.value in _COUNTED_IN_COVERAGE else 0.0,
            answered_weight=weight if counted else 0.0,
            points=weight * score if counted else 0.0,
            critical_failure=critical and counted and score == 0.0,
            loss=weight * (1.0 - score) if counted else 0.0,
            shared_dict={"id": id, "status": status.value, "score": percent(score)},
        )

    def to_dict(self) -> dict:
        return {"id": self.id, "status": self.status.value, "score": percent(self.score)}


@dataclass(slots=True)
class SubcategoryResult:
    id: str
    score: float | None
    """Unrounded, in [0, 1]; None when insufficient_data or not_applicable."""
    light: Light
    coverage: float | None
    weight: float
    critical_failures: tuple[str, ...]
    questions: tuple[QuestionResult, ...]

    @property
    def pulled_down_by(self) -> tuple[str, ...]:
        """What explains a red or yellow light: its critical failures first, then the questions
        that lost the most weighted points, w * (1 - s), largest first, ties in file order.
        Empty for the other lights."""
        if self.light is not Light.RED and self.light is not Light.YELLOW:
            return ()
        losers = [q for q in self.questions if q.loss > 0 and not q.critical_failure]
        losers.sort(key=_by_loss, reverse=True)  # stable: ties stay in file order
        return self.critical_failures + tuple(q.id for q in losers)

    def to_dict(self, *, _shared: bool = False) -> dict:
        return {
            "id": self.id,
            "score": percent(self.score),
            "light": self.light.value,
            "coverage": fraction(self.coverage),
            "critical_failures": list(self.critical_failures),
            "pulled_down_by": list(self.pulled_down_by),
            "questions": [q.shared_dict if _shared else q.to_dict() for q in self.questions],
        }


def _by_loss(question: QuestionResult) -> float:
    return question.loss


@dataclass(slots=True)
class DimensionResult:
    id: str
    score: float | None
    light: Light
    coverage: float | None
    weight: float
    subcategories: tuple[SubcategoryResult, ...]

    def to_dict(self, *, _shared: bool = False) -> dict:
        return {
            "id": self.id,
            "score": percent(self.score),
            "light": self.light.value,
            "coverage": fraction(self.coverage),
            "subcategories": [s.to_dict(_shared=_shared) for s in self.subcategories],
        }


@dataclass(slots=True)
class OverallResult:
    score: float | None
    light: Light
    coverage: float | None

    def to_dict(self) -> dict:
        return {"score": percent(self.score), "light": self.light.value, "coverage": fraction(self.coverage)}


@dataclass(slots=True)
class DiagnosisResult:
    questionnaire_id: str
    questionnaire_version: str
    overall: OverallResult
    dimensions: tuple[DimensionResult, ...]

    def to_dict(self, *, _shared: bool = False) -> dict:
        return {
            "questionnaire": {"id": self.questionnaire_id, "version": self.questionnaire_version},
            "overall": self.overall.to_dict(),
            "dimensions": [d.to_dict(_shared=_shared) for d in self.dimensions],
        }

    def to_json(self) -> bytes:
        """``to_dict()`` serialised compactly; the per-question objects are the ones made once
        per questionnaire rather than fresh copies, which is what keeps --batch fast."""
        return orjson.dumps(self.to_dict(_shared=True))

    def subcategory(self, subcategory_id: str) -> SubcategoryResult:
        for dimension in self.dimensions:
            for subcategory in dimension.subcategories:
                if subcategory.id == subcategory_id:
                    return subcategory
        raise KeyError(subcategory_id)

    def dimension(self, dimension_id: str) -> DimensionResult:
        for dimension in self.dimensions:
            if dimension.id == dimension_id:
                return dimension
        raise KeyError(dimension_id)

    def question(self, question_id: str) -> QuestionResult:
        for dimension in self.dimensions:
            for subcategory in dimension.subcategories:
                for question in subcategory.questions:
                    if question.id == question_id:
                        return question
        raise KeyError(question_id)
