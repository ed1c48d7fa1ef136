"""Accounts, roles, invitations, web sessions and API tokens.

Secrets (passwords, invitation links, session ids, API tokens) are never stored
in clear: passwords as argon2 hashes, the random tokens as SHA-256 digests.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, utcnow


class Role(StrEnum):
    ADMIN = "admin"
    ANALYST = "analyst"  # ODEPA: reads everything, validates or returns responses, exports
    FIELD = "field"  # university field team: interviews for assigned cooperatives/macrozones
    MANAGER = "manager"  # cooperative manager: only their cooperatives


#: A role as people read it, defined here once; written as inside a sentence («con el rol
#: «analista»»), capitalised where it starts a cell or an option.
ROLE_LABELS: dict[str, str] = {
    Role.ADMIN.value: "administrador/a",
    Role.ANALYST.value: "analista",
    Role.FIELD.value: "equipo de terreno",
    Role.MANAGER.value: "gerente de cooperativa",
}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    """Stored lower case."""
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    institution: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    """None until the person sets a password through an invitation."""
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    cooperative_links: Mapped[list[UserCooperative]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )
    macrozone_links: Mapped[list[UserMacrozone]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def cooperative_ids(self) -> set[int]:
        return {link.cooperative_id for link in self.cooperative_links}

    @property
    def macrozones(self) -> set[str]:
        return {link.macrozone for link in self.macrozone_links}


class UserCooperative(Base):
    """A manager's cooperatives, or a field team member's assigned cooperatives."""

    __tablename__ = "user_cooperatives"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    cooperative_id: Mapped[int] = mapped_column(
        ForeignKey("cooperatives.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    user: Mapped[User] = relationship(back_populates="cooperative_links")


class UserMacrozone(Base):
    """A field team member's assigned macrozones (every cooperative in them)."""

    __tablename__ = "user_macrozones"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    macrozone: Mapped[str] = mapped_column(String(50), primary_key=True)
    user: Mapped[User] = relationship(back_populates="macrozone_links")


class Invitation(Base):
    """A single-use, expiring link to create an account and set its password."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    institution: Mapped[str | None] = mapped_column(String(200))
    cooperative_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    macrozones: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: Set when whoever invites withdraws it: the link stops working.
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebSession(Base):
    """A browser session: the cookie holds a random id, the table its digest."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(lazy="joined")


class ApiToken(Base):
    """A personal token for scripts (``Authorization: Bearer …``); revocable."""

    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(lazy="joined")


class PasswordReset(Base):
    """A single-use, short-lived link to choose a new password («¿Olvidó su contraseña?»);
    the link's token is stored as its SHA-256 digest."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
