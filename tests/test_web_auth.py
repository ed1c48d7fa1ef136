"""Web pages everyone meets: login, logout, invitation, role homes, error pages (both DBs)."""

from __future__ import annotations

import re

from app.auth.security import hash_password


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]*)"', html)
    assert match, "no CSRF field in the page"
    return match.group(1)


def test_login_page_and_wrong_password_keep_the_email(api_env):
    client = api_env.client
    page = client.get("/ingresar")
    assert page.status_code == 200 and 'lang="es-CL"' in page.text and "Correo electrónico" in page.text
    api_env.user("manager")
    reply = client.post("/ingresar", data={"email": "manager1@example.cl", "password": "otra-clave-mala"})
    assert reply.status_code == 422
    assert "El correo o la contraseña no son correctos" in reply.text
    assert 'value="manager1@example.cl"' in reply.text
    empty = client.post("/ingresar", data={"email": "", "password": ""})
    assert "Escriba su correo." in empty.text and 'aria-invalid="true"' in empty.text


def test_login_redirects_to_the_role_home_and_logout_needs_csrf(api_env):
    client = api_env.client
    api_env.user("analyst")
    reply = client.post(
        "/ingresar", data={"email": "analyst1@example.cl", "password": "clave-segura-123"}, follow_redirects=False
    )
    assert reply.status_code == 303 and reply.headers["location"] == "/analisis"
    cookie = reply.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert client.get("/inicio", follow_redirects=False).headers["location"] == "/analisis"
    refused = client.post("/salir", data={}, follow_redirects=False)
    assert refused.status_code == 403 and "CSRF" in refused.text and "<html" in refused.text
    token = client.get("/api/v1/auth/me").json()["csrf_token"]
    out = client.post("/salir", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/ingresar"
    assert client.get("/inicio", follow_redirects=False).headers["location"] == "/ingresar"


def test_login_never_redirects_to_another_site(api_env):
    api_env.user("manager")
    reply = api_env.client.post(
        "/ingresar",
        data={"email": "manager1@example.cl", "password": "clave-segura-123", "siguiente": "https://evil.example/"},
        follow_redirects=False,
    )
    assert reply.headers["location"] == "/mis-cooperativas"


def test_invitation_sets_a_password_once(api_env):
    client = api_env.client
    _, admin = api_env.user("admin")
    created = client.post(
        "/api/v1/invitations",
        headers=admin,
        json={"email": "nueva@example.cl", "full_name": "Nueva Analista", "role": "analyst"},
    )
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    page = client.get(f"/invitacion/{token}")
    assert page.status_code == 200 and "Nueva Analista" in page.text
    mismatch = client.post(
        f"/invitacion/{token}", data={"password": "una-clave-larga", "password_confirmation": "otra"}
    )
    assert mismatch.status_code == 422 and "no coinciden" in mismatch.text
    short = client.post(f"/invitacion/{token}", data={"password": "corta", "password_confirmation": "corta"})
    assert short.status_code == 422 and "10" in short.text
    done = client.post(
        f"/invitacion/{token}",
        data={"password": "una-clave-larga", "password_confirmation": "una-clave-larga"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/analisis"
    again = client.get(f"/invitacion/{token}")
    assert again.status_code == 410 and "ya fue usada" in again.text


def test_unknown_pages_and_invitations_are_spanish_pages_not_json(api_env):
    client = api_env.client
    missing = client.get("/no-existe")
    assert missing.status_code == 404 and "Página no encontrada" in missing.text
    assert client.get("/invitacion/no-existe").status_code == 404
    assert "Traceback" not in missing.text


def test_password_hash_helper_is_argon2():
    assert hash_password("clave-segura-123").startswith("$argon2")
