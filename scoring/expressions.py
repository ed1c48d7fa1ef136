"""The expression language of `relevant` conditions and `formula` fields.

Parsed by a hand-written recursive-descent parser (never Python's eval) into a
small AST, checked against the questionnaire at load time, then compiled into
closures over a ``values`` mapping (question id -> value). A question that is
missing (unanswered, ``na``, ``ns``, not relevant, or a computed question whose
formula is missing) is simply absent from ``values``; evaluation returns the
``MISSING`` sentinel for it, and operators propagate it with three-valued
(SQL) logic as the format spec says.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias


class _Missing:
    """Sentinel for an unknown value; it is neither true nor false."""

    __slots__ = ()
    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:  # guard against accidental truthiness tests
        raise TypeError("MISSING has no truth value")


MISSING = _Missing()

Values = Mapping[str, object]
Evaluator = Callable[[Values], object]


class ExpressionSyntaxError(Exception):
    """A syntax error, with the 0-based character offset where it was found."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


# --------------------------------------------------------------------------
# AST


@dataclass(frozen=True, slots=True)
class Literal:
    value: object
    position: int


@dataclass(frozen=True, slots=True)
class Name:
    id: str
    position: int


@dataclass(frozen=True, slots=True)
class Selected:
    question_id: str
    value: str
    position: int


@dataclass(frozen=True, slots=True)
class Negate:
    operand: Node
    position: int


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node
    position: int


@dataclass(frozen=True, slots=True)
class Arithmetic:
    op: str
    left: Node
    right: Node
    position: int


@dataclass(frozen=True, slots=True)
class Comparison:
    op: str
    left: Node
    right: Node
    position: int


@dataclass(frozen=True, slots=True)
class Logical:
    op: str  # "and" | "or"
    left: Node
    right: Node
    position: int


Node: TypeAlias = Literal | Name | Selected | Negate | Not | Arithmetic | Comparison | Logical


# --------------------------------------------------------------------------
# Tokenizer

