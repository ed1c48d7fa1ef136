"""Sending the outbox (``app/notifications/models.py``) on the task queue.

``send_email(email_id)`` claims the row atomically (of two workers given the same message only
one sends it), sends it through the settings' backend, then records it sent. A failure records
the error, releases the claim and raises, so that huey retries it later (with a growing
delay); a worker that dies mid-send leaves a claim that expires after ``CLAIM_TIMEOUT``, and
the periodic sweep (``app.tasks.sweep`` → ``requeue_pending``) queues the message again. A
failure also sets ``retry_at``, the moment of the next retry: the sweep leaves the message to
huey's retries until then, and after the last one keeps trying it (one attempt at a time, at
most once an hour), so an SMTP server down for a day delays the mail and loses none.

A message is sent at least once; the rare one sent twice (a worker killed between the SMTP
server's acceptance and the commit of ``sent_at``) keeps its ``Message-ID``, so mail clients
show it once.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy import or_, select, update

from app import db
from app.notifications.models import OutboxEmail
from app.queue import enqueue, huey, task_settings
from app.settings import Settings

logger = logging.getLogger("coopdiag.email")

#: A claim older than this is a worker that died: the message may be taken again.
CLAIM_TIMEOUT = timedelta(minutes=5)
#: Retries after a failure: 30 s, 1, 2, 4… minutes (about 4 h in all), then the sweep's turn.
RETRIES = 9
RETRY_DELAY = 30
RETRY_BACKOFF = 2
#: The longest wait between two attempts the sweep makes.
MAX_RETRY_DELAY = timedelta(hours=1)
SMTP_TIMEOUT = 30
MAX_ERROR = 2000


@dataclass(frozen=True)
class Outgoing:
    """What is sent of a row, read while it is claimed."""

    id: int
    to: str
    subject: str
    body: str
    message_id: str
    created_at: datetime


def build_message(settings: Settings, email: Outgoing) -> EmailMessage:
    message = EmailMessage()
    message["Message-ID"] = email.message_id
    message["Date"] = format_datetime(email.created_at)
    message["From"] = settings.email_sender
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(email.body, charset="utf-8")
    return message


def deliver(settings: Settings, message: EmailMessage) -> None:
    """Hand the message to the settings' backend (raises when it is not accepted)."""
    if settings.email_backend == "console":
        text = message.as_string()
        sys.stdout.write(f"----- correo (COOPDIAG_EMAIL_BACKEND=console) -----\n{text}\n-----\n")
        sys.stdout.flush()
        logger.info("Correo %s a %s escrito en la consola", message["Message-ID"], message["To"])
        return
    password = settings.smtp_password.get_secret_value()
    smtp: smtplib.SMTP
    if settings.smtp_tls == "ssl":
        smtp = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT, context=ssl.create_default_context()
        )
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT)
    with smtp:
        if settings.smtp_tls == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            smtp.login(settings.smtp_username, password)
        smtp.send_message(message)


def _claim(session, email_id: int, now: datetime) -> bool:
    claimed = session.execute(
        update(OutboxEmail)
        .where(
            OutboxEmail.id == email_id,
            OutboxEmail.sent_at.is_(None),
            or_(OutboxEmail.claimed_at.is_(None), OutboxEmail.claimed_at < now - CLAIM_TIMEOUT),
        )
        .values(claimed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    return claimed == 1


def send_now(email_id: int, settings: Settings | None = None) -> bool:
    """Send one message of the outbox unless it is sent or another worker holds it; True when
    this call sent it. Raises (after recording the error) when the backend refuses it."""
    settings = settings or task_settings()
    now = db.utcnow()
    with db.session_scope(settings.database_url) as session:
        if not _claim(session, email_id, now):
            return False
        row = session.get(OutboxEmail, email_id)
        assert row is not None
        email = Outgoing(row.id, row.to_address, row.subject, row.body, row.message_id, row.created_at)
    mine = (OutboxEmail.id == email_id) & (OutboxEmail.claimed_at == now)
    attempts = row.attempts or 0
    try:
        deliver(settings, build_message(settings, email))
    except Exception as error:
        logger.warning("No se pudo enviar el correo %s a %s: %s", email.message_id, email.to, error)
        with db.session_scope(settings.database_url) as session:
            session.execute(
                update(OutboxEmail)
                .where(mine)
                .values(
                    claimed_at=None,
                    retry_at=db.utcnow() + retry_delay(attempts + 1),
                    attempts=OutboxEmail.attempts + 1,
                    last_error=f"{type(error).__name__}: {error}"[:MAX_ERROR],
                )
                .execution_options(synchronize_session=False)
            )
        raise
    with db.session_scope(settings.database_url) as session:
        session.execute(
            update(OutboxEmail)
            .where(OutboxEmail.id == email_id)
            .values(sent_at=db.utcnow(), attempts=OutboxEmail.attempts + 1, last_error=None, retry_at=None)
            .execution_options(synchronize_session=False)
        )
    return True


def retry_delay(failures: int) -> timedelta:
    """The wait after the n-th failure, as huey's retries wait (30 s, 1, 2, 4… min), at most
    ``MAX_RETRY_DELAY``."""
    seconds = RETRY_DELAY * RETRY_BACKOFF ** min(max(failures - 1, 0), 16)
    return min(timedelta(seconds=seconds), MAX_RETRY_DELAY)


@huey.task(retries=RETRIES, retry_delay=RETRY_DELAY, retry_backoff=RETRY_BACKOFF, name="send_email")
def send_email(email_id: int) -> None:
    """The queue's task: send one message of the outbox (see ``send_now``); retried on failure."""
    send_now(email_id)


@huey.task(name="send_email_again")
def send_email_again(email_id: int) -> None:
    """The sweep's attempt: one try, no retries of its own (a failure sets ``retry_at`` and the
    next sweep after it tries again), so a long outage never piles up chains of retries."""
    send_now(email_id)


def pending_ids(settings: Settings, now: datetime | None = None) -> list[int]:
    """Messages not sent that no live worker holds (never claimed, or claimed longer than
    ``CLAIM_TIMEOUT`` ago) and whose next retry, after a failure, is due."""
    now = now or db.utcnow()
    with db.session_scope(settings.database_url) as session:
        return list(
            session.scalars(
                select(OutboxEmail.id)
                .where(
                    OutboxEmail.sent_at.is_(None),
                    or_(OutboxEmail.claimed_at.is_(None), OutboxEmail.claimed_at < now - CLAIM_TIMEOUT),
                    or_(OutboxEmail.retry_at.is_(None), OutboxEmail.retry_at <= now),
                )
                .order_by(OutboxEmail.id)
            )
        )


def requeue_pending(now: datetime | None = None) -> int:
    """Queue again every message not sent, not held and due (the sweep, every minute);
    returns how many. One queued twice (a retry of huey's due at the same moment) is sent once:
    the claim makes the second a no-op."""
    ids = pending_ids(task_settings(), now)
    for email_id in ids:
        enqueue(send_email_again, email_id)
    return len(ids)
