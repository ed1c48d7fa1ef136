"""A questionnaire version in words, for the admin's preview page (/admin/cuestionarios/{id}).

Every dimension, subcategory and question with what scores it: its type, options and their
scores, limits and unit, weight, the critical flag, the bands of a number («de 1 a menos de
1,5: 50 %»), and its condition and formula written with the questions' texts instead of
their ids («Se pregunta si: «¿El consejo tiene su mandato vigente?» es «Sí»»); then the
consistency checks. The words come from the parsed expression (``scoring.expressions``), so
they say exactly what the engine evaluates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reports.formatting import is_year, numero, umbral
from scoring import expressions as ex
from scoring.model import Band, Question, Questionnaire, Thresholds

TYPE_WORDS = {
    "yes_no": "Sí o no",
    "choice": "Una opción",
    "multi": "Varias opciones",
    "number": "Número",
    "computed": "Calculada",
    "text": "Texto",
    "date": "Fecha",
}
_COMPARISONS = {
    "==": "es",
    "!=": "no es",
    "<": "es menor que",
    "<=": "es menor o igual que",
    ">": "es mayor que",
    ">=": "es mayor o igual que",
}
_NEGATED = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_ARITHMETIC = {"+": "+", "-": "−", "*": "×", "/": "÷"}
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


# --------------------------------------------------------------------------- expressions


def expression_in_words(source: str, questionnaire: Questionnaire) -> str:
    """An expression of the questionnaire as a sentence, with question texts for ids. An
    expression that does not parse (it cannot happen in a loaded questionnaire) is returned
    as it is written."""
    try:
        node = ex.parse(source)
    except ex.ExpressionSyntaxError:
        return source
    return _Words(questionnaire).say(node)


class _Words:
    def __init__(self, questionnaire: Questionnaire) -> None:
        self.questionnaire = questionnaire
        texts = [q.text for q in questionnaire.questions]
        #: Texts that several questions share («De ellas, ¿cuántas son mujeres?»): named with their id too.
        self.shared = {text for text in texts if texts.count(text) > 1}

    def question(self, question_id: str) -> Question | None:
        if self.questionnaire.has_question(question_id):
            return self.questionnaire.question(question_id)
        return None

    def name(self, question_id: str) -> str:
        question = self.question(question_id)
        if question is None:
            return question_id
        return f"«{question.text}» ({question_id})" if question.text in self.shared else f"«{question.text}»"

    def say(self, node: ex.Node) -> str:
        if isinstance(node, ex.Logical):
            word = " y " if node.op == "and" else " o "
            return word.join(self._chain(node))
        if isinstance(node, ex.Not):
            return self.negated(node.operand)
        if isinstance(node, ex.Selected):
            return self.selected(node, negated=False)
        if isinstance(node, ex.Comparison):
            return self.comparison(node.op, node.left, node.right)
        if isinstance(node, ex.Literal) and isinstance(node.value, bool):
            return "siempre" if node.value else "nunca"
        return self.value(node)

    def _chain(self, node: ex.Logical) -> list[str]:
        """The parts of ``a or b or c`` (or of an ``and`` chain) in words; in an ``or`` chain,
        ``selected(q, 'a') or selected(q, 'b')`` next to each other read «Q» es «A» o «B»."""
        parts: list[ex.Node] = []
        pending: list[ex.Node] = [node]
        while pending:
            item = pending.pop()
            if isinstance(item, ex.Logical) and item.op == node.op:
                pending.extend((item.right, item.left))
            else:
                parts.append(item)
        words: list[str] = []
        previous: ex.Selected | None = None
        for part in parts:
            if node.op == "or" and isinstance(part, ex.Selected):
                if previous is not None and previous.question_id == part.question_id:
                    words[-1] += " o " + self._option_label(part)
                else:
                    words.append(self.selected(part, negated=False))
                previous = part
                continue
            previous = None
            words.append(self._part(part, node.op))
        return words

    def _option_label(self, node: ex.Selected) -> str:
        question = self.question(node.question_id)
        option = question.option(node.value) if question else None
        return f"«{option.label if option else node.value}»"

    def _part(self, child: ex.Node, op: str) -> str:
        text = self.say(child)
        if isinstance(child, ex.Logical) and child.op != op:
            return f"({text})"
        return text

    def negated(self, node: ex.Node) -> str:
        if isinstance(node, ex.Selected):
            return self.selected(node, negated=True)
        if isinstance(node, ex.Comparison):
            return self.comparison(_NEGATED[node.op], node.left, node.right)
        if isinstance(node, ex.Not):
            return self.say(node.operand)
        return f"no se cumple que ({self.say(node)})"

    def selected(self, node: ex.Selected, *, negated: bool) -> str:
        question = self.question(node.question_id)
        label = self._option_label(node)
        if question is not None and question.type == "multi":
            verb = "no incluye" if negated else "incluye"
        else:
            verb = "no es" if negated else "es"
        return f"{self.name(node.question_id)} {verb} {label}"

    def comparison(self, op: str, left: ex.Node, right: ex.Node) -> str:
        question = self.question(left.id) if isinstance(left, ex.Name) else None
        verb = _COMPARISONS[op]
        answer_like = (question is not None and question.type not in ("number", "computed")) or (
            isinstance(right, ex.Literal) and isinstance(right.value, (bool, str))
        )
        if op in ("==", "!=") and not answer_like:
            verb = "es igual a" if op == "==" else "es distinto de"
        return f"{self.value(left)} {verb} {self.value(right, question)}"

    def value(self, node: ex.Node, compared_with: Question | None = None) -> str:
        if isinstance(node, ex.Name):
            return self.name(node.id)
        if isinstance(node, ex.Literal):
            return self.literal(node.value, compared_with)
        if isinstance(node, ex.Negate):
            return f"−{self._operand(node.operand, 'neg', right=False)}"
        if isinstance(node, ex.Arithmetic):
            left = self._operand(node.left, node.op, right=False)
            right = self._operand(node.right, node.op, right=True)
            return f"{left} {_ARITHMETIC[node.op]} {right}"
        return f"({self.say(node)})"

    def _operand(self, node: ex.Node, parent_op: str, *, right: bool) -> str:
        """An operand of ``parent_op``, in parentheses where the order of operations needs them."""
        text = self.value(node)
        if isinstance(node, ex.Arithmetic):
            inner, outer = _PRECEDENCE[node.op], _PRECEDENCE.get(parent_op, 3)
            if inner < outer or (right and inner == outer and parent_op in ("-", "/")):
                return f"({text})"
        return text

    @staticmethod
    def literal(value: Any, compared_with: Question | None) -> str:
        if isinstance(value, bool):
            if compared_with is not None and compared_with.type == "yes_no":
                return "«Sí»" if value else "«No»"
            return "verdadero" if value else "falso"
        if isinstance(value, (int, float)):
            return numero(value)
        if compared_with is not None and (option := compared_with.option(str(value))) is not None:
            return f"«{option.label}»"
        return f"«{value}»"


# --------------------------------------------------------------------------- the preview


def band_in_words(band: Band, unit: str | None = None) -> str:
    """«menos de 1», «de 1 a menos de 1,5», «1,5 o más» (a band holds min ≤ x < max)."""
    suffix = f" {unit}" if unit else ""
    if band.min is None and band.max is None:
        where = "cualquier valor"
    elif band.min is None:
        where = f"menos de {numero(band.max)}{suffix}"
    elif band.max is None:
        where = f"{numero(band.min)}{suffix} o más"
    else:
        where = f"de {numero(band.min)} a menos de {numero(band.max)}{suffix}"
    return f"{where}: {umbral(band.score)}"


def thresholds_in_words(thresholds: Thresholds) -> str:
    return f"verde desde {umbral(thresholds.green)}; rojo bajo {umbral(thresholds.red)}"


def _limits(question: Question) -> str | None:
    if is_year(question):  # a calendar year: 1961, never «1.961 año»
        number = lambda value: str(int(value))  # noqa: E731
        unit, kind = "", "año"
    else:
        number = numero
        unit = f" {question.unit}" if question.unit else ""
        kind = "número entero" if question.integer else None
    if question.min is not None and question.max is not None:
        text = f"entre {number(question.min)} y {number(question.max)}{unit}"
    elif question.min is not None:
        text = f"desde {number(question.min)}{unit}"
    elif question.max is not None:
        text = f"hasta {number(question.max)}{unit}"
    else:
        text = f"en {question.unit}" if question.unit and kind != "año" else ""
    return ", ".join(part for part in (kind, text) if part) or None


@dataclass
class QuestionView:
    question: Question
    type_words: str
    options: list[tuple[str, str, str | None]] = field(default_factory=list)  # value, label, score
    limits: str | None = None
    bands: list[str] = field(default_factory=list)
    relevant: str | None = None
    formula: str | None = None
    answers: list[str] = field(default_factory=list)


def question_view(question: Question, questionnaire: Questionnaire) -> QuestionView:
    view = QuestionView(question=question, type_words=TYPE_WORDS.get(question.type, question.type))
    if question.type == "yes_no":
        good_yes = question.good != "no"
        view.options = [
            ("true", "Sí", umbral(1.0 if good_yes else 0.0)),
            ("false", "No", umbral(0.0 if good_yes else 1.0)),
        ]
    for option in question.options:
        view.options.append((option.value, option.label, umbral(option.score) if option.score is not None else None))
    if question.type in ("number", "computed"):
        view.limits = _limits(question)
    view.bands = [band_in_words(band, question.unit) for band in question.bands]
    if question.relevant:
        view.relevant = expression_in_words(question.relevant, questionnaire)
    if question.formula:
        view.formula = expression_in_words(question.formula, questionnaire)
    if not question.required:
        view.answers.append("optativa")
    if question.na:
        view.answers.append("admite «No aplica»")
    return view


def preview(questionnaire: Questionnaire) -> dict[str, Any]:
    """What the preview page shows, in order."""
    dimensions = []
    for dimension in questionnaire.dimensions:
        subcategories = []
        for subcategory in dimension.subcategories:
            subcategories.append(
                {
                    "subcategory": subcategory,
                    "thresholds": thresholds_in_words(subcategory.thresholds),
                    "questions": [question_view(q, questionnaire) for q in subcategory.questions],
                }
            )
        dimensions.append(
            {
                "dimension": dimension,
                "thresholds": thresholds_in_words(dimension.thresholds),
                "subcategories": subcategories,
            }
        )
    checks = [
        {
            "check": check,
            "words": expression_in_words(check.expression, questionnaire),
            "severity": "Error (impide enviar)" if check.severity == "error" else "Advertencia",
        }
        for check in questionnaire.checks
    ]
    questions = questionnaire.questions
    return {
        "dimensions": dimensions,
        "checks": checks,
        "counts": {
            "dimensions": len(questionnaire.dimensions),
            "subcategories": sum(len(d.subcategories) for d in questionnaire.dimensions),
            "questions": len(questions),
            "scored": sum(1 for q in questions if q.scored),
            "critical": sum(1 for q in questions if q.critical),
            "conditional": sum(1 for q in questions if q.relevant),
        },
        "thresholds": thresholds_in_words(questionnaire.thresholds),
    }
