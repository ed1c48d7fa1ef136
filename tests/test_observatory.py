"""The public Observatorio end to end, on SQLite and PostgreSQL: an analyst publishes a round,
the figures are computed on the queue (immediate in tests), validating or reopening a
diagnosis updates them, withdrawing removes them; the public pages and open data answer
anonymously, with ETags and public caching, the same bytes for everyone, and never a name,
RUT or free text of a cooperative. (The suppression rules themselves:
tests/test_observatory_disclosure.py.)"""

from __future__ import annotations

import csv
import io
import textwrap
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import select

import scoring
from app.auth.models import User
from app.cooperatives.models import Cooperative
from app.observatory import open_data, publishing, service, views
from app.observatory.models import Publication, PublicationEvent
from app.questionnaires.models import QuestionnaireVersion
from app.questionnaires.service import register_path
from app.responses import service as responses
from app.responses.lifecycle import snapshot_of
from app.responses.models import Response
from app.rounds.models import DiagnosisRound
from app.rounds.service import questionnaire_of_version
from app.unit_of_work import UnitOfWork
from test_report_queue import web_login

QUESTIONNAIRE = textwrap.dedent(
    """\
    id: observatorio-prueba
    version: "1"
    title: Cuestionario de prueba del observatorio
    dimensions:
      - id: gobernanza
        title: Gobernanza
        subcategories:
          - id: junta
            title: Junta de socios
            questions:
              - id: junta_anual
                text: ¿Se celebró la junta general anual?
                type: yes_no
          - id: mujeres
            title: Mujeres
            questions:
              - id: socios_total
                text: ¿Cuántas personas son socias?
                type: number
                min: 0
              - id: socias_mujeres
                text: ¿Cuántas son mujeres?
                type: number
                min: 0
              - id: presidencia_mujer
                text: ¿La presidencia la ejerce una mujer?
                type: yes_no
              - id: comentario
                text: Comentario libre
                type: text
                required: false
      - id: finanzas
        title: Gestión financiera
        subcategories:
          - id: contabilidad
            title: Contabilidad
            questions:
              - id: contabilidad_formal
                text: ¿Lleva contabilidad formal?
                type: yes_no
    """
)
SECRET_COMMENT = "Comentario confidencial de la cooperativa"


def answers(good: bool, women: int) -> dict:
    return {
        "junta_anual": good,
        "socios_total": 20,
        "socias_mujeres": women,
        "presidencia_mujer": women > 10,
        "comentario": SECRET_COMMENT,
        "contabilidad_formal": good,
    }


@dataclass
class World:
    round_id: int
    earlier_id: int
    coops: dict[str, int]
    submitted: dict[str, int]  # coop name -> response id, submitted, not yet validated
    analyst: User
    manager: User


#: 15 cooperatives: 8 in the Región Metropolitana (13, macrozone Centro), 5 in La Araucanía (9)
#: and 2 in Los Ríos (14), both in the Sur. In the current round numbers 12 and 14 are only
#: submitted: 13 validated, Sur has 4 + 1, so its regions are published together.
REGION_OF = {f"Cooperativa Número {i:02d}": 13 if i < 8 else 9 if i < 13 else 14 for i in range(15)}
ONLY_SUBMITTED = (12, 14)


def make_world(env, write_questionnaire) -> World:
    with env.session() as session:
        register_path(session=session, path=write_questionnaire("observatorio.yaml", source=QUESTIONNAIRE))
        version = session.scalar(
            select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == "observatorio-prueba")
        )
        questionnaire = questionnaire_of_version(version)
        current = DiagnosisRound(
            name="Ronda nacional 2026",
            questionnaire_version_id=version.id,
            opens_on=date(2026, 3, 1),
            closes_on=date(2026, 12, 31),
            state="closed",
        )
        earlier = DiagnosisRound(
            name="Ronda piloto 2025",
            questionnaire_version_id=version.id,
            opens_on=date(2025, 3, 1),
            closes_on=date(2025, 12, 31),
            state="closed",
        )
        session.add_all([current, earlier])
        coops = {}
        for index, (name, region) in enumerate(REGION_OF.items()):
            coop = Cooperative(
                rut=f"7{index:07d}-{'0123456789K'[index % 11]}",
                name=name,
                legal_type="campesina",
                region_code=region,
                sectors=["lacteos"],
                members_women=5,
                members_men=15,
            )
            session.add(coop)
            session.flush()
            coops[name] = coop.id
        submitted = {}
        for index, (name, coop_id) in enumerate(coops.items()):
            for round_, status in (
                (earlier, "validated"),
                (current, "submitted" if index in ONLY_SUBMITTED else "validated"),
            ):
                given = answers(good=index % 3 != 0, women=4 + index)
                response = Response(
                    cooperative_id=coop_id,
                    round_id=round_.id,
                    mode="self",
                    status=status,
                    answers=given,
                    result_snapshot=snapshot_of(scoring.score(questionnaire, given)),
                )
                session.add(response)
                session.flush()
                if round_ is current and status == "submitted":
                    submitted[name] = response.id
        session.commit()
    analyst, _ = env.user("analyst")
    manager, _ = env.user("manager", cooperatives=[coops["Cooperativa Número 00"]])
    return World(current.id, earlier.id, coops, submitted, analyst, manager)


