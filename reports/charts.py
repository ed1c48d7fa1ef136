"""Charts of the report: SVG shapes drawn in Python, with their words laid over in HTML.

WeasyPrint lays SVG ``<text>`` out glyph by glyph (about 2 ms per label), so a chart here
is an inline SVG of shapes only, in millimetres, inside a box where every label is an
absolutely positioned HTML paragraph at the same millimetre coordinates: one HTML line
costs a fraction of that. Everything a reader needs is written out (titles, scores,
lights), and the marks stay readable in greyscale: each light has a fill pattern (green
solid, yellow striped, red cross-hatched) and a shape (circle, triangle, square) besides its
colour. Every text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from markupsafe import Markup, escape

from . import formatting as fmt

INK = "#1d2733"
MUTED = "#5b6670"
GRID = "#c9cfd4"
ACCENT = "#1f4e79"
COLOURS = {"green": "#2e7d32", "yellow": "#f2c230", "red": "#b3261e"}
LINE_MM = 3.1
"""Height of a label line (7.5 pt type, line-height 1.15), to centre labels vertically."""


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    """Top left corner of the label's box, in mm from the chart's top left."""
    lines: tuple[str, ...]
    width: float
    align: str = "left"
    css: str = ""


@dataclass
class Figure:
    """A chart: SVG shapes and HTML labels in the same millimetre coordinates."""

    width: float
    height: float
    description: str
    shapes: list[str] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)

    def label(
        self,
        x: float,
        y: float,
        text: str | Sequence[str],
        *,
        width: float,
        align: str = "left",
        css: str = "",
        middle: bool = False,
    ) -> None:
        """A label; ``align`` right puts its right edge at x, center its middle; ``middle``
        centres its lines vertically on y."""
        lines = (text,) if isinstance(text, str) else tuple(text)
        left = x - width if align == "right" else x - width / 2 if align == "center" else x
        top = y - LINE_MM * len(lines) / 2 if middle else y
        self.labels.append(Label(left, top, lines, width, align, css))

    def __html__(self) -> str:
        parts = [
            f'<div class="fig" style="width:{self.width:.1f}mm;height:{self.height:.1f}mm">',
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.width:.1f} {self.height:.1f}" '
            f'width="{self.width:.1f}mm" height="{self.height:.1f}mm" role="img" '
            f'aria-label="{escape(self.description)}">',
            *self.shapes,
            "</svg>",
        ]
        for column in _columns(self.labels):
            first = column[0]
            align = "" if first.align == "left" else f";text-align:{first.align}"
            place = f"left:{first.x:.1f}mm;top:{first.y:.1f}mm;width:{first.width:.1f}mm{align}"
            if len(column) == 1:
                parts.append(f'<p class="fl{_css(first)}" style="{place}">{_text(first)}</p>')
                continue
            # One positioned box per column, its labels in normal flow inside: an absolutely
            # positioned box costs WeasyPrint about twice a paragraph in flow.
            parts.append(f'<div class="flc" style="{place}">')
            bottom = first.y
            for label in column:
                height = LINE_MM * len(label.lines)
                parts.append(
                    f'<p class="fli{_css(label)}" style="margin-top:{label.y - bottom:.2f}mm;'
                    f'height:{height:.2f}mm">{_text(label)}</p>'
                )
                bottom = label.y + height
            parts.append("</div>")
        parts.append("</div>")
        return "".join(parts)


def _css(label: Label) -> str:
    return f" {label.css}" if label.css else ""


def _text(label: Label) -> Markup:
    return Markup("<br/>").join(escape(line) for line in label.lines)


def _columns(labels: Sequence[Label]) -> list[list[Label]]:
    """Labels grouped by their left edge, width and alignment, top to bottom; a label that
    would overlap the one above it in its column starts a column of its own."""
    columns: dict[tuple, list[list[Label]]] = {}
    for label in sorted(labels, key=lambda item: item.y):
        runs = columns.setdefault((round(label.x, 2), round(label.width, 2), label.align), [[]])
        run = runs[-1]
        if run and label.y < run[-1].y + LINE_MM * len(run[-1].lines) - 0.01:
            run = []
            runs.append(run)
        run.append(label)
    return [run for runs in columns.values() for run in runs]


def patterns(prefix: str) -> str:
    """Yellow striped and red cross-hatched fills (green is solid)."""
    return (
        "<defs>"
        f'<pattern id="{prefix}-yellow" width="1.6" height="1.6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)">'
        f'<rect width="1.6" height="1.6" fill="{COLOURS["yellow"]}"/><rect width="0.5" height="1.6" fill="#8a6d00"/>'
        "</pattern>"
        f'<pattern id="{prefix}-red" width="1.6" height="1.6" patternUnits="userSpaceOnUse">'
        f'<rect width="1.6" height="1.6" fill="{COLOURS["red"]}"/>'
        '<path d="M0 0L1.6 1.6M1.6 0L0 1.6" stroke="#ffffff" stroke-width="0.25"/></pattern>'
        "</defs>"
    )


def marker(light: str, x: float, y: float, size: float = 1.4) -> str:
    """The light's shape: circle (green), triangle (yellow), square (red), white diamond otherwise."""
    colour = COLOURS.get(light, "#ffffff")
    stroke = f'stroke="{INK}" stroke-width="0.3"'
    if light == "green":
        return f'<circle cx="{x:.2f}" cy="{y:.2f}" r="{size:.2f}" fill="{colour}" {stroke}/>'
    if light == "yellow":
        h = size * 1.2
        return (
            f'<path d="M{x:.2f} {y - h:.2f}L{x + h:.2f} {y + h * 0.8:.2f}L{x - h:.2f} {y + h * 0.8:.2f}Z" '
            f'fill="{colour}" {stroke}/>'
        )
    if light == "red":
        return (
            f'<rect x="{x - size:.2f}" y="{y - size:.2f}" width="{2 * size:.2f}" height="{2 * size:.2f}" '
            f'fill="{colour}" {stroke}/>'
        )
    return (
        f'<path d="M{x:.2f} {y - size * 1.3:.2f}L{x + size * 1.3:.2f} {y:.2f}L{x:.2f} {y + size * 1.3:.2f}'
        f'L{x - size * 1.3:.2f} {y:.2f}Z" fill="#ffffff" {stroke}/>'
    )


