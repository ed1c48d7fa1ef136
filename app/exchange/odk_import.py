"""Import of ODK Central and KoboToolbox submission exports of our XLSForm as field interviews.

``import_submissions(...)`` reads an export of the form ``app.exchange.xlsform`` writes for
the round's questionnaire version and turns each submission into a field interview
(``mode = interview``) of the cooperative whose RUT it names.

Files understood (``source``: ``odk``, ``kobo`` or ``auto``, recognised by their columns):

- ODK Central CSV: ``SubmissionDate``, the fields with their group path joined with ``-``
  (``dim-gobernanza-sub-asamblea-junta_anual``) or without group names, ``meta-instanceID``,
  ``KEY``, ``SubmitterID``, ``SubmitterName``, ``Status``, ``ReviewState``, ``FormVersion``…;
- ODK Central JSON (OData ``Submissions``): ``{"value": [...]}`` with groups as nested
  objects, ``__id``, ``meta.instanceID`` and ``__system`` (``submitterName``,
  ``submissionDate``, ``reviewState``, ``formVersion``);
- KoboToolbox CSV or XLSX: the fields (group paths joined with ``/``, or none), then ``_id``,
  ``_uuid``, ``_submission_time``, ``_validation_status``, ``_submitted_by``, ``__version__``;
  a ``select_multiple`` as one column of space-separated values and/or split into one column
  per option (``…/canales/feria``) holding 1/0 (or True/False);
- KoboToolbox JSON (``/api/v2/assets/<uid>/data.json``): ``{"results": [...]}`` with the same
  keys; a plain list of submissions is read too.

CSV and XLSX go through the shared reader (app.exchange.tabular: encodings, separators,
sizes); JSON is parsed here, within the same size limit.

How a submission becomes a response (the inverse of the XLSForm's contract):

- columns are recognised by name only: the last segment of a group path is the question id;
  ``calculate`` fields (computed questions) and their ``<id>_valor`` notes are ignored
  (coopdiag computes them); columns of neither ODK, Kobo nor the form are listed as warnings;
- ``si`` / ``no`` → true / false; ``na`` / ``ns`` stay the reserved answers; numbers are read
  with a ``.`` decimal point, as both tools export them; dates as ``AAAA-MM-DD``; an empty
  number, text or date with its companion ``<id>_sin_dato`` set takes ``ns`` / ``na``;
- every answer then goes through the API's own check (``scoring.validate_answer``), so a
  value the API would refuse is refused here, with the row, the column, the value and the
  reason in Spanish;
- the cooperative is found by ``rut_cooperativa`` (normalised: dots, hyphen and case do not
  matter). A RUT that is unknown, or of a cooperative the importing user may not see, is a
  row error with the same message (the registry's contents are not revealed);
- interview details: interviewer = ``SubmitterName`` / ``_submitted_by`` (the importing
  user's name when empty); institution = the importing user's institution, or the
  ``institution`` given with the upload; date = the form's ``start`` (the device's local
  date), else the submission time in Chile; place and interviewee's role = the columns
  ``lugar_entrevista`` / ``cargo_entrevistado`` when the file has them, else the values
  given with the upload (our XLSForm does not ask them);
- idempotency: the submission's instance id (``meta-instanceID``, ``meta/instanceID`` or
  ``_uuid``, written ``uuid:<id>``) is the response's idempotency key. A submission already
  imported is reported as such and left alone (the copy in coopdiag may have been corrected
  since); one edited in ODK Central after its import (its ``KEY`` or ``deprecatedID`` is
  the key of a response) is a row error, as is a cooperative that already has a response in
  the round. Two submissions of one cooperative, or one instance id twice, in the same file
  are errors naming both rows;
- submissions rejected in ODK Central (``ReviewState = rejected``) or not approved in
  KoboToolbox (``_validation_status``) are skipped, and reported as skipped;
- status: an interview whose answers are complete (every relevant required question
  answered, ``ns``/``na`` included) is *submitted* with its result frozen, exactly as the
  API's submit does; an incomplete one is left as a *draft* for the field team to finish.

All or nothing: by default nothing is written when any row has a problem (the answer is
422 with every problem); ``dry_run`` reports what would happen without writing; with
``all_or_nothing = False`` the valid rows are saved and the others reported. Either way
each row is atomic: a row is saved whole (response, answers, audit events, submission)
or not at all.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import scoring
from app import json_input
from app.auth import policy
from app.auth.models import User
from app.cooperatives.models import Cooperative
from app.cooperatives.schemas import format_rut, normalize_rut
from app.errors import Conflict, Forbidden, Invalid
from app.exchange import tabular
from app.exchange.tabular import Problem
from app.exchange.xlsform import (
    DIMENSION_GROUP_PREFIX,
    NA,
    NO,
    NO_DATA_SUFFIX,
    NS,
    RUT_FIELD,
    SUBCATEGORY_GROUP_PREFIX,
    VALUE_NOTE_SUFFIX,
    YES,
)
from app.reports.queueing import request_report
from app.responses import lifecycle
from app.responses.models import STATUS_LABELS, Response, ResponseMode, ResponseStatus
from app.responses.service import (
    INTERVIEW_FIELD_ES,
    MAX_IDEMPOTENCY_KEY,
    consistency_errors,
    record_events,
    round_questionnaire,
)
from app.rounds.service import get_round
from app.settings import Settings

CHILE = ZoneInfo("America/Santiago")
MAX_JSON_BYTES = tabular.MAX_UPLOAD_BYTES
MAX_SUBMISSIONS = tabular.MAX_ROWS
PLACE_COLUMN = "lugar_entrevista"
ROLE_COLUMN = "cargo_entrevistado"
_MAX_DETAIL = 200  # the length of the response's interview text columns


class Source(StrEnum):
    AUTO = "auto"
    ODK = "odk"
    KOBO = "kobo"


SOURCE_ES = {Source.ODK: "ODK Central", Source.KOBO: "KoboToolbox"}


class Outcome(StrEnum):
    CREATED = "created"  # saved now
    TO_CREATE = "to_create"  # valid; saved unless this is a dry run or another row failed
    ALREADY_IMPORTED = "already_imported"
    SKIPPED = "skipped"  # rejected / not approved in ODK Central or KoboToolbox
    REFUSED = "refused"  # has problems


OUTCOME_ES = {
    Outcome.CREATED: "importada",
    Outcome.TO_CREATE: "se importaría",
    Outcome.ALREADY_IMPORTED: "ya importada",
    Outcome.SKIPPED: "omitida",
    Outcome.REFUSED: "rechazada",
}


@dataclass(frozen=True, slots=True)
class InterviewDefaults:
    """Interview details the form does not collect, given with the upload."""

    institution: str | None = None
    interview_place: str | None = None
    interviewee_role: str | None = None


# --------------------------------------------------------------------------- columns of the form


class Role(StrEnum):
    ANSWER = "answer"  # the question's own column
    NO_DATA = "no_data"  # its <id>_sin_dato companion
    OPTION = "option"  # one option of a select_multiple split into columns
    IGNORED = "ignored"  # calculate fields, notes, and export columns coopdiag does not need
    META = "meta"


@dataclass(frozen=True, slots=True)
class Target:
    role: Role
    name: str  # question id, or the metadata field
    option: str | None = None


#: Export metadata, by field: the column names ODK Central and KoboToolbox give it (JSON
#: objects are flattened with ``/``: ``__system/submitterName``). Compared ignoring case.
_META_COLUMNS: dict[str, tuple[str, ...]] = {
    "instance_id": ("meta-instanceID", "meta/instanceID", "instanceID", "_uuid", "__id"),
    "key": ("KEY",),
    "deprecated_id": ("meta-deprecatedID", "meta/deprecatedID"),
    "submitter": ("SubmitterName", "__system/submitterName", "_submitted_by"),
    "submitted_at": ("SubmissionDate", "__system/submissionDate", "_submission_time"),
    "review": ("ReviewState", "__system/reviewState", "_validation_status", "_validation_status/uid"),
    "status": ("Status", "__system/status"),
    "form_version": ("FormVersion", "__system/formVersion"),
    "start": ("start",),
    "rut": (RUT_FIELD,),
    "place": (PLACE_COLUMN,),
    "role": (ROLE_COLUMN,),
}
#: Columns of the exports that carry nothing coopdiag keeps.
_IGNORED_COLUMNS = (
    "end",
    "SubmitterID",
    "DeviceID",
    "Edits",
    "AttachmentsPresent",
    "AttachmentsExpected",
    "UserAgent",
    "meta-instanceName",
    "meta/instanceName",
    "meta/rootUuid",
    "meta-rootUuid",
    "meta/entity",
    "formhub/uuid",
    "__system/submitterId",
    "__system/attachmentsPresent",
    "__system/attachmentsExpected",
    "__system/deviceId",
    "__system/edits",
    "__system/updatedAt",
    "__system/deletedAt",
    "_id",
    "_index",
    "_parent_index",
    "_parent_table_name",
    "_tags",
    "_notes",
    "_status",
    "_geolocation",
    "_attachments",
    "__version__",
    "_version_",
    "_xform_id_string",
    "_validation_status/label",
    "_validation_status/by_whom",
    "_validation_status/timestamp",
    "_validation_status/color",
    "_submission__id",
    "_submission__uuid",
    "_submission__submission_time",
    "_submission__validation_status",
    "_submission__notes",
    "_submission__status",
    "_submission__submitted_by",
    "_submission___version__",
    "_submission__tags",
    "_submission__index",
    "@odata.etag",
)
_ODK_MARKERS = {
    "meta-instanceid",
    "key",
    "submissiondate",
    "submittername",
    "submitterid",
    "formversion",
    "reviewstate",
    "__id",
    "__system/submissiondate",
    "__system/submittername",
}
_KOBO_MARKERS = {
    "_uuid",
    "_submission_time",
    "_submitted_by",
    "_validation_status",
    "__version__",
    "_id",
    "_validation_status/uid",
    "formhub/uuid",
}
_GROUP_SEPARATORS = ("-", "/", ".")
_CHOICE_SEPARATORS = ("/", "-", ".")


class FormColumns:
    """Every column name an export of the questionnaire's XLSForm can have, and its meaning."""

    def __init__(self, questionnaire: scoring.Questionnaire) -> None:
        self.questionnaire = questionnaire
        self.questions = {question.id: question for question in questionnaire.questions}
        self.exact: dict[str, Target] = {}
        self.folded: dict[str, Target] = {}
        for name, columns in _META_COLUMNS.items():
            for column in columns:
                self.folded[column.lower()] = Target(Role.META, name)
        for column in _IGNORED_COLUMNS:
            self.folded[column.lower()] = Target(Role.IGNORED, column)
        for dimension in questionnaire.dimensions:
            groups = (DIMENSION_GROUP_PREFIX + dimension.id,)
            for subcategory in dimension.subcategories:
                path = (*groups, SUBCATEGORY_GROUP_PREFIX + subcategory.id)
                for question in subcategory.questions:
                    self._add_question(path, question)

    def _names(self, path: tuple[str, ...], name: str) -> list[str]:
        return [name, *(separator.join((*path, name)) for separator in _GROUP_SEPARATORS)]

    def _add_question(self, path: tuple[str, ...], question: scoring.Question) -> None:
        qid = question.id
        if question.type == "computed":
            for name in (qid, qid + VALUE_NOTE_SUFFIX):
                for column in self._names(path, name):
                    self.exact[column] = Target(Role.IGNORED, qid)
            return
        for column in self._names(path, qid):
            self.exact[column] = Target(Role.ANSWER, qid)
        for column in self._names(path, qid + NO_DATA_SUFFIX):
            self.exact[column] = Target(Role.NO_DATA, qid)
        if question.type == "multi":
            options = [option.value for option in question.options] + ([NA] if question.na else []) + [NS]
            for base in self._names(path, qid):
                for separator in _CHOICE_SEPARATORS:
                    for option in options:
                        self.exact.setdefault(f"{base}{separator}{option}", Target(Role.OPTION, qid, option))

    def target(self, column: str) -> Target | None:
        return self.exact.get(column) or self.folded.get(column.lower())


