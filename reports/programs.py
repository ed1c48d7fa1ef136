"""Public support programmes that fit a red or yellow subcategory (``data/programas.yaml``).

A subcategory's need comes from its own id, else its dimension's id, else the general
fallback, so every red or yellow subcategory of any questionnaire gets a suggestion. A need
is a list of topics, and may exclude topics (no programme for individual women
entrepreneurs where a cooperative's board lacks women) or kinds of support (no subsidy
where the finding is dependence on subsidies). Only programmes for the organisation's type
are suggested: a pre-cooperative group gets those marked P, a constituted organisation those
marked A; programmes whose audience the source does not give are suggested to both, after
the others. Programmes of an agency the organisation already works with (its answer to the
questionnaire's «programmes already used» question) are left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

DATA_FILE = Path(__file__).resolve().parent / "data" / "programas.yaml"
PRE_COOPERATIVE, ASSOCIATIVE = "P", "A"
AUDIENCES = frozenset({"I", "P", "A"})
"""I individual, P pre-associative (pre-cooperative) group, A constituted associative organisation."""
USED_PROGRAMMES_QUESTION = "programas_usados"
"""The questionnaire question (2027.1, multi, unscored) whose values are agency slugs."""
_YEAR = re.compile(r"\b(19|20)\d\d\b")
_SLUG = re.compile(r"^[a-z][a-z0-9_]*$")
_NEED_KEYS = frozenset({"temas", "excluir_temas", "excluir_apoyo"})


@dataclass(frozen=True)
class Programme:
    id: str
    agency: str
    """As the source writes it, e.g. «CORFO - Subsecretaría de Agricultura»."""
    agency_id: str
    """Agency slug, a value of the questionnaire's «programmes already used» question."""
    name: str
    audience: tuple[str, ...] | None
    """Codes I, P, A; None when the source does not say."""
    support: tuple[str, ...]
    """Kinds of support (keys of ``apoyos``), e.g. subsidio, credito, asesoria."""
    description: str
    topics: tuple[str, ...]
    source: str
    """The document it comes from, with its year."""


@dataclass(frozen=True)
class Need:
    """What fits a red or yellow result: topics, most important first, and what never does."""

    topics: tuple[str, ...]
    exclude_topics: frozenset[str] = frozenset()
    exclude_support: frozenset[str] = frozenset()

    def admits(self, programme: Programme) -> bool:
        return (
            any(t in self.topics for t in programme.topics)
            and not self.exclude_topics.intersection(programme.topics)
            and not self.exclude_support.intersection(programme.support)
        )


@dataclass(frozen=True)
class Catalogue:
    programmes: tuple[Programme, ...]
    topics: dict[str, str]
    agencies: dict[str, str]
    """Agency slug -> name as the report says it."""
    support_kinds: dict[str, str]
    by_subcategory: dict[str, Need]
    by_dimension: dict[str, Need]
    general: Need

    def need_for(self, subcategory_id: str, dimension_id: str) -> Need:
        return self.by_subcategory.get(subcategory_id) or self.by_dimension.get(dimension_id) or self.general

    def topics_for(self, subcategory_id: str, dimension_id: str) -> tuple[str, ...]:
        return self.need_for(subcategory_id, dimension_id).topics

    def suggest(
        self,
        subcategory_id: str,
        dimension_id: str,
        *,
        pre_cooperative: bool,
        limit: int = 3,
        already_used: Iterable[str] = (),
    ) -> list[Programme]:
        """The programmes for a subcategory, best first: those on its first topic, then the
        next topic…; within a topic, those for whom the programme is meant before those whose
        audience is unknown, then file order. ``already_used``: agency slugs whose programmes
        the organisation already uses (values that are no agency, e.g. «ninguno», are
        ignored); their programmes are left out, even if nothing is left."""
        code = PRE_COOPERATIVE if pre_cooperative else ASSOCIATIVE
        need = self.need_for(subcategory_id, dimension_id)
        topics = need.topics
        used = frozenset(already_used)

        def rank(programme: Programme) -> tuple[int, int, int]:
            topic = min(topics.index(t) for t in programme.topics if t in topics)
            return (topic, programme.topics.index(topics[topic]), programme.audience is None)

        fitting = [p for p in self.programmes if _serves(p, code) and need.admits(p) and p.agency_id not in used]
        return sorted(fitting, key=rank)[:limit]

    def agency_names(self, slugs: Iterable[str]) -> list[str]:
        """The names of the known agencies among ``slugs``, in the file's order."""
        wanted = set(slugs)
        return [name for slug, name in self.agencies.items() if slug in wanted]

    def sources(self, programmes: Iterable[Programme]) -> list[str]:
        """The distinct sources of ``programmes``, in order of first appearance."""
        return list(dict.fromkeys(p.source for p in programmes))


def _serves(programme: Programme, code: str) -> bool:
    return programme.audience is None or code in programme.audience


def agencies_in_use(answers: dict[str, Any] | None) -> frozenset[str]:
    """The agency slugs an organisation says it already works with: the answer to
    :data:`USED_PROGRAMMES_QUESTION` (a list; a space-separated string as some imports give
    it is accepted too). Anything else (no answer, «no sabe», «no aplica») gives nothing."""
    value = (answers or {}).get(USED_PROGRAMMES_QUESTION)
    if isinstance(value, str) and value not in ("ns", "na"):
        value = value.split()
    if not isinstance(value, list | tuple | set | frozenset):
        return frozenset()
    return frozenset(str(v) for v in value)


