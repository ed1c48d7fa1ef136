"""XLSForm export (app/exchange/xlsform.py): the workbook converts with pyxform (ODK's converter)
with no errors or warnings, its rows say what the questionnaire says, and the translated
`relevant` conditions and formulas give the engine's answers under XPath 1.0 rules."""

from __future__ import annotations

import io
import itertools
import math
import random
import re
import shutil
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pyxform.xls2xform import convert

from app.cli import main
from app.exchange.xlsform import XLSFormError, xlsform_bytes, xlsform_rows
from conftest import in_ci
from helpers import BANDS, choice, computed, date as date_question, dim, doc, load, multi, number, single, sub, text, yes_no
from scoring import load_questionnaire, relevant_questions
from scoring.engine import evaluate
from test_rounds import QUESTIONNAIRES, sample_version_id, users

ROOT = Path(__file__).resolve().parent.parent
NATIONAL = ROOT / "questionnaires" / "nacional-2026.1.yaml"
LABEL = "label::Español (es)"


def national():
    return load_questionnaire(NATIONAL.read_text(encoding="utf-8"), source=NATIONAL.name)


def to_xform(content: bytes, *, validate: bool = False) -> str:
    """pyxform's conversion; any error raises, and a warning fails the test."""
    warnings: list[str] = []
    result = convert(content, warnings=warnings, validate=validate, file_type=".xlsx")
    assert warnings == []
    return result.xform


def sheets(content: bytes) -> dict[str, list[dict[str, str]]]:
    """Every sheet of the workbook as a list of {column: value} rows, empty cells left out."""
    workbook = load_workbook(io.BytesIO(content), read_only=True)
    result = {}
    for sheet in workbook.worksheets:
        header, *rows = list(sheet.iter_rows(values_only=True))
        result[sheet.title] = [{k: v for k, v in zip(header, row, strict=True) if v is not None} for row in rows]
    return result