# --------------------------------------------------------------------------- reading the file


@dataclass
class Export:
    source: Source
    format: str  # csv | xlsx | json
    columns: list[str]  # as the file names them (JSON: flattened with "/")
    records: list[tuple[int, dict[str, Any]]]  # (row as the user sees it, {column: value})


def read_export(content: bytes, filename: str, source: Source) -> Export:
    """The submissions of an ODK Central or KoboToolbox export; Invalid (in Spanish) when the
    file cannot be read or is not such an export."""
    name = filename or "archivo"
    if name.lower().endswith(".json") or content.lstrip()[:1] in (b"{", b"["):
        columns, records = _read_json(content, name)
        kind = "json"
    else:
        try:
            table = tabular.read_table(content, name)
        except tabular.TabularError as error:
            # code «too_large» is answered 413 by app/http_errors.py
            raise Invalid(
                error.message, code=error.code, details=[p.as_detail(error.code) for p in error.problems]
            ) from None
        text = {header.key: header.text for header in table.headers}
        columns = [header.text for header in table.headers]
        records = [(number, {text[key]: value for key, value in row.items()}) for number, row in table.rows]
        kind = table.kind
    return Export(source=_detect_source(columns, source, name), format=kind, columns=columns, records=records)


def _read_json(content: bytes, name: str) -> tuple[list[str], list[tuple[int, dict[str, Any]]]]:
    if len(content) > MAX_JSON_BYTES:
        size = f"{len(content) / (1024 * 1024):.1f}".replace(".", ",")
        limit = f"{MAX_JSON_BYTES / (1024 * 1024):.1f}".replace(".", ",")
        raise Invalid(f"El archivo «{name}» pesa {size} MB; el máximo es {limit} MB.", code="too_large")
    try:
        data = json_input.loads(content.decode("utf-8-sig"))
    except json_input.TooDeep as error:
        raise Invalid(
            f"El archivo «{name}» tiene listas u objetos anidados en más de {error.limit} niveles: no es una "
            "exportación de ODK Central ni de KoboToolbox.",
            code="invalid_json",
        ) from None
    except (UnicodeDecodeError, ValueError) as error:
        where = f" (línea {error.lineno}, columna {error.colno})" if isinstance(error, json.JSONDecodeError) else ""
        raise Invalid(f"El archivo «{name}» no es JSON válido{where}.", code="invalid_json") from None
    if isinstance(data, dict):
        data = data.get("value", data.get("results"))
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise Invalid(
            f'El archivo «{name}» no es una exportación JSON de ODK Central ({{"value": [...]}}) ni de '
            'KoboToolbox ({"results": [...]}): debe contener una lista de envíos.',
            code="invalid_json",
        )
    if len(data) > MAX_SUBMISSIONS:
        raise Invalid(
            f"El archivo «{name}» tiene {len(data)} envíos; el máximo es {MAX_SUBMISSIONS}: divídalo en varios.",
            code="too_many_rows",
        )
    records = [(index, _flatten(item)) for index, item in enumerate(data, start=1)]
    columns = list(dict.fromkeys(column for _, record in records for column in record))
    return columns, records


