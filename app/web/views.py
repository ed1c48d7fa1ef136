"""Pages everyone meets: login, logout, invitation (set a password), the role home."""

from __future__ import annotations

from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.auth import service as auth_service
from app.auth.models import Role, User
from app.auth.views import clear_session_cookie, login_slot, set_session_cookie
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
