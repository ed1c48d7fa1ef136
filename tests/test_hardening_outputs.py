"""Outputs that no input can break (issue 14, points 1, 4 and 5 for the writers).

1. Numbers: scoring accepts what the format spec accepts (any finite number within the
   question's min/max), and the app bounds every number where people enter it (API, web form,
   ODK/Kobo import): at most 10^15 in absolute value and 6 decimals, refused with a Spanish
   message naming the question. The PDF, the pages and the exports survive any number that
   got through (the limits, and older answers stored before them). A round's ZIP leaves out a
   report that fails, names it in LEEME.txt and manifiesto.csv, and stays complete and valid.
4. JSON read from people nests at most 64 levels: 100,000 levels of ``[`` or ``{"a":`` are a
   clear 4xx error naming the file, never a RecursionError (500).
5. Every XLSX written (interview template, exports, XLSForm) passes its text through one
   function (``app.downloads.cell_text``): no character XML 1.0 cannot hold, no formula.

Database tests run on SQLite and PostgreSQL (``api_env``).
"""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
import sys
import uuid
import zipfile
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from pypdf import PdfReader
from sqlalchemy import select

import reports
import scoring
from app import json_input
from app.cooperatives.models import Cooperative
from app.downloads import cell_text, xml_text
from app.errors import Invalid, NotFound
from app.exchange import xlsform
from app.exchange.odk_import import Source, read_export
from app.questionnaires.models import QuestionnaireVersion
from app.reports import service
from app.responses import lifecycle
from app.responses.models import Response
from app.rounds.models import DiagnosisRound
from app.web.questionnaire_form import answer_name, input_number
from conftest import sample_questionnaire
from reports import formatting as fmt
from test_odk_import import DEFAULTS, Interview, odk_json

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "clave-segura-123"
LIMIT = lifecycle.NUMBER_LIMIT

COMPLETE = {
    "junta_anual": True,
    "actas_al_dia": "si",
    "consejo_vigente": True,
    "consejo_mujeres": True,
    "activo_corriente": 3_000_000,
    "pasivo_corriente": 1_000_000,
}


def questionnaire() -> scoring.Questionnaire:
    return scoring.load_questionnaire(sample_questionnaire())


def pdf_text(content: bytes) -> str:
    return " ".join(" ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages).split())


def is_postgresql(env) -> bool:
    return env.settings.database_url.startswith("postgresql")


def odd_name(env) -> str:
    """A name no form would let through: U+FFFF, a bidi override, a control character (NUL
    where the database can hold it: PostgreSQL's text cannot) before a formula."""
    control = "\x01" if is_postgresql(env) else "\x00"
    return f"{control}=Cooperativa\uffff Los Aromos \u202eadtL\x1f"


CLEAN_ODD_NAME = "'=Cooperativa Los Aromos \u202eadtL"


@dataclass
class World:
    coop: int
    odd: int
    round_id: int
    version_id: int


def make_world(env) -> World:
    with env.session() as session:
        version = session.scalar(
            select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == "prueba-mini")
        )
        coop = Cooperative(
            rut="76123456-0", name="Cooperativa Campesina Ñuñoa", legal_type="campesina", region_code=13, sectors=[]
        )
        # Straight into the database, as an old import or a bug might have left it.
        odd = Cooperative(
            rut="65000000-5",
            name=odd_name(env),
            legal_type="agricola",
            region_code=13,
            comuna="Pe\uffffñalolén\x0b",
            sectors=[],
        )
        round_ = DiagnosisRound(
            name="Ronda nacional 2026",
            questionnaire_version_id=version.id,
            opens_on=date(2026, 1, 1),
            closes_on=date(2026, 12, 31),
            state="open",
        )
        session.add_all([coop, odd, round_])
        session.commit()
        return World(coop.id, odd.id, round_.id, version.id)


@pytest.fixture
def world(api_env) -> World:
    return make_world(api_env)


def stored_response(env, world: World, *, coop_id: int, answers: dict, status: str = "submitted") -> int:
    """A response written straight to the database (scoring accepts its answers: the spec has no
    bound but the question's own), as one stored before the app's bounds existed."""
    with env.session() as session:
        response = Response(
            cooperative_id=coop_id,
            round_id=world.round_id,
            mode="self",
            status=status,
            answers=answers,
            result_snapshot=None
            if status == "draft"
            else lifecycle.snapshot_of(scoring.score(questionnaire(), answers)),
            snapshot_questionnaire_version_id=None if status == "draft" else world.version_id,
            submitted_at=None if status == "draft" else datetime(2026, 10, 3, 15, 0, tzinfo=timezone.utc),
        )
        session.add(response)
        session.commit()
        return response.id


