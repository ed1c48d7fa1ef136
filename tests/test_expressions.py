"""The expression language of questionnaire-format.md, section "Expressions".

Written from the spec, through the public API only. An expression is read
back three-valued with two probe questions: ``probe`` has ``relevant: E`` and
``probe_not`` has ``relevant: not (E)``. A question is relevant only when its
condition is true, so E true makes only ``probe`` relevant, E false only
``probe_not``, and E missing neither (``not missing`` is missing).
"""

from __future__ import annotations

import itertools

import pytest

from helpers import (
    BANDS,
    choice,
    computed,
    date,
    multi,
    number,
    problems,
    run,
    single,
    status,
    text,
    yes_no,
)

T, F, M = True, False, "MISSING"

#: Input questions every probe can use, and their answers.
INPUTS = [
    yes_no("t"),  # true
    yes_no("f"),  # false
    yes_no("m"),  # unanswered: missing
    number("n"),  # 5
    number("z"),  # 0
    number("nm"),  # unanswered number: missing
    number("half"),  # 0.5
    choice("c", {"a": 1, "b": 0, "1": 0.5}),  # "a"
    choice("c1", {"a": 1, "b": 0, "1": 0.5}),  # "1"
    choice("cm", {"a": 1, "b": 0}),  # unanswered
    multi("ms", {"a": 0.5, "b": 0.5, "c": 0.5}),  # ["a", "b"]
    multi("me", {"a": 0.5, "b": 0.5}),  # []
    text("tx"),  # "it's"
    text("tq"),  # 'say "hi"'
    date("dt"),  # "2026-01-05"
]
ANSWERS = {
    "t": True,
    "f": False,
    "n": 5,
    "z": 0,
    "half": 0.5,
    "c": "a",
    "c1": "1",
    "ms": ["a", "b"],
    "me": [],
    "tx": "it's",
    "tq": 'say "hi"',
    "dt": "2026-01-05",
}


def evaluate(expression: str, extra: list[dict] | None = None, answers: dict | None = None):
    """The value of a boolean expression: True, False or M (missing)."""
    questions = (
        INPUTS
        + (extra or [])
        + [
            yes_no("probe", relevant=expression),
            yes_no("probe_not", relevant=f"not ({expression})"),
        ]
    )
    all_answers = {**ANSWERS, **(answers or {})}
    result = run(single(*questions), all_answers)
    positive = status(result, "probe") != "not_relevant"
    negative = status(result, "probe_not") != "not_relevant"
    assert not (positive and negative), f"{expression!r} and its negation both true"
    if positive:
        return T
    if negative:
        return F
    return M


def refused(expression: str) -> list:
    """Problems of a file whose only expression is ``expression`` (it must not load)."""
    return problems(single(*INPUTS, yes_no("probe", relevant=expression)))


# --------------------------------------------------------------------------- literals


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("true", T),
        ("false", F),
        ("12 == 12", T),
        ("12 == 12.0", T),
        ("0.5 == half", T),
        ("0.5 * 2 == 1", T),
        ("12 > 0.5", T),
        ("'a' == 'a'", T),
        ('"a" == "a"', T),
        ("'a' == \"a\"", T),  # both quote styles denote the same string
        ("'a' == 'b'", F),
        ('tx == "it\'s"', T),  # double quotes around a single quote
        ("tq == 'say \"hi\"'", T),  # single quotes around double quotes
        ("true == true", T),
        ("false == false", T),
        ("true == false", F),
    ],
)
def test_literals(expression, expected):
    assert evaluate(expression) is expected


# --------------------------------------------------------------------------- precedence


