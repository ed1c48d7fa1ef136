"""ODK Central and KoboToolbox import (app/exchange/odk_import.py) through the API, on SQLite and
PostgreSQL. The exports are built here the way each tool builds them, from OUR XLSForm
(``xlsform_rows``) of the test questionnaire, of the national one and of a questionnaire with
every answer type: answers → fake export → import → the stored answers are the same; a
second import creates nothing; bad rows are reported with row, column, value and reason and
nothing is half-saved; unknown RUTs; who may import."""

from __future__ import annotations

import csv
import io
import json
import textwrap
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

import scoring
from app.cooperatives.models import Cooperative
from app.cooperatives.schemas import format_rut
from app.errors import Invalid
from app.exchange.odk_import import FormColumns, Role, Source, read_export
from app.exchange.xlsform import xlsform_rows
from app.questionnaires.models import QuestionnaireVersion
from app.questionnaires.service import register_path
from app.responses.models import Response, ResponseEvent
from app.responses.service import snapshot_of
from app.rounds.models import DiagnosisRound
from conftest import sample_questionnaire

ROOT = Path(__file__).resolve().parent.parent
NATIONAL = ROOT / "questionnaires" / "nacional-2026.1.yaml"
NATIONAL_CASES = Path(__file__).resolve().parent / "data" / "nacional"

VARIED = textwrap.dedent(
    """\
    id: odk-varios
    version: "3"
    title: Cuestionario con todos los tipos de respuesta
    dimensions:
      - id: general
        title: General
        subcategories:
          - id: perfil
            title: Perfil
            questions:
              - id: junta
                text: ¿Se celebró la junta anual?
                type: yes_no
                na: true
              - id: canales
                text: ¿Por qué canales venden?
                type: multi
                na: true
                options:
                  - {value: feria, label: Ferias, score: 1}
                  - {value: supermercado, label: Supermercados, score: 1}
                  - {value: exportacion, label: Exportación, score: 1}
              - id: socios
                text: Número de socios
                type: number
                integer: true
                min: 0
                max: 5000
              - id: ventas
                text: Ventas del último año (CLP)
                type: number
                na: true
                min: 0
              - id: comentario
                text: Comentario de la entrevista
                type: text
                required: true
              - id: fecha_balance
                text: Fecha del último balance
                type: date
                na: true
              - id: ventas_por_socio
                text: Ventas por socio
                type: computed
                formula: ventas / socios
                bands:
                  - {max: 1000000, score: 0}
                  - {min: 1000000, score: 1}
    """
)

#: Answers of the varied questionnaire: every type, split multi, companions ns / na.
VARIED_ANSWERS = [
    {
        "junta": True,
        "canales": ["feria", "exportacion"],
        "socios": 25,
        "ventas": 120_500_000.75,
        "comentario": "Entrevista en la sede; la gerenta respondió",
        "fecha_balance": "2025-12-31",
    },
    {"junta": "na", "canales": "ns", "socios": 0, "ventas": "na", "comentario": "ns", "fecha_balance": "ns"},
    {
        "junta": False,
        "canales": "na",
        "socios": 4999,
        "ventas": 0,
        "comentario": "Sin novedades",
        "fecha_balance": "na",
    },
]

SAMPLE_COMPLETE = {
    "junta_anual": True,
    "actas_al_dia": "parcial",
    "consejo_vigente": True,
    "consejo_mujeres": False,
    "activo_corriente": 1_500_000,
    "pasivo_corriente": 1_000_000,
}
SAMPLE_INCOMPLETE = {"junta_anual": "ns", "consejo_vigente": False}

DEFAULTS = {"interview_place": "Sede de la cooperativa", "interviewee_role": "Gerente"}
ODK_TAIL = [
    "meta-instanceID",
    "KEY",
    "SubmitterID",
    "SubmitterName",
    "AttachmentsPresent",
    "AttachmentsExpected",
    "Status",
    "ReviewState",
    "DeviceID",
    "Edits",
    "FormVersion",
]
KOBO_TAIL = [
    "_id",
    "_uuid",
    "_submission_time",
    "_validation_status",
    "_notes",
    "_status",
    "_submitted_by",
    "__version__",
    "_tags",
    "_index",
]


# --------------------------------------------------------------------------- fake exports from our XLSForm


