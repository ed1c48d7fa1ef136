"""Words and numbers as a Chilean reader expects them (Babel, es_CL), and answers in words.

Pure functions: no clock, no database, no web framework. The report uses them, and so do
the web pages (``app/web``): one implementation of each.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

import scoring

LOCALE = "es_CL"
CHILE = ZoneInfo("America/Santiago")
DASH = "—"

#: The five results: the word a reader sees, its icon (shape tells them apart in greyscale)
#: and the official message (scoring.md; the two states that are not lights have their own).
LIGHT_WORDS = {
    "green": "Verde",
    "yellow": "Amarillo",
    "red": "Rojo",
    "insufficient_data": "Datos insuficientes",
    "not_applicable": "No aplica",
}
LIGHT_ICONS = {"green": "●", "yellow": "▲", "red": "■", "insufficient_data": "?", "not_applicable": "–"}
LIGHTS = ("green", "yellow", "red")

#: The special answers in words, as the report writes them.
SPECIAL_WORDS = {"na": "No aplica", "ns": "No sabe"}

STATUS_WORDS = {"submitted": "Enviado", "validated": "Validado por el equipo de análisis"}
MODE_WORDS = {"self": "Autodiagnóstico", "interview": "Entrevista de terreno"}


def light_word(light: str | None) -> str:
    return LIGHT_WORDS.get(light or "", light or DASH)


def light_icon(light: str | None) -> str:
    return LIGHT_ICONS.get(light or "", "?")


def light_message(light: str | None) -> str:
    try:
        return scoring.LIGHT_MESSAGES[scoring.Light(light)]
    except ValueError:
        return ""


def fecha(value: date | datetime | None, *, with_time: bool = False) -> str:
    """A long Chilean date (21 de noviembre de 2026); an aware datetime in Chile's time zone."""
    if value is None:
        return DASH
    if isinstance(value, datetime):
        local = value.astimezone(CHILE) if value.tzinfo else value
        if with_time:
            return format_datetime(local, "d 'de' MMMM 'de' y, HH:mm", locale=LOCALE)
        value = local.date()
    return format_date(value, format="long", locale=LOCALE)


def numero(value: float | int | None, decimals: int | None = None) -> str:
    """1500000 → 1.500.000; 2.5 → 2,5; with ``decimals``, exactly that many."""
    if value is None or isinstance(value, bool):
        return DASH
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if decimals is None and value.is_integer() and abs(value) < 2**53:
            value = int(value)
    if decimals is None:
        return format_decimal(value, locale=LOCALE)
    pattern = "#,##0." + "0" * decimals if decimals else "#,##0"
    return format_decimal(value, format=pattern, locale=LOCALE)


def puntaje(score: float | None) -> str:
    """A snapshot score (0–100, one decimal) as a percentage: 72.5 → «72,5 %»."""
    return DASH if score is None else f"{numero(score, 1)}\u00a0%"


def umbral(fraction: float) -> str:
    """A threshold (0–1) as a short percentage: 0.8 → «80 %», 0.675 → «67,5 %»."""
    return f"{numero(round(fraction * 100, 1))}\u00a0%"


def cobertura(value: float | None) -> str:
    """A coverage fraction (0–1) as a whole percentage: 0.8 → «80 %»."""
    return DASH if value is None else f"{numero(round(value * 100), 0)}\u00a0%"


def puntos(difference: float | None) -> str:
    """A difference of scores in points, signed: «+5,3 puntos», «−2,0 puntos», «sin cambio»."""
    if difference is None:
        return DASH
    rounded = round(difference, 1)
    if rounded == 0:
        return "sin cambio"
    sign = "+" if rounded > 0 else "−"
    unit = "punto" if abs(rounded) == 1 else "puntos"
    return f"{sign}{numero(abs(rounded), 1)} {unit}"


def rut(value: str | None) -> str:
    """A stored RUT (76123456-7) as people write it (76.123.456-7); anything else unchanged."""
    if not value:
        return DASH
    number, dash, check = value.partition("-")
    if not dash or not number.isdigit():
        return value
    return f"{int(number):,}".replace(",", ".") + f"-{check}"


def answer_in_words(
    question: scoring.Question,
    value: Any,
    *,
    special_words: Mapping[str, str] = SPECIAL_WORDS,
    separator: str = "; ",
    decimals: int | None = 2,
) -> str:
    """An answer as a person reads it: «Sí», an option's label, «1.500.000 CLP», «No sabe».

    ``special_words`` names the na/ns answers, ``separator`` goes between a multi's options
    and ``decimals`` rounds a fractional number (None: Babel's own, at most three decimals);
    the web pages use their form's words, commas and Babel's rounding."""
    if value is None:
        return "Sin respuesta"
    if isinstance(value, str) and value in special_words and question.option(value) is None:
        return special_words[value]
    if question.type == "yes_no" and isinstance(value, bool):
        return "Sí" if value else "No"
    if question.type == "choice":
        option = question.option(str(value))
        return option.label if option else str(value)
    if question.type == "multi" and isinstance(value, list):
        if not value:
            return "Ninguna opción"
        return separator.join(question.option(str(v)).label if question.option(str(v)) else str(v) for v in value)
    if question.type in ("number", "computed") and isinstance(value, (int, float)) and not isinstance(value, bool):
        text = numero(round(value, decimals) if isinstance(value, float) and decimals is not None else value)
        return f"{text} {question.unit}" if question.unit else text
    if question.type == "date" and isinstance(value, str):
        try:
            return fecha(date.fromisoformat(value))
        except ValueError:
            return value
    return str(value)


def shorten(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word and ended with «…» when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2:]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:.-") + "…"
