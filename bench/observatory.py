"""The public Observatorio under load: anonymous visitors reading a round's published figures.

    .venv/bin/python bench/observatory.py                     # PostgreSQL at 127.0.0.1:5432 (a new database)
    .venv/bin/python bench/observatory.py --backend sqlite
    options: --diagnoses 3000 --visitors 100 --seconds 30 --revalidate-seconds 10 --think 0
             --client httpx|raw --workers 2 --port 8768 --seed 20261204

Target (issue 17): public pages answer with p99 ≤ 100 ms under 100 concurrent anonymous
visitors on 2 cores with 3,000 diagnoses in the database, the aggregates precomputed on the
task queue when a round is published or a response validated, never per request.

1. Prepares a database (PostgreSQL: a database of its own, ``coopdiag_bench_obs_…``, dropped at
   the end; SQLite: a temporary file) with both national questionnaires and two rounds: an
   earlier, closed one («Piloto 2025», questionnaire 2026.1) and the current one («Diagnóstico
   nacional 2026», 2027.1). N cooperatives spread over the 16 regions as in reality (most in the
   centre-south, few in the far north and south), with sectors by macrozone, legal types and
   member counts, each with a validated response in the current round; about half also have one
   in the earlier round. Answers come from the demo's generator (``app.demo._answers``: complete,
   consistent with the registry, good practices adopted with a per-cooperative «quality»), and
   the result snapshot is the one a submission stores (``submission_snapshot``, the real
   ``scoring``). Rows are bulk-inserted (no audit events: the Observatorio does not read them).
2. An analyst publishes both rounds (``publishing.publish`` in one ``UnitOfWork``); the tasks go
   to an SQLite queue in the work folder that nothing consumes. The bench then runs
   ``tasks.compute_and_store`` itself for each round and times it (what a queue worker pays on
   each publication), and once more for the current round after ``round_changed`` (what it
   pays after each validation); it reports the stored document's size.
3. Serves the app with uvicorn (``--workers`` processes), checks every page of both rounds (all
   levels, views, indicators, change, open data: 200, figures shown, not «se están preparando»,
   ``ETag`` and ``Cache-Control: public``, no cookie; the JSON counts the cooperatives
   expected) from several connections at once, which also warms every process's page cache.
4. ``--visitors`` anonymous visitors, each on its own keep-alive connection, request a realistic
   mix of pages (``mix``) back to back (``--think 0``, the default: the worst case, 100 requests
   always in flight) or with a mean pause of ``--think`` seconds, for ``--seconds``. Then a
   second phase of ``--revalidate-seconds``: the same visitors send ``If-None-Match`` with the
   ETag they got for each page (a CDN or a browser revalidating) and must get 304.

``--client httpx`` (default) uses one ``httpx.AsyncClient`` per visitor; ``--client raw`` the
minimal HTTP/1.1 client of ``bench/api_load.py``, which costs the shared 2 cores far less CPU
per request (the load generator runs on the same machine as the server).

Prints a Markdown summary (per phase: requests, req/s, p50/p95/p99/max ms, errors, target met;
per page for the first phase; CPU per request; the machine's load average). Exits 1 when
anything failed (an answer other than 200/304, a transport error, a page without figures, a
revalidation that did not get 304, a computation not stored), not when the target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from math import log
from pathlib import Path

import httpx
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api_load import (  # noqa: E402
    PG_BASE,
    RawConnection,
    cpu_report,
    cpu_sampler,
    run_event_loop,
    uvicorn_server,
)

TARGET_P99_MS = 100.0
KEEP_ALIVE = 4.0  # uvicorn closes a connection idle for 5 s: the raw client opens a new one first
PREPARING = "se están preparando"

#: Relative number of cooperatives per region (CUT code), roughly as in the registry: most in
#: the centre-south, few in the far north and the far south.
REGION_WEIGHTS: dict[int, float] = {
    15: 1.5,  # Arica y Parinacota
    1: 1.0,  # Tarapacá
    2: 0.7,  # Antofagasta
    3: 1.5,  # Atacama
    4: 6.0,  # Coquimbo
    5: 7.0,  # Valparaíso
    13: 10.0,  # Metropolitana
    6: 10.0,  # O'Higgins
    7: 13.0,  # Maule
    16: 7.0,  # Ñuble
    8: 10.0,  # Biobío
    9: 12.0,  # La Araucanía
    14: 5.0,  # Los Ríos
    10: 9.0,  # Los Lagos
    11: 1.2,  # Aysén
    12: 0.6,  # Magallanes
}
#: Main products by macrozone (default macrozones of the settings).
SECTOR_WEIGHTS: dict[str, dict[str, float]] = {
    "Norte": {"hortalizas": 5, "fruticultura": 2, "agua_riego": 2, "apicola": 1, "flores": 1, "otro": 1},
    "Centro": {
        "fruticultura": 5,
        "hortalizas": 3,
        "vitivinicola": 3,
        "agua_riego": 2,
        "flores": 1,
        "apicola": 1,
        "servicios": 1,
    },
    "Centro-Sur": {
        "fruticultura": 3,
        "berries": 3,
        "cereales": 3,
        "vitivinicola": 2,
        "frutos_secos": 2,
        "agua_riego": 2,
        "apicola": 1,
        "servicios": 1,
    },
    "Sur": {"lacteos": 5, "ganaderia": 4, "berries": 2, "cereales": 2, "forestal": 2, "hortalizas": 1, "apicola": 1},
    "Austral": {"ganaderia": 5, "forestal": 2, "lacteos": 1, "hortalizas": 1, "otro": 1},
}
LEGAL_TYPE_WEIGHTS = {
    "campesina": 34,
    "agricola": 30,
    "precooperativo": 14,
    "servicios": 10,
    "forestal": 6,
    "otra": 3,
}
EARLIER_SHARE = 0.5  # cooperatives that also have a validated diagnosis in the earlier round


# --------------------------------------------------------------------------- the database


@contextlib.contextmanager
def bench_database(backend: str, workdir: Path) -> Iterator[tuple[str, list]]:
    """A new empty database: an SQLite file in ``workdir``, or a PostgreSQL database of its own,
    dropped on exit. Yields its URL and a function listing its PostgreSQL backends' pids."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / 'observatorio.db'}", list
        return
    name = f"coopdiag_bench_obs_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_BASE, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def backend_pids() -> list[int]:
        with admin.connect() as connection:
            return list(
                connection.execute(
                    text("SELECT pid FROM pg_stat_activity WHERE datname = :name"), {"name": name}
                ).scalars()
            )

    try:
        yield make_url(PG_BASE).set(database=name).render_as_string(hide_password=False), backend_pids
    finally:
        from app.db import forget_engines

        forget_engines()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --------------------------------------------------------------------------- preparation