def _flatten(item: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects (ODK's groups, ``meta``, ``__system``) become ``a/b/c`` keys."""
    flat: dict[str, Any] = {}
    for key, value in item.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "/"))
        else:
            flat[name] = value
    return flat


def _detect_source(columns: Iterable[str], wanted: Source, name: str) -> Source:
    folded = {column.lower() for column in columns}
    odk = bool(folded & _ODK_MARKERS)
    kobo = bool(folded & _KOBO_MARKERS)
    if wanted == Source.AUTO:
        if odk == kobo:
            raise Invalid(
                f"No se reconoce «{name}» como una exportación de ODK Central (columnas SubmissionDate, "
                "meta-instanceID, KEY…) ni de KoboToolbox (columnas _uuid, _submission_time…). "
                "Indique source=odk o source=kobo, o exporte de nuevo con los metadatos.",
                code="unknown_source",
            )
        return Source.ODK if odk else Source.KOBO
    other = Source.KOBO if wanted == Source.ODK else Source.ODK
    if (kobo if wanted == Source.ODK else odk) and not (odk if wanted == Source.ODK else kobo):
        raise Invalid(
            f"«{name}» parece una exportación de {SOURCE_ES[other]}, no de {SOURCE_ES[wanted]}: "
            f"indique source={other.value} o source=auto.",
            code="wrong_source",
        )
    return wanted


