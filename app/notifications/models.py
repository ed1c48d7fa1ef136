"""The e-mail outbox: a message is a row written in the same transaction as the change it
tells about (an invitation, a returned or validated diagnosis, a password reset), then sent by
a worker. A crash before sending leaves the row unsent (the sweep queues it again); the
``message_id`` header is stable, so a message sent twice after a crash mid-send is recognised
as one by mail clients."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class OutboxEmail(Base):
    __tablename__ = "outbox_emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What it is about: invitation, password_reset, response_returned, response_validated…
    kind: Mapped[str] = mapped_column(String(40), index=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Set by the worker that takes it; a claim older than a few minutes is taken again.
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    #: After a failed attempt: not before this moment (the sweep leaves it to the retries until then).
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
