"""Web pages: administration (users and invitations, rounds, questionnaire versions).

Admins only: every page asks ``app.auth.policy`` and answers others with the Spanish 403
page. Writes go through the services; form errors are shown beside their field.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.auth import policy
from app.auth import service as auth_service
from app.auth.models import ROLE_LABELS, Invitation, User
from app.cooperatives.models import Cooperative
from app.deps import get_db, get_settings_dep
from app.errors import ApiError, Forbidden, NotFound
from app.pagination import MAX_PAGE, PageParams, paginate
from app.questionnaires import service as questionnaires_service
from app.questionnaires.models import QuestionnaireVersion
from app.rounds import service as rounds_service
from app.rounds.models import ROUND_STATE_LABELS, DiagnosisRound
from app.settings import Settings
from app.unit_of_work import UnitOfWork
from app.user_input import parse_id, parse_int
from app.web.deps import form_user, page_user, posted_form
from app.web.render import redirect, render

router = APIRouter(include_in_schema=False)

PER_PAGE = 50


def _require(allowed: bool) -> None:
    if not allowed:
        raise Forbidden("Esta sección es solo para quienes administran coopdiag.")


def _field_errors(error: ApiError, known: set[str], aliases: dict[str, str] | None = None) -> dict[str, str]:
    """The service's per-field problems keyed by form field (the rest under ``form``)."""
    errors: dict[str, str] = {}
    for detail in error.details:
        name = (aliases or {}).get(detail.get("field"), detail.get("field"))
        message = str(detail.get("message") or error.message)
        message = message[:1].upper() + message[1:]
        if name in known:
            errors.setdefault(name, message)
        else:
            errors["form"] = error.message
    if not errors:
        errors["form"] = error.message
    return errors


# --------------------------------------------------------------------------- home and users


@router.get("/admin", response_class=HTMLResponse)
def admin_home(request: Request, user: User = Depends(page_user), session: Session = Depends(get_db)) -> Response:
    _require(policy.can_manage_users(user))
    counts = {
        "users": session.scalar(select(func.count()).select_from(User)) or 0,
        "pending": session.scalar(select(func.count()).select_from(Invitation).where(Invitation.used_at.is_(None)))
        or 0,
        "rounds": session.scalar(select(func.count()).select_from(DiagnosisRound)) or 0,
        "questionnaires": session.scalar(select(func.count()).select_from(QuestionnaireVersion)) or 0,
    }
    return render(request, "admin/index.html", {"counts": counts, "section": "inicio"})


