"""Web pages of a cooperative's manager: the self-diagnosis from login to results (both DBs)."""

from __future__ import annotations

import re
import textwrap
from datetime import date

import pytest
from sqlalchemy import select

import scoring
from app.cooperatives.models import Cooperative
from app.questionnaires.models import QuestionnaireVersion
from app.responses.models import Response
from app.rounds.models import DiagnosisRound
from app.web import questionnaire_form as qf

#: Every question type, a critical question, na on one question, relevance and a computed ratio.
WEB_QUESTIONNAIRE = textwrap.dedent(
    """\
    id: prueba-web
    version: "1"
    title: Cuestionario de prueba web
    dimensions:
      - id: gobernanza
        title: Gobernanza
        subcategories:
          - id: junta
            title: Junta general de socios
            questions:
              - id: junta_anual
                text: ¿Se celebró la junta general anual?
                help: Según el acta de la junta.
                type: yes_no
                critical: true
              - id: asistencia
                text: Porcentaje de socios que asistió a la última junta
                type: number
                min: 0
                max: 100
                unit: "%"
                bands:
                  - {max: 30, score: 0}
                  - {min: 30, max: 50, score: 0.5}
                  - {min: 50, score: 1}
              - id: servicios
                text: ¿Qué servicios ofrece la cooperativa a sus socios?
                type: multi
                na: true
                options:
                  - {value: comercializacion, label: Comercialización, score: 0.5}
                  - {value: insumos, label: Compra de insumos, score: 0.5}
                  - {value: asistencia_tecnica, label: Asistencia técnica, score: 0.5}
          - id: consejo
            title: Consejo de administración
            questions:
              - id: consejo_vigente
                text: ¿El consejo de administración tiene su mandato vigente?
                type: yes_no
              - id: consejo_mujeres
                text: ¿Hay mujeres en el consejo de administración?
                type: yes_no
                relevant: consejo_vigente == true
              - id: actas
                text: ¿Las actas están al día?
                type: choice
                options:
                  - {value: si, label: "Sí, al día", score: 1}
                  - {value: parcial, label: Parcialmente, score: 0.5}
                  - {value: "no", label: "No", score: 0}
              - id: fecha_eleccion
                text: Fecha de la última elección del consejo
                type: date
              - id: comentario
                text: Comentarios sobre el consejo
                type: text
      - id: finanzas
        title: Gestión financiera
        subcategories:
          - id: liquidez
            title: Liquidez
            questions:
              - id: activo_corriente
                text: Activo corriente (CLP)
                type: number
                min: 0
                unit: CLP
              - id: pasivo_corriente
                text: Pasivo corriente (CLP)
                type: number
                min: 0
                unit: CLP
              - id: razon_corriente
                text: Razón corriente
                type: computed
                formula: activo_corriente / pasivo_corriente
                bands:
                  - {max: 1, score: 0}
                  - {min: 1, max: 1.5, score: 0.5}
                  - {min: 1.5, score: 1}
          - id: exportacion
            title: Exportación
            questions:
              - id: exporta_certificado
                text: ¿Tiene certificación para exportar?
                type: yes_no
                relevant: consejo_vigente == true
    """
)

PASSWORD = "clave-segura-123"


def csrf_of(html: str) -> str:
    """The CSRF token of the page's forms (every form, the logout one included, carries it)."""
    tokens = re.findall(r'name="csrf_token" value="([^"]*)"', html)
    assert tokens, "no CSRF field in the page"
    assert len(set(tokens)) == 1 and tokens[0], "a form of the page has no CSRF token"
    return tokens[0]


def version_of(html: str) -> str:
    match = re.search(r'name="version" value="(\d+)"', html)
    assert match, "no version field in the page"
    return match.group(1)


