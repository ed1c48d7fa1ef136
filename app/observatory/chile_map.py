"""An inline SVG map of Chile's 16 regions, each filled with the pattern of its category.

Chile is some 4,300 km long and 200 km wide: drawn in one piece it would be a hair on a
phone. The map is therefore three panels side by side, north, centre and south, all at the
same scale (the same kilometres per unit); each panel is an equirectangular projection whose
longitudes are shrunk by the cosine of the panel's mean latitude, so that its shapes look
right. The outline is the simplified schematic one of ``data/chile_regions.json`` (CC0): good
for a choropleth, not for measuring anything; the page prints ``region_outline_source()``
under the map and the same figures in a table.

Like ``app.web.charts``: escaped text, ``role="img"`` (``role="group"`` when regions are links)
named by a ``<title>`` and a ``<desc>``, no inline styles or scripts (the Content-Security-Policy forbids them), presentation attributes
and classes only, and the fill patterns of ``app.web.charts.pattern_defs()``, which the page
includes once.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from app.settings import REGION_SHORT_NAMES, REGIONS
from app.web.charts import PATTERN_IDS

#: Region codes, north to south (the order of ``app.settings.REGIONS``).
REGION_CODES: tuple[int, ...] = tuple(REGIONS)

_DATA = Path(__file__).parent / "data" / "chile_regions.json"

#: The panels, west to east on the page: caption, latitudes in words, and their regions.
PANELS: tuple[tuple[str, str, tuple[int, ...]], ...] = (
    ("Norte", "17° a 32° S", (15, 1, 2, 3, 4)),
    ("Centro", "32° a 44° S", (5, 13, 6, 7, 16, 8, 9, 14, 10)),
    ("Sur", "44° a 56° S", (11, 12)),
)
#: Names short enough to write beside a region on the map.
SHORT_NAMES: dict[int, str] = REGION_SHORT_NAMES

#: Fill of a region without a published figure (suppressed, or no data).
NO_DATA_FILL = "#f4f5f2"
STROKE = "#1f2933"
STROKE_WIDTH = 0.6

_WIDTH = 360.0  # viewBox width
_MARGIN = 4.0  # around the drawing
_GAP = 8.0  # least distance between two panels' shapes
_CAPTION = 30.0  # room under the panels for their captions
_LABEL_SIZE = 10.0  # font size of the names beside the regions
_LABEL_CLEAR = 10.0  # least distance from a name to any other region
_CAPTION_SIZE = 11.0


@dataclass(frozen=True)
class RegionShade:
    """What one region looks like on the map."""

    category: str | None  # "green" | "yellow" | "red" | "insufficient_data" | None (no published figure)
    label: str  # short Spanish text for the region's tooltip, e.g. "Maule: 62 % verde, … (16 cooperativas)"
    href: str | None = None  # optional link, e.g. "#region-7" (the table's row)


@dataclass(frozen=True)
class _Label:
    x: float
    y: float
    anchor: str  # "start" | "end"
    text: str


@dataclass(frozen=True)
class _Layout:
    width: float
    height: float
    paths: Mapping[int, str]  # SVG path data of each region
    labels: Mapping[int, _Label]
    captions: tuple[tuple[float, float, str, str], ...]  # x, y (top line), caption, latitudes


@cache
def _document() -> dict[str, Any]:
    return json.loads(_DATA.read_text(encoding="utf-8"))


def region_outline_source() -> str:
    """Where the outline comes from and its licence, in Spanish (printed under the map)."""
    return str(_document()["source"])


def _polygons() -> dict[int, list[list[tuple[float, float]]]]:
    """Each region's rings as (lon, lat) tuples."""
    regions = _document()["regions"]
    return {code: [[(lon, lat) for lon, lat in ring] for ring in regions[str(code)]["polygons"]] for code in REGIONS}


Ring = list[tuple[float, float]]


def _row(rings: Iterable[Ring], y: float) -> tuple[float, float] | None:
    """The leftmost and rightmost x where the horizontal line at ``y`` meets the rings."""
    xs: list[float] = []
    for ring in rings:
        for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
            if min(y1, y2) <= y <= max(y1, y2):
                xs.append(x1 if y1 == y2 else x1 + (y - y1) * (x2 - x1) / (y2 - y1))
                if y1 == y2:
                    xs.append(x2)
    return (min(xs), max(xs)) if xs else None


