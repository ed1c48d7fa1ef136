"""Hostile input never makes the server fail (issue 14): Unicode digits, numbers of thousands
of digits, control and bidirectional characters, non-characters and deeply nested JSON in
every path parameter, the common query parameters, cookies, headers, form fields and JSON
bodies of EVERY route (``app.routes``, API and pages) answer 4xx, never 5xx, on both databases.

The walk reuses the world of tests/test_route_matrix.py (its users, logins, CSRF tokens and the
records behind each path parameter); the focused tests below pin each finding of the audit.
"""

from __future__ import annotations

import itertools
import re
from typing import Any
from urllib.parse import quote

import pytest
from argon2 import PasswordHasher
from fastapi import Depends
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.auth import security
from app.cooperatives.models import Cooperative
from app.headers import CONTENT_SECURITY_POLICY
from app.responses.models import Response
from app.rounds.models import DiagnosisRound
from app.user_input import MAX_ID, is_blank, json_problem, parse_id, parse_int, text_problem
from app.web.deps import WebPage, web_page
from test_route_matrix import COMPLETE, PUBLIC, RULES, UNCHECKED, World, app_routes, is_page
from test_route_matrix import Rule as RouteRule

NUL = "\x00"
HOSTILE = ("²", "١٢", "9" * 5000, NUL, "\uffff", "\u202e", "1e308", "-1")
#: The query parameters the pages and the API read (grep ``query_params`` and ``Query(``).
QUERY = (
    "pagina", "region", "page", "per_page", "q", "ronda", "cooperativa", "estado", "luz", "rol", "rubro",
    "tipo", "macrozona", "siguiente", "from", "to", "dry_run", "format", "shape", "status", "flavour", "bom",
    "separator", "by", "approved", "legal_type", "state", "sector", "macrozone", "role", "pending", "source",
    "all_or_nothing", "current_only", "questionnaire_id", "round_id", "cooperative_id",
)  # fmt: skip
#: Form fields the pages read besides each route's own (``request.form`` names in app/web).
FORM_FIELDS = (
    "name", "full_name", "email", "password", "password_confirmation", "institution", "role", "comment",
    "reopen_comment", "rut", "legal_type", "region_code", "comuna", "members_women", "members_men",
    "contact_name", "contact_email", "contact_phone", "sectors", "cooperative_ids", "macrozones",
    "questionnaire_version_id", "opens_on", "closes_on", "state", "version", "activo", "accion", "tipo",
    "ronda", "cooperativa", "idempotency_key", "institucion", "lugar", "cargo", "shown", "siguiente",
    "interviewer_name", "interview_date", "interview_place", "interviewee_role", "a.junta_anual", "e.junta_anual", "a.actas_al_dia", "q",
)  # fmt: skip
DEEP_JSON = b"[" * 10_000 + b"]" * 10_000
ROLES = ("anon", "admin", "manager")
SECURITY = ("content-security-policy", "x-frame-options", "x-content-type-options", "referrer-policy")


@pytest.fixture
def world(api_env, monkeypatch) -> World:
    monkeypatch.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    return World(api_env)


def all_routes(app) -> dict[tuple[str, str], RouteRule]:
    """Every route of the app with its rule of the route matrix (the unchecked ones: public),
    plus a static file and paths no route has."""
    routes = {key: RULES.get(key, RouteRule(gate=PUBLIC)) for key in app_routes(app)}
    assert set(routes) == set(RULES) | UNCHECKED, "tests/test_route_matrix.py classifies every route"
    for path in ("/static/{file}", "/{segment}", "/api/v1/{segment}"):
        routes[("GET", path)] = RouteRule(gate=PUBLIC)
    return routes


def path_names(path: str) -> list[str]:
    return re.findall(r"\{(\w+)\}", path)


def header(value: str) -> bytes:
    return value.encode("utf-8")


