"""Loading rules of questionnaire-format.md: every load error names its place and key.

"Loading a file that breaks any rule above fails with an error that names the
file, the place (dimension, subcategory, question id, key) and the rule broken,
and lists every problem found, not only the first."
"""

from __future__ import annotations

import copy
import json

import pytest

from helpers import (
    BANDS,
    choice,
    computed,
    date,
    dim,
    doc,
    load,
    load_text,
    multi,
    number,
    problems,
    run,
    single,
    status,
    sub,
    text,
    text_problems,
    yes_no,
)
from scoring import QuestionnaireError, questionnaire_from_data


def find(found, *, key, place=(), message=()):
    """The problem with this key whose place names every string of ``place``."""
    if isinstance(place, str):
        place = (place,)
    if isinstance(message, str):
        message = (message,)
    matches = [
        p
        for p in found
        if p.key == key and all(part in p.place for part in place) and all(m in str(p) for m in message)
    ]
    assert matches, f"no problem with key={key!r} place⊇{place} message⊇{message} in:\n" + "\n".join(
        f"  {p.place!r} {p.key!r} {p.message}" for p in found
    )
    return matches[0]


def good() -> dict:
    """A valid file with two dimensions, three subcategories and every question type."""
    return doc(
        dim(
            "gestion",
            sub(
                "finanzas",
                number("activo", min=0),
                number("pasivo", min=0),
                computed("razon", "activo / pasivo", bands=BANDS),
                yes_no("balance", critical=True),
            ),
            sub(
                "socios",
                choice("asamblea", {"si": 1, "parcial": 0.5, "no": 0}),
                multi("servicios", {"venta": 0.5, "insumos": 0.5, "credito": 0.5}),
                text("comentario"),
                date("fecha"),
                yes_no("mujeres", relevant="selected(asamblea, 'si')"),
            ),
        ),
        dim("principios", sub("educacion", yes_no("capacita", good="yes"))),
    )


def question_of(data: dict, qid: str) -> dict:
    for d in data["dimensions"]:
        for s in d["subcategories"]:
            for q in s["questions"]:
                if q["id"] == qid:
                    return q
    raise KeyError(qid)


def test_good_file_loads():
    questionnaire = load(good())
    assert [q.id for q in questionnaire.questions] == [
        "activo",
        "pasivo",
        "razon",
        "balance",
        "asamblea",
        "servicios",
        "comentario",
        "fecha",
        "mujeres",
        "capacita",
    ]


# --------------------------------------------------------------------------- the file is named


def test_every_problem_names_the_file():
    data = single(yes_no("Bad"), yes_no("b", weight=0))
    with pytest.raises(QuestionnaireError) as caught:
        questionnaire_from_data(data, source="mi-cuestionario.yaml")
    assert len(caught.value.problems) == 2
    for problem in caught.value.problems:
        assert "mi-cuestionario.yaml" in str(problem)
    assert "mi-cuestionario.yaml" in str(caught.value)


# --------------------------------------------------------------------------- ids


@pytest.mark.parametrize("bad", ["Prueba", "-prueba", "_prueba", "con espacio", "ñandú", "", "a.b", "a/b"])
def test_bad_file_id(bad):
    data = good()
    data["id"] = bad
    find(problems(data), key="id")


@pytest.mark.parametrize("ok", ["prueba", "0prueba", "a-b_c", "9"])
def test_good_file_ids(ok):
    data = good()
    data["id"] = ok
    assert load(data).id == ok


@pytest.mark.parametrize("bad", ["Gestion", "-gestion", "gestión", "a b", ""])
def test_bad_dimension_id(bad):
    data = good()
    data["dimensions"][1]["id"] = bad
    problem = find(problems(data), key="id")
    assert "2" in problem.place or repr(bad) in str(problem) or bad in str(problem)


