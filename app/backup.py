"""Backups of the coopdiag database and their restoration.

SQLite: the online backup API (a consistent copy while the app keeps serving, WAL included).
PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore --clean``; when the URL pins a
``search_path`` (one schema per installation or per test), only that schema is dumped and
restored. Restoring replaces the whole content of the target database.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import unquote

from sqlalchemy.engine import make_url

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"


class BackupError(Exception):
    """A backup or restore that could not be done; the message is for the operator (Spanish)."""


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


def _run(command: list[str], what: str) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    except FileNotFoundError:
        raise BackupError(
            f"no se encontró «{command[0]}»; instale el cliente de PostgreSQL (postgresql-client)"
        ) from None
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f"{what} falló: {detail[-1] if detail else f'código {done.returncode}'}")


def backup(*, database_url: str, target: Path) -> Path:
    """Write a backup of the database to ``target`` (replaced only once the copy is complete)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, partial_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    os.close(fd)
    partial = Path(partial_name)
    try:
        source_path = _sqlite_path(database_url)
        if source_path is not None:
            if not source_path.exists():
                raise BackupError(f"no existe la base de datos {source_path}")
            source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
            copy = sqlite3.connect(partial)
            try:
                source.backup(copy)
            finally:
                copy.close()
                source.close()
        else:
            uri, schema = _libpq(database_url)
            command = ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={partial}"]
            if schema:
                command.append(f"--schema={schema}")
            _run([*command, f"--dbname={uri}"], "pg_dump")
        partial.replace(target)
    except sqlite3.Error as error:
        raise BackupError(f"no se pudo copiar la base SQLite: {error}") from None
    finally:
        partial.unlink(missing_ok=True)
    return target


def restore(*, database_url: str, source: Path) -> None:
    """Replace the database's content with a backup made by :func:`backup`."""
    source = Path(source)
    try:
        head = source.open("rb").read(16)
    except OSError as error:
        raise BackupError(f"no se puede leer {source}: {error.strerror}") from None
    target_path = _sqlite_path(database_url)
    if target_path is not None:
        if not head.startswith(SQLITE_MAGIC):
            raise BackupError(f"{source} no es un respaldo de una base SQLite de coopdiag")
        try:
            backup_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
            if backup_db.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError(f"el respaldo {source} está dañado (PRAGMA integrity_check)")
            target_path.parent.mkdir(parents=True, exist_ok=True)
            live = sqlite3.connect(target_path)
            try:
                backup_db.backup(live)  # page by page, in one transaction on the target
            finally:
                live.close()
                backup_db.close()
        except sqlite3.Error as error:
            raise BackupError(f"no se pudo restaurar la base SQLite: {error}") from None
        return
    if not head.startswith(PG_MAGIC):
        raise BackupError(f"{source} no es un respaldo de PostgreSQL hecho con «coopdiag backup» (pg_dump -Fc)")
    uri, schema = _libpq(database_url)
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
    _run([*command, str(source)], "pg_restore")