def make_world(env) -> dict:
    from app.questionnaires.service import content_hash

    with env.session() as session:
        version = QuestionnaireVersion(
            questionnaire_id="prueba-web",
            version="1",
            title="Cuestionario de prueba web",
            content_hash=content_hash(WEB_QUESTIONNAIRE),
            source=WEB_QUESTIONNAIRE,
        )
        coop = Cooperative(
            rut="76123456-0",
            name="Cooperativa Campesina Los Aromos",
            legal_type="campesina",
            region_code=13,
            sectors=["hortalizas"],
        )
        other = Cooperative(
            rut="65000000-5",
            name="Cooperativa Agrícola Lago Sur",
            legal_type="agricola",
            region_code=9,
            sectors=["leche"],
        )
        session.add_all([version, coop, other])
        session.flush()
        round_ = DiagnosisRound(
            name="Ronda nacional 2026",
            questionnaire_version_id=version.id,
            opens_on=date(2026, 1, 1),
            closes_on=date(2026, 12, 31),
            state="open",
        )
        session.add(round_)
        session.commit()
        return {"coop": coop.id, "other": other.id, "round": round_.id}


def login(env, user) -> None:
    reply = env.client.post("/ingresar", data={"email": user.email, "password": PASSWORD}, follow_redirects=False)
    assert reply.status_code == 303, reply.text


def start(env, world) -> int:
    """Start the self-diagnosis from the home page's form (twice: the key makes it one)."""
    home = env.client.get("/mis-cooperativas")
    assert home.status_code == 200 and "Comenzar el autodiagnóstico" in home.text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', home.text).group(1)
    data = {"csrf_token": csrf_of(home.text), "idempotency_key": key}
    url = f"/mis-cooperativas/{world['coop']}/rondas/{world['round']}/iniciar"
    first = env.client.post(url, data=data, follow_redirects=False)
    again = env.client.post(url, data=data, follow_redirects=False)
    assert first.status_code == again.status_code == 303
    with env.session() as session:
        ids = session.scalars(select(Response.id).where(Response.cooperative_id == world["coop"])).all()
    assert len(ids) == 1
    assert first.headers["location"] == again.headers["location"] == f"/diagnosticos/{ids[0]}"
    return ids[0]


def page(env, url: str):
    reply = env.client.get(url)
    assert reply.status_code == 200, (url, reply.status_code, reply.text[:500])
    assert "Traceback" not in reply.text
    return reply


def post_section(env, response_id: int, number: int, answers: dict, *, action="guardar", version=None, shown=None):
    current = page(env, f"/diagnosticos/{response_id}/seccion/{number}")
    data: dict[str, object] = {
        "csrf_token": csrf_of(current.text),
        "version": version or version_of(current.text),
        "accion": action,
    }
    data["shown"] = list(shown or re.findall(r'name="shown" value="([^"]+)"', current.text))
    data.update(answers)
    return env.client.post(f"/diagnosticos/{response_id}/seccion/{number}", data=data, follow_redirects=False)


@pytest.fixture
def manager_env(api_env):
    world = make_world(api_env)
    user, _ = api_env.user("manager", cooperatives=[world["coop"]])
    login(api_env, user)
    return api_env, world, user