class Walker:
    """Sends one request of a route as a role, with hostile values where asked."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.client = TestClient(world.env.client.app, follow_redirects=False, raise_server_exceptions=False)
        self.calls = 0
        self.failures: list[str] = []

    def login(self, rule: RouteRule, role: str):
        if role == "anon":
            return None
        if rule.spare == "account":
            return self.world.open_session(self.world.account(role, password="clave-segura-123"))
        if rule.spare == "session":
            return self.world.open_session(self.world.spare(role))
        return self.world.sessions[role]

    def ids(self, method: str, path: str, rule: RouteRule, role: str, login) -> dict[str, Any]:
        known = {"file": "style.css", "segment": "inicio"}
        names = path_names(path)
        if set(names) <= set(known):
            return {"_session": login, **{name: known[name] for name in names}}
        return self.world.ids(method, path, rule, role, "own", login)

    def send(
        self,
        method: str,
        path: str,
        rule: RouteRule,
        role: str,
        *,
        value: str,
        where: str,
        label: str,
    ):
        """``where``: path:<name>, query, body, cookie, deep (nested JSON), upload (file name)."""
        login = self.login(rule, role)
        ids = self.ids(method, path, rule, role, login)
        segments = {k: quote(str(v), safe="") for k, v in ids.items() if not k.startswith("_")}
        if where.startswith("path:"):
            segments[where[5:]] = quote(value, safe="")
        url = path.format(**segments)
        request = rule.request(self.world, role, "own", ids) if rule.request and method != "GET" else {}
        request = {key: dict(val) if isinstance(val, dict) else val for key, val in request.items()}
        headers: dict[str, Any] = dict(request.pop("headers", {}))
        cookies = []
        if login is not None:
            cookies.append(f"coopdiag_session={login.cookie}")
        if where.startswith("query"):  # query:N: ten parameters from the Nth (a URL holds 64 kB)
            start = int(where.partition(":")[2] or 0)
            request["params"] = {name: value for name in (QUERY[start : start + 10] if ":" in where else QUERY)}
        elif where == "cookie":
            if login is None:
                cookies = [f"coopdiag_session={value}"]
                headers["Authorization"] = header(f"Bearer {value}")
            cookies.append(f"coopdiag_flash={value}")
            cookies += [f"coopdiag_seccion_{ident}={value}" for ident in self.world.fixed.values()]
        elif where == "body":
            if is_page(path):
                request["data"] = {name: value for name in (*request.get("data", {}), *FORM_FIELDS)}
                request["data"]["shown"] = ["junta_anual", "actas_al_dia", value]  # the questions read
            elif "json" in request:
                request["json"] = hostile_json(request["json"], value)
            elif "data" in request:  # a multipart form of the API (ODK import)
                request["data"] = {name: value for name in request["data"]}
            else:
                request["json"] = {"version": value, "answers": {value: value}, "comment": value, "name": value}
            headers["Idempotency-Key"] = header(value)
            headers["If-Match"] = header(f'"{value}"')
        elif where == "deep":
            request.pop("json", None)
            request.pop("data", None)
            request.pop("files", None)
            request["content"] = DEEP_JSON
            headers["Content-Type"] = "application/json"
        elif where == "upload":
            if not request.get("files"):
                return None
            request["files"] = {name: (value, *rest[1:]) for name, rest in request["files"].items()}
        if login is not None and method != "GET":
            if is_page(path):
                if "data" in request or "files" in request:
                    request["data"] = {**request.get("data", {}), "csrf_token": login.csrf}
            else:
                headers["X-CSRF-Token"] = login.csrf
        if method != "GET" and not is_page(path) and not set(request) & {"json", "data", "files", "content"}:
            request["json"] = {}
        if cookies:
            headers["Cookie"] = header("; ".join(cookies))
        reply = self.client.request(method, url, headers=headers, **request)
        self.calls += 1
        if reply.status_code >= 500:
            self.failures.append(
                f"{method} {path} as {role}, {where}={label}: {reply.status_code} {reply.text[:200]!r}"
            )
        return reply


def hostile_json(body: Any, value: str) -> Any:
    """The body with every text and number replaced by ``value`` (keys of answers too)."""
    if isinstance(body, dict):
        replaced = {key: hostile_json(item, value) for key, item in body.items()}
        if "answers" in body:
            replaced["answers"] = {value: value, "junta_anual": value}
        return replaced
    if isinstance(body, list):
        return [hostile_json(item, value) for item in body] or [value]
    if isinstance(body, bool) or body is None:
        return body
    return value


def show(value: str) -> str:
    return repr(value if len(value) < 20 else value[:3] + f"…({len(value)})")


# --------------------------------------------------------------------------- the walk


def test_every_route_survives_hostile_input(world):
    """Each route, as anonymous, as an admin and as a manager: each hostile value in each path
    parameter, in every common query parameter, in the cookies (and a bearer token), in every
    form field or JSON leaf (with the Idempotency-Key and If-Match headers), as a file name,
    and a JSON body nested 10,000 levels. No answer is a 5xx."""
    walker = Walker(world)
    routes = all_routes(world.env.client.app)
    turn = itertools.count()
    for (method, path), rule in sorted(routes.items()):
        has_body = method != "GET"
        for role in ROLES:
            # The admin gets every value everywhere; the others a rotating sample.
            values = HOSTILE if role == "admin" else (HOSTILE[next(turn) % len(HOSTILE)],)
            for value in values:
                places = [f"path:{name}" for name in path_names(path)]
                places += [f"query:{n}" for n in range(0, len(QUERY), 10)] if len(value) > 1000 else ["query"]
                if has_body:
                    places.append("body")
                if role != "admin" or value in (NUL, "9" * 5000):
                    places.append("cookie")
                if has_body:
                    places.append("upload")  # when the route takes a file
                for where in places:
                    walker.send(method, path, rule, role, value=value, where=where, label=show(value))
            if has_body and not is_page(path):
                walker.send(method, path, rule, role, value="", where="deep", label="[" * 3 + "…")
    print(f"{walker.calls} calls")
    assert walker.calls > 1500
    assert not walker.failures, f"{len(walker.failures)} of {walker.calls} calls:\n" + "\n".join(walker.failures)


# --------------------------------------------------------------------------- the audit's findings


def test_unicode_digits_in_a_path_are_not_found(api_env):
    client = api_env.client
    reply = client.get("/%C2%B2", follow_redirects=False)
    assert reply.status_code == 404 and "Página no encontrada" in reply.text
    assert client.get("/api/v1/responses/%C2%B2").status_code == 401  # anonymous: who asks comes first
    _, headers = api_env.user("admin", password=None)
    for url in ("/api/v1/responses/%C2%B2", "/api/v1/responses/%D9%A1%D9%A2", "/api/v1/rounds/1e308"):
        reply = client.get(url, headers=headers)
        assert reply.status_code in (404, 422), (url, reply.status_code, reply.text[:200])
        assert reply.json()["error"]["code"] in ("not_found", "invalid")


def test_a_path_segment_of_5000_digits_is_not_found(api_env):
    _, headers = api_env.user("admin", password=None)
    for url in (f"/api/v1/responses/{'9' * 5000}", f"/diagnosticos/{'9' * 5000}", f"/{'9' * 5000}"):
        reply = api_env.client.get(url, headers=headers, follow_redirects=False)
        assert reply.status_code == 404, (url[:40], reply.status_code)


@pytest.mark.parametrize("parameter", ["pagina", "region"])
def test_unicode_digits_in_the_query_are_ignored(world, parameter):
    """A page number or region that is not ASCII digits is not one: the list's first page."""
    client = TestClient(world.env.client.app, follow_redirects=False)
    client.cookies.set("coopdiag_session", world.sessions["admin"].cookie)
    for url in ("/analisis/cooperativas", "/admin/usuarios"):
        reply = client.get(url, params={parameter: "²"})
        assert reply.status_code == 200, (url, reply.status_code, reply.text[:200])


