"""Automated accessibility check (issue 4, item 5): axe-core, injected into Chromium, on the
pages each kind of user works with, at phone and desktop width. WCAG 2.1 A and AA rules;
any violation fails with the rule, the impact and the offending elements."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from tests.browser.conftest import FIELD, MANAGER

ANALYST = ("analista@demo.coopdiag.cl", "demo-analista-2026")
ADMIN = ("admin@demo.coopdiag.cl", "demo-admin-2026")
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_script() -> str:
    import axe_playwright_python

    return str(Path(axe_playwright_python.__file__).parent / "axe.min.js")


def violations(page) -> list[dict]:
    # Evaluated through the DevTools protocol, not as a <script> tag: the pages' Content-Security-
    # Policy (rightly) refuses inline scripts, and the check must not need the policy loosened.
    page.evaluate(Path(axe_script()).read_text(encoding="utf-8"))
    result = page.evaluate("async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS)
    return result["violations"]


def describe(found: list[dict]) -> str:
    lines = []
    for violation in found:
        targets = ", ".join(str(node["target"]) for node in violation["nodes"][:5])
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} — {targets}")
    return "\n".join(lines)


def response_ids(database_url: str) -> dict[str, int]:
    """A submitted response of the manager's cooperatives and any submitted one, for review pages."""
    from app.auth.models import User, UserCooperative
    from app.responses.models import Response

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            manager_id = connection.execute(select(User.id).where(User.email == MANAGER[0])).scalar_one()
            own = select(UserCooperative.cooperative_id).where(UserCooperative.user_id == manager_id)
            manager_response = (
                connection.execute(
                    select(Response.id)
                    .where(Response.cooperative_id.in_(own), Response.is_current.is_(True))
                    .order_by(Response.id)
                )
                .scalars()
                .first()
            )
            submitted = (
                connection.execute(select(Response.id).where(Response.status == "submitted").order_by(Response.id))
                .scalars()
                .first()
            )
    finally:
        engine.dispose()
    return {"manager": manager_response, "submitted": submitted}


PAGES = {
    "anonymous": (None, ["/", "/ingresar"]),
    "manager": (MANAGER, ["/mis-cooperativas", "/diagnosticos/{manager}", "/diagnosticos/{manager}/revision"]),
    "field": (FIELD, ["/terreno", "/terreno/cooperativas/nueva"]),
    "analyst": (ANALYST, ["/analisis", "/analisis/cooperativas", "/analisis/respuestas/{submitted}"]),
    "admin": (
        ADMIN,
        [
            "/admin/usuarios",
            "/admin/usuarios/1",
            "/admin/invitaciones",
            "/admin/rondas",
            "/admin/cuestionarios",
            "/admin/cuestionarios/1",
        ],
    ),
}


@pytest.mark.parametrize("who", sorted(PAGES))
def test_pages_have_no_wcag_violations(page, login, demo_db, who):
    account, paths = PAGES[who]
    ids = response_ids(demo_db)
    if account is not None:
        login(page, account)
    problems = []
    for path in paths:
        url = path.format(**ids)
        for width, height in ((390, 844), (1280, 900)):
            page.set_viewport_size({"width": width, "height": height})
            answer = page.goto(url)
            assert answer is not None and answer.status < 400, (url, answer.status if answer else None)
            found = violations(page)
            if found:
                problems.append(f"{url} at {width} px:\n{describe(found)}")
    assert not problems, "\n\n".join(problems)