def test_flow_from_login_to_results(manager_env):
    env, world, _ = manager_env
    response_id = start(env, world)

    # Resume goes to the first section; progress counts the relevant questions.
    first = env.client.get(f"/diagnosticos/{response_id}", follow_redirects=False)
    assert first.headers["location"] == f"/diagnosticos/{response_id}/seccion/1"
    one = page(env, first.headers["location"])
    assert "0 de 9 respondidas" in one.text and "<progress" in one.text
    assert "<legend>¿Se celebró la junta general anual?" in one.text and "Según el acta de la junta." in one.text
    assert 'src="/static/questionnaire.js"' in one.text and "onclick" not in one.text
    assert 'data-csrf="' in one.text and 'data-autosave="/api/v1/responses/' in one.text

    # Review before anything is answered lists every required question with a link to it.
    review = page(env, f"/diagnosticos/{response_id}/revision")
    assert f'href="/diagnosticos/{response_id}/seccion/1#p-junta_anual"' in review.text
    assert "Faltan 7 preguntas obligatorias" in review.text

    # Page 1: yes_no, number with unit, multi.
    saved = post_section(
        env,
        response_id,
        1,
        {
            "a.junta_anual": "no",
            "a.asistencia": "40",
            "a.servicios": ["comercializacion", "insumos"],
        },
        action="continuar",
    )
    assert saved.status_code == 303 and saved.headers["location"] == f"/diagnosticos/{response_id}/seccion/2"
    # Page 2: the relevant-gated question appears once consejo_vigente is yes.
    two = page(env, f"/diagnosticos/{response_id}/seccion/2")
    assert "consejo_mujeres" not in re.findall(r'name="shown" value="([^"]+)"', two.text)
    saved = post_section(env, response_id, 2, {"a.consejo_vigente": "si", "a.actas": "no"})
    assert saved.headers["location"] == f"/diagnosticos/{response_id}/seccion/2"
    two = page(env, saved.headers["location"])
    assert "¿Hay mujeres en el consejo de administración?" in two.text
    saved = post_section(
        env,
        response_id,
        2,
        {
            "a.consejo_vigente": "si",
            "a.consejo_mujeres": "no",
            "a.actas": "no",
            "a.fecha_eleccion": "2025-04-30",
            "a.comentario": "Elegido en abril.",
        },
        action="continuar",
    )
    assert saved.headers["location"] == f"/diagnosticos/{response_id}/seccion/3"
    # Page 3: es-CL numbers; the computed ratio is shown read-only.
    saved = post_section(env, response_id, 3, {"a.activo_corriente": "1.500.000", "a.pasivo_corriente": "1000000"})
    three = page(env, saved.headers["location"])
    assert "Valor calculado: <output>1,5</output>" in three.text
    assert 'value="1.500.000"' in three.text
    # "Anterior" saves and goes back.
    back = post_section(
        env, response_id, 3, {"a.activo_corriente": "1500000", "a.pasivo_corriente": "1000000"}, action="anterior"
    )
    assert back.headers["location"] == f"/diagnosticos/{response_id}/seccion/2"

    # One required question is still missing: the review says so and submit refuses.
    review = page(env, f"/diagnosticos/{response_id}/revision")
    assert "Falta 1 pregunta obligatoria" in review.text and "#p-exporta_certificado" in review.text
    refused = env.client.post(
        f"/diagnosticos/{response_id}/enviar",
        data={"csrf_token": csrf_of(review.text), "version": version_of(review.text)},
    )
    assert refused.status_code == 422 and "obligatoria" in refused.text and "#p-exporta_certificado" in refused.text
    # Resume goes back to the last page opened on this device (a cookie)...
    assert (
        env.client.get(f"/diagnosticos/{response_id}", follow_redirects=False).headers["location"]
        == f"/diagnosticos/{response_id}/seccion/3"
    )
    # ... or, without it, to the page of the first missing question.
    env.client.cookies.delete(f"coopdiag_seccion_{response_id}", path=f"/diagnosticos/{response_id}")
    assert (
        env.client.get(f"/diagnosticos/{response_id}", follow_redirects=False).headers["location"]
        == f"/diagnosticos/{response_id}/seccion/4"
    )
    saved = post_section(env, response_id, 4, {"a.exporta_certificado": "ns"}, action="continuar")
    assert saved.headers["location"] == f"/diagnosticos/{response_id}/revision"

    review = page(env, f"/diagnosticos/{response_id}/revision")
    assert "Todas las preguntas obligatorias están respondidas" in review.text and "11 de 11 respondidas" in review.text
    sent = env.client.post(
        f"/diagnosticos/{response_id}/enviar",
        data={"csrf_token": csrf_of(review.text), "version": version_of(review.text)},
        follow_redirects=False,
    )
    assert sent.status_code == 303 and sent.headers["location"] == f"/diagnosticos/{response_id}/resultados"

    results = page(env, sent.headers["location"])
    text = results.text
    assert "Resultado general" in text and "Preliminar" not in text
    # Every light with icon and word; the official messages.
    assert 'class="light light-red"' in text and "■" in text and "rojo" in text
    assert scoring.LIGHT_MESSAGES[scoring.Light.RED] in text
    assert "Junta general de socios" in text and "Liquidez" in text
    # What pulled the lights down, with the answers in words; a critical failure set apart.
    assert "Preguntas que bajaron el resultado" in text
    assert "¿Las actas están al día?" in text and "su respuesta: No" in text
    critical = text[text.index("Fallas críticas") :]
    assert critical.index("¿Se celebró la junta general anual?") < critical.index("Preguntas que bajaron el resultado")
    # exporta_certificado answered ns: missing data, not a failure (method 2). It pulls nothing
    # down, and its subcategory, with nothing else answered, is «datos insuficientes».
    assert "su respuesta: No sé / prefiero no responder" not in text
    assert scoring.LIGHT_MESSAGES[scoring.Light.INSUFFICIENT_DATA] in text[text.index("Exportación") :]
    with env.session() as session:
        stored = session.get(Response, response_id)
        assert stored.status == "submitted" and stored.answers["activo_corriente"] == 1500000
        assert stored.answers["servicios"] == ["comercializacion", "insumos"]

    # Home shows the state in Spanish, the progress and the light.
    home = page(env, "/mis-cooperativas")
    assert "enviada" in home.text and "11 de 11 respondidas" in home.text and "light-" in home.text
    # The form pages of a submitted response go to the results; a post cannot change it.
    assert (
        env.client.get(f"/diagnosticos/{response_id}", follow_redirects=False)
        .headers["location"]
        .endswith("/resultados")
    )
    locked = page(env, f"/diagnosticos/{response_id}/seccion/1")
    assert "no modificarlas" in locked.text and "disabled" in locked.text


