"""Accounts: users, API tokens (invitations, sessions and login are added by the auth views)."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import ApiToken, Role, User, UserCooperative, UserMacrozone
from app.auth.security import hash_password, hash_token, new_token
from app.errors import Conflict, Invalid


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_user(
    *,
    session: Session,
    email: str,
    full_name: str,
    role: str,
    password: str | None = None,
    institution: str | None = None,
    cooperative_ids: list[int] | tuple[int, ...] = (),
    macrozones: list[str] | tuple[str, ...] = (),
) -> User:
    if role not in {r.value for r in Role}:
        raise Invalid(f"Rol desconocido «{role}»; los roles son: admin, analyst, field, manager.",
                      details=[{"field": "role", "code": "invalid", "message": "rol desconocido"}])
    email = normalise_email(email)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"Ya existe un usuario con el correo {email}.",
                       details=[{"field": "email", "code": "duplicate", "message": "correo ya registrado"}])
    user = User(
        email=email,
        full_name=full_name.strip(),
        role=role,
        institution=institution,
        password_hash=hash_password(password) if password else None,
        cooperative_links=[UserCooperative(cooperative_id=cid) for cid in dict.fromkeys(cooperative_ids)],
        macrozone_links=[UserMacrozone(macrozone=zone) for zone in dict.fromkeys(macrozones)],
    )
    session.add(user)
    session.flush()
    return user


def issue_api_token(*, session: Session, user: User, name: str) -> str:
    """Create a personal API token; the clear token is returned once and never stored."""
    token = new_token()
    session.add(ApiToken(user_id=user.id, name=name, token_hash=hash_token(token)))
    session.flush()
    return token


def revoke_api_token(*, session: Session, token: ApiToken) -> None:
    token.revoked_at = datetime.now(timezone.utc)
    session.flush()
