"""Analyst exports of a round's responses (CSV, XLSX, JSON), wide or long, and their codebook.

Shapes (only the current revision of each response; the round's cooperative filters and the
response status narrow them):

- ``wide``: one row per response: the cooperative (id, RUT, name, legal type, region code and
  name, macrozone, comuna, sectors, members), the round, revision, status, mode and dates,
  every answer by question id, then the overall, dimension and subcategory scores and lights
  of the result stored at submission (empty for drafts and responses returned for correction);
- ``long``: one row per stored answer: response, cooperative, question id, value, the
  response's status and, once submitted, the question's status and score.

Values: scores on the 0–100 scale of the stored result; lights, statuses and modes as their
Spanish names; ``yes_no`` answers as ``si`` / ``no``; ``na`` (no aplica) and ``ns`` (no sabe)
as they are stored; the options of a ``multi`` answer and a cooperative's sectors joined with
``|``; dates and times in Chile's time zone (America/Santiago). JSON keeps native types
(``true``/``false``, lists, ISO 8601 dates with their offset).

Formats:

- CSV in UTF-8. Flavour ``standard``: ``,`` between fields, ``.`` for decimals, ISO 8601
  dates (``2026-10-03``, ``2026-10-03T12:00:00-03:00``). Flavour ``excel`` (Excel set to
  Spanish (Chile)): a byte order mark so Excel reads UTF-8, ``;`` between fields, decimal
  comma and ``dd-mm-aaaa`` / ``dd-mm-aaaa hh:mm`` dates. ``bom`` and ``separator`` override
  the flavour's choice.
- XLSX: a ``datos`` sheet (numbers and dates as such, a bold frozen header) and a
  ``diccionario`` sheet with the codebook. Written by ``XlsxWriter`` below rather than
  openpyxl: openpyxl's write-only mode spends 7–9 µs a cell (11–13 s of CPU for 10,000 wide rows
  of the national questionnaire, see docs/performance.md), this writer about 1 µs.
- JSON: a page of rows (``page``/``per_page`` count responses) or every row as NDJSON.

Formula injection: a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is written with a leading apostrophe (``'=HYPERLINK(…)``), in CSV and XLSX alike, so
no spreadsheet program runs it as a formula; numbers (negative ones too) stay numbers.
JSON is not neutralised: it is data for programs, not for a spreadsheet.

Memory: rows are read with ``yield_per`` (a server-side cursor on PostgreSQL) in chunks of
``CHUNK_ROWS`` and written as they come: CSV and NDJSON stream to the client; an XLSX is
a zip, which cannot be streamed while it is built, so it is written to a spooled temporary
file (in memory up to ``SPOOL_BYTES``, then on disk) and streamed from there.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

import orjson
from openpyxl.utils import get_column_letter
from sqlalchemy import Select, Text, cast, func, select
from sqlalchemy.orm import Session, sessionmaker

import scoring
from app.auth import policy
from app.auth.models import User
from app.cooperatives.models import LEGAL_TYPE_LABELS, Cooperative
from app.cooperatives.sectors import SECTORS
from app.cooperatives.service import CooperativeFilters, list_statement
from app.downloads import cell_text, download_headers
from app.errors import Forbidden, Invalid
from app.pagination import PageParams, page_of
from app.reports.service import slug
from app.responses.models import MODE_LABELS, STATUS_LABELS, Response, ResponseStatus
from app.rounds.models import DiagnosisRound
from app.rounds.service import get_round, get_round_questionnaire
from app.settings import REGIONS, Settings

CHILE = ZoneInfo("America/Santiago")
CHUNK_ROWS = 500
SPOOL_BYTES = 16 * 1024 * 1024
XLSX_MAX_ROWS = 1_048_576  # a worksheet's limit, the header included
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SCORED_STATUSES = (ResponseStatus.SUBMITTED.value, ResponseStatus.VALIDATED.value)
LIGHT_ES = {light.value: name for light, name in scoring.LIGHT_NAMES_ES.items()}
#: A question's status in a stored result, as people read it (also on the analyst's review page).
QUESTION_STATUS_ES = {
    "not_relevant": "no corresponde",
    "unscored": "sin puntaje",
    "na": "no aplica",
    "ns": "no sabe",
    "unanswered": "sin respuesta",
    "undefined": "no calculable",
    "scored": "con puntaje",
}


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    JSON = "json"
    NDJSON = "ndjson"


class CodebookFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    JSON = "json"


class Shape(StrEnum):
    WIDE = "wide"
    LONG = "long"


class Flavour(StrEnum):
    STANDARD = "standard"
    EXCEL = "excel"


class Separator(StrEnum):
    COMMA = "comma"
    SEMICOLON = "semicolon"


# --------------------------------------------------------------------------- values


#: A text cell, in CSV and XLSX alike: without what XML cannot hold, and behind an apostrophe
#: when a spreadsheet would take it for a formula (the one definition, ``app.downloads``).
neutralise = cell_text


def members_total(women: int | None, men: int | None) -> int | None:
    """Members of a cooperative: women plus men, None when neither is known."""
    return None if women is None and men is None else (women or 0) + (men or 0)


def local_time(value: datetime | None) -> datetime | None:
    return value.astimezone(CHILE) if value is not None else None


def _plain_number(value: float) -> str:
    """12.5 → ``12.5``, 2000000.0 → ``2000000`` (no exponent for the numbers people type)."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


