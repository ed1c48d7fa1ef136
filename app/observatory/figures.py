"""The public figures of one round, built from its units by the rules of ``disclosure``.

Pure: it takes the units (and those of the previous published round, for the change) and
returns the JSON-ready document that the pages, the CSV and the JSON all read. Nothing that
names or identifies a cooperative is in it (``tests/test_observatory_disclosure.py`` tries).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
        return disclosure.candidates_by(units, lambda u: u.sectors, orders.sector)
    if view == "legal_type":
        return disclosure.candidates_by(units, lambda u: [u.legal_type], orders.legal_type)
    return disclosure.candidates_by(units, lambda u: [u.size], orders.size)


def _macrozone_rows(units: Sequence[Unit], orders: Orders) -> list[Row]:
    key, label, whole = MERGED_LABELS["macrozone"]
    return disclosure.publishable_rows(
        _candidates(units, "macrozone", orders, {}), merged_key=key, merged_label=label, whole_label=whole
    )


def view_rows(units: Sequence[Unit], view: str, orders: Orders, region_labels: Mapping[int, str]) -> list[Row]:
    """The published rows of one table (regions nested in the macrozone table)."""
    if view == "region":
        return disclosure.nested_rows(
            _macrozone_rows(units, orders), _candidates(units, "region", orders, region_labels), noun="regiones"
        )
    if view == "macrozone":
        return _macrozone_rows(units, orders)
    key, label, whole = MERGED_LABELS[view]
    return disclosure.publishable_rows(
        _candidates(units, view, orders, region_labels), merged_key=key, merged_label=label, whole_label=whole
    )


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
    for view, title in VIEWS:
        rows = view_rows(units, view, orders, region_labels)
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


__all__ = ["FORMAT_VERSION", "VIEWS", "Level", "Orders", "round_figures", "view_rows"]
