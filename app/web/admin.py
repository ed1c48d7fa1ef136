"""Web pages: administration (users and invitations, rounds, questionnaire versions).

Admins only: every page asks ``app.auth.policy`` and answers others with the Spanish 403
page. Writes go through the services; form errors are shown beside their field.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timezone
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.auth import policy
from app.auth import service as auth_service
from app.auth.models import ROLE_LABELS, Invitation, Role, User
from app.cooperatives import service as cooperatives_service
from app.cooperatives.models import Cooperative
from app.downloads import download_headers
from app.errors import ApiError, Forbidden, NotFound
from app.pagination import MAX_PAGE, PageParams, paginate
from app.questionnaires import service as questionnaires_service
from app.questionnaires.models import QuestionnaireVersion
from app.rounds import service as rounds_service
from app.rounds.models import ROUND_STATE_LABELS, DiagnosisRound
from app.rounds.service import questionnaire_of_version
from app.settings import REGIONS, Settings
from app.unit_of_work import UnitOfWork
from app.user_input import parse_id, parse_int
from app.web.deps import FormPost, WebPage, guarded
from app.web.questionnaire_preview import preview
from app.web.render import redirect, render

router = APIRouter(include_in_schema=False)

PER_PAGE = 50


def _admin_only(allowed: Callable[[User], bool]) -> Callable[[User], None]:
    """A check for ``guarded``: refuse (403) whoever the policy function ``allowed`` refuses."""

    def check(user: User) -> None:
        if not allowed(user):
            raise Forbidden("Esta sección es solo para quienes administran coopdiag.")

    return check


manage_users_page, manage_users_post = guarded(_admin_only(policy.can_manage_users))
manage_rounds_page, manage_rounds_post = guarded(_admin_only(policy.can_manage_rounds))
manage_questionnaires_page, _ = guarded(_admin_only(policy.can_manage_questionnaires))


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


# --------------------------------------------------------------------------- choosing cooperatives

#: How many cooperatives a form lists besides those already chosen (the registry has ~1,500):
#: the rest are found with the search box (by name or RUT, and region).
COOPERATIVE_CHOICES = 50


def _picked_ids(form: FormData) -> tuple[list[int], bool]:
    """The cooperative ids a form posted, and whether every one was a valid id."""
    posted = [parse_id(value) for value in form.getlist("cooperative_ids") if str(value).strip()]
    return [ident for ident in dict.fromkeys(posted) if ident is not None], None not in posted


def _search_terms(source: Any) -> tuple[str, int | None]:
    """The cooperative search of a query string or a form: ``q`` (name or RUT) and ``region``."""
    q = str(source.get("q") or "").strip()[:100]
    region = parse_int(str(source.get("region") or ""), minimum=1, maximum=99)
    return q, region if region in REGIONS else None


def _cooperative_picker(
    session: Session, user: User, settings: Settings, *, q: str, region: int | None, chosen: list[int]
) -> dict[str, Any]:
    """The cooperatives a form lists: those already chosen (always, checked, first), then at
    most COOPERATIVE_CHOICES approved ones matching the search, by name."""
    statement = cooperatives_service.list_statement(
        user=user,
        settings=settings,
        filters=cooperatives_service.CooperativeFilters(q=q or None, region=region, approved=True),
    )
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
    selected = (
        list(session.scalars(select(Cooperative).where(Cooperative.id.in_(chosen)).order_by(Cooperative.name)))
        if chosen
        else []
    )
    chosen_set = set(chosen)
    rows = session.scalars(statement.limit(COOPERATIVE_CHOICES + len(chosen_set))).all()
    matches = [row for row in rows if row.id not in chosen_set][:COOPERATIVE_CHOICES]
    return {
        "q": q,
        "region": region,
        "regions": REGIONS,
        "selected": selected,
        "matches": matches,
        "total": total,
        "limit": COOPERATIVE_CHOICES,
    }


# --------------------------------------------------------------------------- home and users


@router.get("/admin", response_class=HTMLResponse)
def admin_home(page: WebPage = Depends(manage_users_page)) -> Response:
    request, session = page.request, page.session
    counts = {
        "users": session.scalar(select(func.count()).select_from(User)) or 0,
        "pending": session.scalar(
            select(func.count())
            .select_from(Invitation)
            .where(Invitation.used_at.is_(None), Invitation.revoked_at.is_(None))
        )
        or 0,
        "rounds": session.scalar(select(func.count()).select_from(DiagnosisRound)) or 0,
        "questionnaires": session.scalar(select(func.count()).select_from(QuestionnaireVersion)) or 0,
    }
    return render(request, "admin/index.html", {"counts": counts, "section": "inicio"})


@router.get("/admin/usuarios", response_class=HTMLResponse)
def users_page(page: WebPage = Depends(manage_users_page)) -> Response:
    request, user, session = page.request, page.user, page.session
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
def set_user_active(user_id: int, post: FormPost = Depends(manage_users_post)) -> Response:
    user, session, settings, form = post.user, post.session, post.settings, post.form
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


def _cookie_safe(message: str) -> str:
    """A flash message the cookie can carry (Latin-1: a name in another script, a «→», would not fit)."""
    return message.encode("latin-1", "replace").decode("latin-1")


USER_FIELDS = {"full_name", "role", "institution", "activo", "cooperative_ids", "macrozones"}


def _user_form_context(
    session: Session,
    user: User,
    settings: Settings,
    target: User,
    values: dict[str, Any],
    errors: dict[str, str],
    search: tuple[str, int | None],
) -> dict[str, Any]:
    q, region = search
    return {
        "target": target,
        "own_account": target.id == user.id,
        "values": values,
        "errors": errors,
        "role_labels": ROLE_LABELS,
        "macrozones": list(settings.macrozones),
        "picker": _cooperative_picker(
            session, user, settings, q=q, region=region, chosen=list(values["cooperative_ids"])
        ),
        "section": "usuarios",
    }


@router.get("/admin/usuarios/{user_id}", response_class=HTMLResponse)
def edit_user_page(user_id: int, page: WebPage = Depends(manage_users_page)) -> Response:
    request, user, session, settings = page.request, page.user, page.session, page.settings
    target = auth_service.get_user(session=session, user=user, user_id=user_id)
    values = {
        "full_name": target.full_name,
        "role": target.role,
        "institution": target.institution or "",
        "activo": target.is_active,
        "cooperative_ids": sorted(target.cooperative_ids),
        "macrozones": sorted(target.macrozones),
    }
    context = _user_form_context(session, user, settings, target, values, {}, _search_terms(request.query_params))
    return render(request, "admin/user_form.html", context)


@router.post("/admin/usuarios/{user_id}", response_class=HTMLResponse)
def update_user(user_id: int, post: FormPost = Depends(manage_users_post)) -> Response:
    """Save the account's changes (``accion=buscar``: only search cooperatives, keeping what
    the form holds)."""
    request, user, session, settings, form = post.request, post.user, post.session, post.settings, post.form
    target = auth_service.get_user(session=session, user=user, user_id=user_id)
    coop_ids, all_valid = _picked_ids(form)
    role = str(form.get("role") or "")
    values = {
        "full_name": str(form.get("full_name") or "").strip(),
        "role": role,
        "institution": str(form.get("institution") or "").strip(),
        "activo": str(form.get("activo") or "") == "1",
        "cooperative_ids": coop_ids,
        "macrozones": [str(v) for v in form.getlist("macrozones")],
    }
    search = _search_terms(form)
    if form.get("accion") == "buscar":
        context = _user_form_context(session, user, settings, target, values, {}, search)
        return render(request, "admin/user_form.html", context)
    errors: dict[str, str] = {}
    if role not in ROLE_LABELS:
        errors["role"] = "Elija un rol."
    if not all_valid:
        errors["cooperative_ids"] = "Elija las cooperativas de la lista."
    if not errors:
        before = auth_service.account_state(target)
        try:
            with UnitOfWork(session):
                changed = auth_service.update_user(
                    session=session,
                    user=user,
                    user_id=user_id,
                    settings=settings,
                    changes={
                        "full_name": values["full_name"],
                        "role": role,
                        "institution": values["institution"] or None,
                        "is_active": values["activo"],
                        "cooperative_ids": coop_ids,
                        # Macrozones are the field team's: the boxes of another role are ignored.
                        "macrozones": values["macrozones"] if role == Role.FIELD else [],
                    },
                )
                after = auth_service.account_state(changed)
                moved = sorted(before.cooperative_ids ^ after.cooperative_ids)
                statement = select(Cooperative.id, Cooperative.name).where(Cooperative.id.in_(moved))
                names = {ident: title for ident, title in session.execute(statement)}
                words = auth_service.describe_account_changes(before, after, cooperative_names=names)
                name = changed.full_name
        except ApiError as error:
            if isinstance(error, NotFound):
                raise
            errors = _field_errors(error, USER_FIELDS, {"is_active": "activo"})
        else:
            if not words:
                return redirect(
                    f"/admin/usuarios/{user_id}", flash=_cookie_safe(f"No hubo cambios en la cuenta de {name}.")
                )
            summary = "; ".join(words)
            return redirect("/admin/usuarios", flash=_cookie_safe(f"La cuenta de {name} quedó guardada ({summary})."))
    target = auth_service.get_user(session=session, user=user, user_id=user_id)
    context = _user_form_context(session, user, settings, target, values, errors, search)
    return render(request, "admin/user_form.html", context, status_code=422)


# --------------------------------------------------------------------------- invitations

INVITATION_FIELDS = {"email", "full_name", "role", "institution", "cooperative_ids", "macrozones"}


def _invitation_context(
    session: Session,
    user: User,
    settings: Settings,
    values: dict[str, Any],
    errors: dict[str, str],
    search: tuple[str, int | None] = ("", None),
) -> dict[str, Any]:
    invitations = list(session.scalars(select(Invitation).order_by(Invitation.id.desc()).limit(20)))
    q, region = search
    return {
        "values": values,
        "errors": errors,
        "role_labels": ROLE_LABELS,
        "section": "invitaciones",
        "picker": _cooperative_picker(
            session, user, settings, q=q, region=region, chosen=list(values["cooperative_ids"])
        ),
        "macrozones": list(settings.macrozones),
        "invitations": invitations,
        "created": None,
        "added": None,
        "existing_user_id": None,
        "now": datetime.now(timezone.utc),
    }


def _empty_invitation() -> dict[str, Any]:
    return {"email": "", "full_name": "", "role": "", "institution": "", "cooperative_ids": [], "macrozones": []}


def _with_link(
    request: Request,
    session: Session,
    user: User,
    settings: Settings,
    new: auth_service.NewInvitation,
    *,
    resent: bool,
    status: int,
) -> Response:
    """The invitations page showing the link just e-mailed (once only: the page is not stored)."""
    context = _invitation_context(session, user, settings, _empty_invitation(), {})
    context["created"] = {
        "record": new.record,
        "url": str(request.base_url).rstrip("/") + new.path,
        "path": new.path,
        "resent": resent,
    }
    response = render(request, "admin/invitations.html", context, status_code=status)
    response.headers["Cache-Control"] = "no-store"  # the one-time link is shown only here
    return response


@router.get("/admin/invitaciones", response_class=HTMLResponse)
def invitations_page(page: WebPage = Depends(manage_users_page)) -> Response:
    request, user, session, settings = page.request, page.user, page.session, page.settings
    context = _invitation_context(session, user, settings, _empty_invitation(), {}, _search_terms(request.query_params))
    return render(request, "admin/invitations.html", context)


@router.post("/admin/invitaciones", response_class=HTMLResponse)
def create_invitation(post: FormPost = Depends(manage_users_post)) -> Response:
    """Invite someone; someone who already has an account of that role gets the cooperatives
    added instead (the page says so). ``accion=buscar`` only searches cooperatives, keeping
    what the form holds."""
    request, user, session, settings, form = post.request, post.user, post.session, post.settings, post.form
    coop_ids, all_valid = _picked_ids(form)
    values = {
        "email": str(form.get("email") or "").strip(),
        "full_name": str(form.get("full_name") or "").strip(),
        "role": str(form.get("role") or ""),
        "institution": str(form.get("institution") or "").strip(),
        "cooperative_ids": coop_ids,
        "macrozones": [str(v) for v in form.getlist("macrozones")],
    }
    search = _search_terms(form)
    if form.get("accion") == "buscar":
        return render(
            request, "admin/invitations.html", _invitation_context(session, user, settings, values, {}, search)
        )
    errors: dict[str, str] = {}
    if not values["email"]:
        errors["email"] = "Escriba el correo de la persona invitada."
    if not values["full_name"]:
        errors["full_name"] = "Escriba el nombre completo."
    if values["role"] not in ROLE_LABELS:
        errors["role"] = "Elija un rol."
    if not all_valid:
        errors["cooperative_ids"] = "Elija las cooperativas de la lista."
    created = None
    existing_user_id = None
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
                if isinstance(created, auth_service.AccessAdded):
                    added = {
                        "name": created.user.full_name,
                        "email": created.user.email,
                        "user_id": created.user.id,
                        "summary": created.summary,
                    }
        except ApiError as error:
            errors = _field_errors(error, INVITATION_FIELDS)
            existing_user_id = error.extra.get("user_id")
    if errors:
        context = _invitation_context(session, user, settings, values, errors, search)
        context["existing_user_id"] = existing_user_id
        return render(request, "admin/invitations.html", context, status_code=422)
    assert created is not None
    if isinstance(created, auth_service.AccessAdded):
        context = _invitation_context(session, user, settings, _empty_invitation(), {})
        context["added"] = added
        return render(request, "admin/invitations.html", context)
    return _with_link(request, session, user, settings, created, resent=False, status=201)


@router.post("/admin/invitaciones/{invitation_id}/reenviar", response_class=HTMLResponse)
def resend_invitation(invitation_id: int, post: FormPost = Depends(manage_users_post)) -> Response:
    request, user, session, settings = post.request, post.user, post.session, post.settings
    try:
        with UnitOfWork(session):
            new = auth_service.resend_invitation(
                session=session, user=user, settings=settings, invitation_id=invitation_id
            )
    except ApiError as error:
        if isinstance(error, NotFound):
            raise
        return redirect("/admin/invitaciones", flash=error.message)
    return _with_link(request, session, user, settings, new, resent=True, status=200)


@router.post("/admin/invitaciones/{invitation_id}/anular")
def revoke_invitation(invitation_id: int, post: FormPost = Depends(manage_users_post)) -> Response:
    user, session = post.user, post.session
    try:
        with UnitOfWork(session):
            record = auth_service.revoke_invitation(session=session, user=user, invitation_id=invitation_id)
    except ApiError as error:
        if isinstance(error, NotFound):
            raise
        return redirect("/admin/invitaciones", flash=error.message)
    return redirect(
        "/admin/invitaciones", flash=f"La invitación de {record.full_name} quedó anulada; su enlace ya no sirve."
    )


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
def rounds_page(page: WebPage = Depends(manage_rounds_page)) -> Response:
    request, session = page.request, page.session
    rounds = list(session.scalars(rounds_service.list_rounds_statement()))
    counts = rounds_service.response_counts(session=session, round_ids=[r.id for r in rounds], current_only=True)
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
def new_round_page(page: WebPage = Depends(manage_rounds_page)) -> Response:
    request, session = page.request, page.session
    values = {"name": "", "questionnaire_version_id": "", "opens_on": "", "closes_on": "", "state": "planned"}
    return render(request, "admin/round_form.html", _round_form_context(session, values, {}, None))


@router.post("/admin/rondas/nueva", response_class=HTMLResponse)
def create_round(post: FormPost = Depends(manage_rounds_post)) -> Response:
    request, user, session, form = post.request, post.user, post.session, post.form
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
def edit_round_page(round_id: int, page: WebPage = Depends(manage_rounds_page)) -> Response:
    request, session = page.request, page.session
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
def update_round(round_id: int, post: FormPost = Depends(manage_rounds_post)) -> Response:
    request, user, session, form = post.request, post.user, post.session, post.form
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
def questionnaires_page(page: WebPage = Depends(manage_questionnaires_page)) -> Response:
    request, session = page.request, page.session
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


def _version(session: Session, version_id: int) -> QuestionnaireVersion:
    row = questionnaires_service.get_version(session=session, version_id=version_id)
    if row is None:
        raise NotFound("No existe la versión de cuestionario solicitada.")
    return row


@router.get("/admin/cuestionarios/{version_id}", response_class=HTMLResponse)
def questionnaire_preview_page(version_id: int, page: WebPage = Depends(manage_questionnaires_page)) -> Response:
    """A version as people read it: every question with its type, options, limits, weight,
    bands and condition in words, and the consistency checks; with its downloads."""
    request, user, session = page.request, page.user, page.session
    row = _version(session, version_id)
    questionnaire = questionnaire_of_version(row)
    usage = questionnaires_service.version_usage(session=session, version_ids=[row.id])[row.id]
    rounds = list(
        session.scalars(
            select(DiagnosisRound)
            .where(DiagnosisRound.questionnaire_version_id == row.id)
            .order_by(DiagnosisRound.opens_on)
        )
    )
    return render(
        request,
        "admin/questionnaire.html",
        {
            "row": row,
            "questionnaire": questionnaire,
            "preview": preview(questionnaire),
            "usage": usage,
            "rounds": rounds,
            "can_xlsform": policy.can_download_xlsform(user),
            "section": "cuestionarios",
        },
    )


@router.get("/admin/cuestionarios/{version_id}/fuente")
def questionnaire_source(version_id: int, page: WebPage = Depends(manage_questionnaires_page)) -> Response:
    """The registered file of a version, exactly as it was registered (YAML, or JSON read as YAML)."""
    session = page.session
    row = _version(session, version_id)
    is_json = row.source.lstrip().startswith("{")
    filename = f"{row.questionnaire_id}-{row.version}.{'json' if is_json else 'yaml'}"
    media_type = "application/json" if is_json else "application/yaml"
    return Response(
        content=row.source.encode("utf-8"),
        media_type=f"{media_type}; charset=utf-8",
        headers=download_headers(filename),
    )