@router.get("/admin/usuarios", response_class=HTMLResponse)
def users_page(request: Request, user: User = Depends(page_user), session: Session = Depends(get_db)) -> Response:
    _require(policy.can_manage_users(user))
    role = request.query_params.get("rol") or None
    if role not in ROLE_LABELS:
        role = None
    q = (request.query_params.get("q") or "").strip()[:100] or None
    page = parse_int(request.query_params.get("pagina", "1"), minimum=1, maximum=MAX_PAGE) or 1
    rows, total = paginate(
        session, auth_service.list_users(user=user, role=role, q=q), PageParams(page=page, per_page=PER_PAGE)
    )
    chosen = {key: val for key, val in (("rol", role), ("q", q)) if val}
    return render(
        request,
        "admin/users.html",
        {
            "users": rows,
            "total": total,
            "page": page,
            "pages": max((total + PER_PAGE - 1) // PER_PAGE, 1),
            "chosen": chosen,
            "role_labels": ROLE_LABELS,
            "section": "usuarios",
            "page_url": lambda n: "/admin/usuarios?" + urlencode({**chosen, "pagina": n}),
        },
    )


@router.post("/admin/usuarios/{user_id}/estado")
def set_user_active(
    user_id: int,
    user: User = Depends(form_user),
    form: FormData = Depends(posted_form),
    session: Session = Depends(get_db),
    settings: Settings = Depends(get_settings_dep),
) -> Response:
    _require(policy.can_manage_users(user))
    active = str(form.get("activo") or "") == "1"
    back = "/admin/usuarios"
    try:
        with UnitOfWork(session):
            target = auth_service.update_user(
                session=session,
                user=user,
                user_id=user_id,
                settings=settings,
                changes={"is_active": active},
            )
    except ApiError as error:
        if isinstance(error, NotFound):
            raise
        return redirect(back, flash=error.message)
    state = "activada" if active else "desactivada; sus sesiones se cerraron"
    return redirect(back, flash=f"La cuenta de {target.full_name} quedó {state}.")


# --------------------------------------------------------------------------- invitations

INVITATION_FIELDS = {"email", "full_name", "role", "institution", "cooperative_ids", "macrozones"}


def _invitation_context(
    session: Session, settings: Settings, values: dict[str, Any], errors: dict[str, str]
) -> dict[str, Any]:
    invitations = list(session.scalars(select(Invitation).order_by(Invitation.id.desc()).limit(20)))
    return {
        "values": values,
        "errors": errors,
        "role_labels": ROLE_LABELS,
        "section": "invitaciones",
        "cooperatives": session.execute(
            select(Cooperative.id, Cooperative.name).where(Cooperative.approved.is_(True)).order_by(Cooperative.name)
        ).all(),
        "macrozones": list(settings.macrozones),
        "invitations": invitations,
        "created": None,
    }


@router.get("/admin/invitaciones", response_class=HTMLResponse)
def invitations_page(
    request: Request,
    user: User = Depends(page_user),
    session: Session = Depends(get_db),
    settings: Settings = Depends(get_settings_dep),
) -> Response:
    _require(policy.can_manage_users(user))
    values = {"email": "", "full_name": "", "role": "", "institution": "", "cooperative_ids": [], "macrozones": []}
    return render(request, "admin/invitations.html", _invitation_context(session, settings, values, {}))


@router.post("/admin/invitaciones", response_class=HTMLResponse)
def create_invitation(
    request: Request,
    user: User = Depends(form_user),
    form: FormData = Depends(posted_form),
    session: Session = Depends(get_db),
    settings: Settings = Depends(get_settings_dep),
) -> Response:
    _require(policy.can_manage_users(user))
    posted_ids = [parse_id(v) for v in form.getlist("cooperative_ids") if str(v).strip()]
    coop_ids = [ident for ident in posted_ids if ident is not None]
    values = {
        "email": str(form.get("email") or "").strip(),
        "full_name": str(form.get("full_name") or "").strip(),
        "role": str(form.get("role") or ""),
        "institution": str(form.get("institution") or "").strip(),
        "cooperative_ids": coop_ids,
        "macrozones": [str(v) for v in form.getlist("macrozones")],
    }
    errors: dict[str, str] = {}
    if not values["email"]:
        errors["email"] = "Escriba el correo de la persona invitada."
    if not values["full_name"]:
        errors["full_name"] = "Escriba el nombre completo."
    if values["role"] not in ROLE_LABELS:
        errors["role"] = "Elija un rol."
    if len(coop_ids) != len(posted_ids):
        errors["cooperative_ids"] = "Elija las cooperativas de la lista."
    created = None
    if not errors:
        try:
            with UnitOfWork(session):
                created = auth_service.create_invitation(
                    session=session,
                    user=user,
                    settings=settings,
                    email=values["email"],
                    full_name=values["full_name"],
                    role=values["role"],
                    institution=values["institution"] or None,
                    cooperative_ids=coop_ids,
                    macrozones=values["macrozones"],
                )
        except ApiError as error:
            errors = _field_errors(error, INVITATION_FIELDS)
    if errors:
        return render(
            request, "admin/invitations.html", _invitation_context(session, settings, values, errors), status_code=422
        )
    context = _invitation_context(
        session,
        settings,
        {"email": "", "full_name": "", "role": "", "institution": "", "cooperative_ids": [], "macrozones": []},
        {},
    )
    context["created"] = {
        "record": created.record,
        "url": str(request.base_url).rstrip("/") + created.path,
        "path": created.path,
    }
    response = render(request, "admin/invitations.html", context, status_code=201)
    response.headers["Cache-Control"] = "no-store"  # the one-time link is shown only here
    return response


# --------------------------------------------------------------------------- rounds

ROUND_FIELDS = {"name", "questionnaire_version_id", "opens_on", "closes_on", "state"}


def _round_form_context(
    session: Session, values: dict[str, Any], errors: dict[str, str], round_: DiagnosisRound | None
) -> dict[str, Any]:
    return {
        "values": values,
        "errors": errors,
        "round": round_,
        "section": "rondas",
        "versions": questionnaires_service.list_questionnaires(session=session),
        "states": list(ROUND_STATE_LABELS.items()),
        "responses": rounds_service.round_response_count(session=session, round_id=round_.id) if round_ else 0,
    }


def _parse_round_form(form: FormData) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """(values to refill the form, parsed data, field errors)."""
    values = {name: str(form.get(name) or "").strip() for name in ROUND_FIELDS}
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if len(values["name"]) < 2 or len(values["name"]) > 200:
        errors["name"] = "Escriba un nombre de 2 a 200 caracteres."
    else:
        data["name"] = values["name"]
    if (version_id := parse_id(values["questionnaire_version_id"])) is not None:
        data["questionnaire_version_id"] = version_id
    else:
        errors["questionnaire_version_id"] = "Elija la versión del cuestionario."
    for name, label in (("opens_on", "apertura"), ("closes_on", "cierre")):
        try:
            data[name] = date.fromisoformat(values[name])
        except ValueError:
            errors[name] = f"Escriba la fecha de {label} (día, mes y año)."
    if values["state"] in ROUND_STATE_LABELS:
        data["state"] = values["state"]
    else:
        errors["state"] = "Elija el estado de la ronda."
    return values, data, errors


@router.get("/admin/rondas", response_class=HTMLResponse)
def rounds_page(request: Request, user: User = Depends(page_user), session: Session = Depends(get_db)) -> Response:
    _require(policy.can_manage_rounds(user))
    rounds = list(session.scalars(rounds_service.list_rounds_statement()))
    counts = rounds_service.response_counts(session=session, round_ids=[r.id for r in rounds])
    return render(
        request,
        "admin/rounds.html",
        {
            "rounds": rounds,
            "counts": counts,
            "states": ROUND_STATE_LABELS,
            "section": "rondas",
        },
    )


@router.get("/admin/rondas/nueva", response_class=HTMLResponse)
def new_round_page(request: Request, user: User = Depends(page_user), session: Session = Depends(get_db)) -> Response:
    _require(policy.can_manage_rounds(user))
    values = {"name": "", "questionnaire_version_id": "", "opens_on": "", "closes_on": "", "state": "planned"}
    return render(request, "admin/round_form.html", _round_form_context(session, values, {}, None))


@router.post("/admin/rondas/nueva", response_class=HTMLResponse)
def create_round(
    request: Request,
    user: User = Depends(form_user),
    form: FormData = Depends(posted_form),
    session: Session = Depends(get_db),
) -> Response:
    _require(policy.can_manage_rounds(user))
    values, data, errors = _parse_round_form(form)
    if not errors:
        try:
            with UnitOfWork(session):
                created = rounds_service.create_round(session=session, user=user, **data)
        except ApiError as error:
            errors = _field_errors(error, ROUND_FIELDS, {"version": "questionnaire_version_id"})
        else:
            return redirect("/admin/rondas", flash=f"La ronda «{created.name}» quedó creada.")
    return render(request, "admin/round_form.html", _round_form_context(session, values, errors, None), status_code=422)


@router.get("/admin/rondas/{round_id}", response_class=HTMLResponse)
def edit_round_page(
    request: Request,
    round_id: int,
    user: User = Depends(page_user),
    session: Session = Depends(get_db),
) -> Response:
    _require(policy.can_manage_rounds(user))
    round_ = rounds_service.get_round(session=session, round_id=round_id)
    values = {
        "name": round_.name,
        "questionnaire_version_id": str(round_.questionnaire_version_id),
        "opens_on": round_.opens_on.isoformat(),
        "closes_on": round_.closes_on.isoformat(),
        "state": round_.state,
    }
    return render(request, "admin/round_form.html", _round_form_context(session, values, {}, round_))


@router.post("/admin/rondas/{round_id}", response_class=HTMLResponse)
def update_round(
    request: Request,
    round_id: int,
    user: User = Depends(form_user),
    form: FormData = Depends(posted_form),
    session: Session = Depends(get_db),
) -> Response:
    _require(policy.can_manage_rounds(user))
    round_ = rounds_service.get_round(session=session, round_id=round_id)
    values, data, errors = _parse_round_form(form)
    if not errors:
        try:
            with UnitOfWork(session):
                rounds_service.update_round(session=session, user=user, round=round_, changes=data)
        except ApiError as error:
            errors = _field_errors(error, ROUND_FIELDS, {"version": "questionnaire_version_id"})
            round_ = rounds_service.get_round(session=session, round_id=round_id)
        else:
            return redirect("/admin/rondas", flash=f"La ronda «{round_.name}» quedó guardada.")
    return render(
        request, "admin/round_form.html", _round_form_context(session, values, errors, round_), status_code=422
    )


# --------------------------------------------------------------------------- questionnaires


@router.get("/admin/cuestionarios", response_class=HTMLResponse)
def questionnaires_page(
    request: Request, user: User = Depends(page_user), session: Session = Depends(get_db)
) -> Response:
    _require(policy.can_manage_questionnaires(user))
    versions = questionnaires_service.list_questionnaires(session=session)
    usage = questionnaires_service.version_usage(session=session, version_ids=[v.id for v in versions])
    rounds_by_version: dict[int, list[DiagnosisRound]] = {}
    for round_ in session.scalars(select(DiagnosisRound).order_by(DiagnosisRound.opens_on)):
        rounds_by_version.setdefault(round_.questionnaire_version_id, []).append(round_)
    return render(
        request,
        "admin/questionnaires.html",
        {
            "versions": versions,
            "usage": usage,
            "rounds_by_version": rounds_by_version,
            "section": "cuestionarios",
        },
    )
