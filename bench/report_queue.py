"""Reports on the task queue: from submission to stored PDF, downloads of stored files, re-render.

    .venv/bin/python bench/report_queue.py --backend sqlite --managers 20
    .venv/bin/python bench/report_queue.py --backend postgresql --managers 200 --queue redis://127.0.0.1:6379/9
    options: --worker-processes 1 (huey worker processes beside the server) --rerender 1,2 (re-render
             the whole round with 1, then 2 worker processes; empty to skip) --workers 2 (uvicorn)
             --port 8767 --timeout 600 --seed 20261122

Prepares one open round with the national questionnaire and N cooperatives with a manager
each (``bench/load.py``'s preparation), then serves the app with uvicorn and runs a huey
worker (``app.reports.tasks``) on the chosen broker (default: an SQLite queue file beside the
database; ``redis://…`` is flushed first, use a spare database number). Each manager, on its
own keep-alive connection, logs in, creates its response with a complete answer set and
submits it; the bench then waits until every report is stored and measures:

- submission → PDF stored: from sending the submit to the row's ``rendered_at`` (p50/p95/max);
- downloads of stored PDFs: every manager downloads its PDF twice (p50/p95/p99), all 200;
- 0 lost / 0 duplicated: one row per submitted response, every one ``ready`` after exactly one
  attempt (no render claimed twice), one PDF file each and no temporary file left;
- the round ZIP of the stored reports: an analyst (an account the bench creates) downloads
  ``/analista/rondas/{round_id}/informes.zip`` once: time to the first byte of the body, total
  time, size and MB/s (beside, for reference, reading the same PDF files straight from the
  folder); the ZIP must open and hold exactly one PDF per submitted response and nothing else;
- with ``--rerender``: the round's PDFs asked for again at once (the files removed first, as a
  renderer change would make new ones) and rendered by 1, then 2 worker processes: seconds until
  all are stored, and reports per second.

Traffic stays on 127.0.0.1. Prints a Markdown summary; exits 1 when anything is wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from contextlib import contextmanager
from datetime import datetime, timezone
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api_load import RawConnection, bench_database, uvicorn_server  # noqa: E402
from bench.load import PASSWORD, complete_answers, prepare  # noqa: E402

WORKER = """
import logging, sys
from app import queue
import app.tasks  # noqa: F401 - registers every task (and the fork hook)
from app.settings import get_settings

logging.basicConfig(level=logging.WARNING)
queue.configure(get_settings())
queue.huey.create_consumer(workers=int(sys.argv[1]), worker_type="process", periodic=False).run()
"""


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


@contextmanager
def worker(env: dict[str, str], processes: int):
    """A huey consumer with ``processes`` worker processes until the block ends."""
    process = subprocess.Popen([sys.executable, "-c", WORKER, str(processes)], cwd=ROOT, env=env)
    try:
        yield process
    finally:
        process.terminate()  # SIGTERM: huey stops at once (a task in flight is swept later)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


async def manager(port: int, person: dict, round_id: int, answers: dict, submitted: dict) -> None:
    connection = RawConnection(port)
    try:
        status, payload = await connection.request(
            "POST", "/api/v1/auth/login", {}, json.dumps({"email": person["email"], "password": PASSWORD}).encode()
        )
        assert status == 200, payload
        cookie = connection.headers.get("set-cookie", "").split(";")[0]
        headers = {"Cookie": cookie, "X-CSRF-Token": json.loads(payload)["csrf_token"]}
        body = {"cooperative_id": person["cooperative_id"], "round_id": round_id, "mode": "self", "answers": answers}
        status, payload = await connection.request(
            "POST", "/api/v1/responses", {**headers, "Idempotency-Key": str(uuid.uuid4())}, json.dumps(body).encode()
        )
        assert status == 201, payload
        created = json.loads(payload)
        sent_at = time.time()
        status, payload = await connection.request(
            "POST",
            f"/api/v1/responses/{created['id']}/submit",
            headers,
            json.dumps({"version": created["version"]}).encode(),
        )
        assert status == 200, payload
        submitted[created["id"]] = {"sent_at": sent_at, "headers": headers}
    finally:
        connection.close()


async def download(port: int, response_id: int, headers: dict, latencies: list[float], statuses: list[int]) -> None:
    connection = RawConnection(port)
    try:
        for _ in range(2):
            started = time.perf_counter()
            status, payload = await connection.request(
                "GET", f"/api/v1/responses/{response_id}/report.pdf", headers, b""
            )
            latencies.append(time.perf_counter() - started)
            statuses.append(status if payload.startswith(b"%PDF") else -status)
    finally:
        connection.close()


ANALYST_EMAIL = "bench-analista@example.cl"


def add_analyst(database_url: str) -> None:
    """A staff account (analyst) with the managers' password: it downloads the round ZIP."""
    from app.auth.security import hash_password
    from app.auth.service import create_user
    from app.db import make_engine, make_sessionmaker

    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            user = create_user(session=session, email=ANALYST_EMAIL, full_name="Analista de carga", role="analyst")
            user.password_hash = hash_password(PASSWORD)
            session.commit()
    finally:
        engine.dispose()