@pytest.mark.parametrize("bad", ["Socios", "_socios", "so cios", "socios!"])
def test_bad_subcategory_id(bad):
    data = good()
    data["dimensions"][0]["subcategories"][1]["id"] = bad
    find(problems(data), key="id", place="gestion")


@pytest.mark.parametrize("bad", ["1activo", "Activo", "act-ivo", "_activo", "act ivo", "activó", ""])
def test_bad_question_id(bad):
    data = good()
    data["dimensions"][1]["subcategories"][0]["questions"][0]["id"] = bad
    find(problems(data), key="id", place=("principios", "educacion"))


@pytest.mark.parametrize("ok", ["a", "a1", "a_b", "razon_corriente_2"])
def test_good_question_ids(ok):
    assert load(single(yes_no(ok))).questions[0].id == ok


def test_duplicate_dimension_id():
    data = good()
    data["dimensions"][1]["id"] = "gestion"
    found = problems(data)
    find(found, key="id", message="gestion")


def test_duplicate_subcategory_id_across_dimensions():
    data = good()
    data["dimensions"][1]["subcategories"][0]["id"] = "finanzas"
    find(problems(data), key="id", place=("principios", "finanzas"))


def test_duplicate_subcategory_id_in_one_dimension():
    data = single(yes_no("a"))
    data["dimensions"][0]["subcategories"].append(sub("s", yes_no("b")))
    find(problems(data), key="id", place="'s'")


def test_duplicate_question_id_across_the_file():
    data = good()
    question_of(data, "capacita")["id"] = "activo"
    find(problems(data), key="id", place=("principios", "educacion", "activo"))


def test_duplicate_question_id_in_one_subcategory():
    find(problems(single(yes_no("a"), yes_no("a"))), key="id", place="'a'")


def test_dimension_ids_need_not_differ_from_subcategory_or_question_ids():
    # uniqueness is per kind: dimensions among dimensions, subcategories and questions in the file
    load(doc(dim("x", sub("x", yes_no("x")))))


# --------------------------------------------------------------------------- required keys


@pytest.mark.parametrize("key", ["id", "version", "title", "dimensions"])
def test_missing_top_level_key(key):
    data = good()
    del data[key]
    find(problems(data), key=key)


def test_optional_top_level_keys_and_defaults():
    questionnaire = load(good())
    assert questionnaire.language == "es-CL"
    assert questionnaire.description is None
    assert (questionnaire.thresholds.green, questionnaire.thresholds.red) == (0.80, 0.50)
    data = good()
    data.update(language="es", description="Texto")
    questionnaire = load(data)
    assert (questionnaire.language, questionnaire.description) == ("es", "Texto")


def test_version_is_a_string():
    data = good()
    data["version"] = "2026.1"
    questionnaire = load(data)
    assert questionnaire.version == "2026.1"
    assert (questionnaire.id, questionnaire.version) == ("prueba", "2026.1")


@pytest.mark.parametrize("key", ["id", "title", "subcategories"])
def test_missing_dimension_key(key):
    data = good()
    del data["dimensions"][1][key]
    problem = find(problems(data), key=key)
    if key != "id":
        assert "principios" in problem.place


@pytest.mark.parametrize("key", ["id", "title", "questions"])
def test_missing_subcategory_key(key):
    data = good()
    del data["dimensions"][0]["subcategories"][1][key]
    problem = find(problems(data), key=key, place="gestion")
    if key != "id":
        assert "socios" in problem.place


@pytest.mark.parametrize("key", ["id", "text", "type"])
def test_missing_question_key(key):
    data = good()
    del question_of(data, "capacita")[key]
    problem = find(problems(data), key=key, place=("principios", "educacion"))
    if key != "id":
        assert "capacita" in problem.place


def test_missing_options_of_a_choice_and_formula_of_a_computed():
    data = good()
    del question_of(data, "servicios")["options"]
    del question_of(data, "razon")["formula"]
    found = problems(data)
    find(found, key="options", place="servicios")
    find(found, key="formula", place="razon")
    assert len(found) == 2


