"""Request and response bodies of the cooperatives API, with their validation.

Validation messages are Spanish and name the field (``app.errors`` turns them into the
``details`` of a 422). Checks that need other fields or the clock (members under 35 within
the total, founding year not in the future) are done by the service.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator
from stdnum import exceptions as stdnum_exceptions
from stdnum.cl import rut as stdnum_rut

from app.cooperatives.models import COOPERATIVE_STATE_LABELS, LEGAL_TYPE_LABELS, CooperativeState, LegalType
from app.cooperatives.sectors import SECTORS
from app.settings import REGIONS
from app.user_input import LongText, Text, is_blank

#: Fields a cooperative's manager may change on their own cooperative (see
#: ``app.auth.policy.cooperative_fields_editable_by``).
CONTACT_FIELDS = ("contact_name", "contact_email", "contact_phone")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9 ()\-.]{6,20}$")

_LEGAL_DOC = "Tipo jurídico: " + "; ".join(f"`{k}` = {v}" for k, v in LEGAL_TYPE_LABELS.items()) + "."
_STATE_DOC = "Estado: " + "; ".join(f"`{k}` = {v}" for k, v in COOPERATIVE_STATE_LABELS.items()) + "."
_SECTOR_DOC = "Rubros (códigos): " + "; ".join(f"`{k}` = {v}" for k, v in SECTORS.items()) + "."
_REGION_DOC = "Código oficial (CUT) de la región, 1 a 16 (vea GET /api/v1/regions)."


def normalize_rut(value: str) -> str:
    """The RUT as stored, ``76123456-7`` (``K`` upper case), or ValueError in Spanish.

    Accepts ``76.123.456-7``, ``761234567``, ``76123456-k`` and spaces.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValueError("falta el RUT")
    try:
        compact = stdnum_rut.validate(value)
    except stdnum_exceptions.InvalidChecksum:
        raise ValueError(f"el dígito verificador del RUT «{value.strip()}» no es correcto") from None
    except stdnum_exceptions.ValidationError:
        raise ValueError(
            f"«{value.strip()}» no es un RUT válido (ejemplo: 76.123.456-0, sin o con puntos y guion)"
        ) from None
    compact = compact.upper()
    return f"{compact[:-1].lstrip('0') or '0'}-{compact[-1]}"


def format_rut(rut: str) -> str:
    """``76123456-7`` → ``76.123.456-7`` for display."""
    number, _, check = rut.partition("-")
    return f"{int(number):,}".replace(",", ".") + f"-{check}"


