"""coopdiag's scoring core: questionnaire format, answers and traffic-light scoring.

Pure Python: no I/O, no clock, no database, no web. It takes a questionnaire
(text or parsed data) and an answer set and returns typed results.
"""

from .answers import AnswerError, InvalidAnswers, validate_answer, validate_answers
from .engine import computed_values, failed_checks, light_for, missing_required, relevant_questions, score, score_valid
from .expressions import MISSING, ExpressionSyntaxError
from .loader import Problem, QuestionnaireError, load_questionnaire, questionnaire_from_data
from .model import Band, Check, Dimension, Option, Question, Questionnaire, Subcategory, Thresholds
from .results import (
    LIGHT_MESSAGES,
    LIGHT_NAMES_ES,
    METHOD,
    DiagnosisResult,
    DimensionResult,
    Light,
    OverallResult,
    QuestionResult,
    Status,
    SubcategoryResult,
)

__all__ = [
    "AnswerError",
    "Band",
    "Check",
    "METHOD",
    "failed_checks",
    "DiagnosisResult",
    "computed_values",
    "Dimension",
    "DimensionResult",
    "ExpressionSyntaxError",
    "InvalidAnswers",
    "LIGHT_MESSAGES",
    "LIGHT_NAMES_ES",
    "Light",
    "MISSING",
    "Option",
    "OverallResult",
    "Problem",
    "Question",
    "QuestionResult",
    "Questionnaire",
    "QuestionnaireError",
    "Status",
    "Subcategory",
    "SubcategoryResult",
    "Thresholds",
    "light_for",
    "load_questionnaire",
    "missing_required",
    "questionnaire_from_data",
    "relevant_questions",
    "score",
    "score_valid",
    "validate_answer",
    "validate_answers",
]