@pytest.mark.parametrize(
    "path, key",
    [((), "dimensions"), ((0,), "subcategories"), ((0, 0), "questions")],
)
def test_lists_need_at_least_one_item(path, key):
    data = good()
    node = data
    if len(path) >= 1:
        node = data["dimensions"][path[0]]
    if len(path) == 2:
        node = node["subcategories"][path[1]]
    node[key] = []
    find(problems(data), key=key)


def test_choice_needs_at_least_one_option():
    find(problems(single(choice("c", []))), key="options", place="'c'")


# --------------------------------------------------------------------------- weights


@pytest.mark.parametrize("weight", [0, -1, -0.5])
@pytest.mark.parametrize("level", ["dimension", "subcategory", "question"])
def test_weight_must_be_positive(level, weight):
    data = good()
    if level == "dimension":
        data["dimensions"][1]["weight"] = weight
        place = ("principios",)
    elif level == "subcategory":
        data["dimensions"][1]["subcategories"][0]["weight"] = weight
        place = ("principios", "educacion")
    else:
        question_of(data, "capacita")["weight"] = weight
        place = ("principios", "educacion", "capacita")
    found = problems(data)
    find(found, key="weight", place=place)
    assert len(found) == 1


@pytest.mark.parametrize("weight", ["pesado", None, [1]])
def test_weight_must_be_a_number(weight):
    data = single(yes_no("a", weight=weight)) if weight is not None else single(yes_no("a"))
    if weight is None:
        assert load(data).questions[0].weight == 1  # absent: default 1
    else:
        find(problems(data), key="weight", place="'a'")


def test_weight_defaults_to_one_and_accepts_fractions():
    questionnaire = load(doc(dim("d", sub("s", yes_no("a"), yes_no("b", weight=0.25)), weight=2.5)))
    dimension = questionnaire.dimensions[0]
    assert dimension.weight == 2.5
    assert dimension.subcategories[0].weight == 1
    assert [q.weight for q in dimension.subcategories[0].questions] == [1, 0.25]


# --------------------------------------------------------------------------- thresholds


@pytest.mark.parametrize(
    "thresholds, key",
    [
        ({"green": 1.2, "red": 0.5}, "green"),
        ({"green": 0.8, "red": -0.1}, "red"),
        ({"green": -0.2, "red": 0}, "green"),
        ({"green": 0.8, "red": 1.5}, "red"),
    ],
)
@pytest.mark.parametrize("level", ["file", "dimension", "subcategory"])
def test_threshold_out_of_range(level, thresholds, key):
    data = good()
    if level == "file":
        data["thresholds"] = thresholds
        place = ()
    elif level == "dimension":
        data["dimensions"][1]["thresholds"] = thresholds
        place = ("principios",)
    else:
        data["dimensions"][1]["subcategories"][0]["thresholds"] = thresholds
        place = ("principios", "educacion")
    problem = next(p for p in problems(data) if all(part in p.place for part in place))
    assert problem.key in (key, "thresholds", None)
    assert key in str(problem) or "thresholds" in str(problem) or "umbral" in str(problem)


@pytest.mark.parametrize("level", ["file", "dimension", "subcategory"])
def test_red_above_green_is_refused(level):
    data = good()
    bad = {"green": 0.5, "red": 0.6}
    if level == "file":
        data["thresholds"] = bad
        place = ()
    elif level == "dimension":
        data["dimensions"][1]["thresholds"] = bad
        place = ("principios",)
    else:
        data["dimensions"][1]["subcategories"][0]["thresholds"] = bad
        place = ("principios", "educacion")
    found = problems(data)
    assert len(found) == 1
    assert all(part in found[0].place for part in place)


