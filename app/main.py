"""The coopdiag web application.

``create_app()`` builds the FastAPI app; ``app`` is the instance that
``uvicorn app.main:app`` serves. At startup the questionnaire files of
``settings.questionnaires_dir`` are loaded and registered in the database.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app import queue
from app.api import api_router
from app.db import make_engine, make_sessionmaker
from app.errors import Conflict
from app.headers import SecurityHeaders
from app.http_errors import install_error_handlers
from app.limits import BodySizeLimit
from app.observatory.staff_views import router as observatory_staff_router
from app.observatory.views import router as observatory_router
from app.proxies import TrustedProxyHeaders, parse_networks
from app.questionnaires.service import (
    DirectoryContents,
    LoadedQuestionnaire,
    LoadFailure,
    QuestionnaireConflictError,
    QuestionnaireDirectoryError,
    load_directory,
    register_loaded_questionnaires,
)
from app.reports.views import web_router as reports_web_router
from app.request_slots import RequestSlots
from app.settings import Settings, get_settings
from app.unit_of_work import UnitOfWork
from app.web import admin as web_admin
from app.web import analyst as web_analyst
from app.web import field as web_field
from app.web import imports as web_imports
from app.web import manager as web_manager
from app.web import review_queue as web_review_queue
from app.web.views import router as web_router

logger = logging.getLogger(__name__)

APP_DIR = Path(__file__).resolve().parent
from app.web.render import templates  # noqa: E402 - one Jinja2 environment for every page


@dataclass(frozen=True)
class QuestionnaireSummary:
    """What the home page shows of a loaded questionnaire."""

    file_name: str
    id: str
    version: str
    title: str
    dimensions: int
    subcategories: int
    questions: int

    @classmethod
    def of(cls, item: LoadedQuestionnaire) -> QuestionnaireSummary:
        questionnaire = item.questionnaire
        subcategories = [s for d in questionnaire.dimensions for s in d.subcategories]
        return cls(
            file_name=item.path.name,
            id=questionnaire.id,
            version=questionnaire.version,
            title=questionnaire.title,
            dimensions=len(questionnaire.dimensions),
            subcategories=len(subcategories),
            questions=sum(len(s.questions) for s in subcategories),
        )


@dataclass
class Catalog:
    """The questionnaires served, plus Spanish notes on what went wrong."""

    loaded: list[LoadedQuestionnaire] = field(default_factory=list)
    failed: list[LoadFailure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def summaries(self) -> list[QuestionnaireSummary]:
        return [QuestionnaireSummary.of(item) for item in self.loaded]


def load_catalog(settings: Settings, session_factory: sessionmaker[Session]) -> Catalog:
    """Load and register the questionnaires; never raises for bad files or a bad database."""
    try:
        contents = load_directory(Path(settings.questionnaires_dir))
    except QuestionnaireDirectoryError as exc:
        logger.warning("%s", exc)
        return Catalog(notes=[str(exc)])

    catalog = Catalog(failed=list(contents.failed))
    for attempt in (1, 2):
        try:
            with session_factory() as session, UnitOfWork(session):
                try:
                    register_loaded_questionnaires(session=session, contents=contents)
                except QuestionnaireConflictError as exc:
                    # Serve the other files; a changed registered version is not served.
                    logger.error("%s", exc)
                    conflicted = set(exc.paths)
                    catalog.failed.extend(LoadFailure(path, message) for path, message in exc.conflicts)
                    contents = DirectoryContents(
                        loaded=[i for i in contents.loaded if i.path not in conflicted],
                        failed=contents.failed,
                    )
                    register_loaded_questionnaires(session=session, contents=contents)
            break
        except (Conflict, SQLAlchemyError) as exc:
            if isinstance(exc, Conflict) and attempt == 1:
                continue  # another process registered the same version meanwhile: retry
            logger.exception("No se pudieron registrar los cuestionarios en la base de datos")
            catalog.notes.append(
                "La base de datos no está disponible o no está preparada: los cuestionarios "
                "se muestran, pero no quedaron registrados. Ejecute «coopdiag db upgrade»."
            )
            break
    catalog.loaded = list(contents.loaded)
    catalog.failed.sort(key=lambda failure: failure.path.name)
    return catalog


def tune_garbage_collector() -> None:
    """Fewer, cheaper collections in a long-running server. Python's default (a young
    collection every 700 allocations, full ones walking every object of the app) paused the
    workers often enough to put 100 ms spikes in the autosave p99 at 300 saves/s; with the
    start-up objects frozen out of collection and a young generation of 50,000 the p99 fell to
    about 30 ms (docs/performance.md). Reference cycles are still collected."""
    import gc

    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the web application (``settings`` default: ``get_settings()``)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        app.state.catalog = load_catalog(settings, app.state.sessionmaker)
        tune_garbage_collector()
        try:
            yield
        finally:
            engine.dispose()

    app = FastAPI(
        title="coopdiag",
        description="Autodiagnóstico de cooperativas agrícolas, agroalimentarias y forestales",
        lifespan=lifespan,
        # The interactive docs and the schema list every operation and parameter: a map for an
        # attacker, of no use to the people of a production site (docs/operations.md).
        docs_url=None if settings.is_production else "/docs",
        openapi_url=None if settings.is_production else "/openapi.json",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.catalog = Catalog()
    queue.configure(settings)  # the broker the pages queue their tasks on
    install_error_handlers(app)
    # Innermost: a request waits for its slot only once it is known to be acceptable.
    app.add_middleware(RequestSlots)
    app.add_middleware(BodySizeLimit)
    app.add_middleware(SecurityHeaders, https_only=settings.is_production)
    # Outermost: every layer and view sees the client a trusted proxy forwarded for.
    app.add_middleware(TrustedProxyHeaders, trusted=parse_networks(settings.trusted_proxies))
    app.include_router(api_router)
    app.include_router(web_router)
    app.include_router(reports_web_router)
    app.include_router(observatory_router)
    app.include_router(observatory_staff_router)
    for area in (web_manager, web_field, web_analyst, web_review_queue, web_admin, web_imports):
        app.include_router(area.router)
    app.mount("/static", StaticFiles(directory=str(APP_DIR / "static")), name="static")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index(request: Request) -> HTMLResponse:
        catalog: Catalog = request.app.state.catalog
        return templates.TemplateResponse(
            request,
            "index.html",
            {
                "questionnaires": catalog.summaries,
                "failed": catalog.failed,
                "notes": catalog.notes,
            },
        )

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def get_session(request: Request) -> Iterator[Session]:
    """FastAPI dependency: a database session for one request."""
    with request.app.state.sessionmaker() as session:
        yield session


app = create_app()
