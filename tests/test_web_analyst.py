"""Analyst web pages: round dashboard numbers and charts, filters, cooperative list and page,
response review (validate, return, reopen) with CSRF, and refusals for other roles (both DBs)."""

from __future__ import annotations

import re
import uuid
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

import scoring
from app.cooperatives.models import Cooperative
from app.questionnaires.models import QuestionnaireVersion
from app.responses import service as responses_service
from app.responses.models import Response
from app.rounds.models import DiagnosisRound
from tests.conftest import sample_questionnaire

GREEN = {
    "junta_anual": True,
    "actas_al_dia": "si",
    "consejo_vigente": True,
    "consejo_mujeres": True,
    "activo_corriente": 2_000_000,
    "pasivo_corriente": 1_000_000,
}
RED = {
    "junta_anual": False,
    "actas_al_dia": "no",
    "consejo_vigente": False,
    "activo_corriente": 500_000,
    "pasivo_corriente": 1_000_000,
}
MIXED = {
    "junta_anual": True,
    "actas_al_dia": "parcial",
    "consejo_vigente": True,
    "consejo_mujeres": False,
    "activo_corriente": 1_200_000,
    "pasivo_corriente": 1_000_000,
}


def login(env, user) -> tuple[TestClient, str]:
    client = TestClient(env.client.app)
    reply = client.post("/ingresar", data={"email": user.email, "password": "clave-segura-123"}, follow_redirects=False)
    assert reply.status_code == 303, reply.text
    return client, client.get("/api/v1/auth/me").json()["csrf_token"]


class World:
    pass


def make_world(env) -> World:
    w = World()
    admin, _ = env.user("admin")
    w.admin = admin
    with env.session() as session:
        version = session.scalar(
            select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == "prueba-mini")
        )
        coops = [
            Cooperative(
                rut="76123456-0",
                name="Cooperativa Campesina Los Aromos",
                legal_type="campesina",
                region_code=13,
                sectors=["hortalizas"],
            ),
            Cooperative(
                rut="65000000-5",
                name="Cooperativa Lechera Lago Sur",
                legal_type="campesina",
                region_code=9,
                sectors=["lacteos"],
            ),
            Cooperative(
                rut="70000000-0",
                name="Cooperativa Agrícola del Maule",
                legal_type="agricola",
                region_code=7,
                sectors=["fruticultura"],
            ),
            Cooperative(
                rut="71000000-8",
                name="Cooperativa Apícola Sin Respuesta",
                legal_type="campesina",
                region_code=13,
                sectors=["apicola"],
            ),
            Cooperative(
                rut="72000000-6",
                name="Cooperativa Costera Borrador",
                legal_type="servicios",
                region_code=5,
                sectors=["otro"],
            ),
            Cooperative(
                rut="73000000-4",
                name="Grupo Pendiente de Aprobación",
                legal_type="precooperativo",
                region_code=9,
                sectors=["otro"],
                approved=False,
            ),
        ]
        round_ = DiagnosisRound(
            name="Ronda nacional 2026",
            questionnaire_version_id=version.id,
            opens_on=date(2026, 1, 1),
            closes_on=date(2026, 12, 31),
            state="open",
        )
        session.add_all([*coops, round_])
        session.commit()
        w.coops = [c.id for c in coops]
        w.round_id = round_.id
        admin_user = session.merge(admin)
        w.responses = {}
        for coop_id, answers, submit in (
            (coops[0].id, GREEN, True),
            (coops[1].id, RED, True),
            (coops[2].id, MIXED, True),
            (coops[4].id, GREEN, False),
        ):
            response, _ = responses_service.create_response(
                session=session,
                user=admin_user,
                settings=env.settings,
                data={"cooperative_id": coop_id, "round_id": round_.id, "mode": "self"},
                idempotency_key=str(uuid.uuid4()),
            )
            response = responses_service.update_answers(
                session=session,
                user=admin_user,
                settings=env.settings,
                response_id=response.id,
                answers=answers,
                version=response.version,
            )
            if submit:
                response = responses_service.submit(
                    session=session,
                    user=admin_user,
                    settings=env.settings,
                    response_id=response.id,
                    version=response.version,
                )
            w.responses[coop_id] = response.id
        session.commit()
    return w


