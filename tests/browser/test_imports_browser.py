"""Browser tests of the upload pages on the demo data: a field member previews a filled
interview template with a problem, then a clean one, and imports it; an analyst previews a
registry file. Screenshots at 390 and 1280 px; nothing wider than a phone's screen."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import load_workbook
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session
from stdnum.cl import rut as cl_rut

from app.auth.models import User, UserCooperative
from app.cooperatives.models import Cooperative
from app.cooperatives.schemas import format_rut
from app.responses.models import Response
from tests.browser.test_accessibility import describe, violations

FIELD = ("terreno@demo.coopdiag.cl", "demo-terreno-2026")
ANALYST = ("analista@demo.coopdiag.cl", "demo-analista-2026")


def _fits(page) -> None:
    """Nothing wider than the screen, and no WCAG 2.1 A/AA violation (axe-core), at both widths."""
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 844})
        assert page.evaluate("document.documentElement.scrollWidth") <= width, width
        found = violations(page)
        assert not found, f"{page.url} at {width} px:\n{describe(found)}"
    page.set_viewport_size({"width": 390, "height": 844})


def _template(page, link) -> tuple[bytes, list[str]]:
    """The template behind the page's link (same session) and the RUTs it offers."""
    answer = page.request.get(link.get_attribute("href"))
    assert answer.ok and answer.body()[:2] == b"PK"
    book = load_workbook(io.BytesIO(answer.body()))
    ruts = [row[0] for row in book["cooperativas"].iter_rows(min_row=2, values_only=True) if row[0]]
    return answer.body(), ruts


def _filled(template: bytes, rows: list[list]) -> bytes:
    book = load_workbook(io.BytesIO(template))
    for row in rows:
        book["entrevistas"].append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _upload(page, name: str, content: bytes, button: str) -> None:
    page.locator("#archivo").set_input_files({"name": name, "mimeType": "application/octet-stream", "buffer": content})
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_load_state()
    page.locator("#resultado").wait_for()


def _cooperative_to_interview(database_url: str) -> str:
    """A new cooperative assigned to the demo field member (the other browser tests start
    interviews of the demo ones), with no response yet: its RUT."""
    with Session(create_engine(database_url)) as session:
        field = session.scalar(select(User).where(User.email == FIELD[0]))
        number = 60_000_000 + session.scalar(select(func.count()).select_from(Cooperative))
        rut = f"{number}-{cl_rut.calc_check_digit(str(number))}"
        cooperative = Cooperative(
            rut=rut, name="Cooperativa Planilla del Navegador", legal_type="campesina", region_code=7, sectors=[]
        )
        session.add(cooperative)
        session.flush()
        session.add(UserCooperative(user_id=field.id, cooperative_id=cooperative.id))
        session.commit()
        return format_rut(rut)


def test_field_member_previews_and_imports_a_template(page, login, shoot, demo_db):
    fresh = _cooperative_to_interview(demo_db)
    login(page, FIELD)
    page.get_by_role("link", name="Planillas y ODK").click()
    page.wait_for_url("**/terreno/planillas")
    _fits(page)
    shoot(page, "terreno-planillas")
    template, ruts = _template(page, page.get_by_role("link", name="Planilla de entrevistas (.xlsx)").first)
    with Session(create_engine(demo_db)) as session:
        before = session.scalar(select(func.count()).select_from(Response))
    details = ["Diego Muñoz", "Universidad de Talca", date(2026, 3, 2), "Sede", "Presidenta"]

    rows = [[f"NAV-{index}", rut, *details] for index, rut in enumerate(ruts)]
    bad = _filled(template, [*rows, ["NAV-X", "11.111.111-1", *details]])
    _upload(page, "entrevistas.xlsx", bad, "Revisar sin guardar")
    problems = page.locator(".problem-list li")
    assert problems.count() >= 1
    assert "columna «rut_cooperativa»" in page.locator(".problem-list").inner_text()
    assert "no se importará ninguna fila" in page.locator(".import-headline").inner_text()
    _fits(page)
    shoot(page, "terreno-planillas-problemas")

    # Rows of cooperatives that already have a response in the round were refused too: keep the others.
    clean = [row for row in rows if row[1] not in _refused_ruts(page)]
    assert fresh in [row[1] for row in clean]
    good = _filled(template, clean)
    _upload(page, "entrevistas.xlsx", good, "Revisar sin guardar")
    assert "El archivo está listo" in page.locator(".import-headline").inner_text()
    assert "elija de nuevo el mismo archivo" in page.locator(".import-headline").inner_text()
    shoot(page, "terreno-planillas-revision")
    _upload(page, "entrevistas.xlsx", good, "Importar")
    assert "Importación terminada" in page.locator(".import-headline").inner_text()
    _fits(page)
    shoot(page, "terreno-planillas-importada")
    with Session(create_engine(demo_db)) as session:
        assert session.scalar(select(func.count()).select_from(Response)) == before + len(clean)


def _refused_ruts(page) -> set[str]:
    """The RUTs of the rows the preview on the page refused."""
    refused = set()
    for item in page.locator(".row-list li.refused").all():
        text = item.inner_text()
        if "RUT " in text:
            refused.add(text.split("RUT ")[1].split(")")[0])
    return refused


def test_analyst_previews_a_registry_file(page, login, shoot):
    login(page, ANALYST)
    page.goto("/analisis/cooperativas")
    page.get_by_role("link", name="Importar registro").click()
    page.wait_for_url("**/analisis/registro/importar")
    _fits(page)
    shoot(page, "analisis-registro-importar")
    rows = [
        "RUT;Razón social;Tipo;Región;Comuna",
        "77.123.456-9;Cooperativa Nueva del Maule;campesina;7;Talca",
        "76.543.210-3;Cooperativa Sin Región;agricola;Región de la Luna;",
    ]
    _upload(page, "registro.csv", ("\r\n".join(rows) + "\r\n").encode(), "Revisar sin guardar")
    assert "Fila 3 · columna «Región»" in page.locator(".problem-list").inner_text()
    _fits(page)
    shoot(page, "analisis-registro-revision")
