"""Independent reference implementation of ``shared/spec/scoring.md`` (version 2).

Deliberately small and straightforward: it works on the raw questionnaire
dict (parsed YAML/JSON) and the raw answer dict, shares no code with
``scoring/`` and is used by ``tests/test_differential.py`` to check the
real engine.  It assumes both inputs are valid (the loader and the answer
validator are not re-implemented here).

Readings of the spec where it is silent or ambiguous (each is marked
``READING`` where it is implemented):

R1  ``unanswered`` row for computed questions, read literally: the formula
    is missing and some question *named directly* in the formula (not
    transitively) is relevant and has no answer, i.e. its key is absent or
    ``null`` in the answer set.  A computed question is never answered, so a
    relevant computed question named in a formula always "has no answer"
    (switch: ``NAMED_COMPUTED_HAS_NO_ANSWER``).  ``na``/``ns`` answers are
    answers, so they lead to ``undefined`` (version 2 keeps this: its
    ``undefined`` row still names inputs ``ns``, even though an ``ns``
    question itself counts in coverage as not answered).
R2  The first ``unanswered`` clause ("relevant, scored, no answer") applies
    to answerable questions only; a computed question gets ``unanswered``,
    ``undefined`` or ``scored`` from its formula.
R3  An identifier of a question that is relevant and answered stands for:
    yes_no -> boolean, number -> number, choice/text/date -> string,
    multi -> list of strings.  A computed question is missing when it is not
    relevant or its formula is missing.
R4  Ordering between two strings is lexicographic (code points); between two
    booleans false < true; lists are not comparable (missing) and ``==``
    between a list and anything is false unless both are equal lists.
R5  Arithmetic on a non-number operand (e.g. a boolean, a string) is missing;
    a non-finite result is missing.  ``and``/``or``/``not`` treat a
    non-boolean operand as missing.  ``selected`` on a yes_no/number answer
    is false.
R6  Number literals are ``digits`` or ``digits.digits`` (no exponent, no
    leading dot).  ``and or not true false selected`` are keywords, never
    identifiers.
R7  Coverage thresholds (``< 0.5``) are compared on the unrounded fraction;
    only scores are rounded (to 4 decimals) for the light.
R8  Rounding uses Python's ``round`` (correctly rounded, ties to even on the
    exact binary value): e.g. 0.5625 -> 56.2.  Switch: ``ROUND_HALF_UP``.
R9  A partial threshold override (only ``green`` or only ``red``) takes the
    other value from the parent (the spec says "same form", so the valid
    files the tests generate always give both).
R10 In a critical-red subcategory the score is still output (it is not
    ``insufficient_data``).  A critical failure is a *scored* question, so a
    critical-red subcategory always has answered weight and a score.
R11 (version 2; replaces v1's "``ns`` scores 0") An ``ns`` answer to a
    relevant scored question has status ``ns`` and output score ``null``; it
    adds its weight to A only.  A critical ``ns`` is never a critical failure.
    ``critical_unknown`` lists, in file order, the critical questions whose
    *status* is ``ns`` (so an ``ns`` on a not-relevant critical question is not
    listed), whatever the subcategory's light; it is present (possibly empty)
    on every subcategory, like ``critical_failures``.
R12 Order of the subcategory rules: critical failures -> ``red`` (critical
    unknowns are still listed); else coverage < 0.5 -> ``insufficient_data``
    (a critical unknown does not change that: it only stops a *green*);
    else the light from the thresholds, and a ``green`` with at least one
    critical unknown becomes ``yellow``.  The score is unchanged by the
    downgrade.
R13 Roll-up (dimension and overall): "children with a light" are the
    ``green``/``yellow``/``red`` ones.  When coverage < 0.5 the parent is
    ``insufficient_data`` with a null score even if a child is red (for a
    dimension R14 then applies; the overall result just stays
    ``insufficient_data``, which is not green).  When no lit child has a
    score, the parent's score is null and its light is ``red`` if a lit child
    is red, otherwise ``insufficient_data``; the coverage is still output.
    The cap rule turns a green computed from the score into yellow when any
    (non-``not_applicable``) child is red.
R14 Dimension critical rule: a dimension with at least one subcategory whose
    ``critical_failures`` list is non-empty is ``red``.  "Its score is still
    reported" is read as: the score and coverage exactly as §3 computes them
    without the critical rule, so the score is *null* when the dimension's
    coverage is < 0.5 (or no lit subcategory has a score).  At the overall
    level such a dimension is a red child that counts in coverage and, with a
    null score, not in the mean.  Critical unknowns do not make a dimension
    red.  The overall result has no critical rule of its own (only the cap).
R15 ``"method": 2`` is the integer 2, the first key of the output object.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP as _DEC_HALF_UP
from decimal import Decimal

# --------------------------------------------------------------------------
# Switches for the ambiguous readings (defaults are the readings above).
NAMED_COMPUTED_HAS_NO_ANSWER = True
ROUND_HALF_UP = False

METHOD = 2  # scoring.md "Version 2"
DEFAULT_THRESHOLDS = {"green": 0.80, "red": 0.50}
LIGHTS = ("green", "yellow", "red")


class _Missing:
    """The *missing* value of the three-valued expression language."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:  # guard against accidental truthiness use
        raise TypeError("MISSING has no truth value")


