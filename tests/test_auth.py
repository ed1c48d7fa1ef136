"""Accounts and roles (issue 3 item 6): password login and web sessions with CSRF,
invitations, users, personal API tokens, the authorization matrix of those endpoints,
and ``coopdiag users`` through a subprocess. API tests run on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text, update
from stdnum.cl import rut as cl_rut

from app.auth.models import ApiToken, Invitation, User, WebSession
from app.cli import main as cli_main
from app.cooperatives.models import Cooperative
from app.settings import get_settings

API = "/api/v1"
PASSWORD = "clave-segura-123"  # the api_env fixture's default password
ROLES = ("admin", "analyst", "field", "manager")


@pytest.fixture(autouse=True)
def fast_argon2(monkeypatch):
    """Cheaper argon2 parameters in these tests (the hashing code path is the same)."""
    from app.auth import security

    hasher = PasswordHasher(time_cost=1, memory_cost=4096, parallelism=1)
    monkeypatch.setattr(security, "_hasher", hasher)
    return hasher


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def make_rut(number: int) -> str:
    return f"{number}-{cl_rut.calc_check_digit(str(number))}"


def add_cooperative(env, number: int, region_code: int = 7) -> int:
    with env.session() as session:
        cooperative = Cooperative(
            rut=make_rut(number), name=f"Cooperativa {number}", legal_type="agricola", region_code=region_code
        )
        session.add(cooperative)
        session.commit()
        return cooperative.id


def fresh_client(env) -> TestClient:
    """A client with its own cookie jar on the same running app."""
    return TestClient(env.client.app)


def login(client: TestClient, email: str, password: str = PASSWORD):
    return client.post(f"{API}/auth/login", json={"email": email, "password": password})


def error_of(response) -> dict:
    return response.json()["error"]


# --------------------------------------------------------------------------- login, sessions, CSRF


def test_login_me_logout_and_cookie_flags(api_env):
    user, _ = api_env.user("manager")
    client = fresh_client(api_env)

    wrong = login(client, user.email, "otra-clave-larga")
    unknown = login(client, "nadie@example.cl", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert error_of(wrong) == error_of(unknown)
    assert error_of(wrong)["message"] == "El correo o la contraseña no son correctos."
    assert "coopdiag_session" not in client.cookies

    response = login(client, "  " + user.email.upper() + " ")  # email is case-insensitive
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"]["email"] == user.email and body["user"]["role"] == "manager"
    csrf = body["csrf_token"]
    assert csrf
    cookie_header = response.headers["set-cookie"]
    assert cookie_header.startswith("coopdiag_session=")
    flags = [part.strip().lower() for part in cookie_header.split(";")]
    assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags
    assert "max-age=43200" in flags  # settings.session_hours
    assert "secure" not in flags  # development
    token = client.cookies["coopdiag_session"]

    with api_env.session() as session:
        stored = session.scalars(select(WebSession).where(WebSession.user_id == user.id)).all()
        assert [s.token_hash for s in stored] == [sha256(token)]  # only the digest is stored
        assert session.get(User, user.id).last_login_at is not None

    me = client.get(f"{API}/auth/me")
    assert me.status_code == 200
    assert me.json() == {
        "user": body["user"] | {"last_login_at": me.json()["user"]["last_login_at"]},
        "csrf_token": csrf,
    }

    assert client.post(f"{API}/auth/logout").status_code == 403  # no CSRF header
    assert client.get(f"{API}/auth/me").status_code == 200
    out = client.post(f"{API}/auth/logout", headers={"X-CSRF-Token": csrf})
    assert out.status_code == 204
    assert "coopdiag_session" not in client.cookies
    with api_env.session() as session:
        assert session.scalar(select(func.count()).select_from(WebSession)) == 0
    # The old cookie is dead even if a client kept it.
    stale = TestClient(api_env.client.app, cookies={"coopdiag_session": token})
    assert stale.get(f"{API}/auth/me").status_code == 401

    missing = client.get(f"{API}/auth/me")
    assert missing.status_code == 401 and error_of(missing)["code"] == "not_authenticated"


def test_session_id_changes_at_each_login(api_env):
    user, _ = api_env.user("analyst")
    client = fresh_client(api_env)
    assert login(client, user.email).status_code == 200
    first = client.cookies["coopdiag_session"]
    assert login(client, user.email).status_code == 200
    second = client.cookies["coopdiag_session"]
    assert first != second
    with api_env.session() as session:
        hashes = set(session.scalars(select(WebSession.token_hash)))
    assert hashes == {sha256(second)}  # the browser's previous session was closed
    assert TestClient(api_env.client.app, cookies={"coopdiag_session": first}).get(f"{API}/auth/me").status_code == 401
    # A planted (attacker-chosen) cookie is never adopted: login issues a new id.
    planted = fresh_client(api_env).post(
        f"{API}/auth/login",
        json={"email": user.email, "password": PASSWORD},
        headers={"Cookie": "coopdiag_session=elegido-por-el-atacante"},
    )
    assert planted.status_code == 200
    issued = planted.cookies["coopdiag_session"]
    assert issued != "elegido-por-el-atacante"
    with api_env.session() as session:
        assert sha256("elegido-por-el-atacante") not in set(session.scalars(select(WebSession.token_hash)))


def test_csrf_required_on_cookie_authenticated_writes(api_env):
    admin, _ = api_env.user("admin")
    other, _ = api_env.user("manager", cooperatives=[add_cooperative(api_env, 76100001)])
    client = fresh_client(api_env)
    csrf = login(client, admin.email).json()["csrf_token"]

    for headers in ({}, {"X-CSRF-Token": "incorrecto"}):
        post = client.post(f"{API}/users/me/tokens", json={"name": "script"}, headers=headers)
        assert post.status_code == 403 and error_of(post)["code"] == "csrf_failed"
        patch = client.patch(f"{API}/users/{other.id}", json={"full_name": "Cambiado"}, headers=headers)
        assert patch.status_code == 403 and error_of(patch)["code"] == "csrf_failed"
    with api_env.session() as session:  # nothing changed
        assert session.get(User, other.id).full_name != "Cambiado"
        assert session.scalar(select(func.count()).select_from(ApiToken).where(ApiToken.user_id == admin.id)) == 1

    assert client.get(f"{API}/users/{other.id}").status_code == 200  # reads need no header
    ok_post = client.post(f"{API}/users/me/tokens", json={"name": "script"}, headers={"X-CSRF-Token": csrf})
    assert ok_post.status_code == 201
    ok_patch = client.patch(f"{API}/users/{other.id}", json={"full_name": "Cambiado"}, headers={"X-CSRF-Token": csrf})
    assert ok_patch.status_code == 200 and ok_patch.json()["full_name"] == "Cambiado"


def test_secure_cookie_in_production(api_env, questionnaires_dir):
    from app.main import create_app
    from app.settings import Settings

    user, _ = api_env.user("field", institution="Universidad de Talca")
    settings = Settings(
        database_url=api_env.settings.database_url,
        questionnaires_dir=questionnaires_dir,
        environment="production",
        secret_key="s" * 32,
    )
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        response = login(client, user.email)
        assert response.status_code == 200
        flags = [part.strip().lower() for part in response.headers["set-cookie"].split(";")]
        assert "secure" in flags and "httponly" in flags and "samesite=lax" in flags


def test_argon2_hash_and_rehash_on_login(api_env, fast_argon2):
    user, _ = api_env.user("manager")
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    with api_env.session() as session:
        assert session.get(User, user.id).password_hash.startswith("$argon2")
        session.execute(update(User).where(User.id == user.id).values(password_hash=weak))
        session.commit()
    assert login(fresh_client(api_env), user.email).status_code == 200
    with api_env.session() as session:
        rehashed = session.get(User, user.id).password_hash
    assert rehashed.startswith("$argon2") and rehashed != weak
    assert not fast_argon2.check_needs_rehash(rehashed)
    assert login(fresh_client(api_env), user.email).status_code == 200


def test_login_validation_messages(api_env):
    client = fresh_client(api_env)
    response = client.post(f"{API}/auth/login", json={"email": "x@example.cl"})
    assert response.status_code == 422
    assert error_of(response)["details"] == [{"field": "password", "code": "missing", "message": "falta este campo"}]


def test_login_refuses_non_json_bodies(api_env):
    """A cross-site HTML form (text/plain, urlencoded) cannot log a browser in (login CSRF)."""
    user, _ = api_env.user("analyst")
    client = fresh_client(api_env)
    body = f'{{"email": "{user.email}", "password": "{PASSWORD}"}}'
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        response = client.post(f"{API}/auth/login", content=body, headers={"Content-Type": content_type})
        assert response.status_code == 422, content_type
        assert "coopdiag_session" not in client.cookies


def test_change_password_closes_other_sessions(api_env):
    user, headers = api_env.user("field", macrozones=["Sur"])
    here, elsewhere = fresh_client(api_env), fresh_client(api_env)
    csrf = login(here, user.email).json()["csrf_token"]
    assert login(elsewhere, user.email).status_code == 200
    url = f"{API}/auth/password"

    wrong = here.post(
        url,
        json={"current_password": "no-es-la-clave", "new_password": "nueva-clave-larga"},
        headers={"X-CSRF-Token": csrf},
    )
    assert wrong.status_code == 422 and error_of(wrong)["details"][0]["field"] == "current_password"
    short = here.post(url, json={"current_password": PASSWORD, "new_password": "corta"}, headers={"X-CSRF-Token": csrf})
    assert short.status_code == 422 and error_of(short)["details"][0]["field"] == "new_password"
    assert "al menos 10 caracteres" in error_of(short)["message"]
    no_csrf = here.post(url, json={"current_password": PASSWORD, "new_password": "nueva-clave-larga"})
    assert no_csrf.status_code == 403
    assert elsewhere.get(f"{API}/auth/me").status_code == 200  # nothing changed so far

    ok = here.post(
        url, json={"current_password": PASSWORD, "new_password": "nueva-clave-larga"}, headers={"X-CSRF-Token": csrf}
    )
    assert ok.status_code == 204
    assert here.get(f"{API}/auth/me").status_code == 200
    assert elsewhere.get(f"{API}/auth/me").status_code == 401
    assert api_env.client.get(f"{API}/auth/me", headers=headers).status_code == 200  # tokens unaffected
    assert login(fresh_client(api_env), user.email).status_code == 401
    assert login(fresh_client(api_env), user.email, "nueva-clave-larga").status_code == 200
    # With an API token (no session) it works too.
    by_token = api_env.client.post(
        url, json={"current_password": "nueva-clave-larga", "new_password": "otra-clave-larga"}, headers=headers
    )
    assert by_token.status_code == 204
    assert here.get(f"{API}/auth/me").status_code == 401


def test_deactivated_user_loses_sessions_and_tokens(api_env):
    admin, admin_headers = api_env.user("admin")
    target, target_headers = api_env.user("manager", cooperatives=[add_cooperative(api_env, 76100002)])
    browser = fresh_client(api_env)
    assert login(browser, target.email).status_code == 200
    assert browser.get(f"{API}/auth/me").status_code == 200

    response = api_env.client.patch(f"{API}/users/{target.id}", json={"is_active": False}, headers=admin_headers)
    assert response.status_code == 200 and response.json()["is_active"] is False

    assert browser.get(f"{API}/auth/me").status_code == 401
    assert api_env.client.get(f"{API}/auth/me", headers=target_headers).status_code == 401
    again = login(fresh_client(api_env), target.email)
    assert again.status_code == 401 and error_of(again)["message"] == "El correo o la contraseña no son correctos."
    with api_env.session() as session:
        assert session.scalar(select(func.count()).select_from(WebSession).where(WebSession.user_id == target.id)) == 0
        assert all(
            t.revoked_at is not None for t in session.scalars(select(ApiToken).where(ApiToken.user_id == target.id))
        )

    # Reactivated: can log in again (tokens stay revoked).
    assert (
        api_env.client.patch(f"{API}/users/{target.id}", json={"is_active": True}, headers=admin_headers).status_code
        == 200
    )
    assert login(fresh_client(api_env), target.email).status_code == 200
    assert api_env.client.get(f"{API}/auth/me", headers=target_headers).status_code == 401


# --------------------------------------------------------------------------- invitations


def invite(env, headers, **fields):
    return env.client.post(f"{API}/invitations", json=fields, headers=headers)


def test_invitation_happy_path_and_single_use(api_env):
    _, admin_headers = api_env.user("admin")
    coop_a, coop_b = add_cooperative(api_env, 76100003), add_cooperative(api_env, 76100004)
    created = invite(
        api_env,
        admin_headers,
        email="Gerente@Coop.cl",
        full_name="Rosa Gerente",
        role="manager",
        cooperative_ids=[coop_a, coop_b, coop_a],
    )
    assert created.status_code == 201, created.text
    body = created.json()
    token = body["token"]
    assert body["path"] == f"/invitacion/{token}"
    assert body["email"] == "gerente@coop.cl" and body["cooperative_ids"] == [coop_a, coop_b]
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(days=13, hours=23) < expires - datetime.now(timezone.utc) <= timedelta(days=14)
    with api_env.session() as session:
        stored = session.scalars(select(Invitation)).one()
        assert stored.token_hash == sha256(token) and token not in {stored.token_hash}

    public = fresh_client(api_env)
    shown = public.get(f"{API}/invitations/{token}")
    assert shown.status_code == 200
    assert shown.json() | {"expires_at": None} == {
        "email": "gerente@coop.cl",
        "full_name": "Rosa Gerente",
        "role": "manager",
        "institution": None,
        "expires_at": None,
        "valid": True,
        "problem": None,
    }
    assert public.get(f"{API}/invitations/no-existe").status_code == 404

    short = public.post(f"{API}/invitations/{token}/accept", json={"password": "corta"})
    assert short.status_code == 422
    assert error_of(short)["details"][0]["field"] == "password"
    assert "al menos 10 caracteres" in error_of(short)["message"]

    accepted = public.post(f"{API}/invitations/{token}/accept", json={"password": "una-clave-larga"})
    assert accepted.status_code == 201, accepted.text
    user = accepted.json()["user"]
    assert user["email"] == "gerente@coop.cl" and user["role"] == "manager"
    assert user["cooperative_ids"] == sorted([coop_a, coop_b]) and user["has_password"] is True
    assert "coopdiag_session" in public.cookies
    me = public.get(f"{API}/auth/me")
    assert me.status_code == 200 and me.json()["csrf_token"] == accepted.json()["csrf_token"]

    second = fresh_client(api_env).post(f"{API}/invitations/{token}/accept", json={"password": "otra-clave-larga"})
    assert second.status_code == 410 and error_of(second)["code"] == "invitation_used"
    assert "ya fue usada" in error_of(second)["message"]
    assert public.get(f"{API}/invitations/{token}").json()["valid"] is False
    assert login(fresh_client(api_env), "gerente@coop.cl", "una-clave-larga").status_code == 200
    with api_env.session() as session:
        stored = session.scalars(select(Invitation)).one()
        assert stored.used_at is not None and stored.user_id == user["id"]
        assert session.get(User, user["id"]).password_hash.startswith("$argon2")

    # The email now has an account: inviting it again is a conflict.
    assert (
        invite(
            api_env, admin_headers, email="gerente@coop.cl", full_name="X", role="manager", cooperative_ids=[coop_a]
        ).status_code
        == 409
    )


def test_invitation_concurrent_accepts_create_one_account(api_env):
    _, admin_headers = api_env.user("admin")
    token = invite(api_env, admin_headers, email="doble@coop.cl", full_name="Doble", role="analyst").json()["token"]
    barrier = threading.Barrier(3)
    results = []

    def accept():
        client = fresh_client(api_env)
        barrier.wait()
        results.append(client.post(f"{API}/invitations/{token}/accept", json={"password": "una-clave-larga"}))

    threads = [threading.Thread(target=accept) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.status_code for r in results) == [201, 410, 410], [r.text for r in results]
    with api_env.session() as session:
        assert session.scalar(select(func.count()).select_from(User).where(User.email == "doble@coop.cl")) == 1


def test_invitation_expiry(api_env):
    _, admin_headers = api_env.user("admin")
    token = invite(
        api_env,
        admin_headers,
        email="campo@u.cl",
        full_name="Pedro Campo",
        role="field",
        institution="Universidad de La Frontera",
        macrozones=["Sur"],
    ).json()["token"]
    with api_env.session() as session:
        session.execute(update(Invitation).values(expires_at=datetime.now(timezone.utc) - timedelta(minutes=1)))
        session.commit()
    client = fresh_client(api_env)
    shown = client.get(f"{API}/invitations/{token}").json()
    assert shown["valid"] is False and "venció" in shown["problem"]
    response = client.post(f"{API}/invitations/{token}/accept", json={"password": "una-clave-larga"})
    assert response.status_code == 410 and error_of(response)["code"] == "invitation_expired"
    with api_env.session() as session:
        assert session.scalar(select(func.count()).select_from(User).where(User.email == "campo@u.cl")) == 0
    pending = api_env.client.get(f"{API}/invitations?pending=true", headers=admin_headers).json()
    assert pending["total"] == 0
    assert api_env.client.get(f"{API}/invitations", headers=admin_headers).json()["total"] == 1


def test_invitation_validation_changes_nothing(api_env):
    _, admin_headers = api_env.user("admin")
    coop = add_cooperative(api_env, 76100005)
    cases = [
        ({"role": "manager", "cooperative_ids": [coop, 999999]}, "cooperative_ids"),
        ({"role": "field", "institution": "USACH", "macrozones": ["Marte"]}, "macrozones"),
        ({"role": "manager", "cooperative_ids": []}, "cooperative_ids"),
        ({"role": "field", "macrozones": ["Norte"]}, "institution"),
        ({"role": "manager", "cooperative_ids": [coop], "macrozones": ["Norte"]}, "macrozones"),
        ({"role": "jefe", "cooperative_ids": [coop]}, "role"),
        ({"role": "manager", "cooperative_ids": [coop], "email": "sin-arroba"}, "email"),
        ({"role": "manager", "cooperative_ids": [coop], "full_name": "  "}, "full_name"),
        ({"role": "manager", "cooperative_ids": [coop], "extra": 1}, "extra"),
    ]
    for fields, field in cases:
        payload = {"email": "nuevo@coop.cl", "full_name": "Nuevo"} | fields
        response = invite(api_env, admin_headers, **payload)
        assert response.status_code == 422, (fields, response.text)
        assert field in [d["field"] for d in error_of(response)["details"]], (fields, response.json())
    with api_env.session() as session:
        assert session.scalar(select(func.count()).select_from(Invitation)) == 0


# --------------------------------------------------------------------------- users


def test_users_list_filter_and_patch(api_env):
    admin, headers = api_env.user("admin")
    api_env.user("analyst")
    manager, _ = api_env.user("manager")
    field, _ = api_env.user("field", macrozones=["Norte"])
    listing = api_env.client.get(f"{API}/users?per_page=2", headers=headers).json()
    assert listing["total"] == 4 and listing["pages"] == 2 and len(listing["items"]) == 2
    assert [u["email"] for u in api_env.client.get(f"{API}/users?role=field", headers=headers).json()["items"]] == [
        field.email
    ]
    assert api_env.client.get(f"{API}/users?q=MANAGER", headers=headers).json()["total"] == 1
    bad = api_env.client.get(f"{API}/users?role=jefe", headers=headers)
    assert bad.status_code == 422 and error_of(bad)["details"][0]["field"] == "role"

    coop = add_cooperative(api_env, 76100006)
    changed = api_env.client.patch(
        f"{API}/users/{field.id}",
        json={
            "cooperative_ids": [coop],
            "macrozones": ["Sur", "Austral"],
            "institution": "Universidad Católica del Norte",
        },
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["cooperative_ids"] == [coop] and changed.json()["macrozones"] == ["Austral", "Sur"]
    invalid = api_env.client.patch(
        f"{API}/users/{field.id}", json={"macrozones": ["Marte"], "full_name": "Otro"}, headers=headers
    )
    assert invalid.status_code == 422 and error_of(invalid)["details"][0]["field"] == "macrozones"
    assert api_env.client.get(f"{API}/users/{field.id}", headers=headers).json()["full_name"] == field.full_name
    missing_coop = api_env.client.patch(
        f"{API}/users/{manager.id}", json={"cooperative_ids": [424242]}, headers=headers
    )
    assert missing_coop.status_code == 422
    assert (
        api_env.client.patch(f"{API}/users/{manager.id}", json={"role": "analyst"}, headers=headers).json()["role"]
        == "analyst"
    )
    assert api_env.client.get(f"{API}/users/999999", headers=headers).status_code == 404

    # Nobody demotes or deactivates their own admin account (so the last admin stays).
    for change, field in (({"is_active": False}, "is_active"), ({"role": "analyst"}, "role")):
        response = api_env.client.patch(f"{API}/users/{admin.id}", json=change, headers=headers)
        assert response.status_code == 403 and error_of(response)["code"] == "own_account", response.text
        assert error_of(response)["details"][0]["field"] == field
    _, second_admin = api_env.user("admin")
    assert (
        api_env.client.patch(f"{API}/users/{admin.id}", json={"role": "analyst"}, headers=second_admin).status_code
        == 200
    )


# --------------------------------------------------------------------------- API tokens


def test_api_token_lifecycle(api_env):
    user, headers = api_env.user("field", macrozones=["Centro"])
    _, other_headers = api_env.user("manager")
    created = api_env.client.post(f"{API}/users/me/tokens", json={"name": "exportación"}, headers=headers)
    assert created.status_code == 201
    token = created.json()["token"]
    token_id = created.json()["id"]
    new_headers = {"Authorization": f"Bearer {token}"}
    assert api_env.client.get(f"{API}/auth/me", headers=new_headers).json()["user"]["id"] == user.id
    with api_env.session() as session:
        assert session.get(ApiToken, token_id).token_hash == sha256(token)

    listed = api_env.client.get(f"{API}/users/me/tokens", headers=headers).json()
    assert [t["name"] for t in listed["items"]] == ["pruebas", "exportación"]
    assert all("token" not in t for t in listed["items"])
    used = next(t for t in listed["items"] if t["id"] == token_id)
    assert used["last_used_at"] is not None and used["revoked_at"] is None

    dup = api_env.client.post(f"{API}/users/me/tokens", json={"name": "exportación"}, headers=headers)
    assert dup.status_code == 409 and error_of(dup)["details"][0]["field"] == "name"
    blank = api_env.client.post(f"{API}/users/me/tokens", json={"name": "   "}, headers=headers)
    assert blank.status_code == 422 and error_of(blank)["details"][0]["field"] == "name"

    # Another user cannot revoke it (its existence is not revealed).
    assert api_env.client.delete(f"{API}/users/me/tokens/{token_id}", headers=other_headers).status_code == 404
    assert api_env.client.get(f"{API}/auth/me", headers=new_headers).status_code == 200

    revoked = api_env.client.delete(f"{API}/users/me/tokens/{token_id}", headers=headers)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    response = api_env.client.get(f"{API}/auth/me", headers=new_headers)
    assert response.status_code == 401 and "revocado" in error_of(response)["message"]
    # The name of a revoked token can be reused.
    again = api_env.client.post(f"{API}/users/me/tokens", json={"name": "exportación"}, headers=headers)
    assert again.status_code == 201 and again.json()["token"] != token
    assert api_env.client.get(f"{API}/auth/me", headers=new_headers).status_code == 401


# --------------------------------------------------------------------------- authorization matrix


def test_authorization_matrix(api_env):
    coop = add_cooperative(api_env, 76100007)
    people = {
        "admin": api_env.user("admin"),
        "analyst": api_env.user("analyst"),
        "field": api_env.user("field", institution="Universidad Santo Tomás", macrozones=["Centro-Sur"]),
        "manager": api_env.user("manager", cooperatives=[coop]),
    }
    victim, victim_headers = api_env.user("manager", cooperatives=[coop])
    victim_token = api_env.client.post(f"{API}/users/me/tokens", json={"name": "ajeno"}, headers=victim_headers).json()[
        "id"
    ]
    client = api_env.client
    invitation_of = {
        "manager": {"role": "manager", "cooperative_ids": [coop]},
        "field": {"role": "field", "institution": "USACH", "macrozones": ["Norte"]},
        "analyst": {"role": "analyst"},
        "admin": {"role": "admin"},
    }
    expected_invite = {
        "admin": {"manager": 201, "field": 201, "analyst": 201, "admin": 201},
        "analyst": {"manager": 201, "field": 201, "analyst": 403, "admin": 403},
        "field": {"manager": 403, "field": 403, "analyst": 403, "admin": 403},
        "manager": {"manager": 403, "field": 403, "analyst": 403, "admin": 403},
    }
    for role, (user, headers) in people.items():
        is_admin = role == "admin"
        got = {
            "list users": client.get(f"{API}/users", headers=headers).status_code,
            "get own": client.get(f"{API}/users/{user.id}", headers=headers).status_code,
            "get other": client.get(f"{API}/users/{victim.id}", headers=headers).status_code,
            "patch own": client.patch(f"{API}/users/{user.id}", json={"full_name": "Yo"}, headers=headers).status_code,
            "patch other": client.patch(
                f"{API}/users/{victim.id}", json={"full_name": "Otro"}, headers=headers
            ).status_code,
            "list invitations": client.get(f"{API}/invitations", headers=headers).status_code,
            "list own tokens": client.get(f"{API}/users/me/tokens", headers=headers).status_code,
            "create own token": client.post(f"{API}/users/me/tokens", json={"name": "m"}, headers=headers).status_code,
            "revoke other's token": client.delete(f"{API}/users/me/tokens/{victim_token}", headers=headers).status_code,
            "me": client.get(f"{API}/auth/me", headers=headers).status_code,
            "change own password": client.post(
                f"{API}/auth/password",
                json={"current_password": PASSWORD, "new_password": "clave-nueva-123"},
                headers=headers,
            ).status_code,
        }
        assert got == {
            "list users": 200 if is_admin else 403,
            "get own": 200,
            "get other": 200 if is_admin else 404,
            "patch own": 200 if is_admin else 403,
            "patch other": 200 if is_admin else 404,
            "list invitations": 200 if role in ("admin", "analyst") else 403,
            "list own tokens": 200,
            "create own token": 201,
            "revoke other's token": 404,
            "me": 200,
            "change own password": 204,
        }, role
        for invited_role, fields in invitation_of.items():
            payload = {"email": f"{role}-{invited_role}@inv.cl", "full_name": "Invitada"} | fields
            response = invite(api_env, headers, **payload)
            assert response.status_code == expected_invite[role][invited_role], (role, invited_role, response.text)
            if response.status_code == 403:
                assert error_of(response)["code"] == "forbidden"
    with api_env.session() as session:
        assert session.get(User, victim.id).full_name == "Otro"  # only the admin's patch applied
        assert session.get(ApiToken, victim_token).revoked_at is None
        assert session.scalar(select(func.count()).select_from(Invitation)) == 6

    # Without credentials: 401 everywhere except the public invitation endpoints.
    anonymous = fresh_client(api_env)
    for method, path in [
        ("get", "/users"),
        ("get", f"/users/{victim.id}"),
        ("patch", f"/users/{victim.id}"),
        ("get", "/invitations"),
        ("post", "/invitations"),
        ("get", "/users/me/tokens"),
        ("post", "/users/me/tokens"),
        ("delete", f"/users/me/tokens/{victim_token}"),
        ("get", "/auth/me"),
        ("post", "/auth/password"),
    ]:
        kwargs = {"json": {}} if method in ("post", "patch") else {}
        response = getattr(anonymous, method)(f"{API}{path}", **kwargs)
        assert response.status_code in (401, 422), (method, path, response.status_code)
        if method not in ("post", "patch"):
            assert response.status_code == 401, (method, path)
    assert anonymous.patch(f"{API}/users/{victim.id}", json={"full_name": "X"}).status_code == 401
    assert anonymous.post(f"{API}/users/me/tokens", json={"name": "x"}).status_code == 401
    assert (
        anonymous.post(f"{API}/invitations", json={"email": "a@b.cl", "full_name": "A", "role": "analyst"}).status_code
        == 401
    )
    assert anonymous.post(f"{API}/auth/logout").status_code == 204
    bogus = anonymous.get(f"{API}/users", headers={"Authorization": "Bearer no-es-un-token"})
    assert bogus.status_code == 401


# --------------------------------------------------------------------------- CLI


def run_cli(*args: str, database_url: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COOPDIAG_")}
    env["COOPDIAG_DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        input=stdin or "",
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        timeout=60,
    )


def test_cli_users_create_and_token(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{(tmp_path / 'cli.db').as_posix()}"
    assert run_cli("db", "upgrade", database_url=url).returncode == 0
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO cooperatives (rut, name, legal_type, state, legally_current, region_code, sectors, approved,"
                " created_at, updated_at) VALUES (:rut, 'Cooperativa Campesina Los Andes', 'campesina', 'activa', 1, 7,"
                " '[]', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            ),
            {"rut": make_rut(76123456)},
        )
        coop_id = connection.execute(text("SELECT id FROM cooperatives")).scalar_one()

    ok = run_cli(
        "users",
        "create",
        "--role",
        "admin",
        "--email",
        "Admin@ODEPA.cl",
        "--name",
        "Ana Admin",
        "--password",
        "clave-del-admin",
        database_url=url,
    )
    assert ok.returncode == 0, ok.stderr
    assert "Usuario creado: admin@odepa.cl" in ok.stderr
    rut_text = cl_rut.format(make_rut(76123456))  # 76.123.456-X
    manager = run_cli(
        "users",
        "create",
        "--role",
        "manager",
        "--email",
        "gerente@coop.cl",
        "--name",
        "Gerente",
        "--cooperative",
        rut_text,
        "--cooperative",
        str(coop_id),
        database_url=url,
        stdin="clave-del-gerente\n",
    )  # the password from standard input
    assert manager.returncode == 0, manager.stderr

    bad_role = run_cli(
        "users",
        "create",
        "--role",
        "jefe",
        "--email",
        "x@y.cl",
        "--name",
        "X",
        "--password",
        "clave-larga-1",
        database_url=url,
    )
    assert bad_role.returncode == 2 and "Rol desconocido «jefe»" in bad_role.stderr
    assert "Traceback" not in bad_role.stderr

    # The other refusals in-process (same code path, without a Python start-up each).
    monkeypatch.setenv("COOPDIAG_DATABASE_URL", url)
    get_settings.cache_clear()
    failures = [
        (("--role", "admin", "--email", "admin@odepa.cl", "--name", "X", "--password", "clave-larga-1"), "Ya existe"),
        (
            ("--role", "admin", "--email", "corta@odepa.cl", "--name", "X", "--password", "corta"),
            "al menos 10 caracteres",
        ),
        (
            (
                "--role",
                "manager",
                "--email",
                "m@y.cl",
                "--name",
                "X",
                "--password",
                "clave-larga-1",
                "--cooperative",
                "77.777.777-0",
            ),
            "RUT",
        ),
        (
            (
                "--role",
                "manager",
                "--email",
                "m@y.cl",
                "--name",
                "X",
                "--password",
                "clave-larga-1",
                "--cooperative",
                "999",
            ),
            "no existe la cooperativa",
        ),
        (
            ("--role", "manager", "--email", "m@y.cl", "--name", "X", "--password", "clave-larga-1"),
            "un gerente debe tener al menos una cooperativa",
        ),
        (
            (
                "--role",
                "field",
                "--email",
                "f@y.cl",
                "--name",
                "X",
                "--password",
                "clave-larga-1",
                "--institution",
                "UTalca",
                "--macrozone",
                "Marte",
            ),
            "macrozona desconocida",
        ),
        (("--role", "admin", "--email", "sin-arroba", "--name", "X", "--password", "clave-larga-1"), "no es válido"),
        (("--email", "f@y.cl", "--name", "X"), "faltan argumentos obligatorios"),
    ]
    try:
        for args, message in failures:
            with pytest.raises(SystemExit) as exit_info:
                cli_main(["users", "create", *args])
            assert exit_info.value.code == 2, args
            assert message in capsys.readouterr().err, args
        with pytest.raises(SystemExit) as exit_info:
            cli_main(["users", "token", "--email", "nadie@coop.cl", "--name", "script"])
        assert exit_info.value.code == 2 and "no existe un usuario" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()

    token = run_cli("users", "token", "--email", "gerente@coop.cl", "--name", "script", database_url=url)
    assert token.returncode == 0, token.stderr
    secret = token.stdout.strip()
    assert len(secret) >= 40 and "\n" not in secret

    with engine.connect() as connection:
        users = {row.email: row for row in connection.execute(text("SELECT id, email, role, password_hash FROM users"))}
        assert set(users) == {"admin@odepa.cl", "gerente@coop.cl"}
        assert all(row.password_hash.startswith("$argon2") for row in users.values())
        links = connection.execute(text("SELECT cooperative_id FROM user_cooperatives")).scalars().all()
        assert links == [coop_id]
        hashes = connection.execute(text("SELECT token_hash FROM api_tokens")).scalars().all()
        assert hashes == [sha256(secret)]
    engine.dispose()


# --------------------------------------------------------------------------- issue 14.9


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("contraseña", "common"),
        ("Contraseña2026!", "common"),
        ("123456789", "too_short"),
        ("1234567890", "common"),
        ("P@ssw0rd123", "common"),
        ("qwertyuiop", "sequence"),
        ("zzzzzzzzzzzz", "repeated"),
        ("coopdiag2026", "personal"),
        ("rosa.gerente@coop.cl", "personal"),
        ("Rosa Gerente", "personal"),
    ],
)
def test_guessable_passwords_refused_where_passwords_are_set(api_env, password, code):
    """Invitation acceptance, password change and create_user (the CLI) refuse common,
    repeated, sequential and personal passwords with a clear Spanish message."""
    from app.auth.service import create_user
    from app.errors import Invalid

    _, admin_headers = api_env.user("admin")
    token = invite(api_env, admin_headers, email="rosa.gerente@coop.cl", full_name="Rosa Gerente", role="analyst")
    accepted = fresh_client(api_env).post(
        f"{API}/invitations/{token.json()['token']}/accept", json={"password": password}
    )
    assert accepted.status_code == 422 and error_of(accepted)["details"][0]["code"] == code
    assert "contraseña" in error_of(accepted)["message"].lower()

    user, headers = api_env.user("field", macrozones=["Sur"])
    new_password = user.email if code == "personal" and "coopdiag" not in password else password
    changed = api_env.client.post(
        f"{API}/auth/password", json={"current_password": PASSWORD, "new_password": new_password}, headers=headers
    )
    assert changed.status_code == 422 and error_of(changed)["details"][0]["field"] == "new_password"

    with api_env.session() as session, pytest.raises(Invalid) as refused:
        create_user(
            session=session, email="rosa.gerente@coop.cl", full_name="Rosa Gerente", role="admin", password=password
        )
    assert refused.value.details[0]["code"] == code


def test_cli_create_user_refuses_a_common_password(tmp_path):
    url = f"sqlite:///{(tmp_path / 'cli.db').as_posix()}"
    assert run_cli("db", "upgrade", database_url=url).returncode == 0
    refused = run_cli(
        "users",
        "create",
        "--role",
        "admin",
        "--email",
        "a@odepa.cl",
        "--name",
        "Ana",
        "--password",
        "contraseña123",
        database_url=url,
    )
    assert refused.returncode != 0 and "de las más usadas" in refused.stderr and "Traceback" not in refused.stderr


def test_login_from_another_site_is_refused(api_env):
    """Login CSRF: a login posted by another site's page (Origin or Referer of another origin,
    or Origin «null») is refused on the API and the page; the same site and plain clients pass."""
    user, _ = api_env.user("analyst")
    body = {"email": user.email, "password": PASSWORD}
    for headers in ({"Origin": "https://malo.example"}, {"Origin": "null"}, {"Referer": "https://malo.example/x"}):
        api = fresh_client(api_env).post(f"{API}/auth/login", json=body, headers=headers)
        assert api.status_code == 403 and error_of(api)["code"] == "cross_site_login", headers
        page = fresh_client(api_env).post("/ingresar", data=body, headers=headers, follow_redirects=False)
        assert page.status_code == 403 and "desde otro sitio" in page.text and "coopdiag_session" not in page.cookies
    same = {"Origin": "http://testserver"}
    assert fresh_client(api_env).post(f"{API}/auth/login", json=body, headers=same).status_code == 200
    page = fresh_client(api_env).post("/ingresar", data=body, headers=same, follow_redirects=False)
    assert page.status_code == 303
    referred = {"Referer": "http://testserver/ingresar"}
    assert fresh_client(api_env).post(f"{API}/auth/login", json=body, headers=referred).status_code == 200
