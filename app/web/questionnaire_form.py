"""Questionnaire forms shared by the web pages (manager self-diagnosis, field interviews).

The pages show a questionnaire one *section* at a time: a subcategory (the manager's
self-diagnosis) or a whole dimension (the field team's fast entry). This module turns a
section into the fields the templates draw (``templates/questionnaire/macros.html``) and a
posted form back into typed answers for ``app.responses.service.update_answers``. It is
pure: no database, no request; views pass the parsed questionnaire and the stored answers.

Typical use in a view::

    from app.web import questionnaire_form as qf

    secs = qf.sections(questionnaire, unit="subcategory")   # or unit="dimension"
    section = qf.section_by_number(secs, n)
    # GET: show the stored answers
    fields = qf.build_fields(questionnaire, section, answers)
    # POST: parse only the questions that page showed (hidden "shown" inputs)
    parsed = qf.parse_form(questionnaire, form, section)
    if parsed.errors:          # {question_id: Spanish message}; show beside each field
        fields = qf.build_fields(questionnaire, section, answers, posted=parsed)
    else:
        service.update_answers(..., answers=parsed.answers, version=int(form["version"]))

Form field names (the templates and ``parse_form`` agree on them):

- ``a.<question id>``: the answer. yes_no radios ``si``/``no``; choice radios with the
  option values; multi checkboxes with the option values; number, text and date inputs.
  yes_no and choice offer ``na`` (No aplica, only where the question has ``na: true``) and
  ``ns`` (No sé / prefiero no responder) as more radios of the same group;
- ``e.<question id>``: for multi, number, text and date, checkboxes ``na`` / ``ns``;
- ``shown``: one hidden input per question the page showed; only those are updated, and an
  empty one is saved as null (the answer is removed);
- ``version``: the response version the page read (optimistic concurrency).

Consistency checks (``questionnaire.checks``) are worked out on the server each time a page
is drawn, from the stored answers and what was just posted: each field carries the failed
checks that name it (``QuestionField.checks``), shown beside it; the review pages list them
with ``check_items`` (an error one blocks the submission).

Numbers are typed in a text box with a numeric keyboard (``inputmode``), not in an
``<input type="number">``: Chromium's number input silently reads the es-CL "1.500.000" as
1.5 and "2,5" as 25. ``parse_number`` accepts the es-CL way of writing them (``1.500.000``,
``2,5``) as well as plain ``1500000`` and ``2.5``; ``input_number`` writes a stored number
back in the same es-CL form.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

import scoring
from app.responses import lifecycle
from app.user_input import MAX_ID, parse_int
from reports import formatting as fmt
from scoring import Dimension, Question, Questionnaire, Subcategory

Unit = Literal["subcategory", "dimension"]

ANSWER_PREFIX = "a."
SPECIAL_PREFIX = "e."
SHOWN_FIELD = "shown"
VERSION_FIELD = "version"

NA_LABEL = "No aplica"
NS_LABEL = "No sé / prefiero no responder"
#: In an interview the field team records what the person interviewed said: third person.
NS_LABEL_INTERVIEW = "No sabe / no responde"
YES_NO_CHOICES = (("si", "Sí"), ("no", "No"))

#: The special answers, in words.
SPECIAL_TEXT = {"na": NA_LABEL, "ns": NS_LABEL}


def answer_name(question_id: str) -> str:
    """Name of the form field holding a question's answer."""
    return ANSWER_PREFIX + question_id


def special_name(question_id: str) -> str:
    """Name of the na/ns checkboxes of a multi, number, text or date question."""
    return SPECIAL_PREFIX + question_id


def anchor(question_id: str) -> str:
    """HTML id of a question's fieldset (``#p-<id>`` links from the review page)."""
    return "p-" + question_id


def uses_special_checkboxes(question: Question) -> bool:
    """yes_no and choice carry na/ns in their radio group; other types use checkboxes."""
    return question.type in ("multi", "number", "text", "date")


# --------------------------------------------------------------------------- sections