def login(env, user) -> None:
    reply = env.client.post("/ingresar", data={"email": user.email, "password": PASSWORD}, follow_redirects=False)
    assert reply.status_code == 303, reply.text


def new_key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


# --------------------------------------------------------------------------- 1a. numbers bounded at the edge


def test_scoring_follows_the_spec_and_the_app_bounds_numbers():
    q = questionnaire()
    # The spec bounds a number only by its question's min/max: scoring accepts these.
    for value in (10**28, 1e308, 5e-324, 0.1234567):
        assert scoring.validate_answers(q, {"activo_corriente": value}) == []
    # The app does not, and says which question.
    huge = lifecycle.answer_errors(q, {"junta_anual": True, "activo_corriente": 10**28, "pasivo_corriente": 1e308})
    assert [(e.question, e.code) for e in huge] == [
        ("activo_corriente", "out_of_bounds"),
        ("pasivo_corriente", "out_of_bounds"),
    ]
    assert "«Activo corriente según el último balance (CLP)»" in huge[0].message
    assert "demasiado grande" in huge[0].message and "1.000.000.000.000.000" in huge[0].message
    fine = lifecycle.answer_error(q, "pasivo_corriente", 0.1234567)
    assert fine is not None and fine.code == "too_many_decimals" and "6" in fine.message
    # Scoring's own errors come first, in the order of the keys.
    mixed = lifecycle.answer_errors(q, {"activo_corriente": -1, "pasivo_corriente": 1e20})
    assert [(e.question, e.code) for e in mixed] == [
        ("activo_corriente", "out_of_bounds"),
        ("pasivo_corriente", "out_of_bounds"),
    ]
    assert "mínimo" in mixed[0].message and "demasiado grande" in mixed[1].message
    # The limits themselves, and na/ns, pass.
    assert lifecycle.answer_errors(q, {"activo_corriente": LIMIT, "pasivo_corriente": 0.000001}) == []
    assert lifecycle.answer_errors(q, {"activo_corriente": float(LIMIT), "pasivo_corriente": "ns"}) == []


def test_api_refuses_numbers_beyond_the_bounds_naming_the_question(api_env, world):
    env = api_env
    _, manager = env.user("manager", cooperatives=[world.coop, world.odd])
    body = {"cooperative_id": world.coop, "round_id": world.round_id, "mode": "self"}

    refused = env.client.post(
        "/api/v1/responses", json={**body, "answers": {"activo_corriente": 10**28}}, headers={**manager, **new_key()}
    )
    assert refused.status_code == 422, refused.text
    detail = refused.json()["error"]["details"][0]
    assert detail["field"] == "answers.activo_corriente" and detail["code"] == "out_of_bounds"
    assert "Activo corriente" in detail["message"] and "demasiado grande" in detail["message"]

    created = env.client.post("/api/v1/responses", json=body, headers={**manager, **new_key()})
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    url = f"/api/v1/responses/{rid}/answers"
    for value, code in ((1e308, "out_of_bounds"), (-(10**16), "out_of_bounds"), (0.1234567, "too_many_decimals")):
        reply = env.client.patch(url, json={"answers": {"pasivo_corriente": value}, "version": 1}, headers=manager)
        assert reply.status_code == 422, (value, reply.text)
        assert reply.json()["error"]["details"][0]["code"] == code
    # 1e400 in the JSON text is infinity once parsed: refused, never stored.
    raw = '{"answers": {"pasivo_corriente": 1e400}, "version": 1}'
    reply = env.client.patch(url, content=raw, headers={**manager, "Content-Type": "application/json"})
    assert reply.status_code == 422, reply.text
    assert env.client.get(f"/api/v1/responses/{rid}", headers=manager).json()["answers"] == {}

    # A draft holding a huge number from before the bounds cannot be submitted.
    stale = stored_response(
        env, world, coop_id=world.odd, answers={**COMPLETE, "activo_corriente": 10**28}, status="draft"
    )
    reply = env.client.post(f"/api/v1/responses/{stale}/submit", json={"version": 1}, headers=manager)
    assert reply.status_code == 422, reply.text
    assert reply.json()["error"]["code"] == "invalid_answers"
    assert reply.json()["error"]["details"][0]["field"] == "answers.activo_corriente"


