"""The PDF report says what a result means beyond its lights, like the pages (issue 12): the
light messages of a pre-cooperative group, critical questions answered «No sé» in plain words,
a dimension red by a critical failure (also with no score), the data-quality note on «No sé»
answers, the method the result was computed with; a method 1 snapshot renders as stored.
No database: contexts are built from the national questionnaire and a small one, scored and
snapshotted as a submission stores them, and each PDF is read back with pypdf.

The wording itself (reports.formatting) and the sums (reports.view) are tested here as pure
functions too: the pages and the PDF share them.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader

import reports
import scoring
from app.responses.service import snapshot_of
from helpers import as_method_1
from reports import ReportContext, ReportCooperative, ReportDiagnosis, view
from reports import formatting as fmt

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "nacional"
GREEN_COOP = scoring.LIGHT_MESSAGES[scoring.Light.GREEN]
GREEN_GROUP = "La gestión de su organización es buena; ¡Siga adelante!"
DAES_UNKNOWN = "No se sabe si la cooperativa figura como vigente en el registro de cooperativas de DAES: verifíquelo."

#: One dimension whose only lit subcategory has a critical failure (the other two have no light):
#: red with no score.
NO_SCORE_QUESTIONNAIRE = """
id: prueba-sin-puntaje
version: "1"
title: Cuestionario sin puntaje
dimensions:
  - id: legal
    title: Legalidad
    subcategories:
      - id: registro
        title: Registro
        questions:
          - {id: vigente, text: "¿La cooperativa está vigente?", type: yes_no, critical: true}
      - id: socios
        title: Socios
        questions:
          - {id: padron, text: "¿El padrón de socios está al día?", type: yes_no}
      - id: juntas
        title: Juntas
        questions:
          - {id: junta, text: "¿Se hizo la junta anual?", type: yes_no}
  - id: gestion
    title: Gestión
    subcategories:
      - id: plan
        title: Planificación
        questions:
          - {id: plan, text: "¿Tiene plan de negocios?", type: yes_no}
"""

COOPERATIVE = ReportCooperative(
    name="Cooperativa Campesina Ñuble Sur Ltda.",
    rut="76123456-7",
    legal_type="campesina",
    legal_type_label="Cooperativa campesina",
    region_code=16,
    region_name="Ñuble",
    macrozone="Centro-Sur",
)
DIAGNOSIS = ReportDiagnosis(
    response_id=42,
    revision=1,
    status="submitted",
    mode="self",
    status_label="enviada",
    mode_label="autodiagnóstico",
    round_name="Diagnóstico nacional 2026",
    submitted_at=datetime(2026, 5, 4, 15, 30, tzinfo=timezone.utc),
    submitted_by="Ana Muñoz",
)


@pytest.fixture(scope="module")
def national() -> scoring.Questionnaire:
    path = ROOT / "questionnaires" / "nacional-2026.1.yaml"
    return scoring.load_questionnaire(path.read_text(encoding="utf-8"), source=path.name)


def answers_of(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


def render(questionnaire, answers: dict, *, snapshot: dict | None = None, cooperative=COOPERATIVE) -> str:
    """The PDF's text, white space folded."""
    context = ReportContext(
        cooperative=cooperative,
        diagnosis=DIAGNOSIS,
        questionnaire=questionnaire,
        snapshot=snapshot if snapshot is not None else snapshot_of(scoring.score(questionnaire, answers)),
        answers=answers,
        generated_on=date(2026, 11, 21),
    )
    reader = PdfReader(BytesIO(reports.render_pdf(context)))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def folded(text: str) -> str:
    return " ".join(text.split())


def with_many_no_se(questionnaire: scoring.Questionnaire, answers: dict, count: int) -> dict:
    """``answers`` with the first ``count`` answered, scored, non-critical questions set to «No sé»."""
    changed = dict(answers)
    for question in questionnaire.questions:
        if (
            count
            and question.id in answers
            and question.scored
            and not question.critical
            and question.type != "computed"
        ):
            changed[question.id] = "ns"
            count -= 1
    return changed


# --------------------------------------------------------------------------- words and sums


