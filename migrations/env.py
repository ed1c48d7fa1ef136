"""Alembic environment for coopdiag.

The database URL comes, in order, from ``config.attributes["database_url"]``
(set by ``app.db.upgrade_database``), from ``sqlalchemy.url`` in an ini file
if one sets it, or from the app settings (``COOPDIAG_DATABASE_URL``).
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

import app.models  # noqa: F401  (registers every model on Base.metadata)
from app.db import Base, make_engine
from app.settings import get_settings

config = context.config
if config.config_file_name is not None:
    # Only when run as `alembic ...` with alembic.ini: show migration progress.
    fileConfig(config.config_file_name, disable_existing_loggers=False)
target_metadata = Base.metadata


def _database_url() -> str:
    url = config.attributes.get("database_url")
    if not url:
        url = config.get_main_option("sqlalchemy.url")
    return url or get_settings().database_url


def _configure_kwargs(dialect_name: str) -> dict:
    return {
        "target_metadata": target_metadata,
        # SQLite cannot ALTER most things: recreate tables in batch mode.
        "render_as_batch": dialect_name == "sqlite",
        "compare_type": True,
    }


def run_migrations_offline() -> None:
    from sqlalchemy.engine import make_url

    url = _database_url()
    context.configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **_configure_kwargs(make_url(url).get_backend_name()),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, **_configure_kwargs(connection.dialect.name))
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_database_url())
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, **_configure_kwargs(connection.dialect.name))
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
