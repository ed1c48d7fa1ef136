"""Every task of the queue (``app/queue.py``), imported by the worker so that it knows them,
and the periodic sweep that queues again the work a crash may have dropped."""

from __future__ import annotations

from huey import crontab

from app import db
from app.notifications import tasks as email_tasks
from app.observatory import tasks as observatory_tasks
from app.queue import huey
from app.reports import tasks as report_tasks

__all__ = ["email_tasks", "observatory_tasks", "report_tasks", "sweep"]


@huey.on_startup()
def fresh_database_connections() -> None:
    """A worker process forked from the consumer opens its own connections."""
    db.forget_engines()


@huey.periodic_task(crontab(minute="*"))
def sweep() -> None:
    """Every minute: reports still queued or stuck rendering (a worker killed mid-task),
    e-mails not sent and the Observatorio's due figures are queued again. Idempotent: running it on several workers is harmless."""
    report_tasks.requeue_pending()
    email_tasks.requeue_pending()
    observatory_tasks.requeue_due()