def by_name(survey: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {row["name"]: row for row in survey if "name" in row and row["type"] != "end_group"}


# --------------------------------------------------------------------------- a questionnaire with every type and construct

VARIED = doc(
    dim(
        "general",
        sub(
            "perfil",
            choice("tipo", {"coop": None, "grupo": None}, na=True),
            multi("rubros", {"fruta": None, "leche": None, "miel": None}),
            multi("rubros_antes", {"fruta": None, "leche": None}, na=True),
            yes_no("junta", help="Asamblea general del último año."),
            yes_no("deudas", good="no", na=True),
            number("socios", integer=True, min=0, max=5000, unit="personas"),
            number("ventas", min=0),
            number("costos", na=True),
            number("indice", required=False, bands=BANDS),
            text("nombre_contacto"),
            text("comentario", required=True),
            date_question("fecha_junta", relevant="junta == true"),
        ),
        sub(
            "indicadores",
            computed("margen", "(ventas - costos) / ventas", bands=BANDS),
            computed("por_socio", "ventas / socios * 2 + -costos - 1.5"),
            computed("doble", "margen * (2 - -1)"),
            computed("resta", "ventas - (costos - socios)"),
            computed("constante", "10 / 4"),
        ),
    ),
    dim(
        "condiciones",
        sub(
            "relevancias",
            yes_no("q_bool", relevant="junta"),
            yes_no("q_not", relevant="not junta and deudas != false"),
            yes_no("q_choice", relevant="tipo == 'coop' or selected(tipo, 'grupo')"),
            yes_no("q_choice_ne", relevant="tipo != 'grupo'"),
            yes_no("q_multi", relevant="selected(rubros, 'leche') and not selected(rubros, 'miel')"),
            yes_no("q_multi_eq", relevant="rubros == rubros_antes"),
            yes_no("q_numbers", relevant="socios >= 10 and socios < 100 or ventas <= 0.5 or -costos > 2"),
            yes_no("q_arith", relevant="(ventas - costos) / socios > 1000"),
            yes_no("q_computed", relevant="margen != 0.25 and not (por_socio == 3)"),
            yes_no("q_date", relevant="fecha_junta >= '2025-01-01'"),
            yes_no("q_date_eq", relevant="fecha_junta == '2025-03-31'"),
            yes_no("q_text", relevant="nombre_contacto == \"O'Higgins \\\"Ltda\\\"\""),
            yes_no("q_kinds", relevant="nombre_contacto != 3"),
            yes_no("q_never", relevant="junta == 'si'"),
            yes_no("q_literals", relevant="true and not false"),
            yes_no("q_bool_order", relevant="junta > deudas"),
            yes_no("q_num_eq", relevant="socios == ventas"),
            yes_no("q_missing_or", relevant="(socios > 3 or junta) and not (deudas == junta)"),
            yes_no("q_number_condition", relevant="socios"),
        ),
    ),
    id="variado",
    version="2026.1-b",
    title="Cuestionario variado",
    description="Prueba de todos los tipos.",
)


@pytest.fixture(scope="module")
def varied():
    return load(VARIED)


@pytest.fixture(scope="module")
def varied_content(varied) -> bytes:
    return xlsform_bytes(varied)


@pytest.fixture(scope="module")
def national_content() -> bytes:
    return xlsform_bytes(national())


# --------------------------------------------------------------------------- the national questionnaire


def test_national_questionnaire_converts_without_warnings(national_content):
    questionnaire = national()
    xform = to_xform(national_content)
    assert 'id="diagnostico-nacional"' in xform and 'version="2026.1"' in xform
    book = sheets(national_content)
    assert book["settings"] == [{
        "form_title": questionnaire.title, "form_id": "diagnostico-nacional", "version": "2026.1",
        "default_language": "Español (es)", "instance_name": "concat('RUT ', ${rut_cooperativa})",
    }]
    survey = book["survey"]
    rows = by_name(survey)
    assert set(rows) >= {q.id for q in questionnaire.questions}
    # groups: one per dimension holding one per subcategory, with the Spanish titles
    groups = [(row["type"], row["name"], row.get(LABEL)) for row in survey if row["type"] == "begin_group"]
    expected = []
    for dimension in questionnaire.dimensions:
        expected.append(("begin_group", f"dim-{dimension.id}", dimension.title))
        expected += [("begin_group", f"sub-{s.id}", s.title) for s in dimension.subcategories]
    assert groups == expected
    assert sum(row["type"] == "end_group" for row in survey) == len(expected)

    # the RUT comes before every question, required, checked by a regular expression
    names = [row.get("name") for row in survey]
    assert names.index("rut_cooperativa") < names.index("dim-gestion_financiera")
    rut = rows["rut_cooperativa"]
    assert rut["type"] == "text" and rut["required"] == "yes" and rut["constraint"].startswith("regex(., '^")

    assert rows["tipo_organizacion"]["type"] == "select_one op_tipo_organizacion"
    assert rows["tipo_organizacion"][LABEL] == questionnaire.question("tipo_organizacion").text
    assert rows["tipo_organizacion"]["hint::Español (es)"].startswith("Marque \"cooperativa constituida\"")
    contador = rows["contabilidad_contador"]
    assert (contador["type"], contador["required"]) == ("select_one si_no", "yes")
    assert contador["relevant"] == "not(selected(${tipo_organizacion}, 'grupo_precooperativo'))"
    assert rows["reserva_legal"]["type"] == "select_one si_no_na"
    assert rows["reserva_legal"]["relevant"] == (
        "not(selected(${tipo_organizacion}, 'grupo_precooperativo')) and ${excedente} != '' and ${excedente} > 0"
    )
    assert rows["asistentes_junta"]["relevant"] == "${junta_realizada} = 'si'"
    assert rows["razon_corriente"]["type"] == "calculate"
    assert rows["razon_corriente"]["calculation"] == (
        "if(${activo_corriente} != '' and ${pasivo_corriente} != '' and ${pasivo_corriente} != 0, "
        "${activo_corriente} div ${pasivo_corriente}, '')"
    )
    assert rows["tasa_asistencia"]["calculation"] == (
        "if(${asistentes_junta} != '' and ${socios_mujeres} != '' and ${socios_hombres} != '' "
        "and ${socios_mujeres} + ${socios_hombres} != 0, "
        "${asistentes_junta} div (${socios_mujeres} + ${socios_hombres}), '')"
    )
    comprador = rows["principal_comprador"]
    assert (comprador["type"], comprador["constraint"]) == ("decimal", ". >= 0 and . <= 100")
    assert comprador["constraint_message::Español (es)"] == "El valor debe estar entre 0 y 100."
    assert rows["principal_comprador_sin_dato"]["type"] == "select_one sin_dato_na"
    assert rows["socios_mujeres"]["type"] == "integer" and "Unidad: personas." in rows["socios_mujeres"]["hint::Español (es)"]
    assert rows["servicios_ofrecidos"]["constraint"] == "not(selected(., 'ns')) or count-selected(.) = 1"

    choices = book["choices"]
    assert [(c["name"], c[LABEL]) for c in choices if c["list_name"] == "si_no"] == [
        ("si", "Sí"), ("no", "No"), ("ns", "No sabe / no responde")
    ]
    tipo = [c["name"] for c in choices if c["list_name"] == "op_tipo_organizacion"]
    assert tipo == ["cooperativa_constituida", "grupo_precooperativo", "ns"]


def test_forms_pass_odk_validate(national_content, varied_content):
    """ODK Validate (JavaRosa, run by pyxform in Java) loads both forms and evaluates their logic."""
    if shutil.which("java") is None:
        if in_ci():
            pytest.fail("ODK Validate needs Java (default-jre-headless), which CI installs")
        pytest.skip("Java is not installed: ODK Validate cannot run")
    to_xform(national_content, validate=True)
    to_xform(varied_content, validate=True)


# --------------------------------------------------------------------------- every type and construct


def test_varied_questionnaire_rows(varied_content):
    to_xform(varied_content)
    book = sheets(varied_content)
    rows = by_name(book["survey"])
    # the description as an introduction is not part of the form; metadata and RUT first
    assert [row["name"] for row in book["survey"][:3]] == ["start", "end", "rut_cooperativa"]

    assert (rows["tipo"]["type"], rows["rubros"]["type"]) == ("select_one op_tipo", "select_multiple op_rubros")
    assert [c["name"] for c in book["choices"] if c["list_name"] == "op_tipo"] == ["coop", "grupo", "na", "ns"]
    assert rows["rubros_antes"]["constraint"] == (
        "not(selected(., 'na') or selected(., 'ns')) or count-selected(.) = 1"
    )
    assert rows["rubros_antes"]["constraint_message::Español (es)"] == (
        "«No aplica» y «No sabe / no responde» no se pueden marcar junto con otras opciones."
    )
    assert rows["deudas"]["type"] == "select_one si_no_na"
    assert rows["junta"]["hint::Español (es)"] == "Asamblea general del último año."

    socios = rows["socios"]
    assert (socios["type"], socios["required"], socios["constraint"]) == ("integer", "no", ". >= 0 and . <= 5000")
    assert socios["constraint_message::Español (es)"] == "El valor debe estar entre 0 y 5.000."
    assert rows["socios_sin_dato"] == {
        "type": "select_one sin_dato", "name": "socios_sin_dato",
        LABEL: "¿Por qué queda sin respuesta la pregunta anterior?",
        "hint::Español (es)": "Solo si no hay dato para: ¿socios?",
        "required": "yes",
        "required_message::Español (es)": "Indique por qué la pregunta anterior queda sin respuesta.",
        "relevant": "${socios} = ''",
    }
    assert rows["ventas"]["constraint_message::Español (es)"] == "El valor debe ser mayor o igual que 0."
    assert "constraint" not in rows["costos"] and rows["costos_sin_dato"]["type"] == "select_one sin_dato_na"
    # not required but scored: "no sabe" still counts, so it can be given
    assert rows["indice"]["type"] == "decimal" and rows["indice_sin_dato"]["required"] == "no"
    # optional unscored text and date: blank is the only "no answer"
    assert rows["nombre_contacto"] == {"type": "text", "name": "nombre_contacto", LABEL: "¿nombre_contacto?", "required": "no"}
    assert "nombre_contacto_sin_dato" not in rows and "fecha_junta_sin_dato" not in rows
    assert rows["comentario_sin_dato"]["required"] == "yes"
    assert rows["fecha_junta"]["type"] == "date" and rows["fecha_junta"]["relevant"] == "${junta} = 'si'"

    calculations = {name: rows[name]["calculation"] for name in ("margen", "por_socio", "doble", "resta", "constante")}
    assert calculations == {
        "margen": "if(${ventas} != '' and ${costos} != '' and ${ventas} != 0, (${ventas} - ${costos}) div ${ventas}, '')",
        "por_socio": (
            "if(${ventas} != '' and ${socios} != '' and ${socios} != 0 and ${costos} != '', "
            "${ventas} div ${socios} * 2 + -${costos} - 1.5, '')"
        ),
        "doble": "if(${margen} != '', ${margen} * (2 - -1), '')",
        "resta": "if(${ventas} != '' and ${costos} != '' and ${socios} != '', ${ventas} - (${costos} - ${socios}), '')",
        "constante": "10 div 4",
    }
    relevant = {name: rows[name].get("relevant", "") for name in rows if name.startswith("q_")}
    assert relevant == {
        "q_bool": "${junta} = 'si'",
        "q_not": "${junta} = 'no' and ${deudas} = 'si'",
        "q_choice": "${tipo} = 'coop' or selected(${tipo}, 'grupo')",
        "q_choice_ne": "${tipo} != '' and ${tipo} != 'na' and ${tipo} != 'ns' and ${tipo} != 'grupo'",
        "q_multi": "selected(${rubros}, 'leche') and not(selected(${rubros}, 'miel'))",
        "q_multi_eq": (
            "${rubros} != '' and not(selected(${rubros}, 'ns')) and ${rubros_antes} != '' "
            "and not(selected(${rubros_antes}, 'na')) and not(selected(${rubros_antes}, 'ns')) "
            "and count-selected(${rubros}) = count-selected(${rubros_antes}) "
            "and (not(selected(${rubros}, 'fruta')) or selected(${rubros_antes}, 'fruta')) "
            "and (not(selected(${rubros}, 'leche')) or selected(${rubros_antes}, 'leche')) "
            "and (not(selected(${rubros}, 'miel')) or selected(${rubros_antes}, 'miel'))"
        ),
        "q_numbers": (
            "${socios} != '' and ${socios} >= 10 and ${socios} < 100 or ${ventas} != '' and ${ventas} <= 0.5 "
            "or ${costos} != '' and -${costos} > 2"
        ),
        "q_arith": (
            "${ventas} != '' and ${costos} != '' and ${socios} != '' and ${socios} != 0 "
            "and (${ventas} - ${costos}) div ${socios} > 1000"
        ),
        "q_computed": "${margen} != '' and ${margen} != 0.25 and ${por_socio} != '' and ${por_socio} != 3",
        "q_date": "${fecha_junta} != '' and decimal-date-time(${fecha_junta}) >= decimal-date-time('2025-01-01')",
        "q_date_eq": "${fecha_junta} = '2025-03-31'",
        "q_text": "${nombre_contacto} = concat('O', \"'\", 'Higgins \"Ltda\"')",
        "q_kinds": "${nombre_contacto} != ''",
        "q_never": "false()",
        "q_literals": "",
        "q_bool_order": (
            "(${junta} = 'si' or ${junta} = 'no') and (${deudas} = 'si' or ${deudas} = 'no') "
            "and (${junta} = 'si') > (${deudas} = 'si')"
        ),
        "q_num_eq": "${socios} != '' and ${ventas} != '' and number(${socios}) = number(${ventas})",
        "q_missing_or": (
            "(${socios} != '' and ${socios} > 3 or ${junta} = 'si') "
            "and (${deudas} = 'si' and ${junta} = 'no' or ${deudas} = 'no' and ${junta} = 'si')"
        ),
        "q_number_condition": "false()",
    }
    assert book["settings"][0]["version"] == "2026.1-b"


@pytest.mark.parametrize(
    ("data", "question", "fragment"),
    [
        (single(text("nombre"), yes_no("b", relevant="nombre < 'm'")), "b", "la comparación «<» entre textos"),
        (single(date_question("f"), yes_no("b", relevant="f > 'ayer'")), "b", "solo se pueden ordenar fechas"),
        (single(multi("m", [{"value": "dos palabras", "label": "Dos"}])), "m", "'dos palabras' no sirve en XLSForm"),
        (single(number("monto"), number("monto_sin_dato")), "monto", "«monto_sin_dato»"),
        (single(yes_no("rut_cooperativa")), "rut_cooperativa", "ya lo usa la pregunta «rut_cooperativa»"),
        (single(yes_no("start")), "start", "el nombre «start» de un metadato ya lo usa la pregunta «start»"),
    ],
)
def test_what_xlsform_cannot_say_is_refused_naming_the_question(data, question, fragment):
    with pytest.raises(XLSFormError) as caught:
        xlsform_rows(load(data))
    assert caught.value.question_id == question
    assert fragment in str(caught.value) and str(caught.value).startswith(f"pregunta «{question}»")


# --------------------------------------------------------------------------- command line and API


def test_cli_writes_the_xlsform(tmp_path: Path, capsys):
    out = tmp_path / "formulario.xlsx"
    assert main(["questionnaire", "xlsform", str(NATIONAL), "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == (
        f"XLSForm de «{national().title}» (id diagnostico-nacional, versión 2026.1) escrito en «{out}»."
    )
    assert sheets(out.read_bytes())["settings"][0]["form_id"] == "diagnostico-nacional"


def test_cli_refuses_what_xlsform_cannot_say(tmp_path: Path, monkeypatch, capsys):
    source = tmp_path / "textos.yaml"
    source.write_text(
        "id: textos\nversion: '1'\ntitle: Textos\ndimensions:\n- id: d\n  title: D\n  subcategories:\n"
        "  - id: s\n    title: S\n    questions:\n    - {id: nombre, text: Nombre, type: text}\n"
        "    - {id: b, text: B, type: yes_no, relevant: \"nombre < 'm'\"}\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as caught:
        main(["questionnaire", "xlsform", str(source)])
    assert caught.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith(f"coopdiag: el cuestionario «{source}» no se puede exportar a XLSForm: pregunta «b»: ")
    assert list(tmp_path.iterdir()) == [source]  # nothing written


def test_api_xlsform_for_staff_and_field_teams(api_env):
    env = api_env
    headers = users(env)
    version_id = sample_version_id(env)
    path = f"{QUESTIONNAIRES}/{version_id}/xlsform"
    for role in ("admin", "analyst", "field"):
        response = env.client.get(path, headers=headers[role])
        assert response.status_code == 200, role
        assert response.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        assert response.headers["content-disposition"] == 'attachment; filename="prueba-mini-2026.1.xlsx"'
    xform = to_xform(response.content)
    assert 'id="prueba-mini"' in xform
    forbidden = env.client.get(path, headers=headers["manager"])
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "forbidden"
    assert env.client.get(path).status_code == 401
    missing = env.client.get(f"{QUESTIONNAIRES}/9999/xlsform", headers=headers["field"])
    assert missing.status_code == 404 and missing.json()["error"]["message"] == "No existe la versión de cuestionario 9999."