def _fail(message: str) -> ValueError:
    return ValueError(f"{DATA_FILE.name}: {message}")


def _keys(value: object, where: str, known: dict[str, str], what: str, *, allow_empty: bool = False) -> tuple[str, ...]:
    if not isinstance(value, list) or (not value and not allow_empty):
        raise _fail(f"{where} needs a non-empty list of {what}")
    unknown = [t for t in value if t not in known]
    if unknown:
        raise _fail(f"{where} names unknown {what} {unknown}")
    return tuple(value)


def _need(value: object, where: str, topics: dict[str, str], kinds: dict[str, str]) -> Need:
    if isinstance(value, list):
        return Need(_keys(value, where, topics, "topics"))
    if not isinstance(value, dict):
        raise _fail(f"{where} needs a list of topics or a mapping with `temas`")
    extra = set(value) - _NEED_KEYS
    if extra:
        raise _fail(f"{where} has unknown keys {sorted(extra)} (allowed: {sorted(_NEED_KEYS)})")
    need = Need(
        topics=_keys(value.get("temas"), where, topics, "topics"),
        exclude_topics=frozenset(
            _keys(value.get("excluir_temas", []), f"{where} excluir_temas", topics, "topics", allow_empty=True)
        ),
        exclude_support=frozenset(
            _keys(value.get("excluir_apoyo", []), f"{where} excluir_apoyo", kinds, "kinds of support", allow_empty=True)
        ),
    )
    if need.exclude_topics.intersection(need.topics):
        raise _fail(f"{where} both wants and excludes {sorted(need.exclude_topics.intersection(need.topics))}")
    return need


def _text(item: dict, key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _fail(f"{where} needs `{key}` (a non-empty text)")
    return value.strip()


def _programme(item: object, topics: dict[str, str], agencies: dict[str, str], kinds: dict[str, str]) -> Programme:
    if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not _SLUG.match(item["id"]):
        raise _fail(f"every programme needs an `id` slug (lowercase letters, digits, _): {item!r:.80}")
    where = f"programme {item['id']}"
    source = item.get("fuente")
    if not isinstance(source, str) or not source.strip():
        raise _fail(f"{where} has no source: give `fuente`, the document it comes from and its year")
    if not _YEAR.search(source):
        raise _fail(f"{where}: its source «{source}» gives no year")
    agency_id = item.get("agencia_id")
    if agency_id not in agencies:
        raise _fail(f"{where} needs `agencia_id`, one of {sorted(agencies)} (got {agency_id!r})")
    audience = item.get("atiende")
    if audience is not None and (not isinstance(audience, list) or not audience or set(audience) - AUDIENCES):
        raise _fail(f"{where} has an unknown audience {audience}")
    return Programme(
        id=item["id"],
        agency=_text(item, "agencia", where),
        agency_id=agency_id,
        name=_text(item, "nombre", where),
        audience=tuple(audience) if audience is not None else None,
        support=_keys(item.get("apoyo"), f"{where} apoyo", kinds, "kinds of support"),
        description=_text(item, "descripcion", where),
        topics=_keys(item.get("temas"), where, topics, "topics"),
        source=source.strip(),
    )


def parse_catalogue(data: dict) -> Catalogue:
    topics = {str(k): str(v) for k, v in (data.get("temas") or {}).items()}
    agencies = {str(k): str(v) for k, v in (data.get("agencias") or {}).items()}
    kinds = {str(k): str(v) for k, v in (data.get("apoyos") or {}).items()}
    bad = [k for k in agencies if not _SLUG.match(k)]
    if bad:
        raise _fail(f"agency slugs must be lowercase letters, digits and _: {bad}")
    programmes = tuple(_programme(item, topics, agencies, kinds) for item in data.get("programas") or [])
    seen: set[str] = set()
    for programme in programmes:
        if programme.id in seen:
            raise _fail(f"programme id {programme.id} appears twice")
        seen.add(programme.id)
    catalogue = Catalogue(
        programmes=programmes,
        topics=topics,
        agencies=agencies,
        support_kinds=kinds,
        by_subcategory={
            k: _need(v, f"subcategory {k}", topics, kinds) for k, v in (data.get("subcategorias") or {}).items()
        },
        by_dimension={k: _need(v, f"dimension {k}", topics, kinds) for k, v in (data.get("dimensiones") or {}).items()},
        general=_need(data.get("general"), "general", topics, kinds),
    )
    # Every need must give each type of organisation at least one programme, exclusions applied.
    needs = {
        **{f"subcategory {k}": v for k, v in catalogue.by_subcategory.items()},
        **{f"dimension {k}": v for k, v in catalogue.by_dimension.items()},
        "general": catalogue.general,
    }
    for where, need in needs.items():
        for code in (PRE_COOPERATIVE, ASSOCIATIVE):
            if not any(need.admits(p) and _serves(p, code) for p in programmes):
                raise _fail(f"{where} has no programme for {code}")
    return catalogue


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    with DATA_FILE.open(encoding="utf-8") as handle:
        return parse_catalogue(yaml.safe_load(handle))
