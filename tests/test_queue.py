"""The task queue (app/queue.py): brokers chosen by COOPDIAG_QUEUE_URL, tasks queued only after
the unit of work commits, and a real round trip through SQLite, Redis and PostgreSQL brokers.

Redis comes from ``COOPDIAG_TEST_REDIS_URL`` (CI sets it, .ci/run starts Redis); without it the
Redis test is skipped on a developer's machine and fails in CI."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from huey.storage import PostgresStorage
from sqlalchemy import create_engine, text

from app import queue
from app.settings import Settings
from app.unit_of_work import UnitOfWork, after_commit
from tests.conftest import PG_URL_ENV, in_ci

ROOT = Path(__file__).resolve().parent.parent
DONE: list[str] = []


@queue.huey.task()
def remember(value: str) -> str:
    """A test task: what it ran with is visible to the test."""
    DONE.append(value)
    return value


@pytest.fixture
def restore_queue():
    yield
    queue.configure(Settings(queue_url="immediate"))
    DONE.clear()


def _round_trip(settings: Settings) -> None:
    queue.configure(settings)
    queue.huey.flush()
    value = uuid.uuid4().hex
    queue.enqueue(remember, value)
    assert DONE == []  # queued on the broker, not run here
    assert queue.huey.pending_count() == 1
    queue.huey.execute(queue.huey.dequeue())  # what a worker does
    assert [value] == DONE
    assert queue.huey.pending_count() == 0


def test_brokers_named_by_the_settings(tmp_path):
    assert queue.broker_of(Settings(queue_url="immediate"))[0] == "immediate"
    kind, _, arguments = queue.broker_of(Settings(database_url=f"sqlite:///{tmp_path}/app.db", queue_url=""))
    assert kind == "sqlite" and arguments["filename"] == str(tmp_path / "cola.sqlite3")
    assert queue.broker_of(Settings(queue_url="redis://127.0.0.1:6379/3"))[0] == "redis"
    assert queue.broker_of(Settings(queue_url="postgresql://u@h/db")) == (
        "postgresql",
        PostgresStorage,
        {"dsn": "postgresql://u@h/db"},
    )
    # huey's table prefix is the URL's table_prefix, which libpq would refuse: out of the DSN.
    prefixed = queue.broker_of(Settings(queue_url="postgresql://u@h/db?sslmode=require&table_prefix=cola_2"))
    assert prefixed[2] == {"dsn": "postgresql://u@h/db?sslmode=require", "table_prefix": "cola_2"}
    for prefix in ("", "2cola", "cola;drop", "c" * 39):
        with pytest.raises(ValueError, match="table_prefix"):
            queue.broker_of(Settings(queue_url=f"postgresql://u@h/db?table_prefix={prefix}"))
    with pytest.raises(ValueError, match="COOPDIAG_QUEUE_URL"):
        queue.broker_of(Settings(queue_url="amqp://nope"))


def test_sqlite_broker_round_trip(tmp_path, restore_queue):
    _round_trip(Settings(database_url=f"sqlite:///{tmp_path}/app.db", queue_url=""))


def test_redis_broker_round_trip(restore_queue):
    url = os.environ.get("COOPDIAG_TEST_REDIS_URL")
    if not url:
        if in_ci():
            pytest.fail("COOPDIAG_TEST_REDIS_URL is not set in CI (.ci/run starts Redis)")
        pytest.skip("COOPDIAG_TEST_REDIS_URL is not set: the Redis broker test needs e.g. redis://127.0.0.1:6379/15")
    _round_trip(Settings(queue_url=url))


def test_postgresql_broker_round_trip(restore_queue):
    url = os.environ.get(PG_URL_ENV)
    if not url:
        if in_ci():
            pytest.fail(f"{PG_URL_ENV} is not set in CI")
        pytest.skip(f"{PG_URL_ENV} is not set: the PostgreSQL broker test needs it")
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    prefix = f"t{uuid.uuid4().hex[:8]}"  # huey's tables of this test only
    try:
        _round_trip(Settings(queue_url=f"{dsn}{'&' if '?' in dsn else '?'}table_prefix={prefix}"))
        assert queue.huey.storage.table_task == f"{prefix}_task"
    finally:
        engine = create_engine(url)
        with engine.begin() as connection:
            for table in ("kv", "schedule", "task", "counter"):
                connection.execute(text(f"DROP TABLE IF EXISTS {prefix}_{table}"))
        engine.dispose()


def test_a_task_is_queued_only_when_its_unit_of_work_commits(migrated_db_url, restore_queue):
    from app.db import make_engine, make_sessionmaker

    queue.configure(Settings(queue_url="immediate"))
    engine = make_engine(migrated_db_url)
    try:
        with make_sessionmaker(engine)() as session:
            with pytest.raises(RuntimeError), UnitOfWork(session):
                after_commit(session, lambda: queue.enqueue(remember, "rolled back"))
                raise RuntimeError("refused")
            assert DONE == []
            with UnitOfWork(session) as unit:
                unit.after_commit(lambda: queue.enqueue(remember, "committed"))
                assert DONE == []  # not before the commit
            assert DONE == ["committed"]
            # Outside a unit of work (a script that commits itself): on the session's commit,
            # never after a rollback.
            session.execute(text("SELECT 1"))  # what a service's writes do: a transaction begins
            after_commit(session, lambda: queue.enqueue(remember, "script"))
            session.rollback()
            session.commit()
            assert DONE == ["committed"]
            after_commit(session, lambda: queue.enqueue(remember, "script"))
            session.commit()
            assert DONE == ["committed", "script"]
    finally:
        engine.dispose()


def test_a_broker_that_does_not_answer_loses_nothing_and_raises_nothing(restore_queue, caplog):
    queue.configure(Settings(queue_url="redis://127.0.0.1:1/0"))  # nothing listens on port 1
    queue.enqueue(remember, "lost?")
    assert "barrido periódico" in caplog.text
    assert DONE == []


def test_worker_command_refuses_the_immediate_queue():
    env = {**os.environ, "COOPDIAG_QUEUE_URL": "immediate"}
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "worker"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "no hace falta un worker" in done.stderr


def test_a_released_savepoint_does_not_run_what_waits_for_the_commit(migrated_db_url, restore_queue):
    """Outside a unit of work the session's own commit runs the actions, not a savepoint's
    release inside it (a worker would then wait for a write lock the transaction still holds)."""
    from app.db import make_engine, make_sessionmaker

    queue.configure(Settings(queue_url="immediate"))
    engine = make_engine(migrated_db_url)
    try:
        with make_sessionmaker(engine)() as session:
            session.execute(text("SELECT 1"))
            after_commit(session, lambda: queue.enqueue(remember, "after the commit"))
            with session.begin_nested():
                session.execute(text("SELECT 2"))
            assert DONE == []
            session.commit()
            assert DONE == ["after the commit"]
    finally:
        engine.dispose()
