"""Every rule of scoring.md, one small questionnaire at a time.

Sections: 1 question statuses, 2 subcategory, 3 dimension and overall roll-up,
4 thresholds and rounding, 5 output; plus the scoring rule of each question
type from questionnaire-format.md and the ``pulled_down_by`` explanation.
"""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import HealthCheck, given, settings

from helpers import (
    BANDS,
    choice,
    computed,
    date,
    dim,
    dimension_results,
    doc,
    load,
    multi,
    number,
    question_results,
    run,
    single,
    status,
    sub,
    subcategory_results,
    text,
    yes_no,
)
from strategies import all_questions, questionnaire_and_answers


def one(result):
    """The only subcategory of a single-subcategory result."""
    (subcategory,) = subcategory_results(result).values()
    return subcategory


def pick(qid: str, value: float, **keys) -> dict:
    """A choice question whose option ``x`` scores ``value`` (``zero`` scores 0, ``one`` scores 1)."""
    options = {"x": value, "zero": 0, "one": 1} if value not in (0, 1) else {"x": value, "other": 1 - value}
    return choice(qid, options, **keys)


def subcategory_scoring(sid: str, value: float, **keys) -> dict:
    """A subcategory whose score is exactly ``value`` (one question answered ``x``)."""
    return sub(sid, pick(f"q_{sid}", value), **keys)


def answers_x(*sids: str) -> dict:
    return {f"q_{sid}": "x" for sid in sids}


# =========================================================================== 1. each question


class TestQuestionStatus:
    def test_not_relevant(self):
        data = single(yes_no("gate"), yes_no("a", relevant="gate"), yes_no("b", relevant="gate"))
        result = run(data, {"gate": False})
        assert status(result, "a") == status(result, "b") == "not_relevant"
        assert question_results(result)["a"].score is None

    def test_answer_to_a_question_that_is_not_relevant_is_kept_but_not_scored(self):
        data = single(yes_no("gate", good="no"), yes_no("a", relevant="gate"))
        result = run(data, {"gate": True, "a": False})
        assert status(result, "a") == "scored"
        assert one(result).score == 0.0
        result = run(data, {"gate": False, "a": False})  # a's answer is valid, kept, not scored
        assert status(result, "a") == "not_relevant"
        assert question_results(result)["a"].score is None
        assert one(result).score == 1.0
        assert one(result).coverage == 1.0

    def test_not_relevant_comes_before_every_other_row(self):
        data = single(
            yes_no("gate"),
            text("t", relevant="gate"),  # would be unscored
            yes_no("n", relevant="gate", na=True),  # would be na
            yes_no("s", relevant="gate"),  # would be ns
            yes_no("u", relevant="gate"),  # would be unanswered
            number("a", relevant="gate"),
            number("b", relevant="gate"),
            computed("k", "a / b", bands=BANDS, relevant="gate"),  # would be undefined
        )
        result = run(data, {"gate": False, "t": "x", "n": "na", "s": "ns", "a": 1, "b": 0})
        for qid in ("t", "n", "s", "u", "a", "b", "k"):
            assert status(result, qid) == "not_relevant", qid

    @pytest.mark.parametrize(
        "question, answer",
        [
            (text("q"), "hola"),
            (date("q"), "2026-01-05"),
            (number("q"), 3),  # no bands
            (choice("q", {"a": None, "b": None}), "a"),  # options without scores
            (multi("q", {"a": None, "b": None}), ["a", "b"]),
            (text("q"), None),
            (number("q"), "ns"),
            (text("q", na=True), "na"),
        ],
    )
    def test_unscored(self, question, answer):
        result = run(single(question), {"q": answer})
        assert status(result, "q") == "unscored"
        assert question_results(result)["q"].score is None
        assert one(result).light == "not_applicable"  # not counted in score or coverage

    def test_computed_without_bands_is_unscored(self):
        result = run(single(number("a"), computed("k", "a * 2")), {"a": 1})
        assert status(result, "k") == "unscored"

    @pytest.mark.parametrize(
        "question, answer",
        [
            (yes_no("q", na=True), "na"),
            (choice("q", {"a": 1, "b": 0}, na=True), "na"),
            (multi("q", {"a": 1}, na=True), "na"),
            (number("q", bands=BANDS, na=True), "na"),
            (yes_no("q", na=True, critical=True), "na"),
        ],
    )
    def test_na(self, question, answer):
        result = run(single(question, yes_no("other")), {"q": answer, "other": True})
        assert status(result, "q") == "na"
        assert question_results(result)["q"].score is None
        assert one(result).coverage == 1.0  # not counted in coverage
        assert one(result).score == 1.0  # not counted in score
        assert one(result).critical_failures == ()  # a critical question answered na does not fail

    @pytest.mark.parametrize(
        "question",
        [
            yes_no("q"),
            yes_no("q", good="no"),
            choice("q", {"a": 1, "b": 1}),
            multi("q", {"a": 1}),
            number("q", bands=BANDS),
        ],
    )
    def test_ns_counts_in_coverage_as_not_answered_and_not_in_the_score(self, question):
        # method 2: a respondent who does not know is missing data, not a failure
        result = run(single(question, yes_no("other")), {"q": "ns", "other": True})
        assert status(result, "q") == "ns"
        assert question_results(result)["q"].score is None
        assert one(result).coverage == 0.5  # counted in coverage, not answered
        assert one(result).score == 1.0  # not counted in the score
        assert one(result).light == "green"
        assert one(result).critical_unknown == ()  # not a critical question

    def test_mostly_ns_is_insufficient_data(self):
        # 3 of 4 questions answered ns: coverage 1/4, too little to judge (method 2)
        data = single(yes_no("a"), yes_no("b"), yes_no("c"), yes_no("d"))
        result = run(data, {"a": True, "b": "ns", "c": "ns", "d": "ns"})
        subcategory = one(result)
        assert subcategory.coverage == 0.25
        assert subcategory.light == "insufficient_data"
        assert subcategory.score is None
        assert subcategory.to_dict()["score"] is None and subcategory.to_dict()["coverage"] == 0.25
        assert result.overall.light == "insufficient_data"

    def test_ns_and_unanswered_weigh_the_same_in_coverage(self):
        data = single(yes_no("a", weight=2), yes_no("b", weight=3), yes_no("c", weight=5))
        with_ns = one(run(data, {"a": False, "b": "ns", "c": True}))
        unanswered = one(run(data, {"a": False, "c": True}))
        assert with_ns.coverage == unanswered.coverage == pytest.approx(7 / 10)
        assert with_ns.score == unanswered.score == pytest.approx(5 / 7)
        assert with_ns.light == unanswered.light == "yellow"

    def test_all_ns_is_insufficient_data_not_red(self):
        subcategory = one(run(single(yes_no("a"), yes_no("b")), {"a": "ns", "b": "ns"}))
        assert subcategory.light == "insufficient_data"
        assert subcategory.coverage == 0.0
        assert subcategory.score is None
        assert subcategory.pulled_down_by == ()

    @pytest.mark.parametrize(
        "question",
        [
            number("q"),
            choice("q", {"a": None, "b": None}),
            multi("q", {"a": None, "b": None}),
            text("q"),
            date("q"),
            number("q", critical=True),  # critical, but not scored: not a critical unknown either
        ],
    )
    def test_ns_on_a_question_that_is_not_scored_stays_unscored(self, question):
        result = run(single(question, yes_no("other")), {"q": "ns", "other": True})
        assert status(result, "q") == "unscored"
        assert question_results(result)["q"].score is None
        assert one(result).coverage == 1.0  # not counted in coverage
        assert one(result).light == "green"
        assert one(result).critical_unknown == ()

    @pytest.mark.parametrize(
        "question", [yes_no("q"), choice("q", {"a": 1, "b": 0}), multi("q", {"a": 1}), number("q", bands=BANDS)]
    )
    def test_unanswered(self, question):
        result = run(single(question, yes_no("other")), {"other": True})
        assert status(result, "q") == "unanswered"
        assert question_results(result)["q"].score is None
        assert one(result).coverage == 0.5  # counted in coverage, not answered
        assert one(result).score == 1.0  # not counted in the score

    def test_optional_question_unanswered_is_still_unanswered(self):
        result = run(single(yes_no("q", required=False), yes_no("other")), {"other": True})
        assert status(result, "q") == "unanswered"
        assert one(result).coverage == 0.5

    # -- computed: scored, unanswered, undefined

    @staticmethod
    def ratio(**input_keys):
        return single(
            number("a", **input_keys), number("b", **input_keys), computed("r", "a / b", bands=BANDS), yes_no("other")
        )

    def test_computed_scored(self):
        result = run(self.ratio(), {"a": 3, "b": 2, "other": True})
        assert status(result, "r") == "scored"
        assert question_results(result)["r"].score == 0.5  # 1.5 falls in [1, 2)

    @pytest.mark.parametrize("answers", [{}, {"a": 1}, {"b": 1}, {"a": 1, "b": None}])
    def test_computed_unanswered_when_a_named_input_is_relevant_and_unanswered(self, answers):
        result = run(self.ratio(), {**answers, "other": True})
        assert status(result, "r") == "unanswered"
        assert question_results(result)["r"].score is None
        assert one(result).coverage == 0.5  # counted in coverage, not answered
        assert one(result).score == 1.0

    def test_computed_unanswered_wins_over_other_reasons(self):
        # b is ns and a has no answer: a named input is relevant and unanswered
        result = run(self.ratio(), {"b": "ns", "other": True})
        assert status(result, "r") == "unanswered"
        result = run(self.ratio(na=True), {"b": "na", "other": True})
        assert status(result, "r") == "unanswered"

    @pytest.mark.parametrize(
        "input_keys, answers",
        [
            ({}, {"a": 1, "b": 0}),  # division by zero
            ({}, {"a": 0, "b": 0}),
            ({"na": True}, {"a": 1, "b": "na"}),  # an input answered na
            ({}, {"a": "ns", "b": 2}),  # an input answered ns
            ({}, {"a": "ns", "b": "ns"}),
        ],
    )
    def test_computed_undefined(self, input_keys, answers):
        result = run(self.ratio(**input_keys), {**answers, "other": True})
        assert status(result, "r") == "undefined"
        assert question_results(result)["r"].score is None
        assert one(result).coverage == 1.0  # neither in coverage
        assert one(result).score == 1.0  # nor in the score

    @pytest.mark.parametrize("answers", [{"a": "ns", "b": 2}, {"a": 3, "b": "ns"}, {"a": "ns", "b": "ns"}])
    def test_computed_with_an_ns_input_is_undefined_not_ns(self, answers):
        # the ns belongs to the input; the computed question itself is undefined: neither in
        # coverage nor in the score, and a critical computed question is not a critical unknown
        data = single(number("a"), number("b"), computed("r", "a / b", bands=BANDS, critical=True), yes_no("other"))
        result = run(data, {**answers, "other": True})
        assert status(result, "r") == "undefined"
        assert question_results(result)["r"].score is None
        assert one(result).coverage == 1.0
        assert one(result).light == "green"
        assert one(result).critical_unknown == () and one(result).critical_failures == ()

    def test_computed_undefined_when_an_input_is_not_relevant(self):
        data = single(yes_no("gate"), number("a"), number("b", relevant="gate"), computed("r", "a / b", bands=BANDS))
        # b is not relevant (and unanswered): not "a relevant input with no answer"
        result = run(data, {"gate": False, "a": 1})
        assert status(result, "r") == "undefined"
        # b is not relevant but answered: its answer is kept, not used
        result = run(data, {"gate": False, "a": 1, "b": 1})
        assert status(result, "r") == "undefined"
        result = run(data, {"gate": True, "a": 1})
        assert status(result, "r") == "unanswered"

    def test_computed_only_subcategory_undefined_is_not_applicable(self):
        data = doc(dim("d", sub("inputs", number("a"), number("b")), sub("ratio", computed("r", "a / b", bands=BANDS))))
        result = run(data, {"a": 1, "b": 0})
        assert subcategory_results(result)["ratio"].light == "not_applicable"
        result = run(data, {"a": 1})
        assert subcategory_results(result)["ratio"].light == "insufficient_data"

    def test_computed_is_never_na_or_ns(self):
        result = run(self.ratio(na=True), {"a": "na", "b": "na", "other": True})
        assert status(result, "r") == "undefined"
        result = run(self.ratio(), {"a": "ns", "b": "ns", "other": True})
        assert status(result, "r") == "undefined"

    def test_every_question_gets_exactly_one_status(self):
        data = single(
            yes_no("gate"),
            yes_no("nr", relevant="not gate"),
            text("un"),
            yes_no("na_q", na=True),
            yes_no("ns_q"),
            yes_no("unans"),
            number("a"),
            number("b"),
            computed("undef", "a / b", bands=BANDS),
            computed("unans_c", "a / missing_input", bands=BANDS),
            number("missing_input"),
            yes_no("sc"),
        )
        result = run(data, {"gate": True, "un": "x", "na_q": "na", "ns_q": "ns", "a": 1, "b": 0, "sc": False})
        assert {q.id: str(q.status) for q in one(result).questions} == {
            "gate": "scored",
            "nr": "not_relevant",
            "un": "unscored",
            "na_q": "na",
            "ns_q": "ns",
            "unans": "unanswered",
            "a": "unscored",
            "b": "unscored",
            "undef": "undefined",
            "unans_c": "unanswered",
            "missing_input": "unscored",
            "sc": "scored",
        }