@pytest.mark.parametrize(
    "thresholds", [{"green": 0.6, "red": 0.6}, {"green": 1, "red": 0}, {"green": 0, "red": 0}, {"green": 1, "red": 1}]
)
def test_threshold_edges_are_allowed(thresholds):
    data = good()
    data["thresholds"] = thresholds
    assert load(data).thresholds.green == thresholds["green"]


def test_threshold_inheritance_and_defaults():
    data = doc(
        dim(
            "d1",
            sub("s11", yes_no("a")),
            sub("s12", yes_no("b"), thresholds={"green": 0.95, "red": 0.75}),
            thresholds={"green": 0.7, "red": 0.4},
        ),
        dim("d2", sub("s21", yes_no("c"))),
        thresholds={"green": 0.9, "red": 0.6},
    )
    questionnaire = load(data)
    d1, d2 = questionnaire.dimensions
    pair = lambda node: (node.thresholds.green, node.thresholds.red)  # noqa: E731
    assert pair(questionnaire) == (0.9, 0.6)
    assert pair(d1) == (0.7, 0.4)  # its own override
    assert pair(d1.subcategories[0]) == (0.7, 0.4)  # inherits from its dimension
    assert pair(d1.subcategories[1]) == (0.95, 0.75)  # its own override
    assert pair(d2) == (0.9, 0.6)  # inherits from the file
    assert pair(d2.subcategories[0]) == (0.9, 0.6)

    defaults = load(single(yes_no("a")))
    assert pair(defaults) == pair(defaults.dimensions[0]) == pair(defaults.dimensions[0].subcategories[0]) == (0.8, 0.5)


def test_inherited_thresholds_decide_the_light():
    # one question scoring 0.7: yellow by default, green with a subcategory green of 0.7
    data = doc(
        dim(
            "d",
            sub("own", choice("a", {"x": 0.7, "y": 0}), thresholds={"green": 0.7, "red": 0.3}),
            sub("from_dim", choice("b", {"x": 0.7, "y": 0})),
            thresholds={"green": 0.9, "red": 0.75},
        ),
        dim("e", sub("from_file", choice("c", {"x": 0.7, "y": 0}))),
    )
    result = run(data, {"a": "x", "b": "x", "c": "x"})
    subs = {s.id: s.light for d in result.dimensions for s in d.subcategories}
    assert subs == {"own": "green", "from_dim": "red", "from_file": "yellow"}


# --------------------------------------------------------------------------- options


@pytest.mark.parametrize("option_score", [-0.1, 1.01, 2, -1])
@pytest.mark.parametrize("maker", [choice, multi])
def test_option_score_out_of_range(maker, option_score):
    found = problems(single(maker("c", {"a": 1, "b": option_score})))
    problem = find(found, key="score", place="'c'")
    assert "2" in problem.place or "b" in problem.place or "'b'" in str(problem)


@pytest.mark.parametrize("maker", [choice, multi])
def test_option_scores_zero_and_one_are_allowed(maker):
    load(single(maker("c", {"a": 1, "b": 0, "c": 0.5})))


@pytest.mark.parametrize("maker", [choice, multi])
def test_mixed_scored_and_unscored_options(maker):
    found = problems(single(maker("c", {"a": 1, "b": None, "c": 0})))
    problem = next(p for p in found if "'c'" in p.place)
    assert problem.key in ("options", "score")


@pytest.mark.parametrize("maker", [choice, multi])
def test_all_unscored_options_make_an_unscored_question(maker):
    data = single(maker("c", {"a": None, "b": None}), yes_no("y"))
    answer = "a" if maker is choice else ["a"]
    assert status(run(data, {"c": answer, "y": True}), "c") == "unscored"


@pytest.mark.parametrize("reserved", ["na", "ns"])
@pytest.mark.parametrize("maker", [choice, multi])
def test_reserved_option_values(maker, reserved):
    found = problems(single(maker("c", {"a": 1, reserved: 0})))
    find(found, key="value", place="'c'", message=reserved)


