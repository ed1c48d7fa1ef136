"""A round opens: cooperative managers log in, fill and autosave, submit and download their PDF.

    .venv/bin/python bench/load.py --backend postgresql   # PostgreSQL at 127.0.0.1:5432, database test
    .venv/bin/python bench/load.py --backend sqlite
    options: --managers 200 --second-tab 0.25 (share of managers who also fill from a second tab)
             --think 0 (mean seconds between two sections) --ramp 0 (seconds over which the managers
             arrive; 0 = all at once) --timeout 900 --workers 2 --port 8766 --seed 20261122

Prepares one open round with the national questionnaire and N cooperatives, each with a
manager account (password login; the password is hashed once and the hash reused). Then
against uvicorn (2 workers) each simulated manager, on its own keep-alive connection:

1. POST /api/v1/auth/login: the session cookie and the CSRF token, sent on every write;
2. POST /api/v1/responses with an Idempotency-Key (a transport failure is retried with the
   same key; one manager in ten also replays the request on purpose and must get the same
   response back);
3. fills the questionnaire section by section (the form's sections: subcategories), one
   autosave per section (PATCH /answers with If-Match), with a complete valid answer set
   (seeded) that answers only the relevant questions. A share of the managers fill from a
   second tab too (another login), the two tabs taking alternate sections at the same time:
   their stale versions get 409, the intended conflicts, handled by re-reading the response
   (GET) and saving again;
4. POST /submit (with the version in the body; 409 handled the same way);
5. GET /report.pdf.

Afterwards the server is stopped and the database read back: for every manager, one
response (none lost, none duplicated), exactly the answers its tabs sent (none lost,
changed or extra), one audit event per answer, one creation and one submission event,
status «submitted» and a result snapshot equal to scoring the answers sent. Any answer
other than the expected one, beyond the intended 409s, is an error. The run is bounded:
N managers and --timeout seconds; traffic stays on 127.0.0.1. Prints a Markdown summary
(latency p50/p95/p99 and throughput per endpoint) and exits 1 when anything is wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import scoring  # noqa: E402
from bench.api_load import (  # noqa: E402
    RawConnection,
    add_manager,
    bench_database,
    cpu_report,
    cpu_sampler,
    open_round,
    run_event_loop,
    uvicorn_server,
)
from bench.scoring import random_answers  # noqa: E402

ENDPOINTS = ("login", "create", "read", "autosave", "submit", "report")
PASSWORD = "carga-de-ronda-2026"
TRANSPORT_RETRIES = 3
KEEP_ALIVE = 4.0  # uvicorn closes a connection idle for 5 s: a browser opens a new one, so do the tabs


# --------------------------------------------------------------------------- preparation


@dataclass
class Plan:
    round_id: int
    questionnaire: scoring.Questionnaire
    managers: list[dict]  # email, cooperative_id


def prepare(database_url: str, managers: int) -> Plan:
    """Migrate; one open round with the national questionnaire; per manager a cooperative and an account."""
    from app.auth.security import hash_password
    from app.db import make_engine, make_sessionmaker, upgrade_database
    from app.rounds.service import get_round_questionnaire

    upgrade_database("head", database_url=database_url)
    engine = make_engine(database_url)
    session = make_sessionmaker(engine)()
    diagnosis_round = open_round(session)
    password_hash = hash_password(PASSWORD)  # argon2 is slow on purpose: once, not N times
    people = []
    for index in range(managers):
        cooperative, manager = add_manager(session, index)
        manager.password_hash = password_hash
        people.append({"email": manager.email, "cooperative_id": cooperative.id})
    session.commit()
    plan = Plan(diagnosis_round.id, get_round_questionnaire(session=session, round=diagnosis_round), people)
    session.close()
    engine.dispose()
    return plan


def complete_answers(questionnaire: scoring.Questionnaire, rng: random.Random) -> dict:
    """A valid answer set that can be submitted: only relevant questions answered, every
    relevant required one answered (relevance depends on the answers: repeat until stable)."""
    answers = random_answers(questionnaire, rng)
    for _ in range(50):
        relevant = scoring.relevant_questions(questionnaire, answers)
        kept = {qid: value for qid, value in answers.items() if relevant[qid]}
        if kept != answers:
            answers = kept
            continue
        missing = scoring.missing_required(questionnaire, answers)
        if not missing:
            assert not scoring.validate_answers(questionnaire, answers), "generated an invalid answer set"
            return answers
        more = random_answers(questionnaire, rng)
        answers.update({qid: more[qid] for qid in missing if qid in more})
    raise RuntimeError("could not complete an answer set")


def sections(questionnaire: scoring.Questionnaire, answers: dict) -> list[dict]:
    """The answers grouped as the manager's form shows them: one section per subcategory."""
    grouped = [
        {q.id: answers[q.id] for q in subcategory.questions if q.id in answers}
        for dimension in questionnaire.dimensions
        for subcategory in dimension.subcategories
    ]
    return [section for section in grouped if section]