@dataclass(frozen=True)
class CsvDialect:
    separator: str = ","
    bom: bool = False
    decimal_comma: bool = False

    @classmethod
    def of(
        cls, flavour: Flavour = Flavour.STANDARD, *, bom: bool | None = None, separator: Separator | None = None
    ) -> CsvDialect:
        excel = flavour == Flavour.EXCEL
        if separator is None:
            separator = Separator.SEMICOLON if excel else Separator.COMMA
        return cls(
            separator=";" if separator == Separator.SEMICOLON else ",",
            bom=excel if bom is None else bom,
            decimal_comma=excel,
        )

    def formats(self) -> dict[type, Callable[[Any], str]]:
        """The text of a value in this dialect by its type (see the module docstring)."""
        if self.decimal_comma:

            def number(value: float) -> str:
                return _plain_number(value).replace(".", ",")

            def day(value: date) -> str:
                return value.strftime("%d-%m-%Y")

            def moment(value: datetime) -> str:
                return value.strftime("%d-%m-%Y %H:%M")
        else:
            number, day, moment = _plain_number, date.isoformat, datetime.isoformat
        return {
            str: neutralise,
            int: str,
            float: number,
            date: day,
            datetime: moment,
            bool: _yes_no,
            list: _joined,
            type(None): lambda value: "",
        }

    def formatter(self) -> Callable[[Any], str]:
        """The text of one value in this dialect."""
        formats = self.formats()
        return lambda value: formats.get(type(value), _fallback)(value)


def _yes_no(value: bool) -> str:
    return "si" if value else "no"


def _joined(values: list) -> str:
    return neutralise("|".join(map(str, values)))


def _fallback(value: Any) -> str:
    return neutralise(str(value))


# --------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Column:
    """One column of an export, as the codebook describes it."""

    name: str
    description: str
    kind: str = "texto"
    group: str = ""
    question: scoring.Question | None = None
    dimension: str = ""
    subcategory: str = ""


@dataclass
class Table:
    title: str
    columns: Sequence[Column]
    rows: Iterable[Sequence[Any]]

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]


def csv_chunks(table: Table, dialect: CsvDialect) -> Iterator[bytes]:
    """The table as CSV, ``CHUNK_ROWS`` rows at a time."""
    buffer = io.StringIO()
    if dialect.bom:
        buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=dialect.separator, lineterminator="\r\n")
    writer.writerow(table.names)
    text = dialect.formats().get
    for count, row in enumerate(table.rows, start=1):
        writer.writerow([text(type(value), _fallback)(value) for value in row])
        if count % CHUNK_ROWS == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def json_items(table: Table) -> Iterator[dict[str, Any]]:
    names = table.names
    return (dict(zip(names, row, strict=True)) for row in table.rows)


