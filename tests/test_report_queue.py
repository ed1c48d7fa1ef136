"""Stored PDF reports prepared on the task queue (``app/reports/tasks.py``, ``queueing.py``).

- immediate mode (every test's default): submitting stores the PDF; a download reads the file
  and renders nothing; validating renders a new one; returning withdraws it;
- a real broker (an SQLite queue file, a worker run by hand): a download says «se está
  preparando» (202) until a worker runs the task; the round's ZIP lists the missing ones «en
  preparación»; a failing render is retried, ends ``failed`` and its reason is on the round page;
- the sweep queues again a row a killed worker left ``rendering`` (a real SIGKILL of a worker
  process mid-render) and no half-written PDF ever has a final name.

Database tests run on SQLite and PostgreSQL (``api_env``).
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import uuid
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

import reports
from app import queue
from app.cooperatives.models import Cooperative
from app.reports import tasks, views
from app.reports.models import ReportState, StoredReport
from app.reports.queueing import request_report
from app.settings import Settings
from test_reports_app import STRONG, make_world

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "clave-segura-123"


# --------------------------------------------------------------------------- helpers


def row_of(env, response_id: int) -> StoredReport | None:
    with env.session() as session:
        row = session.scalar(select(StoredReport).where(StoredReport.response_id == response_id))
        if row is not None:
            session.expunge(row)
        return row


def pdfs(env) -> list[Path]:
    folder = env.settings.reports_cache_dir
    return sorted(folder.glob("*.pdf")) if folder.is_dir() else []


def new_cooperative(env, rut: str, name: str = "Cooperativa Cola") -> int:
    with env.session() as session:
        coop = Cooperative(rut=rut, name=name, legal_type="agricola", region_code=13, sectors=["hortalizas"])
        session.add(coop)
        session.commit()
        return coop.id


def submitted(env, world, rut: str = "77111111-7") -> tuple[int, dict, dict]:
    """A new cooperative's response created and submitted through the API by its manager:
    (response id, the manager's headers, an analyst's headers)."""
    coop = new_cooperative(env, rut)
    _, manager = env.user("manager", cooperatives=[coop])
    _, analyst = env.user("analyst")
    body = {"cooperative_id": coop, "round_id": world.round_id, "mode": "self", "answers": STRONG}
    created = env.client.post("/api/v1/responses", json=body, headers={**manager, "Idempotency-Key": str(uuid.uuid4())})
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    sent = env.client.post(f"/api/v1/responses/{rid}/submit", json={"version": 1}, headers=manager)
    assert sent.status_code == 200, sent.text
    return rid, manager, analyst


def counting_renders(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = reports.render_pdf

    def counted(context):
        calls.append(context.diagnosis.response_id)
        return real(context)

    monkeypatch.setattr(reports, "render_pdf", counted)
    return calls


def web_login(env, user) -> tuple[TestClient, str]:
    client = TestClient(env.client.app)
    reply = client.post("/ingresar", data={"email": user.email, "password": PASSWORD}, follow_redirects=False)
    assert reply.status_code == 303, reply.text
    return client, client.get("/api/v1/auth/me").json()["csrf_token"]


@pytest.fixture(autouse=True)
def prerender(monkeypatch):
    """What this file tests: a report rendered ahead, when its diagnosis is sent (the rest of
    the suite renders one only when it downloads it)."""
    monkeypatch.setenv("COOPDIAG_PRERENDER_REPORTS", "true")


@pytest.fixture
def world(api_env):
    return make_world(api_env)


@pytest.fixture
def broker(api_env, tmp_path, monkeypatch):
    """A real queue (an SQLite file) in place of immediate mode; nothing runs until the test
    takes a task from it. Immediate mode is restored afterwards."""
    settings = Settings(
        database_url=api_env.settings.database_url,
        questionnaires_dir=api_env.settings.questionnaires_dir,
        reports_cache_dir=api_env.settings.reports_cache_dir,
        queue_url=f"sqlite:///{tmp_path}/q.sqlite3",
    )
    queue.configure(settings)
    monkeypatch.setattr(views, "WAIT_SECONDS", 0.3)  # a download waits less for a worker that never comes
    try:
        yield queue.huey
    finally:
        queue.configure(api_env.settings)  # immediate, as every other test expects


def age_claim(env, response_id: int, *, minutes: int) -> None:
    """The row as a worker that claimed it ``minutes`` ago (and maybe died) left it."""
    with env.session() as session:
        session.execute(
            update(StoredReport)
            .where(StoredReport.response_id == response_id)
            .values(
                state=ReportState.RENDERING.value, claimed_at=datetime.now(timezone.utc) - timedelta(minutes=minutes)
            )
        )
        session.commit()


def run_queued(huey) -> int:
    """Run every task waiting in the queue, as one worker would; how many ran."""
    count = 0
    while (task := huey.dequeue()) is not None:
        huey.execute(task)
        count += 1
    return count


def run_due_retries(huey) -> int:
    """Run the retries huey scheduled (5, 10, 20 s later) as if their time had come."""
    later = datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(hours=1)  # huey's naive UTC
    due = huey.read_schedule(later)
    for task in due:
        huey.execute(task, timestamp=later)
    return len(due)


# --------------------------------------------------------------------------- immediate mode


def test_submit_stores_the_pdf_and_downloads_read_the_file(api_env, world, monkeypatch):
    env = api_env
    calls = counting_renders(monkeypatch)
    rid, manager, analyst = submitted(env, world)
    row = row_of(env, rid)
    assert row is not None and row.state == ReportState.READY.value and row.attempts == 1
    assert row.error is None and row.rendered_at is not None and row.file_name == f"{row.content_key}.pdf"
    stored = env.settings.reports_cache_dir / row.file_name
    assert stored.read_bytes().startswith(b"%PDF") and calls == [rid]

    url = f"/api/v1/responses/{rid}/report.pdf"
    for headers in (manager, analyst, manager):
        reply = env.client.get(url, headers=headers)
        assert reply.status_code == 200 and reply.content == stored.read_bytes()
    assert calls == [rid]  # read from the file, never rendered again

    # Validated: the status on the PDF changes, so a new one replaces the old file.
    version = env.client.get(f"/api/v1/responses/{rid}", headers=analyst).json()["version"]
    validated = env.client.post(f"/api/v1/responses/{rid}/validate", json={"version": version}, headers=analyst)
    assert validated.status_code == 200, validated.text
    assert calls == [rid, rid]
    again = row_of(env, rid)
    assert again.state == ReportState.READY.value and again.file_name != row.file_name
    assert not stored.exists() and (env.settings.reports_cache_dir / again.file_name).is_file()
    assert env.client.get(url, headers=manager).status_code == 200 and calls == [rid, rid]


def test_a_returned_response_has_no_report_until_it_is_sent_again(api_env, world, monkeypatch):
    env = api_env
    calls = counting_renders(monkeypatch)
    rid, manager, analyst = submitted(env, world)
    file_name = row_of(env, rid).file_name
    version = env.client.get(f"/api/v1/responses/{rid}", headers=analyst).json()["version"]
    returned = env.client.post(
        f"/api/v1/responses/{rid}/return", json={"version": version, "comment": "Revise la junta."}, headers=analyst
    )
    assert returned.status_code == 200, returned.text
    assert row_of(env, rid) is None and not (env.settings.reports_cache_dir / file_name).exists()
    refused = env.client.get(f"/api/v1/responses/{rid}/report.pdf", headers=manager)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_submitted"

    version = returned.json()["version"]
    assert env.client.post(f"/api/v1/responses/{rid}/submit", json={"version": version}, headers=manager).is_success
    assert row_of(env, rid).state == ReportState.READY.value and calls == [rid, rid]


# --------------------------------------------------------------------------- a real broker


def test_download_says_preparing_until_a_worker_runs_the_task(api_env, world, broker, monkeypatch):
    env = api_env
    calls = counting_renders(monkeypatch)
    rid, manager, _ = submitted(env, world)
    assert row_of(env, rid).state == ReportState.QUEUED.value
    assert broker.pending_count() == 1 and calls == []  # queued once the submission committed

    url = f"/api/v1/responses/{rid}/report.pdf"
    started = time.monotonic()
    waiting = env.client.get(url, headers=manager)
    assert time.monotonic() - started < 5
    assert waiting.status_code == 202 and waiting.headers["retry-after"] == "3"
    assert waiting.json()["status"] == "preparing" and "preparando" in waiting.json()["message"]
    assert broker.pending_count() == 1  # a download of a queued report does not queue it twice

    user, _ = env.user("manager", cooperatives=[row_of_coop(env, rid)])
    client, _ = web_login(env, user)
    page = client.get(f"/diagnosticos/{rid}/informe.pdf")
    assert page.status_code == 202 and "text/html" in page.headers["content-type"]
    assert "El informe se está preparando" in page.text
    assert '<meta http-equiv="refresh" content="3">' in page.text
    assert f'href="/diagnosticos/{rid}/informe.pdf"' in page.text

    assert run_queued(broker) == 1 and calls == [rid]
    assert row_of(env, rid).state == ReportState.READY.value
    ready = env.client.get(url, headers=manager)
    assert ready.status_code == 200 and ready.content.startswith(b"%PDF")
    assert client.get(f"/diagnosticos/{rid}/informe.pdf").content == ready.content
    assert calls == [rid] and broker.pending_count() == 0


def row_of_coop(env, response_id: int) -> int:
    from app.responses.models import Response

    with env.session() as session:
        return session.get_one(Response, response_id).cooperative_id


def test_round_zip_is_made_of_stored_files_and_lists_the_others_as_being_prepared(api_env, world, broker, monkeypatch):
    env = api_env
    calls = counting_renders(monkeypatch)
    ready_id, _, analyst = submitted(env, world, rut="77111111-7")
    run_queued(broker)
    pending_id, _, _ = submitted(env, world, rut="77222222-9")
    url = f"/api/v1/rounds/{world.round_id}/reports.zip"
    with env.client.stream("GET", url, headers=analyst) as reply:
        assert reply.status_code == 200
        archive = zipfile.ZipFile(io.BytesIO(b"".join(reply.iter_bytes())))
    assert archive.testzip() is None
    names = archive.namelist()
    assert [name for name in names if name.endswith(".pdf")] == [
        "diagnostico-cooperativa-cola-77111111-7-ronda-nacional-2026.pdf"
    ]
    assert names[-2:] == ["LEEME.txt", "manifiesto.csv"]
    readme = archive.read("LEEME.txt").decode("utf-8")
    total = 2 + 1 + len(world.peers)  # the two new ones, world's cooperative and its peers
    assert "Se incluye 1 informe PDF." in readme
    assert f"{total - 1} informes se están preparando y no se incluyen todavía:" in readme
    assert "no se pudo generar" not in readme
    manifest = archive.read("manifiesto.csv").decode("utf-8-sig").splitlines()
    states = {line.split(";")[0]: line.split(";")[2] for line in manifest[1:]}
    assert states["diagnostico-cooperativa-cola-77111111-7-ronda-nacional-2026.pdf"] == "incluido"
    assert states["diagnostico-cooperativa-cola-77222222-9-ronda-nacional-2026.pdf"] == "en preparación"
    assert list(states.values()).count("en preparación") == total - 1
    assert calls == [ready_id]  # nothing rendered by the download

    # Those never asked for (stored before) were asked for by the ZIP; the pending one only once.
    assert broker.pending_count() == total - 1
    run_queued(broker)
    assert len(calls) == len(set(calls)) == total and {ready_id, pending_id, world.response} <= set(calls)
    with env.client.stream("GET", url, headers=analyst) as reply:
        archive = zipfile.ZipFile(io.BytesIO(b"".join(reply.iter_bytes())))
    assert len(archive.namelist()) == total and "LEEME.txt" not in archive.namelist()


def test_a_failing_render_is_retried_then_failed_with_its_reason_on_the_round_page(api_env, world, broker, monkeypatch):
    env = api_env
    attempts: list[int] = []

    def broken(context):
        attempts.append(context.diagnosis.response_id)
        raise RuntimeError("WeasyPrint se cayó")

    monkeypatch.setattr(reports, "render_pdf", broken)
    rid, manager, _ = submitted(env, world)
    assert run_queued(broker) == 1
    row = row_of(env, rid)
    assert row.state == ReportState.QUEUED.value and row.attempts == 1  # waiting for its retry
    assert "RuntimeError" in row.error and "WeasyPrint se cayó" not in row.error  # the detail goes to the log
    assert broker.scheduled_count() == 1
    for expected in (2, 3, 4):
        assert run_due_retries(broker) == 1
        assert row_of(env, rid).attempts == expected
    assert broker.scheduled_count() == 0 and attempts == [rid] * 4
    row = row_of(env, rid)
    assert row.state == ReportState.FAILED.value and "no se pudo generar el PDF" in row.error

    staff, _ = env.user("analyst")
    client, csrf = web_login(env, staff)
    page = client.get(f"/analisis/rondas/{world.round_id}")
    assert page.status_code == 200
    assert '<span class="value" id="informes-con-error">1</span>' in page.text
    assert "Cooperativa Cola (RUT 77111111-7)" in page.text and "error interno RuntimeError" in page.text
    assert "Reintentar los informes con error" in page.text

    # The download of a failed report says so (503) and asks for it again.
    reply = env.client.get(f"/api/v1/responses/{rid}/report.pdf", headers=manager)
    assert reply.status_code == 503 and reply.headers["retry-after"] == "30"
    assert reply.json()["error"]["code"] == "report_failed" and "No se pudo generar el informe" in reply.text
    assert row_of(env, rid).state == ReportState.QUEUED.value and broker.pending_count() == 1
    run_queued(broker)
    for _ in range(3):
        run_due_retries(broker)
    assert row_of(env, rid).state == ReportState.FAILED.value

    # The analyst's button (with the CSRF token) asks for the failed ones again; now it works.
    monkeypatch.undo()
    monkeypatch.setattr(views, "WAIT_SECONDS", 0.3)
    refused = client.post(f"/analisis/rondas/{world.round_id}/informes/reintentar", data={}, follow_redirects=False)
    assert refused.status_code in (403, 422) and row_of(env, rid).state == ReportState.FAILED.value
    retried = client.post(
        f"/analisis/rondas/{world.round_id}/informes/reintentar", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert retried.status_code == 303
    assert row_of(env, rid).state == ReportState.QUEUED.value and row_of(env, rid).error is None
    run_queued(broker)
    assert row_of(env, rid).state == ReportState.READY.value
    page = client.get(f"/analisis/rondas/{world.round_id}")
    assert '<span class="value" id="informes-con-error">0</span>' in page.text


# --------------------------------------------------------------------------- the sweep and atomic files


def test_sweep_requeues_lost_tasks_and_stale_claims_only(api_env, world, broker):
    env = api_env
    rid, manager, _ = submitted(env, world)
    assert run_queued(broker) == 1 and row_of(env, rid).state == ReportState.READY.value
    other, _, _ = submitted(env, world, rut="77222222-9")
    broker.flush()  # the task is lost (the process died after the commit)
    assert tasks.requeue_pending() == []  # queued a moment ago: not yet
    later = datetime.now(timezone.utc) + timedelta(minutes=2)
    assert tasks.requeue_pending(now=later) == [other]
    assert run_queued(broker) == 1 and row_of(env, other).state == ReportState.READY.value

    # A worker that claimed it and died: requeued only once its claim is five minutes old.
    age_claim(env, rid, minutes=2)
    assert tasks.requeue_pending() == []
    assert tasks.render_stored_report(rid) == "taken"  # a duplicate task leaves a recent claim alone
    age_claim(env, rid, minutes=6)
    assert tasks.requeue_pending() == [rid]
    run_queued(broker)
    assert row_of(env, rid).state == ReportState.READY.value and row_of(env, rid).attempts == 2


def test_a_write_that_fails_leaves_no_pdf_under_a_final_name(api_env, world, monkeypatch):
    env = api_env
    rid, _, _ = submitted(env, world)
    before = {path.name for path in pdfs(env)}
    with env.session() as session:
        request_report(session, rid)
        real_replace = os.replace
        seen: list[str] = []

        def crash(source, target):  # the temporary file is written, the rename never happens
            seen.append(Path(source).read_bytes()[:4].decode())
            raise OSError(28, "No queda espacio en el dispositivo")

        monkeypatch.setattr(tasks.os, "replace", crash)
        monkeypatch.setattr(tasks.service, "today_in_chile", lambda: datetime(2030, 1, 2).date())  # new content
        session.commit()  # immediate mode: the task runs now, and fails
    monkeypatch.setattr(tasks.os, "replace", real_replace)
    assert seen == ["%PDF"]
    assert {path.name for path in pdfs(env)} == before
    assert not list(env.settings.reports_cache_dir.glob("*.tmp"))
    row = row_of(env, rid)
    assert row.state == ReportState.FAILED.value and "OSError" in row.error
    assert row.file_name in before  # the previous PDF is still the one served


WORKER = """
import sys, time
import reports
from app import queue
from app.reports import tasks
from app.settings import get_settings

