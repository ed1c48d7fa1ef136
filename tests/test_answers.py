"""Answer validation, questionnaire-format.md section "Answers".

"An unknown question id, a value of the wrong kind, an unknown option, a
number out of bounds, "na" where it is not allowed, or an answer to a
computed question is an error; validation reports every such problem with
its question id, and nothing is scored or stored from an answer set that
fails it."
"""

from __future__ import annotations

import math

import pytest

from helpers import (
    BANDS,
    choice,
    computed,
    date,
    load,
    multi,
    number,
    run,
    single,
    status,
    text,
    yes_no,
)
from scoring import InvalidAnswers, score, validate_answers

QUESTIONNAIRE = load(
    single(
        yes_no("yn"),
        yes_no("yn_na", na=True),
        choice("ch", {"a": 1, "b": 0.5, "c": 0}),
        choice("ch_na", {"a": 1, "b": 0}, na=True),
        multi("mu", {"a": 0.5, "b": 0.5, "c": 0.25}),
        number("num"),
        number("bounded", min=0, max=100),
        number("whole", integer=True),
        number("whole_bounded", min=1, max=10, integer=True, na=True),
        number("banded", bands=BANDS),
        computed("calc", "num * 2", bands=BANDS),
        text("tx"),
        date("dt"),
    )
)


def errors_of(answers):
    return validate_answers(QUESTIONNAIRE, answers)


def single_error(answers):
    errors = errors_of(answers)
    assert len(errors) == 1, [str(e) for e in errors]
    return errors[0]


def assert_invalid(qid, value, code=None):
    error = single_error({qid: value})
    assert error.question == qid
    assert error.message
    if code is not None:
        assert error.code == code
    with pytest.raises(InvalidAnswers):
        score(QUESTIONNAIRE, {qid: value})


def assert_valid(qid, value):
    assert errors_of({qid: value}) == []
    score(QUESTIONNAIRE, {qid: value})


# --------------------------------------------------------------------------- the answer set


@pytest.mark.parametrize("answers", [[], ["yn"], "yn", 3, True])
def test_answer_set_must_be_an_object(answers):
    errors = errors_of(answers)
    assert len(errors) == 1
    assert errors[0].code == "not_an_object"
    assert errors[0].question is None


def test_empty_answer_set_is_valid():
    assert errors_of({}) == []


@pytest.mark.parametrize("qid", ["fantasma", "YN", "yn ", "s", "d", ""])
def test_unknown_question_id(qid):
    error = single_error({qid: True})
    assert error.code == "unknown_question"
    assert error.question == qid


def test_unknown_question_id_even_with_null_value():
    error = single_error({"fantasma": None})
    assert error.code == "unknown_question"


# --------------------------------------------------------------------------- kinds per type


@pytest.mark.parametrize("value", ["yes", "true", "si", 1, 0, 1.0, [True], {"v": True}, ""])
def test_yes_no_wrong_kind(value):
    assert_invalid("yn", value, "wrong_type")


@pytest.mark.parametrize("value", [True, False])
def test_yes_no_valid(value):
    assert_valid("yn", value)


@pytest.mark.parametrize("value", [1, True, ["a"], {"a": 1}, 0.5])
def test_choice_wrong_kind(value):
    assert_invalid("ch", value, "wrong_type")


@pytest.mark.parametrize("value", ["d", "A", "", " a"])
def test_choice_unknown_option(value):
    assert_invalid("ch", value, "unknown_option")


@pytest.mark.parametrize("value", ["a", "b", "c"])
def test_choice_valid(value):
    assert_valid("ch", value)


@pytest.mark.parametrize("value", ["a", "a,b", 1, True, {"a": True}])
def test_multi_not_a_list(value):
    assert_invalid("mu", value, "wrong_type")


@pytest.mark.parametrize("value", [["a", "a"], ["a", "b", "a"]])
def test_multi_duplicates(value):
    assert_invalid("mu", value, "duplicate_option")


@pytest.mark.parametrize("value", [["d"], ["a", "z"], ["A"]])
def test_multi_unknown_option(value):
    assert_invalid("mu", value, "unknown_option")


@pytest.mark.parametrize("value", [[1], ["a", None], ["a", ["b"]], [True]])
def test_multi_items_must_be_option_values(value):
    error = single_error({"mu": value})
    assert error.question == "mu"


@pytest.mark.parametrize("value", [[], ["a"], ["c", "a"], ["a", "b", "c"]])
def test_multi_valid(value):
    assert_valid("mu", value)


@pytest.mark.parametrize("value", ["5", "", True, False, [5], {"v": 5}])
def test_number_wrong_kind(value):
    assert_invalid("num", value, "wrong_type")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_number_not_finite(value):
    error = single_error({"num": value})
    assert error.question == "num"


@pytest.mark.parametrize("value", [-0.001, -1, 100.5, 101, 1e9])
def test_number_out_of_bounds(value):
    assert_invalid("bounded", value, "out_of_bounds")


@pytest.mark.parametrize("value", [0, 0.0, 100, 50.5, 1e-9])
def test_number_within_bounds_inclusive(value):
    assert_valid("bounded", value)


@pytest.mark.parametrize("value", [2.5, 0.1, -3.5])
def test_number_not_integer(value):
    assert_invalid("whole", value, "not_integer")


@pytest.mark.parametrize("value", [2, 2.0, -3, 0])
def test_number_integer_valid(value):
    assert_valid("whole", value)


def test_number_out_of_bounds_and_not_integer_is_an_error_for_that_question():
    error = single_error({"whole_bounded": 11.5})
    assert error.question == "whole_bounded"
    assert error.code in ("out_of_bounds", "not_integer")


@pytest.mark.parametrize("value", [-1e300, 0, 3.25, 1e300])
def test_number_without_bounds_accepts_any_finite_number(value):
    assert_valid("num", value)


