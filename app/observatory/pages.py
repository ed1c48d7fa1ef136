"""What the Observatorio's pages show, built from a round's stored public document.

Only the document (``figures.round_figures``) is read here: the pages cannot show anything
the open data does not publish. Numbers are written by ``reports.formatting`` (the same
«62 %» as everywhere) and charts drawn by ``app.web.charts`` and ``chile_map``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from app.observatory.chile_map import RegionShade, region_map
from app.settings import REGIONS
from app.web import charts
from app.web.render import light_name
from reports import formatting as fmt

LIGHTS = ("green", "yellow", "red")
#: Public page of each one-way table: (slug, document view key, heading).
VIEW_PAGES: tuple[tuple[str, str, str], ...] = (
    ("macrozona", "macrozone", "Por macrozona"),
    ("rubro", "sector", "Por rubro"),
    ("tipo", "legal_type", "Por tipo de organización"),
    ("tamano", "size", "Por tamaño"),
)
VIEW_NOTES = {
    "sector": "Cada cooperativa cuenta una vez: en su rubro si tiene uno solo, en «Varios rubros» si tiene más de uno.",
    "size": "Tamaño según el número de socios y socias registrado (mujeres más hombres).",
}
MOVES = (("up", "Mejoró"), ("same", "Se mantuvo"), ("down", "Empeoró"), ("not_comparable", "Sin comparación"))


@dataclass(frozen=True)
class TableRow:
    """A published row for one level: counts, and shares of the row's cooperatives."""

    key: str
    label: str
    parts: tuple[str, ...]
    total: int
    counts: dict[str, int]
    anchor: str = ""

    @property
    def no_light(self) -> int:
        return self.counts.get("insufficient_data", 0) + self.counts.get("not_applicable", 0)

    def share(self, state: str) -> str:
        count = self.no_light if state == "none" else self.counts.get(state, 0)
        return fmt.porcentaje(count / self.total) if self.total else fmt.DASH

    def count(self, state: str) -> int:
        return self.no_light if state == "none" else self.counts.get(state, 0)

    @property
    def chart_counts(self) -> dict[str, int]:
        return self.counts


@dataclass(frozen=True)
class LevelChoice:
    key: str
    title: str
    slug: str
    chosen: bool


@dataclass
class RoundPage:
    """Everything a round's pages have in common."""

    round_id: int
    name: str
    opens_on: str
    closes_on: str
    cooperatives: int | None
    levels: list[LevelChoice]
    level: LevelChoice | None
    has_change: bool
    has_indicators: bool
    extra: dict[str, Any] = field(default_factory=dict)


def level_slug(key: str) -> str:
    return "general" if key == "general" else key.removeprefix("d:")


def _levels(document: Mapping[str, Any], chosen_slug: str | None) -> tuple[list[LevelChoice], LevelChoice | None]:
    entries = document.get("levels") or []
    slugs = [level_slug(level["key"]) for level in entries]
    pick = chosen_slug if chosen_slug in slugs else (slugs[0] if slugs else None)
    choices = [
        LevelChoice(level["key"], level["title"], slug, slug == pick)
        for level, slug in zip(entries, slugs, strict=True)
    ]
    return choices, next((c for c in choices if c.chosen), None)


def round_page(document: Mapping[str, Any], chosen_level: str | None = None) -> RoundPage:
    round_ = document.get("round") or {}
    levels, level = _levels(document, chosen_level)
    change = document.get("change")
    return RoundPage(
        round_id=int(round_.get("id") or 0),
        name=round_.get("name", ""),
        opens_on=round_.get("opens_on", ""),
        closes_on=round_.get("closes_on", ""),
        cooperatives=document.get("cooperatives"),
        levels=levels,
        level=level,
        has_change=bool(change and change.get("cooperatives")),
        has_indicators=bool(document.get("indicators")),
    )


def table_rows(rows: Sequence[Mapping[str, Any]], level_key: str, *, anchor_prefix: str = "") -> list[TableRow]:
    return [
        TableRow(
            key=str(row["key"]),
            label=row["label"],
            parts=tuple(row.get("merged") or ()),
            total=row["cooperatives"],
            counts=dict(row["levels"].get(level_key) or {}),
            anchor=f"{anchor_prefix}{row['key']}".replace(":", "-") if anchor_prefix else "",
        )
        for row in rows
    ]


@dataclass
class _ChartRow:
    label: str
    total: int
    counts: dict


def national_chart(document: Mapping[str, Any]) -> Markup:
    """One bar per level: the whole country's lights."""
    total = document.get("total")
    if not total:
        return Markup("")
    rows = [
        _ChartRow(level["title"], total["cooperatives"], total["levels"].get(level["key"], {}))
        for level in document.get("levels") or []
    ]
    return charts.stacked_bars(
        "obs-pais", "Semáforo de las cooperativas de todo el país, por dimensión", rows, charts_categories()
    )


def charts_categories() -> tuple[str, ...]:
    return ("green", "yellow", "red", "insufficient_data", "not_applicable")