@pytest.mark.parametrize("maker", [choice, multi])
def test_duplicate_option_values(maker):
    options = [{"value": "a", "label": "A", "score": 1}, {"value": "a", "label": "Otra A", "score": 0}]
    find(problems(single(maker("c", options))), key="value", place="'c'", message="a")


def test_option_without_value():
    options = [{"value": "a", "label": "A", "score": 1}, {"label": "B", "score": 0}]
    find(problems(single(choice("c", options))), key="value", place="'c'")


# --------------------------------------------------------------------------- bands


def bands_problems(bands):
    return problems(single(number("x", bands=bands)))


def test_first_band_with_min():
    bands = [{"min": 0, "max": 1, "score": 0}, {"min": 1, "score": 1}]
    find(bands_problems(bands), key="min", place="'x'")


def test_last_band_with_max():
    bands = [{"max": 1, "score": 0}, {"min": 1, "max": 5, "score": 1}]
    find(bands_problems(bands), key="max", place="'x'")


def test_band_gap():
    bands = [{"max": 1, "score": 0}, {"min": 2, "score": 1}]
    find(bands_problems(bands), key="min", place="'x'")


def test_band_overlap():
    bands = [{"max": 2, "score": 0}, {"min": 1, "score": 1}]
    find(bands_problems(bands), key="min", place="'x'")


@pytest.mark.parametrize("low, high", [(3, 3), (4, 3)])
def test_band_min_not_below_max(low, high):
    bands = [{"max": low, "score": 0}, {"min": low, "max": high, "score": 0.5}, {"min": high, "score": 1}]
    found = bands_problems(bands)
    assert any("'x'" in p.place and p.key in ("min", "max") for p in found)


def test_band_missing_min_or_max_in_the_middle():
    bands = [{"max": 1, "score": 0}, {"score": 0.5}, {"min": 2, "score": 1}]
    found = bands_problems(bands)
    assert any("'x'" in p.place and p.key in ("min", "max") for p in found)


@pytest.mark.parametrize("band_score", [-0.1, 1.5])
def test_band_score_out_of_range(band_score):
    bands = [{"max": 1, "score": band_score}, {"min": 1, "score": 1}]
    find(bands_problems(bands), key="score", place="'x'")


def test_band_without_score():
    find(bands_problems([{"max": 1}, {"min": 1, "score": 1}]), key="score", place="'x'")


def test_computed_bands_are_checked_too():
    data = single(number("a"), computed("k", "a * 2", bands=[{"min": 0, "max": 1, "score": 0}, {"min": 1, "score": 1}]))
    find(problems(data), key="min", place="'k'")


def test_single_open_band_is_valid():
    assert load(single(number("x", bands=[{"score": 0.5}]))).questions[0].bands


# --------------------------------------------------------------------------- types and their keys


@pytest.mark.parametrize("qtype", ["boolean", "select_one", "Yes_No", "", 3])
def test_unknown_type(qtype):
    find(problems(single({"id": "q", "text": "?", "type": qtype})), key="type", place="'q'")


@pytest.mark.parametrize(
    "question, key",
    [
        (yes_no("q", options=[{"value": "a", "label": "A"}]), "options"),
        (yes_no("q", bands=BANDS), "bands"),
        (choice("q", {"a": 1}, good="yes"), "good"),
        (choice("q", {"a": 1}, bands=BANDS), "bands"),
        (multi("q", {"a": 1}, formula="1 + 1"), "formula"),
        (number("q", options=[{"value": "a", "label": "A"}]), "options"),
        (number("q", formula="1 + 1"), "formula"),
        (computed("q", "1 + 1", min=0), "min"),
        (computed("q", "1 + 1", integer=True), "integer"),
        (text("q", bands=BANDS), "bands"),
        (text("q", good="no"), "good"),
        (date("q", min=0), "min"),
        (date("q", options=[{"value": "a", "label": "A"}]), "options"),
    ],
)
def test_keys_of_another_type_are_refused(question, key):
    find(problems(single(question)), key=key, place="'q'")