def test_web_form_refuses_a_huge_number_next_to_its_question(api_env, world):
    env = api_env
    user, manager = env.user("manager", cooperatives=[world.coop])
    body = {"cooperative_id": world.coop, "round_id": world.round_id, "mode": "self"}
    rid = env.client.post("/api/v1/responses", json=body, headers={**manager, **new_key()}).json()["id"]
    login(env, user)
    field = answer_name("activo_corriente")
    for number in range(1, 6):
        page = env.client.get(f"/diagnosticos/{rid}/seccion/{number}")
        if f'name="{field}"' in page.text:
            break
    else:
        pytest.fail("no section asks activo_corriente")
    data = {
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1),
        "version": re.search(r'name="version" value="([^"]+)"', page.text).group(1),
        "accion": "guardar",
        "shown": re.findall(r'name="shown" value="([^"]+)"', page.text),
        field: "1" + "0" * 28,
    }
    reply = env.client.post(f"/diagnosticos/{rid}/seccion/{number}", data=data, follow_redirects=False)
    assert reply.status_code in (200, 422), reply.text[:500]
    assert "demasiado grande" in reply.text and "Traceback" not in reply.text
    with env.session() as session:
        assert session.get(Response, rid).answers == {}


def test_odk_import_refuses_a_huge_number(api_env, world):
    env = api_env
    _, admin = env.user("admin", institution="INDAP")
    content = odk_json(questionnaire(), [Interview("76123456-0", {**COMPLETE, "activo_corriente": 10**28}, "zz-1")])
    reply = env.client.post(
        f"/api/v1/rounds/{world.round_id}/odk-import",
        headers=admin,
        files={"file": ("envios.json", content, "application/json")},
        data=DEFAULTS,
    )
    assert reply.status_code == 422, reply.text
    assert "demasiado grande" in reply.text and "activo_corriente" in reply.text
    with env.session() as session:
        assert session.scalars(select(Response).where(Response.round_id == world.round_id)).all() == []


# --------------------------------------------------------------------------- 1b. outputs survive any number


def test_formatting_survives_any_number():
    assert fmt.numero(10**15) == "1.000.000.000.000.000"
    assert fmt.numero(10**28) == "1E28" and fmt.numero(10**400) == "1E400"
    assert fmt.numero(1.5e308) == "1,5E308" and fmt.numero(-1.5e308, 1) == "-1,5E308"
    assert fmt.numero(1e21, 2) == "1E21"
    assert fmt.numero(5e-324) == fmt.numero(-1e-300) == "0" and fmt.numero(-1e-300, 1) == "0,0"
    assert fmt.numero(-0.0001, 2) == "0,00" and fmt.numero(-2.5) == "-2,5"
    assert fmt.puntaje(1e300).endswith("%")
    q = questionnaire()
    assert fmt.answer_in_words(q.question("activo_corriente"), 10**28) == "1E28 CLP"
    assert fmt.answer_in_words(q.question("activo_corriente"), 1e308, decimals=None) == "1E308 CLP"
    assert input_number(1e308).startswith("1") and input_number(-(10**28)) == "-10.000.000.000.000.000.000.000.000.000"


