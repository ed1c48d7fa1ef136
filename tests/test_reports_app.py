"""PDF reports through the app: who may download them (API and web), what a report is built
from (stored snapshot, peers of the round, the previous diagnosis), the on-disk cache, a
round's ZIP streamed, and the ``coopdiag report`` / ``coopdiag reports`` commands.

Database tests run on SQLite and PostgreSQL (``api_env``, ``migrated_db_url``).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

import reports
import scoring
from app.cooperatives.models import Cooperative
from app.questionnaires.models import QuestionnaireVersion
from app.reports import peers as peer_stats
from app.reports import service
from app.reports.queueing import request_report
from app.responses.models import Response
from app.responses.service import snapshot_of
from app.rounds.models import DiagnosisRound
from conftest import sample_questionnaire

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "clave-segura-123"

STRONG = {
    "junta_anual": True,
    "actas_al_dia": "si",
    "consejo_vigente": True,
    "consejo_mujeres": True,
    "activo_corriente": 3_000_000,
    "pasivo_corriente": 1_000_000,
}
WEAK = {
    "junta_anual": False,
    "actas_al_dia": "no",
    "consejo_vigente": True,
    "consejo_mujeres": False,
    "activo_corriente": 500_000,
    "pasivo_corriente": 1_000_000,
}


@pytest.fixture(autouse=True)
def prerender(monkeypatch):
    """Reports rendered ahead, when their diagnosis is sent, as in production (the rest of the
    suite renders one only when it downloads it)."""
    monkeypatch.setenv("COOPDIAG_PRERENDER_REPORTS", "true")


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages)


@dataclass
class World:
    coop: int  # Centro (region 13), hortalizas: the one the reports are about
    other: int  # Sur (region 9)
    round_id: int
    earlier_round_id: int
    response: int  # coop's submitted response in round_id
    earlier: int  # coop's validated response in earlier_round_id
    draft: int  # other's draft in round_id
    peers: list[int]


def _stored(session, *, coop_id, round_id, version_id, answers, status="submitted") -> Response:
    questionnaire = scoring.load_questionnaire(sample_questionnaire())
    response = Response(
        cooperative_id=coop_id,
        round_id=round_id,
        mode="self",
        status=status,
        answers=answers,
        result_snapshot=snapshot_of(scoring.score(questionnaire, answers)),
        snapshot_questionnaire_version_id=version_id,
        submitted_at=datetime(2026, 10, 3, 15, 0, tzinfo=timezone.utc),
    )
    session.add(response)
    session.flush()
    return response


def make_world(env, *, peers_in_centro: int = 5) -> World:
    with env.session() as session:
        version = session.scalar(
            select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == "prueba-mini")
        )
        coop = Cooperative(
            rut="76123456-0",
            name="Cooperativa Campesina Ñuñoa & Peñalolén <Ltda>",
            legal_type="campesina",
            region_code=13,
            comuna="Peñalolén",
            sectors=["hortalizas"],
        )
        other = Cooperative(
            rut="65000000-5",
            name="Cooperativa Agrícola Lago Sur",
            legal_type="agricola",
            region_code=9,
            sectors=["lacteos"],
        )
        current = DiagnosisRound(
            name="Ronda nacional 2026",
            questionnaire_version_id=version.id,
            opens_on=date(2026, 3, 1),
            closes_on=date(2026, 12, 31),
            state="open",
        )
        earlier = DiagnosisRound(
            name="Ronda piloto 2025",
            questionnaire_version_id=version.id,
            opens_on=date(2025, 3, 1),
            closes_on=date(2025, 12, 31),
            state="closed",
        )
        session.add_all([coop, other, current, earlier])
        session.flush()
        peers = []
        for index in range(peers_in_centro):  # Valparaíso, Metropolitana, O'Higgins: all Centro
            peer = Cooperative(
                rut=f"7{index + 1}000000-0",
                name=f"Cooperativa Par {index}",
                legal_type="agricola",
                region_code=(5, 13, 6)[index % 3],
                sectors=["hortalizas" if index % 2 else "apicola"],
            )
            session.add(peer)
            peers.append(peer)
        session.flush()
        for index, peer in enumerate(peers):
            _stored(
                session,
                coop_id=peer.id,
                round_id=current.id,
                version_id=version.id,
                answers=STRONG if index % 2 else WEAK,
            )
        response = _stored(session, coop_id=coop.id, round_id=current.id, version_id=version.id, answers=WEAK)
        previous = _stored(
            session, coop_id=coop.id, round_id=earlier.id, version_id=version.id, answers=STRONG, status="validated"
        )
        draft = Response(cooperative_id=other.id, round_id=current.id, mode="self", status="draft", answers={})
        session.add(draft)
        session.commit()
        return World(
            coop.id, other.id, current.id, earlier.id, response.id, previous.id, draft.id, [p.id for p in peers]
        )


@pytest.fixture
def world(api_env) -> World:
    return make_world(api_env)


# --------------------------------------------------------------------------- pure statistics


def test_quartiles_inclusive_and_peer_groups_exclude_the_cooperative_itself():
    assert peer_stats.quartiles([]) is None
    assert peer_stats.quartiles([0.4]) == (0.4, 0.4, 0.4)
    assert peer_stats.quartiles([0.0, 0.25, 0.5, 0.75, 1.0]) == (0.25, 0.5, 0.75)

    def row(cid, zone, sectors, score):
        return peer_stats.PeerRow(cid, zone, tuple(sectors), {"overall": score, "d": None})

    rows = [row(1, "Sur", ["berries"], 0.9)] + [row(10 + i, "Sur", ["berries"], i / 10) for i in range(5)]
    rows += [row(20 + i, "Norte", ["apicola"], 0.5) for i in range(3)]
    groups = peer_stats.peer_groups(
        rows=rows,
        cooperative_id=1,
        macrozone="Sur",
        sectors=["berries", "apicola"],
        keys=["overall", "d"],
        sector_label=str.upper,
    )
    by_label = {g.label: g for g in groups}
    sur = by_label["Misma macrozona (Sur)"]
    assert sur.count == 5  # the cooperative itself is not its own peer
    overall = next(s for s in sur.stats if s.key == "overall")
    assert (overall.count, overall.q1, overall.median, overall.q3) == (5, 0.1, 0.2, 0.3)
    assert next(s for s in sur.stats if s.key == "d").count == 0  # no light: no statistic
    assert by_label["Mismo rubro (APICOLA)"].count == 3
    assert by_label["Mismo rubro (APICOLA)"].stats == ()  # fewer than 5: nothing computed


# --------------------------------------------------------------------------- context


def test_context_holds_stored_snapshot_peers_and_previous_diagnosis(api_env, world):
    with api_env.session() as session:
        response = session.get(Response, world.response)
        context, _ = service.build_context(
            session=session,
            settings=api_env.settings,
            response=response,
            cooperative=session.get(Cooperative, world.coop),
            round_=session.get(DiagnosisRound, world.round_id),
            today=date(2026, 11, 22),
        )
    assert context.snapshot == response.result_snapshot
    assert context.cooperative.region_name.startswith("Metropolitana") and context.cooperative.macrozone == "Centro"
    assert context.cooperative.sectors == ("Hortalizas",)
    assert context.previous is not None and context.previous.round_name == "Ronda piloto 2025"
    assert context.previous.snapshot["overall"]["light"] == "green"
    zone, sector = context.peers
    assert (zone.label, zone.count) == ("Misma macrozona (Centro)", 5)
    assert len(zone.stats) == 3  # overall + 2 dimensions
    assert (sector.label, sector.count, sector.stats) == ("Mismo rubro (Hortalizas)", 2, ())


# --------------------------------------------------------------------------- API and web access


def test_report_pdf_is_the_stored_result_and_authorized_like_the_response(api_env, world):
    client = api_env.client
    url = f"/api/v1/responses/{world.response}/report.pdf"
    _, own_manager = api_env.user("manager", cooperatives=[world.coop])
    _, other_manager = api_env.user("manager", cooperatives=[world.other])
    _, analyst = api_env.user("analyst")
    _, admin = api_env.user("admin")
    _, field_centro = api_env.user("field", macrozones=["Centro"], institution="Universidad de Chile")
    _, field_sur = api_env.user("field", macrozones=["Sur"], institution="Universidad de La Frontera")

    for headers in (own_manager, analyst, admin, field_centro):
        reply = client.get(url, headers=headers)
        assert reply.status_code == 200, reply.text
        assert reply.headers["content-type"] == "application/pdf"
        assert reply.headers["content-disposition"].startswith(
            'attachment; filename="diagnostico-cooperativa-campesina-nunoa-penalolen-lt-76123456-0-ronda-nacional-2026.pdf"'
        )
        assert reply.content.startswith(b"%PDF")
    text = pdf_text(client.get(url, headers=analyst).content)
    assert "Ñuñoa & Peñalolén <Ltda>" in text
    assert "Ronda nacional 2026" in text

    for headers in (other_manager, field_sur):
        reply = client.get(url, headers=headers)
        assert reply.status_code == 404 and reply.json()["error"]["code"] == "not_found"
    assert client.get(url).status_code == 401
    assert client.get("/api/v1/responses/999999/report.pdf", headers=analyst).status_code == 404

    draft = client.get(f"/api/v1/responses/{world.draft}/report.pdf", headers=analyst)
    assert draft.status_code == 409
    assert draft.json()["error"]["code"] == "not_submitted" and "borrador" in draft.json()["error"]["message"]


def test_report_is_stored_once_and_served_until_asked_for_again(api_env, world, monkeypatch):
    _, analyst = api_env.user("analyst")
    calls = []
    real = reports.render_pdf
    monkeypatch.setattr(reports, "render_pdf", lambda context: calls.append(context) or real(context))
    url = f"/api/v1/responses/{world.response}/report.pdf"
    first = api_env.client.get(url, headers=analyst).content
    second = api_env.client.get(url, headers=analyst).content
    assert first == second and len(calls) == 1
    assert len(list(api_env.settings.reports_cache_dir.glob("*.pdf"))) == 1

    with api_env.session() as session:  # a new peer submits: the stored PDF (dated) is still served
        version = session.scalar(select(QuestionnaireVersion.id))
        newcomer = Cooperative(rut="77000000-5", name="Cooperativa Nueva", legal_type="agricola", region_code=13)
        session.add(newcomer)
        session.flush()
        _stored(session, coop_id=newcomer.id, round_id=world.round_id, version_id=version, answers=STRONG)
        session.commit()
    assert api_env.client.get(url, headers=analyst).content == first and len(calls) == 1

    with api_env.session() as session:  # asked for again (as a validation does): a new PDF replaces it
        request_report(session, world.response)
        session.commit()
    assert len(calls) == 2
    third = api_env.client.get(url, headers=analyst).content
    assert third.startswith(b"%PDF") and len(calls) == 2
    assert len(list(api_env.settings.reports_cache_dir.glob("*.pdf"))) == 1  # the replaced one removed


def test_web_download_and_buttons(api_env, world):
    client = api_env.client
    manager, _ = api_env.user("manager", cooperatives=[world.coop])
    path = f"/diagnosticos/{world.response}/informe.pdf"
    anonymous = client.get(path, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/ingresar")

    assert (
        client.post(
            "/ingresar", data={"email": manager.email, "password": PASSWORD}, follow_redirects=False
        ).status_code
        == 303
    )
    results = client.get(f"/diagnosticos/{world.response}/resultados")
    assert f'href="{path}"' in results.text and "Descargar informe PDF" in results.text
    reply = client.get(path)
    assert reply.status_code == 200 and reply.content.startswith(b"%PDF")
    # Another cooperative's draft: not found, as an HTML page.
    other = client.get(f"/diagnosticos/{world.draft}/informe.pdf")
    assert other.status_code == 404 and "text/html" in other.headers["content-type"]
    assert client.get(f"/analista/rondas/{world.round_id}/informes.zip").status_code == 403


# --------------------------------------------------------------------------- a round as a ZIP


def test_round_zip_streams_one_pdf_per_submitted_response(api_env, world):
    _, analyst = api_env.user("analyst")
    _, manager = api_env.user("manager", cooperatives=[world.coop])
    _, field = api_env.user("field", macrozones=["Centro"], institution="Universidad de Chile")
    url = f"/api/v1/rounds/{world.round_id}/reports.zip"

    with api_env.client.stream("GET", url, headers=analyst) as reply:
        assert reply.status_code == 200
        assert reply.headers["content-type"] == "application/zip"
        assert "content-length" not in reply.headers  # streamed, not built first
        chunks = list(reply.iter_bytes())
    archive = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    assert archive.testzip() is None
    names = archive.namelist()
    assert len(names) == 1 + len(world.peers)  # the draft has no report
    assert "diagnostico-cooperativa-campesina-nunoa-penalolen-lt-76123456-0-ronda-nacional-2026.pdf" in names
    assert all(archive.read(name).startswith(b"%PDF") for name in names)

    for headers in (manager, field):
        reply = api_env.client.get(url, headers=headers)
        assert reply.status_code == 403 and reply.json()["error"]["code"] == "forbidden"
    assert api_env.client.get(url).status_code == 401
    assert api_env.client.get("/api/v1/rounds/999999/reports.zip", headers=analyst).status_code == 404


def test_zip_stream_is_valid_and_holds_one_file_at_a_time():
    sizes = []

    def files():
        for index in range(3):
            yield f"f{index}.pdf", bytes([index]) * 100_000

    for chunk in service.zip_stream(files()):
        sizes.append(len(chunk))
    assert max(sizes) < 101_000  # each chunk is about one file, never the whole archive
    archive = zipfile.ZipFile(io.BytesIO(b"".join(service.zip_stream(files()))))
    assert archive.namelist() == ["f0.pdf", "f1.pdf", "f2.pdf"] and archive.read("f2.pdf") == b"\x02" * 100_000


# --------------------------------------------------------------------------- command line


def _cli(args, env, cwd: Path):
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=180
    )


def test_cli_report_and_round_reports(api_env, world, tmp_path):
    env = {
        **os.environ,
        "COOPDIAG_DATABASE_URL": api_env.settings.database_url,
        "COOPDIAG_REPORTS_CACHE_DIR": str(tmp_path / "cache"),
        "PYTHONPATH": str(ROOT),
    }
    one = _cli(["report", str(world.response), "-o", str(tmp_path / "uno.pdf")], env, tmp_path)
    assert one.returncode == 0, one.stderr
    assert "Informe guardado" in one.stderr and "Traceback" not in one.stderr
    assert "Ronda nacional 2026" in pdf_text((tmp_path / "uno.pdf").read_bytes())

    draft = _cli(["report", str(world.draft), "-o", str(tmp_path / "x.pdf")], env, tmp_path)
    assert draft.returncode == 1 and "borrador" in draft.stderr and not (tmp_path / "x.pdf").exists()
    missing = _cli(["reports", "--round", "No existe", "--out", str(tmp_path / "z.zip")], env, tmp_path)
    assert missing.returncode == 2 and "no existe la ronda «No existe»" in missing.stderr

    as_zip = _cli(
        ["reports", "--round", "Ronda nacional 2026", "--out", str(tmp_path / "ronda.zip"), "--jobs", "2"],
        env,
        tmp_path,
    )
    assert as_zip.returncode == 0, as_zip.stderr
    assert f"{1 + len(world.peers)}/{1 + len(world.peers)} informes" in as_zip.stderr
    assert len(zipfile.ZipFile(tmp_path / "ronda.zip").namelist()) == 1 + len(world.peers)
    assert not (tmp_path / "ronda.zip.partial").exists()

    as_dir = _cli(
        ["reports", "--round", str(world.earlier_round_id), "--out", str(tmp_path / "carpeta")], env, tmp_path
    )
    assert as_dir.returncode == 0, as_dir.stderr
    assert [p.name for p in (tmp_path / "carpeta").iterdir()] == [
        "diagnostico-cooperativa-campesina-nunoa-penalolen-lt-76123456-0-ronda-piloto-2025.pdf"
    ]