# =========================================================================== question types


class TestQuestionScores:
    @pytest.mark.parametrize(
        "good, answer, expected", [("yes", True, 1), ("yes", False, 0), ("no", False, 1), ("no", True, 0)]
    )
    def test_yes_no(self, good, answer, expected):
        result = run(single(yes_no("q", good=good)), {"q": answer})
        assert question_results(result)["q"].score == expected

    def test_yes_no_default_good_is_yes(self):
        assert question_results(run(single(yes_no("q")), {"q": True}))["q"].score == 1

    @pytest.mark.parametrize("answer, expected", [("a", 1), ("b", 0.25), ("c", 0)])
    def test_choice(self, answer, expected):
        result = run(single(choice("q", {"a": 1, "b": 0.25, "c": 0})), {"q": answer})
        assert question_results(result)["q"].score == expected

    @pytest.mark.parametrize(
        "answer, expected",
        [
            ([], 0),
            (["a"], 0.5),
            (["a", "b"], 0.9),
            (["b", "a"], 0.9),
            (["a", "b", "c"], 1),  # 1.2 capped at 1
            (["a", "c"], 0.8),
            (["d"], 0),
            (["a", "b", "c", "d"], 1),
        ],
    )
    def test_multi_is_min_of_one_and_the_sum(self, answer, expected):
        result = run(single(multi("q", {"a": 0.5, "b": 0.4, "c": 0.3, "d": 0})), {"q": answer})
        assert question_results(result)["q"].score == pytest.approx(expected)
        assert status(result, "q") == "scored"

    @pytest.mark.parametrize(
        "value, expected",
        [(-1e9, 0), (-1, 0), (0, 0), (0.999, 0), (1, 0.5), (1.5, 0.5), (1.999, 0.5), (2, 1), (2.0001, 1), (1e9, 1)],
    )
    def test_number_bands_min_inclusive_max_exclusive(self, value, expected):
        result = run(single(number("q", bands=BANDS)), {"q": value})
        assert question_results(result)["q"].score == expected

    @pytest.mark.parametrize("a, b, expected", [(1, 1, 0.5), (2, 1, 1), (3, 4, 0), (4, 2, 1), (-2, 1, 0)])
    def test_computed_bands_edges(self, a, b, expected):
        result = run(single(number("a"), number("b"), computed("r", "a / b", bands=BANDS)), {"a": a, "b": b})
        assert question_results(result)["r"].score == expected

    def test_bands_with_decimal_edges(self):
        bands = [{"max": 0.1, "score": 0}, {"min": 0.1, "max": 0.3, "score": 0.5}, {"min": 0.3, "score": 1}]
        data = single(number("a"), number("b"), computed("r", "a / b", bands=bands))
        # 3 / 10 is 0.3 in floating point; it belongs to the band starting at 0.3
        assert question_results(run(data, {"a": 3, "b": 10}))["r"].score == 1
        assert question_results(run(data, {"a": 1, "b": 10}))["r"].score == 0.5