_TOKEN_RE = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|<|>|\+|-|\*|/|\(|\)|,)
    """,
    re.VERBOSE | re.DOTALL,
)

KEYWORDS = frozenset({"and", "or", "not", "true", "false"})
_COMPARISON_OPS = frozenset({"==", "!=", "<", "<=", ">", ">="})

#: Limits that keep a hostile or mistaken expression from exhausting Python's recursion
#: (parsing, analysing and compiling are recursive): far beyond any real questionnaire.
MAX_NESTING = 64
"""Parentheses, ``not`` and unary minus nested inside each other."""
MAX_TREE_DEPTH = 256
"""Operators chained in one expression (``a + b + c`` is depth 3)."""


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # number | string | name | op | keyword | end
    text: str
    value: object
    position: int


def _unescape(body: str) -> str:
    return re.sub(r"\\(.)", lambda m: m.group(1), body, flags=re.DOTALL)


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(source):
        match = _TOKEN_RE.match(source, position)
        if match is None:
            char = source[position]
            if char in "'\"":
                raise ExpressionSyntaxError("texto entre comillas sin cerrar", position)
            if char == "=":
                raise ExpressionSyntaxError("use '==' para comparar, no '='", position)
            raise ExpressionSyntaxError(f"carácter no permitido {char!r}", position)
        kind = match.lastgroup
        text = match.group()
        if kind == "number":
            number = float(text)
            value: object = int(text) if number.is_integer() and re.fullmatch(r"\d+", text) else number
            tokens.append(Token("number", text, value, position))
        elif kind == "string":
            tokens.append(Token("string", text, _unescape(text[1:-1]), position))
        elif kind == "name":
            tokens.append(Token("keyword" if text in KEYWORDS else "name", text, text, position))
        elif kind == "op":
            tokens.append(Token("op", text, text, position))
        position = match.end()
    tokens.append(Token("end", "", None, len(source)))
    return tokens


# --------------------------------------------------------------------------
# Parser


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = tokenize(source)
        self.index = 0
        self.nesting = 0

    def _enter(self, token: Token) -> None:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise ExpressionSyntaxError(
                f"la expresión anida paréntesis, 'not' o signos menos en más de {MAX_NESTING} niveles", token.position
            )

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def _advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def _at(self, kind: str, text: str | None = None) -> bool:
        token = self.current
        return token.kind == kind and (text is None or token.text == text)

    def _expect_op(self, text: str, what: str) -> Token:
        if not self._at("op", text):
            raise ExpressionSyntaxError(f"se esperaba '{text}' {what}", self.current.position)
        return self._advance()

    def parse(self) -> Node:
        if self._at("end"):
            raise ExpressionSyntaxError("la expresión está vacía", 0)
        node = self._or()
        if not self._at("end"):
            token = self.current
            raise ExpressionSyntaxError(f"sobra '{token.text}' al final de la expresión", token.position)
        return node

    def _or(self) -> Node:
        node = self._and()
        while self._at("keyword", "or"):
            token = self._advance()
            node = Logical("or", node, self._and(), token.position)
        return node

    def _and(self) -> Node:
        node = self._not()
        while self._at("keyword", "and"):
            token = self._advance()
            node = Logical("and", node, self._not(), token.position)
        return node

    def _not(self) -> Node:
        if self._at("keyword", "not"):
            token = self._advance()
            self._enter(token)
            node = Not(self._not(), token.position)
            self.nesting -= 1
            return node
        return self._comparison()

    def _comparison(self) -> Node:
        node = self._additive()
        if self.current.kind == "op" and self.current.text in _COMPARISON_OPS:
            token = self._advance()
            node = Comparison(token.text, node, self._additive(), token.position)
            if self.current.kind == "op" and self.current.text in _COMPARISON_OPS:
                raise ExpressionSyntaxError(
                    "las comparaciones no se pueden encadenar; use 'and'", self.current.position
                )
        return node

    def _additive(self) -> Node:
        node = self._multiplicative()
        while self.current.kind == "op" and self.current.text in ("+", "-"):
            token = self._advance()
            node = Arithmetic(token.text, node, self._multiplicative(), token.position)
        return node

    def _multiplicative(self) -> Node:
        node = self._unary()
        while self.current.kind == "op" and self.current.text in ("*", "/"):
            token = self._advance()
            node = Arithmetic(token.text, node, self._unary(), token.position)
        return node

    def _unary(self) -> Node:
        if self._at("op", "-"):
            token = self._advance()
            self._enter(token)
            node = Negate(self._unary(), token.position)
            self.nesting -= 1
            return node
        return self._primary()

    def _primary(self) -> Node:
        token = self.current
        if token.kind == "number" or token.kind == "string":
            self._advance()
            return Literal(token.value, token.position)
        if token.kind == "keyword" and token.text in ("true", "false"):
            self._advance()
            return Literal(token.text == "true", token.position)
        if token.kind == "name":
            self._advance()
            if self._at("op", "("):
                return self._call(token)
            return Name(token.text, token.position)
        if self._at("op", "("):
            self._enter(self._advance())
            node = self._or()
            self._expect_op(")", "para cerrar el paréntesis")
            self.nesting -= 1
            return node
        if token.kind == "end":
            raise ExpressionSyntaxError("la expresión termina antes de tiempo", token.position)
        raise ExpressionSyntaxError(f"no se esperaba '{token.text}' aquí", token.position)

    def _call(self, name: Token) -> Node:
        if name.text != "selected":
            raise ExpressionSyntaxError(
                f"función desconocida '{name.text}'; la única función es selected()", name.position
            )
        self._expect_op("(", "después de selected")
        target = self.current
        if target.kind != "name":
            raise ExpressionSyntaxError(
                "el primer argumento de selected() debe ser el id de una pregunta", target.position
            )
        self._advance()
        self._expect_op(",", "entre los argumentos de selected()")
        value = self.current
        if value.kind != "string":
            raise ExpressionSyntaxError(
                "el segundo argumento de selected() debe ser un texto entre comillas", value.position
            )
        self._advance()
        self._expect_op(")", "para cerrar selected()")
        return Selected(target.text, str(value.value), name.position)


def parse(source: str) -> Node:
    """Parse an expression; raises ExpressionSyntaxError."""
    node = _Parser(source).parse()
    if _depth(node) > MAX_TREE_DEPTH:
        raise ExpressionSyntaxError(
            f"la expresión encadena más de {MAX_TREE_DEPTH} operaciones; divídala en preguntas calculadas", 0
        )
    return node


def _depth(root: Node) -> int:
    """The tree's depth, without recursion (the tree may be deep: that is what is checked)."""
    deepest, stack = 0, [(root, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if level > MAX_TREE_DEPTH:
            break
        if isinstance(node, (Negate, Not)):
            stack.append((node.operand, level + 1))
        elif isinstance(node, (Arithmetic, Comparison, Logical)):
            stack.extend(((node.left, level + 1), (node.right, level + 1)))
    return deepest


# --------------------------------------------------------------------------
# Analysis helpers


def walk(node: Node):
    yield node
    if isinstance(node, (Negate, Not)):
        yield from walk(node.operand)
    elif isinstance(node, (Arithmetic, Comparison, Logical)):
        yield from walk(node.left)
        yield from walk(node.right)


def referenced_ids(node: Node) -> list[str]:
    """Question ids named in the expression, in order of appearance, without repeats."""
    seen: dict[str, None] = {}
    for sub in walk(node):
        if isinstance(sub, Name):
            seen.setdefault(sub.id, None)
        elif isinstance(sub, Selected):
            seen.setdefault(sub.question_id, None)
    return list(seen)


def non_arithmetic_parts(node: Node) -> list[Node]:
    """Nodes that a `formula` may not contain (it is arithmetic over numbers only)."""
    return [
        sub
        for sub in walk(node)
        if isinstance(sub, (Selected, Not, Comparison, Logical))
        or (isinstance(sub, Literal) and not _is_number(sub.value))
    ]


# --------------------------------------------------------------------------
# Evaluation semantics


def _is_number(value: object) -> bool:
    return (isinstance(value, (int, float))) and not isinstance(value, bool)


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "list"
    return "other"


def _equal(left: Any, right: Any) -> bool:
    kind = _kind(left)
    if kind != _kind(right):
        return False
    if kind == "list":
        return set(left) == set(right)  # a multi answer is a set of options
    return left == right


def _compare(op: str, left: Any, right: Any) -> object:
    if left is MISSING or right is MISSING:
        return MISSING
    if op == "==":
        return _equal(left, right)
    if op == "!=":
        return not _equal(left, right)
    kind = _kind(left)
    if kind != _kind(right) or kind not in ("number", "string", "boolean"):
        return MISSING  # ordering between kinds is missing; ISO dates sort as text, false < true
    if op == "<":
        return left < right
    if op == "<=":
        return left <= right
    if op == ">":
        return left > right
    return left >= right


_NUMBER_TYPES = (int, float)  # exact classes: a bool is not a number here


def _finite(result: Any) -> object:
    return result if result.__class__ is int or math.isfinite(result) else MISSING


def _make_add(left: Evaluator, right: Evaluator) -> Evaluator:
    def add(values: Values) -> object:
        a, b = left(values), right(values)
        if a.__class__ in _NUMBER_TYPES and b.__class__ in _NUMBER_TYPES:
            return _finite(a + b)
        return MISSING

    return add


def _make_subtract(left: Evaluator, right: Evaluator) -> Evaluator:
    def subtract(values: Values) -> object:
        a, b = left(values), right(values)
        if a.__class__ in _NUMBER_TYPES and b.__class__ in _NUMBER_TYPES:
            return _finite(a - b)
        return MISSING

    return subtract


def _make_multiply(left: Evaluator, right: Evaluator) -> Evaluator:
    def multiply(values: Values) -> object:
        a, b = left(values), right(values)
        if a.__class__ in _NUMBER_TYPES and b.__class__ in _NUMBER_TYPES:
            return _finite(a * b)
        return MISSING

    return multiply


def _make_divide(left: Evaluator, right: Evaluator) -> Evaluator:
    def divide(values: Values) -> object:
        a, b = left(values), right(values)
        if a.__class__ in _NUMBER_TYPES and b.__class__ in _NUMBER_TYPES and b != 0:
            try:
                return _finite(a / b)
            except OverflowError:  # a quotient of huge integers that no float can hold
                return MISSING
        return MISSING  # a missing or non-numeric operand, or division by zero

    return divide


_ARITHMETIC_FACTORIES = {"+": _make_add, "-": _make_subtract, "*": _make_multiply, "/": _make_divide}


def compile_node(node: Node, *, multi_ids: frozenset[str] = frozenset()) -> Evaluator:
    """Compile an AST into a closure ``values -> value | MISSING``.

    ``multi_ids`` names the `multi` questions, for which selected() tests
    membership; for a `choice` it tests equality.
    """
    if isinstance(node, Literal):
        constant = node.value
        return lambda values: constant
    if isinstance(node, Name):
        qid = node.id
        return lambda values: values.get(qid, MISSING)
    if isinstance(node, Selected):
        qid, wanted = node.question_id, node.value
        if qid in multi_ids:

            def selected_multi(values: Values) -> bool:
                answer = values.get(qid)
                return isinstance(answer, list) and wanted in answer

            return selected_multi
        return lambda values: values.get(qid) == wanted
    if isinstance(node, Negate):
        operand = compile_node(node.operand, multi_ids=multi_ids)

        def negate(values: Values) -> object:
            value: Any = operand(values)
            return -value if _is_number(value) else MISSING

        return negate
    if isinstance(node, Not):
        operand = compile_node(node.operand, multi_ids=multi_ids)

        def negation(values: Values) -> object:
            value = operand(values)
            return (not value) if isinstance(value, bool) else MISSING

        return negation
    if isinstance(node, Arithmetic):
        left = compile_node(node.left, multi_ids=multi_ids)
        right = compile_node(node.right, multi_ids=multi_ids)
        return _ARITHMETIC_FACTORIES[node.op](left, right)
    if isinstance(node, Comparison):
        left, right, op = (
            compile_node(node.left, multi_ids=multi_ids),
            compile_node(node.right, multi_ids=multi_ids),
            node.op,
        )
        return lambda values: _compare(op, left(values), right(values))
    if isinstance(node, Logical):
        left = compile_node(node.left, multi_ids=multi_ids)
        right = compile_node(node.right, multi_ids=multi_ids)
        if node.op == "and":

            def conjunction(values: Values) -> object:
                a = left(values)
                if a is False:
                    return False
                b = right(values)
                if b is False:
                    return False
                if a is True and b is True:
                    return True
                return MISSING  # a non-boolean operand counts as unknown

            return conjunction

        def disjunction(values: Values) -> object:
            a = left(values)
            if a is True:
                return True
            b = right(values)
            if b is True:
                return True
            if a is False and b is False:
                return False
            return MISSING

        return disjunction
    raise TypeError(f"unknown node {node!r}")  # pragma: no cover - parser makes only the nodes above