def test_invalid_number_is_refused_beside_its_field_keeping_what_was_typed(manager_env):
    env, world, _ = manager_env
    response_id = start(env, world)
    reply = post_section(env, response_id, 1, {"a.junta_anual": "si", "a.asistencia": "cuarenta y dos"})
    assert reply.status_code == 422
    html = reply.text
    assert 'value="cuarenta y dos"' in html and "Escriba un número" in html
    fieldset = html[html.index('id="p-asistencia"') :]
    fieldset = fieldset[: fieldset.index("</fieldset>")]
    assert "field-error" in fieldset and 'aria-invalid="true"' in fieldset
    # The valid answer of the same page is kept on screen, nothing was saved.
    assert re.search(r'value="si" checked', html)
    out_of_range = post_section(env, response_id, 1, {"a.asistencia": "150"})
    assert out_of_range.status_code == 422 and 'value="150"' in out_of_range.text
    assert "mayor que el máximo permitido (100)" in out_of_range.text
    with env.session() as session:
        assert session.get(Response, response_id).answers == {}


def test_stale_version_shows_the_newer_value(manager_env):
    env, world, user = manager_env
    response_id = start(env, world)
    stale = page(env, f"/diagnosticos/{response_id}/seccion/2")
    old_version = version_of(stale.text)
    # Someone else (another tab) saves a newer answer.
    newer = post_section(env, response_id, 2, {"a.actas": "parcial"})
    assert newer.status_code == 303
    reply = post_section(env, response_id, 2, {"a.actas": "si"}, version=old_version)
    assert reply.status_code == 409
    html = reply.text
    assert "guardó respuestas más recientes" in html
    fieldset = html[html.index('id="p-actas"') :]
    fieldset = fieldset[: fieldset.index("</fieldset>")]
    assert "Valor guardado más reciente: <strong>Parcialmente</strong>" in fieldset
    assert re.search(r'value="si" checked', fieldset)  # what this tab wanted is kept on screen
    with env.session() as session:
        assert session.get(Response, response_id).answers["actas"] == "parcial"  # not overwritten
    # Saving again from that page (it now carries the current version) is a deliberate choice.
    confirm = {
        "csrf_token": csrf_of(html),
        "version": version_of(html),
        "shown": ["consejo_vigente", "actas", "fecha_eleccion", "comentario"],
        "a.actas": "si",
    }
    assert (
        env.client.post(f"/diagnosticos/{response_id}/seccion/2", data=confirm, follow_redirects=False).status_code
        == 303
    )
    with env.session() as session:
        assert session.get(Response, response_id).answers["actas"] == "si"


