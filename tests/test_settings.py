"""Application settings (app.settings)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.settings import PROJECT_ROOT, Settings, get_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "QUESTIONNAIRES_DIR", "MIGRATIONS_DIR", "ENVIRONMENT", "SECRET_KEY"):
        monkeypatch.delenv(f"COOPDIAG_{name}", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_defaults() -> None:
    settings = Settings()
    assert settings.database_url == f"sqlite:///{(PROJECT_ROOT / 'var' / 'coopdiag.db').as_posix()}"
    assert settings.questionnaires_dir == PROJECT_ROOT / "questionnaires"
    assert (settings.migrations_dir / "env.py").is_file()
    assert settings.environment == "development"
    assert (PROJECT_ROOT / "app" / "settings.py").is_file()


def test_environment_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COOPDIAG_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("COOPDIAG_QUESTIONNAIRES_DIR", str(tmp_path))
    settings = get_settings()
    assert settings.database_url == "postgresql+psycopg://u@h/db"
    assert settings.questionnaires_dir == tmp_path
    assert get_settings() is settings  # cached


def test_production_requires_a_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COOPDIAG_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="COOPDIAG_SECRET_KEY"):
        Settings()
    monkeypatch.setenv("COOPDIAG_SECRET_KEY", "x" * 40)
    settings = Settings()
    assert settings.is_production
    assert settings.secret_key.get_secret_value() == "x" * 40


def test_unknown_environment_is_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(environment="staging")