@pytest.fixture
def world(api_env, write_questionnaire):
    views.reset_cache()
    yield make_world(api_env, write_questionnaire)
    views.reset_cache()


def validate(env, world: World, response_id: int) -> None:
    with env.session() as session, UnitOfWork(session):
        responses.validate(
            session=session,
            user=session.get(User, world.analyst.id),
            settings=env.settings,
            response_id=response_id,
            version=session.get(Response, response_id).version,
        )
    views.reset_cache()


def publish(env, world: World, round_id: int) -> None:
    with env.session() as session, UnitOfWork(session):
        publishing.publish(session=session, user=session.get(User, world.analyst.id), round_id=round_id)
    views.reset_cache()  # the next request reads the catalog again (it would within 2 s anyway)


def get(env, path: str, **kwargs):
    env.client.cookies.clear()
    return env.client.get(path, **kwargs)


def document(env, round_id: int) -> dict:
    reply = get(env, f"/observatorio/datos/ronda-{round_id}.json")
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_nothing_is_public_before_an_analyst_publishes(api_env, world):
    for path in (
        f"/observatorio/rondas/{world.round_id}",
        f"/observatorio/rondas/{world.round_id}/macrozona",
        f"/observatorio/datos/ronda-{world.round_id}.json",
        f"/observatorio/datos/ronda-{world.round_id}-semaforos.csv",
    ):
        assert get(api_env, path).status_code == 404, path
    index = get(api_env, "/observatorio")
    assert index.status_code == 200
    assert "Todavía no hay rondas publicadas" in index.text
    assert "Ronda nacional 2026" not in index.text


def test_publishing_computes_figures_of_validated_diagnoses_only(api_env, world):
    publish(api_env, world, world.round_id)
    data = document(api_env, world.round_id)
    assert data["cooperatives"] == 13  # 15 cooperatives, 2 only submitted
    assert data["total"]["cooperatives"] == 13
    regions = next(view for view in data["views"] if view["key"] == "region")
    by_key = {row["key"]: row for row in regions["rows"]}
    assert by_key["13"]["cooperatives"] == 8 and by_key["13"]["regions"] == [13]
    # La Araucanía (4 validated) and Los Ríos (1) are merged, in their macrozone's row.
    assert "9" not in by_key and "14" not in by_key
    assert by_key["otras:Sur"]["cooperatives"] == 5
    assert by_key["otras:Sur"]["merged"] == ["La Araucanía", "Los Ríos"]
    assert by_key["otras:Sur"]["regions"] == [9, 14]
    assert all(row["cooperatives"] >= 5 for view in data["views"] for row in view["rows"])
    overall = data["total"]["levels"]["general"]
    assert sum(overall.values()) == 13
    page = get(api_env, f"/observatorio/rondas/{world.round_id}")
    assert page.status_code == 200
    assert "13 cooperativas con diagnóstico validado" in page.text
    assert 'id="region-13"' in page.text
    with api_env.session() as session:
        events = session.scalars(select(PublicationEvent.kind)).all()
    assert events == ["published"]


