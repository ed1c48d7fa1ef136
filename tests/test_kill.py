"""The server killed with SIGKILL in the middle of autosaves and submissions (issue 7, faults).

A real uvicorn process serves clients that autosave and submit as fast as they can; it is
killed without warning, then started again on the same database. Afterwards:

- no response is partial: its answers are exactly the audit trail's answer changes replayed
  in order (answers and events are written in one transaction), and a submitted response
  always has its result snapshot and its «submitted» event;
- the client's retries succeed once: the creation retried with the same Idempotency-Key
  returns the same response (never a second one), and the save that was in flight when the
  server died is either already there (the retry then gets 409 with the current state) or
  not (the retry applies it).

Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import date
from pathlib import Path

import httpx
from sqlalchemy import func, select

from conftest import free_port, sample_questionnaire

ROOT = Path(__file__).resolve().parents[1]
CLIENTS = 6


def _prepare(database_url: str, folder: Path) -> tuple[list[int], int, str]:
    """CLIENTS cooperatives, an open round on the sample questionnaire, an admin token."""
    from app.auth.service import create_user, issue_api_token
    from app.cooperatives.models import Cooperative
    from app.db import make_engine, make_sessionmaker
    from app.questionnaires.models import QuestionnaireVersion
    from app.questionnaires.service import register_questionnaires
    from app.rounds.models import DiagnosisRound

    (folder / "mini.yaml").write_text(sample_questionnaire(), encoding="utf-8")
    engine = make_engine(database_url)
    with make_sessionmaker(engine)() as session:
        register_questionnaires(session=session, directory=folder)
        version = session.scalar(select(QuestionnaireVersion))
        round_ = DiagnosisRound(
            name="Ronda 2026",
            questionnaire_version_id=version.id,
            opens_on=date(2026, 1, 1),
            closes_on=date(2026, 12, 31),
            state="open",
        )
        coops = [
            Cooperative(rut=f"7{i + 1}000000-0", name=f"Cooperativa {i}", legal_type="agricola", region_code=7)
            for i in range(CLIENTS)
        ]
        session.add_all([round_, *coops])
        user = create_user(
            session=session, email="admin@kill.cl", full_name="Admin", role="admin", password="clave-segura-123"
        )
        token = issue_api_token(session=session, user=user, name="kill")
        session.commit()
        ids = [coop.id for coop in coops]
        round_id = round_.id
    engine.dispose()
    return ids, round_id, token


class Server:
    def __init__(self, database_url: str, questionnaires: Path, port: int) -> None:
        self.env = {
            **os.environ,
            "COOPDIAG_DATABASE_URL": database_url,
            "COOPDIAG_QUESTIONNAIRES_DIR": str(questionnaires),
            "COOPDIAG_REPORTS_CACHE_DIR": "",
            "PYTHONPATH": str(ROOT),
        }
        self.port = port
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(
            "uvicorn did not start: " + (self.process.stderr.read().decode() if self.process.stderr else "")
        )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


class ManagerClient:
    """Creates its response (Idempotency-Key), then autosaves and submits until the server dies."""

    def __init__(self, base: str, headers: dict[str, str], coop_id: int, round_id: int) -> None:
        self.base, self.headers = base, headers
        self.create_body = {"cooperative_id": coop_id, "round_id": round_id, "mode": "self"}
        self.key = str(uuid.uuid4())
        self.response_id: int | None = None
        self.version = 0
        self.in_flight: dict | None = None  # the save sent when the server died, if any

    def run(self, stop: threading.Event) -> None:
        with httpx.Client(base_url=self.base, headers=self.headers, timeout=5) as http:
            try:
                created = http.post("/api/v1/responses", json=self.create_body, headers={"Idempotency-Key": self.key})
                if created.status_code != 201:
                    return
                self.response_id, self.version = created.json()["id"], created.json()["version"]
                step = 0
                while not stop.is_set():
                    step += 1
                    answers = {
                        "junta_anual": step % 2 == 0,
                        "actas_al_dia": ("si", "parcial", "no")[step % 3],
                        "consejo_vigente": True,
                        "consejo_mujeres": step % 2 == 1,
                        "activo_corriente": step * 1000,
                        "pasivo_corriente": 1000,
                    }
                    self.in_flight = {"answers": answers, "version": self.version}
                    saved = http.patch(f"/api/v1/responses/{self.response_id}/answers", json=self.in_flight)
                    self.in_flight = None
                    if saved.status_code != 200:  # submitted meanwhile: no longer editable
                        return
                    self.version = saved.json()["version"]
            except httpx.HTTPError:
                return  # the server died mid-request


def _check_consistent(database_url: str) -> dict[str, int]:
    from app.db import make_engine, make_sessionmaker
    from app.responses.models import Response, ResponseEvent

    engine = make_engine(database_url)
    counts = {"responses": 0, "submitted": 0}
    with make_sessionmaker(engine)() as session:
        for response in session.scalars(select(Response)):
            counts["responses"] += 1
            replayed: dict = {}
            for event in session.scalars(
                select(ResponseEvent).where(ResponseEvent.response_id == response.id).order_by(ResponseEvent.id)
            ):
                if event.kind == "answer_changed":
                    if event.new_value is None:
                        replayed.pop(event.question_id, None)
                    else:
                        replayed[event.question_id] = event.new_value
            assert (response.answers or {}) == replayed, f"response {response.id}: answers differ from its audit trail"
            if response.status == "submitted":
                counts["submitted"] += 1
                assert response.result_snapshot is not None and response.submitted_at is not None
                submitted_events = session.scalar(
                    select(func.count()).where(
                        ResponseEvent.response_id == response.id, ResponseEvent.kind == "submitted"
                    )
                )
                assert submitted_events == 1
            else:
                assert response.result_snapshot is None
    engine.dispose()
    return counts


def test_sigkill_mid_autosave_and_submit_leaves_nothing_partial(migrated_db_url, tmp_path):
    folder = tmp_path / "q"
    folder.mkdir()
    coop_ids, round_id, token = _prepare(migrated_db_url, folder)
    headers = {"Authorization": f"Bearer {token}"}
    server = Server(migrated_db_url, folder, free_port())
    base = f"http://127.0.0.1:{server.port}"
    server.start()
    try:
        clients = [ManagerClient(base, headers, coop_id, round_id) for coop_id in coop_ids]
        stop = threading.Event()
        threads = [threading.Thread(target=client.run, args=(stop,)) for client in clients]
        for thread in threads:
            thread.start()

        # Submissions race with the autosaves of the first two clients.
        submitted: list[int] = []

        def submit_repeatedly() -> None:
            with httpx.Client(base_url=base, headers=headers, timeout=5) as http:
                while not stop.is_set():
                    for client in clients[:2]:
                        if client.response_id and client.response_id not in submitted:
                            try:
                                reply = http.post(
                                    f"/api/v1/responses/{client.response_id}/submit", json={"version": client.version}
                                )
                            except httpx.HTTPError:
                                return
                            if reply.status_code == 200:
                                submitted.append(client.response_id)
                    time.sleep(0.01)

        submitter = threading.Thread(target=submit_repeatedly)
        submitter.start()
        # Kill once the run is in full swing: a submission done and the others saving.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (
            submitted and sum(c.version for c in clients[2:]) >= 5 * (CLIENTS - 2)
        ):
            time.sleep(0.05)
        time.sleep(0.2)
        server.kill()
        stop.set()
        for thread in [*threads, submitter]:
            thread.join(timeout=10)

        counts = _check_consistent(migrated_db_url)
        assert counts["responses"] == sum(1 for c in clients if c.response_id)
        assert counts["submitted"] >= 1 and sum(c.version for c in clients[2:]) >= 5 * (CLIENTS - 2)

        server.start()
        with httpx.Client(base_url=base, headers=headers, timeout=10) as http:
            for client in clients:
                # The creation retried with its key: the same response, never a second one.
                again = http.post("/api/v1/responses", json=client.create_body, headers={"Idempotency-Key": client.key})
                assert again.status_code in (200, 201), again.text
                if client.response_id is not None:
                    assert again.json()["id"] == client.response_id
                current = again.json()
                if client.in_flight is not None and current["status"] in ("draft", "returned"):
                    retry = http.patch(f"/api/v1/responses/{current['id']}/answers", json=client.in_flight)
                    if retry.status_code == 409:  # it had been saved before the kill
                        assert retry.json()["error"]["current"]["version"] == current["version"]
                    else:
                        assert retry.status_code == 200, retry.text
                        assert retry.json()["answers"] | client.in_flight["answers"] == retry.json()["answers"]
        counts = _check_consistent(migrated_db_url)
        assert counts["responses"] == len(clients)  # one per cooperative, whatever was retried
    finally:
        if server.process and server.process.poll() is None:
            server.kill()
