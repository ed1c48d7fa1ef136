"""Observatory aggregates of the stored results of a round, and the change between two rounds.

What counts: the current revision of each response that is submitted or validated and has
a stored result (the snapshot frozen at submission), of the cooperatives that match the
cooperative filters. Drafts and responses returned for correction do not count.

For one round, by a grouping (``region``, ``macrozone``, ``sector``, ``legal_type``, ``size``
or none): per group, for the overall result, each dimension and each subcategory, how many
responses got each light (``green``, ``yellow``, ``red``, ``insufficient_data``,
``not_applicable``) and its share of the level's responses, and the quartiles of the scores
(0–100; Q1, median, Q3 with the inclusive method, ``app.reports.peers.quartiles``) of those
that have one. A cooperative with several sectors counts in each of its sectors (and one
with none in ``sin_rubro``), so sector groups may add up to more than the total.

Size bands, by members (women plus men as registered): ``0-9`` (fewer than 10), ``10-29``,
``30-99``, ``100+``, and ``sin_dato`` when neither number is known.

Between two rounds, for the cooperatives with a counted result in both: per level (overall
and each dimension present in both), how many moved up (red → yellow → green), down or
stayed, how many cannot be compared (insufficient data or not applicable in either round),
and the median (with Q1 and Q3) of the change in score (later minus earlier).

The arithmetic is in pure functions over ``ResultRow`` (``aggregate``, ``change``); the
two keyword-only service functions read the rows and check authorization.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

import scoring
from app.auth import policy
from app.auth.models import User
from app.cooperatives.models import LEGAL_TYPE_LABELS, Cooperative
from app.cooperatives.sectors import SECTORS
from app.cooperatives.service import CooperativeFilters, list_statement
from app.errors import Forbidden, Invalid
from app.exchange.exports import (
    Level,
    decode_json,
    json_text,
    members_total,
    questionnaire_levels,
    snapshot_levels,
    stream_rows,
)
from app.reports.peers import quartiles
from app.responses.models import Response, ResponseStatus
from app.rounds.models import DiagnosisRound
from app.rounds.service import get_round, get_round_questionnaire
from app.settings import REGIONS, Settings

CATEGORIES = tuple(light.value for light in scoring.Light)
LIGHT_RANK = {scoring.Light.RED.value: 0, scoring.Light.YELLOW.value: 1, scoring.Light.GREEN.value: 2}
COUNTED_STATUSES = (ResponseStatus.SUBMITTED.value, ResponseStatus.VALIDATED.value)

#: (key, label, lowest members, highest members + 1); None: no bound.
SIZE_BANDS: tuple[tuple[str, str, int, int | None], ...] = (
    ("0-9", "Menos de 10 socios", 0, 10),
    ("10-29", "De 10 a 29 socios", 10, 30),
    ("30-99", "De 30 a 99 socios", 30, 100),
    ("100+", "100 socios o más", 100, None),
)
NO_SIZE = ("sin_dato", "Sin dato de socios")
NO_SECTOR = ("sin_rubro", "Sin rubro registrado")
NO_MACROZONE = ("sin_macrozona", "Sin macrozona")


class Grouping(StrEnum):
    REGION = "region"
    MACROZONE = "macrozone"
    SECTOR = "sector"
    LEGAL_TYPE = "legal_type"
    SIZE = "size"


@dataclass(frozen=True)
class ResultRow:
    """One cooperative's counted result in a round, reduced to what aggregates need."""

    cooperative_id: int
    region_code: int
    legal_type: str
    sectors: tuple[str, ...]
    members: int | None
    results: dict[str, tuple[float | None, str | None]]
    """Level key (``general``, ``d:<id>``, ``s:<id>``) -> (score 0–100, light)."""


def size_band(members: int | None) -> tuple[str, str]:
    if members is None:
        return NO_SIZE
    for key, label, low, high in SIZE_BANDS:
        if members >= low and (high is None or members < high):
            return key, label
    return NO_SIZE  # a negative count cannot be stored (check constraints)