# --------------------------------------------------------------------------- one submission


@dataclass
class Submission:
    """One row of the export, read: what it says and what is wrong with it."""

    row: int
    key: str | None = None
    key_column: str | None = None
    earlier_keys: tuple[str, ...] = ()
    rut: str | None = None
    rut_shown: str | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None  # why, when rejected in the tool
    problems: list[Problem] = field(default_factory=list)
    cooperative: Cooperative | None = None
    complete: bool = False
    outcome: Outcome | None = None
    response_id: int | None = None
    message: str | None = None

    def problem(self, column: str | None, value: Any, reason: str) -> None:
        self.problems.append(Problem(reason, row=self.row, column=column, value=tabular.show_value(value)))


@dataclass
class _Layout:
    """Which column of this file holds what."""

    answers: dict[str, str] = field(default_factory=dict)  # question id -> column
    no_data: dict[str, str] = field(default_factory=dict)
    options: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))  # qid -> option -> column
    meta: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    unknown: list[str] = field(default_factory=list)


def _layout(form: FormColumns, columns: list[str]) -> tuple[_Layout, list[Problem]]:
    layout, problems = _Layout(), []
    for column in columns:
        target = form.target(column)
        if target is None:
            layout.unknown.append(column)
            continue
        slot: dict[str, str] | None = {
            Role.ANSWER: layout.answers,
            Role.NO_DATA: layout.no_data,
        }.get(target.role)
        if target.role == Role.OPTION:
            slot, name = layout.options[target.name], target.option
        else:
            name = target.name
        if target.role == Role.META:
            layout.meta[name].append(column)
            continue
        if slot is None:
            continue
        if name in slot:
            problems.append(
                Problem(
                    f"las columnas «{slot[name]}» y «{column}» son la misma pregunta; deje solo una",
                    column=column,
                )
            )
            continue
        slot[name] = column
    return layout, problems


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _meta(layout: _Layout, record: dict[str, Any], name: str) -> tuple[str | None, Any]:
    """The first non-empty column of a metadata field: (column, value)."""
    for column in layout.meta.get(name, ()):
        value = record.get(column)
        if _text(value):
            return column, value
    columns = layout.meta.get(name)
    return (columns[0] if columns else None), None


def _instance_key(value: Any) -> str:
    text = _text(value)
    return "uuid:" + text.removeprefix("uuid:")


_NUMBER_TEXT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def _number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, (int, float)):
        number = value
    else:
        text = _text(value)
        if not _NUMBER_TEXT.match(text):
            raise ValueError
        number = float(text) if any(ch in text for ch in ".eE") else int(text)
    if isinstance(number, float) and number.is_integer() and abs(number) < 2**53:
        return int(number)
    return number


_SELECTED = {"1", "1.0", "true", "verdadero", "x", "si", "yes"}
_UNSELECTED = {"", "0", "0.0", "false", "falso", "no"}


class _Reader:
    """Turns the cells of one submission into answers, in the form's contract."""

    def __init__(self, form: FormColumns, layout: _Layout) -> None:
        self.form = form
        self.layout = layout

    def answers(self, submission: Submission, record: dict[str, Any]) -> None:
        """Read every answer, then check them all with the API's rules (``validate_answers``
        runs the same per-question check as the autosave's ``validate_answer``)."""
        shown: dict[str, tuple[str, Any]] = {}  # question id -> (column, cell) for the reports
        for question in self.form.questionnaire.questions:
            if question.type == "computed":
                continue
            column = self.layout.answers.get(question.id)
            if question.type == "multi" and (
                column is None or (not _text(record.get(column)) and self.layout.options.get(question.id))
            ):
                value, column = self.split_options(submission, question, record)
                cell = value
            else:
                cell = record.get(column) if column else None
                value = self.value(submission, question, column, cell)
                if value is _BAD:
                    continue
            answer = self.no_data(submission, question, record, value, column)
            if answer is _BAD or answer is None:
                continue
            if value is None:  # the answer is the companion's ns / na
                column = self.layout.no_data[question.id]
                cell = record.get(column)
            submission.answers[question.id] = answer
            shown[question.id] = (column or question.id, cell)
        for error in lifecycle.answer_errors(self.form.questionnaire, submission.answers):
            column, cell = shown[error.question]
            submission.problem(column, cell, error.message)
            del submission.answers[error.question]

    def value(self, submission: Submission, question: scoring.Question, column: str | None, raw: Any) -> Any:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        text = _text(raw)
        if text in (NA, NS) and question.type != "text":
            return text
        if question.type == "yes_no":
            if isinstance(raw, bool):
                return raw
            if text in (YES, NO):
                return text == YES
            submission.problem(
                column, raw, f"se espera «{YES}», «{NO}», «{NS}»" + (f" o «{NA}»" if question.na else "")
            )
            return _BAD
        if question.type == "choice":
            return text
        if question.type == "multi":
            values = raw if isinstance(raw, list) else text.split()
            return self.selection(submission, question, column, raw, [str(item) for item in values])
        if question.type == "number":
            try:
                return _number(raw)
            except ValueError:
                submission.problem(
                    column, raw, "no es un número (ODK y KoboToolbox exportan con punto decimal: 1500.5)"
                )
                return _BAD
        if question.type == "date":
            if isinstance(raw, datetime):
                return raw.date().isoformat()
            if isinstance(raw, date):
                return raw.isoformat()
            return text[:10] if len(text) > 10 and text[10] == "T" else text
        return text  # text

    def selection(
        self, submission: Submission, question: scoring.Question, column: str | None, raw: Any, chosen: list[str]
    ) -> Any:
        if not chosen:
            return None
        reserved = [value for value in chosen if value in (NA, NS)]
        if reserved:
            if len(chosen) > 1:
                submission.problem(column, raw, "«no aplica» y «no sabe» no se pueden marcar junto con otras opciones")
                return _BAD
            return reserved[0]
        return chosen

    def split_options(
        self, submission: Submission, question: scoring.Question, record: dict[str, Any]
    ) -> tuple[Any, str | None]:
        columns = self.layout.options.get(question.id) or {}
        if not columns:
            return None, None
        chosen, bad = [], False
        for option, column in columns.items():
            raw = record.get(column)
            text = _text(raw).lower()
            if raw is True or text in _SELECTED:
                chosen.append(option)
            elif not (raw is False or raw is None or text in _UNSELECTED):
                submission.problem(column, raw, "una columna de opción lleva 1 (marcada) o 0 (no marcada)")
                bad = True
        first = next(iter(columns.values()))
        if bad:
            return _BAD, first
        ordered = [o.value for o in question.options if o.value in chosen] + [v for v in (NA, NS) if v in chosen]
        return self.selection(submission, question, first, "; ".join(ordered), ordered), first

    def no_data(
        self, submission: Submission, question: scoring.Question, record: dict[str, Any], value: Any, column: str | None
    ) -> Any:
        companion = self.layout.no_data.get(question.id)
        raw = record.get(companion) if companion else None
        if not _text(raw):
            return value
        text = _text(raw)
        if text not in (NA, NS):
            submission.problem(
                companion,
                raw,
                f"«sin dato» se responde «{NS}» (no sabe)" + (f" o «{NA}» (no aplica)" if question.na else ""),
            )
            return _BAD
        if value is not None and value is not _BAD:
            submission.problem(companion, raw, "la pregunta tiene respuesta y también «sin dato»; deje solo una")
            return _BAD
        return value if value is _BAD else text