def _json_default(value: Any) -> Any:
    """What ``json.dumps`` cannot write as orjson writes it: dates and times in ISO 8601."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def ndjson_chunks(table: Table) -> Iterator[bytes]:
    """One JSON object a line, ``CHUNK_ROWS`` lines at a time."""
    # Copied into one buffer at once: orjson's result keeps its whole working buffer (~64 KiB).
    buffer = bytearray()
    for count, item in enumerate(json_items(table), start=1):
        try:
            buffer += orjson.dumps(item, option=orjson.OPT_APPEND_NEWLINE)
        except TypeError:  # an integer beyond 64 bits, stored before answers were bounded
            buffer += json.dumps(item, ensure_ascii=False, default=_json_default).encode("utf-8") + b"\n"
        if count % CHUNK_ROWS == 0:
            yield bytes(buffer)
            buffer.clear()
    if buffer:
        yield bytes(buffer)


# --------------------------------------------------------------------------- XLSX


_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_STYLES = (
    _XML_HEAD + f'<styleSheet xmlns="{_MAIN_NS}">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="dd\\-mm\\-yyyy"/>'
    '<numFmt numFmtId="165" formatCode="dd\\-mm\\-yyyy\\ hh:mm"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)
_HEADER_STYLE, _DATE_STYLE, _DATETIME_STYLE = 1, 2, 3
_EPOCH = date(1899, 12, 30)  # day 0 of a spreadsheet's serial dates (1900 system)
#: XML escapes, and the characters XML 1.0 cannot hold (dropped, as ``cell_text`` drops them).
_XML_TEXT = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;"} | {
    code: None for code in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0xD800, 0xE000), 0xFFFE, 0xFFFF)
}


def _text_cell(ref: str, text: str, style: str = "") -> str:
    return f'<c r="{ref}"{style} t="inlineStr"><is><t xml:space="preserve">{text.translate(_XML_TEXT)}</t></is></c>'


def _number_cell(ref: str, value: float) -> str:
    return f'<c r="{ref}"><v>{value!r}</v></c>' if value == value and abs(value) != float("inf") else ""


def _date_cell(ref: str, value: date) -> str:
    return f'<c r="{ref}" s="{_DATE_STYLE}"><v>{(value - _EPOCH).days}</v></c>'


def _datetime_cell(ref: str, value: datetime) -> str:
    day = value.date()
    seconds = value.hour * 3600 + value.minute * 60 + value.second
    return f'<c r="{ref}" s="{_DATETIME_STYLE}"><v>{(day - _EPOCH).days + seconds / 86400!r}</v></c>'


_XLSX_CELLS: dict[type, Callable[[str, Any], str]] = {
    str: lambda ref, value: _text_cell(ref, neutralise(value)),
    int: lambda ref, value: f'<c r="{ref}"><v>{value}</v></c>',
    float: _number_cell,
    bool: lambda ref, value: _text_cell(ref, _yes_no(value)),
    list: lambda ref, value: _text_cell(ref, _joined(value)),
    date: _date_cell,
    # Spreadsheets have no time zones: the time as read in Chile.
    datetime: lambda ref, value: _datetime_cell(
        ref, value.astimezone(CHILE).replace(tzinfo=None) if value.tzinfo else value
    ),
    type(None): lambda ref, value: "",
}


class XlsxWriter:
    """A minimal SpreadsheetML (XLSX) writer: one sheet per table, inline strings, a bold
    frozen header and date styles. Rows are compressed into the zip as they come, so memory
    does not grow with the number of rows (no shared-strings table is kept)."""

    def __init__(self, target: BinaryIO) -> None:
        self._zip = zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1)
        self._titles: list[str] = []

    def add(self, table: Table) -> int:
        """Write ``table`` as the next sheet; the number of data rows written."""
        self._titles.append(table.title)
        letters = [get_column_letter(index) for index in range(1, len(table.columns) + 1)]
        path = f"xl/worksheets/sheet{len(self._titles)}.xml"
        with self._zip.open(path, "w") as stream:
            out = io.TextIOWrapper(stream, encoding="utf-8", write_through=False)
            out.write(
                _XML_HEAD + f'<worksheet xmlns="{_MAIN_NS}"><sheetViews><sheetView workbookViewId="0">'
                '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
                '</sheetView></sheetViews><sheetData><row r="1">'
                + "".join(
                    _text_cell(f"{letter}1", name, f' s="{_HEADER_STYLE}"')
                    for letter, name in zip(letters, table.names)
                )
                + "</row>"
            )
            try:
                count = self._rows(out, letters, table)
            finally:
                out.flush()
                out.detach()  # the zip entry is closed by the with, not by the wrapper
        return count

    def _rows(self, out: io.TextIOWrapper, letters: list[str], table: Table) -> int:
        cells = _XLSX_CELLS
        count = 0
        for count, row in enumerate(table.rows, start=1):
            if count >= XLSX_MAX_ROWS:
                limit = f"{XLSX_MAX_ROWS - 1:,}".replace(",", ".")
                raise Invalid(
                    f"La hoja «{table.title}» tendría más de {limit} filas, el máximo de una planilla; "
                    "use CSV o filtre la exportación.",
                    details=[{"field": "format", "code": "too_many_rows", "message": "demasiadas filas para XLSX"}],
                )
            number = count + 1
            out.write(
                f'<row r="{number}">'
                + "".join(
                    [
                        cells.get(type(value), _fallback_cell)(f"{letter}{number}", value)
                        for letter, value in zip(letters, row)
                    ]
                )
                + "</row>"
            )
        out.write("</sheetData></worksheet>")
        return count

    def discard(self) -> None:
        """Close the zip of a workbook that will not be used (after an error)."""
        self._zip.close()

    def close(self) -> None:
        sheets = range(1, len(self._titles) + 1)
        self._zip.writestr(
            "[Content_Types].xml",
            _XML_HEAD
            + (
                '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                '<Default Extension="xml" ContentType="application/xml"/>'
                '<Override PartName="/xl/workbook.xml" '
                'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                '<Override PartName="/xl/styles.xml" '
                'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
                + "".join(
                    f'<Override PartName="/xl/worksheets/sheet{n}.xml" '
                    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                    for n in sheets
                )
                + "</Types>"
            ),
        )
        self._zip.writestr(
            "_rels/.rels",
            _XML_HEAD
            + (
                f'<Relationships xmlns="{_PKG_REL_NS}"><Relationship Id="rId1" '
                f'Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
            ),
        )
        self._zip.writestr(
            "xl/workbook.xml",
            _XML_HEAD
            + (
                f'<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}"><sheets>'
                + "".join(
                    f'<sheet name="{_attribute(title)}" sheetId="{n}" r:id="rId{n}"/>'
                    for n, title in zip(sheets, self._titles)
                )
                + "</sheets></workbook>"
            ),
        )
        self._zip.writestr(
            "xl/_rels/workbook.xml.rels",
            _XML_HEAD
            + (
                f'<Relationships xmlns="{_PKG_REL_NS}">'
                + "".join(
                    f'<Relationship Id="rId{n}" Type="{_REL_NS}/worksheet" Target="worksheets/sheet{n}.xml"/>'
                    for n in sheets
                )
                + f'<Relationship Id="rId{len(self._titles) + 1}" Type="{_REL_NS}/styles" Target="styles.xml"/>'
                "</Relationships>"
            ),
        )
        self._zip.writestr("xl/styles.xml", _STYLES)
        self._zip.close()


def _attribute(text: str) -> str:
    return text.translate(_XML_TEXT).replace('"', "&quot;")


def _fallback_cell(ref: str, value: Any) -> str:
    return _text_cell(ref, _fallback(value))


def xlsx_file(tables: Iterable[Table]) -> tempfile.SpooledTemporaryFile:
    """The tables as an XLSX workbook in a spooled temporary file, positioned at its start."""
    target = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - handed to the caller open
    writer = XlsxWriter(target)
    try:
        for table in tables:
            writer.add(table)
        writer.close()
    except BaseException:
        writer.discard()
        target.close()
        raise
    target.seek(0)
    return target


def file_chunks(file: BinaryIO, size: int = 1 << 16) -> Iterator[bytes]:
    """The rest of ``file`` in pieces; the file is closed at the end (or when abandoned)."""
    try:
        while chunk := file.read(size):
            yield chunk
    finally:
        file.close()


# --------------------------------------------------------------------------- the round's responses


@dataclass(frozen=True)
class ExportFilters:
    cooperatives: CooperativeFilters = field(default_factory=CooperativeFilters)
    status: str | None = None  # a ResponseStatus value


def json_text(column: Any) -> Any:
    """A JSON column read as its text, to be parsed with ``decode_json``: orjson parses the
    answers and result snapshots several times faster than the driver's json module."""
    return cast(column, Text).label(column.key)


