"""Upload pages (app/web/imports.py): the field team's interview template and ODK/Kobo
exports, the analysts' registry. Preview writes nothing, import writes all or nothing, the
report is in words with every problem's row and column, a re-import says «ya importada»,
oversized or wrong files get the API's message as a page. Both backends (``api_env``)."""

from __future__ import annotations

import html
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from app.cooperatives.models import Cooperative
from app.exchange.import_views import _too_large
from app.questionnaires.models import QuestionnaireVersion
from app.responses.models import Response
from app.rounds.models import DiagnosisRound
from app.rounds.service import questionnaire_of_version
from test_interview_import import COMPLETE, DETAILS, filled
from test_odk_import import SAMPLE_COMPLETE, SAMPLE_INCOMPLETE, Interview, odk_csv
from test_registry_import import HEADER, ROW_NEW, csv_bytes

PASSWORD = "clave-segura-123"
FIELD_PAGE = "/terreno/planillas"
FIELD_UPLOAD = "/terreno/planillas/importar"
REGISTRY = "/analisis/registro/importar"


@pytest.fixture
def world(api_env) -> dict[str, int]:
    with api_env.session() as session:
        version = session.scalar(
            select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == "prueba-mini")
        )
        centro = Cooperative(
            rut="76123456-0", name="Cooperativa Los Aromos", legal_type="campesina", region_code=13, sectors=[]
        )
        centro2 = Cooperative(
            rut="12345678-5", name="Cooperativa Valle Central", legal_type="agricola", region_code=6, sectors=[]
        )
        sur = Cooperative(
            rut="65000000-5",
            name="Cooperativa Lago Sur",
            legal_type="agricola",
            region_code=9,
            comuna="Villarrica",
            sectors=["lacteos"],
        )
        round_ = DiagnosisRound(
            name="Ronda 2026",
            questionnaire_version_id=version.id,
            opens_on=date(2026, 1, 1),
            closes_on=date(2026, 12, 31),
            state="open",
        )
        session.add_all([centro, centro2, sur, round_])
        session.commit()
        return {"centro": centro.id, "centro2": centro2.id, "sur": sur.id, "round": round_.id, "version": version.id}


