"""HTML and PDF rendering of a diagnostic report (Jinja2 + WeasyPrint).

Safety: the Jinja2 environment escapes every value (autoescape on for every template),
and WeasyPrint gets a URL fetcher that serves only files packaged under
``reports/static`` and refuses everything else (network, other files, data: URLs), so a
user-entered ``<img src="http://…">`` can neither become an element nor cause a request.

Speed: the environment, the template and the parsed stylesheet are made once per
process; the layout is block-based (no tables) and fonts come from fontconfig by family
name (DejaVu Sans), with no @font-face to fetch.
"""

from __future__ import annotations

import gc
import hashlib
import re
import threading
import xml.etree.ElementTree as ElementTree
from contextlib import contextmanager
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import orjson
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from . import charts, view
from . import formatting as fmt
from .context import MIN_PEERS, ReportContext

#: Bump when the renderer's code changes what a PDF looks like: it is part of cache_key().
RENDERER_VERSION = "2"

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"
BASE_URL = STATIC_DIR.as_uri() + "/"
"""What relative URLs in the template and stylesheet resolve against (the fetcher serves only it)."""
DATA_DIR = PACKAGE_DIR / "data"
TEMPLATE = "report.html"
STYLESHEET = TEMPLATES_DIR / "report.css"
HEADER_NAME_LIMIT = 70

#: Tagged PDF (PDF/UA structure) and metadata. Tagging costs about 10 % more time.
PDF_OPTIONS = {"pdf_tags": True, "pdf_identifier": False, "presentational_hints": False}


class RefusedURL(ValueError):
    """WeasyPrint asked for something the report must not load."""


def _static_path(url: str, root: Path) -> Path:
    """The file under ``root`` that ``url`` names, or RefusedURL."""
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        raise RefusedURL(f"the report loads no external resource: {url[:200]}")
    path = Path(url2pathname(parts.path)).resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_file():
        raise RefusedURL(f"not a packaged report file: {url[:200]}")
    return path


@lru_cache(maxsize=1)
def _fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class PackagedFilesFetcher(URLFetcher):
        """Serves files under ``root`` (``reports/static``); raises for any other URL, so
        nothing is ever requested from the network or read elsewhere on disk."""

        def __init__(self, root: Path = STATIC_DIR):
            super().__init__(allowed_protocols=("file",), allow_redirects=False, fail_on_errors=False)
            self.root = root
            self.refused: list[str] = []

        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            try:
                path = _static_path(url, self.root)
            except RefusedURL:
                self.refused.append(url)
                raise
            return URLFetcherResponse(path.as_uri(), path.read_bytes(), status=200)

    return PackagedFilesFetcher


def url_fetcher(root: Path = STATIC_DIR):
    """A new fetcher (it records the URLs it refused, for tests and logs)."""
    return _fetcher_class()(root)


# --------------------------------------------------------------------------- Jinja2


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,  # every template, whatever its name: user text is always escaped
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        fecha=fmt.fecha,
        numero=fmt.numero,
        puntaje=fmt.puntaje,
        cobertura=fmt.cobertura,
        umbral=fmt.umbral,
        puntos=fmt.puntos,
        rut=fmt.rut,
        luz=fmt.light_word,
        icono=fmt.light_icon,
        mensaje=fmt.light_message,
    )
    return env


def _chart_rows(overall: view.Level, questionnaire) -> list[charts.Bar]:
    base = questionnaire.thresholds
    thresholds = {s.id: s.thresholds for d in questionnaire.dimensions for s in d.subcategories}
    rows = []
    for dimension in overall.children:
        rows.append(charts.Bar(label=f"{dimension.number}. {dimension.title}", score=None, light="", heading=True))
        for sub in dimension.children:
            own = thresholds.get(sub.id, base)
            rows.append(
                charts.Bar(
                    label=f"{sub.number} {sub.title}",
                    score=sub.score if sub.is_lit else None,
                    light=sub.light,
                    green=own.green if own.green != base.green else None,
                    red=own.red if own.red != base.red else None,
                )
            )
    return rows