@dataclass
class Plan:
    earlier_id: int
    current_id: int
    cooperatives: int
    earlier_diagnoses: int
    both: int  # cooperatives validated in both rounds
    prepare_seconds: float = 0.0
    computations: list[dict] = field(default_factory=list)  # what compute_and_store cost
    queued_tasks: int = 0


def cooperative_rows(count: int, rng: random.Random) -> list[dict]:
    """``count`` cooperatives spread over the regions, sectors, legal types and sizes."""
    from stdnum.cl import rut as cl_rut

    from app.settings import Settings

    zones = Settings().macrozones
    zone_of = {code: zone for zone, codes in zones.items() for code in codes}
    regions = rng.choices(list(REGION_WEIGHTS), weights=list(REGION_WEIGHTS.values()), k=count)
    rows = []
    for index, region in enumerate(regions, start=1):
        legal_type = rng.choices(list(LEGAL_TYPE_WEIGHTS), weights=list(LEGAL_TYPE_WEIGHTS.values()))[0]
        sectors_here = SECTOR_WEIGHTS[zone_of[region]]
        how_many = rng.choices((0, 1, 2, 3), weights=(4, 70, 21, 5))[0]
        sectors: list[str] = []
        while len(sectors) < how_many:
            pick = rng.choices(list(sectors_here), weights=list(sectors_here.values()))[0]
            if pick not in sectors:
                sectors.append(pick)
        # Members: most cooperatives have 15–80, a few several hundred; pre-cooperative groups fewer.
        members = min(3000, 5 + int(rng.lognormvariate(log(30 if legal_type == "precooperativo" else 45), 0.9)))
        women = round(members * rng.uniform(0.1, 0.6))
        number = str(70_000_000 + index)
        rows.append(
            {
                "id": index,
                "rut": f"{number}-{cl_rut.calc_check_digit(number)}",
                "name": f"Cooperativa del observatorio {index}",
                "legal_type": legal_type,
                "region_code": region,
                "comuna": None,
                "sectors": sectors,
                "members_women": None if rng.random() < 0.05 else women,
                "members_men": members - women,
                "members_under_35": None if rng.random() < 0.1 else round(members * rng.uniform(0.02, 0.35)),
                "founding_year": rng.randint(1960, 2024),
            }
        )
    return rows