MISSING = _Missing()


class ExpressionError(ValueError):
    pass


# --------------------------------------------------------------------------
# Tokenizer

KEYWORDS = {"and", "or", "not", "true", "false", "selected"}
TWO_CHAR_OPS = ("==", "!=", "<=", ">=")
ONE_CHAR_OPS = "<>+-*/(),"


def tokenize(text: str) -> list[tuple[str, object]]:
    """Return a list of (kind, value); kinds: num, str, name, kw, op, end."""
    tokens: list[tuple[str, object]] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c in " \t\r\n":
            i += 1
            continue
        if c.isdigit():
            j = i
            while j < n and text[j].isdigit():
                j += 1
            if j < n and text[j] == "." and j + 1 < n and text[j + 1].isdigit():
                j += 1
                while j < n and text[j].isdigit():
                    j += 1
                tokens.append(("num", float(text[i:j])))
            else:
                tokens.append(("num", int(text[i:j])))
            i = j
            continue
        if c in "'\"":
            j = text.find(c, i + 1)
            if j < 0:
                raise ExpressionError(f"unterminated string in {text!r}")
            tokens.append(("str", text[i + 1 : j]))
            i = j + 1
            continue
        if c.isalpha() or c == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            word = text[i:j]
            tokens.append(("kw" if word in KEYWORDS else "name", word))
            i = j
            continue
        if text[i : i + 2] in TWO_CHAR_OPS:
            tokens.append(("op", text[i : i + 2]))
            i += 2
            continue
        if c in ONE_CHAR_OPS:
            tokens.append(("op", c))
            i += 1
            continue
        raise ExpressionError(f"unexpected character {c!r} in {text!r}")
    tokens.append(("end", None))
    return tokens


# --------------------------------------------------------------------------
# Recursive-descent parser.  AST nodes are tuples:
#   ("lit", value) ("id", name) ("sel", name, value) ("neg", e)
#   ("arith", op, l, r) ("cmp", op, l, r) ("and", l, r) ("or", l, r) ("not", e)

COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0

    def peek(self) -> tuple[str, object]:
        return self.tokens[self.pos]

    def take(self) -> tuple[str, object]:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def accept(self, kind: str, value: object) -> bool:
        if self.peek() == (kind, value):
            self.pos += 1
            return True
        return False

    def expect(self, kind: str, value: object = None) -> object:
        tok = self.take()
        if tok[0] != kind or (value is not None and tok[1] != value):
            raise ExpressionError(f"expected {value or kind} in {self.text!r}, got {tok}")
        return tok[1]

    def parse(self):
        node = self.or_expr()
        if self.peek()[0] != "end":
            raise ExpressionError(f"trailing input in {self.text!r}")
        return node

    def or_expr(self):
        node = self.and_expr()
        while self.accept("kw", "or"):
            node = ("or", node, self.and_expr())
        return node

    def and_expr(self):
        node = self.not_expr()
        while self.accept("kw", "and"):
            node = ("and", node, self.not_expr())
        return node

    def not_expr(self):
        if self.accept("kw", "not"):
            return ("not", self.not_expr())
        return self.comparison()

    def comparison(self):
        node = self.additive()
        tok = self.peek()
        if tok[0] == "op" and tok[1] in COMPARISONS:
            self.take()
            node = ("cmp", tok[1], node, self.additive())
            nxt = self.peek()
            if nxt[0] == "op" and nxt[1] in COMPARISONS:
                raise ExpressionError(f"chained comparison in {self.text!r}")
        return node

    def additive(self):
        node = self.multiplicative()
        while self.peek()[0] == "op" and self.peek()[1] in ("+", "-"):
            op = self.take()[1]
            node = ("arith", op, node, self.multiplicative())
        return node

    def multiplicative(self):
        node = self.unary()
        while self.peek()[0] == "op" and self.peek()[1] in ("*", "/"):
            op = self.take()[1]
            node = ("arith", op, node, self.unary())
        return node

    def unary(self):
        if self.accept("op", "-"):
            return ("neg", self.unary())
        return self.primary()

    def primary(self):
        kind, value = self.take()
        if kind in ("num", "str"):
            return ("lit", value)
        if kind == "kw" and value in ("true", "false"):
            return ("lit", value == "true")
        if kind == "kw" and value == "selected":
            self.expect("op", "(")
            name = self.expect("name")
            self.expect("op", ",")
            option = self.expect("str")
            self.expect("op", ")")
            return ("sel", name, option)
        if kind == "name":
            return ("id", value)
        if (kind, value) == ("op", "("):
            node = self.or_expr()
            self.expect("op", ")")
            return node
        raise ExpressionError(f"unexpected {value!r} in {self.text!r}")


def parse(text: str):
    return _Parser(text).parse()


def names_in(node) -> list[str]:
    """Identifiers named directly in an expression (incl. inside selected)."""
    out: list[str] = []

    def walk(n):
        tag = n[0]
        if tag == "id" or tag == "sel":
            out.append(n[1])
        elif tag in ("neg", "not"):
            walk(n[1])
        elif tag in ("and", "or"):
            walk(n[1])
            walk(n[2])
        elif tag in ("arith", "cmp"):
            walk(n[2])
            walk(n[3])

    walk(node)
    return out


# --------------------------------------------------------------------------
# Evaluation (three-valued)


def kind_of(v: object) -> str:
    # bool first: Python's bool is an int subclass but is not a number here.
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "list"
    raise TypeError(f"unexpected value {v!r}")


def _as_logic(v: object) -> object:
    # READING R5: a non-boolean operand of and/or/not counts as missing.
    if v is MISSING or isinstance(v, bool):
        return v
    return MISSING


