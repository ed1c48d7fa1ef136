"""Autosave under load: concurrent clients against uvicorn (2 workers), then a row count.

    .venv/bin/python bench/api_load.py --backend postgresql   # PostgreSQL at 127.0.0.1:5432, database test
    .venv/bin/python bench/api_load.py --backend sqlite
    options: --clients 50 --seconds 20 --port 8765 --rate 0 (saves/s per client; 0 = back to back)
             --workers 2 --warmup 2 (seconds of load before measuring)

Each client is a cooperative manager autosaving its own response: PATCH
/api/v1/responses/{id}/answers with one answer and the version it last read, as
fast as the server answers, for a bounded time. Afterwards the server is stopped
and the database is read back: every response must hold exactly the answers its
client last saved successfully, and the audit trail exactly one event per save.
Reports p50/p95/p99 latency, saves per second and the counts. Traffic stays on
127.0.0.1; the run is bounded in time and stops by itself.

The machine is small and shared, so throughput alone is a noisy figure: the run also
reports the CPU time spent per save by the uvicorn workers, by the PostgreSQL backends
serving them and by this load generator (from /proc, Linux only), and how busy the
whole machine was meanwhile, which tells how much was left for the server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_BASE = os.environ.get("COOPDIAG_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def open_round(session):
    """Register the questionnaires and open a round of the national questionnaire (made by a new admin)."""
    from datetime import date

    from app.auth.service import create_user
    from app.questionnaires.models import QuestionnaireVersion
    from app.questionnaires.service import register_questionnaires
    from app.rounds.service import create_round

    register_questionnaires(session=session, directory=ROOT / "questionnaires")
    session.commit()
    version = session.scalar(
        select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == "diagnostico-nacional")
    )
    admin = create_user(session=session, email="bench-admin@example.cl", full_name="Bench", role="admin")
    session.commit()
    return create_round(
        session=session,
        user=admin,
        name="Carga",
        opens_on=date(2026, 1, 1),
        closes_on=date(2026, 12, 31),
        state="open",
        questionnaire_version_id=version.id,
    )


def add_manager(session, index: int):
    """Cooperative number ``index`` (a valid RUT) and its manager's account (no password); returns both."""
    from stdnum.cl import rut as cl_rut

    from app.auth.service import create_user
    from app.cooperatives.models import Cooperative

    number = str(70_000_000 + index)
    cooperative = Cooperative(
        rut=f"{number}-{cl_rut.calc_check_digit(number)}",
        name=f"Cooperativa de carga {index}",
        legal_type="agricola",
        region_code=(index % 16) + 1,
        sectors=[],
    )
    session.add(cooperative)
    session.flush()
    manager = create_user(
        session=session,
        email=f"bench{index}@example.cl",
        full_name=f"Gerente {index}",
        role="manager",
        cooperative_ids=[cooperative.id],
    )
    return cooperative, manager


def prepare(database_url: str, clients: int) -> tuple[list[dict], dict]:
    """Migrate, then create one manager, cooperative and draft response per client."""
    from app.auth.service import issue_api_token
    from app.db import make_engine, make_sessionmaker, upgrade_database
    from app.responses import service as responses
    from app.rounds.service import get_round_questionnaire
    from app.settings import Settings

    upgrade_database("head", database_url=database_url)
    settings = Settings(database_url=database_url)
    engine = make_engine(database_url)
    session = make_sessionmaker(engine)()
    diagnosis_round = open_round(session)
    questionnaire = get_round_questionnaire(session=session, round=diagnosis_round)
    plan = []
    for index in range(clients):
        cooperative, manager = add_manager(session, index)
        token = issue_api_token(session=session, user=manager, name="carga")
        session.commit()
        session.refresh(manager)
        response, _ = responses.create_response(
            session=session,
            user=manager,
            settings=settings,
            data={"cooperative_id": cooperative.id, "round_id": diagnosis_round.id, "mode": "self", "answers": None},
            idempotency_key=str(uuid.uuid4()),
        )
        plan.append({"token": token, "response_id": response.id, "version": response.version})
    session.commit()  # the services work in the caller's unit of work
    session.close()
    engine.dispose()
    # What a client can save: yes/no questions that are always shown (any value is valid).
    savable = [q.id for q in questionnaire.questions if q.type == "yes_no" and q.relevant is None]
    return plan, {"questions": savable}