def prepare(database_url: str, diagnoses: int, seed: int) -> Plan:
    """Migrate; both national questionnaires, an analyst, two rounds, the cooperatives and their
    validated responses (bulk-inserted)."""
    from app.auth.service import create_user
    from app.cooperatives.models import Cooperative
    from app.db import make_engine, make_sessionmaker, upgrade_database
    from app.demo import NATIONAL, PILOT, _answers
    from app.questionnaires.models import QuestionnaireVersion
    from app.questionnaires.service import register_questionnaires
    from app.responses.lifecycle import submission_snapshot
    from app.responses.models import Response
    from app.rounds.models import DiagnosisRound
    from app.rounds.service import questionnaire_of_version

    started = time.perf_counter()
    rng = random.Random(seed)
    upgrade_database("head", database_url=database_url)
    engine = make_engine(database_url)
    with make_sessionmaker(engine)() as session:
        register_questionnaires(session=session, directory=ROOT / "questionnaires")
        versions = {
            (version.questionnaire_id, version.version): version
            for version in session.scalars(select(QuestionnaireVersion))
        }
        create_user(session=session, email="bench-analista@example.cl", full_name="Analista de carga", role="analyst")
        earlier = DiagnosisRound(
            name="Piloto 2025",
            questionnaire_version_id=versions[PILOT].id,
            opens_on=date(2025, 9, 1),
            closes_on=date(2025, 12, 15),
            state="closed",
        )
        current = DiagnosisRound(
            name="Diagnóstico nacional 2026",
            questionnaire_version_id=versions[NATIONAL].id,
            opens_on=date(2026, 9, 1),
            closes_on=date(2026, 12, 31),
            state="open",
        )
        session.add_all([earlier, current])
        session.flush()
        cooperatives = cooperative_rows(diagnoses, rng)
        session.execute(insert(Cooperative), cooperatives)
        rounds = [
            (earlier, questionnaire_of_version(versions[PILOT]), versions[PILOT].id),
            (current, questionnaire_of_version(versions[NATIONAL]), versions[NATIONAL].id),
        ]
        batch: list[dict] = []
        earlier_count = 0
        for spec in cooperatives:
            cooperative = Cooperative(**spec)  # transient: what the answer generator reads
            quality = rng.uniform(0.25, 0.95)
            for diagnosis_round, questionnaire, version_id in rounds:
                if diagnosis_round is earlier:
                    if rng.random() >= EARLIER_SHARE:
                        continue
                    earlier_count += 1
                    mood = max(0.2, quality - rng.uniform(-0.05, 0.15))  # most improved a little since
                else:
                    mood = quality
                answers = _answers(questionnaire, cooperative, mood, rng)
                submitted = datetime.combine(diagnosis_round.opens_on, datetime.min.time(), timezone.utc) + timedelta(
                    days=rng.randint(5, 60), minutes=rng.randint(0, 600)
                )
                batch.append(
                    {
                        "cooperative_id": spec["id"],
                        "round_id": diagnosis_round.id,
                        "mode": "self",
                        "status": "validated",
                        "answers": answers,
                        "result_snapshot": submission_snapshot(questionnaire, answers),
                        "snapshot_questionnaire_version_id": version_id,
                        "created_at": submitted - timedelta(days=3),
                        "updated_at": submitted,
                        "submitted_at": submitted,
                        "validated_at": submitted + timedelta(days=rng.randint(1, 10)),
                    }
                )
            if len(batch) >= 500:
                session.execute(insert(Response), batch)
                batch = []
        if batch:
            session.execute(insert(Response), batch)
        session.commit()
        plan = Plan(earlier.id, current.id, diagnoses, earlier_count, earlier_count)
    engine.dispose()
    plan.prepare_seconds = time.perf_counter() - started
    return plan


