"""Security headers on pages, API answers, errors, static files and downloads."""

from __future__ import annotations

import pytest

from app.headers import CONTENT_SECURITY_POLICY


@pytest.mark.parametrize(
    "path",
    ["/", "/ingresar", "/api/v1/cooperatives", "/static/style.css", "/no-existe", "/api/v1/responses/1/report.pdf"],
)
def test_every_answer_carries_the_security_headers(api_env, path):
    reply = api_env.client.get(path, follow_redirects=False)
    headers = reply.headers
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY and "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in headers  # development serves plain http


def test_api_docs_keep_working_without_the_policy(api_env):
    reply = api_env.client.get("/docs")
    assert reply.status_code == 200 and "content-security-policy" not in reply.headers
    assert reply.headers["x-content-type-options"] == "nosniff"


def test_production_adds_hsts(migrated_db_url, questionnaires_dir):
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings

    settings = Settings(
        database_url=migrated_db_url,
        questionnaires_dir=questionnaires_dir,
        environment="production",
        secret_key="una-clave-larga-de-prueba-123",
    )
    with TestClient(create_app(settings)) as client:
        reply = client.get("/ingresar")
    assert reply.headers["strict-transport-security"].startswith("max-age=31536000")


def test_pages_and_json_are_not_stored_but_static_assets_are_cacheable(api_env):
    """Issue 14.9: Cache-Control: no-store on pages and JSON (logged in or not), never on /static."""
    user, headers = api_env.user("analyst")
    for path in ("/ingresar", "/api/v1/auth/me", "/api/v1/cooperatives", "/no-existe"):
        assert api_env.client.get(path, headers=headers).headers["cache-control"] == "no-store", path
    api_env.client.post("/api/v1/auth/login", json={"email": user.email, "password": "clave-segura-123"})
    page = api_env.client.get("/analisis")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "no-store" not in api_env.client.get("/static/style.css").headers.get("cache-control", "")


def test_production_hides_the_api_schema_and_docs(migrated_db_url, questionnaires_dir):
    """Issue 14.9: /openapi.json and /docs are not served in production."""
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings

    settings = Settings(
        database_url=migrated_db_url,
        questionnaires_dir=questionnaires_dir,
        environment="production",
        secret_key="una-clave-larga-de-prueba-123",
    )
    with TestClient(create_app(settings)) as client:
        for path in ("/openapi.json", "/docs", "/redoc"):
            assert client.get(path).status_code == 404, path
        assert client.get("/ingresar").status_code == 200
