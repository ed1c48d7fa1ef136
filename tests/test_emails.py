"""E-mails (issue 15) and «¿Olvidó su contraseña?» (issue 16), through a real SMTP server.

An aiosmtpd server on a free local port collects what the app sends (``email_backend="smtp"``,
no TLS); the queue runs tasks at once (``COOPDIAG_QUEUE_URL=immediate``), so a message is sent
when the unit of work that wrote it commits. Checked: the outbox row is written in the same
transaction as the change (a rolled-back one leaves no row and sends nothing), the Message-ID
is the row's, a failed send is retried by the sweep and delivered exactly once, a message
claimed by a worker that died is sent after the claim expires; returned and validated
diagnoses reach the cooperative's managers; a password reset works end to end on the pages;
invitations can be resent, withdrawn and are not duplicated. Both databases.
"""

from __future__ import annotations

import email
import email.policy
import re
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app import queue
from app.auth import service as auth_service
from app.auth.models import Invitation, PasswordReset, User, WebSession
from app.cooperatives.models import Cooperative
from app.db import utcnow
from app.notifications import tasks
from app.notifications.models import OutboxEmail
from app.notifications.service import queue_email
from app.questionnaires.models import QuestionnaireVersion
from app.rounds.models import DiagnosisRound
from app.unit_of_work import UnitOfWork
from conftest import ApiEnv, free_port

PUBLIC_URL = "https://coopdiag.example.cl"
PASSWORD = "clave-segura-123"
COMPLETE = {
    "junta_anual": True,
    "actas_al_dia": "si",
    "consejo_vigente": True,
    "consejo_mujeres": True,
    "activo_corriente": 2000000,
    "pasivo_corriente": 1000000,
}


class Inbox:
    """The aiosmtpd handler: keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def env(migrated_db_url: str, write_questionnaire, questionnaires_dir: Path, tmp_path: Path, smtp) -> Iterator[ApiEnv]:
    from app.main import create_app
    from app.settings import Settings

    write_questionnaire()
    settings = Settings(
        database_url=migrated_db_url,
        questionnaires_dir=questionnaires_dir,
        reports_cache_dir=tmp_path / "informes",
        queue_url="immediate",
        email_backend="smtp",
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_tls="none",
        public_url=PUBLIC_URL,
    )
    app = create_app(settings)
    queue.configure(settings)  # what the tasks use (create_app does it too)
    with TestClient(app) as client:
        yield ApiEnv(client, app.state.sessionmaker, settings)


def outbox(env: ApiEnv, **where: Any) -> list[OutboxEmail]:
    with env.session() as session:
        statement = select(OutboxEmail).order_by(OutboxEmail.id)
        for name, value in where.items():
            statement = statement.where(getattr(OutboxEmail, name) == value)
        return list(session.scalars(statement))


def link_in(message: EmailMessage, path_prefix: str) -> str:
    """The path of the link to ``path_prefix`` in the message's body (absolute: public_url + path)."""
    body = message.get_content()
    match = re.search(re.escape(PUBLIC_URL) + "(" + re.escape(path_prefix) + r"[A-Za-z0-9_\-/]+)", body)
    assert match, body
    return match.group(1)


def login(env: ApiEnv, user_email: str, password: str = PASSWORD) -> TestClient:
    client = TestClient(env.client.app)
    reply = client.post("/ingresar", data={"email": user_email, "password": password}, follow_redirects=False)
    assert reply.status_code == 303, reply.text
    return client


def csrf_of(client: TestClient) -> str:
    return client.get("/api/v1/auth/me").json()["csrf_token"]


def invite(env: ApiEnv, headers: dict[str, str], address: str, role: str = "analyst") -> Any:
    return env.client.post(
        "/api/v1/invitations", headers=headers, json={"email": address, "full_name": "Paula Invitada", "role": role}
    )


# --------------------------------------------------------------------------- the outbox


