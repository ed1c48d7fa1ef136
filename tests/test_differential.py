"""Differential and property tests of the scoring engine.

``tests/reference_scorer.py`` is an independent, straightforward
implementation of ``shared/spec/scoring.md`` (version 2: ``ns`` is missing
data, critical unknowns, critical failures make their dimension red,
``"method": 2``); here it is first checked on
hand-computed cases, then compared with ``scoring.score`` (and the
``coopdiag score`` CLI) on generated questionnaires and answer sets
(``tests/strategies.py``).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

import reference_scorer as ref
from reference_scorer import MISSING, eval_text, reference_score
from strategies import all_questions, answers_for, questionnaire_and_answers, questionnaires

ROOT = Path(__file__).resolve().parent.parent

try:  # the engine is being written concurrently; skip the differential part until it imports
    import scoring

    HAVE_SCORING = all(hasattr(scoring, n) for n in ("score", "questionnaire_from_data"))
except Exception:  # noqa: BLE001  # pragma: no cover - depends on the state of scoring/
    scoring = None
    HAVE_SCORING = False

needs_scoring = pytest.mark.skipif(not HAVE_SCORING, reason="scoring.score / questionnaire_from_data not available yet")

DIFF_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    derandomize=os.environ.get("CI") == "true",
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROP_SETTINGS = settings(
    max_examples=100,
    deadline=None,
    derandomize=os.environ.get("CI") == "true",
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


# ==========================================================================
# Helpers


def questionnaire(questions_by_sub, thresholds=None, dims=None):
    """Build a raw questionnaire: one dimension per list of subcategories."""
    if dims is None:
        dims = [
            {
                "id": "d1",
                "title": "D",
                "subcategories": [
                    {"id": f"s{i}", "title": "S", "questions": qs} for i, qs in enumerate(questions_by_sub, 1)
                ],
            }
        ]
    data = {"id": "t", "version": "1", "title": "T", "dimensions": dims}
    if thresholds:
        data["thresholds"] = thresholds
    return data


def yn(qid, **kw):
    return {"id": qid, "text": qid, "type": "yes_no", **kw}


def choice(qid, scores, **kw):
    return {
        "id": qid,
        "text": qid,
        "type": "choice",
        "options": [{"value": v, "label": v, "score": s} for v, s in scores.items()],
        **kw,
    }


def number(qid, **kw):
    return {"id": qid, "text": qid, "type": "number", **kw}


def computed(qid, formula, **kw):
    return {"id": qid, "text": qid, "type": "computed", "formula": formula, **kw}


BANDS = [{"max": 2, "score": 0}, {"min": 2, "max": 5, "score": 0.5}, {"min": 5, "score": 1}]


def statuses(result):
    return {q["id"]: q["status"] for d in result["dimensions"] for s in d["subcategories"] for q in s["questions"]}


def qscores(result):
    return {q["id"]: q["score"] for d in result["dimensions"] for s in d["subcategories"] for q in s["questions"]}


def sub(result, sid):
    return next(s for d in result["dimensions"] for s in d["subcategories"] if s["id"] == sid)


def project(out: dict) -> dict:
    """Keep only the keys scoring.md section 5 defines."""

    def node(n):
        return {"score": n.get("score"), "light": n.get("light"), "coverage": n.get("coverage")}

    return {
        "method": out.get("method", "<absent>"),
        "questionnaire": {"id": out["questionnaire"]["id"], "version": out["questionnaire"]["version"]},
        "overall": node(out["overall"]),
        "dimensions": [
            {
                "id": d["id"],
                **node(d),
                "subcategories": [
                    {
                        "id": s["id"],
                        **node(s),
                        "critical_failures": s.get("critical_failures", "<absent>"),
                        "critical_unknown": s.get("critical_unknown", "<absent>"),
                        "questions": [
                            {"id": q["id"], "status": q["status"], "score": q.get("score")} for q in s["questions"]
                        ],
                    }
                    for s in d["subcategories"]
                ],
            }
            for d in out["dimensions"]
        ],
    }


def first_difference(a, b, path="$"):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a or k not in b:
                return f"{path}.{k}: {a.get(k, '<absent>')!r} != {b.get(k, '<absent>')!r}"
            d = first_difference(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    same = (a == b) and (isinstance(a, bool) == isinstance(b, bool)) and ((a is None) == (b is None))
    return None if same else f"{path}: {a!r} != {b!r}"


def engine_output(data, answers) -> dict:
    q = scoring.questionnaire_from_data(copy.deepcopy(data))
    return scoring.score(q, copy.deepcopy(answers)).to_dict()


def engine_result(data, answers):
    q = scoring.questionnaire_from_data(copy.deepcopy(data))
    return scoring.score(q, copy.deepcopy(answers))


def repro(data, answers) -> str:
    return (
        "questionnaire=" + json.dumps(data, ensure_ascii=False) + "\nanswers=" + json.dumps(answers, ensure_ascii=False)
    )


# ==========================================================================
# 1. The reference itself, on hand-computed cases


@pytest.mark.parametrize(
    "text, values, expected",
    [
        ("1 + 2 * 3", {}, 7),
        ("(1 + 2) * 3", {}, 9),
        ("-2 * 3", {}, -6),
        ("- -2", {}, 2),
        ("10 / 4", {}, 2.5),
        ("7 - 2 - 1", {}, 4),
        ("8 / 2 / 2", {}, 2),
        ("1 / 0", {}, MISSING),
        ("1 / (2 - 2)", {}, MISSING),
        ("0 / 5", {}, 0),
        ("x + 1", {}, MISSING),
        ("x * 0", {}, MISSING),
        ("1 == 1.0", {}, True),
        ("a == 1", {"a": True}, False),  # booleans are not numbers
        ("a != 1", {"a": True}, True),
        ("a < 1", {"a": True}, MISSING),  # ordering between kinds
        ("a + 1", {"a": True}, MISSING),  # READING R5
        ("true == 1", {}, False),
        ("false != 0", {}, True),
        ("'a' == 1", {}, False),
        ("'1' == 1", {}, False),
        ("'a' != 'a'", {}, False),
        ("'a' < 'b'", {}, True),  # READING R4
        ("\"a b\" == 'a b'", {}, True),
        ("x > 1", {}, MISSING),
        ("x == 1", {}, MISSING),
        ("x != 1", {}, MISSING),
        ("false and x > 1", {}, False),
        ("x > 1 and false", {}, False),
        ("true and x > 1", {}, MISSING),
        ("true or x > 1", {}, True),
        ("x > 1 or true", {}, True),
        ("false or x > 1", {}, MISSING),
        ("not (x > 1)", {}, MISSING),
        ("not x > 1", {"x": 0}, True),
        ("not 1 < 2", {}, False),
        ("not not true", {}, True),
        ("true or false and false", {}, True),  # and binds tighter than or
        ("not true or true", {}, True),  # not binds tighter than or
        ("not false and false", {}, False),  # (not false) and false
        ("1 + 2 == 3 and 2 * 3 > 5", {}, True),
        ("selected(m, 'a')", {}, False),
        ("not selected(m, 'a')", {}, True),
        ("selected(m, 'a')", {"m": ["b", "a"]}, True),
        ("selected(m, 'c')", {"m": ["b", "a"]}, False),
        ("selected(m, 'a')", {"m": []}, False),
        ("selected(c, 'a')", {"c": "a"}, True),
        ('selected(c, "b")', {"c": "a"}, False),
        ("b", {"b": True}, True),
        ("b", {}, MISSING),
        ("n >= 2.5", {"n": 2.5}, True),
        ("n <= 2", {"n": 2.5}, False),
    ],
)
def test_reference_expressions(text, values, expected):
    got = eval_text(text, values)
    if expected is MISSING:
        assert got is MISSING
    else:
        assert got is not MISSING and got == expected and isinstance(got, bool) == isinstance(expected, bool)


@pytest.mark.parametrize("text", ["1 < 2 < 3", "a ==", "(1 + 2", "selected(a)", "1 2", "a = 1", "@"])
def test_reference_expression_errors(text):
    with pytest.raises(ref.ExpressionError):
        ref.parse(text)


def test_reference_simple_scores():
    data = questionnaire(
        [
            [
                yn("q1"),
                choice("q2", {"a": 1, "b": 0.5, "c": 0}, weight=2),
                {
                    "id": "q3",
                    "text": "q3",
                    "type": "multi",
                    "options": [
                        {"value": "a", "label": "A", "score": 0.5},
                        {"value": "b", "label": "B", "score": 0.75},
                    ],
                },
                number("q4", bands=BANDS),
            ]
        ]
    )
    r = reference_score(data, {"q1": True, "q2": "b", "q3": ["a", "b"], "q4": 5})
    assert qscores(r) == {"q1": 100.0, "q2": 50.0, "q3": 100.0, "q4": 100.0}
    s = sub(r, "s1")
    assert (s["score"], s["light"], s["coverage"], s["critical_failures"]) == (80.0, "green", 1.0, [])
    assert r["dimensions"][0]["light"] == "green" and r["overall"] == {"score": 80.0, "light": "green", "coverage": 1.0}
    r = reference_score(data, {"q1": False, "q2": "c", "q3": [], "q4": 4.99})
    assert qscores(r) == {"q1": 0.0, "q2": 0.0, "q3": 0.0, "q4": 50.0}
    assert sub(r, "s1")["score"] == 10.0 and sub(r, "s1")["light"] == "red"


def test_reference_statuses_and_coverage():
    data = questionnaire(
        [
            [
                yn("q1"),
                yn("q2"),
                yn("q3", na=True),
                {"id": "q4", "text": "q4", "type": "text"},
                yn("q5", relevant="q1"),
                yn("q6", good="no"),
                {"id": "q7", "text": "q7", "type": "choice", "options": [{"value": "a", "label": "A"}]},
                yn("q8", relevant="q3 or true"),
            ]
        ]
    )
    answers = {"q2": "ns", "q3": "na", "q4": "ns", "q5": True, "q6": False, "q7": "a", "q8": None}
    r = reference_score(data, answers)
    assert statuses(r) == {
        "q1": "unanswered",
        "q2": "ns",
        "q3": "na",
        "q4": "unscored",
        "q5": "not_relevant",
        "q6": "scored",
        "q7": "unscored",
        "q8": "unanswered",
    }
    # v2: an `ns` is not counted in the score (null), only in coverage as not answered
    assert qscores(r) == {
        "q1": None,
        "q2": None,
        "q3": None,
        "q4": None,
        "q5": None,
        "q6": 100.0,
        "q7": None,
        "q8": None,
    }
    s = sub(r, "s1")
    # A = q1 + q2 + q6 + q8 = 4, B = q6 = 1
    assert (s["score"], s["light"], s["coverage"]) == (None, "insufficient_data", 0.25)
    assert (s["critical_failures"], s["critical_unknown"]) == ([], [])
    assert r["overall"] == {"score": None, "light": "insufficient_data", "coverage": 0.0}
    assert r["method"] == 2
    answers["q1"] = False
    answers["q8"] = "ns"  # q5 not relevant; A = q1 + q2 + q6 + q8 = 4, B = q1 + q6 = 2
    s = sub(reference_score(data, answers), "s1")
    assert (s["score"], s["light"], s["coverage"]) == (50.0, "yellow", 0.5)
    answers["q2"] = False  # A = 4, B = 3, score 1/3
    s = sub(reference_score(data, answers), "s1")
    assert (s["score"], s["light"], s["coverage"]) == (33.3, "red", 0.75)
    # v1 scored these `ns` answers 0: now the two answered questions alone decide
    s = sub(reference_score(data, {"q1": True, "q2": "ns", "q3": "na", "q5": True, "q6": False, "q8": "ns"}), "s1")
    assert (s["score"], s["light"], s["coverage"]) == (100.0, "green", 0.6)  # A = 5, B = 3
    s = sub(reference_score(data, {"q1": True, "q2": "ns", "q3": "na", "q5": "ns", "q6": "ns", "q8": "ns"}), "s1")
    assert (s["score"], s["light"], s["coverage"]) == (None, "insufficient_data", 0.2)


def test_reference_ns_weights():
    data = questionnaire([[yn("q1", weight=3), yn("q2", weight=1), choice("q3", {"a": 0.5, "b": 0}, weight=2)]])
    s = sub(reference_score(data, {"q1": "ns", "q2": True, "q3": "a"}), "s1")
    # A = 6, B = 3, score (1 + 2 * 0.5) / 3
    assert (s["score"], s["light"], s["coverage"]) == (66.7, "yellow", 0.5)
    s = sub(reference_score(data, {"q1": True, "q2": "ns", "q3": "ns"}), "s1")
    assert (s["score"], s["light"], s["coverage"]) == (100.0, "green", 0.5)
    s = sub(reference_score(data, {"q1": "ns", "q2": True, "q3": "ns"}), "s1")
    assert (s["score"], s["light"], s["coverage"]) == (None, "insufficient_data", 0.1667)
    s = sub(reference_score(data, {"q1": "ns", "q2": "ns", "q3": "ns"}), "s1")
    assert (s["score"], s["light"], s["coverage"]) == (None, "insufficient_data", 0.0)
    assert statuses(reference_score(data, {"q1": "ns", "q2": "ns", "q3": "ns"})) == {"q1": "ns", "q2": "ns", "q3": "ns"}


def test_reference_critical_rule():
    data = questionnaire([[yn("q1", critical=True), yn("q2"), yn("q3"), yn("q4")]])
    s = sub(reference_score(data, {"q1": False, "q2": True, "q3": True, "q4": True}), "s1")
    assert (s["score"], s["light"], s["critical_failures"], s["critical_unknown"]) == (75.0, "red", ["q1"], [])
    # a critical failure beats insufficient coverage, and the score is still shown
    s = sub(reference_score(data, {"q1": False}), "s1")
    assert (s["score"], s["light"], s["coverage"], s["critical_failures"]) == (0.0, "red", 0.25, ["q1"])
    # v2: a critical `ns` is an unknown, not a failure; alone it is insufficient data
    s = sub(reference_score(data, {"q1": "ns"}), "s1")
    assert (s["score"], s["light"], s["coverage"], s["critical_failures"], s["critical_unknown"]) == (
        None,
        "insufficient_data",
        0.0,
        [],
        ["q1"],
    )
    # ... and it keeps a subcategory from green (score unchanged)
    s = sub(reference_score(data, {"q1": "ns", "q2": True, "q3": True, "q4": True}), "s1")
    assert (s["score"], s["light"], s["coverage"], s["critical_failures"], s["critical_unknown"]) == (
        100.0,
        "yellow",
        0.75,
        [],
        ["q1"],
    )
    # a yellow or red stays as it is
    s = sub(reference_score(data, {"q1": "ns", "q2": False, "q3": True, "q4": True}), "s1")
    assert (s["score"], s["light"], s["critical_unknown"]) == (66.7, "yellow", ["q1"])
    s = sub(reference_score(data, {"q1": "ns", "q2": False, "q3": False, "q4": True}), "s1")
    assert (s["score"], s["light"], s["critical_unknown"]) == (33.3, "red", ["q1"])
    # an unknown on the edge of coverage: 2 of 4 answered, green score -> yellow
    s = sub(reference_score(data, {"q1": "ns", "q2": True, "q3": True}), "s1")
    assert (s["score"], s["light"], s["coverage"]) == (100.0, "yellow", 0.5)
    # critical unanswered is neither a failure nor an unknown
    s = sub(reference_score(data, {"q2": True, "q3": True, "q4": True}), "s1")
    assert (s["score"], s["light"], s["critical_failures"], s["critical_unknown"]) == (100.0, "green", [], [])
    # a critical `ns` that is not relevant is not an unknown
    data_rel = questionnaire([[yn("g", good="no"), yn("q1", critical=True, relevant="g"), yn("q2")]])
    s = sub(reference_score(data_rel, {"g": False, "q1": "ns", "q2": True}), "s1")
    assert (s["light"], s["critical_unknown"], statuses(reference_score(data_rel, {"g": False, "q1": "ns"}))["q1"]) == (
        "green",
        [],
        "not_relevant",
    )
    # critical with a low but non-zero score is not a failure
    data = questionnaire(
        [[choice("q1", {"a": 0.1, "b": 0}, critical=True), choice("q2", {"a": 0, "b": 1}, critical=True)]]
    )
    s = sub(reference_score(data, {"q1": "a", "q2": "b"}), "s1")
    assert (s["score"], s["light"], s["critical_failures"]) == (55.0, "yellow", [])
    s = sub(reference_score(data, {"q1": "b", "q2": "a"}), "s1")
    assert (s["score"], s["light"], s["critical_failures"]) == (0.0, "red", ["q1", "q2"])
    # failures and unknowns together, each in file order: red
    data = questionnaire(
        [[yn("q1", critical=True), yn("q2", critical=True), yn("q3", critical=True), yn("q4", critical=True), yn("q5")]]
    )
    s = sub(reference_score(data, {"q1": "ns", "q2": False, "q3": "ns", "q4": False, "q5": True}), "s1")
    assert (s["score"], s["light"], s["coverage"], s["critical_failures"], s["critical_unknown"]) == (
        33.3,
        "red",
        0.6,
        ["q2", "q4"],
        ["q1", "q3"],
    )


def test_reference_dimension_critical_rule():
    crit_sub = {"id": "s1", "title": "S", "questions": [yn("c1", critical=True), yn("a1"), yn("a2"), yn("a3")]}
    ok_sub = {"id": "s2", "title": "S", "questions": [yn("b1")]}
    data = questionnaire(None, dims=[{"id": "d1", "title": "D", "subcategories": [crit_sub, ok_sub]}])
    r = reference_score(data, {"c1": False, "a1": True, "a2": True, "a3": True, "b1": True})
    d = r["dimensions"][0]
    # the mean (0.75 + 1) / 2 = 0.875 would be green: the critical failure makes the dimension red
    assert (d["score"], d["light"], d["coverage"]) == (87.5, "red", 1.0)
    # the overall result computes green from 0.875, the cap rule makes it yellow
    assert r["overall"] == {"score": 87.5, "light": "yellow", "coverage": 1.0}
    # a critical unknown does not make the dimension red; the dimension is
    # green (no red child), its subcategory yellow
    r = reference_score(data, {"c1": "ns", "a1": True, "a2": True, "a3": True, "b1": True})
    assert [x["light"] for x in r["dimensions"][0]["subcategories"]] == ["yellow", "green"]
    assert r["dimensions"][0]["light"] == "green" and r["overall"]["light"] == "green"
    # critical failure in a dimension with coverage < 0.5: red, null score (READING R14)
    heavy = {"id": "s2", "title": "S", "weight": 3, "questions": [yn("b1"), yn("b2")]}
    other = {"id": "s3", "title": "S", "questions": [yn("e1")]}
    data = questionnaire(
        None,
        dims=[
            {"id": "d1", "title": "D", "subcategories": [crit_sub, heavy]},
            {"id": "d2", "title": "D", "weight": 2, "subcategories": [other]},
        ],
    )
    answers = {"c1": False, "a1": True, "b1": "ns", "b2": "ns", "e1": True}
    r = reference_score(data, answers)
    s1, s2 = r["dimensions"][0]["subcategories"]
    assert (s1["score"], s1["light"], s1["coverage"]) == (50.0, "red", 0.5)
    assert (s2["score"], s2["light"], s2["coverage"]) == (None, "insufficient_data", 0.0)
    d1, d2 = r["dimensions"]
    assert (d1["score"], d1["light"], d1["coverage"]) == (None, "red", 0.25)
    assert (d2["score"], d2["light"], d2["coverage"]) == (100.0, "green", 1.0)
    # overall: d1 counts in coverage, not in the mean; capped to yellow
    assert r["overall"] == {"score": 100.0, "light": "yellow", "coverage": 1.0}
    # overall coverage < 0.5 is insufficient data even with a red dimension
    r = reference_score(data, dict(answers, e1="ns"))
    assert r["dimensions"][1]["light"] == "insufficient_data"
    assert r["overall"] == {"score": None, "light": "insufficient_data", "coverage": 0.3333}
    # no dimension with a light has a score, coverage 0.5: null score, red
    data["dimensions"][1]["weight"] = 1
    r = reference_score(data, dict(answers, e1="ns"))
    assert r["overall"] == {"score": None, "light": "red", "coverage": 0.5}
    data["dimensions"][1]["weight"] = 3
    # the same dimension with its heavy subcategory answered: the score is the mean again
    r = reference_score(data, {"c1": False, "a1": True, "b1": True, "b2": True, "e1": True})
    d1 = r["dimensions"][0]
    assert (d1["score"], d1["light"], d1["coverage"]) == (87.5, "red", 1.0)  # (0.5 + 3 * 1) / 4
    assert r["overall"] == {"score": 96.9, "light": "yellow", "coverage": 1.0}  # (0.875 + 3) / 4
    # a dimension whose critical subcategory is its only lit child, coverage 0.5: the score is shown
    data["dimensions"][0]["subcategories"][1]["weight"] = 1
    r = reference_score(data, answers)
    assert (r["dimensions"][0]["score"], r["dimensions"][0]["light"], r["dimensions"][0]["coverage"]) == (
        50.0,
        "red",
        0.5,
    )


def test_reference_computed_statuses():
    data = questionnaire(
        [
            [
                yn("gate"),
                number("n1"),
                number("n2", relevant="gate"),
                computed("c1", "n1 / n2", bands=BANDS),
                computed("c2", "c1 * 2", bands=BANDS),
                computed("c3", "n1 + 1"),  # unscored
            ]
        ]
    )

    def st_(answers):
        s = statuses(reference_score(data, answers))
        return s["c1"], s["c2"], s["c3"]

    assert st_({"gate": True, "n1": 4, "n2": 2}) == ("scored", "scored", "unscored")
    assert qscores(reference_score(data, {"gate": True, "n1": 4, "n2": 2}))["c1"] == 50.0
    assert qscores(reference_score(data, {"gate": True, "n1": 4, "n2": 2}))["c2"] == 50.0
    assert st_({"gate": True, "n1": 4}) == ("unanswered", "unanswered", "unscored")
    assert st_({"gate": True, "n1": 4, "n2": None}) == ("unanswered", "unanswered", "unscored")
    assert st_({"gate": True, "n1": "ns", "n2": 2})[0] == "undefined"
    assert st_({"gate": True, "n1": 4, "n2": 0})[0] == "undefined"
    assert st_({"gate": True, "n1": "ns"})[0] == "unanswered"  # n2 relevant and unanswered
    assert st_({"gate": False, "n1": 4})[0] == "undefined"  # n2 not relevant
    assert st_({"gate": False})[0] == "unanswered"  # n1 relevant and unanswered
    assert st_({"gate": False, "n2": 3, "n1": "ns"})[0] == "undefined"
    # READING R1: c2 names c1 directly; c1 is relevant and (being computed)
    # has no answer, so c2 is `unanswered` even when c1 is `undefined`.
    assert st_({"gate": True, "n1": 4, "n2": 0}) == ("undefined", "unanswered", "unscored")
    r = reference_score(data, {"gate": True, "n1": 4, "n2": 0})
    s = sub(r, "s1")  # A = gate + c2 = 2, B = gate = 1
    assert (s["coverage"], s["score"], s["light"]) == (0.5, 100.0, "green")


def test_reference_not_relevant_computed_and_relevance_through_computed():
    data = questionnaire(
        [
            [
                number("n1"),
                computed("c1", "n1 * 2", bands=BANDS, relevant="n1 > 0"),
                yn("q1", relevant="c1 >= 4"),
                yn("q2", relevant="not (c1 >= 4)"),
            ]
        ]
    )
    assert statuses(reference_score(data, {"n1": 3, "q1": True, "q2": True})) == {
        "n1": "unscored",
        "c1": "scored",
        "q1": "scored",
        "q2": "not_relevant",
    }
    assert statuses(reference_score(data, {"n1": 1, "q1": True, "q2": True})) == {
        "n1": "unscored",
        "c1": "scored",
        "q1": "not_relevant",
        "q2": "scored",
    }
    # c1 not relevant -> missing -> both q1 and q2 not relevant
    assert statuses(reference_score(data, {"n1": -1, "q1": True, "q2": True})) == {
        "n1": "unscored",
        "c1": "not_relevant",
        "q1": "not_relevant",
        "q2": "not_relevant",
    }


def test_reference_aggregation_coverage_and_cap():
    subs = [
        {"id": "s1", "title": "S", "questions": [choice("a", {"x": 0.9})]},  # green 0.9
        {"id": "s2", "title": "S", "questions": [choice("b", {"x": 0.3})]},  # red 0.3
        {"id": "s3", "title": "S", "questions": [yn("c")]},  # insufficient
        {"id": "s4", "title": "S", "questions": [yn("e", na=True)]},  # not applicable
    ]
    data = questionnaire(None, dims=[{"id": "d1", "title": "D", "subcategories": subs}])
    r = reference_score(data, {"a": "x", "b": "x", "e": "na"})
    assert [s["light"] for s in r["dimensions"][0]["subcategories"]] == [
        "green",
        "red",
        "insufficient_data",
        "not_applicable",
    ]
    assert [s["coverage"] for s in r["dimensions"][0]["subcategories"]] == [1.0, 1.0, 0.0, None]
    d = r["dimensions"][0]
    assert (d["score"], d["light"], d["coverage"]) == (60.0, "yellow", 0.6667)
    # cap rule: weighted mean (3 * 1.0 + 0.4) / 4 = 0.85 would be green
    subs = [
        {"id": "s1", "title": "S", "weight": 3, "questions": [choice("a", {"x": 1})]},
        {"id": "s2", "title": "S", "questions": [choice("b", {"x": 0.4})]},
    ]
    data = questionnaire(None, dims=[{"id": "d1", "title": "D", "subcategories": subs}])
    r = reference_score(data, {"a": "x", "b": "x"})
    d = r["dimensions"][0]
    assert (d["score"], d["light"], d["coverage"]) == (85.0, "yellow", 1.0)
    # the overall result sees a yellow dimension: no cap, green from 0.85
    assert r["overall"] == {"score": 85.0, "light": "green", "coverage": 1.0}
    # insufficient dimension: lit weight 1 of 3
    subs = [
        {"id": "s1", "title": "S", "questions": [choice("a", {"x": 1})]},
        {"id": "s2", "title": "S", "weight": 2, "questions": [yn("b")]},
    ]
    data = questionnaire(
        None,
        dims=[
            {"id": "d1", "title": "D", "subcategories": subs},
            {"id": "d2", "title": "D", "subcategories": [{"id": "s3", "title": "S", "questions": [yn("c", na=True)]}]},
        ],
    )
    r = reference_score(data, {"a": "x", "c": "na"})
    d1, d2 = r["dimensions"]
    assert (d1["score"], d1["light"], d1["coverage"]) == (None, "insufficient_data", 0.3333)
    assert (d2["score"], d2["light"], d2["coverage"]) == (None, "not_applicable", None)
    assert r["overall"] == {"score": None, "light": "insufficient_data", "coverage": 0.0}
    r = reference_score(data, {"a": "x", "b": True, "c": "na"})
    assert r["overall"] == {"score": 100.0, "light": "green", "coverage": 1.0}
    r = reference_score(data, {"c": "na", "a": "na"} | {"b": None})
    assert r["overall"]["light"] == "insufficient_data"


def test_reference_all_not_applicable():
    data = questionnaire([[yn("a", na=True), {"id": "t", "text": "t", "type": "text"}]])
    r = reference_score(data, {"a": "na", "t": "hola"})
    assert r["overall"] == {"score": None, "light": "not_applicable", "coverage": None}
    assert sub(r, "s1") | {"questions": None} == {
        "id": "s1",
        "score": None,
        "light": "not_applicable",
        "coverage": None,
        "critical_failures": [],
        "critical_unknown": [],
        "questions": None,
    }


def test_reference_threshold_inheritance_and_rounding():
    data = {
        "id": "t",
        "version": "1",
        "title": "T",
        "thresholds": {"green": 0.9, "red": 0.6},
        "dimensions": [
            {
                "id": "d1",
                "title": "D",
                "thresholds": {"green": 0.5, "red": 0.2},
                "subcategories": [
                    {"id": "s1", "title": "S", "questions": [choice("a", {"x": 0.55})]},
                    {
                        "id": "s2",
                        "title": "S",
                        "thresholds": {"green": 0.56, "red": 0.555},
                        "questions": [choice("b", {"x": 0.55})],
                    },
                ],
            },
            {
                "id": "d2",
                "title": "D",
                "subcategories": [
                    {"id": "s3", "title": "S", "questions": [choice("c", {"x": 0.79996, "y": 0.79994, "z": 0.59996})]},
                    {
                        "id": "s4",
                        "title": "S",
                        "thresholds": {"green": 0.8, "red": 0.5},
                        "questions": [choice("e", {"x": 0.79996, "y": 0.79994})],
                    },
                ],
            },
        ],
    }
    r = reference_score(data, {"a": "x", "b": "x", "c": "x", "e": "x"})
    assert [s["light"] for s in r["dimensions"][0]["subcategories"]] == ["green", "red"]
    # 0.55 is green under d1's thresholds, but s2 is red: cap rule
    assert r["dimensions"][0]["light"] == "yellow" and r["dimensions"][0]["score"] == 55.0
    assert sub(r, "s3")["light"] == "yellow"  # 0.8 under the file's 0.9 / 0.6
    assert sub(r, "s4") | {"questions": None} == {
        "id": "s4",
        "score": 80.0,
        "light": "green",
        "coverage": 1.0,
        "critical_failures": [],
        "critical_unknown": [],
        "questions": None,
    }
    r = reference_score(data, {"a": "x", "b": "x", "c": "z", "e": "y"})
    assert sub(r, "s3")["light"] == "yellow"  # 0.59996 rounds to 0.6 >= red 0.6
    assert sub(r, "s4")["light"] == "yellow" and sub(r, "s4")["score"] == 80.0  # 0.7999 < 0.8
    assert r["dimensions"][1]["light"] == "yellow"
    assert r["overall"]["light"] == "yellow"  # (0.55 + 0.69995) / 2 = 0.624975 under 0.9 / 0.6
    assert r["overall"]["score"] == 62.5


# ==========================================================================
# 2. Differential: the engine against the reference


@needs_scoring
@DIFF_SETTINGS
@given(questionnaire_and_answers())
def test_engine_matches_reference(case):
    data, answers = case
    expected = reference_score(data, answers)
    got = project(engine_output(data, answers))
    diff = first_difference(got, expected)
    assert diff is None, f"engine != reference at {diff}\n{repro(data, answers)}"


@needs_scoring
@PROP_SETTINGS
@given(questionnaire_and_answers(), st.randoms(use_true_random=False))
def test_answer_order_is_irrelevant(case, rnd):
    data, answers = case
    items = list(answers.items())
    rnd.shuffle(items)
    assert engine_output(data, answers) == engine_output(data, dict(items)), repro(data, answers)


@needs_scoring
@PROP_SETTINGS
@given(questionnaire_and_answers())
def test_every_question_in_file_order(case):
    data, answers = case
    out = engine_output(data, answers)
    assert [d["id"] for d in out["dimensions"]] == [d["id"] for d in data["dimensions"]]
    assert [s["id"] for d in out["dimensions"] for s in d["subcategories"]] == [
        s["id"] for d in data["dimensions"] for s in d["subcategories"]
    ]
    assert [q["id"] for d in out["dimensions"] for s in d["subcategories"] for q in s["questions"]] == [
        q["id"] for q in all_questions(data)
    ]
    for d in out["dimensions"]:
        for s in d["subcategories"]:
            order = [q["id"] for q in s["questions"]]
            assert s["critical_failures"] == sorted(s["critical_failures"], key=order.index)
            assert s["critical_unknown"] == sorted(s["critical_unknown"], key=order.index)


def _expected_light(score, thr):
    return ref.light_for(score, thr)


@needs_scoring
@PROP_SETTINGS
@given(questionnaire_and_answers())
def test_light_agrees_with_score_and_thresholds(case):
    data, answers = case
    result = engine_result(data, answers)
    out = result.to_dict()
    file_thr = ref._thresholds(data.get("thresholds"), ref.DEFAULT_THRESHOLDS)
    lights = set(ref.LIGHTS)

    def check(node_obj, node_out, thr, children_lights, critical, unknown=False):
        light = node_out["light"]
        if light in lights:
            raw = node_obj.score
            if raw is None:
                # v2: a red without a score: a critical-red dimension whose
                # coverage is < 0.5, or a parent none of whose lit children has a score
                assert light == "red" and node_out["score"] is None
                assert critical or "red" in children_lights
                return
            assert 0 <= raw <= 1
            assert node_out["score"] == round(raw * 100, 1) or abs(node_out["score"] - raw * 100) <= 0.05 + 1e-9
            expected = _expected_light(raw, thr)
            if critical:
                assert light == "red"
            elif expected == "green" and ("red" in children_lights or unknown):
                assert light == "yellow"
            else:
                assert light == expected, (raw, thr, light)
        else:
            assert node_out["score"] is None

    dim_lights = []
    for d_raw, d_obj, d_out in zip(data["dimensions"], result.dimensions, out["dimensions"]):
        d_thr = ref._thresholds(d_raw.get("thresholds"), file_thr)
        sub_lights = []
        for s_raw, s_obj, s_out in zip(d_raw["subcategories"], d_obj.subcategories, d_out["subcategories"]):
            s_thr = ref._thresholds(s_raw.get("thresholds"), d_thr)
            check(s_obj, s_out, s_thr, [], bool(s_out["critical_failures"]), bool(s_out["critical_unknown"]))
            sub_lights.append(s_out["light"])
        # v2: a critical failure makes its dimension red
        check(d_obj, d_out, d_thr, sub_lights, any(s["critical_failures"] for s in d_out["subcategories"]))
        dim_lights.append(d_out["light"])
    check(result.overall, out["overall"], file_thr, dim_lights, False)


def _check_v2_invariants(data, out):
    """Version 2 facts that hold whatever the scores (scoring.md "Version 2", §1-§3)."""
    assert out["method"] == 2 and not isinstance(out["method"], bool)
    raw_subs = {s["id"]: s for d in data["dimensions"] for s in d["subcategories"]}
    any_failure = False
    for d in out["dimensions"]:
        dim_failure = False
        for s in d["subcategories"]:
            qs = {q["id"]: q for q in s["questions"]}
            critical = {q["id"] for q in raw_subs[s["id"]]["questions"] if q.get("critical")}
            assert isinstance(s["critical_failures"], list) and isinstance(s["critical_unknown"], list)
            assert s["critical_failures"] == [
                q for q in qs if q in critical and qs[q]["status"] == "scored" and qs[q]["score"] == 0
            ]
            assert s["critical_unknown"] == [q for q in qs if q in critical and qs[q]["status"] == "ns"]
            for q in s["questions"]:
                if q["status"] != "scored":
                    assert q["score"] is None, (s["id"], q)
            if s["critical_failures"]:
                assert s["light"] == "red"
                dim_failure = True
            elif s["critical_unknown"]:
                assert s["light"] != "green"
        if dim_failure:
            assert d["light"] == "red"
            any_failure = True
    if any_failure:
        assert out["overall"]["light"] != "green"


@needs_scoring
@PROP_SETTINGS
@given(questionnaire_and_answers())
def test_engine_v2_invariants(case):
    data, answers = case
    _check_v2_invariants(data, engine_output(data, answers))


def _unreferenced(data, types=None):
    ids = {q["id"] for q in all_questions(data)}
    referenced = set()
    for q in all_questions(data):
        for key in ("relevant", "formula"):
            if q.get(key):
                referenced |= set(ref.names_in(ref.parse(q[key]))) & ids
    return [
        q
        for q in all_questions(data)
        if q["id"] not in referenced and q["type"] != "computed" and (types is None or q["type"] in types)
    ]


@st.composite
def _ns_or_unanswered_case(draw):
    """A non-critical question nothing refers to, answered ``ns`` in one set and left out in the other."""
    data, answers = draw(questionnaire_and_answers())
    cands = [q for q in _unreferenced(data) if not q.get("critical") and ref.is_scored_question(q)]
    assume(cands)
    q = draw(st.sampled_from(cands))
    with_ns = dict(answers, **{q["id"]: "ns"})
    without = {k: v for k, v in answers.items() if k != q["id"]}
    if draw(st.booleans()):
        without[q["id"]] = None
    return data, with_ns, without, q["id"]


def _ns_is_missing_data(output_fn, data, with_ns, without, qid):
    """v2: ``ns`` counts like no answer (in coverage, not in the score); only the status says which."""
    a = output_fn(data, with_ns)
    b = output_fn(data, without)
    st_a, st_b = statuses(a)[qid], statuses(b)[qid]
    assert (st_a, st_b) in (("ns", "unanswered"), ("not_relevant", "not_relevant")), repro(data, with_ns)
    for d in b["dimensions"]:
        for s in d["subcategories"]:
            for q in s["questions"]:
                if q["id"] == qid:
                    q["status"] = st_a
    diff = first_difference(project(a), project(b))
    assert diff is None, f"ns != unanswered at {diff}\n{repro(data, with_ns)}"


@settings(PROP_SETTINGS, max_examples=100)
@given(_ns_or_unanswered_case())
def test_reference_ns_counts_as_not_answered(case):
    _ns_is_missing_data(reference_score, *case)


@needs_scoring
@settings(PROP_SETTINGS, max_examples=100)
@given(_ns_or_unanswered_case())
def test_engine_ns_counts_as_not_answered(case):
    _ns_is_missing_data(engine_output, *case)


def _unreferenced_yes_no(data):
    return _unreferenced(data, types=("yes_no",))


def _sub_of(data, qid):
    for s in (s for d in data["dimensions"] for s in d["subcategories"]):
        if any(q["id"] == qid for q in s["questions"]):
            return s["id"]
    raise KeyError(qid)


def _monotone_check(output_fn, data, answers, q):
    good = ref._good_is_yes(q)
    lo = dict(answers, **{q["id"]: not good})
    hi = dict(answers, **{q["id"]: good})
    s_lo = sub(output_fn(data, lo), _sub_of(data, q["id"]))
    s_hi = sub(output_fn(data, hi), _sub_of(data, q["id"]))
    if s_lo["score"] is not None and s_hi["score"] is not None:
        assert s_hi["score"] >= s_lo["score"], repro(data, lo) + f"\nraising {q['id']}"
    rank = {"red": 0, "yellow": 1, "green": 2}
    if s_lo["light"] in rank and s_hi["light"] in rank:
        assert rank[s_hi["light"]] >= rank[s_lo["light"]], repro(data, lo) + f"\nraising {q['id']}"


@st.composite
def _monotone_case(draw):
    data = draw(questionnaires())
    cands = _unreferenced_yes_no(data)
    assume(cands)
    q = draw(st.sampled_from(cands))
    answers = draw(answers_for(data))
    return data, answers, q


@settings(PROP_SETTINGS, max_examples=100)
@given(_monotone_case())
def test_reference_raising_an_answer_never_lowers_its_subcategory(case):
    data, answers, q = case
    _monotone_check(reference_score, data, answers, q)


@needs_scoring
@PROP_SETTINGS
@given(_monotone_case())
def test_engine_raising_an_answer_never_lowers_its_subcategory(case):
    data, answers, q = case
    _monotone_check(engine_output, data, answers, q)


@settings(PROP_SETTINGS, max_examples=100)
@given(questionnaire_and_answers())
def test_reference_is_total_on_generated_cases(case):
    """The generator only produces cases the reference can score, in file order."""
    data, answers = case
    r = reference_score(data, answers)
    assert [q["id"] for d in r["dimensions"] for s in d["subcategories"] for q in s["questions"]] == [
        q["id"] for q in all_questions(data)
    ]
    json.dumps(r, allow_nan=False)
    _check_v2_invariants(data, r)


@needs_scoring
@settings(PROP_SETTINGS, max_examples=100)
@given(questionnaire_and_answers())
def test_generated_answers_are_valid_for_engine(case):
    data, answers = case
    q = scoring.questionnaire_from_data(copy.deepcopy(data))
    assert scoring.validate_answers(q, copy.deepcopy(answers)) == [], repro(data, answers)


# ==========================================================================
# 3. The real CLI against the reference


def _cli() -> list[str]:
    exe = shutil.which("coopdiag")
    if exe:
        return [exe]
    return [sys.executable, "-m", "app.cli"]


def _cli_available() -> bool:
    return HAVE_SCORING and ((ROOT / "app" / "cli.py").exists() or shutil.which("coopdiag") is not None)


@pytest.mark.skipif(not _cli_available(), reason="coopdiag CLI not available yet")
@settings(
    deadline=None,
    max_examples=3,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
@given(st.data())
def test_cli_matches_reference(tmp_path_factory, data):
    import yaml

    qdata = data.draw(questionnaires())
    answer_sets = [data.draw(answers_for(qdata)) for _ in range(4)]
    tmp = tmp_path_factory.mktemp("cli")
    qfile = tmp / "q.yaml"
    qfile.write_text(yaml.safe_dump(qdata, allow_unicode=True, sort_keys=False), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    # single answer set
    afile = tmp / "a.json"
    afile.write_text(json.dumps(answer_sets[0]), encoding="utf-8")
    proc = subprocess.run(
        _cli() + ["score", str(qfile), str(afile)], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60
    )
    assert proc.returncode == 0, proc.stderr + "\n" + repro(qdata, answer_sets[0])
    diff = first_difference(project(json.loads(proc.stdout)), reference_score(qdata, answer_sets[0]))
    assert diff is None, f"CLI != reference at {diff}\n{repro(qdata, answer_sets[0])}"
    # batch
    bfile = tmp / "a.jsonl"
    bfile.write_text("".join(json.dumps(a) + "\n" for a in answer_sets), encoding="utf-8")
    proc = subprocess.run(
        _cli() + ["score", str(qfile), "--batch", str(bfile)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    assert len(lines) == len(answer_sets)
    for line, answers in zip(lines, answer_sets):
        diff = first_difference(project(json.loads(line)), reference_score(qdata, answers))
        assert diff is None, f"CLI batch != reference at {diff}\n{repro(qdata, answers)}"


# ==========================================================================
# 4. Hand-built edge cases through the engine (same expectations as above)


def _hand_cases():
    B = BANDS
    gate = [
        yn("gate"),
        number("n1"),
        number("n2", relevant="gate"),
        computed("c1", "n1 / n2", bands=B),
        computed("c2", "c1 * 2", bands=B),
        computed("c3", "n1 + 1"),
    ]
    cases = [
        (questionnaire([gate]), a)
        for a in (
            {"gate": True, "n1": 4, "n2": 2},
            {"gate": True, "n1": 4},
            {"gate": True, "n1": "ns", "n2": 2},
            {"gate": True, "n1": 4, "n2": 0},
            {"gate": True, "n1": "ns"},
            {"gate": False, "n1": 4},
            {"gate": False},
            {"gate": False, "n2": 3, "n1": "ns"},
            {"gate": True, "n1": 4, "n2": None},
        )
    ]
    crit = questionnaire([[yn("q1", critical=True), yn("q2"), yn("q3"), yn("q4")]])
    cases += [
        (crit, {"q1": False, "q2": True, "q3": True, "q4": True}),
        (crit, {"q1": "ns"}),
        (crit, {"q2": True, "q3": True, "q4": True}),
    ]
    stat = questionnaire(
        [
            [
                yn("q1"),
                yn("q2"),
                yn("q3", na=True),
                {"id": "q4", "text": "q4", "type": "text"},
                yn("q5", relevant="q1"),
                yn("q6", good="no"),
                {"id": "q7", "text": "q7", "type": "choice", "options": [{"value": "a", "label": "A"}]},
                yn("q8", relevant="q3 or true"),
            ]
        ]
    )
    cases += [
        (stat, {"q2": "ns", "q3": "na", "q4": "ns", "q5": True, "q6": False, "q7": "a", "q8": None}),
        (stat, {"q2": "ns", "q3": "na", "q4": "ns", "q5": True, "q6": None, "q7": "a"}),
    ]
    logic = questionnaire(
        [
            [
                yn("a"),
                number("n"),
                yn("b1", relevant="a == 1"),
                yn("b2", relevant="a != 1"),
                yn("b3", relevant="false and n > 1"),
                yn("b4", relevant="true or n > 1"),
                yn("b5", relevant="not (n > 1)"),
                yn("b6", relevant="n / 0 == 1 or true"),
                yn("b7", relevant="n < 'x'"),
                yn("b8", relevant="not (n < 'x')"),
                yn("b9", relevant="n == 'x' or n != true"),
            ]
        ]
    )
    cases += [
        (
            logic,
            {
                "a": True,
                "b1": True,
                "b2": True,
                "b3": True,
                "b4": True,
                "b5": True,
                "b6": True,
                "b7": True,
                "b8": True,
                "b9": True,
            },
        ),
        (
            logic,
            {
                "a": True,
                "n": 0,
                "b1": True,
                "b2": True,
                "b3": True,
                "b4": True,
                "b5": True,
                "b6": True,
                "b7": True,
                "b8": True,
                "b9": True,
            },
        ),
    ]
    # version 2: ns weights, critical unknowns, critical dimensions
    ns_w = questionnaire([[yn("q1", weight=3), yn("q2", weight=1), choice("q3", {"a": 0.5, "b": 0}, weight=2)]])
    cases += [
        (ns_w, {"q1": "ns", "q2": True, "q3": "a"}),
        (ns_w, {"q1": True, "q2": "ns", "q3": "ns"}),
        (ns_w, {"q1": "ns", "q2": True, "q3": "ns"}),
        (ns_w, {"q1": "ns", "q2": "ns", "q3": "ns"}),
    ]
    cases += [
        (crit, {"q1": "ns", "q2": True, "q3": True, "q4": True}),
        (crit, {"q1": "ns", "q2": True, "q3": True}),
        (crit, {"q1": "ns", "q2": False, "q3": False, "q4": True}),
        (crit, {"q1": False}),
    ]
    crit4 = questionnaire(
        [[yn("q1", critical=True), yn("q2", critical=True), yn("q3", critical=True), yn("q4", critical=True), yn("q5")]]
    )
    cases += [(crit4, {"q1": "ns", "q2": False, "q3": "ns", "q4": False, "q5": True})]
    rel = questionnaire([[yn("g", good="no"), yn("q1", critical=True, relevant="g"), yn("q2")]])
    cases += [(rel, {"g": False, "q1": "ns", "q2": True}), (rel, {"g": True, "q1": "ns", "q2": True})]
    crit_sub = {"id": "s1", "title": "S", "questions": [yn("c1", critical=True), yn("a1"), yn("a2"), yn("a3")]}
    dims = [
        {"id": "d1", "title": "D", "subcategories": [crit_sub, {"id": "s2", "title": "S", "questions": [yn("b1")]}]}
    ]
    two = questionnaire(None, dims=dims)
    cases += [
        (two, {"c1": False, "a1": True, "a2": True, "a3": True, "b1": True}),
        (two, {"c1": "ns", "a1": True, "a2": True, "a3": True, "b1": True}),
    ]
    for w2 in (1, 2, 3):
        dims = [
            {
                "id": "d1",
                "title": "D",
                "subcategories": [crit_sub, {"id": "s2", "title": "S", "weight": 3, "questions": [yn("b1"), yn("b2")]}],
            },
            {
                "id": "d2",
                "title": "D",
                "weight": w2,
                "subcategories": [{"id": "s3", "title": "S", "questions": [yn("e1")]}],
            },
        ]
        low = questionnaire(None, dims=dims)
        base = {"c1": False, "a1": True, "b1": "ns", "b2": "ns", "e1": True}
        cases += [(low, base), (low, dict(base, e1="ns")), (low, dict(base, b1=True, b2=True))]
    return cases


@needs_scoring
@pytest.mark.parametrize("data, answers", _hand_cases())
def test_engine_on_hand_cases(data, answers):
    diff = first_difference(project(engine_output(data, answers)), reference_score(data, answers))
    assert diff is None, f"engine != reference at {diff}\n{repro(data, answers)}"


@needs_scoring
def test_engine_reads_bare_yaml_yes_no():
    text = """
