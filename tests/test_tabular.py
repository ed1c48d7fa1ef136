"""The shared reader of uploaded CSV/XLSX files (app/exchange/tabular.py): kinds, encodings,
separators, dates, formulas, headers, limits and zip bombs, each with a Spanish problem
naming the place."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime

import pytest
from openpyxl import Workbook

from app.exchange import tabular
from app.exchange.tabular import Column, TabularError, column_key, read_table

COLUMNS = [
    Column("rut", aliases=("RUT", "Rut cooperativa"), required=True),
    Column("name", aliases=("Razón social", "Nombre"), required=True, label="Razón social"),
    Column("founding", aliases=("Fecha de constitución",)),
]


def xlsx(rows, *, title="Hoja1", extra_sheets=()) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    for name, other in extra_sheets:
        ws = workbook.create_sheet(name)
        for row in other:
            ws.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def problems_of(data: bytes, name: str, **kwargs) -> list[tabular.Problem]:
    with pytest.raises(TabularError) as raised:
        read_table(data, name, **kwargs)
    return raised.value.problems


# --------------------------------------------------------------------------- CSV


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16"])
@pytest.mark.parametrize("separator", [";", ",", "\t"])
def test_csv_encodings_and_separators(encoding, separator):
    text = separator.join(["RUT", "Razón social", "Fecha de constitución"]) + "\r\n"
    text += separator.join(["76.123.456-0", '"Cooperativa Ñuble' + separator + ' Limitada"', "31-01-1999"]) + "\r\n"
    table = read_table(text.encode(encoding), "registro.csv", columns=COLUMNS)
    assert table.kind == "csv" and table.separator == separator
    assert table.rows == [
        (2, {"rut": "76.123.456-0", "name": f"Cooperativa Ñuble{separator} Limitada", "founding": "31-01-1999"})
    ]
    assert [h.text for h in table.headers] == ["RUT", "Razón social", "Fecha de constitución"]


def test_csv_quoted_line_breaks_blank_rows_and_row_numbers():
    data = 'rut;nombre\n\n1-9;"dos\nlíneas"\n;\n2-7;  otra  \n'.encode()
    table = read_table(data, "a.csv", columns=COLUMNS)
    # records, as a spreadsheet program shows them: header 1, blank 2, then 3, blank 4, 5
    assert table.rows == [(3, {"rut": "1-9", "name": "dos\nlíneas"}), (5, {"rut": "2-7", "name": "otra"})]


def test_header_normalisation_and_keep_mode():
    assert column_key("  N° registro DAES ") == "n_registro_daes"
    assert column_key("Nº registro DAES") == "n_registro_daes"
    assert column_key("RAZÓN  SOCIAL") == "razon_social"
    assert column_key("Rubro(s)") == "rubro_s"
    assert column_key("meta/instanceID") == "meta_instanceid"
    assert column_key("_uuid") == "_uuid"
    table = read_table(b"Meta/InstanceID,_uuid,Extra col\nuuid:1,u1,x\n", "odk.csv")
    assert table.keys == ["meta_instanceid", "_uuid", "extra_col"]
    assert table.rows[0][1] == {"meta_instanceid": "uuid:1", "_uuid": "u1", "extra_col": "x"}


def test_unknown_duplicated_and_missing_columns_reported_together():
    problems = problems_of(b"RUT;Color favorito;rut cooperativa\n1-9;azul;1-9\n", "a.csv", columns=COLUMNS)
    reasons = [p.reason for p in problems]
    assert any("«Color favorito» no es una columna conocida" in r for r in reasons)
    assert any("las columnas A «RUT» y C «rut cooperativa» son la misma" in r for r in reasons)
    assert any(r == "falta la columna «Razón social»" for r in reasons)
    assert all(p.row == 1 for p in problems)
    table = read_table("RUT;Razón social;Otra\n1-9;x;y\n".encode(), "a.csv", columns=COLUMNS, unknown="ignore")
    assert table.keys == ["rut", "name"] and table.rows[0][1] == {
        "rut": "1-9",
        "name": "x",
    }  # absent columns stay absent


def test_data_under_a_blank_header_is_an_error():
    problems = problems_of(b"rut,nombre,\n1-9,x,perdido\n", "a.csv", columns=COLUMNS)
    assert problems[0].row == 2 and problems[0].column == "C" and problems[0].value == "perdido"
    assert "no tiene encabezado" in problems[0].reason


def test_empty_and_header_only_files():
    assert "vacío" in problems_of(b"  \n", "a.csv")[0].reason
    assert read_table(b"rut,nombre\n", "a.csv", columns=COLUMNS).rows == []


def test_row_limit():
    data = "rut\n" + "1-9\n" * 11
    problems = problems_of(data.encode(), "a.csv", max_rows=10)
    assert "más de 10 filas" in problems[0].reason
    assert len(read_table(data.encode(), "a.csv", max_rows=11).rows) == 11
    book = xlsx([["rut"]] + [["1-9"]] * 11)
    assert "más de 10 filas" in problems_of(book, "a.xlsx", max_rows=10)[0].reason


def test_size_limit():
    problems = problems_of(b"rut\n" + b"1-9\n" * 100, "a.csv", max_bytes=100)
    assert "supera el máximo de" in problems[0].reason and "(pesa " in problems[0].reason


def test_broken_quotes_and_huge_cells():
    data = b'rut,nombre\n1-9,"' + b"x" * 200_000 + b"\n"
    problems = problems_of(data, "a.csv")
    assert problems[0].row is not None and "CSV" in problems[0].reason


# --------------------------------------------------------------------------- file kinds


def test_file_kind_from_bytes_not_name():
    book = xlsx([["rut"], ["1-9"]])
    assert (
        "dice ser un archivo CSV (texto) por su nombre, pero es una planilla Excel (.xlsx)"
        in problems_of(book, "r.csv")[0].reason
    )
    assert "pero es un archivo CSV (texto)" in problems_of(b"rut\n1-9\n", "r.xlsx")[0].reason
    assert "Excel 97-2003" in problems_of(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "r.xlsx")[0].reason
    assert "PDF" in problems_of(b"%PDF-1.7\n...", "r.csv")[0].reason
    assert "binario" in problems_of(b"rut\x00\x01\x02", "r.csv")[0].reason
    assert "no termina en .csv ni en .xlsx" in problems_of(b"rut\n", "r.json")[0].reason
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as archive:
        archive.writestr("hola.txt", "hola")
    assert "es un archivo ZIP" in problems_of(plain_zip.getvalue(), "r.xlsx")[0].reason
    assert "dañado" in problems_of(b"PK\x03\x04garbage", "r.xlsx")[0].reason


def test_corrupt_xlsx_part_is_a_validation_error():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<not-a-workbook")
    assert "dañado" in problems_of(buffer.getvalue(), "r.xlsx")[0].reason


# --------------------------------------------------------------------------- XLSX


def test_xlsx_values_dates_sheet_choice_and_row_numbers():
    book = xlsx(
        [
            [],
            ["RUT", "Nombre", "Fecha de constitución"],
            ["76.123.456-0", "Coop", datetime(1999, 1, 31)],
            [None, None, None],
            [761234560, " B ", 36191],
        ],
        title="otra",
        extra_sheets=[("Registro", [["rut", "nombre"], ["9-9", "X"]])],
    )
    table = read_table(book, "r.xlsx", columns=COLUMNS)
    assert table.sheet == "otra" and table.header_row == 2
    assert table.rows == [
        (3, {"rut": "76.123.456-0", "name": "Coop", "founding": datetime(1999, 1, 31)}),
        (5, {"rut": 761234560, "name": "B", "founding": 36191}),
    ]
    assert tabular.parse_date(table.rows[1][1]["founding"]) == date(1999, 1, 31)
    named = read_table(book, "r.xlsx", columns=COLUMNS, sheet="registro")
    assert named.sheet == "Registro" and named.rows == [(2, {"rut": "9-9", "name": "X"})]


def test_formula_with_cached_value_and_without():
    book = xlsx([["rut", "nombre"], ["1-9", '=CONCAT("a","b")']])
    problems = problems_of(book, "r.xlsx", columns=COLUMNS)
    assert problems[0].row == 2 and problems[0].column == "nombre" and problems[0].value.startswith("=CONCAT")
    assert "B2 tiene una fórmula sin valor calculado" in problems[0].reason
    # The same workbook as Excel saves it: the formula with its computed value.
    cached = _with_cached_value(book, "B2", "ab")
    assert read_table(cached, "r.xlsx", columns=COLUMNS).rows == [(2, {"rut": "1-9", "name": "ab"})]


def _with_cached_value(book: bytes, ref: str, value: str) -> bytes:
    """Rewrite the sheet XML so that the formula cell carries a cached string value."""
    source = zipfile.ZipFile(io.BytesIO(book))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = content.decode()
                start = text.index(f'<c r="{ref}"')
                end = text.index("</c>", start) + len("</c>")
                formula = text[text.index("<f>", start) : text.index("</f>", start) + 4]
                text = text[:start] + f'<c r="{ref}" t="str">{formula}<v>{value}</v></c>' + text[end:]
                content = text.encode()
            target.writestr(info, content)
    return out.getvalue()


def _bomb(size: int, *, declared: int | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<" + b" " * size)
    return buffer.getvalue()


def test_zip_bomb_refused_before_parsing(monkeypatch):
    def fail(*args, **kwargs):  # openpyxl must never be reached
        raise AssertionError("openpyxl opened a zip bomb")

    monkeypatch.setattr(tabular, "_open_workbook", fail)
    ratio = problems_of(_bomb(20 * 1024 * 1024), "bomba.xlsx")
    assert "comprimida" in ratio[0].reason and "bomba ZIP" in ratio[0].reason
    monkeypatch.setattr(tabular, "MAX_XLSX_UNCOMPRESSED_BYTES", 1024 * 1024)
    total = problems_of(_bomb(2 * 1024 * 1024), "grande.xlsx")
    assert "se expande a 2,00 MB al abrirlo; el máximo es 1 MB" in total[0].reason


def test_too_many_zip_parts(monkeypatch):
    monkeypatch.setattr(tabular, "MAX_XLSX_PARTS", 3)
    assert "partes internas" in problems_of(xlsx([["rut"]]), "r.xlsx")[0].reason


def test_too_many_columns(monkeypatch):
    monkeypatch.setattr(tabular, "MAX_COLUMNS", 5)
    header = ",".join(f"c{i}" for i in range(7))
    assert "más de 5 columnas" in problems_of(f"{header}\n".encode(), "a.csv")[0].reason


# --------------------------------------------------------------------------- cell values


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2024, 3, 31, 0, 0), date(2024, 3, 31)),
        (date(2024, 3, 31), date(2024, 3, 31)),
        (45382, date(2024, 3, 31)),
        (45382.75, date(2024, 3, 31)),
        ("45382", date(2024, 3, 31)),
        ("2024-03-31", date(2024, 3, 31)),
        ("31-03-2024", date(2024, 3, 31)),
        ("31/03/2024", date(2024, 3, 31)),
        ("31.03.2024", date(2024, 3, 31)),
        ("2024-03-31 00:00:00", date(2024, 3, 31)),
    ],
)
def test_parse_date(value, expected):
    assert tabular.parse_date(value) == expected


@pytest.mark.parametrize("value", ["31-02-2024", "mañana", True, 0, 99999, "03/31/2024", "1899-12-31"])
def test_parse_date_refuses(value):
    with pytest.raises(ValueError):
        tabular.parse_date(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12, 12),
        (12.0, 12),
        (3.5, 3.5),
        ("1.234", 1234),
        ("12.500", 12500),
        ("3,5", 3.5),
        ("1.234,5", 1234.5),
        ("1,234.5", 1234.5),
        ("3.5", 3.5),
        ("-2", -2),
        (" 1 000 ", 1000),
        ("$ 1.500", 1500),
    ],
)
def test_parse_number(value, expected):
    result = tabular.parse_number(value)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize("value", ["", "uno", "1.2.3,4,5", True, "1e400", "9" * 40, float("nan"), date(2024, 1, 1)])
def test_parse_number_refuses(value):
    with pytest.raises(ValueError):
        tabular.parse_number(value)


def test_parse_int_and_bool():
    assert tabular.parse_int("1.500") == 1500
    with pytest.raises(ValueError, match="entero"):
        tabular.parse_int("2,5")
    assert [tabular.parse_bool(v) for v in ("Sí", "SI", "x", 1, True, "verdadero")] == [True] * 6
    assert [tabular.parse_bool(v) for v in ("No", "n", 0, False, "FALSO", "no vigente")] == [False] * 6
    with pytest.raises(ValueError, match="«sí» o «no»"):
        tabular.parse_bool("quizás")


def test_problem_message_names_the_place():
    problem = tabular.Problem("no es un número", row=7, column="Socias mujeres", value="muchas")
    assert problem.message() == "Fila 7, columna «Socias mujeres»: no es un número (valor «muchas»)"
    assert problem.as_detail() == {
        "field": "fila 7, columna «Socias mujeres»",
        "code": "invalid",
        "message": "no es un número",
        "row": 7,
        "column": "Socias mujeres",
        "value": "muchas",
    }
    error = TabularError([problem, tabular.Problem("otro")])
    assert error.message.endswith("(y 1 problema más)")