def test_invitation_is_written_with_its_change_and_sent_with_its_message_id(env, smtp):
    admin, headers = env.user("admin")
    created = invite(env, headers, "paula@example.cl")
    assert created.status_code == 201, created.text
    token = created.json()["token"]

    [row] = outbox(env)
    assert row.kind == "invitation" and row.to_address == "paula@example.cl"
    assert row.sent_at is not None and row.attempts == 1 and row.last_error is None
    [message] = smtp.inbox.messages
    assert message["Message-ID"] == row.message_id and re.fullmatch(r"<[0-9a-f]{32}@coopdiag>", row.message_id)
    assert message["To"] == "paula@example.cl" and "no-responder@coopdiag.cl" in message["From"]
    assert message["Subject"] == "Invitación a coopdiag" and message["Date"]
    body = message.get_content()
    assert f"{PUBLIC_URL}/invitacion/{token}" in body
    assert admin.full_name in body and "analista" in body and "vence el" in body

    # A unit of work that fails after writing the invitation leaves neither the invitation nor
    # its e-mail, and sends nothing.
    with env.session() as session, pytest.raises(RuntimeError), UnitOfWork(session):
        auth_service.create_invitation(
            session=session,
            user=session.get(User, admin.id),
            settings=env.settings,
            email="nadie@example.cl",
            full_name="Nadie",
            role="analyst",
        )
        assert len(session.scalars(select(OutboxEmail)).all()) == 2  # written in the transaction
        raise RuntimeError("fallo después de escribir")
    assert len(outbox(env)) == 1 and len(smtp.inbox.messages) == 1
    with env.session() as session:
        assert session.scalar(select(Invitation).where(Invitation.email == "nadie@example.cl")) is None


def test_a_failed_send_is_kept_and_delivered_once_by_the_sweep(env, smtp):
    _, headers = env.user("admin")
    smtp.stop()
    created = invite(env, headers, "paula@example.cl")
    assert created.status_code == 201, created.text  # the invitation does not depend on the mail
    [row] = outbox(env)
    assert row.sent_at is None and row.claimed_at is None and row.attempts == 1
    assert row.last_error and "Connection" in row.last_error
    assert row.retry_at is not None and row.retry_at > utcnow()

    smtp.start()
    assert tasks.requeue_pending() == 0  # its retry is not due yet: left to huey's retries
    assert smtp.inbox.messages == []
    later = utcnow() + timedelta(minutes=2)
    assert tasks.requeue_pending(now=later) == 1
    [message] = smtp.inbox.messages
    assert message["Message-ID"] == row.message_id
    [row] = outbox(env)
    assert row.sent_at is not None and row.attempts == 2 and row.last_error is None and row.retry_at is None
    # Sent: neither the sweep nor a late retry sends it again.
    assert tasks.requeue_pending(now=later) == 0
    assert tasks.send_now(row.id, env.settings) is False
    assert len(smtp.inbox.messages) == 1


def test_a_message_claimed_by_a_worker_that_died_is_sent_after_the_claim_expires(env, smtp):
    with env.session() as session:
        row = OutboxEmail(
            kind="prueba",
            to_address="ana@example.cl",
            subject="Prueba",
            body="Hola.",
            message_id=f"<{uuid.uuid4().hex}@coopdiag>",
            attempts=0,
            claimed_at=utcnow() - timedelta(minutes=1),  # a worker took it and died
        )
        session.add(row)
        session.commit()
        email_id = row.id
    assert tasks.requeue_pending() == 0 and tasks.send_now(email_id, env.settings) is False
    assert smtp.inbox.messages == []
    with env.session() as session:
        session.execute(
            update(OutboxEmail).where(OutboxEmail.id == email_id).values(claimed_at=utcnow() - timedelta(minutes=6))
        )
        session.commit()
    assert tasks.requeue_pending() == 1
    [message] = smtp.inbox.messages
    assert message["To"] == "ana@example.cl"
    assert tasks.requeue_pending() == 0 and len(smtp.inbox.messages) == 1


