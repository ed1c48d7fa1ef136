"""What a result says beyond its lights, on every page that shows one (manager results, field
result, analyst review) and in the PDF downloaded from the app; the «No sé» warning and the
consistency checks of the questionnaire form (both DBs).

- «su organización» in the light messages of a pre-cooperative group (its answer
  ``tipo_organizacion``);
- a critical question answered «No sé» in plain words («No se sabe si …: verifíquelo.»);
- a dimension red by a critical failure says so, also when its score would be green or is null
  («sin puntaje»);
- the data-quality note when more than 10 % of the questions that apply were answered «No sé»;
- the analyst sees the method a result was computed with and the consistency warnings stored
  with it;
- a method 1 snapshot (no ``method``, no ``critical_unknown``, no ``consistency_warnings``, «No sé»
  scored 0) renders on every page and in the PDF;
- the form warns what «No sé» does, shows a failed check beside each question it names (error and
  warning told apart in words), lists the blocking checks on the review pages and the submit
  refused for them shows its message (422, not a 500).
"""

from __future__ import annotations

import re
import textwrap
import uuid
from datetime import date
from io import BytesIO

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

import scoring
from app.cooperatives.models import Cooperative
from app.questionnaires.models import QuestionnaireVersion
from app.responses import service as responses
from app.responses.models import Response
from app.rounds.models import DiagnosisRound
from helpers import as_method_1

PASSWORD = "clave-segura-123"

QUESTIONNAIRE = textwrap.dedent(
    """\
    id: prueba-notas
    version: "1"
    title: Cuestionario de prueba de notas
    dimensions:
      - id: legal
        title: Legalidad
        subcategories:
          - id: registro
            title: Registro
            questions:
              - id: tipo_organizacion
                text: ¿Qué tipo de organización responde?
                type: choice
                options:
                  - {value: cooperativa_constituida, label: Cooperativa constituida}
                  - {value: grupo_precooperativo, label: Grupo pre-cooperativo}
              - id: vigente_daes
                text: ¿La cooperativa figura como vigente en el registro de cooperativas de DAES?
                type: yes_no
                critical: true
              - id: libro_actas
                text: ¿El libro de actas está al día?
                type: yes_no
                weight: 3
          - id: socios
            title: Socios
            questions:
              - id: socios_total
                text: Número total de socios
                type: number
                integer: true
                min: 0
                max: 1000
              - id: socias
                text: Número de socias (mujeres)
                type: number
                integer: true
                min: 0
                max: 1000
              - id: registro_socios
                text: ¿El registro de socios está al día?
                type: yes_no
          - id: asambleas
            title: Asambleas
            questions:
              - id: junta_anual
                text: En los últimos doce meses, ¿se realizó la junta general de socios?
                type: yes_no
      - id: gestion
        title: Gestión
        subcategories:
          - id: plan
            title: Planificación
            questions:
              - {id: plan_negocios, text: "¿Tiene un plan de negocios vigente?", type: yes_no}
              - {id: presupuesto, text: "¿Prepara un presupuesto anual?", type: yes_no}
              - {id: contabilidad, text: "¿Lleva la contabilidad al día?", type: yes_no}
              - {id: auditoria, text: "¿Tiene auditoría externa?", type: yes_no}
    checks:
      - id: socias_no_superan_total
        expression: socias <= socios_total
        message: Las socias no pueden ser más que el total de socios.
        severity: error
      - id: socios_minimos
        expression: socios_total >= 5
        message: Una cooperativa tiene al menos 5 socios; revise el número total de socios.
        severity: warning
    """
)

BASE = {
    "tipo_organizacion": "cooperativa_constituida",
    "vigente_daes": True,
    "libro_actas": True,
    "socios_total": 20,
    "socias": 8,
    "registro_socios": True,
    "junta_anual": True,
    "plan_negocios": True,
    "presupuesto": True,
    "contabilidad": True,
    "auditoria": True,
}
#: Fails the critical question: Registro is red (75), the Legalidad dimension red although its
#: score (91,7) would be green.
CRITICAL = {**BASE, "vigente_daes": False}
#: Three «No sé» of the eight questions that apply (37,5 %), one of them critical.
UNKNOWN = {**BASE, "vigente_daes": "ns", "plan_negocios": "ns", "auditoria": "ns"}
#: A well-run pre-cooperative group: green everywhere.
GROUP = {**BASE, "tipo_organizacion": "grupo_precooperativo"}
#: A critical failure while two of the three subcategories have no light: Legalidad is red
#: with no score.
NO_SCORE = {**BASE, "vigente_daes": False, "libro_actas": False, "registro_socios": "ns", "junta_anual": "ns"}
#: Breaks the error check (socias > total) and the warning (total under 5).
INCONSISTENT = {**BASE, "socios_total": 3, "socias": 4}