def test_na_offered_only_where_allowed_and_ns_everywhere(manager_env):
    env, world, _ = manager_env
    response_id = start(env, world)
    html = page(env, f"/diagnosticos/{response_id}/seccion/1").text

    def block(qid):
        part = html[html.index(f'id="p-{qid}"') :]
        return part[: part.index("</fieldset>")]

    assert "No aplica" in block("servicios") and 'name="e.servicios" value="na"' in block("servicios")
    for qid in ("junta_anual", "asistencia"):
        assert "No aplica" not in block(qid)
        assert "No sé / prefiero no responder" in block(qid)
    assert 'name="a.junta_anual" value="ns"' in block("junta_anual")
    # A forged "na" where it is not allowed is refused beside the field.
    forged = post_section(env, response_id, 1, {"a.junta_anual": "na"})
    assert forged.status_code == 422 and "«No aplica» no está permitido" in forged.text
    ok = post_section(env, response_id, 1, {"e.servicios": "na", "e.asistencia": "ns"})
    assert ok.status_code == 303
    with env.session() as session:
        assert session.get(Response, response_id).answers == {"servicios": "na", "asistencia": "ns"}
    # Emptying a field removes the answer (saved as null).
    post_section(env, response_id, 1, {"e.servicios": "na"})
    with env.session() as session:
        assert session.get(Response, response_id).answers == {"servicios": "na"}


def test_relevance_hides_questions_and_whole_sections(manager_env):
    env, world, _ = manager_env
    response_id = start(env, world)
    post_section(env, response_id, 2, {"a.consejo_vigente": "no"})
    two = page(env, f"/diagnosticos/{response_id}/seccion/2").text
    assert "¿Hay mujeres en el consejo" not in two
    # Section 4 has no relevant question: it is skipped, to the review.
    skipped = env.client.get(f"/diagnosticos/{response_id}/seccion/4", follow_redirects=False)
    assert skipped.status_code == 303 and skipped.headers["location"] == f"/diagnosticos/{response_id}/revision"
    continued = post_section(env, response_id, 3, {"a.activo_corriente": "10"}, action="continuar")
    assert continued.headers["location"] == f"/diagnosticos/{response_id}/revision"
    # The API's autosave (what questionnaire.js calls) works with the session cookie and the CSRF header.
    token = env.client.get("/api/v1/auth/me").json()["csrf_token"]
    with env.session() as session:
        version = session.get(Response, response_id).version
    saved = env.client.patch(
        f"/api/v1/responses/{response_id}/answers",
        headers={"X-CSRF-Token": token},
        json={"answers": {"consejo_vigente": True}, "version": version},
    )
    assert saved.status_code == 200
    two = page(env, f"/diagnosticos/{response_id}/seccion/2").text
    assert "¿Hay mujeres en el consejo" in two
    assert "No se guardó" not in two
    assert env.client.get(f"/diagnosticos/{response_id}/seccion/99").status_code == 404


def test_another_cooperatives_response_is_a_404_page(manager_env):
    env, world, _ = manager_env
    _, admin = env.user("admin")
    created = env.client.post(
        "/api/v1/responses",
        headers={**admin, "Idempotency-Key": "otra-coop-1"},
        json={"cooperative_id": world["other"], "round_id": world["round"], "mode": "self"},
    )
    assert created.status_code == 201, created.text
    other_id = created.json()["id"]
    for url in (
        f"/diagnosticos/{other_id}",
        f"/diagnosticos/{other_id}/seccion/1",
        f"/diagnosticos/{other_id}/revision",
        f"/diagnosticos/{other_id}/resultados",
    ):
        reply = env.client.get(url)
        assert reply.status_code == 404 and "<html" in reply.text and "Traceback" not in reply.text, url
    token = env.client.get("/api/v1/auth/me").json()["csrf_token"]
    post = env.client.post(f"/diagnosticos/{other_id}/seccion/1", data={"csrf_token": token, "version": "1"})
    assert post.status_code == 404
    submit = env.client.post(f"/diagnosticos/{other_id}/enviar", data={"csrf_token": token, "version": "1"})
    assert submit.status_code == 404
    start_other = env.client.post(
        f"/mis-cooperativas/{world['other']}/rondas/{world['round']}/iniciar",
        data={"csrf_token": token, "idempotency_key": "x-1"},
        follow_redirects=False,
    )
    assert start_other.status_code == 404 and "<html" in start_other.text
    with env.session() as session:
        assert session.scalar(select(Response.id).where(Response.idempotency_key == "x-1")) is None
    # The home page does not list the other cooperative.
    assert "Lago Sur" not in page(env, "/mis-cooperativas").text


