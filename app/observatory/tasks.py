"""Computing a published round's figures on the task queue (never in a public request).

``refresh_figures`` is queued by ``publishing`` once a change commits; it computes only when
the round's figures are due (several validations in a row queue several tasks: the first
does the work, the others find nothing due). The periodic sweep queues what a lost task left
due.
"""

from __future__ import annotations

import logging

from app.db import session_scope, utcnow
from app.observatory import service
from app.queue import enqueue, huey, task_settings

logger = logging.getLogger("coopdiag.observatory")


@huey.task(retries=3, retry_delay=10, retry_backoff=2)
def refresh_figures(round_id: int) -> None:
    compute_and_store(round_id)


def compute_and_store(round_id: int) -> str:
    """Compute and store one round's figures if they are due: ``stored``, ``current`` or
    ``withdrawn`` (the round left the Observatorio before the figures were stored)."""
    settings = task_settings()
    started = utcnow()
    with session_scope(settings.database_url) as session:  # read only
        if not service.is_due(session, round_id):
            return "current"
        document = service.compute_figures(session, settings, round_id)
    text, etag = service.encode(document)
    with session_scope(settings.database_url) as session:
        stored = service.store_figures(session, round_id, computed_from=started, text=text, etag=etag)
    logger.info("Cifras del Observatorio de la ronda %s: %s", round_id, "guardadas" if stored else "ronda retirada")
    return "stored" if stored else "withdrawn"


def requeue_due() -> list[int]:
    """Queue every published round whose figures are due (the periodic sweep)."""
    settings = task_settings()
    with session_scope(settings.database_url) as session:
        due = service.due_rounds(session)
    for round_id in due:
        enqueue(refresh_figures, round_id)
    return due


__all__ = ["compute_and_store", "refresh_figures", "requeue_due"]