_BAD = object()  # a value already reported as a problem


# --------------------------------------------------------------------------- the import


@dataclass
class ImportReport:
    source: Source
    format: str
    dry_run: bool
    all_or_nothing: bool
    submissions: list[Submission]
    warnings: list[str]
    saved: bool = False

    @property
    def problems(self) -> list[Problem]:
        return [problem for submission in self.submissions for problem in submission.problems]

    def count(self, outcome: Outcome) -> int:
        return sum(1 for s in self.submissions if s.outcome == outcome)

    def message(self) -> str:
        refused = self.count(Outcome.REFUSED)
        created = self.count(Outcome.CREATED)
        to_create = self.count(Outcome.TO_CREATE)
        parts = [
            f"{len(self.submissions)} envío{'s' if len(self.submissions) != 1 else ''} de {SOURCE_ES[self.source]}"
        ]
        if self.dry_run:
            parts.append(f"se importarían {to_create}")
        elif self.saved or created:
            parts.append(f"importados {created}")
        elif to_create:
            parts.append(f"{to_create} válidos no se importaron porque hay errores (todo o nada)")
        for outcome, label in (
            (Outcome.ALREADY_IMPORTED, "ya importados"),
            (Outcome.SKIPPED, "omitidos"),
            (Outcome.REFUSED, "con errores"),
        ):
            if self.count(outcome):
                parts.append(f"{label} {self.count(outcome)}")
        text = "; ".join(parts) + "."
        if refused and self.all_or_nothing and not self.dry_run:
            text += " No se importó nada: corrija los errores y vuelva a subir el archivo."
        return text

    def to_dict(self) -> dict[str, Any]:
        """The report, in the shape of the other importers' (``dry_run``, ``committed``,
        ``summary``, ``problems`` as error details), plus one entry per row."""
        submitted = sum(1 for s in self.submissions if s.outcome in (Outcome.CREATED, Outcome.TO_CREATE) and s.complete)
        return {
            "dry_run": self.dry_run,
            "committed": self.saved,
            "all_or_nothing": self.all_or_nothing,
            "source": self.source.value,
            "format": self.format,
            "message": self.message(),
            "summary": {
                "rows": len(self.submissions),
                **{outcome.value: self.count(outcome) for outcome in Outcome},
                "submitted": submitted,
                "drafts": self.count(Outcome.CREATED) + self.count(Outcome.TO_CREATE) - submitted,
                "problems": len(self.problems),
            },
            "rows": [_row_dict(s) for s in self.submissions],
            "problems": [p.as_detail("invalid_row") for p in self.problems],
            "warnings": self.warnings,
        }


def _row_dict(submission: Submission) -> dict[str, Any]:
    cooperative = submission.cooperative
    return {
        "row": submission.row,
        "key": submission.key,
        "rut": submission.rut or submission.rut_shown,
        "cooperative_id": cooperative.id if cooperative is not None else None,
        "cooperative_name": cooperative.name if cooperative is not None else None,
        "outcome": submission.outcome.value if submission.outcome else None,
        "outcome_es": OUTCOME_ES[submission.outcome] if submission.outcome else None,
        "status": (ResponseStatus.SUBMITTED.value if submission.complete else ResponseStatus.DRAFT.value)
        if submission.outcome in (Outcome.CREATED, Outcome.TO_CREATE)
        else None,
        "response_id": submission.response_id,
        "answered": len(submission.answers),
        "message": submission.message,
    }