@dataclass
class Field:
    path: tuple[str, ...]  # the groups
    name: str
    type: str  # the XLSForm type


def form_fields(questionnaire: scoring.Questionnaire) -> list[Field]:
    """The fields of our XLSForm in survey order, with their groups (as the tools see them)."""
    fields, groups = [], []
    for row in xlsform_rows(questionnaire)["survey"]:
        kind = row["type"]
        if kind == "begin_group":
            groups.append(row["name"])
        elif kind == "end_group":
            groups.pop()
        else:
            fields.append(Field(tuple(groups), row["name"], kind))
    return fields


@dataclass
class Interview:
    """What a tool exports of one submission."""

    rut: str
    answers: dict[str, Any]
    uuid: str
    submitter: str = "Ana Pérez"
    start: str = "2026-10-05T10:15:03.120-03:00"
    submitted: str = "2026-10-05T14:20:11.000Z"
    review: str = ""
    form_version: str | None = None
    overrides: dict[str, Any] | None = None  # raw cells, by field name, to break things


def _cells(questionnaire: scoring.Questionnaire, interview: Interview) -> dict[str, Any]:
    """Field name → the value ODK Collect stores (text, as in the XForm instance; None = empty)."""
    questions = {q.id: q for q in questionnaire.questions}
    cells: dict[str, Any] = {
        "start": interview.start,
        "end": "2026-10-05T11:02:40.000-03:00",
        "rut_cooperativa": interview.rut,
    }
    for field in form_fields(questionnaire):
        name = field.name
        if name in questions:
            value = interview.answers.get(name)
            question = questions[name]
            if question.type == "computed":
                cells[name] = "1.25"  # whatever the form computed: coopdiag ignores it
            elif value in ("na", "ns") and question.type in ("number", "text", "date"):
                cells[name], cells[name + "_sin_dato"] = None, value
            elif isinstance(value, bool):
                cells[name] = "si" if value else "no"
            elif isinstance(value, list):
                cells[name] = " ".join(value)
            elif value is not None:
                cells[name] = str(value) if not isinstance(value, float) else repr(value)
        cells.setdefault(name, None)
    cells.update(interview.overrides or {})
    return cells


def odk_csv(questionnaire: scoring.Questionnaire, interviews: list[Interview], *, groups: bool = True) -> bytes:
    """An ODK Central CSV export: group paths joined with '-', Central's metadata columns."""
    fields = [f for f in form_fields(questionnaire) if f.type not in ("start", "end")]
    names = ["start", "end"] + ["-".join((*f.path, f.name)) if groups else f.name for f in fields]
    header = ["SubmissionDate", *names, *ODK_TAIL]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for index, interview in enumerate(interviews):
        cells = _cells(questionnaire, interview)
        values = [cells.get(name) for name in ["start", "end"] + [f.name for f in fields]]
        instance = f"uuid:{interview.uuid}"
        writer.writerow(
            [
                interview.submitted,
                *values,
                instance,
                instance,
                7 + index,
                interview.submitter,
                0,
                0,
                "",
                interview.review,
                "collect:x1y2",
                0,
                interview.form_version or questionnaire.version,
            ]
        )
    return out.getvalue().encode("utf-8")