def test_a_message_is_queued_only_when_its_unit_of_work_commits(env, smtp):
    with env.session() as session:
        with UnitOfWork(session):
            queue_email(session, kind="prueba", to="ana@example.cl", subject="Uno\ncon salto", body="Hola.")
            assert smtp.inbox.messages == []  # not before the commit
        [message] = smtp.inbox.messages
        assert message["Subject"] == "Uno con salto"


# --------------------------------------------------------------------------- returned and validated


def _round_and_cooperatives(env: ApiEnv) -> tuple[int, int, int]:
    with env.session() as session:
        version = session.scalar(
            select(QuestionnaireVersion.id).where(QuestionnaireVersion.questionnaire_id == "prueba-mini")
        )
        own = Cooperative(rut="76123456-0", name="Cooperativa Los Aromos", legal_type="campesina", region_code=13)
        other = Cooperative(rut="65000000-5", name="Cooperativa Lago Sur", legal_type="agricola", region_code=9)
        round_ = DiagnosisRound(
            name="Ronda 2026",
            questionnaire_version_id=version,
            opens_on=date(2026, 1, 1),
            closes_on=date(2026, 12, 31),
            state="open",
        )
        session.add_all([own, other, round_])
        session.commit()
        return own.id, other.id, round_.id


def test_returned_and_validated_diagnoses_reach_the_cooperatives_managers(env, smtp):
    own, other, round_id = _round_and_cooperatives(env)
    manager, mh = env.user("manager", cooperatives=[own], password=None)
    second, _ = env.user("manager", cooperatives=[own, other], password=None)
    stranger, _ = env.user("manager", cooperatives=[other], password=None)
    _, ah = env.user("analyst", password=None)
    client = env.client
    created = client.post(
        "/api/v1/responses",
        headers={**mh, "Idempotency-Key": str(uuid.uuid4())},
        json={"cooperative_id": own, "round_id": round_id, "mode": "self", "answers": COMPLETE},
    )
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    assert client.post(f"/api/v1/responses/{rid}/submit", headers=mh, json={"version": 1}).status_code == 200
    assert smtp.inbox.messages == []  # submitting tells nobody by mail

    returned = client.post(
        f"/api/v1/responses/{rid}/return", headers=ah, json={"comment": "Revise la liquidez, por favor.", "version": 2}
    )
    assert returned.status_code == 200, returned.text
    assert sorted(m["To"] for m in smtp.inbox.messages) == sorted([manager.email, second.email])
    [message] = smtp.inbox.to(manager.email)
    assert message["Subject"] == "Su diagnóstico fue devuelto: Cooperativa Los Aromos"
    body = message.get_content()
    assert "Revise la liquidez, por favor." in body and "Ronda 2026" in body
    assert f"{PUBLIC_URL}/diagnosticos/{rid}" in body and manager.full_name in body
    assert outbox(env, kind="response_returned")[0].sent_at is not None

    assert client.post(f"/api/v1/responses/{rid}/submit", headers=mh, json={"version": 3}).status_code == 200
    validated = client.post(f"/api/v1/responses/{rid}/validate", headers=ah, json={"version": 4})
    assert validated.status_code == 200, validated.text
    [message] = [m for m in smtp.inbox.to(manager.email) if "validado" in m["Subject"]]
    assert message["Subject"] == "Su diagnóstico fue validado: Cooperativa Los Aromos"
    assert f"{PUBLIC_URL}/diagnosticos/{rid}/resultados" in message.get_content()
    assert len(smtp.inbox.to(second.email)) == 2 and smtp.inbox.to(stranger.email) == []

    # A refused review (stale version) queues nothing.
    count = len(smtp.inbox.messages)
    assert client.post(f"/api/v1/responses/{rid}/validate", headers=ah, json={"version": 4}).status_code == 409
    assert len(smtp.inbox.messages) == count and len(outbox(env)) == count