def _line(x1: float, y1: float, x2: float, y2: float, colour: str = GRID, width: float = 0.2, dash: str = "") -> str:
    dashes = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<line x1="{x1:.2f}" y1="{y1:.2f}" x2="{x2:.2f}" y2="{y2:.2f}" stroke="{colour}" '
        f'stroke-width="{width}"{dashes}/>'
    )


def wrap(text: str, width: int, lines: int) -> list[str]:
    """Greedy word wrap to ``width`` characters, at most ``lines`` lines (the last one cut with «…»)."""
    result: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if len(candidate) <= width or not current:
            current = candidate
        else:
            result.append(current)
            current = word
    if current:
        result.append(current)
    if len(result) > lines:
        result = result[: lines - 1] + [" ".join(result[lines - 1 :])]
    return [fmt.shorten(line, width) for line in result]


def _score_word(light: str, score: float | None) -> str:
    return f"{fmt.numero(score, 1)} · {fmt.light_word(light)}" if score is not None else fmt.light_word(light)


THRESHOLD_DASH = {"green": "1.6 0.8", "red": "0.6 0.6"}


# --------------------------------------------------------------------------- radar


def radar(axes: Sequence[tuple[str, float | None, str]], *, green: float, red: float) -> Figure | None:
    """Dimensions on a radar: ``axes`` are (title, score 0–100 or None, light). None with
    fewer than three axes (a radar needs a plane; the bar chart shows those)."""
    if len(axes) < 3:
        return None
    width, height, radius = 150.0, 96.0, 31.0
    cx, cy = width / 2, 48.0
    count = len(axes)
    figure = Figure(
        width,
        height,
        "Gráfico radial de las dimensiones: "
        + "; ".join(f"{title}: {_score_word(light, score)}" for title, score, light in axes),
    )

    def point(index: int, value: float) -> tuple[float, float]:
        angle = -math.pi / 2 + 2 * math.pi * index / count
        return cx + radius * value / 100 * math.cos(angle), cy + radius * value / 100 * math.sin(angle)

    def ring(value: float, colour: str, stroke: float, dash: str = "") -> str:
        points = " ".join(f"{x:.2f},{y:.2f}" for x, y in (point(i, value) for i in range(count)))
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        return f'<polygon points="{points}" fill="none" stroke="{colour}" stroke-width="{stroke}"{dashes}/>'

    shapes = figure.shapes
    shapes.extend(ring(v, GRID, 0.2) for v in (25, 50, 75, 100))
    shapes.append(ring(red * 100, COLOURS["red"], 0.35, THRESHOLD_DASH["red"]))
    shapes.append(ring(green * 100, COLOURS["green"], 0.35, THRESHOLD_DASH["green"]))
    shapes.extend(_line(cx, cy, *point(i, 100)) for i in range(count))
    known = [score for _, score, _ in axes if score is not None]
    if len(known) == count:
        points = " ".join(f"{x:.2f},{y:.2f}" for x, y in (point(i, s) for i, s in enumerate(known)))
        shapes.append(
            f'<polygon points="{points}" fill="{ACCENT}" fill-opacity="0.16" stroke="{ACCENT}" stroke-width="0.6"/>'
        )
    for i, (_, score, light) in enumerate(axes):
        if score is not None:
            shapes.append(marker(light, *point(i, score), size=1.6))
    # Scale along the first axis (upwards).
    for value in (red, green):
        x, y = point(0, value * 100)
        figure.label(x + 1, y - LINE_MM / 2, fmt.umbral(value), width=12, css="fl-scale")
    for i, (title, score, light) in enumerate(axes):
        x, y = point(i, 100)
        angle = -math.pi / 2 + 2 * math.pi * i / count
        dx, dy = math.cos(angle), math.sin(angle)
        lines = wrap(title, 26, 2) + [_score_word(light, score)]
        if abs(dx) < 0.3:  # top or bottom: centred above or below the tip
            top = y - 2 - LINE_MM * len(lines) if dy < 0 else y + 2
            figure.label(x, top, lines, width=46, align="center")
        else:
            figure.label(
                x + (3 if dx > 0 else -3), y + dy * 4, lines, width=40, align="left" if dx > 0 else "right", middle=True
            )
    return figure


