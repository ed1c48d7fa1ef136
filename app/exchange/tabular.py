"""One reader for uploaded spreadsheets (CSV or XLSX), shared by every importer.

``read_table(data, filename, columns=…)`` returns a :class:`Table`: the sheet name, the
columns found and the rows as ``(row number as the user sees it, {column key: value})``.
Anything wrong with the file as a whole, or with a cell the reader itself cannot read (a
formula without a computed value), raises :class:`TabularError` holding *every* problem
found, each with row, column, value and a Spanish reason. Importers then check the values
of each row and report their own :class:`Problem` objects in the same shape.

What the reader takes care of:

- the real kind of the file from its bytes, not its name: an XLSX is a ZIP holding
  ``[Content_Types].xml`` and ``xl/workbook.xml``; a file named ``.csv`` that is an XLSX
  (or the reverse), an old ``.xls``, a PDF or any other binary is refused;
- size: at most :data:`MAX_UPLOAD_BYTES`, :data:`MAX_ROWS` data rows and
  :data:`MAX_COLUMNS` columns;
- XLSX zip bombs: the ZIP directory is checked *before* openpyxl opens the file (number of
  parts, total uncompressed size, compression ratio). Python's zipfile never inflates a
  part beyond the size its directory declares (a lie fails the CRC check), so the declared
  sizes are a real bound;
- CSV: UTF-8 with or without BOM, UTF-16 with BOM (Excel's «texto Unicode»), otherwise
  Windows-1252 / Latin-1; ``;``, ``,`` or tab separators (chosen from the header line),
  quoted fields with separators or line breaks inside;
- XLSX: the first sheet, or the one named ``sheet`` when it exists; cells with formulas
  give their computed value (openpyxl ``data_only``), and a formula never computed (a file
  written by a program, not saved by Excel or LibreOffice) is an error naming the cell;
- headers: matched by :func:`column_key` (case, accents, spaces and punctuation do not
  matter), so «Razón social», «RAZON SOCIAL» and «razon_social» are the same column;
  duplicated columns, missing required ones and unknown ones are reported;
- blank rows are skipped (row numbers still count them) and text cells are stripped; an
  empty cell is ``None``.

The ``parse_*`` helpers turn a cell into a date, a number, an integer or a yes/no the same
way for every importer (Chilean conventions: day before month, decimal comma), raising
ValueError with a Spanish reason.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

#: Largest upload accepted, in bytes (the API refuses larger bodies before reading them).
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
#: Most data rows in one file (the header row not counted).
MAX_ROWS = 20_000
#: Most columns in one file.
MAX_COLUMNS = 1_000
#: Most bytes an XLSX may hold once uncompressed, all its parts together.
MAX_XLSX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
#: Largest compression ratio of one XLSX part (real workbooks stay well under 100).
MAX_XLSX_RATIO = 250
#: Most parts (files inside the ZIP) of an XLSX.
MAX_XLSX_PARTS = 2_000
#: Longest text accepted in one cell.
MAX_CELL_CHARS = 32_767  # Excel's own limit

Kind = Literal["csv", "xlsx"]

_CSV_SUFFIXES = (".csv", ".txt", ".tsv")
_XLSX_SUFFIXES = (".xlsx", ".xlsm")
_KIND_NAMES = {"csv": "un archivo CSV (texto)", "xlsx": "una planilla Excel (.xlsx)"}


# --------------------------------------------------------------------------- problems


@dataclass(frozen=True)
class Problem:
    """One thing wrong in an uploaded file. ``row`` is the row number the user sees (1 is
    the header in a CSV); ``column`` is the column as the user wrote it (or the field);
    ``value`` the offending cell as text."""

    reason: str
    row: int | None = None
    column: str | None = None
    value: str | None = None

    def place(self) -> str:
        parts = []
        if self.row is not None:
            parts.append(f"fila {self.row}")
        if self.column:
            parts.append(f"columna «{self.column}»")
        return ", ".join(parts)

    def message(self) -> str:
        place = self.place()
        shown = f" (valor «{self.value}»)" if self.value not in (None, "") else ""
        text = f"{place}: {self.reason}" if place else self.reason
        return f"{text[:1].upper()}{text[1:]}{shown}"

    def as_detail(self, code: str = "invalid") -> dict[str, Any]:
        """The problem as an entry of the API's error ``details``."""
        return {
            "field": self.place() or "archivo",
            "code": code,
            "message": self.reason,
            "row": self.row,
            "column": self.column,
            "value": self.value,
        }


