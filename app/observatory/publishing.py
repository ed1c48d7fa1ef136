"""Deciding what the Observatorio publishes, and when its figures are due.

- ``publish`` / ``withdraw``: an analyst's decision (``policy.can_publish_observatory``), in
  the caller's unit of work, with an audit event. Withdrawing deletes the figures at once.
- ``round_changed``: called by the response services whenever what counts changes (a
  response validated, reopened or rescored): the round's figures, and those of the next
  published round (whose change is measured against it), become due, and their computation
  is queued once the unit of work commits.
"""

from __future__ import annotations

from functools import partial

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.auth import policy
from app.auth.models import User
from app.db import utcnow
from app.errors import Forbidden
from app.observatory.models import Publication, PublicationEvent
from app.observatory.service import PUBLISHED, WITHDRAWN
from app.observatory.tasks import refresh_figures
from app.queue import enqueue
from app.rounds.models import DiagnosisRound
from app.rounds.service import get_round
from app.unit_of_work import after_commit


def _require(user: User) -> None:
    if not policy.can_publish_observatory(user):
        raise Forbidden("Solo analistas y administradores pueden publicar rondas en el Observatorio.")


# --------------------------------------------------------------------------- deciding


def publish(*, session: Session, user: User, round_id: int) -> Publication:
    """Publish a round (idempotent: publishing it again changes nothing)."""
    _require(user)
    round_ = get_round(session=session, round_id=round_id)
    publication = session.get(Publication, round_.id)
    if publication is not None:
        return publication
    now = utcnow()
    publication = Publication(round_id=round_.id, published_at=now, published_by_id=user.id, requested_at=now)
    session.add(publication)
    session.add(PublicationEvent(round_id=round_.id, at=now, user_id=user.id, kind=PUBLISHED))
    session.flush()
    _queue_refresh(session, [round_.id, *_later_published(session, round_)])
    return publication


def withdraw(*, session: Session, user: User, round_id: int) -> None:
    """Take a round out of the Observatorio: its figures are deleted in this unit of work."""
    _require(user)
    round_ = get_round(session=session, round_id=round_id)
    publication = session.get(Publication, round_.id)
    if publication is None:
        return
    session.delete(publication)
    session.add(PublicationEvent(round_id=round_.id, at=utcnow(), user_id=user.id, kind=WITHDRAWN))
    session.flush()
    _queue_refresh(session, _later_published(session, round_))  # their change compared with it


def is_published(session: Session, round_id: int) -> bool:
    return session.get(Publication, round_id) is not None


def round_changed(session: Session, round_id: int) -> None:
    """What counts in a round changed (in the caller's unit of work): recompute its figures."""
    round_ = session.get(DiagnosisRound, round_id)
    if round_ is None:
        return
    due = [round_.id] if is_published(session, round_.id) else []
    _queue_refresh(session, [*due, *_later_published(session, round_)[:1]])


def _later_published(session: Session, round_: DiagnosisRound) -> list[int]:
    """Published rounds that come after ``round_`` (the next one compares itself with it)."""
    ids = session.scalars(
        select(DiagnosisRound.id)
        .join(Publication, Publication.round_id == DiagnosisRound.id)
        .where(
            (DiagnosisRound.opens_on > round_.opens_on)
            | ((DiagnosisRound.opens_on == round_.opens_on) & (DiagnosisRound.id > round_.id))
        )
        .order_by(DiagnosisRound.opens_on, DiagnosisRound.id)
    )
    return list(ids)


def _queue_refresh(session: Session, round_ids: list[int]) -> None:
    if not round_ids:
        return
    session.execute(
        update(Publication)
        .where(Publication.round_id.in_(round_ids))
        .values(requested_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    for round_id in dict.fromkeys(round_ids):
        after_commit(session, partial(enqueue, refresh_figures, round_id))


__all__ = ["PUBLISHED", "WITHDRAWN", "is_published", "publish", "round_changed", "withdraw"]