def test_extreme_values_render_in_the_pdf_the_pages_and_the_exports(api_env, world):
    env = api_env
    user, manager = env.user("manager", cooperatives=[world.coop, world.odd])
    staff, analyst = env.user("analyst")
    # The extremes the app accepts, through the API.
    body = {"cooperative_id": world.coop, "round_id": world.round_id, "mode": "self"}
    extreme = {**COMPLETE, "activo_corriente": LIMIT, "pasivo_corriente": 0.000001}  # a ratio of 10^21
    created = env.client.post("/api/v1/responses", json={**body, "answers": extreme}, headers={**manager, **new_key()})
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    submitted = env.client.post(f"/api/v1/responses/{rid}/submit", json={"version": 1}, headers=manager)
    assert submitted.status_code == 200, submitted.text
    # Older answers, stored before the bounds: beyond them, and what scoring still accepts.
    old = stored_response(
        env, world, coop_id=world.odd, answers={**COMPLETE, "activo_corriente": 10**28, "pasivo_corriente": 1e-300}
    )

    pdf = env.client.get(f"/api/v1/responses/{rid}/report.pdf", headers=analyst)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert "1.000.000.000.000.000" in pdf_text(pdf.content)
    old_pdf = env.client.get(f"/api/v1/responses/{old}/report.pdf", headers=analyst)
    assert old_pdf.status_code == 200 and "1E28" in pdf_text(old_pdf.content)

    login(env, user)
    for response_id in (rid, old):
        page = env.client.get(f"/diagnosticos/{response_id}/resultados")
        assert page.status_code == 200 and "Traceback" not in page.text
    login(env, staff)  # the analyst's review lists every answer in words
    for response_id, shown in ((rid, "1.000.000.000.000.000 CLP"), (old, "1E28 CLP")):
        page = env.client.get(f"/analisis/respuestas/{response_id}")
        assert page.status_code == 200, page.text[:500]
        assert shown in page.text and "Traceback" not in page.text

    url = f"/api/v1/rounds/{world.round_id}/export"
    csv_reply = env.client.get(url, params={"format": "csv"}, headers=analyst)
    assert csv_reply.status_code == 200 and "1000000000000000" in csv_reply.text
    assert "1e+28" in csv_reply.text or str(10**28) in csv_reply.text  # a float on SQLite, an integer on PostgreSQL
    for shape in ("wide", "long"):
        xlsx = env.client.get(url, params={"format": "xlsx", "shape": shape}, headers=analyst)
        assert xlsx.status_code == 200, xlsx.text
        values = [
            c for row in load_workbook(io.BytesIO(xlsx.content))["datos"].iter_rows(values_only=True) for c in row
        ]
        numbers = [float(value) for value in values if isinstance(value, (int, float))]
        assert LIMIT in numbers and 1e28 in numbers
    ndjson = env.client.get(url, params={"format": "ndjson"}, headers=analyst)
    assert ndjson.status_code == 200 and len(ndjson.text.splitlines()) == 2


# --------------------------------------------------------------------------- 1c. a round's ZIP never breaks


def test_round_zip_leaves_out_a_report_that_fails_and_says_why(api_env, world, monkeypatch, caplog):
    env = api_env
    _, analyst = env.user("analyst")
    good = stored_response(env, world, coop_id=world.coop, answers=COMPLETE)
    broken = stored_response(env, world, coop_id=world.odd, answers=COMPLETE)
    with env.session() as session:
        third = Cooperative(rut="70000000-1", name="Cooperativa Sin Versión", legal_type="agricola", region_code=5)
        session.add(third)
        session.commit()
        third_id = third.id
    unprepared = stored_response(env, world, coop_id=third_id, answers=COMPLETE)

    render_pdf, build_context = reports.render_pdf, service.build_context

    def failing_render(context):  # rendered on the task queue (immediate in the tests)
        if context.diagnosis.response_id == broken:
            raise RuntimeError("WeasyPrint se cayó")
        return render_pdf(context)

    def failing_context(**kwargs):
        if kwargs["response"].id == unprepared:
            raise NotFound("No se encontró la versión del cuestionario con que se calculó este diagnóstico.")
        return build_context(**kwargs)

    monkeypatch.setattr(reports, "render_pdf", failing_render)
    monkeypatch.setattr(service, "build_context", failing_context)
    url = f"/api/v1/rounds/{world.round_id}/reports.zip"
    with (
        caplog.at_level(logging.WARNING, logger="app.reports.service"),
        env.client.stream("GET", url, headers=analyst) as reply,
    ):
        assert reply.status_code == 200
        content = b"".join(reply.iter_bytes())
    archive = zipfile.ZipFile(io.BytesIO(content))
    assert archive.testzip() is None
    names = archive.namelist()
    pdfs = [name for name in names if name.endswith(".pdf")]
    assert pdfs == ["diagnostico-cooperativa-campesina-nunoa-76123456-0-ronda-nacional-2026.pdf"]
    assert archive.read(pdfs[0]).startswith(b"%PDF")
    assert names[-2:] == [service.README_NAME, service.MANIFEST_NAME]

    readme = archive.read(service.README_NAME).decode("utf-8")
    assert "Se incluye 1 informe PDF. 2 informes no se pudieron generar y se omitieron" in readme
    assert (
        "diagnostico-cooperativa-los-aromos-adtl-65000000-5-ronda-nacional-2026.pdf" in readme
        and "RuntimeError" in readme
    )
    assert (
        "diagnostico-cooperativa-sin-version-70000000-1-ronda-nacional-2026.pdf, de Cooperativa Sin Versión (RUT 70000000-1)"
        in readme
    )
    assert "No se encontró la versión del cuestionario" in readme
    assert "WeasyPrint se cayó" not in readme  # the details stay in the log

    manifest = archive.read(service.MANIFEST_NAME).decode("utf-8-sig").splitlines()
    assert manifest[0] == "archivo;cooperativa;estado;motivo"
    rows = {line.split(";")[0]: line.split(";") for line in manifest[1:]}
    assert rows["diagnostico-cooperativa-campesina-nunoa-76123456-0-ronda-nacional-2026.pdf"][2] == "incluido"
    assert rows["diagnostico-cooperativa-los-aromos-adtl-65000000-5-ronda-nacional-2026.pdf"][2] == "omitido"
    assert rows["diagnostico-cooperativa-los-aromos-adtl-65000000-5-ronda-nacional-2026.pdf"][1].startswith(
        "'=Cooperativa"
    )  # cell_text
    assert rows["diagnostico-cooperativa-sin-version-70000000-1-ronda-nacional-2026.pdf"][2] == "omitido"
    assert len(rows) == 3

    logged = caplog.text
    assert "WeasyPrint se cayó" in logged and "2 de 3 informes omitidos" in logged
    assert good  # rendered above


