"""Authorization matrix over EVERY route of the app, JSON API and HTML pages alike.

The routes are enumerated from ``app.routes``; each one must be classified in ``RULES`` (or
in the commented ``UNCHECKED`` allow-list), so a new route fails here until someone decides
who may use it. For every route × role (anonymous, admin, analyst, field, manager) × record
(the own cooperative's, another cooperative's) the expected answer follows from
``app.auth.policy``:

- anonymous: API 401; page 303 to /ingresar (public routes answer as usual);
- a role without the route's capability (``gate``, checked before any record is read): 403;
- a record of a cooperative (or an account, or a token) the user may not see: 404, its
  existence is not revealed;
- a record the user sees but may not act on (``act``): 403;
- otherwise the route's success (2xx, or a 3xx to the right place).

The world: cooperative A (region 13, macrozone Centro) and B (region 9, Sur), open rounds,
responses of each in several states, one user per role (the field member assigned to the
Centro macrozone, the manager of A). Every logged-in request carries a session cookie and
its CSRF token, so a refusal is about authorization; a separate test sends no token.
Runs once per backend (SQLite and PostgreSQL), one world each.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.routing import Mount
from stdnum.cl import rut as cl_rut

from app.auth import security
from app.auth import service as auth_service
from app.auth.models import PasswordReset, User
from app.cooperatives.models import Cooperative
from app.questionnaires.models import QuestionnaireVersion
from app.responses.models import Response
from app.rounds.models import DiagnosisRound
from app.rounds.service import questionnaire_of_version
from test_odk_import import DEFAULTS, Interview, odk_csv

ROLES = ("anon", "admin", "analyst", "field", "manager")
SIGNED_IN = frozenset({"admin", "analyst", "field", "manager"})
STAFF = frozenset({"admin", "analyst"})
INTERVIEWERS = frozenset({"admin", "field"})  # policy.response_modes_for: who enters interviews
SPREADSHEETS = frozenset({"admin", "analyst", "field"})  # XLSForm, templates, imports
ADMIN = frozenset({"admin"})
PUBLIC = "public"

HOMES = {"admin": "/analisis", "analyst": "/analisis", "field": "/terreno", "manager": "/mis-cooperativas"}
PASSWORD = "clave-segura-123"
COMPLETE = {
    "junta_anual": True,
    "actas_al_dia": "si",
    "consejo_vigente": True,
    "consejo_mujeres": True,
    "activo_corriente": 2000000,
    "pasivo_corriente": 1000000,
}
INTERVIEW = {
    "interviewer_name": "Luis Soto",
    "institution": "Universidad de La Frontera",
    "interview_date": "2026-03-02",
    "interview_place": "Talca",
    "interviewee_role": "Presidenta",
}
#: What no field member or manager of the world may ever read: cooperative B's name and RUT.
FOREIGN = ("Cooperativa Ajena del Sur", "65000000-5", "65.000.000-5")

# Routes outside the matrix, on purpose: framework documents and files anyone may fetch.
UNCHECKED = {
    ("GET", "/openapi.json"),  # the API's description (public by design, disabled in production)
    ("GET", "/docs"),  # Swagger UI over /openapi.json (same)
    ("GET", "/docs/oauth2-redirect"),  # Swagger UI helper page
    ("GET", "/healthz"),  # liveness probe for the load balancer, no data
}
UNCHECKED_MOUNTS = {"/static"}  # CSS and JavaScript files


# --------------------------------------------------------------------------- the rules


@dataclass(frozen=True)
class Rule:
    """Who may use a route. ``ok``: the success, a status or (status, location prefix), or a
    function of the role giving one; ``gate``: roles with the route's capability (PUBLIC:
    anyone, anonymous too); ``scope``: what own/other means (none: the route reads no record
    of a cooperative or a person; coop; account: a user account, admins see every one;
    personal: only one's own); ``act``: roles that may act on a record they see;
    ``record``: the kind of response behind ``{response_id}`` (mode/status); ``fresh``: the
    route changes its record or round, so each call gets new ones; ``spare``: the call
    closes the caller's session ("session": it runs in a new session of a spare account of
    the role) or changes the account ("account": a brand-new account of the role); ``request``: the body and query of an allowed call; ``csrf``: the route reads
    the session (False for those that never look at it: login and invitation forms)."""

    ok: Any = 200
    gate: frozenset[str] | str = SIGNED_IN
    scope: str = "none"
    act: frozenset[str] | None = None
    record: str = "self/submitted"
    fresh: bool = False
    spare: str | None = None
    request: Callable[[World, str, str, dict[str, Any]], dict[str, Any]] | None = None
    csrf: bool = True


def redirect_to(prefix: str) -> tuple[int, str]:
    return (303, prefix)


def home(role: str) -> Any:
    return redirect_to(HOMES[role])


def login_page(role: str) -> Any:
    return 200 if role == "anon" else home(role)


# Bodies of allowed calls. Each gets the world, the role, the target and the path ids.
def version_body(w, role, target, ids):
    return {"json": {"version": 1}}


def version_form(w, role, target, ids):
    return {"data": {"version": "1"}}


def create_response_body(w, role, target, ids):
    mode = "interview" if role == "field" else "self"
    body = {"cooperative_id": w.coop[target], "round_id": w.new_round(), "mode": mode}
    if mode == "interview":
        body.update(INTERVIEW)
    return {"json": body, "headers": {"Idempotency-Key": str(uuid.uuid4())}}


def new_cooperative(w) -> dict[str, Any]:
    return {
        "rut": w.new_rut(),
        "name": f"Cooperativa Nueva {next(w.counter)}",
        "legal_type": "campesina",
        "region_code": 13,
    }


def invitation_body(w, role, target, ids):
    return {
        "json": {
            "email": f"invitada{next(w.counter)}@example.cl",
            "full_name": "Invitada Matriz",
            "role": "manager",
            "cooperative_ids": [w.coop["own"]],
        }
    }


def round_body(w, role, target, ids):
    return {
        "json": {
            "name": f"Ronda creada {next(w.counter)}",
            "questionnaire_version_id": w.version_id,
            "opens_on": "2026-01-01",
            "closes_on": "2026-12-31",
            "state": "planned",
        }
    }


def round_form(w, role, target, ids):
    return {
        "data": {
            "name": f"Ronda de formulario {next(w.counter)}",
            "questionnaire_version_id": str(w.version_id),
            "opens_on": "2026-01-01",
            "closes_on": "2026-12-31",
            "state": "open",
        }
    }


def registry_file(w, role, target, ids):
    rows = ["RUT;Razón social;Tipo;Región", f"{w.new_rut()};Cooperativa Importada {next(w.counter)};campesina;13"]
    return {
        "params": {"dry_run": "true"},
        "files": {"archivo": ("registro.csv", ("\r\n".join(rows) + "\r\n").encode())},
    }


def odk_file(w, role, target, ids):
    """An ODK Central export of one interview of cooperative A, checked without saving (who
    may import which cooperative's rows is tests/test_odk_import.py's matter)."""
    content = odk_csv(w.questionnaire(), [Interview(rut="76123456-0", answers={}, uuid=str(uuid.uuid4()))])
    return {
        "params": {"dry_run": "true"},
        "data": {"institution": "INDAP", **DEFAULTS},
        "files": {"file": ("envios.csv", content, "text/csv")},
    }


def template_file(w, role, target, ids):
    return {"params": {"dry_run": "true"}, "files": {"archivo": ("plantilla.xlsx", w.template(ids["round_id"]))}}


def interview_form(w, role, target, ids):
    return {
        "data": {
            "cooperativa": str(w.coop[target]),
            "ronda": str(w.new_round()),
            "idempotency_key": uuid.uuid4().hex,
            **INTERVIEW,
        }
    }


RULES: dict[tuple[str, str], Rule] = {
    # ---- JSON API: responses
    ("POST", "/api/v1/responses"): Rule(
        201, scope="coop", act=frozenset({"admin", "field", "manager"}), request=create_response_body
    ),
    ("GET", "/api/v1/responses"): Rule(),
    ("GET", "/api/v1/responses/{response_id}"): Rule(scope="coop"),
    ("PATCH", "/api/v1/responses/{response_id}/answers"): Rule(
        scope="coop",
        act=frozenset({"admin", "manager"}),
        record="self/draft",
        fresh=True,
        request=lambda w, role, target, ids: {"json": {"answers": {"junta_anual": False}, "version": 1}},
    ),
    ("PATCH", "/api/v1/responses/{response_id}"): Rule(
        scope="coop",
        act=INTERVIEWERS,
        record="interview/draft",
        fresh=True,
        request=lambda w, role, target, ids: {"json": {"interview_place": "Curicó", "version": 1}},
    ),
    ("POST", "/api/v1/responses/{response_id}/submit"): Rule(
        scope="coop", act=frozenset({"admin", "manager"}), record="self/draft", fresh=True, request=version_body
    ),
    ("POST", "/api/v1/responses/{response_id}/return"): Rule(
        scope="coop",
        act=STAFF,
        fresh=True,
        request=lambda w, role, target, ids: {"json": {"comment": "Revise la liquidez.", "version": 1}},
    ),
    ("POST", "/api/v1/responses/{response_id}/validate"): Rule(
        scope="coop", act=STAFF, fresh=True, request=version_body
    ),
    ("POST", "/api/v1/responses/{response_id}/reopen"): Rule(
        201, scope="coop", act=STAFF, record="self/validated", fresh=True, request=version_body
    ),
    ("GET", "/api/v1/responses/{response_id}/history"): Rule(scope="coop"),
    ("GET", "/api/v1/responses/{response_id}/result"): Rule(scope="coop"),
    ("GET", "/api/v1/responses/{response_id}/revisions"): Rule(scope="coop"),
    ("GET", "/api/v1/responses/{response_id}/report.pdf"): Rule(scope="coop"),
    # ---- JSON API: accounts
    ("POST", "/api/v1/auth/login"): Rule(
        gate=PUBLIC, spare="session", csrf=False, request=lambda w, role, target, ids: {"json": w.credentials(ids)}
    ),
    ("POST", "/api/v1/auth/logout"): Rule(204, gate=PUBLIC, spare="session"),
    ("GET", "/api/v1/auth/me"): Rule(),
    ("POST", "/api/v1/auth/password"): Rule(
        204,
        spare="account",
        request=lambda w, role, target, ids: {
            "json": {"current_password": PASSWORD, "new_password": "otra-clave-segura-456"}
        },
    ),
    ("GET", "/api/v1/users"): Rule(gate=ADMIN),
    ("GET", "/api/v1/users/me/tokens"): Rule(),
    ("POST", "/api/v1/users/me/tokens"): Rule(
        201, request=lambda w, role, target, ids: {"json": {"name": f"matriz {next(w.counter)}"}}
    ),
    ("DELETE", "/api/v1/users/me/tokens/{token_id}"): Rule(scope="personal", fresh=True),
    ("GET", "/api/v1/users/{user_id}"): Rule(scope="account"),
    ("PATCH", "/api/v1/users/{user_id}"): Rule(
        scope="account", act=ADMIN, request=lambda w, role, target, ids: {"json": {"full_name": "Nombre Cambiado"}}
    ),
    ("POST", "/api/v1/invitations"): Rule(201, gate=STAFF, request=invitation_body),
    ("GET", "/api/v1/invitations"): Rule(gate=STAFF),
    ("GET", "/api/v1/invitations/{token}"): Rule(gate=PUBLIC),
    ("POST", "/api/v1/invitations/{invitation_id}/resend"): Rule(gate=STAFF, fresh=True),
    ("POST", "/api/v1/invitations/{invitation_id}/revoke"): Rule(gate=STAFF, fresh=True),
    ("POST", "/api/v1/invitations/{token}/accept"): Rule(
        201,
        gate=PUBLIC,
        fresh=True,
        spare="session",
        csrf=False,
        request=lambda w, role, target, ids: {"json": {"password": "clave-de-invitada-789"}},
    ),
    # ---- JSON API: registry, rounds, questionnaires
    ("GET", "/api/v1/cooperatives"): Rule(),
    ("POST", "/api/v1/cooperatives"): Rule(
        201, gate=SPREADSHEETS, request=lambda w, role, target, ids: {"json": new_cooperative(w)}
    ),
    ("GET", "/api/v1/cooperatives/{cooperative_id}"): Rule(scope="coop"),
    ("PATCH", "/api/v1/cooperatives/{cooperative_id}"): Rule(
        scope="coop",
        act=frozenset({"admin", "analyst", "manager"}),
        request=lambda w, role, target, ids: {"json": {"contact_phone": "+56 9 8765 4321"}},
    ),
    ("POST", "/api/v1/cooperatives/{cooperative_id}/approve"): Rule(scope="coop", act=STAFF),
    ("GET", "/api/v1/regions"): Rule(),
    ("GET", "/api/v1/sectors"): Rule(),
    ("GET", "/api/v1/rounds"): Rule(),
    ("POST", "/api/v1/rounds"): Rule(201, gate=ADMIN, request=round_body),
    ("GET", "/api/v1/rounds/{round_id}"): Rule(),
    ("PATCH", "/api/v1/rounds/{round_id}"): Rule(
        gate=ADMIN,
        fresh=True,
        request=lambda w, role, target, ids: {"json": {"name": f"Ronda renombrada {next(w.counter)}"}},
    ),
    ("GET", "/api/v1/questionnaires"): Rule(),
    ("GET", "/api/v1/questionnaires/{version_id}"): Rule(),
    ("GET", "/api/v1/questionnaires/{version_id}/definition"): Rule(),
    ("GET", "/api/v1/questionnaires/{version_id}/xlsform"): Rule(gate=SPREADSHEETS),
    # ---- JSON API: reports, exports, observatory, imports
    ("GET", "/api/v1/rounds/{round_id}/reports.zip"): Rule(gate=STAFF),
    ("GET", "/api/v1/rounds/{round_id}/export"): Rule(gate=STAFF),
    ("GET", "/api/v1/rounds/{round_id}/codebook"): Rule(gate=STAFF),
    ("GET", "/api/v1/rounds/{round_id}/aggregates"): Rule(gate=STAFF),
    ("GET", "/api/v1/aggregates/change"): Rule(
        gate=STAFF,
        request=lambda w, role, target, ids: {
            "params": {"from": w.rounds["stored"], "to": w.rounds["interview_stored"]}
        },
    ),
    ("POST", "/api/v1/rounds/{round_id}/odk-import"): Rule(gate=SPREADSHEETS, request=odk_file),
    ("POST", "/api/v1/cooperatives/import"): Rule(gate=STAFF, request=registry_file),
    ("GET", "/api/v1/rounds/{round_id}/interview-template.xlsx"): Rule(gate=SPREADSHEETS),
    ("POST", "/api/v1/rounds/{round_id}/interviews/import"): Rule(gate=SPREADSHEETS, request=template_file),
    # ---- pages everyone meets
    ("GET", "/"): Rule(gate=PUBLIC),
    ("GET", "/inicio"): Rule(home),
    ("GET", "/ingresar"): Rule(login_page, gate=PUBLIC),
    ("POST", "/ingresar"): Rule(
        lambda role: redirect_to(HOMES.get(role, "/mis-cooperativas")),
        gate=PUBLIC,
        spare="session",
        csrf=False,
        request=lambda w, role, target, ids: {"data": w.credentials(ids)},
    ),
    ("POST", "/salir"): Rule(redirect_to("/ingresar"), spare="session"),
    ("GET", "/invitacion/{token}"): Rule(gate=PUBLIC),
    ("POST", "/invitacion/{token}"): Rule(
        redirect_to("/mis-cooperativas"),
        gate=PUBLIC,
        fresh=True,
        spare="session",
        csrf=False,
        request=lambda w, role, target, ids: {
            "data": {"password": "clave-de-invitada-789", "password_confirmation": "clave-de-invitada-789"}
        },
    ),
    # ---- report downloads from the pages
    ("GET", "/diagnosticos/{response_id}/informe.pdf"): Rule(scope="coop"),
    ("GET", "/analista/rondas/{round_id}/informes.zip"): Rule(gate=STAFF),
    # ---- manager pages (self-diagnosis): anyone who sees the response reads them
    ("GET", "/mis-cooperativas"): Rule(),
    ("POST", "/mis-cooperativas/{cooperative_id}/rondas/{round_id}/iniciar"): Rule(
        redirect_to("/diagnosticos/"),
        scope="coop",
        act=frozenset({"admin", "manager"}),
        fresh=True,
        request=lambda w, role, target, ids: {"data": {"idempotency_key": uuid.uuid4().hex}},
    ),
    ("GET", "/diagnosticos/{response_id}"): Rule(redirect_to("/diagnosticos/"), scope="coop", record="self/draft"),
    ("GET", "/diagnosticos/{response_id}/seccion/{number}"): Rule(scope="coop", record="self/draft"),
    ("POST", "/diagnosticos/{response_id}/seccion/{number}"): Rule(
        redirect_to("/diagnosticos/"),
        scope="coop",
        act=frozenset({"admin", "manager"}),
        record="self/draft",
        fresh=True,
        request=lambda w, role, target, ids: {"data": {"version": "1", "junta_anual": "false"}},
    ),
    ("GET", "/diagnosticos/{response_id}/revision"): Rule(scope="coop", record="self/draft"),
    ("POST", "/diagnosticos/{response_id}/enviar"): Rule(
        redirect_to("/diagnosticos/"),
        scope="coop",
        act=frozenset({"admin", "manager"}),
        record="self/draft",
        fresh=True,
        request=version_form,
    ),
    ("GET", "/diagnosticos/{response_id}/resultados"): Rule(scope="coop"),
    # ---- field pages (interviews): only who enters interviews
    ("GET", "/terreno"): Rule(gate=INTERVIEWERS),
    ("GET", "/terreno/entrevistas/nueva"): Rule(
        gate=INTERVIEWERS,
        scope="coop",
        request=lambda w, role, target, ids: {"params": {"cooperativa": w.coop[target], "ronda": w.new_round()}},
    ),
    ("POST", "/terreno/entrevistas/nueva"): Rule(
        redirect_to("/terreno/entrevistas/"), gate=INTERVIEWERS, scope="coop", request=interview_form
    ),
    ("GET", "/terreno/entrevistas/{response_id}/dimension/{number}"): Rule(
        gate=INTERVIEWERS, scope="coop", record="interview/draft"
    ),
    ("POST", "/terreno/entrevistas/{response_id}/dimension/{number}"): Rule(
        redirect_to("/terreno/entrevistas/"),
        gate=INTERVIEWERS,
        scope="coop",
        record="interview/draft",
        fresh=True,
        request=lambda w, role, target, ids: {"data": {"version": "1", "junta_anual": "false"}},
    ),
    ("GET", "/terreno/entrevistas/{response_id}/revision"): Rule(
        gate=INTERVIEWERS, scope="coop", record="interview/draft"
    ),
    ("POST", "/terreno/entrevistas/{response_id}/enviar"): Rule(
        redirect_to("/terreno/entrevistas/"),
        gate=INTERVIEWERS,
        scope="coop",
        record="interview/draft",
        fresh=True,
        request=version_form,
    ),
    ("GET", "/terreno/entrevistas/{response_id}/resultado"): Rule(
        gate=INTERVIEWERS, scope="coop", record="interview/submitted"
    ),
    ("GET", "/terreno/cooperativas/nueva"): Rule(gate=INTERVIEWERS),
    ("POST", "/terreno/cooperativas/nueva"): Rule(
        redirect_to("/terreno?q="), gate=INTERVIEWERS, request=lambda w, role, target, ids: {"data": new_cooperative(w)}
    ),
    # ---- analyst pages: staff only
    ("GET", "/analisis"): Rule(gate=STAFF),
    ("GET", "/analisis/rondas/{round_id}"): Rule(gate=STAFF),
    ("GET", "/analisis/rondas/{round_id}/recalcular"): Rule(gate=STAFF),
    ("POST", "/analisis/rondas/{round_id}/recalcular"): Rule(redirect_to("/analisis/rondas/"), gate=STAFF, fresh=True),
    ("POST", "/analisis/rondas/{round_id}/informes/reintentar"): Rule(redirect_to("/analisis/rondas/"), gate=STAFF),
    ("POST", "/analisis/rondas/{round_id}/observatorio/publicar"): Rule(
        redirect_to("/analisis/rondas/"), gate=STAFF, fresh=True
    ),
    ("POST", "/analisis/rondas/{round_id}/observatorio/retirar"): Rule(
        redirect_to("/analisis/rondas/"), gate=STAFF, fresh=True
    ),
    # ---- the public Observatorio: anyone, without logging in. The world's rounds are not
    # published, so no one (an admin neither) reaches them through these pages: 404, as for a
    # round that does not exist. What a published round shows is tests/test_observatory.py's.
    ("GET", "/observatorio"): Rule(gate=PUBLIC),
    ("GET", "/observatorio/metodo"): Rule(gate=PUBLIC),
    ("GET", "/observatorio/metodologia"): Rule(gate=PUBLIC),
    ("GET", "/observatorio/datos"): Rule(gate=PUBLIC),
    ("GET", "/observatorio/datos/diccionario.csv"): Rule(gate=PUBLIC),
    ("GET", "/observatorio/rondas/{round_id}"): Rule(404, gate=PUBLIC),
    ("GET", "/observatorio/rondas/{round_id}/cambio"): Rule(404, gate=PUBLIC),
    ("GET", "/observatorio/rondas/{round_id}/mujeres-y-jovenes"): Rule(404, gate=PUBLIC),
    ("GET", "/observatorio/rondas/{round_id}/{view_slug}"): Rule(404, gate=PUBLIC),
    ("GET", "/observatorio/datos/ronda-{round_id}.json"): Rule(404, gate=PUBLIC),
    ("GET", "/observatorio/datos/ronda-{round_id}-{table}.csv"): Rule(404, gate=PUBLIC),
    ("GET", "/analisis/cooperativas"): Rule(gate=STAFF),
    ("GET", "/analisis/revision"): Rule(gate=STAFF),
    ("GET", "/analisis/cooperativas/{cooperative_id}"): Rule(gate=STAFF, scope="coop"),
    ("POST", "/analisis/cooperativas/{cooperative_id}/aprobar"): Rule(
        redirect_to("/analisis/cooperativas/"), scope="coop", act=STAFF
    ),
    ("GET", "/analisis/respuestas/{response_id}"): Rule(gate=STAFF, scope="coop"),
    ("POST", "/analisis/respuestas/{response_id}/validar"): Rule(
        redirect_to("/analisis/respuestas/"), gate=STAFF, scope="coop", fresh=True, request=version_form
    ),
    ("POST", "/analisis/respuestas/{response_id}/devolver"): Rule(
        redirect_to("/analisis/respuestas/"),
        gate=STAFF,
        scope="coop",
        fresh=True,
        request=lambda w, role, target, ids: {"data": {"version": "1", "comment": "Revise la liquidez."}},
    ),
    ("POST", "/analisis/respuestas/{response_id}/reabrir"): Rule(
        redirect_to("/analisis/respuestas/"),
        gate=STAFF,
        scope="coop",
        record="self/validated",
        fresh=True,
        request=version_form,
    ),
    # ---- import pages: interview spreadsheets (field teams and staff), the registry (staff)
    ("GET", "/terreno/planillas"): Rule(gate=SPREADSHEETS),
    ("POST", "/terreno/planillas/importar"): Rule(
        gate=SPREADSHEETS,
        request=lambda w, role, target, ids: {
            "data": {"ronda": str(w.rounds["stored"]), "tipo": "planilla"},
            "files": {"archivo": ("plantilla.xlsx", w.template(w.rounds["stored"]))},
        },
    ),
    ("GET", "/contrasena/olvido"): Rule(gate=PUBLIC),
    ("POST", "/contrasena/olvido"): Rule(
        gate=PUBLIC, csrf=False, request=lambda w, role, target, ids: {"data": {"email": "nadie@example.cl"}}
    ),
    ("GET", "/contrasena/nueva/{reset_token}"): Rule(gate=PUBLIC),
    ("POST", "/contrasena/nueva/{reset_token}"): Rule(
        redirect_to("/ingresar"),
        gate=PUBLIC,
        fresh=True,
        csrf=False,
        request=lambda w, role, target, ids: {
            "data": {"password": "clave-recuperada-789", "password_confirmation": "clave-recuperada-789"}
        },
    ),
    ("GET", "/analisis/registro/importar"): Rule(gate=STAFF),
    ("POST", "/analisis/registro/importar"): Rule(
        gate=STAFF, request=lambda w, role, target, ids: {"files": registry_file(w, role, target, ids)["files"]}
    ),
    # ---- admin pages: admins only
    ("GET", "/admin"): Rule(gate=ADMIN),
    ("GET", "/admin/usuarios"): Rule(gate=ADMIN),
    ("POST", "/admin/usuarios/{user_id}/estado"): Rule(
        redirect_to("/admin/usuarios"),
        gate=ADMIN,
        fresh=True,
        request=lambda w, role, target, ids: {"data": {"activo": "0"}},
    ),
    ("GET", "/admin/invitaciones"): Rule(gate=ADMIN),
    ("POST", "/admin/invitaciones"): Rule(
        201,
        gate=ADMIN,
        request=lambda w, role, target, ids: {
            "data": {**invitation_body(w, role, target, ids)["json"], "cooperative_ids": str(w.coop["own"])}
        },
    ),
    ("POST", "/admin/invitaciones/{invitation_id}/reenviar"): Rule(gate=ADMIN, fresh=True),
    ("POST", "/admin/invitaciones/{invitation_id}/anular"): Rule(
        redirect_to("/admin/invitaciones"), gate=ADMIN, fresh=True
    ),
    ("GET", "/admin/rondas"): Rule(gate=ADMIN),
    ("GET", "/admin/rondas/nueva"): Rule(gate=ADMIN),
    ("POST", "/admin/rondas/nueva"): Rule(redirect_to("/admin/rondas"), gate=ADMIN, request=round_form),
    ("GET", "/admin/rondas/{round_id}"): Rule(gate=ADMIN),
    ("POST", "/admin/rondas/{round_id}"): Rule(
        redirect_to("/admin/rondas"), gate=ADMIN, fresh=True, request=round_form
    ),
    ("GET", "/admin/cuestionarios"): Rule(gate=ADMIN),
    ("GET", "/admin/cuestionarios/{version_id}"): Rule(gate=ADMIN),
    ("GET", "/admin/cuestionarios/{version_id}/fuente"): Rule(gate=ADMIN),
    ("GET", "/admin/usuarios/{user_id}"): Rule(gate=ADMIN),
    ("POST", "/admin/usuarios/{user_id}"): Rule(
        redirect_to("/admin/usuarios"),
        gate=ADMIN,
        fresh=True,
        request=lambda w, role, target, ids: {
            "data": {
                "full_name": "Gerente Cambiado",
                "role": "manager",
                "activo": "1",
                "cooperative_ids": [str(w.coop["own"]), str(w.coop["other"])],
            }
        },
    ),
}


def app_routes(app) -> set[tuple[str, str]]:
    """Every (method, path) the app answers, API and pages, HEAD left out (it follows GET)."""
    routes = set()
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, Mount):
            assert route.path in UNCHECKED_MOUNTS, f"unclassified mount {route.path}"
            continue
        for method in route.methods or ():
            if method != "HEAD":
                routes.add((method, route.path))
    return routes


def is_page(path: str) -> bool:
    return not path.startswith("/api/")


def sees(role: str, target: str, scope: str) -> bool:
    if scope == "none" or target == "own":
        return True
    if scope == "coop":
        return role in STAFF
    if scope == "account":
        return role == "admin"
    return False  # personal: only one's own


def expected(rule: Rule, role: str, target: str) -> Any:
    """What the route must answer, from the policy's semantics (see the module docstring)."""
    if role == "anon" and rule.gate != PUBLIC:
        return "login"
    if rule.gate != PUBLIC and role not in rule.gate:
        return 403
    if not sees(role, target, rule.scope):
        return 404
    if rule.act is not None and role not in rule.act:
        return 403
    return rule.ok(role) if callable(rule.ok) else rule.ok