def test_a_returned_interview_also_reaches_the_field_member_who_entered_it(env, smtp):
    own, _, round_id = _round_and_cooperatives(env)
    manager, _ = env.user("manager", cooperatives=[own], password=None)
    field, fh = env.user("field", cooperatives=[own], institution="UTalca", password=None)
    _, ah = env.user("analyst", password=None)
    created = env.client.post(
        "/api/v1/responses",
        headers={**fh, "Idempotency-Key": str(uuid.uuid4())},
        json={
            "cooperative_id": own,
            "round_id": round_id,
            "mode": "interview",
            "answers": COMPLETE,
            "interviewer_name": "Ana Pérez",
            "institution": "UTalca",
            "interview_date": "2026-03-02",
            "interview_place": "Talca",
            "interviewee_role": "Gerente",
        },
    )
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    assert env.client.post(f"/api/v1/responses/{rid}/submit", headers=fh, json={"version": 1}).status_code == 200
    returned = env.client.post(f"/api/v1/responses/{rid}/return", headers=ah, json={"comment": "Falta.", "version": 2})
    assert returned.status_code == 200, returned.text
    assert sorted(m["To"] for m in smtp.inbox.messages) == sorted([manager.email, field.email])
    [to_field] = smtp.inbox.to(field.email)
    assert f"{PUBLIC_URL}/terreno/entrevistas/{rid}/revision" in to_field.get_content()


# --------------------------------------------------------------------------- password reset


