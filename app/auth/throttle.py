"""Login throttling against password guessing, without letting anyone lock a user out.

Failed logins are kept in the database (``login_failures``), so every worker process sees
the same counts. Three counts, over a sliding window of 15 minutes:

- per client address (``ip:<address>``, 50): the hard limit. Past it, every login from that
  address is refused with 429 before the password is checked (no argon2 time spent, no
  oracle), whichever account it names.
- per account *and* address (``pair:<address> <e-mail>``, 5): the hard limit on guessing one
  account. It only ever refuses the address that failed, so an attacker's failures never
  refuse the real user logging in from elsewhere.
- per account, from any address (``email:<e-mail>``): never a refusal. Past 5 failures each
  login to that account waits a small growing delay before its turn (1, 2, 4, then 8 s at
  most; :func:`account_delay`), which slows a guesser going one attempt at a time while the
  real user still gets in.

The address is the one :mod:`app.proxies` settles on: the socket's peer, or what a
configured proxy (``COOPDIAG_TRUSTED_PROXIES``) says it forwarded for; a client's own
``X-Forwarded-For`` is ignored.

The limit is atomic: :func:`reserve` counts *and* records the attempt as a failure in one
short transaction that holds a lock per key (PostgreSQL: a transaction-level advisory lock;
SQLite: the database's write lock, taken by the transaction's first statement, a write), and
commits it *before* the password is checked. Thirty parallel attempts therefore check the
password at most as many times as the limit allows. A successful login takes back its own
reservation and clears the account's failures (:func:`release`).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Index, String, delete, func, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.db import Base, UTCDateTime
from app.errors import TooManyAttempts
from app.unit_of_work import UnitOfWork


class LoginFailure(Base):
    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(320))
    """``ip:<address>``, ``pair:<address> <e-mail>`` or ``email:<normalised e-mail>``."""
    at: Mapped[datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class Limits:
    window: timedelta = timedelta(minutes=15)
    # Generous: a whole office or a university lab can share one public address.
    per_address: int = 50
    per_account_address: int = 5
    #: Failures of an account (any address) before its logins start to wait, and the wait's cap.
    account_free: int = 5
    account_delay_max: float = 8.0


LIMITS = Limits()

#: The address used when the request's client is unknown (so that it is limited too).
UNKNOWN_ADDRESS = "?"


@dataclass(frozen=True)
class Reservation:
    """The failure rows written for one attempt, taken back if its password is right."""

    email: str
    address: str
    ids: tuple[int, ...]


def _keys(email: str, address: str) -> list[tuple[str, int | None]]:
    return [
        (f"ip:{address}", LIMITS.per_address),
        (f"pair:{address} {email}"[:320], LIMITS.per_account_address),
        (f"email:{email}"[:320], None),
    ]


def _lock(session: Session, keys: list[str]) -> None:
    """Serialise the attempts on these keys until the transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        for key in sorted(keys):  # always in the same order: no deadlock between two attempts
            session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": zlib.crc32(key.encode()) - 2**31})
    # SQLite: the caller's first statement (a DELETE) takes the database's write lock, which
    # one connection holds at a time; the counts below are read under it.


def _refusal(oldest: datetime, now: datetime) -> TooManyAttempts:
    wait = max(60, int((oldest + LIMITS.window - now).total_seconds()) + 1)
    minutes = -(-wait // 60)
    return TooManyAttempts(
        "Demasiados intentos fallidos de inicio de sesión. Por seguridad, espere "
        f"{minutes} {'minuto' if minutes == 1 else 'minutos'} antes de volver a intentarlo.",
        retry_after=wait,
    )


def reserve(*, session: Session, email: str, client_ip: str | None, now: datetime) -> Reservation:
    """Count this attempt as a failure before its password is checked, and commit it; refuse
    (429) when the address, or the account from this address, is at its limit."""
    address = client_ip or UNKNOWN_ADDRESS
    keys = _keys(email, address)
    since = now - LIMITS.window
    # Committed at the block's end, on its own, even though the login may still fail: it is
    # what makes the limit hold for attempts running at the same time.
    with UnitOfWork(session):
        # The first statement writes: on SQLite it takes the write lock for the whole check.
        session.execute(
            delete(LoginFailure).where(LoginFailure.key.in_([k for k, _ in keys]), LoginFailure.at <= since)
        )
        _lock(session, [k for k, _ in keys])
        for key, limit in keys:
            if limit is None:
                continue
            count, oldest = session.execute(
                select(func.count(), func.min(LoginFailure.at)).where(LoginFailure.key == key, LoginFailure.at > since)
            ).one()
            if count >= limit:
                raise _refusal(oldest, now)
        rows = [LoginFailure(key=key, at=now) for key, _ in keys]
        session.add_all(rows)
        session.flush()
        ids = tuple(row.id for row in rows)
    return Reservation(email=email, address=address, ids=ids)


def release(*, session: Session, reservation: Reservation) -> None:
    """A successful login: its own reservation goes, and so do the account's failures (from
    any address); the address keeps its other failures. The caller commits."""
    session.execute(delete(LoginFailure).where(LoginFailure.id.in_(reservation.ids)))
    session.execute(
        delete(LoginFailure).where(
            LoginFailure.key.in_(
                [f"email:{reservation.email}"[:320], f"pair:{reservation.address} {reservation.email}"[:320]]
            )
        )
    )


def account_delay(*, session: Session, email: str, now: datetime) -> float:
    """Seconds a login to this account waits before its turn: 0 up to ``account_free`` recent
    failures (from any address), then 1, 2, 4… up to ``account_delay_max``."""
    failures = session.scalar(
        select(func.count()).where(LoginFailure.key == f"email:{email}"[:320], LoginFailure.at > now - LIMITS.window)
    )
    extra = (failures or 0) - LIMITS.account_free
    if extra < 0:
        return 0.0
    return float(min(2**extra, LIMITS.account_delay_max))
