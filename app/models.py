"""Imports every model module so that ``Base.metadata`` knows all tables.

Alembic's ``env.py`` imports this module; add new model modules here.
"""

from app.auth.models import (
    ApiToken,
    Invitation,
    PasswordReset,
    User,
    UserCooperative,
    UserMacrozone,
    WebSession,
)
from app.auth.throttle import LoginFailure
from app.cooperatives.models import Cooperative
from app.db import Base
from app.notifications.models import OutboxEmail
from app.observatory.models import Publication, PublicationEvent
from app.questionnaires.models import QuestionnaireVersion
from app.reports.models import StoredReport
from app.responses.models import Response, ResponseEvent
from app.rounds.models import DiagnosisRound

__all__ = [
    "ApiToken",
    "Base",
    "Cooperative",
    "DiagnosisRound",
    "Invitation",
    "LoginFailure",
    "OutboxEmail",
    "PasswordReset",
    "Publication",
    "PublicationEvent",
    "QuestionnaireVersion",
    "Response",
    "ResponseEvent",
    "StoredReport",
    "User",
    "UserCooperative",
    "UserMacrozone",
    "WebSession",
]
