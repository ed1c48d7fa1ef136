"""Accounts administration (issue 16): an admin edits an account's role, cooperatives,
macrozones and state on its page and through the API (never their own admin role or state);
inviting someone who already has an account of that role adds the cooperatives to it; the
cooperative picker of those forms searches ~1,500 cooperatives and never loses the chosen
ones; a questionnaire version's preview page says every question, condition and band in
words and links its downloads. Both databases."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, insert, select

from app.auth import security
from app.auth.models import Invitation, User
from app.cooperatives.models import Cooperative
from app.notifications.models import OutboxEmail
from app.questionnaires.models import QuestionnaireVersion
from app.questionnaires.service import load_questionnaire_file
from app.web.admin import COOPERATIVE_CHOICES
from app.web.questionnaire_preview import band_in_words, expression_in_words
from scoring.model import Band
from test_web_admin import login

API = "/api/v1"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def fast_argon2(monkeypatch):
    monkeypatch.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def add_cooperatives(env, *specs: tuple[str, int]) -> list[int]:
    """Cooperatives (name, region) with made-up RUTs; their ids in order."""
    with env.session() as session:
        start = session.scalar(select(func.count()).select_from(Cooperative)) or 0
        rows = [
            Cooperative(rut=f"{71_000_000 + start + n}-0", name=name, legal_type="campesina", region_code=region)
            for n, (name, region) in enumerate(specs)
        ]
        session.add_all(rows)
        session.commit()
        return [row.id for row in rows]


def links(env, user_id: int) -> tuple[str, set[int], set[str], bool]:
    with env.session() as session:
        user = session.get(User, user_id)
        return user.role, user.cooperative_ids, user.macrozones, user.is_active


def checkbox_ids(html: str) -> dict[int, bool]:
    """The cooperative boxes of a page: id → checked."""
    return {
        int(match.group(1)): "checked" in match.group(2)
        for match in re.finditer(r'name="cooperative_ids" value="(\d+)"([^>]*)>', html)
    }


def error_of(reply) -> dict:
    return reply.json()["error"]


# --------------------------------------------------------------------------- editing an account


def test_admin_edits_role_cooperatives_macrozones_and_state_on_the_page(api_env, caplog):
    admin, _ = api_env.user("admin")
    aromos, quillay = add_cooperatives(api_env, ("Cooperativa Los Aromos", 13), ("Cooperativa El Quillay", 7))
    manager, _ = api_env.user("manager", cooperatives=[aromos])
    client, csrf = login(api_env, admin)
    assert f'href="/admin/usuarios/{manager.id}"' in client.get("/admin/usuarios").text

    page = client.get(f"/admin/usuarios/{manager.id}")
    assert page.status_code == 200 and manager.email in page.text and 'name="csrf_token"' in page.text
    assert checkbox_ids(page.text)[aromos] is True and checkbox_ids(page.text)[quillay] is False
    assert 'src="/static/coop-picker.js"' in page.text

    form = {"full_name": manager.full_name, "role": "manager", "activo": "1", "institution": ""}
    assert client.post(f"/admin/usuarios/{manager.id}", data={**form, "role": "analyst"}).status_code == 403  # no CSRF

    # A second cooperative for the manager; the change is logged once committed.
    with caplog.at_level(logging.INFO, logger="coopdiag.accounts"):
        saved = client.post(
            f"/admin/usuarios/{manager.id}",
            data={**form, "csrf_token": csrf, "cooperative_ids": [str(aromos), str(quillay)]},
            follow_redirects=False,
        )
    assert saved.status_code == 303 and saved.headers["location"] == "/admin/usuarios"
    assert links(api_env, manager.id) == ("manager", {aromos, quillay}, set(), True)
    assert any(
        f"Cuenta {manager.id}" in record.getMessage() and "cooperativas agregadas" in record.getMessage()
        for record in caplog.records
    )
    assert "Cooperativa El Quillay" in client.get("/admin/usuarios").text  # the flash names it

    # A manager keeps at least one cooperative.
    none_left = client.post(f"/admin/usuarios/{manager.id}", data={**form, "csrf_token": csrf})
    assert none_left.status_code == 422 and 'id="cooperative_ids-error"' in none_left.text
    assert links(api_env, manager.id)[1] == {aromos, quillay}

    # Becoming a field team member asks for the institution; then macrozones count.
    field_form = {**form, "csrf_token": csrf, "role": "field", "macrozones": ["Sur"]}
    no_institution = client.post(f"/admin/usuarios/{manager.id}", data=field_form)
    assert no_institution.status_code == 422 and 'id="institution-error"' in no_institution.text
    assert links(api_env, manager.id)[0] == "manager"
    to_field = client.post(
        f"/admin/usuarios/{manager.id}",
        data={**field_form, "institution": "Universidad de Talca"},
        follow_redirects=False,
    )
    assert to_field.status_code == 303
    assert links(api_env, manager.id) == ("field", set(), {"Sur"}, True)

    # Another role has no macrozones: the boxes left checked are not kept.
    to_analyst = client.post(
        f"/admin/usuarios/{manager.id}",
        data={**form, "csrf_token": csrf, "role": "analyst", "macrozones": ["Sur"]},
        follow_redirects=False,
    )
    assert to_analyst.status_code == 303
    assert links(api_env, manager.id) == ("analyst", set(), set(), True)

    # Deactivating (the box unticked) closes the person's sessions.
    person, _ = login(api_env, manager)
    assert person.get("/analisis", follow_redirects=False).status_code == 200
    off = client.post(
        f"/admin/usuarios/{manager.id}",
        data={**form, "csrf_token": csrf, "role": "analyst", "activo": ""},
        follow_redirects=False,
    )
    assert off.status_code == 303 and links(api_env, manager.id)[3] is False
    assert person.get("/analisis", follow_redirects=False).headers["location"].startswith("/ingresar")

    # «Buscar» saves nothing.
    search = client.post(
        f"/admin/usuarios/{manager.id}",
        data={**form, "csrf_token": csrf, "role": "manager", "accion": "buscar", "q": "Aromos"},
    )
    assert search.status_code == 200 and links(api_env, manager.id)[0] == "analyst"


def test_admin_cannot_demote_or_deactivate_themselves(api_env):
    admin, _ = api_env.user("admin")
    api_env.user("admin")  # not the last admin: the refusal is about one's own account
    client, csrf = login(api_env, admin)
    page = client.get(f"/admin/usuarios/{admin.id}").text
    assert "es su propia cuenta" in page and '<select id="role"' not in page
    for data in ({"role": "analyst", "activo": "1"}, {"role": "admin"}):
        reply = client.post(
            f"/admin/usuarios/{admin.id}", data={"csrf_token": csrf, "full_name": admin.full_name, **data}
        )
        assert reply.status_code == 422 and "No puede quitarse el rol de administrador" in reply.text
        assert links(api_env, admin.id) == ("admin", set(), set(), True)
    renamed = client.post(
        f"/admin/usuarios/{admin.id}",
        data={"csrf_token": csrf, "full_name": "Ana Administradora", "role": "admin", "activo": "1"},
        follow_redirects=False,
    )
    assert renamed.status_code == 303
    with api_env.session() as session:
        assert session.get(User, admin.id).full_name == "Ana Administradora"


def test_edit_user_page_refused_to_other_roles(api_env):
    admin, _ = api_env.user("admin")
    target, _ = api_env.user("analyst")
    for role in ("analyst", "manager", "field"):
        kwargs = {"institution": "UFRO", "macrozones": ["Sur"]} if role == "field" else {}
        user, _ = api_env.user(role, **kwargs)
        client, csrf = login(api_env, user)
        for user_id in (target.id, user.id):
            assert client.get(f"/admin/usuarios/{user_id}").status_code == 403
            posted = client.post(
                f"/admin/usuarios/{user_id}",
                data={"csrf_token": csrf, "full_name": "X", "role": "admin", "activo": "1"},
            )
            assert posted.status_code == 403
    assert links(api_env, target.id)[0] == "analyst"
    client, _ = login(api_env, admin)
    assert client.get("/admin/usuarios/999999").status_code == 404


def test_api_patch_user_role_links_and_own_account(api_env):
    admin, headers = api_env.user("admin")
    aromos, quillay = add_cooperatives(api_env, ("Cooperativa Los Aromos", 13), ("Cooperativa El Quillay", 7))
    manager, manager_headers = api_env.user("manager", cooperatives=[aromos])
    field, _ = api_env.user("field", institution="UFRO", macrozones=["Sur"])

    both = api_env.client.patch(
        f"{API}/users/{manager.id}", json={"cooperative_ids": [aromos, quillay]}, headers=headers
    )
    assert both.status_code == 200 and both.json()["cooperative_ids"] == sorted([aromos, quillay])
    emptied = api_env.client.patch(f"{API}/users/{manager.id}", json={"cooperative_ids": []}, headers=headers)
    assert emptied.status_code == 422 and error_of(emptied)["details"][0]["field"] == "cooperative_ids"
    zones = api_env.client.patch(f"{API}/users/{manager.id}", json={"macrozones": ["Sur"]}, headers=headers)
    assert zones.status_code == 422 and error_of(zones)["details"][0]["code"] == "not_allowed"

    more_zones = api_env.client.patch(f"{API}/users/{field.id}", json={"macrozones": ["Sur", "Norte"]}, headers=headers)
    assert more_zones.status_code == 200 and more_zones.json()["macrozones"] == ["Norte", "Sur"]
    # Leaving the field team drops its macrozones.
    analyst = api_env.client.patch(f"{API}/users/{field.id}", json={"role": "analyst"}, headers=headers)
    assert analyst.status_code == 200 and analyst.json()["macrozones"] == []

    # Own account: no demotion, no deactivation; other changes are fine.
    for change, name in (
        ({"role": "manager", "cooperative_ids": [aromos]}, "role"),
        ({"is_active": False}, "is_active"),
    ):
        refused = api_env.client.patch(f"{API}/users/{admin.id}", json=change, headers=headers)
        assert refused.status_code == 403 and error_of(refused)["code"] == "own_account"
        assert error_of(refused)["details"][0]["field"] == name
    assert links(api_env, admin.id) == ("admin", set(), set(), True)
    assert (
        api_env.client.patch(f"{API}/users/{admin.id}", json={"full_name": "Otra"}, headers=headers).status_code == 200
    )

    # Not an admin: another account is not even seen (404), one's own is not theirs to change (403).
    assert (
        api_env.client.patch(f"{API}/users/{field.id}", json={"role": "admin"}, headers=manager_headers).status_code
        == 404
    )
    own = api_env.client.patch(f"{API}/users/{manager.id}", json={"role": "admin"}, headers=manager_headers)
    assert own.status_code == 403 and links(api_env, manager.id)[0] == "manager"


# --------------------------------------------------------------------------- invitations of existing accounts


def test_inviting_an_existing_manager_adds_the_cooperative(api_env):
    admin, headers = api_env.user("admin")
    _, analyst_headers = api_env.user("analyst")
    aromos, quillay, boldo = add_cooperatives(
        api_env, ("Cooperativa Los Aromos", 13), ("Cooperativa El Quillay", 7), ("Cooperativa El Boldo", 8)
    )
    manager, _ = api_env.user("manager", cooperatives=[aromos])
    body = {"email": manager.email.upper(), "full_name": "Otro Nombre", "role": "manager", "cooperative_ids": [quillay]}

    added = api_env.client.post(f"{API}/invitations", json=body, headers=headers)
    assert added.status_code == 200, added.text
    reply = added.json()
    assert reply["result"] == "access_added" and reply["added_cooperative_ids"] == [quillay]
    assert "Cooperativa El Quillay" in reply["message"] and reply["user"]["id"] == manager.id
    assert links(api_env, manager.id)[1] == {aromos, quillay}
    with api_env.session() as session:
        assert session.scalar(select(func.count()).select_from(Invitation)) == 0
        mail = session.scalars(select(OutboxEmail).where(OutboxEmail.kind == "access_added")).one()
        assert mail.to_address == manager.email and "Cooperativa El Quillay" in mail.body
        assert session.get(User, manager.id).full_name == manager.full_name  # the account keeps its name

    again = api_env.client.post(f"{API}/invitations", json=body, headers=headers)
    assert again.status_code == 409 and error_of(again)["code"] == "already_linked"
    # Analysts onboard managers: they may add a cooperative too.
    by_analyst = api_env.client.post(
        f"{API}/invitations", json={**body, "cooperative_ids": [boldo]}, headers=analyst_headers
    )
    assert by_analyst.status_code == 200 and links(api_env, manager.id)[1] == {aromos, quillay, boldo}

    # Another role for an existing account: refused, pointing to editing it.
    other_role = api_env.client.post(
        f"{API}/invitations", json={**body, "role": "field", "institution": "UFRO"}, headers=headers
    )
    assert other_role.status_code == 409 and error_of(other_role)["code"] == "account_exists"
    assert "edítela" in error_of(other_role)["message"] and links(api_env, manager.id)[0] == "manager"

    # A field team member gets more macrozones the same way.
    field, _ = api_env.user("field", institution="UFRO", macrozones=["Sur"])
    more = api_env.client.post(
        f"{API}/invitations",
        json={"email": field.email, "full_name": field.full_name, "role": "field", "macrozones": ["Austral"]},
        headers=headers,
    )
    assert more.status_code == 200 and more.json()["added_macrozones"] == ["Austral"]
    assert links(api_env, field.id)[2] == {"Sur", "Austral"}


def test_invitation_page_for_an_existing_account(api_env):
    admin, _ = api_env.user("admin")
    aromos, quillay = add_cooperatives(api_env, ("Cooperativa Los Aromos", 13), ("Cooperativa El Quillay", 7))
    manager, _ = api_env.user("manager", cooperatives=[aromos])
    analyst, _ = api_env.user("analyst")
    client, csrf = login(api_env, admin)
    form = {"csrf_token": csrf, "full_name": "Rosa", "role": "manager", "cooperative_ids": str(quillay)}

    added = client.post("/admin/invitaciones", data={**form, "email": manager.email})
    assert added.status_code == 200 and "ya tenía cuenta" in added.text
    assert "Cooperativa El Quillay" in added.text and f'href="/admin/usuarios/{manager.id}"' in added.text
    assert "Se muestra solo esta vez" not in added.text
    assert links(api_env, manager.id)[1] == {aromos, quillay}

    refused = client.post("/admin/invitaciones", data={**form, "email": analyst.email})
    assert refused.status_code == 422 and "analista" in refused.text
    assert f'href="/admin/usuarios/{analyst.id}"' in refused.text and links(api_env, analyst.id)[1] == set()


# --------------------------------------------------------------------------- choosing among many cooperatives


def test_cooperative_search_among_1500_keeps_the_chosen_ones(api_env):
    admin, _ = api_env.user("admin")
    rows = [
        {
            "rut": f"{72_000_000 + n}-0",
            "name": f"Cooperativa Número {n:04d}",
            "legal_type": "campesina",
            "region_code": 13,
            "approved": True,
            "sectors": [],
        }
        for n in range(1500)
    ]
    rows += [
        {"rut": f"{73_000_000 + n}-0", "name": f"Cooperativa Lechera del Sur {n}", "legal_type": "agricola",
         "region_code": 14, "approved": True, "sectors": []}
        for n in range(3)
    ]  # fmt: skip
    with api_env.session() as session:
        session.execute(insert(Cooperative), rows)
        session.commit()
        ids = {name: ident for name, ident in session.execute(select(Cooperative.name, Cooperative.id))}
    far = ids["Cooperativa Número 1234"]
    manager, _ = api_env.user("manager", cooperatives=[far])
    client, csrf = login(api_env, admin)

    page = client.get("/admin/invitaciones").text
    assert len(checkbox_ids(page)) == COOPERATIVE_CHOICES and "Se muestran 50 de 1.503 cooperativas" in page
    found = checkbox_ids(client.get("/admin/invitaciones", params={"q": "número 004"}).text)
    assert set(found) == {ids[f"Cooperativa Número {n:04d}"] for n in range(40, 50)}
    by_rut = checkbox_ids(client.get("/admin/invitaciones", params={"q": "72.000.777"}).text)
    assert set(by_rut) == {ids["Cooperativa Número 0777"]}
    south = checkbox_ids(client.get("/admin/invitaciones", params={"region": "14"}).text)
    assert set(south) == {ids[f"Cooperativa Lechera del Sur {n}"] for n in range(3)}

    # «Buscar» keeps what is checked (and the rest of the form) however little it matches.
    searched = client.post(
        "/admin/invitaciones",
        data={"csrf_token": csrf, "accion": "buscar", "q": "Lechera", "email": "nueva@example.cl",
              "full_name": "Nueva", "role": "manager", "cooperative_ids": [str(far)]},
    )  # fmt: skip
    boxes = checkbox_ids(searched.text)
    assert searched.status_code == 200 and boxes[far] is True and len(boxes) == 4
    assert 'value="nueva@example.cl"' in searched.text
    with api_env.session() as session:
        assert session.scalar(select(func.count()).select_from(Invitation)) == 0
    created = client.post(
        "/admin/invitaciones",
        data={"csrf_token": csrf, "q": "Lechera", "email": "nueva@example.cl", "full_name": "Nueva",
              "role": "manager", "cooperative_ids": [str(far), str(ids["Cooperativa Lechera del Sur 1"])]},
    )  # fmt: skip
    assert created.status_code == 201
    with api_env.session() as session:
        invitation = session.scalars(select(Invitation)).one()
        assert sorted(invitation.cooperative_ids) == sorted([far, ids["Cooperativa Lechera del Sur 1"]])

    # The account page lists the account's cooperatives whatever the search.
    edit = checkbox_ids(client.get(f"/admin/usuarios/{manager.id}", params={"q": "Lechera"}).text)
    assert edit[far] is True and len(edit) == 4
    unrelated = checkbox_ids(client.get(f"/admin/usuarios/{manager.id}").text)
    assert unrelated[far] is True and len(unrelated) == COOPERATIVE_CHOICES + 1

    # The script's search goes through the registry API, which the admin's session may read.
    api = client.get(f"{API}/cooperatives", params={"q": "Lechera", "region": 14, "approved": "true", "per_page": 50})
    assert api.status_code == 200 and api.json()["total"] == 3


# --------------------------------------------------------------------------- questionnaire preview


def test_questionnaire_preview_page_and_downloads(api_env):
    admin, _ = api_env.user("admin")
    analyst, _ = api_env.user("analyst")
    with api_env.session() as session:
        row = session.scalars(
            select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == "prueba-mini")
        ).one()
        version_id, source = row.id, row.source
    client, _ = login(api_env, admin)
    listing = client.get("/admin/cuestionarios").text
    assert f'href="/admin/cuestionarios/{version_id}"' in listing
    assert f'href="/api/v1/questionnaires/{version_id}/xlsform"' in listing

    page = client.get(f"/admin/cuestionarios/{version_id}")
    assert page.status_code == 200
    text = page.text
    assert "Se pregunta si:</strong> «¿El consejo de administración tiene su mandato vigente?» es «Sí»" in text
    assert "«Activo corriente según el último balance (CLP)» ÷ «Pasivo corriente según el último balance (CLP)»" in text
    assert (
        "menos de 1: 0\u00a0%" in text and "de 1 a menos de 1,5: 50\u00a0%" in text and "1,5 o más: 100\u00a0%" in text
    )
    assert "Crítica" in text and "Parcialmente: 50\u00a0%" in text and "desde 0 CLP" in text
    assert f'href="/api/v1/questionnaires/{version_id}/xlsform"' in text
    assert f'href="/admin/cuestionarios/{version_id}/fuente"' in text

    xlsform = client.get(f"/api/v1/questionnaires/{version_id}/xlsform")
    assert xlsform.status_code == 200 and xlsform.content[:2] == b"PK"
    download = client.get(f"/admin/cuestionarios/{version_id}/fuente")
    assert download.status_code == 200 and download.text == source
    assert 'filename="prueba-mini-2026.1.yaml"' in download.headers["content-disposition"]

    assert client.get("/admin/cuestionarios/999999").status_code == 404
    other, _ = login(api_env, analyst)
    assert other.get(f"/admin/cuestionarios/{version_id}").status_code == 403
    assert other.get(f"/admin/cuestionarios/{version_id}/fuente").status_code == 403


def test_conditions_and_checks_in_words():
    questionnaire = load_questionnaire_file(ROOT / "questionnaires" / "nacional-2027.1.yaml").questionnaire
    assert expression_in_words(
        "selected(gerencia, 'gerente_remunerado') or selected(gerencia, 'dirigente_voluntario')", questionnaire
    ) == (
        "«¿Quién se encarga de la administración diaria del negocio de la cooperativa?» es "
        "«Un gerente o administrador remunerado» o «Un dirigente o socio, sin remuneración»"
    )
    words = expression_in_words("socias_mujeres + socios_hombres == socios_total", questionnaire)
    assert words.endswith("es igual a «¿Cuántas personas son socias de la organización hoy?»")
    assert "(socias_mujeres)" in words  # a text several questions share is told apart by its id
    assert expression_in_words("not (junta_realizada == true and socios_total > 3)", questionnaire).startswith(
        "no se cumple que («En los últimos doce meses"
    )
    assert expression_in_words("(activo_total - pasivo_total) / activo_total", questionnaire).startswith(
        "(«Activo total"
    )
    assert band_in_words(Band(min=0.5, max=None, score=1.0), "veces") == "0,5 veces o más: 100\u00a0%"
