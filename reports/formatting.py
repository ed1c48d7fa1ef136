"""Words and numbers as a Chilean reader expects them (Babel, es_CL), and answers in words.

Pure functions: no clock, no database, no web framework. The report uses them, and so do
the web pages (``app/web``): one implementation of each.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_scientific

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


def capitalized(text: str) -> str:
    """A label that starts a cell or a line: its first letter in capitals, the rest as written."""
    return text[:1].upper() + text[1:]


def cantidad(count: int, singular: str, plural: str) -> str:
    """A count with its noun in the right number: «1 versión registrada», «3 versiones registradas»."""
    return f"{numero(count)} {singular if count == 1 else plural}"


def light_word(light: str | None) -> str:
    return LIGHT_WORDS.get(light or "", light or DASH)


def light_icon(light: str | None) -> str:
    return LIGHT_ICONS.get(light or "", "?")


#: The answer that makes the respondent a pre-cooperative group (questionnaires 2026.1 and
#: 2027.1 both ask it first): the messages then say «su organización», not «su cooperativa».
ORGANISATION_QUESTION = "tipo_organizacion"
PRE_COOPERATIVE_ANSWER = "grupo_precooperativo"


def is_pre_cooperative(answers: Mapping[str, Any] | None) -> bool:
    """Whether the answers describe a pre-cooperative group (``tipo_organizacion``), which
    is how every page and the report decide the wording of the light messages."""
    return isinstance(answers, Mapping) and answers.get(ORGANISATION_QUESTION) == PRE_COOPERATIVE_ANSWER


def light_message(light: str | None, precooperative: bool = False) -> str:
    """The official message of a light (scoring.LIGHT_MESSAGES, the seed study's wording);
    for a pre-cooperative group «su organización» instead of «su cooperativa»."""
    if light is None:
        return ""
    try:
        message = scoring.LIGHT_MESSAGES[scoring.Light(light)]
    except ValueError:
        return ""
    return message.replace("su cooperativa", "su organización") if precooperative else message


# --------------------------------------------------------------------------- result notes

#: Above this share of «No sé» answers (among the questions that apply) a result carries a
#: data-quality note.
NS_NOTE_ABOVE = 0.10

_INTERROGATIVES = frozenset(
    ["qué", "cuál", "cuáles", "cuánto", "cuánta", "cuántos", "cuántas", "cómo", "dónde", "cuándo", "quién", "quiénes"]
)


def _lower_first(text: str) -> str:
    """The first letter in lower case, unless the first word is an acronym (DAES, RUT)."""
    first = text.split(" ", 1)[0]
    if len(first) > 1 and first[:2].isupper():
        return text
    return text[:1].lower() + text[1:]


def critical_unknown(question_text: str) -> str:
    """A critical question answered «No sé», in plain words built from its text:
    «¿La cooperativa figura como vigente en el registro de DAES?» → «No se sabe si la
    cooperativa figura como vigente en el registro de DAES: verifíquelo.»; «¿Con qué
    frecuencia…?» → «No se sabe con qué frecuencia…: verifíquelo.»; any other text →
    «No se sabe la respuesta a «…»: verifíquelo.»"""
    text = " ".join(str(question_text).split())
    if text.endswith("?") and text.count("?") == 1 and text.count("¿") == 1:
        before, _, asked = text.partition("¿")
        before = before.strip().rstrip(",").strip()
        body = asked[:-1].strip().rstrip(".,;:")
        words = body.lower().split()
        indirect = bool(words) and (words[0] in _INTERROGATIVES or (len(words) > 1 and words[1] in _INTERROGATIVES))
        if body and not before:
            return f"No se sabe {'' if indirect else 'si '}{_lower_first(body)}: verifíquelo."
        if body and not indirect:  # «En los últimos doce meses, ¿se realizó…?»
            return f"No se sabe si {_lower_first(before)} {body}: verifíquelo."
    return f"No se sabe la respuesta a «{text.rstrip('.')}»: verifíquelo."


def _quoted_list(titles: list[str]) -> str:
    quoted = [f"«{t}»" for t in titles]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " y " + quoted[-1]


def critical_dimension_note(subcategories: list[str], score: float | None, score_light: str | None) -> str:
    """Why a dimension is red by the critical rule (method 2): ``subcategories`` are the
    titles of those with critical failures, ``score`` the dimension's (0–100, may be null)
    and ``score_light`` the light its score alone would give (None when unknown). The score
    itself is shown beside the light, on the pages as on the PDF, each in its own units."""
    where = ("una falla crítica en " if len(subcategories) == 1 else "fallas críticas en ") + _quoted_list(
        subcategories
    )
    rule = "una falla crítica deja en rojo toda la dimensión, cualquiera sea su puntaje"
    if score is None:
        return (
            f"Está en rojo, sin puntaje, porque tiene {where}: {rule}. No tiene puntaje porque menos "
            "de la mitad de sus partes tiene resultado."
        )
    if score_light in ("green", "yellow"):
        return f"Con su puntaje quedaría en {LIGHT_WORDS[score_light].lower()}, pero está en rojo porque tiene {where}: {rule}."
    return f"Está en rojo porque tiene {where}: {rule}."


def ns_share_words(share: float) -> str:
    """A share of «No sé» answers (0–1) as a percentage, one decimal at most: «25 %», «10,5 %»."""
    return f"{numero(round(share * 100, 1))}\u00a0%"


def ns_note(share: float | None) -> str | None:
    """The data-quality note when more than 10 % of the questions that apply were answered
    «No sé» (None otherwise)."""
    if share is None or share <= NS_NOTE_ABOVE:
        return None
    return (
        f"El {ns_share_words(share)} de las preguntas que se aplican se respondió «No sé»: el resultado "
        "tiene menos datos y puede cambiar cuando se conozcan esas respuestas."
    )


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


#: From this size on a number is written in scientific notation (1,5E20): grouped in thousands
#: it would be unreadable, and Babel's decimal arithmetic (28 digits) cannot round it.
SCIENTIFIC_FROM = 10**18


def numero(value: float | int | None, decimals: int | None = None) -> str:
    """1500000 → 1.500.000; 2.5 → 2,5; with ``decimals``, exactly that many.

    Any number is written, however large or small: 1e28 → 1E28, 1,5e308 → 1,5E308 (at most
    four significant digits); a fraction too small to show is 0, never -0."""
    if value is None or isinstance(value, bool):
        return DASH
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if decimals is None and value.is_integer() and abs(value) < 2**53:
            value = int(value)
    if abs(value) >= SCIENTIFIC_FROM:
        return format_scientific(value, "#.###E0", locale=LOCALE)
    if decimals is None:
        text = format_decimal(value, locale=LOCALE)
    else:
        pattern = "#,##0." + "0" * decimals if decimals else "#,##0"
        text = format_decimal(value, format=pattern, locale=LOCALE)
    return text[1:] if text.startswith("-") and not text.strip("-0,.") else text


def puntaje(score: float | None) -> str:
    """A snapshot score (0–100, one decimal) as a percentage: 72.5 → «72,5 %»."""
    return DASH if score is None else f"{numero(score, 1)}\u00a0%"


def umbral(fraction: float) -> str:
    """A threshold (0–1) as a short percentage: 0.8 → «80 %», 0.675 → «67,5 %»."""
    return f"{numero(round(fraction * 100, 1))}\u00a0%"


def porcentaje(value: float | None) -> str:
    """A fraction (0–1) as a whole percentage: 0.8 → «80 %» (a coverage, a share of a round)."""
    return DASH if value is None else f"{numero(round(value * 100), 0)}\u00a0%"


cobertura = porcentaje


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


#: The unit of a computed share (a part of a whole, from 0 to 1, e.g. women among the members):
#: written as a percentage, 0.03 → «3 %», wherever the value is shown.
SHARE_UNIT = "proporción"


def proporcion(value: float) -> str:
    """A share (0–1) as a percentage with at most one decimal: 0.03 → «3 %», 0.675 → «67,5 %»."""
    return f"{numero(round(value * 100, 1))}\u00a0%"


def is_share(question: scoring.Question) -> bool:
    return question.type == "computed" and (question.unit or "").strip().lower() == SHARE_UNIT


def is_year(question: scoring.Question) -> bool:
    """A whole-number question whose unit is a year («año»): a calendar year, not a quantity."""
    return question.integer and (question.unit or "").strip().lower() == "año"


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
        return separator.join(option.label if (option := question.option(str(v))) else str(v) for v in value)
    if question.type in ("number", "computed") and isinstance(value, (int, float)) and not isinstance(value, bool):
        if is_year(question):
            return str(int(value))  # a year is written 1961, never «1.961 año»
        if is_share(question) and math.isfinite(value):
            return proporcion(value)
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
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:.-") + "…"