def test_no_page_ever_500s_on_odd_input(manager_env):
    env, world, _ = manager_env
    response_id = start(env, world)
    token = env.client.get("/api/v1/auth/me").json()["csrf_token"]
    odd_posts = [
        {"csrf_token": token},  # no version, nothing shown
        {"csrf_token": token, "version": "abc", "shown": "junta_anual", "a.junta_anual": "quizás"},
        {"csrf_token": token, "version": "1", "shown": ["no_existe", "razon_corriente"], "a.razon_corriente": "3"},
        {"csrf_token": token, "version": "1", "shown": "servicios", "a.servicios": ["inventada", "insumos"]},
        {
            "csrf_token": token,
            "version": "1",
            "shown": "servicios",
            "a.servicios": "insumos",
            "e.servicios": ["na", "ns"],
        },
        {"csrf_token": token, "version": "1", "shown": "asistencia", "a.asistencia": "1e999"},
        {"csrf_token": token, "version": "999", "shown": "asistencia", "a.asistencia": "50", "e.asistencia": "ns"},
    ]
    for data in odd_posts:
        reply = env.client.post(f"/diagnosticos/{response_id}/seccion/1", data=data, follow_redirects=False)
        assert reply.status_code in (303, 409, 422), (data, reply.status_code, reply.text[:300])
        assert "Traceback" not in reply.text
    huge = env.client.post(
        "/mis-cooperativas/99999999999999999999/rondas/1/iniciar",
        data={"csrf_token": token, "idempotency_key": "k" * 500},
    )
    assert huge.status_code == 404 and "Traceback" not in huge.text
    bad_date = post_section(env, response_id, 2, {"a.fecha_eleccion": "31-02-2026"})
    assert bad_date.status_code == 422 and 'value="31-02-2026"' in bad_date.text and "fecha válida" in bad_date.text
    chilean_date = post_section(env, response_id, 2, {"a.fecha_eleccion": "30-04-2025"})
    assert chilean_date.status_code == 303
    for url in (
        "/diagnosticos/0",
        "/diagnosticos/abc",
        "/diagnosticos/99999999999999999999999",
        "/diagnosticos/9223372036854775808/resultados",
        "/diagnosticos/-1/revision",
        f"/diagnosticos/{response_id}/seccion/0",
        f"/diagnosticos/{response_id}/seccion/x",
        "/diagnosticos/999999/resultados",
    ):
        reply = env.client.get(url)
        assert reply.status_code in (404, 422), (url, reply.status_code)
        assert "<html" in reply.text and "Traceback" not in reply.text
    # A preview of the results before submitting.
    preview = page(env, f"/diagnosticos/{response_id}/resultados")
    assert "Resultado preliminar" in preview.text
    # Anonymous visitors are sent to the login page.
    env.client.cookies.clear()
    assert (
        env.client.get(f"/diagnosticos/{response_id}", follow_redirects=False)
        .headers["location"]
        .startswith("/ingresar")
    )