DAES_UNKNOWN = "No se sabe si la cooperativa figura como vigente en el registro de cooperativas de DAES: verifíquelo."
GREEN_COOP = scoring.LIGHT_MESSAGES[scoring.Light.GREEN]
GREEN_GROUP = "La gestión de su organización es buena; ¡Siga adelante!"
CRITICAL_NOTE = "una falla crítica deja en rojo toda la dimensión"
ERROR_MESSAGE = "Las socias no pueden ser más que el total de socios."
WARNING_MESSAGE = "Una cooperativa tiene al menos 5 socios; revise el número total de socios."
INTERVIEW = {
    "interviewer_name": "Ana Pérez",
    "institution": "Universidad de Talca",
    "interview_date": date(2026, 5, 3),
    "interview_place": "Sede, Talca",
    "interviewee_role": "Gerente",
}


def rut(number: int) -> str:
    """A RUT with its check digit (módulo 11)."""
    total, factor = 0, 2
    for digit in reversed(str(number)):
        total += int(digit) * factor
        factor = 2 if factor == 7 else factor + 1
    check = 11 - total % 11
    return f"{number}-{ {10: 'K', 11: '0'}.get(check, str(check)) }"


class World:
    pass


def client_for(env, user) -> TestClient:
    client = TestClient(env.client.app)
    reply = client.post("/ingresar", data={"email": user.email, "password": PASSWORD}, follow_redirects=False)
    assert reply.status_code == 303, reply.text
    return client


def get(client: TestClient, url: str, status: int = 200):
    reply = client.get(url)
    assert reply.status_code == status, (url, reply.status_code, reply.text[:800])
    assert "Traceback" not in reply.text
    return reply


def fieldset(html: str, qid: str) -> str:
    part = html[html.index(f'id="p-{qid}"') :]
    return part[: part.index("</fieldset>")]


def csrf_of(html: str) -> str:
    return re.findall(r'name="csrf_token" value="([^"]*)"', html)[0]


def version_of(html: str) -> str:
    return re.search(r'name="version" value="(\d+)"', html).group(1)


def pdf_text(content: bytes) -> str:
    reader = PdfReader(BytesIO(content))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


@pytest.fixture
def world(api_env) -> World:
    """One cooperative per answer set, each with a response (submitted unless a draft is
    needed), a manager of them all, a field member assigned to them and an analyst."""
    from app.questionnaires.service import content_hash

    env = api_env
    w = World()
    w.env = env
    admin, _ = env.user("admin")
    sets = {
        "critical": (CRITICAL, True),
        "unknown": (UNKNOWN, True),
        "group": (GROUP, True),
        "no_score": (NO_SCORE, True),
        "old": (UNKNOWN, True),
        "draft": (INCONSISTENT, False),
        "interview": (INCONSISTENT, False),
        "blank": ({}, False),
    }
    with env.session() as session:
        version = QuestionnaireVersion(
            questionnaire_id="prueba-notas",
            version="1",
            title="Cuestionario de prueba de notas",
            content_hash=content_hash(QUESTIONNAIRE),
            source=QUESTIONNAIRE,
        )
        session.add(version)
        session.flush()
        round_ = DiagnosisRound(
            name="Ronda de notas 2027",
            questionnaire_version_id=version.id,
            opens_on=date(2026, 1, 1),
            closes_on=date(2027, 12, 31),
            state="open",
        )
        coops = {
            name: Cooperative(
                rut=rut(77_000_000 + index),
                name=f"Cooperativa {name}",
                legal_type="campesina",
                region_code=7,
                sectors=["hortalizas"],
            )
            for index, name in enumerate(sets)
        }
        session.add(round_)
        session.add_all(coops.values())
        session.commit()
        w.coops = {name: coop.id for name, coop in coops.items()}
        admin_user = session.merge(admin)
        w.responses = {}
        for name, (answers, submit) in sets.items():
            mode = "interview" if name == "interview" else "self"
            extra = INTERVIEW if mode == "interview" else {}
            response, _ = responses.create_response(
                session=session,
                user=admin_user,
                settings=env.settings,
                idempotency_key=str(uuid.uuid4()),
                data={"cooperative_id": coops[name].id, "round_id": round_.id, "mode": mode, "answers": None, **extra},
            )
            if answers:
                response = responses.update_answers(
                    session=session,
                    user=admin_user,
                    settings=env.settings,
                    response_id=response.id,
                    answers=answers,
                    version=response.version,
                )
            if submit:
                response = responses.submit(
                    session=session,
                    user=admin_user,
                    settings=env.settings,
                    response_id=response.id,
                    version=response.version,
                )
            w.responses[name] = response.id
        old = session.get(Response, w.responses["old"])
        old.result_snapshot = as_method_1(old.result_snapshot)
        session.commit()
    manager, _ = env.user("manager", cooperatives=list(w.coops.values()))
    field, _ = env.user("field", cooperatives=list(w.coops.values()), institution="Universidad de Talca")
    analyst, _ = env.user("analyst")
    w.manager, w.field, w.analyst = client_for(env, manager), client_for(env, field), client_for(env, analyst)
    return w


