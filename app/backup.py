"""Backups of the coopdiag database and their restoration, checked before anything changes.

A backup is one ZIP file holding two members:

- ``manifest.json``: ``{"application": "coopdiag", "format": 1, "backend": "sqlite" |
  "postgresql", "schema_revision": <Alembic revision>, "created_at", "tables": {name: rows},
  "data": {"name", "size", "sha256"}}``;
- the data: ``database.sqlite`` (an SQLite online-backup copy, WAL included) or
  ``database.dump`` (``pg_dump --format=custom``; when the URL pins a ``search_path``, only that
  schema). On PostgreSQL the row counts and the dump come from the same exported snapshot
  (``pg_dump --snapshot``), so they agree even while the app keeps writing.

``restore`` refuses, before touching the database, anything that is not such a file: another
application's dump or database, random bytes, a truncated or damaged file (the ZIP's CRCs, the
data's SHA-256, ``PRAGMA integrity_check`` / ``pg_restore --list``), a backup of the other
backend, and one whose schema revision this code does not know (made by a newer coopdiag).
After restoring it compares every table's row count with the manifest. Messages are for the
operator, in Spanish.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, make_url

APPLICATION = "coopdiag"
FORMAT = 1
MANIFEST = "manifest.json"
DATA_NAMES = {"sqlite": "database.sqlite", "postgresql": "database.dump"}
SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"
ZIP_MAGIC = b"PK\x03\x04"
#: The largest manifest read (a real one is a few kilobytes).
MAX_MANIFEST_BYTES = 1_000_000


class BackupError(Exception):
    """A backup or restore that could not be done; the message is for the operator (Spanish)."""


@dataclass(frozen=True)
class Restored:
    """What a restore put back: the schema revision of the backup and whether the code's
    migrations go further (then ``coopdiag db upgrade`` brings the database up to date)."""

    schema_revision: str
    needs_upgrade: bool
    tables: int
    rows: int


# --------------------------------------------------------------------------- helpers


def _backend(database_url: str) -> str:
    name = make_url(database_url).get_backend_name()
    if name not in DATA_NAMES:
        raise BackupError(f"no se saben respaldar bases «{name}» (solo SQLite y PostgreSQL)")
    return name


def _sqlite_path(database_url: str) -> Path | None:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise BackupError("la base SQLite en memoria no se puede respaldar")
    return Path(url.database)


def _libpq(database_url: str) -> tuple[str, str | None]:
    """A libpq connection URI for pg_dump/pg_restore, and the schema pinned by the URL's
    ``options=-csearch_path=...`` (None: the whole database)."""
    url = make_url(database_url)
    options = unquote(str(url.query.get("options", "")))
    schema = None
    for part in options.split():
        if part.startswith("-csearch_path="):
            schema = part.split("=", 1)[1].split(",")[0].strip() or None
    plain = url.set(drivername="postgresql").difference_update_query(["options"])
    return plain.render_as_string(hide_password=False), schema


def _run(command: list[str], what: str) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    except FileNotFoundError:
        raise BackupError(
            f"no se encontró «{command[0]}»; instale el cliente de PostgreSQL (postgresql-client)"
        ) from None
    if done.returncode < 0:
        raise BackupError(f"{what} se interrumpió (señal {-done.returncode}); no se completó")
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f"{what} falló: {detail[-1] if detail else f'código {done.returncode}'}")
    return done.stdout


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def known_revisions(database_url: str) -> tuple[set[str], set[str]]:
    """(every schema revision this code's migrations know, the heads)."""
    from alembic.script import ScriptDirectory

    from app.db import alembic_config

    script = ScriptDirectory.from_config(alembic_config(database_url))
    return {revision.revision for revision in script.walk_revisions()}, set(script.get_heads())


def _sqlite_tables(connection: sqlite3.Connection) -> dict[str, int]:
    names = [
        row[0]
        for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
        )
    ]
    return {
        name: connection.execute(f'SELECT count(*) FROM "{name.replace(chr(34), chr(34) * 2)}"').fetchone()[0]
        for name in names
    }