@pytest.mark.parametrize(
    "expression, expected",
    [
        # or looser than and: true or (true and false)
        ("true or true and false", T),
        ("false and false or true", T),
        # and looser than not: (not false) and false
        ("not false and false", F),
        ("not true or true", T),
        # not looser than comparisons: not (1 == 2); (not 1) == 2 would not be true
        ("not 1 == 2", T),
        ("not n > 10", T),
        # comparisons looser than + -: (1 + 2) == 3
        ("1 + 2 == 3", T),
        ("n - 5 == 0", T),
        ("n > 2 + 2", T),
        # + - looser than * /: 2 + (3 * 4)
        ("2 + 3 * 4 == 14", T),
        ("2 + 3 * 4 == 20", F),
        ("20 - 12 / 4 == 17", T),
        # left associativity
        ("10 - 4 - 3 == 3", T),
        ("24 / 4 / 2 == 3", T),
        ("2 * 3 / 6 == 1", T),
        # unary minus binds tighter than * and /, so it may follow them
        ("2 * -3 == -6", T),
        ("-2 * 3 == -6", T),
        ("6 / -2 == -3", T),
        ("2 - -3 == 5", T),
        ("- -3 == 3", T),
        ("-n == 0 - 5", T),
        ("-n < 0", T),
        # parentheses group
        ("(2 + 3) * 4 == 20", T),
        ("not (true and false)", T),
        ("(true or true) and false", F),
        ("(1 < 2) == true", T),
        ("((n))  ==  5", T),
    ],
)
def test_precedence_and_grouping(expression, expected):
    assert evaluate(expression) is expected


@pytest.mark.parametrize("expression", ["1 < 2 < 3", "n == 5 == true", "1 != 2 != 3", "1 <= n >= 2"])
def test_chained_comparisons_are_refused(expression):
    found = refused(expression)
    assert any("probe" in p.place and p.key == "relevant" for p in found)


@pytest.mark.parametrize("expression", ["n == 5 and n < 6", "(1 < 2) and (2 < 3)"])
def test_comparisons_joined_with_and_are_fine(expression):
    assert evaluate(expression) is T


# --------------------------------------------------------------------------- three-valued logic

OPERAND = {T: "t", F: "f", M: "m"}  # yes_no questions answered true, false, unanswered


def _sql_and(a, b):
    if F in (a, b):
        return F
    if a is T and b is T:
        return T
    return M


def _sql_or(a, b):
    if T in (a, b):
        return T
    if a is F and b is F:
        return F
    return M


@pytest.mark.parametrize("a, b", list(itertools.product([T, F, M], repeat=2)))
def test_and_truth_table(a, b):
    assert evaluate(f"{OPERAND[a]} and {OPERAND[b]}") is _sql_and(a, b)


@pytest.mark.parametrize("a, b", list(itertools.product([T, F, M], repeat=2)))
def test_or_truth_table(a, b):
    assert evaluate(f"{OPERAND[a]} or {OPERAND[b]}") is _sql_or(a, b)


@pytest.mark.parametrize("a, expected", [(T, F), (F, T), (M, M)])
def test_not_truth_table(a, expected):
    assert evaluate(f"not {OPERAND[a]}") is expected


def test_spec_examples_of_three_valued_logic():
    assert evaluate("false and m") is F
    assert evaluate("m and false") is F
    assert evaluate("true or m") is T
    assert evaluate("m or true") is T
    assert evaluate("not m") is M
    assert evaluate("true and m") is M
    assert evaluate("false or m") is M


def test_missing_is_not_false_for_relevance():
    # `m` is missing: neither m nor not m is true, so both questions are hidden
    assert evaluate("m") is M
    assert evaluate("m == true") is M


# --------------------------------------------------------------------------- missing propagation


@pytest.mark.parametrize(
    "expression",
    [
        "nm + 1 == 1",
        "1 + nm == 1",
        "nm - nm == 0",
        "nm * 0 == 0",
        "0 * nm == 0",
        "nm / 1 == 0",
        "-nm == 0",
        "nm == nm",
        "nm != nm",
        "nm == 1",
        "nm != 1",
        "nm < 1",
        "nm >= 1",
        "m == true",
        "m != true",
        "cm == 'a'",
        "cm != 'a'",
        "nm == 'x'",  # missing beats a kind mismatch
        "nm != 'x'",
        "(nm + 1) * 2 > 0",
    ],
)
def test_missing_operand_makes_arithmetic_and_comparisons_missing(expression):
    assert evaluate(expression) is M


@pytest.mark.parametrize(
    "expression",
    ["1 / 0 == 1", "1 / 0 != 1", "n / z == 1", "n / z > 0", "0 / 0 == 0", "n / (n - 5) == 1", "(n / z) * 0 == 0"],
)
def test_division_by_zero_is_missing(expression):
    assert evaluate(expression) is M


def test_division_by_nonzero():
    assert evaluate("n / 2 == 2.5") is T
    assert evaluate("1 / half == 2") is T


