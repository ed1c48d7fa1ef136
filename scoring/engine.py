"""Traffic-light scoring, exactly as scoring.md says.

A questionnaire is compiled once (:func:`build_plan`) into closures and flat
tuples, so that scoring an answer set is a few passes over plain Python data:
first values and relevance in dependency order, then statuses and scores per
subcategory in file order, then the roll-up to dimensions and overall.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from . import expressions as ex
from .answers import InvalidAnswers, answer_check, quick_acceptance, validate_answers
from .model import Check, Question, Questionnaire, Thresholds
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

# How a relevant question turns its answer into a result (see evaluate()).
_UNSCORED, _LOOKUP, _FUNCTION, _COMPUTED = "unscored", "lookup", "function", "computed"

GREEN, YELLOW, RED = Light.GREEN, Light.YELLOW, Light.RED
INSUFFICIENT, NOT_APPLICABLE = Light.INSUFFICIENT_DATA, Light.NOT_APPLICABLE
_LIT = (GREEN, YELLOW, RED)


@dataclass(frozen=True, slots=True)
class _QuestionPlan:
    id: str
    index: int  # position in the file
    weight: float
    critical: bool
    scored: bool
    computed: bool
    relevant: Callable[[Mapping[str, object]], object] | None
    formula: Callable[[Mapping[str, object]], object] | None
    formula_inputs: tuple[str, ...]
    # The results a question can have, built once and shared by every diagnosis.
    not_relevant: QuestionResult
    unscored: QuestionResult
    na: QuestionResult
    ns: QuestionResult
    unanswered: QuestionResult
    undefined: QuestionResult
    scored_result: Callable[[Any], QuestionResult] | None  # answer (or computed value) -> `scored` result
    lookup: dict | None  # yes_no and choice: answer -> `scored` result, all made in advance
    relevant_text: str | None


@dataclass(frozen=True, slots=True)
class _SubcategoryPlan:
    id: str
    weight: float
    green: float
    red: float
    start: int  # its questions are positions start..end-1 of the file
    end: int
    memo: dict = field(default_factory=dict, compare=False, repr=False)


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
    direct_steps: tuple[tuple, ...]
    steps: tuple[tuple, ...]
    """evaluation_order flattened into tuples for the hot loop in evaluate()."""
    question_count: int
    dimensions: tuple[_DimensionPlan, ...]
    checks: dict[str, Callable[[Any], Any]]
    quick_acceptance: dict[str, Any]
    consistency: tuple[tuple[Check, Callable[[Mapping[str, object]], object]], ...] = ()
    """The questionnaire's consistency checks, each with its compiled expression."""


# --------------------------------------------------------------------------
# Compilation


def _score_function(question: Question) -> Callable[[Any], float] | None:
    """The type rule that turns an answer (or computed value) into a score in [0, 1]."""
    if not question.scored:
        return None
    if question.type == "yes_no":
        good = question.good != "no"
        return lambda answer: 1.0 if answer is good else 0.0
    if question.type == "choice":
        # every option of a scored choice or multi question has a score (Question.scored, the loader)
        return cast("dict[str, float]", {option.value: option.score for option in question.options}).__getitem__
    if question.type == "multi":
        table = cast("dict[str, float]", {option.value: option.score for option in question.options})
        return lambda answer: min(1.0, sum(table[value] for value in answer))
    edges = [band.max for band in question.bands[:-1]]
    scores = [band.score for band in question.bands]
    # min inclusive, max exclusive: a number equal to an edge belongs to the next band
    return lambda number: scores[bisect_right(edges, number)]


def _scored_result(question: Question, score_of: Callable[[Any], float] | None):
    """answer -> shared `scored` QuestionResult, made on first use for each distinct score."""
    if score_of is None:
        return None
    cache: dict[float, QuestionResult] = {}

    def result(answer: Any) -> QuestionResult:
        value = score_of(answer)
        found = cache.get(value)
        if found is None:
            found = cache[value] = QuestionResult.build(
                question.id, Status.SCORED, value, question.weight, question.critical
            )
        return found

    return result


def _lookup(question: Question) -> dict | None:
    """yes_no and choice have few possible answers: map each to its `scored` result up front."""
    if not question.scored or question.type not in ("yes_no", "choice"):
        return None
    score_of = _score_function(question)
    assert score_of is not None  # a scored question has a score function
    answers = (True, False) if question.type == "yes_no" else tuple(o.value for o in question.options)
    return {
        answer: QuestionResult.build(question.id, Status.SCORED, score_of(answer), question.weight, question.critical)
        for answer in answers
    }


