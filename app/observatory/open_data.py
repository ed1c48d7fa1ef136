"""The Observatorio's open data: a round's document as JSON, and as three CSV tables.

They are the same figures as the pages (both read the stored document), one row per published
row and level. CSV: UTF-8 with a byte-order mark (so that a spreadsheet reads the accents),
comma-separated, shares as decimals with a dot (0.625), for programs; the codebook
(``CODEBOOK``, also ``/observatorio/datos/diccionario.csv``) says what each column is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import orjson

from app.downloads import cell_text

CSV_TYPE = "text/csv; charset=utf-8"
LICENCE = (
    "Cifras agregadas del Observatorio de Cooperativas Agrícolas y Campesinas (coopdiag). "
    "Licencia Creative Commons Atribución 4.0 Internacional (CC BY 4.0): puede usarlas y "
    "redistribuirlas citando la fuente."
)
STATE_COLUMNS = (
    ("green", "verde"),
    ("yellow", "amarillo"),
    ("red", "rojo"),
    ("insufficient_data", "datos_insuficientes"),
    ("not_applicable", "no_aplica"),
)
MOVE_COLUMNS = (("up", "mejoro"), ("same", "se_mantuvo"), ("down", "empeoro"), ("not_comparable", "sin_comparacion"))

_ROUND = [
    ("ronda_id", "Número de la ronda (el mismo de su dirección estable).", "entero"),
    ("ronda", "Nombre de la ronda de diagnóstico.", "texto"),
]
_ROW = [
    ("fila_clave", "Clave de la fila: código de región, macrozona, rubro, tipo, tramo, «total» u «otras…».", "texto"),
    ("fila", "Nombre de la fila tal como se publica.", "texto"),
    (
        "fila_agrupa",
        "Si la fila agrupa grupos de menos de 5 cooperativas: sus nombres, separados por «|»; vacío si no.",
        "texto",
    ),
    ("cooperativas", "Cooperativas con diagnóstico validado en la fila (5 o más).", "entero"),
]
#: (file, columns: (name, description, type)); the codebook of the open data.
CODEBOOK: tuple[tuple[str, list[tuple[str, str, str]]], ...] = (
    (
        "semaforos",
        [
            *_ROUND,
            ("vista", "Tabla: pais, region, macrozone, sector, legal_type o size.", "texto"),
            *_ROW,
            ("nivel_clave", "«general» o «d:» seguido del identificador de la dimensión.", "texto"),
            ("nivel", "Resultado general o nombre de la dimensión.", "texto"),
            *[
                (name, f"Cooperativas de la fila con resultado «{name.replace('_', ' ')}».", "entero")
                for _, name in STATE_COLUMNS
            ],
            *[
                (f"proporcion_{name}", f"Cooperativas «{name}» sobre las de la fila (0 a 1).", "decimal")
                for _, name in STATE_COLUMNS[:3]
            ],
        ],
    ),
    (
        "indicadores",
        [
            *_ROUND,
            ("tema", "mujeres (participación de las mujeres) o generaciones (recambio generacional).", "texto"),
            ("indicador_clave", "Identificador del indicador.", "texto"),
            ("indicador", "Qué mide el indicador.", "texto"),
            *_ROW,
            ("tramo_clave", "Identificador del tramo (p. ej. 25_49) o si/no.", "texto"),
            ("tramo", "Tramo en palabras (p. ej. «De 25 % a 49 %»).", "texto"),
            ("cooperativas_en_tramo", "Cooperativas de la fila en el tramo.", "entero"),
            ("proporcion", "Cooperativas en el tramo sobre las de la fila (0 a 1).", "decimal"),
        ],
    ),
    (
        "cambio",
        [
            *_ROUND,
            ("ronda_anterior_id", "Ronda publicada anterior con la que se compara.", "entero"),
            ("ronda_anterior", "Nombre de la ronda anterior.", "texto"),
            *_ROW,
            ("nivel_clave", "«general» o «d:» seguido del identificador de la dimensión.", "texto"),
            ("nivel", "Resultado general o nombre de la dimensión.", "texto"),
            ("mejoro", "Cooperativas cuya luz subió (rojo → amarillo → verde).", "entero"),
            ("se_mantuvo", "Cooperativas con la misma luz en ambas rondas.", "entero"),
            ("empeoro", "Cooperativas cuya luz bajó.", "entero"),
            (
                "sin_comparacion",
                "Cooperativas sin luz en alguna de las dos rondas (datos insuficientes o no aplica).",
                "entero",
            ),
        ],
    ),
)
THEME_KEYS = {"women": "mujeres", "generations": "generaciones"}


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell_text(value) if isinstance(value, str) else value for value in row])
    return buffer.getvalue().encode("utf-8")


def _names(file: str) -> list[str]:
    return [name for name, _, _ in dict(CODEBOOK)[file]]


def _round_cells(document: Mapping[str, Any]) -> list[Any]:
    round_ = document.get("round") or {}
    return [round_.get("id"), round_.get("name", "")]


def _row_cells(row: Mapping[str, Any]) -> list[Any]:
    return [row["key"], row["label"], "|".join(row.get("merged") or ()), row["cooperatives"]]


def _share(part: int, whole: int) -> float | str:
    return round(part / whole, 4) if whole else ""


def lights_csv(document: Mapping[str, Any]) -> bytes:
    titles = {level["key"]: level["title"] for level in document.get("levels") or []}
    tables = [("pais", [document["total"]] if document.get("total") else [])]
    tables += [(view["key"], view["rows"]) for view in document.get("views") or []]

    def rows() -> Iterable[list[Any]]:
        for view, view_rows in tables:
            for row in view_rows:
                for key, title in titles.items():
                    counts = row["levels"].get(key) or {}
                    numbers = [counts.get(state, 0) for state, _ in STATE_COLUMNS]
                    shares = [_share(counts.get(state, 0), row["cooperatives"]) for state, _ in STATE_COLUMNS[:3]]
                    yield [*_round_cells(document), view, *_row_cells(row), key, title, *numbers, *shares]

    return _csv(_names("semaforos"), rows())


def indicators_csv(document: Mapping[str, Any]) -> bytes:
    def rows() -> Iterable[list[Any]]:
        for theme in document.get("indicators") or []:
            for table in theme["indicators"]:
                for row in table["rows"]:
                    for band in table["bands"]:
                        count = row["bands"].get(band["key"], 0)
                        yield [
                            *_round_cells(document),
                            THEME_KEYS.get(theme["key"], theme["key"]),
                            table["key"],
                            table["label"],
                            *_row_cells(row),
                            band["key"],
                            band["label"],
                            count,
                            _share(count, row["cooperatives"]),
                        ]

    return _csv(_names("indicadores"), rows())


def change_csv(document: Mapping[str, Any]) -> bytes:
    change = document.get("change") or {}
    earlier = change.get("from") or {}
    titles = {level["key"]: level["title"] for level in document.get("levels") or []}

    def rows() -> Iterable[list[Any]]:
        for row in change.get("rows") or []:
            for key in change.get("levels") or []:
                moves = row["levels"].get(key) or {}
                yield [
                    *_round_cells(document),
                    earlier.get("id"),
                    earlier.get("name", ""),
                    *_row_cells(row),
                    key,
                    titles.get(key, key),
                    *[moves.get(move, 0) for move, _ in MOVE_COLUMNS],
                ]

    return _csv(_names("cambio"), rows())


CSV_TABLES: dict[str, Callable[[Mapping[str, Any]], bytes]] = {
    "semaforos": lights_csv,
    "indicadores": indicators_csv,
    "cambio": change_csv,
}


def json_document(document: Mapping[str, Any]) -> bytes:
    """The stored document with the licence and the codebook's pointer."""
    return orjson.dumps(
        {
            "licencia": LICENCE,
            "diccionario": "/observatorio/datos/diccionario.csv",
            **document,
        },
        option=orjson.OPT_INDENT_2,
    )


def codebook_csv() -> bytes:
    return _csv(
        ["archivo", "columna", "descripcion", "tipo"],
        ([file, name, description, kind] for file, columns in CODEBOOK for name, description, kind in columns),
    )


__all__ = ["CODEBOOK", "CSV_TABLES", "CSV_TYPE", "LICENCE", "codebook_csv", "json_document"]