# =========================================================================== 2. subcategory


class TestSubcategory:
    def test_applicable_and_answered_weight(self):
        data = single(
            yes_no("s1", weight=1),  # scored 1
            yes_no("s2", weight=2),  # ns
            yes_no("s3", weight=3),  # unanswered
            yes_no("s4", weight=4, na=True),  # na
            yes_no("s5", weight=5, relevant="false"),  # not relevant
            text("s6", weight=6),  # unscored
            choice("s7", {"a": 0.5, "b": 0}, weight=4),  # scored 0.5
        )
        result = run(data, {"s1": True, "s2": "ns", "s4": "na", "s5": True, "s6": "x", "s7": "a"})
        subcategory = one(result)
        # A = scored + ns + unanswered = 1 + 2 + 3 + 4 = 10, B = scored = 1 + 4 = 5
        assert subcategory.coverage == pytest.approx(5 / 10)
        # score = (1*1 + 4*0.5) / 5: the ns question is not in the score
        assert subcategory.score == pytest.approx(3 / 5)
        assert subcategory.light == "yellow"

    def test_score_is_a_weighted_mean(self):
        data = single(choice("a", {"x": 0.2, "y": 1}, weight=3), choice("b", {"x": 0.6, "y": 1}, weight=1))
        subcategory = one(run(data, {"a": "x", "b": "x"}))
        assert subcategory.score == pytest.approx((3 * 0.2 + 0.6) / 4)
        assert subcategory.coverage == 1.0

    @pytest.mark.parametrize(
        "answers",
        [
            {"gate": True, "a": "na", "b": "na"},  # everything na
            {"gate": False, "a": True, "b": True},  # nothing relevant (answers kept, not scored)
            {"gate": True, "a": "na", "t": "x"},  # na, not relevant and unscored
        ],
    )
    def test_not_applicable_when_nothing_applies(self, answers):
        data = doc(
            dim(
                "d",
                sub("g", yes_no("gate")),
                sub("hidden", choice("c", {"x": 1, "y": 0}, relevant="false")),
                sub(
                    "s",
                    yes_no("a", na=True, relevant="gate"),
                    yes_no("b", na=True, relevant="gate and not selected(c, 'x')"),
                    text("t"),
                    weight=5,
                ),
            )
        )
        answers = dict(answers)
        if "t" in answers:
            answers["b"] = "na"
        result = run(data, answers)
        subcategory = subcategory_results(result)["s"]
        assert subcategory.light == "not_applicable"
        assert subcategory.score is None
        assert subcategory.coverage is None
        assert subcategory.critical_failures == ()
        assert subcategory.to_dict()["score"] is None and subcategory.to_dict()["coverage"] is None
        # left out of the dimension: only the gate subcategory counts
        assert result.dimensions[0].coverage == 1.0

    def test_not_applicable_with_only_unscored_and_undefined(self):
        data = single(text("t"), number("a"), number("b"), computed("r", "a / b", bands=BANDS))
        subcategory = one(run(data, {"t": "x", "a": 1, "b": 0}))
        assert subcategory.light == "not_applicable"
        assert subcategory.to_dict()["score"] is None and subcategory.to_dict()["coverage"] is None

    # -- critical rule

    @pytest.mark.parametrize(
        "question, answer",
        [
            (yes_no("c", critical=True), False),
            (yes_no("c", critical=True, good="no"), True),
            (choice("c", {"a": 1, "b": 0}, critical=True), "b"),
            (multi("c", {"a": 1, "b": 0}, critical=True), []),
            (multi("c", {"a": 1, "b": 0}, critical=True), ["b"]),
            (number("c", bands=BANDS, critical=True), 0.5),
        ],
    )
    def test_critical_failure_makes_the_subcategory_red_despite_a_high_score(self, question, answer):
        others = [yes_no(f"o{i}", weight=10) for i in range(5)]
        data = single(question, *others)
        answers = {"c": answer, **{f"o{i}": True for i in range(5)}}
        subcategory = one(run(data, answers))
        assert subcategory.score > 0.97
        assert subcategory.light == "red"
        assert subcategory.critical_failures == ("c",) or list(subcategory.critical_failures) == ["c"]

    def test_critical_computed_scoring_zero_fails(self):
        data = single(
            number("a"), number("b"), computed("r", "a / b", bands=BANDS, critical=True), yes_no("o", weight=9)
        )
        subcategory = one(run(data, {"a": 1, "b": 2, "o": True}))
        assert subcategory.light == "red"
        assert list(subcategory.critical_failures) == ["r"]

    def test_critical_failure_overrides_low_coverage(self):
        others = [yes_no(f"o{i}") for i in range(5)]
        data = single(yes_no("c", critical=True), *others)
        subcategory = one(run(data, {"c": False}))
        assert subcategory.coverage == pytest.approx(1 / 6)
        assert subcategory.light == "red"  # not insufficient_data
        assert subcategory.score == 0.0  # the score is still given
        assert subcategory.to_dict()["score"] == 0.0
        # a critical question answered ns is an unknown, not a failure: nothing overrides the coverage
        subcategory = one(run(data, {"c": "ns"}))
        assert subcategory.critical_failures == ()
        assert subcategory.critical_unknown == ("c",)
        assert subcategory.coverage == 0.0
        assert subcategory.light == "insufficient_data"
        assert subcategory.score is None

    @pytest.mark.parametrize(
        "answer",
        [True, None, "na"],
    )
    def test_critical_question_not_failing(self, answer):
        data = single(yes_no("c", critical=True, na=True), yes_no("o"))
        subcategory = one(run(data, {"c": answer, "o": True}))
        assert subcategory.critical_failures == ()
        assert subcategory.light == "green"

    def test_critical_question_with_a_partial_score_does_not_fail(self):
        data = single(choice("c", {"a": 1, "b": 0.01, "z": 0}, critical=True), yes_no("o", weight=99))
        subcategory = one(run(data, {"c": "b", "o": True}))
        assert subcategory.critical_failures == ()
        assert subcategory.light == "green"

    def test_critical_question_not_relevant_does_not_fail(self):
        data = single(yes_no("gate"), yes_no("c", critical=True, relevant="gate"))
        subcategory = one(run(data, {"gate": False, "c": False}))
        assert subcategory.critical_failures == ()

    def test_critical_failures_in_file_order(self):
        data = single(
            yes_no("z_last", critical=True),
            yes_no("ok", critical=True),
            yes_no("a_first", critical=True, weight=5),
            choice("m_mid", {"a": 1, "b": 0}, critical=True),
        )
        subcategory = one(run(data, {"z_last": False, "ok": True, "a_first": False, "m_mid": "b"}))
        assert list(subcategory.critical_failures) == ["z_last", "a_first", "m_mid"]
        assert subcategory.to_dict()["critical_failures"] == ["z_last", "a_first", "m_mid"]
        assert subcategory.to_dict()["critical_unknown"] == []

    # -- critical unknown (method 2): a critical question answered ns

    @pytest.mark.parametrize(
        "question",
        [
            yes_no("c", critical=True),
            yes_no("c", critical=True, good="no"),
            choice("c", {"a": 1, "b": 0}, critical=True),
            multi("c", {"a": 1, "b": 0}, critical=True),
            number("c", bands=BANDS, critical=True),
        ],
    )
    def test_critical_unknown_turns_green_into_yellow(self, question):
        others = [yes_no(f"o{i}", weight=10) for i in range(5)]
        data = single(question, *others)
        subcategory = one(run(data, {"c": "ns", **{f"o{i}": True for i in range(5)}}))
        assert subcategory.score == 1.0  # the ns is not in the score
        assert subcategory.coverage == pytest.approx(50 / 51)
        assert subcategory.light == "yellow"  # would be green
        assert subcategory.critical_failures == ()  # not a failure
        assert subcategory.critical_unknown == ("c",)
        assert subcategory.to_dict()["critical_unknown"] == ["c"]
        assert subcategory.to_dict()["critical_failures"] == []

    @pytest.mark.parametrize(
        "others, light",
        [
            ({"o1": True, "o2": "x"}, "yellow"),  # (1 + 0.2) / 2 = 0.6: yellow anyway
            ({"o1": False, "o2": "x"}, "red"),  # 0.1: red anyway
            ({"o2": "x"}, "insufficient_data"),  # coverage 1/3
        ],
    )
    def test_critical_unknown_leaves_yellow_red_and_insufficient_as_they_are(self, others, light):
        data = single(yes_no("c", critical=True), yes_no("o1"), choice("o2", {"x": 0.2, "y": 1}))
        subcategory = one(run(data, {"c": "ns", **others}))
        assert subcategory.light == light
        assert subcategory.critical_unknown == ("c",)  # listed whatever the light
        assert subcategory.critical_failures == ()

    def test_critical_unknown_keeps_green_from_green_whatever_the_thresholds(self):
        data = single(yes_no("c", critical=True), yes_no("o"), thresholds={"green": 0, "red": 0})
        subcategory = one(run(data, {"c": "ns", "o": True}))
        assert subcategory.light == "yellow"
        subcategory = one(run(data, {"c": True, "o": True}))
        assert subcategory.light == "green"

    def test_critical_unknowns_in_file_order(self):
        data = single(
            yes_no("z_last", critical=True),
            yes_no("ok", critical=True),
            yes_no("a_first", critical=True, weight=5),
            choice("m_mid", {"a": 1, "b": 0}, critical=True),
            yes_no("not_critical"),
            yes_no("o", weight=20),
        )
        answers = {"z_last": "ns", "ok": True, "a_first": "ns", "m_mid": "ns", "not_critical": "ns", "o": True}
        subcategory = one(run(data, answers))
        assert list(subcategory.critical_unknown) == ["z_last", "a_first", "m_mid"]
        assert subcategory.to_dict()["critical_unknown"] == ["z_last", "a_first", "m_mid"]
        assert subcategory.light == "yellow"  # score 1.0, coverage 21 / 29

    def test_critical_failure_and_critical_unknown_in_the_same_subcategory(self):
        data = single(
            yes_no("unknown", critical=True),
            yes_no("fails", critical=True),
            yes_no("o", weight=20),
        )
        subcategory = one(run(data, {"unknown": "ns", "fails": False, "o": True}))
        assert subcategory.light == "red"  # the failure decides
        assert subcategory.critical_failures == ("fails",)
        assert subcategory.critical_unknown == ("unknown",)
        assert subcategory.score == pytest.approx(20 / 21)  # the unknown is not in the score
        assert subcategory.coverage == pytest.approx(21 / 22)
        assert subcategory.pulled_down_by == ("fails",)
        out = subcategory.to_dict()
        assert (out["critical_failures"], out["critical_unknown"]) == (["fails"], ["unknown"])

    def test_critical_unknown_not_relevant_or_na_is_not_listed(self):
        data = single(yes_no("gate"), yes_no("c", critical=True, relevant="gate", na=True), yes_no("o"))
        assert one(run(data, {"gate": False, "c": "ns", "o": True})).critical_unknown == ()
        assert one(run(data, {"gate": True, "c": "na", "o": True})).critical_unknown == ()
        assert one(run(data, {"gate": True, "c": "ns", "o": True})).critical_unknown == ("c",)

    def test_no_critical_question_answered_ns_gives_an_empty_list(self):
        subcategory = one(run(single(yes_no("c", critical=True), yes_no("o")), {"c": True, "o": "ns"}))
        assert subcategory.critical_unknown == ()
        assert subcategory.to_dict()["critical_unknown"] == []
        assert subcategory.light == "green"

    # -- insufficient data

    def test_insufficient_data_below_half_coverage(self):
        data = single(yes_no("a"), yes_no("b", weight=2))
        subcategory = one(run(data, {"a": True}))
        assert subcategory.coverage == pytest.approx(1 / 3)
        assert subcategory.light == "insufficient_data"
        assert subcategory.score is None
        assert subcategory.to_dict()["score"] is None
        assert subcategory.to_dict()["coverage"] == 0.3333

    def test_exactly_half_coverage_is_enough(self):
        data = single(yes_no("a"), yes_no("b"))
        subcategory = one(run(data, {"a": True}))
        assert subcategory.coverage == 0.5
        assert subcategory.light == "green"
        assert subcategory.score == 1.0
        data = single(yes_no("a", weight=1.5), yes_no("b", weight=0.5), yes_no("c", weight=2))
        subcategory = one(run(data, {"a": False, "b": False}))
        assert subcategory.coverage == 0.5
        assert subcategory.light == "red"

    def test_coverage_just_below_half_is_insufficient_even_if_it_prints_as_half(self):
        data = single(yes_no("a", weight=0.49999), yes_no("b", weight=0.50001))
        subcategory = one(run(data, {"a": True}))
        assert subcategory.light == "insufficient_data"
        assert subcategory.to_dict()["coverage"] == 0.5

    def test_all_unanswered_is_insufficient_data(self):
        subcategory = one(run(single(yes_no("a"), yes_no("b")), {}))
        assert subcategory.light == "insufficient_data"
        assert subcategory.coverage == 0
        assert subcategory.score is None


