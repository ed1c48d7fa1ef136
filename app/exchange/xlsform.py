"""XLSForm export of a questionnaire version, for offline collection with ODK Collect or KoboCollect.

``xlsform_bytes(questionnaire)`` returns an XLSX workbook with the three XLSForm sheets:

- ``survey``: the cooperative's RUT first (``rut_cooperativa``, checked by a regular
  expression), then one group per dimension (``dim-<id>``) holding one group per
  subcategory (``sub-<id>``) holding the questions, named by their question ids. A ``-``
  never appears in a question id, so group names cannot clash with question names, and
  in an ODK Central export (group paths joined with ``-``) the last segment of a column
  is the question id.
- ``choices``: one list per choice question (``op_<question id>``), and shared lists.
- ``settings``: ``form_title``, ``form_id`` (the questionnaire id), ``version`` and
  ``default_language`` (``Español (es)``; every text column is ``…::Español (es)``).

How answers map (the contract of the ODK/Kobo importers):

- ``yes_no`` → ``select_one si_no`` (or ``si_no_na`` when the question allows ``na``):
  ``si`` = true, ``no`` = false, ``na`` / ``ns`` = the reserved answers;
- ``choice`` / ``multi`` → ``select_one`` / ``select_multiple op_<id>`` with the options,
  plus ``na`` (when allowed) and ``ns``; in a ``select_multiple`` those two are exclusive;
- ``number`` (``integer`` or ``decimal`` with its bounds as a ``constraint``), ``text`` and
  ``date`` have no options, so a companion ``select_one`` ``<id>_sin_dato`` (``ns``, and
  ``na`` when allowed) appears when the field is left empty; the companion carries the
  question's ``required``. It is only made when it matters: the question is required,
  allows ``na``, or is scored;
- ``computed`` → ``calculate`` with the formula; a missing input or a division by zero
  gives an empty value (``if()`` guards), never an error in the form. A ``note``
  ``<id>_valor`` shows the value to the interviewer once there is one.

``relevant`` conditions and formulas are translated from the project's expression
language (scoring.expressions AST) to XPath, keeping its three-valued logic: a question is
relevant only when its condition is *true*; an answer that is empty, ``na``, ``ns`` or not
relevant is *missing*. (ODK Collect and KoboCollect treat a non-relevant field as blank in
every expression, as the engine treats a non-relevant question as missing.) A construct with no XPath
equivalent (an ordering comparison between texts that are not dates) raises XLSFormError
naming the question.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from babel.numbers import format_decimal
from openpyxl import Workbook
from openpyxl.styles import Font

from app.downloads import xml_text
from scoring import expressions as ex
from scoring.model import Question, Questionnaire

XLSFORM_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LANGUAGE = "Español (es)"
RUT_FIELD = "rut_cooperativa"
YES, NO, NA, NS = "si", "no", "na", "ns"
NO_DATA_SUFFIX = "_sin_dato"
VALUE_NOTE_SUFFIX = "_valor"
OPTIONS_LIST_PREFIX = "op_"
DIMENSION_GROUP_PREFIX = "dim-"
SUBCATEGORY_GROUP_PREFIX = "sub-"

#: A RUT with or without thousands dots, a hyphen and the check digit (76.123.456-7, 76123456-K).
RUT_PATTERN = r"^([0-9]{1,2}(\.[0-9]{3}){2}|[0-9]{1,8})-[0-9kK]$"

SURVEY_COLUMNS = (
    "type",
    "name",
    f"label::{LANGUAGE}",
    f"hint::{LANGUAGE}",
    "required",
    f"required_message::{LANGUAGE}",
    "relevant",
    "constraint",
    f"constraint_message::{LANGUAGE}",
    "calculation",
)
CHOICES_COLUMNS = ("list_name", "name", f"label::{LANGUAGE}")
SETTINGS_COLUMNS = ("form_title", "form_id", "version", "default_language", "instance_name")

_NA_LABEL = "No aplica"
_NS_LABEL = "No sabe / no responde"
_SHARED_LISTS = {
    "si_no": ((YES, "Sí"), (NO, "No"), (NS, _NS_LABEL)),
    "si_no_na": ((YES, "Sí"), (NO, "No"), (NA, _NA_LABEL), (NS, _NS_LABEL)),
    "sin_dato": ((NS, _NS_LABEL),),
    "sin_dato_na": ((NA, _NA_LABEL), (NS, _NS_LABEL)),
}
_REQUIRED_SELECT = "Responda esta pregunta; si no sabe, marque «No sabe / no responde»."
_REQUIRED_NO_DATA = "Indique por qué la pregunta anterior queda sin respuesta."
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class XLSFormError(ValueError):
    """The questionnaire cannot be written as an XLSForm; the message (Spanish) names the question."""

    def __init__(self, question_id: str, message: str) -> None:
        super().__init__(f"pregunta «{question_id}»: {message}")
        self.question_id = question_id
        self.message = message


# --------------------------------------------------------------------------
# XPath fragments with their precedence, so that parentheses go only where needed


OR, AND, EQUALITY, RELATIONAL, ADDITIVE, MULTIPLICATIVE, UNARY, ATOM = range(1, 9)


@dataclass(frozen=True, slots=True)
class XPath:
    text: str
    precedence: int = ATOM
    terms: tuple[XPath, ...] = ()  # the operands of an and/or chain, to flatten and deduplicate


TRUE = XPath("true()")
FALSE = XPath("false()")


def _operand(part: XPath, precedence: int) -> str:
    return part.text if part.precedence >= precedence else f"({part.text})"


def _binary(left: XPath, op: str, right: XPath, precedence: int) -> XPath:
    # Left-associative: a right operand of the same precedence keeps its parentheses (a - (b - c)).
    return XPath(f"{_operand(left, precedence)} {op} {_operand(right, precedence + 1)}", precedence)


def _chain(parts: Iterable[XPath], word: str, precedence: int, neutral: XPath, absorbing: XPath) -> XPath:
    """An and/or chain: nested chains flattened, repeats and neutral parts dropped."""
    flat = (term for part in parts for term in (part.terms if part.precedence == precedence else (part,)))
    kept = list(dict.fromkeys(term for term in flat if term != neutral))
    if absorbing in kept:
        return absorbing
    if not kept:
        return neutral
    if len(kept) == 1:
        return kept[0]
    return XPath(f" {word} ".join(_operand(part, precedence) for part in kept), precedence, tuple(kept))


def conjunction(*parts: XPath) -> XPath:
    return _chain(parts, "and", AND, TRUE, FALSE)


def disjunction(*parts: XPath) -> XPath:
    return _chain(parts, "or", OR, FALSE, TRUE)


def negation(part: XPath) -> XPath:
    if part == TRUE:
        return FALSE
    if part == FALSE:
        return TRUE
    return XPath(f"not({part.text})")


def reference(question_id: str) -> XPath:
    return XPath("${" + question_id + "}")


def string_literal(value: str) -> XPath:
    """XPath 1.0 has no escapes: quote with the other quote, or concat() pieces holding both."""
    if "'" not in value:
        return XPath(f"'{value}'")
    if '"' not in value:
        return XPath(f'"{value}"')
    arguments: list[str] = []
    for index, piece in enumerate(value.split("'")):
        if index:
            arguments.append('"\'"')
        if piece:
            arguments.append(f"'{piece}'")
    return XPath(f"concat({', '.join(arguments)})")


def number_literal(value: int | float) -> XPath:
    """Plain decimal notation: XPath 1.0 has no exponents (1e-7 → 0.0000001)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = format(Decimal(repr(value)) if isinstance(value, float) else Decimal(value), "f")
    return XPath(text)


