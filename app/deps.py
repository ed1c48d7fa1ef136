"""FastAPI dependencies shared by every view: settings, a database session per request,
and the authenticated user (API token or session cookie, with CSRF for the cookie)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import anyio
from anyio.lowlevel import RunVar
from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.auth.models import User
from app.auth.service import find_api_token, find_web_session
from app.errors import Forbidden, NotAuthenticated
from app.request_slots import per_loop_semaphore
from app.settings import Settings
from app.unit_of_work import UnitOfWork

SESSION_COOKIE = "coopdiag_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_USE_RECORD_INTERVAL = timedelta(minutes=1)


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_db(request: Request) -> Iterator[Session]:
    """One session per request; views commit through their services, anything else rolls back."""
    with request.app.state.sessionmaker() as session:
        yield session


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def authenticate(request: Request, session: Session) -> User | None:
    """The user behind the request, or None. Sets request.state.web_session for cookie logins."""
    now = datetime.now(timezone.utc)
    token = _bearer_token(request)
    if token is not None:
        api_token = find_api_token(session=session, token=token)
        if api_token is None or api_token.revoked_at is not None or not api_token.user.is_active:
            raise NotAuthenticated("El token de acceso no es válido o fue revocado.")
        if api_token.last_used_at is None or now - api_token.last_used_at > TOKEN_USE_RECORD_INTERVAL:
            # Recorded at most once a minute, in a unit of work of its own: no write (nor row
            # lock held for the whole request) on every call, and kept even when the view fails.
            with UnitOfWork(session):
                api_token.last_used_at = now
        return api_token.user
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    web_session = find_web_session(session=session, token=cookie)
    if web_session is None or web_session.expires_at <= now or not web_session.user.is_active:
        return None
    request.state.web_session = web_session
    request.state.csrf_token = web_session.csrf_token  # a plain copy for the pages (render.csrf_token)
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER) or getattr(request.state, "form_csrf_token", None)
        if sent != web_session.csrf_token:
            raise Forbidden(
                "Falta el código de seguridad del formulario (CSRF) o no coincide; recargue la página.",
                code="csrf_failed",
            )
    return web_session.user


def optional_user(request: Request, session: Session = Depends(get_db)) -> User | None:
    return authenticate(request, session)


def current_user(request: Request, session: Session = Depends(get_db)) -> User:
    user = authenticate(request, session)
    if user is None:
        raise NotAuthenticated("Debe iniciar sesión o enviar un token de acceso.")
    return user


#: Autosaves one process works on at once; the others wait their turn (in arrival order)
#: before they touch the database. Four keep a worker's core busy (a save waits on PostgreSQL
#: for about a quarter of its time) with less fighting over the interpreter lock than eight
#: (autosave p99 at 300 saves/s: about 30 ms with 4, 45-55 ms with 8, 150 ms with 16), and
#: stay well within the connection pool (db.POOL_SIZE):
#: with every arrival let in, the pool opened and closed extra connections all the time (a
#: server process each on PostgreSQL) and the threads fought over the interpreter lock; the
#: bench measured about 20 % more CPU per save that way.
HOT_REQUESTS = 4
_hot_slots: RunVar[anyio.Semaphore] = RunVar("coopdiag_hot_slots")


@dataclass(frozen=True)
class HotSession:
    """What ``hot_session`` gives a hot endpoint: the request's database session, not yet
    authenticated; ``authenticate()`` is the endpoint's first step in its worker thread."""

    session: Session
    request: Request
    settings: Settings

    def authenticate(self) -> User:
        """``current_user``: the user, or 401 (403 for a cookie without its CSRF token)."""
        return current_user(self.request, self.session)


def _authenticate_and_close(hot: HotSession) -> None:
    with hot.session:
        hot.authenticate()


async def hot_session(request: Request) -> AsyncIterator[HotSession]:
    """``get_db`` + ``current_user`` for a hot ``async def`` endpoint (the autosave), in one
    trip to a worker thread instead of one per dependency plus one for the endpoint.

    The endpoint authenticates and does its database work in that one trip
    (``run_in_threadpool``), closing the session there (``with hot.session:``). When the
    path, headers or body are invalid, FastAPI raises before the endpoint runs; the request
    is then authenticated here first, so that one without valid credentials still gets 401
    rather than the validation error, as with ``current_user``. A session the endpoint did
    not close is closed here, in a worker thread when a transaction is open. At most
    HOT_REQUESTS of these are in flight per process.
    """
    async with per_loop_semaphore(_hot_slots, HOT_REQUESTS):
        hot = HotSession(request.app.state.sessionmaker(), request, request.app.state.settings)
        try:
            yield hot
        except RequestValidationError:
            await run_in_threadpool(_authenticate_and_close, hot)
            raise
        finally:
            if hot.session.in_transaction():
                await run_in_threadpool(hot.session.close)
            else:
                hot.session.close()  # nothing to roll back: no I/O
