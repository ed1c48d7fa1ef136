"""What the Observatorio may publish: the one place that decides it (pure, no I/O).

The rules, and why:

- **Only counts of at least ``MIN_COOPERATIVES`` (5) cooperatives.** A *cell* is a group of
  cooperatives (a region, a sector, the country…) in one table; its row shows how many of
  them got each light. A group with fewer members is never shown on its own.
- **Small groups are merged, not dropped,** into one row of the same table («Otras regiones de
  la macrozona Sur: Los Ríos, Aysén»), so that the rows still add up to the total. When the
  merged row would itself be smaller than 5 (or hold a single group, which would then be
  that group), the smallest published group joins it: *complementary suppression*. Without
  it, «total minus the published rows» would give back the hidden group.
- **Regions nest in macrozones.** The macrozone table is decided first; each region table
  row is then a region, or a merged row, *inside one published macrozone row*. So any
  difference between the two tables (a macrozone minus its published regions) is a merged
  row that is published anyway, with at least 5 cooperatives.
- **No row of one table narrows a row of another.** Whoever knows the public registry knows
  which groups lie inside which (every cooperative of Antofagasta is agrícola, say), so
  «agrícolas» minus «Norte» could be one cooperative. ``exposure`` looks, for every
  published row, for disjoint rows of other tables inside it that leave 1–4 cooperatives
  over; the figures then merge the smallest row involved and look again
  (``figures.protect_tables``). A cooperative with several sectors is counted once, in
  «Varios rubros», so that the sector table is a partition like the others.
- **One-way tables only.** No table crosses two groupings (region × sector): crossing is what
  narrows a cell down to one cooperative.
- **Counts, not scores.** Quartiles or medians of a small group are one cooperative's own
  score; the public figures are how many cooperatives got each light, and for the women and
  youth indicators how many fall in each band.
- **Each indicator is its own population.** Only cooperatives that answered it count, and
  those are grouped and merged on their own (a macrozone with 5 cooperatives where 3
  answered is merged for that indicator).
- No names, RUTs, free text or identifiers ever leave this module: what it returns is built
  from group labels and counts only (``Unit.cooperative_id`` is used to count each
  cooperative once and is dropped).

Known limit (documented in docs/methodology.md): figures of a published round are updated
as responses are validated; whoever keeps every version could subtract two of them. An
analyst publishes a round when it is closed to avoid that.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MIN_COOPERATIVES = 5

#: Light states counted per cell, in display order.
STATES = ("green", "yellow", "red", "insufficient_data", "not_applicable")
#: Light order for «moved up / down» between rounds.
_RANK = {"red": 0, "yellow": 1, "green": 2}


@dataclass(frozen=True)
class Unit:
    """One cooperative's validated result in a round, reduced to what may be aggregated."""

    cooperative_id: int
    region_code: int
    macrozone: tuple[str, str]  # (key, label)
    legal_type: tuple[str, str]
    sectors: tuple[tuple[str, str], ...]  # all of them (the sector table counts several as «Varios rubros»)
    size: tuple[str, str]
    lights: Mapping[str, str]  # level key (general, d:<id>, s:<id>) -> light or state
    indicators: Mapping[str, Any] = field(default_factory=dict)  # indicator key -> value (None: unknown)


@dataclass(frozen=True)
class Candidate:
    """A group before the rules: its members decide whether it is shown."""

    key: str
    label: str
    members: frozenset[int]


@dataclass(frozen=True)
class Row:
    """A published row: a group, or several merged; ``parts`` names what a merged row holds."""

    key: str
    label: str
    members: frozenset[int]
    parts: tuple[str, ...] = ()

    @property
    def merged(self) -> bool:
        return bool(self.parts)


def _union(groups: Iterable[Candidate]) -> frozenset[int]:
    out: set[int] = set()
    for group in groups:
        out |= group.members
    return frozenset(out)


