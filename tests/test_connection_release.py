"""More requests in flight than the pool has connections must not deadlock.

A request keeps its connection from its first query to its end while FastAPI moves it between
worker threads (dependencies, view, response validation). Without ``app.request_slots``, a
burst of requests larger than the pool leaves every thread waiting for a connection and every
connection held by a request waiting for a thread, until the pool's timeout (503s): what
bench/report_queue.py found with 200 managers downloading their PDFs at once
(docs/performance.md, issue 15). Here: a pool of 2 connections, 4 worker threads and 24
requests at once, on both backends.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import anyio.to_thread
import httpx

from app.db import make_engine, make_sessionmaker

REQUESTS = 24


async def _burst(app, headers: dict[str, str]) -> list[int]:
    limiter = anyio.to_thread.current_default_thread_limiter()
    tokens, limiter.total_tokens = limiter.total_tokens, 4
    try:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://prueba", timeout=60) as client:
            answers = await asyncio.gather(
                *(client.get("/api/v1/cooperatives", headers=headers) for _ in range(REQUESTS))
            )
    finally:
        limiter.total_tokens = tokens
    return [answer.status_code for answer in answers]


def test_a_burst_larger_than_the_pool_is_served(api_env):
    _, headers = api_env.user("analyst")
    app = api_env.client.app
    assert api_env.client.get("/api/v1/cooperatives", headers=headers).status_code == 200  # token use recorded
    engine = make_engine(api_env.settings.database_url, pool_size=2, max_overflow=0, pool_timeout=3)
    normal = app.state.engine, app.state.sessionmaker
    app.state.engine, app.state.sessionmaker = engine, make_sessionmaker(engine)
    try:
        # A new event loop (the gate takes this pool's size), in a thread of its own: the
        # browser tests' Playwright may have left one running in this one.
        with ThreadPoolExecutor(max_workers=1) as thread:
            statuses = thread.submit(asyncio.run, _burst(app, headers)).result()
    finally:
        app.state.engine, app.state.sessionmaker = normal
        engine.dispose()
    assert statuses == [200] * REQUESTS