def decode_json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, (str, bytes)) else value


_SOURCE_COLUMNS = (
    Cooperative.id.label("cooperative_id"),
    Cooperative.rut,
    Cooperative.name,
    Cooperative.legal_type,
    Cooperative.region_code,
    Cooperative.comuna,
    json_text(Cooperative.sectors),
    Cooperative.members_women,
    Cooperative.members_men,
    Cooperative.members_under_35,
    Response.id.label("response_id"),
    Response.revision,
    Response.status,
    Response.mode,
    Response.created_at,
    Response.updated_at,
    Response.submitted_at,
    Response.validated_at,
    Response.interview_date,
    json_text(Response.answers),
    json_text(Response.result_snapshot),
)


def responses_statement(*, user: User, settings: Settings, round_id: int, filters: ExportFilters) -> Select:
    """The current responses of the round whose cooperative ``user`` sees and matches the
    filters, with the cooperative's fields; by cooperative name. Invalid filters raise 422."""
    statement = (
        list_statement(user=user, settings=settings, filters=filters.cooperatives)
        .join(Response, Response.cooperative_id == Cooperative.id)
        .where(Response.round_id == round_id, Response.is_current.is_(True))
        .with_only_columns(*_SOURCE_COLUMNS)
        .order_by(None)
        .order_by(Cooperative.name, Cooperative.id, Response.id)
    )
    if filters.status is not None:
        statement = statement.where(Response.status == filters.status)
    return statement


def stream_rows(session: Session, statement: Select) -> Iterator[Any]:
    """The statement's rows, fetched ``CHUNK_ROWS`` at a time (a server-side cursor on PostgreSQL)."""
    result = session.execute(statement.execution_options(yield_per=CHUNK_ROWS))
    try:
        yield from result
    finally:
        result.close()


@dataclass(frozen=True)
class _Context:
    round: DiagnosisRound
    settings: Settings


def _sectors(row: Any, ctx: _Context) -> list[str]:
    return list(decode_json(row.sectors) or [])