def odk_json(questionnaire: scoring.Questionnaire, interviews: list[Interview]) -> bytes:
    """ODK Central's OData Submissions: groups as nested objects, numbers as numbers."""
    questions = {q.id: q for q in questionnaire.questions}
    value = []
    for interview in interviews:
        cells = _cells(questionnaire, interview)
        record: dict[str, Any] = {"__id": f"uuid:{interview.uuid}"}
        for field in form_fields(questionnaire):
            node = record
            for group in field.path:
                node = node.setdefault(group, {})
            cell = cells.get(field.name)
            question = questions.get(field.name)
            if cell is not None and question is not None and question.type == "number":
                cell = json.loads(cell)
            node[field.name] = cell
        record["meta"] = {"instanceID": f"uuid:{interview.uuid}"}
        record["__system"] = {
            "submissionDate": interview.submitted,
            "updatedAt": None,
            "submitterId": "7",
            "submitterName": interview.submitter,
            "attachmentsPresent": 0,
            "attachmentsExpected": 0,
            "status": None,
            "reviewState": interview.review or None,
            "deviceId": "collect:x1y2",
            "edits": 0,
            "formVersion": interview.form_version or questionnaire.version,
        }
        value.append(record)
    body = {
        "@odata.context": f"https://central.example.cl/v1/projects/1/forms/{questionnaire.id}.svc/$metadata#Submissions",
        "value": value,
    }
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def kobo_rows(
    questionnaire: scoring.Questionnaire, interviews: list[Interview], *, split: str = "both"
) -> tuple[list[str], list[list[Any]]]:
    """KoboToolbox's export: '/' group paths, select_multiple as one column ('joined'), one per
    option with 1/0 ('split') or both; then Kobo's metadata columns."""
    questions = {q.id: q for q in questionnaire.questions}
    header, getters = [], []
    for field in form_fields(questionnaire):
        column = "/".join((*field.path, field.name))
        question = questions.get(field.name)
        if question is None or question.type != "multi" or split in ("joined", "both"):
            header.append(column)
            getters.append(lambda cells, name=field.name: cells.get(name))
        if question is not None and question.type == "multi" and split in ("split", "both"):
            for option in [o.value for o in question.options] + (["na"] if question.na else []) + ["ns"]:
                header.append(f"{column}/{option}")
                getters.append(
                    lambda cells, name=field.name, option=option: (
                        None if cells.get(name) is None else int(option in cells[name].split())
                    )
                )
    header += KOBO_TAIL
    rows = []
    for index, interview in enumerate(interviews):
        cells = _cells(questionnaire, interview)
        status = "Not Approved" if interview.review else ""
        rows.append(
            [get(cells) for get in getters]
            + [
                1000 + index,
                interview.uuid,
                interview.submitted.replace("Z", "")[:19],
                status,
                "",
                "submitted_via_web",
                interview.submitter,
                "vGk3tQ2pLx8",
                "",
                index + 1,
            ]
        )
    return header, rows


def kobo_csv(questionnaire, interviews, *, split: str = "both") -> bytes:
    header, rows = kobo_rows(questionnaire, interviews, split=split)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")  # Kobo's CSV uses ';'
    writer.writerow(header)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    return out.getvalue().encode("utf-8")


def kobo_xlsx(questionnaire, interviews, *, split: str = "both") -> bytes:
    header, rows = kobo_rows(questionnaire, interviews, split=split)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = questionnaire.title[:31]
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def kobo_json(questionnaire, interviews) -> bytes:
    """Kobo's /api/v2/assets/<uid>/data.json: flat '/' keys, unanswered fields left out."""
    results = []
    for index, interview in enumerate(interviews):
        cells = _cells(questionnaire, interview)
        record: dict[str, Any] = {"_id": 1000 + index, "formhub/uuid": "5f1c0a", "__version__": "vGk3tQ2pLx8"}
        for field in form_fields(questionnaire):
            if cells.get(field.name) is not None:
                record["/".join((*field.path, field.name))] = cells[field.name]
        record.update(
            {
                "meta/instanceID": f"uuid:{interview.uuid}",
                "_xform_id_string": "aXk2",
                "_uuid": interview.uuid,
                "_attachments": [],
                "_status": "submitted_via_web",
                "_geolocation": [None, None],
                "_submission_time": interview.submitted.replace("Z", "")[:19],
                "_tags": [],
                "_notes": [],
                "_validation_status": {"uid": "validation_status_not_approved", "label": "Not Approved"}
                if interview.review
                else {},
                "_submitted_by": interview.submitter,
            }
        )
        results.append(record)
    return json.dumps({"count": len(results), "next": None, "previous": None, "results": results}).encode("utf-8")


# --------------------------------------------------------------------------- the world


@dataclass
class World:
    rounds: dict[str, int]  # sample, national, varied, closed
    coops: dict[str, int]  # by letter
    ruts: dict[str, str]
    questionnaires: dict[str, scoring.Questionnaire]


COOPS = {  # letter: (RUT, region)
    "A": ("76123456-0", 13),
    "B": ("65000000-5", 9),
    "C": ("70000000-1", 5),
    "D": ("71000000-K", 13),
    "E": ("76543210-3", 6),
}


