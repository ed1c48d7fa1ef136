"""Hypothesis strategies for valid questionnaires (as raw dicts) and answer sets.

Everything generated is meant to be valid under
``shared/spec/questionnaire-format.md``:

* ids are unique slugs (``q0``, ``q1``... never an expression keyword);
* ``relevant`` expressions refer only to earlier questions (possibly
  computed ones whose formulas use later questions), never closing a cycle
  through formulas and relevance;
* formulas are arithmetic over ``number``/``computed`` questions (earlier or
  later in the file), acyclic, with at least one identifier, and often
  divide by something that can be zero;
* ``critical`` only on scored questions, ``na`` never on computed ones;
* answers respect types, options, bounds and ``integer``; ``na`` only where
  allowed; computed questions are never answered.

For scoring.md version 2 the answer sets are drawn per subcategory with a
profile (``ANSWER_PROFILES``), so some subcategories are mostly ``ns`` or
unanswered; critical questions are often answered ``ns`` or with a failing
value; and ``questionnaire_and_answers`` sometimes adds a dimension whose
light subcategory has a critical question and whose heavier ones are mostly
``ns`` (a critical-red dimension, often with coverage < 0.5 and a null score).
"""

from __future__ import annotations

import math

from hypothesis import strategies as st

TYPES = ["yes_no", "choice", "multi", "number", "computed", "text", "date"]
TYPE_WEIGHTS = [4, 4, 3, 4, 3, 1, 1]

WEIGHTS = st.sampled_from([1, 1, 1, 2, 3, 0.5, 1.5])
OPTION_SCORES = st.sampled_from([0, 0, 0.25, 0.5, 0.5, 0.75, 1, 1, 0.3, 0.6])
BAND_SCORES = st.sampled_from([0, 0.25, 0.5, 0.75, 1, 0.4])
SMALL_NUMBERS = st.one_of(st.integers(-3, 12), st.sampled_from([0.5, 1.5, 2.5, -0.5]))
TEXTS = ["", "abc", "x", "ns cooperativa", "Sí"]
DATES = ["2024-01-01", "2024-06-30", "2025-12-31", "2023-02-28"]
# Ordering comparisons between two strings (e.g. ISO dates): the spec does not
# say whether strings are ordered; the reference orders them by code point.
ORDER_STRINGS = True


@st.composite
def thresholds(draw) -> dict:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        red, green = 0.5, 0.8
    elif kind == 1:
        g = draw(st.sampled_from([0, 0.25, 0.5, 0.6, 0.75, 0.8, 0.9, 1]))
        red = green = g
    else:
        # values such as 0.3333 / 0.6667 sit on rounded weighted means (1/3, 2/3)
        a = draw(st.sampled_from([0, 0.2, 0.3, 0.3333, 0.4, 0.5, 0.55, 0.6]))
        b = draw(st.sampled_from([0.6, 0.65, 0.6666, 0.6667, 0.7, 0.75, 0.8, 0.9, 1]))
        red, green = min(a, b), max(a, b)
    return {"green": green, "red": red}


def _maybe_thresholds(draw) -> dict:
    return {"thresholds": draw(thresholds())} if draw(st.integers(0, 3)) == 0 else {}


@st.composite
def bands(draw) -> list[dict]:
    n = draw(st.integers(1, 4))
    cuts = sorted(draw(st.sets(st.sampled_from([-2, 0, 0.5, 1, 2, 3, 4, 5, 6, 8, 10]), min_size=n - 1, max_size=n - 1)))
    out = []
    for i in range(n):
        b: dict = {}
        if i > 0:
            b["min"] = cuts[i - 1]
        if i < n - 1:
            b["max"] = cuts[i]
        b["score"] = draw(BAND_SCORES)
        out.append(b)
    return out


@st.composite
def options(draw, scored: bool) -> list[dict]:
    n = draw(st.integers(1, 4))
    values = ["a", "b", "c", "d"][:n] if draw(st.booleans()) else ["si", "no", "parcial", "otro"][:n]
    out = []
    for v in values:
        o = {"value": v, "label": v.upper()}
        if scored:
            o["score"] = draw(OPTION_SCORES)
        out.append(o)
    return out