def test_round_files_without_failures_add_nothing():
    outcomes = [
        service.Rendered("a.pdf", "A (RUT 1-9)", b"%PDF a"),
        service.Rendered("b.pdf", "B (RUT 2-7)", b"%PDF b"),
    ]
    assert list(service.round_files(iter(outcomes), round_name="R")) == [("a.pdf", b"%PDF a"), ("b.pdf", b"%PDF b")]
    one_bad = [outcomes[0], service.Rendered("b.pdf", "B (RUT 2-7)", None, "no se pudo")]
    files = dict(service.round_files(iter(one_bad), round_name="R"))
    assert list(files) == ["a.pdf", "LEEME.txt", "manifiesto.csv"]
    assert "1 informe no se pudo generar y se omitió:" in files["LEEME.txt"].decode()
    assert "- b.pdf, de B (RUT 2-7): no se pudo." in files["LEEME.txt"].decode()


# --------------------------------------------------------------------------- 4. JSON nesting


DEEP = {"lists": "[" * 100_000, "objects": '{"a":' * 100_000}


@pytest.mark.parametrize("kind", DEEP)
def test_deeply_nested_json_is_refused_before_parsing(kind):
    text = DEEP[kind]
    assert json_input.nesting_exceeds(text) and json_input.nesting_exceeds(text.encode())
    with pytest.raises(json_input.TooDeep):
        json_input.loads(text)
    with pytest.raises(Invalid) as error:
        read_export(text.encode(), "envios.json", Source.ODK)
    assert error.value.code == "invalid_json"
    assert "«envios.json»" in error.value.message and "más de 64 niveles" in error.value.message


def test_nesting_limit_counts_brackets_outside_strings_only():
    assert json_input.loads("[" * 64 + "]" * 64) is not None
    assert json_input.nesting_exceeds("[" * 65 + "]" * 65)
    assert json_input.loads('{"a": "[[[[{{{{' + "[" * 100 + '"}') == {"a": "[[[[{{{{" + "[" * 100}
    assert json_input.loads('["\\"[[[", {"b": [1, 2]}]') == ['"[[[', {"b": [1, 2]}]
    with pytest.raises(ValueError):  # broken JSON is still the parser's ValueError
        json_input.loads('{"a": [1, 2}')


@pytest.mark.parametrize("kind", DEEP)
def test_deep_json_upload_and_body_answer_4xx(api_env, world, kind):
    env = api_env
    _, admin = env.user("admin", institution="INDAP")
    reply = env.client.post(
        f"/api/v1/rounds/{world.round_id}/odk-import",
        headers=admin,
        files={"file": ("envios.json", DEEP[kind].encode(), "application/json")},
        data=DEFAULTS,
    )
    assert reply.status_code == 422, reply.text
    error = reply.json()["error"]
    assert error["code"] == "invalid_json" and "envios.json" in error["message"]
    # A JSON request body that deep: FastAPI's parser fails, the app answers 400 in its own shape.
    body = env.client.post(
        "/api/v1/responses", content=DEEP[kind], headers={**admin, **new_key(), "Content-Type": "application/json"}
    )
    assert body.status_code == 400 and body.json()["error"]["code"] == "bad_request"


