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
from helpers import BANDS, choice, computed, dim, doc, load, multi, number, single, sub, text, yes_no
from helpers import date as date_question
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
            yes_no("q_text", relevant='nombre_contacto == "O\'Higgins \\"Ltda\\""'),
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
    assert book["settings"] == [
        {
            "form_title": questionnaire.title,
            "form_id": "diagnostico-nacional",
            "version": "2026.1",
            "default_language": "Español (es)",
            "instance_name": "concat('RUT ', ${rut_cooperativa})",
        }
    ]
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
    assert rows["tipo_organizacion"]["hint::Español (es)"].startswith('Marque "cooperativa constituida"')
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
    assert (
        rows["socios_mujeres"]["type"] == "integer"
        and "Unidad: personas." in rows["socios_mujeres"]["hint::Español (es)"]
    )
    assert rows["servicios_ofrecidos"]["constraint"] == "not(selected(., 'ns')) or count-selected(.) = 1"

    choices = book["choices"]
    assert [(c["name"], c[LABEL]) for c in choices if c["list_name"] == "si_no"] == [
        ("si", "Sí"),
        ("no", "No"),
        ("ns", "No sabe / no responde"),
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
    to_xform(xlsform_bytes(national_2027()), validate=True)


def national_2027():
    path = ROOT / "questionnaires" / "nacional-2027.1.yaml"
    return load_questionnaire(path.read_text(encoding="utf-8"), source=path.name)


def test_national_2027_converts_with_its_checks_as_constraints():
    content = xlsform_bytes(national_2027())
    to_xform(content)
    rows = by_name(sheets(content)["survey"])
    # socias + socios = total is checked where the last of the three is answered.
    sum_check = next(c for c in national_2027().checks if c.id == "socios_suman_total")
    last = [q.id for q in national_2027().questions if q.id in sum_check.questions][-1]
    assert sum_check.message in rows[last][f"constraint_message::{LABEL.split('::')[1]}"]


# --------------------------------------------------------------------------- every type and construct


def test_varied_questionnaire_rows(varied_content):
    to_xform(varied_content)
    book = sheets(varied_content)
    rows = by_name(book["survey"])
    # start and end times (ODK metadata), then the RUT, then the groups
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
        "type": "select_one sin_dato",
        "name": "socios_sin_dato",
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
    assert rows["nombre_contacto"] == {
        "type": "text",
        "name": "nombre_contacto",
        LABEL: "¿nombre_contacto?",
        "required": "no",
    }
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
        assert response.headers["content-disposition"].startswith('attachment; filename="prueba-mini-2026.1.xlsx"')
        assert response.headers["cache-control"] == "private, no-store"
    xform = to_xform(response.content)
    assert 'id="prueba-mini"' in xform
    forbidden = env.client.get(path, headers=headers["manager"])
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "forbidden"
    assert env.client.get(path).status_code == 401
    missing = env.client.get(f"{QUESTIONNAIRES}/9999/xlsform", headers=headers["field"])
    assert (
        missing.status_code == 404
        and missing.json()["error"]["message"] == "No existe la versión de cuestionario 9999."
    )


# --------------------------------------------------------------------------- semantics: XPath 1.0 against the engine
#
# A small evaluator of the XPath the export writes (XPath 1.0 comparison and conversion rules,
# with ODK's selected(), count-selected(), if() and decimal-date-time()), so that random answer
# sets can check every translated condition and formula against the scoring engine.


class FieldValue(str):
    """A form field's value: in XPath a node, compared by its text (or as a number with a number)."""


_XPATH_TOKEN = re.compile(
    r"\s*(?:(?P<ref>\$\{[a-z0-9_]+\})|(?P<number>\d+(?:\.\d+)?)|(?P<string>'[^']*'|\"[^\"]*\")"
    r"|(?P<name>[a-z][a-z-]*[a-z])|(?P<op>!=|<=|>=|[=<>+\-*(),.]))"
)


def _xpath_tokens(source: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(source.rstrip()):
        match = _XPATH_TOKEN.match(source, position)
        assert match is not None, f"unexpected XPath at {source[position:]!r}"
        tokens.append((match.lastgroup, match.group(match.lastgroup)))
        position = match.end()
    return tokens + [("end", "")]


def _to_number(value) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, float):
        return value
    try:
        return float(value.strip()) if re.fullmatch(r"\s*-?(\d+(\.\d*)?|\.\d+)\s*", value) else math.nan
    except ValueError:  # pragma: no cover - the pattern only lets numbers through
        return math.nan


def _to_boolean(value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return value != 0 and not math.isnan(value)
    return isinstance(value, FieldValue) or value != ""  # a node-set of one node is true


def _equal(left, right) -> bool:
    if isinstance(left, FieldValue) or isinstance(right, FieldValue):
        if isinstance(left, FieldValue) and isinstance(right, FieldValue):
            return str(left) == str(right)
        node, other = (left, right) if isinstance(left, FieldValue) else (right, left)
        if isinstance(other, bool):
            return other is True
        if isinstance(other, float):
            return _to_number(node) == other
        return str(node) == other
    if isinstance(left, bool) or isinstance(right, bool):
        return _to_boolean(left) == _to_boolean(right)
    if isinstance(left, float) or isinstance(right, float):
        return _to_number(left) == _to_number(right)
    return left == right


def _days(value) -> float:
    try:
        return float((date.fromisoformat(str(value)) - date(1970, 1, 1)).days)
    except ValueError:
        return math.nan


_FUNCTIONS = {
    "true": lambda: True,
    "false": lambda: False,
    "not": lambda value: not _to_boolean(value),
    "number": _to_number,
    "selected": lambda answer, value: str(value) in str(answer).split(),
    "count-selected": lambda answer: float(len(str(answer).split())),
    "if": lambda condition, then, otherwise: then if _to_boolean(condition) else otherwise,
    "decimal-date-time": _days,
    "concat": lambda *parts: "".join(map(str, parts)),
}
_RELATIONAL = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


def _divide(a: float, b: float) -> float:
    if b == 0:
        return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a)
    return a / b


_ARITHMETIC = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "div": _divide}