# --------------------------------------------------------------------------
# Expressions


def _num_lit(draw) -> str:
    return str(draw(st.sampled_from([0, 1, 2, 3, 5, 10, 0.5, 2.5])))


def _formula(draw, refs: list[str], depth: int = 0) -> str:
    """Arithmetic expression; refs is non-empty."""
    choice = draw(st.integers(0, 9)) if depth < 2 else draw(st.integers(0, 2))
    if choice <= 1:
        return draw(st.sampled_from(refs))
    if choice == 2:
        return _num_lit(draw)
    if choice == 3:
        return "-" + _formula(draw, refs, depth + 1)
    if choice == 4:
        # division that can hit zero
        a = _formula(draw, refs, depth + 1)
        b = draw(st.sampled_from(refs))
        k = draw(st.sampled_from([0, 1, 2, 3, 5]))
        return f"{a} / ({b} - {k})"
    op = draw(st.sampled_from(["+", "-", "*", "/"]))
    a = _formula(draw, refs, depth + 1)
    b = _formula(draw, refs, depth + 1)
    if draw(st.booleans()):
        return f"({a} {op} {b})"
    return f"{a} {op} {b}"


def _atom(draw, q: dict, others: list[dict]) -> str:
    """A boolean-ish condition about an earlier question q."""
    qid, t = q["id"], q["type"]
    if t == "yes_no":
        return draw(
            st.sampled_from(
                [
                    qid,
                    f"not {qid}",
                    f"{qid} == true",
                    f"{qid} != false",
                    f"{qid} == false",
                    f"{qid} == 1",
                    f"{qid} != 'yes'",
                    f"{qid} > false",
                    f"{qid} <= false",
                ]
            )
        )
    if t in ("choice", "multi"):
        v = draw(st.sampled_from([o["value"] for o in q["options"]]))
        forms = [f"selected({qid}, '{v}')", f'selected({qid}, "{v}")', f"not selected({qid}, '{v}')"]
        if t == "choice":
            forms += [f"{qid} == '{v}'", f"{qid} != '{v}'", f"{qid} == 1"]
        return draw(st.sampled_from(forms))
    if t in ("number", "computed"):
        op = draw(st.sampled_from(["<", "<=", ">", ">=", "==", "!="]))
        k = _num_lit(draw)
        nums = [o["id"] for o in others if o["type"] in ("number", "computed")]
        if nums and draw(st.integers(0, 3)) == 0:
            other = draw(st.sampled_from(nums))
            aop = draw(st.sampled_from(["+", "-", "*", "/"]))
            return f"{qid} {aop} {other} {op} {k}"
        odd = draw(st.integers(0, 9))
        if odd == 0:
            return f"{qid} == 'x'"
        if odd == 1:
            return f"{qid} != true"
        if odd == 2:
            return f"{qid} < 'x'"  # ordering between kinds: missing
        return f"{qid} {op} {k}" if draw(st.booleans()) else f"{k} {op} {qid}"
    if t == "text":
        v = draw(st.sampled_from(TEXTS))
        return draw(st.sampled_from([f"{qid} == '{v}'", f"{qid} != '{v}'"]))
    if t == "date":
        v = draw(st.sampled_from(DATES))
        forms = [f"{qid} == '{v}'", f"{qid} != '{v}'"]
        if ORDER_STRINGS:
            forms += [f"{qid} < '{v}'", f"{qid} >= '{v}'"]
        return draw(st.sampled_from(forms))
    raise AssertionError(t)