def _sqlite_revision(connection: sqlite3.Connection) -> str | None:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def _pg_tables(connection: Connection) -> dict[str, int]:
    quote = connection.dialect.identifier_preparer.quote
    names = connection.execute(
        text(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
            "AND table_type = 'BASE TABLE' ORDER BY table_name"
        )
    ).scalars()
    return {name: connection.execute(text(f"SELECT count(*) FROM {quote(name)}")).scalar_one() for name in list(names)}


def _pg_revision(connection: Connection) -> str | None:
    exists = connection.execute(
        text(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() "
            "AND table_name = 'alembic_version'"
        )
    ).first()
    if exists is None:
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _not_migrated() -> BackupError:
    return BackupError("la base de datos no tiene el esquema de coopdiag; ejecute «coopdiag db upgrade» primero")


# --------------------------------------------------------------------------- backup


def backup(*, database_url: str, target: Path) -> Path:
    """Write a backup of the database to ``target`` (replaced only once the copy is complete)."""
    backend = _backend(database_url)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}.") as work_name:
        work = Path(work_name)
        data = work / DATA_NAMES[backend]
        if backend == "sqlite":
            tables, revision = _backup_sqlite(database_url, data)
        else:
            tables, revision = _backup_postgresql(database_url, data)
        manifest = {
            "application": APPLICATION,
            "format": FORMAT,
            "backend": backend,
            "schema_revision": revision,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "tables": tables,
            "data": {"name": data.name, "size": data.stat().st_size, "sha256": _sha256(data)},
        }
        partial = work / "backup.zip.partial"
        compression = zipfile.ZIP_DEFLATED if backend == "sqlite" else zipfile.ZIP_STORED  # a dump is compressed
        with zipfile.ZipFile(partial, "w", compression=compression, allowZip64=True) as archive:
            archive.writestr(MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
            archive.write(data, data.name)
        with partial.open("rb") as stream:
            os.fsync(stream.fileno())
        partial.replace(target)
    return target


def _backup_sqlite(database_url: str, data: Path) -> tuple[dict[str, int], str]:
    source_path = _sqlite_path(database_url)
    assert source_path is not None
    if not source_path.exists():
        raise BackupError(f"no existe la base de datos {source_path}")
    try:
        source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
        copy = sqlite3.connect(data)
        try:
            source.backup(copy)
            revision = _sqlite_revision(copy)
            if revision is None:
                raise _not_migrated()
            tables = _sqlite_tables(copy)
        finally:
            copy.close()
            source.close()
    except sqlite3.Error as error:
        raise BackupError(f"no se pudo copiar la base SQLite: {error}") from None
    return tables, revision


def _backup_postgresql(database_url: str, data: Path) -> tuple[dict[str, int], str]:
    uri, schema = _libpq(database_url)
    engine = create_engine(database_url)
    try:
        # One snapshot for the counts and the dump: they describe the same moment.
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection:
            connection.execute(text("SET TRANSACTION READ ONLY"))
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            revision = _pg_revision(connection)
            if revision is None:
                raise _not_migrated()
            tables = _pg_tables(connection)
            command = [
                "pg_dump",
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--snapshot={snapshot}",
                f"--file={data}",
            ]
            if schema:
                command.append(f"--schema={schema}")
            _run([*command, f"--dbname={uri}"], "pg_dump")
            connection.rollback()
    finally:
        engine.dispose()
    return tables, revision


# --------------------------------------------------------------------------- reading a backup


def _not_a_backup(source: Path, why: str) -> BackupError:
    return BackupError(f"{source} no es un respaldo de coopdiag: {why}. No se modificó la base de datos")


def _damaged(source: Path, why: str) -> BackupError:
    return BackupError(
        f"el respaldo {source} está incompleto o dañado ({why}); use otra copia. No se modificó la base de datos"
    )


def read_manifest(source: Path) -> dict[str, Any]:
    """The manifest of a backup file, after checking that the file is whole (every member's
    CRC); BackupError for anything else."""
    source = Path(source)
    try:
        with source.open("rb") as stream:
            head = stream.read(16)
    except OSError as error:
        raise BackupError(f"no se puede leer {source}: {error.strerror}") from None
    if not zipfile.is_zipfile(source):
        if head.startswith(PG_MAGIC):
            raise _not_a_backup(source, "es un volcado de PostgreSQL sin el manifiesto de «coopdiag backup»")
        if head.startswith(SQLITE_MAGIC):
            raise _not_a_backup(source, "es una base SQLite sin el manifiesto de «coopdiag backup»")
        if head.startswith(ZIP_MAGIC):
            raise _damaged(source, "el archivo ZIP está cortado: falta su índice final")
        raise _not_a_backup(source, "no es un archivo hecho con «coopdiag backup»")
    try:
        with zipfile.ZipFile(source) as archive:
            names = archive.namelist()
            if MANIFEST not in names:
                raise _not_a_backup(source, f"no contiene {MANIFEST}")
            if archive.getinfo(MANIFEST).file_size > MAX_MANIFEST_BYTES:
                raise _not_a_backup(source, f"su {MANIFEST} es demasiado grande")
            bad = archive.testzip()
            if bad is not None:
                raise _damaged(source, f"«{bad}» no coincide con su suma de verificación")
            raw = archive.read(MANIFEST)
    except BackupError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, ValueError) as error:
        raise _damaged(source, str(error) or type(error).__name__) from None
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _not_a_backup(source, f"su {MANIFEST} no es JSON válido") from None
    if not isinstance(manifest, dict) or manifest.get("application") != APPLICATION:
        raise _not_a_backup(source, "su manifiesto es de otra aplicación")
    if manifest.get("format") != FORMAT:
        raise BackupError(
            f"el respaldo {source} tiene el formato {manifest.get('format')!r}, que esta versión de coopdiag no "
            "conoce; restáurelo con la versión que lo hizo. No se modificó la base de datos"
        )
    data = manifest.get("data")
    tables = manifest.get("tables")
    if (
        manifest.get("backend") not in DATA_NAMES
        or not isinstance(manifest.get("schema_revision"), str)
        or not isinstance(tables, dict)
        or not all(isinstance(k, str) and isinstance(v, int) and v >= 0 for k, v in tables.items())
        or not isinstance(data, dict)
        or data.get("name") != DATA_NAMES[manifest["backend"]]
        or data["name"] not in names
        or not isinstance(data.get("sha256"), str)
    ):
        raise _not_a_backup(source, "su manifiesto está incompleto")
    return manifest