def _step(q: _QuestionPlan, condition_keys: dict[str, int], referenced: bool) -> tuple:
    if q.computed:
        kind = _COMPUTED
    elif q.lookup is not None:
        kind = _LOOKUP
    elif q.scored_result is not None:
        kind = _FUNCTION
    else:
        kind = _UNSCORED
    unscored = q.unscored
    return (
        q.id,
        q.index,
        kind,
        q.relevant,
        None if q.relevant_text is None else condition_keys.get(q.relevant_text),
        _full_lookup(q),
        q.scored_result,
        q.formula,
        q.formula_inputs,
        referenced,
        q.not_relevant,
        unscored,
        q.na if q.scored else unscored,
        q.ns if q.scored else unscored,
        q.unanswered if q.scored else unscored,
        q.undefined if q.scored else unscored,
    )


def _full_lookup(q: _QuestionPlan) -> dict | None:
    """Every valid answer of a yes_no or choice question -> its result, empty ones included."""
    if q.lookup is None:
        return None
    return {**q.lookup, None: q.unanswered, "na": q.na, "ns": q.ns}


def build_plan(questionnaire: Questionnaire) -> Plan:
    multi_ids = frozenset(q.id for q in questionnaire.questions if q.type == "multi")
    plans: dict[str, _QuestionPlan] = {}
    dependencies: dict[str, list[str]] = {}
    for index, question in enumerate(questionnaire.questions):
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

        def fixed(status: Status, score: float | None = None, q: Question = question) -> QuestionResult:
            return QuestionResult.build(q.id, status, score, q.weight, q.critical)

        plans[question.id] = _QuestionPlan(
            id=question.id,
            index=index,
            weight=question.weight,
            critical=question.critical,
            scored=question.scored,
            computed=question.type == "computed",
            relevant=relevant,
            formula=formula,
            formula_inputs=inputs,
            not_relevant=fixed(Status.NOT_RELEVANT),
            unscored=fixed(Status.UNSCORED),
            na=fixed(Status.NA),
            ns=fixed(Status.NS),
            unanswered=fixed(Status.UNANSWERED),
            undefined=fixed(Status.UNDEFINED),
            scored_result=_scored_result(question, _score_function(question)),
            lookup=_lookup(question),
            relevant_text=question.relevant,
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
            current, children = stack[-1]
            child = next(children, None)
            if child is None:
                order.append(current)
                stack.pop()
            elif child not in placed:
                placed.add(child)
                stack.append((child, iter(dependencies[child])))

    consistency = tuple(
        (check, ex.compile_node(ex.parse(check.expression), multi_ids=multi_ids)) for check in questionnaire.checks
    )
    # Checks read values like conditions do, so the questions they name keep theirs.
    referenced = {name for names in dependencies.values() for name in names}
    referenced.update(qid for check in questionnaire.checks for qid in check.questions)
    texts = [q.relevant for q in questionnaire.questions if q.relevant is not None]
    shared_condition_keys = {text: key for key, text in enumerate(dict.fromkeys(texts)) if texts.count(text) > 1}

    dimensions = []
    position = 0
    for dimension in questionnaire.dimensions:
        subcategories = []
        for sub in dimension.subcategories:
            start, position = position, position + len(sub.questions)
            subcategories.append(
                _SubcategoryPlan(sub.id, sub.weight, sub.thresholds.green, sub.thresholds.red, start, position)
            )
        dimensions.append(
            _DimensionPlan(
                dimension.id,
                dimension.weight,
                dimension.thresholds.green,
                dimension.thresholds.red,
                tuple(subcategories),
            )
        )
    return Plan(
        questionnaire_id=questionnaire.id,
        version=questionnaire.version,
        green=questionnaire.thresholds.green,
        red=questionnaire.thresholds.red,
        evaluation_order=tuple(plans[qid] for qid in order),
        # Unconditional yes_no/choice questions that no expression names need neither
        # relevance nor values: one dictionary lookup gives their result.
        direct_steps=tuple(
            (plans[qid].index, qid, _full_lookup(plans[qid]))
            for qid in order
            if plans[qid].lookup is not None and plans[qid].relevant is None and qid not in referenced
        ),
        steps=tuple(
            _step(plans[qid], shared_condition_keys, qid in referenced)
            for qid in order
            if not (plans[qid].lookup is not None and plans[qid].relevant is None and qid not in referenced)
        ),
        question_count=len(plans),
        dimensions=tuple(dimensions),
        checks={q.id: answer_check(q) for q in questionnaire.questions},
        quick_acceptance={
            q.id: accepted for q in questionnaire.questions if (accepted := quick_acceptance(q)) is not None
        },
        consistency=consistency,
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


def evaluate(plan: Plan, answers: Mapping[str, Any]) -> tuple[dict[str, object], dict[str, bool], list]:
    """One pass in dependency order: relevance, expression values and each question's result.

    Returns the values of the non-missing questions that some expression names, the
    relevance of the questions evaluated one by one (see relevant_questions() for all) and
    the QuestionResult of every question by file position. This is the hot loop of
    scoring, so each question is a flat tuple (see Plan.steps) rather than an object.
    """
    values: dict[str, object] = {}
    relevance: dict[str, bool] = {}
    results: list = [None] * plan.question_count
    for index, qid, lookup in plan.direct_steps:
        results[index] = lookup[answers.get(qid)]
    shared_conditions: dict[int, bool] = {}
    relevant: bool | None
    for (
        qid,
        index,
        kind,
        condition,
        condition_key,
        lookup,
        scored_result,
        formula,
        inputs,
        referenced,
        not_relevant,
        unscored,
        na,
        ns,
        unanswered,
        undefined,
    ) in plan.steps:
        if condition is not None:
            if condition_key is None:
                relevant = condition(values) is True
            else:
                # The same condition text on several questions: once evaluated, its inputs
                # (all earlier in dependency order) cannot change, so the outcome is reused.
                relevant = shared_conditions.get(condition_key)
                if relevant is None:
                    relevant = shared_conditions[condition_key] = condition(values) is True
            if not relevant:
                relevance[qid] = False
                results[index] = not_relevant
                continue
        relevance[qid] = True
        if kind is _COMPUTED:
            value = formula(values)
            if value is not MISSING:
                values[qid] = value
                results[index] = unscored if scored_result is None else scored_result(value)
            elif scored_result is None:
                results[index] = unscored
            elif any(relevance[name] and answers.get(name) is None for name in inputs):
                results[index] = unanswered
            else:
                results[index] = undefined
            continue
        answer = answers.get(qid)
        if kind is _LOOKUP:
            results[index] = lookup[answer]
        elif answer is None:
            results[index] = unanswered
        elif answer == "na":
            results[index] = na
        elif answer == "ns":
            results[index] = ns
        elif kind is _FUNCTION:
            results[index] = scored_result(answer)
        else:
            results[index] = unscored
        if referenced and answer is not None and answer != "na" and answer != "ns":
            values[qid] = answer
    return values, relevance, results


# Memoisation: a subcategory's result depends only on its questions' results, which are
# shared objects, so the tuple of them is a cheap exact key, and real answer sets repeat
# the same few combinations per subcategory. The memo is cleared when it grows past this
# many entries, which bounds memory whatever the answers. (Dimensions rarely repeat, so
# they are not memoised.)
MEMO_LIMIT = 4096


def _subcategory_result(sub: _SubcategoryPlan, questions: tuple) -> SubcategoryResult:
    applicable = answered = points = 0.0
    critical_failures: list[str] = []
    critical_unknown: list[str] = []
    losers: list[QuestionResult] = []
    for result in questions:
        if result.applicable_weight:
            applicable += result.applicable_weight
            if result.answered_weight:
                answered += result.answered_weight
                points += result.points
                if result.critical_failure:
                    critical_failures.append(result.id)
                elif result.loss:
                    losers.append(result)
            elif result.critical_unknown:
                critical_unknown.append(result.id)
    if applicable == 0:
        return SubcategoryResult(sub.id, None, NOT_APPLICABLE, None, sub.weight, (), (), (), questions).with_json()
    coverage = answered / applicable
    score = points / answered if answered else None
    if critical_failures:
        light = RED  # critical rule: whatever the score and coverage
    elif coverage < 0.5:
        light, score = INSUFFICIENT, None
    else:
        assert score is not None  # coverage >= 0.5: something was answered
        light = light_for(score, sub.green, sub.red)
        if light is GREEN and critical_unknown:
            light = YELLOW  # a critical question nobody could answer: not green until it is known
    failures = tuple(critical_failures)
    if light is RED or light is YELLOW:
        losers.sort(key=_by_loss, reverse=True)  # stable: ties stay in file order
        pulled = failures + tuple(r.id for r in losers)
    else:
        pulled = ()
    return SubcategoryResult(
        sub.id, score, light, coverage, sub.weight, failures, tuple(critical_unknown), pulled, questions
    ).with_json()


def _by_loss(result: QuestionResult) -> float:
    return result.loss


def roll_up(
    children, green: float, red: float, *, critical: bool = False
) -> tuple[float | None, Light, float | None, bool]:
    """The same rule for a dimension over its subcategories and for the overall over dimensions.

    ``critical``: a dimension with a subcategory that has critical failures, red whatever
    its score and coverage (scoring.md §3; the score is still reported, null when its
    coverage is under one half). Returns score, light, coverage and whether the cap rule
    turned a green into yellow."""
    left_weight = lit_weight = scored_weight = points = 0.0
    any_red = False
    for child in children:
        light = child.light
        if light is NOT_APPLICABLE:
            continue
        left_weight += child.weight
        if light is INSUFFICIENT:
            continue
        lit_weight += child.weight
        if child.score is not None:  # a red child with no score counts in coverage only
            scored_weight += child.weight
            points += child.weight * child.score
        any_red = any_red or light is RED
    if left_weight == 0:
        return None, NOT_APPLICABLE, None, False
    coverage = lit_weight / left_weight
    if coverage < 0.5:
        return None, RED if critical else INSUFFICIENT, coverage, False
    if scored_weight == 0:
        return None, RED if any_red or critical else INSUFFICIENT, coverage, False
    score = points / scored_weight
    light = light_for(score, green, red)
    if critical:
        return score, RED, coverage, False
    if any_red and light is GREEN:
        return score, YELLOW, coverage, True  # cap rule: a red child keeps the parent from green
    return score, light, coverage, False


def computed_values(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> dict[str, object]:
    """The values of the computed questions (e.g. a ratio) that valid ``answers`` define,
    for showing or exporting them beside the answers; lights and scores come from score().
    A computed question whose inputs are missing or not relevant has no value."""
    values = evaluate(questionnaire._plan, answers)[0]
    return {q.id: values[q.id] for q in questionnaire.questions if q.type == "computed" and q.id in values}


def score_valid(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> DiagnosisResult:
    """Score an answer set already known to be valid (see :func:`score`)."""
    plan: Plan = questionnaire._plan
    results = evaluate(plan, answers)[2]
    dimensions = []
    for dim in plan.dimensions:
        subs = []
        for sub in dim.subcategories:
            questions = tuple(results[sub.start : sub.end])
            memo = sub.memo
            found = memo.get(questions)
            if found is None:
                if len(memo) >= MEMO_LIMIT:
                    memo.clear()
                found = memo[questions] = _subcategory_result(sub, questions)
            subs.append(found)
        critical = any(sub.critical_failures for sub in subs)
        score, light, coverage, capped = roll_up(subs, dim.green, dim.red, critical=critical)
        dimensions.append(DimensionResult(dim.id, score, light, coverage, dim.weight, tuple(subs), capped))
    score, light, coverage, capped = roll_up(dimensions, plan.green, plan.red)
    return DiagnosisResult(
        plan.questionnaire_id, plan.version, OverallResult(score, light, coverage, capped), tuple(dimensions)
    )


def score(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> DiagnosisResult:
    """Validate an answer set and score it; raises InvalidAnswers listing every problem."""
    errors = validate_answers(questionnaire, answers)
    if errors:
        raise InvalidAnswers(errors)
    return score_valid(questionnaire, answers)


def relevant_questions(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> dict[str, bool]:
    """Which questions are relevant under these answers (for forms and submission checks)."""
    results = evaluate(questionnaire._plan, answers)[2]
    return {result.id: result.status is not Status.NOT_RELEVANT for result in results}


def missing_required(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> list[str]:
    """Relevant required questions without an answer (na where allowed and ns both count as answers)."""
    relevance = relevant_questions(questionnaire, answers)
    return [
        q.id
        for q in questionnaire.questions
        if q.required and q.type != "computed" and relevance[q.id] and answers.get(q.id) is None
    ]


def failed_checks(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> list[Check]:
    """The consistency checks that valid ``answers`` break, in file order. A check fails only
    when its expression is false: one whose questions are unanswered, ``na``, ``ns`` or not
    relevant cannot be judged and passes."""
    plan: Plan = questionnaire._plan
    if not plan.consistency:
        return []
    values = evaluate(plan, answers)[0]
    return [check for check, expression in plan.consistency if expression(values) is False]
