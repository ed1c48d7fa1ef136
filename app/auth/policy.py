"""Authorization: the one place that decides who may see and do what.

Roles:
- admin: everything;
- analyst: reads everything, validates or returns responses, reopens validated ones, exports;
- field: field team member; sees and enters interviews only for the cooperatives assigned
  to them, one by one or through a macrozone;
- manager: a cooperative's manager; sees and fills self-diagnoses only of their cooperatives.

Views call these functions; they never test roles themselves. A record the user may not
see is answered with 404 (its existence is not revealed); one they may see but not act on,
with 403.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, true

from app.auth.models import Role, User
from app.cooperatives.models import Cooperative
from app.responses.models import Response, ResponseMode
from app.settings import Settings


def is_staff(user: User) -> bool:
    """Admins and analysts see every cooperative and response."""
    return user.role in (Role.ADMIN, Role.ANALYST)


def field_regions(user: User, settings: Settings) -> set[int]:
    return {code for zone in user.macrozones for code in settings.macrozones.get(zone, [])}


def can_view_cooperative(user: User, cooperative: Cooperative, settings: Settings) -> bool:
    if is_staff(user):
        return True
    if cooperative.id in user.cooperative_ids:
        return True
    return user.role == Role.FIELD and cooperative.region_code in field_regions(user, settings)


def cooperative_visibility(user: User, settings: Settings) -> ColumnElement[bool]:
    """The same rule as can_view_cooperative, as a SQL condition for list queries."""
    if is_staff(user):
        return true()
    conditions = []
    if user.cooperative_ids:
        conditions.append(Cooperative.id.in_(sorted(user.cooperative_ids)))
    if user.role == Role.FIELD and field_regions(user, settings):
        conditions.append(Cooperative.region_code.in_(sorted(field_regions(user, settings))))
    return or_(*conditions) if conditions else false()


def can_edit_cooperative(user: User, cooperative: Cooperative, settings: Settings) -> bool:
    """Registry data: staff, and a manager for the contact data of their own cooperative."""
    return is_staff(user) or (user.role == Role.MANAGER and cooperative.id in user.cooperative_ids)


def can_register_cooperative(user: User) -> bool:
    """Staff register directly; a field team member's registration waits for an analyst."""
    return is_staff(user) or user.role == Role.FIELD


def can_approve_cooperative(user: User) -> bool:
    return is_staff(user)


#: What a cooperative's manager may change in their own cooperative's registry data.
MANAGER_COOPERATIVE_FIELDS = frozenset({"contact_name", "contact_email", "contact_phone"})


def cooperative_fields_editable_by(user: User, cooperative: Cooperative, settings: Settings) -> frozenset[str] | None:
    """With can_edit_cooperative: None means every field; otherwise only these fields."""
    return None if is_staff(user) else MANAGER_COOPERATIVE_FIELDS


def response_modes_for(user: User) -> set[str]:
    """The kinds of response the user may start and edit."""
    if user.role == Role.ADMIN:
        return {ResponseMode.SELF.value, ResponseMode.INTERVIEW.value}
    if user.role == Role.MANAGER:
        return {ResponseMode.SELF.value}
    if user.role == Role.FIELD:
        return {ResponseMode.INTERVIEW.value}
    return set()  # analysts review, they do not answer


def can_view_response(user: User, response: Response, cooperative: Cooperative, settings: Settings) -> bool:
    return can_view_cooperative(user, cooperative, settings)


def can_create_response(user: User, cooperative: Cooperative, mode: str, settings: Settings) -> bool:
    return can_view_cooperative(user, cooperative, settings) and mode in response_modes_for(user)


def can_edit_response(user: User, response: Response, cooperative: Cooperative, settings: Settings) -> bool:
    """Change answers and submit (the service also checks that the status allows it)."""
    return can_view_cooperative(user, cooperative, settings) and response.mode in response_modes_for(user)


def can_review_responses(user: User) -> bool:
    """Validate, return for correction, reopen a validated response."""
    return is_staff(user)


def can_manage_users(user: User) -> bool:
    return user.role == Role.ADMIN


def can_view_user(user: User, other: User) -> bool:
    """An account's details: admins see every account, everyone else only their own."""
    return can_manage_users(user) or user.id == other.id


def can_edit_user(user: User, other: User) -> bool:
    """Change an account's name, role, institution, cooperatives, macrozones or state: admins."""
    return can_manage_users(user)


def can_demote_or_deactivate(user: User, other: User) -> bool:
    """Take the admin role away from an account or deactivate it: an admin, never on their own
    account (nobody locks themselves out; another admin does it)."""
    return can_manage_users(user) and user.id != other.id


def can_grant_access(user: User, role: str) -> bool:
    """Give an existing account of ``role`` more cooperatives (or macrozones) from the invitation
    form, instead of a second invitation: whoever may invite that role."""
    return can_invite(user, role)


def can_invite(user: User, role: str) -> bool:
    """Admins invite any role; analysts onboard cooperative managers and field staff."""
    if user.role == Role.ADMIN:
        return True
    return user.role == Role.ANALYST and role in (Role.MANAGER, Role.FIELD)


def can_invite_any(user: User) -> bool:
    return any(can_invite(user, role) for role in Role)


def can_manage_rounds(user: User) -> bool:
    return user.role == Role.ADMIN


def can_manage_questionnaires(user: User) -> bool:
    return user.role == Role.ADMIN


def can_export(user: User) -> bool:
    return is_staff(user)


def can_publish_observatory(user: User) -> bool:
    """Which rounds the public Observatorio shows is the analysts' decision (and admins')."""
    return is_staff(user)


def can_download_xlsform(user: User) -> bool:
    """The XLSForm of a questionnaire version is for offline collection: staff and field teams."""
    return is_staff(user) or user.role == Role.FIELD


def can_import_registry(user: User) -> bool:
    """Import cooperatives from a registry spreadsheet (creates and changes any of them)."""
    return is_staff(user)


def can_use_interview_spreadsheets(user: User) -> bool:
    """Download a round's interview template and import filled ones: staff and field teams."""
    return is_staff(user) or user.role == Role.FIELD


def can_import_interview(user: User, cooperative: Cooperative, settings: Settings) -> bool:
    """One imported interview: staff for any cooperative, a field team member for one they
    may see (assigned to them or in their macrozones)."""
    return is_staff(user) or (user.role == Role.FIELD and can_view_cooperative(user, cooperative, settings))
