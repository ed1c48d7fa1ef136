"""Interview spreadsheets: the round's XLSX template and the import of filled ones (API's own
answer validation, row-level errors, all or nothing, interview key as idempotency key).
Both backends (``api_env``)."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
import yaml
from openpyxl import load_workbook
from sqlalchemy import func, select

import scoring
from app.cooperatives.models import Cooperative
from app.exchange import interviews
from app.questionnaires.models import QuestionnaireVersion
from app.responses.models import Response, ResponseEvent
from app.rounds.models import DiagnosisRound
from conftest import sample_questionnaire

FIXED = [
    "clave_entrevista",
    "rut_cooperativa",
    "entrevistador",
    "institucion",
    "fecha",
    "lugar",
    "cargo_entrevistado",
    "enviar",
]
QUESTIONS = [
    "junta_anual",
    "actas_al_dia",
    "consejo_vigente",
    "consejo_mujeres",
    "activo_corriente",
    "pasivo_corriente",
]
DETAILS = ["Ana Pérez", "INDAP", datetime(2026, 10, 5), "Sede, Talca", "Gerente"]


@pytest.fixture
def world(api_env):
    with api_env.session() as session:
        version = session.scalar(
            select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == "prueba-mini")
        )
        centro = Cooperative(rut="76123456-0", name="=Los Aromos", legal_type="campesina", region_code=13, sectors=[])
        sur = Cooperative(rut="65000000-5", name="Lago Sur", legal_type="agricola", region_code=9, sectors=[])
        centro2 = Cooperative(rut="12345678-5", name="Valle Central", legal_type="agricola", region_code=6, sectors=[])
        open_round = DiagnosisRound(
            name="Ronda 2026",
            questionnaire_version_id=version.id,
            opens_on=date(2026, 1, 1),
            closes_on=date(2026, 12, 31),
            state="open",
        )
        closed = DiagnosisRound(
            name="Ronda 2025",
            questionnaire_version_id=version.id,
            opens_on=date(2025, 1, 1),
            closes_on=date(2025, 12, 31),
            state="closed",
        )
        session.add_all([centro, sur, centro2, open_round, closed])
        session.commit()
        return {"centro": centro.id, "sur": sur.id, "centro2": centro2.id, "round": open_round.id, "closed": closed.id}


def template(env, headers, round_id) -> bytes:
    response = env.client.get(f"/api/v1/rounds/{round_id}/interview-template.xlsx", headers=headers)
    assert response.status_code == 200, response.text
    assert "attachment" in response.headers["content-disposition"]
    return response.content


def filled(template_bytes: bytes, rows: list[list]) -> bytes:
    workbook = load_workbook(io.BytesIO(template_bytes))
    sheet = workbook["entrevistas"]
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(env, headers, round_id, data, *, dry_run=False, name="entrevistas.xlsx"):
    return env.client.post(
        f"/api/v1/rounds/{round_id}/interviews/import",
        params={"dry_run": str(dry_run).lower()},
        headers=headers,
        files={"archivo": (name, data)},
    )


def responses(env) -> list[Response]:
    with env.session() as session:
        return list(session.scalars(select(Response).order_by(Response.id)))


COMPLETE = ["Sí", "Parcialmente", "si", "no", "1.500.000", 1_000_000]


def test_template_sheets_columns_lists_and_visibility(api_env, world):
    _, headers = api_env.user("field", macrozones=["Centro"])
    book = load_workbook(io.BytesIO(template(api_env, headers, world["round"])))
    assert book.sheetnames == ["entrevistas", "listas", "codigos", "cooperativas"]
    assert book["listas"].sheet_state == "hidden"
    sheet = book["entrevistas"]
    assert [cell.value for cell in sheet[1]] == FIXED + QUESTIONS  # the computed question is not entered
    assert sheet["I1"].comment.text.startswith("¿Se celebró la junta general")
    lists = {str(v.sqref).split(":")[0]: v.formula1 for v in sheet.data_validations.dataValidation}
    choices = book["listas"]

    def values(formula):
        column = formula.split("!")[1].split(":")[0].replace("$", "")[0]
        return [c.value for c in choices[column] if c.value is not None]

    assert values(lists["I2"]) == ["si", "no", "ns"]  # junta_anual
    assert values(lists["J2"]) == ["si", "parcial", "no", "ns"]  # actas_al_dia
    assert values(lists["H2"]) == ["si", "no"]  # enviar
    assert "M2" not in lists  # numbers have no list
    assert lists["B2"].startswith("cooperativas!")
    cooperatives = [[c.value for c in row] for row in book["cooperativas"].iter_rows(min_row=2)]
    # only what a field team member of Centro may see; a name that looks like a formula is neutralised
    assert sorted(cooperatives) == [
        ["12.345.678-5", "Valle Central", "Libertador General Bernardo O'Higgins", None],
        ["76.123.456-0", "'=Los Aromos", "Metropolitana de Santiago", None],
    ]
    codebook = {row[0].value: [c.value for c in row] for row in book["codigos"].iter_rows(min_row=2)}
    assert set(FIXED + QUESTIONS) <= set(codebook)
    assert codebook["actas_al_dia"][3] == "si=Sí | parcial=Parcialmente | no=No | ns=No sabe"
    assert codebook["consejo_mujeres"][5] == "consejo_vigente == true"
    assert codebook["activo_corriente"][4] == "CLP"
    _, manager = api_env.user("manager", cooperatives=[world["centro"]])
    assert (
        api_env.client.get(f"/api/v1/rounds/{world['round']}/interview-template.xlsx", headers=manager).status_code
        == 403
    )
    _, analyst = api_env.user("analyst")
    assert api_env.client.get("/api/v1/rounds/999/interview-template.xlsx", headers=analyst).status_code == 404


def test_import_creates_submitted_and_draft_interviews_once(api_env, world):
    field, headers = api_env.user("field", macrozones=["Centro"])
    rows = [
        ["E-1", "76.123.456-0", *DETAILS, "si", *COMPLETE],
        ["E-2", "12345678-5", *DETAILS[:2], "05-10-2026", *DETAILS[3:], None, None, "no", "ns", None, None, "3,5"],
    ]
    data = filled(template(api_env, headers, world["round"]), rows)
    preview = upload(api_env, headers, world["round"], data, dry_run=True)
    assert preview.status_code == 200, preview.text
    assert preview.json()["summary"] == {"rows": 2, "created": 2, "unchanged": 0, "refused": 0, "problems": 0}
    assert responses(api_env) == []

    done = upload(api_env, headers, world["round"], data)
    assert done.status_code == 200, done.text
    assert [(item["row"], item["clave_entrevista"], item["status"]) for item in done.json()["created"]] == [
        (2, "E-1", "submitted"),
        (3, "E-2", "draft"),
    ]
    first, second = responses(api_env)
    assert (first.cooperative_id, first.mode, first.status, first.created_by_id, first.submitted_by_id) == (
        world["centro"],
        "interview",
        "submitted",
        field.id,
        field.id,
    )
    assert first.answers == {
        "junta_anual": True,
        "actas_al_dia": "parcial",
        "consejo_vigente": True,
        "consejo_mujeres": False,
        "activo_corriente": 1500000,
        "pasivo_corriente": 1000000,
    }
    assert (
        first.interviewer_name,
        first.institution,
        first.interview_date,
        first.interview_place,
        first.interviewee_role,
    ) == ("Ana Pérez", "INDAP", date(2026, 10, 5), "Sede, Talca", "Gerente")
    assert first.idempotency_key == interviews.idempotency_key(world["round"], "E-1")
    with api_env.session() as session:
        kinds = [e.kind for e in session.scalars(select(ResponseEvent).where(ResponseEvent.response_id == first.id))]
    # The same audit trail as an interview entered on the web: created, one event per answer, submitted.
    assert kinds == ["created"] + ["answer_changed"] * len(first.answers) + ["submitted"]
    # the stored result is the engine's, as a submission through the API stores it
    engine = scoring.score(scoring.questionnaire_from_data(yaml.safe_load(sample_questionnaire())), first.answers)
    assert first.result_snapshot["overall"] == {**engine.to_dict()["overall"], "capped": engine.overall.capped}
    assert (second.status, second.answers, second.interview_date) == (
        "draft",
        {"actas_al_dia": "no", "consejo_vigente": "ns", "pasivo_corriente": 3.5},
        date(2026, 10, 5),
    )
    # the API serves them like any response
    got = api_env.client.get(f"/api/v1/responses/{first.id}", headers=headers).json()
    assert got["status"] == "submitted" and got["result_summary"]["overall"]["light"]

    again = upload(api_env, headers, world["round"], data)
    assert (
        again.status_code == 200
        and again.json()["summary"]["unchanged"] == 2
        and again.json()["summary"]["created"] == 0
    )
    assert len(responses(api_env)) == 2

    changed = filled(template(api_env, headers, world["round"]), [rows[0], [*rows[1][:-1], 7]])
    refused = upload(api_env, headers, world["round"], changed)
    assert refused.status_code == 422
    detail = refused.json()["error"]["details"][0]
    assert detail["row"] == 3 and detail["column"] == "clave_entrevista"
    assert "ya se importó (respuesta" in detail["message"] and "pasivo_corriente" in detail["message"]
    assert [r.answers for r in responses(api_env)][1]["pasivo_corriente"] == 3.5  # not overwritten


def test_every_problem_reported_and_nothing_written(api_env, world):
    _, headers = api_env.user("field", macrozones=["Centro"])
    base = template(api_env, headers, world["round"])
    rows = [
        ["E-1", "76.123.456-0", *DETAILS, None, "quizás", "regular", None, None, "abc", -5],
        ["E-2", "65.000.000-5", *DETAILS, None],  # Sur: not in the user's macrozone
        ["E-1", "12.345.678-5", *DETAILS, None],  # repeated key
        ["E-4", "76.123.456-0", *DETAILS, None],  # repeated cooperative
        ["E-5", "76.123.456-1", None, "INDAP", "31-02-2026", "Talca", "Gerente", "tal vez"],
        ["E-6", "12.345.678-5", *DETAILS, "si", "si"],  # cannot be sent incomplete
    ]
    response = upload(api_env, headers, world["round"], filled(base, rows))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "import_refused" and "no se importó ninguna entrevista" in error["message"]
    found = {(d["row"], d["column"]): d for d in error["details"]}
    assert (
        "se espera true o false" in found[(2, "junta_anual")]["message"]
        and found[(2, "junta_anual")]["value"] == "quizás"
    )
    assert "'regular' no es una opción" in found[(2, "actas_al_dia")]["message"]
    assert found[(2, "activo_corriente")]["message"] == "no es un número"
    assert "menor que el mínimo permitido (0)" in found[(2, "pasivo_corriente")]["message"]
    assert "a la que usted tenga acceso" in found[(3, "rut_cooperativa")]["message"]
    assert "la clave «E-1» está repetida en las filas 2 y 4" in found[(4, "clave_entrevista")]["message"]
    assert "aparece en las filas 2 y 5" in found[(5, "rut_cooperativa")]["message"]
    assert "dígito verificador" in found[(6, "rut_cooperativa")]["message"]
    assert "falta el dato «nombre de quien entrevistó»" in found[(6, "entrevistador")]["message"]
    assert "no es una fecha" in found[(6, "fecha")]["message"]
    assert found[(6, "enviar")]["message"] == "debe ser «sí» o «no»"
    assert (
        "no se puede enviar: faltan 4 preguntas obligatorias (actas_al_dia, consejo_vigente, activo_corriente"
        in found[(7, "enviar")]["message"]
    )
    assert responses(api_env) == []


def test_csv_latin1_analyst_anywhere_and_closed_round(api_env, world):
    _, analyst = api_env.user("analyst")
    header = ";".join(FIXED + ["junta_anual", "actas_al_dia"])
    line = "E-9;65000000-5;José Núñez;Fundación;5/10/2026;Pucón;Presidenta;;No aplica;No"
    data = f"{header}\r\n{line}\r\n".encode("cp1252")
    response = upload(api_env, analyst, world["round"], data, name="entrevistas.csv")
    assert response.status_code == 422  # junta_anual does not allow «no aplica»
    assert "no aplica" in response.json()["error"]["details"][0]["message"]
    data = data.replace(b"No aplica", b"No sabe")
    response = upload(api_env, analyst, world["round"], data, name="entrevistas.csv")
    assert response.status_code == 200, response.text
    (created,) = responses(api_env)
    assert (created.cooperative_id, created.answers, created.interviewer_name) == (
        world["sur"],
        {"junta_anual": "ns", "actas_al_dia": "no"},
        "José Núñez",
    )
    closed = upload(api_env, analyst, world["closed"], data, name="entrevistas.csv")
    assert closed.status_code == 409 and "cerrada" in closed.json()["error"]["message"]
    _, manager = api_env.user("manager", cooperatives=[world["sur"]])
    assert upload(api_env, manager, world["round"], data, name="entrevistas.csv").status_code == 403


def test_existing_response_and_unknown_columns(api_env, world):
    _, headers = api_env.user("field", macrozones=["Centro"])
    with api_env.session() as session:
        session.add(Response(cooperative_id=world["centro"], round_id=world["round"], mode="interview", answers={}))
        session.commit()
    data = filled(template(api_env, headers, world["round"]), [["E-1", "76.123.456-0", *DETAILS, None, "si"]])
    details = upload(api_env, headers, world["round"], data).json()["error"]["details"]
    assert "ya tiene la respuesta" in details[0]["message"] and details[0]["row"] == 2
    csv = ";".join(FIXED + ["razon_corriente", "color"]) + "\r\n"
    error = upload(api_env, headers, world["round"], csv.encode(), name="e.csv").json()["error"]
    assert {d["column"] for d in error["details"]} == {"razon_corriente", "color"}
    assert "no es una columna conocida" in error["message"]
    with api_env.session() as session:
        assert session.scalar(select(func.count()).select_from(Response)) == 1


@pytest.mark.parametrize(
    ("kind", "cell", "expected"),
    [
        ("yes_no", "SÍ", True),
        ("yes_no", "No sabe", "ns"),
        ("yes_no", "talvez", "talvez"),
        ("choice", "Parcialmente", "parcial"),
        ("choice", "PARCIAL", "parcial"),
        ("multi", "a; B|c", ["a", "b", "c"]),
        ("multi", "Ninguna", []),
        ("number", "1.234,5", 1234.5),
        ("date", 45292, "2024-01-01"),
        ("date", "31-01-2024", "2024-01-31"),
        ("text", 12.0, "12"),
    ],
)
def test_cell_answer(kind, cell, expected):
    options = [
        {"value": v, "label": label, "score": 1}
        for v, label in (("si", "Sí"), ("parcial", "Parcialmente"), ("a", "A"), ("b", "B"), ("c", "C"))
    ]
    question = scoring.Question(id="q", text="q", type=kind, options=options if kind in ("choice", "multi") else ())
    assert interviews.cell_answer(question, cell) == expected