def test_password_reset_end_to_end(env, smtp):
    user, _ = env.user("manager")
    logged_in = login(env, user.email)
    assert logged_in.get("/api/v1/auth/me").status_code == 200

    visitor = TestClient(env.client.app)
    assert 'href="/contrasena/olvido"' in visitor.get("/ingresar").text
    form = visitor.get("/contrasena/olvido")
    assert form.status_code == 200 and "¿Olvidó su contraseña?" in form.text
    empty = visitor.post("/contrasena/olvido", data={"email": ""})
    assert empty.status_code == 422 and "Escriba su correo." in empty.text

    known = visitor.post("/contrasena/olvido", data={"email": user.email.upper()})
    unknown = visitor.post("/contrasena/olvido", data={"email": "nadie@example.cl"})
    malformed = visitor.post("/contrasena/olvido", data={"email": "no es un correo"})
    assert known.status_code == unknown.status_code == malformed.status_code == 200
    assert "Si el correo está registrado, le enviamos un enlace" in known.text
    answer = re.compile(r'<p class="notice[^>]*>(.*?)</p>', re.S)
    assert answer.findall(known.text) == answer.findall(unknown.text) == answer.findall(malformed.text)
    [message] = smtp.inbox.messages
    assert message["To"] == user.email and message["Subject"] == "Cambio de contraseña en coopdiag"
    assert outbox(env)[0].kind == "password_reset"
    path = link_in(message, "/contrasena/nueva/")
    token = path.rsplit("/", 1)[1]
    with env.session() as session:
        [record] = session.scalars(select(PasswordReset)).all()
        assert record.token_hash == auth_service.hash_token(token) and token not in record.token_hash
        assert timedelta(minutes=59) < record.expires_at - record.created_at <= timedelta(hours=1)

    page = visitor.get(path)
    assert page.status_code == 200 and "Contraseña nueva" in page.text
    assert page.headers["cache-control"] == "no-store"
    mismatch = visitor.post(path, data={"password": "una-clave-larga-9", "password_confirmation": "otra"})
    assert mismatch.status_code == 422 and "no coinciden" in mismatch.text
    weak = visitor.post(path, data={"password": "1234567890", "password_confirmation": "1234567890"})
    assert weak.status_code == 422 and "más usadas" in weak.text
    done = visitor.post(
        path,
        data={"password": "mi-nueva-clave-larga", "password_confirmation": "mi-nueva-clave-larga"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/ingresar"

    # Every session of the account is closed; the new password works, the old one does not.
    assert logged_in.get("/api/v1/auth/me").status_code == 401
    with env.session() as session:
        assert session.scalars(select(WebSession).where(WebSession.user_id == user.id)).all() == []
    failed = TestClient(env.client.app).post("/ingresar", data={"email": user.email, "password": PASSWORD})
    assert failed.status_code == 422
    login(env, user.email, "mi-nueva-clave-larga")

    # Single use.
    again = visitor.get(path)
    assert again.status_code == 410 and "ya se usó" in again.text
    reuse = visitor.post(path, data={"password": "otra-clave-larga-1", "password_confirmation": "otra-clave-larga-1"})
    assert reuse.status_code == 410
    login(env, user.email, "mi-nueva-clave-larga")
    assert visitor.get("/contrasena/nueva/no-existe").status_code == 404


def test_password_reset_links_expire_and_are_throttled(env, smtp):
    user, _ = env.user("analyst")
    visitor = TestClient(env.client.app)
    for _ in range(5):
        reply = visitor.post("/contrasena/olvido", data={"email": user.email})
        assert reply.status_code == 200 and "Si el correo está registrado" in reply.text
    assert len(smtp.inbox.messages) == auth_service.MAX_PASSWORD_RESETS == 3
    path = link_in(smtp.inbox.messages[0], "/contrasena/nueva/")
    with env.session() as session:
        session.execute(update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    expired = visitor.get(path)
    assert expired.status_code == 410 and "venció" in expired.text
    refused = visitor.post(path, data={"password": "una-clave-larga-9", "password_confirmation": "una-clave-larga-9"})
    assert refused.status_code == 410
    login(env, user.email)  # the password did not change

    # Another link after the first ones expire, used: the account's other open links stop working too.
    with env.session() as session:
        session.execute(update(PasswordReset).values(created_at=utcnow() - timedelta(hours=2)))
        session.commit()
    for _ in range(2):
        visitor.post("/contrasena/olvido", data={"email": user.email})
    first, second = (link_in(m, "/contrasena/nueva/") for m in smtp.inbox.messages[3:])
    new_password = {"password": "una-clave-larga-9", "password_confirmation": "una-clave-larga-9"}
    assert visitor.post(second, data=new_password, follow_redirects=False).status_code == 303
    assert visitor.get(first).status_code == 410

    # An inactive account gets no link.
    with env.session() as session:
        session.execute(update(User).where(User.id == user.id).values(is_active=False))
        session.execute(update(PasswordReset).values(created_at=utcnow() - timedelta(hours=2)))
        session.commit()
    count = len(smtp.inbox.messages)
    assert visitor.post("/contrasena/olvido", data={"email": user.email}).status_code == 200
    assert len(smtp.inbox.messages) == count


# --------------------------------------------------------------------------- invitations


def test_invitations_are_not_duplicated_and_can_be_resent_or_withdrawn_by_api(env, smtp):
    _, headers = env.user("admin")
    _, analyst = env.user("analyst", password=None)
    first = invite(env, headers, "paula@example.cl")
    assert first.status_code == 201
    old_token, invitation_id = first.json()["token"], first.json()["id"]

    duplicate = invite(env, headers, "Paula@Example.cl")
    assert duplicate.status_code == 409
    error = duplicate.json()["error"]
    assert error["code"] == "invitation_pending" and "reenvíela" in error["message"]
    assert len(smtp.inbox.messages) == 1

    resent = env.client.post(f"/api/v1/invitations/{invitation_id}/resend", headers=headers)
    assert resent.status_code == 200, resent.text
    new_token = resent.json()["token"]
    assert new_token != old_token and resent.json()["id"] == invitation_id
    assert env.client.get(f"/api/v1/invitations/{old_token}").status_code == 404
    assert env.client.get(f"/api/v1/invitations/{new_token}").json()["valid"] is True
    assert len(smtp.inbox.messages) == 2
    assert link_in(smtp.inbox.messages[1], "/invitacion/") == f"/invitacion/{new_token}"
    assert smtp.inbox.messages[0]["Message-ID"] != smtp.inbox.messages[1]["Message-ID"]

    # An analyst may not manage an analyst's invitation (only managers' and field staff's).
    assert env.client.post(f"/api/v1/invitations/{invitation_id}/revoke", headers=analyst).status_code == 403
    assert env.client.post("/api/v1/invitations/999999/revoke", headers=headers).status_code == 404

    revoked = env.client.post(f"/api/v1/invitations/{invitation_id}/revoke", headers=headers)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert env.client.post(f"/api/v1/invitations/{invitation_id}/revoke", headers=headers).status_code == 200
    public = env.client.get(f"/api/v1/invitations/{new_token}").json()
    assert public["valid"] is False and "anulada" in public["problem"]
    accept = env.client.post(f"/api/v1/invitations/{new_token}/accept", json={"password": "una-clave-larga-9"})
    assert accept.status_code == 410 and accept.json()["error"]["code"] == "invitation_revoked"
    again = env.client.post(f"/api/v1/invitations/{invitation_id}/resend", headers=headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "invitation_revoked"
    pending = env.client.get("/api/v1/invitations", params={"pending": "true"}, headers=headers).json()
    assert pending["items"] == []

    # Withdrawn, the e-mail may be invited again; a used invitation can be neither resent nor withdrawn.
    fresh = invite(env, headers, "paula@example.cl")
    assert fresh.status_code == 201
    accepted = env.client.post(
        f"/api/v1/invitations/{fresh.json()['token']}/accept", json={"password": "una-clave-larga-9"}
    )
    assert accepted.status_code == 201, accepted.text
    for action in ("resend", "revoke"):
        refused = env.client.post(f"/api/v1/invitations/{fresh.json()['id']}/{action}", headers=headers)
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "invitation_used"


def test_invitations_page_says_it_was_sent_and_resends_and_withdraws(env, smtp):
    admin, _ = env.user("admin")
    client = login(env, admin.email)
    csrf = csrf_of(client)
    created = client.post(
        "/admin/invitaciones",
        data={"csrf_token": csrf, "email": "rosa@example.cl", "full_name": "Rosa Analista", "role": "analyst"},
    )
    assert created.status_code == 201
    assert "Le enviamos a rosa@example.cl un correo" in created.text and "Se muestra solo esta vez" in created.text
    shown = re.search(r'href="(/invitacion/[^"]+)"', created.text).group(1)
    [message] = smtp.inbox.messages
    assert link_in(message, "/invitacion/") == shown

    duplicate = client.post(
        "/admin/invitaciones",
        data={"csrf_token": csrf, "email": "rosa@example.cl", "full_name": "Rosa Analista", "role": "analyst"},
    )
    assert duplicate.status_code == 422 and "Ya hay una invitación vigente para este correo" in duplicate.text
    assert 'id="email-error"' in duplicate.text

    with env.session() as session:
        invitation_id = session.scalar(select(Invitation.id).where(Invitation.email == "rosa@example.cl"))
    listing = client.get("/admin/invitaciones").text
    assert f'action="/admin/invitaciones/{invitation_id}/reenviar"' in listing
    assert client.post(f"/admin/invitaciones/{invitation_id}/reenviar", data={}).status_code == 403  # no CSRF
    resent = client.post(f"/admin/invitaciones/{invitation_id}/reenviar", data={"csrf_token": csrf})
    assert resent.status_code == 200 and "enlace nuevo; el anterior ya no sirve" in resent.text
    assert resent.headers["cache-control"] == "no-store"
    new_path = re.search(r'href="(/invitacion/[^"]+)"', resent.text).group(1)
    assert new_path != shown and link_in(smtp.inbox.messages[1], "/invitacion/") == new_path
    assert client.get(shown).status_code == 404

    withdrawn = client.post(
        f"/admin/invitaciones/{invitation_id}/anular", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert withdrawn.status_code == 303 and withdrawn.headers["location"] == "/admin/invitaciones"
    listing = client.get("/admin/invitaciones").text
    assert "quedó anulada" in listing and "Anulada el" in listing
    assert f'action="/admin/invitaciones/{invitation_id}/reenviar"' not in listing
    gone = TestClient(env.client.app).get(new_path)
    assert gone.status_code == 410 and "anulada" in gone.text
    assert len(smtp.inbox.messages) == 2
