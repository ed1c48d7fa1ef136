"""Oversized request bodies are refused early with 413, by Content-Length or while streaming."""

from __future__ import annotations

from app.limits import MAX_BODY_BYTES, MAX_UPLOAD_BODY_BYTES, limit_for


def test_limits_per_path():
    assert limit_for("/api/v1/cooperatives") == MAX_BODY_BYTES
    assert limit_for("/api/v1/cooperatives/import") == MAX_UPLOAD_BODY_BYTES
    assert limit_for("/api/v1/rounds/3/odk-import") == MAX_UPLOAD_BODY_BYTES


def test_declared_too_large_is_refused_before_reading(api_env):
    _, headers = api_env.user("admin")
    body = b"{" + b" " * MAX_BODY_BYTES + b"}"
    reply = api_env.client.post(
        "/api/v1/cooperatives", content=body, headers={**headers, "Content-Type": "application/json"}
    )
    assert reply.status_code == 413
    error = reply.json()["error"]
    assert error["code"] == "too_large" and "2 MB" in error["message"]
    assert reply.headers["content-security-policy"]  # still answered through the header middleware


def test_streamed_too_large_is_refused_while_reading(api_env):
    _, headers = api_env.user("admin")

    def chunks():  # no Content-Length: chunked transfer
        yield b'{"name": "'
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    reply = api_env.client.post(
        "/api/v1/cooperatives", content=chunks(), headers={**headers, "Content-Type": "application/json"}
    )
    assert reply.status_code == 413 and reply.json()["error"]["code"] == "too_large"


def test_pages_get_a_spanish_413(api_env):
    reply = api_env.client.post(
        "/ingresar", content=b"a" * (MAX_BODY_BYTES + 1), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert reply.status_code == 413 and "demasiado grande" in reply.text


def test_normal_bodies_pass(api_env):
    _, headers = api_env.user("admin")
    reply = api_env.client.post(
        "/api/v1/cooperatives",
        headers=headers,
        json={
            "rut": "76.086.428-5",
            "name": "Cooperativa Normal",
            "legal_type": "agricola",
            "region_code": 7,
            "notes": "n" * 4000,
        },
    )
    assert reply.status_code == 201, reply.text
