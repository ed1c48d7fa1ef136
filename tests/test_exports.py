"""Analyst exports (app/exchange/exports.py) through the API, on SQLite and PostgreSQL: the exact
CSV of a small known world in both flavours, XLSX read back with openpyxl, the long shape, the
codebook, formula injection neutralised, filters, JSON and NDJSON, bad parameters and who may
export. ``make_world`` is shared with tests/test_aggregates.py."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import textwrap
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

import scoring
from app.cooperatives.models import Cooperative
from app.errors import Invalid
from app.exchange import exports
from app.exchange.exports import CsvDialect, Flavour, Separator, neutralise
from app.questionnaires.models import QuestionnaireVersion
from app.questionnaires.service import register_path
from app.responses.models import Response
from app.responses.service import snapshot_of
from app.rounds.models import DiagnosisRound
from test_web_analyst import login

QUESTIONNAIRE = textwrap.dedent(
    """\
    id: exportes-prueba
    version: "1"
    title: Cuestionario de prueba de exportaciones
    dimensions:
      - id: gobernanza
        title: Gobernanza
        subcategories:
          - id: asamblea
            title: Junta de socios
            questions:
              - id: junta_anual
                text: ¿Se celebró la junta general anual?
                type: yes_no
                critical: true
              - id: actas
                text: ¿Las actas están al día?
                type: choice
                na: true
                relevant: junta_anual == true
                options:
                  - {value: si, label: Sí, score: 1}
                  - {value: parcial, label: Parcialmente, score: 0.5}
                  - {value: "no", label: "No", score: 0}
          - id: perfil
            title: Perfil
            questions:
              - id: canales
                text: ¿Por qué canales venden?
                type: multi
                required: false
                options:
                  - {value: feria, label: Ferias}
                  - {value: supermercado, label: Supermercados}
              - id: comentario
                text: Comentario libre
                type: text
                required: false
              - id: fecha_balance
                text: Fecha del último balance
                type: date
                required: false
      - id: finanzas
        title: Gestión financiera
        subcategories:
          - id: liquidez
            title: Liquidez
            questions:
              - id: activo
                text: Activo corriente
                type: number
                min: 0
                unit: CLP
              - id: pasivo
                text: Pasivo corriente
                type: number
                min: 0
                unit: CLP
              - id: razon
                text: Razón corriente
                type: computed
                formula: activo / pasivo
                bands:
                  - {max: 1, score: 0}
                  - {min: 1, max: 1.5, score: 0.5}
                  - {min: 1.5, score: 1}
    """
)

HYPERLINK = '=HYPERLINK("http://malo.example","clic")'
#: Scores: asamblea 75 yellow, perfil not applicable, gobernanza 75 yellow, liquidez 100 green, overall 87.5 green.
ANSWERS_A = {
    "junta_anual": True,
    "actas": "parcial",
    "canales": ["feria", "supermercado"],
    "comentario": "+56 9 1234 5678, llamar",
    "fecha_balance": "2025-12-31",
    "activo": 1_500_000.5,
    "pasivo": 1_000_000,
}
#: Everything red: a critical failure and a current ratio of 0.5.
ANSWERS_B = {"junta_anual": False, "canales": [], "comentario": "@SUMA(A1)", "activo": 500_000, "pasivo": 1_000_000}
ANSWERS_C = {"junta_anual": True, "comentario": "-1 socio"}  # a draft
UTC = timezone.utc


@dataclass
class World:
    round_id: int
    earlier_round_id: int
    coops: dict[str, int]
    responses: dict[str, int]


def questionnaire() -> scoring.Questionnaire:
    return scoring.load_questionnaire(QUESTIONNAIRE)


def store(
    session,
    *,
    coop_id: int,
    round_id: int,
    answers: dict,
    status: str,
    revision: int = 1,
    is_current: bool = True,
    mode: str = "self",
    day: int = 2,
) -> Response:
    """A response as the app leaves it, with a result snapshot once submitted."""
    response = Response(
        cooperative_id=coop_id,
        round_id=round_id,
        mode=mode,
        status=status,
        answers=answers,
        revision=revision,
        is_current=is_current,
        created_at=datetime(2026, 3, day, 12, 0, tzinfo=UTC),
        updated_at=datetime(2026, 3, day, 15, 30, tzinfo=UTC),
    )
    if status in ("submitted", "validated"):
        response.result_snapshot = snapshot_of(scoring.score(questionnaire(), answers))
        response.submitted_at = datetime(2026, 3, day, 15, 30, tzinfo=UTC)
    if status == "validated":
        response.validated_at = datetime(2026, 3, day + 1, 13, 5, tzinfo=UTC)
    session.add(response)
    session.flush()
    return response


def make_world(env, write_questionnaire) -> World:
    """Four cooperatives in a round: A submitted (yellow/green), B validated (red), C a draft,
    D without a response; A and B also answered an earlier round."""
    with env.session() as session:
        register_path(session=session, path=write_questionnaire("exportes.yaml", source=QUESTIONNAIRE))
        version = session.scalar(
            select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == "exportes-prueba")
        )
        coops = {
            "A": Cooperative(
                rut="76123456-0",
                name="Cooperativa Campesina Los Aromos",
                legal_type="campesina",
                region_code=13,
                comuna="Peñalolén",
                sectors=["hortalizas", "apicola"],
                members_women=12,
                members_men=8,
                members_under_35=3,
            ),
            "B": Cooperative(
                rut="65000000-5", name=HYPERLINK, legal_type="agricola", region_code=9, sectors=["lacteos"]
            ),
            "C": Cooperative(
                rut="70000000-0",
                name="Cooperativa del Maule; Ltda.",
                legal_type="servicios",
                region_code=7,
                sectors=[],
                members_women=150,
            ),
            "D": Cooperative(rut="71000000-8", name="Cooperativa Sin Respuesta", legal_type="campesina", region_code=5),
        }
        current = DiagnosisRound(
            name="Ronda nacional 2026",
            questionnaire_version_id=version.id,
            opens_on=date(2026, 3, 1),
            closes_on=date(2026, 12, 31),
            state="open",
        )
        earlier = DiagnosisRound(
            name="Ronda piloto 2025",
            questionnaire_version_id=version.id,
            opens_on=date(2025, 3, 1),
            closes_on=date(2025, 12, 31),
            state="closed",
        )
        session.add_all([*coops.values(), current, earlier])
        session.flush()
        ids = {key: coop.id for key, coop in coops.items()}
        # The earlier round: A was red, B yellow; a returned revision of B in the current round is not current.
        store(session, coop_id=ids["A"], round_id=earlier.id, answers=ANSWERS_B, status="validated")
        store(
            session,
            coop_id=ids["B"],
            round_id=earlier.id,
            answers=ANSWERS_A | {"activo": 1_200_000},
            status="submitted",
        )
        old_b = store(
            session, coop_id=ids["B"], round_id=current.id, answers=ANSWERS_A, status="validated", is_current=False
        )
        responses = {
            "A": store(session, coop_id=ids["A"], round_id=current.id, answers=ANSWERS_A, status="submitted"),
            "B": store(
                session,
                coop_id=ids["B"],
                round_id=current.id,
                answers=ANSWERS_B,
                status="validated",
                revision=2,
                mode="interview",
                day=4,
            ),
            "C": store(session, coop_id=ids["C"], round_id=current.id, answers=ANSWERS_C, status="draft", day=5),
        }
        responses["B"].previous_revision_id = old_b.id
        responses["B"].interview_date = date(2026, 3, 3)
        session.commit()
        return World(current.id, earlier.id, ids, {key: r.id for key, r in responses.items()})


@pytest.fixture
def world(api_env, write_questionnaire) -> World:
    return make_world(api_env, write_questionnaire)


@pytest.fixture
def analyst(api_env) -> dict[str, str]:
    return api_env.user("analyst")[1]


def export(env, headers, world, **params):
    return env.client.get(f"/api/v1/rounds/{world.round_id}/export", params=params, headers=headers)


def csv_rows(body: str, delimiter: str = ",") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body, newline=""), delimiter=delimiter))


# --------------------------------------------------------------------------- wide CSV

HEADER = (
    "cooperativa_id,rut,nombre,tipo_juridico,region_codigo,region,macrozona,comuna,rubros,registro_socias_mujeres,"
    "registro_socios_hombres,registro_socios_total,registro_socios_menores_35,ronda_id,ronda,respuesta_id,revision,estado,modalidad,creada,"
    "actualizada,enviada,validada,fecha_entrevista,junta_anual,actas,canales,comentario,fecha_balance,activo,pasivo,razon,"
    "puntaje_general,luz_general,puntaje_d_gobernanza,luz_d_gobernanza,puntaje_s_asamblea,luz_s_asamblea,"
    "puntaje_s_perfil,luz_s_perfil,puntaje_d_finanzas,luz_d_finanzas,puntaje_s_liquidez,luz_s_liquidez"
)


def expected_wide(world: World) -> list[dict[str, str]]:
    """The wide rows, by cooperative name (B's name sorts first: '=' < 'C')."""
    common = {"ronda_id": str(world.round_id), "ronda": "Ronda nacional 2026"}
    no_result = {name: "" for name in HEADER.split(",") if name.startswith(("puntaje_", "luz_"))}
    b = common | {
        "cooperativa_id": str(world.coops["B"]),
        "rut": "65000000-5",
        "nombre": "'" + HYPERLINK,
        "tipo_juridico": "agricola",
        "region_codigo": "9",
        "region": "La Araucanía",
        "macrozona": "Sur",
        "comuna": "",
        "rubros": "lacteos",
        "registro_socias_mujeres": "",
        "registro_socios_hombres": "",
        "registro_socios_total": "",
        "registro_socios_menores_35": "",
        "respuesta_id": str(world.responses["B"]),
        "revision": "2",
        "estado": "validada",
        "modalidad": "entrevista de terreno",
        "creada": "2026-03-04T09:00:00-03:00",
        "actualizada": "2026-03-04T12:30:00-03:00",
        "enviada": "2026-03-04T12:30:00-03:00",
        "validada": "2026-03-05T10:05:00-03:00",
        "fecha_entrevista": "2026-03-03",
        "junta_anual": "no",
        "actas": "",
        "canales": "",
        "comentario": "'@SUMA(A1)",
        "fecha_balance": "",
        "activo": "500000",
        "pasivo": "1000000",
        "razon": "0.5",
        "puntaje_general": "0",
        "luz_general": "rojo",
        "puntaje_d_gobernanza": "0",
        "luz_d_gobernanza": "rojo",
        "puntaje_s_asamblea": "0",
        "luz_s_asamblea": "rojo",
        "puntaje_s_perfil": "",
        "luz_s_perfil": "no aplica",
        "puntaje_d_finanzas": "0",
        "luz_d_finanzas": "rojo",
        "puntaje_s_liquidez": "0",
        "luz_s_liquidez": "rojo",
    }
    a = common | {
        "cooperativa_id": str(world.coops["A"]),
        "rut": "76123456-0",
        "nombre": "Cooperativa Campesina Los Aromos",
        "tipo_juridico": "campesina",
        "region_codigo": "13",
        "region": "Metropolitana de Santiago",
        "macrozona": "Centro",
        "comuna": "Peñalolén",
        "rubros": "hortalizas|apicola",
        "registro_socias_mujeres": "12",
        "registro_socios_hombres": "8",
        "registro_socios_total": "20",
        "registro_socios_menores_35": "3",
        "respuesta_id": str(world.responses["A"]),
        "revision": "1",
        "estado": "enviada",
        "modalidad": "autodiagnóstico",
        "creada": "2026-03-02T09:00:00-03:00",
        "actualizada": "2026-03-02T12:30:00-03:00",
        "enviada": "2026-03-02T12:30:00-03:00",
        "validada": "",
        "fecha_entrevista": "",
        "junta_anual": "si",
        "actas": "parcial",
        "canales": "feria|supermercado",
        "comentario": "'+56 9 1234 5678, llamar",
        "fecha_balance": "2025-12-31",
        "activo": "1500000.5",
        "pasivo": "1000000",
        "razon": "1.5000005",
        "puntaje_general": "87.5",
        "luz_general": "verde",
        "puntaje_d_gobernanza": "75",
        "luz_d_gobernanza": "amarillo",
        "puntaje_s_asamblea": "75",
        "luz_s_asamblea": "amarillo",
        "puntaje_s_perfil": "",
        "luz_s_perfil": "no aplica",
        "puntaje_d_finanzas": "100",
        "luz_d_finanzas": "verde",
        "puntaje_s_liquidez": "100",
        "luz_s_liquidez": "verde",
    }
    c = (
        common
        | no_result
        | {
            "cooperativa_id": str(world.coops["C"]),
            "rut": "70000000-0",
            "nombre": "Cooperativa del Maule; Ltda.",
            "tipo_juridico": "servicios",
            "region_codigo": "7",
            "region": "Maule",
            "macrozona": "Centro-Sur",
            "comuna": "",
            "rubros": "",
            "registro_socias_mujeres": "150",
            "registro_socios_hombres": "",
            "registro_socios_total": "150",
            "registro_socios_menores_35": "",
            "respuesta_id": str(world.responses["C"]),
            "revision": "1",
            "estado": "borrador",
            "modalidad": "autodiagnóstico",
            "creada": "2026-03-05T09:00:00-03:00",
            "actualizada": "2026-03-05T12:30:00-03:00",
            "enviada": "",
            "validada": "",
            "fecha_entrevista": "",
            "junta_anual": "si",
            "actas": "",
            "canales": "",
            "comentario": "'-1 socio",
            "fecha_balance": "",
            "activo": "",
            "pasivo": "",
            "razon": "",
        }
    )
    return [b, a, c]


def test_wide_csv_is_exactly_the_known_world(api_env, world, analyst):
    reply = export(api_env, analyst, world)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "text/csv; charset=utf-8"
    assert reply.headers["content-disposition"] == (
        'attachment; filename="respuestas-ronda-nacional-2026-wide.csv"; '
        "filename*=UTF-8''respuestas-ronda-nacional-2026-wide.csv"
    )
    body = reply.content.decode("utf-8")
    assert not body.startswith("\ufeff")
    lines = body.split("\r\n")
    assert lines[0] == HEADER and lines[-1] == "" and len(lines) == 5
    # Quoting: a field holding the separator or a quote is quoted, quotes doubled.
    assert '"\'=HYPERLINK(""http://malo.example"",""clic"")"' in lines[1]
    assert lines[2].split(",")[-12:] == [
        "87.5",
        "verde",
        "75",
        "amarillo",
        "75",
        "amarillo",
        "",
        "no aplica",
        "100",
        "verde",
        "100",
        "verde",
    ]
    assert csv_rows(body) == expected_wide(world)


def test_excel_flavour_has_bom_semicolons_decimal_comma_and_chilean_dates(api_env, world, analyst):
    reply = export(api_env, analyst, world, flavour="excel")
    assert reply.status_code == 200, reply.text
    assert reply.content.startswith(b"\xef\xbb\xbf")
    body = reply.content.decode("utf-8-sig")
    assert body.split("\r\n")[0] == HEADER.replace(",", ";")
    rows = {row["rut"]: row for row in csv_rows(body, ";")}
    a = rows["76123456-0"]
    assert (a["activo"], a["puntaje_general"], a["puntaje_d_gobernanza"]) == ("1500000,5", "87,5", "75")
    assert (a["fecha_balance"], a["creada"], a["enviada"]) == ("31-12-2025", "02-03-2026 09:00", "02-03-2026 12:30")
    assert a["comentario"] == "'+56 9 1234 5678, llamar"
    assert rows["70000000-0"]["nombre"] == "Cooperativa del Maule; Ltda."  # quoted because of the ';'
    assert '"Cooperativa del Maule; Ltda."' in body


def test_bom_and_separator_override_the_flavour(api_env, world, analyst):
    reply = export(api_env, analyst, world, bom="true", separator="semicolon")
    body = reply.content.decode("utf-8")
    assert body.startswith("\ufeffcooperativa_id;rut;")
    assert {row["rut"]: row for row in csv_rows(body[1:], ";")}["76123456-0"]["activo"] == "1500000.5"
    reply = export(api_env, analyst, world, flavour="excel", bom="false", separator="comma")
    body = reply.content.decode("utf-8")
    assert body.startswith("cooperativa_id,rut,")
    assert {row["rut"]: row for row in csv_rows(body)}["76123456-0"]["activo"] == "1500000,5"


def test_values_are_neutralised_and_numbers_stay_numbers():
    for dangerous in ("=1+1", "+56 9", "-1 socio", "@SUMA(A1)", "\tX", "\rX", HYPERLINK):
        assert neutralise(dangerous) == "'" + dangerous
    for harmless in ("Cooperativa", "", "'ya citado", " =espacio antes", "56+1"):
        assert neutralise(harmless) == harmless
    standard = CsvDialect.of(Flavour.STANDARD).formatter()
    excel = CsvDialect.of(Flavour.EXCEL).formatter()
    assert [standard(v) for v in (-5, -2.5, 2_000_000.0, 0.1, None, True, False, ["=a", "b"])] == [
        "-5",
        "-2.5",
        "2000000",
        "0.1",
        "",
        "si",
        "no",
        "'=a|b",
    ]
    assert [excel(v) for v in (-2.5, 1e20)] == ["-2,5", "1e+20"]
    assert CsvDialect.of(Flavour.EXCEL, separator=Separator.COMMA) == CsvDialect(",", True, True)


# --------------------------------------------------------------------------- XLSX


def workbook_rows(content: bytes) -> dict[str, list[list]]:
    workbook = load_workbook(io.BytesIO(content))
    return {sheet.title: [list(row) for row in sheet.iter_rows(values_only=True)] for sheet in workbook.worksheets}


def test_xlsx_reads_back_with_types_and_neutralised_formulas(api_env, world, analyst):
    reply = export(api_env, analyst, world, format="xlsx")
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == exports.XLSX_MEDIA_TYPE
    assert "respuestas-ronda-nacional-2026-wide.xlsx" in reply.headers["content-disposition"]
    workbook = load_workbook(io.BytesIO(reply.content))
    assert workbook.sheetnames == ["datos", "diccionario"]
    sheet = workbook["datos"]
    header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert header == HEADER.split(",")
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.b
    by_rut = {row[1]: dict(zip(header, row)) for row in rows}
    a, b, c = by_rut["76123456-0"], by_rut["65000000-5"], by_rut["70000000-0"]
    assert a["activo"] == 1_500_000.5 and a["pasivo"] == 1_000_000 and a["puntaje_general"] == 87.5
    assert a["razon"] == 1.5000005 and b["razon"] == 0.5 and c["razon"] is None  # computed from the answers
    assert a["registro_socios_total"] == 20 and a["cooperativa_id"] == world.coops["A"]
    assert a["fecha_balance"] == datetime(2025, 12, 31) and a["creada"] == datetime(2026, 3, 2, 9, 0)
    assert a["canales"] == "feria|supermercado" and a["junta_anual"] == "si" and a["luz_d_gobernanza"] == "amarillo"
    assert a["comentario"] == "'+56 9 1234 5678, llamar"
    assert (
        b["nombre"] == "'" + HYPERLINK
        and b["comentario"] == "'@SUMA(A1)"
        and b["validada"] == datetime(2026, 3, 5, 10, 5)
    )
    assert c["comentario"] == "'-1 socio" and c["puntaje_general"] is None and c["luz_general"] is None
    # No cell is a formula: every text is a plain string cell.
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    # Everything the CSV says, the sheet says.
    expected = expected_wide(world)
    assert [row[0] for row in rows] == [int(row["cooperativa_id"]) for row in expected]
    codebook = [list(row) for row in workbook["diccionario"].iter_rows(values_only=True)]
    assert codebook[0][:5] == ["variable", "grupo", "formato", "tipo", "descripcion"]
    assert {row[0] for row in codebook[1:]} >= set(header)


def test_xlsx_writer_escapes_xml_and_drops_control_characters(tmp_path):
    table = exports.Table(
        'hoja <1> "a"',
        [exports.Column("a", ""), exports.Column("b", "")],
        [["<b>&\x01\x1f", 1.5], [None, date(2026, 1, 31)], [float("nan"), -3]],
    )
    with open(tmp_path / "t.xlsx", "wb") as target:
        writer = exports.XlsxWriter(target)
        assert writer.add(table) == 3
        writer.close()
    assert workbook_rows((tmp_path / "t.xlsx").read_bytes()) == {
        'hoja <1> "a"': [["a", "b"], ["<b>&", 1.5], [None, datetime(2026, 1, 31)], [None, -3]],
    }


# --------------------------------------------------------------------------- long shape, JSON, codebook


def test_long_shape_has_one_row_per_stored_or_computed_answer(api_env, world, analyst):
    reply = export(api_env, analyst, world, shape="long")
    assert reply.status_code == 200, reply.text
    assert "respuestas-ronda-nacional-2026-long.csv" in reply.headers["content-disposition"]
    rows = csv_rows(reply.content.decode())
    assert list(rows[0]) == [
        "respuesta_id",
        "cooperativa_id",
        "rut",
        "ronda_id",
        "revision",
        "estado",
        "pregunta_id",
        "valor",
        "estado_pregunta",
        "puntaje_pregunta",
    ]
    got = [
        (r["rut"], r["pregunta_id"], r["valor"], r["estado"], r["estado_pregunta"], r["puntaje_pregunta"]) for r in rows
    ]
    assert got == [
        ("65000000-5", "junta_anual", "no", "validada", "con puntaje", "0"),
        ("65000000-5", "canales", "", "validada", "sin puntaje", ""),
        ("65000000-5", "comentario", "'@SUMA(A1)", "validada", "sin puntaje", ""),
        ("65000000-5", "activo", "500000", "validada", "sin puntaje", ""),
        ("65000000-5", "pasivo", "1000000", "validada", "sin puntaje", ""),
        ("65000000-5", "razon", "0.5", "validada", "con puntaje", "0"),  # computed: activo / pasivo
        ("76123456-0", "junta_anual", "si", "enviada", "con puntaje", "100"),
        ("76123456-0", "actas", "parcial", "enviada", "con puntaje", "50"),
        ("76123456-0", "canales", "feria|supermercado", "enviada", "sin puntaje", ""),
        ("76123456-0", "comentario", "'+56 9 1234 5678, llamar", "enviada", "sin puntaje", ""),
        ("76123456-0", "fecha_balance", "2025-12-31", "enviada", "sin puntaje", ""),
        ("76123456-0", "activo", "1500000.5", "enviada", "sin puntaje", ""),
        ("76123456-0", "pasivo", "1000000", "enviada", "sin puntaje", ""),
        ("76123456-0", "razon", "1.5000005", "enviada", "con puntaje", "100"),
        ("70000000-0", "junta_anual", "si", "borrador", "", ""),
        ("70000000-0", "comentario", "'-1 socio", "borrador", "", ""),
    ]
    assert {r["respuesta_id"] for r in rows if r["rut"] == "65000000-5"} == {str(world.responses["B"])}


def test_json_pages_and_ndjson_keep_native_types(api_env, world, analyst):
    page = export(api_env, analyst, world, format="json", per_page=2, page=2)
    assert page.status_code == 200, page.text
    data = page.json()
    assert (data["total"], data["page"], data["pages"], data["columns"]) == (3, 2, 2, HEADER.split(","))
    [c] = data["items"]
    assert c["rut"] == "70000000-0" and c["comentario"] == "-1 socio" and c["junta_anual"] is True
    assert c["creada"] == "2026-03-05T09:00:00-03:00" and c["luz_general"] is None
    first = export(api_env, analyst, world, format="json", per_page=2).json()["items"]
    assert [item["rut"] for item in first] == ["65000000-5", "76123456-0"]
    assert first[1]["canales"] == ["feria", "supermercado"] and first[1]["activo"] == 1_500_000.5
    assert first[0]["razon"] == 0.5  # a number, computed from the stored answers
    lines = export(api_env, analyst, world, format="ndjson").content.decode().splitlines()
    assert [json.loads(line) for line in lines] == export(api_env, analyst, world, format="json").json()["items"]
    long_page = export(api_env, analyst, world, format="json", shape="long", per_page=1).json()
    assert long_page["total"] == 3 and len(long_page["items"]) == 6  # the first response: five answers, one computed


def test_codebook_describes_every_column(api_env, world, analyst):
    url = f"/api/v1/rounds/{world.round_id}/codebook"
    reply = api_env.client.get(url, headers=analyst)
    assert reply.status_code == 200, reply.text
    assert "diccionario-ronda-nacional-2026.csv" in reply.headers["content-disposition"]
    rows = {row["variable"]: row for row in csv_rows(reply.content.decode())}
    assert set(HEADER.split(",")) | {"pregunta_id", "valor", "estado_pregunta", "puntaje_pregunta"} == set(rows)
    actas = rows["actas"]
    assert (actas["dimension"], actas["subcategoria"], actas["tipo"], actas["relevante"]) == (
        "gobernanza",
        "asamblea",
        "opción única",
        "junta_anual == true",
    )
    assert actas["opciones"] == "si=Sí | parcial=Parcialmente | no=No | na=No aplica | ns=No sabe"
    assert actas["descripcion"] == "¿Las actas están al día?"
    assert rows["junta_anual"]["opciones"] == "si=Sí | no=No | ns=No sabe"
    assert "crítica" in rows["junta_anual"]["notas"]
    assert (rows["activo"]["unidad"], rows["activo"]["notas"]) == ("CLP", "obligatoria; mínimo 0; sin puntaje")
    assert (rows["razon"]["formula"], rows["razon"]["formato"]) == (
        "activo / pasivo",
        "ancho (columna); largo (pregunta_id)",
    )
    assert rows["razon"]["tipo"] == "calculada" and "calculada con la fórmula" in rows["razon"]["notas"]
    assert rows["luz_s_perfil"]["subcategoria"] == "perfil" and rows["luz_s_perfil"]["dimension"] == "gobernanza"
    assert rows["puntaje_general"]["grupo"] == "resultado" and rows["rut"]["formato"] == "ambos"
    assert rows["valor"]["formato"] == "largo"
    as_json = api_env.client.get(url, params={"format": "json"}, headers=analyst).json()
    assert [item["variable"] for item in as_json["items"]] == list(rows)
    xlsx = api_env.client.get(url, params={"format": "xlsx"}, headers=analyst)
    sheets = workbook_rows(xlsx.content)
    assert list(sheets) == ["diccionario"] and [row[0] for row in sheets["diccionario"][1:]] == list(rows)


# --------------------------------------------------------------------------- filters, parameters, who


FILTERS = [
    ({"region": 13}, ["76123456-0"]),
    ({"macrozone": "Sur"}, ["65000000-5"]),
    ({"sector": "apicola"}, ["76123456-0"]),
    ({"legal_type": "servicios"}, ["70000000-0"]),
    ({"status": "draft"}, ["70000000-0"]),
    ({"status": "validated", "macrozone": "Centro"}, []),
]
BAD_PARAMETERS = [
    ({"format": "pdf"}, "format"),
    ({"shape": "ancho"}, "shape"),
    ({"flavour": "libreoffice"}, "flavour"),
    ({"separator": "tab"}, "separator"),
    ({"status": "perdida"}, "status"),
    ({"legal_type": "x"}, "legal_type"),
    ({"region": 99}, "region"),
    ({"macrozone": "Polo Sur"}, "macrozone"),
    ({"sector": "oro"}, "sector"),
    ({"per_page": 0, "format": "json"}, "per_page"),
]


def test_filters_and_bad_parameters(api_env, world, analyst):
    for params, ruts in FILTERS:
        reply = export(api_env, analyst, world, **params)
        assert reply.status_code == 200, (params, reply.text)
        assert [row["rut"] for row in csv_rows(reply.content.decode())] == ruts, params
    for params, field in BAD_PARAMETERS:
        reply = export(api_env, analyst, world, **params)
        assert reply.status_code == 422, (params, reply.text)
        assert field in [detail["field"] for detail in reply.json()["error"]["details"]], params


def test_who_may_export(api_env, world):
    urls = [
        f"/api/v1/rounds/{world.round_id}/export",
        f"/api/v1/rounds/{world.round_id}/codebook",
        f"/api/v1/rounds/{world.round_id}/export?format=xlsx",
    ]
    for role, expected in (("admin", 200), ("analyst", 200), ("field", 403), ("manager", 403)):
        _, headers = api_env.user(role, cooperatives=list(world.coops.values()) if role == "manager" else ())
        for url in urls:
            assert api_env.client.get(url, headers=headers).status_code == expected, (role, url)
    for url in urls:
        reply = api_env.client.get(url)
        assert reply.status_code == 401 and reply.json()["error"]["code"] == "not_authenticated"
    _, admin = api_env.user("admin")
    assert api_env.client.get("/api/v1/rounds/999999/export", headers=admin).status_code == 404


def test_csv_streams_in_chunks_on_a_session_of_its_own(api_env, world, monkeypatch):
    """The rows are read while the body is sent, CHUNK_ROWS at a time, on a separate session."""
    monkeypatch.setattr(exports, "CHUNK_ROWS", 1)
    user, _ = api_env.user("analyst")
    opened = []

    def sessions():
        session = api_env.sessionmaker()
        opened.append(session)
        return session

    with api_env.session() as session:
        download = exports.export_round(
            session=session,
            sessions=sessions,
            user=session.merge(user),
            settings=api_env.settings,
            round_id=world.round_id,
            filters=exports.ExportFilters(),
            options=exports.ExportOptions(),
        )
    assert opened == []  # nothing is read before the body is
    chunks = list(download.chunks)
    assert len(opened) == 1 and len(chunks) == 4  # header + first row, two rows, the rest (empty)
    assert b"".join(chunks).decode().count("\r\n") == 4


def test_round_page_links_to_the_exports_with_its_filters(api_env, world):
    user, _ = api_env.user("analyst")
    client, _ = login(api_env, user)
    page = client.get(f"/analisis/rondas/{world.round_id}", params={"macrozona": "Centro-Sur"})
    assert page.status_code == 200
    section = re.search(r'<ul id="exportaciones">(.*?)</ul>', page.text, re.S).group(1)
    links = [html.unescape(href) for href in re.findall(r'href="([^"]+)"', section)]
    assert links == [
        f"/api/v1/rounds/{world.round_id}/export?format=xlsx&macrozone=Centro-Sur",
        f"/api/v1/rounds/{world.round_id}/export?format=csv&flavour=excel&macrozone=Centro-Sur",
        f"/api/v1/rounds/{world.round_id}/export?format=csv&macrozone=Centro-Sur",
        f"/api/v1/rounds/{world.round_id}/export?format=csv&shape=long&macrozone=Centro-Sur",
        f"/api/v1/rounds/{world.round_id}/codebook?format=xlsx",
    ]
    # The browser's session is enough to download.
    reply = client.get(links[2])
    assert reply.status_code == 200 and [row["rut"] for row in csv_rows(reply.text)] == ["70000000-0"]


def test_an_xlsx_over_the_row_limit_is_refused_before_sending(api_env, world, analyst, monkeypatch):
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 3)  # two data rows at most; the round has three
    reply = export(api_env, analyst, world, format="xlsx")
    assert reply.status_code == 422
    assert reply.json()["error"]["details"][0]["field"] == "format"
    assert "La hoja «datos» tendría más de 2 filas" in reply.json()["error"]["message"]