def _check_compatible(source: Path, manifest: dict[str, Any], database_url: str) -> bool:
    """Refuse a backup of the other backend or of a newer schema; True when the database will
    need ``coopdiag db upgrade`` after the restore."""
    backend = _backend(database_url)
    if manifest["backend"] != backend:
        names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
        raise BackupError(
            f"el respaldo {source} es de una base {names[manifest['backend']]} y la base configurada es "
            f"{names[backend]}. No se modificó la base de datos"
        )
    revisions, heads = known_revisions(database_url)
    revision = manifest["schema_revision"]
    if revision not in revisions:
        raise BackupError(
            f"el respaldo {source} es de un esquema («{revision}») que esta versión de coopdiag no conoce: "
            "lo hizo una versión más nueva. Actualice coopdiag antes de restaurarlo. No se modificó la base de datos"
        )
    return revision not in heads


def _extract_data(source: Path, manifest: dict[str, Any], into: Path) -> Path:
    name = manifest["data"]["name"]
    target = into / name
    try:
        with zipfile.ZipFile(source) as archive, archive.open(name) as stream, target.open("wb") as out:
            shutil.copyfileobj(stream, out, 1 << 20)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
        raise _damaged(source, str(error) or type(error).__name__) from None
    if _sha256(target) != manifest["data"]["sha256"]:
        raise _damaged(source, f"«{name}» no coincide con la suma SHA-256 del manifiesto")
    return target


