"""The cooperative registry API: RUT rules, search and filters, derived macrozone,
visibility and permission matrix, registrations by field teams awaiting approval.
Every API test runs on SQLite and on PostgreSQL (``api_env``)."""

from __future__ import annotations

import pytest

from app.cooperatives.models import Cooperative
from app.cooperatives.schemas import format_rut, normalize_rut

API = "/api/v1/cooperatives"

# Valid RUTs (check digits computed modulo 11); 76000006-K has a K.
RUT_A, RUT_B, RUT_C, RUT_D, RUT_K = "76000000-0", "76000001-9", "76000002-7", "76000003-5", "76000006-K"


def add_cooperative(env, **fields) -> int:
    values = {
        "rut": RUT_A,
        "name": "Cooperativa de prueba",
        "legal_type": "agricola",
        "state": "activa",
        "region_code": 7,
        "sectors": [],
        "approved": True,
    }
    values.update(fields)
    with env.session() as session:
        cooperative = Cooperative(**values)
        session.add(cooperative)
        session.commit()
        return cooperative.id


def new_body(**fields) -> dict:
    body = {
        "rut": "76.000.001-9",
        "name": "Cooperativa Campesina Los Álamos",
        "legal_type": "campesina",
        "region_code": 16,
        "comuna": "Chillán",
        "sectors": ["berries", "lacteos"],
        "members_women": 12,
        "members_men": 20,
        "members_under_35": 5,
        "founding_year": 1998,
        "contact_name": "María Pérez",
        "contact_email": "Maria.Perez@Ejemplo.cl",
        "contact_phone": "+56 9 1234 5678",
    }
    body.update(fields)
    return body


def ids(response) -> set[int]:
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


def error_fields(response) -> set[str]:
    return {detail["field"] for detail in response.json()["error"]["details"]}


# --------------------------------------------------------------------------- RUT (pure)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("76.000.006-k", "76000006-K"),
        ("76000006K", "76000006-K"),
        ("76000006-K", "76000006-K"),
        (" 76.000.001-9 ", "76000001-9"),
        ("760000019", "76000001-9"),
        ("76000001-9", "76000001-9"),
    ],
)
def test_rut_is_normalised(text, expected):
    assert normalize_rut(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"), [("76000001-8", "dígito verificador"), ("hola", "no es un RUT"), ("", "falta")]
)
def test_bad_rut_has_a_spanish_message(text, fragment):
    with pytest.raises(ValueError, match=fragment):
        normalize_rut(text)


def test_rut_display_format():
    assert format_rut("76000006-K") == "76.000.006-K"
    assert format_rut("1234567-4") == "1.234.567-4"


# --------------------------------------------------------------------------- creating


def test_create_validates_normalises_and_refuses_duplicates(api_env):
    env = api_env
    _, admin = env.user("admin", password=None)

    created = env.client.post(API, json=new_body(rut="76.000.006-k"), headers=admin)
    assert created.status_code == 201, created.text
    data = created.json()
    assert data["rut"] == RUT_K and data["rut_formatted"] == "76.000.006-K"
    assert data["macrozone"] == "Centro-Sur" and data["region_name"] == "Ñuble"
    assert data["approved"] is True
    assert data["members_total"] == 32
    assert data["contact_email"] == "maria.perez@ejemplo.cl"
    assert data["sector_labels"] == ["Berries", "Lácteos"]
    assert data["legal_type_label"] == "Cooperativa campesina"

    # The same RUT in another format: 409 naming the registered cooperative.
    duplicate = env.client.post(API, json=new_body(rut="76000006k", name="Otra"), headers=admin)
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "duplicate_rut"
    assert "Los Álamos" in duplicate.json()["error"]["message"]

    bad = env.client.post(
        API,
        json=new_body(
            rut="76000001-8", region_code=17, sectors=["trigo"], contact_email="no-es-correo", legal_type="sa"
        ),
        headers=admin,
    )
    assert bad.status_code == 422
    assert error_fields(bad) == {"rut", "region_code", "sectors", "contact_email", "legal_type"}
    messages = " ".join(d["message"] for d in bad.json()["error"]["details"])
    assert "dígito verificador" in messages and "región" in messages and "trigo" in messages

    too_young = env.client.post(API, json=new_body(members_under_35=40), headers=admin)
    assert too_young.status_code == 422 and error_fields(too_young) == {"members_under_35"}
    future = env.client.post(API, json=new_body(founding_year=2999), headers=admin)
    assert future.status_code == 422 and error_fields(future) == {"founding_year"}
    old = env.client.post(API, json=new_body(founding_year=1850), headers=admin)
    assert old.status_code == 422 and error_fields(old) == {"founding_year"}
    negative = env.client.post(API, json=new_body(members_women=-1), headers=admin)
    assert negative.status_code == 422 and error_fields(negative) == {"members_women"}
    extra = env.client.post(API, json=new_body(approved=True), headers=admin)
    assert extra.status_code == 422 and error_fields(extra) == {"approved"}

    with env.session() as session:
        assert session.query(Cooperative).count() == 1  # nothing else was stored


