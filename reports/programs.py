"""Public support programmes that fit a red or yellow subcategory (``data/programas.yaml``).

A subcategory's topics come from its own id, else its dimension's id, else the general
fallback, so every red or yellow subcategory of any questionnaire gets a suggestion. Only
programmes for the organisation's type are suggested: a pre-cooperative group gets those
marked P, a constituted organisation those marked A; programmes whose audience the source
does not give are suggested to both, after the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

DATA_FILE = Path(__file__).resolve().parent / "data" / "programas.yaml"
PRE_COOPERATIVE, ASSOCIATIVE = "P", "A"
AUDIENCES = frozenset({"I", "P", "A"})
"""I individual, P pre-associative (pre-cooperative) group, A constituted associative organisation."""


@dataclass(frozen=True)
class Programme:
    id: str
    agency: str
    name: str
    audience: tuple[str, ...] | None
    """Codes I, P, A; None when the source does not say."""
    description: str
    topics: tuple[str, ...]


@dataclass(frozen=True)
class Catalogue:
    programmes: tuple[Programme, ...]
    topics: dict[str, str]
    by_subcategory: dict[str, tuple[str, ...]]
    by_dimension: dict[str, tuple[str, ...]]
    general: tuple[str, ...]

    def topics_for(self, subcategory_id: str, dimension_id: str) -> tuple[str, ...]:
        return (
            self.by_subcategory.get(subcategory_id)
            or self.by_dimension.get(dimension_id)
            or self.general
        )

    def suggest(self, subcategory_id: str, dimension_id: str, *, pre_cooperative: bool, limit: int = 3) -> list[Programme]:
        """The programmes for a subcategory, best first: those on its first topic, then the
        next topic…; within a topic, those for whom the programme is meant before those whose
        audience is unknown, then file order."""
        code = PRE_COOPERATIVE if pre_cooperative else ASSOCIATIVE
        topics = self.topics_for(subcategory_id, dimension_id)

        def rank(programme: Programme) -> tuple[int, int, int]:
            topic = min(topics.index(t) for t in programme.topics if t in topics)
            return (topic, programme.topics.index(topics[topic]), programme.audience is None)

        fitting = [
            p for p in self.programmes
            if (p.audience is None or code in p.audience) and any(t in topics for t in p.topics)
        ]
        return sorted(fitting, key=rank)[:limit]


def _topics(value: object, where: str, known: dict[str, str]) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"{DATA_FILE.name}: {where} needs a non-empty list of topics")
    unknown = [t for t in value if t not in known]
    if unknown:
        raise ValueError(f"{DATA_FILE.name}: {where} names unknown topics {unknown}")
    return tuple(value)


def parse_catalogue(data: dict) -> Catalogue:
    topics = {str(k): str(v) for k, v in data["temas"].items()}
    programmes = []
    for item in data["programas"]:
        audience = item.get("atiende")
        if audience is not None and (not audience or set(audience) - AUDIENCES):
            raise ValueError(f"{DATA_FILE.name}: programme {item['id']} has an unknown audience {audience}")
        programmes.append(Programme(
            id=item["id"], agency=item["agencia"], name=item["nombre"],
            audience=tuple(audience) if audience is not None else None,
            description=item["descripcion"], topics=_topics(item.get("temas"), f"programme {item['id']}", topics),
        ))
    catalogue = Catalogue(
        programmes=tuple(programmes),
        topics=topics,
        by_subcategory={k: _topics(v, f"subcategory {k}", topics) for k, v in data["subcategorias"].items()},
        by_dimension={k: _topics(v, f"dimension {k}", topics) for k, v in data["dimensiones"].items()},
        general=_topics(data["general"], "general", topics),
    )
    # Every mapping must give each type of organisation at least one programme.
    mappings = {**{f"subcategory {k}": v for k, v in catalogue.by_subcategory.items()},
                **{f"dimension {k}": v for k, v in catalogue.by_dimension.items()}, "general": catalogue.general}
    for where, wanted in mappings.items():
        for code in (PRE_COOPERATIVE, ASSOCIATIVE):
            if not any(set(wanted) & set(p.topics) and (p.audience is None or code in p.audience) for p in programmes):
                raise ValueError(f"{DATA_FILE.name}: {where} has no programme for {code}")
    return catalogue


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    with DATA_FILE.open(encoding="utf-8") as handle:
        return parse_catalogue(yaml.safe_load(handle))