def publish_and_compute(database_url: str, queue_url: str, plan: Plan) -> None:
    """Publish both rounds (tasks queued where nothing consumes them), then run the queue's
    task body for each round here and time it; the current round once more after a change."""
    from app import queue
    from app.auth.models import User
    from app.db import get_engine, make_sessionmaker
    from app.observatory import publishing, tasks
    from app.observatory.models import Publication
    from app.settings import Settings
    from app.unit_of_work import UnitOfWork
    from reports.formatting import numero

    queue.configure(Settings(database_url=database_url, queue_url=queue_url))
    sessions = make_sessionmaker(get_engine(database_url))
    with sessions() as session, UnitOfWork(session):
        analyst = session.scalar(select(User).where(User.email == "bench-analista@example.cl"))
        for round_id in (plan.earlier_id, plan.current_id):
            publishing.publish(session=session, user=analyst, round_id=round_id)
    plan.queued_tasks = queue.huey.pending_count()

    def timed(round_id: int, label: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        outcome = tasks.compute_and_store(round_id)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        with sessions() as session:
            payload = session.scalar(select(Publication.payload).where(Publication.round_id == round_id)) or ""
        plan.computations.append(
            {"label": label, "outcome": outcome, "seconds": wall, "cpu": cpu, "kb": len(payload.encode()) / 1024}
        )

    timed(plan.earlier_id, f"ronda anterior ({numero(plan.earlier_diagnoses, 0)} diagnósticos)")
    timed(plan.current_id, f"ronda actual ({numero(plan.cooperatives, 0)} diagnósticos, con el cambio)")
    with sessions() as session, UnitOfWork(session):
        publishing.round_changed(session, plan.current_id)  # as validating one more response does
    timed(plan.current_id, "ronda actual otra vez (tras validar una respuesta)")


# --------------------------------------------------------------------------- the pages


def level_slugs(document: dict) -> list[str]:
    from app.observatory.pages import level_slug

    return [level_slug(level["key"]) for level in document.get("levels") or []]


def all_pages(plan: Plan, slugs: dict[int, list[str]]) -> list[tuple[str, str]]:
    """(kind, path) of every public page and file of both rounds."""
    from app.observatory.open_data import CSV_TABLES
    from app.observatory.pages import VIEW_PAGES

    pages = [
        ("inicio", "/observatorio"),
        ("datos", "/observatorio/datos"),
        ("método", "/observatorio/metodo"),
        ("método", "/observatorio/metodologia"),
        ("csv", "/observatorio/datos/diccionario.csv"),
    ]
    for round_id in (plan.earlier_id, plan.current_id):
        base = f"/observatorio/rondas/{round_id}"
        for slug in slugs[round_id]:
            pages.append(("ronda", f"{base}?nivel={slug}"))
            pages += [("vista", f"{base}/{view}?nivel={slug}") for view, _, _ in VIEW_PAGES]
        pages += [("vista", f"{base}/{view}") for view, _, _ in VIEW_PAGES]
        pages += [("ronda", base), ("mujeres-y-jóvenes", f"{base}/mujeres-y-jovenes"), ("cambio", f"{base}/cambio")]
        pages.append(("json", f"/observatorio/datos/ronda-{round_id}.json"))
        pages += [("csv", f"/observatorio/datos/ronda-{round_id}-{table}.csv") for table in CSV_TABLES]
    return pages


def mix(plan: Plan, slugs: dict[int, list[str]]) -> list[tuple[str, str, float]]:
    """What visitors ask for, (kind, path, weight): mostly the home page and the current round,
    its views at the general level, now and then another level, the earlier round, the data."""
    from app.observatory.pages import VIEW_PAGES

    current, earlier = f"/observatorio/rondas/{plan.current_id}", f"/observatorio/rondas/{plan.earlier_id}"
    others = [slug for slug in slugs[plan.current_id] if slug != "general"]
    entries = [
        ("inicio", "/observatorio", 15.0),
        ("ronda", current, 12.0),
        ("ronda", earlier, 3.0),
        ("mujeres-y-jóvenes", f"{current}/mujeres-y-jovenes", 6.0),
        ("mujeres-y-jóvenes", f"{earlier}/mujeres-y-jovenes", 1.0),
        ("cambio", f"{current}/cambio", 5.0),
        ("datos", "/observatorio/datos", 4.0),
        ("json", f"/observatorio/datos/ronda-{plan.current_id}.json", 2.0),
        ("json", f"/observatorio/datos/ronda-{plan.earlier_id}.json", 1.0),
        ("csv", f"/observatorio/datos/ronda-{plan.current_id}-semaforos.csv", 2.0),
        ("csv", f"/observatorio/datos/ronda-{plan.current_id}-indicadores.csv", 1.0),
        ("csv", f"/observatorio/datos/ronda-{plan.current_id}-cambio.csv", 1.0),
        ("csv", "/observatorio/datos/diccionario.csv", 1.0),
        ("método", "/observatorio/metodo", 2.0),
        ("método", "/observatorio/metodologia", 1.0),
    ]
    entries += [("ronda", f"{current}?nivel={slug}", 2.0) for slug in others]
    for view, _, _ in VIEW_PAGES:
        entries.append(("vista", f"{current}/{view}", 3.0))
        entries.append(("vista", f"{earlier}/{view}", 1.0))
        entries += [("vista", f"{current}/{view}?nivel={slug}", 0.5) for slug in others]
    return entries


async def check_pages(port: int, plan: Plan, connections: int) -> tuple[dict, list[str]]:
    """Every page from ``connections`` connections at once (each process renders and keeps them):
    the facts found and the problems."""
    problems: list[str] = []
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        documents = {}
        for round_id in (plan.earlier_id, plan.current_id):
            reply = await client.get(f"/observatorio/datos/ronda-{round_id}.json")
            if reply.status_code != 200:
                problems.append(f"JSON de la ronda {round_id}: {reply.status_code}")
                documents[round_id] = {}
            else:
                documents[round_id] = reply.json()
    slugs = {round_id: level_slugs(document) for round_id, document in documents.items()}
    pages = all_pages(plan, slugs)
    sizes: dict[str, int] = {}
    etags: dict[str, str] = {}

    async def one_connection() -> None:
        async with httpx.AsyncClient(
            base_url=base, timeout=60, limits=httpx.Limits(max_connections=1, max_keepalive_connections=1)
        ) as client:
            for _, path in pages:
                reply = await client.get(path)
                sizes[path] = len(reply.content)
                etags[path] = reply.headers.get("etag", "")
                if reply.status_code != 200:
                    problems.append(f"{path}: {reply.status_code}")
                    continue
                if reply.headers.get("content-type", "").startswith("text/html") and PREPARING in reply.text:
                    problems.append(f"{path}: sin cifras («{PREPARING}»)")
                if not reply.headers.get("etag") or "public" not in reply.headers.get("cache-control", ""):
                    problems.append(f"{path}: sin ETag o sin Cache-Control public")
                if "set-cookie" in reply.headers:
                    problems.append(f"{path}: envía una cookie")

    await asyncio.gather(*(one_connection() for _ in range(connections)))
    expected = {
        plan.earlier_id: (plan.earlier_diagnoses, None),
        plan.current_id: (plan.cooperatives, plan.both),
    }
    for round_id, (cooperatives, both) in expected.items():
        document = documents[round_id]
        if document.get("cooperatives") != cooperatives:
            problems.append(
                f"ronda {round_id}: {document.get('cooperatives')} cooperativas, se esperaban {cooperatives}"
            )
        change = (document.get("change") or {}).get("cooperatives")
        if both is not None and change != both:
            problems.append(f"ronda {round_id}: cambio de {change} cooperativas, se esperaban {both}")
        if not document.get("views") or not document.get("indicators"):
            problems.append(f"ronda {round_id}: documento sin tablas o sin indicadores")
    facts = {
        "pages": len(pages),
        "connections": connections,
        "slugs": slugs,
        "sizes": sizes,
        "etags": etags,
    }
    return facts, sorted(set(problems))


# --------------------------------------------------------------------------- the visitors


@dataclass
class Phase:
    name: str
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # by kind
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)  # "path status" -> count: answers not expected
    not_revalidated: int = 0  # 200 where the ETag sent should have given 304
    transport_errors: int = 0
    elapsed: float = 0.0
    cpu: str = ""
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def all(self) -> list[float]:
        return sorted(value for values in self.latencies.values() for value in values)

    def requests(self) -> int:
        return sum(len(values) for values in self.latencies.values())

    def failures(self) -> int:
        return sum(self.errors.values()) + self.not_revalidated + self.transport_errors