# =========================================================================== 3. dimension and overall


class TestRollUp:
    def test_dimension_weighted_mean_of_subcategories(self):
        data = doc(dim("d", subcategory_scoring("a", 1, weight=1), subcategory_scoring("b", 0.5, weight=3)))
        dimension = run(data, answers_x("a", "b")).dimensions[0]
        assert dimension.score == pytest.approx((1 + 1.5) / 4)
        assert dimension.light == "yellow"
        assert dimension.coverage == 1.0

    def test_subcategory_weight_not_its_question_weights(self):
        # sub a has a question of weight 10; only subcategory weights count upwards
        data = doc(dim("d", sub("a", pick("q_a", 1, weight=10)), subcategory_scoring("b", 0.6)))
        dimension = run(data, answers_x("a", "b")).dimensions[0]
        assert dimension.score == pytest.approx(0.8)

    def test_overall_weighted_mean_of_dimensions(self):
        data = doc(
            dim("d1", subcategory_scoring("a", 0.9), weight=1),
            dim("d2", subcategory_scoring("b", 0.6), weight=2),
        )
        result = run(data, answers_x("a", "b"))
        assert result.overall.score == pytest.approx((0.9 + 1.2) / 3)
        assert result.overall.light == "yellow"
        assert result.overall.coverage == 1.0

    def test_not_applicable_children_are_left_out(self):
        data = doc(
            dim(
                "d",
                subcategory_scoring("a", 0.9),
                sub("na_sub", yes_no("n", na=True), weight=100),
            ),
            dim("nad", sub("nas", text("t")), weight=100),
        )
        result = run(data, {**answers_x("a"), "n": "na"})
        dims = dimension_results(result)
        assert subcategory_results(result)["na_sub"].light == "not_applicable"
        assert dims["d"].score == pytest.approx(0.9)
        assert dims["d"].coverage == 1.0
        assert dims["d"].light == "green"
        assert dims["nad"].light == "not_applicable"
        assert dims["nad"].score is None and dims["nad"].coverage is None
        assert result.overall.score == pytest.approx(0.9)
        assert result.overall.coverage == 1.0
        assert result.overall.light == "green"

    def test_all_children_not_applicable(self):
        data = doc(dim("d", sub("s", text("t")), sub("s2", yes_no("n", na=True))))
        result = run(data, {"n": "na"})
        assert result.dimensions[0].light == "not_applicable"
        assert result.overall.light == "not_applicable"
        assert result.overall.to_dict() == {"score": None, "light": "not_applicable", "coverage": None}

    def test_insufficient_children_count_in_coverage_not_in_score(self):
        data = doc(dim("d", subcategory_scoring("a", 0.9), sub("b", yes_no("u1"), yes_no("u2"))))
        result = run(data, answers_x("a"))
        assert subcategory_results(result)["b"].light == "insufficient_data"
        dimension = result.dimensions[0]
        assert dimension.coverage == 0.5  # exactly half: still judged
        assert dimension.score == pytest.approx(0.9)
        assert dimension.light == "green"

    def test_parent_insufficient_below_half(self):
        data = doc(dim("d", subcategory_scoring("a", 0.9), sub("b", yes_no("u1"), weight=1.01)))
        dimension = run(data, answers_x("a")).dimensions[0]
        assert dimension.coverage == pytest.approx(1 / 2.01)
        assert dimension.light == "insufficient_data"
        assert dimension.score is None
        assert dimension.to_dict()["score"] is None
        assert dimension.to_dict()["coverage"] == round(1 / 2.01, 4)

    def test_overall_coverage_with_an_insufficient_dimension(self):
        data = doc(
            dim("d1", subcategory_scoring("a", 0.7), weight=1),
            dim("d2", sub("b", yes_no("u")), weight=3),
        )
        result = run(data, answers_x("a"))
        assert dimension_results(result)["d2"].light == "insufficient_data"
        assert result.overall.coverage == 0.25
        assert result.overall.light == "insufficient_data"
        assert result.overall.score is None

    def test_red_by_critical_child_contributes_its_score(self):
        data = doc(
            dim(
                "d",
                sub("a", yes_no("c", critical=True), yes_no("o1", weight=9)),
                subcategory_scoring("b", 0.7),
            )
        )
        result = run(data, {"c": False, "o1": True, **answers_x("b")})
        assert subcategory_results(result)["a"].light == "red"
        assert subcategory_results(result)["a"].score == pytest.approx(0.9)
        assert result.dimensions[0].score == pytest.approx(0.8)  # green by its score...
        assert result.dimensions[0].light == "red"  # ...but a subcategory has a critical failure (method 2)

    # -- critical rule for dimensions (method 2)

    def test_dimension_with_a_critical_failure_is_red_whatever_its_score(self):
        data = doc(
            dim(
                "d",
                sub("a", yes_no("c", critical=True), yes_no("o1", weight=99)),
                subcategory_scoring("b", 1),
                subcategory_scoring("e", 1),
            )
        )
        result = run(data, {"c": False, "o1": True, **answers_x("b", "e")})
        dimension = result.dimensions[0]
        assert subcategory_results(result)["a"].score == pytest.approx(0.99)
        assert dimension.score == pytest.approx(2.99 / 3)  # still reported
        assert dimension.coverage == 1.0
        assert dimension.light == "red"
        assert dimension.capped is False  # red by the critical rule, not capped by the cap rule
        assert dimension.to_dict()["score"] == 99.7
        assert dimension.to_dict()["light"] == "red"
        assert result.overall.light == "yellow"  # capped by its red dimension
        assert result.overall.score == pytest.approx(2.99 / 3)

    def test_dimension_with_a_critical_failure_and_low_coverage_is_red_with_a_null_score(self):
        data = doc(dim("d", sub("a", yes_no("c", critical=True), yes_no("o")), sub("b", yes_no("u1"), weight=3)))
        result = run(data, {"c": False, "o": True})
        dimension = result.dimensions[0]
        assert subcategory_results(result)["b"].light == "insufficient_data"
        assert dimension.coverage == 0.25
        assert dimension.light == "red"  # not insufficient_data
        assert dimension.score is None
        assert dimension.to_dict() == {**dimension.to_dict(), "score": None, "light": "red", "coverage": 0.25}

    def test_dimension_with_a_critical_failure_at_exactly_half_coverage_reports_its_score(self):
        data = doc(dim("d", sub("a", yes_no("c", critical=True), yes_no("o")), sub("b", yes_no("u1"))))
        dimension = run(data, {"c": False, "o": True}).dimensions[0]
        assert dimension.coverage == 0.5
        assert dimension.light == "red"
        assert dimension.score == pytest.approx(0.5)

    def test_only_critical_failures_make_a_dimension_red(self):
        # a red subcategory without critical failures only caps; a critical unknown makes its
        # subcategory yellow, and a yellow child neither caps nor reddens the dimension
        data = doc(
            dim(
                "d",
                sub("a", yes_no("c", critical=True), yes_no("o")),
                subcategory_scoring("b", 1, weight=9),
            )
        )
        result = run(data, {"c": "ns", "o": True, **answers_x("b")})
        assert subcategory_results(result)["a"].light == "yellow"
        assert result.dimensions[0].light == "green"
        assert result.overall.light == "green"
        data = doc(dim("d", subcategory_scoring("a", 0.3, weight=1), subcategory_scoring("b", 1, weight=9)))
        assert run(data, answers_x("a", "b")).dimensions[0].light == "yellow"  # capped, not red

    def test_critical_rule_is_for_dimensions_only_the_overall_uses_its_score(self):
        data = doc(
            dim("d1", sub("a", yes_no("c", critical=True), yes_no("o1", weight=9)), weight=1),
            dim("d2", subcategory_scoring("b", 0.3), weight=1),
        )
        result = run(data, {"c": False, "o1": True, **answers_x("b")})
        dims = dimension_results(result)
        assert dims["d1"].light == "red" and dims["d1"].score == pytest.approx(0.9)
        assert result.overall.score == pytest.approx(0.6)
        assert result.overall.light == "yellow"  # from its score, not red by a critical rule

    # -- a red child with a null score

    def test_overall_counts_a_red_null_score_dimension_in_coverage_not_in_the_mean(self):
        data = doc(
            dim("d1", sub("a", yes_no("c", critical=True)), sub("u", yes_no("u1"), weight=3), weight=1),
            dim("d2", subcategory_scoring("b", 0.9), weight=1),
        )
        result = run(data, {"c": False, **answers_x("b")})
        dims = dimension_results(result)
        assert dims["d1"].light == "red" and dims["d1"].score is None
        assert result.overall.coverage == 1.0  # d1 counts in coverage
        assert result.overall.score == pytest.approx(0.9)  # but not in the mean
        assert result.overall.light == "yellow"  # 0.9 is green; capped by the red dimension
        assert result.overall.capped is True

    @pytest.mark.parametrize(
        "extra, coverage",
        [((), 1.0), ((dim("d2", sub("v", yes_no("v1")), weight=1),), 0.5)],
    )
    def test_overall_red_with_a_null_score_when_its_only_lit_dimension_has_no_score(self, extra, coverage):
        data = doc(dim("d1", sub("a", yes_no("c", critical=True)), sub("u", yes_no("u1"), weight=3)), *extra)
        result = run(data, {"c": False})
        assert result.dimensions[0].light == "red" and result.dimensions[0].score is None
        assert result.overall.light == "red"
        assert result.overall.score is None
        assert result.overall.coverage == coverage
        assert result.to_dict()["overall"] == {"score": None, "light": "red", "coverage": coverage}

    def test_overall_below_half_coverage_is_insufficient_even_with_a_red_dimension(self):
        data = doc(
            dim("d1", sub("a", yes_no("c", critical=True)), sub("u", yes_no("u1"), weight=3), weight=1),
            dim("d2", sub("v", yes_no("v1")), weight=2),
        )
        result = run(data, {"c": False})
        assert result.dimensions[0].light == "red"
        assert result.overall.coverage == pytest.approx(1 / 3)
        assert result.overall.light == "insufficient_data"
        assert result.overall.score is None

    @pytest.mark.parametrize("critical_weight", [0.01, 1, 100])
    def test_overall_is_never_green_with_a_critical_failure_anywhere(self, critical_weight):
        # one failed must-have in a small subcategory of a light dimension, everything else perfect
        data = doc(
            dim(
                "d1",
                sub("a", yes_no("c", critical=True, weight=critical_weight), yes_no("o", weight=100), weight=0.01),
                subcategory_scoring("b", 1, weight=100),
                weight=0.01,
            ),
            *[dim(f"g{i}", subcategory_scoring(f"s{i}", 1), weight=100) for i in range(3)],
        )
        result = run(data, {"c": False, "o": True, **answers_x("b", "s0", "s1", "s2")})
        assert result.dimensions[0].light == "red"
        assert result.overall.score > 0.99
        assert result.overall.light == "yellow"

    # -- cap rule

    def test_cap_rule_green_becomes_yellow(self):
        data = doc(dim("d", subcategory_scoring("a", 0.3, weight=1), subcategory_scoring("b", 1, weight=9)))
        dimension = run(data, answers_x("a", "b")).dimensions[0]
        assert dimension.score == pytest.approx(0.93)
        assert dimension.light == "yellow"
        assert dimension.to_dict()["score"] == 93.0

    def test_cap_rule_does_not_touch_yellow_or_red(self):
        data = doc(dim("d", subcategory_scoring("a", 0.3), subcategory_scoring("b", 0.9)))
        assert run(data, answers_x("a", "b")).dimensions[0].light == "yellow"  # 0.6: yellow anyway
        data = doc(dim("d", subcategory_scoring("a", 0.1), subcategory_scoring("b", 0.6)))
        assert run(data, answers_x("a", "b")).dimensions[0].light == "red"  # 0.35: stays red

    def test_cap_rule_needs_a_red_child_not_a_yellow_one(self):
        data = doc(dim("d", subcategory_scoring("a", 0.6, weight=1), subcategory_scoring("b", 1, weight=9)))
        assert run(data, answers_x("a", "b")).dimensions[0].light == "green"

    def test_cap_rule_at_the_overall_level(self):
        data = doc(
            dim("d1", subcategory_scoring("a", 0.2), weight=1),
            dim("d2", subcategory_scoring("b", 1), weight=9),
        )
        result = run(data, answers_x("a", "b"))
        assert dimension_results(result)["d1"].light == "red"
        assert result.overall.score == pytest.approx(0.92)
        assert result.overall.light == "yellow"

    def test_cap_rule_looks_at_children_only(self):
        # d1's red subcategory caps d1 (yellow), but the overall has no red child
        data = doc(
            dim("d1", subcategory_scoring("a", 0.3, weight=1), subcategory_scoring("b", 1, weight=9)),
        )
        result = run(data, answers_x("a", "b"))
        assert result.dimensions[0].light == "yellow"
        assert result.overall.score == pytest.approx(0.93)
        assert result.overall.light == "green"

    def test_insufficient_or_not_applicable_child_does_not_cap(self):
        data = doc(
            dim("d", subcategory_scoring("a", 1, weight=3), sub("b", yes_no("u1"), yes_no("u2")), sub("c", text("t")))
        )
        dimension = run(data, answers_x("a")).dimensions[0]
        assert dimension.light == "green"

    # -- thresholds per level

    def test_dimension_uses_its_own_thresholds_and_overall_the_files(self):
        data = doc(
            dim("d1", subcategory_scoring("a", 0.7), thresholds={"green": 0.7, "red": 0.2}),
            dim("d2", subcategory_scoring("b", 0.7)),
            thresholds={"green": 0.9, "red": 0.7},
        )
        result = run(data, answers_x("a", "b"))
        subs = subcategory_results(result)
        dims = dimension_results(result)
        assert subs["a"].light == "green"  # inherits the dimension's override
        assert dims["d1"].light == "green"
        assert subs["b"].light == "yellow"  # inherits the file's
        assert dims["d2"].light == "yellow"
        assert result.overall.light == "yellow"

    def test_subcategory_override_does_not_change_its_dimension(self):
        data = doc(dim("d", subcategory_scoring("a", 0.7, thresholds={"green": 0.6, "red": 0.1})))
        result = run(data, answers_x("a"))
        assert result.dimensions[0].subcategories[0].light == "green"
        assert result.dimensions[0].light == "yellow"