async def round_zip(port: int, round_id: int) -> dict:
    """The analyst logs in and downloads the round ZIP (chunked stream, read as it arrives)."""
    connection = RawConnection(port)
    try:
        status, payload = await connection.request(
            "POST", "/api/v1/auth/login", {}, json.dumps({"email": ANALYST_EMAIL, "password": PASSWORD}).encode()
        )
        assert status == 200, payload
        cookie = connection.headers.get("set-cookie", "").split(";")[0]
    finally:
        connection.close()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        started = time.perf_counter()
        writer.write(
            f"GET /analista/rondas/{round_id}/informes.zip HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Cookie: {cookie}\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        status = int((await reader.readline()).split()[1])
        headers_at = time.perf_counter() - started
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = bytearray()
        first_byte = None
        if headers.get("transfer-encoding", "").lower() == "chunked":
            while size := int((await reader.readline()).split(b";")[0], 16):
                body += await reader.readexactly(size)
                if first_byte is None:
                    first_byte = time.perf_counter() - started
                await reader.readexactly(2)  # the chunk's CRLF
            while (await reader.readline()) not in (b"\r\n", b""):  # trailers
                pass
        else:
            body += await reader.readexactly(int(headers.get("content-length", 0)))
            first_byte = time.perf_counter() - started
        total = time.perf_counter() - started
    finally:
        writer.close()
    return {
        "status": status,
        "content_type": headers.get("content-type", ""),
        "headers_at": headers_at,
        "first_byte": first_byte if first_byte is not None else total,
        "total": total,
        "body": bytes(body),
    }


def check_zip(body: bytes, expected: int) -> tuple[int, list[str]]:
    """(PDFs in the ZIP, problems): it must open and hold ``expected`` PDFs and nothing else."""
    try:
        archive = zipfile.ZipFile(BytesIO(body))
    except zipfile.BadZipFile as error:
        return 0, [f"round ZIP does not open ({error})"]
    with archive:
        names = archive.namelist()
        pdfs = [name for name in names if name.endswith(".pdf")]
        problems = []
        if archive.testzip() is not None:
            problems.append("round ZIP has a corrupt member")
        if len(pdfs) != expected or len(set(pdfs)) != len(pdfs):
            problems.append(f"round ZIP holds {len(pdfs)} PDFs ({len(set(pdfs))} names) for {expected} responses")
        if others := [name for name in names if not name.endswith(".pdf")]:
            problems.append(f"round ZIP holds {', '.join(others)}")
        if bad := sum(1 for name in pdfs if not archive.read(name).startswith(b"%PDF")):
            problems.append(f"{bad} ZIP members are not PDFs")
    return len(pdfs), problems


def read_folder(folder: Path) -> tuple[int, float]:
    """(bytes, seconds) to read every stored PDF straight from the folder: the reference for the ZIP."""
    started = time.perf_counter()
    size = sum(len(path.read_bytes()) for path in sorted(folder.glob("*.pdf")))
    return size, time.perf_counter() - started


def rows(database_url: str) -> list:
    from sqlalchemy import select

    from app.db import make_engine, make_sessionmaker
    from app.reports.models import StoredReport

    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            found = list(session.scalars(select(StoredReport)))
            for row in found:
                session.expunge(row)
            return found
    finally:
        engine.dispose()


def wait_stored(database_url: str, expected: int, timeout: float, since: datetime | None = None) -> list:
    deadline = time.monotonic() + timeout
    while True:
        found = rows(database_url)
        done = [
            row
            for row in found
            if row.state in ("ready", "failed") and (since is None or (row.rendered_at and row.rendered_at >= since))
        ]
        if len(done) >= expected or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def request_all_again(database_url: str, folder: Path) -> int:
    """The whole round's PDFs asked for again (as a rescoring or a renderer change does)."""
    from sqlalchemy import select

    from app.db import make_engine, make_sessionmaker
    from app.reports.models import StoredReport
    from app.reports.queueing import request_reports
    from app.unit_of_work import UnitOfWork

    for path in folder.glob("*.pdf"):
        path.unlink()
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session, UnitOfWork(session):
            ids = list(session.scalars(select(StoredReport.response_id)))
            request_reports(session, ids)
        return len(ids)
    finally:
        engine.dispose()


def run(args: argparse.Namespace) -> tuple[str, int]:
    problems: list[str] = []
    lines: list[str] = []
    with (
        tempfile.TemporaryDirectory(prefix="coopdiag-cola-") as workdir,
        bench_database(args.backend, Path(workdir)) as (database_url, server_url, _),
    ):
        plan = prepare(database_url, args.managers)
        add_analyst(database_url)
        folder = Path(workdir) / "informes"
        queue_url = args.queue or f"sqlite:///{Path(workdir) / 'cola.sqlite3'}"
        if queue_url.startswith("redis"):
            import redis

            redis.Redis.from_url(queue_url).flushdb()
        env = {
            "COOPDIAG_REPORTS_CACHE_DIR": str(folder),
            "COOPDIAG_QUEUE_URL": queue_url,
        }
        full_env = dict(
            os.environ,
            COOPDIAG_DATABASE_URL=server_url,
            COOPDIAG_QUESTIONNAIRES_DIR=str(ROOT / "questionnaires"),
            **env,
        )
        os.environ.update(env)  # for request_all_again (this process queues too)
        os.environ["COOPDIAG_DATABASE_URL"] = database_url
        from app import queue
        from app.settings import Settings

        queue.configure(Settings(database_url=database_url, queue_url=queue_url, reports_cache_dir=folder))
        rng = random.Random(args.seed)
        submitted: dict[int, dict] = {}
        with uvicorn_server(server_url, args.port, args.workers, env), worker(full_env, args.worker_processes):

            async def everyone() -> None:
                await asyncio.gather(
                    *(
                        manager(args.port, person, plan.round_id, complete_answers(plan.questionnaire, rng), submitted)
                        for person in plan.managers
                    )
                )

            started = time.perf_counter()
            asyncio.run(everyone())
            submitting = time.perf_counter() - started
            found = wait_stored(database_url, len(submitted), args.timeout)
            stored_in = time.perf_counter() - started
            by_response = {row.response_id: row for row in found}
            delays = [
                by_response[rid].rendered_at.timestamp() - sent["sent_at"]
                for rid, sent in submitted.items()
                if rid in by_response and by_response[rid].rendered_at is not None
            ]
            latencies: list[float] = []
            statuses: list[int] = []

            async def downloads() -> None:
                await asyncio.gather(
                    *(download(args.port, rid, sent["headers"], latencies, statuses) for rid, sent in submitted.items())
                )

            asyncio.run(downloads())
            zipped = asyncio.run(asyncio.wait_for(round_zip(args.port, plan.round_id), args.timeout))
            if zipped["status"] != 200 or "zip" not in zipped["content_type"]:
                problems.append(f"round ZIP: status {zipped['status']}, {zipped['content_type'] or 'no content type'}")
                zip_pdfs = 0
            else:
                zip_pdfs, zip_problems = check_zip(zipped["body"], len(submitted))
                problems += zip_problems
            folder_bytes, folder_seconds = read_folder(folder)

            lost = len(submitted) - sum(1 for rid in submitted if by_response.get(rid) is not None)
            not_ready = sum(1 for row in found if row.state != "ready")
            duplicated = sum(1 for row in found if row.attempts != 1)
            files = list(folder.glob("*.pdf"))
            leftovers = [path for path in folder.iterdir() if path.suffix != ".pdf"] if folder.is_dir() else []
            bad_downloads = sum(1 for status in statuses if status != 200)
            for name, count in (
                ("lost (no stored report)", lost),
                ("not ready", not_ready),
                ("rendered more than once", duplicated),
                ("downloads other than 200 PDF", bad_downloads),
                ("temporary files left", len(leftovers)),
            ):
                if count:
                    problems.append(f"{count} {name}")
            if len(files) != len(submitted):
                problems.append(f"{len(files)} PDF files for {len(submitted)} reports")

            lines += [
                f"## Informes en la cola: {args.backend}, {len(submitted)} gestores, "
                f"{args.worker_processes} proceso(s) de worker, cola {queue_url.split(':')[0]}",
                "",
                "| medida | p50 | p95 | p99 | máx. |",
                "|---|---:|---:|---:|---:|",
                f"| envío → PDF guardado (s) | {statistics.median(delays):.2f} | {percentile(delays, 0.95):.2f} "
                f"| {percentile(delays, 0.99):.2f} | {max(delays):.2f} |",
                f"| descarga del PDF guardado (ms) | {1000 * statistics.median(latencies):.1f} "
                f"| {1000 * percentile(latencies, 0.95):.1f} | {1000 * percentile(latencies, 0.99):.1f} "
                f"| {1000 * max(latencies):.1f} |",
                "",
                f"- {len(submitted)} envíos en {submitting:.1f} s; todos los PDF guardados a los {stored_in:.1f} s "
                f"({len(submitted) / stored_in:.1f} informes/s); {len(latencies)} descargas, "
                f"{bad_downloads} distintas de 200.",
                f"- perdidos {lost}, duplicados {duplicated}, sin terminar {not_ready}; {len(files)} archivos PDF, "
                f"{len(leftovers)} temporales.",
                f"- ZIP de la ronda (analista, `/analista/rondas/{{id}}/informes.zip`): primer byte del cuerpo a los "
                f"{1000 * zipped['first_byte']:.0f} ms (cabeceras a los {1000 * zipped['headers_at']:.0f} ms), "
                f"completo en {zipped['total']:.2f} s, {len(zipped['body']) / 1e6:.1f} MB "
                f"({len(zipped['body']) / 1e6 / zipped['total']:.0f} MB/s), {zip_pdfs} PDF; leer los mismos "
                f"archivos directo de la carpeta: {folder_bytes / 1e6:.1f} MB en {folder_seconds:.2f} s "
                f"({folder_bytes / 1e6 / max(folder_seconds, 1e-9):.0f} MB/s).",
            ]

        for processes in [int(p) for p in args.rerender.split(",") if p.strip()]:
            count = request_all_again(database_url, folder)
            since = datetime.now(timezone.utc)
            with worker(full_env, processes):
                started = time.perf_counter()
                found = wait_stored(database_url, count, args.timeout, since=since)
                seconds = time.perf_counter() - started
            done = sum(1 for row in found if row.state == "ready" and row.rendered_at and row.rendered_at >= since)
            if done != count:
                problems.append(f"re-render with {processes} process(es): {done} of {count}")
            lines.append(
                f"- rehacer los {count} PDF de la ronda con {processes} proceso(s) de worker: {seconds:.1f} s "
                f"({count / seconds:.1f} informes/s; incluye el arranque del worker)"
            )
    if problems:
        lines += ["", "**Problemas:** " + "; ".join(problems)]
    return "\n".join(lines), 1 if problems else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["postgresql", "sqlite"], default="sqlite")
    parser.add_argument("--managers", type=int, default=20)
    parser.add_argument("--queue", default="", help="broker URL (default: an SQLite queue file in the work folder)")
    parser.add_argument("--worker-processes", type=int, default=1)
    parser.add_argument("--rerender", default="1,2", help="worker processes for each round re-render (1,2)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--seed", type=int, default=20261122)
    summary, status = run(parser.parse_args())
    print(summary)
    sys.exit(status)


if __name__ == "__main__":
    main()