class Connection:
    """One visitor's keep-alive connection: httpx, or the raw client of bench/api_load.py."""

    def __init__(self, port: int, kind: str) -> None:
        self.port = port
        self.kind = kind
        self.used = time.perf_counter()
        if kind == "httpx":
            self.client = httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}",
                timeout=60,
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            )
        else:
            self.raw = RawConnection(port)

    async def get(self, path: str, headers: dict[str, str]) -> tuple[int, str | None]:
        if self.kind == "httpx":
            reply = await self.client.get(path, headers=headers)
            return reply.status_code, reply.headers.get("etag")
        if time.perf_counter() - self.used > KEEP_ALIVE:
            self.raw.close()
            self.raw = RawConnection(self.port)
        status, _ = await self.raw.request("GET", path, headers, b"")
        self.used = time.perf_counter()
        return status, self.raw.headers.get("etag")

    async def reconnect(self) -> None:
        await self.close()
        self.__init__(self.port, self.kind)

    async def close(self) -> None:
        if self.kind == "httpx":
            await self.client.aclose()
        else:
            self.raw.close()


async def visitor(
    connection: Connection,
    entries: list[tuple[str, str, float]],
    phase: Phase,
    deadline: float,
    rng: random.Random,
    think: float,
    etags: dict[str, str],
    revalidate: bool,
) -> None:
    """Pages until ``deadline``; with ``revalidate`` each request carries the ETag got before.
    With a pause, visitors arrive spread over one mean pause, as a steady flow of people does
    (all in the same millisecond, the first requests would measure only that burst)."""
    weights = [weight for _, _, weight in entries]
    if think:
        await asyncio.sleep(rng.uniform(0, think))
    while time.perf_counter() < deadline:
        kind, path, _ = rng.choices(entries, weights=weights)[0]
        headers = {"If-None-Match": etags[path]} if revalidate and path in etags else {}
        started = time.perf_counter()
        try:
            status, etag = await connection.get(path, headers)
        except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError, httpx.HTTPError):
            phase.transport_errors += 1
            await connection.reconnect()
            continue
        phase.latencies[kind].append(time.perf_counter() - started)
        phase.statuses[status] += 1
        if status == 200 and etag:
            if headers:
                phase.not_revalidated += 1  # nothing changed: the same ETag must give 304
            etags[path] = etag
        elif status != 304 or not headers:
            phase.errors[f"{path} {status}"] += 1
        if think:  # never past the deadline: the phase's seconds are the measured window
            await asyncio.sleep(min(rng.uniform(0.5 * think, 1.5 * think), max(0.0, deadline - time.perf_counter())))


