"""Database access: engine and session factory, declarative ``Base``, migrations.

SQLite (the embedded default) and PostgreSQL are both supported. Schema
changes go through Alembic only (``migrations/``); ``upgrade_database()`` and
``downgrade_database()`` run it programmatically, so neither ``alembic.ini``
nor the current directory matter.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from app.settings import Settings, get_settings

#: Deterministic constraint names, so that migrations (and SQLite batch
#: operations) can refer to constraints by name on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every coopdiag model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored as UTC.

    PostgreSQL keeps the zone (``timestamptz``); SQLite does not, so values
    read back naive are marked as UTC. Naive values are refused on write.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("se esperaba una fecha y hora con zona horaria")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _enable_sqlite_foreign_keys(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        # Several uvicorn workers share the file: readers must not block the writer, and a
        # writer waits for another rather than failing at once.
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA journal_mode=WAL")
    finally:
        cursor.close()


#: PostgreSQL connections a process keeps open (and how many more it may open for a burst,
#: closing them afterwards). The autosave works on at most ``deps.HOT_REQUESTS`` (8) saves at
#: once, each holding a connection until its commit; the pool keeps a few more for the other
#: pages. A connection opened and closed for a burst costs PostgreSQL a new server process.
POOL_SIZE = 10
POOL_OVERFLOW = 10


def make_engine(database_url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``database_url``.

    For an SQLite file the parent folder is created when missing, and every
    connection gets ``PRAGMA foreign_keys=ON``.
    """
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        database = url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        connect_args = dict(kwargs.pop("connect_args", {}))
        # The web app serves requests from a thread pool.
        connect_args.setdefault("check_same_thread", False)
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _enable_sqlite_foreign_keys)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", POOL_SIZE)
        kwargs.setdefault("max_overflow", POOL_OVERFLOW)
    return create_engine(url, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


_engines: dict[str, Engine] = {}


def get_engine(database_url: str | None = None) -> Engine:
    """A shared engine for ``database_url`` (default: the settings' URL)."""
    url = database_url or get_settings().database_url
    engine = _engines.get(url)
    if engine is None:
        engine = _engines[url] = make_engine(url)
    return engine


def forget_engines() -> None:
    """Drop the shared engines without closing their connections: a forked process (a queue
    worker) must open its own, never use its parent's."""
    for engine in _engines.values():
        engine.dispose(close=False)
    _engines.clear()


@contextmanager
def session_scope(database_url: str | None = None) -> Iterator[Session]:
    """A session for a command: one unit of work, committed on success, rolled back on error."""
    from app.unit_of_work import UnitOfWork

    with make_sessionmaker(get_engine(database_url))() as session, UnitOfWork(session):
        yield session


# --------------------------------------------------------------------------- migrations


def alembic_config(database_url: str | None = None, *, settings: Settings | None = None) -> Any:
    """An Alembic ``Config`` built in code (no ``alembic.ini`` needed).

    The URL is handed to ``migrations/env.py`` through ``config.attributes``
    rather than the ini options, so that ``%`` in passwords or query strings
    needs no escaping.
    """
    from alembic.config import Config

    settings = settings or get_settings()
    migrations_dir = Path(settings.migrations_dir)
    if not (migrations_dir / "env.py").is_file():
        raise RuntimeError(
            f"No se encontraron las migraciones en {migrations_dir}; "
            "defina COOPDIAG_MIGRATIONS_DIR con la carpeta 'migrations' del proyecto."
        )
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.attributes["database_url"] = database_url or settings.database_url
    return config


def upgrade_database(revision: str = "head", *, database_url: str | None = None) -> None:
    """Migrate the database up to ``revision`` (default: the latest)."""
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)


def downgrade_database(revision: str, *, database_url: str | None = None) -> None:
    """Migrate the database down to ``revision`` (``"base"``: an empty database)."""
    from alembic import command

    command.downgrade(alembic_config(database_url), revision)


def current_revision(database_url: str | None = None) -> str | None:
    """The revision the database is at, or ``None`` when it was never migrated."""
    from alembic.runtime.migration import MigrationContext

    with get_engine(database_url).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
