"""Accounts: users, password login and web sessions, invitations, personal API tokens.

Services are keyword-only functions taking ``session=`` and, where someone acts,
``user=`` (the acting user). They flush but do not commit: the view (or CLI) commits.
Authorization is decided by :mod:`app.auth.policy`; a record the acting user may not
see is answered with 404, one they may see but not act on with 403.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any, NoReturn

from sqlalchemy import Select, bindparam, delete, func, select, update
from sqlalchemy.orm import Session, joinedload

from app.auth import passwords, policy, throttle
from app.auth.models import (
    ROLE_LABELS,
    ApiToken,
    Invitation,
    PasswordReset,
    Role,
    User,
    UserCooperative,
    UserMacrozone,
    WebSession,
)
from app.auth.security import hash_password, hash_token, new_token, password_needs_rehash, verify_password
from app.cooperatives.models import Cooperative
from app.errors import Conflict, Forbidden, Gone, Invalid, NotAuthenticated, NotFound
from app.notifications import messages
from app.notifications.service import queue_email
from app.settings import Settings, get_settings
from app.unit_of_work import after_commit

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024

LOGIN_FAILED_MESSAGE = "El correo o la contraseña no son correctos."

#: Who changed which account and how (role, links, state), one line per committed change.
accounts_log = logging.getLogger("coopdiag.accounts")

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@cache
def _dummy_hash() -> str:
    """A valid argon2 hash, verified when the email is unknown so that the answer takes as
    long as for a wrong password (the response does not reveal which emails exist)."""
    return hash_password("coopdiag-usuario-inexistente")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _detail(field: str, code: str, message: str) -> dict[str, str]:
    return {"field": field, "code": code, "message": message}


# --------------------------------------------------------------------------- validation


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_email(email: str, *, field: str = "email") -> str:
    email = normalise_email(email)
    if not _EMAIL_RE.match(email) or len(email) > 254:
        raise Invalid(
            f"El correo «{email}» no es válido.", details=[_detail(field, "invalid", "no es un correo válido")]
        )
    return email


def check_password(password: str, *, field: str = "password", context: Iterable[str | None] = ()) -> None:
    """The password rules: at least 10 characters (and a sane maximum), and not one of the
    easily guessed ones (``app.auth.passwords``: common, repeated, a run, or the person's own
    e-mail or name, given in ``context``)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        message = f"La contraseña debe tener al menos {MIN_PASSWORD_LENGTH} caracteres."
        raise Invalid(message, details=[_detail(field, "too_short", message)])
    if len(password) > MAX_PASSWORD_LENGTH:
        message = f"La contraseña no puede tener más de {MAX_PASSWORD_LENGTH} caracteres."
        raise Invalid(message, details=[_detail(field, "too_long", message)])
    if not password.strip():
        message = "La contraseña no puede ser solo espacios."
        raise Invalid(message, details=[_detail(field, "blank", message)])
    guessable = passwords.problem(password, context=context)
    if guessable is not None:
        code, message = guessable
        raise Invalid(message, details=[_detail(field, code, message)])


def check_role(role: str) -> str:
    if role not in {r.value for r in Role}:
        raise Invalid(
            f"Rol desconocido «{role}»; los roles son: admin, analyst, field, manager.",
            details=[_detail("role", "invalid", "rol desconocido")],
        )
    return role


def check_full_name(full_name: str) -> str:
    full_name = full_name.strip()
    if not full_name:
        raise Invalid("Falta el nombre completo.", details=[_detail("full_name", "missing", "falta el nombre")])
    if len(full_name) > 200:
        raise Invalid(
            "El nombre completo es demasiado largo (máximo 200 caracteres).",
            details=[_detail("full_name", "too_long", "máximo 200 caracteres")],
        )
    return full_name


def _clean_institution(institution: str | None) -> str | None:
    if institution is None:
        return None
    institution = institution.strip()
    if len(institution) > 200:
        raise Invalid(
            "El nombre de la institución es demasiado largo (máximo 200 caracteres).",
            details=[_detail("institution", "too_long", "máximo 200 caracteres")],
        )
    return institution or None


