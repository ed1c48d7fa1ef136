"""The public figures of one round, built from its units by the rules of ``disclosure``.

Pure: it takes the units (and those of the previous published round, for the change) and
returns the JSON-ready document that the pages, the CSV and the JSON all read. Nothing that
names or identifies a cooperative is in it (``tests/test_observatory_disclosure.py`` tries).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.observatory import disclosure
from app.observatory.disclosure import Candidate, Row, Unit
from app.observatory.indicators import INDICATORS, THEMES, bands_of

#: Format of the document; a change that breaks readers of the open data bumps it.
FORMAT_VERSION = 1

#: The one-way tables, in display order: (key, title).
VIEWS: tuple[tuple[str, str], ...] = (
    ("region", "Por región"),
    ("macrozone", "Por macrozona"),
    ("sector", "Por rubro"),
    ("legal_type", "Por tipo de organización"),
    ("size", "Por tamaño (número de socios)"),
)
#: Each table's merged row: (key, label when some groups are shown, label when none is).
MERGED_LABELS = {
    "macrozone": ("otras", "Otras macrozonas", "Todas las macrozonas, agrupadas"),
    "sector": ("otros", "Otros rubros", "Todos los rubros, agrupados"),
    "legal_type": ("otros", "Otros tipos de organización", "Todos los tipos, agrupados"),
    "size": ("otros", "Otros tamaños", "Todos los tamaños, agrupados"),
}


#: The sector row of a cooperative with several sectors: each cooperative counts in one row
#: (were it counted in each of its sectors, two rows' overlap would be plain arithmetic).
SEVERAL_SECTORS = ("varios", "Varios rubros")


def sector_of(unit: Unit) -> list[tuple[str, str]]:
    return [unit.sectors[0]] if len(unit.sectors) == 1 else [SEVERAL_SECTORS]


@dataclass(frozen=True)
class Level:
    key: str  # general | d:<id>
    title: str


@dataclass(frozen=True)
class Orders:
    """Display order of each grouping's keys (regions north to south, …)."""

    region: Sequence[str]
    macrozone: Sequence[str]
    sector: Sequence[str]
    legal_type: Sequence[str]
    size: Sequence[str]


def _candidates(units: Sequence[Unit], view: str, orders: Orders, region_labels: Mapping[int, str]) -> list[Candidate]:
    if view == "region":
        return disclosure.candidates_by(
            units, lambda u: [(str(u.region_code), region_labels.get(u.region_code, str(u.region_code)))], orders.region
        )
    if view == "macrozone":
        return disclosure.candidates_by(units, lambda u: [u.macrozone], orders.macrozone)
    if view == "sector":
        return disclosure.candidates_by(units, sector_of, orders.sector)
    if view == "legal_type":
        return disclosure.candidates_by(units, lambda u: [u.legal_type], orders.legal_type)
    return disclosure.candidates_by(units, lambda u: [u.size], orders.size)


def _macrozone_rows(
    units: Sequence[Unit], orders: Orders, hide: Collection[str] = (), grow: Mapping[str, int] | None = None
) -> list[Row]:
    key, label, whole = MERGED_LABELS["macrozone"]
    return disclosure.publishable_rows(
        _candidates(units, "macrozone", orders, {}),
        merged_key=key,
        merged_label=label,
        whole_label=whole,
        hide=hide,
        grow=(grow or {}).get(key, 0),
    )


@dataclass
class _Suppression:
    """What ``protect_tables`` has merged beyond the rules of each table alone."""

    hide: dict[str, frozenset[str]] = field(default_factory=lambda: {view: frozenset() for view, _ in VIEWS})
    grow: dict[str, Counter[str]] = field(default_factory=lambda: {view: Counter() for view, _ in VIEWS})

    def merging(self, view: str, row: Row) -> _Suppression:
        """This suppression and ``row`` merged too: a group hidden, a merged row grown."""
        hide, grow = dict(self.hide), {name: Counter(counts) for name, counts in self.grow.items()}
        if row.merged:
            grow[view][row.key] += 1
        else:
            hide[view] = hide[view] | {row.key}
        return _Suppression(hide, grow)


def _tables(
    units: Sequence[Unit], orders: Orders, region_labels: Mapping[int, str], more: _Suppression, left_out: set[str]
) -> dict[str, list[Row]]:
    zones = _macrozone_rows(units, orders, more.hide["macrozone"], more.grow["macrozone"])
    tables = {
        "region": disclosure.nested_rows(
            zones,
            _candidates(units, "region", orders, region_labels),
            noun="regiones",
            hide=more.hide["region"],
            grow=more.grow["region"],
        ),
        "macrozone": zones,
    }
    for view in ("sector", "legal_type", "size"):
        key, label, whole = MERGED_LABELS[view]
        tables[view] = disclosure.publishable_rows(
            _candidates(units, view, orders, region_labels),
            merged_key=key,
            merged_label=label,
            whole_label=whole,
            hide=more.hide[view],
            grow=more.grow[view].get(key, 0),
        )
    return {view: rows for view, rows in tables.items() if view not in left_out}