# --------------------------------------------------------------------------- the world


@dataclass
class Login:
    cookie: str
    csrf: str
    user_id: int
    email: str


@dataclass
class World:
    env: Any
    counter: Any = field(default_factory=lambda: itertools.count(1))
    coop: dict[str, int] = field(default_factory=dict)
    rounds: dict[str, int] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    sessions: dict[str, Login] = field(default_factory=dict)
    fixed: dict[tuple[str, str], int] = field(default_factory=dict)
    templates: dict[int, bytes] = field(default_factory=dict)
    version_id: int = 0
    snapshot: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        env = self.env
        self.client = TestClient(env.client.app, follow_redirects=False)
        with env.session() as session:
            self.version_id = session.scalar(
                select(QuestionnaireVersion.id).where(QuestionnaireVersion.questionnaire_id == "prueba-mini")
            )
            a = Cooperative(
                rut="76123456-0", name="Cooperativa Propia del Centro", legal_type="campesina", region_code=13
            )
            b = Cooperative(rut="65000000-5", name=FOREIGN[0], legal_type="agricola", region_code=9)
            session.add_all([a, b])
            session.commit()
            self.coop = {"own": a.id, "other": b.id}
        self.admin_token = env.user("admin", password=None)[1]
        for role in SIGNED_IN:
            self.users[role] = self.account(role)
            self.sessions[role] = self.open_session(self.users[role])
        self.other_user = self.account("manager")
        self.spares: dict[str, User] = {}
        self.snapshot = self._real_snapshot()
        for name in ("stored", "draft", "interview_draft", "interview_stored", "validated"):
            self.rounds[name] = self.new_round()
        for target in ("own", "other"):
            self.fixed[(target, "self/submitted")] = self.response(target, "self/submitted", self.rounds["stored"])
            self.fixed[(target, "self/draft")] = self.response(target, "self/draft", self.rounds["draft"])
            self.fixed[(target, "interview/draft")] = self.response(
                target, "interview/draft", self.rounds["interview_draft"]
            )
            self.fixed[(target, "interview/submitted")] = self.response(
                target, "interview/submitted", self.rounds["interview_stored"]
            )
            self.fixed[(target, "self/validated")] = self.response(target, "self/validated", self.rounds["validated"])
        self.invitation = self.new_invitation()
        self.reset_token = self.new_reset_token()

    # ---- records
    def account(self, role: str, *, password: str | None = None) -> User:
        """A user of the role, linked like the world's (Centro macrozone, manager of A); the
        password only when the call logs in with it (hashing it is slow)."""
        links = {"field": {"macrozones": ["Centro"]}, "manager": {"cooperatives": [self.coop["own"]]}}.get(role, {})
        return self.env.user(role, password=password, institution="UFRO" if role == "field" else None, **links)[0]

    def spare(self, role: str) -> User:
        """A second account of the role, for calls that close the session they come with."""
        if role not in self.spares:
            self.spares[role] = self.account(role, password=PASSWORD)
        return self.spares[role]

    def open_session(self, user: User) -> Login:
        with self.env.session() as session:
            new = auth_service.open_session(
                session=session, user=session.get(User, user.id), settings=self.env.settings
            )
            session.commit()
        return Login(new.token, new.csrf_token, user.id, user.email)

    def new_rut(self) -> str:
        number = 70_000_000 + next(self.counter)
        return f"{number}-{cl_rut.calc_check_digit(str(number))}"

    def new_round(self, state: str = "open") -> int:
        with self.env.session() as session:
            round_ = DiagnosisRound(
                name=f"Ronda {next(self.counter)}",
                questionnaire_version_id=self.version_id,
                opens_on=date(2026, 1, 1),
                closes_on=date(2026, 12, 31),
                state=state,
            )
            session.add(round_)
            session.commit()
            return round_.id

    def _real_snapshot(self) -> dict[str, Any]:
        """A snapshot made by the app itself (the reports render it): one submission by the admin."""
        client, headers = self.env.client, self.admin_token
        round_id = self.new_round()
        with self.env.session() as session:
            spare = Cooperative(
                rut=self.new_rut(), name="Cooperativa Plantilla", legal_type="campesina", region_code=13
            )
            session.add(spare)
            session.commit()
            spare_id = spare.id
        created = client.post(
            "/api/v1/responses",
            headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
            json={"cooperative_id": spare_id, "round_id": round_id, "mode": "self", "answers": COMPLETE},
        )
        assert created.status_code == 201, created.text
        submitted = client.post(
            f"/api/v1/responses/{created.json()['id']}/submit", headers=headers, json={"version": 1}
        )
        assert submitted.status_code == 200, submitted.text
        with self.env.session() as session:
            row = session.get(Response, created.json()["id"])
            return {
                "result_snapshot": row.result_snapshot,
                "snapshot_questionnaire_version_id": row.snapshot_questionnaire_version_id,
            }

    def response(self, target: str, kind: str, round_id: int | None = None) -> int:
        mode, status = kind.split("/")
        now = datetime.now(timezone.utc)
        stored = status in ("submitted", "validated")
        with self.env.session() as session:
            row = Response(
                cooperative_id=self.coop[target],
                round_id=round_id or self.new_round(),
                revision=1,
                is_current=True,
                mode=mode,
                status=status,
                answers=dict(COMPLETE),
                version=1,
                submitted_at=now if stored else None,
                validated_at=now if status == "validated" else None,
                **(self.snapshot if stored else {}),
                **(
                    {**INTERVIEW, "interview_date": date.fromisoformat(INTERVIEW["interview_date"])}
                    if mode == "interview"
                    else {}
                ),
            )
            session.add(row)
            session.commit()
            return row.id

    def new_invitation(self) -> str:
        return self.invitation_reply()["token"]

    def invitation_reply(self) -> dict[str, Any]:
        reply = self.env.client.post(
            "/api/v1/invitations",
            headers=self.admin_token,
            json={
                "email": f"invitada{next(self.counter)}@example.cl",
                "full_name": "Invitada Matriz",
                "role": "manager",
                "cooperative_ids": [self.coop["own"]],
            },
        )
        assert reply.status_code == 201, reply.text
        return reply.json()

    def new_reset_token(self) -> str:
        """A «¿Olvidó su contraseña?» link of a new account of its own."""
        token = security.new_token()
        account = self.account("manager")
        with self.env.session() as session:
            now = datetime.now(timezone.utc)
            session.add(
                PasswordReset(
                    user_id=account.id,
                    token_hash=security.hash_token(token),
                    created_at=now,
                    expires_at=now + timedelta(hours=1),
                )
            )
            session.commit()
        return token

    def new_token(self, user_id: int) -> int:
        with self.env.session() as session:
            _, record = auth_service.create_api_token(
                session=session, user=session.get(User, user_id), name=f"matriz {next(self.counter)}"
            )
            session.commit()
            return record.id

    def template(self, round_id: int) -> bytes:
        if round_id not in self.templates:
            reply = self.env.client.get(f"/api/v1/rounds/{round_id}/interview-template.xlsx", headers=self.admin_token)
            assert reply.status_code == 200, reply.text
            self.templates[round_id] = reply.content
        return self.templates[round_id]

    def questionnaire(self):
        with self.env.session() as session:
            return questionnaire_of_version(session.get(QuestionnaireVersion, self.version_id))

    def credentials(self, ids: dict[str, Any]) -> dict[str, str]:
        """The caller's own (spare) account, or a manager's for an anonymous visitor."""
        login = ids["_session"]
        return {"email": login.email if login else self.spare("manager").email, "password": PASSWORD}

    # ---- the path of one call
    def ids(self, method: str, path: str, rule: Rule, role: str, target: str, session: Login | None) -> dict[str, Any]:
        me = session.user_id if session else None
        values: dict[str, Any] = {"_session": session}
        for name in re.findall(r"\{(\w+)\}", path):
            if name == "response_id":
                values[name] = self.response(target, rule.record) if rule.fresh else self.fixed[(target, rule.record)]
            elif name == "cooperative_id":
                values[name] = self.coop[target]
            elif name == "round_id":
                values[name] = self.new_round() if rule.fresh else self.rounds["stored"]
            elif name == "version_id":
                values[name] = self.version_id
            elif name == "number":
                values[name] = 1
            elif name == "view_slug":
                values[name] = "macrozona"
            elif name == "table":
                values[name] = "semaforos"
            elif name == "token":
                values[name] = self.new_invitation() if rule.fresh else self.invitation
            elif name == "invitation_id":
                values[name] = self.invitation_reply()["id"]
            elif name == "reset_token":
                values[name] = self.new_reset_token() if rule.fresh else self.reset_token
            elif name == "user_id":
                if rule.fresh:  # an account the admin acts on
                    values[name] = self.account("manager").id
                else:
                    values[name] = me if target == "own" and me else self.other_user.id
            elif name == "token_id":
                values[name] = self.new_token(me if target == "own" and me else self.other_user.id)
            else:
                raise AssertionError(f"{method} {path}: the matrix does not know the path parameter {{{name}}}")
        return values

    def call(self, method: str, path: str, rule: Rule, role: str, target: str, *, csrf: bool = True):
        """One request as the role, with a valid session and CSRF token; returns (reply, ids)."""
        session = None
        if role != "anon":
            if rule.spare == "account":
                session = self.open_session(self.account(role, password=PASSWORD))
            elif rule.spare == "session":
                session = self.open_session(self.spare(role))
            else:
                session = self.sessions[role]
        ids = self.ids(method, path, rule, role, target, session)
        url = path.format(**{k: v for k, v in ids.items() if not k.startswith("_")})
        kwargs = rule.request(self, role, target, ids) if rule.request else {}
        headers = dict(kwargs.pop("headers", {}))
        self.client.cookies.clear()
        if session is not None:
            self.client.cookies.set("coopdiag_session", session.cookie)
            if csrf and method not in ("GET", "HEAD"):
                if is_page(path):
                    if "json" not in kwargs:
                        kwargs["data"] = {**kwargs.get("data", {}), "csrf_token": session.csrf}
                else:
                    headers["X-CSRF-Token"] = session.csrf
        if method != "GET" and not kwargs and not is_page(path):
            kwargs["json"] = {}
        return self.client.request(method, url, headers=headers, **kwargs), ids


