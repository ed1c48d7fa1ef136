"""Queue an e-mail: a row of the outbox written in the caller's unit of work, sent by a worker
once that work is committed (never when it is rolled back: the row goes with it)."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from app import queue
from app.notifications.models import OutboxEmail
from app.notifications.tasks import send_email
from app.unit_of_work import after_commit

MAX_SUBJECT = 300


def new_message_id() -> str:
    """The Message-ID header, fixed when the message is written: a message sent twice (a
    worker that died after sending, before recording it) is one message for mail clients."""
    return f"<{uuid.uuid4().hex}@coopdiag>"


def queue_email(session: Session, *, kind: str, to: str, subject: str, body: str) -> OutboxEmail:
    """Write the message in the outbox (same transaction as the change it tells about) and
    send it once that transaction commits."""
    subject = " ".join(subject.split())[:MAX_SUBJECT]
    email = OutboxEmail(kind=kind, to_address=to, subject=subject, body=body, message_id=new_message_id(), attempts=0)
    session.add(email)
    session.flush()
    email_id = email.id
    after_commit(session, lambda: queue.enqueue(send_email, email_id))
    return email