def test_cli_score_of_deep_json_is_an_error_not_a_traceback(tmp_path):
    (tmp_path / "q.yaml").write_text(sample_questionnaire(), encoding="utf-8")
    (tmp_path / "a.json").write_text("[" * 100_000, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "score", str(tmp_path / "q.yaml"), str(tmp_path / "a.json")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert json.loads(done.stdout)["errors"][0]["code"] == "invalid_json"


# --------------------------------------------------------------------------- 5. spreadsheet cells


def test_cell_text_drops_what_xml_cannot_hold_and_neutralises_formulas():
    assert cell_text("\x00=1+1") == "'=1+1"  # cleaned first, then guarded
    assert cell_text("Coop\uffff\ufffe\x01\x1f\ud800 \u202eX\t\n\r") == "Coop \u202eX\t\n\r"
    assert cell_text("\x0b-1 socio") == "'-1 socio" and cell_text("ok") == "ok"
    assert cell_text(cell_text("\x00@SUMA(A1)")) == "'@SUMA(A1)"  # idempotent
    assert xml_text("=a\x00\uffff") == "=a"
    workbook = Workbook()
    xlsform._write_sheet(workbook, "survey", ["type", "label"], [{"type": "text", "label": "=Hola\x00\uffff\ud800"}])
    buffer = io.BytesIO()
    workbook.save(buffer)
    rows = list(load_workbook(io.BytesIO(buffer.getvalue()))["survey"].iter_rows(values_only=True))
    assert rows[-1] == ("text", "=Hola")  # a text, not a formula


def test_every_xlsx_download_survives_an_odd_cooperative_name(api_env, world):
    env = api_env
    _, analyst = env.user("analyst")
    stored_response(env, world, coop_id=world.odd, answers=COMPLETE)

    template = env.client.get(f"/api/v1/rounds/{world.round_id}/interview-template.xlsx", headers=analyst)
    assert template.status_code == 200, template.text
    book = load_workbook(io.BytesIO(template.content))
    assert book.sheetnames == ["entrevistas", "listas", "codigos", "cooperativas"]
    cooperatives = list(book["cooperativas"].iter_rows(values_only=True))
    assert cooperatives[0] == ("rut", "nombre", "region", "comuna")
    odd = [row for row in cooperatives if row[0] == "65.000.000-5"]
    assert odd and odd[0][1] == CLEAN_ODD_NAME and odd[0][3] == "Peñalolén"
    assert len(cooperatives) == 3  # the header and both cooperatives: nothing cut off
    assert book["entrevistas"]["A1"].value and list(book["codigos"].iter_rows(values_only=True))[1:]

    url = f"/api/v1/rounds/{world.round_id}/export"
    for shape in ("wide", "long"):
        reply = env.client.get(url, params={"format": "xlsx", "shape": shape}, headers=analyst)
        assert reply.status_code == 200, reply.text
        book = load_workbook(io.BytesIO(reply.content))
        assert book.sheetnames == ["datos", "diccionario"]
        cells = [c for row in book["datos"].iter_rows(values_only=True) for c in row]
        assert CLEAN_ODD_NAME in cells or shape == "long"
        assert all(cell.data_type != "f" for row in book["datos"].iter_rows() for cell in row)
    codebook = env.client.get(f"/api/v1/rounds/{world.round_id}/codebook", params={"format": "xlsx"}, headers=analyst)
    assert codebook.status_code == 200 and load_workbook(io.BytesIO(codebook.content)).sheetnames
    csv_reply = env.client.get(url, params={"format": "csv"}, headers=analyst)
    assert csv_reply.status_code == 200 and CLEAN_ODD_NAME in csv_reply.text and "\uffff" not in csv_reply.text
    form = env.client.get(f"/api/v1/questionnaires/{world.version_id}/xlsform", headers=analyst)
    assert form.status_code == 200 and load_workbook(io.BytesIO(form.content)).sheetnames == [
        "survey",
        "choices",
        "settings",
    ]


def test_the_report_of_an_odd_cooperative_renders():
    """The PDF is XML too (HTML): the report of a cooperative with such a name renders."""
    q = questionnaire()
    from test_reports_render import COOPERATIVE, SELF_DIAGNOSIS

    context = reports.ReportContext(
        cooperative=replace(COOPERATIVE, name="\x00=Coop\uffff \u202eadtL\ud800"),
        diagnosis=SELF_DIAGNOSIS,
        questionnaire=q,
        snapshot=lifecycle.snapshot_of(scoring.score(q, COMPLETE)),
        answers=COMPLETE,
        generated_on=date(2026, 11, 21),
    )
    assert reports.render_pdf(context).startswith(b"%PDF")
