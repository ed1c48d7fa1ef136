"""The Observatorio's figures: computing them from the validated diagnoses, and reading them.

(Deciding what is published, and when figures are due, is ``app/observatory/publishing.py``.)

- ``compute_figures``: reads the validated diagnoses and builds the document with
  ``figures.round_figures``; the task (``app/observatory/tasks.py``) stores it with its ETag.
- ``published_rounds`` / ``published_round``: what the public pages read; the stored
  document only, never the responses.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import CursorResult, Select, select, update
from sqlalchemy.orm import Session

from app.auth.models import User
from app.cooperatives.models import LEGAL_TYPE_LABELS, Cooperative
from app.cooperatives.sectors import SECTORS
from app.errors import NotFound
from app.exchange.aggregates import NO_MACROZONE, NO_SECTOR, NO_SIZE, SIZE_BANDS, size_band
from app.exchange.exports import decode_json, json_text, members_total, snapshot_levels, stream_rows
from app.observatory import figures
from app.observatory.disclosure import Unit
from app.observatory.figures import SEVERAL_SECTORS
from app.observatory.indicators import indicator_values
from app.observatory.models import Publication, PublicationEvent
from app.responses.models import Response, ResponseStatus
from app.rounds.models import DiagnosisRound
from app.rounds.service import get_round, get_round_questionnaire
from app.settings import REGIONS, Settings

# --------------------------------------------------------------------------- computing


def _orders(settings: Settings) -> figures.Orders:
    return figures.Orders(
        region=[str(code) for code in REGIONS],
        macrozone=[*settings.macrozones, NO_MACROZONE[0]],
        sector=[*SECTORS, SEVERAL_SECTORS[0], NO_SECTOR[0]],
        legal_type=list(LEGAL_TYPE_LABELS),
        size=[band[0] for band in SIZE_BANDS] + [NO_SIZE[0]],
    )


def _units_statement(round_id: int) -> Select:
    return (
        select(
            Cooperative.id,
            Cooperative.region_code,
            Cooperative.legal_type,
            json_text(Cooperative.sectors),
            Cooperative.members_women,
            Cooperative.members_men,
            json_text(Response.answers),
            json_text(Response.result_snapshot),
        )
        .join(Response, Response.cooperative_id == Cooperative.id)
        .where(
            Response.round_id == round_id,
            Response.is_current.is_(True),
            Response.status == ResponseStatus.VALIDATED.value,  # only what an analyst validated
            Response.result_snapshot.is_not(None),
        )
        .order_by(Cooperative.id)
    )


def round_units(session: Session, settings: Settings, round_: DiagnosisRound) -> list[Unit]:
    """The validated diagnoses of a round, reduced to what may be aggregated."""
    questionnaire = get_round_questionnaire(session=session, round=round_)
    units = []
    for row in stream_rows(session, _units_statement(round_.id)):
        levels = snapshot_levels(decode_json(row.result_snapshot))
        if not levels:
            continue
        zone = settings.macrozone_of(row.region_code)
        sectors = tuple(decode_json(row.sectors) or ())
        units.append(
            Unit(
                cooperative_id=row.id,
                region_code=row.region_code,
                macrozone=(zone, zone) if zone else NO_MACROZONE,
                legal_type=(row.legal_type, LEGAL_TYPE_LABELS.get(row.legal_type, row.legal_type)),
                sectors=tuple((code, SECTORS.get(code, code)) for code in sectors) or (NO_SECTOR,),
                size=size_band(members_total(row.members_women, row.members_men)),
                lights={key: str(level.get("light")) for key, level in levels.items() if not key.startswith("s:")},
                indicators=indicator_values(questionnaire, decode_json(row.answers) or {}),
            )
        )
    return units


def _round_summary(round_: DiagnosisRound) -> dict[str, Any]:
    return {
        "id": round_.id,
        "name": round_.name,
        "opens_on": round_.opens_on.isoformat(),
        "closes_on": round_.closes_on.isoformat(),
    }


def _previous_published(session: Session, round_: DiagnosisRound) -> DiagnosisRound | None:
    return session.scalars(
        select(DiagnosisRound)
        .join(Publication, Publication.round_id == DiagnosisRound.id)
        .where(
            (DiagnosisRound.opens_on < round_.opens_on)
            | ((DiagnosisRound.opens_on == round_.opens_on) & (DiagnosisRound.id < round_.id))
        )
        .order_by(DiagnosisRound.opens_on.desc(), DiagnosisRound.id.desc())
        .limit(1)
    ).first()


def compute_figures(session: Session, settings: Settings, round_id: int) -> dict[str, Any]:
    """The public document of a round, as of now (read only)."""
    round_ = get_round(session=session, round_id=round_id)
    questionnaire = get_round_questionnaire(session=session, round=round_)
    levels = [figures.Level("general", "Resultado general")] + [
        figures.Level(f"d:{dimension.id}", dimension.title)
        for dimension in questionnaire.dimensions
        if not dimension.informational
    ]
    previous = _previous_published(session, round_)
    document = figures.round_figures(
        round_units(session, settings, round_),
        levels=levels,
        orders=_orders(settings),
        region_labels=REGIONS,
        previous=(_round_summary(previous), round_units(session, settings, previous)) if previous else None,
    )
    return {"round": _round_summary(round_)} | document


def encode(document: dict[str, Any]) -> tuple[str, str]:
    """The stored text of a document and its ETag (a hash of exactly that text)."""
    text = orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode()
    return text, hashlib.sha256(text.encode()).hexdigest()[:32]


def store_figures(session: Session, round_id: int, *, computed_from: datetime, text: str, etag: str) -> bool:
    """Store a computed document, unless the round was withdrawn meanwhile. ``computed_at`` is
    when the computation started, so a request that came in during it is still due."""
    done: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Publication)
        .where(Publication.round_id == round_id)
        .values(payload=text, etag=etag, computed_at=computed_from)
        .execution_options(synchronize_session=False)
    )
    return done.rowcount == 1


def is_due(session: Session, round_id: int) -> bool:
    publication = session.get(Publication, round_id)
    return publication is not None and (
        publication.computed_at is None or publication.computed_at < publication.requested_at
    )


def due_rounds(session: Session) -> list[int]:
    """Published rounds whose figures are missing or older than their last change (the sweep)."""
    return list(
        session.scalars(
            select(Publication.round_id).where(
                (Publication.computed_at.is_(None)) | (Publication.computed_at < Publication.requested_at)
            )
        )
    )


# --------------------------------------------------------------------------- reading (analysts)

PUBLISHED = "published"
WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class PublicationStatus:
    """What the round page says about the round in the Observatorio."""

    published: bool
    published_at: datetime | None
    published_by: str | None
    computed_at: datetime | None
    due: bool
    history: list[tuple[datetime, str, str]]  # (when, what, who)


def publication_status(session: Session, round_id: int) -> PublicationStatus:
    publication = session.get(Publication, round_id)
    events = session.execute(
        select(PublicationEvent.at, PublicationEvent.kind, User.full_name)
        .outerjoin(User, User.id == PublicationEvent.user_id)
        .where(PublicationEvent.round_id == round_id)
        .order_by(PublicationEvent.id.desc())
        .limit(10)
    )
    history = [
        (at, "publicó la ronda" if kind == PUBLISHED else "retiró la ronda", who or "Cuenta eliminada")
        for at, kind, who in events
    ]
    if publication is None:
        return PublicationStatus(False, None, None, None, False, history)
    by = session.get(User, publication.published_by_id) if publication.published_by_id else None
    return PublicationStatus(
        True,
        publication.published_at,
        by.full_name if by else None,
        publication.computed_at,
        publication.computed_at is None or publication.computed_at < publication.requested_at,
        history,
    )


# --------------------------------------------------------------------------- reading (public)


@dataclass(frozen=True)
class PublishedRound:
    round_id: int
    name: str
    opens_on: date
    closes_on: date
    published_at: datetime
    computed_at: datetime | None
    etag: str | None
    payload: str | None

    @property
    def ready(self) -> bool:
        return self.payload is not None

    def document(self) -> dict[str, Any]:
        return orjson.loads(self.payload) if self.payload else {}


def _published_statement() -> Select:
    return select(
        DiagnosisRound.id,
        DiagnosisRound.name,
        DiagnosisRound.opens_on,
        DiagnosisRound.closes_on,
        Publication.published_at,
        Publication.computed_at,
        Publication.etag,
        Publication.payload,
    ).join(Publication, Publication.round_id == DiagnosisRound.id)


def _published(row: Any) -> PublishedRound:
    return PublishedRound(
        round_id=row.id,
        name=row.name,
        opens_on=row.opens_on,
        closes_on=row.closes_on,
        published_at=row.published_at,
        computed_at=row.computed_at,
        etag=row.etag,
        payload=row.payload,
    )


def published_rounds(session: Session) -> list[PublishedRound]:
    """Every published round, the most recent first."""
    rows = session.execute(_published_statement().order_by(DiagnosisRound.opens_on.desc(), DiagnosisRound.id.desc()))
    return [_published(row) for row in rows]


def published_round(session: Session, round_id: int) -> PublishedRound:
    """A published round; NotFound for any other (unpublished or unknown: the same answer)."""
    row = session.execute(_published_statement().where(DiagnosisRound.id == round_id)).first()
    if row is None:
        raise NotFound("Esa ronda no está publicada en el Observatorio.")
    return _published(row)


def publication_history(session: Session, round_id: int) -> list[PublicationEvent]:
    return list(
        session.scalars(
            select(PublicationEvent).where(PublicationEvent.round_id == round_id).order_by(PublicationEvent.id)
        )
    )


__all__ = [
    "PUBLISHED",
    "WITHDRAWN",
    "PublicationStatus",
    "PublishedRound",
    "compute_figures",
    "due_rounds",
    "encode",
    "is_due",
    "publication_history",
    "publication_status",
    "published_round",
    "published_rounds",
    "round_units",
    "store_figures",
]