def _count_mismatches(expected: dict[str, int], found: dict[str, int]) -> list[str]:
    problems = []
    for name, rows in sorted(expected.items()):
        if name not in found:
            problems.append(f"falta la tabla {name}")
        elif found[name] != rows:
            problems.append(f"{name}: {found[name]} filas, se esperaban {rows}")
    return problems


# --------------------------------------------------------------------------- restore


def restore(*, database_url: str, source: Path) -> Restored:
    """Replace the database's content with a backup made by :func:`backup`, once the file has
    been checked; then check every table's row count against the manifest."""
    source = Path(source)
    manifest = read_manifest(source)
    needs_upgrade = _check_compatible(source, manifest, database_url)
    expected: dict[str, int] = manifest["tables"]
    with tempfile.TemporaryDirectory(prefix="coopdiag-restaurar-") as work_name:
        data = _extract_data(source, manifest, Path(work_name))
        if manifest["backend"] == "sqlite":
            found = _restore_sqlite(database_url, source, data, manifest)
        else:
            found = _restore_postgresql(database_url, source, data, manifest)
    problems = _count_mismatches(expected, found)
    if problems:
        raise BackupError(
            "la base restaurada no coincide con el manifiesto del respaldo (" + "; ".join(problems) + "); "
            "revísela antes de usarla"
        )
    return Restored(
        schema_revision=manifest["schema_revision"],
        needs_upgrade=needs_upgrade,
        tables=len(expected),
        rows=sum(expected.values()),
    )


def _restore_sqlite(database_url: str, source: Path, data: Path, manifest: dict[str, Any]) -> dict[str, int]:
    target_path = _sqlite_path(database_url)
    assert target_path is not None
    try:
        copy = sqlite3.connect(f"file:{data}?mode=ro", uri=True)
        try:
            if copy.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise _damaged(source, "PRAGMA integrity_check")
            if _sqlite_revision(copy) != manifest["schema_revision"]:
                raise _damaged(source, "la revisión del esquema no es la del manifiesto")
            problems = _count_mismatches(manifest["tables"], _sqlite_tables(copy))
            if problems:
                raise _damaged(source, "; ".join(problems))
            target_path.parent.mkdir(parents=True, exist_ok=True)
            live = sqlite3.connect(target_path)
            try:
                copy.backup(live)  # page by page, in one transaction on the target
            finally:
                live.close()
        finally:
            copy.close()
        live = sqlite3.connect(f"file:{target_path}?mode=ro", uri=True)
        try:
            return _sqlite_tables(live)
        finally:
            live.close()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"no se pudo restaurar la base SQLite: {error}") from None


def _dump_tables(listing: str) -> set[str]:
    """The tables whose rows a ``pg_restore --list`` holds (its TABLE DATA entries)."""
    tables = set()
    for line in listing.splitlines():
        if line.startswith(";") or " TABLE DATA " not in line:
            continue
        # "216; 0 16390 TABLE DATA public cooperatives postgres" (owner may be absent)
        words = line.split(" TABLE DATA ", 1)[1].split()
        if len(words) >= 2:
            tables.add(words[1])
    return tables


def _restore_postgresql(database_url: str, source: Path, data: Path, manifest: dict[str, Any]) -> dict[str, int]:
    uri, schema = _libpq(database_url)
    try:
        listing = _run(["pg_restore", "--list", str(data)], "pg_restore --list")
    except BackupError:
        raise _damaged(source, "pg_restore no puede leer el volcado") from None
    missing = sorted(name for name, rows in manifest["tables"].items() if rows and name not in _dump_tables(listing))
    if missing:
        raise _damaged(source, "el volcado no tiene las filas de " + ", ".join(missing))
    command = [
        "pg_restore",
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
        f"--dbname={uri}",
    ]
    if schema:
        command.append(f"--schema={schema}")
    _run([*command, str(data)], "pg_restore")
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return _pg_tables(connection)
    finally:
        engine.dispose()
