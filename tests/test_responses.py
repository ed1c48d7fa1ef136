"""Responses API: lifecycle, idempotent creation, autosave, concurrency, audit trail, results.

Every test runs on SQLite and on PostgreSQL (``api_env``).
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import func, select

import scoring
from app.cooperatives.models import Cooperative
from app.questionnaires.models import QuestionnaireVersion
from app.responses.models import Response, ResponseEvent
from app.responses.service import snapshot_of
from app.rounds.models import DiagnosisRound
from conftest import sample_questionnaire

COMPLETE = {
    "junta_anual": True,
    "actas_al_dia": "parcial",
    "consejo_vigente": True,
    "consejo_mujeres": False,
    "activo_corriente": 1500000,
    "pasivo_corriente": 1000000,
}

INTERVIEW = {
    "interviewer_name": "Ana Pérez",
    "institution": "Universidad de Talca",
    "interview_date": "2026-10-05",
    "interview_place": "Sede de la cooperativa, Talca",
    "interviewee_role": "Gerente",
}


@dataclass
class World:
    coop_a: int
    coop_b: int
    round_id: int
    closed_round_id: int
    version_id: int


def make_world(env) -> World:
    with env.session() as session:
        version = session.scalar(
            select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == "prueba-mini")
        )
        coop_a = Cooperative(
            rut="76123456-0",
            name="Cooperativa Campesina Los Aromos",
            legal_type="campesina",
            region_code=13,
            sectors=["hortalizas"],
        )
        coop_b = Cooperative(
            rut="65000000-5",
            name="Cooperativa Agrícola Lago Sur",
            legal_type="agricola",
            region_code=9,
            sectors=["leche"],
        )
        open_round = DiagnosisRound(
            name="Ronda 2026",
            questionnaire_version_id=version.id,
            opens_on=date(2026, 1, 1),
            closes_on=date(2026, 12, 31),
            state="open",
        )
        closed_round = DiagnosisRound(
            name="Ronda 2025",
            questionnaire_version_id=version.id,
            opens_on=date(2025, 1, 1),
            closes_on=date(2025, 12, 31),
            state="closed",
        )
        session.add_all([coop_a, coop_b, open_round, closed_round])
        session.commit()
        return World(coop_a.id, coop_b.id, open_round.id, closed_round.id, version.id)


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def create(env, headers, world: World, *, coop=None, mode="self", round_id=None, idem=None, **extra):
    body = {"cooperative_id": coop or world.coop_a, "round_id": round_id or world.round_id, "mode": mode, **extra}
    if mode == "interview":
        body = {**INTERVIEW, **body}
    return env.client.post("/api/v1/responses", json=body, headers={**headers, **(idem or key())})


def questionnaire() -> scoring.Questionnaire:
    return scoring.load_questionnaire(sample_questionnaire())


@pytest.fixture
def world(api_env) -> World:
    return make_world(api_env)


def test_lifecycle_end_to_end(api_env, world):
    env = api_env
    manager, mh = env.user("manager", cooperatives=[world.coop_a], password=None)
    analyst, ah = env.user("analyst", password=None)

    r = create(env, mh, world, answers={"junta_anual": True})
    assert r.status_code == 201, r.text
    body = r.json()
    rid = body["id"]
    assert body["status"] == "draft" and body["version"] == 1 and body["revision"] == 1
    assert body["answers"] == {"junta_anual": True}
    assert r.headers["ETag"] == '"1"'

    # autosave a partial set
    r = env.client.patch(
        f"/api/v1/responses/{rid}/answers", json={"answers": {"actas_al_dia": "si"}, "version": 1}, headers=mh
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2 and r.headers["ETag"] == '"2"'

    # the live preview before submission
    r = env.client.get(f"/api/v1/responses/{rid}/result", headers=mh)
    assert r.status_code == 200 and r.json()["preview"] is True
    assert r.json()["result"] == snapshot_of(
        scoring.score(questionnaire(), {"junta_anual": True, "actas_al_dia": "si"})
    )

    # submit refused, listing what is missing
    r = env.client.post(f"/api/v1/responses/{rid}/submit", json={"version": 2}, headers=mh)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "missing_required"
    assert set(error["missing"]) == {"consejo_vigente", "activo_corriente", "pasivo_corriente"}
    assert {d["field"] for d in error["details"]} == {
        "answers.consejo_vigente",
        "answers.activo_corriente",
        "answers.pasivo_corriente",
    }
    assert env.client.get(f"/api/v1/responses/{rid}", headers=mh).json()["status"] == "draft"

    # complete (If-Match instead of a body version) and submit
    r = env.client.patch(
        f"/api/v1/responses/{rid}/answers", json={"answers": COMPLETE}, headers={**mh, "If-Match": '"2"'}
    )
    assert r.status_code == 200, r.text
    r = env.client.post(f"/api/v1/responses/{rid}/submit", json={"version": 3}, headers=mh)
    assert r.status_code == 200, r.text
    submitted = r.json()
    assert submitted["status"] == "submitted" and submitted["submitted_by_id"] == manager.id
    assert submitted["snapshot_questionnaire_version_id"] == world.version_id
    expected = snapshot_of(scoring.score(questionnaire(), COMPLETE))
    assert {k: v for k, v in expected["overall"].items() if k != "capped"} == scoring.score(
        questionnaire(), COMPLETE
    ).to_dict()["overall"]
    with env.session() as session:
        assert session.get(Response, rid).result_snapshot == expected
    assert submitted["result_summary"]["overall"] == expected["overall"]
    r = env.client.get(f"/api/v1/responses/{rid}/result", headers=mh)
    assert r.json()["preview"] is False and r.json()["result"] == expected

    # a submitted response is not editable
    r = env.client.patch(
        f"/api/v1/responses/{rid}/answers", json={"answers": {"junta_anual": False}, "version": 4}, headers=mh
    )
    assert r.status_code == 409 and "enviada" in r.json()["error"]["message"]

    # return with a comment; the author sees it and may edit and resubmit
    r = env.client.post(f"/api/v1/responses/{rid}/return", json={"comment": "   ", "version": 4}, headers=ah)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "comment"
    r = env.client.post(
        f"/api/v1/responses/{rid}/return", json={"comment": "Revisar el pasivo corriente", "version": 4}, headers=ah
    )
    assert r.status_code == 200, r.text
    r = env.client.get(f"/api/v1/responses/{rid}", headers=mh)
    assert r.json()["status"] == "returned" and r.json()["return_comment"] == "Revisar el pasivo corriente"
    assert r.json()["version"] == 5
    r = env.client.patch(
        f"/api/v1/responses/{rid}/answers", json={"answers": {"pasivo_corriente": 500000}, "version": 5}, headers=mh
    )
    assert r.status_code == 200, r.text
    r = env.client.post(f"/api/v1/responses/{rid}/submit", json={"version": 6}, headers=mh)
    assert r.status_code == 200, r.text
    final_answers = {**COMPLETE, "pasivo_corriente": 500000}
    assert (
        r.json()["result_summary"]["overall"] == snapshot_of(scoring.score(questionnaire(), final_answers))["overall"]
    )

    # validate; validating again names the current status
    r = env.client.post(f"/api/v1/responses/{rid}/validate", json={"version": 7}, headers=ah)
    assert r.status_code == 200 and r.json()["status"] == "validated" and r.json()["validated_by_id"] == analyst.id
    r = env.client.post(f"/api/v1/responses/{rid}/validate", json={"version": 8}, headers=ah)
    assert r.status_code == 409 and "validada" in r.json()["error"]["message"]
    with env.session() as session:
        before = session.get(Response, rid)
        frozen = {
            c: getattr(before, c)
            for c in ("answers", "status", "version", "result_snapshot", "submitted_at", "validated_at", "revision")
        }

    # reopen: revision 2 in draft, revision 1 untouched
    r = env.client.post(f"/api/v1/responses/{rid}/reopen", json={"version": 8, "comment": "Nuevo balance"}, headers=ah)
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["id"] != rid and new["revision"] == 2 and new["status"] == "draft" and new["is_current"] is True
    assert new["previous_revision_id"] == rid and new["answers"] == final_answers and new["version"] == 1
    assert new["result_summary"] is None
    with env.session() as session:
        old = session.get(Response, rid)
        assert {c: getattr(old, c) for c in frozen} == frozen
        assert old.is_current is False
    r = env.client.get(f"/api/v1/responses/{rid}/revisions", headers=mh)
    assert [(i["revision"], i["is_current"], i["status"]) for i in r.json()["items"]] == [
        (1, False, "validated"),
        (2, True, "draft"),
    ]
    r = env.client.post(f"/api/v1/responses/{rid}/reopen", json={"version": 8}, headers=ah)
    assert r.status_code == 409
    # the list shows the current revision only, unless asked
    r = env.client.get("/api/v1/responses", params={"round_id": world.round_id}, headers=mh)
    assert [i["id"] for i in r.json()["items"]] == [new["id"]]
    r = env.client.get("/api/v1/responses", params={"current_only": "false"}, headers=mh)
    assert r.json()["total"] == 2
    # the new revision can be edited by the manager again
    r = env.client.patch(
        f"/api/v1/responses/{new['id']}/answers", json={"answers": {"junta_anual": False}, "version": 1}, headers=mh
    )
    assert r.status_code == 200


def test_idempotent_create_and_one_response_per_round(api_env, world):
    env = api_env
    _, mh = env.user("manager", cooperatives=[world.coop_a, world.coop_b], password=None)
    idem = key()
    first = create(env, mh, world, idem=idem)
    again = create(env, mh, world, idem=idem)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    with env.session() as session:
        assert session.scalar(select(func.count()).select_from(Response)) == 1

    # the same key and cooperative with other content → 422: a retry repeats its request,
    # and new answers must not be dropped silently
    changed = create(env, mh, world, idem=idem, answers={"junta_anual": True})
    assert changed.status_code == 422, changed.text
    error = changed.json()["error"]
    assert error["code"] == "idempotency_key_mismatch" and error["existing_id"] == first.json()["id"]
    assert "ya se usó con otros datos" in error["message"]
    # answers sent as null are the same request as no answers
    assert create(env, mh, world, idem=idem, answers={"junta_anual": None}).status_code == 200

    # the same key for another cooperative → 409
    r = create(env, mh, world, coop=world.coop_b, idem=idem)
    assert r.status_code == 409 and r.json()["error"]["code"] == "idempotency_key_reused"
    # a second response for the same cooperative and round → 409 naming the existing one
    r = create(env, mh, world)
    assert r.status_code == 409
    assert r.json()["error"]["existing_id"] == first.json()["id"]
    # the key is required
    body = {"cooperative_id": world.coop_b, "round_id": world.round_id, "mode": "self"}
    r = env.client.post("/api/v1/responses", json=body, headers=mh)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "Idempotency-Key"
    # closed round → 409 in Spanish
    r = create(env, mh, world, coop=world.coop_b, round_id=world.closed_round_id)
    assert (
        r.status_code == 409
        and r.json()["error"]["code"] == "round_not_open"
        and "cerrada" in r.json()["error"]["message"]
    )
    with env.session() as session:
        assert session.scalar(select(func.count()).select_from(Response)) == 1


def test_create_validation(api_env, world):
    env = api_env
    _, fh = env.user("field", cooperatives=[world.coop_a], institution="Universidad de Talca", password=None)
    # interview details are required for interviews
    body = {"cooperative_id": world.coop_a, "round_id": world.round_id, "mode": "interview", "interviewer_name": "Ana"}
    r = env.client.post("/api/v1/responses", json=body, headers={**fh, **key()})
    assert r.status_code == 422
    assert {d["field"] for d in r.json()["error"]["details"]} == {
        "institution",
        "interview_date",
        "interview_place",
        "interviewee_role",
    }
    # invalid initial answers are refused with their id, nothing created
    r = create(env, fh, world, mode="interview", answers={"activo_corriente": "mucho"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "answers.activo_corriente"
    r = env.client.post(
        "/api/v1/responses", json={"cooperative_id": world.coop_a, "mode": "self"}, headers={**fh, **key()}
    )
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "round_id"
    with env.session() as session:
        assert session.scalar(select(func.count()).select_from(Response)) == 0
    r = create(env, fh, world, mode="interview")
    assert r.status_code == 201 and r.json()["interview_date"] == "2026-10-05"
    rid = r.json()["id"]
    # interview details can be patched with the version; a blank required one is refused
    r = env.client.patch(f"/api/v1/responses/{rid}", json={"interview_place": "  ", "version": 1}, headers=fh)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "interview_place"
    r = env.client.patch(
        f"/api/v1/responses/{rid}", json={"interview_place": "Predio de un socio", "version": 1}, headers=fh
    )
    assert r.status_code == 200 and r.json()["interview_place"] == "Predio de un socio" and r.json()["version"] == 2
    r = env.client.patch(f"/api/v1/responses/{rid}", json={"interviewee_role": "Presidente", "version": 1}, headers=fh)
    assert r.status_code == 409 and r.json()["error"]["current"]["interview_place"] == "Predio de un socio"
    events = env.client.get(f"/api/v1/responses/{rid}/history", headers=fh).json()["items"]
    assert events[-1]["kind"] == "details_changed"
    assert events[-1]["old_value"] == {"interview_place": "Sede de la cooperativa, Talca"}
    assert events[-1]["new_value"] == {"interview_place": "Predio de un socio"}


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_idempotent_create_race_on_postgresql(api_env, world):
    """Two requests with the same key at the same moment: one row, both get it."""
    env = api_env
    _, mh = env.user("manager", cooperatives=[world.coop_a], password=None)
    idem = key()
    barrier = threading.Barrier(4)
    results = []

    def attempt():
        barrier.wait()
        results.append(create(env, mh, world, idem=idem))

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.status_code for r in results) == [200, 200, 200, 201], [r.text for r in results]
    assert len({r.json()["id"] for r in results}) == 1
    with env.session() as session:
        assert session.scalar(select(func.count()).select_from(Response)) == 1
        assert (
            session.scalar(select(func.count()).select_from(ResponseEvent).where(ResponseEvent.kind == "created")) == 1
        )


def test_invalid_answer_refused_and_nothing_applied(api_env, world):
    env = api_env
    _, mh = env.user("manager", cooperatives=[world.coop_a], password=None)
    rid = create(env, mh, world, answers={"junta_anual": True}).json()["id"]
    r = env.client.patch(
        f"/api/v1/responses/{rid}/answers",
        json={
            "answers": {"actas_al_dia": "si", "activo_corriente": -5, "no_existe": 1, "razon_corriente": 2},
            "version": 1,
        },
        headers=mh,
    )
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "invalid_answers"
    assert {d["field"] for d in error["details"]} == {
        "answers.activo_corriente",
        "answers.no_existe",
        "answers.razon_corriente",
    }
    assert all(d["message"] for d in error["details"])
    current = env.client.get(f"/api/v1/responses/{rid}", headers=mh).json()
    assert current["answers"] == {"junta_anual": True} and current["version"] == 1
    # a missing version is refused, not applied
    r = env.client.patch(f"/api/v1/responses/{rid}/answers", json={"answers": {"actas_al_dia": "si"}}, headers=mh)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "version"
    # null removes an answer; an unchanged value is not recorded; nothing changed keeps the version
    r = env.client.patch(
        f"/api/v1/responses/{rid}/answers",
        json={"answers": {"junta_anual": None, "actas_al_dia": "si"}, "version": 1},
        headers=mh,
    )
    assert r.json()["answers"] == {"actas_al_dia": "si"} and r.json()["version"] == 2
    r = env.client.patch(
        f"/api/v1/responses/{rid}/answers", json={"answers": {"actas_al_dia": "si"}, "version": 2}, headers=mh
    )
    assert r.status_code == 200 and r.json()["version"] == 2


def test_stale_version_gets_current_state(api_env, world):
    env = api_env
    _, mh = env.user("manager", cooperatives=[world.coop_a], password=None)
    _, mh2 = env.user("manager", cooperatives=[world.coop_a], password=None)
    rid = create(env, mh, world).json()["id"]
    assert (
        env.client.patch(
            f"/api/v1/responses/{rid}/answers", json={"answers": {"junta_anual": True}, "version": 1}, headers=mh
        ).status_code
        == 200
    )
    r = env.client.patch(
        f"/api/v1/responses/{rid}/answers", json={"answers": {"junta_anual": False}, "version": 1}, headers=mh2
    )
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "stale_version"
    assert error["current"]["answers"] == {"junta_anual": True} and error["current"]["version"] == 2
    assert r.headers["ETag"] == '"2"'
    r = env.client.post(f"/api/v1/responses/{rid}/submit", headers={**mh2, "If-Match": '"1"'})
    assert r.status_code == 409
    assert env.client.get(f"/api/v1/responses/{rid}", headers=mh).json()["answers"] == {"junta_anual": True}


def test_concurrent_autosaves_never_overwrite(api_env, world):
    """Writers racing on the same version: exactly one wins, the others get 409."""
    env = api_env
    _, mh = env.user("manager", cooperatives=[world.coop_a], password=None)
    rid = create(env, mh, world).json()["id"]
    barrier = threading.Barrier(4)
    results = []

    def save(value):
        barrier.wait()
        results.append(
            env.client.patch(
                f"/api/v1/responses/{rid}/answers",
                json={"answers": {"activo_corriente": value}, "version": 1},
                headers=mh,
            )
        )

    threads = [threading.Thread(target=save, args=(v,)) for v in (10, 20, 30, 40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409, 409, 409], [r.text for r in results]
    winner = next(r for r in results if r.status_code == 200).json()
    with env.session() as session:
        row = session.get(Response, rid)
        assert row.version == 2 and row.answers == winner["answers"]
        assert (
            session.scalar(
                select(func.count()).select_from(ResponseEvent).where(ResponseEvent.kind == "answer_changed")
            )
            == 1
        )


def test_audit_trail(api_env, world):
    env = api_env
    manager, mh = env.user("manager", cooperatives=[world.coop_a], password=None)
    analyst, ah = env.user("analyst", password=None)
    rid = create(env, mh, world, answers={"junta_anual": True}).json()["id"]
    env.client.patch(
        f"/api/v1/responses/{rid}/answers",
        json={"answers": {"junta_anual": False, "actas_al_dia": "si", "consejo_vigente": None}, "version": 1},
        headers=mh,
    )
    env.client.patch(
        f"/api/v1/responses/{rid}/answers",
        json={"answers": {**COMPLETE, "junta_anual": False, "actas_al_dia": "si"}, "version": 2},
        headers=mh,
    )
    env.client.post(f"/api/v1/responses/{rid}/submit", json={"version": 3}, headers=mh)
    env.client.post(f"/api/v1/responses/{rid}/return", json={"comment": "Falta el acta", "version": 4}, headers=ah)

    r = env.client.get(f"/api/v1/responses/{rid}/history", headers=mh)
    assert r.status_code == 200
    page = r.json()
    items = page["items"]
    kinds = [i["kind"] for i in items]
    assert kinds[0] == "created" and kinds[-2:] == ["submitted", "returned"]
    changes = [(i["question_id"], i["old_value"], i["new_value"]) for i in items if i["kind"] == "answer_changed"]
    assert changes[:3] == [("junta_anual", None, True), ("junta_anual", True, False), ("actas_al_dia", None, "si")]
    # consejo_vigente: null over nothing is not a change; the unchanged ones in the 2nd save are not recorded
    assert ("actas_al_dia", "si", "si") not in changes and ("junta_anual", False, False) not in changes
    assert {q for q, _, _ in changes[3:]} == {
        "consejo_vigente",
        "consejo_mujeres",
        "activo_corriente",
        "pasivo_corriente",
    }
    first = items[0]
    assert first["user_id"] == manager.id and first["user_name"] == manager.full_name
    assert first["at"].startswith("20") and ("+00:00" in first["at"] or first["at"].endswith("Z"))
    assert items[-1]["user_id"] == analyst.id and items[-1]["comment"] == "Falta el acta"
    assert page["total"] == len(items)
    # oldest first, paginated
    ids = [i["id"] for i in items]
    assert ids == sorted(ids)
    r = env.client.get(f"/api/v1/responses/{rid}/history", params={"per_page": 2, "page": 2}, headers=mh)
    assert [i["id"] for i in r.json()["items"]] == ids[2:4] and r.json()["total"] == len(ids)


def test_snapshot_is_read_back_not_recomputed(api_env, world):
    env = api_env
    _, mh = env.user("manager", cooperatives=[world.coop_a], password=None)
    rid = create(env, mh, world, answers=COMPLETE).json()["id"]
    assert env.client.post(f"/api/v1/responses/{rid}/submit", json={"version": 1}, headers=mh).status_code == 200
    original = env.client.get(f"/api/v1/responses/{rid}/result", headers=mh).json()["result"]

    # The rules change: a new questionnaire version (every question weighted differently, no criticals)
    # replaces the round's version; the stored result must not move.
    changed = (
        sample_questionnaire(version="2026.2")
        .replace("critical: true", "critical: false")
        .replace("score: 0.5}", "score: 0}")
    )
    with env.session() as session:
        new_version = QuestionnaireVersion(
            questionnaire_id="prueba-mini",
            version="2026.2",
            title="x",
            content_hash=hashlib.sha256(changed.encode()).hexdigest(),
            source=changed,
        )
        session.add(new_version)
        session.flush()
        session.get(DiagnosisRound, world.round_id).questionnaire_version_id = new_version.id
        session.commit()
    rescored = snapshot_of(scoring.score(scoring.load_questionnaire(changed), COMPLETE))
    assert rescored != original
    r = env.client.get(f"/api/v1/responses/{rid}/result", headers=mh).json()
    assert r["preview"] is False and r["result"] == original and r["questionnaire_version_id"] == world.version_id

    # and it is the stored value that is served: tamper with it and read the tampered value back
    with env.session() as session:
        row = session.get(Response, rid)
        row.result_snapshot = {**row.result_snapshot, "marker": "stored"}
        session.commit()
    assert env.client.get(f"/api/v1/responses/{rid}/result", headers=mh).json()["result"]["marker"] == "stored"


def test_list_filters_and_pagination(api_env, world):
    env = api_env
    _, ah = env.user("admin", password=None)
    a = create(env, ah, world, coop=world.coop_a).json()["id"]
    b = create(env, ah, world, coop=world.coop_b, mode="interview").json()["id"]
    r = env.client.get("/api/v1/responses", headers=ah).json()
    assert r["total"] == 2 and [i["id"] for i in r["items"]] == [a, b]
    assert env.client.get("/api/v1/responses", params={"mode": "interview"}, headers=ah).json()["items"][0]["id"] == b
    assert env.client.get("/api/v1/responses", params={"cooperative_id": world.coop_a}, headers=ah).json()["total"] == 1
    assert env.client.get("/api/v1/responses", params={"status": "submitted"}, headers=ah).json()["total"] == 0
    r = env.client.get("/api/v1/responses", params={"per_page": 1, "page": 2}, headers=ah).json()
    assert r["pages"] == 2 and [i["id"] for i in r["items"]] == [b]
    r = env.client.get("/api/v1/responses", params={"status": "perdida"}, headers=ah)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "status"