@dataclass(frozen=True)
class Section:
    """One page of the questionnaire: a subcategory, or a whole dimension."""

    number: int
    """1-based position among every section of the unit (stable whatever the answers)."""
    id: str
    title: str
    dimension: Dimension
    subcategory: Subcategory | None
    questions: tuple[Question, ...]
    """Every question of the section, in file order (relevant or not)."""

    @property
    def subcategories(self) -> tuple[Subcategory, ...]:
        return (self.subcategory,) if self.subcategory is not None else self.dimension.subcategories


def sections(questionnaire: Questionnaire, unit: Unit = "subcategory") -> list[Section]:
    """Every section of the questionnaire in file order: one per subcategory or per dimension."""
    result: list[Section] = []
    for dimension in questionnaire.dimensions:
        if unit == "dimension":
            questions = tuple(q for sub in dimension.subcategories for q in sub.questions)
            result.append(Section(len(result) + 1, dimension.id, dimension.title, dimension, None, questions))
        else:
            for sub in dimension.subcategories:
                result.append(Section(len(result) + 1, sub.id, sub.title, dimension, sub, tuple(sub.questions)))
    return result


def section_by_number(all_sections: list[Section], number: int) -> Section | None:
    return all_sections[number - 1] if 1 <= number <= len(all_sections) else None


def section_of_question(all_sections: list[Section], question_id: str) -> Section | None:
    for section in all_sections:
        if any(q.id == question_id for q in section.questions):
            return section
    return None


