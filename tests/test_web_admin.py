"""Admin web pages: users (role filter, activate/deactivate), invitations shown once and usable,
rounds create/edit with field errors, questionnaire versions; refused to other roles (both DBs)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.auth.models import User
from app.cooperatives.models import Cooperative
from app.questionnaires.models import QuestionnaireVersion
from app.rounds.models import DiagnosisRound


def login(env, user) -> tuple[TestClient, str]:
    client = TestClient(env.client.app)
    reply = client.post("/ingresar", data={"email": user.email, "password": "clave-segura-123"}, follow_redirects=False)
    assert reply.status_code == 303, reply.text
    return client, client.get("/api/v1/auth/me").json()["csrf_token"]


def version_id(env) -> int:
    with env.session() as session:
        return session.scalar(
            select(QuestionnaireVersion.id).where(QuestionnaireVersion.questionnaire_id == "prueba-mini")
        )


def test_admin_pages_refuse_other_roles(api_env):
    for role in ("analyst", "manager", "field"):
        kwargs = {"institution": "U. de Talca", "macrozones": ["Sur"]} if role == "field" else {}
        user, _ = api_env.user(role, **kwargs)
        client, csrf = login(api_env, user)
        for url in (
            "/admin",
            "/admin/usuarios",
            "/admin/invitaciones",
            "/admin/rondas",
            "/admin/rondas/nueva",
            "/admin/cuestionarios",
        ):
            reply = client.get(url)
            assert reply.status_code == 403 and "Sin permiso" in reply.text and "<html" in reply.text, (role, url)
        post = client.post(
            "/admin/invitaciones", data={"csrf_token": csrf, "email": "x@example.cl", "full_name": "X", "role": "admin"}
        )
        assert post.status_code == 403


def test_users_filter_and_deactivate(api_env):
    admin, _ = api_env.user("admin")
    manager_coop = None
    with api_env.session() as session:
        coop = Cooperative(rut="76123456-0", name="Cooperativa Los Aromos", legal_type="campesina", region_code=13)
        session.add(coop)
        session.commit()
        manager_coop = coop.id
    manager, _ = api_env.user("manager", cooperatives=[manager_coop])
    analyst, _ = api_env.user("analyst")
    client, csrf = login(api_env, admin)
    assert client.get("/admin").status_code == 200
    listing = client.get("/admin/usuarios").text
    assert manager.email in listing and analyst.email in listing
    only_managers = client.get("/admin/usuarios", params={"rol": "manager"}).text
    assert manager.email in only_managers and analyst.email not in only_managers

    assert client.post(f"/admin/usuarios/{analyst.id}/estado", data={"activo": "0"}).status_code == 403  # no CSRF
    off = client.post(
        f"/admin/usuarios/{analyst.id}/estado", data={"activo": "0", "csrf_token": csrf}, follow_redirects=False
    )
    assert off.status_code == 303
    with api_env.session() as session:
        assert session.get(User, analyst.id).is_active is False
    page = client.get("/admin/usuarios").text
    assert "quedó desactivada" in page and "Desactivada" in page
    # The analyst can no longer log in
    assert (
        TestClient(api_env.client.app)
        .post("/ingresar", data={"email": analyst.email, "password": "clave-segura-123"})
        .status_code
        == 422
    )
    on = client.post(
        f"/admin/usuarios/{analyst.id}/estado", data={"activo": "1", "csrf_token": csrf}, follow_redirects=False
    )
    assert on.status_code == 303
    # No admin deactivates their own account (nor, so, the last admin)
    last = client.post(f"/admin/usuarios/{admin.id}/estado", data={"activo": "0", "csrf_token": csrf})
    assert "No puede quitarse el rol de administrador ni desactivar su propia cuenta" in last.text
    with api_env.session() as session:
        assert session.get(User, admin.id).is_active is True


def test_invitation_from_admin_page_works_once(api_env):
    admin, _ = api_env.user("admin")
    with api_env.session() as session:
        coop = Cooperative(rut="76123456-0", name="Cooperativa Los Aromos", legal_type="campesina", region_code=13)
        session.add(coop)
        session.commit()
        coop_id = coop.id
    client, csrf = login(api_env, admin)
    form = client.get("/admin/invitaciones").text
    assert "Cooperativa Los Aromos" in form and 'name="csrf_token"' in form

    missing = client.post(
        "/admin/invitaciones",
        data={"csrf_token": csrf, "email": "gerente@example.cl", "full_name": "Rosa Gerente", "role": "manager"},
    )
    assert missing.status_code == 422 and 'id="cooperative_ids-error"' in missing.text
    assert 'value="gerente@example.cl"' in missing.text and 'value="Rosa Gerente"' in missing.text
    bad_email = client.post(
        "/admin/invitaciones",
        data={"csrf_token": csrf, "email": "no-es-correo", "full_name": "Rosa", "role": "analyst"},
    )
    assert (
        bad_email.status_code == 422
        and 'id="email-error"' in bad_email.text
        and 'value="no-es-correo"' in bad_email.text
    )

    created = client.post(
        "/admin/invitaciones",
        data={
            "csrf_token": csrf,
            "email": "gerente@example.cl",
            "full_name": "Rosa Gerente",
            "role": "manager",
            "cooperative_ids": str(coop_id),
        },
    )
    assert created.status_code == 201 and "Se muestra solo esta vez" in created.text
    path = re.search(r'href="(/invitacion/[^"]+)"', created.text).group(1)
    assert path not in client.get("/admin/invitaciones").text  # shown once only

    invitee = TestClient(api_env.client.app)
    page = invitee.get(path)
    assert page.status_code == 200 and "Rosa Gerente" in page.text
    done = invitee.post(
        path, data={"password": "una-clave-larga", "password_confirmation": "una-clave-larga"}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == "/mis-cooperativas"
    with api_env.session() as session:
        user = session.scalar(select(User).where(User.email == "gerente@example.cl"))
        assert user.role == "manager" and user.cooperative_ids == {coop_id}


def test_rounds_create_edit_and_questionnaires(api_env):
    admin, _ = api_env.user("admin")
    client, csrf = login(api_env, admin)
    vid = version_id(api_env)
    form = client.get("/admin/rondas/nueva").text
    assert f'<option value="{vid}"' in form

    bad = client.post(
        "/admin/rondas/nueva",
        data={
            "csrf_token": csrf,
            "name": "Ronda 2027",
            "questionnaire_version_id": str(vid),
            "opens_on": "2027-05-01",
            "closes_on": "2027-01-01",
            "state": "planned",
        },
    )
    assert bad.status_code == 422 and 'id="closes_on-error"' in bad.text and 'value="Ronda 2027"' in bad.text
    no_date = client.post(
        "/admin/rondas/nueva",
        data={
            "csrf_token": csrf,
            "name": "R",
            "questionnaire_version_id": "",
            "opens_on": "",
            "closes_on": "2027-01-01",
            "state": "planned",
        },
    )
    assert no_date.status_code == 422
    for field in ("name", "questionnaire_version_id", "opens_on"):
        assert f'id="{field}-error"' in no_date.text
    ok = client.post(
        "/admin/rondas/nueva",
        data={
            "csrf_token": csrf,
            "name": "Ronda 2027",
            "questionnaire_version_id": str(vid),
            "opens_on": "2027-01-01",
            "closes_on": "2027-12-31",
            "state": "planned",
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303
    with api_env.session() as session:
        round_ = session.scalar(select(DiagnosisRound).where(DiagnosisRound.name == "Ronda 2027"))
        round_id = round_.id
    duplicate = client.post(
        "/admin/rondas/nueva",
        data={
            "csrf_token": csrf,
            "name": "ronda 2027",
            "questionnaire_version_id": str(vid),
            "opens_on": "2027-01-01",
            "closes_on": "2027-12-31",
            "state": "planned",
        },
    )
    assert duplicate.status_code == 422 and 'id="name-error"' in duplicate.text

    edit = client.get(f"/admin/rondas/{round_id}").text
    assert 'value="2027-01-01"' in edit
    saved = client.post(
        f"/admin/rondas/{round_id}",
        data={
            "csrf_token": csrf,
            "name": "Ronda 2027",
            "questionnaire_version_id": str(vid),
            "opens_on": "2027-01-01",
            "closes_on": "2027-12-31",
            "state": "open",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    with api_env.session() as session:
        assert session.get(DiagnosisRound, round_id).state == "open"
    assert "Abierta" in client.get("/admin/rondas").text

    versions = client.get("/admin/cuestionarios").text
    assert "prueba-mini" in versions and "2026.1" in versions and "Ronda 2027" in versions