def result_pages(w: World, name: str) -> dict[str, str]:
    rid = w.responses[name]
    return {
        "manager": get(w.manager, f"/diagnosticos/{rid}/resultados").text,
        "field": get(w.field, f"/terreno/entrevistas/{rid}/resultado").text,
        "analyst": get(w.analyst, f"/analisis/respuestas/{rid}").text,
    }


# --------------------------------------------------------------------------- result pages


def test_the_answer_sets_give_the_results_the_pages_explain(world):
    with world.env.session() as session:
        snapshots = {name: session.get(Response, rid).result_snapshot for name, rid in world.responses.items()}
    legal = {name: snapshots[name]["dimensions"][0] for name in ("critical", "unknown", "no_score")}
    assert legal["critical"]["light"] == "red" and legal["critical"]["score"] == 91.7
    assert legal["no_score"]["light"] == "red" and legal["no_score"]["score"] is None
    assert snapshots["unknown"]["dimensions"][0]["subcategories"][0]["critical_unknown"] == ["vigente_daes"]
    assert snapshots["group"]["overall"]["light"] == "green"
    assert "method" not in snapshots["old"] and "consistency_warnings" not in snapshots["old"]


def test_a_pre_cooperative_group_reads_su_organizacion_everywhere(world):
    for where, html in result_pages(world, "group").items():
        assert GREEN_GROUP in html, where
        assert GREEN_COOP not in html, where
    for where, html in result_pages(world, "critical").items():
        assert GREEN_GROUP not in html, where
    # A constituted cooperative's green (the Socios subcategory) reads the official message.
    assert GREEN_COOP in result_pages(world, "critical")["manager"]


def test_a_critical_unknown_reads_plainly_and_many_no_se_give_a_data_note(world):
    for where, html in result_pages(world, "unknown").items():
        assert DAES_UNKNOWN in html, where
        assert "Preguntas críticas sin respuesta" in html, where
        assert "El 37,5\u00a0% de las preguntas que se aplican se respondió «No sé»" in html, where
        assert "Calidad de los datos" in html, where
    for where, html in result_pages(world, "critical").items():
        assert "No se sabe" not in html and "Calidad de los datos" not in html, where


def test_a_dimension_red_by_a_critical_failure_says_so(world):
    for where, html in result_pages(world, "critical").items():
        assert (
            "Con su puntaje quedaría en verde, pero está en rojo porque tiene una falla crítica en «Registro»" in html
        ), where
        assert CRITICAL_NOTE in html, where
    for where, html in result_pages(world, "no_score").items():
        assert "Está en rojo, sin puntaje, porque tiene una falla crítica en «Registro»" in html, where
        assert "sin puntaje" in html.lower(), where
    # A cooperative without critical failures gets no such note.
    for where, html in result_pages(world, "group").items():
        assert CRITICAL_NOTE not in html, where


def test_the_field_result_page_writes_scores_as_the_managers_does(world):
    """One macro (macros.html ``score_text``) beside the badge: «Puntaje: 91,7 %», «Sin puntaje»."""
    written = {}
    for name in ("critical", "no_score"):
        pages = result_pages(world, name)
        field, manager = (re.findall(r'<span class="q-score">([^<]*)</span>', pages[w]) for w in ("field", "manager"))
        assert field and field == manager, name
        assert "light-score" not in pages["field"].split('<section class="card q-beyond"', 1)[0], name
        written[name] = field
    assert "Puntaje: 91,7\u00a0%" in written["critical"] and "Sin puntaje" in written["no_score"]