def check_links(
    *,
    session: Session,
    settings: Settings,
    role: str,
    institution: str | None,
    cooperative_ids: Iterable[int],
    macrozones: Iterable[str],
    strict: bool,
) -> tuple[list[int], list[str]]:
    """Check a user's cooperatives and macrozones; returns them deduplicated.

    Always: the cooperatives exist and the macrozones are configured. With ``strict``
    (invitations, the CLI): macrozones only for the field team, a manager needs at least
    one cooperative, a field team member an institution and an assignment.
    """
    cooperative_ids = list(dict.fromkeys(cooperative_ids))
    macrozones = list(dict.fromkeys(macrozones))
    details = []
    if cooperative_ids:
        found = set(session.scalars(select(Cooperative.id).where(Cooperative.id.in_(cooperative_ids))))
        missing = [cid for cid in cooperative_ids if cid not in found]
        if missing:
            details.append(
                _detail(
                    "cooperative_ids", "not_found", "no existen las cooperativas " + ", ".join(str(m) for m in missing)
                )
            )
    unknown = [zone for zone in macrozones if zone not in settings.macrozones]
    if unknown:
        known = ", ".join(settings.macrozones)
        details.append(
            _detail(
                "macrozones", "invalid", f"macrozona desconocida: {', '.join(unknown)} (las macrozonas son: {known})"
            )
        )
    if strict:
        if macrozones and role != Role.FIELD:
            details.append(_detail("macrozones", "not_allowed", "solo el equipo de terreno tiene macrozonas asignadas"))
        if role == Role.MANAGER and not cooperative_ids:
            details.append(_detail("cooperative_ids", "missing", "un gerente debe tener al menos una cooperativa"))
        if role == Role.FIELD and not institution:
            details.append(_detail("institution", "missing", "el equipo de terreno debe indicar su institución"))
        if role == Role.FIELD and not cooperative_ids and not macrozones:
            details.append(
                _detail(
                    "cooperative_ids", "missing", "el equipo de terreno debe tener cooperativas o macrozonas asignadas"
                )
            )
    if details:
        raise Invalid("Hay datos no válidos en las cooperativas o macrozonas asignadas.", details=details)
    return cooperative_ids, macrozones


def _ensure_email_free(session: Session, email: str) -> None:
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(
            f"Ya existe un usuario con el correo {email}.",
            details=[_detail("email", "duplicate", "correo ya registrado")],
        )


# --------------------------------------------------------------------------- users


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
    settings: Settings | None = None,
    strict: bool = False,
) -> User:
    """Create an account (no acting user: used by the CLI, the demo, invitations, tests)."""
    check_role(role)
    email = check_email(email)
    full_name = check_full_name(full_name)
    institution = _clean_institution(institution)
    if password is not None:
        check_password(password, context=(email, full_name))
    cooperative_ids, macrozones = check_links(
        session=session,
        settings=settings or get_settings(),
        role=role,
        institution=institution,
        cooperative_ids=cooperative_ids,
        macrozones=macrozones,
        strict=strict,
    )
    _ensure_email_free(session, email)
    user = User(
        email=email,
        full_name=full_name,
        role=role,
        institution=institution,
        password_hash=hash_password(password) if password else None,
        is_active=True,
        cooperative_links=[UserCooperative(cooperative_id=cid) for cid in cooperative_ids],
        macrozone_links=[UserMacrozone(macrozone=zone) for zone in macrozones],
    )
    session.add(user)
    session.flush()
    return user


def list_users(*, user: User, role: str | None = None, q: str | None = None) -> Select:
    """The users an admin may list, as a query for pagination."""
    if not policy.can_manage_users(user):
        raise Forbidden("Solo un administrador puede ver la lista de usuarios.")
    statement = select(User).order_by(User.id)
    if role is not None:
        statement = statement.where(User.role == check_role(role))
    if q and q.strip():
        pattern = f"%{q.strip().lower()}%"
        statement = statement.where(User.email.like(pattern) | User.full_name.ilike(pattern))
    return statement


def get_user(*, session: Session, user: User, user_id: int) -> User:
    target = session.get(User, user_id)
    if target is None or not policy.can_view_user(user, target):
        raise NotFound("No existe el usuario solicitado.")
    return target


def end_user_access(*, session: Session, target: User) -> None:
    """Close every web session and revoke every API token of ``target``."""
    session.execute(delete(WebSession).where(WebSession.user_id == target.id))
    session.execute(
        update(ApiToken).where(ApiToken.user_id == target.id, ApiToken.revoked_at.is_(None)).values(revoked_at=_now())
    )
    session.flush()


