"""The public Observatorio in the browser: an anonymous visitor walks it at phone and desktop
width (axe-core, no horizontal scroll, no console errors, no request to another host), never
sees a cooperative's name, and a round an analyst withdraws disappears from it within seconds
(and comes back when the analyst publishes it again).

The figures: the demo publishes both rounds, which queues their computation. The browser server
(and ``coopdiag demo`` before it) inherit ``COOPDIAG_QUEUE_URL=immediate`` from tests/conftest.py,
so the task runs inline when the publication commits; with any other broker in the environment
nothing would run it (the server starts no worker) and every round page would say «Las cifras
de esta ronda se están preparando». ``observatory_ready`` therefore does what the worker's task
does, ``app.observatory.tasks.compute_and_store`` (a no-op, «current», when the figures are
already there), in a child process whose environment is the server's (its database URL and
queue), so that nothing the pytest process configured leaks in and no other queued task (e-mails,
reports) of the other browser tests runs as a side effect; then waits until the pages show them.

The pages are cacheable (``Cache-Control: public, max-age=300``): to see what the server says
now, each check of a withdrawn or republished round is a new visitor (a new browser context).
The withdraw/publish test runs last in this module and puts round 2 back as the demo left it
(published, figures computed) even when it fails.
"""

from __future__ import annotations

import html
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import PROJECT, SCREENSHOTS, WIDTHS
from tests.browser.test_accessibility import describe, violations

ANALYST = ("analista@demo.coopdiag.cl", "demo-analista-2026")
PILOT, NATIONAL = 1, 2  # the demo's rounds: «Piloto 2025», «Diagnóstico nacional 2026» (the latest)
NATIONAL_NAME = "Diagnóstico nacional 2026"
PREPARING = "Las cifras de esta ronda se están preparando"
SECTION_TABS = (
    "Por macrozona",
    "Por rubro",
    "Por tipo de organización",
    "Por tamaño",
    "Mujeres y jóvenes",
    "Cambio entre rondas",
)
#: The map: ``role="img"``, or ``role="group"`` once its regions are links (app/observatory/chile_map.py:
#: links inside an image would be hidden from assistive technology, axe's nested-interactive).
MAP = ".obs-map svg.chile-map:is([role=img], [role=group])"
#: How long a public page may keep showing what was published before (views.CATALOG_TTL is 2 s).
CATALOG_WAIT = 5.0

_COMPUTE = """
import sys
from app.observatory.tasks import compute_and_store
for round_id in sys.argv[1:]:
    print(round_id, compute_and_store(int(round_id)))
"""

_REPUBLISH = """
import sys
from sqlalchemy import select
from app.auth.models import User
from app.db import session_scope
from app.observatory import publishing
with session_scope() as session:
    user = session.scalars(select(User).where(User.email == sys.argv[1])).one()
    publishing.publish(session=session, user=user, round_id=int(sys.argv[2]))
"""


def expect(locator):
    """Playwright's auto-waiting assertions (imported late: without Playwright the tests skip)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def _python(env: dict[str, str], code: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, cwd=PROJECT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def compute_figures(env: dict[str, str], *round_ids: int) -> dict[int, str]:
    """What ``coopdiag worker`` does with the queued ``refresh_figures`` tasks, done now:
    ``stored``, or ``current`` when they were already computed."""
    lines = _python(env, _COMPUTE, *map(str, round_ids)).split()
    return {int(round_id): outcome for round_id, outcome in zip(lines[::2], lines[1::2], strict=True)}


def wait_for(check: Callable[[], bool], what: str, timeout: float = CATALOG_WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"después de {timeout:.0f} s: {what}")
        time.sleep(0.25)


def visit(browser, base_url: str, path: str) -> tuple[int, str]:
    """(status, HTML) of ``path`` for a new anonymous visitor: a new browser context each time,
    so nothing comes from the browser's cache (the public pages may be kept for 300 s)."""
    context = browser.new_context(base_url=base_url, locale="es-CL")
    try:
        page = context.new_page()
        answer = page.goto(path)
        return (answer.status if answer else 0), page.content()
    finally:
        context.close()


def until_figures_shown(env: dict[str, str], browser, base_url: str, round_id: int, timeout: float = 15.0) -> None:
    """Wait until a new visitor sees the round's figures (its map and table). While the page says
    they are being prepared (no worker runs the server's queue), compute them as the worker would."""
    deadline = time.monotonic() + timeout
    computed = False
    while True:
        status, text = visit(browser, base_url, f"/observatorio/rondas/{round_id}")
        if status == 200 and 'id="tabla-regiones"' in text and PREPARING not in text:
            return
        if status == 200 and PREPARING in text and not computed:
            compute_figures(env, round_id)
            computed = True
        if time.monotonic() > deadline:
            pytest.fail(f"después de {timeout:.0f} s, la ronda {round_id} no muestra sus cifras (respuesta {status})")
        time.sleep(0.25)