def test_the_analyst_sees_the_method_and_the_stored_consistency_warnings(world):
    html = get(world.analyst, f"/analisis/respuestas/{world.responses['critical']}").text
    assert "Método de cálculo: <strong>2</strong>" in html
    assert "Advertencia de coherencia" not in html


def test_a_method_1_snapshot_renders_on_every_page_and_in_the_pdf(world):
    pages = result_pages(world, "old")
    # The stored lights as stored: the critical «No sé» was a critical failure then.
    assert "Fallas críticas" in pages["manager"] and "Fallas críticas" in pages["field"]
    assert "su respuesta: No sé / prefiero no responder" in pages["manager"]
    for where, html in pages.items():
        assert "No se sabe" not in html, where  # no critical_unknown in method 1
        assert CRITICAL_NOTE not in html, where  # no critical rule for dimensions in method 1
        assert "El 37,5\u00a0% de las preguntas que se aplican se respondió «No sé»" in html, where
    assert "Método de cálculo: <strong>1</strong>" in pages["analyst"]
    reply = world.manager.get(f"/diagnosticos/{world.responses['old']}/informe.pdf")
    assert reply.status_code == 200 and reply.headers["content-type"] == "application/pdf"
    text = pdf_text(reply.content)
    assert "Método de cálculo: 1" in text
    assert "El 37,5 % de las preguntas que se aplican se respondió «No sé»" in text
    assert "No se sabe si" not in text


def test_the_pdf_from_the_app_says_what_the_pages_say(world):
    reply = world.manager.get(f"/diagnosticos/{world.responses['unknown']}/informe.pdf")
    assert reply.status_code == 200
    text = pdf_text(reply.content)
    assert DAES_UNKNOWN in text and "Método de cálculo: 2" in text
    assert "El 37,5 % de las preguntas que se aplican se respondió «No sé»" in text
    group = pdf_text(world.manager.get(f"/diagnosticos/{world.responses['group']}/informe.pdf").content)
    assert GREEN_GROUP in group and GREEN_COOP not in group


# --------------------------------------------------------------------------- the form


def test_the_form_warns_what_no_se_does(world):
    rid = world.responses["blank"]
    html = get(world.manager, f"/diagnosticos/{rid}/seccion/1").text
    assert html.count("la pregunta queda sin dato y no cuenta en el resultado") == 1  # once per page
    # Beside a question, the note shows only once it is answered «No sé» (questionnaire.js toggles it).
    assert re.search(r"data-ns-note hidden>", fieldset(html, "vigente_daes"))
    section = world.manager.post(
        f"/diagnosticos/{rid}/seccion/1",
        data={
            "csrf_token": csrf_of(html),
            "version": version_of(html),
            "accion": "guardar",
            "shown": ["tipo_organizacion", "vigente_daes", "libro_actas"],
            "a.vigente_daes": "ns",
            "a.libro_actas": "si",
        },
        follow_redirects=False,
    )
    assert section.status_code == 303
    html = get(world.manager, f"/diagnosticos/{rid}/seccion/1").text
    note = fieldset(html, "vigente_daes")
    assert "data-ns-note>" in note and "queda sin dato y no cuenta en el resultado" in note
    assert "Es una pregunta clave" in note  # a critical question
    assert "data-ns-note hidden>" in fieldset(html, "libro_actas")
    field = get(world.field, f"/terreno/entrevistas/{world.responses['interview']}/dimension/1").text
    assert "la pregunta queda sin dato y no cuenta en el resultado" in field


def save_members(world, rid: int, html: str, *, total: str, socias: str, register: str):
    """Save the members section (page 2) of the manager's draft as the form posts it."""
    return world.manager.post(
        f"/diagnosticos/{rid}/seccion/2",
        data={
            "csrf_token": csrf_of(html),
            "version": version_of(html),
            "accion": "guardar",
            "shown": ["socios_total", "socias", "registro_socios"],
            "a.socios_total": total,
            "a.socias": socias,
            "a.registro_socios": register,
        },
        follow_redirects=False,
    )