class XPathEvaluator:
    def __init__(self, source: str, fields: dict[str, str]) -> None:
        self.tokens = _xpath_tokens(source)
        self.index = 0
        self.fields = fields

    def run(self):
        value = self.or_()
        assert self.tokens[self.index][0] == "end", self.tokens[self.index :]
        return value

    def peek(self) -> str:
        return self.tokens[self.index][1]

    def take(self) -> tuple[str, str]:
        self.index += 1
        return self.tokens[self.index - 1]

    def _left_associative(self, operand, operators: dict):
        value = operand()
        while self.peek() in operators:
            value = operators[self.take()[1]](value, operand())
        return value

    def or_(self):
        return self._left_associative(self.and_, {"or": lambda a, b: _to_boolean(a) or _to_boolean(b)})

    def and_(self):
        return self._left_associative(self.equality, {"and": lambda a, b: _to_boolean(a) and _to_boolean(b)})

    def equality(self):
        return self._left_associative(self.relational, {"=": _equal, "!=": lambda a, b: not _equal(a, b)})

    def relational(self):
        return self._left_associative(self.additive, _numeric(_RELATIONAL))

    def additive(self):
        return self._left_associative(self.multiplicative, _numeric({k: _ARITHMETIC[k] for k in "+-"}))

    def multiplicative(self):
        return self._left_associative(self.unary, _numeric({k: _ARITHMETIC[k] for k in ("*", "div")}))

    def unary(self):
        if self.peek() == "-":
            self.take()
            return -_to_number(self.unary())
        return self.primary()

    def primary(self):
        kind, text = self.take()
        if kind == "ref":
            return FieldValue(self.fields[text[2:-1]])
        if kind == "number":
            return float(text)
        if kind == "string":
            return text[1:-1]
        if text == ".":
            return FieldValue(self.fields["."])
        if text == "(":
            value = self.or_()
            assert self.take()[1] == ")"
            return value
        assert kind == "name" and self.take()[1] == "(", text
        arguments = []
        while self.peek() != ")":
            arguments.append(self.or_())
            if self.peek() == ",":
                self.take()
        self.take()
        return _FUNCTIONS[text](*arguments)


def _numeric(operators: dict) -> dict:
    return {op: (lambda g: lambda a, b: g(_to_number(a), _to_number(b)))(f) for op, f in operators.items()}


def _field_text(question, answer) -> str:
    """What ODK holds for an answer in the exported form (na/ns of a number, text or date go to its companion)."""
    if answer is None:
        return ""
    if question.type == "yes_no" and isinstance(answer, bool):
        return "si" if answer else "no"
    if question.type in ("number", "text", "date") and answer in ("na", "ns"):
        return ""
    if isinstance(answer, list):
        return " ".join(answer)
    return str(answer)