@pytest.fixture
def world(api_env, write_questionnaire) -> World:
    env = api_env
    questionnaires = {
        "sample": scoring.load_questionnaire(sample_questionnaire()),
        "national": scoring.load_questionnaire(NATIONAL.read_text(encoding="utf-8")),
        "varied": scoring.load_questionnaire(VARIED),
    }
    with env.session() as session:
        register_path(session=session, path=NATIONAL)
        register_path(session=session, path=write_questionnaire("varios.yaml", source=VARIED))
        versions = {row.questionnaire_id: row.id for row in session.scalars(select(QuestionnaireVersion))}
        rounds = {
            name: DiagnosisRound(
                name=f"Ronda {name}",
                questionnaire_version_id=versions[qid],
                opens_on=date(2026, 1, 1),
                closes_on=date(2026, 12, 31),
                state=state,
            )
            for name, qid, state in (
                ("sample", "prueba-mini", "open"),
                ("national", "diagnostico-nacional", "open"),
                ("varied", "odk-varios", "open"),
                ("closed", "prueba-mini", "closed"),
            )
        }
        coops = {
            letter: Cooperative(
                rut=rut, name=f"Cooperativa {letter}", legal_type="campesina", region_code=region, sectors=[]
            )
            for letter, (rut, region) in COOPS.items()
        }
        session.add_all([*rounds.values(), *coops.values()])
        session.commit()
        return World(
            {k: r.id for k, r in rounds.items()},
            {k: c.id for k, c in coops.items()},
            {k: rut for k, (rut, _) in COOPS.items()},
            questionnaires,
        )


def post(env, headers, round_id: int, content: bytes, filename: str, *, data: dict | None = None, **params):
    return env.client.post(
        f"/api/v1/rounds/{round_id}/odk-import",
        params=params,
        headers=headers,
        files={"file": (filename, content, "application/octet-stream")},
        data=DEFAULTS if data is None else data,
    )


def stored(env, round_id: int) -> dict[int, Response]:
    with env.session() as session:
        return {r.cooperative_id: r for r in session.scalars(select(Response).where(Response.round_id == round_id))}


