"""Field team pages: assigned cooperatives, starting an interview, fast entry by dimension,
review and submit, registering a missing cooperative. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import func, select

from app.cooperatives.models import Cooperative
from app.questionnaires.models import QuestionnaireVersion
from app.responses.models import Response
from app.rounds.models import DiagnosisRound

PASSWORD = "clave-segura-123"


@dataclass
class World:
    maule: int  # Centro-Sur macrozone, assigned through it
    araucania: int  # Sur macrozone: not assigned
    santiago: int  # assigned one by one
    round_id: int


def make_world(env) -> World:
    with env.session() as session:
        version = session.scalar(
            select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == "prueba-mini")
        )
        maule = Cooperative(
            rut="76123456-0",
            name="Cooperativa Campesina Los Aromos",
            legal_type="campesina",
            region_code=7,
            comuna="Talca",
            sectors=["hortalizas"],
        )
        araucania = Cooperative(
            rut="65000000-5",
            name="Cooperativa Agrícola Lago Sur",
            legal_type="agricola",
            region_code=9,
            sectors=["lacteos"],
        )
        santiago = Cooperative(
            rut="70000000-7",
            name="Cooperativa Apícola Maipo",
            legal_type="agricola",
            region_code=13,
            sectors=["apicola"],
        )
        round_ = DiagnosisRound(
            name="Ronda 2026",
            questionnaire_version_id=version.id,
            opens_on=date(2026, 1, 1),
            closes_on=date(2026, 12, 31),
            state="open",
        )
        session.add_all([maule, araucania, santiago, round_])
        session.commit()
        return World(maule.id, araucania.id, santiago.id, round_.id)


@pytest.fixture
def world(api_env) -> World:
    return make_world(api_env)


def login(env, user) -> str:
    env.client.cookies.clear()
    answer = env.client.post("/ingresar", data={"email": user.email, "password": PASSWORD}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return env.client.get("/api/v1/auth/me").json()["csrf_token"]


def field_user(env, world: World):
    user, _ = env.user(
        "field", macrozones=["Centro-Sur"], cooperatives=[world.santiago], institution="Universidad de Talca"
    )
    return user


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name}"
    return match.group(1)


INTERVIEW = {
    "interviewer_name": "Ana Pérez",
    "institution": "Universidad de Talca",
    "interview_date": "2026-10-05",
    "interview_place": "Sede, Talca",
    "interviewee_role": "Gerente",
}


def test_list_shows_only_assigned_cooperatives_with_their_state(api_env, world):
    csrf = login(api_env, field_user(api_env, world))
    page = api_env.client.get("/terreno")
    assert page.status_code == 200
    assert "Cooperativa Campesina Los Aromos" in page.text and "Cooperativa Apícola Maipo" in page.text
    assert "Lago Sur" not in page.text
    assert "sin iniciar" in page.text and "Ronda 2026" in page.text
    assert f"/terreno/entrevistas/nueva?cooperativa={world.maule}&amp;ronda={world.round_id}" in page.text
    search = api_env.client.get("/terreno", params={"q": "aromos"})
    assert "Los Aromos" in search.text and "Maipo" not in search.text
    nothing = api_env.client.get("/terreno", params={"q": "lago sur"})
    assert "Lago Sur" not in nothing.text and "Ninguna cooperativa" in nothing.text
    assert csrf


def test_start_interview_validates_keeps_values_and_is_idempotent(api_env, world):
    user = field_user(api_env, world)
    csrf = login(api_env, user)
    form_page = api_env.client.get(
        "/terreno/entrevistas/nueva", params={"cooperativa": world.maule, "ronda": world.round_id}
    )
    assert form_page.status_code == 200
    assert f'value="{user.full_name}"' in form_page.text and 'value="Universidad de Talca"' in form_page.text
    key = hidden(form_page.text, "idempotency_key")
    assert hidden(form_page.text, "csrf_token") == csrf  # the form carries the session's token
    base = {"csrf_token": csrf, "cooperativa": str(world.maule), "ronda": str(world.round_id), "idempotency_key": key}

    bad = api_env.client.post(
        "/terreno/entrevistas/nueva",
        data={
            **base,
            **INTERVIEW,
            "interview_place": "",
            "interview_date": "2999-01-01",
            "interviewee_role": "Tesorera",
        },
    )
    assert bad.status_code == 422
    assert "Escriba el dato «lugar de la entrevista»" in bad.text
    assert "no puede ser futura" in bad.text
    assert 'value="Tesorera"' in bad.text and 'value="2999-01-01"' in bad.text
    with api_env.session() as session:
        assert session.scalar(select(func.count()).select_from(Response)) == 0

    first = api_env.client.post("/terreno/entrevistas/nueva", data={**base, **INTERVIEW}, follow_redirects=False)
    assert first.status_code == 303
    again = api_env.client.post("/terreno/entrevistas/nueva", data={**base, **INTERVIEW}, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == first.headers["location"]
    with api_env.session() as session:
        rows = session.scalars(select(Response)).all()
        assert len(rows) == 1 and rows[0].mode == "interview" and rows[0].interviewee_role == "Gerente"
    assert re.fullmatch(rf"/terreno/entrevistas/{rows[0].id}/dimension/1", first.headers["location"])
    assert "borrador" in api_env.client.get("/terreno").text

    # Without the form's CSRF token nothing is created.
    refused = api_env.client.post("/terreno/entrevistas/nueva", data={**base, **INTERVIEW, "csrf_token": "x"})
    assert refused.status_code == 403


def test_other_macrozone_is_404(api_env, world):
    csrf = login(api_env, field_user(api_env, world))
    page = api_env.client.get(
        "/terreno/entrevistas/nueva", params={"cooperativa": world.araucania, "ronda": world.round_id}
    )
    assert page.status_code == 404 and "Página no encontrada" in page.text
    posted = api_env.client.post(
        "/terreno/entrevistas/nueva",
        data={
            "csrf_token": csrf,
            "cooperativa": str(world.araucania),
            "ronda": str(world.round_id),
            "idempotency_key": "k-1",
            **INTERVIEW,
        },
    )
    assert posted.status_code == 404
    assert (
        api_env.client.get(
            "/terreno/entrevistas/nueva", params={"cooperativa": "x", "ronda": world.round_id}
        ).status_code
        == 404
    )
    # An interview of that cooperative (started by an admin) is not found either, on every page.
    admin, admin_headers = api_env.user("admin")
    other = api_env.client.post(
        "/api/v1/responses",
        headers={**admin_headers, "Idempotency-Key": "otra-1"},
        json={"cooperative_id": world.araucania, "round_id": world.round_id, "mode": "interview", **INTERVIEW},
    ).json()["id"]
    for url in (
        f"/terreno/entrevistas/{other}/dimension/1",
        f"/terreno/entrevistas/{other}/revision",
        f"/terreno/entrevistas/{other}/resultado",
    ):
        assert api_env.client.get(url).status_code == 404, url
    saved = api_env.client.post(
        f"/terreno/entrevistas/{other}/dimension/1",
        data={"csrf_token": csrf, "version": "1", "shown": ["junta_anual"], "a.junta_anual": "no"},
    )
    assert saved.status_code == 404
    with api_env.session() as session:
        assert session.get(Response, other).answers == {}


def test_dimension_entry_relevance_stale_review_submit_result(api_env, world):
    user = field_user(api_env, world)
    csrf = login(api_env, user)
    form_page = api_env.client.get(
        "/terreno/entrevistas/nueva", params={"cooperativa": world.maule, "ronda": world.round_id}
    )
    created = api_env.client.post(
        "/terreno/entrevistas/nueva",
        data={
            "csrf_token": csrf,
            "cooperativa": str(world.maule),
            "ronda": str(world.round_id),
            "idempotency_key": hidden(form_page.text, "idempotency_key"),
            **INTERVIEW,
        },
        follow_redirects=False,
    )
    url = created.headers["location"]
    response_id = int(url.split("/")[3])
    page = api_env.client.get(url)
    assert page.status_code == 200
    assert "<legend>¿Se celebró la junta general anual" in page.text
    assert "<strong>0 de 3 respondidas</strong>" in page.text  # consejo_mujeres is not relevant yet
    assert "¿Hay mujeres en el consejo" not in page.text
    version = hidden(page.text, "version")
    assert hidden(page.text, "csrf_token") == csrf
    questions = ["junta_anual", "actas_al_dia", "consejo_vigente"]
    saved = api_env.client.post(
        url,
        data={
            "csrf_token": csrf,
            "version": version,
            "shown": questions,
            "a.junta_anual": "si",
            "a.actas_al_dia": "parcial",
            "a.consejo_vigente": "si",
            "accion": "guardar",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303 and saved.headers["location"] == url
    page = api_env.client.get(url)
    assert re.search(r'name="a.junta_anual" value="si" checked', page.text)
    assert "<legend>¿Hay mujeres en el consejo" in page.text  # now relevant
    new_version = hidden(page.text, "version")
    assert int(new_version) == int(version) + 1

    # A stale tab: told so, shown the newer value, nothing overwritten.
    stale = api_env.client.post(
        url,
        data={
            "csrf_token": csrf,
            "version": version,
            "shown": questions,
            "a.junta_anual": "no",
            "a.actas_al_dia": "parcial",
            "a.consejo_vigente": "si",
            "accion": "guardar",
        },
    )
    assert stale.status_code == 409
    assert "Otra persona u otra pestaña" in stale.text
    assert "Valor guardado más reciente: <strong>Sí</strong>" in stale.text
    assert re.search(r'name="a.junta_anual" value="no" checked', stale.text)  # what they typed, kept
    assert hidden(stale.text, "version") == new_version
    with api_env.session() as session:
        assert session.get(Response, response_id).answers["junta_anual"] is True

    # Invalid number: error beside the field, typed value kept, nothing saved.
    url2 = f"/terreno/entrevistas/{response_id}/dimension/2"
    bad = api_env.client.post(
        url2,
        data={
            "csrf_token": csrf,
            "version": new_version,
            "shown": ["activo_corriente", "pasivo_corriente"],
            "a.activo_corriente": "mucho",
            "a.pasivo_corriente": "-5",
        },
    )
    assert bad.status_code == 422
    assert "Escriba un número" in bad.text and 'value="mucho"' in bad.text and "menor que el mínimo" in bad.text

    # Turning consejo_vigente off clears the now irrelevant consejo_mujeres on the server.
    all_q = questions + ["consejo_mujeres"]
    api_env.client.post(
        url,
        data={
            "csrf_token": csrf,
            "version": new_version,
            "shown": all_q,
            "a.junta_anual": "si",
            "a.actas_al_dia": "parcial",
            "a.consejo_vigente": "si",
            "a.consejo_mujeres": "no",
        },
    )
    with api_env.session() as session:
        current = session.get(Response, response_id)
        assert current.answers["consejo_mujeres"] is False
        version = current.version
    api_env.client.post(
        url,
        data={
            "csrf_token": csrf,
            "version": str(version),
            "shown": all_q,
            "a.junta_anual": "si",
            "a.actas_al_dia": "parcial",
            "a.consejo_vigente": "no",
            "a.consejo_mujeres": "no",
        },
    )
    with api_env.session() as session:
        current = session.get(Response, response_id)
        assert "consejo_mujeres" not in current.answers and current.answers["consejo_vigente"] is False
        version = current.version

    review = api_env.client.get(f"/terreno/entrevistas/{response_id}/revision")
    assert "Faltan 2 preguntas obligatorias" in review.text and "Activo corriente" in review.text
    assert f"/terreno/entrevistas/{response_id}/dimension/2#p-activo_corriente" in review.text

    done = api_env.client.post(
        url2,
        data={
            "csrf_token": csrf,
            "version": str(version),
            "shown": ["activo_corriente", "pasivo_corriente"],
            "a.activo_corriente": "1.500.000",
            "a.pasivo_corriente": "1000000",
            "accion": "siguiente",
        },
        follow_redirects=False,
    )
    assert done.headers["location"] == f"/terreno/entrevistas/{response_id}/revision"
    with api_env.session() as session:
        current = session.get(Response, response_id)
        assert current.answers["activo_corriente"] == 1500000
    review = api_env.client.get(f"/terreno/entrevistas/{response_id}/revision")
    assert "Enviar entrevista" in review.text and hidden(review.text, "csrf_token") == csrf
    sent = api_env.client.post(
        f"/terreno/entrevistas/{response_id}/enviar",
        data={"csrf_token": csrf, "version": hidden(review.text, "version")},
        follow_redirects=False,
    )
    assert sent.headers["location"] == f"/terreno/entrevistas/{response_id}/resultado"
    result = api_env.client.get(sent.headers["location"])
    assert result.status_code == 200 and "Resultado general" in result.text and 'class="light light-' in result.text
    # Scores written as on the manager's result page (macros.html score_text): «Puntaje: 72,5 %»
    # beside the badge, in Chilean format, never «(72,5 %)» inside it.
    with api_env.session() as session:
        snapshot = session.get(Response, response_id).result_snapshot
    cards = result.text.split('<section class="card overall">', 1)[1].split('<section class="card q-beyond"', 1)[0]
    scores = [snapshot["overall"]["score"], *(d["score"] for d in snapshot["dimensions"])]
    for score in (score for score in scores if score is not None):
        chilean = f"{score:.1f}".replace(".", ",") + "\u00a0%"
        assert f'<span class="q-score">Puntaje: {chilean}</span>' in cards, chilean
    assert scores[0] is not None and "Puntaje: " in cards.split("</section>", 1)[0]
    assert "light-score" not in cards and not re.search(r"\(\d[\d.,]*\u00a0%\)", cards)
    # A submitted interview is no longer editable: the entry page leads to the result.
    assert api_env.client.get(url, follow_redirects=False).headers["location"].endswith("/resultado")
    assert "enviada" in api_env.client.get("/terreno").text


def test_register_cooperative_errors_kept_then_pending_approval(api_env, world):
    csrf = login(api_env, field_user(api_env, world))
    form_page = api_env.client.get("/terreno/cooperativas/nueva")
    assert form_page.status_code == 200 and hidden(form_page.text, "csrf_token") == csrf
    form = {
        "csrf_token": csrf,
        "rut": "76.123.456-1",
        "name": "Cooperativa Nueva del Maule",
        "legal_type": "campesina",
        "region_code": "7",
        "comuna": "Linares",
        "sectors": ["berries", "hortalizas"],
        "members_women": "12",
        "members_men": "abc",
        "contact_email": "no-es-correo",
    }
    bad = api_env.client.post("/terreno/cooperativas/nueva", data=form)
    assert bad.status_code == 422
    assert "dígito verificador" in bad.text
    assert "Escriba un número entero" in bad.text
    assert "no es un correo electrónico válido" in bad.text
    assert 'value="Cooperativa Nueva del Maule"' in bad.text and 'value="abc"' in bad.text
    assert 'value="berries" checked' in bad.text and '<option value="7" selected>' in bad.text

    duplicate = api_env.client.post(
        "/terreno/cooperativas/nueva", data={**form, "rut": "76.123.456-0", "members_men": "8", "contact_email": ""}
    )
    assert duplicate.status_code == 422 and "ya está registrado" in duplicate.text

    good = api_env.client.post(
        "/terreno/cooperativas/nueva",
        data={**form, "rut": "77.777.777-7", "members_men": "8", "contact_email": "coop@ejemplo.cl"},
        follow_redirects=False,
    )
    assert good.status_code == 303
    with api_env.session() as session:
        created = session.scalar(select(Cooperative).where(Cooperative.rut == "77777777-7"))
        assert created is not None and created.approved is False and created.sectors == ["berries", "hortalizas"]
    listing = api_env.client.get(good.headers["location"])
    assert "Pendiente de aprobación" in listing.text and "Cooperativa Nueva del Maule" in listing.text
    assert "pendiente de aprobación" in listing.text  # the flash message


def test_manager_gets_403_page(api_env, world):
    manager, _ = api_env.user("manager", cooperatives=[world.maule])
    login(api_env, manager)
    page = api_env.client.get("/terreno")
    assert page.status_code == 403 and "Sin permiso" in page.text and "equipo de terreno" in page.text
    assert api_env.client.get("/terreno/cooperativas/nueva").status_code == 403
    api_env.client.cookies.clear()
    assert api_env.client.get("/terreno", follow_redirects=False).headers["location"].startswith("/ingresar")


def test_register_cooperative_of_another_region_is_refused_without_naming_it(api_env, world):
    """Issue 14.7 on the field team's page: a RUT of a cooperative outside the user's
    macrozones gets a neutral message; one they may see gets its name and a link."""
    csrf = login(api_env, field_user(api_env, world))  # Centro-Sur (Maule…), plus Maipo assigned
    form = {
        "csrf_token": csrf,
        "rut": "65.000.000-5",  # Lago Sur, La Araucanía: not visible to this user
        "name": "Otra cooperativa",
        "legal_type": "campesina",
        "region_code": "7",
        "sectors": ["berries"],
    }
    hidden_one = api_env.client.post("/terreno/cooperativas/nueva", data=form)
    assert hidden_one.status_code == 422
    assert "No se puede registrar este RUT; si cree que es un error, contacte al equipo de ODEPA." in hidden_one.text
    assert "Lago Sur" not in hidden_one.text and "ya está registrad" not in hidden_one.text
    assert "Ver la cooperativa ya registrada" not in hidden_one.text

    visible = api_env.client.post("/terreno/cooperativas/nueva", data={**form, "rut": "76.123.456-0"})
    assert visible.status_code == 422
    assert "Los Aromos" in visible.text and 'href="/terreno?q=76123456-0"' in visible.text
    with api_env.session() as session:
        assert session.scalar(select(func.count()).select_from(Cooperative)) == 3
