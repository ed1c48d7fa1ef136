"""Application settings, read from ``COOPDIAG_*`` environment variables.

``get_settings()`` is cached: tests that change the environment call
``get_settings.cache_clear()`` (or pass a ``Settings`` object explicitly).
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.proxies import parse_networks

#: The repository root (the folder holding ``app/``, ``migrations/``, ``questionnaires/``).
PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_DATABASE_PATH = PROJECT_ROOT / "var" / "coopdiag.db"
DEFAULT_DATABASE_URL = f"sqlite:///{DEFAULT_DATABASE_PATH.as_posix()}"

#: Chile's regions by official (CUT) code, written north to south: every list of regions follows
#: this order (REGION_ORDER), not the codes' (Arica y Parinacota, code 15, comes first).
REGIONS: dict[int, str] = {
    15: "Arica y Parinacota",
    1: "Tarapacá",
    2: "Antofagasta",
    3: "Atacama",
    4: "Coquimbo",
    5: "Valparaíso",
    13: "Metropolitana de Santiago",
    6: "Libertador General Bernardo O'Higgins",
    7: "Maule",
    16: "Ñuble",
    8: "Biobío",
    9: "La Araucanía",
    14: "Los Ríos",
    10: "Los Lagos",
    11: "Aysén del General Carlos Ibáñez del Campo",
    12: "Magallanes y de la Antártica Chilena",
}
#: The names short enough to write on a map or a narrow chart (the distinctive part of each).
REGION_SHORT_NAMES: dict[int, str] = {
    15: "Arica y Parinacota",
    1: "Tarapacá",
    2: "Antofagasta",
    3: "Atacama",
    4: "Coquimbo",
    5: "Valparaíso",
    13: "Metropolitana",
    6: "O'Higgins",
    7: "Maule",
    16: "Ñuble",
    8: "Biobío",
    9: "Araucanía",
    14: "Los Ríos",
    10: "Los Lagos",
    11: "Aysén",
    12: "Magallanes",
}
#: Position of each region from north to south, to sort anything by region.
REGION_ORDER: dict[int, int] = {code: position for position, code in enumerate(REGIONS)}

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
    #: Folder where rendered PDF reports are kept, named by the hash of their content
    #: (a report is rendered once per snapshot, peers and date). Empty: no cache.
    reports_cache_dir: Path | None = PROJECT_ROOT / "var" / "informes"
    #: The task queue's broker (``app/queue.py``): empty, an SQLite file beside the database
    #: (``make run``, no other server); ``redis://host:6379/0`` or ``postgresql://…`` in
    #: production; ``immediate`` runs each task where it is queued (tests).
    queue_url: str = ""
    #: Render a diagnosis' PDF on the queue as soon as it is sent, validated or rescored, so a
    #: download is a file read. Off: rendered when first downloaded (the test suite).
    prerender_reports: bool = True
    environment: Literal["development", "production"] = "development"
    #: Secret for signing cookies/tokens. Required in production.
    secret_key: SecretStr = SecretStr(_DEV_SECRET_KEY)

    #: Macrozones of the field work: name -> official (CUT) region codes. Every region
    #: must be in exactly one macrozone. JSON in the environment, e.g.
    #: COOPDIAG_MACROZONES='{"Norte": [15, 1, 2, 3, 4], ...}'.
    macrozones: dict[str, list[int]] = {
        "Norte": [15, 1, 2, 3, 4],
        "Centro": [5, 13, 6],
        "Centro-Sur": [7, 16, 8],
        "Sur": [9, 14, 10],
        "Austral": [11, 12],
    }
    #: Lifetime of a browser session and of an invitation link.
    session_hours: int = 12
    invitation_days: int = 14
    #: Reverse proxies whose ``X-Forwarded-For`` / ``X-Forwarded-Proto`` are believed
    #: (``app.proxies``): addresses or networks separated by commas, e.g.
    #: ``172.18.0.0/16``. Default: none (the headers are ignored; the client is the peer).
    trusted_proxies: str = ""
    #: Outgoing e-mail (``app/notifications/``): ``console`` writes each message to the log
    #: (standard output; ``make run``) and counts it as sent; ``smtp`` sends it through
    #: ``smtp_host``. ``smtp_tls``: ``starttls`` (port 587), ``ssl`` (port 465) or ``none``.
    email_backend: Literal["console", "smtp"] = "console"
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_tls: Literal["starttls", "ssl", "none"] = "starttls"
    #: The From of every message.
    email_sender: str = "coopdiag <no-responder@coopdiag.cl>"
    #: Where people reach coopdiag: the links in e-mails start with it.
    public_url: str = "http://127.0.0.1:8000"

    @field_validator("trusted_proxies")
    @classmethod
    def _check_trusted_proxies(cls, value: str) -> str:
        parse_networks(value)
        return value

    @field_validator("reports_cache_dir", mode="before")
    @classmethod
    def _empty_means_no_cache(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _check_macrozones(self) -> Settings:
        seen: dict[int, str] = {}
        for name, codes in self.macrozones.items():
            for code in codes:
                if code not in REGIONS:
                    raise ValueError(f"COOPDIAG_MACROZONES: la región {code} no existe (códigos 1 a 16)")
                if code in seen:
                    raise ValueError(f"COOPDIAG_MACROZONES: la región {code} está en «{seen[code]}» y en «{name}»")
                seen[code] = name
        missing = sorted(set(REGIONS) - set(seen))
        if missing:
            raise ValueError(f"COOPDIAG_MACROZONES: faltan las regiones {missing}")
        return self

    def macrozone_of(self, region_code: int) -> str | None:
        for name, codes in self.macrozones.items():
            if region_code in codes:
                return name
        return None

    @model_validator(mode="after")
    def _check_production(self) -> Settings:
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
