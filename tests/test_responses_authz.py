"""Authorization matrix of the responses API: role × endpoint × own versus another cooperative.

Roles: admin, analyst, field (assigned cooperative), field_zone (assigned macrozone), manager.
"Own" is cooperative A (region 13, macrozone Centro), assigned to the field users and managed
by the manager; "other" is cooperative B (region 9, macrozone Sur). A record the user may not
see answers 404; one they see but may not act on, 403. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import date

import pytest
from sqlalchemy import select

from app.cooperatives.models import Cooperative
from app.questionnaires.models import QuestionnaireVersion
from app.responses.models import Response
from app.rounds.models import DiagnosisRound

COMPLETE = {
    "junta_anual": True,
    "actas_al_dia": "si",
    "consejo_vigente": True,
    "consejo_mujeres": True,
    "activo_corriente": 2000000,
    "pasivo_corriente": 1000000,
}
INTERVIEW = {
    "interviewer_name": "Luis Soto",
    "institution": "Universidad de La Frontera",
    "interview_date": date(2026, 9, 1),
    "interview_place": "Temuco",
    "interviewee_role": "Presidenta",
}
ROLES = ("admin", "analyst", "field", "field_zone", "manager")
STAFF = ("admin", "analyst")


class Matrix:
    def __init__(self, env) -> None:
        self.env = env
        self._rounds = itertools.count(1)
        with env.session() as session:
            self.version_id = session.scalar(
                select(QuestionnaireVersion.id).where(QuestionnaireVersion.questionnaire_id == "prueba-mini")
            )
            a = Cooperative(rut="76123456-0", name="Cooperativa A", legal_type="campesina", region_code=13)
            b = Cooperative(rut="65000000-5", name="Cooperativa B", legal_type="agricola", region_code=9)
            session.add_all([a, b])
            session.commit()
            self.coop = {"own": a.id, "other": b.id}
        self.headers = {
            "admin": env.user("admin", password=None)[1],
            "analyst": env.user("analyst", password=None)[1],
            "field": env.user("field", cooperatives=[a.id], institution="UFRO", password=None)[1],
            "field_zone": env.user("field", macrozones=["Centro"], institution="USACH", password=None)[1],
            "manager": env.user("manager", cooperatives=[a.id], password=None)[1],
        }
        self.failures: list[str] = []

    def round(self) -> int:
        with self.env.session() as session:
            n = next(self._rounds)
            diagnosis_round = DiagnosisRound(
                name=f"Ronda {n}",
                questionnaire_version_id=self.version_id,
                opens_on=date(2026, 1, 1),
                closes_on=date(2026, 12, 31),
                state="open",
            )
            session.add(diagnosis_round)
            session.commit()
            return diagnosis_round.id

    def fresh(self, target: str, mode: str, status: str = "draft") -> int:
        """A response of the target cooperative, in its own round, in the given status."""
        round_id = self.round()
        with self.env.session() as session:
            response = Response(
                cooperative_id=self.coop[target],
                round_id=round_id,
                revision=1,
                is_current=True,
                mode=mode,
                status=status,
                answers=dict(COMPLETE),
                version=1,
                result_snapshot={"overall": {"light": "green"}, "dimensions": []} if status != "draft" else None,
                **(INTERVIEW if mode == "interview" else {}),
            )
            session.add(response)
            session.commit()
            return response.id

    def check(self, label: str, expected: int, response, *, refused_id: int | None = None) -> None:
        if response.status_code != expected:
            self.failures.append(f"{label}: expected {expected}, got {response.status_code} {response.text[:160]}")
        elif refused_id is not None and expected >= 400:
            with self.env.session() as session:
                row = session.get(Response, refused_id)
                if row.version != 1 or row.answers != COMPLETE:
                    self.failures.append(f"{label}: refused but the response changed")


def expect_edit(role: str, target: str, mode: str, ok: int = 200) -> int:
    """Answering, changing details and submitting: admins any mode; field only interviews,
    managers only self-diagnoses; never analysts; another cooperative is invisible."""
    if role in STAFF:
        return ok if role == "admin" else 403
    if target == "other":
        return 404
    allowed = {"field": "interview", "field_zone": "interview", "manager": "self"}[role]
    return ok if mode == allowed else 403


def expect_review(role: str, target: str, ok: int = 200) -> int:
    if role in STAFF:
        return ok
    return 404 if target == "other" else 403


def expect_read(role: str, target: str) -> int:
    return 200 if role in STAFF or target == "own" else 404


@pytest.fixture
def matrix(api_env) -> Matrix:
    return Matrix(api_env)


def test_create_matrix(matrix):
    client = matrix.env.client
    for role, target, mode in itertools.product(ROLES, ("own", "other"), ("self", "interview")):
        body = {"cooperative_id": matrix.coop[target], "round_id": matrix.round(), "mode": mode}
        if mode == "interview":
            body.update({**INTERVIEW, "interview_date": "2026-09-01"})
        response = client.post(
            "/api/v1/responses", json=body, headers={**matrix.headers[role], "Idempotency-Key": str(uuid.uuid4())}
        )
        matrix.check(f"create {mode} {role} {target}", expect_edit(role, target, mode, ok=201), response)
    assert not matrix.failures, "\n".join(matrix.failures)


def test_read_matrix(matrix):
    client = matrix.env.client
    ids = {
        (target, mode): matrix.fresh(target, mode, "submitted")
        for target in ("own", "other")
        for mode in ("self", "interview")
    }
    for role in ROLES:
        headers = matrix.headers[role]
        listed = {
            item["id"]
            for item in client.get("/api/v1/responses", params={"per_page": 200}, headers=headers).json()["items"]
        }
        visible = {rid for (target, _), rid in ids.items() if role in STAFF or target == "own"}
        if listed != visible:
            matrix.failures.append(f"list {role}: got {sorted(listed)}, expected {sorted(visible)}")
        for (target, mode), rid in ids.items():
            for path in ("", "/history", "/result", "/revisions"):
                matrix.check(
                    f"GET{path} {mode} {role} {target}",
                    expect_read(role, target),
                    client.get(f"/api/v1/responses/{rid}{path}", headers=headers),
                )
    for role in ROLES:  # an unknown id looks like an invisible one
        matrix.check(f"GET unknown {role}", 404, client.get("/api/v1/responses/999999", headers=matrix.headers[role]))

    # anonymous: 401 everywhere
    rid = ids[("own", "self")]
    calls = [
        ("post", "/api/v1/responses", {"cooperative_id": matrix.coop["own"], "round_id": 1, "mode": "self"}),
        ("get", "/api/v1/responses", None),
        ("get", f"/api/v1/responses/{rid}", None),
        ("patch", f"/api/v1/responses/{rid}/answers", {"answers": {}, "version": 1}),
        ("patch", f"/api/v1/responses/{rid}", {"version": 1}),
        ("post", f"/api/v1/responses/{rid}/submit", {"version": 1}),
        ("post", f"/api/v1/responses/{rid}/return", {"comment": "x", "version": 1}),
        ("post", f"/api/v1/responses/{rid}/validate", {"version": 1}),
        ("post", f"/api/v1/responses/{rid}/reopen", {"version": 1}),
        ("get", f"/api/v1/responses/{rid}/history", None),
        ("get", f"/api/v1/responses/{rid}/result", None),
        ("get", f"/api/v1/responses/{rid}/revisions", None),
    ]
    for method, url, body in calls:
        kwargs = {"json": body} if body is not None else {}
        response = client.request(method.upper(), url, headers={"Idempotency-Key": "k"}, **kwargs)
        matrix.check(f"anonymous {method} {url}", 401, response)
        if response.status_code == 401:
            assert response.json()["error"]["code"] == "not_authenticated"
    assert not matrix.failures, "\n".join(matrix.failures)


def test_write_matrix(matrix):
    client = matrix.env.client
    for role, target, mode in itertools.product(ROLES, ("own", "other"), ("self", "interview")):
        headers = matrix.headers[role]
        label = f"{mode} {role} {target}"
        rid = matrix.fresh(target, mode)
        matrix.check(
            f"PATCH answers {label}",
            expect_edit(role, target, mode),
            client.patch(
                f"/api/v1/responses/{rid}/answers",
                json={"answers": {"junta_anual": False}, "version": 1},
                headers=headers,
            ),
            refused_id=rid,
        )
        rid = matrix.fresh(target, mode)
        change = {"interviewee_role": "Tesorero"} if mode == "interview" else {}
        matrix.check(
            f"PATCH details {label}",
            expect_edit(role, target, mode),
            client.patch(f"/api/v1/responses/{rid}", json={**change, "version": 1}, headers=headers),
            refused_id=rid,
        )
        rid = matrix.fresh(target, mode)
        matrix.check(
            f"submit {label}",
            expect_edit(role, target, mode),
            client.post(f"/api/v1/responses/{rid}/submit", json={"version": 1}, headers=headers),
            refused_id=rid,
        )
        rid = matrix.fresh(target, mode, "submitted")
        matrix.check(
            f"return {label}",
            expect_review(role, target),
            client.post(f"/api/v1/responses/{rid}/return", json={"comment": "Corregir", "version": 1}, headers=headers),
            refused_id=rid,
        )
        rid = matrix.fresh(target, mode, "submitted")
        matrix.check(
            f"validate {label}",
            expect_review(role, target),
            client.post(f"/api/v1/responses/{rid}/validate", json={"version": 1}, headers=headers),
            refused_id=rid,
        )
        rid = matrix.fresh(target, mode, "validated")
        matrix.check(
            f"reopen {label}",
            expect_review(role, target, ok=201),
            client.post(f"/api/v1/responses/{rid}/reopen", json={"version": 1}, headers=headers),
            refused_id=rid,
        )
    assert not matrix.failures, "\n".join(matrix.failures)
