"""Application settings, read from ``COOPDIAG_*`` environment variables.

``get_settings()`` is cached: tests that change the environment call
``get_settings.cache_clear()`` (or pass a ``Settings`` object explicitly).
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The repository root (the folder holding ``app/``, ``migrations/``, ``questionnaires/``).
PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_DATABASE_PATH = PROJECT_ROOT / "var" / "coopdiag.db"
DEFAULT_DATABASE_URL = f"sqlite:///{DEFAULT_DATABASE_PATH.as_posix()}"

#: Placeholder used in development when no secret key is configured.
_DEV_SECRET_KEY = "coopdiag-dev-insecure-key"


class Settings(BaseSettings):
    """coopdiag settings; every field can be set as ``COOPDIAG_<FIELD>``."""

    model_config = SettingsConfigDict(
        env_prefix="COOPDIAG_",
        extra="ignore",
        frozen=True,
    )

    #: SQLAlchemy URL. Default: an SQLite file ``var/coopdiag.db`` under the
    #: project root (``var/`` is created when the engine is first made).
    #: PostgreSQL: ``postgresql+psycopg://user:password@host:5432/dbname``.
    database_url: str = DEFAULT_DATABASE_URL
    #: Folder whose ``*.yaml``/``*.yml``/``*.json`` files are the served questionnaires.
    questionnaires_dir: Path = PROJECT_ROOT / "questionnaires"
    #: Folder holding the Alembic environment (``env.py`` and ``versions/``).
    #: Only needs setting when the package is installed outside the repository
    #: (e.g. ``pip install .`` in the Docker image).
    migrations_dir: Path = PROJECT_ROOT / "migrations"
    environment: Literal["development", "production"] = "development"
    #: Secret for signing cookies/tokens. Required in production.
    secret_key: SecretStr = SecretStr(_DEV_SECRET_KEY)

    @model_validator(mode="after")
    def _check_production(self) -> "Settings":
        if self.environment == "production":
            key = self.secret_key.get_secret_value()
            if key == _DEV_SECRET_KEY or len(key) < 16:
                raise ValueError(
                    "En producción COOPDIAG_SECRET_KEY debe definirse con al menos 16 caracteres "
                    f"(por ejemplo: {secrets.token_urlsafe(32)})."
                )
        return self

    @property
    def is_production(self) -> bool:
        return self.environment == "production"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once from the environment)."""
    return Settings()