def test_light_message_for_a_pre_cooperative_group():
    assert fmt.light_message("green") == GREEN_COOP
    assert fmt.light_message("green", precooperative=True) == GREEN_GROUP
    assert fmt.light_message("red", True) == scoring.LIGHT_MESSAGES[scoring.Light.RED]
    assert fmt.light_message("nada") == ""
    assert fmt.is_pre_cooperative({"tipo_organizacion": "grupo_precooperativo"})
    assert not fmt.is_pre_cooperative({"tipo_organizacion": "cooperativa_constituida"})
    assert not fmt.is_pre_cooperative({"tipo_organizacion": "ns"}) and not fmt.is_pre_cooperative(None)


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("¿La cooperativa figura como vigente en el registro de cooperativas de DAES?", DAES_UNKNOWN),
        (
            "¿La junta general de socios aprobó el balance del último ejercicio?",
            "No se sabe si la junta general de socios aprobó el balance del último ejercicio: verifíquelo.",
        ),
        ("¿Con qué frecuencia se reúne el consejo?", "No se sabe con qué frecuencia se reúne el consejo: verifíquelo."),
        (
            "En los últimos doce meses, ¿se realizó la junta general ordinaria de socios?",
            "No se sabe si en los últimos doce meses se realizó la junta general ordinaria de socios: verifíquelo.",
        ),
        ("¿RUT vigente ante el SII?", "No se sabe si RUT vigente ante el SII: verifíquelo."),
        (
            "Contabilidad completa a cargo de un contador",
            "No se sabe la respuesta a «Contabilidad completa a cargo de un contador»: verifíquelo.",
        ),
    ],
)
def test_a_critical_unknown_in_plain_words(text, sentence):
    assert fmt.critical_unknown(text) == sentence


def test_ns_share_counts_the_questions_that_apply():
    snapshot = {
        "dimensions": [
            {
                "subcategories": [
                    {
                        "questions": [
                            {"id": "a", "status": "ns", "score": None},
                            {"id": "b", "status": "scored", "score": 100.0},
                            {"id": "c", "status": "unanswered", "score": None},
                            {"id": "d", "status": "na", "score": None},
                            {"id": "e", "status": "not_relevant", "score": None},
                            {"id": "f", "status": "unscored", "score": None},
                            {"id": "g", "status": "undefined", "score": None},
                            {"id": "h", "status": "scored", "score": 0.0},
                        ]
                    }
                ]
            }
        ]
    }
    assert view.ns_share(snapshot) == 0.25
    assert view.ns_note(snapshot) == (
        "El 25\u00a0% de las preguntas que se aplican se respondió «No sé»: el resultado "
        "tiene menos datos y puede cambiar cuando se conozcan esas respuestas."
    )
    assert view.ns_share({}) is None and view.ns_note(None) is None
    assert fmt.ns_note(0.10) is None  # over 10 %, not at it
    assert fmt.ns_note(0.105).startswith("El 10,5\u00a0% ")
    assert view.snapshot_method({}) == 1 and view.snapshot_method({"method": 2}) == 2


def test_the_critical_note_of_a_dimension():
    titles = {"registro": "Registro"}
    dim = {
        "id": "legal",
        "light": "red",
        "score": 91.7,
        "subcategories": [
            {"id": "registro", "critical_failures": ["vigente"]},
            {"id": "socios", "critical_failures": []},
        ],
    }
    thresholds = scoring.Thresholds(green=0.8, red=0.5)
    assert view.critical_note(dim, thresholds, titles, 2) == (
        "Con su puntaje quedaría en verde, pero está en rojo porque tiene una falla crítica en «Registro»: "
        "una falla crítica deja en rojo toda la dimensión, cualquiera sea su puntaje."
    )
    assert view.critical_note({**dim, "score": 60.0}, thresholds, titles, 2).startswith(
        "Con su puntaje quedaría en amarillo"
    )
    assert view.critical_note({**dim, "score": 30.0}, thresholds, titles, 2).startswith(
        "Está en rojo porque tiene una falla"
    )
    assert view.critical_note({**dim, "score": None}, thresholds, titles, 2).startswith(
        "Está en rojo, sin puntaje, porque"
    )
    assert view.critical_note(dim, thresholds, titles, 1) is None  # method 1 had no such rule
    assert view.critical_note({**dim, "light": "yellow"}, thresholds, titles, 2) is None
    no_failure = {**dim, "subcategories": [{"id": "registro", "critical_failures": []}]}
    assert view.critical_note(no_failure, thresholds, titles, 2) is None


# --------------------------------------------------------------------------- the PDF


def test_pdf_pre_cooperative_group_reads_su_organizacion(national):
    group = render(national, answers_of("precooperativo"))
    assert GREEN_GROUP in group and GREEN_COOP not in group  # the legend of the colours
    cooperative = render(national, answers_of("fuerte"))
    assert GREEN_COOP in cooperative and GREEN_GROUP not in cooperative


def test_pdf_dimension_red_by_a_critical_failure_says_why(national):
    text = render(national, {**answers_of("fuerte"), "vigente_daes": False})
    assert (
        folded(
            "Con su puntaje quedaría en verde, pero está en rojo porque tiene una falla crítica en "
            "«Situación legal y registros»: una falla crítica deja en rojo toda la dimensión"
        )
        in text
    )
    assert "Método de cálculo: 2" in text
    assert "«no sabe» es un dato que falta, no un 0" in text


def test_pdf_critical_unknown_and_the_no_se_note(national):
    answers = with_many_no_se(national, {**answers_of("fuerte"), "vigente_daes": "ns"}, 8)
    snapshot = snapshot_of(scoring.score(national, answers))
    share = view.ns_share(snapshot)
    assert share > 0.10
    text = render(national, answers, snapshot=snapshot)
    assert DAES_UNKNOWN in text
    assert "Preguntas críticas que no se supo responder" in text
    assert folded(fmt.ns_note(share)) in text