# --------------------------------------------------------------------------- the simulated managers


class Failed(Exception):
    """A manager stops: an answer other than the expected ones (already recorded)."""


@dataclass
class Record:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in ENDPOINTS})
    conflicts: Counter = field(default_factory=Counter)  # intended: stale versions (409) per endpoint
    errors: list[str] = field(default_factory=list)  # anything else
    transport_errors: int = 0
    replays_differing: int = 0
    two_tabs: int = 0  # managers who filled from two tabs


class Tab:
    """One browser tab: a keep-alive connection and, after logging in, a session cookie and CSRF token."""

    def __init__(self, port: int, record: Record) -> None:
        self.port = port
        self.record = record
        self.connection = RawConnection(port)
        self.headers: dict[str, str] = {}
        self.version = 0
        self.used = time.perf_counter()

    async def call(
        self,
        endpoint: str,
        method: str,
        path: str,
        body: object = None,
        headers: dict[str, str] | None = None,
        expected: tuple[int, ...] = (200,),
    ) -> tuple[int, bytes]:
        """One request (retried on a new connection after a transport failure); 409 is left to the
        caller, any other status not in ``expected`` is recorded as an error and stops the manager."""
        raw = b"" if body is None else json.dumps(body).encode()
        if time.perf_counter() - self.used > KEEP_ALIVE:
            self.connection.close()
            self.connection = RawConnection(self.port)
        for attempt in range(TRANSPORT_RETRIES + 1):
            started = time.perf_counter()
            try:
                status, payload = await self.connection.request(method, path, {**self.headers, **(headers or {})}, raw)
            except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError):
                self.record.transport_errors += 1
                self.connection.close()
                self.connection = RawConnection(self.port)
                if attempt == TRANSPORT_RETRIES:
                    self.record.errors.append(f"{endpoint}: no answer after {TRANSPORT_RETRIES} retries")
                    raise Failed from None
                continue
            self.used = time.perf_counter()
            self.record.latencies[endpoint].append(self.used - started)
            if status in expected or status == 409:
                return status, payload
            self.record.errors.append(f"{endpoint} {status} {_error_code(payload)}")
            raise Failed
        raise AssertionError("unreachable")

    async def login(self, email: str) -> None:
        _, payload = await self.call("login", "POST", "/api/v1/auth/login", {"email": email, "password": PASSWORD})
        cookie = self.connection.headers.get("set-cookie", "").split(";")[0]
        self.headers = {"Cookie": cookie, "X-CSRF-Token": json.loads(payload)["csrf_token"]}

    async def reread(self, response_id: int) -> None:
        _, payload = await self.call("read", "GET", f"/api/v1/responses/{response_id}")
        self.version = json.loads(payload)["version"]

    async def save(self, response_id: int, answers: dict, saved: dict) -> None:
        """Autosave one section; ``saved`` gathers what the server acknowledged."""
        while True:  # a stale version (the other tab saved meanwhile): read again and save again
            status, payload = await self.call(
                "autosave",
                "PATCH",
                f"/api/v1/responses/{response_id}/answers",
                {"answers": answers},
                {"If-Match": f'"{self.version}"'},
            )
            if status == 200:
                self.version = json.loads(payload)["version"]
                saved.update(answers)
                return
            self.record.conflicts["autosave"] += 1
            await self.reread(response_id)

    async def submit(self, response_id: int) -> None:
        while True:
            status, payload = await self.call(
                "submit", "POST", f"/api/v1/responses/{response_id}/submit", {"version": self.version}
            )
            if status == 200:
                return
            self.record.conflicts["submit"] += 1
            await self.reread(response_id)

    def close(self) -> None:
        self.connection.close()


def _error_code(payload: bytes) -> str:
    try:
        return json.loads(payload)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return repr(payload[:60])


async def think(rng: random.Random, mean: float) -> None:
    if mean:
        await asyncio.sleep(rng.uniform(0.5 * mean, 1.5 * mean))