def update_user(
    *,
    session: Session,
    user: User,
    user_id: int,
    settings: Settings,
    changes: dict,
) -> User:
    """Admin changes to an account. ``changes`` may hold full_name, role, institution,
    is_active, cooperative_ids, macrozones (only the keys present are changed).

    Nobody takes the admin role away from their own account or deactivates it
    (``policy.can_demote_or_deactivate``: 403), and the last active admin stays (409). When the
    role or the links change, the result must make sense: a manager keeps at least one
    cooperative, a field team member cooperatives or macrozones (and an institution when they
    become one), and only the field team has macrozones (those of someone who leaves it go).
    Every change is logged (``coopdiag.accounts``) once committed."""
    target = get_user(session=session, user=user, user_id=user_id)
    if not policy.can_edit_user(user, target):
        raise Forbidden("Solo un administrador puede modificar usuarios.")
    new_role = check_role(changes["role"]) if changes.get("role") is not None else target.role
    new_active = changes["is_active"] if changes.get("is_active") is not None else target.is_active
    demoted = target.role == Role.ADMIN and new_role != Role.ADMIN
    deactivated = target.is_active and not new_active
    if (demoted or deactivated) and not policy.can_demote_or_deactivate(user, target):
        message = (
            "No puede quitarse el rol de administrador ni desactivar su propia cuenta; "
            "si es necesario, pídaselo a otra persona que administre coopdiag."
        )
        raise Forbidden(
            message,
            code="own_account",
            details=[_detail("role" if demoted else "is_active", "own_account", message)],
        )
    if target.role == Role.ADMIN and target.is_active and (demoted or deactivated):
        others = session.scalar(
            select(User.id)
            .where(User.role == Role.ADMIN.value, User.is_active.is_(True), User.id != target.id)
            .limit(1)
        )
        if others is None:
            raise Conflict(
                "No se puede quitar el rol ni desactivar al último administrador activo.",
                details=[
                    _detail("role" if demoted else "is_active", "last_admin", "es el último administrador activo")
                ],
            )
    institution = _clean_institution(changes["institution"]) if "institution" in changes else target.institution
    sent_ids = changes.get("cooperative_ids")
    sent_zones = changes.get("macrozones")
    role_changed = new_role != target.role
    links_changed = role_changed or sent_ids is not None or sent_zones is not None
    # Macrozones are the field team's: someone who leaves it loses them.
    kept_zones = sorted(target.macrozones) if new_role == Role.FIELD else []
    zones = kept_zones if sent_zones is None else list(sent_zones)
    checked_ids, checked_zones = check_links(
        session=session,
        settings=settings,
        role=new_role,
        institution=institution,
        cooperative_ids=sent_ids if sent_ids is not None else sorted(target.cooperative_ids),
        macrozones=zones,
        strict=False,
    )
    if links_changed:
        _check_role_links(new_role, checked_ids, checked_zones, institution, became_field=role_changed)
    before = account_state(target)
    if changes.get("full_name") is not None:
        target.full_name = check_full_name(changes["full_name"])
    target.role = new_role
    target.institution = institution
    if sent_ids is not None:
        current = {link.cooperative_id: link for link in target.cooperative_links}
        target.cooperative_links = [current.get(cid) or UserCooperative(cooperative_id=cid) for cid in checked_ids]
    if set(checked_zones) != target.macrozones:
        current_zones = {link.macrozone: link for link in target.macrozone_links}
        target.macrozone_links = [current_zones.get(z) or UserMacrozone(macrozone=z) for z in checked_zones]
    if deactivated:
        end_user_access(session=session, target=target)
    target.is_active = new_active
    session.flush()
    changed = describe_account_changes(before, account_state(target))
    if changed:
        _log_after_commit(
            session, f"Cuenta {target.id} ({target.email}) cambiada por {user.id} ({user.email}): " + "; ".join(changed)
        )
    return target


def _check_role_links(
    role: str, cooperative_ids: list[int], macrozones: list[str], institution: str | None, *, became_field: bool
) -> None:
    """What an account's role asks of its links (as an invitation asks it)."""
    details = []
    if macrozones and role != Role.FIELD:
        details.append(_detail("macrozones", "not_allowed", "solo el equipo de terreno tiene macrozonas asignadas"))
    if role == Role.MANAGER and not cooperative_ids:
        details.append(_detail("cooperative_ids", "missing", "un gerente debe tener al menos una cooperativa"))
    if role == Role.FIELD and not cooperative_ids and not macrozones:
        details.append(
            _detail("cooperative_ids", "missing", "el equipo de terreno debe tener cooperativas o macrozonas asignadas")
        )
    if role == Role.FIELD and became_field and not institution:
        details.append(_detail("institution", "missing", "el equipo de terreno debe indicar su institución"))
    if details:
        raise Invalid("Hay datos no válidos en el rol, las cooperativas o las macrozonas.", details=details)


@dataclass(frozen=True)
class AccountState:
    """What an admin may change in an account, to tell (and log) what changed."""

    full_name: str
    role: str
    institution: str | None
    is_active: bool
    cooperative_ids: frozenset[int]
    macrozones: frozenset[str]


def account_state(user: User) -> AccountState:
    return AccountState(
        full_name=user.full_name,
        role=user.role,
        institution=user.institution,
        is_active=user.is_active,
        cooperative_ids=frozenset(user.cooperative_ids),
        macrozones=frozenset(user.macrozones),
    )