def test_unicode_digits_in_an_id_list_are_refused(world):
    admin = world.sessions["admin"]
    client = TestClient(world.env.client.app, follow_redirects=False)
    client.cookies.set("coopdiag_session", admin.cookie)
    with world.env.session() as session:
        before = session.scalar(select(func.count()).select_from(Cooperative))
    reply = client.post(
        "/admin/invitaciones",
        data={
            "csrf_token": admin.csrf,
            "email": "nueva@example.cl",
            "full_name": "Persona Nueva",
            "role": "manager",
            "cooperative_ids": ["²", str(world.coop["own"])],
        },
    )
    assert reply.status_code == 422, reply.text[:300]
    assert "Elija las cooperativas de la lista." in reply.text
    with world.env.session() as session:
        assert session.scalar(select(func.count()).select_from(Cooperative)) == before


def test_a_cookie_of_5000_digits_is_no_session(world):
    client = TestClient(world.env.client.app, follow_redirects=False)
    response_id = world.fixed[("own", "self/draft")]
    manager = world.sessions["manager"]
    for cookie in ("9" * 5000, "²", NUL):
        reply = client.get("/inicio", headers={"Cookie": header(f"coopdiag_session={cookie}")})
        assert reply.status_code == 303 and reply.headers["location"] == "/ingresar"
        # The manager's «last section» cookie: a number the form reads.
        reply = client.get(
            f"/diagnosticos/{response_id}",
            headers={"Cookie": header(f"coopdiag_session={manager.cookie}; coopdiag_seccion_{response_id}={cookie}")},
        )
        assert reply.status_code == 303 and reply.headers["location"].startswith(f"/diagnosticos/{response_id}/")