def test_checks_show_beside_the_fields_they_name_while_answering(world):
    rid = world.responses["draft"]
    html = get(world.manager, f"/diagnosticos/{rid}/seccion/2").text
    socias, total = fieldset(html, "socias"), fieldset(html, "socios_total")
    assert "Incoherencia (impide enviar):</strong> " + ERROR_MESSAGE in socias
    assert "Incoherencia (impide enviar):</strong> " + ERROR_MESSAGE in total
    assert "Advertencia:</strong> " + WARNING_MESSAGE in total
    assert WARNING_MESSAGE not in socias
    assert "q-check-error" in socias and "q-check-warning" in total
    assert 'aria-describedby="p-socias-coherencia"' in socias or "p-socias-coherencia" in socias
    assert ERROR_MESSAGE not in fieldset(html, "registro_socios")
    # A refused save (a typing mistake elsewhere) judges the checks on what was posted.
    refused = save_members(world, rid, html, total="30", socias="4", register="quizás")
    assert refused.status_code == 422
    assert ERROR_MESSAGE not in refused.text and WARNING_MESSAGE not in refused.text
    # Saved consistent: the messages are gone.
    fixed = save_members(world, rid, html, total="30", socias="4", register="si")
    assert fixed.status_code == 303
    html = get(world.manager, f"/diagnosticos/{rid}/seccion/2").text
    assert ERROR_MESSAGE not in html and WARNING_MESSAGE not in html
    # The field team's dimension page shows them too.
    field = get(world.field, f"/terreno/entrevistas/{world.responses['interview']}/dimension/1").text
    assert "Incoherencia (impide enviar):</strong> " + ERROR_MESSAGE in fieldset(field, "socias")
    assert "Advertencia:</strong> " + WARNING_MESSAGE in fieldset(field, "socios_total")


def test_the_review_lists_blocking_checks_and_the_refused_submit_says_why(world):
    rid = world.responses["draft"]
    review = get(world.manager, f"/diagnosticos/{rid}/revision").text
    assert "Respuestas incoherentes" in review and ERROR_MESSAGE in review
    assert f'href="/diagnosticos/{rid}/seccion/2#p-socias"' in review
    assert "Revise esta respuesta" in review and WARNING_MESSAGE in review
    # The preview of the result says it too.
    preview = get(world.manager, f"/diagnosticos/{rid}/resultados").text
    assert "Resultado preliminar" in preview and ERROR_MESSAGE in preview
    refused = world.manager.post(
        f"/diagnosticos/{rid}/enviar",
        data={"csrf_token": csrf_of(review), "version": version_of(review)},
        follow_redirects=False,
    )
    assert refused.status_code == 422
    assert "no son coherentes entre sí" in refused.text and ERROR_MESSAGE in refused.text
    assert "Traceback" not in refused.text
    with world.env.session() as session:
        assert session.get(Response, rid).status == "draft"

    # The field team's review and submit.
    iid = world.responses["interview"]
    field_review = get(world.field, f"/terreno/entrevistas/{iid}/revision").text
    assert "Respuestas incoherentes" in field_review and ERROR_MESSAGE in field_review
    assert f'href="/terreno/entrevistas/{iid}/dimension/1#p-socias"' in field_review
    assert "Enviar entrevista" not in field_review  # blocked until corrected
    with world.env.session() as session:
        version = session.get(Response, iid).version
    refused = world.field.post(
        f"/terreno/entrevistas/{iid}/enviar",
        data={"csrf_token": csrf_of(field_review), "version": str(version)},
        follow_redirects=False,
    )
    assert refused.status_code == 422
    assert "no son coherentes entre sí" in refused.text and ERROR_MESSAGE in refused.text
    preview = get(world.field, f"/terreno/entrevistas/{iid}/resultado").text
    assert "Resultado preliminar" in preview and ERROR_MESSAGE in preview


def test_a_warning_does_not_block_and_is_flagged_to_the_analyst(world):
    rid = world.responses["draft"]
    page = get(world.manager, f"/diagnosticos/{rid}/seccion/2").text
    saved = save_members(world, rid, page, total="3", socias="2", register="si")
    assert saved.status_code == 303
    review = get(world.manager, f"/diagnosticos/{rid}/revision").text
    assert "Respuestas incoherentes" not in review and WARNING_MESSAGE in review
    sent = world.manager.post(
        f"/diagnosticos/{rid}/enviar",
        data={"csrf_token": csrf_of(review), "version": version_of(review)},
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    with world.env.session() as session:
        snapshot = session.get(Response, rid).result_snapshot
    assert [w["id"] for w in snapshot["consistency_warnings"]] == ["socios_minimos"]
    html = get(world.analyst, f"/analisis/respuestas/{rid}").text
    assert "Advertencia de coherencia al enviar (1)" in html and WARNING_MESSAGE in html
    assert 'href="#pregunta-socios_total"' in html
    row = html[html.index('id="pregunta-socios_total"') :]
    assert "advertencia de coherencia" in row[: row.index("</tr>")]
    assert "Método de cálculo: <strong>2</strong>" in html
