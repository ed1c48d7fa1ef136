"""Diagnosis rounds and questionnaire versions: the API on SQLite and PostgreSQL, the
cached questionnaire of a round, and ``coopdiag questionnaire load`` as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from app.cooperatives.models import Cooperative
from app.questionnaires.models import QuestionnaireVersion
from app.questionnaires.service import content_hash
from app.responses.models import Response
from app.rounds.models import DiagnosisRound
from conftest import SAMPLE_COUNTS, sample_questionnaire

ROUNDS = "/api/v1/rounds"
QUESTIONNAIRES = "/api/v1/questionnaires"
ROLES = ("admin", "analyst", "field", "manager")


def users(env) -> dict[str, dict[str, str]]:
    headers = {role: env.user(role, password=None)[1] for role in ROLES}
    headers["nobody"] = {}
    return headers


def add_version(env, version: str = "2026.2") -> int:
    source = sample_questionnaire(version=version, title=f"Cuestionario {version}")
    with env.session() as session:
        row = QuestionnaireVersion(
            questionnaire_id="prueba-mini",
            version=version,
            title=f"Cuestionario {version}",
            content_hash=content_hash(source),
            source=source,
        )
        session.add(row)
        session.commit()
        return row.id


def sample_version_id(env) -> int:
    with env.session() as session:
        return session.scalar(
            select(QuestionnaireVersion.id).where(
                QuestionnaireVersion.questionnaire_id == "prueba-mini", QuestionnaireVersion.version == "2026.1"
            )
        )


def add_response(env, round_id: int) -> None:
    with env.session() as session:
        cooperative = Cooperative(
            rut="76000000-0", name="Cooperativa", legal_type="agricola", region_code=7, sectors=[]
        )
        session.add(cooperative)
        session.flush()
        session.add(Response(cooperative_id=cooperative.id, round_id=round_id, mode="self", answers={}))
        session.commit()


def round_body(**fields) -> dict:
    body = {
        "name": "Diagnóstico nacional 2026",
        "questionnaire_id": "prueba-mini",
        "version": "2026.1",
        "opens_on": "2026-03-01",
        "closes_on": "2026-06-30",
    }
    body.update(fields)
    return body


def error_fields(response) -> set[str]:
    return {detail["field"] for detail in response.json()["error"]["details"]}


# --------------------------------------------------------------------------- rounds


def test_rounds_crud_and_permissions(api_env):
    env = api_env
    headers = users(env)
    version_id = sample_version_id(env)

    # Only admins create or change rounds.
    for role, status in {"analyst": 403, "field": 403, "manager": 403, "nobody": 401}.items():
        assert env.client.post(ROUNDS, json=round_body(), headers=headers[role]).status_code == status, role
    created = env.client.post(ROUNDS, json=round_body(), headers=headers["admin"])
    assert created.status_code == 201, created.text
    first = created.json()
    assert first["state"] == "planned" and first["state_label"] == "Planificada"
    assert first["questionnaire_version_id"] == version_id
    assert first["questionnaire"]["version"] == "2026.1" and first["response_count"] == 0
    by_row_id = env.client.post(
        ROUNDS,
        json={
            "name": "Piloto",
            "questionnaire_version_id": version_id,
            "opens_on": "2025-01-01",
            "closes_on": "2025-01-01",
            "state": "closed",
        },
        headers=headers["admin"],
    )
    assert by_row_id.status_code == 201 and by_row_id.json()["state"] == "closed"

    # Everyone with a session reads them, newest first.
    for role in ROLES:
        listed = env.client.get(ROUNDS, headers=headers[role])
        assert listed.status_code == 200, role
        assert [item["name"] for item in listed.json()["items"]] == ["Diagnóstico nacional 2026", "Piloto"]
        assert env.client.get(f"{ROUNDS}/{first['id']}", headers=headers[role]).status_code == 200
    assert env.client.get(ROUNDS, headers=headers["nobody"]).status_code == 401
    assert env.client.get(f"{ROUNDS}/{first['id']}", headers=headers["nobody"]).status_code == 401
    assert env.client.get(f"{ROUNDS}/99999", headers=headers["analyst"]).status_code == 404
    closed = env.client.get(ROUNDS, params={"state": "closed"}, headers=headers["manager"]).json()
    assert [item["name"] for item in closed["items"]] == ["Piloto"]

    for role, status in {"analyst": 403, "field": 403, "manager": 403, "nobody": 401}.items():
        assert (
            env.client.patch(f"{ROUNDS}/{first['id']}", json={"state": "open"}, headers=headers[role]).status_code
            == status
        )
    opened = env.client.patch(
        f"{ROUNDS}/{first['id']}", json={"state": "open", "closes_on": "2026-07-31"}, headers=headers["admin"]
    )
    assert opened.status_code == 200 and opened.json()["state"] == "open" and opened.json()["closes_on"] == "2026-07-31"
    assert opened.json()["name"] == "Diagnóstico nacional 2026"
    assert env.client.patch(f"{ROUNDS}/99999", json={"state": "open"}, headers=headers["admin"]).status_code == 404


def test_round_validation(api_env):
    env = api_env
    admin = env.user("admin", password=None)[1]
    post = lambda **fields: env.client.post(ROUNDS, json=round_body(**fields), headers=admin)  # noqa: E731

    backwards = post(opens_on="2026-06-01", closes_on="2026-05-31")
    assert backwards.status_code == 422 and error_fields(backwards) == {"closes_on"}
    assert "closes_on" in backwards.json()["error"]["message"]
    unknown = post(version="1999.9")
    assert unknown.status_code == 422 and "1999.9" in unknown.json()["error"]["message"]
    assert post(questionnaire_id=None, version=None).status_code == 422
    assert post(questionnaire_id=None, version=None, questionnaire_version_id=9999).status_code == 422
    assert error_fields(post(state="abierta")) == {"state"}
    assert error_fields(post(opens_on="1 de marzo")) == {"opens_on"}
    assert error_fields(post(name="")) == {"name"}
    assert error_fields(post(extra=1)) == {"extra"}

    first = post().json()
    duplicate = post(name="diagnóstico nacional 2026")
    assert duplicate.status_code == 409 and "Diagnóstico nacional 2026" in duplicate.json()["error"]["message"]
    other = post(name="Otra ronda").json()
    renamed = env.client.patch(f"{ROUNDS}/{other['id']}", json={"name": "Diagnóstico nacional 2026"}, headers=admin)
    assert renamed.status_code == 409
    # A PATCH is checked against the stored dates too.
    early = env.client.patch(f"{ROUNDS}/{first['id']}", json={"closes_on": "2026-01-01"}, headers=admin)
    assert early.status_code == 422 and error_fields(early) == {"closes_on"}
    with env.session() as session:
        stored = session.get(DiagnosisRound, first["id"])
        assert stored.closes_on.isoformat() == "2026-06-30"
        assert session.query(DiagnosisRound).count() == 2


def test_round_dates_are_bounded(api_env):
    """Issue 14.9: no round in year 1 or 9999; at most 10 years ahead, at most 3 years long;
    refused with a Spanish message naming the field, on create and on change."""
    env = api_env
    admin = env.user("admin", password=None)[1]
    post = lambda **fields: env.client.post(ROUNDS, json=round_body(**fields), headers=admin)  # noqa: E731
    far = date.today().replace(month=1, day=1).replace(year=date.today().year + 11).isoformat()

    ancient = post(opens_on="0001-01-01", closes_on="9999-12-31")
    assert ancient.status_code == 422 and error_fields(ancient) == {"opens_on", "closes_on"}
    assert "2000 o posterior" in ancient.json()["error"]["message"] and "10 años" in ancient.json()["error"]["message"]
    assert error_fields(post(opens_on="1999-12-31")) == {"opens_on"}
    assert error_fields(post(opens_on=far, closes_on=far)) == {"opens_on", "closes_on"}
    long = post(opens_on="2026-01-01", closes_on="2030-01-01")
    assert long.status_code == 422 and "3 años" in long.json()["error"]["message"]
    assert post(opens_on="2026-01-01", closes_on="2028-12-31").status_code == 201

    with env.session() as session:
        assert session.query(DiagnosisRound).count() == 1
    created = env.client.get(ROUNDS, headers=admin).json()["items"][0]
    moved = env.client.patch(f"{ROUNDS}/{created['id']}", json={"closes_on": "9999-12-31"}, headers=admin)
    assert moved.status_code == 422 and error_fields(moved) == {"closes_on"}


def test_questionnaire_version_frozen_once_a_round_has_responses(api_env):
    env = api_env
    admin = env.user("admin", password=None)[1]
    newer = add_version(env, "2026.2")
    created = env.client.post(ROUNDS, json=round_body(), headers=admin).json()
    path = f"{ROUNDS}/{created['id']}"

    # Without responses the version may change (by row id, or by version alone).
    changed = env.client.patch(path, json={"questionnaire_version_id": newer}, headers=admin)
    assert changed.status_code == 200 and changed.json()["questionnaire"]["version"] == "2026.2"
    back = env.client.patch(path, json={"version": "2026.1"}, headers=admin)
    assert back.status_code == 200 and back.json()["questionnaire"]["version"] == "2026.1"

    add_response(env, created["id"])
    refused = env.client.patch(path, json={"questionnaire_version_id": newer, "name": "Otro nombre"}, headers=admin)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "round_has_responses"
    unchanged = env.client.get(path, headers=admin).json()
    assert unchanged["questionnaire"]["version"] == "2026.1" and unchanged["name"] == "Diagnóstico nacional 2026"
    assert unchanged["response_count"] == 1
    # Other changes, and naming the same version, are still fine.
    assert env.client.patch(path, json={"version": "2026.1", "state": "open"}, headers=admin).status_code == 200


def test_get_round_questionnaire_is_cached_by_content_hash(api_env):
    from app.rounds.service import get_round_questionnaire

    env = api_env
    admin = env.user("admin", password=None)[1]
    newer = add_version(env, "2026.2")
    one = env.client.post(ROUNDS, json=round_body(name="Uno"), headers=admin).json()
    two = env.client.post(ROUNDS, json=round_body(name="Dos"), headers=admin).json()
    three = env.client.post(
        ROUNDS,
        json=round_body(name="Tres", questionnaire_id=None, version=None, questionnaire_version_id=newer),
        headers=admin,
    ).json()
    with env.session() as session:
        q1 = get_round_questionnaire(session=session, round=session.get(DiagnosisRound, one["id"]))
        q2 = get_round_questionnaire(session=session, round=session.get(DiagnosisRound, two["id"]))
        q3 = get_round_questionnaire(session=session, round=session.get(DiagnosisRound, three["id"]))
    assert q1 is q2  # same stored content: parsed once
    assert (q1.id, q1.version) == ("prueba-mini", "2026.1")
    assert (q3.id, q3.version) == ("prueba-mini", "2026.2")
    assert len(q1.questions) == SAMPLE_COUNTS["questions"]


# --------------------------------------------------------------------------- questionnaire versions


def test_questionnaire_endpoints(api_env):
    env = api_env
    headers = users(env)
    version_id = sample_version_id(env)
    for role in ROLES:
        listed = env.client.get(QUESTIONNAIRES, headers=headers[role])
        assert listed.status_code == 200, role
        (item,) = listed.json()["items"]
        assert item["id"] == version_id and item["questionnaire_id"] == "prueba-mini" and item["version"] == "2026.1"
        assert {key: item[key] for key in SAMPLE_COUNTS} == SAMPLE_COUNTS
        assert len(item["content_hash"]) == 64 and item["responses"] == 0 and item["rounds"] == 0
        one = env.client.get(f"{QUESTIONNAIRES}/{version_id}", headers=headers[role])
        assert one.status_code == 200 and one.json() == item
        definition = env.client.get(f"{QUESTIONNAIRES}/{version_id}/definition", headers=headers[role])
        assert definition.status_code == 200
    data = definition.json()
    assert data["id"] == "prueba-mini" and data["version"] == "2026.1" and data["version_id"] == version_id
    questions = {q["id"]: q for d in data["dimensions"] for s in d["subcategories"] for q in s["questions"]}
    assert len(questions) == SAMPLE_COUNTS["questions"]
    assert questions["consejo_mujeres"]["relevant"] == "consejo_vigente == true"
    assert [o["value"] for o in questions["actas_al_dia"]["options"]] == ["si", "parcial", "no"]
    assert questions["junta_anual"]["scored"] is True and questions["activo_corriente"]["scored"] is False

    for path in (QUESTIONNAIRES, f"{QUESTIONNAIRES}/{version_id}", f"{QUESTIONNAIRES}/{version_id}/definition"):
        assert env.client.get(path).status_code == 401
    for path in (f"{QUESTIONNAIRES}/9999", f"{QUESTIONNAIRES}/9999/definition"):
        assert env.client.get(path, headers=headers["manager"]).status_code == 404

    add_version(env, "2026.2")
    created = env.client.post(ROUNDS, json=round_body(), headers=headers["admin"]).json()
    add_response(env, created["id"])
    listed = env.client.get(
        QUESTIONNAIRES, params={"questionnaire_id": "prueba-mini"}, headers=headers["analyst"]
    ).json()
    assert [(i["version"], i["rounds"], i["responses"]) for i in listed["items"]] == [
        ("2026.1", 1, 1),
        ("2026.2", 0, 0),
    ]
    assert (
        env.client.get(QUESTIONNAIRES, params={"questionnaire_id": "otro"}, headers=headers["analyst"]).json()["total"]
        == 0
    )


# --------------------------------------------------------------------------- coopdiag questionnaire load


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=Path(__file__).resolve().parent.parent,
    )


def test_questionnaire_load_cli(tmp_path: Path, monkeypatch, capsys):
    from app.db import session_scope, upgrade_database

    database_url = f"sqlite:///{(tmp_path / 'cli.db').as_posix()}"
    upgrade_database("head", database_url=database_url)
    folder = tmp_path / "cuestionarios"
    folder.mkdir()
    (folder / "mini.yaml").write_text(sample_questionnaire(), encoding="utf-8")
    env = {**os.environ, "COOPDIAG_DATABASE_URL": database_url, "COOPDIAG_QUESTIONNAIRES_DIR": str(folder)}

    first = run_cli("questionnaire", "load", env=env)  # default folder: the configured one
    assert first.returncode == 0, first.stderr
    assert "Registrado" in first.stdout and "prueba-mini" in first.stdout and "2026.1" in first.stdout
    # In-process (faster) for the simple cases: one file, a missing path.
    from app.cli import main
    from app.settings import get_settings

    monkeypatch.setenv("COOPDIAG_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        assert main(["questionnaire", "load", str(folder / "mini.yaml")]) == 0
        assert "Sin cambios" in capsys.readouterr().out
        with pytest.raises(SystemExit) as missing:
            main(["questionnaire", "load", str(tmp_path / "no-existe")])
        assert missing.value.code == 2 and "no-existe" in capsys.readouterr().err
    finally:
        monkeypatch.delenv("COOPDIAG_DATABASE_URL")
        get_settings.cache_clear()

    # A changed file under the registered version is refused, naming file, id and version.
    (folder / "mini.yaml").write_text(sample_questionnaire(title="Título cambiado"), encoding="utf-8")
    (folder / "nuevo.yaml").write_text(sample_questionnaire(version="2026.2"), encoding="utf-8")
    changed = run_cli("questionnaire", "load", str(folder), env=env)
    assert changed.returncode == 2
    assert "mini.yaml" in changed.stderr and "prueba-mini" in changed.stderr and "2026.1" in changed.stderr
    assert "Traceback" not in changed.stderr
    with session_scope(database_url) as session:
        # nothing registered, not even the new file
        assert [row.version for row in session.scalars(select(QuestionnaireVersion))] == ["2026.1"]
        version_id = session.scalar(select(QuestionnaireVersion.id))
        diagnosis_round = DiagnosisRound(
            name="R", questionnaire_version_id=version_id, opens_on=date(2026, 1, 1), closes_on=date(2026, 12, 31)
        )
        cooperative = Cooperative(rut="76000000-0", name="C", legal_type="agricola", region_code=7, sectors=[])
        session.add_all([diagnosis_round, cooperative])
        session.flush()
        session.add(Response(cooperative_id=cooperative.id, round_id=diagnosis_round.id, mode="self", answers={}))

    used = run_cli("questionnaire", "load", str(folder), env=env)
    assert used.returncode == 2
    assert "1 respuesta" in used.stderr and "inmutable" in used.stderr

    (folder / "mini.yaml").write_text(sample_questionnaire(), encoding="utf-8")  # restored
    (folder / "roto.yaml").write_text("id: roto\n", encoding="utf-8")
    partial = run_cli("questionnaire", "load", str(folder), env=env)
    assert partial.returncode == 2  # a broken file is reported; the others are registered
    assert "roto.yaml" in partial.stderr and "Registrado" in partial.stdout and "2026.2" in partial.stdout