def test_unknown_keys_are_refused():
    data = good()
    question_of(data, "capacita")["peso"] = 2
    find(problems(data), key="peso", place="capacita")


def test_question_defaults():
    questionnaire = load(good())
    by_id = {q.id: q for q in questionnaire.questions}
    for qid in ("activo", "balance", "asamblea", "servicios"):
        assert by_id[qid].required is True
    for qid in ("comentario", "fecha", "razon"):
        assert by_id[qid].required is False
    assert all(q.weight == 1 and q.na is False for q in questionnaire.questions)
    assert by_id["balance"].critical is True and by_id["activo"].critical is False
    assert by_id["capacita"].good == "yes" and by_id["mujeres"].good == "yes"


# --------------------------------------------------------------------------- expressions at load time


def test_unknown_id_in_relevant():
    data = single(yes_no("a"), yes_no("b", relevant="a and fantasma"))
    find(problems(data), key="relevant", place="'b'", message="fantasma")


def test_unknown_id_in_formula():
    data = single(number("a"), computed("k", "a + fantasma"))
    find(problems(data), key="formula", place="'k'", message="fantasma")


def test_unknown_id_in_selected():
    data = single(choice("a", {"x": 1}), yes_no("b", relevant="selected(fantasma, 'x')"))
    find(problems(data), key="relevant", place="'b'", message="fantasma")


def test_forward_reference_in_relevant():
    data = single(yes_no("a", relevant="b"), yes_no("b"))
    find(problems(data), key="relevant", place="'a'", message="b")


def test_forward_reference_across_subcategories_and_dimensions():
    data = doc(
        dim("d1", sub("s1", yes_no("a", relevant="selected(c, 'x')"))),
        dim("d2", sub("s2", choice("c", {"x": 1}))),
    )
    find(problems(data), key="relevant", place="'a'")


def test_backward_reference_across_dimensions_is_fine():
    data = doc(
        dim("d1", sub("s1", choice("c", {"x": 1, "y": 0}))),
        dim("d2", sub("s2", yes_no("a", relevant="selected(c, 'x')"))),
    )
    questionnaire = load(data)
    assert status(run(questionnaire, {"c": "y"}), "a") == "not_relevant"
    assert status(run(questionnaire, {"c": "x"}), "a") == "unanswered"


def test_self_reference_in_relevant():
    find(problems(single(yes_no("a", relevant="a == true"))), key="relevant", place="'a'")


@pytest.mark.parametrize("target", [yes_no("t"), number("t"), text("t"), date("t"), computed("t", "1 + 1")])
def test_selected_on_a_non_choice_question(target):
    data = single(target, yes_no("b", relevant="selected(t, 'x')"))
    find(problems(data), key="relevant", place="'b'", message="t")


@pytest.mark.parametrize("target", [yes_no("t"), text("t"), date("t"), choice("t", {"x": 1}), multi("t", {"x": 1})])
def test_formula_naming_a_question_that_is_not_a_number(target):
    data = single(target, computed("k", "t + 1"))
    find(problems(data), key="formula", place="'k'", message="t")


@pytest.mark.parametrize(
    "formula", ["a > 1", "a == 1 and a < 3", "not a", "selected(c, 'x')", "'texto'", "true", "a + 'b'"]
)
def test_formula_must_be_arithmetic(formula):
    data = single(number("a"), choice("c", {"x": 1}), computed("k", formula))
    find(problems(data), key="formula", place="'k'")


def test_formula_self_cycle():
    find(problems(single(computed("k", "k + 1"))), key="formula", place="'k'")


def test_formula_direct_cycle():
    found = problems(single(computed("a", "b + 1"), computed("b", "a * 2")))
    assert any(p.key == "formula" and ("'a'" in p.place or "'b'" in p.place) for p in found)