# --------------------------------------------------------------------------- checks


def outcome_problem(method: str, path: str, want: Any, reply) -> str | None:
    got = reply.status_code
    location = reply.headers.get("location", "")
    page = is_page(path)
    if want == "login":
        if page:
            ok = got == 303 and location.startswith("/ingresar")
        else:
            ok = got == 401 and reply.json().get("error", {}).get("code") == "not_authenticated"
        return None if ok else f"expected {'303 to /ingresar' if page else 401}, got {got} {location}"
    if isinstance(want, tuple):
        status, prefix = want
        return (
            None
            if got == status and location.startswith(prefix)
            else f"expected {status} to {prefix}…, got {got} {location} {reply.text[:160]}"
        )
    if got != want:
        return f"expected {want}, got {got} {location} {reply.text[:200]}"
    if want in (403, 404):
        if page:
            if "text/html" not in reply.headers.get("content-type", ""):
                return f"{want} is not the HTML error page"
        elif reply.json().get("error", {}).get("code") not in ("forbidden", "not_found"):
            return f"{want} without the error shape: {reply.text[:160]}"
    return None


def leak_problem(role: str, reply) -> str | None:
    """A field member or manager never reads anything of cooperative B."""
    if role not in ("field", "manager") or reply.status_code >= 400:
        return None
    kind = reply.headers.get("content-type", "")
    if not (kind.startswith("text/") or "json" in kind):
        return None
    text = reply.text
    found = [item for item in FOREIGN if item in text]
    return f"shows {found}" if found else None