async def manager(
    plan: Plan,
    spec: dict,
    answers: dict,
    port: int,
    record: Record,
    seed: int,
    second_tab: bool,
    think_time: float,
    start_at: float,
) -> dict:
    """One manager's session from login to PDF; returns what it sent and got, for the check."""
    rng = random.Random(seed)
    outcome = {
        "cooperative_id": spec["cooperative_id"],
        "answers": {},
        "response_id": None,
        "sections": 0,
        "submitted": False,
        "pdf_bytes": 0,
    }
    await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
    tabs = [Tab(port, record) for _ in range(2 if second_tab else 1)]
    try:
        await asyncio.gather(*(tab.login(spec["email"]) for tab in tabs))
        first = tabs[0]
        create = {"cooperative_id": spec["cooperative_id"], "round_id": plan.round_id, "mode": "self"}
        key = {"Idempotency-Key": str(uuid.UUID(int=rng.getrandbits(128)))}
        _, payload = await first.call("create", "POST", "/api/v1/responses", create, key, expected=(200, 201))
        created = json.loads(payload)
        outcome["response_id"] = response_id = created["id"]
        first.version = created["version"]
        if seed % 10 == 0:  # a client that did not see the answer sends the same request again
            _, again = await first.call("create", "POST", "/api/v1/responses", create, key, expected=(200, 201))
            record.replays_differing += json.loads(again)["id"] != response_id
        parts = sections(plan.questionnaire, answers)
        outcome["sections"] = len(parts)

        async def fill(tab: Tab, mine: list[dict]) -> None:
            if tab is not first:
                await tab.reread(response_id)
            for section in mine:
                await think(rng, think_time)
                await tab.save(response_id, section, outcome["answers"])

        await asyncio.gather(*(fill(tab, parts[number :: len(tabs)]) for number, tab in enumerate(tabs)))
        await first.submit(response_id)
        outcome["submitted"] = True
        _, pdf = await first.call("report", "GET", f"/api/v1/responses/{response_id}/report.pdf")
        if not pdf.startswith(b"%PDF-"):
            record.errors.append(f"report: not a PDF ({pdf[:20]!r})")
        outcome["pdf_bytes"] = len(pdf)
    except Failed:
        pass
    finally:
        for tab in tabs:
            tab.close()
    return outcome


async def run_managers(
    plan: Plan, port: int, *, seed: int, second_tab: float, think_time: float, ramp: float, timeout: float, sample
) -> tuple[list[dict], Record, float, list[dict]]:
    record = Record()
    rng = random.Random(seed)
    answer_sets = [complete_answers(plan.questionnaire, rng) for _ in plan.managers]
    two_tabs = [rng.random() < second_tab for _ in plan.managers]
    record.two_tabs = sum(two_tabs)
    samples = [await asyncio.to_thread(sample)]
    started = time.perf_counter()
    tasks = [
        asyncio.ensure_future(
            manager(
                plan,
                spec,
                answer_sets[index],
                port,
                record,
                index,
                two_tabs[index],
                think_time,
                started + ramp * index / len(plan.managers),
            )
        )
        for index, spec in enumerate(plan.managers)
    ]
    done, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in pending:
        task.cancel()
    elapsed = time.perf_counter() - started
    samples.append(await asyncio.to_thread(sample))
    if pending:
        record.errors.append(f"{len(pending)} managers did not finish within {timeout:g} s")
    return [task.result() for task in tasks if task in done], record, elapsed, samples


# --------------------------------------------------------------------------- the check


