"""Traffic-light scoring, exactly as scoring.md says.

A questionnaire is compiled once (:func:`build_plan`) into closures and flat
tuples, so that scoring an answer set is a few passes over plain Python data:
first values and relevance in dependency order, then statuses and scores per
subcategory in file order, then the roll-up to dimensions and overall.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from . import expressions as ex
from .answers import InvalidAnswers, answer_check, validate_answers
from .model import Question, Questionnaire, Thresholds
from .results import (
    DiagnosisResult,
    DimensionResult,
    Light,
    OverallResult,
    QuestionResult,
    Status,
    SubcategoryResult,
)

MISSING = ex.MISSING

GREEN, YELLOW, RED = Light.GREEN, Light.YELLOW, Light.RED
INSUFFICIENT, NOT_APPLICABLE = Light.INSUFFICIENT_DATA, Light.NOT_APPLICABLE
_LIT = (GREEN, YELLOW, RED)


@dataclass(frozen=True, slots=True)
class _QuestionPlan:
    id: str
    weight: float
    critical: bool
    scored: bool
    computed: bool
    relevant: Callable[[Mapping[str, object]], object] | None
    formula: Callable[[Mapping[str, object]], object] | None
    formula_inputs: tuple[str, ...]
    score: Callable[[Any], float] | None  # answer (or computed value) -> score in [0, 1]


@dataclass(frozen=True, slots=True)
class _SubcategoryPlan:
    id: str
    weight: float
    green: float
    red: float
    questions: tuple[_QuestionPlan, ...]


@dataclass(frozen=True, slots=True)
class _DimensionPlan:
    id: str
    weight: float
    green: float
    red: float
    subcategories: tuple[_SubcategoryPlan, ...]


@dataclass(frozen=True, slots=True)
class Plan:
    questionnaire_id: str
    version: str
    green: float
    red: float
    evaluation_order: tuple[_QuestionPlan, ...]
    dimensions: tuple[_DimensionPlan, ...]
    checks: dict[str, Callable[[Any], Any]]


# --------------------------------------------------------------------------
# Compilation


def _band_scorer(question: Question) -> Callable[[Any], float]:
    edges = [band.max for band in question.bands[:-1]]
    scores = [band.score for band in question.bands]

    def score(number: float) -> float:
        # min inclusive, max exclusive: a number equal to an edge belongs to the next band
        return scores[bisect_right(edges, number)]
    return score


def _scorer(question: Question) -> Callable[[Any], float] | None:
    if not question.scored:
        return None
    if question.type == "yes_no":
        good = question.good != "no"
        return lambda answer: 1.0 if answer is good else 0.0
    if question.type == "choice":
        table = {option.value: option.score for option in question.options}
        return table.__getitem__
    if question.type == "multi":
        table = {option.value: option.score for option in question.options}
        return lambda answer: min(1.0, sum(table[value] for value in answer))
    return _band_scorer(question)  # number, computed


def build_plan(questionnaire: Questionnaire) -> Plan:
    multi_ids = frozenset(q.id for q in questionnaire.questions if q.type == "multi")
    plans: dict[str, _QuestionPlan] = {}
    dependencies: dict[str, list[str]] = {}
    for question in questionnaire.questions:
        relevant = formula = None
        inputs: tuple[str, ...] = ()
        deps: list[str] = []
        if question.relevant is not None:
            node = ex.parse(question.relevant)
            relevant = ex.compile_node(node, multi_ids=multi_ids)
            deps += ex.referenced_ids(node)
        if question.formula is not None:
            node = ex.parse(question.formula)
            formula = ex.compile_node(node, multi_ids=multi_ids)
            inputs = tuple(ex.referenced_ids(node))
            deps += inputs
        plans[question.id] = _QuestionPlan(
            id=question.id,
            weight=question.weight,
            critical=question.critical,
            scored=question.scored,
            computed=question.type == "computed",
            relevant=relevant,
            formula=formula,
            formula_inputs=inputs,
            score=_scorer(question),
        )
        dependencies[question.id] = deps

    # Values are computed in dependency order: a formula may name a later question.
    # The loader has refused cycles, so this depth-first order always completes.
    order: list[str] = []
    placed: set[str] = set()
    for root in dependencies:
        stack = [(root, iter(dependencies[root]))]
        if root in placed:
            continue
        placed.add(root)
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                order.append(node)
                stack.pop()
            elif child not in placed:
                placed.add(child)
                stack.append((child, iter(dependencies[child])))

    dimensions = tuple(
        _DimensionPlan(
            id=dimension.id,
            weight=dimension.weight,
            green=dimension.thresholds.green,
            red=dimension.thresholds.red,
            subcategories=tuple(
                _SubcategoryPlan(
                    id=sub.id,
                    weight=sub.weight,
                    green=sub.thresholds.green,
                    red=sub.thresholds.red,
                    questions=tuple(plans[q.id] for q in sub.questions),
                )
                for sub in dimension.subcategories
            ),
        )
        for dimension in questionnaire.dimensions
    )
    return Plan(
        questionnaire_id=questionnaire.id,
        version=questionnaire.version,
        green=questionnaire.thresholds.green,
        red=questionnaire.thresholds.red,
        evaluation_order=tuple(plans[qid] for qid in order),
        dimensions=dimensions,
        checks={q.id: answer_check(q) for q in questionnaire.questions},
    )


# --------------------------------------------------------------------------
# Scoring


def light_for(score: float, green: float, red: float) -> Light:
    """The light of a [0, 1] score: decided on the score rounded to 4 decimals."""
    rounded = round(score, 4)
    if rounded >= green:
        return GREEN
    if rounded < red:
        return RED
    return YELLOW


def light_for_thresholds(score: float, thresholds: Thresholds) -> Light:
    return light_for(score, thresholds.green, thresholds.red)


def evaluate(plan: Plan, answers: Mapping[str, Any]) -> tuple[dict[str, object], dict[str, bool]]:
    """Relevance of every question and the expression value of every non-missing one."""
    values: dict[str, object] = {}
    relevance: dict[str, bool] = {}
    for question in plan.evaluation_order:
        condition = question.relevant
        relevant = condition is None or condition(values) is True
        relevance[question.id] = relevant
        if not relevant:
            continue
        if question.computed:
            value = question.formula(values)
            if value is not MISSING:
                values[question.id] = value
        else:
            answer = answers.get(question.id)
            if answer is not None and answer != "na" and answer != "ns":
                values[question.id] = answer
    return values, relevance


def _pulled_down(questions: list[QuestionResult], critical_failures: list[str]) -> tuple[str, ...]:
    losses = [
        (q.weight * (1.0 - q.score), index, q.id)
        for index, q in enumerate(questions)
        if q.score is not None and q.score < 1.0 and q.id not in critical_failures
    ]
    losses.sort(key=lambda item: (-item[0], item[1]))
    return tuple(critical_failures) + tuple(qid for _, _, qid in losses)


def _score_subcategory(
    sub: _SubcategoryPlan, answers: Mapping[str, Any], values: dict, relevance: dict
) -> SubcategoryResult:
    applicable = answered = points = 0.0
    critical_failures: list[str] = []
    results: list[QuestionResult] = []
    for q in sub.questions:
        qid = q.id
        score = None
        if not relevance[qid]:
            status = Status.NOT_RELEVANT
        elif not q.scored:
            status = Status.UNSCORED
        elif q.computed:
            value = values.get(qid, MISSING)
            if value is MISSING:
                if any(relevance[name] and answers.get(name) is None for name in q.formula_inputs):
                    status = Status.UNANSWERED
                    applicable += q.weight
                else:
                    status = Status.UNDEFINED
            else:
                status = Status.SCORED
                score = q.score(value)
        else:
            answer = answers.get(qid)
            if answer is None:
                status = Status.UNANSWERED
                applicable += q.weight
            elif answer == "na":
                status = Status.NA
            elif answer == "ns":
                status = Status.NS
                score = 0.0
            else:
                status = Status.SCORED
                score = q.score(answer)
        if score is not None:
            applicable += q.weight
            answered += q.weight
            points += q.weight * score
            if q.critical and score == 0.0:
                critical_failures.append(qid)
        results.append(QuestionResult(qid, status, score, q.weight))

    if applicable == 0:
        return SubcategoryResult(sub.id, None, NOT_APPLICABLE, None, sub.weight, (), (), tuple(results))
    coverage = answered / applicable
    score = points / answered if answered else None
    if critical_failures:
        light = RED
    elif coverage < 0.5:
        light, score = INSUFFICIENT, None
    else:
        light = light_for(score, sub.green, sub.red)
    pulled = _pulled_down(results, critical_failures) if light in (RED, YELLOW) else ()
    return SubcategoryResult(
        sub.id, score, light, coverage, sub.weight, tuple(critical_failures), pulled, tuple(results)
    )


def roll_up(children, green: float, red: float) -> tuple[float | None, Light, float | None]:
    """The same rule for a dimension over its subcategories and for the overall over dimensions."""
    left_weight = lit_weight = points = 0.0
    any_red = False
    for child in children:
        light = child.light
        if light is NOT_APPLICABLE:
            continue
        left_weight += child.weight
        if light is INSUFFICIENT:
            continue
        lit_weight += child.weight
        points += child.weight * child.score
        any_red = any_red or light is RED
    if left_weight == 0:
        return None, NOT_APPLICABLE, None
    coverage = lit_weight / left_weight
    if coverage < 0.5:
        return None, INSUFFICIENT, coverage
    score = points / lit_weight
    light = light_for(score, green, red)
    if any_red and light is GREEN:
        light = YELLOW  # cap rule: a red child keeps the parent from green
    return score, light, coverage


def score_valid(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> DiagnosisResult:
    """Score an answer set already known to be valid (see :func:`score`)."""
    plan: Plan = questionnaire._plan
    values, relevance = evaluate(plan, answers)
    dimensions = []
    for dim in plan.dimensions:
        subs = tuple(_score_subcategory(sub, answers, values, relevance) for sub in dim.subcategories)
        score, light, coverage = roll_up(subs, dim.green, dim.red)
        dimensions.append(DimensionResult(dim.id, score, light, coverage, dim.weight, subs))
    score, light, coverage = roll_up(dimensions, plan.green, plan.red)
    return DiagnosisResult(
        plan.questionnaire_id, plan.version, OverallResult(score, light, coverage), tuple(dimensions)
    )


def score(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> DiagnosisResult:
    """Validate an answer set and score it; raises InvalidAnswers listing every problem."""
    errors = validate_answers(questionnaire, answers)
    if errors:
        raise InvalidAnswers(errors)
    return score_valid(questionnaire, answers)


def relevant_questions(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> dict[str, bool]:
    """Which questions are relevant under these answers (for forms and submission checks)."""
    return evaluate(questionnaire._plan, answers)[1]


def missing_required(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> list[str]:
    """Relevant required questions without an answer (na where allowed and ns both count as answers)."""
    relevance = relevant_questions(questionnaire, answers)
    return [
        q.id
        for q in questionnaire.questions
        if q.required and q.type != "computed" and relevance[q.id] and answers.get(q.id) is None
    ]