def test_nul_in_a_form_field_is_refused_naming_the_field(world):
    """A NUL in the round form is a 422 page naming the field, not a 500 nor «número fuera
    de rango»; nothing is saved."""
    admin = world.sessions["admin"]
    client = TestClient(world.env.client.app, follow_redirects=False)
    client.cookies.set("coopdiag_session", admin.cookie)
    reply = client.post(
        "/admin/rondas/nueva",
        data={
            "csrf_token": admin.csrf,
            "name": f"Ronda{NUL}maliciosa",
            "questionnaire_version_id": str(world.version_id),
            "opens_on": "2026-01-01",
            "closes_on": "2026-12-31",
            "state": "open",
        },
    )
    assert reply.status_code == 422, reply.text[:300]
    assert "El campo «Nombre» contiene caracteres no permitidos (NUL)." in reply.text
    assert "fuera del rango" not in reply.text
    assert reply.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    with world.env.session() as session:
        assert session.scalar(select(DiagnosisRound).where(DiagnosisRound.name.like("Ronda%maliciosa"))) is None
    # An answer of the questionnaire: the response is not touched.
    manager = world.sessions["manager"]
    response_id = world.fixed[("own", "self/draft")]
    as_manager = TestClient(world.env.client.app, follow_redirects=False)
    as_manager.cookies.set("coopdiag_session", manager.cookie)
    reply = as_manager.post(
        f"/diagnosticos/{response_id}/seccion/1",
        data={"csrf_token": manager.csrf, "version": "1", "shown": "junta_anual", "a.junta_anual": f"si{NUL}"},
    )
    assert reply.status_code == 422 and "«Respuesta a la pregunta junta_anual»" in reply.text
    with world.env.session() as session:
        row = session.get(Response, response_id)
        assert row.version == 1 and row.answers == COMPLETE
    # The same on the login page, anonymous, and for a bidirectional override.
    reply = client.post("/ingresar", data={"email": "a@example.cl\u202e", "password": "x"})
    assert reply.status_code == 422 and "«Correo electrónico»" in reply.text and "RLO" in reply.text


def test_the_api_refuses_refused_characters_in_texts_and_answers(world):
    client, headers = world.env.client, world.admin_token
    reply = client.post(
        "/api/v1/cooperatives",
        headers=headers,
        json={"rut": world.new_rut(), "name": f"Coop{NUL}", "legal_type": "campesina", "region_code": 13},
    )
    assert reply.status_code == 422
    assert reply.json()["error"]["details"][0]["message"] == "El campo «name» contiene caracteres no permitidos (NUL)."
    for name in ("\u200b\u200b\u200b", "  \u200b \ufeff  "):
        reply = client.post(
            "/api/v1/cooperatives",
            headers=headers,
            json={"rut": world.new_rut(), "name": name, "legal_type": "campesina", "region_code": 13},
        )
        assert reply.status_code == 422, reply.text
    response_id = world.fixed[("own", "self/draft")]
    for answers in ({"junta_anual": f"x{NUL}"}, {f"junta{NUL}": True}, {"actas_al_dia": ["\u2066si"]}):
        reply = client.patch(
            f"/api/v1/responses/{response_id}/answers", headers=headers, json={"answers": answers, "version": 1}
        )
        assert reply.status_code == 422, (answers, reply.text)
        assert "caracteres no permitidos" in reply.text
    with world.env.session() as session:
        row = session.get(Response, response_id)
        assert row.version == 1 and row.answers == COMPLETE


def test_the_error_page_renders_without_a_database_session(world):
    """A 500 after the request's session was closed still shows the page, with the user's name
    in its header (copied when the user was authenticated) and the security headers."""
    app = world.env.client.app

    def broken(page: WebPage = Depends(web_page)):
        page.session.expire_all()  # as a rollback does: the user and its web session unloaded…
        page.session.close()  # …and detached: reading them now raises DetachedInstanceError
        raise RuntimeError("falla de prueba")

    app.add_api_route("/prueba-de-falla", broken, methods=["GET"])
    try:
        client = TestClient(app, follow_redirects=False, raise_server_exceptions=False)
        client.cookies.set("coopdiag_session", world.sessions["admin"].cookie)
        reply = client.get("/prueba-de-falla")
        assert reply.status_code == 500, reply.text[:300]
        assert "Error inesperado" in reply.text and world.users["admin"].full_name in reply.text
        for name in SECURITY:
            assert name in reply.headers, name
        api_reply = client.get("/api/v1/responses/%00")
        assert api_reply.status_code == 404 and "x-frame-options" in api_reply.headers
    finally:
        app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", "") != "/prueba-de-falla"]