async def run_visitors(
    port: int,
    entries: list[tuple[str, str, float]],
    *,
    visitors: int,
    seconds: float,
    revalidate_seconds: float,
    think: float,
    client: str,
    seed: int,
    sample,
    etags: dict[str, str],
) -> list[Phase]:
    connections = [Connection(port, client) for _ in range(visitors)]
    rngs = [random.Random(seed + number) for number in range(visitors)]
    known: list[dict[str, str]] = [dict(etags) for _ in range(visitors)]  # as the check pass got them
    phases = []
    try:
        for name, duration, revalidate in (
            ("páginas", seconds, False),
            ("revalidación con If-None-Match", revalidate_seconds, True),
        ):
            if duration <= 0:
                continue
            phase = Phase(name)
            phase.load_before = os.getloadavg()
            first = await asyncio.to_thread(sample)
            started = time.perf_counter()
            await asyncio.gather(
                *(
                    visitor(connections[n], entries, phase, started + duration, rngs[n], think, known[n], revalidate)
                    for n in range(visitors)
                )
            )
            phase.elapsed = time.perf_counter() - started
            phase.cpu = cpu_report(first, await asyncio.to_thread(sample), phase.requests(), unit="request")
            phase.load_after = os.getloadavg()
            phases.append(phase)
    finally:
        for connection in connections:
            await connection.close()
    return phases


