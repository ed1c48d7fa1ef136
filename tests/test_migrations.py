"""Alembic migrations: up to head and back to base, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import insert, inspect, text
from sqlalchemy.exc import IntegrityError

import app.models  # noqa: F401
from app.db import (
    Base,
    alembic_config,
    current_revision,
    downgrade_database,
    make_engine,
    upgrade_database,
)


def _head() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _tables(db_url: str) -> set[str]:
    engine = make_engine(db_url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_single_linear_history() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1
    assert len(script.get_bases()) == 1


def test_upgrade_head_then_downgrade_base(db_url: str) -> None:
    assert current_revision(db_url) is None

    upgrade_database("head", database_url=db_url)
    assert current_revision(db_url) == _head()
    assert "questionnaire_versions" in _tables(db_url)

    downgrade_database("base", database_url=db_url)
    assert current_revision(db_url) is None
    assert _tables(db_url) <= {"alembic_version"}

    # And up again: downgrades leave nothing behind that breaks an upgrade.
    upgrade_database(database_url=db_url)
    assert current_revision(db_url) == _head()


def test_upgrade_is_idempotent(db_url: str) -> None:
    upgrade_database(database_url=db_url)
    upgrade_database(database_url=db_url)
    assert current_revision(db_url) == _head()


def test_models_match_migrations(migrated_db_url: str) -> None:
    engine = make_engine(migrated_db_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_questionnaire_versions_schema(migrated_db_url: str) -> None:
    engine = make_engine(migrated_db_url)
    try:
        inspector = inspect(engine)
        columns = {c["name"]: c for c in inspector.get_columns("questionnaire_versions")}
        assert set(columns) == {
            "id",
            "questionnaire_id",
            "version",
            "title",
            "content_hash",
            "source",
            "registered_at",
        }
        assert not any(c["nullable"] for c in columns.values())
        uniques = inspector.get_unique_constraints("questionnaire_versions")
        assert [(u["name"], u["column_names"]) for u in uniques] == [
            ("uq_questionnaire_versions_questionnaire_id_version", ["questionnaire_id", "version"])
        ]
        assert inspector.get_pk_constraint("questionnaire_versions")["constrained_columns"] == ["id"]

        table = Base.metadata.tables["questionnaire_versions"]
        row = {
            "questionnaire_id": "q",
            "version": "1",
            "title": "T",
            "content_hash": "0" * 64,
            "source": "id: q",
            "registered_at": datetime(2026, 1, 1, tzinfo=timezone.utc),
        }
        with engine.begin() as connection:
            connection.execute(insert(table), [row])
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(insert(table), [row])
    finally:
        engine.dispose()


def test_sqlite_foreign_keys_enabled_and_folder_created(tmp_path: Path) -> None:
    database = tmp_path / "nested" / "var" / "coopdiag.db"
    engine = make_engine(f"sqlite:///{database.as_posix()}")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert database.parent.is_dir()
    finally:
        engine.dispose()


def test_alembic_ini_points_at_migrations() -> None:
    from alembic.config import Config

    root = Path(__file__).resolve().parent.parent
    config = Config(str(root / "alembic.ini"))
    script = ScriptDirectory.from_config(config)
    assert script.get_current_head() == _head()
