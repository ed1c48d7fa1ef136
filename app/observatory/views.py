"""The public Observatorio: pages and open data under ``/observatorio``, no login.

Fast by construction: a request never touches the responses. Each web process keeps the
published rounds' stored documents (``Catalog``, read again at most every ``CATALOG_TTL``
seconds, in a worker thread) and the pages it rendered from them, keyed by the documents'
ETags; a page is rendered once per change of its round, then served from memory. Answers
carry an ``ETag`` (a conditional request gets 304) and ``Cache-Control: public`` so that a CDN
can keep them; nothing in them depends on who asks (no user, no cookie, no CSRF token).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from app.errors import NotFound
from app.observatory import open_data, pages, service
from app.observatory.disclosure import MIN_COOPERATIVES
from app.observatory.methodology import METHODOLOGY, methodology_html
from app.observatory.service import PublishedRound
from app.web import charts
from app.web.render import templates

router = APIRouter(prefix="/observatorio", include_in_schema=False)

#: How stale a process's view of what is published may be (a withdrawn round disappears
#: from every process within this many seconds; a CDN keeps pages for ``MAX_AGE``).
CATALOG_TTL = 2.0
MAX_AGE = 300
PAGE_CACHE_SIZE = 512
_TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "observatory"


def _build_tag() -> str:
    """Changes when the pages' templates or code change, so a new release gets new ETags."""
    digest = hashlib.sha256()
    for path in sorted(
        [*_TEMPLATES.glob("*.html"), *Path(__file__).parent.glob("*.py"), Path(charts.__file__), METHODOLOGY]
    ):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


BUILD = _build_tag()


@dataclass(frozen=True)
class Catalog:
    rounds: tuple[PublishedRound, ...]  # newest first
    tag: str  # names this exact set of documents
    documents: dict[int, dict[str, Any]] = field(default_factory=dict)

    def round(self, round_id: int) -> tuple[PublishedRound, dict[str, Any]]:
        for published in self.rounds:
            if published.round_id == round_id:
                return published, self.documents.get(round_id, {})
        raise NotFound("Esa ronda no está publicada en el Observatorio.")


