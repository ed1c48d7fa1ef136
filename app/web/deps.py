"""Dependencies of the web pages: the logged-in user (or a redirect to the login page) and
forms with their CSRF token checked against the session."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.auth.models import User
from app.deps import authenticate, get_db

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
