"""``coopdiag backup`` / ``coopdiag restore``: a round trip on SQLite and PostgreSQL that
compares every row of every table, and the refusals that leave the database untouched: another
application's dump or database, random bytes, a truncated or damaged backup, a forged or newer
manifest (issue 14.6)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

from sqlalchemy import create_engine, select, text, update
from sqlalchemy.engine import make_url

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
    assert "Respaldo guardado" in made.stderr and not list(tmp_path.glob(".*"))
    with zipfile.ZipFile(tmp_path / "respaldo.bin") as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["application"] == "coopdiag" and manifest["format"] == 1
    assert manifest["schema_revision"] == before["alembic_version"][0][0]
    assert manifest["tables"]["cooperatives"] == 30
    assert manifest["tables"]["response_events"] == len(before["response_events"])

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
    assert "las mismas que registra el respaldo" in restored.stderr
    engine.dispose()
    assert every_row(migrated_db_url) == before


# --------------------------------------------------------------------------- refusals (issue 14.6)


def _loaded_backup(migrated_db_url: str, tmp_path: Path) -> tuple[Path, dict[str, list[tuple]]]:
    """A database with a few rows, its backup, and every row as it is."""
    engine = make_engine(migrated_db_url)
    with make_sessionmaker(engine)() as session:
        session.add(Cooperative(rut="76086428-5", name="Cooperativa Respaldada", legal_type="otra", region_code=5))
        session.commit()
    engine.dispose()
    made = cli("backup", str(tmp_path / "bueno.zip"), database_url=migrated_db_url, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    return tmp_path / "bueno.zip", every_row(migrated_db_url)


def _other_application_file(migrated_db_url: str, tmp_path: Path) -> Path:
    """What another application's backup looks like: a table called like ours (response_events),
    as a PostgreSQL custom dump or an SQLite database."""
    if migrated_db_url.startswith("sqlite"):
        other = tmp_path / "otra-app.db"
        engine = create_engine(f"sqlite:///{other}")
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE response_events (id INTEGER PRIMARY KEY, payload TEXT)"))
            connection.execute(text("INSERT INTO response_events (payload) VALUES ('de otra aplicación')"))
        engine.dispose()
        return other
    schema = f"otra_{uuid.uuid4().hex[:12]}"
    base = make_url(migrated_db_url).difference_update_query(["options"])
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    dump = tmp_path / "otra-app.dump"
    try:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            connection.execute(text(f'CREATE TABLE "{schema}".response_events (id serial PRIMARY KEY, payload text)'))
            connection.execute(text(f"INSERT INTO \"{schema}\".response_events (payload) VALUES ('otra')"))
        uri = base.set(drivername="postgresql").render_as_string(hide_password=False)
        subprocess.run(
            ["pg_dump", "--format=custom", f"--schema={schema}", f"--file={dump}", f"--dbname={uri}"], check=True
        )
    finally:
        with engine.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
    return dump


def _rezip(source: Path, target: Path, change) -> Path:
    """A copy of a backup whose manifest went through ``change`` (a forged file, CRCs right)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        manifest = json.loads(old.read("manifest.json"))
        change(manifest)
        new.writestr("manifest.json", json.dumps(manifest))
        for name in old.namelist():
            if name != "manifest.json":
                new.writestr(name, old.read(name))
    return target


def test_restore_refuses_anything_but_a_whole_coopdiag_backup(migrated_db_url, tmp_path):
    good, before = _loaded_backup(migrated_db_url, tmp_path)
    content = good.read_bytes()

    truncated = tmp_path / "cortado.zip"
    truncated.write_bytes(content[: len(content) // 2])
    damaged = tmp_path / "dañado.zip"
    middle = len(content) // 2
    damaged.write_bytes(
        content[:middle] + bytes(b ^ 0x5A for b in content[middle : middle + 64]) + content[middle + 64 :]
    )
    noise = tmp_path / "ruido.bin"
    noise.write_bytes(os.urandom(200_000))
    other_app = _other_application_file(migrated_db_url, tmp_path)
    foreign_manifest = _rezip(good, tmp_path / "ajeno.zip", lambda m: m.update(application="otra-app"))
    newer = _rezip(good, tmp_path / "nuevo.zip", lambda m: m.update(schema_revision="ffffffffffff"))

    cases = [
        (other_app, "no es un respaldo de coopdiag"),
        (truncated, "incompleto o dañado"),
        (damaged, "incompleto o dañado"),
        (noise, "no es un respaldo de coopdiag"),
        (foreign_manifest, "otra aplicación"),
        (newer, "versión más nueva"),
    ]
    for path, message in cases:
        refused = cli("restore", str(path), "--yes", database_url=migrated_db_url, cwd=tmp_path)
        assert refused.returncode != 0, (path, refused.stderr)
        assert message in refused.stderr, (path, refused.stderr)
        assert "No se modificó la base de datos" in refused.stderr
        assert "Traceback" not in refused.stderr and "código -" not in refused.stderr
        assert every_row(migrated_db_url) == before, path

    # The real one still round-trips after all that.
    restored = cli("restore", str(good), "--yes", database_url=migrated_db_url, cwd=tmp_path)
    assert restored.returncode == 0, restored.stderr
    assert every_row(migrated_db_url) == before


def test_restore_checks_the_row_counts_against_the_manifest(migrated_db_url, tmp_path):
    good, before = _loaded_backup(migrated_db_url, tmp_path)
    lying = _rezip(good, tmp_path / "miente.zip", lambda m: m["tables"].update(cooperatives=999))
    refused = cli("restore", str(lying), "--yes", database_url=migrated_db_url, cwd=tmp_path)
    assert refused.returncode != 0 and "cooperatives" in refused.stderr and "999" in refused.stderr
    if migrated_db_url.startswith("sqlite"):  # checked in the copy, before the live database
        assert every_row(migrated_db_url) == before


def test_a_plain_dump_of_coopdiag_itself_is_refused_for_lack_of_a_manifest(migrated_db_url, tmp_path):
    """The old format (a bare .db copy or pg_dump -Fc) carries no manifest: refused, untouched."""
    good, before = _loaded_backup(migrated_db_url, tmp_path)
    with zipfile.ZipFile(good) as archive:
        name = next(n for n in archive.namelist() if n != "manifest.json")
        bare = tmp_path / name
        bare.write_bytes(archive.read(name))
    refused = cli("restore", str(bare), "--yes", database_url=migrated_db_url, cwd=tmp_path)
    assert refused.returncode != 0 and "sin el manifiesto" in refused.stderr
    assert every_row(migrated_db_url) == before
