"""Browser tests: a field interview end to end, a manager on another cooperative's URL, the
login page on a phone and a desktop."""

from __future__ import annotations

import re

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.responses.models import Response

FIELD = ("terreno@demo.coopdiag.cl", "demo-terreno-2026")
MANAGER = ("gerente@demo.coopdiag.cl", "demo-gerente-2026")


def test_login_page_on_phone_and_desktop(page, shoot):
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 844})
        page.goto("/ingresar")
        assert page.title().startswith("Ingresar")
        email = page.get_by_label("Correo electrónico")
        assert email.is_visible() and page.get_by_role("button", name="Ingresar").is_visible()
        box = email.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width  # nothing wider than the screen
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    # Empty form: the errors are beside their fields.
    page.get_by_role("button", name="Ingresar").click()
    page.locator("#email-error").wait_for()
    assert page.locator("#email-error").inner_text().strip().endswith("Escriba su correo.")
    shoot(page, "ingresar")


# Numbers with a range of their own (questionnaire 2027.1: the year the organisation started).
OWN_RANGE = {"anio_inicio": "2010"}


def test_field_interview_end_to_end(page, login, shoot):
    login(page, FIELD)
    assert page.url.endswith("/terreno")
    shoot(page, "terreno-lista")
    start = page.get_by_role("link", name="Iniciar entrevista").first
    cooperative = start.locator("xpath=ancestor::li[1]//h2").inner_text()
    start.click()
    page.wait_for_url("**/terreno/entrevistas/nueva?*")
    assert cooperative in page.content()
    assert page.get_by_label("Nombre de quien entrevista").input_value() == "Diego Muñoz"
    assert page.get_by_label("Institución").input_value() == "Universidad de Talca"
    page.get_by_role("button", name="Iniciar entrevista").click()  # place and role missing
    page.locator("#interview_place-error").wait_for()
    assert page.locator("#interviewee_role-error").is_visible()
    assert page.get_by_label("Nombre de quien entrevista").input_value() == "Diego Muñoz"  # kept
    shoot(page, "terreno-nueva-entrevista-errores")
    page.get_by_label("Lugar de la entrevista").fill("Sede de la cooperativa")
    page.get_by_label("Cargo de la persona entrevistada").fill("Presidenta del consejo")
    page.get_by_role("button", name="Iniciar entrevista").click()
    page.wait_for_url("**/dimension/1")
    assert "Entrevista iniciada" in page.content()

    # Fill the dimension from the keyboard: in every radio group the first choice
    # (arrow keys move within a group, Tab to the next one), every number field with 10.
    filled = {}
    for fieldset in page.locator("form.entry fieldset.question").all():
        radio = fieldset.locator("input[type=radio]").first
        if radio.count():
            radio.focus()
            page.keyboard.press("Space")
            filled[radio.get_attribute("name")] = radio.get_attribute("value")
            continue
        box = fieldset.locator("input[type=number], input[type=text], textarea").first
        if box.count():
            name = box.get_attribute("name") or ""
            typed = next((v for qid, v in OWN_RANGE.items() if name.endswith(qid)), "10")
            box.focus()
            page.keyboard.type(typed)
            filled[name] = typed
    assert filled
    shoot(page, "terreno-dimension")
    page.get_by_role("button", name="Guardar", exact=True).click()
    page.get_by_text("Cambios guardados").wait_for()
    page.reload()
    for name, value in filled.items():
        field = page.locator(f'[name="{name}"]')
        if field.first.get_attribute("type") == "radio":
            assert page.locator(f'[name="{name}"][value="{value}"]').is_checked(), name
        else:
            assert field.input_value() == value, name
    page.goto("/terreno")
    card = page.locator("li.coop", has_text=cooperative)
    assert "borrador" in card.inner_text()


def test_manager_on_another_cooperatives_url_gets_404(page, login, shoot, demo_db):
    engine = create_engine(demo_db)
    with Session(engine) as session:
        manager = session.scalar(select(User).where(User.email == MANAGER[0]))
        mine = set(manager.cooperative_ids)
        other = session.scalar(select(Response).where(Response.cooperative_id.not_in(mine)).limit(1))
        other_id = other.id
    engine.dispose()
    login(page, MANAGER)
    for url in (f"/diagnosticos/{other_id}", f"/diagnosticos/{other_id}/resultados"):
        answer = page.goto(url)
        assert answer.status == 404, url
        assert "Página no encontrada" in page.content()
    shoot(page, "gerente-otra-cooperativa-404")
    # Nor may a manager use the field team's pages.
    assert page.goto("/terreno").status == 403


def test_field_entry_shows_and_hides_questions_as_choices_change(page, login, shoot):
    """A question a choice makes apply appears at once, without saving first (issue 16), and
    the interview form names the special answer in the third person."""
    login(page, FIELD)
    start = page.get_by_role("link", name="Iniciar entrevista")
    if start.count():
        start.first.click()
        page.wait_for_url("**/terreno/entrevistas/nueva?*")
        page.get_by_label("Lugar de la entrevista").fill("Sede de la cooperativa")
        page.get_by_label("Cargo de la persona entrevistada").fill("Tesorera")
        page.get_by_role("button", name="Iniciar entrevista").click()
    else:  # every cooperative of the field member has an interview: continue a draft
        page.get_by_role("link", name="Continuar entrevista").first.click()
    page.wait_for_url(re.compile(r".*/terreno/entrevistas/\d+/.*"))
    interview = re.search(r"/terreno/entrevistas/\d+", page.url).group(0)
    if not page.url.endswith("/dimension/1"):
        page.goto(interview + "/dimension/1")
    kind = page.locator('fieldset.question[data-qid="clase_cooperativa"]')
    assert kind.count() == 1  # applies until the organisation says it is a pre-cooperative group
    assert "No sabe / no responde" in page.content() and "prefiero no responder" not in page.content()
    page.locator('input[name="a.tipo_organizacion"][value="grupo_precooperativo"]').check()
    kind.wait_for(state="detached")  # gone without pressing «Guardar»
    page.locator('input[name="a.tipo_organizacion"][value="cooperativa_constituida"]').check()
    kind.wait_for(state="visible")  # back, in its place, still before the year question
    order = page.eval_on_selector_all("fieldset.question", "nodes => nodes.map(n => n.dataset.qid)")
    assert order.index("tipo_organizacion") < order.index("clase_cooperativa") < order.index("anio_inicio")
    page.get_by_text("Guardado", exact=True).wait_for()
    shoot(page, "terreno-relevancia-en-vivo")
