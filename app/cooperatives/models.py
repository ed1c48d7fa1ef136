"""The cooperative registry."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, CheckConstraint, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class LegalType(StrEnum):
    AGRICOLA = "agricola"  # cooperativa agrícola
    CAMPESINA = "campesina"  # cooperativa campesina
    SERVICIOS = "servicios"  # cooperativa de servicios
    FORESTAL = "forestal"  # cooperativa forestal
    PRECOOPERATIVO = "precooperativo"  # grupo pre-cooperativo (not yet constituted)
    OTRA = "otra"


class CooperativeState(StrEnum):
    ACTIVA = "activa"
    INACTIVA = "inactiva"
    EN_FORMACION = "en_formacion"


# The names people read, defined here once (API ``*_label`` fields, pages, PDF, exports, the
# registry importer's vocabulary). Names that stand alone, hence capitalised.
LEGAL_TYPE_LABELS: dict[str, str] = {
    LegalType.AGRICOLA.value: "Cooperativa agrícola",
    LegalType.CAMPESINA.value: "Cooperativa campesina",
    LegalType.SERVICIOS.value: "Cooperativa de servicios",
    LegalType.FORESTAL.value: "Cooperativa forestal",
    LegalType.PRECOOPERATIVO.value: "Grupo pre-cooperativo",
    LegalType.OTRA.value: "Otra",
}
COOPERATIVE_STATE_LABELS: dict[str, str] = {
    CooperativeState.ACTIVA.value: "Activa",
    CooperativeState.INACTIVA.value: "Inactiva",
    CooperativeState.EN_FORMACION.value: "En formación",
}


class Cooperative(Base):
    """A cooperative or pre-cooperative group. The macrozone is not stored: it is derived
    from ``region_code`` with the configurable mapping (settings.macrozones)."""

    __tablename__ = "cooperatives"
    __table_args__ = (
        CheckConstraint("region_code BETWEEN 1 AND 16", name="region_code_range"),
        CheckConstraint("members_women IS NULL OR members_women >= 0", name="members_women_positive"),
        CheckConstraint("members_men IS NULL OR members_men >= 0", name="members_men_positive"),
        CheckConstraint("members_under_35 IS NULL OR members_under_35 >= 0", name="members_under_35_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rut: Mapped[str] = mapped_column(String(12), unique=True)
    """Normalised as digits, hyphen, check digit: ``76123456-7`` (``K`` upper case)."""
    name: Mapped[str] = mapped_column(String(300), index=True)
    daes_number: Mapped[str | None] = mapped_column(String(50))
    legal_type: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20), default=CooperativeState.ACTIVA.value)
    legally_current: Mapped[bool] = mapped_column(Boolean, default=True)
    """Vigente ante DAES."""
    region_code: Mapped[int] = mapped_column(Integer, index=True)
    comuna: Mapped[str | None] = mapped_column(String(100))
    sectors: Mapped[list[str]] = mapped_column(JSON, default=list)
    members_women: Mapped[int | None] = mapped_column(Integer)
    members_men: Mapped[int | None] = mapped_column(Integer)
    members_under_35: Mapped[int | None] = mapped_column(Integer)
    founding_year: Mapped[int | None] = mapped_column(Integer)
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    approved: Mapped[bool] = mapped_column(Boolean, default=True)
    """False while a cooperative registered by a field team waits for an analyst."""
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