def evaluate(node, lookup) -> object:
    """Evaluate an AST; ``lookup(name)`` gives a value or MISSING."""
    tag = node[0]
    if tag == "lit":
        return node[1]
    if tag == "id":
        return lookup(node[1])
    if tag == "sel":
        v = lookup(node[1])
        if v is MISSING:
            return False
        if isinstance(v, list):
            return node[2] in v
        if isinstance(v, str):
            return v == node[2]
        return False  # READING R5
    if tag == "neg":
        v = evaluate(node[1], lookup)
        if v is MISSING or kind_of(v) != "number":
            return MISSING
        return -v
    if tag == "arith":
        a = evaluate(node[2], lookup)
        b = evaluate(node[3], lookup)
        if a is MISSING or b is MISSING:
            return MISSING
        if kind_of(a) != "number" or kind_of(b) != "number":
            return MISSING  # READING R5
        op = node[1]
        if op == "+":
            r = a + b
        elif op == "-":
            r = a - b
        elif op == "*":
            r = a * b
        else:
            if b == 0:
                return MISSING
            r = a / b
        if isinstance(r, float) and not math.isfinite(r):
            return MISSING
        return r
    if tag == "cmp":
        a = evaluate(node[2], lookup)
        b = evaluate(node[3], lookup)
        if a is MISSING or b is MISSING:
            return MISSING
        op = node[1]
        same = kind_of(a) == kind_of(b)
        if op == "==":
            return same and a == b
        if op == "!=":
            return not (same and a == b)
        if not same or kind_of(a) == "list":
            return MISSING  # ordering between kinds (READING R4 for lists)
        if op == "<":
            return a < b
        if op == "<=":
            return a <= b
        if op == ">":
            return a > b
        return a >= b
    if tag == "not":
        v = _as_logic(evaluate(node[1], lookup))
        return MISSING if v is MISSING else (not v)
    if tag == "and":
        a = _as_logic(evaluate(node[1], lookup))
        b = _as_logic(evaluate(node[2], lookup))
        if a is False or b is False:
            return False
        if a is MISSING or b is MISSING:
            return MISSING
        return True
    if tag == "or":
        a = _as_logic(evaluate(node[1], lookup))
        b = _as_logic(evaluate(node[2], lookup))
        if a is True or b is True:
            return True
        if a is MISSING or b is MISSING:
            return MISSING
        return False
    raise AssertionError(node)


def eval_text(text: str, values: dict[str, object]) -> object:
    """Convenience for tests: evaluate with a plain dict (absent = MISSING)."""
    return evaluate(parse(text), lambda n: values.get(n, MISSING))


# --------------------------------------------------------------------------
# Questionnaire walking


def _thresholds(own: object, parent: dict) -> dict:
    if not own:
        return dict(parent)
    # READING R9: a partial override keeps the parent's other value.
    return {"green": own.get("green", parent["green"]), "red": own.get("red", parent["red"])}


def _good_is_yes(q: dict) -> bool:
    good = q.get("good", "yes")
    if good is True or good == "yes":
        return True
    if good is False or good == "no":
        return False
    raise ValueError(f"bad good {good!r}")


def is_scored_question(q: dict) -> bool:
    t = q["type"]
    if t == "yes_no":
        return True
    if t in ("choice", "multi"):
        return any("score" in o for o in q.get("options", []))
    if t in ("number", "computed"):
        return bool(q.get("bands"))
    return False


def band_score(bands: list[dict], x: float) -> float:
    for b in bands:
        lo = b.get("min")
        hi = b.get("max")
        if (lo is None or x >= lo) and (hi is None or x < hi):
            return b["score"]
    raise AssertionError(f"no band for {x!r} in {bands!r}")


def _is_na(a: object) -> bool:
    return isinstance(a, str) and a == "na"


def _is_ns(a: object) -> bool:
    return isinstance(a, str) and a == "ns"