class RawConnection:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams. httpx costs 1–2 ms of CPU per
    request, and the load generator shares the 2 cores with the server: that would measure
    the client. This costs a few tens of microseconds."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.headers: dict[str, str] = {}  # of the last response, names in lower case

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{key}: {value}\r\n" for key, value in headers.items())
        self.writer.write(head.encode() + b"\r\n" + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("connection closed")
        status = int(status_line.split()[1])
        self.headers = {}
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            self.headers[name.strip().lower()] = value.strip()
        return status, await self.reader.readexactly(int(self.headers.get("content-length", 0)))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def client_loop(
    port: int,
    spec: dict,
    questions: list[str],
    window: tuple[float, float],
    latencies: list[float],
    outcome: dict,
    seed: int,
    interval: float = 0.0,
) -> None:
    """Save until the end of ``window``; latencies and saves count only inside it (warm-up before)."""
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {spec['token']}"}
    path = f"/api/v1/responses/{spec['response_id']}/answers"
    expected: dict[str, object] = {}
    saves = 0
    version = spec["version"]
    measure_from, deadline = window
    connection = RawConnection(port)
    try:
        next_at = time.perf_counter() + rng.uniform(0, interval)
        while time.perf_counter() < deadline:
            if interval:  # a person answering: one save every `interval` seconds, not back to back
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                next_at += interval
            qid = rng.choice(questions)
            value = not expected[qid] if qid in expected else rng.random() < 0.5
            body = json.dumps({"answers": {qid: value}, "version": version}).encode()
            started = time.perf_counter()
            try:
                status, payload = await connection.request("PATCH", path, headers, body)
            except (OSError, ConnectionError, asyncio.IncompleteReadError) as error:
                outcome["transport_errors"].append(repr(error))
                connection.close()
                connection = RawConnection(port)
                continue
            measured = started >= measure_from
            if measured:
                latencies.append(time.perf_counter() - started)
            if status == 200:
                version = json.loads(payload)["version"]
                expected[qid] = value
                saves += 1
                outcome["window_saves"] += measured
            else:
                outcome["errors"][status] = outcome["errors"].get(status, 0) + 1
                if status == 409:
                    version = json.loads(payload).get("error", {}).get("current", {}).get("version", version)
    finally:
        connection.close()
    outcome["expected"][spec["response_id"]] = (expected, saves)


async def run_clients(
    plan: list[dict],
    questions: list[str],
    port: int,
    seconds: float,
    rate: float = 0.0,
    warmup: float = 0.0,
    sample: Callable[[], dict] | None = None,
) -> tuple[list[float], dict, float]:
    """Load for ``warmup + seconds``; ``sample`` (CPU counters) is called when the measured
    window opens and when it closes, and the two readings are returned in the outcome."""
    latencies: list[float] = []
    outcome: dict = {"errors": {}, "transport_errors": [], "expected": {}, "window_saves": 0, "cpu": []}
    measure_from = time.perf_counter() + warmup
    window = (measure_from, measure_from + seconds)

    async def sample_at(moment: float) -> None:
        await asyncio.sleep(max(0.0, moment - time.perf_counter()))
        if sample is not None:
            outcome["cpu"].append(await asyncio.to_thread(sample))

    await asyncio.gather(
        sample_at(window[0]),
        *(
            client_loop(port, spec, questions, window, latencies, outcome, seed, 1 / rate if rate else 0.0)
            for seed, spec in enumerate(plan)
        ),
    )
    if sample is not None:
        outcome["cpu"].append(await asyncio.to_thread(sample))
    return latencies, outcome, time.perf_counter() - measure_from


# --------------------------------------------------------------------------- CPU accounting (Linux /proc)

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of one process (0 when it is gone or /proc is missing)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if parent == pid:
                found.append(int(entry.name))
    return found


def machine_busy() -> float:
    """CPU seconds the whole machine spent not idle, summed over its cores."""
    try:
        with open("/proc/stat") as stat:
            values = [int(v) for v in stat.readline().split()[1:]]
    except OSError:
        return 0.0
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return (sum(values[:8]) - idle) / CLOCK_TICKS


def cpu_sampler(server_pid: int, backend_pids: Callable[[], list[int]]) -> Callable[[], dict]:
    def sample() -> dict:
        times = os.times()
        return {
            "server": {pid: process_cpu(pid) for pid in children_of(server_pid) + [server_pid]},
            "database": {pid: process_cpu(pid) for pid in backend_pids()},
            "generator": times.user + times.system,
            "machine": machine_busy(),
            "at": time.perf_counter(),
        }

    return sample


def cpu_report(first: dict, last: dict, saves: int, unit: str = "save") -> str:
    def spent(kind: str) -> float:
        return sum(value - first[kind].get(pid, 0.0) for pid, value in last[kind].items())

    if not saves or not last["machine"]:
        return f"CPU per {unit}: not measured (no /proc or no {unit}s)"
    seconds = last["at"] - first["at"]
    server, database = spent("server"), spent("database")
    generator = last["generator"] - first["generator"]
    machine = last["machine"] - first["machine"]
    others = max(0.0, machine - server - database - generator)
    parts = [("uvicorn", server), ("postgres", database), ("generator", generator)]
    per_save = " + ".join(
        f"{name} {value / saves * 1000:.2f}"
        for name, value in parts
        if name != "postgres" or first["database"] or last["database"]
    )
    report = (
        f"CPU ms per {unit}: {per_save} = {(server + database + generator) / saves * 1000:.2f}; "
        f"machine busy {machine / seconds:.2f} of {os.cpu_count()} cores "
        f"({others / seconds:.2f} by other processes)"
    )
    opened = set(last["database"]) - set(first["database"])
    if opened:  # a backend that came and went between the samples is not counted at all
        report += (
            f"\n  note: {len(opened)} PostgreSQL connections were opened during the run "
            "(pool overflow): the CPU of those already closed is missing above"
        )
    return report


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


@contextlib.contextmanager
def bench_database(backend: str, workdir: Path) -> Iterator[tuple[str, str, Callable[[], list[int]]]]:
    """A fresh database: a SQLite file in ``workdir``, or a new PostgreSQL schema dropped on exit.
    Yields the URL to prepare and verify with, the URL for the server (its PostgreSQL
    connections carry the schema as application name) and a function listing the pids of
    the server's PostgreSQL backends (none for SQLite)."""
    if backend == "sqlite":
        url = f"sqlite:///{workdir / 'load.db'}"
        yield url, url, list
        return
    schema = f"load_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_BASE, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(PG_BASE).update_query_dict({"options": f"-csearch_path={schema}"})
    server_url = url.update_query_dict({"application_name": schema}).render_as_string(hide_password=False)

    def backend_pids() -> list[int]:
        with admin.connect() as connection:
            return list(
                connection.execute(
                    text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"), {"name": schema}
                ).scalars()
            )

    try:
        yield url.render_as_string(hide_password=False), server_url, backend_pids
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@contextlib.contextmanager
def uvicorn_server(
    database_url: str, port: int, workers: int, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen]:
    """uvicorn serving the app on 127.0.0.1:``port`` until the block ends; ready when yielded."""
    env = dict(
        os.environ,
        COOPDIAG_DATABASE_URL=database_url,
        COOPDIAG_QUESTIONNAIRES_DIR=str(ROOT / "questionnaires"),
        **(env or {}),
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_ready(port, server)
        yield server
    finally:
        server.terminate()
        server.wait(timeout=30)


def verify(database_url: str, outcome: dict) -> dict:
    from app.responses.models import Response, ResponseEvent

    engine = create_engine(database_url)
    lost = duplicated = wrong = 0
    with engine.connect() as connection:
        for response_id, (expected, saves) in outcome["expected"].items():
            answers = connection.execute(select(Response.answers).where(Response.id == response_id)).scalar_one()
            events = connection.execute(
                select(func.count())
                .select_from(ResponseEvent)
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
    parser.add_argument("--seconds", type=float, default=20, help="measured seconds (after the warm-up)")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of load before measuring")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="saves per second per client (0 = back to back, to find the saturation throughput)",
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="coopdiag-load-"))
    with bench_database(args.backend, workdir) as (database_url, server_url, backend_pids):
        plan, info = prepare(database_url, args.clients)
        with uvicorn_server(server_url, args.port, args.workers) as server:
            load = run_clients(
                plan,
                info["questions"],
                args.port,
                args.seconds,
                args.rate,
                args.warmup,
                cpu_sampler(server.pid, backend_pids),
            )
            latencies, outcome, elapsed = run_event_loop(load)
        counts = verify(database_url, outcome)

    saves = outcome["window_saves"]
    ordered = sorted(latencies)

    def percentile(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else float("nan")

    pace = f"{args.rate:g} saves/s each" if args.rate else "back to back"
    print(
        f"backend: {args.backend}, uvicorn {args.workers} workers, {args.clients} clients ({pace}), "
        f"{elapsed:.1f} s measured after {args.warmup:g} s of warm-up"
    )
    print(f"requests: {len(latencies)}, successful saves: {saves} ({saves / elapsed:,.0f} saves/s)")
    print(
        f"latency ms: p50 {percentile(0.50):.1f}, p95 {percentile(0.95):.1f}, p99 {percentile(0.99):.1f}, "
        f"max {ordered[-1] * 1000 if ordered else float('nan'):.1f}, mean {statistics.fmean(ordered) * 1000 if ordered else float('nan'):.1f}"
    )
    if len(outcome["cpu"]) == 2:
        print(cpu_report(*outcome["cpu"], saves))
    print(f"error statuses: {outcome['errors'] or 'none'}; transport errors: {len(outcome['transport_errors'])}")
    print(
        f"after the run, in the database: lost {counts['lost']}, duplicated {counts['duplicated']}, "
        f"wrong value {counts['wrong_value']}"
    )
    if any(counts.values()) or outcome["errors"] or outcome["transport_errors"]:
        sys.exit(1)


def run_event_loop(coroutine):
    """uvloop when installed (a lighter generator: it shares the cores with the server).

    Called where an event loop already runs in this thread (a test process that also drives
    Playwright's sync API, say), the generator gets a thread and a loop of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(run_event_loop, coroutine).result()
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)


if __name__ == "__main__":
    main()