def describe_account_changes(
    before: AccountState, after: AccountState, *, cooperative_names: Mapping[int, str] | None = None
) -> list[str]:
    """The changes in words (Spanish), e.g. «rol: de analista a gerente de cooperativa»;
    cooperatives by their ids, or by name when ``cooperative_names`` has them."""
    names: Mapping[Any, str] = cooperative_names or {}
    words = []
    if before.full_name != after.full_name:
        words.append(f"nombre: de «{before.full_name}» a «{after.full_name}»")
    if before.role != after.role:
        words.append(f"rol: de {ROLE_LABELS.get(before.role, before.role)} a {ROLE_LABELS.get(after.role, after.role)}")
    if before.institution != after.institution:
        words.append(f"institución: de «{before.institution or 'ninguna'}» a «{after.institution or 'ninguna'}»")
    if before.is_active != after.is_active:
        words.append("cuenta activada" if after.is_active else "cuenta desactivada")
    for label, old, new in (
        ("cooperativas", before.cooperative_ids, after.cooperative_ids),
        ("macrozonas", before.macrozones, after.macrozones),
    ):
        added, removed = sorted(new - old, key=str), sorted(old - new, key=str)
        if added:
            words.append(f"{label} agregadas: " + ", ".join(names.get(item, str(item)) for item in added))
        if removed:
            words.append(f"{label} quitadas: " + ", ".join(names.get(item, str(item)) for item in removed))
    return words


def _log_after_commit(session: Session, message: str) -> None:
    """Account changes are logged once they are committed (a refused change is not)."""
    after_commit(session, lambda: accounts_log.info(message))


# --------------------------------------------------------------------------- login and sessions


@dataclass(frozen=True)
class NewSession:
    """A web session just opened: the clear cookie value is only here, never stored."""

    token: str
    csrf_token: str
    record: WebSession
    max_age: int


def open_session(*, session: Session, user: User, settings: Settings) -> NewSession:
    now = _now()
    session.execute(delete(WebSession).where(WebSession.user_id == user.id, WebSession.expires_at <= now))
    token = new_token()
    csrf = new_token()
    record = WebSession(
        token_hash=hash_token(token),
        csrf_token=csrf,
        user_id=user.id,
        created_at=now,
        expires_at=now + timedelta(hours=settings.session_hours),
    )
    session.add(record)
    session.flush()
    return NewSession(token=token, csrf_token=csrf, record=record, max_age=settings.session_hours * 3600)


#: The user with their cooperative and macrozone links, joined into the same query (the
#: links' default is one more query each): authentication is on every request's path.
_USER_WITH_LINKS = (joinedload(User.cooperative_links), joinedload(User.macrozone_links))


@cache
def _by_token_statement(model: type[WebSession] | type[ApiToken]) -> Select:
    """Built once: authentication runs it on every request."""
    return (
        select(model)
        .where(model.token_hash == bindparam("token_hash"))
        .options(joinedload(model.user).options(*_USER_WITH_LINKS))
    )


def _find_by_token(session: Session, model: type[WebSession] | type[ApiToken], token: str):
    result = session.execute(_by_token_statement(model), {"token_hash": hash_token(token)})
    return result.unique().scalar_one_or_none()


def find_web_session(*, session: Session, token: str) -> WebSession | None:
    """The session record of a cookie value, with its user and the user's links (one query)."""
    return _find_by_token(session, WebSession, token)


def find_api_token(*, session: Session, token: str) -> ApiToken | None:
    """The record of a personal API token, with its user and the user's links (one query)."""
    return _find_by_token(session, ApiToken, token)


def forget_session_token(*, session: Session, token: str) -> None:
    """Close the session whose cookie value is ``token`` (if any)."""
    session.execute(delete(WebSession).where(WebSession.token_hash == hash_token(token)))


def close_session(*, session: Session, record: WebSession | None) -> None:
    if record is not None:
        session.execute(delete(WebSession).where(WebSession.id == record.id))
        session.flush()


def login(
    *,
    session: Session,
    email: str,
    password: str,
    settings: Settings,
    previous_token: str | None = None,
    client_ip: str | None = None,
) -> tuple[User, NewSession]:
    """Check the password and open a new session (a previous session of this browser is
    closed: a session id is never reused after a login). The attempt is counted before the
    password is checked (``throttle.reserve``, committed on its own): too many recent failures
    from the address, or for the account from the address, are refused with 429 first."""
    email = normalise_email(email)
    now = _now()
    reservation = throttle.reserve(session=session, email=email, client_ip=client_ip, now=now)
    user = session.scalar(select(User).where(User.email == email))
    if user is None or not user.password_hash:
        verify_password(_dummy_hash(), password)
        _login_failed()
    if not verify_password(user.password_hash, password) or not user.is_active:
        _login_failed()
    throttle.release(session=session, reservation=reservation)
    if password_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    if previous_token:
        forget_session_token(session=session, token=previous_token)
    user.last_login_at = _now()
    return user, open_session(session=session, user=user, settings=settings)


def _login_failed() -> NoReturn:
    # The failure is already recorded: throttle.reserve committed it before the check.
    raise NotAuthenticated(LOGIN_FAILED_MESSAGE, code="login_failed")


