"""At most as many requests at work per process as the connection pool has connections.

A request's database session keeps its connection from its first query until the request
ends, and FastAPI moves a request between worker threads several times (each sync
dependency, the view, the validation of its response). With more requests in flight than
the pool has connections, every worker thread can end up taken by a request waiting for a
connection while every connection is held by a request waiting for a thread: nothing moves
until the pool's timeout, and the waiting requests get 503 (fastapi/fastapi#3205; found by
bench/report_queue.py with 200 managers downloading their PDFs at once, docs/performance.md).
Letting in only as many requests as the pool's size (the overflow stays free for the rest)
means a request that holds a connection always finds a thread; the others wait here, holding
neither.

Left out: static files and the public Observatorio (they answer from memory and read the
database, when they do, within one worker thread), and the autosave, which has its own
smaller gate (``app.deps.hot_session``).
"""

from __future__ import annotations

import anyio
from anyio.lowlevel import RunVar
from starlette.types import ASGIApp, Receive, Scope, Send

from app.db import POOL_SIZE

#: Paths that need no slot (prefixes).
FREE_PATHS = ("/static/", "/observatorio", "/healthz")

_slots: RunVar[anyio.Semaphore] = RunVar("coopdiag_request_slots")


def per_loop_semaphore(var: RunVar[anyio.Semaphore], size: int) -> anyio.Semaphore:
    """The semaphore kept in ``var``, made with ``size`` slots the first time in each event
    loop (a semaphore belongs to one loop; tests start many)."""
    try:
        return var.get()
    except LookupError:
        semaphore = anyio.Semaphore(size)
        var.set(semaphore)
        return semaphore


def slot_count(scope: Scope) -> int:
    """The pool size of the app's engine (the constant when the pool has no size)."""
    engine = getattr(getattr(scope.get("app"), "state", None), "engine", None)
    size = getattr(getattr(engine, "pool", None), "size", None)
    return max(1, size()) if callable(size) else POOL_SIZE


class RequestSlots:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(FREE_PATHS) or _is_autosave(scope):
            await self.app(scope, receive, send)
            return
        async with per_loop_semaphore(_slots, slot_count(scope)):
            await self.app(scope, receive, send)


def _is_autosave(scope: Scope) -> bool:
    return scope["method"] == "PATCH" and scope["path"].endswith("/answers")
