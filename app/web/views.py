"""Pages everyone meets: login, logout, invitation (set a password), «¿Olvidó su
contraseña?» (ask for a link, choose a new password), the role home."""

from __future__ import annotations

import time
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.auth import service as auth_service
from app.auth.models import Role, User
from app.auth.views import check_login_origin, clear_session_cookie, login_slot, set_session_cookie
from app.deps import SESSION_COOKIE, get_db, get_settings_dep
from app.errors import ApiError
from app.http_errors import headers_of, status_of
from app.settings import Settings
from app.unit_of_work import UnitOfWork
from app.web.deps import form_user, optional_page_user, posted_form
from app.web.render import redirect, render

router = APIRouter(include_in_schema=False)

ROLE_HOMES = {
    Role.MANAGER: "/mis-cooperativas",
    Role.FIELD: "/terreno",
    Role.ANALYST: "/analisis",
    Role.ADMIN: "/analisis",
}


def _safe_next(value: str | None) -> str | None:
    """Only a local path: never redirect a login to another site."""
    if not value:
        return None
    parsed = urlparse(value)
    if parsed.scheme or parsed.netloc or not value.startswith("/") or value.startswith("//"):
        return None
    return value


@router.get("/inicio")
def home(user: User | None = Depends(optional_page_user)) -> RedirectResponse:
    if user is None:
        return redirect("/ingresar")
    return redirect(ROLE_HOMES.get(user.role, "/"))


@router.get("/ingresar", response_class=HTMLResponse)
def login_page(
    request: Request, siguiente: str | None = None, user: User | None = Depends(optional_page_user)
) -> Response:
    if user is not None:
        return redirect(_safe_next(siguiente) or ROLE_HOMES.get(user.role, "/"))
    return render(request, "login.html", {"next": _safe_next(siguiente), "email": "", "errors": {}})


@router.post("/ingresar", response_class=HTMLResponse)
def login_submit(
    request: Request,
    form: FormData = Depends(posted_form),
    _turn: None = Depends(login_slot),
    session: Session = Depends(get_db),
    settings: Settings = Depends(get_settings_dep),
) -> Response:
    email = str(form.get("email") or "").strip()
    password = str(form.get("password") or "")
    next_url = _safe_next(str(form.get("siguiente") or ""))
    errors = {}
    if not email:
        errors["email"] = "Escriba su correo."
    if not password:
        errors["password"] = "Escriba su contraseña."
    if not errors:
        try:
            with UnitOfWork(session):
                user, new = auth_service.login(
                    session=session,
                    email=email,
                    password=password,
                    settings=settings,
                    previous_token=request.cookies.get(SESSION_COOKIE),
                    client_ip=request.client.host if request.client else None,
                )
        except ApiError as error:
            errors["form"] = error.message
            if status_of(error) == 429:
                reply = render(
                    request, "login.html", {"next": next_url, "email": email, "errors": errors}, status_code=429
                )
                reply.headers.update(headers_of(error) or {})
                return reply
        else:
            response = redirect(next_url or ROLE_HOMES.get(user.role, "/"))
            set_session_cookie(response, new, settings)
            return response
    return render(request, "login.html", {"next": next_url, "email": email, "errors": errors}, status_code=422)


@router.post("/salir")
def logout(
    request: Request,
    user: User = Depends(form_user),
    session: Session = Depends(get_db),
    settings: Settings = Depends(get_settings_dep),
) -> Response:
    with UnitOfWork(session):
        auth_service.close_session(session=session, record=getattr(request.state, "web_session", None))
    response = redirect("/ingresar", flash="Cerró su sesión.")
    clear_session_cookie(response, settings)
    return response


@router.get("/invitacion/{token}", response_class=HTMLResponse)
def invitation_page(request: Request, token: str, session: Session = Depends(get_db)) -> Response:
    invitation = auth_service.find_invitation(session=session, token=token)
    problem = auth_service.invitation_problem(invitation)
    return render(
        request,
        "invitation.html",
        {"invitation": invitation, "problem": problem, "token": token, "errors": {}},
        status_code=410 if problem else 200,
    )