def relevance(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> dict[str, bool]:
    """Which questions are relevant under these answers (invalid stored answers ignored)."""
    return scoring.relevant_questions(questionnaire, _valid(questionnaire, answers))


def is_visible(section: Section, relevant: Mapping[str, bool]) -> bool:
    """A section is shown when at least one of its answerable (not computed) questions is relevant."""
    return any(relevant.get(q.id, False) and q.type != "computed" for q in section.questions)


def may_be_hidden(section: Section) -> bool:
    """Whether some answers hide the whole section (every question of it has a condition)."""
    answerable = [q for q in section.questions if q.type != "computed"]
    return bool(answerable) and all(q.relevant is not None for q in answerable)


def visible_sections(all_sections: list[Section], relevant: Mapping[str, bool]) -> list[Section]:
    return [s for s in all_sections if is_visible(s, relevant)]


def neighbours(
    all_sections: list[Section], current: Section, relevant: Mapping[str, bool]
) -> tuple[Section | None, Section | None]:
    """The previous and next visible sections around ``current``."""
    before = [s for s in all_sections[: current.number - 1] if is_visible(s, relevant)]
    after = [s for s in all_sections[current.number :] if is_visible(s, relevant)]
    return (before[-1] if before else None, after[0] if after else None)


def first_incomplete(
    all_sections: list[Section], questionnaire: Questionnaire, answers: Mapping[str, Any]
) -> Section | None:
    """Where a person stopped: the first visible section with an unanswered relevant required
    question (None when every required question is answered)."""
    missing = set(scoring.missing_required(questionnaire, _valid(questionnaire, answers)))
    for section in all_sections:
        if any(q.id in missing for q in section.questions):
            return section
    return None


# --------------------------------------------------------------------------- progress


@dataclass(frozen=True)
class Progress:
    answered: int
    total: int
    conditional: bool = False
    """Whether the total depends on the answers (questions shown only after some answers)."""

    @property
    def fraction(self) -> float:
        return self.answered / self.total if self.total else 1.0

    @property
    def text(self) -> str:
        """ "18 de 64 respondidas"."""
        return f"{self.answered} de {self.total} respondidas"

    @property
    def note(self) -> str | None:
        """Why the total may change while answering, when it may."""
        if not self.conditional:
            return None
        noun = "pregunta" if self.total == 1 else "preguntas"
        return f"{self.total} {noun} según sus respuestas: algunas aparecen o se omiten según lo que conteste."


def _progress_of(questions: Iterable[Question], answers: Mapping[str, Any], relevant: Mapping[str, bool]) -> Progress:
    questions = list(questions)
    counted = [q.id for q in questions if q.type != "computed" and relevant.get(q.id)]
    conditional = any(q.relevant is not None and q.type != "computed" for q in questions)
    return Progress(sum(1 for qid in counted if answers.get(qid) is not None), len(counted), conditional)


def progress(
    questionnaire: Questionnaire, answers: Mapping[str, Any], relevant: Mapping[str, bool] | None = None
) -> Progress:
    """Answered relevant questions (computed ones are not answered, so not counted)."""
    relevant = relevance(questionnaire, answers) if relevant is None else relevant
    return _progress_of(questionnaire.questions, answers, relevant)


def section_progress(section: Section, answers: Mapping[str, Any], relevant: Mapping[str, bool]) -> Progress:
    """The same count, for the questions of one section."""
    return _progress_of(section.questions, answers, relevant)


def posted_version(form: Any) -> int | None:
    """The response version a form carried (its hidden field), or None when missing or garbled."""
    return parse_int(form.get(VERSION_FIELD), minimum=0, maximum=MAX_ID)


@dataclass(frozen=True)
class MissingItem:
    question: Question
    section: Section


def missing_required(
    questionnaire: Questionnaire, answers: Mapping[str, Any], all_sections: list[Section]
) -> list[MissingItem]:
    """Unanswered relevant required questions, each with the section it is on (review page)."""
    items = []
    for qid in scoring.missing_required(questionnaire, _valid(questionnaire, answers)):
        section = section_of_question(all_sections, qid)
        if section is not None:
            items.append(MissingItem(questionnaire.question(qid), section))
    return items


def computed_values(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> dict[str, Any]:
    """Values of the computed questions that the answers define (e.g. a ratio)."""
    from scoring.engine import evaluate

    try:
        values = evaluate(questionnaire._plan, _valid(questionnaire, answers))[0]
    except Exception:  # noqa: BLE001 - a preview must never break a page
        return {}
    return {q.id: values[q.id] for q in questionnaire.questions if q.type == "computed" and q.id in values}


# --------------------------------------------------------------------------- consistency checks


def failed_checks(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> list[scoring.Check]:
    """The questionnaire's consistency checks that the answers break, in file order (stored
    answers that no longer validate are left out, as for relevance). A check whose questions
    are unanswered, «No sé», «No aplica» or not relevant cannot be judged and passes."""
    if not questionnaire.checks:
        return []
    return scoring.failed_checks(questionnaire, _valid(questionnaire, answers))


def check_items(
    questionnaire: Questionnaire, checks: Iterable[Any], *, severity: str | None = None
) -> list[dict[str, Any]]:
    """Checks as the pages list them: ``id``, ``severity`` ("error" or "warning"), ``message``
    and the ``questions`` it names ({id, text}), errors first. ``checks`` are scoring.Check
    objects or the dicts a snapshot stores (``consistency_warnings``: no severity, so
    ``severity`` says it) or a result preview lists."""
    items = []
    for check in checks:
        if isinstance(check, Mapping):
            data = dict(check)
        else:
            data = {
                "id": check.id,
                "severity": check.severity,
                "message": check.message,
                "questions": list(check.questions),
            }
        level = severity or data.get("severity") or "error"
        questions = [
            {
                "id": str(qid),
                "text": questionnaire.question(str(qid)).text if questionnaire.has_question(str(qid)) else str(qid),
            }
            for qid in data.get("questions") or []
        ]
        items.append(
            {
                "id": str(data.get("id", "")),
                "severity": "warning" if level == "warning" else "error",
                "message": str(data.get("message") or ""),
                "questions": questions,
            }
        )
    return sorted(items, key=lambda item: item["severity"] != "error")


def _valid(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers minus any that do not validate (stale answers must not break a page)."""
    bad = {e.question for e in lifecycle.answer_errors(questionnaire, dict(answers))}
    return {qid: value for qid, value in answers.items() if qid not in bad}


# --------------------------------------------------------------------------- answers in words


def answer_text(question: Question, value: Any) -> str:
    """An answer in words, as the form names it ("Sí", an option's label, "1.500.000 CLP",
    "No sé / prefiero no responder")."""
    return fmt.answer_in_words(question, value, special_words=SPECIAL_TEXT, separator=", ", decimals=None)


# --------------------------------------------------------------------------- fields


@dataclass
class QuestionField:
    """What a template needs to draw one question (see questionnaire/macros.html)."""

    question: Question
    relevant: bool
    value: Any = None
    """The stored answer."""
    raw: Any = ""
    """What the inputs show: a string (radio value or typed text) or, for multi, a list."""
    special: str = ""
    """"na" or "ns" when the special checkbox of a multi/number/text/date is ticked."""
    error: str | None = None
    newer: str | None = None
    """After a stale save: the newer saved answer, in words."""
    computed: Any = None
    """The value of a computed question, when the answers define it."""
    checks: list[scoring.Check] = field(default_factory=list)
    """The consistency checks naming this question that the answers break (shown beside it)."""

    @property
    def id(self) -> str:
        return self.question.id

    @property
    def name(self) -> str:
        return answer_name(self.question.id)

    @property
    def special_name(self) -> str:
        return special_name(self.question.id)

    @property
    def anchor(self) -> str:
        return anchor(self.question.id)

    @property
    def is_computed(self) -> bool:
        return self.question.type == "computed"

    @property
    def offers_na(self) -> bool:
        return self.question.na and not self.is_computed

    @property
    def offers_ns(self) -> bool:
        return not self.is_computed

    @property
    def uses_special_checkboxes(self) -> bool:
        return uses_special_checkboxes(self.question)

    @property
    def choices(self) -> list[tuple[str, str]]:
        """(value, label) of the radios or checkboxes, na/ns excluded."""
        if self.question.type == "yes_no":
            return list(YES_NO_CHOICES)
        return [(o.value, o.label) for o in self.question.options]

    @property
    def answer_text(self) -> str:
        return answer_text(self.question, self.value)

    @property
    def computed_text(self) -> str:
        if self.computed is None:
            return "Aún no se puede calcular: faltan los datos de los que depende."
        return fmt.answer_in_words(self.question, self.computed)

    @property
    def input_mode(self) -> str:
        """The phone keyboard: digits only for whole numbers, with a decimal separator otherwise."""
        return "numeric" if self.question.integer and (self.question.min or 0) >= 0 else "decimal"

    @property
    def is_ns(self) -> bool:
        """«No sé» is what the inputs show (its radio, or its checkbox)."""
        return (self.special if self.uses_special_checkboxes else self.raw) == "ns"

    def checked(self, option_value: str) -> bool:
        if isinstance(self.raw, list):
            return option_value in self.raw
        return self.raw == option_value


def input_number(value: float | int) -> str:
    """A stored number as the text box shows it, the es-CL way and without losing digits:
    1500000 → "1.500.000", 2.5 → "2,5" (``parse_number`` reads it back exactly)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        value = int(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    text = format(Decimal(repr(value)), "f") if isinstance(value, float) else str(value)
    sign = "-" if text.startswith("-") else ""
    whole, _, decimals = text.lstrip("-").partition(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return sign + ".".join(groups) + ("," + decimals if decimals else "")


def raw_of(question: Question, value: Any) -> tuple[Any, str]:
    """A stored answer as (input value, special checkbox value)."""
    if value is None:
        return ([] if question.type == "multi" else ""), ""
    if uses_special_checkboxes(question) and value in ("na", "ns"):
        return ([] if question.type == "multi" else ""), value
    if question.type == "yes_no":
        if value is True:
            return "si", ""
        if value is False:
            return "no", ""
        return str(value), ""
    if question.type == "multi":
        return (list(value) if isinstance(value, list) else []), ""
    if question.type == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return (str(int(value)) if fmt.is_year(question) else input_number(value)), ""
    return str(value), ""


def build_fields(
    questionnaire: Questionnaire,
    section: Section,
    answers: Mapping[str, Any],
    *,
    posted: ParsedForm | None = None,
    newer: Mapping[str, str] | None = None,
    include_hidden: bool = False,
) -> list[QuestionField]:
    """The fields of a section: relevant questions only (unless ``include_hidden``, for pages
    that toggle relevance in the browser), stored answers shown, or after a refused post the
    typed values with their errors; ``newer`` adds the newer saved value after a stale save."""
    merged = dict(answers)
    if posted is not None:
        merged.update({qid: v for qid, v in posted.answers.items()})
    relevant = relevance(questionnaire, merged)
    computed = computed_values(questionnaire, merged)
    failed = failed_checks(questionnaire, merged)
    fields = []
    for question in section.questions:
        is_relevant = relevant.get(question.id, False)
        if not is_relevant and not include_hidden:
            continue
        value = answers.get(question.id)
        raw, special = raw_of(question, value)
        error = None
        if posted is not None and question.id in posted.raw:
            raw, special = posted.raw[question.id], posted.special.get(question.id, "")
            error = posted.errors.get(question.id)
        fields.append(
            QuestionField(
                question=question,
                relevant=is_relevant,
                value=value,
                raw=raw,
                special=special,
                error=error,
                newer=(newer or {}).get(question.id),
                computed=computed.get(question.id),
                checks=[check for check in failed if question.id in check.questions],
            )
        )
    return fields


# --------------------------------------------------------------------------- posted forms


@dataclass
class ParsedForm:
    """A posted section: typed answers of the questions shown, and per-question problems."""

    answers: dict[str, Any] = field(default_factory=dict)
    """{question id: typed answer or None}, only for the questions the page showed."""
    errors: dict[str, str] = field(default_factory=dict)
    """{question id: Spanish message} for values that could not be read or are not valid."""
    raw: dict[str, Any] = field(default_factory=dict)
    """What was typed, to show again (a string, or a list for multi)."""
    special: dict[str, str] = field(default_factory=dict)


_ES_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$", re.ASCII)
_PLAIN = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$", re.ASCII)


def parse_number(text: str) -> float | int | None:
    """A number as people in Chile write it, or as a browser sends it; None if it is not one.

    ``1.500.000`` → 1500000, ``1.500.000,5`` → 1500000.5, ``2,5`` → 2.5, ``2.5`` → 2.5.
    Spaces and a leading ``$`` are ignored.
    """
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "").lstrip("$")
    if not cleaned:
        return None
    if _ES_THOUSANDS.match(cleaned):
        cleaned = cleaned.replace(".", "").replace(",", ".")
    elif _PLAIN.match(cleaned):
        cleaned = cleaned.replace(",", ".")
    else:
        return None
    try:
        number = float(cleaned)
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    if number.is_integer() and "." not in cleaned and abs(number) < 2**53:
        return int(number)
    return number


def _get_all(form: Any, name: str) -> list[str]:
    if hasattr(form, "getlist"):
        return [str(v) for v in form.getlist(name)]
    value = form.get(name)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def shown_ids(form: Any, section: Section) -> list[str]:
    """The questions the posted page showed, limited to the section's own questions."""
    own = {q.id for q in section.questions if q.type != "computed"}
    return [qid for qid in dict.fromkeys(_get_all(form, SHOWN_FIELD)) if qid in own]


def parse_form(
    questionnaire: Questionnaire, form: Any, section: Section, question_ids: Iterable[str] | None = None
) -> ParsedForm:
    """Read a posted section into typed answers (empty = None) and per-question errors.

    Only the questions listed in the form's ``shown`` inputs (or ``question_ids``) are read;
    each value is checked with ``lifecycle.answer_error`` (scoring's rules and the app's bounds
    on numbers), so what passes here is what ``update_answers`` accepts.
    """
    ids = list(question_ids) if question_ids is not None else shown_ids(form, section)
    parsed = ParsedForm()
    for qid in ids:
        if not questionnaire.has_question(qid):
            continue
        question = questionnaire.question(qid)
        if question.type == "computed":
            continue
        value, raw, special, error = _parse_one(question, form)
        parsed.raw[qid] = raw
        parsed.special[qid] = special
        if error is None and value is not None:
            problem = lifecycle.answer_error(questionnaire, qid, value)
            if problem is not None:
                error = sentence(problem.message)
        if error is not None:
            parsed.errors[qid] = error
        else:
            parsed.answers[qid] = value
    return parsed


def sentence(message: str) -> str:
    """A message as a sentence: capital first letter, final full stop."""
    message = message.strip()
    if not message:
        return message
    message = message[0].upper() + message[1:]
    return message if message.endswith(".") else message + "."


def _parse_one(question: Question, form: Any) -> tuple[Any, Any, str, str | None]:
    """(typed value, raw to show again, special, error) of one question."""
    values = [v for v in _get_all(form, answer_name(question.id))]
    specials = [v for v in _get_all(form, special_name(question.id)) if v]

    if question.type in ("yes_no", "choice"):
        raw = values[0].strip() if values else ""
        if len(set(values)) > 1:
            return None, raw, "", "Elija una sola opción."
        if raw == "":
            return None, raw, "", None
        if raw in ("na", "ns"):
            if raw == "na" and not question.na:
                return None, raw, "", "«No aplica» no está permitido en esta pregunta."
            return raw, raw, "", None
        if question.type == "yes_no":
            if raw == "si":
                return True, raw, "", None
            if raw == "no":
                return False, raw, "", None
            return None, raw, "", "Elija «Sí» o «No»."
        if question.option(raw) is None:
            return None, raw, "", "Elija una de las opciones de la lista."
        return raw, raw, "", None

    special = specials[0] if specials else ""
    if len(set(specials)) > 1:
        return (
            None,
            (values if question.type == "multi" else (values[0] if values else "")),
            special,
            (f"Marque solo una de «{NA_LABEL}» o «{NS_LABEL}»."),
        )
    if special and special not in ("na", "ns"):
        special = ""
    if special == "na" and not question.na:
        return (
            None,
            (values if question.type == "multi" else (values[0] if values else "")),
            special,
            ("«No aplica» no está permitido en esta pregunta."),
        )

    if question.type == "multi":
        chosen = [v for v in dict.fromkeys(values) if v]
        if special:
            if chosen:
                return None, chosen, special, f"Marque opciones o «{SPECIAL_TEXT[special]}», no ambas cosas."
            return special, chosen, special, None
        unknown = [v for v in chosen if question.option(v) is None]
        if unknown:
            return None, chosen, special, "Hay una opción que no es de la lista."
        # Nothing ticked: no answer (an explicit "none of them" needs its own option).
        return (chosen or None), chosen, special, None

    text = values[0] if values else ""
    if special:
        if text.strip():
            return None, text, special, f"Borre el valor escrito o desmarque «{SPECIAL_TEXT[special]}»."
        return special, text, special, None
    if not text.strip():
        return None, text, special, None

    if question.type == "number":
        number = parse_number(text)
        if number is None:
            return None, text, special, "Escriba un número, por ejemplo 1500000 o 2,5 (sin letras)."
        if question.integer and isinstance(number, float) and number.is_integer():
            number = int(number)
        return number, text, special, None
    if question.type == "date":
        cleaned = text.strip()
        match = re.match(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$", cleaned, re.ASCII)
        if match:  # dd-mm-aaaa, as people write dates in Chile
            cleaned = f"{match.group(3)}-{int(match.group(2)):02d}-{int(match.group(1)):02d}"
        try:
            date.fromisoformat(cleaned)
        except ValueError:
            return None, text, special, "Escriba una fecha válida (día, mes y año), por ejemplo 31-03-2026."
        return cleaned, text, special, None
    # text
    return text.strip(), text, special, None


# --------------------------------------------------------------------------- stale saves


def newer_values(
    questionnaire: Questionnaire, question_ids: Iterable[str], posted: Mapping[str, Any], current: Mapping[str, Any]
) -> dict[str, str]:
    """After a stale save (409): for each question whose newer saved answer differs from what
    was posted, that newer answer in words (shown beside the field; nothing is overwritten)."""
    result = {}
    for qid in question_ids:
        if not questionnaire.has_question(qid):
            continue
        mine, theirs = posted.get(qid), current.get(qid)
        if mine == theirs and type(mine) is type(theirs):
            continue
        result[qid] = answer_text(questionnaire.question(qid), theirs)
    return result