# --------------------------------------------------------------------------- kinds


@pytest.mark.parametrize(
    "expression, expected",
    [
        # number vs string
        ("n == '5'", F),
        ("n != '5'", T),
        ("c1 == 1", F),  # a choice answer is a string, even "1"
        ("c1 != 1", T),
        ("c1 == '1'", T),
        # boolean vs number
        ("t == 1", F),
        ("t != 1", T),
        ("f == 0", F),
        ("f != 0", T),
        ("true == 1", F),
        ("false == 0", F),
        # boolean vs string
        ("t == 'true'", F),
        ("t != 'true'", T),
        ("tx == true", F),
        ("dt == 20260105", F),
        ("dt == '2026-01-05'", T),
        # same kinds
        ("c == 'a'", T),
        ("c != 'a'", F),
        ("t == true", T),
        ("f == false", T),
        ("n == 5", T),
    ],
)
def test_equality_across_kinds(expression, expected):
    assert evaluate(expression) is expected


@pytest.mark.parametrize(
    "expression",
    ["n < 'a'", "'a' > 1", "t < 2", "1 <= true", "c >= 0", "n > tx", "t >= 'x'", "c1 < 2"],
)
def test_ordering_across_kinds_is_missing(expression):
    assert evaluate(expression) is M


@pytest.mark.parametrize("expression, expected", [("n < 6", T), ("n <= 5", T), ("n > 5", F), ("n >= 5.5", F)])
def test_ordering_numbers(expression, expected):
    assert evaluate(expression) is expected


@pytest.mark.parametrize(
    "expression, expected",
    [("f < t", T), ("t <= t", T), ("t > f", T), ("false >= true", F), ("dt < '2026-02-01'", T), ("tx > 'a'", T)],
)
def test_ordering_within_a_kind(expression, expected):
    # the spec makes only ordering *between* kinds missing: booleans order false < true, texts
    # (and so ISO dates) in character order
    assert evaluate(expression) is expected


# --------------------------------------------------------------------------- selected()


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("selected(c, 'a')", T),  # choice answer equals the value
        ("selected(c, 'b')", F),
        ('selected(c, "a")', T),
        ("selected(ms, 'a')", T),  # multi answer contains the value
        ("selected(ms, 'b')", T),
        ("selected(ms, 'c')", F),
        ("selected(me, 'a')", F),  # empty list
        ("selected(cm, 'a')", F),  # unanswered: false, not missing
        ("not selected(cm, 'a')", T),
        ("selected(ms, 'a') and selected(ms, 'b')", T),
        ("selected(c, 'a') and not selected(ms, 'c')", T),
    ],
)
def test_selected(expression, expected):
    assert evaluate(expression) is expected


@pytest.mark.parametrize("answer", ["ns", "na", None])
def test_selected_on_missing_answers_is_false(answer):
    extra = [
        choice("cx", {"a": 1, "b": 0}, na=True),
        multi("mx", {"a": 1, "b": 0}, na=True),
    ]
    answers = {"cx": answer, "mx": answer}
    assert evaluate("selected(cx, 'a')", extra, answers) is F
    assert evaluate("selected(mx, 'a')", extra, answers) is F


def test_selected_on_a_not_relevant_answer_is_false():
    # cx and mx are answered but not relevant (f is false): their answers are missing
    extra = [
        choice("cx", {"a": 1, "b": 0}, relevant="f"),
        multi("mx", {"a": 1, "b": 0}, relevant="f"),
    ]
    answers = {"cx": "a", "mx": ["a"]}
    assert evaluate("selected(cx, 'a')", extra, answers) is F
    assert evaluate("selected(mx, 'a')", extra, answers) is F
    # the same answers, relevant: selected
    extra = [
        choice("cx", {"a": 1, "b": 0}, relevant="t"),
        multi("mx", {"a": 1, "b": 0}, relevant="t"),
    ]
    assert evaluate("selected(cx, 'a')", extra, answers) is T
    assert evaluate("selected(mx, 'a')", extra, answers) is T


# --------------------------------------------------------------------------- identifiers


