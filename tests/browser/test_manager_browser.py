"""A cooperative manager, as they would do it in the browser: from the invitation link to the
results, with an autosaved answer surviving a reload on the way."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.browser.conftest import MANAGER


def invite_manager(database_url: str) -> str:
    """An invitation for a new manager of a demo cooperative without a diagnosis in the open round."""
    from app.auth.models import User
    from app.auth.service import create_invitation
    from app.cooperatives.models import Cooperative
    from app.db import make_engine, make_sessionmaker
    from app.responses.models import Response
    from app.rounds.models import DiagnosisRound
    from app.settings import Settings

    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            admin = session.scalar(select(User).where(User.role == "admin"))
            open_round = session.scalar(select(DiagnosisRound).where(DiagnosisRound.state == "open"))
            answered = select(Response.cooperative_id).where(Response.round_id == open_round.id)
            cooperative = session.scalar(
                select(Cooperative)
                .where(Cooperative.id.not_in(answered), Cooperative.legal_type != "precooperativo")
                .order_by(Cooperative.id)
            )
            invitation = create_invitation(
                session=session,
                user=admin,
                settings=Settings(database_url=database_url),
                email="nueva.gerente@cooperativa-demo.cl",
                full_name="Rosa Núñez",
                role="manager",
                cooperative_ids=[cooperative.id],
            )
            session.commit()
            return invitation.token
    finally:
        engine.dispose()


# Numbers that must add up (questionnaire 2027.1's checks: women + men = members) or have a
# range of their own (a year); every other number is 12, which keeps each part within its total.
NUMBERS = {"socias_mujeres": "5", "socios_hombres": "7", "anio_inicio": "2010"}


def answer_everything_shown(page) -> None:
    """Answer each question of the section: the first real option, a plausible number."""
    for fieldset in page.locator("fieldset").all():
        radios = fieldset.locator("input[type=radio]:not([value=ns]):not([value=na])")
        checkboxes = fieldset.locator("input[type=checkbox]:not([value=ns]):not([value=na])")
        numbers = fieldset.locator("input[inputmode=numeric], input[inputmode=decimal]")
        if radios.count():
            radios.first.check()
        elif checkboxes.count():
            checkboxes.first.check()
        elif numbers.count():
            name = numbers.first.get_attribute("name") or ""
            numbers.first.fill(next((v for qid, v in NUMBERS.items() if name.endswith(qid)), "12"))


def test_manager_from_invitation_to_results(page, browser, base_url, shoot, demo_db):
    token = invite_manager(demo_db)
    page.goto(f"/invitacion/{token}")
    page.get_by_label("Contraseña nueva").fill("una-clave-bien-larga")
    page.get_by_label("Repita la contraseña").fill("una-clave-bien-larga")
    page.get_by_role("button", name="Crear cuenta").click()
    page.wait_for_url("**/mis-cooperativas")
    shoot(page, "gerente-inicio")

    page.get_by_role("button", name=re.compile("Comenzar el autodiagnóstico")).first.click()
    page.wait_for_url(re.compile(r".*/diagnosticos/\d+/seccion/\d+"))
    first_url = page.url

    # Autosave: an answer chosen with the script running is kept after a reload.
    first_choice = page.locator("fieldset input[type=radio]:not([value=ns]):not([value=na])").first
    first_choice.check()
    page.locator("[data-save-status]").filter(has_text="Guardado").wait_for()
    page.reload()
    assert page.locator("fieldset input[type=radio]:not([value=ns]):not([value=na])").first.is_checked()

    # The rest is filled with JavaScript off, as on a phone that blocks it: every page must
    # work by plain form posts (and the autosave script would re-render under our clicks).
    plain = browser.new_context(
        base_url=base_url,
        java_script_enabled=False,
        storage_state=page.context.storage_state(),
        viewport={"width": 390, "height": 844},
        locale="es-CL",
    )
    plain.set_default_timeout(10_000)
    page = plain.new_page()
    page.goto(re.sub(r"^https?://[^/]+", "", first_url))
    for _ in range(40):  # section after section until the review page
        if "/revision" in page.url:
            break
        answer_everything_shown(page)
        # Saving first shows the questions these answers make relevant (no script to do it live).
        page.locator("button[name=accion][value=guardar]").click()
        page.wait_for_load_state()
        answer_everything_shown(page)
        page.locator("button[name=accion][value=continuar]").click()
        page.wait_for_load_state()
        if page.locator(".field-error, .q-error").count():  # a number out of range: leave it unanswered
            for box in page.locator("[aria-invalid=true]").all():
                box.fill("")
            page.locator("button[name=accion][value=continuar]").click()
            page.wait_for_load_state()
    assert "/revision" in page.url, page.url
    shoot(page, "gerente-revision")
    page.get_by_role("button", name=re.compile("Enviar")).click()
    page.wait_for_load_state()
    if "/resultados" not in page.url:  # required questions still missing: the page lists them
        shoot(page, "gerente-faltantes")
    assert "/resultados" in page.url, page.url
    content = page.content()
    assert any(word in content for word in ("verde", "amarillo", "rojo"))
    shoot(page, "gerente-resultados")
    plain.close()


def test_manager_login_page_lists_their_cooperatives(page, login):
    login(page, MANAGER)
    page.wait_for_url("**/mis-cooperativas")
    assert page.locator("h1").first.inner_text()