queue.configure(get_settings())
real = reports.render_pdf

def slow(context):
    print("rendering", flush=True)
    time.sleep(60)
    return real(context)

reports.render_pdf = slow
task = queue.huey.dequeue()
queue.huey.execute(task)
print("done", flush=True)
"""


def test_a_worker_killed_mid_render_is_swept_and_rendered_again(api_env, world, broker, tmp_path):
    env = api_env
    rid, manager, _ = submitted(env, world)
    assert broker.pending_count() == 1
    settings = queue.task_settings()
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "COOPDIAG_DATABASE_URL": settings.database_url,
        "COOPDIAG_QUEUE_URL": settings.queue_url,
        "COOPDIAG_REPORTS_CACHE_DIR": str(settings.reports_cache_dir),
    }
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER],
        env=environment,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = worker.stdout.readline()
        assert line.strip() == "rendering", worker.stderr.read()
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert worker.returncode == -signal.SIGKILL
    row = row_of(env, rid)
    assert row.state == ReportState.RENDERING.value and row.attempts == 1  # claimed, never finished
    assert broker.pending_count() == 0  # huey had removed the task from the queue: it is lost
    assert pdfs(env) == [] and env.client.get(f"/api/v1/responses/{rid}/report.pdf", headers=manager).status_code == 202

    # Five minutes later the sweep queues it again; the next worker renders it.
    assert tasks.requeue_pending() == []
    age_claim(env, rid, minutes=6)
    assert tasks.requeue_pending() == [rid]
    assert run_queued(broker) == 1
    row = row_of(env, rid)
    assert row.state == ReportState.READY.value and row.attempts == 2
    files = pdfs(env)
    assert [path.name for path in files] == [row.file_name]
    content = files[0].read_bytes()
    assert content.startswith(b"%PDF") and content.rstrip().endswith(b"%%EOF")
    assert not [path for path in env.settings.reports_cache_dir.iterdir() if path.suffix != ".pdf"]
    reply = env.client.get(f"/api/v1/responses/{rid}/report.pdf", headers=manager)
    assert reply.status_code == 200 and reply.content == content