class _State:
    """One per process: the catalog, when it was read, and the rendered answers."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reading = threading.Lock()  # held by the one request reading the catalog
        self.catalog: Catalog | None = None
        self.read_at = 0.0
        self.documents: dict[str, dict[str, Any]] = {}  # by ETag
        self.answers: OrderedDict[str, tuple[bytes, str]] = OrderedDict()

    def reset(self) -> None:
        with self.lock:
            self.catalog, self.read_at = None, 0.0
            self.documents.clear()
            self.answers.clear()


_state = _State()
reset_cache = _state.reset  # tests and the CLI start from what the database says


def _read_catalog(request: Request) -> Catalog:
    with request.app.state.sessionmaker() as session:
        rounds = tuple(service.published_rounds(session))
    documents: dict[int, dict[str, Any]] = {}
    known: dict[str, dict[str, Any]] = {}
    for published in rounds:
        if published.etag is None:
            continue
        document = _state.documents.get(published.etag) or published.document()
        known[published.etag] = document
        documents[published.round_id] = document
    tag = hashlib.sha256(
        "|".join(f"{r.round_id}:{r.etag}:{r.name}" for r in rounds).encode() + BUILD.encode()
    ).hexdigest()[:24]
    with _state.lock:
        _state.documents = known
        _state.catalog = Catalog(rounds, tag, documents)
        _state.read_at = time.monotonic()
    return _state.catalog


async def _catalog(request: Request) -> Catalog:
    """The catalog, read again at most every CATALOG_TTL seconds by one request at a time:
    while one reads it, the others are answered from the previous one (no stampede of
    requests each opening a connection to read the same rows)."""
    catalog = _state.catalog
    if catalog is not None and (time.monotonic() - _state.read_at < CATALOG_TTL or _state.reading.locked()):
        return catalog
    return await run_in_threadpool(_read_catalog_once, request)


def _read_catalog_once(request: Request) -> Catalog:
    with _state.reading:
        catalog = _state.catalog
        if catalog is not None and time.monotonic() - _state.read_at < CATALOG_TTL:
            return catalog  # read by the request that held the lock before this one
        return _read_catalog(request)


def _headers(etag: str, media_type: str) -> dict[str, str]:
    return {
        "ETag": etag,
        "Cache-Control": f"public, max-age={MAX_AGE}",
        "Content-Type": media_type,
    }


async def _answer(
    request: Request,
    key: str,
    build: Callable[[Catalog], tuple[bytes, str]],
) -> Response:
    """The answer for ``key`` (path and choices) under the current catalog: from memory, or
    built once; 304 when the client already has it."""
    catalog = await _catalog(request)
    etag = '"' + hashlib.sha256(f"{catalog.tag}|{key}".encode()).hexdigest()[:32] + '"'
    cached = _state.answers.get(etag)
    if cached is None:
        cached = build(catalog)  # may raise NotFound: never cached
        with _state.lock:
            _state.answers[etag] = cached
            while len(_state.answers) > PAGE_CACHE_SIZE:
                _state.answers.popitem(last=False)
    body, media_type = cached
    if etag in {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": f"public, max-age={MAX_AGE}"})
    return Response(content=body, headers=_headers(etag, media_type))


def _page(name: str, context: dict[str, Any]) -> tuple[bytes, str]:
    data = {
        "user": None,
        "csrf_token": None,
        "flash": None,
        "pattern_defs": charts.pattern_defs(),
        "swatch": charts.swatch,
    }
    return templates.get_template(f"observatory/{name}").render(data | context).encode(), "text/html; charset=utf-8"


# --------------------------------------------------------------------------- pages


@router.get("", response_class=HTMLResponse)
async def index(request: Request) -> Response:
    def build(catalog: Catalog) -> tuple[bytes, str]:
        ready = [r for r in catalog.rounds if r.round_id in catalog.documents]
        latest = catalog.documents[ready[0].round_id] if ready else None
        return _page(
            "index.html",
            {
                "rounds": [(r, pages.round_page(catalog.documents[r.round_id])) for r in ready],
                "preparing": [r for r in catalog.rounds if r.round_id not in catalog.documents],
                "latest": pages.round_page(latest) if latest else None,
                "latest_chart": pages.national_chart(latest) if latest else None,
            },
        )

    return await _answer(request, "index", build)


def _level_param(request: Request) -> str:
    value = request.query_params.get("nivel", "general")
    return value if len(value) <= 100 and value.replace("_", "").isalnum() and value.isascii() else "general"


def _round_build(
    round_id: int, template: str, context_of: Callable[[dict[str, Any]], dict[str, Any]]
) -> Callable[[Catalog], tuple[bytes, str]]:
    """A page of one published round; «se están preparando» while its figures are not stored."""

    def build(catalog: Catalog) -> tuple[bytes, str]:
        published, document = catalog.round(round_id)
        if not document:
            return _page("preparing.html", {"published": published})
        return _page(template, {"published": published, "views": pages.VIEW_PAGES} | context_of(document))

    return build


@router.get("/rondas/{round_id}", response_class=HTMLResponse)
async def round_overview(request: Request, round_id: int) -> Response:
    level = _level_param(request)

    def context(document: dict[str, Any]) -> dict[str, Any]:
        page = pages.round_page(document, level)
        return {
            "page": page,
            "national_chart": pages.national_chart(document),
            "map": pages.region_map_svg(document, page.level) if page.level else None,
            "regions": pages.view_table(document, "region", page.level.key) if page.level else [],
        }

    return await _answer(request, f"round:{round_id}:{level}", _round_build(round_id, "round.html", context))


@router.get("/rondas/{round_id}/cambio", response_class=HTMLResponse)
async def round_change(request: Request, round_id: int) -> Response:
    def context(document: dict[str, Any]) -> dict[str, Any]:
        return {
            "page": pages.round_page(document),
            "change": document.get("change"),
            "tables": pages.change_tables(document),
            "moves": pages.MOVES,
        }

    return await _answer(request, f"change:{round_id}", _round_build(round_id, "change.html", context))


@router.get("/rondas/{round_id}/mujeres-y-jovenes", response_class=HTMLResponse)
async def round_indicators(request: Request, round_id: int) -> Response:
    def context(document: dict[str, Any]) -> dict[str, Any]:
        return {"page": pages.round_page(document), "themes": pages.indicator_themes(document)}

    return await _answer(request, f"indicators:{round_id}", _round_build(round_id, "indicators.html", context))


@router.get("/rondas/{round_id}/{view_slug}", response_class=HTMLResponse)
async def round_view(request: Request, round_id: int, view_slug: str) -> Response:
    entry = next((v for v in pages.VIEW_PAGES if v[0] == view_slug), None)
    if entry is None:
        raise NotFound("Esa vista del Observatorio no existe.")
    slug, view_key, heading = entry
    level = _level_param(request)

    def context(document: dict[str, Any]) -> dict[str, Any]:
        page = pages.round_page(document, level)
        rows = pages.view_table(document, view_key, page.level.key) if page.level else []
        return {
            "page": page,
            "slug": slug,
            "heading": heading,
            "note": pages.VIEW_NOTES.get(view_key),
            "rows": rows,
            "chart": pages.rows_chart("obs-vista", f"{heading}: {page.level.title}", rows) if page.level else None,
        }

    return await _answer(request, f"view:{round_id}:{slug}:{level}", _round_build(round_id, "view.html", context))


@router.get("/metodo", response_class=HTMLResponse)
async def method(request: Request) -> Response:
    return await _answer(request, "method", lambda catalog: _page("method.html", {"k": MIN_COOPERATIVES}))


@router.get("/metodologia", response_class=HTMLResponse)
async def methodology(request: Request) -> Response:
    return await _answer(
        request, "methodology", lambda catalog: _page("methodology.html", {"document": methodology_html()})
    )


# --------------------------------------------------------------------------- open data


@router.get("/datos", response_class=HTMLResponse)
async def data_index(request: Request) -> Response:
    def build(catalog: Catalog) -> tuple[bytes, str]:
        ready = [r for r in catalog.rounds if r.round_id in catalog.documents]
        return _page("data.html", {"rounds": ready, "codebook": open_data.CODEBOOK, "licence": open_data.LICENCE})

    return await _answer(request, "data", build)


@router.get("/datos/diccionario.csv")
async def codebook_csv(request: Request) -> Response:
    return await _answer(request, "codebook.csv", lambda catalog: (open_data.codebook_csv(), open_data.CSV_TYPE))


@router.get("/datos/ronda-{round_id}.json")
async def round_json(request: Request, round_id: int) -> Response:
    def build(catalog: Catalog) -> tuple[bytes, str]:
        _, document = catalog.round(round_id)
        if not document:
            raise NotFound("Las cifras de esa ronda se están preparando; vuelva en unos minutos.")
        return open_data.json_document(document), "application/json"

    return await _answer(request, f"json:{round_id}", build)


@router.get("/datos/ronda-{round_id}-{table}.csv")
async def round_csv(request: Request, round_id: int, table: str) -> Response:
    writer = open_data.CSV_TABLES.get(table)
    if writer is None:
        raise NotFound("Ese archivo de datos abiertos no existe.")

    def build(catalog: Catalog) -> tuple[bytes, str]:
        _, document = catalog.round(round_id)
        if not document:
            raise NotFound("Las cifras de esa ronda se están preparando; vuelva en unos minutos.")
        return writer(document), open_data.CSV_TYPE

    return await _answer(request, f"csv:{round_id}:{table}", build)


__all__ = ["reset_cache", "router"]