class _Evaluator:
    def __init__(self, questionnaire: dict, answers: dict):
        self.q = questionnaire
        self.answers = answers
        self.questions: dict[str, dict] = {}
        for d in questionnaire["dimensions"]:
            for s in d["subcategories"]:
                for q in s["questions"]:
                    self.questions[q["id"]] = q
        self._ast: dict[tuple[str, str], object] = {}
        self._relevant: dict[str, bool] = {}
        self._value: dict[str, object] = {}
        self._busy: set[tuple[str, str]] = set()

    def ast(self, qid: str, key: str):
        k = (qid, key)
        if k not in self._ast:
            self._ast[k] = parse(self.questions[qid][key])
        return self._ast[k]

    def _guard(self, key):
        if key in self._busy:
            raise ExpressionError(f"cycle through {key}")
        self._busy.add(key)

    def relevant(self, qid: str) -> bool:
        if qid not in self._relevant:
            q = self.questions[qid]
            if q.get("relevant") is None:
                result = True
            else:
                self._guard(("rel", qid))
                try:
                    result = evaluate(self.ast(qid, "relevant"), self.value) is True
                finally:
                    self._busy.discard(("rel", qid))
            self._relevant[qid] = result
        return self._relevant[qid]

    def formula_value(self, qid: str) -> object:
        self._guard(("val", qid))
        try:
            return evaluate(self.ast(qid, "formula"), self.value)
        finally:
            self._busy.discard(("val", qid))

    def value(self, qid: str) -> object:
        """The value an identifier stands for (READING R3)."""
        if qid not in self._value:
            q = self.questions[qid]
            if not self.relevant(qid):
                v = MISSING
            elif q["type"] == "computed":
                v = self.formula_value(qid)
            else:
                a = self.answers.get(qid)
                v = MISSING if a is None or _is_na(a) or _is_ns(a) else a
            self._value[qid] = v
        return self._value[qid]

    def has_no_answer(self, qid: str) -> bool:
        q = self.questions[qid]
        if q["type"] == "computed":
            return NAMED_COMPUTED_HAS_NO_ANSWER  # READING R1
        return self.answers.get(qid) is None

    def question_status(self, qid: str) -> tuple[str, float | None]:
        """(status, score in [0, 1] or None)."""
        q = self.questions[qid]
        if not self.relevant(qid):
            return "not_relevant", None
        if not is_scored_question(q):
            return "unscored", None
        t = q["type"]
        if t == "computed":
            v = self.value(qid)
            if v is MISSING:
                named = names_in(self.ast(qid, "formula"))
                if any(self.relevant(n) and self.has_no_answer(n) for n in named):
                    return "unanswered", None  # READING R1 / R2
                return "undefined", None
            return "scored", band_score(q["bands"], v)
        a = self.answers.get(qid)
        if _is_na(a):
            return "na", None
        if _is_ns(a):
            return "ns", None  # READING R11
        if a is None:
            return "unanswered", None
        if t == "yes_no":
            return "scored", 1.0 if (a is True) == _good_is_yes(q) else 0.0
        if t == "choice":
            for o in q["options"]:
                if o["value"] == a:
                    return "scored", o["score"]
            raise AssertionError(f"unknown option {a!r} for {qid}")
        if t == "multi":
            scores = {o["value"]: o["score"] for o in q["options"]}
            return "scored", min(1, sum(scores[v] for v in a))
        if t == "number":
            return "scored", band_score(q["bands"], a)
        raise AssertionError(t)


# --------------------------------------------------------------------------
# Lights and aggregation


def light_for(score: float, thresholds: dict) -> str:
    r = round(score, 4)
    if r >= thresholds["green"]:
        return "green"
    if r < thresholds["red"]:
        return "red"
    return "yellow"


def score_subcategory(ev: _Evaluator, sub: dict, thresholds: dict) -> dict:
    qs = []
    A = B = WS = 0.0
    failures: list[str] = []
    unknown: list[str] = []
    for q in sub["questions"]:
        status, s = ev.question_status(q["id"])
        w = q.get("weight", 1)
        if status in ("scored", "ns", "unanswered"):
            A += w
        if status == "scored":
            B += w
            WS += w * s
        if q.get("critical", False):
            if status == "scored" and s == 0:
                failures.append(q["id"])
            elif status == "ns":
                unknown.append(q["id"])  # READING R11
        qs.append({"id": q["id"], "status": status, "score": s if status == "scored" else None})
    node = {
        "id": sub["id"],
        "weight": sub.get("weight", 1),
        "questions": qs,
        "critical_failures": failures,
        "critical_unknown": unknown,
    }
    if A == 0:
        node.update(light="not_applicable", score=None, coverage=None)
        return node
    coverage = B / A
    score = WS / B if B > 0 else None
    if failures:
        light = "red"  # READING R10 / R12
    elif coverage < 0.5:  # READING R7
        light, score = "insufficient_data", None
    else:
        light = light_for(score, thresholds)
        if light == "green" and unknown:
            light = "yellow"  # READING R12
    node.update(light=light, score=score, coverage=coverage)
    return node