def _band(rings: Iterable[Ring], top: float, bottom: float, step: float = 0.5) -> tuple[float, float] | None:
    """The horizontal extent of the rings between two heights."""
    rings = list(rings)
    found = [
        extent
        for extent in (_row(rings, top + i * step) for i in range(int((bottom - top) / step) + 1))
        if extent is not None
    ]
    for ring in rings:  # vertices inside the band (a thin cape between two samples)
        found += [(x, x) for x, y in ring if top <= y <= bottom]
    return (min(lo for lo, _ in found), max(hi for _, hi in found)) if found else None


def _project(panels: Sequence[Sequence[int]]) -> list[dict[int, list[Ring]]]:
    """Each panel's rings in degrees of latitude: x east from the panel's west edge, y south from its top."""
    polygons = _polygons()
    projected = []
    for codes in panels:
        points = [p for code in codes for ring in polygons[code] for p in ring]
        west = min(lon for lon, _ in points)
        north, south = max(lat for _, lat in points), min(lat for _, lat in points)
        shrink = math.cos(math.radians((north + south) / 2))
        projected.append(
            {
                code: [[((lon - west) * shrink, north - lat) for lon, lat in ring] for ring in polygons[code]]
                for code in codes
            }
        )
    return projected


def _nest(left: list[Ring], right: list[Ring], height: float) -> float:
    """How far right of ``left``'s origin ``right`` must start so that no row of them touches."""
    need = 0.0
    for i in range(int(height / 0.05) + 1):
        y = i * 0.05
        a, b = _row(left, y), _row(right, y)
        if a is not None and b is not None:
            need = max(need, a[1] - b[0])
    return need


def _fmt(value: float) -> str:
    text = f"{value:.1f}"
    return "0" if text == "-0.0" else text.removesuffix(".0")


@cache
def _layout() -> _Layout:
    panels = _project([codes for _, _, codes in PANELS])
    rings = [[ring for rs in panel.values() for ring in rs] for panel in panels]
    heights = [max(y for ring in rs for _, y in ring) for rs in rings]
    widths = [max(x for ring in rs for x, _ in ring) for rs in rings]
    # Panels nest: each starts as soon as its shapes keep _GAP units clear of the previous one's.
    shifts = [_nest(rings[i - 1], rings[i], max(heights)) for i in range(1, len(rings))]
    scale = (_WIDTH - 2 * _MARGIN - _GAP * len(shifts)) / (sum(shifts) + widths[-1])
    origins = [_MARGIN]
    for shift in shifts:
        origins.append(origins[-1] + shift * scale + _GAP)
    top = _MARGIN

    placed: dict[int, list[Ring]] = {}
    for origin, panel in zip(origins, panels):
        for code, rs in panel.items():
            placed[code] = [[(origin + x * scale, top + y * scale) for x, y in ring] for ring in rs]
    paths = {
        code: "".join("M" + "L".join(f"{_fmt(x)} {_fmt(y)}" for x, y in ring[:-1]) + "Z" for ring in placed[code])
        for code in REGION_CODES
    }

    drawing_bottom = top + max(heights) * scale
    captions = tuple(
        (origin + width * scale / 2, drawing_bottom + 6, caption, latitudes)
        for origin, width, (caption, latitudes, _) in zip(origins, widths, PANELS)
    )
    labels = _place_labels(placed, drawing_bottom)
    return _Layout(_WIDTH, drawing_bottom + _CAPTION, paths, labels, captions)


def _place_labels(placed: Mapping[int, list[Ring]], bottom: float) -> dict[int, _Label]:
    """A short name beside each region where it fits in blank space and cannot be taken for another's.

    The name sits 3 units from its region, on the row of the region's middle (or a little above
    or below), and at least ``_LABEL_CLEAR`` units from every other region and name; where no
    such place exists (the narrow strips between two panels) the region goes unlabelled.
    """
    taken: list[tuple[float, float, float, float]] = []  # boxes of the labels placed so far
    labels = {}
    for code in REGION_CODES:
        text = SHORT_NAMES[code]
        width = len(text) * _LABEL_SIZE * 0.6
        own = placed[code][:1]  # the mainland ring
        others = [ring for other, rings in placed.items() if other != code for ring in rings]
        ys = [y for _, y in own[0]]
        centre = (min(ys) + max(ys)) / 2 + _LABEL_SIZE * 0.35
        for baseline in (centre, centre - 6, centre + 6, centre - 12, centre + 12):
            box_top, box_bottom = baseline - _LABEL_SIZE * 0.75, baseline + _LABEL_SIZE * 0.2
            extent = _band(own, box_top, box_bottom)
            if extent is None or box_top < 0 or box_bottom > bottom:
                continue
            candidates = (("start", extent[1] + 3, extent[1] + 3), ("end", extent[0] - 3, extent[0] - 3 - width))
            for anchor, x, left in candidates:
                box = (left, box_top, left + width, box_bottom)
                if box[0] >= 1 and box[2] <= _WIDTH - 1 and _clear(box, others, taken):
                    labels[code] = _Label(x, baseline, anchor, text)
                    taken.append(box)
                    break
            if code in labels:
                break
    return labels


