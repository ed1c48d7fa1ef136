"""Rescoring a round with the current method: preview, adoption as new revisions, the CLI and
the analyst's page. A method-1 snapshot is made by turning a stored result back into what
method 1 stored: no ``method`` key, «No sé» scored 0 and the lights of that day.

Every test runs on SQLite and on PostgreSQL (``api_env``).
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

import scoring
from app.responses import rescoring
from app.responses.models import Response, ResponseEvent
from app.unit_of_work import UnitOfWork
from test_responses import COMPLETE, create, make_world
from test_web_analyst import login

ROOT = Path(__file__).resolve().parent.parent


def _as_method_1(snapshot: dict) -> dict:
    """What method 1 stored for these answers: no method, ns scored 0, and (here) every light green."""
    old = copy.deepcopy(snapshot)
    old.pop("method", None)
    old["overall"]["light"] = "green"
    for dimension in old["dimensions"]:
        dimension["light"] = "green"
        for sub in dimension["subcategories"]:
            sub.pop("critical_unknown", None)
            for question in sub["questions"]:
                if question["status"] == "ns":
                    question["score"] = 0.0
    return old


@pytest.fixture
def rescore_world(api_env):
    world = make_world(api_env)
    _, manager = api_env.user("manager", cooperatives=[world.coop_a, world.coop_b])
    ids = []
    for coop in (world.coop_a, world.coop_b):
        created = create(api_env, manager, world, coop=coop)
        assert created.status_code == 201, created.text
        body = created.json()
        answers = {**COMPLETE, "junta_anual": "ns"} if coop == world.coop_a else COMPLETE
        saved = api_env.client.patch(
            f"/api/v1/responses/{body['id']}/answers",
            headers=manager,
            json={"version": body["version"], "answers": answers},
        )
        assert saved.status_code == 200, saved.text
        sent = api_env.client.post(
            f"/api/v1/responses/{body['id']}/submit", headers=manager, json={"version": saved.json()["version"]}
        )
        assert sent.status_code == 200, sent.text
        ids.append(body["id"])
    # The first cooperative's result is turned into a method-1 snapshot; the second stays method 2.
    with api_env.session() as session:
        response = session.get(Response, ids[0])
        response.result_snapshot = _as_method_1(response.result_snapshot)
        session.commit()
        method_1 = copy.deepcopy(response.result_snapshot)
    return world, ids, method_1


def test_snapshot_method_reads_old_and_new_snapshots():
    assert rescoring.snapshot_method({"overall": {}}) == 1
    assert rescoring.snapshot_method(None) == 1
    assert rescoring.snapshot_method({"method": 2}) == 2
    assert rescoring.snapshot_method({"method": True}) == 1


def test_preview_lists_changes_and_writes_nothing(api_env, rescore_world):
    world, ids, method_1 = rescore_world
    with api_env.session() as session:
        before = session.scalars(select(Response.id).order_by(Response.id)).all()
        plan = rescoring.plan(session=session, user=None, round_id=world.round_id)
    assert [item.response_id for item in plan.rescored] == [ids[0]]
    assert plan.current == 1
    item = plan.rescored[0]
    assert item.old_method == 1
    # junta_anual answered «No sé»: a critical unknown, so the junta subcategory cannot be green
    # and the gobernanza dimension is no longer green.
    assert ("gobernanza", "green", "yellow") in item.changes
    assert item.new_snapshot["method"] == scoring.METHOD
    junta = item.new_snapshot["dimensions"][0]["subcategories"][0]
    assert junta["critical_unknown"] == ["junta_anual"]
    with api_env.session() as session:
        assert session.scalars(select(Response.id).order_by(Response.id)).all() == before
        assert session.get(Response, ids[0]).result_snapshot == method_1


def test_adopt_writes_a_new_revision_and_keeps_the_old_result(api_env, rescore_world):
    world, ids, method_1 = rescore_world
    _, analyst = api_env.user("analyst")
    with api_env.session() as session, UnitOfWork(session):
        result = rescoring.adopt(session=session, user=None, round_id=world.round_id)
    new_id = result.rescored[0].new_response_id
    with api_env.session() as session:
        old = session.get(Response, ids[0])
        new = session.get(Response, new_id)
        assert old.result_snapshot == method_1 and not old.is_current
        assert new.is_current and new.revision == old.revision + 1 and new.previous_revision_id == old.id
        assert new.status == old.status == "submitted" and new.answers == old.answers
        assert new.submitted_at == old.submitted_at
        assert new.result_snapshot["method"] == scoring.METHOD
        assert new.snapshot_questionnaire_version_id == old.snapshot_questionnaire_version_id
        events = session.scalars(select(ResponseEvent).where(ResponseEvent.response_id == new_id)).all()
        assert [e.kind for e in events] == ["rescored"]
        assert events[0].old_value["method"] == 1 and events[0].new_value["method"] == scoring.METHOD
        assert events[0].old_value["lights"]["gobernanza"] == "green"
        assert events[0].new_value["lights"]["gobernanza"] == "yellow"
        # The other response already had the current method: untouched.
        assert session.get(Response, ids[1]).is_current
    # The API gives the new result; the old revision stays readable with its method-1 result.
    shown = api_env.client.get(f"/api/v1/responses/{new_id}/result", headers=analyst).json()
    assert shown["result"]["method"] == scoring.METHOD
    kept = api_env.client.get(f"/api/v1/responses/{ids[0]}/result", headers=analyst).json()
    assert kept["result"] == method_1
    # Adopting again changes nothing.
    with api_env.session() as session, UnitOfWork(session):
        again = rescoring.adopt(session=session, user=None, round_id=world.round_id)
    assert again.rescored == [] and again.current == 2


def test_only_analysts_may_rescore(api_env, rescore_world):
    world, _, _ = rescore_world
    manager, _ = api_env.user("manager", cooperatives=[world.coop_a])
    with api_env.session() as session, pytest.raises(rescoring.Forbidden):
        rescoring.plan(session=session, user=session.merge(manager), round_id=world.round_id)


def _cli(args, env):
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args], env=env, capture_output=True, text=True, timeout=120, cwd=ROOT
    )


def test_cli_dry_run_then_adopt(api_env, rescore_world):
    world, ids, method_1 = rescore_world
    env = {**os.environ, "COOPDIAG_DATABASE_URL": api_env.settings.database_url, "PYTHONPATH": str(ROOT)}
    dry = _cli(["rescore", "--round", "Ronda 2026", "--dry-run"], env)
    assert dry.returncode == 0, dry.stderr
    assert f"respuesta {ids[0]} · Cooperativa Campesina Los Aromos" in dry.stdout
    assert "Gobernanza verde → amarillo" in dry.stdout or "verde → amarillo" in dry.stdout
    assert "Simulación (--dry-run): no se guardó nada." in dry.stdout
    with api_env.session() as session:
        assert session.get(Response, ids[0]).is_current
    done = _cli(["rescore", "--round", str(world.round_id)], env)
    assert done.returncode == 0, done.stderr
    assert "Se guardó una nueva revisión de 1 respuesta" in done.stdout
    with api_env.session() as session:
        assert not session.get(Response, ids[0]).is_current
        assert session.get(Response, ids[0]).result_snapshot == method_1
    again = _cli(["rescore", "--round", str(world.round_id), "--dry-run"], env)
    assert "no hay nada que recalcular" in again.stdout
    missing = _cli(["rescore", "--round", "No existe"], env)
    assert missing.returncode == 2 and "no existe la ronda «No existe»" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_analyst_page_preview_and_adopt(api_env, rescore_world):
    world, ids, method_1 = rescore_world
    analyst, _ = api_env.user("analyst")
    client, csrf = login(api_env, analyst)
    round_page = client.get(f"/analisis/rondas/{world.round_id}")
    assert f"/analisis/rondas/{world.round_id}/recalcular" in round_page.text
    preview = client.get(f"/analisis/rondas/{world.round_id}/recalcular")
    assert preview.status_code == 200
    assert 'id="por-recalcular">1<' in preview.text and 'id="cambian">1<' in preview.text
    assert "Cooperativa Campesina Los Aromos" in preview.text and "Gobernanza" in preview.text
    refused = client.post(f"/analisis/rondas/{world.round_id}/recalcular", data={})
    assert refused.status_code == 403  # no CSRF token
    done = client.post(
        f"/analisis/rondas/{world.round_id}/recalcular", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert done.status_code == 303
    after = client.get(done.headers["location"])
    assert "Se recalculó 1 resultado con el método 2" in after.text
    assert "no hay nada que recalcular" in after.text
    with api_env.session() as session:
        assert session.get(Response, ids[0]).result_snapshot == method_1
        assert not session.get(Response, ids[0]).is_current
