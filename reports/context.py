"""What a diagnostic report is rendered from: plain, frozen data gathered by the app.

``reports/`` never touches the database or the clock. ``app.reports.service`` reads the
response, its stored result snapshot, the questionnaire version that snapshot was scored
with, the cooperative, the peers in the same round and the previous diagnosis, and hands
them over as a :class:`ReportContext`. Everything here is already in the words a reader
sees (region names, legal type labels), except the snapshot, which stays as stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import scoring


@dataclass(frozen=True)
class ReportCooperative:
    name: str
    rut: str
    """As stored (normalised ``76123456-7``); the report formats it as ``76.123.456-7``."""
    legal_type: str
    """Code: agricola, campesina, servicios, forestal, precooperativo, otra."""
    legal_type_label: str
    region_code: int
    region_name: str
    macrozone: str | None
    comuna: str | None = None
    sectors: tuple[str, ...] = ()
    """Sector labels in Spanish."""
    daes_number: str | None = None
    members_women: int | None = None
    members_men: int | None = None
    members_under_35: int | None = None
    founding_year: int | None = None

    @property
    def is_pre_cooperative(self) -> bool:
        return self.legal_type == "precooperativo"


@dataclass(frozen=True)
class ReportDiagnosis:
    """The response the report is about."""

    response_id: int
    revision: int
    status: str
    """submitted or validated (a draft has no stored snapshot)."""
    mode: str
    """self (autodiagnóstico) or interview (entrevista de terreno)."""
    round_name: str
    status_label: str
    """The status in words, as the application labels it everywhere (e.g. «validada»)."""
    mode_label: str
    """The mode in words, as the application labels it everywhere (e.g. «entrevista de terreno»)."""
    submitted_at: datetime | None = None
    submitted_by: str | None = None
    validated_at: datetime | None = None
    interviewer_name: str | None = None
    institution: str | None = None
    interview_date: date | None = None
    interview_place: str | None = None
    interviewee_role: str | None = None


@dataclass(frozen=True)
class PeerStats:
    """Distribution of one score (overall or a dimension) among a group of peers."""

    key: str
    """``overall`` or a dimension id."""
    count: int
    """Peers with a score for it (a light, not insufficient_data / not_applicable)."""
    median: float | None
    q1: float | None
    q3: float | None


@dataclass(frozen=True)
class PeerGroup:
    """Other cooperatives of the same round that share something with this one."""

    label: str
    """E.g. «Misma macrozona (Centro-Sur)» or «Mismo rubro (Frutas)»."""
    count: int
    """Peers in the group with a submitted or validated diagnosis, this cooperative excluded."""
    stats: tuple[PeerStats, ...] = ()
    """Empty when count < MIN_PEERS: the report then says so plainly."""


MIN_PEERS = 5


@dataclass(frozen=True)
class PreviousDiagnosis:
    """The cooperative's latest earlier diagnosis (another round), as stored then."""

    round_name: str
    snapshot: dict[str, Any]
    submitted_at: datetime | None = None


@dataclass(frozen=True)
class ReportContext:
    cooperative: ReportCooperative
    diagnosis: ReportDiagnosis
    questionnaire: scoring.Questionnaire
    """The questionnaire version the snapshot was scored with (texts, options, messages)."""
    snapshot: dict[str, Any]
    """The stored result snapshot, exactly as saved at submission."""
    answers: dict[str, Any]
    generated_on: date
    """The date printed on the report (the app passes today's date in Chile)."""
    peers: tuple[PeerGroup, ...] = ()
    previous: PreviousDiagnosis | None = None
    extra: dict[str, Any] = field(default_factory=dict)
