"""Saving and submitting a response from a questionnaire page, shared by the manager's
self-diagnosis pages (``app.web.manager``) and the field team's interview pages
(``app.web.field``).

Both pages post one section (a subcategory or a whole dimension) with the response version
they read; the responses service refuses a stale version with a 409. These functions call
the service, roll a refused write back and return what the page needs to show itself again:
the answers saved since and, beside each question it posted, the newer saved answer in words.
What the page then says and where it goes next stays with the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

import scoring
from app.auth.models import User
from app.errors import ApiError, Conflict, Invalid
from app.responses import service
from app.responses.models import Response
from app.settings import Settings
from app.unit_of_work import UnitOfWork
from app.web import questionnaire_form as qf

STALE_VERSION = "stale_version"


@dataclass
class SectionSave:
    """What became of saving a section: ``saved`` when it was written, else the refusal."""

    saved: Response | None = None
    conflict: Conflict | None = None
    """A 409: the response changed since the page read it (``stale``) or is no longer editable."""
    invalid: Invalid | None = None
    """A 422: the service refused an answer; each refused answer is on the parsed form's errors."""
    current_answers: dict[str, Any] = field(default_factory=dict)
    """After a 409: the answers saved since the page was read."""
    newer: dict[str, str] = field(default_factory=dict)
    """After a stale save: the newer saved answer in words, by question the page posted."""

    @property
    def stale(self) -> bool:
        return self.conflict is not None and self.conflict.code == STALE_VERSION


def save_section(
    *,
    session: Session,
    user: User,
    settings: Settings,
    questionnaire: scoring.Questionnaire,
    response: Response,
    parsed: qf.ParsedForm,
    version: int | None,
    changes: dict[str, Any] | None = None,
) -> SectionSave:
    """Save a posted section (``changes``, by default its parsed answers) at the version the page
    read, in its own unit of work. A refused save is rolled back and ``response`` re-read, so that it holds the current
    state (status, version, answers) for the page to show again."""
    try:
        with UnitOfWork(session):
            saved = service.update_answers(
                session=session,
                user=user,
                settings=settings,
                response_id=response.id,
                answers=parsed.answers if changes is None else changes,
                version=version,
            )
    except Conflict as error:
        session.refresh(response)
        current = dict(response.answers or {})
        newer = (
            qf.newer_values(questionnaire, parsed.raw.keys(), parsed.answers, current)
            if (error.code == STALE_VERSION)
            else {}
        )
        return SectionSave(conflict=error, current_answers=current, newer=newer)
    except Invalid as error:
        session.refresh(response)
        mark_refused_answers(parsed, error)
        return SectionSave(invalid=error)
    return SectionSave(saved=saved)


def mark_refused_answers(parsed: qf.ParsedForm, error: Invalid) -> None:
    """Put the service's message about each refused answer beside the question the page posted."""
    for detail in error.details:
        name = str(detail.get("field") or "")
        qid = name.removeprefix("answers.")
        if name.startswith("answers.") and qid in parsed.raw:
            parsed.errors.setdefault(qid, qf.sentence(str(detail.get("message") or "valor no válido")))


def submit_response(
    *, session: Session, user: User, settings: Settings, response: Response, version: int | None
) -> ApiError | None:
    """Submit at the version the review page read: None once submitted, else the refusal
    (a 409 Conflict or a 422 Invalid), rolled back with ``response`` re-read."""
    try:
        with UnitOfWork(session):
            service.submit(session=session, user=user, settings=settings, response_id=response.id, version=version)
    except (Conflict, Invalid) as error:
        session.refresh(response)
        return error
    return None
