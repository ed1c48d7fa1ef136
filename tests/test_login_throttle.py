"""Login throttling: per account and per address, in the database (shared by workers), with
429 + Retry-After before the password is checked, on the API and the login page."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.auth import throttle
from app.auth.throttle import LoginFailure

PASSWORD = "clave-segura-123"


def _login(client, email, password):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def test_account_locked_after_five_failures_then_released(api_env, monkeypatch):
    user, _ = api_env.user("analyst")
    for _ in range(throttle.LIMITS.per_account):
        reply = _login(api_env.client, user.email, "equivocada-123")
        assert reply.status_code == 401 and reply.json()["error"]["code"] == "login_failed"

    blocked = _login(api_env.client, user.email, PASSWORD)  # even the right password waits
    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "too_many_attempts"
    assert "Demasiados intentos" in blocked.json()["error"]["message"]
    assert 60 <= int(blocked.headers["retry-after"]) <= 15 * 60 + 1

    # An unknown account is throttled the same way (no hint about which accounts exist).
    for _ in range(throttle.LIMITS.per_account):
        assert _login(api_env.client, "nadie@example.cl", "x-cualquiera-1").status_code == 401
    assert _login(api_env.client, "nadie@example.cl", "x-cualquiera-1").status_code == 429

    # Once the window has passed, the right password works and clears the account's count.
    with api_env.session() as session:
        for failure in session.scalars(select(LoginFailure)):
            failure.at -= throttle.LIMITS.window + timedelta(seconds=1)
        session.commit()
    assert _login(api_env.client, user.email, PASSWORD).status_code == 200

    # A success after a few recent failures clears them (the count starts again from zero).
    for _ in range(3):
        assert _login(api_env.client, user.email, "equivocada-123").status_code == 401
    assert _login(api_env.client, user.email, PASSWORD).status_code == 200
    with api_env.session() as session:
        since = max(session.scalars(select(LoginFailure.at))) - throttle.LIMITS.window
        recent = session.scalar(
            select(func.count()).where(LoginFailure.key == f"email:{user.email}", LoginFailure.at > since)
        )
    assert recent == 0


def test_address_limit_spans_accounts(api_env, monkeypatch):
    monkeypatch.setattr(throttle, "LIMITS", throttle.Limits(per_account=100, per_address=3))
    user, _ = api_env.user("manager")
    for index in range(3):
        assert _login(api_env.client, f"otro{index}@example.cl", "no-es-esta-1").status_code == 401
    assert _login(api_env.client, user.email, PASSWORD).status_code == 429  # same address (testclient)


def test_login_page_shows_the_wait_in_spanish(api_env):
    user, _ = api_env.user("field", institution="Universidad de Talca")
    for _ in range(throttle.LIMITS.per_account):
        page = api_env.client.post("/ingresar", data={"email": user.email, "password": "mala-clave-99"})
        assert page.status_code == 422
    page = api_env.client.post("/ingresar", data={"email": user.email, "password": PASSWORD}, follow_redirects=False)
    assert page.status_code == 429 and "retry-after" in page.headers
    assert "Demasiados intentos fallidos" in page.text and "Traceback" not in page.text
