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
