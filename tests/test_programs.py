"""The public support programmes suggested in the PDF report (reports/data/programas.yaml,
reports/programs.py): sources, agency names and typology as the sources give them, what is
never suggested (individual women's programmes for a board's gender balance, subsidies for
subsidy dependence, agencies the organisation already works with), and a suggestion for
every subcategory of the national questionnaires 2026.1 and 2027.1."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
import yaml

import scoring
from app.responses.service import snapshot_of
from reports import ReportContext, ReportCooperative, ReportDiagnosis
from reports.programs import DATA_FILE, USED_PROGRAMMES_QUESTION, agencies_in_use, catalogue, parse_catalogue
from reports.render import render_html

ROOT = Path(__file__).resolve().parent.parent
MAP = "Mapa de instrumentos de apoyo del Ministerio de Agricultura (2024)"
SERCOTEC_2025 = "SERCOTEC, informe 2025"

#: Scored subcategories of the national questionnaire 2027.1, by dimension (the unscored
#: `perfil` dimension never gets a light, so never a suggestion; see below).
NATIONAL_2027 = {
    "gestion_financiera": ("contabilidad", "liquidez_solvencia", "resultados", "financiamiento"),
    "gobernanza": (
        "situacion_legal",
        "junta_general",
        "consejo_administracion",
        "control_interno",
        "genero_generaciones",
    ),
    "negocio": ("planificacion", "servicios_socios", "mercados", "calidad_riesgos", "sostenibilidad", "digitalizacion"),
    "principios": (
        "adhesion_control_democratico",
        "participacion_economica",
        "autonomia",
        "educacion",
        "intercooperacion_comunidad",
    ),
}
PROFILE_2027 = ("perfil_organizacion", "empleo", "programas_publicos")
#: The values of the 2027.1 question «programmes already used» (agency level).
AGENCY_VALUES = {"indap", "sercotec", "corfo", "fia", "prochile", "inia", "cnr", "daes", "bancoestado", "fosis"}
INDIVIDUAL_WOMEN = {"sercotec_capital_pioneras", "sercotec_capital_abeja_emprende", "sercotec_academias_mujeres"}


def raw() -> dict:
    return yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))


def by_id() -> dict:
    return {p.id: p for p in catalogue().programmes}


def suggested_ids(sub: str, dimension: str, **kwargs) -> set[str]:
    return {p.id for p in catalogue().suggest(sub, dimension, limit=100, **kwargs)}


# --------------------------------------------------------------------------- sources


def test_every_programme_names_its_source_with_a_year():
    programmes = catalogue().programmes
    assert len({p.id for p in programmes}) == len(programmes)
    assert {p.source for p in programmes} == {MAP, SERCOTEC_2025}
    for item in raw()["programas"]:
        assert item.get("fuente"), item["id"]
    sercotec_2025 = {
        "sercotec_creacion_fortalecimiento",
        "sercotec_fortalecimiento_gremial",
        "sercotec_ruta_digital",
        "sercotec_negocios_digitales",
        "sercotec_sello_impacta_sustentable",
        "sercotec_centros_desarrollo_negocios",
        "sercotec_capital_semilla_emprende",
        "sercotec_cdn_cooperativo",
        "sercotec_pymes_globales",
    }
    assert all(by_id()[pid].source == SERCOTEC_2025 for pid in sercotec_2025)
    assert by_id()["corfo_red_asociativa"].source == MAP


@pytest.mark.parametrize(
    "source, message",
    [
        (None, "has no source"),
        ("", "has no source"),
        ("   ", "has no source"),
        ("Mapa de instrumentos", "gives no year"),
    ],
)
def test_a_programme_without_a_source_fails_loading(source, message):
    data = raw()
    if source is None:
        del data["programas"][0]["fuente"]
    else:
        data["programas"][0]["fuente"] = source
    with pytest.raises(ValueError, match=message):
        parse_catalogue(data)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("agencia_id", "subsecretaria", "needs `agencia_id`"),
        ("apoyo", ["regalo"], "unknown kinds of support"),
        ("apoyo", [], "non-empty list of kinds of support"),
        ("atiende", ["X"], "unknown audience"),
        ("nombre", "", "needs `nombre`"),
    ],
)
def test_other_programme_fields_are_checked(field, value, message):
    data = raw()
    data["programas"][0][field] = value
    with pytest.raises(ValueError, match=message):
        parse_catalogue(data)


def test_mapping_errors_are_caught():
    data = raw()
    data["subcategorias"]["financiamiento"]["excluir_apoyo"] = ["regalo"]
    with pytest.raises(ValueError, match="unknown kinds of support"):
        parse_catalogue(data)
    data = raw()
    data["subcategorias"]["financiamiento"]["excluir"] = ["subsidio"]
    with pytest.raises(ValueError, match="unknown keys"):
        parse_catalogue(data)
    data = raw()
    data["programas"].append(copy.deepcopy(data["programas"][0]))
    with pytest.raises(ValueError, match="appears twice"):
        parse_catalogue(data)
    # An exclusion that leaves nothing for a type of organisation is refused.
    data = raw()
    data["subcategorias"]["educacion"] = {"temas": ["formacion"], "excluir_apoyo": ["formacion"]}
    with pytest.raises(ValueError, match="subcategory educacion has no programme for P"):
        parse_catalogue(data)


# --------------------------------------------------------------------------- names and typology


def test_agency_names_and_typology_as_the_sources_give_them():
    programmes = by_id()
    for pid in ("corfo_red_asociativa", "corfo_red_proveedores", "corfo_red_mercados", "corfo_gtt_mas"):
        assert programmes[pid].agency == "CORFO - Subsecretaría de Agricultura", pid
        assert programmes[pid].agency_id == "corfo"
    expected = {  # id: (name, audience), the typology columns of the ministry's map
        "inia_gtt": ("Transferencia tecnológica y extensión, Grupos de Transferencia Tecnológica (GTT)", ("P", "A")),
        "corfo_gtt_mas": ("Red GTT+", ("P", "A")),
        "sercotec_federaciones": ("Federaciones y Confederaciones, y Gremios Nacionales", ("A",)),
        "corfo_red_asociativa": ("Red Asociativa", ("P", "A")),
        "corfo_red_proveedores": ("Red Proveedores", ("P", "A")),
        "corfo_red_mercados": ("Red de Mercados", ("A",)),
        "fosis_yo_emprendo_grupal": ("Yo Emprendo Grupal", ("P",)),
        "sercotec_juntos": ("Juntos", ("P",)),
        "fia_convirtiendome_cooperativa": ("Curso «Convirtiéndome en Cooperativa»", ("P",)),
        "indap_progyso": ("PROGYSO", ("A",)),
        "bancoestado_creditos": ("Créditos", ("I", "P", "A")),
        "indap_creditos": ("Créditos", ("I", "P", "A")),
    }
    for pid, (name, audience) in expected.items():
        assert (programmes[pid].name, programmes[pid].audience) == (name, audience), pid
    assert programmes["inia_gtt"].agency == "INIA" and programmes["sercotec_federaciones"].agency == "SERCOTEC"


def test_sercotec_current_programme_names_are_separate():
    programmes = by_id()
    names = {p.name for p in programmes.values() if p.agency_id == "sercotec"}
    assert {"Fortalecimiento Gremial", "Creación y Fortalecimiento de Cooperativas"} <= names
    assert not any("Gremial y Cooperativo" in p.name for p in programmes.values())
    assert programmes["sercotec_creacion_fortalecimiento"].audience == ("P", "A")
    for name in (
        "Ruta Digital",
        "Negocios Digitales",
        "Sello Impacta Sustentable",
        "Centros de Desarrollo de Negocios",
        "Capital Semilla Emprende",
        "Capital Pioneras",
        "Capital Abeja Emprende",
        "Academias de Mujeres Empresarias",
    ):
        assert name in names, name


def test_every_agency_slug_is_an_answer_of_the_programmes_question():
    assert set(catalogue().agencies) == AGENCY_VALUES
    assert {p.agency_id for p in catalogue().programmes} == AGENCY_VALUES


# --------------------------------------------------------------------------- what is never suggested


def test_programmes_for_individuals_are_never_suggested_to_a_group_or_an_organisation():
    individuals = {p.id for p in catalogue().programmes if p.audience == ("I",)}
    assert INDIVIDUAL_WOMEN | {"sercotec_capital_semilla_emprende"} <= individuals
    for dimension, subs in NATIONAL_2027.items():
        for sub in subs:
            for pre in (True, False):
                assert not suggested_ids(sub, dimension, pre_cooperative=pre) & individuals, (sub, pre)


@pytest.mark.parametrize("sub", ["genero_generaciones", "mujeres_jovenes"])
def test_no_individual_womens_programme_for_women_on_the_board(sub):
    for pre in (True, False):
        suggested = suggested_ids(sub, "gobernanza", pre_cooperative=pre)
        assert suggested and not suggested & INDIVIDUAL_WOMEN, pre
    # Even if a source one day opened them to organisations, the topic stays excluded there.
    data = raw()
    for item in data["programas"]:
        if item["id"] in INDIVIDUAL_WOMEN:
            item["atiende"] = ["I", "P", "A"]
            item["temas"] = ["emprendimiento_individual", "gobernanza", "formacion"]
    widened = parse_catalogue(data)
    for pre in (True, False):
        ids = {p.id for p in widened.suggest(sub, "gobernanza", pre_cooperative=pre, limit=100)}
        assert ids and not ids & INDIVIDUAL_WOMEN
    assert {
        p.id for p in widened.suggest("consejo_administracion", "gobernanza", pre_cooperative=False, limit=100)
    } & INDIVIDUAL_WOMEN


@pytest.mark.parametrize(
    "sub, dimension",
    [
        ("financiamiento", "gestion_financiera"),
        ("resultados", "gestion_financiera"),
        ("autonomia", "principios"),
    ],
)
def test_subsidy_dependence_is_not_answered_with_subsidies(sub, dimension):
    for pre in (True, False):
        suggested = catalogue().suggest(sub, dimension, pre_cooperative=pre, limit=100)
        assert suggested, pre
        assert not any("subsidio" in p.support for p in suggested), [p.id for p in suggested if "subsidio" in p.support]
    first = catalogue().suggest("financiamiento", "gestion_financiera", pre_cooperative=False)
    assert all(p.support in (("credito",), ("asesoria",)) for p in first)
    assert "bancoestado_creditos" in {p.id for p in first}
    # Where dependence is not the finding, investment grants remain a fitting answer.
    assert "indap_desarrollo_inversiones" in suggested_ids("servicios_socios", "negocio", pre_cooperative=False)


def test_agencies_already_used_are_left_out():
    everything = catalogue().suggest("mercados", "negocio", pre_cooperative=False, limit=100)
    assert {"indap", "corfo", "sercotec", "prochile"} <= {p.agency_id for p in everything}
    without = catalogue().suggest(
        "mercados", "negocio", pre_cooperative=False, limit=100, already_used={"indap", "corfo", "ninguno"}
    )
    assert without and not {p.agency_id for p in without} & {"indap", "corfo"}
    assert [p for p in everything if p.agency_id not in {"indap", "corfo"}] == without
    top = catalogue().suggest(
        "financiamiento", "gestion_financiera", pre_cooperative=False, already_used={"bancoestado"}
    )
    assert "bancoestado_creditos" not in {p.id for p in top} and "indap_creditos" in {p.id for p in top}
    # «ninguno» alone changes nothing; every agency used leaves nothing to suggest.
    assert catalogue().suggest("mercados", "negocio", pre_cooperative=False, already_used={"ninguno"}) == everything[:3]
    assert catalogue().suggest("mercados", "negocio", pre_cooperative=False, already_used=AGENCY_VALUES) == []


@pytest.mark.parametrize(
    "answers, expected",
    [
        ({USED_PROGRAMMES_QUESTION: ["indap", "corfo"]}, {"indap", "corfo"}),
        ({USED_PROGRAMMES_QUESTION: ["ninguno"]}, {"ninguno"}),
        ({USED_PROGRAMMES_QUESTION: "indap sercotec"}, {"indap", "sercotec"}),
        ({USED_PROGRAMMES_QUESTION: "ns"}, set()),
        ({USED_PROGRAMMES_QUESTION: None}, set()),
        ({}, set()),
        (None, set()),
    ],
)
def test_agencies_in_use_from_the_answers(answers, expected):
    assert agencies_in_use(answers) == expected


# --------------------------------------------------------------------------- every subcategory


def test_every_2027_subcategory_gets_a_suggestion_for_each_organisation_type():
    programmes = catalogue()
    for dimension, subs in NATIONAL_2027.items():
        for sub in subs:
            assert sub in programmes.by_subcategory, sub  # mapped by its own id, not by a fallback
            for pre in (True, False):
                suggested = programmes.suggest(sub, dimension, pre_cooperative=pre)
                assert suggested, (sub, pre)
                code = "P" if pre else "A"
                assert all(p.audience is None or code in p.audience for p in suggested), (sub, pre)
    for sub in PROFILE_2027:  # unscored, so never red or yellow; the fallback would still answer
        for pre in (True, False):
            assert programmes.suggest(sub, "perfil", pre_cooperative=pre)


def test_new_subcategories_get_the_programmes_that_fit_them():
    assert {"sercotec_ruta_digital", "sercotec_negocios_digitales"} <= suggested_ids(
        "digitalizacion", "negocio", pre_cooperative=False
    )
    assert {"sercotec_crece_sostenible", "sercotec_sello_impacta_sustentable"} <= suggested_ids(
        "sostenibilidad", "negocio", pre_cooperative=False
    )
    assert {"prochile_silvoagropecuario", "sercotec_pymes_globales"} <= suggested_ids(
        "mercados", "negocio", pre_cooperative=False
    )
    assert "sercotec_centros_desarrollo_negocios" in suggested_ids(
        "financiamiento", "gestion_financiera", pre_cooperative=True
    )


def test_every_2027_subcategory_and_programme_used_is_known():
    path = ROOT / "questionnaires" / "nacional-2027.1.yaml"
    questionnaire = scoring.load_questionnaire(path.read_text(encoding="utf-8"), source=path.name)
    programmes = catalogue()
    for dimension in questionnaire.dimensions:
        for sub in dimension.subcategories:
            if not any(q.scored for q in sub.questions):
                continue
            assert sub.id in programmes.by_subcategory, sub.id
            for pre in (True, False):
                assert programmes.suggest(sub.id, dimension.id, pre_cooperative=pre), (sub.id, pre)
    question = questionnaire.question(USED_PROGRAMMES_QUESTION)
    values = {option.value for option in question.options}
    assert set(programmes.agencies) <= values, set(programmes.agencies) - values


# --------------------------------------------------------------------------- in the report


def test_the_report_leaves_out_the_agencies_the_organisation_uses():
    path = ROOT / "questionnaires" / "nacional-2026.1.yaml"
    national = scoring.load_questionnaire(path.read_text(encoding="utf-8"), source=path.name)
    answers = json.loads((ROOT / "tests" / "data" / "nacional" / "debil.json").read_text(encoding="utf-8"))
    snapshot = snapshot_of(scoring.score(national, answers))
    base = ReportContext(
        cooperative=ReportCooperative(
            name="Cooperativa de prueba",
            rut="76123456-7",
            legal_type="campesina",
            legal_type_label="Cooperativa campesina",
            region_code=16,
            region_name="Ñuble",
            macrozone="Centro-Sur",
        ),
        diagnosis=ReportDiagnosis(
            response_id=1,
            revision=1,
            status="submitted",
            mode="self",
            status_label="enviada",
            mode_label="autodiagnóstico",
            round_name="Ronda de prueba",
        ),
        questionnaire=national,
        snapshot=snapshot,
        answers=answers,
        generated_on=date(2026, 11, 21),
    )
    plain = render_html(base)
    assert "Fuentes: " + MAP in plain and "No se sugieren programas de" not in plain
    used = render_html(replace(base, answers={**answers, USED_PROGRAMMES_QUESTION: ["fia", "indap", "ninguno"]}))
    assert (
        "No se sugieren programas de INDAP y FIA: la organización declaró que ya trabaja con esas instituciones."
        in used
    )
    assert "FIA: Curso de competencias contables" in plain and "FIA: Curso de competencias contables" not in used
    section = used.split("Recomendaciones: programas de apoyo público")[1].split("<h1>Metodología")[0]
    suggested = re.findall(r'<p class="(?:rec|prog)[^"]*">(.*?)</p>', section)
    assert len(suggested) > 10 and any("SERCOTEC: " in p for p in suggested)
    assert not any(re.search(r"(<br/>|; |<b>)(INDAP|FIA): ", p) for p in suggested)
