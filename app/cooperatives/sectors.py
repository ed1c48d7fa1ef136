"""The fixed vocabulary of cooperative sectors (main products), with Spanish labels.

Codes are stable ASCII identifiers stored in ``Cooperative.sectors``; labels are what
people read. Add a sector by appending here (never rename a code already in use).
"""

from __future__ import annotations

SECTORS: dict[str, str] = {
    "fruticultura": "Fruticultura",
    "berries": "Berries",
    "frutos_secos": "Frutos secos",
    "hortalizas": "Hortalizas",
    "cereales": "Cereales y legumbres",
    "vitivinicola": "Vitivinícola",
    "lacteos": "Lácteos",
    "ganaderia": "Ganadería",
    "apicola": "Apícola",
    "forestal": "Forestal",
    "flores": "Flores",
    "agua_riego": "Agua y riego",
    "servicios": "Servicios agrícolas",
    "otro": "Otro",
}


def sector_label(code: str) -> str:
    return SECTORS.get(code, code)
