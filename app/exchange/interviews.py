"""Interview spreadsheets: an XLSX entry template for a round, and the import of filled ones.

The template (``interview_template(…)``) has:

- «entrevistas»: one row per field interview. Fixed columns first (:data:`FIXED_COLUMNS`:
  the interview key, the cooperative's RUT, the interview details and «enviar»), then one
  column per question id of the round's questionnaire (computed questions excluded: the
  engine computes them). Yes/no and choice columns carry an in-cell list (Excel data
  validation) of their codes; each header has a comment with the question's text;
- «codigos»: the codebook, one row per column: text, type, options (code=label), unit,
  condition (``relevant``) and notes, in Spanish;
- «cooperativas»: the cooperatives the user may interview (RUT, name, region, comuna),
  also the list of the RUT column;
- «listas» (hidden): the option lists the validations point to.

Import (``import_interviews(…)``): each row becomes a field interview response (mode
``interview``) of the round, checked by exactly the API's checks: the interview details by
the API's ``InterviewDetails`` model and ``lifecycle.interview_problems``, every answer by
``lifecycle.answer_problems`` (scoring's rules and the app's bounds on numbers), and when the
row asks to be sent, ``lifecycle.answer_errors`` and ``missing_required`` as a submission.
Cells are first read as a person writes them («Sí», «No aplica», 31-03-2026, «1.234,5», an
option's code or its label).

- ``clave_entrevista`` is the idempotency key (stored as ``planilla:<round>:<key>``):
  importing the same file twice creates nothing new; a row whose key was imported before
  with other data is reported, never overwritten (correct it in the application);
- ``enviar`` = «sí» submits the interview (it must be complete, as a submission in the
  application); empty or «no» leaves it as a draft the team can finish in the application;
- authorization per row: a field team member only for cooperatives they may see (assigned
  or in their macrozones); analysts and administrators for any;
- all or nothing: any problem in any row and nothing is written (one transaction).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import scoring
from app.auth import policy
from app.auth.models import User
from app.cooperatives.models import Cooperative
from app.cooperatives.schemas import format_rut, normalize_rut
from app.cooperatives.service import CooperativeFilters, list_statement
from app.downloads import cell_text, xml_text
from app.errors import Conflict, Forbidden, validation_details
from app.exchange.exports import XLSX_MEDIA_TYPE, _notes, _options, answered_questions
from app.exchange.registry_import import ImportReport, RowOutcome, problems_message, refused, unreadable
from app.exchange.tabular import (
    MAX_ROWS,
    Column,
    Problem,
    Table,
    TabularError,
    column_key,
    parse_bool,
    parse_date,
    parse_number,
    parse_text,
    read_table,
    show_value,
)
from app.exchange.xlsform import NA, NO, NS, RUT_FIELD, YES
from app.reports.queueing import request_reports
from app.responses import lifecycle
from app.responses.models import Response, ResponseMode, ResponseStatus
from app.responses.schemas import InterviewDetails
from app.responses.service import (
    consistency_errors,
    record_many_events,
    round_questionnaire,
)
from app.rounds.models import DiagnosisRound
from app.rounds.service import get_round
from app.settings import REGIONS, Settings

SHEET = "entrevistas"
KEY = "clave_entrevista"
SEND = "enviar"
MAX_KEY = 60
KEY_PREFIX = "planilla"

#: The fixed columns: (column, response field or None, description for the codebook).
FIXED_COLUMNS: tuple[tuple[str, str | None, str], ...] = (
    (
        KEY,
        None,
        f"Clave única de la entrevista (máximo {MAX_KEY} caracteres), p. ej. E-0001; "
        "importar dos veces la misma clave no crea otra entrevista",
    ),
    (RUT_FIELD, None, "RUT de la cooperativa entrevistada (76.123.456-0, 76123456-0); vea la hoja «cooperativas»"),
    ("entrevistador", "interviewer_name", "Nombre de quien entrevistó"),
    ("institucion", "institution", "Institución del equipo de terreno"),
    ("fecha", "interview_date", "Fecha de la entrevista, DD-MM-AAAA"),
    ("lugar", "interview_place", "Lugar de la entrevista"),
    ("cargo_entrevistado", "interviewee_role", "Cargo de la persona entrevistada"),
    (SEND, None, "«si»: enviar la entrevista (debe estar completa); vacío o «no»: queda como borrador"),
)
DETAIL_COLUMNS = {column: name for column, name, _ in FIXED_COLUMNS if name}
COLUMN_OF_DETAIL = {name: column for column, name in DETAIL_COLUMNS.items()}
_RESERVED = {
    column_key(text): code
    for text, code in (
        ("na", NA),
        ("no aplica", NA),
        ("n/a", NA),
        ("ns", NS),
        ("no sabe", NS),
        ("no sabe / no responde", NS),
        ("ns/nr", NS),
        ("no responde", NS),
    )
}
#: A multiple-choice cell for «none of the options» (an empty cell is no answer).
_NONE_SELECTED = {"ninguna", "ninguno", "ninguna_opcion", "ninguna_de_las_anteriores"}
_MULTI_SEPARATORS = re.compile(r"[;|,\n]+")


def idempotency_key(round_id: int, key: str) -> str:
    return f"{KEY_PREFIX}:{round_id}:{key}"


# --------------------------------------------------------------------------- template


@dataclass
class TemplateFile:
    filename: str
    content: bytes
    media_type: str = XLSX_MEDIA_TYPE


def interview_template(*, session: Session, user: User, settings: Settings, round_id: int) -> TemplateFile:
    if not policy.can_use_interview_spreadsheets(user):
        raise Forbidden("Solo los equipos de terreno, analistas y administradores usan planillas de entrevistas.")
    round_ = get_round(session=session, round_id=round_id)
    questionnaire = round_questionnaire(session=session, round=round_)
    questions = answered_questions(questionnaire)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET
    lists = workbook.create_sheet("listas")
    codebook = workbook.create_sheet("codigos")
    cooperatives = workbook.create_sheet("cooperativas")
    lists.sheet_state = "hidden"

    bold = Font(bold=True)
    headers = [column for column, _, _ in FIXED_COLUMNS] + [question.id for question in questions]
    sheet.append(_cells(headers))
    for cell in sheet[1]:
        cell.font = bold
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    sheet.freeze_panes = "C2"
    last_row = MAX_ROWS + 1

    list_ranges: dict[tuple[str, ...], str] = {}

    def list_range(values: tuple[str, ...]) -> str:
        if values not in list_ranges:
            column = get_column_letter(len(list_ranges) + 1)
            for index, value in enumerate(values, start=1):
                lists[f"{column}{index}"] = cell_text(value)
            list_ranges[values] = f"listas!${column}$1:${column}${len(values)}"
        return list_ranges[values]

    def validate(column_index: int, values: tuple[str, ...], prompt: str, *, strict: bool = True) -> None:
        validation = DataValidation(type="list", formula1=list_range(values), allow_blank=True)
        validation.showErrorMessage = strict
        validation.errorTitle = "Valor no permitido"
        validation.error = "Elija un valor de la lista (vea la hoja «codigos»)."
        validation.promptTitle = xml_text(headers[column_index])[:32]
        validation.prompt = xml_text(prompt)[:250]
        validation.showInputMessage = True
        letter = get_column_letter(column_index + 1)
        validation.add(f"{letter}2:{letter}{last_row}")
        sheet.add_data_validation(validation)

    validate(headers.index(SEND), (YES, NO), "si: enviar; no o vacío: borrador")
    visible = session.scalars(list_statement(user=user, settings=settings, filters=CooperativeFilters())).all()
    cooperatives.append(_cells(["rut", "nombre", "region", "comuna"]))
    for cell in cooperatives[1]:
        cell.font = bold
    for cooperative in visible:
        cooperatives.append(
            _cells(
                [
                    format_rut(cooperative.rut),
                    cooperative.name,
                    REGIONS.get(cooperative.region_code, ""),
                    cooperative.comuna or "",
                ]
            )
        )
    if visible:
        rut_list = DataValidation(type="list", formula1=f"cooperativas!$A$2:$A${len(visible) + 1}", allow_blank=True)
        rut_list.showErrorMessage = False  # a RUT may be written in another format
        rut_list.add(f"B2:B{last_row}")
        sheet.add_data_validation(rut_list)

    for offset, question in enumerate(questions):
        index = len(FIXED_COLUMNS) + offset
        sheet.cell(row=1, column=index + 1).comment = Comment(xml_text(question.text)[:1000], "coopdiag")
        codes = _codes(question)
        if question.type in ("yes_no", "choice"):
            validate(index, codes, question.text)
        elif question.type == "multi":
            validate(index, codes, "Varias opciones separadas por ; — " + question.text, strict=False)
        sheet.column_dimensions[get_column_letter(index + 1)].width = 16

    codebook.append(
        _cells(["columna", "tipo", "texto", "opciones", "unidad", "condicion", "notas", "dimension", "subcategoria"])
    )
    for cell in codebook[1]:
        cell.font = bold
    for column, _, description in FIXED_COLUMNS:
        codebook.append(
            _cells(
                [
                    column,
                    "dato de la entrevista",
                    description,
                    "",
                    "",
                    "",
                    "obligatoria" if column != SEND else "opcional",
                    "",
                    "",
                ]
            )
        )
    where = {q.id: (d.title, s.title) for d in questionnaire.dimensions for s in d.subcategories for q in s.questions}
    for question in questions:
        codebook.append(
            _cells(
                [
                    question.id,
                    _KIND_ES[question.type],
                    question.text,
                    _options(question),
                    question.unit or "",
                    question.relevant or "",
                    _notes(question),
                    *where[question.id],
                ]
            )
        )
    codebook.column_dimensions["C"].width = 80
    codebook.column_dimensions["D"].width = 50
    for row in codebook.iter_rows(min_row=2, min_col=3, max_col=3):
        row[0].alignment = Alignment(wrap_text=True, vertical="top")

    buffer = io.BytesIO()
    workbook.save(buffer)
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", f"entrevistas-ronda-{round_.id}-{questionnaire.id}").strip("-")
    return TemplateFile(filename=f"{name}.xlsx", content=buffer.getvalue())


_KIND_ES = {
    "yes_no": "sí/no",
    "choice": "opción única",
    "multi": "opción múltiple",
    "number": "número",
    "text": "texto",
    "date": "fecha (DD-MM-AAAA)",
}


def _cells(values: list[Any]) -> list[Any]:
    """A row of the template: every text through ``cell_text`` (no character XML cannot hold,
    no formula), whatever it comes from (a cooperative's name, a questionnaire)."""
    return [cell_text(value) if isinstance(value, str) else value for value in values]


def _codes(question: scoring.Question) -> tuple[str, ...]:
    values = (YES, NO) if question.type == "yes_no" else tuple(option.value for option in question.options)
    return values + ((NA,) if question.na else ()) + (NS,)


# --------------------------------------------------------------------------- cell → answer


def cell_answer(question: scoring.Question, value: Any) -> Any:
    """A cell as the API's answer value. What cannot be read as the question's type is
    passed on as text, for the API's validation to explain (except numbers and dates,
    whose reasons here are clearer); ValueError carries a Spanish reason."""
    if isinstance(value, str):
        reserved = _RESERVED.get(column_key(value))
        if reserved is not None:
            return reserved
    if question.type == "yes_no":
        try:
            return parse_bool(value)
        except ValueError:
            return parse_text(value)
    if question.type == "choice":
        return _option(question, value)
    if question.type == "multi":
        if column_key(value) in _NONE_SELECTED:
            return []
        parts = [part for part in _MULTI_SEPARATORS.split(parse_text(value)) if part.strip()]
        return [_option(question, part) for part in parts]
    if question.type == "number":
        return parse_number(value)
    if question.type == "date":
        return parse_date(value).isoformat()
    return parse_text(value)


def _option(question: scoring.Question, value: Any) -> str:
    text = parse_text(value)
    if question.option(text) is not None:
        return text
    key = column_key(text)
    for option in question.options:
        if key in (column_key(option.value), column_key(option.label)):
            return option.value
    return text


# --------------------------------------------------------------------------- import


@dataclass
class _Row:
    outcome: RowOutcome
    key: str | None = None
    details: dict[str, Any] | None = None
    answers: dict[str, Any] | None = None
    send: bool = False
    cooperative: Cooperative | None = None


def import_round(*, session: Session, user: User, round_id: int) -> DiagnosisRound:
    """The round interviews are imported into: the user must use interview spreadsheets and
    the round must be open (any interview importer's first check)."""
    if not policy.can_use_interview_spreadsheets(user):
        raise Forbidden("Solo los equipos de terreno, analistas y administradores importan entrevistas.")
    round_ = get_round(session=session, round_id=round_id)
    lifecycle.require_open(round_, "importar entrevistas")
    return round_


def import_interviews(
    *, session: Session, user: User, settings: Settings, round_id: int, data: bytes, filename: str, dry_run: bool
) -> ImportReport:
    """Preview (``dry_run``) or import a filled template. A real import with any problem raises
    Invalid (422) with the whole report and writes nothing."""
    round_ = import_round(session=session, user=user, round_id=round_id)
    questionnaire = round_questionnaire(session=session, round=round_)
    questions = {question.id: question for question in questionnaire.questions}
    columns = [Column(column, required=column != SEND) for column, _, _ in FIXED_COLUMNS]
    columns += [Column(question.id) for question in answered_questions(questionnaire)]
    try:
        table = read_table(data, filename, columns=columns, sheet=SHEET)
    except TabularError as error:
        raise unreadable(error) from None

    rows = [_read_row(table, number, cells, questions, questionnaire) for number, cells in table.rows]
    _repeated(rows, lambda row: row.key, KEY, "la clave «{}» está repetida en las filas {} y {}")
    _repeated(
        rows,
        lambda row: row.outcome.rut,
        RUT_FIELD,
        "la cooperativa {} aparece en las filas {} y {}: una ronda tiene una entrevista por cooperativa",
        show=format_rut,
    )
    _match(session, user, settings, round_, rows)
    for row in rows:
        if row.outcome.action != "unchanged":
            _check_submission(row, questionnaire)  # reported even beside other problems of the row
            if not row.outcome.problems:
                row.outcome.action = "created"
                row.outcome.extra["status"] = ResponseStatus.SUBMITTED.value if row.send else ResponseStatus.DRAFT.value
    report = ImportReport(
        dry_run=dry_run,
        filename=filename,
        sheet=table.sheet,
        rows=[row.outcome for row in rows],
        actions=("created", "unchanged", "refused"),
    )
    if dry_run:
        return report
    if report.problems:
        raise refused(report.as_dict(), problems_message(len(report.problems), "ninguna entrevista"))
    _write(session, user, round_, questionnaire, [row for row in rows if row.outcome.action == "created"], filename)
    return report


def _read_row(table: Table, number: int, cells: dict[str, Any], questions, questionnaire) -> _Row:
    outcome = RowOutcome(row=number, rut=None, name=None, action="refused")
    row = _Row(outcome=outcome)

    def problem(column: str, reason: str, value: Any = None) -> None:
        outcome.problems.append(Problem(reason, row=number, column=table.header_text(column), value=show_value(value)))

    raw_key = cells.get(KEY)
    row.key = parse_text(raw_key) if raw_key is not None else None
    if not row.key:
        problem(KEY, "falta la clave de la entrevista")
        row.key = None
    elif len(row.key) > MAX_KEY:
        problem(KEY, f"la clave tiene {len(row.key)} caracteres; el máximo es {MAX_KEY}", raw_key)
        row.key = None
    outcome.extra["clave_entrevista"] = row.key
    raw_rut = cells.get(RUT_FIELD)
    try:
        outcome.rut = normalize_rut(parse_text(raw_rut) if raw_rut is not None else "")
    except ValueError as error:
        problem(RUT_FIELD, str(error), raw_rut)

    details: dict[str, Any] = {}
    for column, name in DETAIL_COLUMNS.items():
        value = cells.get(column)
        if value is None:
            continue
        try:
            details[name] = parse_date(value) if name == "interview_date" else parse_text(value)
        except ValueError as error:
            problem(column, str(error), value)
    try:
        checked = InterviewDetails(**details).model_dump()
    except ValidationError as error:
        for detail in validation_details(error.errors()):
            name = detail["field"].split(".")[0]
            problem(COLUMN_OF_DETAIL.get(name, name), detail["message"], details.get(name))
        checked = details
    for detail in lifecycle.interview_problems(checked, ResponseMode.INTERVIEW.value, today=date.today()):
        if not any(p.column == table.header_text(COLUMN_OF_DETAIL[detail["field"]]) for p in outcome.problems):
            problem(COLUMN_OF_DETAIL[detail["field"]], detail["message"])
    row.details = checked

    if cells.get(SEND) is not None:
        try:
            row.send = parse_bool(cells[SEND])
        except ValueError as error:
            problem(SEND, str(error), cells[SEND])

    answers: dict[str, Any] = {}
    for qid, value in cells.items():
        question = questions.get(qid)
        if question is None or value is None:
            continue
        try:
            answers[qid] = cell_answer(question, value)
        except ValueError as error:
            problem(qid, str(error), value)
    for detail in lifecycle.answer_problems(questionnaire, answers):  # the API's own check, question by question
        qid = detail["field"].removeprefix("answers.")
        problem(qid, detail["message"], cells.get(qid))
        answers.pop(qid, None)
    row.answers = answers
    return row


def _repeated(rows: list[_Row], value_of, column: str, reason: str, show=str) -> None:
    first: dict[Any, _Row] = {}
    for row in rows:
        value = value_of(row)
        if value is None:
            continue
        if value in first:
            row.outcome.problems.append(
                Problem(
                    reason.format(show(value), first[value].outcome.row, row.outcome.row),
                    row=row.outcome.row,
                    column=column,
                    value=show(value),
                )
            )
        else:
            first[value] = row


def _chunks(values: list, size: int = 900):
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _match(session: Session, user: User, settings: Settings, round_: DiagnosisRound, rows: list[_Row]) -> None:
    """Cooperatives by RUT (and whether the user may interview them), earlier imports by key,
    and responses already started in the round."""
    ruts = sorted({row.outcome.rut for row in rows if row.outcome.rut})
    cooperatives: dict[str, Cooperative] = {}
    for chunk in _chunks(ruts):
        cooperatives.update((c.rut, c) for c in session.scalars(select(Cooperative).where(Cooperative.rut.in_(chunk))))
    keys = sorted({idempotency_key(round_.id, row.key) for row in rows if row.key})
    imported: dict[str, Response] = {}
    for chunk in _chunks(keys):
        imported.update(
            (r.idempotency_key, r) for r in session.scalars(select(Response).where(Response.idempotency_key.in_(chunk)))
        )
    ids = sorted({c.id for c in cooperatives.values()})
    started: dict[int, Response] = {}
    for chunk in _chunks(ids):
        for response in session.scalars(
            select(Response).where(Response.round_id == round_.id, Response.cooperative_id.in_(chunk))
        ):
            started.setdefault(response.cooperative_id, response)

    for row in rows:
        outcome = row.outcome
        if outcome.rut is None:
            continue
        cooperative = cooperatives.get(outcome.rut)
        if cooperative is None or not policy.can_import_interview(user, cooperative, settings):
            outcome.problems.append(
                Problem(
                    f"no hay una cooperativa registrada con el RUT {format_rut(outcome.rut)} a la que usted tenga acceso",
                    row=outcome.row,
                    column=RUT_FIELD,
                    value=format_rut(outcome.rut),
                )
            )
            continue
        row.cooperative = cooperative
        outcome.name, outcome.cooperative_id = cooperative.name, cooperative.id
        earlier = imported.get(idempotency_key(round_.id, row.key)) if row.key else None
        if earlier is not None:
            differences = _differences(earlier, row)
            outcome.extra["response_id"] = earlier.id
            if differences:
                outcome.problems.append(
                    Problem(
                        f"la entrevista «{row.key}» ya se importó (respuesta {earlier.id}) con otros datos ("
                        + ", ".join(differences[:5])
                        + (", …" if len(differences) > 5 else "")
                        + "); corríjala en la aplicación o use otra clave",
                        row=outcome.row,
                        column=KEY,
                        value=row.key,
                    )
                )
            elif not outcome.problems:
                outcome.action = "unchanged"
            continue
        existing = started.get(cooperative.id)
        if existing is not None:
            outcome.problems.append(
                Problem(
                    f"la cooperativa ya tiene la respuesta {existing.id} en esta ronda; continúe esa respuesta en la aplicación",
                    row=outcome.row,
                    column=RUT_FIELD,
                    value=format_rut(outcome.rut),
                )
            )


def _differences(earlier: Response, row: _Row) -> list[str]:
    """What differs between an earlier import and the row (column names)."""
    differences = []
    if earlier.cooperative_id != row.cooperative.id:
        differences.append(RUT_FIELD)
    for name, value in (row.details or {}).items():
        if getattr(earlier, name) != value:
            differences.append(COLUMN_OF_DETAIL[name])
    stored = dict(earlier.answers or {})
    answers = row.answers or {}
    differences += sorted(qid for qid in set(stored) | set(answers) if stored.get(qid) != answers.get(qid))
    if row.send != (earlier.status != ResponseStatus.DRAFT.value):
        differences.append(SEND)
    return differences


def _check_submission(row: _Row, questionnaire: scoring.Questionnaire) -> None:
    """A row to send is checked as the application checks a submission."""
    if not row.send:
        return
    answers = row.answers or {}
    for error in lifecycle.answer_errors(questionnaire, answers):
        row.outcome.problems.append(
            Problem(
                error.message,
                row=row.outcome.row,
                column=error.question or SEND,
                value=show_value(answers.get(error.question)) if error.question else None,
            )
        )
    for check in consistency_errors(questionnaire, answers):
        row.outcome.problems.append(
            Problem(
                f"no se puede enviar: {check.message} (verificación «{check.id}»: "
                + ", ".join(check.questions)
                + "); corrija esas columnas o deje «enviar» vacío para importarla como borrador",
                row=row.outcome.row,
                column=check.questions[0],
                value=show_value(answers.get(check.questions[0])),
            )
        )
    missing = scoring.missing_required(questionnaire, answers)
    if missing:
        row.outcome.problems.append(
            Problem(
                f"no se puede enviar: {_count(len(missing), 'falta', 'faltan')} {len(missing)} "
                f"{_count(len(missing), 'pregunta obligatoria', 'preguntas obligatorias')} ("
                + ", ".join(missing[:10])
                + (", …" if len(missing) > 10 else "")
                + "); deje «enviar» vacío para importarla como borrador",
                row=row.outcome.row,
                column=SEND,
                value=YES,
            )
        )


def _count(count: int, one: str, many: str) -> str:
    return one if count == 1 else many


def _write(
    session: Session,
    user: User,
    round_: DiagnosisRound,
    questionnaire: scoring.Questionnaire,
    rows: list[_Row],
    filename: str,
) -> None:
    """Every new interview in one transaction, with its audit events."""
    now = datetime.now(timezone.utc)
    made: list[tuple[_Row, Response, list[dict]]] = []
    try:
        for row in rows:
            response, step = lifecycle.start_imported_interview(
                round_=round_,
                questionnaire=questionnaire,
                cooperative_id=row.cooperative.id,
                answers=row.answers,
                details=row.details or {},
                send=row.send,
                by_id=user.id,
                at=now,
                idempotency_key=idempotency_key(round_.id, row.key),
                origin=f"Entrevista de terreno importada de la planilla «{filename[:200]}», fila {row.outcome.row} "
                f"(clave {row.key})",
            )
            session.add(response)
            made.append((row, response, step.events))
        session.flush()
        for row, response, _ in made:
            row.outcome.extra["response_id"] = response.id
            row.outcome.extra["status"] = response.status
        record_many_events(session, user.id, now, [(response.id, events) for _, response, events in made])
        # The PDFs of the submitted ones, prepared on the task queue once the import commits.
        request_reports(
            session, [response.id for _, response, _ in made if response.status == ResponseStatus.SUBMITTED.value]
        )
        session.flush()
    except IntegrityError:
        raise Conflict(
            "Alguien empezó o importó alguna de estas entrevistas mientras se importaba el archivo; no se importó "
            "nada. Vuelva a subirlo.",
            code="import_conflict",
        ) from None


__all__ = [
    "FIXED_COLUMNS",
    "SHEET",
    "cell_answer",
    "idempotency_key",
    "import_interviews",
    "import_round",
    "interview_template",
]