def test_validating_and_reopening_update_the_published_figures(api_env, world):
    publish(api_env, world, world.round_id)
    name, response_id = next(iter(world.submitted.items()))
    validate(api_env, world, response_id)
    assert document(api_env, world.round_id)["cooperatives"] == 14
    with api_env.session() as session, UnitOfWork(session):
        responses.reopen(
            session=session,
            user=session.get(User, world.analyst.id),
            settings=api_env.settings,
            response_id=response_id,
            version=session.get(Response, response_id).version,
            comment="Se corrige el balance.",
        )
    views.reset_cache()
    assert document(api_env, world.round_id)["cooperatives"] == 13


def test_withdrawing_removes_the_round_and_its_files(api_env, world):
    publish(api_env, world, world.round_id)
    assert get(api_env, f"/observatorio/rondas/{world.round_id}").status_code == 200
    with api_env.session() as session, UnitOfWork(session):
        publishing.withdraw(session=session, user=session.get(User, world.analyst.id), round_id=world.round_id)
    views.reset_cache()
    for path in (
        f"/observatorio/rondas/{world.round_id}",
        f"/observatorio/rondas/{world.round_id}/cambio",
        f"/observatorio/datos/ronda-{world.round_id}.json",
        f"/observatorio/datos/ronda-{world.round_id}-indicadores.csv",
    ):
        assert get(api_env, path).status_code == 404, path
    assert "Ronda nacional 2026" not in get(api_env, "/observatorio").text
    with api_env.session() as session:
        assert session.get(Publication, world.round_id) is None
        assert session.scalars(select(PublicationEvent.kind).order_by(PublicationEvent.id)).all() == [
            "published",
            "withdrawn",
        ]


def test_change_compares_the_cooperatives_validated_in_both_rounds(api_env, world):
    publish(api_env, world, world.earlier_id)
    publish(api_env, world, world.round_id)
    change = document(api_env, world.round_id)["change"]
    assert change["from"]["id"] == world.earlier_id
    assert change["cooperatives"] == 13
    national = change["rows"][0]
    assert national["key"] == "total"
    # Same answers in both rounds: every light stayed where it was.
    assert national["levels"]["general"]["same"] == 13
    assert document(api_env, world.earlier_id)["change"] is None  # nothing published before it
    page = get(api_env, f"/observatorio/rondas/{world.round_id}/cambio")
    assert "Ronda piloto 2025" in page.text and "Se mantuvo" in page.text


def test_indicators_count_only_who_answered_in_bands(api_env, world):
    publish(api_env, world, world.round_id)
    data = document(api_env, world.round_id)
    women = next(theme for theme in data["indicators"] if theme["key"] == "women")
    members = next(table for table in women["indicators"] if table["key"] == "socias")
    national = members["rows"][0]
    assert national["cooperatives"] == 13
    # Women 4..15 and 17 of 20 members: 20 % to 85 %.
    assert national["bands"] == {"menos_10": 0, "10_24": 1, "25_49": 5, "50_mas": 7}
    youth = next(theme for theme in data["indicators"] if theme["key"] == "generations")
    assert all(not table["rows"] for table in youth["indicators"])  # nobody answered those
    page = get(api_env, f"/observatorio/rondas/{world.round_id}/mujeres-y-jovenes")
    assert page.status_code == 200 and "Mujeres entre las personas socias" in page.text


PUBLIC_PATHS = (
    "/observatorio",
    "/observatorio/rondas/{id}",
    "/observatorio/rondas/{id}?nivel=gobernanza",
    "/observatorio/rondas/{id}/macrozona",
    "/observatorio/rondas/{id}/rubro",
    "/observatorio/rondas/{id}/tipo",
    "/observatorio/rondas/{id}/tamano",
    "/observatorio/rondas/{id}/mujeres-y-jovenes",
    "/observatorio/rondas/{id}/cambio",
    "/observatorio/metodo",
    "/observatorio/datos",
    "/observatorio/datos/ronda-{id}.json",
    "/observatorio/datos/ronda-{id}-semaforos.csv",
    "/observatorio/datos/ronda-{id}-indicadores.csv",
    "/observatorio/datos/ronda-{id}-cambio.csv",
    "/observatorio/datos/diccionario.csv",
)