@pytest.mark.parametrize(
    "url",
    ["/%C2%B2", "/9999999999999", "/api/v1/responses/-1", "/analisis?q=%00", "/api/v1/cooperatives?q=%E2%80%AE"],
)
def test_error_pages_carry_the_security_headers(api_env, url):
    reply = api_env.client.get(url, follow_redirects=False)
    assert 400 <= reply.status_code < 500
    assert reply.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    for name in SECURITY:
        assert name in reply.headers, name


# --------------------------------------------------------------------------- the rules themselves


def test_parse_int_reads_only_ascii_digits_in_range():
    assert parse_int("42") == 42 and parse_int(" 7 ") == 7 and parse_int("007") == 7
    for text in ("²", "١٢", "９", "1e3", "1_000", "+5", "", "-", "9" * 5000, None, 12, "4 2"):
        assert parse_int(text) is None, text
    assert parse_int("-1") is None and parse_int("-1", signed=True, minimum=-5) == -1
    assert parse_int(str(MAX_ID)) == MAX_ID and parse_int(str(MAX_ID + 1)) is None
    assert parse_id("0") is None and parse_id("1") == 1
    assert parse_int("5", minimum=1, maximum=4) is None


def test_text_rules():
    for char in ("\x00", "\x1b", "\x7f", "\x85", "\ufffe", "\uffff", "\U0001fffe", "\ufdd0", "\ud800", "\u202a",
                 "\u202e", "\u2066", "\u2069"):  # fmt: skip
        assert text_problem(f"a{char}b", "Nombre") is not None, repr(char)
    assert text_problem("a\tb\r\nc", "Comentario") is None
    assert text_problem("a\nb", "Nombre", multiline=False) is not None
    assert text_problem("Cooperativa Ñuble Ltda. — «Los Álamos» 😀 漢字 עברית", "Nombre") is None
    assert text_problem("\x00", "Nombre") == "El campo «Nombre» contiene caracteres no permitidos (NUL)."
    assert is_blank("\u200b") and is_blank(" \u200b\ufeff\u3164 ") and not is_blank("\u200bA")
    assert json_problem({"a": [{"b": ["ok", "x\x00"]}]}, "answers") is not None
    assert json_problem({"a\u202e": 1}, "answers") is not None and json_problem({"a": [1, "b"]}, "answers") is None


def test_the_response_aggregate_refuses_forbidden_characters_from_every_path():
    """Importers reach the aggregate without a form or a schema: the aggregate applies the same
    text rule to text answers and interview details (PostgreSQL could not even store a NUL)."""
    from datetime import date

    import scoring
    from app.responses import lifecycle

    questionnaire = scoring.questionnaire_from_data(
        {
            "id": "t",
            "version": "1",
            "title": "t",
            "dimensions": [
                {
                    "id": "d",
                    "title": "D",
                    "subcategories": [
                        {
                            "id": "s",
                            "title": "S",
                            "questions": [
                                {"id": "nota", "text": "Comentario", "type": "text"},
                                {"id": "socios", "text": "Socios", "type": "number", "min": 0},
                            ],
                        }
                    ],
                }
            ],
        }
    )
    for bad in ("a\x00b", "x\uffff", "\u202eabc"):
        problems = lifecycle.answer_problems(questionnaire, {"nota": bad})
        assert [p["code"] for p in problems] == ["forbidden_character"], bad
        assert "Comentario" in problems[0]["message"]
    assert lifecycle.answer_problems(questionnaire, {"nota": "línea 1\nlínea 2", "socios": 12}) == []
    details = {
        "interviewer_name": "Ana\x00",
        "institution": "U",
        "interview_date": date(2026, 10, 1),
        "interview_place": "Sede",
        "interviewee_role": "Gerente",
    }
    problems = lifecycle.interview_problems(details, "interview", today=date(2026, 12, 1))
    assert [(p["field"], p["code"]) for p in problems] == [("interviewer_name", "forbidden_character")]


def test_a_flash_message_in_any_script_survives_the_redirect_and_a_forged_one_is_ignored():
    """A cookie header holds only Latin-1: a message naming «Cooperativa 🌾 Ñuble 农» used to be a
    500 at the redirect. It travels as base64url of UTF-8; a cookie this app did not write is
    not shown."""
    from http.cookies import SimpleCookie

    from app.web import render

    message = "Se registró «Cooperativa 🌾 Ñuble 农»."
    reply = render.redirect("/terreno", flash=message)
    cookie = SimpleCookie()
    cookie.load(reply.headers["set-cookie"])
    value = cookie[render.FLASH_COOKIE].value
    assert value.isascii() and render._read_flash(value) == message
    assert render._read_flash("no es base64 ☃") is None
    assert render._read_flash("AA==") is None  # a NUL: not a message this app writes
    assert render._read_flash("9" * 5000) is None
