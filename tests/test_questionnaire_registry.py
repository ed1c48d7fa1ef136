"""Registering questionnaire files in the database (app.questionnaires.service)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import make_engine, make_sessionmaker
from app.questionnaires.models import QuestionnaireVersion
from app.questionnaires.service import (
    QuestionnaireConflictError,
    QuestionnaireDirectoryError,
    list_questionnaires,
    register_questionnaires,
)


@pytest.fixture
def session(migrated_db_url: str) -> Iterator[Session]:
    engine = make_engine(migrated_db_url)
    try:
        with make_sessionmaker(engine)() as session:
            yield session
    finally:
        engine.dispose()


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(QuestionnaireVersion))


def test_register_new_questionnaire(
    session: Session, questionnaires_dir: Path, write_questionnaire: Callable[..., Path]
) -> None:
    path = write_questionnaire("mini.yaml", version="2026.1", title="Cuestionario mínimo")

    result = register_questionnaires(session=session, directory=questionnaires_dir)
    session.commit()

    assert result.failed == []
    assert [item.key for item in result.loaded] == [("prueba-mini", "2026.1")]
    assert len(result.registered) == 1 and result.unchanged == []
    [row] = list_questionnaires(session=session)
    source = path.read_text(encoding="utf-8")
    assert row.questionnaire_id == "prueba-mini"
    assert row.version == "2026.1"
    assert row.title == "Cuestionario mínimo"
    assert row.source == source
    assert row.content_hash == hashlib.sha256(source.encode("utf-8")).hexdigest()
    assert row.registered_at.tzinfo is not None
    assert row.registered_at.utcoffset().total_seconds() == 0


def test_reregister_is_idempotent(
    session: Session, questionnaires_dir: Path, write_questionnaire: Callable[..., Path]
) -> None:
    write_questionnaire()
    register_questionnaires(session=session, directory=questionnaires_dir)
    session.commit()
    [before] = list_questionnaires(session=session)

    again = register_questionnaires(session=session, directory=questionnaires_dir)
    session.commit()

    assert again.registered == []
    assert [row.id for row in again.unchanged] == [before.id]
    [after] = list_questionnaires(session=session)
    assert (after.id, after.registered_at, after.content_hash) == (
        before.id,
        before.registered_at,
        before.content_hash,
    )


def test_changed_content_under_same_version_is_refused(
    session: Session, questionnaires_dir: Path, write_questionnaire: Callable[..., Path]
) -> None:
    write_questionnaire("nacional.yaml", version="2026.1", title="Título original")
    register_questionnaires(session=session, directory=questionnaires_dir)
    session.commit()

    write_questionnaire("nacional.yaml", version="2026.1", title="Título cambiado")
    write_questionnaire("otro.yaml", qid="otro", version="1")  # new, but must not be half-registered
    with pytest.raises(QuestionnaireConflictError) as excinfo:
        register_questionnaires(session=session, directory=questionnaires_dir)
    session.rollback()

    message = str(excinfo.value)
    assert "nacional.yaml" in message
    assert "2026.1" in message and "prueba-mini" in message
    assert "ya está registrada" in message
    assert excinfo.value.paths == [questionnaires_dir / "nacional.yaml"]
    [row] = list_questionnaires(session=session)
    assert row.title == "Título original"


def test_new_version_is_registered_beside_the_old(
    session: Session, questionnaires_dir: Path, write_questionnaire: Callable[..., Path]
) -> None:
    write_questionnaire("v1.yaml", version="2026.1")
    register_questionnaires(session=session, directory=questionnaires_dir)
    session.commit()
    (questionnaires_dir / "v1.yaml").unlink()
    write_questionnaire("v2.yaml", version="2026.2", title="Segunda versión")

    result = register_questionnaires(session=session, directory=questionnaires_dir)
    session.commit()

    assert [(r.questionnaire_id, r.version) for r in result.registered] == [("prueba-mini", "2026.2")]
    assert [(r.version, r.title) for r in list_questionnaires(session=session)] == [
        ("2026.1", "Cuestionario de prueba"),
        ("2026.2", "Segunda versión"),
    ]


def test_files_that_fail_to_load_are_reported_and_skipped(
    session: Session, questionnaires_dir: Path, write_questionnaire: Callable[..., Path]
) -> None:
    write_questionnaire("bueno.yml")
    write_questionnaire("malo.yaml", source="id: malo\nversion: '1'\ndimensions: []\n")
    write_questionnaire("roto.json", source="{ no es json")
    (questionnaires_dir / "latin1.yaml").write_bytes("título: ñandú".encode("latin-1"))
    (questionnaires_dir / "notas.txt").write_text("no es un cuestionario", encoding="utf-8")

    result = register_questionnaires(session=session, directory=questionnaires_dir)
    session.commit()

    assert [item.path.name for item in result.loaded] == ["bueno.yml"]
    failed = {failure.path.name: failure for failure in result.failed}
    assert set(failed) == {"latin1.yaml", "malo.yaml", "roto.json"}
    for name, failure in failed.items():
        assert name in failure.message
    assert "UTF-8" in failed["latin1.yaml"].message
    assert failed["malo.yaml"].problems  # the loader's problems, each with its place
    assert _count(session) == 1


def test_json_questionnaire_is_accepted(
    session: Session, questionnaires_dir: Path, write_questionnaire: Callable[..., Path]
) -> None:
    import json

    import yaml

    data = yaml.safe_load(write_questionnaire("a.yaml").read_text(encoding="utf-8"))
    (questionnaires_dir / "a.yaml").unlink()
    data["id"] = "en-json"
    write_questionnaire("b.json", source=json.dumps(data, ensure_ascii=False, indent=2))

    result = register_questionnaires(session=session, directory=questionnaires_dir)

    assert result.failed == []
    assert [r.questionnaire_id for r in result.registered] == ["en-json"]


def test_two_files_with_same_version(
    session: Session, questionnaires_dir: Path, write_questionnaire: Callable[..., Path]
) -> None:
    write_questionnaire("a.yaml")
    write_questionnaire("copia.yaml")  # identical content: one row
    result = register_questionnaires(session=session, directory=questionnaires_dir)
    session.commit()
    assert len(result.registered) == 1 and _count(session) == 1

    write_questionnaire("distinto.yaml", title="Otro contenido")  # same (id, version)
    with pytest.raises(QuestionnaireConflictError) as excinfo:
        register_questionnaires(session=session, directory=questionnaires_dir)
    assert "distinto.yaml" in str(excinfo.value)


def test_missing_directory(session: Session, tmp_path: Path) -> None:
    with pytest.raises(QuestionnaireDirectoryError, match="no existe"):
        register_questionnaires(session=session, directory=tmp_path / "no-hay")


def test_empty_directory(session: Session, questionnaires_dir: Path) -> None:
    result = register_questionnaires(session=session, directory=questionnaires_dir)
    assert (result.loaded, result.failed, result.registered) == ([], [], [])
    assert list_questionnaires(session=session) == []


def test_repository_questionnaires_register(session: Session) -> None:
    """Every questionnaire shipped in questionnaires/ loads and registers."""
    from app.settings import PROJECT_ROOT

    directory = PROJECT_ROOT / "questionnaires"
    assert directory.is_dir(), "the repository ships its questionnaires in questionnaires/"
    result = register_questionnaires(session=session, directory=directory)
    session.commit()
    assert [(f.path.name, f.message, f.problems) for f in result.failed] == []
    assert result.loaded and len(result.registered) == len({i.key for i in result.loaded})