# --------------------------------------------------------------------------- bars


@dataclass(frozen=True)
class Bar:
    label: str
    score: float | None
    """0–100, or None when the light is not a light."""
    light: str
    green: float | None = None
    red: float | None = None
    """This row's thresholds (0–1) when they differ from the chart's."""
    heading: bool = False
    """A group heading (a dimension), written in bold without a bar."""


def bars(rows: Sequence[Bar], *, green: float, red: float) -> Figure:
    """Horizontal bars (0–100) with the threshold lines, one row per subcategory under its
    dimension; the value and the light's word at the end of each bar."""
    prefix = "bars"
    label_w, bar_x, bar_w, row_h, head_h, top = 66.0, 69.0, 78.0, 7.0, 6.0, 6.0
    width = 174.0
    height = top + sum(head_h if r.heading else row_h for r in rows) + 1
    figure = Figure(
        width,
        height,
        "Gráfico de barras de las subcategorías: "
        + "; ".join(f"{r.label}: {_score_word(r.light, r.score)}" for r in rows if not r.heading),
    )
    shapes = figure.shapes
    shapes.append(patterns(prefix))
    for tick in (0, 25, 50, 75, 100):
        x = bar_x + bar_w * tick / 100
        shapes.append(_line(x, top - 1, x, height - 1))
        figure.label(x, 0.5, str(tick), width=10, align="center", css="fl-scale")
    for value, light in ((red, "red"), (green, "green")):
        x = bar_x + bar_w * value
        shapes.append(_line(x, top - 1, x, height - 1, COLOURS[light], 0.4, THRESHOLD_DASH[light]))
    y = top
    for row in rows:
        if row.heading:
            figure.label(0, y + 1.2, fmt.shorten(row.label, 80), width=label_w + bar_w, css="fl-head")
            y += head_h
            continue
        mid = y + row_h / 2
        figure.label(2, mid, wrap(row.label, 45, 2), width=label_w - 2, middle=True)
        if row.score is None:
            figure.label(bar_x + 1.5, mid, fmt.light_word(row.light), width=bar_w, middle=True, css="fl-muted")
        else:
            length = max(bar_w * row.score / 100, 0.3)
            fill = COLOURS["green"] if row.light == "green" else f"url(#{prefix}-{row.light})"  # green is solid
            shapes.append(
                f'<rect x="{bar_x}" y="{y + 1.3:.2f}" width="{length:.2f}" height="{row_h - 2.6:.2f}" '
                f'fill="{fill}" stroke="{INK}" stroke-width="0.15"/>'
            )
            shapes.append(marker(row.light, bar_x + bar_w + 3, mid, size=1.2))
            figure.label(
                bar_x + bar_w + 5.5,
                mid,
                _score_word(row.light, row.score),
                width=width - bar_x - bar_w - 5.5,
                middle=True,
            )
        for own, light in ((row.red, "red"), (row.green, "green")):
            if own is not None:  # this row's own threshold differs from the chart's
                x = bar_x + bar_w * own
                shapes.append(_line(x, y + 0.3, x, y + row_h - 0.3, COLOURS[light], 0.6))
        y += row_h
    return figure