def test_the_xlsx_row_limit_counts_the_header(tmp_path, monkeypatch):
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 3)
    columns = [exports.Column("a", "")]
    with open(tmp_path / "t.xlsx", "wb") as target:
        writer = exports.XlsxWriter(target)
        assert writer.add(exports.Table("bien", columns, [[1], [2]])) == 2
        with pytest.raises(Invalid):
            writer.add(exports.Table("mal", columns, [[1], [2], [3]]))
        writer.discard()


@pytest.mark.parametrize("name", ["nacional-2026.1.yaml", "nacional-2027.1.yaml"])
def test_wide_column_names_are_unique_and_say_their_source(name):
    """R, Stata and pandas read the file without renaming: no name twice, and the registry's
    member figures are not confused with the ones the diagnosis declares."""
    from app.exchange.exports import wide_columns

    path = Path(__file__).resolve().parent.parent / "questionnaires" / name
    columns = [c.name for c in wide_columns(scoring.load_questionnaire(path.read_text(encoding="utf-8")))]
    assert len(columns) == len(set(columns))
    assert {"registro_socias_mujeres", "registro_socios_hombres", "registro_socios_menores_35"} <= set(columns)


def test_a_question_named_like_a_fixed_column_gets_its_own_name():
    from app.exchange.exports import wide_columns

    questionnaire = scoring.questionnaire_from_data(
        {
            "id": "choque",
            "version": "1",
            "title": "T",
            "dimensions": [
                {
                    "id": "d",
                    "title": "D",
                    "subcategories": [
                        {
                            "id": "s",
                            "title": "S",
                            "questions": [
                                {"id": "rut", "text": "¿RUT del gerente?", "type": "text"},
                                {"id": "puntaje_general", "text": "¿Puntaje?", "type": "number"},
                                {"id": "ok", "text": "¿Ok?", "type": "yes_no"},
                            ],
                        }
                    ],
                }
            ],
        }
    )
    columns = [c.name for c in wide_columns(questionnaire)]
    assert len(columns) == len(set(columns))
    assert "pregunta_rut" in columns and "pregunta_puntaje_general" in columns and "ok" in columns