@pytest.mark.parametrize("value", [1, True, ["x"], {"t": "x"}])
def test_text_wrong_kind(value):
    assert_invalid("tx", value, "wrong_type")


@pytest.mark.parametrize("value", ["", "hola", "2026-01-05", "ñandú 🙂"])
def test_text_valid(value):
    assert_valid("tx", value)


@pytest.mark.parametrize(
    "value",
    [
        "2026-02-30",
        "2026-13-01",
        "2026-00-10",
        "2025-02-29",
        "2026-1-5",
        "2026-01-5",
        "26-01-05",
        "05/01/2026",
        "2026/01/05",
        "2026-01-05T10:00",
        "20260105",
        "hoy",
        "",
        " 2026-01-05",
    ],
)
def test_bad_dates(value):
    assert_invalid("dt", value, "invalid_date")


@pytest.mark.parametrize("value", [20260105, True, ["2026-01-05"]])
def test_date_wrong_kind(value):
    assert_invalid("dt", value, "wrong_type")


@pytest.mark.parametrize("value", ["2026-01-05", "2024-02-29", "1999-12-31"])
def test_good_dates(value):
    assert_valid("dt", value)


# --------------------------------------------------------------------------- na, ns, computed


@pytest.mark.parametrize("qid", ["yn", "ch", "mu", "num", "bounded", "whole", "banded", "tx", "dt"])
def test_na_where_not_allowed(qid):
    assert_invalid(qid, "na", "na_not_allowed")


@pytest.mark.parametrize("qid", ["yn_na", "ch_na", "whole_bounded"])
def test_na_where_allowed(qid):
    assert_valid(qid, "na")


@pytest.mark.parametrize(
    "qid", ["yn", "yn_na", "ch", "ch_na", "mu", "num", "bounded", "whole", "whole_bounded", "banded", "tx", "dt"]
)
def test_ns_is_allowed_everywhere_except_computed(qid):
    assert_valid(qid, "ns")


@pytest.mark.parametrize("value", ["ns", "na", 4, True, "x"])
def test_answer_to_a_computed_question(value):
    assert_invalid("calc", value, "computed_answered")


def test_null_for_a_computed_question_is_unanswered_not_an_error():
    assert_valid("calc", None)


def test_ns_and_na_are_reserved_words_not_options():
    assert_invalid("ch", "NS", "unknown_option")
    assert_invalid("mu", ["ns"], "unknown_option")


# --------------------------------------------------------------------------- all at once


def test_every_error_is_reported_with_its_question_id():
    answers = {
        "fantasma": 1,
        "yn": "si",
        "ch": "z",
        "mu": ["a", "a"],
        "bounded": 101,
        "whole": 1.5,
        "yn_na": "na",  # allowed: no error
        "ch_na": "a",  # valid
        "calc": 3,
        "dt": "2026-02-30",
        "tx": 5,
        "num": "na",
    }
    errors = errors_of(answers)
    by_question = {e.question: e.code for e in errors}
    assert len(errors) == 10, [str(e) for e in errors]
    assert by_question == {
        "fantasma": "unknown_question",
        "yn": "wrong_type",
        "ch": "unknown_option",
        "mu": "duplicate_option",
        "bounded": "out_of_bounds",
        "whole": "not_integer",
        "calc": "computed_answered",
        "dt": "invalid_date",
        "tx": "wrong_type",
        "num": "na_not_allowed",
    }
    with pytest.raises(InvalidAnswers) as caught:
        score(QUESTIONNAIRE, answers)
    assert {e.question for e in caught.value.errors} == set(by_question)


def test_invalid_answer_set_is_not_scored_even_if_one_answer_is_bad():
    with pytest.raises(InvalidAnswers) as caught:
        score(QUESTIONNAIRE, {"yn": True, "ch": "a", "num": "cinco"})
    assert [e.question for e in caught.value.errors] == ["num"]


def test_answers_to_questions_that_are_not_relevant_are_still_checked():
    questionnaire = load(single(yes_no("a"), number("b", relevant="a", max=10)))
    errors = validate_answers(questionnaire, {"a": False, "b": 11})
    assert [(e.question, e.code) for e in errors] == [("b", "out_of_bounds")]


# --------------------------------------------------------------------------- null and absent


def test_null_and_absent_mean_unanswered():
    data = single(
        yes_no("a"), choice("c", {"x": 1, "y": 0}), multi("m", {"x": 1}), number("n", bands=BANDS), text("t"), date("d")
    )
    assert validate_answers(load(data), {"a": None, "c": None, "m": None, "n": None, "t": None, "d": None}) == []
    with_nulls = run(data, {"a": None, "c": None, "m": None, "n": None, "t": None, "d": None})
    absent = run(data, {})
    assert with_nulls.to_dict() == absent.to_dict()
    for qid in ("a", "c", "m", "n"):
        assert status(absent, qid) == "unanswered"
    for qid in ("t", "d"):
        assert status(absent, qid) == "unscored"


def test_empty_multi_list_is_an_answer_not_unanswered():
    data = single(multi("m", {"x": 1}))
    assert status(run(data, {"m": []}), "m") == "scored"
    assert status(run(data, {"m": None}), "m") == "unanswered"


# --------------------------------------------------------------------------- huge JSON integers


@pytest.mark.parametrize("value", [10**400, -(10**400)], ids=["huge", "minus_huge"])
def test_huge_integer_is_reported_not_raised(value):
    # JSON allows integer literals of any length; json.loads turns them into Python ints
    errors = errors_of({"bounded": value, "whole": value})
    assert {e.question for e in errors} <= {"bounded", "whole"}
    assert [e.code for e in errors if e.question == "bounded"] == ["out_of_bounds"]