def test_public_answers_name_no_cooperative_and_are_the_same_for_everyone(api_env, world):
    publish(api_env, world, world.earlier_id)
    publish(api_env, world, world.round_id)
    with api_env.session() as session:
        ruts = session.scalars(select(Cooperative.rut)).all()
    manager_login = api_env.client.post(
        "/api/v1/auth/login", json={"email": world.manager.email, "password": "clave-segura-123"}
    )
    assert manager_login.status_code == 200
    cookie = api_env.client.cookies.get("coopdiag_session")
    for template in PUBLIC_PATHS:
        path = template.format(id=world.round_id)
        anonymous = get(api_env, path)
        assert anonymous.status_code == 200, path
        body = anonymous.text
        for name in REGION_OF:
            assert name not in body, (path, name)
        for rut in ruts:
            assert rut not in body and rut.split("-")[0] not in body, (path, rut)
        assert SECRET_COMMENT not in body
        assert "set-cookie" not in anonymous.headers, path
        assert anonymous.headers["cache-control"] == f"public, max-age={views.MAX_AGE}"
        # Logged in, the same bytes (nothing of the visitor, no CSRF token): a CDN may share them.
        api_env.client.cookies.set("coopdiag_session", cookie)
        signed_in = api_env.client.get(path)
        assert signed_in.content == anonymous.content, path
        assert signed_in.headers["etag"] == anonymous.headers["etag"]


def test_etag_answers_304_and_changes_with_the_figures(api_env, world):
    publish(api_env, world, world.round_id)
    path = f"/observatorio/rondas/{world.round_id}"
    first = get(api_env, path)
    etag = first.headers["etag"]
    again = get(api_env, path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    name, response_id = next(iter(world.submitted.items()))
    validate(api_env, world, response_id)
    changed = get(api_env, path, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag


def test_open_data_files_follow_their_codebook(api_env, world):
    publish(api_env, world, world.earlier_id)
    publish(api_env, world, world.round_id)
    for table in open_data.CSV_TABLES:
        reply = get(api_env, f"/observatorio/datos/ronda-{world.round_id}-{table}.csv")
        assert reply.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(reply.content.decode("utf-8-sig"))))
        assert rows[0] == [name for name, _, _ in dict(open_data.CODEBOOK)[table]]
        assert len(rows) > 1, table
        assert all(len(row) == len(rows[0]) for row in rows)
    lights = list(
        csv.DictReader(
            io.StringIO(
                get(api_env, f"/observatorio/datos/ronda-{world.round_id}-semaforos.csv").content.decode("utf-8-sig")
            )
        )
    )
    country = [row for row in lights if row["vista"] == "pais" and row["nivel_clave"] == "general"]
    assert len(country) == 1 and country[0]["cooperativas"] == "13"
    data = document(api_env, world.round_id)
    assert data["licencia"].startswith("Cifras agregadas")
    general = data["total"]["levels"]["general"]
    assert [int(country[0][name]) for _, name in open_data.STATE_COLUMNS] == [
        general[state] for state, _ in open_data.STATE_COLUMNS
    ]
    codebook = get(api_env, "/observatorio/datos/diccionario.csv").content.decode("utf-8-sig")
    assert "fila_agrupa" in codebook and "proporcion_verde" in codebook


def test_a_round_with_fewer_than_five_validated_publishes_nothing_but_its_name(api_env, world):
    with api_env.session() as session:
        for response in session.scalars(select(Response).where(Response.round_id == world.earlier_id)).all()[4:]:
            response.status = "submitted"
        session.commit()
    publish(api_env, world, world.earlier_id)
    data = document(api_env, world.earlier_id)
    assert data["cooperatives"] is None and data["views"] == [] and data["total"] is None
    assert "menos de 5 diagnósticos validados" in get(api_env, f"/observatorio/rondas/{world.earlier_id}").text
    assert data["indicators"] == [] and data["change"] is None


def test_analysts_publish_from_the_round_page_with_its_csrf_form(api_env, world):
    client, csrf = web_login(api_env, world.analyst)
    page = client.get(f"/analisis/rondas/{world.round_id}")
    assert "Publicar la ronda en el Observatorio" in page.text
    done = client.post(
        f"/analisis/rondas/{world.round_id}/observatorio/publicar", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert done.status_code == 303
    with api_env.session() as session:
        assert service.is_due(session, world.round_id) is False
        assert session.get(Publication, world.round_id).payload is not None
    page = client.get(f"/analisis/rondas/{world.round_id}")
    assert "Retirar la ronda del Observatorio" in page.text
    refused = client.post(f"/analisis/rondas/{world.round_id}/observatorio/retirar", data={}, follow_redirects=False)
    assert refused.status_code == 403  # no CSRF token