def aggregate(children: list[dict], thresholds: dict) -> dict:
    """Section 3: children have weight, light, score; returns light/score/coverage."""
    left = [c for c in children if c["light"] != "not_applicable"]
    if not left:
        return {"light": "not_applicable", "score": None, "coverage": None}
    lit = [c for c in left if c["light"] in LIGHTS]
    coverage = sum(c["weight"] for c in lit) / sum(c["weight"] for c in left)
    if coverage < 0.5:  # READING R7 / R13
        return {"light": "insufficient_data", "score": None, "coverage": coverage}
    any_red = any(c["light"] == "red" for c in left)
    with_score = [c for c in lit if c["score"] is not None]
    if not with_score:  # READING R13
        return {"light": "red" if any_red else "insufficient_data", "score": None, "coverage": coverage}
    score = sum(c["weight"] * c["score"] for c in with_score) / sum(c["weight"] for c in with_score)
    light = light_for(score, thresholds)
    if light == "green" and any_red:
        light = "yellow"
    return {"light": light, "score": score, "coverage": coverage}


def aggregate_dimension(subs: list[dict], thresholds: dict) -> dict:
    """Section 3 for a dimension, with the dimensions-only critical rule (READING R14)."""
    out = aggregate(subs, thresholds)
    if any(s["critical_failures"] for s in subs):
        out["light"] = "red"
    return out


def compute(questionnaire: dict, answers: dict) -> dict:
    """Unrounded result tree (scores in [0, 1]) with effective thresholds."""
    ev = _Evaluator(questionnaire, answers)
    file_thr = _thresholds(questionnaire.get("thresholds"), DEFAULT_THRESHOLDS)
    dims = []
    for d in questionnaire["dimensions"]:
        d_thr = _thresholds(d.get("thresholds"), file_thr)
        subs = []
        for s in d["subcategories"]:
            s_thr = _thresholds(s.get("thresholds"), d_thr)
            node = score_subcategory(ev, s, s_thr)
            node["thresholds"] = s_thr
            subs.append(node)
        dn = {"id": d["id"], "weight": d.get("weight", 1), "thresholds": d_thr, "subcategories": subs}
        dn.update(aggregate_dimension(subs, d_thr))
        dims.append(dn)
    overall = aggregate(dims, file_thr)
    overall["thresholds"] = file_thr
    return {
        "method": METHOD,
        "questionnaire": {"id": questionnaire["id"], "version": questionnaire["version"]},
        "overall": overall,
        "dimensions": dims,
    }


# --------------------------------------------------------------------------
# Output (section 5)


def _round(x: float, nd: int) -> float:
    if ROUND_HALF_UP:  # READING R8 alternative
        q = Decimal(1).scaleb(-nd)
        return float(Decimal(repr(x)).quantize(q, rounding=_DEC_HALF_UP))
    return round(x, nd)


def out_score(s: float | None) -> float | None:
    return None if s is None else _round(s * 100, 1)


def out_cov(c: float | None) -> float | None:
    return None if c is None else _round(c, 4)


def reference_score(questionnaire: dict, answers: dict) -> dict:
    """The JSON object of scoring.md section 5."""
    r = compute(questionnaire, answers)

    def node(n: dict) -> dict:
        return {"score": out_score(n["score"]), "light": n["light"], "coverage": out_cov(n["coverage"])}

    return {
        "method": r["method"],  # READING R15
        "questionnaire": r["questionnaire"],
        "overall": node(r["overall"]),
        "dimensions": [
            {
                "id": d["id"],
                **node(d),
                "subcategories": [
                    {
                        "id": s["id"],
                        **node(s),
                        "critical_failures": list(s["critical_failures"]),
                        "critical_unknown": list(s["critical_unknown"]),
                        "questions": [
                            {"id": q["id"], "status": q["status"], "score": out_score(q["score"])}
                            for q in s["questions"]
                        ],
                    }
                    for s in d["subcategories"]
                ],
            }
            for d in r["dimensions"]
        ],
    }