def change_password(
    *, session: Session, user: User, current_password: str, new_password: str, keep: WebSession | None = None
) -> None:
    """Change one's own password; every other web session of the account is closed."""
    if not verify_password(user.password_hash, current_password):
        message = "La contraseña actual no es correcta."
        raise Invalid(message, details=[_detail("current_password", "wrong", message)])
    check_password(new_password, field="new_password", context=(user.email, user.full_name))
    user.password_hash = hash_password(new_password)
    statement = delete(WebSession).where(WebSession.user_id == user.id)
    if keep is not None:
        statement = statement.where(WebSession.id != keep.id)
    session.execute(statement)
    session.flush()


# --------------------------------------------------------------------------- invitations


@dataclass(frozen=True)
class NewInvitation:
    token: str
    record: Invitation

    @property
    def path(self) -> str:
        return f"/invitacion/{self.token}"


@dataclass(frozen=True)
class AccessAdded:
    """An «invitation» of someone who already has an account of that role (a manager of a
    second cooperative): no invitation, the cooperatives (or macrozones) were added to it."""

    user: User
    cooperatives: tuple[Cooperative, ...]
    macrozones: tuple[str, ...]

    @property
    def summary(self) -> str:
        """What was added, in words: «la cooperativa «X»», «las macrozonas Sur y Austral»."""
        parts = []
        names = [f"«{c.name}»" for c in self.cooperatives]
        if names:
            parts.append(("la cooperativa " if len(names) == 1 else "las cooperativas ") + _and_list(names))
        if self.macrozones:
            parts.append(
                ("la macrozona " if len(self.macrozones) == 1 else "las macrozonas ") + _and_list(list(self.macrozones))
            )
        return " y ".join(parts)


def _and_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " y " + items[-1]


def create_invitation(
    *,
    session: Session,
    user: User,
    settings: Settings,
    email: str,
    full_name: str,
    role: str,
    institution: str | None = None,
    cooperative_ids: Iterable[int] = (),
    macrozones: Iterable[str] = (),
) -> NewInvitation | AccessAdded:
    """Invite someone (an e-mailed single-use link to create their account). Someone who
    already has an account of that role (a manager of a second cooperative, a field team
    member for more cooperatives or macrozones) gets no invitation: the cooperatives or
    macrozones are added to their account (``AccessAdded``) and they are told by e-mail. An
    account of another role is refused (409) pointing to editing that account."""
    check_role(role)
    if not policy.can_invite(user, role):
        raise Forbidden(f"No tiene permiso para invitar a usuarios con el rol «{ROLE_LABELS[role]}».")
    email = check_email(email)
    existing = session.scalar(select(User).where(User.email == email))
    if existing is not None:
        return _add_access(
            session=session,
            user=user,
            settings=settings,
            account=existing,
            role=role,
            cooperative_ids=cooperative_ids,
            macrozones=macrozones,
        )
    full_name = check_full_name(full_name)
    institution = _clean_institution(institution)
    cooperative_ids, macrozones = check_links(
        session=session,
        settings=settings,
        role=role,
        institution=institution,
        cooperative_ids=cooperative_ids,
        macrozones=macrozones,
        strict=True,
    )
    _ensure_email_free(session, email)
    _ensure_no_open_invitation(session, email)
    token = new_token()
    now = _now()
    record = Invitation(
        token_hash=hash_token(token),
        email=email,
        full_name=full_name,
        role=role,
        institution=institution,
        cooperative_ids=cooperative_ids,
        macrozones=macrozones,
        created_by_id=user.id,
        created_at=now,
        expires_at=now + timedelta(days=settings.invitation_days),
    )
    session.add(record)
    session.flush()
    new = NewInvitation(token=token, record=record)
    _queue_invitation_email(session, settings, new, inviter=user)
    return new