class TabularError(Exception):
    """The file cannot be read; ``problems`` lists everything found, in Spanish."""

    def __init__(self, problems: Sequence[Problem] | Problem, *, code: str = "invalid_file") -> None:
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        self.code = code
        super().__init__(self.message)

    @property
    def message(self) -> str:
        first = self.problems[0].message() if self.problems else "El archivo no se puede leer."
        more = len(self.problems) - 1
        return first + (f" (y {more} problema{'s' if more > 1 else ''} más)" if more > 0 else "")


def show_value(value: Any) -> str | None:
    """A cell as text for a problem report (dates in Chilean format, long text cut)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value.date() if value.time() == time(0) else value
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.strftime("%d-%m-%Y")
    if isinstance(value, datetime):
        return value.strftime("%d-%m-%Y %H:%M")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "…"


# --------------------------------------------------------------------------- columns


def column_key(header: Any) -> str:
    """The canonical key of a header: lower case, no accents, words joined by ``_``.

    «N° registro DAES» → ``n_registro_daes``; «Razón social» → ``razon_social``;
    «Rubro(s)» → ``rubro_s``; ``meta/instanceID`` → ``meta_instanceid``; ``_uuid`` keeps
    its underscore.
    """
    text = "" if header is None else str(header)
    text = text.translate(_ORDINALS)
    decomposed = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^a-z0-9_]+", " ", folded).strip().replace(" ", "_")


_ORDINALS = str.maketrans({"°": "", "º": "", "ª": ""})


@dataclass(frozen=True)
class Column:
    """A column an importer knows: its ``key`` in the rows, the headers that mean it
    (compared by :func:`column_key`; the key itself always matches) and whether it must be
    present in the file."""

    key: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    label: str | None = None  # how messages name it when the file lacks it

    def keys(self) -> set[str]:
        return {column_key(self.key), *(column_key(alias) for alias in self.aliases)}


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


@dataclass(frozen=True)
class Header:
    key: str  # the Column key (or the canonical key when the reader was given no columns)
    text: str  # as written in the file
    letter: str  # A, B, … (also for a CSV: how a spreadsheet program shows it)


@dataclass
class Table:
    kind: Kind
    sheet: str | None  # None for a CSV
    headers: list[Header]
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    header_row: int = 1
    separator: str | None = None  # for a CSV
    encoding: str | None = None  # for a CSV

    def header_text(self, key: str) -> str:
        """How the file names the column ``key`` (for messages)."""
        for header in self.headers:
            if header.key == key:
                return header.text
        return key

    @property
    def keys(self) -> list[str]:
        return [header.key for header in self.headers]


# --------------------------------------------------------------------------- reading


def read_table(
    data: bytes,
    filename: str,
    *,
    columns: Sequence[Column] | None = None,
    unknown: Literal["error", "ignore", "keep"] = "error",
    sheet: str | None = None,
    max_rows: int = MAX_ROWS,
    max_bytes: int = MAX_UPLOAD_BYTES,
) -> Table:
    """Read an uploaded CSV or XLSX. ``columns``: the columns the importer knows (rows are
    keyed by their ``key``); ``None`` keeps every column under its :func:`column_key`.
    ``unknown``: what to do with a column not in ``columns`` (an error, drop it, or keep it
    under its canonical key). Raises TabularError with every problem found."""
    name = filename or "archivo"
    if len(data) > max_bytes:
        raise TabularError(
            Problem(f"el archivo «{name}» supera el máximo de {_megabytes(max_bytes)} (pesa {_megabytes(len(data))})"),
            code="too_large",
        )
    if not data.strip():
        raise TabularError(Problem(f"el archivo «{name}» está vacío"), code="empty_file")
    expected = _kind_from_name(name)
    actual = detect_kind(data)
    if actual != expected:
        raise TabularError(Problem(_mismatch_reason(name, expected, actual)), code="wrong_file_kind")
    if actual == "xlsx":
        sheet_name, header_row, raw_rows = _xlsx_rows(data, name, sheet=sheet, max_rows=max_rows)
        table = Table(kind="xlsx", sheet=sheet_name, headers=[], header_row=header_row)
    else:
        text, encoding = decode_text(data)
        separator = sniff_separator(text)
        header_row, raw_rows = _csv_rows(text, separator, max_rows=max_rows)
        table = Table(kind="csv", sheet=None, headers=[], header_row=header_row, separator=separator, encoding=encoding)
    _build(table, raw_rows, columns=columns, unknown=unknown, max_rows=max_rows)
    return table


def detect_kind(data: bytes) -> Kind | str:
    """``"xlsx"``, ``"csv"`` (text) or a short Spanish description of another kind of file."""
    head = data[:8]
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except Exception:  # noqa: BLE001 - BadZipFile, NotImplementedError (an unknown ZIP version), OSError…
            return "un archivo ZIP dañado"
        if "[Content_Types].xml" in names and "xl/workbook.xml" in names:
            return "xlsx"
        if "[Content_Types].xml" in names and "word/document.xml" in names:
            return "un documento Word (.docx)"
        if "content.xml" in names and "mimetype" in names:
            return "una planilla OpenDocument (.ods)"
        return "un archivo ZIP"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "una planilla Excel 97-2003 (.xls)"
    if head.startswith(b"%PDF"):
        return "un documento PDF"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8")):
        return "una imagen"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "csv"
    if b"\x00" in data[:65536]:
        return "un archivo binario"
    return "csv"


def _kind_from_name(name: str) -> Kind:
    lowered = name.lower().strip()
    if lowered.endswith(_XLSX_SUFFIXES):
        return "xlsx"
    if lowered.endswith(_CSV_SUFFIXES):
        return "csv"
    raise TabularError(
        Problem(f"el archivo «{name}» no termina en .csv ni en .xlsx; suba una planilla Excel (.xlsx) o un CSV"),
        code="wrong_file_kind",
    )


def _mismatch_reason(name: str, expected: Kind, actual: str) -> str:
    described = _KIND_NAMES.get(actual, actual)
    advice = {
        "una planilla Excel 97-2003 (.xls)": "; ábralo en Excel o LibreOffice y guárdelo como .xlsx",
        "una planilla OpenDocument (.ods)": "; guárdelo como .xlsx o .csv",
    }.get(actual, "")
    return f"el archivo «{name}» dice ser {_KIND_NAMES[expected]} por su nombre, pero es {described}{advice}"


def _megabytes(size: int) -> str:
    megabytes = size / (1024 * 1024)
    return f"{megabytes:.0f} MB" if megabytes.is_integer() else f"{megabytes:.2f} MB".replace(".", ",")


# --------------------------------------------------------------------------- CSV


def decode_text(data: bytes) -> tuple[str, str]:
    """The text of a CSV and the encoding used: UTF-8 (with or without BOM), UTF-16 with
    BOM, else Windows-1252 (Latin-1 for the few bytes it does not define)."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            raise TabularError(
                Problem(
                    "el archivo empieza como UTF-8 pero tiene caracteres que no lo son; guárdelo de nuevo como «CSV UTF-8»"
                ),
                code="bad_encoding",
            ) from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise TabularError(
                Problem("el archivo de texto Unicode (UTF-16) está dañado"), code="bad_encoding"
            ) from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def sniff_separator(text: str) -> str:
    """``;``, ``,`` or tab: the one most used in the header line (outside quotes); a
    single-column file gives ``,``. Headers rarely hold separators, data often does."""
    line = _first_line(text)
    counts = {";": 0, ",": 0, "\t": 0}
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(counts, key=lambda sep: (counts[sep], sep == ";", sep == "\t"))
    return best if counts[best] else ","