id: t
version: "1"
title: T
dimensions:
  - id: d
    title: D
    subcategories:
      - id: s
        title: S
        questions:
          - {id: a, text: A, type: yes_no, good: no}
          - {id: b, text: B, type: yes_no, good: yes}
          - {id: c, text: C, type: yes_no, good: "no"}
"""
    q = scoring.load_questionnaire(text)
    out = scoring.score(q, {"a": False, "b": True, "c": True}).to_dict()
    assert [x["score"] for x in out["dimensions"][0]["subcategories"][0]["questions"]] == [100.0, 100.0, 0.0]


# ==========================================================================
# 5. The shipped questionnaires, with generated answer sets


def _yaml_1_2ish_load(text: str):
    """safe_load, but bare yes/no/on/off stay strings (only true/false are booleans)."""
    import re

    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.yaml_implicit_resolvers = {
        k: [r for r in v if r[0] != "tag:yaml.org,2002:bool"]
        for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )
    return yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader subclass


SHIPPED = sorted((ROOT / "questionnaires").glob("*.yaml"))
_SHIPPED_CACHE: dict = {}


def _shipped(path):
    if path not in _SHIPPED_CACHE:
        text = path.read_text(encoding="utf-8")
        _SHIPPED_CACHE[path] = (_yaml_1_2ish_load(text), scoring.load_questionnaire(text, source=str(path)))
    return _SHIPPED_CACHE[path]


@needs_scoring
@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
@settings(PROP_SETTINGS, max_examples=200, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_engine_matches_reference_on_shipped_questionnaires(path, data):
    raw, q = _shipped(path)
    answers = data.draw(answers_for(raw))
    got = project(scoring.score(q, copy.deepcopy(answers)).to_dict())
    diff = first_difference(got, reference_score(raw, answers))
    assert diff is None, (
        f"engine != reference on {path.name} at {diff}\nanswers={json.dumps(answers, ensure_ascii=False)}"
    )