def _add_access(
    *,
    session: Session,
    user: User,
    settings: Settings,
    account: User,
    role: str,
    cooperative_ids: Iterable[int],
    macrozones: Iterable[str],
) -> AccessAdded:
    """The cooperatives (and a field team member's macrozones) of an invitation, added to the
    existing ``account`` of that role instead (see ``create_invitation``)."""
    where = (
        "edítela en Administración › Usuarios"
        if policy.can_edit_user(user, account)
        else "pídale a quien administra coopdiag que la modifique"
    )
    email = account.email
    if account.role != role or role not in (Role.MANAGER, Role.FIELD) or not policy.can_grant_access(user, role):
        message = (
            f"Ya existe una cuenta con el correo {email}, con el rol «{ROLE_LABELS.get(account.role, account.role)}»: "
            f"no necesita invitación. Para cambiar su rol o lo que tiene asignado, {where}."
        )
        raise Conflict(
            message,
            code="account_exists",
            details=[_detail("email", "duplicate", message)],
            extra={"user_id": account.id},
        )
    if not account.is_active:
        message = (
            f"La cuenta de {email} está desactivada: no se le agregan cooperativas desde una invitación. "
            f"Para activarla y asignarle cooperativas, {where}."
        )
        raise Conflict(
            message,
            code="account_inactive",
            details=[_detail("email", "inactive", message)],
            extra={"user_id": account.id},
        )
    ids, zones = check_links(
        session=session,
        settings=settings,
        role=role,
        institution=account.institution,
        cooperative_ids=cooperative_ids,
        macrozones=macrozones,
        strict=False,
    )
    _check_role_links(role, ids, zones, account.institution, became_field=False)
    new_ids = [cid for cid in ids if cid not in account.cooperative_ids]
    new_zones = [zone for zone in zones if zone not in account.macrozones]
    if not new_ids and not new_zones:
        message = f"{account.full_name} ({email}) ya tiene cuenta y acceso a todo lo elegido: no hay nada que agregar."
        raise Conflict(
            message,
            code="already_linked",
            details=[_detail("cooperative_ids" if ids else "macrozones", "already_linked", message)],
            extra={"user_id": account.id},
        )
    before = account_state(account)
    account.cooperative_links.extend(UserCooperative(cooperative_id=cid) for cid in new_ids)
    account.macrozone_links.extend(UserMacrozone(macrozone=zone) for zone in new_zones)
    session.flush()
    by_id = {c.id: c for c in session.scalars(select(Cooperative).where(Cooperative.id.in_(new_ids)))}
    added = AccessAdded(user=account, cooperatives=tuple(by_id[cid] for cid in new_ids), macrozones=tuple(new_zones))
    subject, body = messages.access_added(
        settings=settings, name=account.full_name, by=user.full_name, what=added.summary, path="/ingresar"
    )
    queue_email(session, kind="access_added", to=account.email, subject=subject, body=body)
    changed = describe_account_changes(before, account_state(account))
    _log_after_commit(
        session,
        f"Cuenta {account.id} ({email}) ampliada desde una invitación por {user.id} ({user.email}): "
        + "; ".join(changed),
    )
    return added


def _ensure_no_open_invitation(session: Session, email: str) -> None:
    """One open invitation per e-mail: a second one is refused, pointing at the first."""
    open_one = session.scalar(
        select(Invitation)
        .where(
            Invitation.email == email,
            Invitation.used_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > _now(),
        )
        .order_by(Invitation.id.desc())
        .limit(1)
    )
    if open_one is not None:
        raise Conflict(
            f"Ya hay una invitación vigente para {email}. Si no le llegó, reenvíela desde la lista de "
            "invitaciones (se envía un enlace nuevo) o anúlela antes de crear otra.",
            code="invitation_pending",
            details=[
                _detail(
                    "email",
                    "invitation_pending",
                    "ya hay una invitación vigente para este correo; reenvíela o anúlela desde la lista de invitaciones",
                )
            ],
            extra={"invitation_id": open_one.id},
        )


def _queue_invitation_email(session: Session, settings: Settings, new: NewInvitation, *, inviter: User) -> None:
    invitation = new.record
    subject, body = messages.invitation(
        settings=settings,
        name=invitation.full_name,
        inviter=inviter.full_name,
        role=ROLE_LABELS.get(invitation.role, invitation.role),
        path=new.path,
        expires_at=invitation.expires_at,
    )
    queue_email(session, kind="invitation", to=invitation.email, subject=subject, body=body)


def _managed_invitation(session: Session, user: User, invitation_id: int) -> Invitation:
    """An invitation the user may resend or withdraw (those of the roles they may invite)."""
    if not policy.can_invite_any(user):
        raise Forbidden("No tiene permiso para gestionar invitaciones.")
    invitation = session.get(Invitation, invitation_id)
    if invitation is None:
        raise NotFound("No existe la invitación solicitada.")
    if not policy.can_invite(user, invitation.role):
        raise Forbidden(f"No tiene permiso para gestionar invitaciones con el rol «{ROLE_LABELS[invitation.role]}».")
    return invitation


def _ensure_still_open(invitation: Invitation, action: str) -> None:
    if invitation.used_at is not None:
        raise Conflict(
            f"No se puede {action} esta invitación: ya fue usada y la persona tiene su cuenta.",
            code="invitation_used",
        )
    if invitation.revoked_at is not None:
        raise Conflict(
            f"No se puede {action} esta invitación: fue anulada. Cree una nueva si la necesita.",
            code="invitation_revoked",
        )