def rows_chart(chart_id: str, title: str, rows: Sequence[TableRow]) -> Markup:
    return charts.stacked_bars(
        chart_id, title, [_ChartRow(r.label, r.total, r.counts) for r in rows], charts_categories()
    )


def _majority(counts: Mapping[str, int]) -> str | None:
    """The most frequent light; a tie goes to the worse one (the cautious reading)."""
    ranked = sorted(LIGHTS, key=lambda light: (-counts.get(light, 0), -LIGHTS.index(light)))
    best = ranked[0]
    return best if counts.get(best, 0) else "insufficient_data"


def _shares_text(row: TableRow) -> str:
    parts = [f"{row.share(light)} {light_name(light).lower()}" for light in LIGHTS]
    return f"{', '.join(parts)} ({fmt.cantidad(row.total, 'cooperativa', 'cooperativas')})"


def region_shades(document: Mapping[str, Any], level_key: str) -> dict[int, RegionShade]:
    """Each region's fill on the map: its most frequent light when the region is published on
    its own; none when it is merged with others or has no validated diagnosis."""
    view = next((v for v in document.get("views") or [] if v["key"] == "region"), None)
    shades: dict[int, RegionShade] = {}
    for row in view["rows"] if view else []:
        codes = row.get("regions") or []
        table_row = table_rows([row], level_key)[0]
        if len(codes) == 1 and not row.get("merged"):
            code = codes[0]
            shades[code] = RegionShade(
                _majority(table_row.counts),
                f"{REGIONS.get(code, row['label'])}: {_shares_text(table_row)}",
                f"#region-{code}",
            )
            continue
        for code in codes:
            shades[code] = RegionShade(
                None,
                f"{REGIONS.get(code, str(code))}: agrupada en «{row['label']}» (menos de 5 cooperativas por región)",
                f"#region-{str(row['key']).replace(':', '-')}",
            )
    for code, name in REGIONS.items():
        shades.setdefault(code, RegionShade(None, f"{name}: sin diagnósticos validados publicados"))
    return shades


def region_map_svg(document: Mapping[str, Any], level: LevelChoice) -> Markup:
    shades = region_shades(document, level.key)
    description = "; ".join(shade.label for shade in shades.values()) + "."
    return region_map("obs-mapa", f"Mapa de Chile por región: {level.title}", description, shades)


def view_table(document: Mapping[str, Any], view_key: str, level_key: str) -> list[TableRow]:
    view = next((v for v in document.get("views") or [] if v["key"] == view_key), None)
    return (
        table_rows(view["rows"], level_key, anchor_prefix="region-" if view_key == "region" else "fila-")
        if view
        else []
    )


@dataclass(frozen=True)
class BandRow:
    label: str
    parts: tuple[str, ...]
    total: int
    cells: list[tuple[int, str]]  # (count, share) per band


@dataclass(frozen=True)
class IndicatorTable:
    key: str
    label: str
    bands: list[str]
    rows: list[BandRow]


@dataclass(frozen=True)
class Theme:
    key: str
    title: str
    tables: list[IndicatorTable]


def indicator_themes(document: Mapping[str, Any]) -> list[Theme]:
    themes = []
    for theme in document.get("indicators") or []:
        tables = []
        for table in theme["indicators"]:
            bands = [band["key"] for band in table["bands"]]
            rows = [
                BandRow(
                    row["label"],
                    tuple(row.get("merged") or ()),
                    row["cooperatives"],
                    [
                        (
                            row["bands"].get(band, 0),
                            fmt.porcentaje(row["bands"].get(band, 0) / row["cooperatives"])
                            if row["cooperatives"]
                            else fmt.DASH,
                        )
                        for band in bands
                    ],
                )
                for row in table["rows"]
            ]
            tables.append(IndicatorTable(table["key"], table["label"], [b["label"] for b in table["bands"]], rows))
        themes.append(Theme(theme["key"], theme["title"], tables))
    return themes


@dataclass(frozen=True)
class ChangeRow:
    label: str
    parts: tuple[str, ...]
    total: int
    cells: list[tuple[int, str]]  # (count, share) per move


def change_tables(document: Mapping[str, Any]) -> list[tuple[str, str, list[ChangeRow]]]:
    """Per level (title): the rows of how its cooperatives moved."""
    change = document.get("change") or {}
    titles = {level["key"]: level["title"] for level in document.get("levels") or []}
    out = []
    for key in change.get("levels") or []:
        rows = []
        for row in change.get("rows") or []:
            moves = row["levels"].get(key, {})
            total = row["cooperatives"]
            rows.append(
                ChangeRow(
                    row["label"],
                    tuple(row.get("merged") or ()),
                    total,
                    [
                        (moves.get(m, 0), fmt.porcentaje(moves.get(m, 0) / total) if total else fmt.DASH)
                        for m, _ in MOVES
                    ],
                )
            )
        out.append((key, titles.get(key, key), rows))
    return out


__all__ = [
    "MOVES",
    "VIEW_NOTES",
    "VIEW_PAGES",
    "change_tables",
    "indicator_themes",
    "national_chart",
    "region_map_svg",
    "round_page",
    "rows_chart",
    "view_table",
]