# --------------------------------------------------------------------------- peers


@dataclass(frozen=True)
class PeerRow:
    label: str
    own: float | None
    own_light: str
    median: float | None
    q1: float | None
    q3: float | None


def peers(rows: Sequence[PeerRow]) -> Figure:
    """For each score: the peers' interquartile range as a hatched box, their median as a
    thick line, and this organisation's score as its light's marker."""
    label_w, bar_x, bar_w, row_h, top = 56.0, 60.0, 100.0, 6.5, 5.0
    width = 174.0
    height = top + row_h * len(rows) + 7
    figure = Figure(
        width,
        height,
        "Comparación con pares: "
        + "; ".join(
            f"{r.label}: esta organización {fmt.puntaje(r.own)}, mediana {fmt.puntaje(r.median)}, "
            f"cuartiles {fmt.puntaje(r.q1)} a {fmt.puntaje(r.q3)}"
            for r in rows
        ),
    )
    shapes = figure.shapes
    shapes.append(
        "<defs>"
        '<pattern id="peer-box" width="1.4" height="1.4" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        '<rect width="1.4" height="1.4" fill="#dfe5ea"/><rect width="0.35" height="1.4" fill="#8c98a3"/></pattern>'
        "</defs>"
    )
    bottom = top + row_h * len(rows)
    for value in (0, 25, 50, 75, 100):
        x = bar_x + bar_w * value / 100
        shapes.append(_line(x, top - 1, x, bottom))
        figure.label(x, 0, str(value), width=10, align="center", css="fl-scale")
    for n, row in enumerate(rows):
        y = top + n * row_h
        mid = y + row_h / 2
        figure.label(0, mid, fmt.shorten(row.label, 40), width=label_w, middle=True)
        shapes.append(_line(bar_x, mid, bar_x + bar_w, mid, GRID, 0.3))
        if row.q1 is not None and row.q3 is not None:
            x1, x3 = bar_x + bar_w * row.q1 / 100, bar_x + bar_w * row.q3 / 100
            shapes.append(
                f'<rect x="{x1:.2f}" y="{y + 1.3:.2f}" width="{max(x3 - x1, 0.3):.2f}" '
                f'height="{row_h - 2.6:.2f}" fill="url(#peer-box)" stroke="{MUTED}" stroke-width="0.2"/>'
            )
        if row.median is not None:
            xm = bar_x + bar_w * row.median / 100
            shapes.append(_line(xm, y + 0.8, xm, y + row_h - 0.8, INK, 0.7))
        if row.own is not None:
            shapes.append(marker(row.own_light, bar_x + bar_w * row.own / 100, mid, size=1.4))
    legend = bottom + 3.5
    shapes.append(
        f'<rect x="{bar_x}" y="{legend - 1.2:.2f}" width="5" height="2.4" fill="url(#peer-box)" '
        f'stroke="{MUTED}" stroke-width="0.2"/>'
    )
    figure.label(bar_x + 6.5, legend, "mitad central de los pares", width=34, middle=True, css="fl-scale")
    shapes.append(_line(bar_x + 42, legend - 1.4, bar_x + 42, legend + 1.4, INK, 0.7))
    figure.label(bar_x + 44, legend, "mediana", width=14, middle=True, css="fl-scale")
    shapes.append(marker("", bar_x + 61, legend, size=1.1))
    figure.label(
        bar_x + 63.5, legend, "esta organización (forma según su color)", width=50, middle=True, css="fl-scale"
    )
    return figure