def selected(question_id: str, value: str) -> XPath:
    return XPath(f"selected({reference(question_id).text}, {string_literal(value).text})")


def _selected_here(value: str) -> XPath:
    """In a constraint: the field being answered holds this option."""
    return XPath(f"selected(., {string_literal(value).text})")


def _is_empty(question_id: str) -> XPath:
    return XPath(f"{reference(question_id).text} = ''", EQUALITY)


def _not_empty(question_id: str) -> XPath:
    return XPath(f"{reference(question_id).text} != ''", EQUALITY)


# --------------------------------------------------------------------------
# Expression translation


_NOT_LITERAL = object()
_XPATH_OPERATORS = {"==": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_COMPLEMENT = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_ARITHMETIC = {"+": ("+", ADDITIVE), "-": ("-", ADDITIVE), "*": ("*", MULTIPLICATIVE), "/": ("div", MULTIPLICATIVE)}
_KIND_OF_TYPE = {
    "yes_no": "boolean",
    "choice": "string",
    "multi": "list",
    "number": "number",
    "computed": "number",
    "text": "string",
    "date": "string",
}


@dataclass(frozen=True, slots=True)
class _Value:
    """A translated value: its XPath, when it is known (not missing), and its kind.

    For a boolean, ``value`` is "is true" and ``falsity`` "is false"; missing is neither.
    """

    value: XPath
    known: XPath
    kind: str  # number | string | boolean | list
    question: Question | None = None  # set for a bare question reference
    literal: object = _NOT_LITERAL
    falsity: XPath = FALSE

    @property
    def is_date(self) -> bool:
        if self.question is not None:
            return self.question.type == "date"
        return isinstance(self.literal, str) and _is_iso_date(self.literal)


def _is_iso_date(text: str) -> bool:
    if not _ISO_DATE.match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


class ExpressionTranslator:
    """Translates the AST of a `relevant` condition or a `formula` to XPath for one question."""

    def __init__(self, questionnaire: Questionnaire, question_id: str) -> None:
        self.questionnaire = questionnaire
        self.question_id = question_id

    def fail(self, message: str) -> XLSFormError:
        return XLSFormError(self.question_id, message)

    # -- conditions: (is true, is false); a missing condition is neither

    def truth(self, node: ex.Node) -> tuple[XPath, XPath]:
        if isinstance(node, ex.Literal):
            if isinstance(node.value, bool):
                return (TRUE, FALSE) if node.value else (FALSE, TRUE)
            return FALSE, FALSE  # a number or a text is not a truth value: unknown
        if isinstance(node, ex.Name):
            question = self.questionnaire.question(node.id)
            if question.type != "yes_no":
                return FALSE, FALSE
            answer = reference(node.id).text
            return XPath(f"{answer} = '{YES}'", EQUALITY), XPath(f"{answer} = '{NO}'", EQUALITY)
        if isinstance(node, ex.Selected):
            chosen = selected(node.question_id, node.value)
            return chosen, negation(chosen)  # selected() on a missing answer is false, never missing
        if isinstance(node, ex.Not):
            true, false = self.truth(node.operand)
            return false, true
        if isinstance(node, ex.Logical):
            left_true, left_false = self.truth(node.left)
            right_true, right_false = self.truth(node.right)
            if node.op == "and":
                return conjunction(left_true, right_true), disjunction(left_false, right_false)
            return disjunction(left_true, right_true), conjunction(left_false, right_false)
        if isinstance(node, ex.Comparison):
            left, right = self.value(node.left), self.value(node.right)
            if node.op in ("==", "!="):
                true, false = self.equality(left, right)
                return (true, false) if node.op == "==" else (false, true)
            return self.ordering(node.op, left, right)
        return FALSE, FALSE  # arithmetic is a number, not a truth value

    # -- values

    def value(self, node: ex.Node) -> _Value:
        if isinstance(node, ex.Literal) and not isinstance(node.value, bool):
            if isinstance(node.value, str):
                return _Value(string_literal(node.value), TRUE, "string", literal=node.value)
            return _Value(number_literal(node.value), TRUE, "number", literal=node.value)
        if isinstance(node, ex.Name):
            question = self.questionnaire.question(node.id)
            kind = _KIND_OF_TYPE[question.type]
            if kind != "boolean":
                return _Value(reference(node.id), self.known(question), kind, question=question)
        if isinstance(node, ex.Negate):
            operand = self.value(node.operand)
            if operand.kind != "number":
                return _Value(FALSE, FALSE, "number")
            return _Value(XPath(f"-{_operand(operand.value, UNARY + 1)}", UNARY), operand.known, "number")
        if isinstance(node, ex.Arithmetic):
            return self.arithmetic(node)
        true, false = self.truth(node)
        return _Value(true, disjunction(true, false), "boolean", falsity=false)

    def known(self, question: Question) -> XPath:
        """The condition under which a question's answer is a value (not empty, na, ns or not relevant)."""
        qid = question.id
        if question.type == "yes_no":
            return disjunction(*self.truth(ex.Name(qid, 0)))
        if question.type == "choice":
            reserved = [NA, NS] if question.na else [NS]
            answer = reference(qid).text
            return conjunction(_not_empty(qid), *(XPath(f"{answer} != '{value}'", EQUALITY) for value in reserved))
        if question.type == "multi":
            reserved = [NA, NS] if question.na else [NS]
            return conjunction(_not_empty(qid), *(negation(selected(qid, value)) for value in reserved))
        return _not_empty(qid)

    def arithmetic(self, node: ex.Arithmetic) -> _Value:
        left, right = self.value(node.left), self.value(node.right)
        if left.kind != "number" or right.kind != "number":
            return _Value(FALSE, FALSE, "number")  # arithmetic on a non-number is missing
        op, precedence = _ARITHMETIC[node.op]
        known = conjunction(left.known, right.known)
        if node.op == "/":  # division by zero is missing
            if right.literal is _NOT_LITERAL:
                known = conjunction(known, _binary(right.value, "!=", XPath("0"), EQUALITY))
            elif right.literal == 0:
                known = FALSE
        return _Value(_binary(left.value, op, right.value, precedence), known, "number")

    def equality(self, left: _Value, right: _Value) -> tuple[XPath, XPath]:
        """(known and equal, known and different); values of different kinds are never equal."""
        both_known = conjunction(left.known, right.known)
        if left.kind != right.kind:
            return FALSE, both_known
        if left.kind == "boolean":
            return (
                disjunction(conjunction(left.value, right.value), conjunction(left.falsity, right.falsity)),
                disjunction(conjunction(left.value, right.falsity), conjunction(left.falsity, right.value)),
            )
        if left.kind == "list":
            same = self.same_selection(left.question, right.question)
            return conjunction(both_known, same), conjunction(both_known, negation(same))
        a, b = left.value, right.value
        if left.kind == "number" and left.question is not None and right.question is not None:
            a, b = XPath(f"number({a.text})"), XPath(f"number({b.text})")  # node = node compares text
        equal, different = _binary(a, "=", b, EQUALITY), _binary(a, "!=", b, EQUALITY)
        if self.reserved_free_literal(left) or self.reserved_free_literal(right):
            # equal to a literal that no empty, na or ns answer can be: equality implies known
            return equal, conjunction(both_known, different)
        return conjunction(both_known, equal), conjunction(both_known, different)

    @staticmethod
    def reserved_free_literal(value: _Value) -> bool:
        return isinstance(value.literal, (int, float)) or (
            isinstance(value.literal, str) and value.literal not in ("", NA, NS)
        )

    @staticmethod
    def same_selection(left: Question, right: Question) -> XPath:
        """Two select_multiple answers hold the same options: as many, and each of the left's in the right."""
        parts = [
            XPath(f"count-selected({reference(left.id).text}) = count-selected({reference(right.id).text})", EQUALITY)
        ]
        for option in left.options:
            parts.append(disjunction(negation(selected(left.id, option.value)), selected(right.id, option.value)))
        return conjunction(*parts)

    def ordering(self, op: str, left: _Value, right: _Value) -> tuple[XPath, XPath]:
        if left.kind != right.kind or left.kind == "list":
            return FALSE, FALSE  # an ordering between different kinds is missing
        a, b = left.value, right.value
        if left.kind == "string":
            if not (left.is_date and right.is_date):
                raise self.fail(
                    f"la comparación «{op}» entre textos no tiene equivalente en XLSForm "
                    "(solo se pueden ordenar fechas: preguntas date o textos AAAA-MM-DD)"
                )
            a, b = XPath(f"decimal-date-time({a.text})"), XPath(f"decimal-date-time({b.text})")
        both_known = conjunction(left.known, right.known)
        return (
            conjunction(both_known, _binary(a, _XPATH_OPERATORS[op], b, RELATIONAL)),
            conjunction(both_known, _binary(a, _COMPLEMENT[op], b, RELATIONAL)),
        )

    # -- entry points

    def relevant(self, source: str) -> XPath:
        """The condition under which the question is relevant: its expression is true."""
        return self.truth(ex.parse(source))[0]

    def calculation(self, source: str) -> str:
        result = self.value(ex.parse(source))
        if result.kind != "number":  # the loader allows only arithmetic in a formula
            raise self.fail("la fórmula no es aritmética")
        if result.known == TRUE:
            return result.value.text
        return f"if({result.known.text}, {result.value.text}, '')"


# --------------------------------------------------------------------------
# Sheets


def _number(value: float) -> str:
    return format_decimal(value, locale="es_CL")


def _bounds(question: Question) -> tuple[str, str]:
    """The constraint of a number question and its message in Spanish ("" when unbounded)."""
    parts, low, high = [], question.min, question.max
    if low is not None:
        parts.append(f". >= {number_literal(low).text}")
    if high is not None:
        parts.append(f". <= {number_literal(high).text}")
    if low is not None and high is not None:
        message = f"El valor debe estar entre {_number(low)} y {_number(high)}."
    elif low is not None:
        message = f"El valor debe ser mayor o igual que {_number(low)}."
    elif high is not None:
        message = f"El valor debe ser menor o igual que {_number(high)}."
    else:
        return "", ""
    return " and ".join(parts), message


def _hint(question: Question) -> str:
    parts = [question.help.strip()] if question.help else []
    if question.unit:
        parts.append(f"Unidad: {question.unit}.")
    return " ".join(parts)


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


class _FormBuilder:
    def __init__(self, questionnaire: Questionnaire) -> None:
        self.questionnaire = questionnaire
        self.survey: list[dict[str, str]] = []
        self.choices: list[dict[str, str]] = []
        self.shared_lists_used: set[str] = set()
        self.names: dict[str, str] = {}  # element name -> what it is, to refuse clashes
        self.checks = self._error_checks()

    def _error_checks(self) -> dict[str, list[tuple[str, str]]]:
        """The questionnaire's error checks as constraints: each goes on the last question it names
        (in form order), so the interviewer is stopped where the inconsistency becomes visible.
        It fails only when it is certainly false, as in the engine. Warnings have no XLSForm
        counterpart: they are flagged to the analyst after import."""
        order = {q.id: index for index, q in enumerate(self.questionnaire.questions)}
        found: dict[str, list[tuple[str, str]]] = {}
        for check in self.questionnaire.checks:
            if check.severity != "error":
                continue
            last = max(check.questions, key=order.__getitem__)
            false = ExpressionTranslator(self.questionnaire, last).truth(ex.parse(check.expression))[1]
            if false == FALSE:
                continue  # never certainly false in XPath terms: nothing to constrain
            found.setdefault(last, []).append((negation(false).text, check.message))
        return found

    def constrained(self, question_id: str, constraint: str, message: str) -> tuple[str, str]:
        """``constraint`` and ``message`` with the error checks placed on this question added."""
        for extra, extra_message in self.checks.get(question_id, ()):
            constraint = f"({constraint}) and ({extra})" if constraint else extra
            message = f"{message} {extra_message}".strip()
        return constraint, message

    def claim(self, name: str, owner: str, question_id: str) -> None:
        if name in self.names:
            raise XLSFormError(question_id, f"el nombre «{name}» de {owner} ya lo usa {self.names[name]}")
        self.names[name] = owner

    def row(self, **cells: str) -> None:
        self.survey.append(
            {
                (f"{key.removesuffix('_es')}::{LANGUAGE}" if key.endswith("_es") else key): value
                for key, value in cells.items()
                if value
            }
        )

    def shared_list(self, name: str) -> str:
        self.shared_lists_used.add(name)
        return name

    def build(self) -> None:
        q = self.questionnaire
        for question in q.questions:
            self.claim(question.id, f"la pregunta «{question.id}»", question.id)
        self.row(type="start", name="start")
        self.row(type="end", name="end")
        self.claim("start", "un metadato", "start")
        self.claim("end", "un metadato", "end")
        self.claim(RUT_FIELD, "el RUT de la cooperativa", RUT_FIELD)
        self.row(
            type="text",
            name=RUT_FIELD,
            label_es="RUT de la cooperativa",
            hint_es="Con guion y dígito verificador; con o sin puntos. Ejemplo: 76.123.456-0.",
            required="yes",
            required_message_es="Falta el RUT de la cooperativa.",
            constraint=f"regex(., {string_literal(RUT_PATTERN).text})",
            constraint_message_es="Escriba el RUT con guion y dígito verificador, por ejemplo 76.123.456-0 o 76123456-K.",
        )
        # Group names hold a "-", which no question id (nor a name made from one) has: no clash possible.
        for dimension in q.dimensions:
            group = DIMENSION_GROUP_PREFIX + dimension.id
            self.row(type="begin_group", name=group, label_es=dimension.title)
            for subcategory in dimension.subcategories:
                sub_group = SUBCATEGORY_GROUP_PREFIX + subcategory.id
                self.row(type="begin_group", name=sub_group, label_es=subcategory.title)
                for question in subcategory.questions:
                    self.question(question)
                self.row(type="end_group", name=sub_group)
            self.row(type="end_group", name=group)
        for name in _SHARED_LISTS:
            if name in self.shared_lists_used:
                self.choices.extend(
                    {"list_name": name, "name": value, f"label::{LANGUAGE}": label}
                    for value, label in _SHARED_LISTS[name]
                )

    def question(self, question: Question) -> None:
        translator = ExpressionTranslator(self.questionnaire, question.id)
        relevant = translator.relevant(question.relevant) if question.relevant else TRUE
        common = {
            "name": question.id,
            "label_es": question.text,
            "hint_es": _hint(question),
            "relevant": "" if relevant == TRUE else relevant.text,
        }
        if question.type == "computed":
            self.row(type="calculate", calculation=translator.calculation(question.formula), **common)
            # shown to the interviewer once it has a value (a group of calculates alone has no body)
            name = question.id + VALUE_NOTE_SUFFIX
            self.claim(name, f"la nota con el valor de «{question.id}»", question.id)
            self.row(
                type="note",
                name=name,
                label_es=f"{question.text}: {reference(question.id).text}",
                hint_es=common["hint_es"],
                relevant=conjunction(relevant, _not_empty(question.id)).text,
            )
            return
        if question.type in ("yes_no", "choice", "multi"):
            self.select(question, common)
            return
        field_type = {"text": "text", "date": "date"}.get(question.type) or (
            "integer" if question.integer else "decimal"
        )
        constraint, message = self.constrained(
            question.id, *(_bounds(question) if question.type == "number" else ("", ""))
        )
        companion = question.required or question.na or question.scored
        self.row(
            type=field_type,
            required="no" if companion else _yes_no(question.required),
            constraint=constraint,
            constraint_message_es=message,
            **common,
        )
        if companion:
            name = question.id + NO_DATA_SUFFIX
            self.claim(name, f"la casilla «sin dato» de «{question.id}»", question.id)
            self.row(
                type="select_one " + self.shared_list("sin_dato_na" if question.na else "sin_dato"),
                name=name,
                label_es="¿Por qué queda sin respuesta la pregunta anterior?",
                hint_es=f"Solo si no hay dato para: {question.text}",
                required=_yes_no(question.required),
                required_message_es=_REQUIRED_NO_DATA,
                relevant=conjunction(relevant, _is_empty(question.id)).text,
            )

    def select(self, question: Question, common: dict[str, str]) -> None:
        reserved = [(NA, _NA_LABEL)] if question.na else []
        reserved.append((NS, _NS_LABEL))
        constraint = message = ""
        if question.type == "yes_no":
            list_name = self.shared_list("si_no_na" if question.na else "si_no")
        else:
            list_name = OPTIONS_LIST_PREFIX + question.id
            for option in question.options:
                if not option.value or any(char.isspace() for char in option.value):
                    raise XLSFormError(
                        question.id, f"el valor de opción {option.value!r} no sirve en XLSForm (vacío o con espacios)"
                    )
            self.choices.extend(
                {"list_name": list_name, "name": value, f"label::{LANGUAGE}": label}
                for value, label in [*((o.value, o.label) for o in question.options), *reserved]
            )
            if question.type == "multi":
                exclusive = disjunction(*(_selected_here(value) for value, _ in reserved))
                constraint = f"not({exclusive.text}) or count-selected(.) = 1"
                message = " y ".join(f"«{label}»" for _, label in reserved)
                message = f"{message} no se pueden marcar junto con otras opciones."
        constraint, message = self.constrained(question.id, constraint, message)
        kind = "select_multiple" if question.type == "multi" else "select_one"
        self.row(
            type=f"{kind} {list_name}",
            required=_yes_no(question.required),
            required_message_es=_REQUIRED_SELECT if question.required else "",
            constraint=constraint,
            constraint_message_es=message,
            **common,
        )


def xlsform_rows(questionnaire: Questionnaire) -> dict[str, list[dict[str, str]]]:
    """The rows of the three sheets, by sheet name; raises XLSFormError naming the question."""
    builder = _FormBuilder(questionnaire)
    builder.build()
    settings = {
        "form_title": questionnaire.title,
        "form_id": questionnaire.id,
        "version": questionnaire.version,
        "default_language": LANGUAGE,
        "instance_name": "concat('RUT ', ${" + RUT_FIELD + "})",
    }
    return {"survey": builder.survey, "choices": builder.choices, "settings": [settings]}


def _write_sheet(workbook: Workbook, title: str, columns: Iterable[str], rows: list[dict[str, str]]) -> None:
    sheet = workbook.create_sheet(title)
    columns = list(columns)
    sheet.append(columns)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([xml_text(row.get(column) or "") or None for column in columns])
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if cell.data_type == "f":  # a text starting with "=" is a text here, never a formula
                cell.data_type = "s"
    sheet.freeze_panes = "A2"


def xlsform_bytes(questionnaire: Questionnaire) -> bytes:
    """The questionnaire as an XLSForm workbook (XLSX bytes); raises XLSFormError naming the question."""
    rows = xlsform_rows(questionnaire)
    workbook = Workbook()
    workbook.remove(workbook.active)
    _write_sheet(workbook, "survey", SURVEY_COLUMNS, rows["survey"])
    _write_sheet(workbook, "choices", CHOICES_COLUMNS, rows["choices"])
    _write_sheet(workbook, "settings", SETTINGS_COLUMNS, rows["settings"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xlsform_filename(questionnaire: Questionnaire) -> str:
    """``<id>-<version>.xlsx``, in characters safe in any file system and HTTP header."""
    version = re.sub(r"[^A-Za-z0-9._-]", "_", questionnaire.version)
    return f"{questionnaire.id}-{version}.xlsx"
