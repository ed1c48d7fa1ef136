"""The task queue: slow work (PDF reports, e-mails) runs on workers, never in a request.

The queue is huey (https://huey.readthedocs.io), chosen because it is maintained, small and
speaks the three brokers this project needs with one API (docs/architecture.md argues it):

- ``COOPDIAG_QUEUE_URL`` empty (the default): an SQLite file beside the database,
  ``var/cola.sqlite3``; ``make run`` starts one worker beside the web server, no other server;
- ``redis://host:6379/0``: Redis, workers on as many machines as needed (production);
- ``postgresql://user@host/db``: PostgreSQL, the same without another service; huey's tables
  are ``huey_task``, ``huey_kv``…, or with ``?table_prefix=name`` ``name_task``, ``name_kv``…
  (two installations sharing one database; the tests);
- ``immediate``: a task runs in the process that queues it, at once (tests, one-off scripts).

A task is queued only once the unit of work that asked for it has committed
(``UnitOfWork.after_commit``), so a worker never looks for a row that is not there yet. What a
task must not lose is also written in the database in that same transaction (a report
``queued``, an e-mail in the outbox): if the process dies between the commit and the queueing,
or a worker dies mid-task (huey removes a task from the queue when a worker takes it), the
periodic sweep (``app.tasks.sweep``) queues it again.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from huey import Huey
from huey.storage import PostgresStorage, RedisStorage, SqliteStorage
from sqlalchemy.engine import make_url

from app.settings import PROJECT_ROOT, Settings, get_settings

logger = logging.getLogger("coopdiag.queue")

#: The one queue of the application. Tasks are declared on it at import time
#: (``app/tasks.py``); ``configure`` points it at the broker of the settings (until then it
#: holds nothing: importing the app opens no file and no connection).
huey = Huey("coopdiag", immediate=True)

_configured: Settings | None = None


def broker_of(settings: Settings) -> tuple[str, type | None, dict[str, Any]]:
    """(kind, huey storage class, its arguments) for the settings' queue URL."""
    url = settings.queue_url.strip()
    if url == "immediate":
        return "immediate", None, {}
    if not url:
        # Beside an SQLite database file, else under the project's var/.
        database = make_url(settings.database_url)
        folder = PROJECT_ROOT / "var"
        if database.get_backend_name() == "sqlite" and database.database not in (None, "", ":memory:"):
            folder = Path(database.database).expanduser().resolve().parent
        return "sqlite", SqliteStorage, {"filename": str(folder / "cola.sqlite3")}
    scheme = urlsplit(url).scheme
    if scheme in ("redis", "rediss", "unix"):
        return "redis", RedisStorage, {"url": url}
    if scheme in ("postgresql", "postgres"):
        return "postgresql", PostgresStorage, _postgres_arguments(url)
    if scheme == "sqlite":
        # As SQLAlchemy reads it: sqlite:///relativo.sqlite3, sqlite:////ruta/absoluta.sqlite3.
        return "sqlite", SqliteStorage, {"filename": make_url(url).database or "cola.sqlite3"}
    raise ValueError(
        f"COOPDIAG_QUEUE_URL: no se reconoce «{url}» (use redis://, postgresql://, sqlite:/// o immediate)"
    )


def _postgres_arguments(url: str) -> dict[str, Any]:
    """huey's PostgresStorage arguments for a ``postgresql://`` queue URL: its ``table_prefix``
    parameter (which libpq would refuse) taken out of the DSN and passed on its own."""
    parts = urlsplit(url)
    pieces = parts.query.split("&") if parts.query else []
    prefixes = [unquote(piece.partition("=")[2]) for piece in pieces if piece.partition("=")[0] == "table_prefix"]
    if not prefixes:
        return {"dsn": url}
    prefix = prefixes[-1]
    # huey names its tables and indexes after it (``{prefix}_schedule_queue_timestamp``):
    # PostgreSQL's 63-byte names leave 38 for the prefix.
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,37}", prefix):
        raise ValueError(
            f"COOPDIAG_QUEUE_URL: table_prefix «{prefix}» no sirve "
            "(use hasta 38 letras a-z, dígitos o _, empezando por una letra)"
        )
    query = "&".join(piece for piece in pieces if piece.partition("=")[0] != "table_prefix")
    return {"dsn": parts._replace(query=query).geturl(), "table_prefix": prefix}


def configure(settings: Settings) -> None:
    """Point the queue at the settings' broker; the tasks then use these settings."""
    global _configured
    kind, storage_class, arguments = broker_of(settings)
    if kind == "immediate":
        huey.immediate = True
    else:
        if storage_class is SqliteStorage:
            Path(arguments["filename"]).parent.mkdir(parents=True, exist_ok=True)
        huey.storage_class = storage_class
        huey.storage_kwargs = arguments
        if huey.immediate:
            huey.immediate = False  # the setter makes the storage
        else:
            huey.storage = huey.create_storage()
    _configured = settings


def task_settings() -> Settings:
    """The settings the running tasks work with: those of ``configure``, else the environment's."""
    return _configured or get_settings()


def enqueue(task: Any, *args: Any) -> None:
    """Queue ``task(*args)``; a broker that does not answer is logged, not raised: the
    database still says the work is pending and the periodic sweep queues it again."""
    if _configured is None:  # a command line script: the environment's broker
        configure(get_settings())
    try:
        task(*args)
    except Exception:
        logger.exception("No se pudo encolar %s%r; el barrido periódico lo reintentará", task.name, args)