def test_form_parsing_unit():
    questionnaire = scoring.load_questionnaire(WEB_QUESTIONNAIRE)
    sections = qf.sections(questionnaire)
    assert [s.number for s in sections] == [1, 2, 3, 4]
    assert len(qf.sections(questionnaire, "dimension")) == 2
    assert qf.parse_number("1.500.000,5") == 1500000.5 and qf.parse_number("2,5") == 2.5
    assert qf.parse_number("12abc") is None and qf.parse_number("") is None
    for number in (0, 7, 1500, 1500000, -20500, 2.5, 0.12345, 1234567.891, 1e-07):
        shown = qf.input_number(number)
        assert qf.parse_number(shown) == number, (number, shown)
    assert qf.input_number(1500000) == "1.500.000" and qf.input_number(1234.5) == "1.234,5"
    from starlette.datastructures import FormData

    form = FormData(
        [
            ("shown", "junta_anual"),
            ("shown", "asistencia"),
            ("shown", "servicios"),
            ("a.junta_anual", "no"),
            ("a.asistencia", "55,5"),
            ("a.servicios", "insumos"),
        ]
    )
    parsed = qf.parse_form(questionnaire, form, sections[0])
    assert parsed.errors == {}
    assert parsed.answers == {"junta_anual": False, "asistencia": 55.5, "servicios": ["insumos"]}
    assert qf.answer_text(questionnaire.question("servicios"), ["insumos"]) == "Compra de insumos"
    assert qf.answer_text(questionnaire.question("asistencia"), 1500000) == "1.500.000 %"
    assert qf.answer_text(questionnaire.question("junta_anual"), "ns") == qf.NS_LABEL
    assert qf.progress(questionnaire, {"junta_anual": True}).text == "1 de 9 respondidas"


def test_returned_with_comment_then_validated(api_env):
    env = api_env
    world = make_world(env)
    user, manager = env.user("manager", cooperatives=[world["coop"]])
    _, analyst = env.user("analyst")
    created = env.client.post(
        "/api/v1/responses",
        headers={**manager, "Idempotency-Key": "devuelta-1"},
        json={"cooperative_id": world["coop"], "round_id": world["round"], "mode": "self"},
    )
    rid = created.json()["id"]
    answers = {
        "junta_anual": True,
        "asistencia": 60,
        "servicios": ["insumos"],
        "consejo_vigente": False,
        "actas": "si",
        "activo_corriente": 10,
        "pasivo_corriente": 5,
    }
    saved = env.client.patch(
        f"/api/v1/responses/{rid}/answers", headers=manager, json={"answers": answers, "version": 1}
    )
    assert saved.status_code == 200, saved.text
    sent = env.client.post(f"/api/v1/responses/{rid}/submit", headers=manager, json={"version": 2})
    assert sent.status_code == 200, sent.text
    back = env.client.post(
        f"/api/v1/responses/{rid}/return",
        headers=analyst,
        json={"comment": "Revise la asistencia: el acta dice 45 %.", "version": 3},
    )
    assert back.status_code == 200, back.text

    login(env, user)
    home = page(env, "/mis-cooperativas").text
    assert "devuelta para corrección" in home and "Revise la asistencia: el acta dice 45 %." in home
    assert "Continuar el autodiagnóstico" in home
    results = page(env, f"/diagnosticos/{rid}/resultados").text
    assert "devolvió el diagnóstico con este comentario" in results and "Resultado preliminar" in results
    review = page(env, f"/diagnosticos/{rid}/revision").text
    assert "Revise la asistencia" in review and "Enviar diagnóstico" in review
    fixed = post_section(env, rid, 1, {"a.junta_anual": "si", "a.asistencia": "45", "a.servicios": "insumos"})
    assert fixed.status_code == 303
    review = page(env, f"/diagnosticos/{rid}/revision").text
    resent = env.client.post(
        f"/diagnosticos/{rid}/enviar",
        data={"csrf_token": csrf_of(review), "version": version_of(review)},
        follow_redirects=False,
    )
    assert resent.status_code == 303
    with env.session() as session:
        version = session.get(Response, rid).version
    assert (
        env.client.post(f"/api/v1/responses/{rid}/validate", headers=analyst, json={"version": version}).status_code
        == 200
    )
    home = page(env, "/mis-cooperativas").text
    assert "validada" in home and "Ver resultados" in home and "Continuar el autodiagnóstico" not in home
    results = page(env, f"/diagnosticos/{rid}/resultados").text
    assert "Estado: validada" in results and "Resultado preliminar" not in results