def import_submissions(
    *,
    session: Session,
    user: User,
    settings: Settings,
    round_id: int,
    content: bytes,
    filename: str,
    source: Source = Source.AUTO,
    dry_run: bool = False,
    all_or_nothing: bool = True,
    defaults: InterviewDefaults = InterviewDefaults(),
) -> ImportReport:
    """Import an export into the round; see the module docstring. Raises Invalid (422) with
    every row problem when ``all_or_nothing`` and not ``dry_run`` and any row fails."""
    if not policy.can_use_interview_spreadsheets(user):
        raise Forbidden("Solo los equipos de terreno, analistas y administradores pueden importar entrevistas.")
    round_ = get_round(session=session, round_id=round_id)
    lifecycle.require_open(round_, "importar entrevistas")
    institution = (defaults.institution or user.institution or "").strip()
    if not institution:
        raise Invalid(
            "Indique la institución de las entrevistas (campo «institution»): su cuenta no tiene una registrada.",
            details=[{"field": "institution", "code": "missing", "message": "falta la institución"}],
        )
    questionnaire = round_questionnaire(session=session, round=round_)
    export = read_export(content, filename, source)
    form = FormColumns(questionnaire)
    layout, column_problems = _layout(form, export.columns)
    _check_layout(export, layout, column_problems, questionnaire)

    reader = _Reader(form, layout)
    submissions = []
    for row, record in export.records:
        submission = Submission(row=row)
        _read_submission(submission, record, layout, reader, export.source, questionnaire)
        _interview_details(submission, record, layout, user, institution, defaults)
        submissions.append(submission)
    _match(session, user, settings, round_.id, submissions)
    _decide(questionnaire, submissions)

    report = ImportReport(
        source=export.source,
        format=export.format,
        dry_run=dry_run,
        all_or_nothing=all_or_nothing,
        submissions=submissions,
        warnings=_warnings(layout),
    )
    failed = any(s.outcome == Outcome.REFUSED for s in submissions)
    if dry_run or (failed and all_or_nothing):  # nothing was written
        if failed and all_or_nothing and not dry_run:
            raise _refused(report)
        return report
    _save(session, user, round_, questionnaire, report)
    return report


def _refused(report: ImportReport) -> Invalid:
    problems = report.problems
    rows = len({p.row for p in problems})
    return Invalid(
        f"Hay {len(problems)} problema{'s' if len(problems) != 1 else ''} en {rows} fila{'s' if rows != 1 else ''}; "
        "no se importó nada. Corrija el archivo (o importe solo las filas válidas con all_or_nothing=false).",
        code="import_refused",
        details=[p.as_detail("invalid_row") for p in problems],
        extra={"report": report.to_dict()},
    )


def _check_layout(
    export: Export, layout: _Layout, problems: list[Problem], questionnaire: scoring.Questionnaire
) -> None:
    if not layout.meta.get("rut"):
        problems.append(
            Problem(
                f"falta la columna «{RUT_FIELD}»: el archivo no es una exportación del formulario XLSForm de coopdiag",
                column=RUT_FIELD,
            )
        )
    if not layout.meta.get("instance_id"):
        names = "meta-instanceID" if export.source == Source.ODK else "_uuid"
        problems.append(
            Problem(
                f"falta la columna «{names}»: es la clave de cada envío, que evita importarlo dos veces",
                column=names,
            )
        )
    if not (layout.answers or layout.options or layout.no_data):
        problems.append(
            Problem(
                f"ninguna columna es una pregunta del cuestionario «{questionnaire.title}» (versión "
                f"{questionnaire.version}); ¿es la exportación de otro formulario, o con etiquetas en vez de nombres? "
                "Exporte con los nombres XML de las preguntas",
            )
        )
    if problems:
        raise Invalid(
            problems[0].message() + (f" (y {len(problems) - 1} problema(s) más)" if len(problems) > 1 else ""),
            code="bad_columns",
            details=[p.as_detail("bad_columns") for p in problems],
        )


def _warnings(layout: _Layout) -> list[str]:
    if not layout.unknown:
        return []
    shown = ", ".join(f"«{column}»" for column in layout.unknown[:20])
    more = f" y {len(layout.unknown) - 20} más" if len(layout.unknown) > 20 else ""
    return [f"Columnas que no son del formulario y no se importan: {shown}{more}."]


_REJECTED_REVIEW = {"rejected", "validation_status_not_approved", "not approved", "no aprobado"}


def _read_submission(
    submission: Submission,
    record: dict[str, Any],
    layout: _Layout,
    reader: _Reader,
    source: Source,
    questionnaire: scoring.Questionnaire,
) -> None:
    column, value = _meta(layout, record, "instance_id")
    submission.key_column = column
    if not _text(value):
        submission.problem(column, value, "falta la clave del envío (instanceID): no se puede importar sin ella")
    else:
        submission.key = _instance_key(value)
        if len(submission.key) > MAX_IDEMPOTENCY_KEY:
            submission.problem(
                column, value, f"la clave del envío es demasiado larga (máximo {MAX_IDEMPOTENCY_KEY} caracteres)"
            )
            submission.key = None
    submission.earlier_keys = tuple(
        _instance_key(value)
        for name in ("key", "deprecated_id")
        for value in [_meta(layout, record, name)[1]]
        if _text(value)
    )
    _, review = _meta(layout, record, "review")
    if _text(review).lower() in _REJECTED_REVIEW:
        submission.skipped = (
            "rechazada en ODK Central" if source == Source.ODK else "marcada «no aprobada» en KoboToolbox"
        )
    column, status = _meta(layout, record, "status")
    if _text(status):  # Central's "missing encrypted form data" / "not decrypted"
        submission.problem(column, status, "el envío está cifrado y no se descifró al exportarlo")
    column, version = _meta(layout, record, "form_version")
    if _text(version) and _text(version) != questionnaire.version:
        submission.problem(
            column,
            version,
            f"el envío es de la versión «{_text(version)}» del formulario; la ronda usa la versión «{questionnaire.version}»",
        )
    column, rut = _meta(layout, record, "rut")
    submission.rut_shown = _text(rut) or None
    try:
        submission.rut = normalize_rut(_text(rut))
    except ValueError as error:
        submission.problem(column or RUT_FIELD, rut, str(error))
    reader.answers(submission, record)


