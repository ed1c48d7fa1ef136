"""The web application: home page listing the questionnaires, health check."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from app.db import make_engine, make_sessionmaker
from app.main import create_app
from app.questionnaires.service import list_questionnaires
from app.settings import Settings


def _client(db_url: str, questionnaires_dir: Path) -> TestClient:
    settings = Settings(database_url=db_url, questionnaires_dir=questionnaires_dir)
    return TestClient(create_app(settings))


def test_home_lists_questionnaires(
    migrated_db_url: str,
    questionnaires_dir: Path,
    write_questionnaire: Callable[..., Path],
    sample_counts: dict[str, int],
) -> None:
    write_questionnaire("a.yaml", title="Autodiagnóstico de prueba", version="2026.1")
    write_questionnaire("b.yaml", qid="forestal", title="Cuestionario forestal", version="0.9")

    with _client(migrated_db_url, questionnaires_dir) as client:
        response = client.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert '<html lang="es-CL">' in html
    assert 'name="viewport"' in html
    assert "Autodiagnóstico de prueba" in html
    assert "Cuestionario forestal" in html
    assert "prueba-mini" in html and "forestal" in html
    assert "2026.1" in html and "0.9" in html
    for label, count in (
        ("Dimensiones", sample_counts["dimensions"]),
        ("Subcategorías", sample_counts["subcategories"]),
        ("Preguntas", sample_counts["questions"]),
    ):
        assert f"<dt>{label}</dt><dd>{count}</dd>" in html
    assert "http://" not in html and "https://" not in html  # no CDN, nothing external


def test_startup_registers_questionnaires(
    migrated_db_url: str, questionnaires_dir: Path, write_questionnaire: Callable[..., Path]
) -> None:
    write_questionnaire()
    with _client(migrated_db_url, questionnaires_dir) as client:
        assert client.get("/healthz").status_code == 200
    with _client(migrated_db_url, questionnaires_dir) as client:  # restart: no duplicate
        assert client.get("/").status_code == 200

    engine = make_engine(migrated_db_url)
    try:
        with make_sessionmaker(engine)() as session:
            rows = list_questionnaires(session=session)
    finally:
        engine.dispose()
    assert [(r.questionnaire_id, r.version) for r in rows] == [("prueba-mini", "2026.1")]


def test_broken_file_is_shown_with_a_note(
    migrated_db_url: str, questionnaires_dir: Path, write_questionnaire: Callable[..., Path]
) -> None:
    write_questionnaire("bueno.yaml", title="Cuestionario que sí carga")
    write_questionnaire("roto.yaml", source="id: roto\nversion: '1'\ntitle: Roto\ndimensions: []\n")

    with _client(migrated_db_url, questionnaires_dir) as client:
        response = client.get("/")

    assert response.status_code == 200
    assert "Cuestionario que sí carga" in response.text
    assert "Archivos no cargados" in response.text
    assert "roto.yaml" in response.text


def test_changed_registered_version_is_not_served(
    migrated_db_url: str, questionnaires_dir: Path, write_questionnaire: Callable[..., Path]
) -> None:
    write_questionnaire("q.yaml", title="Versión original")
    with _client(migrated_db_url, questionnaires_dir) as client:
        assert "Versión original" in client.get("/").text

    write_questionnaire("q.yaml", title="Versión editada sin cambiar el número")
    write_questionnaire("otro.yaml", qid="otro", title="Otro cuestionario")
    with _client(migrated_db_url, questionnaires_dir) as client:
        response = client.get("/")

    assert response.status_code == 200
    assert "Otro cuestionario" in response.text
    assert "ya está registrada" in response.text
    assert "<h2>Versión editada sin cambiar el número</h2>" not in response.text


def test_database_not_migrated_is_a_note_not_a_500(
    db_url: str, questionnaires_dir: Path, write_questionnaire: Callable[..., Path]
) -> None:
    write_questionnaire(title="Cuestionario sin base de datos")
    with _client(db_url, questionnaires_dir) as client:
        response = client.get("/")
    assert response.status_code == 200
    assert "Cuestionario sin base de datos" in response.text
    assert "coopdiag db upgrade" in response.text


def test_missing_questionnaires_dir(migrated_db_url: str, tmp_path: Path) -> None:
    with _client(migrated_db_url, tmp_path / "no-existe") as client:
        response = client.get("/")
    assert response.status_code == 200
    assert "no existe" in response.text
    assert "No hay cuestionarios cargados" in response.text


def test_healthz(migrated_db_url: str, questionnaires_dir: Path) -> None:
    with _client(migrated_db_url, questionnaires_dir) as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_static_css_is_served_by_the_app(migrated_db_url: str, questionnaires_dir: Path) -> None:
    with _client(migrated_db_url, questionnaires_dir) as client:
        html = client.get("/").text
        assert "/static/style.css" in html
        response = client.get("/static/style.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
