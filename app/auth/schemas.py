"""Request and response bodies of the accounts API (login, users, invitations, tokens)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.auth.models import ApiToken, Invitation, User
from app.pagination import Page
from app.user_input import LongText, Text

RoleName = Literal["admin", "analyst", "field", "manager"]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------- users


class UserOut(BaseModel):
    id: int
    email: str
    full_name: str
    role: RoleName
    institution: str | None
    is_active: bool
    has_password: bool = Field(description="Falso mientras la persona no ha definido su contraseña")
    cooperative_ids: list[int]
    macrozones: list[str]
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            email=user.email,
            full_name=user.full_name,
            role=user.role,
            institution=user.institution,
            is_active=user.is_active,
            has_password=bool(user.password_hash),
            cooperative_ids=sorted(user.cooperative_ids),
            macrozones=sorted(user.macrozones),
            created_at=user.created_at,
            last_login_at=user.last_login_at,
        )


UserPage = Page[UserOut]


class UserPatch(_Request):
    """Only the fields sent are changed."""

    full_name: Text | None = Field(None, max_length=200)
    role: RoleName | None = None
    institution: Text | None = Field(None, max_length=200, description="null la borra")
    is_active: bool | None = Field(None, description="false cierra sus sesiones y revoca sus tokens")
    cooperative_ids: list[int] | None = Field(None, description="reemplaza la lista completa")
    macrozones: list[Text] | None = Field(None, description="reemplaza la lista completa")


# --------------------------------------------------------------------------- login


class LoginIn(_Request):
    email: Text = Field(max_length=254)
    password: LongText = Field(max_length=1024)


class SessionOut(BaseModel):
    user: UserOut
    csrf_token: str | None = Field(
        description="Con sesión por cookie: envíelo en la cabecera X-CSRF-Token en POST, PATCH, PUT y DELETE"
    )


class PasswordChangeIn(_Request):
    current_password: LongText = Field(max_length=1024)
    new_password: LongText = Field(max_length=1024, description="Al menos 10 caracteres")


# --------------------------------------------------------------------------- invitations


class InvitationIn(_Request):
    email: Text = Field(max_length=254)
    full_name: Text = Field(max_length=200)
    role: RoleName
    institution: Text | None = Field(None, max_length=200)
    cooperative_ids: list[int] = []
    macrozones: list[Text] = []


class InvitationOut(BaseModel):
    id: int
    email: str
    full_name: str
    role: RoleName
    institution: str | None
    cooperative_ids: list[int]
    macrozones: list[str]
    created_by_id: int | None
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    user_id: int | None
    revoked_at: datetime | None = Field(None, description="Cuándo se anuló (el enlace dejó de servir)")

    @classmethod
    def of(cls, invitation: Invitation) -> InvitationOut:
        return cls(
            id=invitation.id,
            email=invitation.email,
            full_name=invitation.full_name,
            role=invitation.role,
            institution=invitation.institution,
            cooperative_ids=list(invitation.cooperative_ids or []),
            macrozones=list(invitation.macrozones or []),
            created_by_id=invitation.created_by_id,
            created_at=invitation.created_at,
            expires_at=invitation.expires_at,
            used_at=invitation.used_at,
            user_id=invitation.user_id,
            revoked_at=invitation.revoked_at,
        )


class InvitationCreated(InvitationOut):
    token: str = Field(description="Se muestra una sola vez; no se puede recuperar")
    path: str = Field(description="El enlace para la persona invitada: /invitacion/{token}")


class AccessAddedOut(BaseModel):
    """The answer to an invitation of someone who already has an account of that role: no
    invitation, the cooperatives or macrozones were added to the account (200, not 201)."""

    result: Literal["access_added"] = "access_added"
    message: str = Field(description="Lo que se agregó, en palabras")
    user: UserOut
    added_cooperative_ids: list[int]
    added_macrozones: list[str]


InvitationPage = Page[InvitationOut]


class InvitationPublic(BaseModel):
    """What the invited person sees before accepting."""

    email: str
    full_name: str
    role: RoleName
    institution: str | None
    expires_at: datetime
    valid: bool
    problem: str | None = Field(description="Por qué ya no se puede usar, si no es válida")


class AcceptIn(_Request):
    password: LongText = Field(max_length=1024)


# --------------------------------------------------------------------------- API tokens


class TokenIn(_Request):
    name: Text = Field(max_length=100, description="Para reconocerlo, p. ej. «script de exportación»")


class TokenOut(BaseModel):
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, token: ApiToken) -> TokenOut:
        return cls(
            id=token.id,
            name=token.name,
            created_at=token.created_at,
            last_used_at=token.last_used_at,
            revoked_at=token.revoked_at,
        )


class TokenCreated(TokenOut):
    token: str = Field(description="Se muestra una sola vez; envíelo como «Authorization: Bearer …»")


TokenPage = Page[TokenOut]
