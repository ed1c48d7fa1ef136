"""Autosave under load: concurrent clients against uvicorn (2 workers), then a row count.

    .venv/bin/python bench/api_load.py --backend postgresql   # PostgreSQL at 127.0.0.1:5432, database test
    .venv/bin/python bench/api_load.py --backend sqlite
    options: --clients 50 --seconds 20 --port 8765

Each client is a cooperative manager autosaving its own response: PATCH
/api/v1/responses/{id}/answers with one answer and the version it last read, as
fast as the server answers, for a bounded time. Afterwards the server is stopped
and the database is read back: every response must hold exactly the answers its
client last saved successfully, and the audit trail exactly one event per save.
Reports p50/p95/p99 latency, saves per second and the counts. Traffic stays on
127.0.0.1; the run is bounded in time and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_BASE = os.environ.get("COOPDIAG_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def prepare(database_url: str, clients: int) -> tuple[list[dict], dict]:
    """Migrate, then create one manager, cooperative and draft response per client."""
    from datetime import date

    from stdnum.cl import rut as cl_rut

    from app.auth.service import create_user, issue_api_token
    from app.cooperatives.models import Cooperative
    from app.db import make_engine, make_sessionmaker, upgrade_database
    from app.questionnaires.service import register_questionnaires
    from app.questionnaires.models import QuestionnaireVersion
    from app.responses import service as responses
    from app.rounds.service import create_round, get_round_questionnaire
    from app.settings import Settings

    upgrade_database("head", database_url=database_url)
    settings = Settings(database_url=database_url)
    engine = make_engine(database_url)
    session = make_sessionmaker(engine)()
    register_questionnaires(session=session, directory=ROOT / "questionnaires")
    session.commit()
    version = session.scalar(select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == "diagnostico-nacional"))
    admin = create_user(session=session, email="bench-admin@example.cl", full_name="Bench", role="admin")
    session.commit()
    diagnosis_round = create_round(
        session=session, user=admin, name="Carga", opens_on=date(2026, 1, 1), closes_on=date(2026, 12, 31),
        state="open", questionnaire_version_id=version.id,
    )
    questionnaire = get_round_questionnaire(session=session, round=diagnosis_round)
    plan = []
    for index in range(clients):
        number = str(70_000_000 + index)
        cooperative = Cooperative(
            rut=f"{number}-{cl_rut.calc_check_digit(number)}", name=f"Cooperativa de carga {index}",
            legal_type="agricola", region_code=(index % 16) + 1, sectors=[],
        )
        session.add(cooperative)
        session.flush()
        manager = create_user(
            session=session, email=f"bench{index}@example.cl", full_name=f"Gerente {index}", role="manager",
            cooperative_ids=[cooperative.id],
        )
        token = issue_api_token(session=session, user=manager, name="carga")
        session.commit()
        session.refresh(manager)
        response, _ = responses.create_response(
            session=session, user=manager, settings=settings,
            data={"cooperative_id": cooperative.id, "round_id": diagnosis_round.id, "mode": "self", "answers": None},
            idempotency_key=str(uuid.uuid4()),
        )
        plan.append({"token": token, "response_id": response.id, "version": response.version})
    session.close()
    engine.dispose()
    # What a client can save: yes/no questions that are always shown (any value is valid).
    savable = [q.id for q in questionnaire.questions if q.type == "yes_no" and q.relevant is None]
    return plan, {"questions": savable}


async def client_loop(client: httpx.AsyncClient, spec: dict, questions: list[str], deadline: float,
                      latencies: list[float], outcome: dict, seed: int) -> None:
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {spec['token']}"}
    expected: dict[str, object] = {}
    saves = 0
    version = spec["version"]
    while time.perf_counter() < deadline:
        qid = rng.choice(questions)
        value = not expected.get(qid, False) if qid in expected else rng.random() < 0.5
        started = time.perf_counter()
        try:
            reply = await client.patch(
                f"/api/v1/responses/{spec['response_id']}/answers",
                json={"answers": {qid: value}, "version": version}, headers=headers,
            )
        except httpx.HTTPError as error:
            outcome["transport_errors"].append(repr(error))
            continue
        latencies.append(time.perf_counter() - started)
        if reply.status_code == 200:
            version = reply.json()["version"]
            expected[qid] = value
            saves += 1
        else:
            outcome["errors"][reply.status_code] = outcome["errors"].get(reply.status_code, 0) + 1
            if reply.status_code == 409:
                version = reply.json().get("error", {}).get("current", {}).get("version", version)
    outcome["expected"][spec["response_id"]] = (expected, saves)


async def run_clients(plan: list[dict], questions: list[str], port: int, seconds: float) -> tuple[list[float], dict, float]:
    latencies: list[float] = []
    outcome = {"errors": {}, "transport_errors": [], "expected": {}}
    limits = httpx.Limits(max_connections=len(plan), max_keepalive_connections=len(plan))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30, limits=limits) as client:
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(*(
            client_loop(client, spec, questions, deadline, latencies, outcome, seed)
            for seed, spec in enumerate(plan)
        ))
        elapsed = time.perf_counter() - started
    return latencies, outcome, elapsed


def wait_ready(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"uvicorn exited with {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    sys.exit("uvicorn did not start in time")


def verify(database_url: str, outcome: dict) -> dict:
    from app.responses.models import Response, ResponseEvent

    engine = create_engine(database_url)
    lost = duplicated = wrong = 0
    with engine.connect() as connection:
        for response_id, (expected, saves) in outcome["expected"].items():
            answers = connection.execute(select(Response.answers).where(Response.id == response_id)).scalar_one()
            events = connection.execute(
                select(func.count()).select_from(ResponseEvent)
                .where(ResponseEvent.response_id == response_id, ResponseEvent.kind == "answer_changed")
            ).scalar_one()
            lost += sum(1 for qid in expected if qid not in answers)
            wrong += sum(1 for qid, value in expected.items() if qid in answers and answers[qid] != value)
            duplicated += max(0, events - saves)
            lost += max(0, saves - events)
    engine.dispose()
    return {"lost": lost, "duplicated": duplicated, "wrong_value": wrong}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="coopdiag-load-"))
    schema = None
    if args.backend == "sqlite":
        database_url = f"sqlite:///{workdir / 'load.db'}"
    else:
        schema = f"load_{uuid.uuid4().hex[:12]}"
        admin = create_engine(PG_BASE, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        database_url = make_url(PG_BASE).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)

    try:
        plan, info = prepare(database_url, args.clients)
        env = dict(os.environ, COOPDIAG_DATABASE_URL=database_url, COOPDIAG_QUESTIONNAIRES_DIR=str(ROOT / "questionnaires"))
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(args.port),
             "--workers", "2", "--log-level", "warning", "--no-access-log"],
            cwd=ROOT, env=env,
        )
        try:
            wait_ready(args.port, server)
            latencies, outcome, elapsed = asyncio.run(run_clients(plan, info["questions"], args.port, args.seconds))
        finally:
            server.terminate()
            server.wait(timeout=30)
        counts = verify(database_url, outcome)
    finally:
        if schema is not None:
            with admin.connect() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()

    saves = sum(saves for _, saves in outcome["expected"].values())
    ordered = sorted(latencies)

    def percentile(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else float("nan")

    print(f"backend: {args.backend}, uvicorn 2 workers, {args.clients} clients, {elapsed:.1f} s")
    print(f"requests: {len(latencies)}, successful saves: {saves} ({saves / elapsed:,.0f} saves/s)")
    print(f"latency ms: p50 {percentile(0.50):.1f}, p95 {percentile(0.95):.1f}, p99 {percentile(0.99):.1f}, "
          f"max {ordered[-1] * 1000 if ordered else float('nan'):.1f}, mean {statistics.fmean(ordered) * 1000 if ordered else float('nan'):.1f}")
    print(f"error statuses: {outcome['errors'] or 'none'}; transport errors: {len(outcome['transport_errors'])}")
    print(f"after the run, in the database: lost {counts['lost']}, duplicated {counts['duplicated']}, "
          f"wrong value {counts['wrong_value']}")
    if any(counts.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