def test_pdf_red_dimension_with_no_score():
    questionnaire = scoring.load_questionnaire(NO_SCORE_QUESTIONNAIRE, source="sin-puntaje.yaml")
    answers = {"vigente": False, "padron": "ns", "junta": "ns", "plan": True}
    snapshot = snapshot_of(scoring.score(questionnaire, answers))
    assert snapshot["dimensions"][0]["light"] == "red" and snapshot["dimensions"][0]["score"] is None
    text = render(questionnaire, answers, snapshot=snapshot)
    assert "■ Rojo · sin puntaje" in text
    assert "Está en rojo, sin puntaje, porque tiene una falla crítica en «Registro»" in text


def test_pdf_of_a_method_1_snapshot(national):
    answers = with_many_no_se(national, {**answers_of("fuerte"), "vigente_daes": "ns"}, 8)
    snapshot = as_method_1(snapshot_of(scoring.score(national, answers)))
    assert "method" not in snapshot
    text = render(national, answers, snapshot=snapshot)
    assert "Método de cálculo: 1" in text
    assert "Responder «no sabe» cuenta como 0" in text  # the methodology of that method
    assert "No se sabe si" not in text  # method 1 had no critical unknowns
    question = national.question("vigente_daes")
    assert f"{question.text} → No sabe" in text  # a critical failure then
    assert folded(fmt.ns_note(view.ns_share(snapshot))) in text
    assert "deja en rojo toda la dimensión" not in text


def test_a_year_is_written_without_a_thousands_separator():
    from app.web.questionnaire_form import raw_of
    from reports.formatting import answer_in_words

    year = scoring.Question(id="anio", text="¿Año?", type="number", integer=True, unit="año", min=1900, max=2100)
    people = scoring.Question(id="n", text="¿Cuántos?", type="number", integer=True, unit="personas")
    assert answer_in_words(year, 1961) == "1961"
    assert raw_of(year, 1961)[0] == "1961"
    assert answer_in_words(people, 1961) == "1.961 personas"


def test_pdf_on_questionnaire_2027_shows_the_declared_profile_not_a_light():
    """2027.1's profile is an unscored dimension: no «no aplica» light, its answers in a
    «Perfil declarado» section, and the registry's figures on the cover say where they come from."""
    from test_archetypes_2027 import QUESTIONNAIRE, grande_bien_gestionada

    questionnaire = scoring.load_questionnaire(QUESTIONNAIRE.read_text(encoding="utf-8"), source=QUESTIONNAIRE.name)
    answers = grande_bien_gestionada()
    text = render(questionnaire, answers)
    assert "Perfil declarado" in text and "según el registro" in text
    assert "1. Gestión financiera" in text  # the profile is not numbered among the results
    socias = questionnaire.question("socias_mujeres")
    assert f"{socias.text} → {fmt.answer_in_words(socias, answers['socias_mujeres'])}" in text
    assert "Perfil de la organización – No aplica" not in text


def test_a_share_is_written_as_a_percentage_everywhere():
    """A computed share (``unit: proporción``) reads «3 %» on the form and in the PDF; its value
    stays a fraction for scoring and exports."""
    from reports.formatting import answer_in_words
    from scoring import questionnaire_from_data

    questionnaire = questionnaire_from_data(
        {
            "id": "t",
            "version": "1",
            "title": "t",
            "dimensions": [
                {
                    "id": "d",
                    "title": "D",
                    "subcategories": [
                        {
                            "id": "s",
                            "title": "S",
                            "questions": [
                                {"id": "mujeres", "text": "Socias", "type": "number", "min": 0},
                                {"id": "total", "text": "Socios", "type": "number", "min": 1},
                                {
                                    "id": "participacion",
                                    "text": "Participación de mujeres",
                                    "type": "computed",
                                    "unit": "proporción",
                                    "formula": "mujeres / total",
                                    "bands": [{"max": 0.3, "score": 0}, {"min": 0.3, "score": 1}],
                                },
                                {
                                    "id": "meses",
                                    "text": "Meses",
                                    "type": "computed",
                                    "unit": "meses",
                                    "formula": "mujeres / total",
                                    "bands": [{"max": 0.3, "score": 0}, {"min": 0.3, "score": 1}],
                                },
                            ],
                        }
                    ],
                }
            ],
        }
    )
    share = questionnaire.question("participacion")
    assert answer_in_words(share, 0.03) == "3\u00a0%"
    assert answer_in_words(share, 0.675) == "67,5\u00a0%"
    assert answer_in_words(share, 1.0) == "100\u00a0%"
    assert answer_in_words(questionnaire.question("meses"), 2.5) == "2,5 meses"
