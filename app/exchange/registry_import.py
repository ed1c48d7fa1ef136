"""Import of the cooperative registry from a CSV or XLSX file with DAES-style columns.

``import_registry(session=…, user=…, settings=…, data=…, filename=…, dry_run=…)`` reads the
file with the shared reader (app.exchange.tabular), turns every row into the fields of a
cooperative, checks them with the API's own rules (``CooperativeCreate`` / ``CooperativeUpdate``
and the service's cross-field checks) and matches it by RUT:

- a RUT not registered → the cooperative is *created* (approved: staff import it);
- a registered RUT → the cells that differ are *changed* (``field: old → new``); an empty cell
  never erases a registered value, and a row equal to the registry is *unchanged*;
- a row with any problem is *refused*, with every problem (row, column, value, reason).

The preview (``dry_run``) says all that and writes nothing. A real import writes every row
in one transaction, and only when no row has a problem: nothing is ever partly imported.
The columns and value formats are documented for users in docs/data-exchange.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import user_input
from app.auth import policy
from app.auth.models import User
from app.cooperatives.models import (
    COOPERATIVE_STATE_LABELS,
    LEGAL_TYPE_LABELS,
    Cooperative,
    CooperativeState,
    LegalType,
)
from app.cooperatives.schemas import (
    CooperativeCreate,
    CooperativeUpdate,
    format_rut,
    normalize_rut,
)
from app.cooperatives.sectors import SECTORS
from app.cooperatives.service import _check_consistency
from app.errors import Conflict, Forbidden, Invalid, validation_details
from app.exchange.tabular import (
    Column,
    Problem,
    Table,
    TabularError,
    column_key,
    parse_bool,
    parse_date,
    parse_int,
    parse_text,
    read_table,
    show_value,
)
from app.settings import REGIONS, Settings

#: The registry columns: field, the headers that mean it (any case and accents), required.
COLUMNS: tuple[Column, ...] = (
    Column(
        "rut", ("RUT", "RUT cooperativa", "RUT de la cooperativa", "Rol único tributario"), required=True, label="RUT"
    ),
    Column("name", ("Razón social", "Nombre", "Nombre de la cooperativa", "Cooperativa"), label="Razón social"),
    Column(
        "daes_number",
        (
            "N° registro DAES",
            "Número de registro DAES",
            "Registro DAES",
            "N° registro",
            "Rol DAES",
            "Número de registro",
        ),
        label="N° registro DAES",
    ),
    Column("legal_type", ("Tipo", "Tipo jurídico", "Tipo de cooperativa", "Clase"), label="Tipo"),
    Column("state", ("Estado",), label="Estado"),
    Column("legally_current", ("Vigente", "Vigencia", "Vigente DAES"), label="Vigente"),
    Column("region_code", ("Región", "Region", "Código región", "Código de región"), label="Región"),
    Column("comuna", ("Comuna",), label="Comuna"),
    Column("sectors", ("Rubro(s)", "Rubros", "Rubro", "Rubro principal"), label="Rubro(s)"),
    Column("members_women", ("Socias mujeres", "Socias", "Mujeres"), label="Socias mujeres"),
    Column("members_men", ("Socios hombres", "Hombres"), label="Socios hombres"),
    Column(
        "members_under_35",
        ("Socios menores de 35", "Menores de 35", "Socios menores de 35 años"),
        label="Socios menores de 35",
    ),
    Column(
        "founding_year",
        ("Año de constitución", "Año constitución", "Año de fundación", "Fecha de constitución"),
        label="Año de constitución",
    ),
    Column("contact_name", ("Contacto", "Nombre de contacto", "Persona de contacto"), label="Contacto"),
    Column("contact_email", ("Correo", "Correo electrónico", "Email", "E-mail"), label="Correo"),
    Column("contact_phone", ("Teléfono", "Fono", "Celular"), label="Teléfono"),
    Column("notes", ("Observaciones", "Notas"), label="Observaciones"),
)
LABELS = {column.key: column.label or column.key for column in COLUMNS}
#: What a new cooperative must have (the others take the API's defaults).
REQUIRED_TO_CREATE = ("name", "legal_type", "region_code")

_ROMAN = {
    "i": 1,
    "ii": 2,
    "iii": 3,
    "iv": 4,
    "v": 5,
    "vi": 6,
    "vii": 7,
    "viii": 8,
    "ix": 9,
    "x": 10,
    "xi": 11,
    "xii": 12,
    "xiii": 13,
    "rm": 13,
    "xiv": 14,
    "xv": 15,
    "xvi": 16,
}
_REGION_KEYS = {code: column_key(name) for code, name in REGIONS.items()}
_REGION_PREFIXES = re.compile(r"^(region_)?(de_la_|del_|de_|of_)?")


# --------------------------------------------------------------------------- cell values


def parse_region(value: Any) -> int:
    """A region by its official (CUT) code (13), roman numeral (XIII, RM) or name, whole or
    the distinctive part («Región del Maule», «Ñuble», «O'Higgins», «Metropolitana»)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        code = parse_int(value)
    else:
        key = _REGION_PREFIXES.sub("", column_key(value))
        if (number := user_input.parse_int(key, maximum=99)) is not None:
            code = number
        elif key in _ROMAN:
            code = _ROMAN[key]
        else:
            joined = key.replace("_", "")  # «Bío Bío» and «Biobío» alike
            matches = [c for c, name in _REGION_KEYS.items() if joined and joined in name.replace("_", "")]
            if len(matches) != 1:
                raise ValueError("no es una región de Chile (escriba su código, 1 a 16, o su nombre)")
            code = matches[0]
    if code not in REGIONS:
        raise ValueError(f"{code} no es un código de región de Chile (1 a 16)")
    return code


def _vocabulary(labels: dict[str, str], extra: dict[str, str] | None = None) -> dict[str, str]:
    """Every way of writing a value (code, label, label without «cooperativa de») → code."""
    words: dict[str, str] = {}
    for code, label in labels.items():
        for text in (code, label):
            key = column_key(text)
            words[key] = code
            words[re.sub(r"^(cooperativa_|grupo_)?(de_)?", "", key)] = code
    for text, code in (extra or {}).items():
        words[column_key(text)] = code
    return words


_LEGAL_TYPES = _vocabulary(
    LEGAL_TYPE_LABELS,
    {
        "precooperativa": LegalType.PRECOOPERATIVO.value,
        "pre-cooperativa": LegalType.PRECOOPERATIVO.value,
        "pre cooperativo": LegalType.PRECOOPERATIVO.value,
        "agropecuaria": LegalType.AGRICOLA.value,
    },
)
_STATES = _vocabulary(
    COOPERATIVE_STATE_LABELS,
    {
        "activo": CooperativeState.ACTIVA.value,
        "inactivo": CooperativeState.INACTIVA.value,
        "formacion": CooperativeState.EN_FORMACION.value,
    },
)
_SECTORS = _vocabulary(SECTORS)


def _coded(value: Any, words: dict[str, str], what: str, labels: dict[str, str]) -> str:
    code = words.get(column_key(value))
    if code is None:
        raise ValueError(f"no es {what} conocido (valores posibles: " + ", ".join(labels.values()) + ")")
    return code


def parse_sectors(value: Any) -> list[str]:
    """Sectors separated by commas, semicolons, slashes or «y», by code or label."""
    parts = [part for part in re.split(r"[,;/|\n]+", parse_text(value)) if part.strip()]
    codes, unknown = [], []
    for part in parts:
        code = _SECTORS.get(column_key(part))
        if code:  # a label may hold «y» itself: «Cereales y legumbres»
            codes.append(code)
            continue
        pieces = [piece for piece in re.split(r"\s+y\s+", part) if piece.strip()]
        found = [_SECTORS.get(column_key(piece)) for piece in pieces]
        if len(pieces) > 1 and all(found):
            codes.extend(found)
        else:
            unknown.append(part.strip())
    if unknown:
        raise ValueError(
            "rubro desconocido: "
            + ", ".join(f"«{u}»" for u in unknown)
            + " (valores posibles: "
            + ", ".join(SECTORS.values())
            + ")"
        )
    return list(dict.fromkeys(codes))


def parse_year(value: Any) -> int:
    """A year, or the year of a date (a «Fecha de constitución» column)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 1000 <= value <= 9999:
        return parse_int(value)
    if isinstance(value, str) and (year := user_input.parse_int(value.strip(), minimum=1000, maximum=9999)) is not None:
        return year
    try:
        return parse_date(value).year
    except ValueError:
        raise ValueError("no es un año (escriba por ejemplo 1998)") from None


def _rut_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


_PARSERS = {
    "rut": lambda v: normalize_rut(_rut_text(v)),
    "legal_type": lambda v: _coded(v, _LEGAL_TYPES, "un tipo de cooperativa", LEGAL_TYPE_LABELS),
    "state": lambda v: _coded(v, _STATES, "un estado", COOPERATIVE_STATE_LABELS),
    "legally_current": parse_bool,
    "region_code": parse_region,
    "sectors": parse_sectors,
    "members_women": parse_int,
    "members_men": parse_int,
    "members_under_35": parse_int,
    "founding_year": parse_year,
}


# --------------------------------------------------------------------------- outcome


@dataclass
class RowOutcome:
    row: int
    rut: str | None
    name: str | None
    action: str  # created | changed | unchanged | refused
    cooperative_id: int | None = None
    changes: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # what another importer adds (interview key, …)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"row": self.row, "rut": format_rut(self.rut) if self.rut else None, "name": self.name}
        data.update(self.extra)
        if self.cooperative_id is not None:
            data["cooperative_id"] = self.cooperative_id
        if self.action == "changed":
            data["changes"] = self.changes
        if self.action == "refused":
            data["problems"] = [problem.as_detail() for problem in self.problems]
        return data


@dataclass
class ImportReport:
    """What an import did or (``dry_run``) would do."""

    dry_run: bool
    filename: str
    sheet: str | None
    rows: list[RowOutcome]
    file_problems: list[Problem] = field(default_factory=list)
    actions: tuple[str, ...] = ("created", "changed", "unchanged", "refused")

    @property
    def problems(self) -> list[Problem]:
        return self.file_problems + [p for outcome in self.rows for p in outcome.problems]

    @property
    def committed(self) -> bool:
        return not self.dry_run and not self.problems

    def of(self, action: str) -> list[RowOutcome]:
        return [outcome for outcome in self.rows if outcome.action == action]

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "committed": self.committed,
            "filename": self.filename,
            "sheet": self.sheet,
            "summary": {
                "rows": len(self.rows),
                **{action: len(self.of(action)) for action in self.actions},
                "problems": len(self.problems),
            },
            **{action: [outcome.as_dict() for outcome in self.of(action)] for action in self.actions},
            "problems": [problem.as_detail() for problem in self.problems],
        }


def refused(report_dict: dict[str, Any], message: str) -> Invalid:
    """The 422 of a real import that found problems: nothing was written; the body carries
    the whole preview (``report``) and every problem as ``details``."""
    return Invalid(message, code="import_refused", details=report_dict["problems"], extra={"report": report_dict})


def unreadable(error: TabularError) -> Invalid:
    """The 422 of a file the reader refused (kind, size, encoding, columns, formulas…); 413 for
    ``too_large`` (app.http_errors maps the code)."""
    return Invalid(error.message, code=error.code, details=[problem.as_detail() for problem in error.problems])


def problems_message(count: int, what: str) -> str:
    noun = "problema" if count == 1 else "problemas"
    return f"El archivo tiene {count} {noun}; no se importó {what}. Corríjalos y vuelva a subirlo."


# --------------------------------------------------------------------------- import


def import_registry(
    *,
    session: Session,
    user: User,
    settings: Settings,
    data: bytes,
    filename: str,
    dry_run: bool,
    today: date | None = None,
) -> ImportReport:
    """Preview (``dry_run``) or import a registry file. A real import with any problem raises
    Invalid (422) and writes nothing; a file that cannot be read raises Invalid too."""
    if not policy.can_import_registry(user):
        raise Forbidden("Solo un analista o un administrador puede importar el registro de cooperativas.")
    try:
        table = read_table(data, filename, columns=COLUMNS)
    except TabularError as error:
        raise unreadable(error) from None
    today = today or date.today()
    outcomes = [_parse_row(table, number, cells) for number, cells in table.rows]
    _mark_duplicates(outcomes)
    existing = _existing(session, [o.rut for o in outcomes if o.rut])
    for outcome in outcomes:
        if not outcome.problems:
            _plan(table, outcome, existing.get(outcome.rut), today)
    report = ImportReport(dry_run=dry_run, filename=filename, sheet=table.sheet, rows=outcomes)
    if dry_run:
        return report
    if report.problems:
        raise refused(report.as_dict(), problems_message(len(report.problems), "ninguna cooperativa"))
    _write(session, user, report, existing)
    return report


def _parse_row(table: Table, number: int, cells: dict[str, Any]) -> RowOutcome:
    outcome = RowOutcome(row=number, rut=None, name=None, action="refused")
    for key, raw in cells.items():
        if raw is None:
            continue
        parser = _PARSERS.get(key, parse_text)
        try:
            outcome.values[key] = parser(raw)
        except ValueError as error:
            outcome.problems.append(
                Problem(str(error), row=number, column=table.header_text(key), value=show_value(raw))
            )
    outcome.rut = outcome.values.get("rut")
    outcome.name = outcome.values.get("name")
    if "rut" not in cells or (cells["rut"] is None and not outcome.problems):
        outcome.problems.append(Problem("falta el RUT", row=number, column=table.header_text("rut")))
    return outcome


def _mark_duplicates(outcomes: list[RowOutcome]) -> None:
    first: dict[str, RowOutcome] = {}
    for outcome in outcomes:
        if outcome.rut is None:
            continue
        if outcome.rut in first:
            earlier = first[outcome.rut]
            outcome.problems.append(
                Problem(
                    f"el RUT {format_rut(outcome.rut)} está repetido en las filas {earlier.row} y {outcome.row}",
                    row=outcome.row,
                    column=LABELS["rut"],
                    value=format_rut(outcome.rut),
                )
            )
        else:
            first[outcome.rut] = outcome


def _existing(session: Session, ruts: list[str]) -> dict[str, Cooperative]:
    found: dict[str, Cooperative] = {}
    unique = sorted(set(ruts))
    for start in range(0, len(unique), 900):
        chunk = unique[start : start + 900]
        found.update((c.rut, c) for c in session.scalars(select(Cooperative).where(Cooperative.rut.in_(chunk))))
    return found


def _plan(table: Table, outcome: RowOutcome, cooperative: Cooperative | None, today: date) -> None:
    """Decide what the row does, checked with the API's own schema and cross-field rules."""
    values = outcome.values
    number = outcome.row
    if cooperative is None:
        missing = [key for key in REQUIRED_TO_CREATE if key not in values]
        for key in missing:
            outcome.problems.append(
                Problem(
                    f"falta «{LABELS[key]}»: la cooperativa con RUT {format_rut(outcome.rut)} no está registrada y "
                    "hace falta para registrarla",
                    row=number,
                    column=table.header_text(key),
                )
            )
        if missing:
            return
        checked = _validated(table, outcome, CooperativeCreate, values)
        merged = checked
    else:
        outcome.cooperative_id = cooperative.id
        checked = _validated(table, outcome, CooperativeUpdate, values)
        merged = {key: getattr(cooperative, key) for key in LABELS} | {
            k: v for k, v in checked.items() if v is not None
        }
    if outcome.problems:
        return
    try:
        _check_consistency(merged, today)
    except Invalid as error:
        for detail in error.details:
            outcome.problems.append(
                Problem(
                    detail["message"],
                    row=number,
                    column=table.header_text(detail["field"]),
                    value=show_value(values.get(detail["field"])),
                )
            )
        return
    outcome.values = {key: value for key, value in checked.items() if key in values}
    if cooperative is None:
        outcome.values = checked
        outcome.action = "created"
        outcome.name = checked.get("name")
        return
    outcome.name = outcome.values.get("name", cooperative.name)
    for key, new in outcome.values.items():
        old = getattr(cooperative, key)
        if key == "sectors":
            old = list(old or [])
        if old != new:
            outcome.changes.append(
                {"field": key, "column": table.header_text(key), "old": display(key, old), "new": display(key, new)}
            )
    outcome.action = "changed" if outcome.changes else "unchanged"


def _validated(table: Table, outcome: RowOutcome, schema, values: dict[str, Any]) -> dict[str, Any]:
    try:
        return schema(**values).model_dump(exclude_unset=schema is CooperativeUpdate)
    except ValidationError as error:
        for detail in validation_details(error.errors()):
            key = detail["field"].split(".")[0]
            outcome.problems.append(
                Problem(
                    detail["message"],
                    row=outcome.row,
                    column=table.header_text(key),
                    value=show_value(values.get(key)),
                )
            )
        return {}


def display(key: str, value: Any) -> str:
    """A registry value as a person reads it (for the «old → new» of a change)."""
    if value is None or value == []:
        return "(vacío)"
    if key == "rut":
        return format_rut(value)
    if key == "legal_type":
        return LEGAL_TYPE_LABELS.get(value, value)
    if key == "state":
        return COOPERATIVE_STATE_LABELS.get(value, value)
    if key == "region_code":
        return f"{REGIONS.get(value, value)} ({value})"
    if key == "sectors":
        return ", ".join(SECTORS.get(code, code) for code in value)
    if isinstance(value, bool):
        return "Sí" if value else "No"
    return str(value)


def _write(session: Session, user: User, report: ImportReport, existing: dict[str, Cooperative]) -> None:
    """Every change, in the caller's unit of work (all or nothing)."""
    made: list[tuple[RowOutcome, Cooperative]] = []
    try:
        for outcome in report.rows:
            if outcome.action == "created":
                cooperative = Cooperative(**outcome.values, approved=True)
                session.add(cooperative)
                made.append((outcome, cooperative))
            elif outcome.action == "changed":
                cooperative = existing[outcome.rut]
                for change in outcome.changes:
                    setattr(cooperative, change["field"], outcome.values[change["field"]])
        session.flush()
        for outcome, cooperative in made:
            outcome.cooperative_id = cooperative.id
    except IntegrityError:
        raise Conflict(
            "Otra persona registró alguna de estas cooperativas mientras se importaba el archivo; no se importó "
            "nada. Vuelva a subirlo.",
            code="import_conflict",
        ) from None


__all__ = [
    "COLUMNS",
    "ImportReport",
    "RowOutcome",
    "display",
    "problems_message",
    "refused",
    "unreadable",
    "import_registry",
    "parse_region",
    "parse_sectors",
    "parse_year",
]