def resend_invitation(*, session: Session, user: User, settings: Settings, invitation_id: int) -> NewInvitation:
    """A new link for an invitation not used nor withdrawn (also an expired one), e-mailed
    again; the previous link stops working and the validity starts over."""
    invitation = _managed_invitation(session, user, invitation_id)
    _ensure_still_open(invitation, "reenviar")
    _ensure_email_free(session, invitation.email)
    token = new_token()
    now = _now()
    # Of a resend and a concurrent accept (or withdrawal) only one changes the row.
    changed = session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.used_at.is_(None), Invitation.revoked_at.is_(None))
        .values(token_hash=hash_token(token), expires_at=now + timedelta(days=settings.invitation_days))
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(invitation)
    if changed != 1:
        _ensure_still_open(invitation, "reenviar")
    new = NewInvitation(token=token, record=invitation)
    _queue_invitation_email(session, settings, new, inviter=user)
    return new


def revoke_invitation(*, session: Session, user: User, invitation_id: int) -> Invitation:
    """Withdraw an invitation not used yet: its link stops working. Withdrawing twice is harmless."""
    invitation = _managed_invitation(session, user, invitation_id)
    if invitation.revoked_at is not None:
        return invitation
    _ensure_still_open(invitation, "anular")
    changed = session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.used_at.is_(None), Invitation.revoked_at.is_(None))
        .values(revoked_at=_now())
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(invitation)
    if changed != 1 and invitation.revoked_at is None:
        _ensure_still_open(invitation, "anular")
    return invitation


def list_invitations(*, user: User, pending: bool = False) -> Select:
    if not policy.can_invite_any(user):
        raise Forbidden("No tiene permiso para ver las invitaciones.")
    statement = select(Invitation).order_by(Invitation.id.desc())
    if pending:
        statement = statement.where(
            Invitation.used_at.is_(None), Invitation.revoked_at.is_(None), Invitation.expires_at > _now()
        )
    return statement


def find_invitation(*, session: Session, token: str) -> Invitation:
    invitation = session.scalar(select(Invitation).where(Invitation.token_hash == hash_token(token)))
    if invitation is None:
        raise NotFound("El enlace de invitación no existe; revise que lo copió completo.")
    return invitation


def invitation_problem(invitation: Invitation) -> str | None:
    """Why the invitation can no longer be used (Spanish), or None while it is valid."""
    if invitation.used_at is not None:
        return "Esta invitación ya fue usada; inicie sesión con su correo y contraseña."
    if invitation.revoked_at is not None:
        return "Esta invitación fue anulada; si la necesita, pida una nueva a quien lo invitó."
    if invitation.expires_at <= _now():
        return "Esta invitación venció; pida una nueva a quien lo invitó."
    return None


def accept_invitation(*, session: Session, token: str, password: str, settings: Settings) -> tuple[User, NewSession]:
    """Create the account of an invitation, set its password and open a session. Single use."""
    invitation = find_invitation(session=session, token=token)
    problem = invitation_problem(invitation)
    if problem:
        code = "invitation_used" if invitation.used_at else "invitation_revoked" if invitation.revoked_at else ""
        raise Gone(problem, code=code or "invitation_expired")
    check_password(password, context=(invitation.email, invitation.full_name))
    now = _now()
    # Claim the invitation atomically: of two concurrent accepts only one changes the row.
    claimed = session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.token_hash == hash_token(token),  # not replaced by a resend meanwhile
            Invitation.used_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        session.refresh(invitation)
        raise Gone(
            invitation_problem(invitation) or "Esta invitación ya no se puede usar.",
            code="invitation_revoked" if invitation.revoked_at else "invitation_used",
        )
    new_user = create_user(
        session=session,
        email=invitation.email,
        full_name=invitation.full_name,
        role=invitation.role,
        password=password,
        institution=invitation.institution,
        cooperative_ids=invitation.cooperative_ids or [],
        macrozones=invitation.macrozones or [],
        settings=settings,
    )
    new_user.last_login_at = now
    session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id)
        .values(user_id=new_user.id)
        .execution_options(synchronize_session=False)
    )
    session.refresh(invitation)
    return new_user, open_session(session=session, user=new_user, settings=settings)


# --------------------------------------------------------------------------- password resets

#: How long a «¿Olvidó su contraseña?» link works, and how many an account gets per that time.
PASSWORD_RESET_LIFETIME = timedelta(hours=1)
MAX_PASSWORD_RESETS = 3
PASSWORD_RESET_REQUESTED = (
    "Si el correo está registrado, le enviamos un enlace para elegir una contraseña nueva. "
    "Revise su bandeja de entrada (y la carpeta de correo no deseado); el enlace vence en una hora."
)


