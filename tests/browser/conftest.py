"""Browser tests: Playwright for Python driving Debian's Chromium (/usr/bin/chromium, never a
downloaded browser) against a real uvicorn server on a free 127.0.0.1 port, with a temporary
SQLite database migrated and loaded with the demo data (``coopdiag demo``).

Without Chromium or Playwright the tests are skipped, except in CI (``CI`` set): there they fail.
Screenshots go to ``var/screenshots/`` (git-ignored).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PROJECT = Path(__file__).resolve().parents[2]
SCREENSHOTS = PROJECT / "var" / "screenshots"
WIDTHS = {"movil": (390, 844), "escritorio": (1280, 900)}

#: The demo accounts (app/demo.py).
FIELD = ("terreno@demo.coopdiag.cl", "demo-terreno-2026")
MANAGER = ("gerente@demo.coopdiag.cl", "demo-gerente-2026")


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright; never `playwright install`)"
    return None


@pytest.fixture(scope="session")
def browser_ready() -> None:
    problem = _missing()
    if problem:
        if _in_ci():
            pytest.fail(problem + " (CI is set: the browser tests are mandatory there)")
        pytest.skip(problem)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _coopdiag(*args: str, env: dict[str, str]) -> None:
    script = Path(sys.executable).parent / "coopdiag"
    command = [str(script), *args] if script.exists() else [sys.executable, "-m", "app.cli", *args]
    subprocess.run(command, env=env, cwd=PROJECT, check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="session")
def server_env(browser_ready, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    database = tmp_path_factory.mktemp("browser") / "coopdiag.db"
    env = {
        **os.environ,
        "COOPDIAG_DATABASE_URL": f"sqlite:///{database.as_posix()}",
        "COOPDIAG_ENVIRONMENT": "development",
    }
    _coopdiag("db", "upgrade", env=env)
    _coopdiag("demo", env=env)
    return env


@pytest.fixture(scope="session")
def base_url(server_env: dict[str, str]) -> Iterator[str]:
    """The URL of a uvicorn serving the demo data."""
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=server_env,
        cwd=PROJECT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                errors = process.stderr.read().decode(errors="replace") if process.poll() is not None else ""
                pytest.fail(f"uvicorn did not start on {url}: {errors[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def browser(browser_ready) -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, base_url: str) -> Iterator:
    context = browser.new_context(base_url=base_url, viewport={"width": 390, "height": 844}, locale="es-CL")
    context.set_default_timeout(10_000)
    page = context.new_page()
    # Every page must work under the Content-Security-Policy: a refused script, style or
    # image shows up as a console error and fails the test.
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            and "Content Security Policy" in message.text
            and refused.append(f"{page.url}: {message.text}")
        ),
    )
    yield page
    context.close()
    assert not refused, "La política de seguridad de contenido bloqueó recursos:\n" + "\n".join(refused)


@pytest.fixture
def shoot():
    """``shoot(page, name)``: full-page screenshots of the current page at 390 px and 1280 px."""

    def take(page, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        original = page.viewport_size
        for width, height in WIDTHS.values():
            page.set_viewport_size({"width": width, "height": height})
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
        page.set_viewport_size(original)

    return take


@pytest.fixture
def login():
    """``login(page, (email, password))`` through the login form."""

    def log_in(page, account: tuple[str, str]) -> None:
        page.goto("/ingresar")
        page.get_by_label("Correo electrónico").fill(account[0])
        page.get_by_label("Contraseña").fill(account[1])
        page.get_by_role("button", name="Ingresar").click()
        page.wait_for_load_state()

    return log_in


@pytest.fixture(scope="session")
def demo_db(server_env: dict[str, str]) -> str:
    """The demo database's URL (to look records up in tests)."""
    return server_env["COOPDIAG_DATABASE_URL"]