def test_formula_indirect_cycle():
    data = single(number("x"), computed("a", "b + x"), computed("b", "c * 2"), computed("c", "a - 1"))
    found = problems(data)
    problem = next(p for p in found if p.key == "formula")
    assert any(f"'{q}'" in problem.place for q in "abc")
    assert all(q in str(problem) for q in "abc")


def test_cycle_through_a_formula_and_a_relevant_condition_is_refused():
    # k needs n's value; n's relevance needs k's value: the file could not be scored
    data = single(computed("k", "n * 2", bands=BANDS), number("n", relevant="k > 0"))
    found = problems(data)
    assert any(p.key in ("formula", "relevant") and ("'k'" in p.place or "'n'" in p.place) for p in found)


def test_formula_chain_without_cycle_loads():
    load(single(computed("a", "b + 1"), computed("b", "c * 2"), number("c")))


@pytest.mark.parametrize(
    "expression, position",
    [
        ("a ==", 5),  # ends too early (1-based position just past the end)
        ("a = true", 3),  # single '='
        ("(a == true", 11),  # unclosed parenthesis
        ("a == true)", 10),  # stray ')'
        ("a == 'abc", 6),  # unterminated string
        ("a @ b", 3),  # unknown character
        ("a b", 3),
        ("", 1),
    ],
)
def test_syntax_errors_name_their_position(expression, position):
    data = single(yes_no("a"), yes_no("b"), yes_no("q", relevant=expression))
    found = problems(data)
    problem = find(found, key="relevant", place="'q'")
    # the message gives the position (1-based character offset) of the error
    assert str(position) in problem.message, problem.message


def test_syntax_error_in_formula_names_its_position():
    data = single(number("a"), computed("k", "a + * 2"))
    problem = find(problems(data), key="formula", place="'k'")
    assert "5" in problem.message


# --------------------------------------------------------------------------- every problem at once


def test_all_problems_are_listed_at_once():
    data = good()
    data["dimensions"][1]["weight"] = 0  # 1: dimension weight
    question_of(data, "comentario")["id"] = "Comentario"  # 2: bad question id
    question_of(data, "asamblea")["options"][1]["value"] = "ns"  # 3: reserved option value
    question_of(data, "capacita")["type"] = "booleano"  # 4: unknown type
    data["dimensions"][0]["subcategories"][0]["thresholds"] = {"green": 0.4, "red": 0.6}  # 5: red > green
    found = problems(data)
    assert len(found) == 5, [str(p) for p in found]
    find(found, key="weight", place="principios")
    find(found, key="id", place="socios")
    find(found, key="value", place="asamblea")
    find(found, key="type", place="capacita")
    assert any("finanzas" in p.place and "gestion" in p.place for p in found)


def test_five_distinct_problems_are_five_problems():
    data = doc(
        dim("d1", sub("s1", yes_no("a", weight=-1), choice("c", {"a": 1, "a2": 7}))),
        dim(
            "d2",
            sub("s2", yes_no("b", relevant="zzz"), computed("k", "k + 1"), number("x", bands=[{"min": 0, "score": 1}])),
        ),
    )
    found = problems(data)
    assert len(found) == 5, [str(p) for p in found]
    find(found, key="weight", place="'a'")
    find(found, key="score", place="'c'")
    find(found, key="relevant", place="'b'")
    find(found, key="formula", place="'k'")
    find(found, key="min", place="'x'")


# --------------------------------------------------------------------------- YAML and JSON text

YAML_GOOD_NO = """\
id: prueba
version: "1"
title: Prueba
dimensions:
  - id: d
    title: D
    subcategories:
      - id: s
        title: S
        questions:
          - id: deuda_vencida
            text: ¿Tiene deudas vencidas?
            type: yes_no
            good: {good}
            critical: {critical}
            na: {na}
"""


