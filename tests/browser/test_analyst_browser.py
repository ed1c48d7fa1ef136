"""An analyst reviews submitted responses in the browser: returns one with a comment (the
comment is required, and the error appears beside the field) and validates another."""

from __future__ import annotations

from sqlalchemy import create_engine, select

ANALYST = ("analista@demo.coopdiag.cl", "demo-analista-2026")


def submitted_responses(database_url: str) -> list[int]:
    from app.responses.models import Response

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return list(
                connection.execute(
                    select(Response.id)
                    .where(Response.status == "submitted", Response.is_current.is_(True))
                    .order_by(Response.id)
                ).scalars()
            )
    finally:
        engine.dispose()


def status_of(database_url: str, response_id: int) -> str:
    from app.responses.models import Response

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(select(Response.status).where(Response.id == response_id)).scalar_one()
    finally:
        engine.dispose()


def test_analyst_returns_and_validates(page, login, shoot, demo_db):
    first, second = submitted_responses(demo_db)[-2:]
    login(page, ANALYST)

    page.goto(f"/analisis/respuestas/{first}")
    page.locator("#comment").evaluate("element => element.removeAttribute('required')")  # try a blank comment
    page.get_by_role("button", name="Devolver para corrección").click()
    page.wait_for_load_state()
    assert page.locator("#comment[aria-invalid='true']").count() == 1
    shoot(page, "analista-devolver-sin-comentario")
    page.locator("#comment").fill("Falta el balance del último ejercicio; por favor, complételo.")
    page.get_by_role("button", name="Devolver para corrección").click()
    page.wait_for_load_state()
    assert status_of(demo_db, first) == "returned"
    assert "Falta el balance" in page.content()

    page.goto(f"/analisis/respuestas/{second}")
    shoot(page, "analista-revision")
    page.get_by_role("button", name="Validar respuesta").click()
    page.wait_for_load_state()
    assert status_of(demo_db, second) == "validated"
