"""Faults: the database goes away (PostgreSQL restarted, connection cut) or refuses writes
(SQLite read-only or disk full). Requests fail cleanly with 503 and a Spanish message, nothing
is half-saved, and the app recovers on its own once the database is back."""

from __future__ import annotations

import contextlib
import socket
import threading

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.engine import make_url

from app.cooperatives.models import Cooperative

NEW_COOP = {"rut": "76.086.428-5", "name": "Cooperativa Tras la Falla", "legal_type": "agricola", "region_code": 7}


class TcpProxy:
    """A TCP forwarder to PostgreSQL that can be cut (every connection dropped, new ones
    refused) and restored on the same port: a database restart, seen from the app."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(32)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            with self._lock:
                self._open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(
                OSError
            ):  # shutdown wakes the thread blocked in accept(); close alone does not on Linux
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for s in self._open:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self._open.clear()


def _app(database_url, questionnaires_dir):
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings

    app = create_app(Settings(database_url=database_url, questionnaires_dir=questionnaires_dir, reports_cache_dir=""))
    return app, TestClient(app)


def _token(sessionmaker, role="admin") -> dict[str, str]:
    from app.auth.service import create_user, issue_api_token

    with sessionmaker() as session:
        user = create_user(
            session=session, email=f"{role}@falla.cl", full_name="Prueba", role=role, password="clave-segura-123"
        )
        token = issue_api_token(session=session, user=user, name="pruebas")
        session.commit()
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgresql_outage_gives_503_then_recovers_without_restart(migrated_db_url, questionnaires_dir):
    url = make_url(migrated_db_url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.start()
    try:
        proxied = url.set(port=proxy.port).render_as_string(hide_password=False)
        app, client = _app(proxied, questionnaires_dir)
        with client:
            headers = _token(app.state.sessionmaker)
            assert client.get("/api/v1/cooperatives", headers=headers).status_code == 200

            proxy.stop()  # the database "restarts": live connections die, new ones are refused
            down = client.post("/api/v1/cooperatives", json=NEW_COOP, headers=headers)
            assert down.status_code == 503
            error = down.json()["error"]
            assert (
                error["code"] == "database_unavailable" and "no hay conexión con la base de datos" in error["message"]
            )
            assert down.headers["retry-after"] == "10"

            proxy.start()  # back on the same address: the pool reconnects by itself
            again = client.post("/api/v1/cooperatives", json=NEW_COOP, headers=headers)
            assert again.status_code == 201, again.text
            with app.state.sessionmaker() as session:
                assert (
                    session.scalar(select(Cooperative.name).where(Cooperative.rut == "76086428-5")) == NEW_COOP["name"]
                )
    finally:
        proxy.stop()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("pragma", "cause"),
    [
        ("PRAGMA query_only = ON", "solo lectura"),
        ("PRAGMA max_page_count = {pages}", "espacio en el disco"),
    ],
)
def test_sqlite_refusing_writes_gives_503_and_nothing_changes(migrated_db_url, questionnaires_dir, pragma, cause):
    app, client = _app(migrated_db_url, questionnaires_dir)
    with client:
        headers = _token(app.state.sessionmaker)
        engine = app.state.sessionmaker.kw["bind"]
        with engine.connect() as connection:
            connection.exec_driver_sql("VACUUM")  # no free pages left: a big row needs new ones
            pages = connection.execute(text("PRAGMA page_count")).scalar()
            before = connection.execute(text("SELECT count(*) FROM cooperatives")).scalar()

        def limit(dbapi_connection, _record):
            dbapi_connection.execute(pragma.format(pages=pages))

        event.listen(engine, "connect", limit)
        engine.dispose()
        big = {**NEW_COOP, "notes": "x" * 5000}  # more than a 4 KB page: needs new (overflow) pages
        refused = client.post("/api/v1/cooperatives", json=big, headers=headers)
        assert refused.status_code == 503, refused.text
        assert cause in refused.json()["error"]["message"]
        assert "No se guardó ningún cambio" in refused.json()["error"]["message"]

        event.remove(engine, "connect", limit)
        engine.dispose()
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            assert connection.execute(text("SELECT count(*) FROM cooperatives")).scalar() == before
        assert client.post("/api/v1/cooperatives", json=big, headers=headers).status_code == 201


def test_pool_exhausted_is_503_busy(api_env, monkeypatch):
    """Every pooled connection held past the pool timeout: 'busy', 503, never a 500."""
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from app.cooperatives import service as cooperatives

    _, headers = api_env.user("admin")

    def exhausted(**_kwargs):
        raise PoolTimeout("QueuePool limit of size 10 overflow 10 reached, connection timed out, timeout 30.00")

    monkeypatch.setattr(cooperatives, "list_cooperatives", exhausted)
    reply = api_env.client.get("/api/v1/cooperatives", headers=headers)
    assert reply.status_code == 503
    assert "la base de datos está ocupada" in reply.json()["error"]["message"]