# --------------------------------------------------------------------------- running and reporting


def run(args: argparse.Namespace) -> dict:
    load_before = os.getloadavg()
    with (
        tempfile.TemporaryDirectory(prefix="coopdiag-observatorio-") as workdir,
        bench_database(args.backend, Path(workdir)) as (database_url, backend_pids),
    ):
        plan = prepare(database_url, args.diagnoses, args.seed)
        queue_url = f"sqlite:///{Path(workdir) / 'cola.sqlite3'}"  # nothing consumes it
        publish_and_compute(database_url, queue_url, plan)
        from app.observatory.views import BUILD  # names the pages' code and templates served below

        env = {"COOPDIAG_QUEUE_URL": queue_url, "COOPDIAG_REPORTS_CACHE_DIR": str(Path(workdir) / "informes")}
        with uvicorn_server(database_url, args.port, args.workers, env) as server:
            facts, problems = run_event_loop(check_pages(args.port, plan, 4 * args.workers))
            entries = mix(plan, facts["slugs"])
            phases = run_event_loop(
                run_visitors(
                    args.port,
                    entries,
                    visitors=args.visitors,
                    seconds=args.seconds,
                    revalidate_seconds=args.revalidate_seconds,
                    think=args.think,
                    client=args.client,
                    seed=args.seed,
                    sample=cpu_sampler(server.pid, backend_pids),
                    etags=facts["etags"],
                )
            )
    for computation in plan.computations:
        if computation["outcome"] != "stored":
            problems.append(f"{computation['label']}: {computation['outcome']}, no «stored»")
    return {
        "args": vars(args),
        "plan": plan,
        "facts": facts,
        "problems": problems,
        "phases": phases,
        "entries": len(entries),
        "build": BUILD,
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "at": datetime.now(timezone.utc),
    }


def failures(summary: dict) -> int:
    return len(summary["problems"]) + sum(phase.failures() for phase in summary["phases"])


