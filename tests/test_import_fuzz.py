"""Hostile input for the spreadsheet importers (issue 7): random bytes, mangled CSV and
mangled XLSX give validation errors (TabularError) or rows, never another exception or a
hang; random cells through the registry and interview row checks give Problems only."""

from __future__ import annotations

import io
import zipfile

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scoring
from app.exchange import interviews, registry_import
from app.exchange.tabular import Column, Problem, Table, TabularError, read_table
from conftest import sample_questionnaire
from test_tabular import xlsx as _xlsx

FUZZ = settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
CELL = st.one_of(
    st.none(),
    st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=30),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True),
    st.booleans(),
    st.sampled_from(["Sí", "no", "ns", "No aplica", "45292", "31-02-2024", "1.234,5", "76.123.456-0", "=1+1", "Ñuble"]),
)


def _read(data: bytes, name: str, **kwargs) -> Table | None:
    try:
        return read_table(data, name, **kwargs)
    except TabularError as error:
        assert error.problems and all(isinstance(p, Problem) and p.reason for p in error.problems)
        return None


@FUZZ
@given(st.binary(max_size=2000), st.sampled_from(["a.csv", "a.xlsx", "a.txt", "a.tsv"]))
def test_random_bytes(data, name):
    _read(data, name)


@FUZZ
@given(
    st.lists(st.lists(st.text(alphabet='ab;,\t"\r\n ñ=', max_size=8), max_size=6), max_size=8),
    st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]),
)
def test_mangled_csv(rows, encoding):
    text = "\n".join(";".join(row) for row in rows)
    data = text.encode(encoding, errors="replace")
    table = _read(data, "a.csv", columns=registry_import.COLUMNS, unknown="ignore")
    if table is not None:
        assert all(isinstance(number, int) and number >= 2 for number, _ in table.rows)


BASE_XLSX = _xlsx([["RUT", "Razón social"], ["76.123.456-0", "x"]])


@FUZZ
@given(st.integers(0, len(BASE_XLSX) - 1), st.binary(min_size=1, max_size=20))
def test_mangled_xlsx_bytes(offset, junk):
    data = BASE_XLSX[:offset] + junk + BASE_XLSX[offset + len(junk) :]
    _read(data, "a.xlsx")


@FUZZ
@given(
    st.sampled_from(
        ["xl/worksheets/sheet1.xml", "xl/workbook.xml", "xl/sharedStrings.xml", "[Content_Types].xml", "xl/styles.xml"]
    ),
    st.binary(max_size=300),
)
def test_mangled_xlsx_parts(part, content):
    source = zipfile.ZipFile(io.BytesIO(BASE_XLSX))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info.filename, content if info.filename == part else source.read(info))
    _read(out.getvalue(), "a.xlsx")


@FUZZ
@given(st.lists(st.lists(CELL, min_size=1, max_size=len(registry_import.COLUMNS)), min_size=1, max_size=5))
def test_registry_rows_give_problems_only(rows):
    header = [column.label for column in registry_import.COLUMNS]
    table = _read(_xlsx([header, *rows]), "r.xlsx", columns=registry_import.COLUMNS)
    if table is None:
        return
    for number, cells in table.rows:
        outcome = registry_import._parse_row(table, number, cells)
        if not outcome.problems:
            registry_import._plan(table, outcome, None, __import__("datetime").date(2026, 1, 1))
        assert outcome.problems or outcome.action == "created"
        assert all(isinstance(p, Problem) and p.row == number for p in outcome.problems)


QUESTIONNAIRE = scoring.questionnaire_from_data(yaml.safe_load(sample_questionnaire()))
QUESTIONS = {q.id: q for q in QUESTIONNAIRE.questions}
INTERVIEW_COLUMNS = [Column(c) for c, _, _ in interviews.FIXED_COLUMNS] + [
    Column(q.id) for q in QUESTIONNAIRE.questions if q.type != "computed"
]


@FUZZ
@given(st.lists(CELL, min_size=len(INTERVIEW_COLUMNS), max_size=len(INTERVIEW_COLUMNS)))
def test_interview_rows_give_problems_only(cells):
    header = [column.key for column in INTERVIEW_COLUMNS]
    table = _read(_xlsx([header, cells]), "e.xlsx", columns=INTERVIEW_COLUMNS)
    if table is None or not table.rows:
        return
    number, values = table.rows[0]
    row = interviews._read_row(table, number, values, QUESTIONS, QUESTIONNAIRE)
    interviews._check_submission(row, QUESTIONNAIRE)
    # whatever is left as an answer passes the API's own check
    assert not scoring.validate_answers(QUESTIONNAIRE, {k: v for k, v in row.answers.items()}) or row.outcome.problems
    assert all(isinstance(p, Problem) and p.row == number for p in row.outcome.problems)