def _interview_details(
    submission: Submission,
    record: dict[str, Any],
    layout: _Layout,
    user: User,
    institution: str,
    defaults: InterviewDefaults,
) -> None:
    _, submitter = _meta(layout, record, "submitter")
    details = {
        "interviewer_name": _text(submitter) or user.full_name,
        "institution": institution,
        "interview_date": _interview_date(submission, layout, record),
        "interview_place": _text(_meta(layout, record, "place")[1]) or (defaults.interview_place or "").strip(),
        "interviewee_role": _text(_meta(layout, record, "role")[1]) or (defaults.interviewee_role or "").strip(),
    }
    columns = {"interview_place": PLACE_COLUMN, "interviewee_role": ROLE_COLUMN}
    for name, value in details.items():
        if isinstance(value, str) and len(value) > _MAX_DETAIL:
            submission.problem(columns.get(name, name), value, f"el texto tiene más de {_MAX_DETAIL} caracteres")
        elif value in (None, "") and name in columns:
            submission.problem(
                columns[name],
                None,
                f"falta el dato «{INTERVIEW_FIELD_ES[name]}»: el formulario no lo pregunta; indíquelo al subir el "
                f"archivo (campo «{name}») o agregue la columna «{columns[name]}»",
            )
    # The lifecycle's own rules for the details (e.g. the date not in the future), per row.
    for problem in lifecycle.interview_problems(
        details, ResponseMode.INTERVIEW.value, today=datetime.now(timezone.utc).date()
    ):
        if problem["code"] != "missing":  # missing details are reported above, with their column
            submission.problem(
                columns.get(problem["field"], problem["field"]), details.get(problem["field"]), problem["message"]
            )
    submission.details = details


def _interview_date(submission: Submission, layout: _Layout, record: dict[str, Any]) -> date | None:
    for name, local in (("start", True), ("submitted_at", False)):
        column, value = _meta(layout, record, name)
        if not _text(value):
            continue
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, date):
            return value
        else:
            try:
                moment = datetime.fromisoformat(_text(value).replace("Z", "+00:00"))
            except ValueError:
                submission.problem(column, value, "no es una fecha y hora ISO 8601 (2026-10-05T10:15:00-03:00)")
                return None
        if moment.tzinfo is not None and not local:
            moment = moment.astimezone(CHILE)
        elif moment.tzinfo is None and not local:
            moment = moment.replace(tzinfo=timezone.utc).astimezone(CHILE)  # Kobo's _submission_time is UTC
        return moment.date()
    submission.problem("start", None, "falta la fecha de la entrevista (columnas start o SubmissionDate)")
    return None


def _rows_in(session: Session, entity: type, column: Any, values: set, *conditions: Any, size: int = 500) -> list:
    """The rows whose ``column`` is one of ``values``, asked in chunks (SQLite and the
    drivers limit the parameters of one statement)."""
    ordered = sorted(values)
    rows = []
    for start in range(0, len(ordered), size):
        rows += session.scalars(select(entity).where(column.in_(ordered[start : start + size]), *conditions)).all()
    return rows