def markdown(summary: dict) -> str:
    """The summary in Spanish with Chilean numbers, ready for docs/performance.md."""
    from reports.formatting import numero

    args, plan, facts = summary["args"], summary["plan"], summary["facts"]

    def ms(ordered: list[float], share: float) -> str:
        return numero(ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000, 1) if ordered else "—"

    def p99(ordered: list[float]) -> float:
        return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000 if ordered else float("inf")

    def load(values: tuple[float, float, float]) -> str:
        return " / ".join(numero(value, 2) for value in values)

    pause = f"pausa media {numero(args['think'])} s" if args["think"] else "sin pausas (una solicitud tras otra)"
    lines = [
        f"{numero(plan.cooperatives, 0)} diagnósticos validados en la ronda actual "
        f"({numero(plan.earlier_diagnoses, 0)} también en la anterior), {args['backend']}, uvicorn con "
        f"{args['workers']} procesos; {args['visitors']} visitantes anónimos, {pause}, cliente {args['client']} "
        f"(preparación {numero(plan.prepare_seconds, 1)} s; {summary['at']:%d-%m-%Y %H:%M} UTC; páginas "
        f"`{summary['build']}`).",
        "",
        "| cálculo en la cola (`compute_and_store`) | s | CPU s | documento KB |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {c['label']} | {numero(c['seconds'], 2)} | {numero(c['cpu'], 2)} | {numero(c['kb'], 0)} |"
        for c in plan.computations
    ]
    lines += [
        "",
        "| fase | solicitudes | por segundo | p50 ms | p95 ms | p99 ms | máx. ms | errores | p99 ≤ 100 ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |",
    ]
    for phase in summary["phases"]:
        ordered = phase.all()
        lines.append(
            f"| {phase.name} ({numero(phase.elapsed, 0)} s) | {numero(len(ordered), 0)} | "
            f"{numero(len(ordered) / phase.elapsed, 0)} | {ms(ordered, 0.5)} | {ms(ordered, 0.95)} | "
            f"{ms(ordered, 0.99)} | {ms(ordered, 1)} | {phase.failures()} | "
            f"{'sí' if p99(ordered) <= TARGET_P99_MS else 'no'} |"
        )
    if summary["phases"]:
        first = summary["phases"][0]
        sizes: dict[str, list[int]] = defaultdict(list)
        for kind, path in all_pages(plan, facts["slugs"]):
            sizes[kind].append(facts["sizes"].get(path, 0))
        lines += [
            "",
            f"Por página, fase «{first.name}»:",
            "",
            "| página | solicitudes | p50 ms | p95 ms | p99 ms | máx. ms | tamaño medio KB |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for kind, values in sorted(first.latencies.items(), key=lambda item: -len(item[1])):
            ordered = sorted(values)
            size = sum(sizes[kind]) / len(sizes[kind]) / 1024 if sizes[kind] else 0
            lines.append(
                f"| {kind} | {numero(len(ordered), 0)} | {ms(ordered, 0.5)} | {ms(ordered, 0.95)} | "
                f"{ms(ordered, 0.99)} | {ms(ordered, 1)} | {numero(size, 0)} |"
            )
    lines += [
        "",
        f"- tareas encoladas al publicar (en una cola que nadie consume): {plan.queued_tasks}",
        f"- comprobación previa: {facts['pages']} páginas y archivos de las dos rondas "
        f"({len(facts['slugs'].get(plan.current_id, []))} niveles por ronda), cada uno desde "
        f"{facts['connections']} conexiones; "
        + ("todos 200 con cifras, ETag, Cache-Control public y sin cookie" if not summary["problems"] else "")
        + "; ".join(summary["problems"][:10]),
    ]
    for phase in summary["phases"]:
        statuses = ", ".join(f"{status} × {numero(count, 0)}" for status, count in sorted(phase.statuses.items()))
        wrong = ", ".join(f"{text} × {count}" for text, count in phase.errors.most_common(5)) or "0"
        lines += [
            f"- {phase.name}: respuestas {statuses}; inesperadas {wrong}; 200 en vez de 304: "
            f"{phase.not_revalidated}; errores de transporte: {phase.transport_errors}",
            f"  - {phase.cpu}",
            f"  - promedio de carga (1, 5, 15 min): antes {load(phase.load_before)}, después {load(phase.load_after)}",
        ]
    lines.append(
        f"- promedio de carga al empezar la preparación {load(summary['load_before'])}, "
        f"al terminar {load(summary['load_after'])}"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--diagnoses", type=int, default=3000, help="cooperatives validated in the current round")
    parser.add_argument("--visitors", type=int, default=100, help="concurrent anonymous visitors")
    parser.add_argument("--seconds", type=float, default=30, help="seconds of the page phase")
    parser.add_argument(
        "--revalidate-seconds", type=float, default=10, help="seconds of the If-None-Match phase (0: skip it)"
    )
    parser.add_argument("--think", type=float, default=0.0, help="mean seconds between two pages (0: back to back)")
    parser.add_argument("--client", choices=["httpx", "raw"], default="httpx", help="the visitors' HTTP client")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--port", type=int, default=8768)
    parser.add_argument("--seed", type=int, default=20261204)
    args = parser.parse_args()
    summary = run(args)
    print(markdown(summary))
    if failures(summary):
        sys.exit(1)


if __name__ == "__main__":
    main()