def submitted_self_diagnosis(env, key: str, **answers_changed) -> tuple:
    """A manager, and their self-diagnosis submitted through the API with these answers."""
    world = make_world(env)
    user, manager = env.user("manager", cooperatives=[world["coop"]])
    created = env.client.post(
        "/api/v1/responses",
        headers={**manager, "Idempotency-Key": key},
        json={"cooperative_id": world["coop"], "round_id": world["round"], "mode": "self"},
    )
    rid = created.json()["id"]
    answers = {
        "junta_anual": True,
        "asistencia": 60,
        "servicios": ["insumos"],
        "consejo_vigente": False,
        "actas": "si",
        "activo_corriente": 1_200_000,
        "pasivo_corriente": 1_000_000,
        **answers_changed,
    }
    saved = env.client.patch(
        f"/api/v1/responses/{rid}/answers", headers=manager, json={"answers": answers, "version": 1}
    )
    assert saved.status_code == 200, saved.text
    sent = env.client.post(f"/api/v1/responses/{rid}/submit", headers=manager, json={"version": 2})
    assert sent.status_code == 200, sent.text
    return user, manager, rid


def test_results_show_a_computed_indicator_with_its_value(api_env):
    """An indicator that pulled a light down reads as the form and the PDF give it (0,5), never
    «Sin respuesta»."""
    env = api_env
    user, _, rid = submitted_self_diagnosis(env, "indicador-1", activo_corriente=500_000)
    login(env, user)
    results = page(env, f"/diagnosticos/{rid}/resultados").text
    assert "Razón corriente" in results
    shown = results[results.index("Razón corriente") :][:400]
    assert "0,5" in shown and "Sin respuesta" not in shown


def test_a_score_reads_the_same_on_the_page_and_in_the_pdf(api_env):
    """One formatting module: «72,5 %» on the results page and in the PDF, never «72,5 de 100»."""
    from io import BytesIO

    from pypdf import PdfReader

    from reports import formatting as fmt

    env = api_env
    user, manager, rid = submitted_self_diagnosis(env, "formato-1", actas="parcial")
    overall = env.client.get(f"/api/v1/responses/{rid}/result", headers=manager).json()["result"]["overall"]["score"]
    shown = fmt.puntaje(overall)
    login(env, user)
    results = page(env, f"/diagnosticos/{rid}/resultados").text
    assert shown in results and "de 100" not in results
    pdf = env.client.get(f"/api/v1/responses/{rid}/report.pdf", headers=manager)
    assert pdf.status_code == 200
    text = " ".join(p.extract_text() for p in PdfReader(BytesIO(pdf.content)).pages)
    assert shown.replace("\u00a0", " ") in text.replace("\u00a0", " ")


def test_the_results_page_carries_what_the_pdf_says_beyond_the_lights(api_env):
    """Programmes, peers and change since the previous diagnosis are on the results page too,
    with the same sentences as the PDF (reports.view.beyond_the_lights words them once)."""
    import html
    from io import BytesIO

    from pypdf import PdfReader

    from reports import view

    env = api_env
    user, manager, rid = submitted_self_diagnosis(env, "mas-alla-1", consejo_vigente=False, actas="no")
    login(env, user)
    results = html.unescape(page(env, f"/diagnosticos/{rid}/resultados").text)
    for heading in (
        "Recomendaciones: programas de apoyo público",
        "Comparación con organizaciones pares",
        "Evolución respecto del diagnóstico anterior",
    ):
        assert heading in results
    assert view.FIRST_DIAGNOSIS in results
    assert view.PEERS_LEAD.format(min_peers=5) in results
    pdf = env.client.get(f"/api/v1/responses/{rid}/report.pdf", headers=manager)
    assert pdf.status_code == 200
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(BytesIO(pdf.content)).pages)
    # The same programme suggestions on both.
    section = results.split("Recomendaciones: programas de apoyo público", 1)[1].split("Qué ofrece", 1)[0]
    suggested = [
        line.split(":", 1)[1].strip().split(";")[0].strip()
        for line in section.split("\n")
        if line.strip().startswith(("INDAP", "CORFO", "FIA", "BancoEstado", "SERCOTEC", "INIA", "CNR", "DAES"))
        or ": INDAP" in line
    ]
    checked = [name for name in suggested if name]
    assert checked, "the page suggests no programme for a red subcategory"
    for name in checked:
        assert " ".join(name.split())[:30] in text, name
