"""JSON API views of the auth domain (under /api/v1): login and sessions, users,
invitations, personal API tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime, timezone
from urllib.parse import urlparse

import anyio
from anyio.lowlevel import RunVar
from fastapi import APIRouter, Depends, Query, Request, Response, status
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.auth import service, throttle
from app.auth.models import User
from app.auth.schemas import (
    AcceptIn,
    AccessAddedOut,
    InvitationCreated,
    InvitationIn,
    InvitationOut,
    InvitationPage,
    InvitationPublic,
    LoginIn,
    PasswordChangeIn,
    RoleName,
    SessionOut,
    TokenCreated,
    TokenIn,
    TokenOut,
    TokenPage,
    UserOut,
    UserPage,
    UserPatch,
)
from app.deps import SESSION_COOKIE, current_user, get_db, get_settings_dep, optional_user
from app.errors import Forbidden
from app.pagination import PageParams, page_of, page_params, paginate
from app.request_slots import per_loop_semaphore
from app.settings import Settings
from app.unit_of_work import UnitOfWork

router = APIRouter()

_ERRORS = {
    401: {"description": "Sin sesión ni token válido"},
    403: {"description": "Sin permiso (o código CSRF ausente con sesión por cookie)"},
    404: {"description": "No existe o no es visible para usted"},
    422: {"description": "Datos no válidos; `details` nombra cada campo"},
}


def _errors(*codes: int) -> dict:
    return {code: _ERRORS[code] for code in codes}


#: Password checks one process runs at once. An argon2 check costs about 0.2 s of CPU and
#: 64 MiB on 4 threads, so more at once only share the same cores. When a round opens and
#: hundreds of managers log in together, the others wait for their turn here, in arrival
#: order, holding neither a worker thread nor a pooled database connection: with every login
#: let in (bench/load.py, 200 managers), logins held the pool's connections for more than its
#: 30 s timeout and the app answered 500 to logins and to other requests.
LOGINS_AT_ONCE = 2
_login_slots: RunVar[anyio.Semaphore] = RunVar("coopdiag_login_slots")


def check_login_origin(request: Request) -> None:
    """Login CSRF: a browser always says where a POST comes from (``Origin``; else ``Referer``).
    A login posted from another site (which would sign the victim into the attacker's account)
    is refused; a client that sends neither header (a script, a test) is not a browser led by
    another site and passes. Compared with the ``Host`` the request was sent to, which the
    reverse proxy must pass on unchanged (docs/operations.md)."""
    origin = request.headers.get("origin")
    source = origin if origin is not None else request.headers.get("referer")
    if source is None:
        return
    host = _without_default_port(request.headers.get("host", ""))
    parsed = urlparse(source)
    if source == "null" or not host or _without_default_port(parsed.netloc, parsed.scheme) != host:
        raise Forbidden(
            "No se puede iniciar sesión desde otro sitio: abra la página de ingreso de coopdiag "
            "directamente y vuelva a intentarlo.",
            code="cross_site_login",
        )


def _without_default_port(netloc: str, scheme: str | None = None) -> str:
    netloc = netloc.lower()
    for default in (":443", ":80") if scheme is None else ((":443",) if scheme == "https" else (":80",)):
        if netloc.endswith(default):
            return netloc[: -len(default)]
    return netloc


async def _posted_email(request: Request) -> str | None:
    """The e-mail of a login, from the body the endpoint already read (JSON or form)."""
    try:
        if request.headers.get("content-type", "").startswith("application/json"):
            body = await request.json()
            value = body.get("email") if isinstance(body, dict) else None
        else:
            value = (await request.form()).get("email")
    except Exception:  # noqa: BLE001 - a malformed body of any kind: the endpoint answers it
        return None
    return value if isinstance(value, str) and value.strip() else None


def _account_delay(sessionmaker: Callable[[], Session], email: str) -> float:
    with sessionmaker() as session:
        return throttle.account_delay(
            session=session, email=service.normalise_email(email), now=datetime.now(timezone.utc)
        )


async def login_slot(request: Request) -> AsyncIterator[None]:
    """Dependency of the login endpoints (API and page): the origin check, the account's small
    delay after many failures (``throttle.account_delay``, waited here without holding a
    thread, a connection or a turn), then a turn among LOGINS_AT_ONCE."""
    check_login_origin(request)
    email = await _posted_email(request)
    if email is not None:
        try:
            delay = await anyio.to_thread.run_sync(_account_delay, request.app.state.sessionmaker, email)
        except SQLAlchemyError:  # the login itself will meet the same problem and answer it
            delay = 0.0
        if delay:
            await anyio.sleep(delay)
    async with per_loop_semaphore(_login_slots, LOGINS_AT_ONCE):
        yield


def _committed(session: Session) -> UnitOfWork:
    """The request's unit of work; a uniqueness race with a concurrent request (an e-mail or a
    token name taken meanwhile) becomes a 409, never a 500."""
    return UnitOfWork(
        session,
        conflict_message="Otra solicitud cambió los mismos datos al mismo tiempo (correo o nombre ya usado); "
        "revise y vuelva a intentarlo.",
    )


def set_session_cookie(response: Response, new: service.NewSession, settings: Settings) -> None:
    """The session cookie: HttpOnly, SameSite=Lax, Secure in production (also for the web pages)."""
    response.set_cookie(
        SESSION_COOKIE,
        new.token,
        max_age=new.max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.is_production,
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=settings.is_production)


# --------------------------------------------------------------------------- login


@router.post(
    "/auth/login",
    response_model=SessionOut,
    tags=["cuentas"],
    summary="Iniciar sesión",
    description=(
        "Verifica correo y contraseña y abre una sesión nueva: la cookie `coopdiag_session` "
        "(HttpOnly, SameSite=Lax) y el `csrf_token`, que el cliente envía en la cabecera "
        "`X-CSRF-Token` en cada POST, PATCH, PUT o DELETE. Cada inicio de sesión crea un "
        "identificador nuevo."
    ),
    responses={
        401: {"description": "Correo o contraseña incorrectos"},
        403: {"description": "Enviado desde otro sitio (cabecera Origin o Referer de otro origen)"},
        422: _ERRORS[422],
        429: {"description": "Demasiados intentos fallidos recientes para la cuenta o la dirección; ver Retry-After"},
    },
)
def login(
    body: LoginIn,
    request: Request,
    response: Response,
    _turn: None = Depends(login_slot),
    session: Session = Depends(get_db),
    settings: Settings = Depends(get_settings_dep),
) -> SessionOut:
    with _committed(session):
        user, new = service.login(
            session=session,
            email=body.email,
            password=body.password,
            settings=settings,
            previous_token=request.cookies.get(SESSION_COOKIE),
            client_ip=request.client.host if request.client else None,
        )
    set_session_cookie(response, new, settings)
    return SessionOut(user=UserOut.of(user), csrf_token=new.csrf_token)


@router.post(
    "/auth/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["cuentas"],
    summary="Cerrar sesión",
    description="Cierra la sesión de la cookie (requiere `X-CSRF-Token`) y borra la cookie.",
    responses=_errors(403),
)
def logout(
    request: Request,
    session: Session = Depends(get_db),
    settings: Settings = Depends(get_settings_dep),
    user: User | None = Depends(optional_user),
) -> Response:
    with _committed(session):
        service.close_session(session=session, record=getattr(request.state, "web_session", None))
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session_cookie(response, settings)
    return response


@router.get(
    "/auth/me",
    response_model=SessionOut,
    tags=["cuentas"],
    summary="Usuario actual",
    description="La cuenta con que se hizo la solicitud; con sesión por cookie, también su `csrf_token`.",
    responses=_errors(401),
)
def me(request: Request, user: User = Depends(current_user)) -> SessionOut:
    web_session = getattr(request.state, "web_session", None)
    return SessionOut(user=UserOut.of(user), csrf_token=web_session.csrf_token if web_session else None)


@router.post(
    "/auth/password",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["cuentas"],
    summary="Cambiar mi contraseña",
    description=(
        "Pide la contraseña actual; la nueva debe tener al menos 10 caracteres. Cierra las demás "
        "sesiones de la cuenta (la actual sigue abierta); los tokens de acceso no cambian."
    ),
    responses=_errors(401, 403, 422),
)
def change_password(
    body: PasswordChangeIn,
    request: Request,
    session: Session = Depends(get_db),
    user: User = Depends(current_user),
) -> Response:
    with _committed(session):
        service.change_password(
            session=session,
            user=user,
            current_password=body.current_password,
            new_password=body.new_password,
            keep=getattr(request.state, "web_session", None),
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --------------------------------------------------------------------------- users


@router.get(
    "/users",
    response_model=UserPage,
    tags=["usuarios"],
    summary="Listar usuarios",
    description="Solo administradores. Filtra por rol y busca por correo o nombre.",
    responses=_errors(401, 403),
)
def list_users(
    role: RoleName | None = Query(None, description="admin, analyst, field o manager"),
    q: str | None = Query(None, max_length=200, description="Parte del correo o del nombre"),
    params: PageParams = Depends(page_params),
    session: Session = Depends(get_db),
    user: User = Depends(current_user),
) -> dict:
    rows, total = paginate(session, service.list_users(user=user, role=role, q=q), params)
    return page_of([UserOut.of(row) for row in rows], total, params)


@router.get(
    "/users/me/tokens",
    response_model=TokenPage,
    tags=["tokens"],
    summary="Mis tokens de acceso",
    description="Los tokens personales de la cuenta actual (sin el secreto, que solo se muestra al crearlo).",
    responses=_errors(401),
)
def list_tokens(
    params: PageParams = Depends(page_params),
    session: Session = Depends(get_db),
    user: User = Depends(current_user),
) -> dict:
    rows, total = paginate(session, service.list_api_tokens(user=user), params)
    return page_of([TokenOut.of(row) for row in rows], total, params)


@router.post(
    "/users/me/tokens",
    response_model=TokenCreated,
    status_code=status.HTTP_201_CREATED,
    tags=["tokens"],
    summary="Crear un token de acceso",
    description=(
        "Crea un token personal para scripts (`Authorization: Bearer …`). El secreto se "
        "muestra **una sola vez**; la base de datos guarda solo su huella SHA-256."
    ),
    responses={**_errors(401, 403, 422), 409: {"description": "Ya tiene un token activo con ese nombre"}},
)
def create_token(
    body: TokenIn,
    session: Session = Depends(get_db),
    user: User = Depends(current_user),
) -> TokenCreated:
    with _committed(session):
        token, record = service.create_api_token(session=session, user=user, name=body.name)
    return TokenCreated(**TokenOut.of(record).model_dump(), token=token)


@router.delete(
    "/users/me/tokens/{token_id}",
    response_model=TokenOut,
    tags=["tokens"],
    summary="Revocar un token",
    description="El token deja de funcionar de inmediato.",
    responses=_errors(401, 403, 404),
)
def revoke_token(
    token_id: int,
    session: Session = Depends(get_db),
    user: User = Depends(current_user),
) -> TokenOut:
    with _committed(session):
        record = service.revoke_own_api_token(session=session, user=user, token_id=token_id)
    return TokenOut.of(record)


@router.get(
    "/users/{user_id}",
    response_model=UserOut,
    tags=["usuarios"],
    summary="Ver un usuario",
    description="Un administrador ve cualquier cuenta; los demás, solo la propia (otra da 404).",
    responses=_errors(401, 404),
)
def get_user(user_id: int, session: Session = Depends(get_db), user: User = Depends(current_user)) -> UserOut:
    return UserOut.of(service.get_user(session=session, user=user, user_id=user_id))


@router.patch(
    "/users/{user_id}",
    response_model=UserOut,
    tags=["usuarios"],
    summary="Modificar un usuario",
    description=(
        "Solo administradores. Cambia nombre, rol, institución, estado, cooperativas o macrozonas "
        "(solo los campos enviados; las listas reemplazan las anteriores). Desactivar una cuenta cierra sus "
        "sesiones y revoca sus tokens. Nadie se quita a sí mismo el rol de administrador ni desactiva su "
        "propia cuenta (403, `own_account`). Al cambiar el rol o las listas: un gerente conserva al menos "
        "una cooperativa; el equipo de terreno, cooperativas o macrozonas (y su institución al pasar a "
        "serlo); solo el equipo de terreno tiene macrozonas (quien deja de serlo las pierde)."
    ),
    responses={
        **_errors(401, 404, 422),
        403: {"description": "No es administrador, o se quitaría a sí mismo el rol o desactivaría su cuenta"},
        409: {"description": "Sería quitar al último administrador"},
    },
)
def update_user(
    user_id: int,
    body: UserPatch,
    session: Session = Depends(get_db),
    user: User = Depends(current_user),
    settings: Settings = Depends(get_settings_dep),
) -> UserOut:
    with _committed(session):
        target = service.update_user(
            session=session,
            user=user,
            user_id=user_id,
            settings=settings,
            changes=body.model_dump(exclude_unset=True),
        )
    return UserOut.of(target)


# --------------------------------------------------------------------------- invitations


@router.post(
    "/invitations",
    response_model=InvitationCreated | AccessAddedOut,
    status_code=status.HTTP_201_CREATED,
    tags=["invitaciones"],
    summary="Invitar a una persona",
    description=(
        "Administradores (cualquier rol) y analistas (gerentes y equipo de terreno). Devuelve una "
        "sola vez el enlace `/invitacion/{token}`, de un solo uso, que vence según la configuración, "
        "y se lo envía por correo a la persona invitada. Un gerente necesita al menos una cooperativa; el equipo de terreno, su institución y "
        "cooperativas o macrozonas asignadas. Si la persona ya tiene una cuenta con ese rol (un gerente de "
        "una segunda cooperativa), no hay invitación: se agregan las cooperativas a su cuenta (200)."
    ),
    responses={
        **_errors(401, 403, 422),
        200: {
            "model": AccessAddedOut,
            "description": "La persona ya tenía una cuenta con ese rol (gerente o equipo de terreno): no se "
            "crea invitación; las cooperativas o macrozonas se agregan a su cuenta y se le avisa por correo",
        },
        409: {
            "description": "Ya existe una cuenta con ese correo y otro rol (`account_exists`, con su `user_id`: "
            "modifíquela con PATCH /users/{user_id}), desactivada (`account_inactive`) o que ya tiene todo lo "
            "pedido (`already_linked`); o hay una invitación vigente (`invitation_pending`, con su "
            "`invitation_id`: reenvíela)"
        },
    },
)
def create_invitation(
    body: InvitationIn,
    response: Response,
    session: Session = Depends(get_db),
    user: User = Depends(current_user),
    settings: Settings = Depends(get_settings_dep),
) -> InvitationCreated | AccessAddedOut:
    with _committed(session):
        new = service.create_invitation(session=session, user=user, settings=settings, **body.model_dump())
    if isinstance(new, service.AccessAdded):
        response.status_code = status.HTTP_200_OK
        return AccessAddedOut(
            message=f"{new.user.full_name} ya tenía cuenta: se le agregó {new.summary}.",
            user=UserOut.of(new.user),
            added_cooperative_ids=[c.id for c in new.cooperatives],
            added_macrozones=list(new.macrozones),
        )
    return InvitationCreated(**InvitationOut.of(new.record).model_dump(), token=new.token, path=new.path)


@router.get(
    "/invitations",
    response_model=InvitationPage,
    tags=["invitaciones"],
    summary="Listar invitaciones",
    description="Para quienes pueden invitar; `pending=true` muestra solo las vigentes sin usar.",
    responses=_errors(401, 403),
)
def list_invitations(
    pending: bool = Query(False, description="Solo las vigentes y sin usar"),
    params: PageParams = Depends(page_params),
    session: Session = Depends(get_db),
    user: User = Depends(current_user),
) -> dict:
    rows, total = paginate(session, service.list_invitations(user=user, pending=pending), params)
    return page_of([InvitationOut.of(row) for row in rows], total, params)


@router.post(
    "/invitations/{invitation_id}/resend",
    response_model=InvitationCreated,
    tags=["invitaciones"],
    summary="Reenviar una invitación",
    description=(
        "Crea un enlace nuevo para una invitación no usada ni anulada (también una vencida), lo envía "
        "de nuevo por correo y lo devuelve una sola vez; el enlace anterior deja de servir y el plazo "
        "de validez comienza otra vez."
    ),
    responses={**_errors(401, 403, 404), 409: {"description": "La invitación ya fue usada o anulada"}},
)
def resend_invitation(
    invitation_id: int,
    session: Session = Depends(get_db),
    user: User = Depends(current_user),
    settings: Settings = Depends(get_settings_dep),
) -> InvitationCreated:
    with _committed(session):
        new = service.resend_invitation(session=session, user=user, settings=settings, invitation_id=invitation_id)
    return InvitationCreated(**InvitationOut.of(new.record).model_dump(), token=new.token, path=new.path)


@router.post(
    "/invitations/{invitation_id}/revoke",
    response_model=InvitationOut,
    tags=["invitaciones"],
    summary="Anular una invitación",
    description="El enlace de una invitación aún no usada deja de servir. Anularla otra vez no cambia nada.",
    responses={**_errors(401, 403, 404), 409: {"description": "La invitación ya fue usada"}},
)
def revoke_invitation(
    invitation_id: int,
    session: Session = Depends(get_db),
    user: User = Depends(current_user),
) -> InvitationOut:
    with _committed(session):
        record = service.revoke_invitation(session=session, user=user, invitation_id=invitation_id)
    return InvitationOut.of(record)


@router.get(
    "/invitations/{token}",
    response_model=InvitationPublic,
    tags=["invitaciones"],
    summary="Consultar una invitación",
    description="Público (el enlace es el secreto): a quién invita, con qué rol y si aún se puede usar.",
    responses=_errors(404),
)
def show_invitation(token: str, session: Session = Depends(get_db)) -> InvitationPublic:
    invitation = service.find_invitation(session=session, token=token)
    problem = service.invitation_problem(invitation)
    return InvitationPublic(
        email=invitation.email,
        full_name=invitation.full_name,
        role=invitation.role,
        institution=invitation.institution,
        expires_at=invitation.expires_at,
        valid=problem is None,
        problem=problem,
    )


@router.post(
    "/invitations/{token}/accept",
    response_model=SessionOut,
    status_code=status.HTTP_201_CREATED,
    tags=["invitaciones"],
    summary="Aceptar una invitación",
    description=(
        "Crea la cuenta con la contraseña elegida (al menos 10 caracteres) y abre una sesión. "
        "El enlace sirve una sola vez: usado, anulado o vencido responde 410."
    ),
    responses={
        **_errors(404, 422),
        409: {"description": "El correo ya tiene cuenta"},
        410: {"description": "Invitación ya usada, anulada o vencida"},
    },
)
def accept_invitation(
    token: str,
    body: AcceptIn,
    request: Request,
    response: Response,
    session: Session = Depends(get_db),
    settings: Settings = Depends(get_settings_dep),
) -> SessionOut:
    previous = request.cookies.get(SESSION_COOKIE)
    with _committed(session):
        user, new = service.accept_invitation(session=session, token=token, password=body.password, settings=settings)
        if previous:
            service.forget_session_token(session=session, token=previous)
    set_session_cookie(response, new, settings)
    return SessionOut(user=UserOut.of(user), csrf_token=new.csrf_token)
