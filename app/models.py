"""Imports every model module so that ``Base.metadata`` knows all tables.

Alembic's ``env.py`` imports this module; add new model modules here.
"""

from app.db import Base
from app.questionnaires.models import QuestionnaireVersion

__all__ = ["Base", "QuestionnaireVersion"]
