"""Peer comparison for a report: the distribution of scores among cooperatives that share a
macrozone or a sector in the same round. Pure functions over plain rows (no database), so
a whole round's reports reuse one query and the observatory can reuse the statistics."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from reports.context import MIN_PEERS, PeerGroup, PeerStats


@dataclass(frozen=True)
class PeerRow:
    """One cooperative's stored result in a round, reduced to what comparisons need."""

    cooperative_id: int
    macrozone: str | None
    sectors: tuple[str, ...]
    scores: dict[str, float | None]
    """``overall`` and each dimension id -> score as stored in the snapshot (0 to 100), None without a light."""


def scores_of(snapshot: dict[str, Any] | None) -> dict[str, float | None]:
    """Overall and dimension scores of a stored snapshot; None where there is no light."""
    if not snapshot:
        return {}
    scores: dict[str, float | None] = {"overall": (snapshot.get("overall") or {}).get("score")}
    for dimension in snapshot.get("dimensions") or []:
        scores[dimension.get("id")] = dimension.get("score")
    return scores


def quartiles(values: Sequence[float]) -> tuple[float, float, float] | None:
    """(Q1, median, Q3) with the inclusive method (the one spreadsheets call QUARTILE.INC)."""
    if not values:
        return None
    if len(values) == 1:
        return (values[0], values[0], values[0])
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return (q1, median, q3)


def distribution(rows: Iterable[PeerRow], keys: Sequence[str]) -> tuple[PeerStats, ...]:
    rows = list(rows)
    stats = []
    for key in keys:
        values = sorted(v for row in rows if (v := row.scores.get(key)) is not None)
        cut = quartiles(values)
        stats.append(
            PeerStats(
                key=key,
                count=len(values),
                median=cut[1] if cut else None,
                q1=cut[0] if cut else None,
                q3=cut[2] if cut else None,
            )
        )
    return tuple(stats)


def peer_groups(
    *,
    rows: Sequence[PeerRow],
    cooperative_id: int,
    macrozone: str | None,
    sectors: Sequence[str],
    keys: Sequence[str],
    sector_label: Any = str,
) -> tuple[PeerGroup, ...]:
    """The macrozone group and one group per sector of the cooperative, the cooperative
    itself excluded. Statistics only where a group has at least MIN_PEERS members."""
    others = [row for row in rows if row.cooperative_id != cooperative_id]
    candidates: list[tuple[str, list[PeerRow]]] = []
    if macrozone:
        candidates.append((f"Misma macrozona ({macrozone})", [r for r in others if r.macrozone == macrozone]))
    for sector in sectors:
        candidates.append((f"Mismo rubro ({sector_label(sector)})", [r for r in others if sector in r.sectors]))
    groups = []
    for label, members in candidates:
        stats = distribution(members, keys) if len(members) >= MIN_PEERS else ()
        groups.append(PeerGroup(label=label, count=len(members), stats=stats))
    return tuple(groups)
