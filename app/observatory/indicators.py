"""Women's participation and generational renewal: the Observatorio's indicators.

Each indicator is read from a diagnosis's answers (and its computed questions) by the
questions it names; the first alternative whose questions the round's questionnaire has is
used, so one definition serves every questionnaire version (2026.1 counts «consejeras»,
2027.1 «mujeres_consejo»). A question answered «No sé» / «No aplica», not relevant or
missing gives no value: that cooperative does not count for the indicator.

Shares are published only as bands (how many cooperatives have under 10 % of young members,
10–24 %, …): a median of five cooperatives would be one cooperative's own figure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import scoring


@dataclass(frozen=True)
class Share:
    """A part over a whole: the part's question and the questions the whole adds up."""

    part: str
    whole: tuple[str, ...]


@dataclass(frozen=True)
class Indicator:
    key: str
    label: str
    theme: str  # "women" | "generations"
    kind: str  # "share" | "yes_no"
    sources: tuple[Share | str, ...]  # alternatives; a str is a yes/no question


INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        "socias",
        "Mujeres entre las personas socias",
        "women",
        "share",
        (Share("socias_mujeres", ("socios_total",)), Share("socios_mujeres", ("socios_mujeres", "socios_hombres"))),
    ),
    Indicator(
        "consejeras",
        "Mujeres en el consejo de administración o la directiva",
        "women",
        "share",
        (Share("mujeres_consejo", ("integrantes_consejo",)), Share("consejeras", ("integrantes_consejo",))),
    ),
    Indicator("presidenta", "La presidencia la ejerce una mujer", "women", "yes_no", ("presidencia_mujer",)),
    Indicator(
        "jovenes",
        "Personas socias menores de 35 años",
        "generations",
        "share",
        (
            Share("socios_menores_35", ("socios_total",)),
            Share("socios_menores_35", ("socios_mujeres", "socios_hombres")),
        ),
    ),
    Indicator(
        "socios_nuevos",
        "Personas socias que ingresaron en los últimos 3 años",
        "generations",
        "share",
        (Share("socios_nuevos_3_anios", ("socios_total",)),),
    ),
    Indicator(
        "jovenes_en_cargos",
        "Hay al menos una persona menor de 35 años en un cargo",
        "generations",
        "yes_no",
        ("jovenes_en_cargos", "jovenes_en_organos"),
    ),
)

THEMES = {
    "women": "Participación de las mujeres",
    "generations": "Recambio generacional",
}


def _inside(low: float, high: float | None) -> Callable[[Any], bool]:
    return lambda value: value >= low and (high is None or value < high)


#: Bands of a share (0–1), (key, label, test); and of a yes/no answer.
SHARE_BANDS: tuple[tuple[str, str, Callable[[Any], bool]], ...] = (
    ("menos_10", "Menos de 10 %", _inside(0.0, 0.10)),
    ("10_24", "De 10 % a 24 %", _inside(0.10, 0.25)),
    ("25_49", "De 25 % a 49 %", _inside(0.25, 0.50)),
    ("50_mas", "50 % o más", _inside(0.50, None)),
)
YES_NO_BANDS: tuple[tuple[str, str, Callable[[Any], bool]], ...] = (
    ("si", "Sí", lambda value: value is True),
    ("no", "No", lambda value: value is False),
)


def bands_of(indicator: Indicator) -> tuple[tuple[str, str, Callable[[Any], bool]], ...]:
    return SHARE_BANDS if indicator.kind == "share" else YES_NO_BANDS


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None  # "ns", "na", text: no value
    return float(value)


def _source(indicator: Indicator, questions: set[str]) -> Share | str | None:
    for source in indicator.sources:
        needed = {source} if isinstance(source, str) else {source.part, *source.whole}
        if needed <= questions:
            return source
    return None


def indicator_values(
    questionnaire: scoring.Questionnaire, answers: Mapping[str, Any], indicators: Sequence[Indicator] = INDICATORS
) -> dict[str, Any]:
    """Each indicator's value for one diagnosis: a share in [0, 1], True/False, or None."""
    questions = {question.id for question in questionnaire.questions}
    relevant = scoring.relevant_questions(questionnaire, answers)
    values = {key: value for key, value in answers.items() if relevant.get(key)}
    out: dict[str, Any] = {}
    for indicator in indicators:
        source = _source(indicator, questions)
        value: Any = None
        if isinstance(source, str):
            answer = values.get(source)
            value = answer if isinstance(answer, bool) else None
        elif source is not None:
            part = _number(values.get(source.part))
            wholes = [_number(values.get(question)) for question in source.whole]
            if part is not None and all(whole is not None for whole in wholes):
                whole = sum(w for w in wholes if w is not None)
                # A part larger than its whole is an inconsistent answer: no value.
                value = part / whole if whole > 0 and 0 <= part <= whole else None
        out[indicator.key] = value
    return out


__all__ = ["INDICATORS", "SHARE_BANDS", "THEMES", "YES_NO_BANDS", "Indicator", "Share", "bands_of", "indicator_values"]