# =========================================================================== 4. thresholds


class TestThresholds:
    @pytest.mark.parametrize(
        "value, light",
        [
            (0.79996, "green"),  # rounds to 0.8
            (0.79995001, "green"),
            (0.8, "green"),
            (0.79994, "yellow"),  # rounds to 0.7999
            (0.79949, "yellow"),
            (0.5, "yellow"),  # exactly red: not below it
            (0.49996, "yellow"),  # rounds to 0.5
            (0.49994, "red"),
            (0.0, "red"),
            (1.0, "green"),
        ],
    )
    def test_light_decided_on_the_score_rounded_to_four_decimals(self, value, light):
        subcategory = one(run(single(pick("q", value)), {"q": "x"}))
        assert subcategory.light == light

    @pytest.mark.parametrize(
        "value, light", [(0.65, "green"), (0.64996, "green"), (0.64994, "yellow"), (0.3, "yellow"), (0.29994, "red")]
    )
    def test_custom_thresholds(self, value, light):
        data = single(pick("q", value), thresholds={"green": 0.65, "red": 0.3})
        assert one(run(data, {"q": "x"})).light == light

    @pytest.mark.parametrize("value, light", [(1.0, "green"), (0.99996, "green"), (0.99994, "yellow")])
    def test_green_threshold_of_one(self, value, light):
        data = single(pick("q", value), thresholds={"green": 1, "red": 0.5})
        assert one(run(data, {"q": "x"})).light == light

    def test_red_zero_means_never_red(self):
        data = single(pick("q", 0), thresholds={"green": 0.8, "red": 0})
        assert one(run(data, {"q": "x"})).light == "yellow"

    def test_equal_thresholds(self):
        data = single(pick("q", 0.6), thresholds={"green": 0.6, "red": 0.6})
        assert one(run(data, {"q": "x"})).light == "green"
        data = single(pick("q", 0.59), thresholds={"green": 0.6, "red": 0.6})
        assert one(run(data, {"q": "x"})).light == "red"

    def test_weighted_score_at_the_boundary(self):
        # (3 * 1 + 1 * 0.2) / 4 = 0.8 exactly in decimal, 0.7999999... in binary: green
        data = single(choice("a", {"x": 1, "y": 0}, weight=3), choice("b", {"x": 0.2, "y": 0}))
        assert one(run(data, {"a": "x", "b": "x"})).light == "green"
        # 0.1 + 0.2 + 0.2 over 3 questions... 0.7 * 3 / 3
        data = single(choice("a", {"x": 0.7, "y": 0}), choice("b", {"x": 0.9, "y": 0}), choice("c", {"x": 0.8, "y": 0}))
        assert one(run(data, {"a": "x", "b": "x", "c": "x"})).light == "green"

    def test_dimension_light_rounded_at_the_boundary(self):
        # 0.79992 and 0.8 average to 0.79996: green once rounded
        data = doc(dim("d", subcategory_scoring("a", 0.79992), subcategory_scoring("b", 0.8)))
        result = run(data, answers_x("a", "b"))
        assert subcategory_results(result)["a"].light == "yellow"
        assert result.dimensions[0].light == "green"
        # 0.79988 and 0.8 average to 0.79994: yellow
        data = doc(dim("d", subcategory_scoring("a", 0.79988), subcategory_scoring("b", 0.8)))
        assert run(data, answers_x("a", "b")).dimensions[0].light == "yellow"

    def test_scores_are_carried_unrounded(self):
        # rounded to 4 decimals first, the children would average (3 * 0.8 + 0.7999) / 4 = 0.799975 -> green;
        # carried unrounded they average 0.799935 -> 0.7999 -> yellow
        data = doc(dim("d", subcategory_scoring("a", 0.79996, weight=3), subcategory_scoring("b", 0.79986, weight=1)))
        result = run(data, answers_x("a", "b"))
        assert subcategory_results(result)["a"].light == "green"
        assert subcategory_results(result)["b"].light == "yellow"
        assert result.dimensions[0].score == pytest.approx(0.799935)
        assert result.dimensions[0].light == "yellow"

    def test_output_rounding_does_not_decide_the_light(self):
        # 0.79951 prints as 80.0 but is yellow, and stays yellow in its dimension and overall
        data = doc(dim("d", subcategory_scoring("a", 0.79951)))
        result = run(data, answers_x("a"))
        out = result.to_dict()
        subcategory = out["dimensions"][0]["subcategories"][0]
        assert subcategory["score"] == 80.0
        assert subcategory["light"] == "yellow"
        assert out["dimensions"][0] == {**out["dimensions"][0], "score": 80.0, "light": "yellow"}
        assert out["overall"] == {"score": 80.0, "light": "yellow", "coverage": 1.0}