def page_data(context: ReportContext) -> dict[str, Any]:
    """Everything the template needs, worked out from the context (pure)."""
    questionnaire = context.questionnaire
    beyond = view.beyond_the_lights(context)  # the same as the result pages show
    answers, overall, peers = beyond["answers"], beyond["overall"], beyond["peers"]
    thresholds = questionnaire.thresholds
    for group in peers:
        if group["enough"]:
            group["chart"] = charts.peers(
                [
                    charts.PeerRow(
                        r["title"],
                        r["own"] if r["own_light"] in fmt.LIGHTS else None,
                        r["own_light"],
                        r["median"],
                        r["q1"],
                        r["q3"],
                    )
                    for r in group["rows"]
                    if r["comparable"]
                ]
            )
    cooperative = context.cooperative
    return {
        **beyond,
        "ctx": context,
        "coop": cooperative,
        "diagnosis": context.diagnosis,
        "questionnaire": questionnaire,
        "header_name": fmt.shorten(cooperative.name, HEADER_NAME_LIMIT),
        "header_round": fmt.shorten(context.diagnosis.round_name, 40),
        "status_word": fmt.capitalized(context.diagnosis.status_label),
        "mode_word": fmt.capitalized(context.diagnosis.mode_label),
        "overall": overall,
        "counts": view.counts_sentence(overall),
        "priorities": view.priorities(overall),
        "radar": charts.radar(
            [(d.title, d.score if d.is_lit else None, d.light) for d in overall.children],
            green=thresholds.green,
            red=thresholds.red,
        ),
        "bars": charts.bars(_chart_rows(overall, questionnaire), green=thresholds.green, red=thresholds.red),
        "min_peers": MIN_PEERS,
        "annex": view.annex(questionnaire, answers),
        "profile": view.profile(questionnaire, answers),
        "thresholds": view.thresholds(questionnaire),
        "counts_q": view.questionnaire_counts(questionnaire),
        # The messages say «su organización» to a pre-cooperative group (its answer, as on the pages).
        "precooperative": fmt.is_pre_cooperative(context.answers),
        "ns_note": view.ns_note(context.snapshot),
        "method": view.snapshot_method(context.snapshot),
    }


def render_html(context: ReportContext) -> str:
    """The report as one HTML document (the stylesheet is given to WeasyPrint separately)."""
    return environment().get_template(TEMPLATE).render(page_data(context))


# --------------------------------------------------------------------------- PDF


_per_thread = threading.local()


def _fonts_and_stylesheet():
    """This thread's Pango font map (WeasyPrint's FontConfiguration) and the parsed
    stylesheet. Kept from one report to the next, the font map keeps its loaded fonts and
    glyph metrics (about 20 ms a report, same bytes); one per thread because Pango's font
    map is not meant to be shared between threads."""
    state = getattr(_per_thread, "state", None)
    if state is None:
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        fonts = FontConfiguration()
        stylesheet = CSS(
            string=STYLESHEET.read_text(encoding="utf-8"),
            base_url=BASE_URL,
            url_fetcher=url_fetcher(),
            font_config=fonts,
        )
        state = _per_thread.state = (fonts, stylesheet)
    return state


#: A small page with the report's type faces, rendered once to load them (prepare_worker).
_WARM_UP = (
    '<!DOCTYPE html><html lang="es-CL"><head><meta charset="utf-8"/><title>.</title></head>'
    "<body><p>Ñandú <b>Árbol</b> <i>ñ</i> · → ✓ ● ▲ ■ ◆ «»</p></body></html>"
)


def prepare_worker() -> None:
    """For a process that will render many reports (a round's process pool): import
    WeasyPrint, parse the stylesheet, load the template and the fonts now, then move every
    object alive into the collector's permanent generation, so that the full collections
    that a long run triggers do not walk the modules' objects again and again."""
    environment().get_template(TEMPLATE)
    html_to_pdf(_WARM_UP)
    gc.collect()
    gc.freeze()


_gc_lock = threading.Lock()
_gc_holders = 0
_gc_was_enabled = True


@contextmanager
def _without_gc_pauses():
    """WeasyPrint builds hundreds of thousands of short-lived objects per report; the cyclic
    garbage collector kept walking them mid-layout (about a fifth of the render time). It is
    paused while any render runs in this process and resumed after the last one; memory is
    still freed by reference counting, and the render's reference cycles (tens of thousands
    of style objects, about 30 ms to collect) right after, so that a render's time counts
    the collection it causes."""
    global _gc_holders, _gc_was_enabled
    with _gc_lock:
        if _gc_holders == 0:
            _gc_was_enabled = gc.isenabled()
        _gc_holders += 1
        gc.disable()
    try:
        yield
    finally:
        with _gc_lock:
            _gc_holders -= 1
            if _gc_holders == 0 and _gc_was_enabled:
                gc.enable()
                gc.collect(0)


