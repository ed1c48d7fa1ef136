"""Login throttling (app/auth/throttle.py): a hard limit per client address and per account from
one address, counted atomically *before* the password is checked; only a small delay per
account, so an attacker elsewhere cannot lock the real user out; X-Forwarded-For believed only
from configured proxies. API and login page, on SQLite and PostgreSQL (``api_env``)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.auth import service, throttle, views
from app.auth.throttle import LoginFailure
from app.main import create_app

PASSWORD = "clave-segura-123"


def _login(client, email, password, **kwargs):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password}, **kwargs)


def _from(env, address: str) -> TestClient:
    """A client of the same app connecting from ``address``."""
    return TestClient(env.client.app, client=(address, 40000))


def test_account_from_one_address_limited_then_released(api_env):
    user, _ = api_env.user("analyst")
    for _ in range(throttle.LIMITS.per_account_address):
        reply = _login(api_env.client, user.email, "equivocada-123")
        assert reply.status_code == 401 and reply.json()["error"]["code"] == "login_failed"

    blocked = _login(api_env.client, user.email, PASSWORD)  # even the right password waits, from here
    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "too_many_attempts"
    assert "Demasiados intentos" in blocked.json()["error"]["message"]
    assert 60 <= int(blocked.headers["retry-after"]) <= 15 * 60 + 1

    # An unknown account is throttled the same way (no hint about which accounts exist).
    for _ in range(throttle.LIMITS.per_account_address):
        assert _login(api_env.client, "nadie@example.cl", "x-cualquiera-1").status_code == 401
    assert _login(api_env.client, "nadie@example.cl", "x-cualquiera-1").status_code == 429

    # Once the window has passed, the right password works and clears the account's count.
    with api_env.session() as session:
        for failure in session.scalars(select(LoginFailure)):
            failure.at -= throttle.LIMITS.window + timedelta(seconds=1)
        session.commit()
    assert _login(api_env.client, user.email, PASSWORD).status_code == 200

    # A success after a few recent failures clears the account's (the count starts again).
    for _ in range(3):
        assert _login(api_env.client, user.email, "equivocada-123").status_code == 401
    assert _login(api_env.client, user.email, PASSWORD).status_code == 200
    with api_env.session() as session:
        since = max(session.scalars(select(LoginFailure.at))) - throttle.LIMITS.window
        recent = session.scalar(
            select(func.count()).where(
                LoginFailure.key.in_([f"email:{user.email}", f"pair:testclient {user.email}"]), LoginFailure.at > since
            )
        )
    assert recent == 0


def test_victim_logs_in_after_an_attackers_failures_from_elsewhere(api_env, monkeypatch):
    monkeypatch.setattr(throttle, "LIMITS", throttle.Limits(account_delay_max=1.0))
    user, _ = api_env.user("manager")
    attacker = _from(api_env, "198.51.100.66")
    for _ in range(throttle.LIMITS.per_account_address * 3):
        assert _login(attacker, user.email, "adivinanza-000").status_code in (401, 429)
    assert _login(attacker, user.email, PASSWORD).status_code == 429  # the attacker's address is stopped
    # The real user, from their own address, only waits the account's small delay.
    with api_env.session() as session:
        delay = throttle.account_delay(session=session, email=user.email, now=service._now())
    assert 0 < delay <= 1.0
    assert _login(_from(api_env, "203.0.113.10"), user.email, PASSWORD).status_code == 200


def test_account_delay_grows_and_is_capped(api_env):
    now = service._now()
    delays = []
    with api_env.session() as session:
        for _ in range(10):
            delays.append(throttle.account_delay(session=session, email="d@example.cl", now=now))
            session.add(LoginFailure(key="email:d@example.cl", at=now - timedelta(minutes=1)))
            session.flush()
    assert delays == [0, 0, 0, 0, 0, 1, 2, 4, 8, 8]


def test_address_limit_spans_accounts(api_env, monkeypatch):
    monkeypatch.setattr(throttle, "LIMITS", throttle.Limits(per_account_address=100, per_address=3))
    user, _ = api_env.user("manager")
    for index in range(3):
        assert _login(api_env.client, f"otro{index}@example.cl", "no-es-esta-1").status_code == 401
    assert _login(api_env.client, user.email, PASSWORD).status_code == 429  # same address (testclient)
    assert _login(_from(api_env, "203.0.113.11"), user.email, PASSWORD).status_code == 200


def test_forwarded_for_from_an_untrusted_client_is_ignored(api_env, monkeypatch):
    monkeypatch.setattr(throttle, "LIMITS", throttle.Limits(per_account_address=100, per_address=3))
    client = _from(api_env, "198.51.100.7")
    for index in range(3):
        reply = _login(client, f"x{index}@example.cl", "no-es-esta-1", headers={"X-Forwarded-For": f"10.9.9.{index}"})
        assert reply.status_code == 401
    rotated = _login(client, "y@example.cl", "no-es-esta-1", headers={"X-Forwarded-For": "10.9.9.200"})
    assert rotated.status_code == 429
    with api_env.session() as session:
        keys = set(session.scalars(select(LoginFailure.key).where(LoginFailure.key.like("ip:%"))))
    assert keys == {"ip:198.51.100.7"}


def test_forwarded_for_from_a_trusted_proxy_names_the_client(api_env, monkeypatch):
    monkeypatch.setattr(throttle, "LIMITS", throttle.Limits(per_account_address=100, per_address=2))
    settings = api_env.settings.model_copy(update={"trusted_proxies": "10.0.0.0/8"})
    app = create_app(settings)
    with TestClient(app, client=("10.0.0.2", 5000)) as proxy:
        # The client writes a fake address first; the proxy appends the real one.
        for index in range(2):
            spoofed = {"X-Forwarded-For": f"1.2.3.{index}, 203.0.113.50"}
            assert _login(proxy, f"z{index}@example.cl", "no-es-esta-1", headers=spoofed).status_code == 401
        assert _login(proxy, "w@example.cl", "x", headers={"X-Forwarded-For": "203.0.113.50"}).status_code == 429
        # Another client behind the same proxy is not affected.
        assert (
            _login(proxy, "w@example.cl", "no-es-esta-1", headers={"X-Forwarded-For": "203.0.113.51"}).status_code
            == 401
        )
    with api_env.session() as session:
        keys = set(session.scalars(select(LoginFailure.key).where(LoginFailure.key.like("ip:%"))))
    assert keys == {"ip:203.0.113.50", "ip:203.0.113.51"}


def test_parallel_wrong_logins_check_the_password_at_most_the_limit(api_env, monkeypatch):
    """30 wrong logins at once for one account from one address: the attempts are counted
    before the password is checked, atomically, so at most the limit are checked."""
    monkeypatch.setattr(views, "LOGINS_AT_ONCE", 30)  # no queue: the requests really race
    user, _ = api_env.user("field")
    checks = []
    lock = threading.Lock()
    real_verify = service.verify_password

    def counting_verify(hashed, password):
        with lock:
            checks.append(password)
        return real_verify(hashed, password)

    monkeypatch.setattr(service, "verify_password", counting_verify)
    barrier = threading.Barrier(30)

    def attempt(_):
        barrier.wait()
        return _login(api_env.client, user.email, "equivocada-123").status_code

    with ThreadPoolExecutor(30) as pool:
        codes = list(pool.map(attempt, range(30)))
    assert len(checks) <= throttle.LIMITS.per_account_address
    assert codes.count(401) == len(checks) and codes.count(429) == 30 - len(checks)
    assert set(codes) <= {401, 429}


@pytest.mark.parametrize("address", ["198.51.100.1", "198.51.100.2"])
def test_reservations_are_atomic_across_sessions(api_env, address):
    """The throttle itself, from 20 threads each with its own session and connection."""
    barrier = threading.Barrier(20)
    results = []

    def reserve(_):
        barrier.wait()
        with api_env.session() as session:
            try:
                throttle.reserve(session=session, email="blanco@example.cl", client_ip=address, now=service._now())
            except throttle.TooManyAttempts:
                results.append("refused")
            else:
                results.append("reserved")

    with ThreadPoolExecutor(20) as pool:
        list(pool.map(reserve, range(20)))
    assert results.count("reserved") == throttle.LIMITS.per_account_address


def test_login_page_shows_the_wait_in_spanish(api_env):
    user, _ = api_env.user("field", institution="Universidad de Talca")
    for _ in range(throttle.LIMITS.per_account_address):
        page = api_env.client.post("/ingresar", data={"email": user.email, "password": "mala-clave-99"})
        assert page.status_code == 422
    page = api_env.client.post("/ingresar", data={"email": user.email, "password": PASSWORD}, follow_redirects=False)
    assert page.status_code == 429 and "retry-after" in page.headers
    assert "Demasiados intentos fallidos" in page.text and "Traceback" not in page.text


def test_trusted_proxies_setting_is_checked():
    from pydantic import ValidationError

    from app.settings import Settings

    assert Settings(trusted_proxies="10.0.0.5, 172.18.0.0/16").trusted_proxies
    with pytest.raises(ValidationError, match="no es una dirección IP"):
        Settings(trusted_proxies="proxy.interno")