def _first_line(text: str) -> str:
    for line in text[:65536].splitlines():
        if line.strip().strip(",;\t"):
            return line
    return ""


def _csv_rows(text: str, separator: str, *, max_rows: int) -> tuple[int, Iterator[tuple[int, list[Any]]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, quotechar='"', strict=False)

    def rows() -> Iterator[tuple[int, list[Any]]]:
        number = 0
        try:
            for record in reader:
                number += 1
                yield number, [_clean_text(value) for value in record]
        except csv.Error as error:
            raise TabularError(
                Problem(f"el CSV no se puede leer ({_csv_reason(error)})", row=number + 1), code="bad_csv"
            ) from None

    return 1, rows()


def _csv_reason(error: csv.Error) -> str:
    text = str(error)
    if "field larger than field limit" in text:
        return "una celda es demasiado larga; quizás falta cerrar unas comillas"
    if "NUL" in text or "null byte" in text.lower():
        return "contiene caracteres nulos; no es un archivo de texto"
    return "comillas o separadores mal formados"


def _clean_text(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip().replace("\x00", "")
        return value or None
    return value


# --------------------------------------------------------------------------- XLSX


def check_zip(data: bytes, name: str) -> None:
    """Refuse an XLSX whose ZIP directory announces more than a workbook can hold: too many
    parts, too many bytes once uncompressed, or a compression ratio only a bomb has."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - BadZipFile, NotImplementedError, OSError…
        raise TabularError(Problem(f"el archivo «{name}» está dañado (no es un ZIP válido)"), code="bad_xlsx") from None
    with archive:
        infos = archive.infolist()
    if len(infos) > MAX_XLSX_PARTS:
        raise TabularError(
            Problem(f"el archivo «{name}» tiene {len(infos)} partes internas; una planilla normal tiene pocas decenas"),
            code="zip_bomb",
        )
    total = sum(info.file_size for info in infos)
    if total > MAX_XLSX_UNCOMPRESSED_BYTES:
        raise TabularError(
            Problem(
                f"el archivo «{name}» se expande a {_megabytes(total)} al abrirlo; el máximo es "
                f"{_megabytes(MAX_XLSX_UNCOMPRESSED_BYTES)} (¿es una «bomba ZIP»?)"
            ),
            code="zip_bomb",
        )
    for info in infos:
        if info.file_size > 1024 * 1024 and info.file_size > MAX_XLSX_RATIO * max(info.compress_size, 1):
            raise TabularError(
                Problem(
                    f"la parte «{info.filename}» del archivo «{name}» está comprimida "
                    f"{info.file_size // max(info.compress_size, 1)} veces; una planilla real no pasa de "
                    f"{MAX_XLSX_RATIO} (¿es una «bomba ZIP»?)"
                ),
                code="zip_bomb",
            )


#: Blank rows tolerated above the header row.
_HEADER_SLACK = 20
_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")


def _xlsx_rows(
    data: bytes, name: str, *, sheet: str | None, max_rows: int
) -> tuple[str, int, Iterator[tuple[int, list[Any]]]]:
    check_zip(data, name)
    workbook = _open_workbook(data, name, data_only=True)
    try:
        worksheet = _pick_sheet(workbook, sheet, name)
        sheet_name = worksheet.title
        # Blank rows above the header, the header, max_rows of data and one more row to see that
        # there are too many: reading stops there, however many rows the sheet claims.
        limit = _HEADER_SLACK + 1 + max_rows + 1
        # Rows are padded to the width the sheet declares, at most one column past the limit.
        width = min(worksheet.max_column or MAX_COLUMNS + 1, MAX_COLUMNS + 1)
        values = [
            (index, list(row))
            for index, row in enumerate(
                worksheet.iter_rows(min_row=1, max_row=limit, max_col=width, values_only=True), start=1
            )
        ]
    except TabularError:
        raise
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds of errors on a damaged workbook
        raise TabularError(
            Problem(f"el archivo «{name}» está dañado o no es una planilla Excel válida"), code="bad_xlsx"
        ) from None
    finally:
        workbook.close()
    formulas = _uncomputed_formulas(data, name, sheet_name, values)
    if formulas:
        raise TabularError(formulas, code="uncomputed_formula")
    return sheet_name, 1, iter(values)


def _open_workbook(data: bytes, name: str, *, data_only: bool):
    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about extensions it does not read
            return load_workbook(io.BytesIO(data), read_only=True, data_only=data_only, keep_links=False)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds of errors on a damaged workbook
        raise TabularError(
            Problem(f"el archivo «{name}» está dañado o no es una planilla Excel válida"), code="bad_xlsx"
        ) from None


def _pick_sheet(workbook, sheet: str | None, name: str):
    worksheets = [ws for ws in workbook.worksheets if getattr(ws, "iter_rows", None)]
    if not worksheets:
        raise TabularError(Problem(f"el archivo «{name}» no tiene hojas de cálculo"), code="bad_xlsx")
    if sheet is not None:
        for worksheet in worksheets:
            if column_key(worksheet.title) == column_key(sheet):
                return worksheet
    return worksheets[0]


def _uncomputed_formulas(data: bytes, name: str, sheet_name: str, values: list[tuple[int, list[Any]]]) -> list[Problem]:
    """Cells holding a formula whose value was never computed (their cached value is
    empty). Only looked for when the sheet has formulas at all (a cheap scan of its XML)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if not any(
                _FORMULA_TAG.search(archive.read(info))
                for info in archive.infolist()
                if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")
            ):
                return []
    except Exception:  # noqa: BLE001 - a damaged part openpyxl did not need
        raise TabularError(
            Problem(f"el archivo «{name}» está dañado o no es una planilla Excel válida"), code="bad_xlsx"
        ) from None
    workbook = _open_workbook(data, name, data_only=False)
    header = next((row for _, row in values if not _is_blank(row)), [])
    try:
        return _formula_cells(workbook, sheet_name, values, header)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds of errors on a damaged workbook
        raise TabularError(
            Problem(f"el archivo «{name}» está dañado o no es una planilla Excel válida"), code="bad_xlsx"
        ) from None
    finally:
        workbook.close()


def _formula_cells(workbook, sheet_name: str, values: list[tuple[int, list[Any]]], header: list[Any]) -> list[Problem]:
    problems = []
    worksheet = workbook[sheet_name]
    for (index, cached), row in zip(
        values, worksheet.iter_rows(min_row=1, max_row=len(values), max_col=MAX_COLUMNS + 1, values_only=True)
    ):
        for position, formula in enumerate(row):
            if (
                isinstance(formula, str)
                and formula.startswith("=")
                and (position >= len(cached) or cached[position] is None)
            ):
                problems.append(
                    Problem(
                        f"la celda {column_letter(position)}{index} tiene una fórmula sin valor calculado; ábrala en "
                        "Excel o LibreOffice y guárdela de nuevo, o escriba el valor",
                        row=index,
                        value=formula,
                        column=str(header[position]).strip()
                        if position < len(header) and header[position] is not None
                        else column_letter(position),
                    )
                )
    return problems


# --------------------------------------------------------------------------- rows


def _is_blank(values: Iterable[Any]) -> bool:
    return all(value is None or (isinstance(value, str) and not value.strip()) for value in values)


def _build(
    table: Table,
    raw_rows: Iterator[tuple[int, list[Any]]],
    *,
    columns: Sequence[Column] | None,
    unknown: Literal["error", "ignore", "keep"],
    max_rows: int,
) -> None:
    problems: list[Problem] = []
    header_cells: list[Any] | None = None
    for number, values in raw_rows:
        if not _is_blank(values):
            table.header_row, header_cells = number, values
            break
    if header_cells is None:
        raise TabularError(Problem("el archivo no tiene filas: falta la fila de encabezados"), code="empty_file")
    if len(header_cells) > MAX_COLUMNS:
        last = max(i for i, v in enumerate(header_cells) if v is not None) + 1
        if last > MAX_COLUMNS:
            raise TabularError(Problem(f"el archivo tiene más de {MAX_COLUMNS} columnas"), code="too_many_columns")

    wanted: dict[str, Column] = {}
    for spec in columns or ():
        for key in spec.keys():  # noqa: SIM118 - Column.keys() is a method of ours, not a dict view
            wanted[key] = spec
    positions: dict[int, str] = {}  # cell position -> row key
    seen: dict[str, Header] = {}
    blank_headers: set[int] = set()
    for position, cell in enumerate(header_cells):
        text = "" if cell is None else str(cell).strip()
        letter = column_letter(position)
        if not text:
            blank_headers.add(position)
            continue
        canonical = column_key(text)
        if columns is not None and canonical in wanted:
            key = wanted[canonical].key
        elif columns is None or unknown == "keep":
            key = canonical or text
        elif unknown == "ignore":
            continue
        else:
            known = (
                " (columnas posibles: " + ", ".join(f"«{spec.label or spec.key}»" for spec in columns) + ")"
                if len(columns) <= 20
                else ""
            )
            problems.append(
                Problem(
                    f"la columna {letter} «{text}» no es una columna conocida{known}",
                    row=table.header_row,
                    column=text,
                )
            )
            continue
        if key in seen:
            first = seen[key]
            problems.append(
                Problem(
                    f"las columnas {first.letter} «{first.text}» y {letter} «{text}» son la misma; deje solo una",
                    row=table.header_row,
                    column=text,
                )
            )
            continue
        header = Header(key=key, text=text, letter=letter)
        seen[key] = header
        table.headers.append(header)
        positions[position] = key
    for spec in columns or ():
        if spec.required and spec.key not in seen:
            problems.append(
                Problem(
                    f"falta la columna «{spec.label or spec.key}»", row=table.header_row, column=spec.label or spec.key
                )
            )
    if problems:
        raise TabularError(problems, code="bad_columns")

    data_rows = 0
    for number, values in raw_rows:
        if _is_blank(values):
            continue
        data_rows += 1
        if data_rows > max_rows:
            raise TabularError(
                Problem(
                    f"el archivo tiene más de {max_rows:,} filas de datos; divídalo en varios archivos".replace(
                        ",", "."
                    )
                ),
                code="too_many_rows",
            )
        row: dict[str, Any] = {}
        for position, value in enumerate(values):
            key = positions.get(position)
            if key is None:
                if position in blank_headers and not _is_blank([value]):
                    problems.append(
                        Problem(
                            f"la columna {column_letter(position)} tiene datos pero no tiene encabezado",
                            row=number,
                            column=column_letter(position),
                            value=show_value(value),
                        )
                    )
                continue
            value = _clean_text(value)
            if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
                problems.append(
                    Problem(
                        f"el texto tiene {len(value)} caracteres; el máximo es {MAX_CELL_CHARS}",
                        row=number,
                        column=table.header_text(key),
                        value=value[:40] + "…",
                    )
                )
                continue
            row[key] = value
        for key in positions.values():
            row.setdefault(key, None)
        table.rows.append((number, row))
    if problems:
        raise TabularError(problems, code="bad_cells")


# --------------------------------------------------------------------------- cell values

_EXCEL_EPOCH = date(1899, 12, 30)
#: Excel serial numbers accepted as dates: 1 January 1900 to 31 December 2099.
_SERIAL_RANGE = (1, 73050)
_DATE_FORMATS = ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y/%m/%d", "%d-%m-%y", "%d/%m/%y")


def parse_date(value: Any) -> date:
    """A date from a real date cell, an Excel serial number (45292 = 01-01-2024) or text:
    2024-01-31, 31-01-2024, 31/01/2024, 31.01.2024 (day before month, as in Chile)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise ValueError("no es una fecha")
    if isinstance(value, (int, float)):
        return _from_serial(value)
    text = str(value).strip()
    if re.fullmatch(r"\d{1,5}(\.0+)?", text):
        return _from_serial(float(text))
    text = re.sub(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$", "", text)  # a time of 00:00 written by a program
    for pattern in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(text, pattern).date()
        except ValueError:
            continue
        if parsed.year < 1900:
            break
        return parsed
    raise ValueError("no es una fecha (escriba DD-MM-AAAA, por ejemplo 31-03-2026)")


def _from_serial(serial: float) -> date:
    """Excel's day number (a fraction is the time of day, dropped)."""
    if not _SERIAL_RANGE[0] <= serial < _SERIAL_RANGE[1] + 1:
        raise ValueError("el número no corresponde a una fecha de Excel entre 1900 y 2099")
    return _EXCEL_EPOCH + timedelta(days=int(serial))


_GROUPED = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+$")
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")


def parse_number(value: Any) -> int | float:
    """A number from a numeric cell or text in Chilean or international format: «1.234»
    and «12.500» (thousands), «3,5» (decimal comma), «1.234,5», «1,234.5», «3.5»."""
    if isinstance(value, (bool, date, datetime)):
        raise ValueError("no es un número")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("no es un número")
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    text = re.sub(r"[\s\u00a0$%]", "", str(value))
    if not text:
        raise ValueError("está vacío")
    if "," in text and "." in text:
        decimal = "," if text.rfind(",") > text.rfind(".") else "."
        thousands = "." if decimal == "," else ","
        if not re.fullmatch(rf"[+-]?\d{{1,3}}(\{thousands}\d{{3}})*\{decimal}\d+", text):
            raise ValueError("no es un número")
        text = text.replace(thousands, "").replace(decimal, ".")
    elif _GROUPED.match(text):
        text = text.replace(".", "")
    elif _NUMBER.match(text):
        text = text.replace(",", ".")
    else:
        raise ValueError("no es un número")
    if len(text.lstrip("+-").split(".")[0]) > 15:
        raise ValueError("el número es demasiado grande")
    return float(text) if "." in text else int(text)


def parse_int(value: Any) -> int:
    number = parse_number(value)
    if isinstance(number, float):
        if not number.is_integer():
            raise ValueError("debe ser un número entero")
        number = int(number)
    return number


_TRUE = {"si", "s", "yes", "y", "true", "verdadero", "1", "x", "vigente"}
_FALSE = {"no", "n", "false", "falso", "0", "no_vigente"}


def parse_bool(value: Any) -> bool:
    """Sí/no from a boolean cell, 1/0 or text (sí, si, s, x, verdadero, true; no, n, falso, false)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    key = column_key(value)
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise ValueError("debe ser «sí» o «no»")


def parse_text(value: Any) -> str:
    """Text from any cell: numbers without a spurious «.0», dates as DD-MM-AAAA."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (date, datetime)):
        return show_value(value) or ""
    return str(value).strip()


__all__ = [
    "Column",
    "Header",
    "MAX_COLUMNS",
    "MAX_ROWS",
    "MAX_UPLOAD_BYTES",
    "Problem",
    "Table",
    "TabularError",
    "check_zip",
    "column_key",
    "column_letter",
    "decode_text",
    "detect_kind",
    "parse_bool",
    "parse_date",
    "parse_int",
    "parse_number",
    "parse_text",
    "read_table",
    "show_value",
    "sniff_separator",
]