def login(env, user) -> str:
    env.client.cookies.clear()
    answer = env.client.post("/ingresar", data={"email": user.email, "password": PASSWORD}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return env.client.get("/api/v1/auth/me").json()["csrf_token"]


def post(env, path: str, csrf: str | None, content: bytes | None, name: str, *, action: str = "revisar", **fields):
    data = {"accion": action, **fields}
    if csrf is not None:
        data["csrf_token"] = csrf
    files = {"archivo": (name, content or b"", "application/octet-stream")} if content is not None else None
    return env.client.post(path, data=data, files=files, follow_redirects=False)


def text(page) -> str:
    """The page's words, without tags (what a person reads)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())


def interviews_count(env) -> int:
    with env.session() as session:
        return session.scalar(select(func.count()).select_from(Response))


def template_file(env, round_id: int, rows: list[list]) -> bytes:
    """The round's template downloaded through the page's link (session cookie), filled in."""
    download = env.client.get(f"/api/v1/rounds/{round_id}/interview-template.xlsx")
    assert download.status_code == 200, download.text
    return filled(download.content, rows)


def test_field_page_offers_downloads_and_a_multipart_form_with_csrf(api_env, world):
    field, _ = api_env.user("field", macrozones=["Centro"], institution="INDAP")
    csrf = login(api_env, field)
    page = api_env.client.get(FIELD_PAGE)
    assert page.status_code == 200
    assert f'href="/api/v1/rounds/{world["round"]}/interview-template.xlsx"' in page.text
    assert f'href="/api/v1/questionnaires/{world["version"]}/xlsform"' in page.text
    assert 'enctype="multipart/form-data"' in page.text and f'name="csrf_token" value="{csrf}"' in page.text
    assert 'value="INDAP"' in page.text  # the institution for ODK exports, from the account
    words = text(page)
    assert "Ronda 2026" in words and "Revisar sin guardar" in words and "Importar" in words
    assert api_env.client.get(f"/api/v1/questionnaires/{world['version']}/xlsform").status_code == 200
    assert 'href="/terreno/planillas"' in api_env.client.get("/terreno").text  # linked from the field home


def test_who_may_open_and_post(api_env, world):
    manager, _ = api_env.user("manager", cooperatives=[world["centro"]])
    field, _ = api_env.user("field", macrozones=["Centro"])
    analyst, _ = api_env.user("analyst")

    api_env.client.cookies.clear()
    for path in (FIELD_PAGE, REGISTRY):
        answer = api_env.client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/ingresar")

    csrf = login(api_env, manager)
    for path in (FIELD_PAGE, REGISTRY):
        answer = api_env.client.get(path)
        assert answer.status_code == 403 and "text/html" in answer.headers["content-type"], path
        assert "Sin permiso" in answer.text
    assert post(api_env, FIELD_UPLOAD, csrf, b"x", "a.xlsx", ronda=str(world["round"])).status_code == 403
    assert post(api_env, REGISTRY, csrf, b"x", "a.csv").status_code == 403

    csrf = login(api_env, field)
    assert api_env.client.get(FIELD_PAGE).status_code == 200
    assert api_env.client.get(REGISTRY).status_code == 403
    assert post(api_env, REGISTRY, csrf, csv_bytes([HEADER, ROW_NEW]), "r.csv", action="importar").status_code == 403

    login(api_env, analyst)
    registry = api_env.client.get(REGISTRY)
    assert registry.status_code == 200 and 'enctype="multipart/form-data"' in registry.text
    assert api_env.client.get(FIELD_PAGE).status_code == 200  # staff import interviews too
    assert 'href="/analisis/registro/importar"' in api_env.client.get("/analisis/cooperativas").text
    assert (
        f'href="/terreno/planillas?ronda={world["round"]}"'
        in api_env.client.get(f"/analisis/rondas/{world['round']}").text
    )
    with api_env.session() as session:
        assert session.scalar(select(func.count()).select_from(Cooperative)) == 3


def test_posts_without_the_csrf_token_are_refused(api_env, world):
    analyst, _ = api_env.user("analyst")
    login(api_env, analyst)
    registry = post(api_env, REGISTRY, None, csv_bytes([HEADER, ROW_NEW]), "r.csv", action="importar")
    assert registry.status_code == 403 and "CSRF" in registry.text
    rows = [["E-1", "76.123.456-0", *DETAILS, "si", *COMPLETE]]
    data = template_file(api_env, world["round"], rows)
    interviews = post(api_env, FIELD_UPLOAD, "otro", data, "e.xlsx", action="importar", ronda=str(world["round"]))
    assert interviews.status_code == 403
    with api_env.session() as session:
        assert session.scalar(select(func.count()).select_from(Cooperative)) == 3
    assert interviews_count(api_env) == 0


def test_template_preview_import_and_reimport(api_env, world):
    field, _ = api_env.user("field", macrozones=["Centro"])
    csrf = login(api_env, field)
    rows = [
        ["E-1", "76.123.456-0", *DETAILS, "si", *COMPLETE],
        ["E-2", "12345678-5", *DETAILS, None, None, "no"],
    ]
    data = template_file(api_env, world["round"], rows)
    round_id = str(world["round"])

    preview = post(api_env, FIELD_UPLOAD, csrf, data, "entrevistas.xlsx", ronda=round_id)
    assert preview.status_code == 200, preview.text
    words = text(preview)
    assert "Resultado de la revisión" in words
    assert "al importarlo se crearán 2 entrevistas (1 enviada y 1 como borrador)" in words
    assert "No se guardó nada todavía" in words and "elija de nuevo el mismo archivo" in words
    assert "Fila 2 clave E-1 Cooperativa Los Aromos (RUT 76.123.456-0) se crearía, enviada" in words
    assert "Fila 3 clave E-2 Cooperativa Valle Central (RUT 12.345.678-5) se crearía, borrador" in words
    assert interviews_count(api_env) == 0  # a preview writes nothing

    done = post(api_env, FIELD_UPLOAD, csrf, data, "entrevistas.xlsx", action="importar", ronda=round_id)
    assert done.status_code == 200, done.text
    assert "Importación terminada: se crearon 2 entrevistas (1 enviada y 1 como borrador)" in text(done)
    assert interviews_count(api_env) == 2

    again = post(api_env, FIELD_UPLOAD, csrf, data, "entrevistas.xlsx", action="importar", ronda=round_id)
    words = text(again)
    assert again.status_code == 200
    assert "No había entrevistas nuevas" in words and "2 filas ya estaban importadas" in words
    assert "Fila 2 clave E-1 Cooperativa Los Aromos (RUT 76.123.456-0) ya importada" in words
    assert interviews_count(api_env) == 2


def test_template_problems_name_row_and_column_and_nothing_is_imported(api_env, world):
    field, _ = api_env.user("field", macrozones=["Centro"])
    csrf = login(api_env, field)
    rows = [
        ["E-1", "76.123.456-0", *DETAILS, "si", *COMPLETE],  # a good row …
        ["E-2", "12345678-5", *DETAILS, None, "quizás"],  # … and a bad one
        ["E-3", "65.000.000-5", *DETAILS, None],  # not in the member's macrozone
    ]
    data = template_file(api_env, world["round"], rows)
    round_id = str(world["round"])

    preview = post(api_env, FIELD_UPLOAD, csrf, data, "entrevistas.xlsx", ronda=round_id)
    assert preview.status_code == 200
    words = text(preview)
    assert "La revisión encontró 2 problemas en 2 filas" in words
    assert "Si importa el archivo así, no se importará ninguna fila" in words
    assert "Fila 3 · columna «junta_anual»" in words and "Valor: «quizás»" in words
    assert "Fila 4 · columna «rut_cooperativa»" in words
    assert "Sin esos problemas, se crearía 1 entrevista (1 enviada)" in words
    assert "elija de nuevo" not in words  # nothing to import as it is

    refused = post(api_env, FIELD_UPLOAD, csrf, data, "entrevistas.xlsx", action="importar", ronda=round_id)
    assert refused.status_code == 422 and "text/html" in refused.headers["content-type"]
    words = text(refused)
    assert "No se importó ninguna fila; corrija los 2 problemas de la lista" in words
    assert "Fila 3 · columna «junta_anual»" in words
    assert interviews_count(api_env) == 0  # all or nothing: not even the good row


def test_odk_export_preview_import_and_reimport(api_env, world):
    field, _ = api_env.user("field", macrozones=["Centro"], institution="INDAP")
    csrf = login(api_env, field)
    with api_env.session() as session:
        questionnaire = questionnaire_of_version(session.get(QuestionnaireVersion, world["version"]))
    export = odk_csv(
        questionnaire,
        [
            Interview("76.123.456-0", SAMPLE_COMPLETE, "0b8c6a5e-1f2d-4c3b-9a8e-7d6c5b4a3f21"),
            Interview("12345678-5", SAMPLE_INCOMPLETE, "1c9d7b6f-2e3a-4d4c-8b9f-8e7d6c5b4a32"),
        ],
    )
    fields = {"ronda": str(world["round"]), "tipo": "odk", "institucion": "INDAP", "lugar": "Sede", "cargo": "Gerente"}

    preview = post(api_env, FIELD_UPLOAD, csrf, export, "envios.csv", **fields)
    assert preview.status_code == 200, preview.text
    assert "al importarlo se crearán 2 entrevistas (1 enviada y 1 como borrador)" in text(preview)
    assert interviews_count(api_env) == 0

    done = post(api_env, FIELD_UPLOAD, csrf, export, "envios.csv", action="importar", **fields)
    assert done.status_code == 200, done.text
    assert "se crearon 2 entrevistas (1 enviada y 1 como borrador)" in text(done)
    with api_env.session() as session:
        stored = {r.cooperative_id: r for r in session.scalars(select(Response))}
    assert stored[world["centro"]].status == "submitted" and stored[world["centro2"]].status == "draft"
    assert stored[world["centro"]].interview_place == "Sede" and stored[world["centro"]].institution == "INDAP"

    again = post(api_env, FIELD_UPLOAD, csrf, export, "envios.csv", action="importar", **fields)
    words = text(again)
    assert "No había entrevistas nuevas" in words and "ya importada" in words
    assert interviews_count(api_env) == 2


def test_form_errors_wrong_and_oversized_files(api_env, world, monkeypatch):
    field, _ = api_env.user("field", macrozones=["Centro"])
    csrf = login(api_env, field)
    round_id = str(world["round"])

    missing = post(api_env, FIELD_UPLOAD, csrf, None, "", ronda=round_id)
    assert missing.status_code == 422 and "Elija el archivo que quiere revisar o importar" in text(missing)
    no_institution = post(api_env, FIELD_UPLOAD, csrf, b"a,b\n", "envios.csv", ronda=round_id, tipo="odk")
    assert no_institution.status_code == 422 and "Escriba la institución que hizo las entrevistas" in text(
        no_institution
    )

    # a PDF named .xlsx: the reader's own message (the API's), as a page, never JSON
    wrong = post(
        api_env, FIELD_UPLOAD, csrf, b"%PDF-1.7\n" + b"x" * 200, "entrevistas.xlsx", ronda=round_id, action="importar"
    )
    assert wrong.status_code == 422 and wrong.headers["content-type"].startswith("text/html")
    api = api_env.client.post(
        f"/api/v1/rounds/{round_id}/interviews/import",
        params={"dry_run": "false"},
        headers={"X-CSRF-Token": csrf},
        files={"archivo": ("entrevistas.xlsx", b"%PDF-1.7\n" + b"x" * 200)},
    )
    assert api.status_code == 422
    assert api.json()["error"]["message"] in text(wrong) and "No se importó nada" in text(wrong)

    monkeypatch.setattr("app.web.imports.MAX_UPLOAD_BYTES", 1000)
    large = post(api_env, FIELD_UPLOAD, csrf, b"x" * 1001, "entrevistas.xlsx", ronda=round_id)
    assert large.status_code == 413 and large.headers["content-type"].startswith("text/html")
    assert _too_large().message in text(large)
    assert interviews_count(api_env) == 0


def test_registry_preview_shows_created_changed_and_refused_then_imports(api_env, world):
    analyst, _ = api_env.user("analyst")
    csrf = login(api_env, analyst)
    existing = [
        "65.000.000-5",
        "Cooperativa Lago Sur",
        "",
        "agricola",
        "",
        "",
        "9",
        "Pucón",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ]
    new = ["77.123.456-9", *ROW_NEW[1:]]
    data = csv_bytes([HEADER, new, existing], encoding="cp1252")

    preview = post(api_env, REGISTRY, csrf, data, "registro.csv")
    assert preview.status_code == 200, preview.text
    words = text(preview)
    assert "al importarlo, el registro tendrá 1 cooperativa nueva y 1 cooperativa con cambios" in words
    assert "Comuna: Villarrica → pasa a Pucón" in words  # the words «pasa a» for screen readers only
    assert "2 77.123.456-9 Cooperativa Campesina Los Aromos" in words
    with api_env.session() as session:
        assert session.scalar(select(func.count()).select_from(Cooperative)) == 3
        assert session.get(Cooperative, world["sur"]).comuna == "Villarrica"

    done = post(api_env, REGISTRY, csrf, data, "registro.csv", action="importar")
    assert done.status_code == 200
    assert "Importación terminada: el registro tiene 1 cooperativa nueva y 1 cooperativa con cambios" in text(done)
    with api_env.session() as session:
        assert session.scalar(select(func.count()).select_from(Cooperative)) == 4
        assert session.get(Cooperative, world["sur"]).comuna == "Pucón"

    again = post(api_env, REGISTRY, csrf, data, "registro.csv", action="importar")
    assert "El registro ya tenía todos estos datos: no se cambió nada" in text(again)

    bad = csv_bytes(
        [
            HEADER,
            ["76.543.210-3", "Otra", *ROW_NEW[2:6], "Región de la Luna", *ROW_NEW[7:]],
            ["76.543.210-4", *ROW_NEW[1:]],
            existing[:7] + ["Curacautín"] + existing[8:],
        ]
    )
    refused = post(api_env, REGISTRY, csrf, bad, "registro.csv", action="importar")
    assert refused.status_code == 422
    words = text(refused)
    assert "No se importó ninguna fila; corrija los 2 problemas de la lista" in words
    assert "Fila 2 · columna «Región»" in words and "Valor: «Región de la Luna»" in words
    assert "Fila 3 · columna «RUT»" in words
    with api_env.session() as session:
        assert session.get(Cooperative, world["sur"]).comuna == "Pucón"
        assert session.scalar(select(func.count()).select_from(Cooperative)) == 4