# =========================================================================== 5. output


def output_of(data, answers):
    out = run(data, answers).to_dict()
    json.dumps(out)  # plain JSON
    return out


class TestOutput:
    def test_shape(self):
        data = doc(dim("d", sub("s", yes_no("q"))), id="mi-cuestionario", version="2026.1")
        out = output_of(data, {"q": True})
        assert out["questionnaire"] == {"id": "mi-cuestionario", "version": "2026.1"}
        assert out["overall"] == {"score": 100.0, "light": "green", "coverage": 1.0}
        (dimension,) = out["dimensions"]
        assert {k: dimension[k] for k in ("id", "score", "light", "coverage")} == {
            "id": "d",
            "score": 100.0,
            "light": "green",
            "coverage": 1.0,
        }
        (subcategory,) = dimension["subcategories"]
        assert {k: subcategory[k] for k in ("id", "score", "light", "coverage", "critical_failures")} == {
            "id": "s",
            "score": 100.0,
            "light": "green",
            "coverage": 1.0,
            "critical_failures": [],
        }
        assert subcategory["questions"] == [{"id": "q", "status": "scored", "score": 100.0}]

    def test_method_2_at_the_top_of_every_result(self):
        data = doc(dim("d", sub("s", yes_no("q", critical=True), yes_no("r"))))
        for answers in ({"q": True, "r": True}, {"q": "ns"}, {"q": False}, {}):
            result = run(data, answers)
            out = result.to_dict()
            assert out["method"] == 2
            assert list(out)[:2] == ["method", "questionnaire"]
            assert result.to_json() == orjson.dumps(out)
            assert json.loads(result.to_json())["method"] == 2

    def test_to_json_is_to_dict_serialised_on_a_richer_file(self):
        data = doc(
            dim(
                "d1",
                sub("a", yes_no("c", critical=True), yes_no("o")),
                sub("b", yes_no("u"), yes_no("k", critical=True)),
            ),
            dim("d2", sub("e", text("t")), sub("f", number("n", bands=BANDS)), thresholds={"green": 0.9, "red": 0.2}),
            id="rico",
            version="2",
        )
        for answers in ({"c": False, "o": True, "k": "ns", "n": 1.5}, {"c": "ns", "o": "ns", "u": True}, {}):
            result = run(data, answers)
            assert result.to_json() == orjson.dumps(result.to_dict())

    def test_subcategory_output_has_critical_unknown(self):
        out = output_of(single(yes_no("c", critical=True), yes_no("o")), {"c": "ns", "o": True})
        subcategory = out["dimensions"][0]["subcategories"][0]
        assert subcategory["critical_failures"] == []
        assert subcategory["critical_unknown"] == ["c"]
        assert subcategory["light"] == "yellow"
        assert subcategory["questions"][0] == {"id": "c", "status": "ns", "score": None}

    def test_scores_on_a_0_to_100_scale_with_one_decimal(self):
        data = single(yes_no("a"), yes_no("b"), yes_no("c"), choice("d", {"x": 0.12345, "y": 0}))
        out = output_of(data, {"a": True, "b": True, "c": False, "d": "x"})
        subcategory = out["dimensions"][0]["subcategories"][0]
        # (1 + 1 + 0 + 0.12345) / 4 = 0.5308625
        assert subcategory["score"] == 53.1
        scores = {q["id"]: q["score"] for q in subcategory["questions"]}
        assert scores == {"a": 100.0, "b": 100.0, "c": 0.0, "d": 12.3}
        assert out["overall"]["score"] == 53.1

    def test_two_thirds(self):
        out = output_of(single(yes_no("a"), yes_no("b"), yes_no("c")), {"a": True, "b": True, "c": False})
        assert out["overall"]["score"] == 66.7
        out = output_of(single(yes_no("a"), yes_no("b"), yes_no("c")), {"a": True, "b": True})
        assert out["overall"]["coverage"] == 1.0
        assert out["dimensions"][0]["subcategories"][0]["coverage"] == 0.6667

    def test_coverage_four_decimals(self):
        data = single(*[yes_no(f"q{i}") for i in range(7)])
        out = output_of(data, {f"q{i}": True for i in range(4)})
        assert out["dimensions"][0]["subcategories"][0]["coverage"] == 0.5714  # 4/7
        data = doc(
            dim(
                "d",
                *[subcategory_scoring(f"s{i}", 1) for i in range(4)],
                sub("u1", yes_no("x1")),
                sub("u2", yes_no("x2")),
                sub("u3", yes_no("x3")),
            )
        )
        out = output_of(data, answers_x("s0", "s1", "s2", "s3"))
        assert out["dimensions"][0]["coverage"] == 0.5714

    def test_null_scores_where_required(self):
        data = doc(
            dim("d", sub("insufficient", yes_no("u1"), yes_no("u2"), yes_no("a1")), sub("nothing", text("t"))),
        )
        out = output_of(data, {"a1": True})
        insufficient, nothing = out["dimensions"][0]["subcategories"]
        assert insufficient["light"] == "insufficient_data"
        assert insufficient["score"] is None
        assert insufficient["coverage"] == 0.3333
        assert nothing["light"] == "not_applicable"
        assert nothing["score"] is None and nothing["coverage"] is None
        assert out["dimensions"][0]["score"] is None
        assert out["dimensions"][0]["light"] == "insufficient_data"
        assert out["dimensions"][0]["coverage"] == 0.0
        assert out["overall"]["score"] is None

    def test_question_scores_null_when_not_counted(self):
        data = single(
            yes_no("gate"),
            yes_no("nr", relevant="not gate"),
            text("un"),
            yes_no("na_q", na=True),
            yes_no("ns_q"),
            yes_no("unans"),
            number("a"),
            number("b"),
            computed("undef", "a / b", bands=BANDS),
            yes_no("sc", good="no"),
        )
        out = output_of(
            data, {"gate": True, "nr": True, "un": "x", "na_q": "na", "ns_q": "ns", "a": 1, "b": 0, "sc": False}
        )
        questions = {q["id"]: (q["status"], q["score"]) for q in out["dimensions"][0]["subcategories"][0]["questions"]}
        assert questions == {
            "gate": ("scored", 100.0),
            "nr": ("not_relevant", None),
            "un": ("unscored", None),
            "na_q": ("na", None),
            "ns_q": ("ns", None),
            "unans": ("unanswered", None),
            "a": ("unscored", None),
            "b": ("unscored", None),
            "undef": ("undefined", None),
            "sc": ("scored", 100.0),
        }

    def test_file_order_of_everything(self):
        data = doc(
            dim("zeta", sub("s_z2", yes_no("q_z")), sub("s_a1", yes_no("q_y"), yes_no("q_b"), yes_no("q_a"))),
            dim(
                "alfa",
                sub("m", yes_no("c_z", critical=True), yes_no("c_a", critical=True), yes_no("c_m", critical=True)),
            ),
            dim("mid", sub("b", text("t2"), text("t1"))),
        )
        out = output_of(data, {"c_z": False, "c_a": "ns", "c_m": False})
        assert [d["id"] for d in out["dimensions"]] == ["zeta", "alfa", "mid"]
        assert [s["id"] for s in out["dimensions"][0]["subcategories"]] == ["s_z2", "s_a1"]
        assert [q["id"] for q in out["dimensions"][0]["subcategories"][1]["questions"]] == ["q_y", "q_b", "q_a"]
        assert out["dimensions"][1]["subcategories"][0]["critical_failures"] == ["c_z", "c_m"]
        assert out["dimensions"][1]["subcategories"][0]["critical_unknown"] == ["c_a"]
        assert [q["id"] for q in out["dimensions"][2]["subcategories"][0]["questions"]] == ["t2", "t1"]

    def test_every_question_of_the_file_appears_once(self):
        data = doc(
            dim("d1", sub("s1", yes_no("a"), text("b")), sub("s2", number("c"), computed("k", "c * 2"))),
            dim("d2", sub("s3", yes_no("e", relevant="a"), date("f"), multi("g", {"x": 1}))),
        )
        questionnaire = load(data)
        out = run(questionnaire, {}).to_dict()
        listed = [q["id"] for d in out["dimensions"] for s in d["subcategories"] for q in s["questions"]]
        assert listed == [q.id for q in questionnaire.questions] == ["a", "b", "c", "k", "e", "f", "g"]

    def test_answer_order_is_irrelevant(self):
        data = single(yes_no("a"), choice("b", {"x": 0.3, "y": 1}), number("c", bands=BANDS))
        forward = {"a": True, "b": "x", "c": 1.5}
        backward = dict(reversed(list(forward.items())))
        assert output_of(data, forward) == output_of(data, backward)

    def test_unicode_ids_and_titles_survive(self):
        data = single(yes_no("a"))
        data["title"] = "Autodiagnóstico — Ñuble"
        out = output_of(data, {"a": True})
        assert out["questionnaire"]["id"] == "prueba"