@pytest.fixture
def world(api_env) -> World:
    return make_world(api_env)


def table_counts(html: str, table_id: str) -> dict[str, dict[str, int]]:
    """{row label: {light: count}} of a dashboard table."""
    match = re.search(rf'<table class="numbers" id="{re.escape(table_id)}">(.*?)</table>', html, re.S)
    assert match, f"no table {table_id}"
    rows = {}
    for row in re.findall(r"<tr><th scope=\"row\">(.*?)</th>(.*?)</tr>", match.group(1), re.S):
        rows[row[0]] = {light: int(n) for light, n in re.findall(r'data-luz="(\w+)">(\d+)', row[1])}
    return rows


def expected_lights(dimension: str | None, *answer_sets) -> dict[str, int]:
    questionnaire = scoring.load_questionnaire(sample_questionnaire())
    counts: dict[str, int] = {}
    for answers in answer_sets:
        result = scoring.score(questionnaire, answers).to_dict()
        light = (
            result["overall"]["light"]
            if dimension is None
            else next(d["light"] for d in result["dimensions"] if d["id"] == dimension)
        )
        counts[light] = counts.get(light, 0) + 1
    return counts


def test_rounds_list_and_dashboard_numbers_match_the_data(api_env, world):
    analyst, _ = api_env.user("analyst")
    client, _ = login(api_env, analyst)
    page = client.get("/analisis")
    assert page.status_code == 200 and "Ronda nacional 2026" in page.text and "2026.1" in page.text
    assert '<td data-label="Respuestas" class="num">4</td>' in page.text  # 4 current responses

    board = client.get(f"/analisis/rondas/{world.round_id}")
    assert board.status_code == 200, board.text
    html = board.text
    assert 'id="estado-draft">1<' in html and 'id="estado-submitted">3<' in html and 'id="estado-validated">0<' in html
    assert (
        '<span id="sin-respuesta">1</span> cooperativa sin respuesta' in html
        and "Cooperativa Apícola Sin Respuesta" in html
    )
    assert "Grupo Pendiente" not in html  # not approved: not in the round's population
    for dimension, table in (
        (None, "tabla-__overall__-macrozona"),
        ("gobernanza", "tabla-gobernanza-macrozona"),
        ("finanzas", "tabla-finanzas-macrozona"),
    ):
        rows = table_counts(html, table)
        expected = expected_lights(dimension, GREEN, RED, MIXED)
        assert {k: v for k, v in rows["Todas"].items() if v} == expected, (dimension, rows)
        assert (
            sum(rows["Centro"].values()) == 1
            and sum(rows["Sur"].values()) == 1
            and sum(rows["Centro-Sur"].values()) == 1
        )
        assert rows["Sur"][expected_lights(dimension, RED).popitem()[0]] == 1
    # Charts: inline SVG, accessible, numbers in the description too
    assert (
        html.count('role="img"') >= 6
        and '<title id="grafico-0-macrozona-title">Resultado general: luces por macrozona</title>' in html
    )
    assert "<desc" in html and "Todas:" in html and 'fill="url(#cd-pat-red)"' in html
    assert "Metropolitana" in html  # by region


def test_dashboard_filters(api_env, world):
    analyst, _ = api_env.user("analyst")
    client, _ = login(api_env, analyst)
    south = client.get(f"/analisis/rondas/{world.round_id}", params={"macrozona": "Sur"}).text
    rows = table_counts(south, "tabla-__overall__-macrozona")
    assert list(rows) == ["Todas", "Sur"] and sum(rows["Todas"].values()) == 1
    assert 'id="estado-submitted">1<' in south and 'id="estado-draft">0<' in south
    agricola = client.get(f"/analisis/rondas/{world.round_id}", params={"tipo": "agricola"}).text
    assert list(table_counts(agricola, "tabla-gobernanza-macrozona")) == ["Todas", "Centro-Sur"]
    region = client.get(f"/analisis/rondas/{world.round_id}", params={"region": "13", "rubro": "apicola"}).text
    assert 'id="estado-submitted">0<' in region and "Cooperativa Apícola Sin Respuesta" in region
    # A hand-made bad value is ignored, not an error
    assert (
        client.get(f"/analisis/rondas/{world.round_id}", params={"region": "99", "macrozona": "<x>"}).status_code == 200
    )