@pytest.fixture(scope="module")
def observatory_ready(server_env, base_url, browser) -> str:
    """The demo's two published rounds with their figures shown by the public pages."""
    for round_id in (PILOT, NATIONAL):
        until_figures_shown(server_env, browser, base_url, round_id)
    return base_url


class Watch:
    """What a page did that it must not: console errors, uncaught errors, other hosts."""

    def __init__(self, page, base_url: str) -> None:
        self.page = page
        self.host = urlsplit(base_url).netloc
        self.errors: list[str] = []
        self.foreign: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))
        page.on("request", self._request)

    def _console(self, message) -> None:
        if message.type != "error":
            return
        # Chromium asks every site for /favicon.ico; the application has none (a 404 for every
        # page of every section, not the Observatorio's doing: see the report).
        if urlsplit(message.location.get("url") or "").path == "/favicon.ico":
            return
        self.errors.append(f"{self.page.url}: {message.text} ({message.location.get('url')})")

    def _request(self, request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if parts.netloc != self.host:
            self.foreign.append(request.url)


def check_page(page, name: str, width: int, problems: list[str]) -> None:
    """axe-core (WCAG 2.1 A/AA), no horizontal scroll, and a full-page screenshot."""
    page.wait_for_load_state()
    found = violations(page)
    if found:
        problems.append(f"{page.url} a {width} px:\n{describe(found)}")
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if scroll > inner:
        problems.append(f"{page.url} a {width} px: desplazamiento horizontal ({scroll} > {inner} px)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"observatorio-{name}-{width}.png"), full_page=True)


# --------------------------------------------------------------------------- 1. the walk


@pytest.mark.parametrize("device", sorted(WIDTHS))
def test_visitor_walks_the_observatory(page, observatory_ready, device):
    width, height = WIDTHS[device]
    page.set_viewport_size({"width": width, "height": height})
    watch = Watch(page, observatory_ready)
    problems: list[str] = []

    answer = page.goto("/observatorio")
    assert answer is not None and answer.status == 200
    assert page.get_by_role("heading", level=1).inner_text().startswith("Observatorio de Cooperativas")
    check_page(page, "inicio", width, problems)

    # The latest round, its map and its table.
    page.get_by_role("link", name="Ver el mapa por región y las demás vistas de esta ronda").click()
    page.wait_for_url(f"**/observatorio/rondas/{NATIONAL}")
    assert NATIONAL_NAME in page.get_by_role("heading", level=1).inner_text()
    chile = page.locator(MAP)
    assert chile.count() == 1
    assert chile.get_attribute("aria-labelledby")
    assert chile.locator("[data-region]").count() == 16
    assert chile.is_visible()
    table = page.locator("#tabla-regiones")
    assert table.is_visible()
    assert table.locator("tbody tr").count() >= 1
    check_page(page, "ronda", width, problems)

    # Another dimension through «Mostrar:».
    levels = page.get_by_role("navigation", name="Elegir la dimensión").get_by_role("link")
    assert levels.count() >= 2
    assert levels.nth(0).get_attribute("aria-current") == "true"
    caption_before = table.locator("caption").inner_text()
    chosen = levels.nth(1).inner_text()
    chosen_slug = levels.nth(1).get_attribute("href").split("nivel=", 1)[1]
    levels.nth(1).click()
    page.wait_for_url(lambda url: url.endswith(f"/observatorio/rondas/{NATIONAL}?nivel={chosen_slug}"))
    levels = page.get_by_role("navigation", name="Elegir la dimensión").get_by_role("link")
    assert levels.nth(0).get_attribute("aria-current") is None
    assert levels.nth(1).get_attribute("aria-current") == "true"
    caption_after = page.locator("#tabla-regiones caption").inner_text()
    assert caption_after != caption_before and chosen in caption_after
    assert page.locator(f"{MAP} [data-region]").count() == 16
    check_page(page, "ronda-dimension", width, problems)

    # Each section of the round.
    for tab in SECTION_TABS:
        tabs = page.get_by_role("navigation", name="Secciones de la ronda")
        tabs.get_by_role("link", name=tab, exact=True).click()
        expect(tabs.locator("a[aria-current=page]")).to_have_text(tab)
        assert tab.lower() in page.get_by_role("heading", level=1).inner_text().lower()
        slug = page.url.rstrip("/").rsplit("/", 1)[-1]
        check_page(page, f"ronda-{slug}", width, problems)

    # Open data, how it is computed, the full methodology.
    page.get_by_role("navigation", name="Observatorio").get_by_role("link", name="Datos abiertos").click()
    page.wait_for_url("**/observatorio/datos")
    assert page.locator("#tabla-datos tbody tr").count() == 2
    check_page(page, "datos", width, problems)
    page.get_by_role("navigation", name="Observatorio").get_by_role("link", name="Cómo se calcula").click()
    page.wait_for_url("**/observatorio/metodo")
    check_page(page, "metodo", width, problems)
    page.get_by_role("link", name="metodología completa").click()
    page.wait_for_url("**/observatorio/metodologia")
    assert page.locator(".obs-doc h2").count() >= 1
    check_page(page, "metodologia", width, problems)

    assert not problems, "\n\n".join(problems)
    assert not watch.errors, "Errores en la consola:\n" + "\n".join(watch.errors)
    assert not watch.foreign, "Pedidos a otros servidores:\n" + "\n".join(watch.foreign)


# --------------------------------------------------------------------------- 2. no cooperative data


def observatory_pages(page) -> tuple[list[str], list[str]]:
    """Every public page of the Observatorio: (one path per page, the same pages at every other
    level «Mostrar:» offers)."""
    paths = ["/observatorio", "/observatorio/datos", "/observatorio/metodo", "/observatorio/metodologia"]
    variants = []
    for round_id in (PILOT, NATIONAL):
        base = f"/observatorio/rondas/{round_id}"
        page.goto(base)
        slugs = [
            href.split("nivel=", 1)[1]
            for href in page.get_by_role("navigation", name="Elegir la dimensión")
            .get_by_role("link")
            .evaluate_all("links => links.map(link => link.getAttribute('href'))")
        ]
        assert len(slugs) >= 2, base
        for section in ("", "/macrozona", "/rubro", "/tipo", "/tamano"):
            paths.append(base + section)
            variants += [f"{base}{section}?nivel={slug}" for slug in slugs[1:]]
        paths += [f"{base}/mujeres-y-jovenes", f"{base}/cambio"]
    return paths, variants


def test_visitor_never_sees_cooperative_data(page, observatory_ready):
    from app.demo import COOPERATIVES

    names = [entry[0] for entry in COOPERATIVES]
    assert len(names) == 30
    seen: list[str] = []
    paths, variants = observatory_pages(page)
    for path in paths:
        answer = page.goto(path)
        assert answer is not None and answer.status == 200, (path, answer.status if answer else None)
        # The visible text, and everything else in the document (SVG titles, attributes, hidden text).
        texts = (page.locator("body").inner_text(), html.unescape(page.content()))
        assert PREPARING not in texts[0], path
        seen += [f"{path}: {name}" for name in names if any(name in text for text in texts)]
    # The same pages at the other levels (server-rendered, no script: their HTML holds all their text),
    # and the open data files.
    files = [
        f"/observatorio/datos/ronda-{round_id}{suffix}"
        for round_id in (PILOT, NATIONAL)
        for suffix in (".json", "-semaforos.csv", "-indicadores.csv", "-cambio.csv")
    ]
    for path in [*variants, "/observatorio/datos/diccionario.csv", *files]:
        answer = page.request.get(path)
        assert answer.status == 200, path
        text = html.unescape(answer.text())
        seen += [f"{path}: {name}" for name in names if name in text]
    assert len(paths) == 18 and len(variants) >= 10
    assert not seen, "Nombres de cooperativas en el Observatorio:\n" + "\n".join(seen)


# --------------------------------------------------------------------------- 3. withdraw, publish again


@pytest.fixture
def national_restored(server_env, base_url, browser) -> Iterator[None]:
    """Whatever happens in the test, round 2 ends published with its figures, as the demo left it."""
    yield
    if visit(browser, base_url, f"/observatorio/rondas/{NATIONAL}")[0] == 404:
        _python(server_env, _REPUBLISH, ANALYST[0], str(NATIONAL))
    until_figures_shown(server_env, browser, base_url, NATIONAL)


def test_withdrawn_round_leaves_the_observatory_and_comes_back(
    page, login, browser, server_env, observatory_ready, national_restored
):
    base_url = observatory_ready
    login(page, ANALYST)
    page.goto(f"/analisis/rondas/{NATIONAL}")
    page.get_by_role("button", name="Retirar la ronda del Observatorio").click()
    expect(page.locator("#observatorio-estado")).to_contain_text("no está publicada")

    round_path = f"/observatorio/rondas/{NATIONAL}"
    wait_for(lambda: visit(browser, base_url, round_path)[0] == 404, "la ronda retirada sigue en el Observatorio")
    assert visit(browser, base_url, f"/observatorio/datos/ronda-{NATIONAL}.json")[0] == 404
    status, text = visit(browser, base_url, "/observatorio")
    assert status == 200 and NATIONAL_NAME not in text and "Piloto 2025" in text

    page.get_by_role("button", name="Publicar la ronda en el Observatorio").click()
    expect(page.locator("#observatorio-estado")).to_contain_text("Publicada el")

    # Published again: back with its figures once the queue's task has computed them (inline in
    # the server under the tests' immediate queue; by ``until_figures_shown`` for another broker).
    until_figures_shown(server_env, browser, base_url, NATIONAL)
    status, text = visit(browser, base_url, round_path)
    assert text.count("data-region=") == 16 and NATIONAL_NAME in text