# =========================================================================== pulled_down_by


class TestPulledDownBy:
    def test_critical_failures_first_then_largest_weighted_loss(self):
        data = single(
            choice("small", {"x": 0.5, "y": 1}, weight=1),  # loses 0.5
            yes_no("full", weight=3),  # loses 0
            choice("big", {"x": 0.5, "y": 1}, weight=5),  # loses 2.5
            yes_no("crit_b", critical=True, weight=0.1),  # critical failure
            yes_no("dontknow", weight=2),  # ns: not in the score, loses nothing
            yes_no("crit_a", critical=True, weight=0.2),  # critical failure
            yes_no("crit_u", critical=True, weight=3),  # ns: a critical unknown, not a failure
            choice("mid", {"x": 0.25, "y": 1}, weight=1.6),  # loses 1.2
            yes_no("unans", weight=10),  # not counted
        )
        answers = {
            "small": "x",
            "full": True,
            "big": "x",
            "crit_b": False,
            "dontknow": "ns",
            "crit_a": False,
            "crit_u": "ns",
            "mid": "x",
        }
        subcategory = one(run(data, answers))
        assert subcategory.light == "red"
        assert list(subcategory.critical_failures) == ["crit_b", "crit_a"]
        assert list(subcategory.critical_unknown) == ["crit_u"]
        assert list(subcategory.pulled_down_by) == ["crit_b", "crit_a", "big", "mid", "small"]

    def test_yellow_subcategory_explains_its_light(self):
        data = single(yes_no("a", weight=2), choice("b", {"x": 0.5, "y": 1}, weight=3), yes_no("c", weight=4))
        subcategory = one(run(data, {"a": False, "b": "x", "c": True}))
        assert subcategory.light == "yellow"  # (0 + 1.5 + 4) / 9 = 0.611
        assert list(subcategory.pulled_down_by) == ["a", "b"]  # loses 2, then 1.5

    def test_weight_matters_more_than_score(self):
        data = single(
            choice("a", {"x": 0, "y": 1}, weight=1), choice("b", {"x": 0.6, "y": 1}, weight=5), yes_no("c", weight=1)
        )
        subcategory = one(run(data, {"a": "x", "b": "x", "c": True}))
        # a loses 1, b loses 2
        assert list(subcategory.pulled_down_by)[:2] == ["b", "a"]


