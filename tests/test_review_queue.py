"""The analyst's review queue (issue 16): what waits for a decision, filtered and ordered by
age, with status and data-quality flags; previous/next while reviewing, and on to the next one
after a decision."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update

from app.responses.models import Response
from tests.test_web_analyst import GREEN, MIXED, RED, login, make_world


def _rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return re.findall(r'href="/analisis/respuestas/(\d+)\?cola=', body)


def test_the_queue_lists_what_waits_oldest_first_with_status_and_flags(api_env):
    world = make_world(api_env)
    analyst, _ = api_env.user("analyst")
    client, _ = login(api_env, analyst)
    page = client.get("/analisis/revision")
    assert page.status_code == 200, page.text
    sent = [world.responses[c] for c in world.coops[:3]]  # GREEN, RED, MIXED, sent in this order
    assert [int(i) for i in _rows(page.text)] == sent
    assert "3 respuestas en estado «enviada»" in page.text
    assert page.text.count(">enviada</span>") == 3 and "light-green" in page.text and "light-red" in page.text
    newest = client.get("/analisis/revision", params={"orden": "recientes"}).text
    assert [int(i) for i in _rows(newest)] == list(reversed(sent))
    drafts = client.get("/analisis/revision", params={"estado": "draft"}).text
    assert [int(i) for i in _rows(drafts)] == [world.responses[world.coops[4]]]
    south = client.get("/analisis/revision", params={"macrozona": "Sur"}).text
    assert len(_rows(south)) == 1
    nothing = client.get("/analisis/revision", params={"modo": "interview"}).text
    assert _rows(nothing) == [] and "No hay respuestas en este estado" in nothing
    # Unknown filter values fall back to the defaults, never an error.
    odd = client.get("/analisis/revision", params={"estado": "²", "ronda": "9" * 50, "macrozona": "Atlántida"})
    assert odd.status_code == 200 and len(_rows(odd.text)) == 3
    # The round page's status counts lead to the queue.
    board = client.get(f"/analisis/rondas/{world.round_id}").text
    assert f'href="/analisis/revision?estado=submitted&amp;ronda={world.round_id}"' in board
    assert GREEN and RED and MIXED


def _ages(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return re.findall(r'<td data-label="Desde"[^>]*><span title="[^"]*">([^<]*)</span>', body)


def test_the_queue_dates_each_response_by_when_it_reached_its_status(api_env):
    """Validated, else sent, else last changed: the same moment orders the rows and is shown."""
    world = make_world(api_env)
    client, _ = login(api_env, api_env.user("analyst")[0])
    first, second, third = (world.responses[c] for c in world.coops[:3])
    draft = world.responses[world.coops[4]]
    now = datetime.now(timezone.utc)
    days = {first: 2, second: 9, third: 5}
    with api_env.session() as session:
        for rid, ago in days.items():  # changed since (today), sent ``ago`` days ago
            session.execute(
                update(Response)
                .where(Response.id == rid)
                .values(submitted_at=now - timedelta(days=ago), updated_at=now, validated_at=None)
            )
        session.execute(update(Response).where(Response.id == draft).values(updated_at=now - timedelta(days=4)))
        session.commit()
    page = client.get("/analisis/revision").text
    assert [int(i) for i in _rows(page)] == [second, third, first]
    assert _ages(page) == ["hace 9 días", "hace 5 días", "hace 2 días"]
    assert _ages(client.get("/analisis/revision", params={"estado": "draft"}).text) == ["hace 4 días"]
    with api_env.session() as session:  # validated yesterday, sent 9 days ago
        session.execute(
            update(Response)
            .where(Response.id == second)
            .values(status="validated", validated_at=now - timedelta(days=1))
        )
        session.commit()
    validated = client.get("/analisis/revision", params={"estado": "validated"}).text
    assert [int(i) for i in _rows(validated)] == [second] and _ages(validated) == ["hace 1 día"]


def test_review_from_the_queue_offers_previous_and_next_and_moves_on_after_a_decision(api_env):
    world = make_world(api_env)
    analyst, csrf = login(api_env, api_env.user("analyst")[0])
    first, second, third = (world.responses[c] for c in world.coops[:3])
    page = analyst.get(f"/analisis/respuestas/{second}", params={"cola": ""})
    assert page.status_code == 200
    assert "Respuesta 2 de 3" in page.text
    assert f'href="/analisis/respuestas/{first}?cola=" rel="prev"' in page.text
    assert f'href="/analisis/respuestas/{third}?cola=" rel="next"' in page.text
    plain = analyst.get(f"/analisis/respuestas/{second}")
    assert "Respuesta 2 de 3" not in plain.text  # opened from elsewhere: no queue bar

    with api_env.session() as session:
        version = session.get(Response, second).version
    done = analyst.post(
        f"/analisis/respuestas/{second}/validar",
        data={"csrf_token": csrf, "version": str(version), "cola": ""},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/analisis/respuestas/{third}?cola="
    with api_env.session() as session:
        assert session.get(Response, second).status == "validated"
    queue = analyst.get("/analisis/revision").text
    assert [int(i) for i in _rows(queue)] == [first, third]
    # The last one of the queue: back to the (now empty of it) queue.
    with api_env.session() as session:
        version = session.get(Response, third).version
    done = analyst.post(
        f"/analisis/respuestas/{third}/devolver",
        data={"csrf_token": csrf, "version": str(version), "cola": "", "comment": "Falta el balance."},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/analisis/revision"
    with api_env.session() as session:
        statuses = {rid: status for rid, status in session.execute(select(Response.id, Response.status))}
    assert statuses[third] == "returned" and statuses[first] == "submitted"


def test_only_the_analysis_team_sees_the_queue(api_env):
    make_world(api_env)
    manager, _ = login(api_env, api_env.user("manager")[0])
    assert manager.get("/analisis/revision").status_code == 403
    anonymous = api_env.client.get("/analisis/revision", follow_redirects=False)
    assert anonymous.status_code in (303, 401)