def request_password_reset(*, session: Session, settings: Settings, email: str) -> None:
    """E-mail a single-use link to choose a new password to the active account of ``email``.
    The caller answers the same whatever happens here (``PASSWORD_RESET_REQUESTED``): an
    unknown or malformed e-mail, an inactive account, or one that already got
    ``MAX_PASSWORD_RESETS`` links in the last ``PASSWORD_RESET_LIFETIME``, gets no e-mail and no
    other sign."""
    email = normalise_email(email)
    if not _EMAIL_RE.match(email) or len(email) > 254:
        return
    user = session.scalar(select(User).where(User.email == email))
    now = _now()
    if user is None or not user.is_active:
        return
    # One account's lock (its row) while counting, so that parallel requests cannot exceed it.
    session.execute(update(User).where(User.id == user.id).values(email=User.email))
    recent = session.scalar(
        select(func.count())
        .select_from(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.created_at > now - PASSWORD_RESET_LIFETIME)
    )
    if (recent or 0) >= MAX_PASSWORD_RESETS:
        return
    session.execute(delete(PasswordReset).where(PasswordReset.user_id == user.id, PasswordReset.expires_at <= now))
    token = new_token()
    record = PasswordReset(
        user_id=user.id, token_hash=hash_token(token), created_at=now, expires_at=now + PASSWORD_RESET_LIFETIME
    )
    session.add(record)
    session.flush()
    subject, body = messages.password_reset(
        settings=settings,
        name=user.full_name,
        email=user.email,
        path=password_reset_path(token),
        expires_at=record.expires_at,
    )
    queue_email(session, kind="password_reset", to=user.email, subject=subject, body=body)


def password_reset_path(token: str) -> str:
    return f"/contrasena/nueva/{token}"


def find_password_reset(*, session: Session, token: str) -> PasswordReset:
    record = session.scalar(select(PasswordReset).where(PasswordReset.token_hash == hash_token(token)))
    if record is None:
        raise NotFound("El enlace para cambiar la contraseña no existe; revise que lo copió completo del correo.")
    return record


def password_reset_problem(session: Session, record: PasswordReset) -> str | None:
    """Why the link can no longer be used (Spanish), or None while it works."""
    if record.used_at is not None:
        return "Este enlace ya se usó. Si necesita cambiar su contraseña otra vez, pida un enlace nuevo."
    if record.expires_at <= _now():
        return "Este enlace venció (dura una hora). Pida uno nuevo."
    user = session.get(User, record.user_id)
    if user is None or not user.is_active:
        return "Este enlace ya no se puede usar. Si necesita entrar a coopdiag, escriba a quien administra el sistema."
    return None


def reset_password(*, session: Session, token: str, password: str) -> User:
    """Set a new password with a «¿Olvidó su contraseña?» link. Single use: the link (and every
    other open link of the account) stops working, and every web session of the account is
    closed."""
    record = find_password_reset(session=session, token=token)
    problem = password_reset_problem(session, record)
    if problem:
        raise Gone(problem, code="password_reset_used" if record.used_at else "password_reset_expired")
    user = session.get(User, record.user_id)
    assert user is not None
    check_password(password, context=(user.email, user.full_name))
    now = _now()
    # Claim the link atomically: of two concurrent uses only one changes the row.
    claimed = session.execute(
        update(PasswordReset)
        .where(PasswordReset.id == record.id, PasswordReset.used_at.is_(None), PasswordReset.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise Gone(
            "Este enlace ya se usó. Si necesita cambiar su contraseña otra vez, pida un enlace nuevo.",
            code="password_reset_used",
        )
    session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    user.password_hash = hash_password(password)
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    session.flush()
    return user


# --------------------------------------------------------------------------- API tokens


def _check_token_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise Invalid("Falta el nombre del token.", details=[_detail("name", "missing", "falta el nombre")])
    if len(name) > 100:
        raise Invalid(
            "El nombre del token es demasiado largo (máximo 100 caracteres).",
            details=[_detail("name", "too_long", "máximo 100 caracteres")],
        )
    return name


def issue_api_token(*, session: Session, user: User, name: str) -> str:
    """Create a personal API token; the clear token is returned once and never stored."""
    return create_api_token(session=session, user=user, name=name)[0]


def create_api_token(*, session: Session, user: User, name: str) -> tuple[str, ApiToken]:
    name = _check_token_name(name)
    existing = session.scalar(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.name == name))
    if existing is not None:
        if existing.revoked_at is None:
            raise Conflict(
                f"Ya tiene un token activo llamado «{name}»; elija otro nombre o revóquelo antes.",
                details=[_detail("name", "duplicate", "ya existe un token activo con este nombre")],
            )
        session.delete(existing)  # a revoked token's name may be reused
        session.flush()
    token = new_token()
    record = ApiToken(user_id=user.id, name=name, token_hash=hash_token(token), created_at=_now())
    session.add(record)
    session.flush()
    return token, record


def list_api_tokens(*, user: User) -> Select:
    return select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)


def revoke_api_token(*, session: Session, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = _now()
    session.flush()


def revoke_own_api_token(*, session: Session, user: User, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound("No existe el token solicitado.")
    revoke_api_token(session=session, token=token)
    return token