def _random_answer(question, rng: random.Random):
    reserved = ["ns", None] + (["na"] if question.na else [])
    if question.type == "yes_no":
        pool = [True, False, True, False] + reserved
    elif question.type == "choice":
        pool = [o.value for o in question.options] * 2 + reserved
    elif question.type == "multi":
        values = [o.value for o in question.options]
        subsets = [list(c) for n in range(1, len(values) + 1) for c in itertools.combinations(values, n)]
        pool = rng.sample(subsets, min(4, len(subsets))) + reserved
    elif question.type == "number":
        numbers = [0, 1, 2, 3, 4, 10, 50, 99, 100, 150, 1000, 5000, 0.5, 2.5, 1e6]
        low, high = question.min if question.min is not None else -10, question.max if question.max is not None else 1e7
        pool = [n for n in numbers + [-3, -0.5] if low <= n <= high and (not question.integer or float(n).is_integer())]
        pool = pool + reserved
    elif question.type == "text":
        pool = ['O\'Higgins "Ltda"', "Otra", "ns", None]
    elif question.type == "date":
        pool = ["2024-12-31", "2025-01-01", "2025-03-31", "ns", None]
    else:
        return None
    return rng.choice(pool)


def _check_semantics(questionnaire, seed: int, rounds: int) -> int:
    """Random answer sets: each relevant condition and formula evaluates as in the engine. Returns how many
    conditions came out true, so that the caller can tell the answers explored both outcomes."""
    rows = by_name(xlsform_rows(questionnaire)["survey"])
    rng = random.Random(seed)
    computed = [q for q in questionnaire.questions if q.type == "computed"]
    true_conditions = 0
    for _ in range(rounds):
        answers = {q.id: _random_answer(q, rng) for q in questionnaire.questions}
        answers = {qid: answer for qid, answer in answers.items() if answer is not None}
        relevance = relevant_questions(questionnaire, answers)
        engine_values = evaluate(questionnaire._plan, answers)[0]
        fields = {q.id: _field_text(q, answers.get(q.id)) if relevance[q.id] else "" for q in questionnaire.questions}
        for _ in computed:  # formulas may name later computed questions: settle in a few passes
            for question in computed:
                result = (
                    XPathEvaluator(rows[question.id]["calculation"], fields).run() if relevance[question.id] else ""
                )
                fields[question.id] = "" if result == "" else repr(_to_number(result))
        for question in questionnaire.questions:
            condition = rows[question.id].get("relevant", "true()")
            outcome = _to_boolean(XPathEvaluator(condition, fields).run())
            assert outcome is relevance[question.id], (question.id, condition, answers)
            true_conditions += outcome and question.relevant is not None
        for question in computed:
            expected = engine_values.get(question.id)
            if expected is None:
                assert fields[question.id] == "", (question.id, answers, fields[question.id])
            else:
                assert math.isclose(float(fields[question.id]), expected, rel_tol=1e-9), (question.id, answers)
    return true_conditions


def test_translated_conditions_and_formulas_behave_as_the_engine(varied):
    assert _check_semantics(varied, seed=6, rounds=400) > 400


def test_national_conditions_and_formulas_behave_as_the_engine():
    assert _check_semantics(national(), seed=26, rounds=150) > 150


def test_national_2027_conditions_and_formulas_behave_as_the_engine():
    assert _check_semantics(national_2027(), seed=27, rounds=100) > 100


# --------------------------------------------------------------------------- consistency checks

CHECKED = """
id: con-verificaciones
version: "1"
title: Con verificaciones
dimensions:
  - id: d
    title: D
    subcategories:
      - id: s
        title: S
        questions:
          - {id: socios_total, text: Socios en total, type: number, min: 0, max: 100000, integer: true}
          - {id: socias, text: Socias, type: number, min: 0, max: 100000, integer: true}
          - {id: socios, text: Socios hombres, type: number, min: 0, max: 100000, integer: true}
          - {id: tipo, text: Tipo, type: choice, options: [{value: a, label: A}, {value: b, label: B}]}
checks:
  - id: suma_socios
    expression: socias + socios == socios_total
    message: Socias más socios debe ser igual al total.
  - id: aviso
    expression: socias <= socios_total
    message: Hay más socias que socios.
    severity: warning
  - id: tipo_a_con_socios
    expression: not selected(tipo, 'a') or socios_total > 0
    message: Un tipo A tiene socios.
"""


def test_error_checks_become_constraints_on_their_last_question():
    questionnaire = load_questionnaire(CHECKED, source="checked.yaml")
    content = xlsform_bytes(questionnaire)
    rows = by_name(sheets(content)["survey"])
    # The sum check goes on «socios», the last question it names, beside its bounds.
    assert "${socias} + ${socios}" in rows["socios"]["constraint"] and ". >= 0" in rows["socios"]["constraint"]
    assert "Socias más socios debe ser igual al total." in rows["socios"]["constraint_message::Español (es)"]
    # A warning is not a constraint; a check on a select question goes on the select.
    assert "Hay más socias" not in str(rows["socias"]) and "Hay más socias" not in str(rows["socios_total"])
    assert "Un tipo A tiene socios." in rows["tipo"]["constraint_message::Español (es)"]
    to_xform(content)
    if shutil.which("java") is not None:
        to_xform(content, validate=True)