def _clean_optional(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _check_email(value: str | None) -> str | None:
    value = _clean_optional(value)
    if value is not None and not _EMAIL.match(value):
        raise ValueError(f"«{value}» no es un correo electrónico válido")
    return value.lower() if value else value


def _check_phone(value: str | None) -> str | None:
    value = _clean_optional(value)
    if value is not None and not _PHONE.match(value):
        raise ValueError(f"«{value}» no es un teléfono válido (solo dígitos, espacios, +, guiones)")
    return value


def _check_region(value: int | None) -> int | None:
    if value is not None and value not in REGIONS:
        raise ValueError(f"{value} no es un código de región de Chile (1 a 16)")
    return value


def _check_sectors(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    unknown = [item for item in value if item not in SECTORS]
    if unknown:
        raise ValueError(
            "rubro desconocido: "
            + ", ".join(f"«{item}»" for item in unknown)
            + " (valores permitidos: "
            + ", ".join(SECTORS)
            + ")"
        )
    return list(dict.fromkeys(value))  # without repetitions, in the order given


Count = Annotated[int, Field(ge=0, le=1_000_000)]


class _CooperativeFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("name", check_fields=False)
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and is_blank(value):
            raise ValueError("el nombre no puede estar vacío ni ser solo espacios o caracteres invisibles")
        return value

    @field_validator("rut", check_fields=False)
    @classmethod
    def _rut(cls, value: str | None) -> str | None:
        return None if value is None else normalize_rut(value)

    @field_validator("region_code", check_fields=False)
    @classmethod
    def _region(cls, value: int | None) -> int | None:
        return _check_region(value)

    @field_validator("sectors", check_fields=False)
    @classmethod
    def _sectors(cls, value: list[str] | None) -> list[str] | None:
        return _check_sectors(value)

    @field_validator("contact_email", check_fields=False)
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return _check_email(value)

    @field_validator("contact_phone", check_fields=False)
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return _check_phone(value)

    @field_validator("daes_number", "comuna", "contact_name", "notes", check_fields=False)
    @classmethod
    def _optional_text(cls, value: str | None) -> str | None:
        return _clean_optional(value)


class CooperativeCreate(_CooperativeFields):
    """Una cooperativa nueva. Administradores y analistas la registran aprobada; la que registra
    un integrante del equipo de terreno queda pendiente de aprobación (`approved: false`) y
    asignada a él."""

    rut: Text = Field(
        description="RUT con dígito verificador, en cualquier formato: 76.123.456-0, 761234560, 76123456-k"
    )
    name: Text = Field(min_length=2, max_length=300, description="Razón social o nombre")
    daes_number: Text | None = Field(None, max_length=50, description="Número de registro en DAES")
    legal_type: LegalType = Field(description=_LEGAL_DOC)
    state: CooperativeState = Field(CooperativeState.ACTIVA, description=_STATE_DOC)
    legally_current: bool = Field(True, description="Vigente ante DAES")
    region_code: int = Field(description=_REGION_DOC)
    comuna: Text | None = Field(None, max_length=100)
    sectors: list[Text] = Field(default_factory=list, description=_SECTOR_DOC)
    members_women: Count | None = Field(None, description="Socias (mujeres)")
    members_men: Count | None = Field(None, description="Socios (hombres)")
    members_under_35: Count | None = Field(None, description="Socios y socias menores de 35 años (no más que el total)")
    founding_year: int | None = Field(None, ge=1900, description="Año de fundación (1900 al año en curso)")
    contact_name: Text | None = Field(None, max_length=200, description="Persona de contacto")
    contact_email: Text | None = Field(None, max_length=254, description="Correo de contacto")
    contact_phone: Text | None = Field(None, max_length=40, description="Teléfono de contacto")
    notes: LongText | None = Field(None, max_length=5000, description="Observaciones")


class CooperativeUpdate(_CooperativeFields):
    """Cambio parcial: solo cambian los campos enviados; `null` vacía un campo opcional. El
    gerente de la cooperativa solo puede cambiar los datos de contacto (contact_name,
    contact_email, contact_phone); cualquier otro campo responde 403 y no se cambia nada."""

    rut: Text | None = Field(None, description="RUT con dígito verificador")
    name: Text | None = Field(None, min_length=2, max_length=300)
    daes_number: Text | None = Field(None, max_length=50)
    legal_type: LegalType | None = Field(None, description=_LEGAL_DOC)
    state: CooperativeState | None = Field(None, description=_STATE_DOC)
    legally_current: bool | None = None
    region_code: int | None = Field(None, description=_REGION_DOC)
    comuna: Text | None = Field(None, max_length=100)
    sectors: list[Text] | None = Field(None, description=_SECTOR_DOC)
    members_women: Count | None = None
    members_men: Count | None = None
    members_under_35: Count | None = None
    founding_year: int | None = Field(None, ge=1900)
    contact_name: Text | None = Field(None, max_length=200)
    contact_email: Text | None = Field(None, max_length=254)
    contact_phone: Text | None = Field(None, max_length=40)
    notes: LongText | None = Field(None, max_length=5000)


#: Fields that cannot be cleared with null in a PATCH.
REQUIRED_FIELDS = ("rut", "name", "legal_type", "state", "legally_current", "region_code", "sectors")


class SectorOut(BaseModel):
    code: str
    label: str


class CooperativeOut(BaseModel):
    """Una cooperativa registrada. `macrozone` se deriva de la región según la agrupación
    configurada (no se guarda)."""

    id: int
    rut: str = Field(description="Normalizado: 76123456-7")
    rut_formatted: str = Field(description="Para mostrar: 76.123.456-7")
    name: str
    daes_number: str | None
    legal_type: str = Field(description=_LEGAL_DOC)
    legal_type_label: str
    state: str = Field(description=_STATE_DOC)
    state_label: str
    legally_current: bool
    region_code: int
    region_name: str
    macrozone: str | None
    comuna: str | None
    sectors: list[str]
    sector_labels: list[str]
    members_women: int | None
    members_men: int | None
    members_under_35: int | None
    members_total: int | None
    founding_year: int | None
    contact_name: str | None
    contact_email: str | None
    contact_phone: str | None
    approved: bool = Field(description="Falso mientras espera la aprobación de un analista")
    notes: str | None
    created_at: datetime
    updated_at: datetime


class CooperativePage(BaseModel):
    items: list[CooperativeOut]
    total: int
    page: int
    per_page: int
    pages: int


class RegionOut(BaseModel):
    code: int = Field(description="Código oficial (CUT)")
    name: str
    macrozone: str | None
