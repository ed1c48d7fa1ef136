"""One response lifecycle (app/responses/lifecycle.py): the same answers entered through the
API, the field team's web form, the interview spreadsheet and an ODK Central export leave the
same audit trail and the same result snapshot; the rules of a response (round open, interview
date) are the lifecycle's wherever it starts. Both backends (``api_env``)."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

import scoring
from app.cooperatives.models import Cooperative
from app.errors import Conflict, Invalid
from app.questionnaires.models import QuestionnaireVersion
from app.responses import lifecycle
from app.responses.models import Response, ResponseEvent
from app.rounds.models import DiagnosisRound
from conftest import sample_questionnaire

ANSWERS = {
    "junta_anual": True,
    "actas_al_dia": "parcial",
    "consejo_vigente": True,
    "consejo_mujeres": False,
    "activo_corriente": 1_500_000,
    "pasivo_corriente": 1_000_000,
}
# The same answers as the web form and the spreadsheet write them.
FORM = {
    "a.junta_anual": "si",
    "a.actas_al_dia": "parcial",
    "a.consejo_vigente": "si",
    "a.consejo_mujeres": "no",
    "a.activo_corriente": "1500000",
    "a.pasivo_corriente": "1000000",
}
INTERVIEW = {
    "interviewer_name": "Ana Pérez",
    "institution": "Universidad de Talca",
    "interview_date": "2026-10-05",
    "interview_place": "Sede, Talca",
    "interviewee_role": "Gerente",
}
RUTS = {"api": "76123456-0", "web": "65000000-5", "sheet": "70000000-1", "odk": "71000000-K"}


@pytest.fixture
def world(api_env):
    with api_env.session() as session:
        version = session.scalar(
            select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == "prueba-mini")
        )
        coops = {
            channel: Cooperative(
                rut=rut, name=f"Cooperativa {channel}", legal_type="campesina", region_code=7, sectors=[]
            )
            for channel, rut in RUTS.items()
        }
        round_ = DiagnosisRound(
            name="Ronda 2026",
            questionnaire_version_id=version.id,
            opens_on=date(2026, 1, 1),
            closes_on=date(2026, 12, 31),
            state="open",
        )
        session.add_all([*coops.values(), round_])
        session.commit()
        ids = {channel: coop.id for channel, coop in coops.items()}
        round_id = round_.id
    user, headers = api_env.user("field", macrozones=["Centro-Sur"], institution="Universidad de Talca")
    return {"coops": ids, "round": round_id, "user": user, "headers": headers}


def _hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


def through_api(env, world) -> int:
    headers = world["headers"]
    created = env.client.post(
        "/api/v1/responses",
        headers={**headers, "Idempotency-Key": "api-1"},
        json={"cooperative_id": world["coops"]["api"], "round_id": world["round"], "mode": "interview", **INTERVIEW},
    )
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    saved = env.client.patch(
        f"/api/v1/responses/{rid}/answers", headers=headers, json={"answers": ANSWERS, "version": 1}
    )
    assert saved.status_code == 200, saved.text
    sent = env.client.post(f"/api/v1/responses/{rid}/submit", headers=headers, json={"version": 2})
    assert sent.status_code == 200, sent.text
    return rid


def through_web(env, world) -> int:
    env.client.cookies.clear()
    logged = env.client.post(
        "/ingresar", data={"email": world["user"].email, "password": "clave-segura-123"}, follow_redirects=False
    )
    assert logged.status_code == 303
    csrf = env.client.get("/api/v1/auth/me").json()["csrf_token"]
    coop = world["coops"]["web"]
    form = env.client.get("/terreno/entrevistas/nueva", params={"cooperativa": coop, "ronda": world["round"]})
    created = env.client.post(
        "/terreno/entrevistas/nueva",
        data={
            "csrf_token": csrf,
            "cooperativa": str(coop),
            "ronda": str(world["round"]),
            "idempotency_key": _hidden(form.text, "idempotency_key"),
            **INTERVIEW,
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    rid = int(created.headers["location"].split("/")[3])
    for number, shown in (
        (1, ["junta_anual", "actas_al_dia", "consejo_vigente", "consejo_mujeres"]),
        (2, ["activo_corriente", "pasivo_corriente"]),
    ):
        url = f"/terreno/entrevistas/{rid}/dimension/{number}"
        version = _hidden(env.client.get(url).text, "version")
        data = {
            "csrf_token": csrf,
            "version": version,
            "shown": shown,
            "accion": "guardar",
            **{f"a.{qid}": FORM[f"a.{qid}"] for qid in shown},
        }
        assert env.client.post(url, data=data, follow_redirects=False).status_code == 303
    review = env.client.get(f"/terreno/entrevistas/{rid}/revision").text
    sent = env.client.post(
        f"/terreno/entrevistas/{rid}/enviar",
        data={"csrf_token": csrf, "version": _hidden(review, "version")},
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    env.client.cookies.clear()
    return rid


def through_spreadsheet(env, world) -> int:
    from test_interview_import import filled, template, upload

    headers = world["headers"]
    book = template(env, headers, world["round"])
    row = [
        "E-1",
        RUTS["sheet"],
        "Ana Pérez",
        "Universidad de Talca",
        datetime(2026, 10, 5),
        "Sede, Talca",
        "Gerente",
        "sí",
        "Sí",
        "Parcialmente",
        "si",
        "no",
        1_500_000,
        1_000_000,
    ]
    done = upload(env, headers, world["round"], filled(book, [row]))
    assert done.status_code == 200, done.text
    return done.json()["created"][0]["response_id"]


def through_odk(env, world) -> int:
    from test_odk_import import Interview, odk_csv, post

    questionnaire = scoring.load_questionnaire(sample_questionnaire())
    content = odk_csv(
        questionnaire, [Interview(RUTS["odk"], ANSWERS, "odk-1", start="2026-10-05T10:15:03.120-03:00")], groups=False
    )
    done = post(
        env,
        world["headers"],
        world["round"],
        content,
        "central.csv",
        data={"interview_place": "Sede, Talca", "interviewee_role": "Gerente"},
    )
    assert done.status_code == 200, done.text
    return done.json()["rows"][0]["response_id"]


def trail(env, response_id: int) -> tuple[list, dict, dict]:
    """The audit events (kind, question, old and new value; not who, when or the origin comment),
    the result snapshot and the interview details."""
    with env.session() as session:
        response = session.get(Response, response_id)
        events = session.scalars(
            select(ResponseEvent).where(ResponseEvent.response_id == response_id).order_by(ResponseEvent.id)
        ).all()
        kinds = [
            (e.kind, e.question_id, json.dumps(e.old_value, sort_keys=True), json.dumps(e.new_value, sort_keys=True))
            for e in events
        ]
        details = {name: getattr(response, name) for name in lifecycle.INTERVIEW_FIELDS}
        return kinds, response.result_snapshot, {"status": response.status, "answers": response.answers, **details}


def test_every_channel_leaves_the_same_trail_and_the_same_snapshot(api_env, world):
    channels = {
        "api": through_api(api_env, world),
        "web": through_web(api_env, world),
        "sheet": through_spreadsheet(api_env, world),
        "odk": through_odk(api_env, world),
    }
    trails = {name: trail(api_env, rid) for name, rid in channels.items()}
    events, snapshot, state = trails["api"]
    assert events[0][0] == "created" and events[-1][0] == "submitted"
    assert sorted(e[1] for e in events if e[0] == "answer_changed") == sorted(ANSWERS)
    assert snapshot["method"] == scoring.METHOD
    for name, (other_events, other_snapshot, other_state) in trails.items():
        # Answers may be saved in another order (a form page at a time): the same set of events.
        assert sorted(other_events) == sorted(events), name
        assert other_events[0][0] == "created" and other_events[-1][0] == "submitted", name
        assert other_snapshot == snapshot, name
        assert other_state["status"] == "submitted" and other_state["answers"] == ANSWERS, name
    # The review steps are the same whichever way the response arrived: validate, then reopen
    # as revision 2 (a draft with the same answers, its trail starting with «reopened»).
    _, analyst = api_env.user("analyst")
    reopened = {}
    for name, rid in channels.items():
        version = api_env.client.get(f"/api/v1/responses/{rid}", headers=analyst).json()["version"]
        validated = api_env.client.post(f"/api/v1/responses/{rid}/validate", headers=analyst, json={"version": version})
        assert validated.status_code == 200, validated.text
        again = api_env.client.post(
            f"/api/v1/responses/{rid}/reopen", headers=analyst, json={"version": validated.json()["version"]}
        )
        assert again.status_code == 201, again.text
        reopened[name] = trail(api_env, again.json()["id"])
        assert [e[0] for e in trail(api_env, rid)[0]][-1] == "validated", name
    for name, (events_2, snapshot_2, state_2) in reopened.items():
        assert [e[0] for e in events_2] == ["reopened"] and snapshot_2 is None, name
        assert state_2["status"] == "draft" and state_2["answers"] == ANSWERS, name


def test_the_lifecycle_rules_apply_to_every_start():
    open_round = DiagnosisRound(
        id=1,
        name="Ronda 2026",
        questionnaire_version_id=1,
        opens_on=date(2026, 1, 1),
        closes_on=date(2026, 12, 31),
        state="open",
    )
    closed = DiagnosisRound(
        id=2,
        name="Ronda 2025",
        questionnaire_version_id=1,
        opens_on=date(2025, 1, 1),
        closes_on=date(2025, 12, 31),
        state="closed",
    )
    questionnaire = scoring.load_questionnaire(sample_questionnaire())
    now = datetime(2026, 10, 6, 12, tzinfo=timezone.utc)
    details = {**INTERVIEW, "interview_date": date(2026, 10, 5)}

    def start(round_=open_round, **changes):
        return lifecycle.start(
            round_=round_,
            questionnaire=questionnaire,
            cooperative_id=1,
            mode="interview",
            answers=ANSWERS,
            details={**details, **changes},
            by_id=None,
            at=now,
            origin="prueba",
        )

    response, step = start()
    assert response.status == "draft" and [e["kind"] for e in step.events] == ["created"] + ["answer_changed"] * 6
    with pytest.raises(Conflict) as closed_error:
        start(round_=closed)
    assert closed_error.value.code == "round_not_open" and "cerrada" in closed_error.value.message
    for day, code in ((now.date() + timedelta(days=1), "future"), (date(1999, 12, 31), "too_old")):
        with pytest.raises(Invalid) as bad_date:
            start(interview_date=day)
        assert [d["code"] for d in bad_date.value.details] == [code]
    with pytest.raises(Invalid) as no_place:
        start(interview_place="")
    assert no_place.value.details[0]["field"] == "interview_place"