@router.post("/invitacion/{token}", response_class=HTMLResponse)
def invitation_submit(
    request: Request,
    token: str,
    form: FormData = Depends(posted_form),
    session: Session = Depends(get_db),
    settings: Settings = Depends(get_settings_dep),
) -> Response:
    invitation = auth_service.find_invitation(session=session, token=token)
    problem = auth_service.invitation_problem(invitation)
    password = str(form.get("password") or "")
    confirmation = str(form.get("password_confirmation") or "")
    errors = {}
    if not problem:
        if password != confirmation:
            errors["password_confirmation"] = "Las dos contraseñas no coinciden."
        else:
            try:
                with UnitOfWork(session):
                    user, new = auth_service.accept_invitation(
                        session=session, token=token, password=password, settings=settings
                    )
            except ApiError as error:
                fields = {detail.get("field") for detail in error.details}
                errors["password" if "password" in fields else "form"] = error.message
            else:
                response = redirect(
                    ROLE_HOMES.get(user.role, "/"), flash="Su cuenta quedó creada. ¡Bienvenida o bienvenido!"
                )
                set_session_cookie(response, new, settings)
                return response
    return render(
        request,
        "invitation.html",
        {"invitation": invitation, "problem": problem, "token": token, "errors": errors},
        status_code=410 if problem else 422,
    )


# --------------------------------------------------------------------------- forgotten password

#: The «¿Olvidó su contraseña?» answer takes at least this long, known e-mail or not.
RESET_ANSWER_SECONDS = 0.2


@router.get("/contrasena/olvido", response_class=HTMLResponse)
def forgot_password_page(request: Request) -> Response:
    return render(request, "password_forgot.html", {"email": "", "errors": {}, "sent": None})


@router.post("/contrasena/olvido", response_class=HTMLResponse)
def forgot_password_submit(
    request: Request,
    form: FormData = Depends(posted_form),
    session: Session = Depends(get_db),
    settings: Settings = Depends(get_settings_dep),
) -> Response:
    """The same answer whether the e-mail has an account or not (and about as fast): nobody
    learns here which e-mails are registered. Posted from another site: refused, as a login."""
    check_login_origin(request)
    started = time.monotonic()
    email = str(form.get("email") or "").strip()
    if not email:
        return render(
            request,
            "password_forgot.html",
            {"email": "", "errors": {"email": "Escriba su correo."}, "sent": None},
            status_code=422,
        )
    with UnitOfWork(session):
        auth_service.request_password_reset(session=session, settings=settings, email=email)
    remaining = RESET_ANSWER_SECONDS - (time.monotonic() - started)
    if remaining > 0:
        time.sleep(remaining)
    return render(
        request,
        "password_forgot.html",
        {"email": "", "errors": {}, "sent": auth_service.PASSWORD_RESET_REQUESTED},
    )


def _reset_page(request: Request, token: str, problem: str | None, errors: dict[str, str], status: int) -> Response:
    response = render(
        request, "password_reset.html", {"token": token, "problem": problem, "errors": errors}, status_code=status
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/contrasena/nueva/{reset_token}", response_class=HTMLResponse)
def reset_password_page(request: Request, reset_token: str, session: Session = Depends(get_db)) -> Response:
    record = auth_service.find_password_reset(session=session, token=reset_token)
    problem = auth_service.password_reset_problem(session, record)
    return _reset_page(request, reset_token, problem, {}, 410 if problem else 200)


@router.post("/contrasena/nueva/{reset_token}", response_class=HTMLResponse)
def reset_password_submit(
    request: Request,
    reset_token: str,
    form: FormData = Depends(posted_form),
    session: Session = Depends(get_db),
) -> Response:
    check_login_origin(request)
    record = auth_service.find_password_reset(session=session, token=reset_token)
    problem = auth_service.password_reset_problem(session, record)
    if problem:
        return _reset_page(request, reset_token, problem, {}, 410)
    password = str(form.get("password") or "")
    if password != str(form.get("password_confirmation") or ""):
        return _reset_page(
            request, reset_token, None, {"password_confirmation": "Las dos contraseñas no coinciden."}, 422
        )
    try:
        with UnitOfWork(session):
            auth_service.reset_password(session=session, token=reset_token, password=password)
    except ApiError as error:
        if status_of(error) == 410:
            return _reset_page(request, reset_token, error.message, {}, 410)
        fields = {detail.get("field") for detail in error.details}
        return _reset_page(
            request, reset_token, None, {"password" if "password" in fields else "form": error.message}, 422
        )
    return redirect(
        "/ingresar", flash="Su contraseña quedó cambiada y se cerraron sus sesiones abiertas. Ingrese con la nueva."
    )