def group_keys(
    grouping: Grouping | None, settings: Settings
) -> tuple[Callable[[ResultRow], list[tuple[str, str]]], list[str]]:
    """How to group: a function giving a row's (key, label) groups, and the keys in display order."""
    if grouping is None:
        return (lambda row: [("todas", "Todas")]), ["todas"]
    if grouping == Grouping.REGION:
        order = [str(code) for code in REGIONS]  # north to south
        return (lambda row: [(str(row.region_code), REGIONS.get(row.region_code, str(row.region_code)))]), order
    if grouping == Grouping.MACROZONE:

        def macrozone(row: ResultRow) -> list[tuple[str, str]]:
            zone = settings.macrozone_of(row.region_code)
            return [(zone, zone)] if zone else [NO_MACROZONE]

        return macrozone, [*settings.macrozones, NO_MACROZONE[0]]
    if grouping == Grouping.SECTOR:
        return (lambda row: [(code, SECTORS.get(code, code)) for code in row.sectors] or [NO_SECTOR]), [
            *SECTORS,
            NO_SECTOR[0],
        ]
    if grouping == Grouping.LEGAL_TYPE:
        return (lambda row: [(row.legal_type, LEGAL_TYPE_LABELS.get(row.legal_type, row.legal_type))]), list(
            LEGAL_TYPE_LABELS
        )
    return (lambda row: [size_band(row.members)]), [band[0] for band in SIZE_BANDS] + [NO_SIZE[0]]


def _score_summary(values: Sequence[float]) -> dict[str, Any]:
    cut = quartiles(sorted(values))
    q1, median, q3 = (round(v, 2) for v in cut) if cut else (None, None, None)
    return {"count": len(values), "q1": q1, "median": median, "q3": q3}


def _level_stats(level: Level, rows: Sequence[ResultRow]) -> dict[str, Any]:
    counts = dict.fromkeys(CATEGORIES, 0)
    scores = []
    for row in rows:
        score, light = row.results.get(level.key, (None, None))
        if light is None:
            continue
        counts[light] = counts.get(light, 0) + 1
        if score is not None:
            scores.append(score)
    total = sum(counts.values())
    return {
        "level": level.kind,
        "id": level.id,
        "title": level.title,
        "dimension": level.dimension,
        "responses": total,
        "counts": counts,
        "shares": {light: (round(n / total, 4) if total else None) for light, n in counts.items()},
        "scores": _score_summary(scores),
    }


def _group(key: str, label: str, rows: Sequence[ResultRow], levels: Sequence[Level]) -> dict[str, Any]:
    return {
        "key": key,
        "label": label,
        "responses": len(rows),
        "levels": [_level_stats(level, rows) for level in levels],
    }


def aggregate(
    rows: Sequence[ResultRow], *, levels: Sequence[Level], grouping: Grouping | None, settings: Settings
) -> dict[str, Any]:
    """Light counts and shares and score quartiles per level: for everything and per group."""
    keys_of, order = group_keys(grouping, settings)
    members: dict[str, list[ResultRow]] = {}
    labels: dict[str, str] = {}
    for row in rows:
        for key, label in keys_of(row):
            members.setdefault(key, []).append(row)
            labels[key] = label
    ordered = [key for key in order if key in members] + sorted(key for key in members if key not in order)
    return {
        "by": grouping.value if grouping else None,
        "total": _group("todas", "Todas", rows, levels),
        "groups": [] if grouping is None else [_group(key, labels[key], members[key], levels) for key in ordered],
    }


def change(earlier: Iterable[ResultRow], later: Iterable[ResultRow], *, levels: Sequence[Level]) -> dict[str, Any]:
    """For the cooperatives in both: up / down / same / not comparable, and the score change."""
    before = {row.cooperative_id: row for row in earlier}
    pairs = [(before[row.cooperative_id], row) for row in later if row.cooperative_id in before]
    result = []
    for level in levels:
        moves = {"up": 0, "down": 0, "same": 0, "not_comparable": 0}
        deltas = []
        for old, new in pairs:
            if level.key not in old.results or level.key not in new.results:
                continue
            (old_score, old_light), (new_score, new_light) = old.results[level.key], new.results[level.key]
            if old_light in LIGHT_RANK and new_light in LIGHT_RANK:
                step = LIGHT_RANK[new_light] - LIGHT_RANK[old_light]
                moves["up" if step > 0 else "down" if step < 0 else "same"] += 1
            else:
                moves["not_comparable"] += 1
            if old_score is not None and new_score is not None:
                deltas.append(new_score - old_score)
        result.append(
            {
                "level": level.kind,
                "id": level.id,
                "title": level.title,
                "dimension": level.dimension,
                "cooperatives": sum(moves.values()),
                **moves,
                "score_change": _score_summary(deltas),
            }
        )
    return {"cooperatives": len(pairs), "levels": result}