def test_cooperative_list_search_filters_and_page(api_env, world):
    analyst, _ = api_env.user("analyst")
    client, csrf = login(api_env, analyst)
    listing = client.get("/analisis/cooperativas").text
    assert "6 cooperativas" in listing and "por aprobar" in listing
    by_name = client.get("/analisis/cooperativas", params={"q": "lechera"}).text
    assert "Lago Sur" in by_name and "Los Aromos" not in by_name
    by_rut = client.get("/analisis/cooperativas", params={"q": "76.123.456-0"}).text
    assert "Los Aromos" in by_rut and "Lago Sur" not in by_rut
    red = client.get("/analisis/cooperativas", params={"luz": "red"}).text
    assert "Lago Sur" in red and "Los Aromos" not in red and "1 cooperativa<" in red
    none = client.get("/analisis/cooperativas", params={"luz": "sin_resultado"}).text
    assert "Sin Respuesta" in none and "Borrador" in none and "Lago Sur" not in none
    zone = client.get("/analisis/cooperativas", params={"macrozona": "Sur", "tipo": "campesina"}).text
    assert "Lago Sur" in zone and "Los Aromos" not in zone and "Grupo Pendiente" not in zone

    page = client.get(f"/analisis/cooperativas/{world.coops[1]}")
    assert page.status_code == 200 and "Historial de diagnósticos" in page.text
    assert f'href="/analisis/respuestas/{world.responses[world.coops[1]]}"' in page.text
    assert 'class="chart timeline"' in page.text and '<title id="historial-luces-title">' in page.text
    assert "Ronda nacional 2026: rojo" in page.text  # the timeline's description

    pending = client.get(f"/analisis/cooperativas/{world.coops[5]}").text
    assert "Aprobar cooperativa" in pending
    assert client.post(f"/analisis/cooperativas/{world.coops[5]}/aprobar", data={}).status_code == 403
    done = client.post(
        f"/analisis/cooperativas/{world.coops[5]}/aprobar", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert done.status_code == 303
    assert "Aprobar cooperativa" not in client.get(f"/analisis/cooperativas/{world.coops[5]}").text


def test_review_validate_return_reopen(api_env, world):
    analyst, _ = api_env.user("analyst")
    client, csrf = login(api_env, analyst)
    green_id = world.responses[world.coops[0]]
    page = client.get(f"/analisis/respuestas/{green_id}")
    assert page.status_code == 200
    assert "Autodiagnóstico" in page.text and "¡Siga adelante!" in page.text and "Sí" in page.text
    assert "Historial de cambios" in page.text and "Envió la respuesta" in page.text
    assert "Sin respuesta → Sí" in page.text  # the audit trail in words
    version = re.search(r'name="version" value="(\d+)"', page.text).group(1)

    refused = client.post(f"/analisis/respuestas/{green_id}/validar", data={"version": version})
    assert refused.status_code == 403 and "CSRF" in refused.text
    stale = client.post(f"/analisis/respuestas/{green_id}/validar", data={"version": "1", "csrf_token": csrf})
    assert stale.status_code == 409 and "modificada por otra persona" in stale.text and "<html" in stale.text
    ok = client.post(
        f"/analisis/respuestas/{green_id}/validar",
        data={"version": version, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    validated = client.get(f"/analisis/respuestas/{green_id}").text
    assert 'id="estado">validada<' in validated and "Reabrir respuesta" in validated

    # Return needs a comment: the error is beside the field
    red_id = world.responses[world.coops[1]]
    red_page = client.get(f"/analisis/respuestas/{red_id}").text
    assert "Preguntas que bajaron la luz" in red_page and "crítica" in red_page
    red_version = re.search(r'name="version" value="(\d+)"', red_page).group(1)
    blank = client.post(
        f"/analisis/respuestas/{red_id}/devolver", data={"version": red_version, "comment": "  ", "csrf_token": csrf}
    )
    assert blank.status_code == 422 and 'id="comment-error"' in blank.text and 'aria-invalid="true"' in blank.text
    assert "Escriba qué debe corregirse" in blank.text
    long_text = "x" * 5001
    too_long = client.post(
        f"/analisis/respuestas/{red_id}/devolver",
        data={"version": red_version, "comment": long_text, "csrf_token": csrf},
    )
    assert too_long.status_code == 422 and long_text in too_long.text
    back = client.post(
        f"/analisis/respuestas/{red_id}/devolver",
        data={"version": red_version, "comment": "Revise la junta anual.", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert back.status_code == 303
    returned = client.get(f"/analisis/respuestas/{red_id}").text
    assert "devuelta para corrección" in returned and "Revise la junta anual." in returned

    # Reopen the validated one: revision 2
    v = re.search(r'name="version" value="(\d+)"', validated).group(1)
    reopened = client.post(
        f"/analisis/respuestas/{green_id}/reabrir",
        data={"version": v, "csrf_token": csrf, "reopen_comment": "Corregir"},
        follow_redirects=False,
    )
    assert reopened.status_code == 303
    new_page = client.get(reopened.headers["location"]).text
    assert "Revisión 2" in new_page and "borrador" in new_page
    with api_env.session() as session:
        rows = list(
            session.scalars(
                select(Response).where(Response.cooperative_id == world.coops[0]).order_by(Response.revision)
            )
        )
        assert [(r.revision, r.status, r.is_current) for r in rows] == [(1, "validated", False), (2, "draft", True)]
    again = client.post(f"/analisis/respuestas/{green_id}/reabrir", data={"version": v, "csrf_token": csrf})
    assert again.status_code == 409 and "ya fue reabierta" in again.text


def test_other_roles_are_refused(api_env, world):
    manager, _ = api_env.user("manager", cooperatives=[world.coops[0]])
    field, _ = api_env.user("field", macrozones=["Centro"], institution="U. de Talca")
    for user in (manager, field):
        client, csrf = login(api_env, user)
        for url in (
            "/analisis",
            f"/analisis/rondas/{world.round_id}",
            "/analisis/cooperativas",
            f"/analisis/cooperativas/{world.coops[0]}",
            f"/analisis/respuestas/{world.responses[world.coops[0]]}",
        ):
            reply = client.get(url)
            assert reply.status_code in (403, 404) and "<html" in reply.text, (user.role, url)
        post = client.post(
            f"/analisis/respuestas/{world.responses[world.coops[0]]}/validar", data={"version": "2", "csrf_token": csrf}
        )
        assert post.status_code in (403, 404)
    assert TestClient(api_env.client.app).get("/analisis", follow_redirects=False).status_code == 303


def test_cooperative_list_is_paginated(api_env, world):
    with api_env.session() as session:
        session.add_all(
            [
                Cooperative(
                    rut=f"{80000000 + i}-{i % 10}", name=f"Cooperativa Extra {i:02d}", legal_type="otra", region_code=4
                )
                for i in range(24)
            ]
        )
        session.commit()
    analyst, _ = api_env.user("analyst")
    client, _ = login(api_env, analyst)
    first = client.get("/analisis/cooperativas", params={"tipo": "otra"}).text
    assert "24 cooperativas" in first and "Página 1 de 1" in first
    everything = client.get("/analisis/cooperativas").text
    assert "30 cooperativas" in everything and "Página 1 de 2" in everything and 'rel="next"' in everything
    assert "pagina=2" in everything
    second = client.get("/analisis/cooperativas", params={"pagina": "2"}).text
    assert "Página 2 de 2" in second and len(re.findall(r'href="/analisis/cooperativas/\d+"', second)) == 5
    assert client.get("/analisis/cooperativas", params={"pagina": "abc"}).status_code == 200


def test_charts_escape_text_and_describe_the_numbers():
    from collections import Counter

    from app.web import charts
    from app.web.dashboard import Breakdown

    svg = charts.stacked_bars(
        "g1", "Luces <script>", [Breakdown("Región <b>", Counter(green=2, red=1))], ["green", "red"]
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&lt;b&gt;" in svg
    assert 'role="img"' in svg and '<title id="g1-title">' in svg
    assert "Región &lt;b&gt;: 2 verde, 1 rojo (total 3)" in svg
    timeline = charts.light_timeline("t1", "Historial", [("2025", "red"), ("2026", "green")])
    assert "2025: rojo; 2026: verde" in timeline and "<rect" in timeline and "<circle" in timeline
