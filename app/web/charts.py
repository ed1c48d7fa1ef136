"""Inline SVG charts drawn in Python: escaped text, ``role="img"`` with a ``<title>`` and a
``<desc>`` that says the numbers, and fills that differ by pattern as well as colour (solid,
stripes, cross-hatch, dots), each segment labelled with the light's icon and its count.
The pages always print the same numbers in a table beside the chart.

No inline styles or scripts (a Content-Security-Policy may forbid them): presentation
attributes only, and classes styled in ``/static/analyst.css``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from markupsafe import Markup, escape

from app.web.render import LIGHT_ICONS, light_name

#: Pattern of each category (ids shared by every chart of a page through ``pattern_defs``).
PATTERN_IDS = {
    "green": "cd-pat-green",
    "yellow": "cd-pat-yellow",
    "red": "cd-pat-red",
    "insufficient_data": "cd-pat-insufficient",
    "not_applicable": "cd-pat-na",
}
#: Text colour over each fill (contrast >= 4.5 with the halo).
TEXT_CLASS = {"green": "on-dark", "red": "on-dark"}


def pattern_defs() -> Markup:
    """The fill patterns, once per page (zero-size SVG, hidden from assistive technology)."""
    return Markup(
        '<svg class="chart-defs" width="0" height="0" aria-hidden="true" focusable="false"><defs>'
        '<pattern id="cd-pat-green" width="8" height="8" patternUnits="userSpaceOnUse">'
        '<rect width="8" height="8" fill="#1b7a3a"/></pattern>'
        '<pattern id="cd-pat-yellow" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        '<rect width="8" height="8" fill="#f2c94c"/><rect width="2.5" height="8" fill="#a87800"/></pattern>'
        '<pattern id="cd-pat-red" width="8" height="8" patternUnits="userSpaceOnUse">'
        '<rect width="8" height="8" fill="#b3261e"/>'
        '<path d="M0 0L8 8M8 0L0 8" stroke="#ffffff" stroke-width="1.2"/></pattern>'
        '<pattern id="cd-pat-insufficient" width="6" height="6" patternUnits="userSpaceOnUse">'
        '<rect width="6" height="6" fill="#e4e7e1"/><circle cx="3" cy="3" r="1.3" fill="#5f6b76"/></pattern>'
        '<pattern id="cd-pat-na" width="6" height="6" patternUnits="userSpaceOnUse">'
        '<rect width="6" height="6" fill="#ffffff"/><path d="M0 3H6" stroke="#9aa39c" stroke-width="1"/></pattern>'
        "</defs></svg>"
    )


def swatch(category: str) -> Markup:
    """A small square of a category's fill, for legends (decorative: the word is beside it)."""
    return Markup(
        '<svg class="swatch" width="18" height="18" viewBox="0 0 18 18" aria-hidden="true" focusable="false">'
        f'<rect x="0.5" y="0.5" width="17" height="17" fill="url(#{PATTERN_IDS[category]})" stroke="#1f2933"/></svg>'
    )


class Row(Protocol):
    label: str

    @property
    def total(self) -> int: ...

    counts: dict


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def describe(rows: Sequence[Row], categories: Sequence[str]) -> str:
    """The numbers of a chart in words (its ``<desc>``)."""
    parts = []
    for row in rows:
        counts = ", ".join(f"{row.counts.get(c, 0)} {light_name(c)}" for c in categories if row.counts.get(c, 0))
        parts.append(f"{row.label}: {counts or 'sin respuestas'} (total {row.total})")
    return "; ".join(parts) + "."


def stacked_bars(
    chart_id: str, title: str, rows: Sequence[Row], categories: Sequence[str], *, width: int = 340
) -> Markup:
    """Horizontal 100 % stacked bars, one per row, the label above each bar.

    Each segment carries the icon and count of its category when it is wide enough; the
    ``<desc>`` always has every number.
    """
    label_h, bar_h, gap = 18, 24, 10
    row_h = label_h + bar_h + gap
    height = max(row_h * len(rows), row_h)
    cid = escape(chart_id)
    out = [
        f'<svg class="chart" id="{cid}" role="img" aria-labelledby="{cid}-title {cid}-desc" '
        f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(describe(rows, categories))}</desc>',
    ]
    for index, row in enumerate(rows):
        top = index * row_h
        out.append(
            f'<text class="chart-label" x="0" y="{top + 13}">{escape(row.label)} '
            f'<tspan class="chart-total">({row.total})</tspan></text>'
        )
        y = top + label_h
        if not row.total:
            out.append(
                f'<rect x="0.5" y="{y}" width="{width - 1}" height="{bar_h}" fill="none" stroke="#9aa39c" stroke-dasharray="4 3"/>'
            )
            out.append(f'<text class="chart-count" x="8" y="{y + 16}">sin respuestas</text>')
            continue
        x = 0.0
        for category in categories:
            count = row.counts.get(category, 0)
            if not count:
                continue
            w = width * count / row.total
            out.append(
                f'<rect x="{_fmt(x)}" y="{y}" width="{_fmt(w)}" height="{bar_h}" '
                f'fill="url(#{PATTERN_IDS[category]})" stroke="#ffffff" stroke-width="1"/>'
            )
            text = f"{LIGHT_ICONS.get(category, '')} {count}"
            pill = 8 * len(text) + 8
            if w >= pill + 4:
                cx = x + w / 2
                out.append(
                    f'<rect class="chart-pill" x="{_fmt(cx - pill / 2)}" y="{y + 4}" width="{pill}" height="{bar_h - 8}" '
                    f'rx="8" fill="#ffffff" stroke="#1f2933" stroke-width="0.75"/>'
                    f'<text class="chart-count" x="{_fmt(cx)}" y="{y + 16.5}" text-anchor="middle" fill="#1f2933">{escape(text)}</text>'
                )
            x += w
    out.append("</svg>")
    return Markup("".join(out))


