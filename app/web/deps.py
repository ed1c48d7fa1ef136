"""Dependencies of the web pages: the logged-in user (or a redirect to the login page) and
forms with their CSRF token checked against the session."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.auth.models import User
from app.deps import authenticate, get_db, get_settings_dep
from app.settings import Settings

MAX_FORM_BYTES = 1_000_000


class LoginRequired(Exception):
    """Raised by page dependencies; the handler answers with a redirect to the login page."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


async def posted_form(request: Request) -> FormData:
    """The posted form; its hidden ``csrf_token`` is what deps.authenticate checks."""
    form = await request.form(max_part_size=MAX_FORM_BYTES)
    request.state.form_csrf_token = form.get("csrf_token")
    return form


def _login_required(request: Request) -> LoginRequired:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return LoginRequired(f"/ingresar?siguiente={quote(target)}")


def page_user(request: Request, session: Session = Depends(get_db)) -> User:
    """For GET pages: the user behind the session cookie."""
    user = authenticate(request, session)
    if user is None:
        raise _login_required(request)
    request.state.user = user
    return user


def form_user(request: Request, form: FormData = Depends(posted_form), session: Session = Depends(get_db)) -> User:
    """For form posts: the form is read first so that its CSRF token can be checked."""
    user = authenticate(request, session)
    if user is None:
        raise _login_required(request)
    request.state.user = user
    return user


def optional_page_user(request: Request, session: Session = Depends(get_db)) -> User | None:
    user = authenticate(request, session)
    request.state.user = user
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
