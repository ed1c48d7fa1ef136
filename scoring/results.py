"""Typed results of a diagnosis and their JSON form (scoring.md section 5)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
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


METHOD = 2
"""The version of scoring.md these rules implement; every result says it (``"method"``), and a
stored result keeps the method it was scored with."""

# Official messages shown to the cooperative for each light: the seed study's wording,
# verbatim (issue 12). scoring.md v2 paraphrases the yellow and red ones; the people
# who read the diagnosis know the study's sentences, so those are the ones shown.
LIGHT_MESSAGES: dict[Light, str] = {
    Light.GREEN: "La gestión de su cooperativa es buena; ¡Siga adelante!",
    Light.YELLOW: (
        "Señal de precaución; refleja que algunas buenas prácticas son adoptadas, pero también, "
        "que hay algunas otras que necesitan atención; ¡Deténgase y analice!"
    ),
    Light.RED: (
        "Urgencia en la atención a una determinada categoría o subcategoría; ¡Tome medidas antes de continuar!"
    ),
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


# Results are immutable and compared by identity: the engine memoises them per questionnaire,
# so equal inputs give the very same objects (see scoring.engine).


@dataclass(frozen=True, slots=True, eq=False)
class QuestionResult:
    """One question's outcome. The engine builds these once per questionnaire and shares them
    between diagnoses, with what the question adds to its subcategory precomputed."""

    id: str
    status: Status
    score: float | None
    """In [0, 1] for `scored`; None when not counted in the score (every other status)."""
    weight: float
    critical: bool = False
    applicable_weight: float = field(default=0.0, repr=False)
    answered_weight: float = field(default=0.0, repr=False)
    points: float = field(default=0.0, repr=False)
    critical_failure: bool = field(default=False, repr=False)
    critical_unknown: bool = field(default=False, repr=False)
    """A critical question answered `ns`: not a failure, but it keeps its subcategory from green."""
    loss: float = field(default=0.0, repr=False)
    """Weighted points lost, w * (1 - s), for `scored`; 0 otherwise."""
    shared_dict: dict = field(default_factory=dict, repr=False, compare=False)
    """This result's JSON object, made once; only serialised, never handed out (see to_dict)."""

    @classmethod
    def build(cls, id: str, status: Status, score: float | None, weight: float, critical: bool) -> QuestionResult:  # noqa: A002
        counted = score is not None  # `scored` only: method 2 leaves `ns` out of the score
        return cls(
            id,
            status,
            score,
            weight,
            critical,
            applicable_weight=weight if status.value in _COUNTED_IN_COVERAGE else 0.0,
            answered_weight=weight if counted else 0.0,
            points=weight * score if score is not None else 0.0,
            critical_failure=critical and counted and score == 0.0,
            critical_unknown=critical and status is Status.NS,
            loss=weight * (1.0 - score) if score is not None else 0.0,
            shared_dict={"id": id, "status": status.value, "score": percent(score)},
        )

    def to_dict(self) -> dict:
        return {"id": self.id, "status": self.status.value, "score": percent(self.score)}


@dataclass(frozen=True, slots=True, eq=False)
class SubcategoryResult:
    id: str
    score: float | None
    """Unrounded, in [0, 1]; None when insufficient_data or not_applicable."""
    light: Light
    coverage: float | None
    weight: float
    critical_failures: tuple[str, ...]
    critical_unknown: tuple[str, ...]
    """Critical questions answered `ns` (file order): a subcategory with one is never green."""
    pulled_down_by: tuple[str, ...]
    """What explains a red or yellow light: its critical failures first, then the questions
    that lost the most weighted points, w * (1 - s), largest first, ties in file order.
    Empty for the other lights."""
    questions: tuple[QuestionResult, ...]
    json: bytes = field(default=b"", repr=False)
    """This result as JSON, made once: the engine memoises subcategory results (see with_json)."""

    def with_json(self) -> SubcategoryResult:
        return replace(self, json=orjson.dumps(self.to_dict(_shared=True)))

    def to_dict(self, *, _shared: bool = False) -> dict:
        return {
            "id": self.id,
            "score": percent(self.score),
            "light": self.light._value_,
            "coverage": fraction(self.coverage),
            "critical_failures": list(self.critical_failures),
            "critical_unknown": list(self.critical_unknown),
            "pulled_down_by": list(self.pulled_down_by),
            "questions": [q.shared_dict if _shared else q.to_dict() for q in self.questions],
        }


@dataclass(frozen=True, slots=True, eq=False)
class DimensionResult:
    id: str
    score: float | None
    light: Light
    coverage: float | None
    weight: float
    subcategories: tuple[SubcategoryResult, ...]
    capped: bool = False
    """True when the score alone would be green but a red subcategory caps it at yellow
    (kept out of the JSON, whose overall and dimension objects hold the spec's keys only)."""

    def to_dict(self, *, _shared: bool = False) -> dict:
        return {
            "id": self.id,
            "score": percent(self.score),
            "light": self.light._value_,
            "coverage": fraction(self.coverage),
            "subcategories": [s.to_dict(_shared=_shared) for s in self.subcategories],
        }


def _subcategory_json(subcategory: SubcategoryResult) -> bytes:
    return subcategory.json or orjson.dumps(subcategory.to_dict(_shared=True))


def _dimension_json(dimension: DimensionResult) -> bytes:
    head = {
        "id": dimension.id,
        "score": percent(dimension.score),
        "light": dimension.light._value_,
        "coverage": fraction(dimension.coverage),
    }
    return b"".join(
        (
            orjson.dumps(head)[:-1],
            b',"subcategories":[',
            b",".join(map(_subcategory_json, dimension.subcategories)),
            b"]}",
        )
    )


@dataclass(frozen=True, slots=True)
class OverallResult:
    score: float | None
    light: Light
    coverage: float | None
    capped: bool = False
    """True when the score alone would be green but a red dimension caps it at yellow."""

    def to_dict(self) -> dict:
        return {"score": percent(self.score), "light": self.light._value_, "coverage": fraction(self.coverage)}


@dataclass(frozen=True, slots=True, eq=False)
class DiagnosisResult:
    questionnaire_id: str
    questionnaire_version: str
    overall: OverallResult
    dimensions: tuple[DimensionResult, ...]

    def to_dict(self, *, _shared: bool = False) -> dict:
        return {
            "method": METHOD,
            "questionnaire": {"id": self.questionnaire_id, "version": self.questionnaire_version},
            "overall": self.overall.to_dict(),
            "dimensions": [d.to_dict(_shared=_shared) for d in self.dimensions],
        }

    def to_json(self) -> bytes:
        """``to_dict()`` serialised compactly (what ``orjson.dumps(self.to_dict())`` gives), built
        from each subcategory's JSON, which is made once per distinct subcategory result."""
        return b"".join(
            (
                b'{"method":%d,"questionnaire":' % METHOD,
                orjson.dumps({"id": self.questionnaire_id, "version": self.questionnaire_version}),
                b',"overall":',
                orjson.dumps(self.overall.to_dict()),
                b',"dimensions":[',
                b",".join(map(_dimension_json, self.dimensions)),
                b"]}",
            )
        )

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