#: The wide shape's first columns: (column, value of a row).
_RESPONSE_FIELDS: tuple[tuple[Column, Callable[[Any, _Context], Any]], ...] = tuple(
    (Column(name, description, kind, group), getter)
    for name, description, kind, group, getter in (
        (
            "cooperativa_id",
            "Número de la cooperativa en coopdiag",
            "entero",
            "cooperativa",
            lambda row, ctx: row.cooperative_id,
        ),
        (
            "rut",
            "RUT de la cooperativa, sin puntos, con guion y dígito verificador (76123456-7)",
            "texto",
            "cooperativa",
            lambda row, ctx: row.rut,
        ),
        ("nombre", "Nombre de la cooperativa", "texto", "cooperativa", lambda row, ctx: row.name),
        (
            "tipo_juridico",
            "Tipo jurídico: " + "; ".join(f"{code} = {label}" for code, label in LEGAL_TYPE_LABELS.items()),
            "código",
            "cooperativa",
            lambda row, ctx: row.legal_type,
        ),
        (
            "region_codigo",
            "Código oficial (CUT) de la región, 1 a 16",
            "entero",
            "cooperativa",
            lambda row, ctx: row.region_code,
        ),
        (
            "region",
            "Nombre de la región",
            "texto",
            "cooperativa",
            lambda row, ctx: REGIONS.get(row.region_code, str(row.region_code)),
        ),
        (
            "macrozona",
            "Macrozona de la región (configuración de coopdiag)",
            "texto",
            "cooperativa",
            lambda row, ctx: ctx.settings.macrozone_of(row.region_code),
        ),
        ("comuna", "Comuna", "texto", "cooperativa", lambda row, ctx: row.comuna),
        (
            "rubros",
            "Rubros, códigos separados por |: " + "; ".join(f"{code} = {label}" for code, label in SECTORS.items()),
            "códigos",
            "cooperativa",
            _sectors,
        ),
        # The registry's figures: the diagnosis may declare others (its own question columns).
        (
            "registro_socias_mujeres",
            "Socias mujeres según el registro de cooperativas",
            "entero",
            "cooperativa",
            lambda row, ctx: row.members_women,
        ),
        (
            "registro_socios_hombres",
            "Socios hombres según el registro de cooperativas",
            "entero",
            "cooperativa",
            lambda row, ctx: row.members_men,
        ),
        (
            "registro_socios_total",
            "Total de socios según el registro (mujeres más hombres; vacío si no se conoce ninguno)",
            "entero",
            "cooperativa",
            lambda row, ctx: members_total(row.members_women, row.members_men),
        ),
        (
            "registro_socios_menores_35",
            "Socios menores de 35 años según el registro de cooperativas",
            "entero",
            "cooperativa",
            lambda row, ctx: row.members_under_35,
        ),
        ("ronda_id", "Número de la ronda de diagnóstico", "entero", "respuesta", lambda row, ctx: ctx.round.id),
        ("ronda", "Nombre de la ronda de diagnóstico", "texto", "respuesta", lambda row, ctx: ctx.round.name),
        (
            "respuesta_id",
            "Número de la respuesta (de esta revisión)",
            "entero",
            "respuesta",
            lambda row, ctx: row.response_id,
        ),
        (
            "revision",
            "Revisión de la respuesta: 1, y una más cada vez que se reabre una validada",
            "entero",
            "respuesta",
            lambda row, ctx: row.revision,
        ),
        (
            "estado",
            "Estado de la respuesta: " + ", ".join(STATUS_LABELS.values()),
            "texto",
            "respuesta",
            lambda row, ctx: STATUS_LABELS.get(row.status, row.status),
        ),
        (
            "modalidad",
            "Modalidad: " + ", ".join(MODE_LABELS.values()),
            "texto",
            "respuesta",
            lambda row, ctx: MODE_LABELS.get(row.mode, row.mode),
        ),
        (
            "creada",
            "Fecha y hora de creación (hora de Chile)",
            "fecha y hora",
            "respuesta",
            lambda row, ctx: local_time(row.created_at),
        ),
        (
            "actualizada",
            "Fecha y hora del último cambio (hora de Chile)",
            "fecha y hora",
            "respuesta",
            lambda row, ctx: local_time(row.updated_at),
        ),
        (
            "enviada",
            "Fecha y hora del último envío (hora de Chile)",
            "fecha y hora",
            "respuesta",
            lambda row, ctx: local_time(row.submitted_at),
        ),
        (
            "validada",
            "Fecha y hora de la validación (hora de Chile)",
            "fecha y hora",
            "respuesta",
            lambda row, ctx: local_time(row.validated_at),
        ),
        (
            "fecha_entrevista",
            "Fecha de la entrevista de terreno",
            "fecha",
            "respuesta",
            lambda row, ctx: row.interview_date,
        ),
    )
)

_QUESTION_KINDS = {
    "yes_no": "sí/no",
    "choice": "opción única",
    "multi": "opción múltiple",
    "number": "número",
    "computed": "calculada",
    "text": "texto",
    "date": "fecha",
}


def answered_questions(questionnaire: scoring.Questionnaire) -> list[scoring.Question]:
    """The questions whose answers are stored (computed ones come from their formula)."""
    return [question for question in questionnaire.questions if question.type != "computed"]


def exported_questions(questionnaire: scoring.Questionnaire) -> list[scoring.Question]:
    """Every question in file order: the answered ones, and the computed ones with the value
    their formula gives for the stored answers."""
    return list(questionnaire.questions)


def computed_of(questionnaire: scoring.Questionnaire, answers: dict[str, Any]) -> dict[str, Any]:
    """The computed questions' values for stored answers (none where an input is missing).
    Stored answers were validated when saved, so they are not validated again here (that
    would double the cost per row); a formula that fails on one gives no values for it."""
    try:
        return scoring.computed_values(questionnaire, answers)
    except Exception:  # noqa: BLE001 — an export row never fails because of one response
        return {}


def _answer_value(question: scoring.Question, value: Any) -> Any:
    if question.type == "date" and isinstance(value, str) and value not in ("na", "ns"):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return value


@dataclass(frozen=True)
class Level:
    """A level of a stored result: the overall result, a dimension or a subcategory."""

    key: str  # general | d:<id> | s:<id>, as in snapshot_levels
    kind: str  # overall | dimension | subcategory
    id: str
    title: str
    dimension: str | None = None  # of a subcategory

    @property
    def column_suffix(self) -> str:
        return self.key.replace(":", "_")


