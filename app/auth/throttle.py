"""Login throttling against password guessing.

Failed logins are counted per account (e-mail) and per client address in the database, so
every worker process sees the same counts. Past the limit, a login is refused with 429
before the password is even checked (no argon2 time spent, no oracle), until the oldest
failure in the window ages out. A successful login clears the account's failures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Index, String, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.db import Base, UTCDateTime
from app.errors import TooManyAttempts


class LoginFailure(Base):
    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(320))
    """``email:<normalised e-mail>`` or ``ip:<client address>``."""
    at: Mapped[datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class Limits:
    window: timedelta = timedelta(minutes=15)
    per_account: int = 5
    # Generous: a whole office or a university lab can share one public address.
    per_address: int = 50


LIMITS = Limits()


def keys_for(email: str, client_ip: str | None) -> list[tuple[str, int]]:
    keys = [(f"email:{email}", LIMITS.per_account)]
    if client_ip:
        keys.append((f"ip:{client_ip}", LIMITS.per_address))
    return keys


def check(*, session: Session, email: str, client_ip: str | None, now: datetime) -> int:
    """Refuse (429) while the account or the address has too many recent failures; else the
    account's recent failures (0 in the common case: then a login needs no write to clear them)."""
    since = now - LIMITS.window
    account_failures = 0
    for key, limit in keys_for(email, client_ip):
        count, oldest = session.execute(
            select(func.count(), func.min(LoginFailure.at)).where(LoginFailure.key == key, LoginFailure.at > since)
        ).one()
        if key.startswith("email:"):
            account_failures = count
        if count >= limit:
            wait = max(60, int((oldest + LIMITS.window - now).total_seconds()) + 1)
            minutes = -(-wait // 60)
            raise TooManyAttempts(
                "Demasiados intentos fallidos de inicio de sesión. Por seguridad, espere "
                f"{minutes} {'minuto' if minutes == 1 else 'minutos'} antes de volver a intentarlo.",
                retry_after=wait,
            )
    return account_failures


def record_failure(*, session: Session, email: str, client_ip: str | None, now: datetime) -> None:
    """Count a failed login (the caller commits it even though the login fails)."""
    for key, _ in keys_for(email, client_ip):
        session.execute(delete(LoginFailure).where(LoginFailure.key == key, LoginFailure.at <= now - LIMITS.window))
        session.add(LoginFailure(key=key, at=now))
    session.flush()


def clear_account(*, session: Session, email: str) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.key == f"email:{email}"))
