"""The autosave's hot path (PATCH /api/v1/responses/{id}/answers): the JSON it writes by hand
is byte for byte what the response model gives, a save costs four SQL statements, and a burst
of more autosaves than the connection pool and the thread pool can serve at once completes.
Runs on SQLite and PostgreSQL (the behaviour itself is tested in test_responses.py)."""

from __future__ import annotations

import threading

from sqlalchemy import event, func, select

from app.db import make_engine, make_sessionmaker
from app.responses import service
from app.responses.models import Response, ResponseEvent
from app.responses.schemas import ResponseOut
from test_responses import COMPLETE, create, world  # noqa: F401 - world is a fixture


def answers_url(rid: int) -> str:
    return f"/api/v1/responses/{rid}/answers"


def test_the_saved_json_is_the_response_model_json(api_env, world):  # noqa: F811
    env = api_env
    _, fh = env.user("field", cooperatives=[world.coop_a], password=None)
    rid = create(env, fh, world, mode="interview", answers={"junta_anual": True}).json()["id"]
    # numbers a float, the largest integer the app accepts; the interview's strings have accents and a date
    saved = env.client.patch(
        answers_url(rid),
        headers=fh,
        json={
            "answers": {"activo_corriente": 1500000.25, "pasivo_corriente": 10**15, "actas_al_dia": "parcial"},
            "version": 1,
        },
    )
    assert saved.status_code == 200, saved.text
    read = env.client.get(f"/api/v1/responses/{rid}", headers=fh)  # serialised by FastAPI with ResponseOut
    assert saved.content == read.content
    assert saved.headers["ETag"] == read.headers["ETag"] == '"2"'
    assert saved.headers["content-type"] == read.headers["content-type"] == "application/json"

    # a submitted response (result summary, submission time and author) directly against the model
    _, mh = env.user("manager", cooperatives=[world.coop_b], password=None)
    other = create(env, mh, world, coop=world.coop_b, answers=COMPLETE).json()["id"]
    assert env.client.post(f"/api/v1/responses/{other}/submit", json={"version": 1}, headers=mh).status_code == 200
    with env.session() as session:
        for response_id in (rid, other):
            row = session.get(Response, response_id)
            model = ResponseOut.model_validate(service.response_dict(row))
            assert service.response_json(row) == model.model_dump_json().encode()
        assert session.get(Response, other).result_snapshot is not None


def test_a_save_costs_four_statements(api_env, world):  # noqa: F811
    env = api_env
    _, mh = env.user("manager", cooperatives=[world.coop_a], password=None)
    rid = create(env, mh, world).json()["id"]
    # the first use of the token records it (an UPDATE, at most once a minute): not counted
    assert (
        env.client.patch(
            answers_url(rid), json={"answers": {"junta_anual": True}, "version": 1}, headers=mh
        ).status_code
        == 200
    )

    statements: list[str] = []

    def record(connection, cursor, statement, parameters, context, executemany):
        statements.append(statement.split(None, 1)[0].upper())

    engine = env.client.app.state.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        saved = env.client.patch(answers_url(rid), json={"answers": {"actas_al_dia": "si"}, "version": 2}, headers=mh)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert saved.status_code == 200, saved.text
    # token with its user and links; response with its cooperative and round; compare-and-set; audit event
    assert statements == ["SELECT", "SELECT", "UPDATE", "INSERT"]


def test_a_burst_beyond_the_pools_completes(api_env, world):  # noqa: F811
    """60 autosaves at once against one pooled connection and 40 worker threads: none may
    hold the connection while waiting for a thread (the threads would all be waiting for the
    connection until the pool times out), including the invalid bodies of the burst, which
    are authenticated before their 422."""
    env = api_env
    app = env.client.app
    _, mh = env.user("manager", cooperatives=[world.coop_a], password=None)
    rid = create(env, mh, world).json()["id"]
    engine = make_engine(env.settings.database_url, pool_size=1, max_overflow=0, pool_timeout=10)
    original = app.state.sessionmaker
    app.state.sessionmaker = make_sessionmaker(engine)
    barrier = threading.Barrier(60)
    results: list[int] = []

    def save(index: int) -> None:
        body = {"answers": {"activo_corriente": index}, "version": 1} if index % 6 else {"answers": "x", "version": 1}
        barrier.wait()
        results.append(env.client.patch(answers_url(rid), json=body, headers=mh).status_code)

    try:
        threads = [threading.Thread(target=save, args=(index,)) for index in range(60)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        app.state.sessionmaker = original
        engine.dispose()
    assert sorted(results) == [200] + [409] * 49 + [422] * 10, sorted(results)
    with env.session() as session:
        assert session.get(Response, rid).version == 2
        events = select(func.count()).select_from(ResponseEvent).where(ResponseEvent.kind == "answer_changed")
        assert session.scalar(events) == 1