def protect_tables(units: Sequence[Unit], orders: Orders, region_labels: Mapping[int, str]) -> dict[str, list[Row]]:
    """The published rows of every table: each table by its own rules, then, while rows of
    some tables narrow a row of another to fewer than 5 (``disclosure.exposure``), the
    smallest row involved is merged too. Each step merges more, so it ends; a table that
    cannot be made safe that way is left out."""
    more = _Suppression()
    total = _total_row(units)
    left_out: set[str] = set()
    tables = _tables(units, orders, region_labels, more, left_out)
    for _ in range(_MAX_STEPS):
        found = disclosure.exposure({"total": [total] if total else [], **tables})
        if found is None:
            return tables
        for view, row in found.involved():
            step = more.merging(view, row)
            merged = _tables(units, orders, region_labels, step, left_out)
            if merged != tables:
                more, tables = step, merged
                break
        else:  # merging any row involved changes nothing: leave the largest table involved out
            involved = {view for view, _ in found.involved()} or set(tables)
            left_out.add(max(involved, key=lambda view: (len(tables[view]), view)))
            tables = {view: rows for view, rows in tables.items() if view not in left_out}
    return {}


#: Far more steps than groups: each step merges one more group or leaves a table out.
_MAX_STEPS = 200


def view_rows(units: Sequence[Unit], view: str, orders: Orders, region_labels: Mapping[int, str]) -> list[Row]:
    """The published rows of one table (regions nested in the macrozone table, every table
    protected against the others)."""
    return protect_tables(units, orders, region_labels).get(view, [])


def _region_codes(rows: Sequence[Row], units: Mapping[int, Unit]) -> list[list[int]]:
    """For the map: which regions each published region row covers."""
    return [sorted({units[m].region_code for m in row.members}) for row in rows]


def _total_row(units: Sequence[Unit]) -> Row | None:
    members = frozenset(u.cooperative_id for u in units)
    return Row("total", "Todo el país", members) if len(members) >= disclosure.MIN_COOPERATIVES else None


def _indicator_tables(units: Sequence[Unit], orders: Orders) -> list[dict[str, Any]]:
    by_id = {u.cooperative_id: u for u in units}
    themes = []
    for theme, title in THEMES.items():
        tables = []
        for indicator in (i for i in INDICATORS if i.theme == theme):
            answered = [u for u in units if u.indicators.get(indicator.key) is not None]
            total = _total_row(answered)
            bands = [(key, test) for key, _, test in bands_of(indicator)]
            rows = [total] if total else []
            if total:
                rows += _macrozone_rows(answered, orders)
            tables.append(
                {
                    "key": indicator.key,
                    "label": indicator.label,
                    "kind": indicator.kind,
                    "bands": [{"key": key, "label": label} for key, label, _ in bands_of(indicator)],
                    "rows": disclosure.band_counts(rows, by_id, indicator.key, bands),
                }
            )
        themes.append({"key": theme, "title": title, "indicators": tables})
    return themes


def _change(units: Sequence[Unit], previous: Sequence[Unit], levels: Sequence[Level], orders: Orders) -> dict[str, Any]:
    """Cooperatives validated in both rounds: how each level moved, for the country and by
    macrozone (the same rules: at least 5 in every row)."""
    before = {u.cooperative_id: u for u in previous}
    pairs = {u.cooperative_id: (before[u.cooperative_id], u) for u in units if u.cooperative_id in before}
    now = [pair[1] for pair in pairs.values()]
    total = _total_row(now)
    keys = [level.key for level in levels if all(level.key in pair[0].lights for pair in pairs.values())]
    if total is None:
        return {"cooperatives": None, "levels": [], "rows": []}
    rows = [total, *_macrozone_rows(now, orders)]
    return {
        "cooperatives": len(total.members),
        "levels": keys,
        "rows": [disclosure.movement(pairs, row, keys) for row in rows],
    }


def round_figures(
    units: Sequence[Unit],
    *,
    levels: Sequence[Level],
    orders: Orders,
    region_labels: Mapping[int, str],
    previous: tuple[dict[str, Any], Sequence[Unit]] | None = None,
) -> dict[str, Any]:
    """Everything the Observatorio publishes about one round (round facts added by the caller)."""
    by_id = {u.cooperative_id: u for u in units}
    level_keys = [level.key for level in levels]
    total = _total_row(units)
    document: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "min_cooperatives": disclosure.MIN_COOPERATIVES,
        "cooperatives": len(total.members) if total else None,
        "levels": [{"key": level.key, "title": level.title} for level in levels],
        "states": list(disclosure.STATES),
        "total": disclosure.light_counts([total], by_id, level_keys)[0] if total else None,
        "views": [],
        "indicators": [],
        "change": None,
    }
    if total is None:
        return document  # too few validated diagnoses: nothing is published but that
    tables = protect_tables(units, orders, region_labels)
    for view, title in VIEWS:
        rows = tables.get(view, [])
        table = disclosure.light_counts(rows, by_id, level_keys)
        if view == "region":
            for row, codes in zip(table, _region_codes(rows, by_id), strict=True):
                row["regions"] = codes
        document["views"].append({"key": view, "title": title, "rows": table})
    document["indicators"] = _indicator_tables(units, orders)
    if previous is not None:
        summary, earlier = previous
        document["change"] = {"from": summary} | _change(units, earlier, levels, orders)
    return document


__all__ = [
    "FORMAT_VERSION",
    "SEVERAL_SECTORS",
    "VIEWS",
    "Level",
    "Orders",
    "protect_tables",
    "round_figures",
    "sector_of",
    "view_rows",
]