def test_patch_changes_only_what_is_sent_and_validates(api_env):
    env = api_env
    _, analyst = env.user("analyst", password=None)
    coop = add_cooperative(env, rut=RUT_A, name="Cooperativa Uno", members_women=3, members_men=3)
    add_cooperative(env, rut=RUT_B, name="Cooperativa Dos")

    changed = env.client.patch(
        f"{API}/{coop}", json={"region_code": 13, "comuna": None, "rut": "76.000.002-7"}, headers=analyst
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["macrozone"] == "Centro" and changed.json()["rut"] == RUT_C
    assert changed.json()["name"] == "Cooperativa Uno"

    duplicate = env.client.patch(f"{API}/{coop}", json={"rut": RUT_B}, headers=analyst)
    assert duplicate.status_code == 409 and "Cooperativa Dos" in duplicate.json()["error"]["message"]
    cleared = env.client.patch(f"{API}/{coop}", json={"name": None, "sectors": None}, headers=analyst)
    assert cleared.status_code == 422 and error_fields(cleared) == {"name", "sectors"}
    # Checked against the stored members: 7 under 35 of 6 members.
    merged = env.client.patch(f"{API}/{coop}", json={"members_under_35": 7}, headers=analyst)
    assert merged.status_code == 422 and error_fields(merged) == {"members_under_35"}

    after = env.client.get(f"{API}/{coop}", headers=analyst).json()
    assert after["rut"] == RUT_C and after["members_under_35"] is None and after["name"] == "Cooperativa Uno"


# --------------------------------------------------------------------------- search and filters


def test_search_and_filters(api_env):
    env = api_env
    _, admin = env.user("admin", password=None)
    nuble = add_cooperative(
        env,
        rut=RUT_A,
        name="Cooperativa Campesina ÑUBLE Sur",
        region_code=16,
        sectors=["berries", "lacteos"],
        legal_type="campesina",
    )
    maule = add_cooperative(
        env,
        rut=RUT_B,
        name="Vitivinícola del Maule",
        region_code=7,
        sectors=["vitivinicola"],
        legal_type="agricola",
        state="inactiva",
    )
    norte = add_cooperative(
        env,
        rut=RUT_K,
        name="Apícola Atacama",
        region_code=3,
        sectors=["apicola"],
        legal_type="servicios",
        approved=False,
    )
    stgo = add_cooperative(
        env,
        rut=RUT_D,
        name="Lechera Metropolitana",
        region_code=13,
        sectors=["lacteos"],
        legal_type="agricola",
        state="en_formacion",
        legally_current=False,
    )

    def search(**params):
        return ids(env.client.get(API, params=params, headers=admin))

    assert search() == {nuble, maule, norte, stgo}
    # name: case and accent insensitive
    assert search(q="ñuble") == {nuble}
    assert search(q="nuble") == {nuble}
    assert search(q="VITIVINICOLA") == {maule}
    assert search(q="apícola") == {norte}
    assert search(q="no existe") == set()
    assert search(q="50%") == set()  # LIKE wildcards are literal
    # RUT in any format
    assert search(q="76.000.006-k") == {norte}
    assert search(q="76000006K") == {norte}
    assert search(q="76000001-9") == {maule}
    assert search(q="760000019") == {maule}
    # filters
    assert search(region=16) == {nuble}
    assert search(macrozone="Centro-Sur") == {nuble, maule}
    assert search(macrozone="Norte") == {norte}
    assert search(sector="lacteos") == {nuble, stgo}
    assert search(sector="lacteos", macrozone="Centro") == {stgo}
    assert search(legal_type="agricola") == {maule, stgo}
    assert search(state="inactiva") == {maule}
    assert search(state="en_formacion") == {stgo}
    assert search(approved="false") == {norte}
    assert search(approved="true") == {nuble, maule, stgo}

    listed = env.client.get(API, params={"per_page": 2, "page": 2}, headers=admin).json()
    assert listed["total"] == 4 and listed["pages"] == 2 and len(listed["items"]) == 2
    names = [item["name"] for item in env.client.get(API, headers=admin).json()["items"]]
    assert names == sorted(names)
    by_id = {item["id"]: item for item in env.client.get(API, headers=admin).json()["items"]}
    assert by_id[norte]["macrozone"] == "Norte" and by_id[stgo]["legally_current"] is False

    for params, field in [
        ({"region": 17}, "region"),
        ({"macrozone": "Oriente"}, "macrozone"),
        ({"sector": "trigo"}, "sector"),
        ({"legal_type": "sa"}, "legal_type"),
        ({"state": "x"}, "state"),
        ({"per_page": 0}, "per_page"),
    ]:
        refused = env.client.get(API, params=params, headers=admin)
        assert refused.status_code == 422, params
        assert error_fields(refused) == {field}


def test_macrozone_follows_the_configured_mapping(api_env):
    from app.cooperatives.service import to_dict
    from app.settings import Settings

    env = api_env
    coop = add_cooperative(env, region_code=16)
    custom = Settings(
        database_url=env.settings.database_url,
        macrozones={"Todo el norte": [15, 1, 2, 3, 4, 5, 13, 6], "Todo el sur": [7, 16, 8, 9, 14, 10, 11, 12]},
    )
    with env.session() as session:
        cooperative = session.get(Cooperative, coop)
        assert to_dict(cooperative, env.settings)["macrozone"] == "Centro-Sur"
        assert to_dict(cooperative, custom)["macrozone"] == "Todo el sur"

    _, field = env.user("field", password=None)
    regions = env.client.get("/api/v1/regions", headers=field).json()
    assert len(regions) == 16
    assert {"code": 16, "name": "Ñuble", "macrozone": "Centro-Sur"} in regions
    sectors = env.client.get("/api/v1/sectors", headers=field).json()
    assert {"code": "lacteos", "label": "Lácteos"} in sectors


# --------------------------------------------------------------------------- authorization matrix


@pytest.fixture
def matrix(api_env):
    """Cooperative ``own`` (Maule, Centro-Sur) and ``other`` (Metropolitana, Centro), and a
    user of each kind: admin, analyst, the manager of ``own``, a field member assigned
    ``own``, a field member with the Centro macrozone (sees ``other``)."""
    env = api_env
    own = add_cooperative(env, rut=RUT_A, name="Propia", region_code=7)
    other = add_cooperative(env, rut=RUT_B, name="Ajena", region_code=13)
    headers = {
        "admin": env.user("admin", password=None)[1],
        "analyst": env.user("analyst", password=None)[1],
        "manager": env.user("manager", cooperatives=[own], password=None)[1],
        "field": env.user("field", cooperatives=[own], institution="Universidad de Talca", password=None)[1],
        "field_zone": env.user("field", macrozones=["Centro"], password=None)[1],
        "nobody": {},
    }
    return env, own, other, headers


# role -> (sees own, sees other)
VISIBLE = {
    "admin": (True, True),
    "analyst": (True, True),
    "manager": (True, False),
    "field": (True, False),
    "field_zone": (False, True),
}


def test_visibility_matrix(matrix):
    env, own, other, headers = matrix
    for role, (sees_own, sees_other) in VISIBLE.items():
        listed = ids(env.client.get(API, headers=headers[role]))
        assert listed == {c for c, seen in ((own, sees_own), (other, sees_other)) if seen}, role
        for coop, seen in ((own, sees_own), (other, sees_other)):
            response = env.client.get(f"{API}/{coop}", headers=headers[role])
            assert response.status_code == (200 if seen else 404), (role, coop)
            if not seen:
                assert response.json()["error"]["code"] == "not_found"
    assert env.client.get(f"{API}/999999", headers=headers["admin"]).status_code == 404
    for path in (API, f"{API}/{own}", "/api/v1/regions", "/api/v1/sectors"):
        assert env.client.get(path).status_code == 401
    # searching does not reveal invisible cooperatives
    assert ids(env.client.get(API, params={"q": "Ajena"}, headers=headers["manager"])) == set()


def test_edit_and_approve_matrix(matrix):
    env, own, other, headers = matrix
    patch = lambda role, coop, body: env.client.patch(f"{API}/{coop}", json=body, headers=headers[role])  # noqa: E731
    approve = lambda role, coop: env.client.post(f"{API}/{coop}/approve", headers=headers[role])  # noqa: E731

    # role -> expected status for (own, other) with a registry field
    expected_registry = {
        "admin": (200, 200),
        "analyst": (200, 200),
        "manager": (403, 404),
        "field": (403, 404),
        "field_zone": (404, 403),
        "nobody": (401, 401),
    }
    for role, (own_status, other_status) in expected_registry.items():
        assert patch(role, own, {"comuna": "Talca"}).status_code == own_status, role
        assert patch(role, other, {"comuna": "Santiago"}).status_code == other_status, role

    # A manager changes only the contact data of their cooperative; a mixed request changes nothing.
    contact = patch("manager", own, {"contact_name": "Juan Soto", "contact_phone": "+56 71 222 3333"})
    assert contact.status_code == 200 and contact.json()["contact_name"] == "Juan Soto"
    mixed = patch("manager", own, {"contact_name": "Otro", "name": "Nuevo nombre"})
    assert mixed.status_code == 403 and error_fields(mixed) == {"name"}
    assert "contacto" in mixed.json()["error"]["message"]
    assert env.client.get(f"{API}/{own}", headers=headers["manager"]).json()["contact_name"] == "Juan Soto"
    assert patch("manager", other, {"contact_name": "X"}).status_code == 404

    expected_approve = {
        "admin": (200, 200),
        "analyst": (200, 200),
        "manager": (403, 404),
        "field": (403, 404),
        "field_zone": (404, 403),
        "nobody": (401, 401),
    }
    for role, (own_status, other_status) in expected_approve.items():
        assert approve(role, own).status_code == own_status, role
        assert approve(role, other).status_code == other_status, role

    body = new_body(rut=RUT_C, name="Nueva")
    expected_create = {"admin": 201, "analyst": 201, "manager": 403, "field": 201, "nobody": 401}
    for index, (role, status) in enumerate(expected_create.items()):
        body = new_body(rut=[RUT_C, RUT_D, RUT_K, "76000007-8", "76000008-6"][index], name=f"Nueva {role}")
        response = env.client.post(API, json=body, headers=headers[role])
        assert response.status_code == status, (role, response.text)
        if status == 201:
            assert response.json()["approved"] is (role != "field")


def test_field_registration_waits_for_approval(matrix):
    env, own, other, headers = matrix
    created = env.client.post(
        API, json=new_body(rut=RUT_K, name="Cooperativa en terreno", region_code=9), headers=headers["field"]
    )
    assert created.status_code == 201
    pending = created.json()
    assert pending["approved"] is False and pending["macrozone"] == "Sur"

    # The field member who registered it sees it (it is assigned to them); others in other zones do not.
    assert env.client.get(f"{API}/{pending['id']}", headers=headers["field"]).status_code == 200
    assert pending["id"] in ids(env.client.get(API, headers=headers["field"]))
    assert env.client.get(f"{API}/{pending['id']}", headers=headers["field_zone"]).status_code == 404
    assert env.client.get(f"{API}/{pending['id']}", headers=headers["manager"]).status_code == 404
    # They cannot approve their own registration.
    assert env.client.post(f"{API}/{pending['id']}/approve", headers=headers["field"]).status_code == 403

    # An analyst finds it among the pending ones and approves it.
    assert ids(env.client.get(API, params={"approved": "false"}, headers=headers["analyst"])) == {pending["id"]}
    approved = env.client.post(f"{API}/{pending['id']}/approve", headers=headers["analyst"])
    assert approved.status_code == 200 and approved.json()["approved"] is True
    assert ids(env.client.get(API, params={"approved": "false"}, headers=headers["analyst"])) == set()
    again = env.client.post(f"{API}/{pending['id']}/approve", headers=headers["admin"])
    assert again.status_code == 200 and again.json()["approved"] is True
    assert env.client.get(f"{API}/{pending['id']}", headers=headers["field"]).json()["approved"] is True


def test_duplicate_rut_names_the_cooperative_only_to_who_may_see_it(api_env):
    """Issue 14.7: a field team member registering a RUT held by a cooperative of another
    region is refused without learning which one; who may see it is told, with its id."""
    env = api_env
    south = add_cooperative(env, rut=RUT_C, name="Cooperativa Secreta del Sur", region_code=9)
    _, field = env.user("field", macrozones=["Centro-Sur"], password=None)  # Maule, Ñuble, Biobío
    _, admin = env.user("admin", password=None)

    hidden = env.client.post(API, json=new_body(rut=RUT_C, region_code=7), headers=field)
    assert hidden.status_code == 409
    error = hidden.json()["error"]
    assert error["code"] == "rut_unavailable"
    assert error["message"] == "No se puede registrar este RUT; si cree que es un error, contacte al equipo de ODEPA."
    assert "Secreta" not in hidden.text and str(south) not in hidden.text and "existing" not in error

    shown = env.client.post(API, json=new_body(rut=RUT_C, region_code=7), headers=admin)
    assert shown.status_code == 409 and shown.json()["error"]["code"] == "duplicate_rut"
    assert "Cooperativa Secreta del Sur" in shown.json()["error"]["message"]
    assert shown.json()["error"]["existing"] == {"id": south, "url": f"{API}/{south}", "rut": RUT_C}

    # One in the field member's own macrozone: they may see it, so they are told which.
    maule = add_cooperative(env, rut=RUT_D, name="Cooperativa Vecina", region_code=7)
    visible = env.client.post(API, json=new_body(rut=RUT_D), headers=field)
    assert visible.status_code == 409 and "Cooperativa Vecina" in visible.json()["error"]["message"]
    assert visible.json()["error"]["existing"]["id"] == maule
    with env.session() as session:
        assert session.query(Cooperative).count() == 2  # nothing registered