def publishable_rows(
    candidates: Sequence[Candidate],
    *,
    merged_key: str,
    merged_label: str,
    whole_label: str | None = None,
    k: int = MIN_COOPERATIVES,
    hide: Collection[str] = (),
    grow: int = 0,
) -> list[Row]:
    """The rows of one table: groups of at least ``k`` as they are, the others merged into
    one row (with the smallest published groups added until the merged row has ``k``);
    empty groups are left out. Nothing at all when everything together is under ``k``.
    ``whole_label`` names the merged row when it holds every group (nothing shown alone).
    ``hide`` (group keys) and ``grow`` (how many more of the smallest shown groups join the
    merged row) are what ``protect_tables`` adds when another table's rows would give a
    group away."""
    present = [c for c in candidates if c.members]
    if len(_union(present)) < k:
        return []
    shown = [c for c in present if len(c.members) >= k and c.key not in hide]
    hidden = [c for c in present if c not in shown]

    def merge_smallest() -> None:
        smallest = min(shown, key=lambda c: (len(c.members), c.key))
        shown.remove(smallest)
        hidden.append(smallest)

    if hidden:
        # Complementary suppression: grow the merged row with the smallest shown groups
        # until it has k members (a single hidden group alone is always under k).
        while shown and (len(_union(hidden)) < k or len(hidden) < 2):
            merge_smallest()
        for _ in range(grow):
            if shown:
                merge_smallest()
    rows = [Row(c.key, c.label, c.members) for c in shown]
    if hidden:
        members = _union(hidden)
        if len(hidden) == 1:  # everything ended up in one group: it is shown as itself
            rows.append(Row(hidden[0].key, hidden[0].label, members))
        elif not shown and whole_label:  # every group merged: the row is all of them
            rows.append(Row(merged_key, whole_label, members, tuple(c.label for c in present)))
        else:
            order = {c.key: i for i, c in enumerate(present)}
            parts = tuple(c.label for c in sorted(hidden, key=lambda c: order[c.key]))
            rows.append(Row(merged_key, merged_label, members, parts))
    order = {c.key: i for i, c in enumerate(present)}
    return sorted(rows, key=lambda r: (r.merged, order.get(r.key, len(order))))


def candidates_by(
    units: Iterable[Unit], keys_of: Callable[[Unit], Iterable[tuple[str, str]]], order: Sequence[str]
) -> list[Candidate]:
    """Group units into candidates (a unit may fall in several), in ``order`` then by key."""
    members: dict[str, set[int]] = {}
    labels: dict[str, str] = {}
    for unit in units:
        for key, label in keys_of(unit):
            members.setdefault(key, set()).add(unit.cooperative_id)
            labels[key] = label
    ranked = {key: i for i, key in enumerate(order)}
    keys = sorted(members, key=lambda key: (ranked.get(key, len(ranked)), key))
    return [Candidate(key, labels[key], frozenset(members[key])) for key in keys]


def nested_rows(
    parents: Sequence[Row],
    children: Sequence[Candidate],
    *,
    noun: str,
    hide: Collection[str] = (),
    grow: Mapping[str, int] | None = None,
) -> list[Row]:
    """Rows of a finer table nested in a published coarser one (regions in macrozones): each
    parent row's children are decided among themselves, so no difference between the two
    tables isolates fewer than ``MIN_COOPERATIVES`` (a parent minus its shown children is a
    merged row, shown too). A merged parent holds the children of all its parts."""
    rows: list[Row] = []
    for parent in parents:
        inside = [
            Candidate(child.key, child.label, child.members & parent.members)
            for child in children
            if child.members & parent.members
        ]
        if parent.merged and len(parents) == 1:  # every parent merged into one: the whole country
            merged_label, whole_label = f"Otras {noun}", f"Todas las {noun}, agrupadas"
        else:
            where = "de otras macrozonas" if parent.merged else f"de la macrozona {parent.label}"
            merged_label, whole_label = f"Otras {noun} {where}", f"{noun.capitalize()} {where}, agrupadas"
        rows.extend(
            publishable_rows(
                inside,
                merged_key=f"otras:{parent.key}",
                merged_label=merged_label,
                whole_label=whole_label,
                hide=hide,
                grow=(grow or {}).get(f"otras:{parent.key}", 0),
            )
        )
    return rows


# --------------------------------------------------------------------------- between tables

#: How many combinations of rows ``exposure`` tries for one row before it gives up and
#: treats the row as exposed (suppressing more is the safe side of not knowing).
SEARCH_BUDGET = 20_000


@dataclass(frozen=True)
class Exposure:
    """A published row that other published rows narrow down: ``row`` minus the rows of
    ``inside`` (pairwise disjoint, each inside ``row``, from other tables) leaves between 1
    and ``k - 1`` cooperatives. ``inside`` is empty when the search gave up."""

    table: str
    row: Row
    inside: tuple[tuple[str, Row], ...]

    def involved(self) -> list[tuple[str, Row]]:
        """The rows that could be merged further, smallest first (the total cannot be)."""
        rows = [*self.inside, *([] if self.row.key == "total" else [(self.table, self.row)])]
        return sorted(rows, key=lambda item: (len(item[1].members), item[1].merged, item[0], item[1].key))