#: Height of each light in the timeline (green highest); states that are not lights lowest.
_LEVEL = {"green": 0, "yellow": 1, "red": 2, "insufficient_data": 3, "not_applicable": 3, None: 3}
_COLOUR = {"green": "#1b7a3a", "yellow": "#8a6100", "red": "#b3261e"}


def _marker(light: str | None, cx: float, cy: float) -> str:
    colour = _COLOUR.get(light or "", "#5f6b76")
    if light == "green":
        return f'<circle cx="{_fmt(cx)}" cy="{_fmt(cy)}" r="7" fill="{colour}"/>'
    if light == "yellow":
        return f'<path d="M{_fmt(cx)} {_fmt(cy - 8)}L{_fmt(cx + 8)} {_fmt(cy + 6)}L{_fmt(cx - 8)} {_fmt(cy + 6)}Z" fill="{colour}"/>'
    if light == "red":
        return f'<rect x="{_fmt(cx - 7)}" y="{_fmt(cy - 7)}" width="14" height="14" fill="{colour}"/>'
    return (
        f'<circle cx="{_fmt(cx)}" cy="{_fmt(cy)}" r="7" fill="#ffffff" stroke="{colour}" stroke-width="2"/>'
        f'<text class="chart-count" x="{_fmt(cx)}" y="{_fmt(cy + 4)}" text-anchor="middle" fill="{colour}">?</text>'
    )


def _two_lines(label: str, width: int) -> list[str]:
    """A label on at most two lines of about ``width`` characters, cut at words (and with «…»
    only when even two lines cannot hold it)."""
    words, lines, line = label.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    if len(lines) > 2:
        lines = [lines[0], " ".join(lines[1:])]
    return [text if len(text) <= width else text[: width - 1] + "…" for text in lines]


def light_timeline(chart_id: str, title: str, points: Iterable[tuple[str, str | None]]) -> Markup:
    """A small line of the overall light over the rounds: shape and height per light
    (circle = verde, high; triangle = amarillo; square = rojo, low; ? = no hay luz)."""
    points = list(points)
    # Wide enough for a round's name on two lines of about 20 characters under each point.
    step, left, top = 180, 95, 14
    width = left * 2 + step * max(len(points) - 1, 0)
    height = top + 3 * 22 + 46
    cid = escape(chart_id)
    description = "; ".join(f"{label}: {light_name(light) if light else 'sin resultado'}" for label, light in points)
    out = [
        f'<svg class="chart timeline" id="{cid}" role="img" aria-labelledby="{cid}-title {cid}-desc" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(description or "sin diagnósticos")}.</desc>',
    ]
    coords = [(left + i * step, top + _LEVEL.get(light, 3) * 22) for i, (_, light) in enumerate(points)]
    if len(coords) > 1:
        path = " ".join(f"{'M' if i == 0 else 'L'}{x} {y}" for i, (x, y) in enumerate(coords))
        out.append(f'<path d="{path}" fill="none" stroke="#9aa39c" stroke-width="2"/>')
    for (label, light), (x, y) in zip(points, coords):
        out.append(_marker(light, x, y))
        lines = _two_lines(label, 22)
        tspans = "".join(
            f'<tspan x="{x}" dy="{0 if i == 0 else 15}">{escape(line)}</tspan>' for i, line in enumerate(lines)
        )
        first_y = height - 8 - 15 * (len(lines) - 1)
        out.append(f'<text class="chart-small" x="{x}" y="{first_y}" text-anchor="middle">{tspans}</text>')
    out.append("</svg>")
    return Markup("".join(out))