#: Characters XML 1.0 forbids (C0 controls but tab and newlines, surrogates, U+FFFE/U+FFFF):
#: a user could paste them into a comment; the HTML parser would drop them as well.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _parse_xhtml(html: str):
    """The element tree of report HTML written as well-formed XHTML (as report.html is),
    parsed by expat in under a millisecond, or None if it is not well-formed. WeasyPrint's
    own HTML5 parser (pure Python) takes about 30 ms for a report."""
    try:
        return ElementTree.fromstring(_NOT_XML.sub("", html))
    except ElementTree.ParseError:
        return None


@lru_cache(maxsize=1)
def _parsed_html_class():
    import cssselect2
    from weasyprint import HTML

    class ParsedHTML(HTML):
        """A WeasyPrint HTML document from an element tree that is already parsed; the same
        attributes ``HTML.__init__`` sets after parsing (tests/test_reports_render.py renders
        both ways and compares)."""

        def __init__(self, root, *, base_url: str, url_fetcher):
            self.base_url = base_url
            self.url_fetcher = url_fetcher
            self.media_type = "print"
            self.wrapper_element = cssselect2.ElementWrapper.from_html_root(root, content_language=None)
            self.etree_element = self.wrapper_element.etree_element

    return ParsedHTML


def _document(html: str, fetcher, *, fast: bool = True):
    from weasyprint import HTML

    root = _parse_xhtml(html) if fast else None
    if root is None or root.tag != "html":
        return HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher)
    return _parsed_html_class()(root, base_url=BASE_URL, url_fetcher=fetcher)


def html_to_pdf(html: str, *, fetcher=None, fast_parse: bool = True) -> bytes:
    """PDF bytes of report HTML, loading nothing but packaged files. Well-formed XHTML takes
    a fast path through expat; anything else goes through WeasyPrint's HTML5 parser."""
    with _without_gc_pauses():
        document = _document(html, fetcher or url_fetcher(), fast=fast_parse)
        fonts, stylesheet = _fonts_and_stylesheet()
        return document.write_pdf(stylesheets=[stylesheet], font_config=fonts, **PDF_OPTIONS)


def render_pdf(context: ReportContext) -> bytes:
    """The report as PDF bytes (A4, Spanish, tagged, with bookmarks and metadata)."""
    return html_to_pdf(render_html(context))


# --------------------------------------------------------------------------- cache key


def _default(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot hash {type(value).__name__}")


@lru_cache(maxsize=1)
def assets_digest() -> str:
    """sha256 of the templates, stylesheet and data files: editing any changes every key."""
    digest = hashlib.sha256()
    for folder in (TEMPLATES_DIR, DATA_DIR, STATIC_DIR):
        if folder.is_dir():
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def cache_key(context: ReportContext) -> str:
    """sha256 over everything that changes the PDF: renderer version and packaged assets,
    questionnaire key, snapshot, answers, cooperative, diagnosis, peers, previous diagnosis
    and the date printed on it."""
    payload = {
        "renderer": RENDERER_VERSION,
        "assets": assets_digest(),
        "questionnaire": list(context.questionnaire.key),
        "snapshot": context.snapshot,
        "answers": context.answers,
        "cooperative": asdict(context.cooperative),
        "diagnosis": asdict(context.diagnosis),
        "peers": [asdict(group) for group in context.peers],
        "previous": asdict(context.previous) if context.previous is not None else None,
        "generated_on": context.generated_on,
    }
    options = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_NAIVE_UTC
    try:
        data = orjson.dumps(payload, option=options, default=_default)
    except TypeError:  # an integer beyond 64 bits: JSON answers have no size limit, orjson has
        data = orjson.dumps(_wide_ints_as_text(payload), option=options, default=_default)
    return hashlib.sha256(data).hexdigest()


def _wide_ints_as_text(value: Any) -> Any:
    """``value`` with every integer orjson cannot write (beyond 64 bits) as its digits and «n»."""
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        return f"{value}n"
    if isinstance(value, dict):
        return {key: _wide_ints_as_text(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_wide_ints_as_text(item) for item in value]
    return value