def _clear(box: tuple[float, float, float, float], rings: list[Ring], taken: list) -> bool:
    """Whether a label's box keeps ``_LABEL_CLEAR`` units from the given rings and the labels placed so far."""
    left, top, right, bottom = box
    pad = _LABEL_CLEAR
    for other in taken:
        if left - pad < other[2] and other[0] < right + pad and top - pad < other[3] and other[1] < bottom + pad:
            return False
    for ring in rings:
        extent = _band([ring], top - 2, bottom + 2)
        if extent is not None and extent[0] < right + pad and left - pad < extent[1]:
            return False
    return True


def region_map(map_id: str, title: str, description: str, shades: Mapping[int, RegionShade]) -> Markup:
    """The map as one inline ``<svg>``; ``shades`` by region code (a missing region is drawn as None).

    Each region is a ``<path class="map-region" data-region="<code>">`` with its label as
    ``<title>`` (the tooltip), filled with its category's pattern, or light grey with a dashed
    border when it has no published figure; with an ``href`` it is wrapped in an SVG link
    named by the label. The ``<svg>`` is ``role="img"``, or ``role="group"`` as soon as one
    region has a link (an image's content is hidden from assistive technology, its links too).
    """
    layout = _layout()
    mid = escape(map_id)
    # role="img" makes every descendant presentational, links included (axe: nested-interactive,
    # WCAG 4.1.2): a map with links is a named group of them instead.
    role = "group" if any(shade.href for shade in shades.values()) else "img"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chile-map" id="{mid}" role="{role}" '
        f'aria-labelledby="{mid}-title {mid}-desc" viewBox="0 0 {_fmt(layout.width)} {_fmt(layout.height)}" '
        'width="100%" preserveAspectRatio="xMidYMin meet">',
        f'<title id="{mid}-title">{escape(title)}</title>',
        f'<desc id="{mid}-desc">{escape(description)}</desc>',
        f'<g stroke="{STROKE}" stroke-width="{_fmt(STROKE_WIDTH)}" stroke-linejoin="round">',
    ]
    for code in REGION_CODES:
        shade = shades.get(code) or RegionShade(None, f"{SHORT_NAMES[code]}: sin cifra publicada")
        if shade.category is None:
            paint = f'fill="{NO_DATA_FILL}" stroke-dasharray="2 1.5"'
        elif shade.category in PATTERN_IDS:
            paint = f'fill="url(#{PATTERN_IDS[shade.category]})"'
        else:
            raise ValueError(f"categoría desconocida: {shade.category!r}")
        path = (
            f'<path class="map-region" data-region="{code}" d="{layout.paths[code]}" {paint}>'
            f"<title>{escape(shade.label)}</title></path>"
        )
        if shade.href:
            path = f'<a class="map-link" href="{escape(shade.href)}" aria-label="{escape(shade.label)}">{path}</a>'
        out.append(path)
    out.append("</g>")
    out.append(f'<g class="map-label" font-size="{_fmt(_LABEL_SIZE)}" fill="{STROKE}" aria-hidden="true">')
    for label in layout.labels.values():
        anchor = ' text-anchor="end"' if label.anchor == "end" else ""
        out.append(f'<text x="{_fmt(label.x)}" y="{_fmt(label.y)}"{anchor}>{escape(label.text)}</text>')
    out.append("</g>")
    out.append(f'<g class="map-caption" fill="{STROKE}" text-anchor="middle" aria-hidden="true">')
    for x, y, caption, latitudes in layout.captions:
        out.append(
            f'<text x="{_fmt(x)}" y="{_fmt(y + _CAPTION_SIZE)}" font-size="{_fmt(_CAPTION_SIZE)}" '
            f'font-weight="bold">{escape(caption)}</text>'
            f'<text x="{_fmt(x)}" y="{_fmt(y + _CAPTION_SIZE + 11)}" font-size="9">{escape(latitudes)}</text>'
        )
    out.append("</g></svg>")
    return Markup("".join(out))
