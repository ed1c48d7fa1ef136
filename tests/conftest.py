"""Shared fixtures: databases (SQLite and PostgreSQL) and sample questionnaires.

``db_url`` runs a test once on a fresh SQLite file and once on PostgreSQL,
the latter in a schema of its own that is dropped afterwards. PostgreSQL
comes from ``COOPDIAG_TEST_DATABASE_URL``, e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/test``; without it the
PostgreSQL runs are skipped, except in CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import os
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_URL_ENV = "COOPDIAG_TEST_DATABASE_URL"

# Tasks (PDF reports, e-mails) run where they are queued, at once, unless a test sets up a
# broker and a worker of its own (tests/test_queue.py); the e-mails of the tests go nowhere.
os.environ.setdefault("COOPDIAG_QUEUE_URL", "immediate")
# A test that sends a diagnosis does not pay for its PDF unless it asks for it (the download
# renders it then); tests of the pre-rendering itself turn it on (tests/test_report_queue.py).
os.environ.setdefault("COOPDIAG_PRERENDER_REPORTS", "false")


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on, for tests that start their own server."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (no tables), as an SQLAlchemy URL string."""
    if request.param == "sqlite":
        yield f"sqlite:///{(tmp_path / 'coopdiag-test.db').as_posix()}"
        return

    base_url = os.environ.get(PG_URL_ENV, "").strip()
    if not base_url:
        message = (
            f"{PG_URL_ENV} is not set: PostgreSQL tests need it, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test"
        )
        if in_ci():
            pytest.fail(message + " (CI is set: the PostgreSQL runs are mandatory there)")
        pytest.skip(message)

    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        # Every connection made with this URL works in (only) the new schema.
        url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def migrated_db_url(db_url: str, tmp_path: Path) -> str:
    """``db_url`` upgraded to the latest migration. Tasks queued meanwhile (immediate mode) work
    on this database and write their PDFs under the test's folder, even when the test calls the
    services without an app (an app points the queue at its own settings)."""
    from app import queue
    from app.db import upgrade_database
    from app.settings import Settings

    upgrade_database("head", database_url=db_url)
    queue.configure(Settings(database_url=db_url, reports_cache_dir=tmp_path / "informes-tareas"))
    return db_url


# --------------------------------------------------------------------------- questionnaires

#: A small questionnaire that follows shared/spec/questionnaire-format.md:
#: 2 dimensions, 3 subcategories, 7 questions (one computed, one relevant-gated).
SAMPLE_QUESTIONNAIRE = textwrap.dedent(
    """\
    id: prueba-mini
    version: "{version}"
    title: "{title}"
    language: es-CL
    description: Cuestionario pequeño para las pruebas de coopdiag.
    dimensions:
      - id: gobernanza
        title: Gobernanza
        subcategories:
          - id: asamblea
            title: Junta general de socios
            questions:
              - id: junta_anual
                text: ¿Se celebró la junta general anual de socios en el último año?
                help: Según el acta de la junta.
                type: yes_no
                critical: true
              - id: actas_al_dia
                text: ¿Las actas de junta y de consejo están al día?
                type: choice
                options:
                  - {{value: si, label: Sí, score: 1}}
                  - {{value: parcial, label: Parcialmente, score: 0.5}}
                  - {{value: "no", label: "No", score: 0}}
          - id: consejo
            title: Consejo de administración
            questions:
              - id: consejo_vigente
                text: ¿El consejo de administración tiene su mandato vigente?
                type: yes_no
              - id: consejo_mujeres
                text: ¿Hay mujeres en el consejo de administración?
                type: yes_no
                relevant: consejo_vigente == true
      - id: finanzas
        title: Gestión financiera
        weight: 2
        subcategories:
          - id: liquidez
            title: Liquidez
            questions:
              - id: activo_corriente
                text: Activo corriente según el último balance (CLP)
                type: number
                min: 0
                unit: CLP
              - id: pasivo_corriente
                text: Pasivo corriente según el último balance (CLP)
                type: number
                min: 0
                unit: CLP
              - id: razon_corriente
                text: Razón corriente (activo corriente / pasivo corriente)
                type: computed
                formula: activo_corriente / pasivo_corriente
                bands:
                  - {{max: 1, score: 0}}
                  - {{min: 1, max: 1.5, score: 0.5}}
                  - {{min: 1.5, score: 1}}
    """
)

SAMPLE_COUNTS = {"dimensions": 2, "subcategories": 3, "questions": 7}


@pytest.fixture
def sample_counts() -> dict[str, int]:
    """Numbers of dimensions, subcategories and questions of the sample questionnaire."""
    return dict(SAMPLE_COUNTS)


def sample_questionnaire(
    *, version: str = "2026.1", title: str = "Cuestionario de prueba", qid: str = "prueba-mini"
) -> str:
    source = SAMPLE_QUESTIONNAIRE.format(version=version, title=title)
    return source.replace("id: prueba-mini", f"id: {qid}", 1)


@pytest.fixture
def questionnaires_dir(tmp_path: Path) -> Path:
    """An empty folder for questionnaire files."""
    directory = tmp_path / "questionnaires"
    directory.mkdir()
    return directory


@pytest.fixture
def write_questionnaire(questionnaires_dir: Path) -> Callable[..., Path]:
    """``write_questionnaire(name="mini.yaml", *, version=..., title=..., qid=..., source=None)``
    writes a questionnaire file into ``questionnaires_dir`` and returns its path."""

    def write(
        name: str = "mini.yaml",
        *,
        version: str = "2026.1",
        title: str = "Cuestionario de prueba",
        qid: str = "prueba-mini",
        source: str | None = None,
    ) -> Path:
        path = questionnaires_dir / name
        if source is None:
            source = sample_questionnaire(version=version, title=title, qid=qid)
        path.write_text(source, encoding="utf-8")
        return path

    return write


# --------------------------------------------------------------------------- API


class ApiEnv:
    """A running app on a migrated database (SQLite or PostgreSQL), with helpers to make
    users of each role and call the API as them.

    ``env.user("manager", cooperatives=[coop_id])`` returns ``(user, headers)`` where
    ``headers`` carries a personal API token; ``env.client`` is a TestClient;
    ``env.session()`` a session on the same database (commit what you create).
    """

    def __init__(self, client, sessionmaker, settings) -> None:
        self.client = client
        self.sessionmaker = sessionmaker
        self.settings = settings
        self._count = 0

    def session(self):
        return self.sessionmaker()

    def user(self, role: str, *, cooperatives=(), macrozones=(), institution=None, password="clave-segura-123"):
        from app.auth.service import create_user, issue_api_token

        self._count += 1
        with self.session() as session:
            user = create_user(
                session=session,
                email=f"{role}{self._count}@example.cl",
                full_name=f"{role.title()} {self._count}",
                role=role,
                password=password,
                institution=institution,
                cooperative_ids=list(cooperatives),
                macrozones=list(macrozones),
            )
            token = issue_api_token(session=session, user=user, name="pruebas")
            session.commit()
            session.refresh(user)
            session.expunge(user)
        return user, {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api_env(migrated_db_url: str, write_questionnaire, questionnaires_dir: Path, tmp_path: Path) -> Iterator[ApiEnv]:
    """The app on a migrated database of each backend, serving the sample questionnaire."""
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings

    write_questionnaire()
    settings = Settings(
        database_url=migrated_db_url, questionnaires_dir=questionnaires_dir, reports_cache_dir=tmp_path / "informes"
    )
    app = create_app(settings)
    with TestClient(app) as client:
        yield ApiEnv(client, app.state.sessionmaker, settings)
