"""Consistency checks between answers (docs/format-decisions.md, «Consistency checks»):
the loader's rules, what the engine says, and where they act (API submit, result preview,
snapshot warnings). API tests run on SQLite and on PostgreSQL (``api_env``)."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import select

import scoring
from app.cooperatives.models import Cooperative
from app.questionnaires.models import QuestionnaireVersion
from app.questionnaires.service import register_path
from app.responses.models import Response
from app.rounds.models import DiagnosisRound

SOURCE = """
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
          - {id: junta, text: ¿Hubo junta?, type: yes_no, critical: true}
checks:
  - id: suma_socios
    expression: socias + socios == socios_total
    message: Socias más socios debe ser igual al total.
  - id: pocas_socias
    expression: socias * 10 >= socios_total
    message: Menos de una socia por cada diez socios; confirme la cifra.
    severity: warning
"""


def load(text: str = SOURCE) -> scoring.Questionnaire:
    return scoring.load_questionnaire(text, source="checks.yaml")


def problems(text: str) -> list[str]:
    with pytest.raises(scoring.QuestionnaireError) as caught:
        load(text)
    return [str(problem) for problem in caught.value.problems]


# --------------------------------------------------------------------------- loader


def test_checks_load_with_their_questions_and_default_severity():
    checks = load().checks
    assert [c.id for c in checks] == ["suma_socios", "pocas_socias"]
    assert checks[0].severity == "error" and checks[0].questions == ("socias", "socios", "socios_total")
    assert checks[1].severity == "warning"
    assert load(SOURCE.split("checks:")[0]).checks == ()


@pytest.mark.parametrize(
    ("check", "fragment"),
    [
        ("{id: x, expression: nadie > 1, message: m}", "'nadie' no es el id de ninguna pregunta"),
        ("{id: x, expression: 'socias +', message: m}", "expresión no válida"),
        ("{id: x, expression: socias > 1}", "message"),
        ("{id: x, expression: socias > 1, message: m, severity: fatal}", "debe ser error o warning"),
        ("{id: X-1, expression: socias > 1, message: m}", "no es un id válido"),
        ("{id: x, expression: 1 > 0, message: m}", "no usa ninguna pregunta"),
        ("{id: x, expression: \"selected(socias, 'a')\", message: m}", "selected() solo se aplica"),
        ("{id: x, expression: socias > 1, message: m, extra: 1}", "clave desconocida"),
        ("{id: x, message: m}", "falta la expresión"),
    ],
)
def test_broken_checks_are_load_errors_naming_the_check(check, fragment):
    text = SOURCE.split("checks:")[0] + f"checks:\n  - {check}\n"
    found = problems(text)
    assert any(fragment in problem for problem in found), found
    assert any("verificación" in problem for problem in found), found


def test_duplicate_check_ids_and_a_non_list_are_refused():
    text = (
        SOURCE.split("checks:")[0] + "checks:\n  - {id: x, expression: socias > 1, message: m}\n"
        "  - {id: x, expression: socias > 2, message: n}\n"
    )
    assert any("ya lo usa la verificación n.º 1" in p for p in problems(text))
    assert any("debe ser una lista" in p for p in problems(SOURCE.split("checks:")[0] + "checks: 3\n"))


# --------------------------------------------------------------------------- engine


@pytest.mark.parametrize(
    ("answers", "failing"),
    [
        ({"socios_total": 10, "socias": 4, "socios": 6}, []),
        ({"socios_total": 10, "socias": 4, "socios": 5}, ["suma_socios"]),
        ({"socios_total": 100, "socias": 4, "socios": 96}, ["pocas_socias"]),
        ({"socios_total": 100, "socias": 4}, ["pocas_socias"]),  # the sum cannot be judged yet
        ({"socios_total": 100, "socias": "ns", "socios": 96}, []),  # «No sé» is missing: not judged
        ({}, []),
    ],
)
def test_a_check_fails_only_when_its_expression_is_false(answers, failing):
    assert [c.id for c in scoring.failed_checks(load(), answers)] == failing


def test_checks_do_not_change_scores_or_validation():
    questionnaire = load()
    consistent = scoring.score(questionnaire, {"socios_total": 10, "socias": 4, "socios": 6, "junta": True})
    broken = scoring.score(questionnaire, {"socios_total": 10, "socias": 4, "socios": 5, "junta": True})
    assert consistent.to_json() == broken.to_json()


# --------------------------------------------------------------------------- where they act


@pytest.fixture
def checked_world(api_env):
    path = api_env.settings.questionnaires_dir / "checks.yaml"
    path.write_text(SOURCE, encoding="utf-8")
    with api_env.session() as session:
        register_path(session=session, path=path)
        session.commit()
        version = session.scalar(
            select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == "con-verificaciones")
        )
        coop = Cooperative(
            rut="76123456-0",
            name="Cooperativa Los Aromos",
            legal_type="campesina",
            region_code=13,
            sectors=["hortalizas"],
        )
        round_ = DiagnosisRound(
            name="Ronda con verificaciones",
            questionnaire_version_id=version.id,
            opens_on=date(2026, 1, 1),
            closes_on=date(2026, 12, 31),
            state="open",
        )
        session.add_all([coop, round_])
        session.commit()
        coop_id, round_id = coop.id, round_.id
    _, manager = api_env.user("manager", cooperatives=[coop_id])
    created = api_env.client.post(
        "/api/v1/responses",
        headers={**manager, "Idempotency-Key": str(uuid.uuid4())},
        json={"cooperative_id": coop_id, "round_id": round_id, "mode": "self"},
    )
    assert created.status_code == 201, created.text
    return manager, created.json()["id"]


def _save(api_env, headers, response_id, answers):
    version = api_env.client.get(f"/api/v1/responses/{response_id}", headers=headers).json()["version"]
    saved = api_env.client.patch(
        f"/api/v1/responses/{response_id}/answers", headers=headers, json={"version": version, "answers": answers}
    )
    assert saved.status_code == 200, saved.text  # a draft may be inconsistent while it is filled
    return saved.json()["version"]


def test_submit_with_a_failed_error_check_is_refused_naming_it(api_env, checked_world):
    manager, response_id = checked_world
    version = _save(api_env, manager, response_id, {"socios_total": 10, "socias": 4, "socios": 5, "junta": True})
    preview = api_env.client.get(f"/api/v1/responses/{response_id}/result", headers=manager).json()
    assert [(c["id"], c["severity"]) for c in preview["consistency"]] == [("suma_socios", "error")]
    refused = api_env.client.post(f"/api/v1/responses/{response_id}/submit", headers=manager, json={"version": version})
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "inconsistent_answers"
    assert "Socias más socios debe ser igual al total." in error["message"]
    assert error["details"] == [
        {
            "field": "checks.suma_socios",
            "code": "inconsistent",
            "message": "Socias más socios debe ser igual al total.",
            "questions": ["socias", "socios", "socios_total"],
        }
    ]
    with api_env.session() as session:
        assert session.get(Response, response_id).status == "draft"


def test_a_failed_warning_is_stored_with_the_result(api_env, checked_world):
    manager, response_id = checked_world
    version = _save(api_env, manager, response_id, {"socios_total": 100, "socias": 4, "socios": 96, "junta": True})
    sent = api_env.client.post(f"/api/v1/responses/{response_id}/submit", headers=manager, json={"version": version})
    assert sent.status_code == 200, sent.text
    with api_env.session() as session:
        snapshot = session.get(Response, response_id).result_snapshot
    assert snapshot["method"] == scoring.METHOD
    assert snapshot["consistency_warnings"] == [
        {
            "id": "pocas_socias",
            "message": "Menos de una socia por cada diez socios; confirme la cifra.",
            "questions": ["socias", "socios_total"],
        }
    ]


# --------------------------------------------------------------------------- imports


@pytest.fixture
def import_world(api_env):
    """A round on the questionnaire with checks and a field member of the Centro macrozone."""
    path = api_env.settings.questionnaires_dir / "checks.yaml"
    path.write_text(SOURCE, encoding="utf-8")
    with api_env.session() as session:
        register_path(session=session, path=path)
        session.commit()
        version = session.scalar(
            select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == "con-verificaciones")
        )
        coops = [
            Cooperative(rut=rut, name=name, legal_type="campesina", region_code=13, sectors=[])
            for rut, name in (("76123456-0", "Los Aromos"), ("65000000-5", "Lago Sur"))
        ]
        round_ = DiagnosisRound(
            name="Ronda con verificaciones",
            questionnaire_version_id=version.id,
            opens_on=date(2026, 1, 1),
            closes_on=date(2026, 12, 31),
            state="open",
        )
        session.add_all([*coops, round_])
        session.commit()
        ids = {"round": round_.id, "coops": [c.id for c in coops], "ruts": [c.rut for c in coops]}
    _, field = api_env.user("field", macrozones=["Centro"], institution="INDAP")
    return ids, field


def test_spreadsheet_row_to_send_that_breaks_an_error_check_is_refused(api_env, import_world):
    from test_interview_import import DETAILS, filled, template, upload

    ids, field = import_world
    book = template(api_env, field, ids["round"])
    # socios_total, socias, socios, junta (template order); «enviar» asks to submit.
    rows = [["e-1", ids["ruts"][0], *DETAILS, "sí", 10, 4, 5, "Sí"]]
    refused = upload(api_env, field, ids["round"], filled(book, rows))
    assert refused.status_code == 422, refused.text
    problems = refused.json()["error"]["details"]
    assert any(
        "Socias más socios debe ser igual al total." in p["message"] and "suma_socios" in p["message"] for p in problems
    ), problems
    with api_env.session() as session:
        assert session.scalars(select(Response)).all() == []
    # The same row as a draft (no «enviar») is imported, to be corrected on the web.
    draft = upload(api_env, field, ids["round"], filled(book, [["e-1", ids["ruts"][0], *DETAILS, "", 10, 4, 5, "Sí"]]))
    assert draft.status_code == 200, draft.text
    with api_env.session() as session:
        assert [r.status for r in session.scalars(select(Response))] == ["draft"]


def test_odk_submission_that_breaks_an_error_check_is_kept_as_a_draft(api_env, import_world):
    from test_odk_import import Interview, odk_csv, post

    ids, field = import_world
    questionnaire = load()
    content = odk_csv(
        questionnaire,
        [
            Interview(ids["ruts"][0], {"socios_total": 10, "socias": 4, "socios": 6, "junta": True}, "ok-1"),
            Interview(ids["ruts"][1], {"socios_total": 10, "socias": 4, "socios": 5, "junta": True}, "bad-1"),
        ],
        groups=False,
    )
    done = post(api_env, field, ids["round"], content, "central.csv")
    assert done.status_code == 200, done.text
    rows = done.json()["rows"]
    assert [row["status"] for row in rows] == ["submitted", "draft"]
    assert "Socias más socios debe ser igual al total." in rows[1]["message"]
    with api_env.session() as session:
        by_coop = {r.cooperative_id: r for r in session.scalars(select(Response))}
    assert by_coop[ids["coops"][0]].status == "submitted"
    assert by_coop[ids["coops"][1]].status == "draft" and by_coop[ids["coops"][1]].result_snapshot is None