# =========================================================================== method 2 invariants


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(questionnaire_and_answers())
def test_method_2_invariants_on_generated_files(case):
    """What scoring.md v2 guarantees whatever the file and the answers."""
    data, answers = case
    result = run(data, answers)
    critical_ids = {q["id"] for q in all_questions(data) if q.get("critical")}
    any_failure = False
    for dimension in result.dimensions:
        failing = False
        for subcategory in dimension.subcategories:
            for question in subcategory.questions:
                if question.status == "ns":
                    assert question.score is None  # ns is never in the score
            assert list(subcategory.critical_unknown) == [
                q.id for q in subcategory.questions if q.id in critical_ids and q.status == "ns"
            ]
            assert all(
                question.id in critical_ids and question.status == "scored" and question.score == 0
                for question in subcategory.questions
                if question.id in subcategory.critical_failures
            )
            if subcategory.critical_failures:
                assert subcategory.light == "red"
                failing = True
            elif subcategory.critical_unknown:
                assert subcategory.light != "green"
        if failing:
            any_failure = True
            assert dimension.light == "red"  # whatever its score and coverage
            if dimension.coverage < 0.5:
                assert dimension.score is None
    if any_failure:
        assert result.overall.light != "green"
    out = result.to_dict()
    assert out["method"] == 2
    assert result.to_json() == orjson.dumps(out)