def verify(database_url: str, plan: Plan, outcomes: list[dict]) -> dict[str, int]:
    """Compare what every manager sent and got with the database; every count must be 0."""
    from app.db import make_engine
    from app.responses.models import Response, ResponseEvent
    from app.responses.service import snapshot_of

    counts = Counter(
        {
            name: 0
            for name in (
                "managers_unfinished",
                "responses_lost",
                "responses_duplicated",
                "answers_lost",
                "answers_wrong",
                "answers_extra",
                "answer_events_missing",
                "answer_events_extra",
                "lifecycle_events_wrong",
                "not_submitted",
                "snapshot_missing",
                "snapshot_differs",
                "pdf_missing",
            )
        }
    )
    engine = make_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(select(Response).where(Response.round_id == plan.round_id)).all()
        events = Counter(
            {
                (response_id, kind): number
                for response_id, kind, number in connection.execute(
                    select(ResponseEvent.response_id, ResponseEvent.kind, func.count()).group_by(
                        ResponseEvent.response_id, ResponseEvent.kind
                    )
                )
            }
        )
    engine.dispose()
    by_cooperative: dict[int, list] = {}
    for row in rows:
        by_cooperative.setdefault(row.cooperative_id, []).append(row)
    finished = {outcome["cooperative_id"]: outcome for outcome in outcomes}
    for spec in plan.managers:
        stored = by_cooperative.get(spec["cooperative_id"], [])
        outcome = finished.get(spec["cooperative_id"])
        counts["responses_duplicated"] += max(0, len(stored) - 1)
        if outcome is None or not outcome["submitted"] or not outcome["pdf_bytes"]:
            counts["managers_unfinished"] += 1
        if outcome is None or outcome["response_id"] is None:
            continue
        mine = [row for row in stored if row.id == outcome["response_id"]]
        if not mine:
            counts["responses_lost"] += 1
            continue
        row, sent = mine[0], outcome["answers"]
        counts["answers_lost"] += sum(1 for qid in sent if qid not in row.answers)
        counts["answers_wrong"] += sum(
            1 for qid, value in sent.items() if qid in row.answers and row.answers[qid] != value
        )
        counts["answers_extra"] += sum(1 for qid in row.answers if qid not in sent)
        logged = events[(row.id, "answer_changed")]
        counts["answer_events_missing"] += max(0, len(sent) - logged)
        counts["answer_events_extra"] += max(0, logged - len(sent))
        counts["lifecycle_events_wrong"] += (events[(row.id, "created")] != 1) + (events[(row.id, "submitted")] != 1)
        counts["not_submitted"] += row.status != "submitted"
        if row.result_snapshot is None or row.snapshot_questionnaire_version_id is None:
            counts["snapshot_missing"] += 1
        elif _normal(row.result_snapshot) != _normal(snapshot_of(scoring.score(plan.questionnaire, sent))):
            counts["snapshot_differs"] += 1
        counts["pdf_missing"] += not outcome["pdf_bytes"]
    return dict(counts)


def _normal(data: object) -> object:
    return json.loads(json.dumps(data, sort_keys=True))


# --------------------------------------------------------------------------- running and reporting


def run(
    *,
    backend: str,
    managers: int,
    port: int,
    workers: int = 2,
    second_tab: float = 0.25,
    think_time: float = 0.0,
    ramp: float = 0.0,
    timeout: float = 900.0,
    seed: int = 20261122,
) -> dict:
    """Prepare, serve, load, stop, check. Returns every figure of the summary."""
    load_before = os.getloadavg()
    with (
        tempfile.TemporaryDirectory(prefix="coopdiag-round-") as workdir,
        bench_database(backend, Path(workdir)) as (database_url, server_url, backend_pids),
    ):
        prepared = time.perf_counter()
        plan = prepare(database_url, managers)
        prepared = time.perf_counter() - prepared
        # No worker here: the PDF is rendered as the submission commits (immediate queue), so the
        # download finds it stored. bench/report_queue.py measures the queue with a worker.
        cache = {"COOPDIAG_REPORTS_CACHE_DIR": str(Path(workdir) / "informes"), "COOPDIAG_QUEUE_URL": "immediate"}
        with uvicorn_server(server_url, port, workers, cache) as server:
            outcomes, record, elapsed, samples = run_event_loop(
                run_managers(
                    plan,
                    port,
                    seed=seed,
                    second_tab=second_tab,
                    think_time=think_time,
                    ramp=ramp,
                    timeout=timeout,
                    sample=cpu_sampler(server.pid, backend_pids),
                )
            )
        counts = verify(database_url, plan, outcomes)
    return {
        "backend": backend,
        "managers": managers,
        "workers": workers,
        "second_tab": second_tab,
        "think": think_time,
        "ramp": ramp,
        "seed": seed,
        "prepare_seconds": prepared,
        "elapsed": elapsed,
        "latencies": record.latencies,
        "conflicts": dict(record.conflicts),
        "errors": record.errors,
        "transport_errors": record.transport_errors,
        "replays_differing": record.replays_differing,
        "answers_sent": sum(len(outcome["answers"]) for outcome in outcomes),
        "sections_sent": sum(outcome["sections"] for outcome in outcomes),
        "two_tabs": record.two_tabs,
        "checks": counts,
        "cpu": cpu_report(*samples, managers, unit="manager"),
        "load_before": load_before,
        "load_after": os.getloadavg(),
    }


def failures(summary: dict) -> int:
    """Everything that must be zero: unexpected answers, transport failures, and the database check."""
    return (
        len(summary["errors"])
        + summary["transport_errors"]
        + summary["replays_differing"]
        + sum(summary["checks"].values())
    )


