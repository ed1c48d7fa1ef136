"""Typed, immutable model of a loaded questionnaire (pydantic v2).

Instances are built by :mod:`scoring.loader`, which checks every rule of the
format first; a model that exists is safe to serve and to score.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, PrivateAttr

QuestionType = Literal["yes_no", "choice", "multi", "number", "computed", "text", "date"]
QUESTION_TYPES: tuple[str, ...] = ("yes_no", "choice", "multi", "number", "computed", "text", "date")

DEFAULT_GREEN = 0.80
DEFAULT_RED = 0.50


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Thresholds(_Frozen):
    green: float = DEFAULT_GREEN
    red: float = DEFAULT_RED


class Option(_Frozen):
    value: str
    label: str
    score: float | None = None


class Band(_Frozen):
    min: float | None = None
    max: float | None = None
    score: float

    def contains(self, number: float) -> bool:
        return (self.min is None or number >= self.min) and (self.max is None or number < self.max)


class Question(_Frozen):
    id: str
    text: str
    type: QuestionType
    help: str | None = None
    weight: float = 1.0
    critical: bool = False
    required: bool = True
    na: bool = False
    relevant: str | None = None
    good: Literal["yes", "no"] | None = None
    options: tuple[Option, ...] = ()
    bands: tuple[Band, ...] = ()
    formula: str | None = None
    min: float | None = None
    max: float | None = None
    unit: str | None = None
    integer: bool = False

    @property
    def scored(self) -> bool:
        """Whether the question counts in a score (format spec: 'A question is scored when…')."""
        if self.type == "yes_no":
            return True
        if self.type in ("choice", "multi"):
            return bool(self.options) and self.options[0].score is not None
        if self.type in ("number", "computed"):
            return bool(self.bands)
        return False

    def option(self, value: str) -> Option | None:
        for option in self.options:
            if option.value == value:
                return option
        return None


class Subcategory(_Frozen):
    id: str
    title: str
    weight: float = 1.0
    thresholds: Thresholds
    """The thresholds in force: the subcategory's override merged over its dimension's."""
    questions: tuple[Question, ...]

    @property
    def informational(self) -> bool:
        """No question of it is scored: always not_applicable, information rather than a light."""
        return not any(q.scored for q in self.questions)


class Dimension(_Frozen):
    id: str
    title: str
    weight: float = 1.0
    thresholds: Thresholds
    """The thresholds in force: the dimension's override merged over the file's."""
    subcategories: tuple[Subcategory, ...]

    @property
    def informational(self) -> bool:
        """No question of it is scored (e.g. the organisation's profile): it is always
        not_applicable, so it is shown as information, never as a light."""
        return not any(q.scored for s in self.subcategories for q in s.questions)


class Check(_Frozen):
    """A consistency check between answers (format extension, docs/format-decisions.md): it
    fails only when its expression is false; missing (cannot be judged yet) passes."""

    id: str
    expression: str
    message: str
    severity: Literal["error", "warning"] = "error"
    questions: tuple[str, ...]
    """The questions the expression names, in order of appearance: where its message is shown."""


class Questionnaire(_Frozen):
    id: str
    version: str
    title: str
    language: str = "es-CL"
    description: str | None = None
    thresholds: Thresholds = Thresholds()
    dimensions: tuple[Dimension, ...]
    checks: tuple[Check, ...] = ()

    # Compiled evaluation plan, attached by the loader (see scoring.engine).
    _plan: Any = PrivateAttr(default=None)
    _index: dict[str, Question] = PrivateAttr(default_factory=dict)

    def model_post_init(self, __context: Any) -> None:
        self._index = {q.id: q for q in self.questions}

    @property
    def questions(self) -> list[Question]:
        """Every question, in file order."""
        return [q for d in self.dimensions for s in d.subcategories for q in s.questions]

    def question(self, question_id: str) -> Question:
        return self._index[question_id]

    def has_question(self, question_id: str) -> bool:
        return question_id in self._index

    @property
    def key(self) -> tuple[str, str]:
        return (self.id, self.version)
