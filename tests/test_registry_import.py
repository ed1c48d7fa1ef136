"""Registry import (POST /api/v1/cooperatives/import): preview, upsert by RUT, every row-level
problem with row, column, value and reason, all or nothing. Both backends (``api_env``)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from app.cooperatives.models import Cooperative
from app.exchange import registry_import
from app.exchange.tabular import MAX_UPLOAD_BYTES
from test_tabular import xlsx as xlsx_bytes

URL = "/api/v1/cooperatives/import"
HEADER = [
    "RUT",
    "Razón social",
    "N° registro DAES",
    "Tipo",
    "Estado",
    "Vigente",
    "Región",
    "Comuna",
    "Rubro(s)",
    "Socias mujeres",
    "Socios hombres",
    "Socios menores de 35",
    "Año de constitución",
    "Contacto",
    "Correo",
    "Teléfono",
]
ROW_NEW = [
    "76.123.456-0",
    "Cooperativa Campesina Los Aromos",
    "1234",
    "Campesina",
    "Activa",
    "Sí",
    "Región del Maule",
    "Talca",
    "Hortalizas; berries",
    "12",
    "20",
    "8",
    "1998",
    "Ana Pérez",
    "ana@aromos.cl",
    "+56 9 1234 5678",
]
ROW_EXISTING = [
    "65.000.000-5",
    "Cooperativa Lago Sur",
    "",
    "agricola",
    "",
    "",
    "9",
    "Pucón",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
]


def csv_bytes(rows, *, separator=";", encoding="utf-8") -> bytes:
    lines = [separator.join(f'"{cell}"' if separator in str(cell) else str(cell) for cell in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def upload(env, headers, data: bytes, *, name="registro.csv", dry_run=True):
    return env.client.post(
        URL,
        params={"dry_run": str(dry_run).lower()},
        headers=headers,
        files={"archivo": (name, data, "application/octet-stream")},
    )


@pytest.fixture
def existing(api_env):
    with api_env.session() as session:
        cooperative = Cooperative(
            rut="65000000-5",
            name="Cooperativa Agrícola Lago Sur",
            legal_type="agricola",
            region_code=9,
            comuna="Villarrica",
            sectors=["lacteos"],
            members_women=3,
            members_men=4,
        )
        session.add(cooperative)
        session.commit()
        return cooperative.id


def count(env) -> int:
    with env.session() as session:
        return session.scalar(select(func.count()).select_from(Cooperative))


def test_preview_then_import_creates_and_changes(api_env, existing):
    _, headers = api_env.user("analyst")
    data = csv_bytes([HEADER, ROW_NEW, ROW_EXISTING], encoding="cp1252")
    preview = upload(api_env, headers, data)
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["dry_run"] is True and body["committed"] is False
    assert body["summary"] == {"rows": 2, "created": 1, "changed": 1, "unchanged": 0, "refused": 0, "problems": 0}
    assert body["created"] == [{"row": 2, "rut": "76.123.456-0", "name": "Cooperativa Campesina Los Aromos"}]
    changes = {c["field"]: (c["column"], c["old"], c["new"]) for c in body["changed"][0]["changes"]}
    assert changes == {
        "name": ("Razón social", "Cooperativa Agrícola Lago Sur", "Cooperativa Lago Sur"),
        "comuna": ("Comuna", "Villarrica", "Pucón"),
    }  # empty cells erase nothing; the same type and region are no change
    assert count(api_env) == 1  # the preview wrote nothing

    done = upload(api_env, headers, data, dry_run=False)
    assert done.status_code == 200 and done.json()["committed"] is True
    with api_env.session() as session:
        new = session.scalar(select(Cooperative).where(Cooperative.rut == "76123456-0"))
        assert (new.name, new.daes_number, new.legal_type, new.state, new.legally_current, new.region_code) == (
            "Cooperativa Campesina Los Aromos",
            "1234",
            "campesina",
            "activa",
            True,
            7,
        )
        assert (new.sectors, new.members_women, new.members_men, new.members_under_35, new.founding_year) == (
            ["hortalizas", "berries"],
            12,
            20,
            8,
            1998,
        )
        assert (new.contact_email, new.contact_phone, new.approved) == ("ana@aromos.cl", "+56 9 1234 5678", True)
        old = session.get(Cooperative, existing)
        assert (old.name, old.comuna, old.sectors, old.members_women) == (
            "Cooperativa Lago Sur",
            "Pucón",
            ["lacteos"],
            3,
        )
    assert done.json()["created"][0]["cooperative_id"] == new.id
    again = upload(api_env, headers, data).json()
    assert again["summary"]["unchanged"] == 2 and again["summary"]["created"] == again["summary"]["changed"] == 0


def test_xlsx_with_excel_dates_numbers_and_region_names(api_env):
    _, headers = api_env.user("admin")
    rows = [
        ["rut", "NOMBRE", "tipo", "region", "socias", "año de constitución"],
        [761234560, "Coop Ñuble", "Cooperativa agrícola", "Ñuble", 7, datetime(2001, 5, 4)],
        ["12.345.678-5", "Coop RM", "servicios", "RM", 3.0, 36526],
    ]
    response = upload(api_env, headers, xlsx_bytes(rows), name="registro.xlsx", dry_run=False)
    assert response.status_code == 200, response.text
    with api_env.session() as session:
        found = {
            c.rut: (c.region_code, c.legal_type, c.members_women, c.founding_year)
            for c in session.scalars(select(Cooperative))
        }
    assert found == {"76123456-0": (16, "agricola", 7, 2001), "12345678-5": (13, "servicios", 3, 2000)}


def test_every_row_problem_reported_and_nothing_written(api_env, existing):
    _, headers = api_env.user("analyst")
    rows = [
        HEADER,
        ROW_NEW,
        ["76.123.456-1", "Coop", "", "agricola", "", "", "7", "", "", "", "", "", "", "", "", ""],  # check digit
        [
            "11.111.111-1",
            "Coop Dos",
            "",
            "tipo raro",
            "",
            "quizás",
            "Atlántida",
            "",
            "uvas",
            "muchas",
            "2",
            "9",
            "2999",
            "",
            "no-es-correo",
            "abc",
        ],
        ["76.123.456-0", "Repetida", "", "agricola", "", "", "7", "", "", "", "", "", "", "", "", ""],
        ["22.222.222-2", "", "", "", "", "", "", "", "", "", "", "", "", "", "", ""],  # new: name, type, region missing
    ]
    response = upload(api_env, headers, csv_bytes(rows), dry_run=False)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "import_refused" and "no se importó ninguna cooperativa" in error["message"]
    found = {(d["row"], d["column"]): (d["value"], d["message"]) for d in error["details"]}
    assert "dígito verificador" in found[(3, "RUT")][1] and found[(3, "RUT")][0] == "76.123.456-1"
    assert "no es un tipo de cooperativa conocido" in found[(4, "Tipo")][1]
    assert found[(4, "Vigente")] == ("quizás", "debe ser «sí» o «no»")
    assert "no es una región de Chile" in found[(4, "Región")][1]
    assert "rubro desconocido: «uvas»" in found[(4, "Rubro(s)")][1]
    assert found[(4, "Socias mujeres")] == ("muchas", "no es un número")
    assert "está repetido en las filas 2 y 5" in found[(5, "RUT")][1]
    assert {(6, "Razón social"), (6, "Tipo"), (6, "Región")} <= set(found)
    report = error["report"]
    assert report["summary"]["refused"] == 4 and report["summary"]["created"] == 1
    assert count(api_env) == 1


def test_cross_field_and_schema_checks_are_the_apis(api_env, existing):
    _, headers = api_env.user("analyst")
    rows = [
        ["RUT", "Socias mujeres", "Socios hombres", "Socios menores de 35", "Año de constitución", "Correo"],
        ["65.000.000-5", "1", "1", "5", str(date.today().year + 1), "sin arroba"],
    ]
    details = upload(api_env, headers, csv_bytes(rows), dry_run=False).json()["error"]["details"]
    reasons = {d["column"]: d["message"] for d in details}
    assert "no es un correo electrónico válido" in reasons["Correo"]
    rows[1][-1] = "ok@coop.cl"
    details = upload(api_env, headers, csv_bytes(rows), dry_run=False).json()["error"]["details"]
    reasons = {d["column"]: d["message"] for d in details}
    assert "no pueden ser más que el total de socios (2)" in reasons["Socios menores de 35"]
    assert "el año de fundación debe estar entre 1900" in reasons["Año de constitución"]


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (b"RUT;Color\n1-9;azul\n", "r.csv", "«Color» no es una columna conocida"),
        (b"Nombre;Tipo\nx;agricola\n", "r.csv", "falta la columna «RUT»"),
        (b"RUT;rut\n1-9;1-9\n", "r.csv", "son la misma"),
        (b"RUT\n1-9\n", "r.xlsx", "dice ser una planilla Excel (.xlsx) por su nombre, pero es un archivo CSV"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64, "r.xls", "no termina en .csv ni en .xlsx"),
    ],
)
def test_unreadable_files_are_refused_with_the_place(api_env, data, name, expected):
    _, headers = api_env.user("analyst")
    response = upload(api_env, headers, data, name=name)
    assert response.status_code == 422 and expected in response.json()["error"]["message"]
    assert count(api_env) == 0


def test_formula_without_value_names_the_cell(api_env):
    _, headers = api_env.user("analyst")
    data = xlsx_bytes([["RUT", "Razón social", "Tipo", "Región"], ["76.123.456-0", '=A2&"x"', "agricola", 7]])
    error = upload(api_env, headers, data, name="r.xlsx").json()["error"]
    assert error["code"] == "uncomputed_formula" and "B2" in error["message"]
    assert error["details"][0]["row"] == 2 and error["details"][0]["column"] == "Razón social"


def test_upload_limits_and_shape(api_env):
    _, headers = api_env.user("analyst")
    big = b"RUT\n" + b"1" * (MAX_UPLOAD_BYTES + 10)
    response = upload(api_env, headers, big)
    assert response.status_code == 413 and "supera el máximo" in response.json()["error"]["message"]
    just_over = upload(api_env, headers, b"RUT\n" + b"1" * MAX_UPLOAD_BYTES)  # within the envelope, over the file limit
    assert just_over.status_code == 413 and "supera el máximo de 10 MB" in just_over.json()["error"]["message"]

    # a lying (absent) Content-Length is caught while reading
    def body():
        yield b'--b\r\nContent-Disposition: form-data; name="archivo"; filename="r.csv"\r\n\r\n'
        for _ in range(12):
            yield b"x" * (1024 * 1024)

    response = api_env.client.post(
        URL, headers={**headers, "Content-Type": "multipart/form-data; boundary=b"}, content=body()
    )
    assert response.status_code == 413
    response = api_env.client.post(URL, headers=headers, data={"otro": "x"}, files={"nada": ("a.txt", b"x")})
    assert response.status_code == 422 and "Falta el archivo" in response.json()["error"]["message"]
    response = api_env.client.post(URL, headers={**headers, "Content-Type": "text/csv"}, content=b"RUT\n")
    assert response.status_code == 422


def test_only_staff_import_the_registry(api_env):
    data = csv_bytes([HEADER, ROW_NEW])
    for role in ("field", "manager"):
        _, headers = api_env.user(role)
        assert upload(api_env, headers, data).status_code == 403
    assert api_env.client.post(URL, files={"archivo": ("r.csv", data)}).status_code == 401
    assert count(api_env) == 0


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("13", 13),
        (5, 5),
        ("Región de Valparaíso", 5),
        ("VII", 7),
        ("Metropolitana", 13),
        ("Bío Bío", 8),
        ("O'Higgins", 6),
        ("Aysén", 11),
        ("Los Ríos", 14),
        ("Región de Los Lagos", 10),
        ("Araucanía", 9),
    ],
)
def test_parse_region(text, code):
    assert registry_import.parse_region(text) == code


@pytest.mark.parametrize("text", ["Los", "17", "0", "Mendoza"])
def test_parse_region_refuses(text):
    with pytest.raises(ValueError):
        registry_import.parse_region(text)


def test_parse_sectors():
    assert registry_import.parse_sectors("Cereales y legumbres; Agua y riego, berries") == [
        "cereales",
        "agua_riego",
        "berries",
    ]
    assert registry_import.parse_sectors("Hortalizas y Flores / lácteos") == ["hortalizas", "flores", "lacteos"]
    with pytest.raises(ValueError, match="«uvas y peras»"):
        registry_import.parse_sectors("uvas y peras")
