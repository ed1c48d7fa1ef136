"""Hostile input for the pure core (issue 7, item 3): the expression parser, the questionnaire
loader and answer validation, fed random text and random structures, only ever answer with
their own validation errors: never another exception, never a hang (hypothesis deadline)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scoring
from scoring import ExpressionSyntaxError, QuestionnaireError
from scoring.expressions import parse

ROOT = Path(__file__).resolve().parents[1]
FUZZ = settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])

TOKENS = [
    "a",
    "b_1",
    "x",
    "1",
    "2.5",
    "-",
    "+",
    "*",
    "/",
    "(",
    ")",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "and",
    "or",
    "not",
    "true",
    "false",
    '"si"',
    "'no'",
    "selected",
    ",",
    " ",
    "1e309",
    "ñandú",
    "\x00",
    "\n",
    "''",
    '"',
]


def _parse_or_refuse(source: str) -> None:
    with contextlib.suppress(ExpressionSyntaxError):
        parse(source)


@FUZZ
@given(st.text(max_size=200))
def test_expression_parser_random_text(source):
    _parse_or_refuse(source)


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), max_size=60))
def test_expression_parser_random_token_sequences(tokens):
    _parse_or_refuse(" ".join(tokens))


def test_expression_parser_deep_nesting_is_refused_not_a_crash():
    for depth in (200, 5_000, 50_000):
        _parse_or_refuse("(" * depth + "a" + ")" * depth)
        _parse_or_refuse("not " * depth + "a")
        _parse_or_refuse("-" * depth + "1")
        _parse_or_refuse(" + ".join(["a"] * depth))
        _parse_or_refuse(" and ".join(["a == 1"] * depth))
    parse("(" * 60 + "a" + ")" * 60)  # deep but reasonable nesting still parses
    parse(" + ".join(["a"] * 200))


def _load_or_refuse(text: str) -> None:
    with contextlib.suppress(QuestionnaireError):
        scoring.load_questionnaire(text, source="fuzz")


SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**20), 10**20), st.floats(allow_nan=True), st.text(max_size=20)
)
STRUCTURES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "version",
                    "title",
                    "dimensions",
                    "subcategories",
                    "questions",
                    "type",
                    "text",
                    "options",
                    "value",
                    "label",
                    "score",
                    "weight",
                    "bands",
                    "min",
                    "max",
                    "formula",
                    "relevant",
                    "critical",
                    "na",
                    "thresholds",
                    "green",
                    "red",
                    "x",
                ]
            ),
            children,
            max_size=6,
        ),
    ),
    max_leaves=40,
)


@FUZZ
@given(st.text(max_size=400))
def test_loader_random_text(text):
    _load_or_refuse(text)


@FUZZ
@given(STRUCTURES)
def test_loader_random_structures_as_yaml_and_json(data):
    _load_or_refuse(yaml.safe_dump(data, allow_unicode=True))
    _load_or_refuse(json.dumps(data, default=str))


NATIONAL = scoring.load_questionnaire((ROOT / "questionnaires" / "nacional-2026.1.yaml").read_text(encoding="utf-8"))
QUESTION_IDS = [q.id for q in NATIONAL.questions]
VALUES = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=4),
    st.dictionaries(st.text(max_size=5), SCALARS, max_size=3),
    st.sampled_from(["na", "ns", "si", "no", ""]),
)


@FUZZ
@given(st.dictionaries(st.one_of(st.sampled_from(QUESTION_IDS), st.text(max_size=10)), VALUES, max_size=12))
def test_answer_validation_random_answers(answers):
    problems = scoring.validate_answers(NATIONAL, answers)
    if not problems:
        scoring.score(NATIONAL, answers)  # whatever validation accepts, scoring handles
