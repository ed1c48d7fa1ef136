"""``coopdiag backup`` / ``coopdiag restore``: a round trip on SQLite and PostgreSQL that
compares every row of every table, and the refusals that leave the database untouched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, select, text, update

from app.cooperatives.models import Cooperative
from app.db import make_engine, make_sessionmaker
from app.models import Base
from app.responses.models import ResponseEvent

ROOT = Path(__file__).resolve().parents[1]


def every_row(database_url: str) -> dict[str, list[tuple]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = {
                table.name: [
                    tuple(row) for row in connection.execute(select(table).order_by(*table.primary_key.columns))
                ]
                for table in Base.metadata.sorted_tables
            }
            rows["alembic_version"] = [
                tuple(r) for r in connection.execute(text("SELECT version_num FROM alembic_version"))
            ]
    finally:
        engine.dispose()
    return rows


def cli(*args: str, database_url: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COOPDIAG_DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )


def test_backup_and_restore_round_trip_every_row(migrated_db_url, tmp_path):
    from app.demo import load_demo
    from app.settings import Settings

    settings = Settings(database_url=migrated_db_url, questionnaires_dir=ROOT / "questionnaires")
    engine = make_engine(migrated_db_url)
    with make_sessionmaker(engine)() as session:
        load_demo(session=session, settings=settings)
        session.commit()
    before = every_row(migrated_db_url)
    assert len(before["cooperatives"]) == 30 and before["response_events"]

    made = cli("backup", str(tmp_path / "respaldo.bin"), database_url=migrated_db_url, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert "Respaldo guardado" in made.stderr and not list(tmp_path.glob(".*partial"))

    with make_sessionmaker(engine)() as session:  # damage: lose history, rename, add
        session.execute(ResponseEvent.__table__.delete())
        session.execute(update(Cooperative).values(name="cambiado"))
        session.add(Cooperative(rut="76086428-5", name="Nueva después del respaldo", legal_type="otra", region_code=5))
        session.commit()
    assert every_row(migrated_db_url) != before

    refused = cli("restore", str(tmp_path / "respaldo.bin"), database_url=migrated_db_url, cwd=tmp_path)
    assert refused.returncode == 2 and "--yes" in refused.stderr
    (tmp_path / "otro.txt").write_text("no soy un respaldo")
    wrong = cli("restore", str(tmp_path / "otro.txt"), "--yes", database_url=migrated_db_url, cwd=tmp_path)
    assert wrong.returncode == 1 and "no es un respaldo" in wrong.stderr and "Traceback" not in wrong.stderr

    restored = cli("restore", str(tmp_path / "respaldo.bin"), "--yes", database_url=migrated_db_url, cwd=tmp_path)
    assert restored.returncode == 0, restored.stderr
    engine.dispose()
    assert every_row(migrated_db_url) == before