# --------------------------------------------------------------------------- reading the rows


def counted_statement(*, user: User, settings: Settings, round_id: int, filters: CooperativeFilters) -> Select:
    """The counted results of the round whose cooperative ``user`` sees and matches ``filters``."""
    return (
        list_statement(user=user, settings=settings, filters=filters)
        .join(Response, Response.cooperative_id == Cooperative.id)
        .where(
            Response.round_id == round_id,
            Response.is_current.is_(True),
            Response.status.in_(COUNTED_STATUSES),
            Response.result_snapshot.is_not(None),
        )
        .with_only_columns(
            Cooperative.id,
            Cooperative.region_code,
            Cooperative.legal_type,
            json_text(Cooperative.sectors),
            Cooperative.members_women,
            Cooperative.members_men,
            json_text(Response.result_snapshot),
        )
        .order_by(None)
        .order_by(Cooperative.id)
    )


def result_rows(session: Session, statement: Select) -> list[ResultRow]:
    rows = []
    for row in stream_rows(session, statement):
        levels = snapshot_levels(decode_json(row.result_snapshot))
        if not levels:  # a JSON null stored as such
            continue
        rows.append(
            ResultRow(
                cooperative_id=row.id,
                region_code=row.region_code,
                legal_type=row.legal_type,
                sectors=tuple(decode_json(row.sectors) or ()),
                members=members_total(row.members_women, row.members_men),
                results={key: (level.get("score"), level.get("light")) for key, level in levels.items()},
            )
        )
    return rows


def _round_summary(round_: DiagnosisRound) -> dict[str, Any]:
    return {"id": round_.id, "name": round_.name, "opens_on": round_.opens_on, "closes_on": round_.closes_on}


def _require(user: User) -> None:
    if not policy.can_export(user):
        raise Forbidden("Solo analistas y administradores pueden ver los agregados del observatorio.")


def round_aggregates(
    *,
    session: Session,
    user: User,
    settings: Settings,
    round_id: int,
    grouping: Grouping | None,
    filters: CooperativeFilters,
) -> dict[str, Any]:
    """Counts and shares of each light and score quartiles of a round, optionally by a grouping."""
    _require(user)
    round_ = get_round(session=session, round_id=round_id)
    levels = questionnaire_levels(get_round_questionnaire(session=session, round=round_))
    rows = result_rows(session, counted_statement(user=user, settings=settings, round_id=round_.id, filters=filters))
    return {"round": _round_summary(round_)} | aggregate(rows, levels=levels, grouping=grouping, settings=settings)


def round_change(
    *,
    session: Session,
    user: User,
    settings: Settings,
    from_round_id: int,
    to_round_id: int,
    filters: CooperativeFilters,
) -> dict[str, Any]:
    """How the cooperatives present in both rounds moved, overall and per dimension."""
    _require(user)
    if from_round_id == to_round_id:
        raise Invalid(
            "Elija dos rondas distintas para comparar.",
            details=[{"field": "to", "code": "same_round", "message": "debe ser otra ronda que «from»"}],
        )
    earlier = get_round(session=session, round_id=from_round_id)
    later = get_round(session=session, round_id=to_round_id)
    earlier_levels = {
        level.key for level in questionnaire_levels(get_round_questionnaire(session=session, round=earlier))
    }
    levels = [
        level
        for level in questionnaire_levels(get_round_questionnaire(session=session, round=later), subcategories=False)
        if level.key in earlier_levels
    ]
    rows = {
        round_.id: result_rows(
            session, counted_statement(user=user, settings=settings, round_id=round_.id, filters=filters)
        )
        for round_ in (earlier, later)
    }
    return {"from": _round_summary(earlier), "to": _round_summary(later)} | change(
        rows[earlier.id], rows[later.id], levels=levels
    )


__all__ = [
    "CATEGORIES",
    "Grouping",
    "ResultRow",
    "SIZE_BANDS",
    "aggregate",
    "change",
    "counted_statement",
    "group_keys",
    "result_rows",
    "round_aggregates",
    "round_change",
    "size_band",
]