def exposure(tables: Mapping[str, Sequence[Row]], k: int = MIN_COOPERATIVES) -> Exposure | None:
    """The first published row that rows of *other* tables narrow to fewer than ``k``, if any.

    Whoever knows the public registry knows which groups lie inside which (all the
    cooperatives of Antofagasta are agrícolas, say): so when rows of other tables, disjoint
    from one another, fill a row but for 1–4 cooperatives, subtracting them gives those few
    away. Rows of one table are disjoint (each table is a partition), and within a table
    complementary suppression already keeps every difference at ``k`` or more."""
    for name, rows in tables.items():
        for row in rows:
            inside = [
                (other, r) for other, rs in tables.items() if other != name for r in rs if r.members < row.members
            ]
            found = _small_remainder(row.members, inside, k)
            if found is not None:
                return Exposure(name, row, found)
    return None


def _small_remainder(
    whole: frozenset[int], inside: Sequence[tuple[str, Row]], k: int
) -> tuple[tuple[str, Row], ...] | None:
    """Pairwise disjoint rows of ``inside`` that cover ``whole`` but for 1 to ``k - 1``
    members (a depth-first search, pruned when the rows left cannot cover enough)."""
    need = len(whole) - k + 1  # the rows must cover at least this many…
    items = sorted(inside, key=lambda item: -len(item[1].members))
    reach = [0] * (len(items) + 1)  # …and at most what all the rows from i on could add
    for i in range(len(items) - 1, -1, -1):
        reach[i] = reach[i + 1] + len(items[i][1].members)
    tried = 0

    def search(start: int, covered: frozenset[int], chosen: tuple[tuple[str, Row], ...]) -> tuple | None:
        nonlocal tried
        tried += 1
        if tried > SEARCH_BUDGET:
            return ()
        if need <= len(covered) < len(whole):
            return chosen
        if len(covered) == len(whole) or len(covered) + reach[start] < need:
            return None
        for i in range(start, len(items)):
            members = items[i][1].members
            if covered.isdisjoint(members):
                found = search(i + 1, covered | members, (*chosen, items[i]))
                if found is not None:
                    return found
        return None

    return search(0, frozenset(), ()) if items and need > 0 else None


# --------------------------------------------------------------------------- figures of a row


def light_counts(rows: Sequence[Row], units: Mapping[int, Unit], level_keys: Sequence[str]) -> list[dict[str, Any]]:
    """Each row with, per level, how many of its cooperatives got each state."""
    out = []
    for row in rows:
        levels = {}
        for level in level_keys:
            counts = dict.fromkeys(STATES, 0)
            for member in row.members:
                state = units[member].lights.get(level)
                if state in counts:
                    counts[state] += 1
            levels[level] = counts
        out.append(_row_head(row) | {"levels": levels})
    return out


def _row_head(row: Row) -> dict[str, Any]:
    return {"key": row.key, "label": row.label, "merged": list(row.parts), "cooperatives": len(row.members)}


def band_counts(
    rows: Sequence[Row], units: Mapping[int, Unit], indicator: str, bands: Sequence[tuple[str, Callable[[Any], bool]]]
) -> list[dict[str, Any]]:
    """Each row with how many of its cooperatives' values fall in each band."""
    out = []
    for row in rows:
        counts = dict.fromkeys((key for key, _ in bands), 0)
        for member in row.members:
            value = units[member].indicators.get(indicator)
            for key, test in bands:
                if value is not None and test(value):
                    counts[key] += 1
                    break
        out.append(_row_head(row) | {"bands": counts})
    return out


def movement(pairs: Mapping[int, tuple[Unit, Unit]], row: Row, level_keys: Sequence[str]) -> dict[str, Any]:
    """How the row's cooperatives moved between two rounds, per level."""
    levels = {}
    for level in level_keys:
        moves = {"up": 0, "same": 0, "down": 0, "not_comparable": 0}
        for member in row.members:
            before, after = (unit.lights.get(level) for unit in pairs[member])
            if before in _RANK and after in _RANK:
                step = _RANK[after] - _RANK[before]
                moves["up" if step > 0 else "down" if step < 0 else "same"] += 1
            else:
                moves["not_comparable"] += 1
        levels[level] = moves
    return _row_head(row) | {"levels": levels}


__all__ = [
    "MIN_COOPERATIVES",
    "STATES",
    "SEARCH_BUDGET",
    "Candidate",
    "Exposure",
    "Row",
    "Unit",
    "band_counts",
    "candidates_by",
    "exposure",
    "light_counts",
    "movement",
    "nested_rows",
    "publishable_rows",
]