def questionnaire_levels(questionnaire: scoring.Questionnaire, *, subcategories: bool = True) -> list[Level]:
    """The overall result, then each dimension followed by its subcategories (file order).
    An informational dimension (the profile: no scored question, always «no aplica») has no
    result to show; its answers are exported as answers."""
    levels = [Level("general", "overall", "general", "Resultado general")]
    for dimension in questionnaire.dimensions:
        if dimension.informational:
            continue
        levels.append(Level(f"d:{dimension.id}", "dimension", dimension.id, dimension.title))
        if subcategories:
            levels.extend(
                Level(f"s:{sub.id}", "subcategory", sub.id, sub.title, dimension.id) for sub in dimension.subcategories
            )
    return levels


def snapshot_levels(snapshot: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The stored result's overall, dimension and subcategory objects by level key
    (``general``, ``d:<id>``, ``s:<id>``); empty without a result."""
    if not snapshot:
        return {}
    levels = {"general": snapshot.get("overall") or {}}
    for dimension in snapshot.get("dimensions") or []:
        levels[f"d:{dimension.get('id')}"] = dimension
        for sub in dimension.get("subcategories") or []:
            levels[f"s:{sub.get('id')}"] = sub
    return levels


def _scored_snapshot(row: Any) -> dict[str, Any] | None:
    return decode_json(row.result_snapshot) if row.status in SCORED_STATUSES else None


def wide_columns(questionnaire: scoring.Questionnaire) -> list[Column]:
    """The response's fields, then one column per question, then score and light per level.
    Every name is unique: a question whose id is also the name of another column (a question
    called ``rut``, ``estado`` or ``puntaje_general``) is exported as ``pregunta_<id>``."""
    fixed = [column for column, _ in _RESPONSE_FIELDS]
    results = _result_columns(questionnaire)
    taken = {column.name for column in (*fixed, *results)}
    questions = [
        Column(
            f"pregunta_{question.id}" if question.id in taken else question.id,
            question.text,
            _QUESTION_KINDS[question.type],
            "pregunta",
            question,
        )
        for question in exported_questions(questionnaire)
    ]
    return [*fixed, *questions, *results]


def _result_columns(questionnaire: scoring.Questionnaire) -> list[Column]:
    columns = []
    lights = ", ".join(LIGHT_ES.values())
    kinds = {"overall": "el resultado", "dimension": "la dimensión", "subcategory": "la subcategoría"}
    for level in questionnaire_levels(questionnaire):
        where = {
            "dimension": level.dimension or (level.id if level.kind == "dimension" else ""),
            "subcategory": level.id if level.kind == "subcategory" else "",
        }
        what = f"{kinds[level.kind]} «{level.title}»"
        columns.append(
            Column(
                f"puntaje_{level.column_suffix}",
                f"Puntaje de {what}, 0 a 100 (resultado guardado al enviar)",
                "número",
                "resultado",
                **where,
            )
        )
        columns.append(
            Column(f"luz_{level.column_suffix}", f"Semáforo de {what}: {lights}", "texto", "resultado", **where)
        )
    return columns


def wide_rows(rows: Iterable[Any], *, questionnaire: scoring.Questionnaire, ctx: _Context) -> Iterator[list[Any]]:
    questions = exported_questions(questionnaire)
    question_ids = [question.id for question in questions]
    dates = [
        (index, question)
        for index, question in enumerate(questions, start=len(_RESPONSE_FIELDS))
        if question.type == "date"
    ]
    has_computed = any(question.type == "computed" for question in questions)
    levels = [level.key for level in questionnaire_levels(questionnaire)]
    for row in rows:
        answers = decode_json(row.answers) or {}
        results = snapshot_levels(_scored_snapshot(row))
        values = [getter(row, ctx) for _, getter in _RESPONSE_FIELDS]
        known = {**answers, **computed_of(questionnaire, answers)} if has_computed else answers
        values.extend([known.get(question_id) for question_id in question_ids])
        for index, question in dates:
            values[index] = _answer_value(question, values[index])
        for key in levels:
            level = results.get(key, {})
            light = level.get("light")
            values.append(level.get("score"))
            values.append(LIGHT_ES.get(light, light))
        yield values


LONG_COLUMNS = [
    Column("respuesta_id", "Número de la respuesta (de esta revisión)", "entero", "respuesta"),
    Column("cooperativa_id", "Número de la cooperativa en coopdiag", "entero", "cooperativa"),
    Column("rut", "RUT de la cooperativa (76123456-7)", "texto", "cooperativa"),
    Column("ronda_id", "Número de la ronda de diagnóstico", "entero", "respuesta"),
    Column("revision", "Revisión de la respuesta", "entero", "respuesta"),
    Column("estado", "Estado de la respuesta: " + ", ".join(STATUS_LABELS.values()), "texto", "respuesta"),
    Column("pregunta_id", "Identificador de la pregunta (vea el diccionario)", "texto", "respuesta"),
    Column("valor", "Respuesta, con los mismos valores que el formato ancho", "texto", "respuesta"),
    Column(
        "estado_pregunta",
        "Estado de la pregunta en el resultado guardado: " + ", ".join(QUESTION_STATUS_ES.values()),
        "texto",
        "resultado",
    ),
    Column("puntaje_pregunta", "Puntaje de la pregunta en el resultado guardado, 0 a 100", "número", "resultado"),
]


def long_rows(rows: Iterable[Any], *, questionnaire: scoring.Questionnaire, ctx: _Context) -> Iterator[list[Any]]:
    questions = exported_questions(questionnaire)
    has_computed = any(question.type == "computed" for question in questions)
    for row in rows:
        answers = decode_json(row.answers) or {}
        if has_computed:
            answers = {**answers, **computed_of(questionnaire, answers)}
        snapshot = _scored_snapshot(row) or {}
        results = {
            question["id"]: question
            for dimension in snapshot.get("dimensions") or []
            for sub in dimension.get("subcategories") or []
            for question in sub.get("questions") or []
        }
        status = STATUS_LABELS.get(row.status, row.status)
        for question in questions:
            value = answers.get(question.id)
            if value is None:
                continue
            result = results.get(question.id, {})
            question_status = result.get("status")
            yield [
                row.response_id,
                row.cooperative_id,
                row.rut,
                ctx.round.id,
                row.revision,
                status,
                question.id,
                _answer_value(question, value),
                QUESTION_STATUS_ES.get(question_status, question_status),
                result.get("score"),
            ]


# --------------------------------------------------------------------------- codebook


CODEBOOK_COLUMNS = [
    Column(name, description)
    for name, description in (
        ("variable", "Nombre de la columna en la exportación"),
        ("grupo", "cooperativa, respuesta, pregunta o resultado"),
        ("formato", "ancho, largo o ambos"),
        ("tipo", "Tipo de dato o de pregunta"),
        ("descripcion", "Qué contiene (para una pregunta, su texto)"),
        ("dimension", "Dimensión de la pregunta o del resultado"),
        ("subcategoria", "Subcategoría de la pregunta o del resultado"),
        ("opciones", "Valores posibles, valor=etiqueta separados por |"),
        ("unidad", "Unidad de una respuesta numérica"),
        ("relevante", "Condición para que la pregunta se haga (vacía: siempre)"),
        ("formula", "Fórmula de una pregunta calculada"),
        ("notas", "Obligatoria, crítica, límites y valores reservados"),
    )
]


def _options(question: scoring.Question) -> str:
    if question.type == "computed":
        return ""
    if question.type == "yes_no":
        pairs = [("si", "Sí"), ("no", "No")]
    else:
        pairs = [(option.value, option.label) for option in question.options]
    if question.na:
        pairs.append(("na", "No aplica"))
    pairs.append(("ns", "No sabe"))
    return " | ".join(f"{value}={label}" for value, label in pairs)


def _notes(question: scoring.Question) -> str:
    notes = ["obligatoria" if question.required else "opcional"]
    if question.critical:
        notes.append("crítica")
    if question.min is not None:
        notes.append(f"mínimo {_plain_number(float(question.min))}")
    if question.max is not None:
        notes.append(f"máximo {_plain_number(float(question.max))}")
    if question.integer:
        notes.append("número entero")
    if question.type == "multi":
        notes.append("varias opciones separadas por |")
    if question.type == "computed":
        notes.append("calculada con la fórmula a partir de las respuestas guardadas; vacía si falta un dato")
    if not question.scored:
        notes.append("sin puntaje")
    return "; ".join(notes)


def codebook_rows(questionnaire: scoring.Questionnaire) -> Iterator[list[Any]]:
    """One row per column of the wide shape (computed questions with their formula), then the
    long shape's own columns."""
    where: dict[str, tuple[str, str]] = {}
    for dimension in questionnaire.dimensions:
        for sub in dimension.subcategories:
            for question in sub.questions:
                where[question.id] = (dimension.id, sub.id)
    long_names = {column.name for column in LONG_COLUMNS}
    wide = wide_columns(questionnaire)
    for column in wide:
        question = column.question
        shape = "ambos" if column.name in long_names else "ancho"
        if question is None:
            yield [
                column.name,
                column.group,
                shape,
                column.kind,
                column.description,
                column.dimension,
                column.subcategory,
                "",
                "",
                "",
                "",
                "",
            ]
            continue
        dimension, sub = where[question.id]
        yield [
            question.id,
            "pregunta",
            "ancho (columna); largo (pregunta_id)",
            column.kind,
            question.text,
            dimension,
            sub,
            _options(question),
            question.unit or "",
            question.relevant or "",
            question.formula or "",
            _notes(question),
        ]
    wide_names = {column.name for column in wide}
    for column in LONG_COLUMNS:
        if column.name not in wide_names:
            yield [column.name, column.group, "largo", column.kind, column.description, "", "", "", "", "", "", ""]


def codebook_table(questionnaire: scoring.Questionnaire) -> Table:
    return Table("diccionario", CODEBOOK_COLUMNS, codebook_rows(questionnaire))


# --------------------------------------------------------------------------- downloads


@dataclass
class Download:
    filename: str
    media_type: str
    chunks: Iterator[bytes]

    @property
    def headers(self) -> dict[str, str]:
        return download_headers(self.filename)


@dataclass(frozen=True)
class ExportOptions:
    format: ExportFormat = ExportFormat.CSV
    shape: Shape = Shape.WIDE
    dialect: CsvDialect = CsvDialect()
    page: PageParams = field(default_factory=PageParams)


_CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
_EXTENSIONS = {
    ExportFormat.CSV: "csv",
    ExportFormat.XLSX: "xlsx",
    ExportFormat.NDJSON: "ndjson",
    ExportFormat.JSON: "json",
}


def _exportable_round(session: Session, user: User, round_id: int) -> DiagnosisRound:
    if not policy.can_export(user):
        raise Forbidden("Solo analistas y administradores pueden exportar datos.")
    return get_round(session=session, round_id=round_id)


def _table(rows: Iterable[Any], shape: Shape, questionnaire: scoring.Questionnaire, ctx: _Context) -> Table:
    if shape == Shape.LONG:
        return Table("datos", LONG_COLUMNS, long_rows(rows, questionnaire=questionnaire, ctx=ctx))
    return Table("datos", wide_columns(questionnaire), wide_rows(rows, questionnaire=questionnaire, ctx=ctx))


def export_round(
    *,
    session: Session,
    sessions: sessionmaker[Session],
    user: User,
    settings: Settings,
    round_id: int,
    filters: ExportFilters,
    options: ExportOptions,
) -> Download | dict[str, Any]:
    """The round's responses as a download (CSV, XLSX, NDJSON) or a page of JSON rows.

    Authorization, the round and the filters are checked on ``session`` before anything is
    sent, so they fail with a proper error. CSV and NDJSON read the rows while streaming,
    on a session of their own from ``sessions`` (the request's may be closed by then).
    """
    round_ = _exportable_round(session, user, round_id)
    questionnaire = get_round_questionnaire(session=session, round=round_)
    statement = responses_statement(user=user, settings=settings, round_id=round_.id, filters=filters)
    ctx = _Context(round=round_, settings=settings)
    if options.format == ExportFormat.JSON:
        total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
        page = options.page
        rows = session.execute(statement.limit(page.per_page).offset((page.page - 1) * page.per_page)).all()
        table = _table(rows, options.shape, questionnaire, ctx)
        return page_of(list(json_items(table)), total, page) | {"columns": table.names}
    # Each variant saves under its own name: the Excel CSV (semicolons, decimal commas) and the
    # standard one must not overwrite each other in the downloads folder.
    excel = options.format == ExportFormat.CSV and options.dialect.decimal_comma
    variant = f"{options.shape.value}-excel" if excel else options.shape.value
    filename = f"respuestas-{slug(round_.name)}-{variant}.{_EXTENSIONS[options.format]}"
    if options.format == ExportFormat.XLSX:
        table = _table(stream_rows(session, statement), options.shape, questionnaire, ctx)
        file = xlsx_file([table, codebook_table(questionnaire)])
        return Download(filename, XLSX_MEDIA_TYPE, file_chunks(file))

    def chunks() -> Iterator[bytes]:
        with sessions() as stream_session:
            table = _table(stream_rows(stream_session, statement), options.shape, questionnaire, ctx)
            if options.format == ExportFormat.NDJSON:
                yield from ndjson_chunks(table)
            else:
                yield from csv_chunks(table, options.dialect)

    media_type = "application/x-ndjson" if options.format == ExportFormat.NDJSON else _CSV_MEDIA_TYPE
    return Download(filename, media_type, chunks())


def round_codebook(
    *,
    session: Session,
    user: User,
    round_id: int,
    format: CodebookFormat,  # noqa: A002
    dialect: CsvDialect,
) -> Download | dict[str, Any]:
    """The codebook of the round's exports: CSV or XLSX download, or JSON."""
    round_ = _exportable_round(session, user, round_id)
    table = codebook_table(get_round_questionnaire(session=session, round=round_))
    if format == CodebookFormat.JSON:
        return {"columns": table.names, "items": list(json_items(table))}
    filename = f"diccionario-{slug(round_.name)}.{format.value}"
    if format == CodebookFormat.XLSX:
        return Download(filename, XLSX_MEDIA_TYPE, file_chunks(xlsx_file([table])))
    return Download(filename, _CSV_MEDIA_TYPE, csv_chunks(table, dialect))


__all__ = [
    "QUESTION_STATUS_ES",
    "CodebookFormat",
    "Column",
    "CsvDialect",
    "Download",
    "ExportFilters",
    "ExportFormat",
    "ExportOptions",
    "Flavour",
    "LONG_COLUMNS",
    "Level",
    "Separator",
    "Shape",
    "Table",
    "XlsxWriter",
    "codebook_table",
    "csv_chunks",
    "export_round",
    "members_total",
    "ndjson_chunks",
    "neutralise",
    "questionnaire_levels",
    "responses_statement",
    "round_codebook",
    "snapshot_levels",
    "stream_rows",
    "wide_columns",
    "xlsx_file",
]
