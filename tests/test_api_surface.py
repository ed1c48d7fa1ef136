"""Every JSON API route is behind authentication unless it is meant to be public, and
every error uses the one error shape. Enumerated from the OpenAPI document, so a new
endpoint is covered the day it is added (the per-domain tests hold the role × record
matrices)."""

from __future__ import annotations

import re

import pytest

# Routes a visitor without an account must reach: logging in and accepting an invitation;
# logging out is idempotent (204 with or without a session).
PUBLIC = {
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/logout"),
    ("GET", "/api/v1/invitations/{token}"),
    ("POST", "/api/v1/invitations/{token}/accept"),
}


def api_operations(app) -> list[tuple[str, str]]:
    paths = app.openapi()["paths"]
    return sorted(
        (method.upper(), path)
        for path, operations in paths.items()
        if path.startswith("/api/v1/")
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    )


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_the_api_has_the_expected_domains(api_env):
    paths = {path for _, path in api_operations(api_env.client.app)}
    for prefix in (
        "/api/v1/auth/",
        "/api/v1/users",
        "/api/v1/invitations",
        "/api/v1/cooperatives",
        "/api/v1/rounds",
        "/api/v1/questionnaires",
        "/api/v1/responses",
    ):
        assert any(p.startswith(prefix) for p in paths), prefix


def test_every_private_route_requires_authentication(api_env):
    client = api_env.client
    operations = api_operations(client.app)
    assert len(operations) > 30
    for method, path in operations:
        if (method, path) in PUBLIC:
            continue
        reply = client.request(method, concrete(path), json={})
        assert reply.status_code == 401, (method, path, reply.status_code, reply.text[:200])
        body = reply.json()
        assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"]), (method, path)


@pytest.mark.parametrize("headers", [{"Authorization": "Bearer not-a-real-token"}, {"Authorization": "Basic abc"}])
def test_bad_credentials_are_refused_everywhere(api_env, headers):
    client = api_env.client
    for method, path in api_operations(client.app):
        if (method, path) in PUBLIC:
            continue
        reply = client.request(method, concrete(path), json={}, headers=headers)
        assert reply.status_code == 401, (method, path, reply.status_code)


def test_unknown_api_path_uses_the_error_shape(api_env):
    reply = api_env.client.get("/api/v1/no-existe")
    assert reply.status_code == 404
    assert reply.json()["error"]["code"] == "not_found"


def test_ids_beyond_any_key_are_not_found_not_500(api_env):
    _, admin = api_env.user("admin")
    client = api_env.client
    for path in (
        "/api/v1/responses/99999999999999999999999",
        "/api/v1/cooperatives/2147483648",
        "/api/v1/users/99999999999",
        "/api/v1/rounds/123456789012345",
    ):
        reply = client.get(path, headers=admin)
        assert reply.status_code == 404, (path, reply.status_code)
        assert reply.json()["error"]["code"] == "not_found"
    page = client.get("/analisis/respuestas/99999999999999999999")
    assert page.status_code in (404, 303)