ENDPOINT_ES = {
    "login": "inicio de sesión (`POST /auth/login`)",
    "create": "crear respuesta (`POST /responses`)",
    "read": "releer (`GET /responses/{id}`)",
    "autosave": "autoguardado (`PATCH /responses/{id}/answers`)",
    "submit": "enviar (`POST /responses/{id}/submit`)",
    "report": "informe (`GET /responses/{id}/report.pdf`)",
}
CHECK_ES = {
    "managers_unfinished": "gerentes sin terminar",
    "responses_lost": "respuestas perdidas",
    "responses_duplicated": "respuestas duplicadas",
    "answers_lost": "valores perdidos",
    "answers_wrong": "valores distintos",
    "answers_extra": "valores sobrantes",
    "answer_events_missing": "eventos de cambio faltantes",
    "answer_events_extra": "eventos de cambio sobrantes",
    "lifecycle_events_wrong": "eventos de creación o envío erróneos",
    "not_submitted": "sin enviar",
    "snapshot_missing": "sin resultado guardado",
    "snapshot_differs": "resultado distinto del recalculado",
    "pdf_missing": "sin PDF",
}


def markdown(summary: dict) -> str:
    """The summary in Spanish with Chilean numbers, ready for docs/performance.md."""
    from app.web.render import numero

    def ms(ordered: list[float], p: float) -> str:
        return numero(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 0) if ordered else "—"

    def row(name: str, ordered: list[float]) -> str:
        return (
            f"| {name} | {numero(len(ordered), 0)} | {numero(len(ordered) / elapsed, 1)} | {ms(ordered, 0.5)} | "
            f"{ms(ordered, 0.95)} | {ms(ordered, 0.99)} | {ms(ordered, 1)} |"
        )

    elapsed = summary["elapsed"]
    lines = [
        f"{summary['managers']} gerentes ({summary['two_tabs']} con dos pestañas), {summary['backend']}, uvicorn con "
        f"{summary['workers']} procesos, pausa media entre secciones {numero(summary['think'])} s, llegada repartida en "
        f"{numero(summary['ramp'])} s: **{numero(elapsed, 1)} s** del primer inicio de sesión al último PDF "
        f"({numero(summary['managers'] / elapsed * 60, 0)} gerentes por minuto; preparación {numero(summary['prepare_seconds'], 1)} s).",
        "",
        "| operación | solicitudes | por segundo | p50 ms | p95 ms | p99 ms | máx. ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [row(ENDPOINT_ES[name], sorted(summary["latencies"][name])) for name in ENDPOINTS]
    lines.append(row("todas", sorted(value for name in ENDPOINTS for value in summary["latencies"][name])))
    conflicts, checks = summary["conflicts"], summary["checks"]
    errors = Counter(summary["errors"])
    lines += [
        "",
        f"- conflictos previstos (409 por versión obsoleta: se relee y se guarda de nuevo): autoguardado "
        f"{conflicts.get('autosave', 0)}, envío {conflicts.get('submit', 0)}",
        "- otros errores: "
        + (", ".join(f"{text} × {count}" for text, count in errors.most_common()) or "0")
        + f"; errores de transporte: {summary['transport_errors']}; "
        f"repeticiones idempotentes con otra respuesta: {summary['replays_differing']}",
        f"- verificación en la base de datos ({numero(summary['answers_sent'], 0)} valores confirmados): "
        + ", ".join(f"{CHECK_ES[name]} {value}" for name, value in checks.items()),
        f"- {summary['cpu']}",
        "- promedio de carga de la máquina (1, 5, 15 min): antes {}, después {}".format(
            *(
                " / ".join(numero(value, 2) for value in load)
                for load in (summary["load_before"], summary["load_after"])
            )
        ),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--managers", type=int, default=200)
    parser.add_argument(
        "--second-tab", type=float, default=0.25, help="share of managers filling from two tabs at once"
    )
    parser.add_argument("--think", type=float, default=0.0, help="mean seconds of reading between two sections")
    parser.add_argument("--ramp", type=float, default=0.0, help="seconds over which the managers arrive (0 = at once)")
    parser.add_argument(
        "--timeout", type=float, default=900.0, help="seconds after which unfinished managers count as failures"
    )
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--seed", type=int, default=20261122)
    args = parser.parse_args()
    summary = run(
        backend=args.backend,
        managers=args.managers,
        port=args.port,
        workers=args.workers,
        second_tab=args.second_tab,
        think_time=args.think,
        ramp=args.ramp,
        timeout=args.timeout,
        seed=args.seed,
    )
    print(markdown(summary))
    if failures(summary):
        sys.exit(1)


if __name__ == "__main__":
    main()