@pytest.mark.parametrize("answer", [None, "na", "ns"])
@pytest.mark.parametrize(
    "question, probe",
    [
        (yes_no("x", na=True), "x == true"),
        (yes_no("x", na=True), "x"),
        (number("x", na=True), "x == 5"),
        (number("x", na=True), "x + 0 == x"),
        (choice("x", {"a": 1, "b": 0}, na=True), "x == 'a'"),
        (text("x", na=True), "x == 'hola'"),
        (date("x", na=True), "x == '2026-01-05'"),
    ],
)
def test_identifier_is_missing_when_unanswered_na_or_ns(question, probe, answer):
    assert evaluate(probe, [question], {"x": answer}) is M
    assert evaluate(f"{probe} or true", [question], {"x": answer}) is T
    assert evaluate(f"{probe} and false", [question], {"x": answer}) is F


@pytest.mark.parametrize(
    "question, answer, probe",
    [
        (yes_no("x"), True, "x == true"),
        (number("x"), 5, "x == 5"),
        (choice("x", {"a": 1, "b": 0}), "a", "x == 'a'"),
        (text("x"), "hola", "x == 'hola'"),
        (date("x"), "2026-01-05", "x == '2026-01-05'"),
    ],
)
def test_identifier_stands_for_the_answer_and_is_missing_when_not_relevant(question, answer, probe):
    assert evaluate(probe, [{**question, "relevant": "t"}], {"x": answer}) is T
    # the same answer kept on a question that is not relevant: missing
    assert evaluate(probe, [{**question, "relevant": "f"}], {"x": answer}) is M
    assert evaluate(probe, [{**question, "relevant": "m"}], {"x": answer}) is M


def test_yes_no_identifier_is_a_boolean():
    assert evaluate("t") is T
    assert evaluate("f") is F
    assert evaluate("t and not f") is T


# --------------------------------------------------------------------------- computed questions


def test_computed_question_stands_for_its_formula_value():
    extra = [computed("k", "n + n * 2"), computed("k2", "k / 3")]
    assert evaluate("k == 15", extra) is T
    assert evaluate("k2 == 5", extra) is T


def test_formula_may_name_a_later_question():
    extra = [computed("k", "later * 2"), number("later")]
    assert evaluate("k == 8", extra, {"later": 4}) is T


@pytest.mark.parametrize(
    "extra, answers",
    [
        ([computed("k", "n / z")], {}),  # division by zero
        ([computed("k", "nm + 1")], {}),  # unanswered input
        ([number("x", na=True), computed("k", "x * 2")], {"x": "na"}),
        ([number("x"), computed("k", "x * 2")], {"x": "ns"}),
        ([number("x", relevant="f"), computed("k", "x * 2")], {"x": 3}),  # input not relevant
        ([computed("j", "n / z"), computed("k", "j + 1")], {}),  # through another computed question
        ([computed("k", "n * 2", relevant="f")], {}),  # the computed question is not relevant
    ],
)
def test_computed_is_missing_when_its_formula_is(extra, answers):
    assert evaluate("k == k", extra, answers) is M
    assert evaluate("k > 0 or true", extra, answers) is T


def test_computed_division_by_zero_is_undefined_not_an_error():
    data = single(number("a"), number("b"), computed("r", "a / b", bands=BANDS))
    result = run(data, {"a": 1, "b": 0})
    assert status(result, "r") == "undefined"
    assert run(data, {"a": 4, "b": 2}).dimensions[0].subcategories[0].questions[2].score == 1.0


# --------------------------------------------------------------------------- not eval


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os')",
        "len(tx)",
        "n ** 2 == 25",
        "n % 2 == 1",
        "n = 5",
        "[1, 2]",
        "lambda: 1",
        "n if t else 0",
        "t && f",
        "t || f",
        "!t",
    ],
)
def test_python_syntax_is_not_part_of_the_language(expression):
    found = refused(expression)
    assert any("probe" in p.place and p.key == "relevant" for p in found)


def test_relevance_may_depend_on_a_computed_value_whose_input_comes_later():
    # gated names k (before it); k's formula names `later` (after gated): still evaluated correctly
    data = single(computed("k", "later * 2"), yes_no("gated", relevant="k == 8"), number("later"))
    assert status(run(data, {"later": 4}), "gated") == "unanswered"
    assert status(run(data, {"later": 5}), "gated") == "not_relevant"
    assert status(run(data, {}), "gated") == "not_relevant"