def _condition(draw, refs: list[dict], depth: int = 0) -> str:
    if not refs:
        return draw(st.sampled_from(["true", "false", "1 < 2", "not false"]))
    choice = draw(st.integers(0, 7)) if depth < 2 else 0
    if choice <= 3:
        return _atom(draw, draw(st.sampled_from(refs)), refs)
    if choice == 4:
        return "not (" + _condition(draw, refs, depth + 1) + ")"
    if choice == 5:
        return (
            draw(st.sampled_from(["true", "false"]))
            + " "
            + draw(st.sampled_from(["and", "or"]))
            + " "
            + _condition(draw, refs, depth + 1)
        )
    op = draw(st.sampled_from(["and", "or"]))
    a = _condition(draw, refs, depth + 1)
    b = _condition(draw, refs, depth + 1)
    if draw(st.booleans()):
        return f"({a}) {op} ({b})"
    return f"{a} {op} {b}"


def _refs_in(expr: str, ids: set[str]) -> set[str]:
    import re

    return {w for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", expr) if w in ids}


# --------------------------------------------------------------------------
# Questionnaires


@st.composite
def questionnaires(draw) -> dict:
    # Phase 1: shape and types.
    shape = draw(st.lists(st.lists(st.integers(1, 5), min_size=1, max_size=3), min_size=1, max_size=3))
    flat_types: list[str] = []
    for dim in shape:
        for nq in dim:
            for _ in range(nq):
                flat_types.append(draw(st.sampled_from(sum(([t] * w for t, w in zip(TYPES, TYPE_WEIGHTS)), []))))
    n = len(flat_types)
    ids = [f"q{i}" for i in range(n)]
    # computed questions get a random rank; a formula may use number questions
    # and computed questions of lower rank (acyclic).
    comp_idx = [i for i, t in enumerate(flat_types) if t == "computed"]
    ranks = draw(st.permutations(comp_idx)) if comp_idx else []
    rank = {i: r for r, i in enumerate(ranks)}
    for i in sorted(comp_idx, key=lambda i: rank[i]):
        eligible = [j for j, t in enumerate(flat_types) if t == "number" or (t == "computed" and rank[j] < rank[i])]
        if not eligible:
            flat_types[i] = "number"
    # Phase 2: details.
    qs: list[dict] = []
    for i, t in enumerate(flat_types):
        q: dict = {"id": ids[i], "text": f"Pregunta {i}?", "type": t}
        if draw(st.integers(0, 2)) == 0:
            q["weight"] = draw(WEIGHTS)
        if t == "yes_no":
            g = draw(st.sampled_from([None, "yes", "no", True, False]))
            if g is not None:
                q["good"] = g
        elif t in ("choice", "multi"):
            scored = draw(st.integers(0, 4)) > 0
            q["options"] = draw(options(scored))
        elif t == "number":
            if draw(st.booleans()):
                q["integer"] = True
            if draw(st.integers(0, 2)) == 0:
                q["min"] = draw(st.sampled_from([-3, 0, 1]))
            if draw(st.integers(0, 2)) == 0:
                q["max"] = draw(st.sampled_from([4, 10, 12]))
            if draw(st.integers(0, 3)) > 0:
                q["bands"] = draw(bands())
            if draw(st.booleans()):
                q["unit"] = "ha"
        elif t == "computed" and draw(st.integers(0, 3)) > 0:
            q["bands"] = draw(bands())
        qs.append(q)
    for i, t in enumerate(flat_types):
        if t == "computed":
            refs = [
                ids[j] for j, tj in enumerate(flat_types) if tj == "number" or (tj == "computed" and rank[j] < rank[i])
            ]
            f = _formula(draw, refs)
            if not _refs_in(f, set(refs)):
                f = f"{draw(st.sampled_from(refs))} + {f}"
            qs[i]["formula"] = f
    from reference_scorer import is_scored_question

    for q in qs:
        scored = is_scored_question(q)
        if scored and draw(st.integers(0, 2)) == 0:
            q["critical"] = True
        if q["type"] != "computed" and draw(st.integers(0, 3)) == 0:
            q["na"] = True
    # Relevance, in file order, avoiding cycles through formulas.
    deps: dict[int, set[int]] = {i: set() for i in range(n)}  # direct deps of value(i)
    id_index = {qid: i for i, qid in enumerate(ids)}
    for i, q in enumerate(qs):
        if q["type"] == "computed":
            deps[i] |= {id_index[r] for r in _refs_in(q["formula"], set(ids))}

    def closure_ok(j: int, i: int) -> bool:
        """Adding the edge i -> j keeps the dependency graph acyclic."""
        seen, stack = set(), [j]
        while stack:
            k = stack.pop()
            if k in seen:
                continue
            if k == i:
                return False
            seen.add(k)
            stack.extend(deps[k])
        return True

    for i, q in enumerate(qs):
        if draw(st.integers(0, 2)) == 0:
            allowed = [qs[j] for j in range(i) if closure_ok(j, i)]
            cond = _condition(draw, allowed)
            q["relevant"] = cond
            deps[i] |= {id_index[r] for r in _refs_in(cond, set(ids))}
    # Phase 3: assemble.
    dims = []
    k = 0
    sub_no = 0
    for di, dim in enumerate(shape):
        subs = []
        for nq in dim:
            s = {"id": f"s{sub_no}-x", "title": f"Sub {sub_no}", "questions": qs[k : k + nq]}
            if draw(st.integers(0, 2)) == 0:
                s["weight"] = draw(WEIGHTS)
            s.update(_maybe_thresholds(draw))
            subs.append(s)
            k += nq
            sub_no += 1
        d = {"id": f"d{di}", "title": f"Dim {di}", "subcategories": subs}
        if draw(st.integers(0, 2)) == 0:
            d["weight"] = draw(WEIGHTS)
        d.update(_maybe_thresholds(draw))
        dims.append(d)
    data = {"id": "gen-q", "version": "2026.1", "title": "Generado", "dimensions": dims}
    data.update(_maybe_thresholds(draw))
    return data


def all_questions(data: dict) -> list[dict]:
    return [q for d in data["dimensions"] for s in d["subcategories"] for q in s["questions"]]


def _valid_value(draw, q: dict):
    t = q["type"]
    if t == "yes_no":
        return draw(st.booleans())
    if t == "choice":
        return draw(st.sampled_from([o["value"] for o in q["options"]]))
    if t == "multi":
        vals = [o["value"] for o in q["options"]]
        return draw(st.lists(st.sampled_from(vals), unique=True, max_size=len(vals)))
    if t == "number":
        lo = q.get("min", -3)
        hi = q.get("max", max(12, lo + 15))
        if q.get("integer"):
            lo, hi = math.ceil(lo), math.floor(hi)
        if q.get("integer"):
            return draw(st.integers(lo, hi))
        # halves drawn lazily: bounds may be huge (amounts up to 10**13 pesos)
        halves = st.integers(math.ceil(2 * lo), math.floor(2 * hi)).map(lambda x: x / 2)
        return draw(st.one_of(st.integers(math.ceil(lo), math.floor(hi)), halves))
    if t == "text":
        return draw(st.sampled_from(TEXTS))
    if t == "date":
        return draw(st.sampled_from(DATES))
    raise AssertionError(t)


# How often each kind of answer is drawn, by a per-subcategory profile: most
# subcategories are answered in the ordinary way, some are mostly "ns" or
# unanswered (so that subcategories, dimensions and the overall result come
# out insufficient_data, and dimensions mix lit and unlit subcategories).
ANSWER_PROFILES = {
    "full": ["value"] * 8 + ["ns", "absent"],
    "mixed": ["value"] * 6 + ["absent", "absent", "null", "ns"],
    "sparse": ["value"] * 2 + ["absent", "null", "ns", "ns", "ns"],
    "ns": ["ns"] * 4 + ["value"],
}
PROFILE_CHOICES = ["full", "full", "mixed", "mixed", "mixed", "sparse", "ns"]


def _bad_value(draw, q: dict):
    """An answer scoring 0 when the type makes one easy to find, else any valid value."""
    t = q["type"]
    if t == "yes_no":
        good = q.get("good", "yes")
        return not (good is True or good == "yes")
    if t == "choice":
        zero = [o["value"] for o in q["options"] if o.get("score") == 0]
        if zero:
            return draw(st.sampled_from(zero))
    if t == "multi" and any("score" in o for o in q["options"]):
        return []
    return _valid_value(draw, q)


@st.composite
def answers_for(draw, data: dict) -> dict:
    out = {}
    for d in data["dimensions"]:
        for s in d["subcategories"]:
            kinds_base = ANSWER_PROFILES[draw(st.sampled_from(PROFILE_CHOICES))]
            for q in s["questions"]:
                if q["type"] == "computed":
                    continue
                kinds = kinds_base + (["na"] if q.get("na") else [])
                if q.get("critical"):
                    # critical questions: often a failure, often unknown
                    kinds = kinds + ["ns", "ns", "bad", "bad"]
                kind = draw(st.sampled_from(kinds))
                if kind == "value":
                    out[q["id"]] = _valid_value(draw, q)
                elif kind == "bad":
                    out[q["id"]] = _bad_value(draw, q)
                elif kind == "null":
                    out[q["id"]] = None
                elif kind in ("ns", "na"):
                    out[q["id"]] = kind
    return out


@st.composite
def _critical_dimension(draw, data: dict) -> tuple[dict, dict]:
    """A copy of ``data`` with one more dimension, at a random place, whose
    light subcategory has a critical question (often failed, sometimes
    unknown) and whose heavier subcategories are mostly ``ns``/unanswered:
    the dimension is critical-red, often with coverage < 0.5 and so a null
    score, next to ordinary dimensions.  Returns (questionnaire, answers for
    the added questions)."""
    answers: dict = {}
    k = 0

    def new_q(qtype: str = "yes_no", **kw) -> dict:
        nonlocal k
        q = {"id": f"k{k}", "text": f"Crítica {k}?", "type": qtype, **kw}
        k += 1
        return q

    crit_good = draw(st.sampled_from(["yes", "no", True, False]))
    good_answer = crit_good is True or crit_good == "yes"
    first = new_q(critical=True, good=crit_good, weight=draw(WEIGHTS))
    crit_sub = {"id": "sk0-x", "title": "Crítica", "weight": draw(st.sampled_from([0.5, 1, 1])), "questions": [first]}
    # mostly a critical failure, sometimes a critical unknown or a pass
    answers[first["id"]] = draw(st.sampled_from([not good_answer] * 3 + ["ns", good_answer]))
    for _ in range(draw(st.integers(0, 2))):
        q = new_q(critical=draw(st.booleans()))
        crit_sub["questions"].append(q)
        answers[q["id"]] = draw(st.sampled_from([True, False, "ns", None]))
    subs = [crit_sub]
    for j in range(draw(st.integers(1, 2))):
        qs = [new_q() for _ in range(draw(st.integers(1, 3)))]
        for q in qs:
            answers[q["id"]] = draw(st.sampled_from(["ns", "ns", "absent", None, True, False]))
        subs.append(
            {
                "id": f"sk{j + 1}-x",
                "title": "Poco sabida",
                "weight": draw(st.sampled_from([1, 1.5, 2, 3])),
                "questions": qs,
            }
        )
    answers = {qid: a for qid, a in answers.items() if a != "absent"}
    dim = {"id": "dk", "title": "Dim crítica", "subcategories": subs}
    if draw(st.booleans()):
        dim["weight"] = draw(WEIGHTS)
    dim.update(_maybe_thresholds(draw))
    out = dict(data)
    dims = list(data["dimensions"])
    dims.insert(draw(st.integers(0, len(dims))), dim)
    out["dimensions"] = dims
    return out, answers


@st.composite
def questionnaire_and_answers(draw):
    data = draw(questionnaires())
    extra: dict = {}
    if draw(st.integers(0, 3)) == 0:
        data, extra = draw(_critical_dimension(data))
    answers = {qid: a for qid, a in draw(answers_for(data)).items() if not qid.startswith("k")}
    answers.update(extra)  # the added questions get the answers drawn for them (absent ones stay absent)
    return data, answers