@pytest.mark.parametrize("spelling", ["no", "No", "false", "'no'", '"no"'])
def test_yaml_good_no_in_every_spelling(spelling):
    questionnaire = load_text(YAML_GOOD_NO.format(good=spelling, critical="false", na="false"))
    assert questionnaire.questions[0].good == "no"
    result = run(questionnaire, {"deuda_vencida": False})
    assert result.overall.score == 1.0
    assert run(questionnaire, {"deuda_vencida": True}).overall.score == 0.0


@pytest.mark.parametrize("spelling", ["yes", "Yes", "true", "'yes'"])
def test_yaml_good_yes_in_every_spelling(spelling):
    questionnaire = load_text(YAML_GOOD_NO.format(good=spelling, critical="false", na="false"))
    assert questionnaire.questions[0].good == "yes"
    assert run(questionnaire, {"deuda_vencida": True}).overall.score == 1.0


def test_good_as_python_booleans_and_strings():
    assert load(single(yes_no("a", good=False))).questions[0].good == "no"
    assert load(single(yes_no("a", good="no"))).questions[0].good == "no"
    assert load(single(yes_no("a", good=True))).questions[0].good == "yes"
    assert load(single(yes_no("a", good="yes"))).questions[0].good == "yes"


@pytest.mark.parametrize("bad", ["maybe", 3, "bueno"])
def test_good_other_values_are_refused(bad):
    find(problems(single(yes_no("a", good=bad))), key="good", place="'a'")


@pytest.mark.parametrize("word, expected", [("true", True), ("yes", True), ("false", False), ("no", False)])
def test_yaml_booleans_true_and_yes(word, expected):
    questionnaire = load_text(YAML_GOOD_NO.format(good="yes", critical=word, na=word))
    question = questionnaire.questions[0]
    assert question.critical is expected
    assert question.na is expected


def test_boolean_keys_refuse_other_values():
    find(problems(single(yes_no("a", critical="a veces"))), key="critical", place="'a'")


def test_yaml_option_value_no_is_a_string():
    source = """\
id: prueba
version: "1"
title: Prueba
dimensions:
  - id: d
    title: D
    subcategories:
      - id: s
        title: S
        questions:
          - id: c
            text: ¿?
            type: choice
            options:
              - {value: si, label: Sí, score: 1}
              - {value: no, label: "No", score: 0}
          - id: d2
            text: ¿?
            type: yes_no
            relevant: c == 'no'
"""
    questionnaire = load_text(source)
    assert [o.value for o in questionnaire.questions[0].options] == ["si", "no"]
    assert status(run(questionnaire, {"c": "no"}), "d2") == "unanswered"


def test_json_text_is_accepted():
    data = good()
    questionnaire = load_text(json.dumps(data, ensure_ascii=False))
    assert [q.id for q in questionnaire.questions] == [q.id for q in load(data).questions]
    assert load_text(json.dumps(data, indent=2)).id == "prueba"


def test_broken_yaml_is_a_questionnaire_error():
    found = text_problems("id: prueba\n  title: [sin cerrar\n")
    assert len(found) >= 1
    assert "prueba.yaml" in str(found[0])


@pytest.mark.parametrize("content", ["", "- a\n- b\n", "solo texto", "42"])
def test_a_file_that_is_not_a_mapping_is_a_questionnaire_error(content):
    text_problems(content)


def test_loaded_questionnaire_is_not_modified_by_later_changes_to_data():
    data = good()
    snapshot = copy.deepcopy(data)
    load(data)
    assert data == snapshot


def test_unquoted_version_does_not_silently_change():
    source = """\
id: prueba
version: 2026.10
title: Prueba
dimensions:
  - id: d
    title: D
    subcategories:
      - id: s
        title: S
        questions:
          - {id: a, text: A, type: yes_no}
"""
    try:
        questionnaire = load_text(source)
    except QuestionnaireError as error:
        assert any(p.key == "version" for p in error.problems)
    else:
        assert questionnaire.version == "2026.10"