def untouched_problem(world: World, ids: dict[str, Any]) -> str | None:
    """A refused call on a response changed nothing of it."""
    if "response_id" not in ids:
        return None
    with world.env.session() as session:
        row = session.get(Response, ids["response_id"])
        if row.version != 1 or row.answers != COMPLETE or not row.is_current:
            return "refused, but the response changed"
    return None


@pytest.fixture
def world(api_env, monkeypatch) -> World:
    # Logins and new accounts hash passwords: the cheapest argon2 keeps ~40 of them fast
    # (the parameters travel in each hash, so verifying follows suit).
    monkeypatch.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    return World(api_env)


def test_every_route_is_classified():
    from app.main import create_app
    from app.settings import Settings

    routes = app_routes(create_app(Settings(database_url="sqlite://")))
    assert len(routes) > 90
    unclassified = sorted(routes - RULES.keys() - UNCHECKED)
    assert not unclassified, f"routes without an authorization rule in tests/test_route_matrix.py: {unclassified}"
    stale = sorted(RULES.keys() - routes)
    assert not stale, f"rules for routes that no longer exist: {stale}"
    assert not UNCHECKED & RULES.keys()


def test_route_matrix(world):
    failures = []
    calls = 0
    staff_saw_foreign = False  # the leak check can see B's name where it is allowed
    for (method, path), rule in RULES.items():
        targets = ("own", "other") if rule.scope != "none" else ("own",)
        for role, target in itertools.product(ROLES, targets):
            want = expected(rule, role, target)
            reply, ids = world.call(method, path, rule, role, target)
            calls += 1
            label = f"{method} {path} as {role} on {target}"
            problems = [outcome_problem(method, path, want, reply), leak_problem(role, reply)]
            staff_saw_foreign |= role in STAFF and FOREIGN[0] in reply.text
            if want in ("login", 403, 404) and rule.fresh:
                problems.append(untouched_problem(world, ids))
            failures.extend(f"{label}: {problem}" for problem in problems if problem)
    assert calls > 500 and staff_saw_foreign
    assert not failures, f"{len(failures)} of {calls} calls:\n" + "\n".join(failures)


def test_writes_without_the_csrf_token_are_refused(world):
    """With a valid session cookie but no CSRF token, every write that reads the session is
    refused (403) before it does anything, even for an admin."""
    failures = []
    for (method, path), rule in RULES.items():
        if method == "GET" or not rule.csrf:
            continue
        reply, ids = world.call(method, path, rule, "admin", "own", csrf=False)
        label = f"{method} {path}"
        if reply.status_code != 403:
            failures.append(f"{label}: expected 403, got {reply.status_code} {reply.text[:160]}")
        elif not is_page(path) and reply.json()["error"]["code"] != "csrf_failed":
            failures.append(f"{label}: refused, but not for CSRF: {reply.text[:160]}")
        elif rule.fresh and (problem := untouched_problem(world, ids)):
            failures.append(f"{label}: {problem}")
    assert not failures, "\n".join(failures)
