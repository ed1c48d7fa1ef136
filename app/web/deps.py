"""Dependencies of the web pages: the logged-in user (or a redirect to the login page) and
forms with their CSRF token checked against the session and their texts checked
(``app.user_input``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from app.auth import policy
from app.auth.models import User
from app.deps import authenticate, get_db, get_settings_dep
from app.errors import Forbidden
from app.settings import Settings
from app.user_input import check_text

MAX_FORM_BYTES = 1_000_000


class LoginRequired(Exception):
    """Raised by page dependencies; the handler answers with a redirect to the login page."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


#: How the refusal of a field names it (the label of its input); other fields by their name.
FIELD_LABELS = {
    "name": "Nombre",
    "full_name": "Nombre completo",
    "email": "Correo electrónico",
    "password": "Contraseña",
    "password_confirmation": "Confirmación de la contraseña",
    "institution": "Institución",
    "institucion": "Institución",
    "lugar": "Lugar de las entrevistas",
    "cargo": "Cargo de la persona entrevistada",
    "comment": "Comentario",
    "reopen_comment": "Motivo de la reapertura",
    "rut": "RUT",
    "comuna": "Comuna",
    "contact_name": "Persona de contacto",
    "contact_email": "Correo de contacto",
    "contact_phone": "Teléfono de contacto",
    "interviewer_name": "Nombre de quien entrevista",
    "interview_date": "Fecha de la entrevista",
    "interview_place": "Lugar de la entrevista",
    "interviewee_role": "Cargo de la persona entrevistada",
    "cooperative_ids": "Cooperativas",
    "cooperativa": "Cooperativa",
    "ronda": "Ronda",
    "macrozones": "Macrozonas",
    "sectors": "Rubros",
    "region_code": "Región",
    "legal_type": "Tipo jurídico",
    "members_women": "Socias",
    "members_men": "Socios",
    "questionnaire_version_id": "Versión del cuestionario",
    "opens_on": "Fecha de apertura",
    "closes_on": "Fecha de cierre",
    "state": "Estado",
    "archivo": "Archivo",
    "q": "Buscar",
}


def field_label(name: str) -> str:
    """How a message names a form field: its label, the question of an answer, or its name."""
    if name in FIELD_LABELS:
        return FIELD_LABELS[name]
    if name.startswith(("a.", "e.")):  # questionnaire_form.ANSWER_PREFIX and SPECIAL_PREFIX
        return f"Respuesta a la pregunta {name[2:]}"
    return name


def check_form(form: FormData) -> None:
    """Refuse (Invalid, 422) a form with a character no field accepts (NUL, other control
    characters, bidirectional controls, non-characters: ``app.user_input``), naming the field.
    Every web form is read by ``posted_form``, so every one is checked here; line breaks and
    tabs are allowed (questionnaire answers and comments are text areas)."""
    for name, value in form.multi_items():
        check_text(name, "nombre de campo", field="form", multiline=False)
        label = field_label(name)
        if isinstance(value, str):
            check_text(value, label, field=name)
        elif isinstance(value, UploadFile) and value.filename:
            check_text(value.filename, f"{label} (nombre del archivo)", field=name, multiline=False)


async def posted_form(request: Request) -> FormData:
    """The posted form, its texts checked (``check_form``); its hidden ``csrf_token`` is what
    deps.authenticate checks."""
    form = await request.form(max_part_size=MAX_FORM_BYTES)
    check_form(form)
    request.state.form_csrf_token = form.get("csrf_token")
    return form


@dataclass(frozen=True)
class Viewer:
    """What every page's header shows of the logged-in user, copied once when the user is
    authenticated: a page rendered after the request's database session was rolled back or
    closed (an error page) must not load anything from it."""

    id: int
    role: str
    full_name: str


def _remember(request: Request, user: User | None) -> None:
    request.state.user = user
    request.state.viewer = Viewer(user.id, str(user.role), user.full_name) if user is not None else None


def _login_required(request: Request) -> LoginRequired:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return LoginRequired(f"/ingresar?siguiente={quote(target)}")


def page_user(request: Request, session: Session = Depends(get_db)) -> User:
    """For GET pages: the user behind the session cookie."""
    user = authenticate(request, session)
    if user is None:
        raise _login_required(request)
    _remember(request, user)
    return user


def form_user(request: Request, form: FormData = Depends(posted_form), session: Session = Depends(get_db)) -> User:
    """For form posts: the form is read first so that its CSRF token can be checked."""
    user = authenticate(request, session)
    if user is None:
        raise _login_required(request)
    _remember(request, user)
    return user


def optional_page_user(request: Request, session: Session = Depends(get_db)) -> User | None:
    user = authenticate(request, session)
    _remember(request, user)
    return user


@dataclass(frozen=True)
class WebPage:
    """What a page handler works with besides its own path and query parameters: the
    request, the logged-in user, the request's database session and the settings."""

    request: Request
    user: User
    session: Session
    settings: Settings


@dataclass(frozen=True)
class FormPost(WebPage):
    """A posted form, its CSRF token checked, with the same."""

    form: FormData


def web_page(
    request: Request,
    user: User = Depends(page_user),
    session: Session = Depends(get_db),
    settings: Settings = Depends(get_settings_dep),
) -> WebPage:
    return WebPage(request, user, session, settings)


def form_post(
    request: Request,
    user: User = Depends(form_user),
    form: FormData = Depends(posted_form),
    session: Session = Depends(get_db),
    settings: Settings = Depends(get_settings_dep),
) -> FormPost:
    return FormPost(request, user, session, settings, form)


def guarded(check: Callable[[User], None]) -> tuple[Callable[..., WebPage], Callable[..., FormPost]]:
    """A page dependency and a form dependency that first run ``check`` on the user (which
    raises, e.g. Forbidden, when the user may not use that area's pages)."""

    def page(page: WebPage = Depends(web_page)) -> WebPage:
        check(page.user)
        return page

    def post(post: FormPost = Depends(form_post)) -> FormPost:
        check(post.user)
        return post

    return page, post


def require_staff(user: User) -> None:
    """The analyst workspace (``/analisis…``, its review queue included): staff only
    (``policy.is_staff``; the same people ``policy.can_review_responses`` lets review)."""
    if not policy.is_staff(user):
        raise Forbidden("Esta sección es solo para el equipo de análisis.")


#: The page and form dependencies of the analyst workspace (``require_staff``).
staff_page, staff_post = guarded(require_staff)