def national_case(name: str) -> dict[str, Any]:
    return json.loads((NATIONAL_CASES / f"{name}.json").read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- round trips


def test_odk_csv_and_json_round_trip_national_and_reimport(api_env, world):
    env = api_env
    _, admin = env.user("admin", institution="INDAP")
    national = world.questionnaires["national"]
    strong, weak, pre = national_case("fuerte"), national_case("debil"), national_case("precooperativo")
    round_id = world.rounds["national"]
    csv_file = odk_csv(
        national,
        [
            Interview(
                format_rut(world.ruts["A"]), strong, "0b8c6a5e-1f2d-4c3b-9a8e-7d6c5b4a3f21", submitter="Tablet 3"
            ),
            Interview(world.ruts["B"].lower(), weak, "1c9d7b6f-2e3a-4d4c-8b9f-8e7d6c5b4a32"),
        ],
    )
    json_file = odk_json(
        national, [Interview(world.ruts["C"].replace("-", ""), pre, "2dae8c70-3f4b-4e5d-9cae-9f8e7d6c5b43")]
    )

    response = post(env, admin, round_id, csv_file, "nacional.csv")
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["source"] == "odk" and report["format"] == "csv" and report["committed"] is True
    assert report["summary"]["created"] == 2 and report["summary"]["submitted"] == 2 and report["problems"] == []
    response = post(env, admin, round_id, json_file, "nacional.json", source="odk")
    assert response.status_code == 200, response.text
    assert response.json()["format"] == "json" and response.json()["summary"]["created"] == 1

    responses = stored(env, round_id)
    for letter, answers in (("A", strong), ("B", weak), ("C", pre)):
        response_row = responses[world.coops[letter]]
        assert response_row.answers == {k: v for k, v in answers.items() if v is not None}
        assert response_row.mode == "interview" and response_row.status == "submitted"
        assert response_row.result_snapshot == json.loads(json.dumps(snapshot_of(scoring.score(national, answers))))
        assert response_row.interview_date == date(2026, 10, 5)
        assert (response_row.interview_place, response_row.interviewee_role) == ("Sede de la cooperativa", "Gerente")
        assert response_row.institution == "INDAP"
    a = responses[world.coops["A"]]
    assert a.interviewer_name == "Tablet 3" and a.idempotency_key == "uuid:0b8c6a5e-1f2d-4c3b-9a8e-7d6c5b4a3f21"
    with env.session() as session:
        kinds = [
            e.kind
            for e in session.scalars(
                select(ResponseEvent).where(ResponseEvent.response_id == a.id).order_by(ResponseEvent.id)
            )
        ]
    assert kinds[0] == "created" and kinds[-1] == "submitted" and kinds.count("answer_changed") == len(a.answers)

    # A second import of both files creates nothing and says so.
    for content, name in ((csv_file, "nacional.csv"), (json_file, "nacional.json")):
        again = post(env, admin, round_id, content, name)
        assert again.status_code == 200, again.text
        counts = again.json()["summary"]
        assert counts["created"] == 0 and counts["already_imported"] == counts["rows"]
        assert {row["outcome"] for row in again.json()["rows"]} == {"already_imported"}
    with env.session() as session:
        assert session.scalar(select(func.count()).select_from(Response)) == 3


@pytest.mark.parametrize("split", ["both", "split", "joined"])
def test_kobo_csv_round_trip_every_answer_type(api_env, world, split):
    env = api_env
    _, analyst = env.user("analyst", institution="Universidad de Talca")
    varied = world.questionnaires["varied"]
    interviews = [
        Interview(world.ruts[letter], answers, f"kobo-{split}-{letter}")
        for letter, answers in zip("ABC", VARIED_ANSWERS)
    ]
    content = kobo_csv(varied, interviews, split=split)
    response = post(env, analyst, world.rounds["varied"], content, "odk_varios.csv")
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["source"] == "kobo" and report["summary"]["created"] == 3, report
    assert report["warnings"] == []
    responses = stored(env, world.rounds["varied"])
    for letter, answers in zip("ABC", VARIED_ANSWERS):
        row = responses[world.coops[letter]]
        assert row.answers == answers
        assert type(row.answers["socios"]) is int
        assert row.idempotency_key == f"uuid:kobo-{split}-{letter}"
        assert row.interviewer_name == "Ana Pérez" and row.interview_date == date(2026, 10, 5)


def test_kobo_json_and_xlsx_round_trip_and_skipped_submissions(api_env, world):
    env = api_env
    _, field = env.user("field", macrozones=["Centro"], institution="Prodesal Talca")  # regions 5, 13, 6
    varied = world.questionnaires["varied"]
    json_file = kobo_json(
        varied,
        [
            Interview(world.ruts["A"], VARIED_ANSWERS[0], "9a1b"),
            Interview(world.ruts["C"], VARIED_ANSWERS[1], "9a1c", review="not approved"),
        ],
    )
    response = post(env, field, world.rounds["varied"], json_file, "data.json")
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["source"] == "kobo" and report["summary"]["created"] == 1 and report["summary"]["skipped"] == 1
    skipped = next(row for row in report["rows"] if row["outcome"] == "skipped")
    assert skipped["row"] == 2 and "no aprobada" in skipped["message"]
    xlsx_file = kobo_xlsx(varied, [Interview(world.ruts["D"], VARIED_ANSWERS[2], "9a1d")])
    response = post(env, field, world.rounds["varied"], xlsx_file, "Cuestionario.xlsx")
    assert response.status_code == 200, response.text
    assert response.json()["format"] == "xlsx" and response.json()["summary"]["created"] == 1
    responses = stored(env, world.rounds["varied"])
    assert responses[world.coops["A"]].answers == VARIED_ANSWERS[0]
    assert responses[world.coops["D"]].answers == VARIED_ANSWERS[2]
    assert world.coops["C"] not in responses
    assert responses[world.coops["A"]].institution == "Prodesal Talca"


def test_incomplete_interview_is_a_draft_and_dry_run_writes_nothing(api_env, world):
    env = api_env
    _, field = env.user("field", macrozones=["Centro"], institution="INDAP")
    sample = world.questionnaires["sample"]
    content = odk_csv(
        sample,
        [
            Interview(world.ruts["A"], SAMPLE_COMPLETE, "aa-1"),
            Interview(world.ruts["D"], SAMPLE_INCOMPLETE, "aa-2"),
        ],
        groups=False,
    )  # exported with "remove group names"
    preview = post(env, field, world.rounds["sample"], content, "prueba.csv", dry_run="true")
    assert preview.status_code == 200, preview.text
    report = preview.json()
    assert report["dry_run"] is True and report["committed"] is False
    assert report["summary"] == {
        "rows": 2,
        "created": 0,
        "to_create": 2,
        "already_imported": 0,
        "skipped": 0,
        "refused": 0,
        "submitted": 1,
        "drafts": 1,
        "problems": 0,
    }
    assert [row["status"] for row in report["rows"]] == ["submitted", "draft"]
    assert stored(env, world.rounds["sample"]) == {}

    response = post(env, field, world.rounds["sample"], content, "prueba.csv")
    assert response.status_code == 200, response.text
    responses = stored(env, world.rounds["sample"])
    assert responses[world.coops["A"]].status == "submitted"
    draft = responses[world.coops["D"]]
    assert draft.status == "draft" and draft.answers == SAMPLE_INCOMPLETE and draft.result_snapshot is None
    # The field team finishes the draft through the API like any other.
    headers = {**field, "If-Match": f'"{draft.version}"'}
    finish = env.client.patch(
        f"/api/v1/responses/{draft.id}/answers",
        headers=headers,
        json={"answers": {"actas_al_dia": "si", "activo_corriente": 10, "pasivo_corriente": 5}},
    )
    assert finish.status_code == 200, finish.text


# --------------------------------------------------------------------------- bad rows


def test_bad_rows_are_reported_and_nothing_is_half_saved(api_env, world):
    env = api_env
    _, admin = env.user("admin", institution="INDAP")
    sample = world.questionnaires["sample"]
    good = Interview(world.ruts["A"], SAMPLE_COMPLETE, "bb-1")
    interviews = [
        good,
        Interview("99.999.999-9", SAMPLE_COMPLETE, "bb-2"),  # valid RUT, not in the registry
        Interview("76.123.456-1", SAMPLE_COMPLETE, "bb-3"),  # wrong check digit
        Interview(world.ruts["B"], SAMPLE_COMPLETE, "bb-4", overrides={"junta_anual": "quizás"}),
        Interview(world.ruts["C"], SAMPLE_COMPLETE, "bb-5", overrides={"activo_corriente": "1.500.000,5"}),
        Interview(
            world.ruts["D"], SAMPLE_COMPLETE, "bb-6", overrides={"activo_corriente": "-5", "actas_al_dia": "tal_vez"}
        ),
        Interview(world.ruts["E"], SAMPLE_COMPLETE, "bb-1"),  # the same submission twice
        Interview(world.ruts["A"], SAMPLE_COMPLETE, "bb-8"),  # a second interview of A
        Interview(world.ruts["E"], SAMPLE_COMPLETE, "bb-9", form_version="2025.9"),
    ]
    content = odk_csv(sample, interviews)
    response = post(env, admin, world.rounds["sample"], content, "prueba.csv")
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "import_refused" and "no se importó nada" in error["message"]
    by_row = {}
    for detail in error["details"]:
        by_row.setdefault(detail["row"], []).append(detail)
    column = "dim-gobernanza-sub-asamblea-junta_anual"
    assert sorted(by_row) == [3, 4, 5, 6, 7, 8, 9, 10]  # the header is row 1, the good row is row 2
    assert "no hay una cooperativa con RUT 99.999.999-9" in by_row[3][0]["message"]
    assert by_row[3][0]["column"] == "rut_cooperativa" and by_row[3][0]["value"] == "99.999.999-9"
    assert "dígito verificador" in by_row[4][0]["message"]
    assert by_row[5][0]["column"] == column and by_row[5][0]["value"] == "quizás"
    assert "«si», «no», «ns»" in by_row[5][0]["message"]
    assert "punto decimal" in by_row[6][0]["message"] and by_row[6][0]["value"] == "1.500.000,5"
    assert {d["column"].rsplit("-", 1)[-1] for d in by_row[7]} == {"activo_corriente", "actas_al_dia"}
    assert any("mínimo" in d["message"] for d in by_row[7]) and any(
        "no es una opción" in d["message"] for d in by_row[7]
    )
    assert "fila 2" in by_row[8][0]["message"] and by_row[8][0]["column"] == "meta-instanceID"
    assert "fila 2" in by_row[9][0]["message"]
    assert "2025.9" in by_row[10][0]["message"] and by_row[10][0]["column"] == "FormVersion"
    report = error["report"]
    assert report["rows"][0]["outcome"] == "to_create" and report["committed"] is False
    assert report["problems"] == error["details"] and report["summary"]["problems"] == len(error["details"])
    assert stored(env, world.rounds["sample"]) == {}

    # Only the valid rows, each whole: the good one is saved, the others reported again.
    partial = post(env, admin, world.rounds["sample"], content, "prueba.csv", all_or_nothing="false")
    assert partial.status_code == 200, partial.text
    assert partial.json()["summary"]["created"] == 1 and partial.json()["summary"]["refused"] == 8
    responses = stored(env, world.rounds["sample"])
    assert list(responses) == [world.coops["A"]] and responses[world.coops["A"]].answers == SAMPLE_COMPLETE


def test_existing_response_and_edited_submission_are_reported(api_env, world):
    env = api_env
    _, admin = env.user("admin", institution="INDAP")
    sample = world.questionnaires["sample"]
    first = odk_csv(sample, [Interview(world.ruts["A"], SAMPLE_COMPLETE, "cc-1")])
    assert post(env, admin, world.rounds["sample"], first, "a.csv").status_code == 200
    # Edited in Central: a new meta-instanceID, the KEY of the original submission.
    edited = odk_csv(sample, [Interview(world.ruts["A"], SAMPLE_INCOMPLETE, "cc-2")]).decode()
    edited = edited.replace("uuid:cc-2,uuid:cc-2", "uuid:cc-2,uuid:cc-1")
    response = post(env, admin, world.rounds["sample"], edited.encode(), "a.csv")
    assert response.status_code == 422
    assert "se editó después de importarlo" in response.json()["error"]["details"][0]["message"]
    # A cooperative that already has a response (made in coopdiag) in the round.
    with env.session() as session:
        session.add(Response(cooperative_id=world.coops["B"], round_id=world.rounds["sample"], mode="self", answers={}))
        session.commit()
    other = odk_csv(sample, [Interview(world.ruts["B"], SAMPLE_COMPLETE, "cc-3")])
    response = post(env, admin, world.rounds["sample"], other, "b.csv")
    assert response.status_code == 422
    assert "ya tiene una respuesta en esta ronda" in response.json()["error"]["details"][0]["message"]


def test_files_that_are_not_exports_of_the_form(api_env, world):
    env = api_env
    _, admin = env.user("admin", institution="INDAP")
    sample, national = world.questionnaires["sample"], world.questionnaires["national"]
    round_id = world.rounds["sample"]
    interview = [Interview(world.ruts["A"], SAMPLE_COMPLETE, "dd-1")]

    def error_of(content, name, **params):
        response = post(env, admin, round_id, content, name, **params)
        assert response.status_code == 422, response.text
        return response.json()["error"]

    # The export of another form (the national one) in the sample round.
    national_file = odk_csv(national, [Interview(world.ruts["A"], national_case("fuerte"), "dd-2")])
    assert "Ninguna columna es una pregunta" in error_of(national_file, "n.csv")["message"]
    # A registry spreadsheet: neither ODK nor Kobo.
    assert "No se reconoce" in error_of("RUT;Razón social\n76123456-0;Coop\n".encode(), "registro.csv")["message"]
    # ODK announced, Kobo given.
    assert "KoboToolbox" in error_of(kobo_csv(sample, interview), "k.csv", source="odk")["message"]
    # Labels exported instead of names, a broken JSON, a PDF named .csv, a JSON without submissions.
    assert error_of(b'{"value": [1, 2]}', "x.json")["code"] == "invalid_json"
    assert "línea 1" in error_of(b'{"value": [', "x.json")["message"]
    assert error_of(b"%PDF-1.7 ...", "x.csv")["code"] == "wrong_file_kind"
    no_key = odk_csv(sample, interview).decode().replace("meta-instanceID", "meta-otra").replace(",KEY,", ",OTRA,")
    assert "meta-instanceID" in error_of(no_key.encode(), "x.csv", source="odk")["message"]
    # Interview details the form does not ask: without them every row says what is missing.
    details = error_of(odk_csv(sample, interview), "x.csv", data={})["details"]
    assert {d["column"] for d in details} == {"lugar_entrevista", "cargo_entrevistado"}
    assert stored(env, round_id) == {}


# --------------------------------------------------------------------------- who may import


def test_who_may_import(api_env, world):
    env = api_env
    sample = world.questionnaires["sample"]
    content = odk_csv(sample, [Interview(world.ruts["A"], SAMPLE_COMPLETE, "ee-1")])
    other_zone = odk_csv(sample, [Interview(world.ruts["B"], SAMPLE_COMPLETE, "ee-2")])  # region 9, Sur
    round_id = world.rounds["sample"]
    _, manager = env.user("manager", cooperatives=[world.coops["A"]])
    _, field = env.user("field", macrozones=["Centro"], institution="INDAP")
    _, assigned = env.user("field", cooperatives=[world.coops["B"]], institution="INDAP")
    _, no_institution = env.user("analyst")

    assert post(env, {}, round_id, content, "a.csv").status_code == 401
    assert post(env, manager, round_id, content, "a.csv").status_code == 403
    assert post(env, field, 999_999, content, "a.csv").status_code == 404
    closed = post(env, field, world.rounds["closed"], content, "a.csv")
    assert closed.status_code == 409 and closed.json()["error"]["code"] == "round_not_open"
    missing = post(env, no_institution, round_id, content, "a.csv")
    assert missing.status_code == 422 and missing.json()["error"]["details"][0]["field"] == "institution"

    refused = post(env, field, round_id, other_zone, "b.csv")  # outside their macrozones: as if unknown
    assert refused.status_code == 422
    assert "no hay una cooperativa con RUT 65.000.000-5" in refused.json()["error"]["details"][0]["message"]
    assert post(env, assigned, round_id, other_zone, "b.csv").status_code == 200  # assigned one by one
    assert post(env, field, round_id, content, "a.csv").status_code == 200
    ok = post(env, no_institution, round_id, content, "a.csv", data={**DEFAULTS, "institution": "SAG"})
    assert ok.status_code == 200 and ok.json()["summary"]["already_imported"] == 1


# --------------------------------------------------------------------------- columns (no database)


def test_every_column_of_the_national_form_is_recognised():
    national = scoring.load_questionnaire(NATIONAL.read_text(encoding="utf-8"))
    form = FormColumns(national)
    computed = {q.id for q in national.questions if q.type == "computed"}
    for field in form_fields(national):
        for separator in ("-", "/"):
            column = separator.join((*field.path, field.name))
            target = form.target(column) or form.target(field.name)
            assert target is not None, column
            if field.name in computed or field.name.endswith("_valor"):
                assert target.role == Role.IGNORED
            elif field.name.endswith("_sin_dato"):
                assert target.role == Role.NO_DATA and target.name == field.name.removesuffix("_sin_dato")
            elif (
                field.type.startswith(("select", "integer", "decimal", "text", "date"))
                and field.name != "rut_cooperativa"
            ):
                assert (target.role, target.name) == (Role.ANSWER, field.name)
    option = form.target("dim-negocio/sub-servicios_socios/servicios_ofrecidos/credito")
    assert (option.role, option.name, option.option) == (Role.OPTION, "servicios_ofrecidos", "credito")
    assert form.target("dim-negocio-sub-servicios_socios-servicios_ofrecidos/ns").option == "ns"
    assert form.target("submitterName") is not None and form.target("_UUID").name == "instance_id"


def test_json_export_too_large_or_too_long_is_refused(monkeypatch):
    from app.exchange import odk_import

    monkeypatch.setattr(odk_import, "MAX_JSON_BYTES", 50)
    with pytest.raises(Invalid, match="el máximo es"):
        read_export(b'{"value": [' + b'{"a": 1},' * 10 + b"{}]}", "x.json", Source.ODK)
    monkeypatch.setattr(odk_import, "MAX_JSON_BYTES", 10_000)
    monkeypatch.setattr(odk_import, "MAX_SUBMISSIONS", 2)
    with pytest.raises(Invalid, match="tiene 3 envíos"):
        read_export(b'[{"_uuid": "a"}, {"_uuid": "b"}, {"_uuid": "c"}]', "x.json", Source.KOBO)