def _match(session: Session, user: User, settings: Settings, round_id: int, submissions: list[Submission]) -> None:
    """Cooperatives by RUT, responses already made, and duplicates within the file."""
    cooperatives = {
        c.rut: c for c in _rows_in(session, Cooperative, Cooperative.rut, {s.rut for s in submissions if s.rut})
    }
    for submission in submissions:
        if submission.rut is None:
            continue
        cooperative = cooperatives.get(submission.rut)
        if cooperative is None or not policy.can_view_cooperative(user, cooperative, settings):
            submission.problem(
                RUT_FIELD,
                submission.rut_shown,
                f"no hay una cooperativa con RUT {format_rut(submission.rut)} en el registro, o no tiene acceso a ella",
            )
        elif not policy.can_import_interview(user, cooperative, settings):
            submission.problem(
                RUT_FIELD, submission.rut_shown, "no tiene permiso para registrar entrevistas de esta cooperativa"
            )
        else:
            submission.cooperative = cooperative

    keys = {s.key for s in submissions if s.key} | {k for s in submissions for k in s.earlier_keys}
    by_key = {r.idempotency_key: r for r in _rows_in(session, Response, Response.idempotency_key, keys)}
    coop_ids = {s.cooperative.id for s in submissions if s.cooperative is not None}
    existing = {
        r.cooperative_id: r
        for r in _rows_in(session, Response, Response.cooperative_id, coop_ids, Response.round_id == round_id)
    }

    first_by_key: dict[str, Submission] = {}
    first_by_coop: dict[int, Submission] = {}
    for submission in submissions:
        if submission.key is not None:
            earlier = first_by_key.setdefault(submission.key, submission)
            if earlier is not submission:
                submission.problem(
                    submission.key_column, submission.key, f"el mismo envío ya aparece en la fila {earlier.row}"
                )
                continue
        if submission.cooperative is None:  # its RUT is already reported
            continue
        done = by_key.get(submission.key) if submission.key else None
        if done is not None:
            if (done.cooperative_id, done.round_id) == (submission.cooperative.id, round_id):
                submission.outcome = Outcome.ALREADY_IMPORTED
                submission.response_id = done.id
                submission.message = f"ya importada como la respuesta {done.id}"
            else:
                submission.problem(
                    submission.key_column,
                    submission.key,
                    "la clave del envío ya se usó en una respuesta de otra cooperativa o ronda",
                )
            continue
        if submission.skipped:
            continue
        edited = next((by_key[k] for k in submission.earlier_keys if k in by_key), None)
        if edited is not None:
            submission.problem(
                submission.key_column,
                submission.key,
                f"el envío se editó después de importarlo como la respuesta {edited.id}; corrija esa respuesta en coopdiag",
            )
            continue
        cooperative = submission.cooperative
        earlier = first_by_coop.setdefault(cooperative.id, submission)
        if earlier is not submission:
            submission.problem(
                RUT_FIELD,
                submission.rut_shown,
                f"la cooperativa ya tiene otra entrevista en la fila {earlier.row} de este archivo",
            )
            continue
        if cooperative.id in existing:
            submission.problem(
                RUT_FIELD,
                submission.rut_shown,
                f"la cooperativa «{cooperative.name}» ya tiene una respuesta en esta ronda "
                f"(número {existing[cooperative.id].id}); continúe esa respuesta",
            )


def _decide(questionnaire: scoring.Questionnaire, submissions: list[Submission]) -> None:
    for submission in submissions:
        if submission.outcome == Outcome.ALREADY_IMPORTED:
            continue
        if submission.skipped:
            submission.outcome, submission.message, submission.problems = Outcome.SKIPPED, submission.skipped, []
            continue
        if submission.problems:
            submission.outcome = Outcome.REFUSED
            continue
        missing = scoring.missing_required(questionnaire, submission.answers)
        inconsistent = consistency_errors(questionnaire, submission.answers)
        submission.complete = not missing and not inconsistent
        submission.outcome = Outcome.TO_CREATE
        if missing:
            submission.message = (
                f"incompleta ({len(missing)} pregunta{'s' if len(missing) != 1 else ''} obligatoria"
                f"{'s' if len(missing) != 1 else ''} sin responder): queda como borrador"
            )
        elif inconsistent:
            # Nothing is lost: it is kept as a draft that the field team corrects on the web.
            submission.message = (
                "respuestas no coherentes ("
                + " ".join(f"{c.message} [{c.id}]" for c in inconsistent)
                + "): queda como borrador para corregirla"
            )
        else:
            submission.message = "completa: se envía"


def _save(
    session: Session, user: User, round_: Any, questionnaire: scoring.Questionnaire, report: ImportReport
) -> None:
    """Write the valid submissions in the caller's unit of work: all or nothing, or one savepoint
    each (a submission that lost a race is refused, the others kept)."""
    pending = [s for s in report.submissions if s.outcome == Outcome.TO_CREATE]
    if report.all_or_nothing:
        try:
            for submission in pending:
                _write(session, user, round_, questionnaire, submission, report.source)
            session.flush()
        except IntegrityError:
            raise Conflict(
                "Mientras se importaba, se guardó otra respuesta de una de estas cooperativas (u otra importación del "
                "mismo archivo). No se importó nada: vuelva a subir el archivo; lo ya importado se informará como tal.",
                code="concurrent_import",
            ) from None
    else:
        for submission in pending:
            try:
                with session.begin_nested():
                    _write(session, user, round_, questionnaire, submission, report.source)
            except IntegrityError:
                submission.outcome, submission.response_id = Outcome.REFUSED, None
                submission.problem(
                    submission.key_column,
                    submission.key,
                    "se guardó al mismo tiempo otra respuesta de esta cooperativa "
                    "o el mismo envío; vuelva a importar el archivo",
                )
    report.saved = any(s.outcome == Outcome.CREATED for s in report.submissions)


def _write(
    session: Session,
    user: User,
    round_: Any,
    questionnaire: scoring.Questionnaire,
    submission: Submission,
    source: Source,
) -> None:
    """One submission as a response: the same steps, rules and audit events as an interview
    started (and, when complete and consistent, sent) on the web."""
    now = datetime.now(timezone.utc)
    submitted = submission.complete
    response, step = lifecycle.start_imported_interview(
        round_=round_,
        questionnaire=questionnaire,
        cooperative_id=submission.cooperative.id,
        answers=dict(submission.answers),
        details=submission.details,
        send=submitted,
        by_id=user.id,
        at=now,
        idempotency_key=submission.key,
        origin=f"Entrevista de terreno importada desde {SOURCE_ES[source]} (envío {submission.key}, fila {submission.row})",
    )
    session.add(response)
    session.flush()
    record_events(session, response.id, user.id, now, step.events)
    if submitted:  # its PDF, prepared on the task queue once the import commits
        request_report(session, response.id)
    submission.outcome = Outcome.CREATED
    submission.response_id = response.id
    # A draft keeps why it is one (incomplete, or answers that are not consistent).
    why = f" ({submission.message})" if not submitted and submission.message else ""
    submission.message = f"respuesta {response.id}, " + STATUS_LABELS[response.status] + why
