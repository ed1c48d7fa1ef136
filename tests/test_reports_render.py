"""The PDF report renderer (``reports/``), with no database: contexts are built here from the
national questionnaire and the answer files in tests/data/nacional, scored and snapshotted
like a submitted response. Each PDF is rendered once per module and read back with pypdf.
"""

from __future__ import annotations

import http.server
import json
import threading
from dataclasses import replace
from datetime import date, datetime, timezone
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader

import reports
import scoring
from app.responses.service import snapshot_of
from reports import (
    PeerGroup,
    PeerStats,
    PreviousDiagnosis,
    ReportContext,
    ReportCooperative,
    ReportDiagnosis,
)
from reports import formatting as fmt
from reports.programs import catalogue, parse_catalogue
from reports.render import html_to_pdf, url_fetcher

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "nacional"
RED = scoring.LIGHT_MESSAGES[scoring.Light.RED]
YELLOW = scoring.LIGHT_MESSAGES[scoring.Light.YELLOW]
GREEN = scoring.LIGHT_MESSAGES[scoring.Light.GREEN]

SMALL_QUESTIONNAIRE = """
id: prueba-informe
version: "7"
title: Cuestionario breve de prueba
thresholds: {green: 0.75, red: 0.4}
dimensions:
  - id: finanzas_prueba
    title: Finanzas de prueba
    subcategories:
      - id: caja_prueba
        title: Manejo de la caja
        thresholds: {green: 0.9}
        questions:
          - {id: caja_ordenada, text: "¿La caja se cuadra cada mes?", type: yes_no, na: true}
          - {id: comentario, text: "Comentarios de la organización", type: text}
  - id: personas_prueba
    title: Personas de prueba
    subcategories:
      - id: reuniones_prueba
        title: Reuniones periódicas
        questions:
          - id: reuniones
            text: "¿Con qué frecuencia se reúnen?"
            type: choice
            na: true
            options:
              - {value: siempre, label: "Todos los meses", score: 1}
              - {value: nunca, label: "Nunca", score: 0}
"""


# --------------------------------------------------------------------------- building contexts


@pytest.fixture(scope="module")
def national() -> scoring.Questionnaire:
    path = ROOT / "questionnaires" / "nacional-2026.1.yaml"
    return scoring.load_questionnaire(path.read_text(encoding="utf-8"), source=path.name)


@pytest.fixture(scope="module")
def small() -> scoring.Questionnaire:
    return scoring.load_questionnaire(SMALL_QUESTIONNAIRE, source="prueba.yaml")


def answers_of(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


COOPERATIVE = ReportCooperative(
    name="Cooperativa Campesina Ñuble Sur Ltda.",
    rut="76123456-7",
    legal_type="campesina",
    legal_type_label="Cooperativa campesina",
    region_code=16,
    region_name="Ñuble",
    macrozone="Centro-Sur",
    comuna="San Carlos",
    sectors=("Frutas", "Hortalizas"),
)
SELF_DIAGNOSIS = ReportDiagnosis(
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
INTERVIEW = ReportDiagnosis(
    response_id=43,
    revision=2,
    status="validated",
    mode="interview",
    status_label="validada",
    mode_label="entrevista de terreno",
    round_name="Diagnóstico nacional 2026",
    submitted_at=datetime(2026, 5, 4, 15, 30, tzinfo=timezone.utc),
    validated_at=datetime(2026, 5, 10, 12, 0, tzinfo=timezone.utc),
    interviewer_name="María José Pérez",
    institution="Universidad de Talca",
    interview_date=date(2026, 5, 3),
    interview_place="Sede de la cooperativa, San Carlos",
    interviewee_role="Gerente",
)


def context(questionnaire, answers: dict, **changes) -> ReportContext:
    """A context as the app builds it: the snapshot is what submission stores."""
    base = ReportContext(
        cooperative=COOPERATIVE,
        diagnosis=SELF_DIAGNOSIS,
        questionnaire=questionnaire,
        snapshot=snapshot_of(scoring.score(questionnaire, answers)),
        answers=answers,
        generated_on=date(2026, 11, 21),
    )
    return replace(base, **changes)


def stats(keys, median: float) -> tuple[PeerStats, ...]:
    return tuple(PeerStats(key, 12, median, median - 11.5, median + 9.25) for key in keys)


class Rendered:
    """A rendered report: its bytes, pypdf reader and text with white space folded."""

    def __init__(self, ctx: ReportContext):
        self.context = ctx
        self.pdf = reports.render_pdf(ctx)
        self.reader = PdfReader(BytesIO(self.pdf))
        self.text = " ".join(" ".join(page.extract_text() for page in self.reader.pages).split())

    def __contains__(self, fragment: str) -> bool:
        return " ".join(fragment.split()) in self.text


def question_text(questionnaire, question_id: str) -> str:
    return questionnaire.question(question_id).text


# --------------------------------------------------------------------------- a weak cooperative, interviewed


@pytest.fixture(scope="module")
def weak(national) -> Rendered:
    keys = ["overall"] + [d.id for d in national.dimensions]
    previous = PreviousDiagnosis(
        round_name="Diagnóstico piloto 2025",
        submitted_at=datetime(2025, 6, 2, 14, 0, tzinfo=timezone.utc),
        snapshot=snapshot_of(scoring.score(national, answers_of("fuerte"))),
    )
    return Rendered(
        context(
            national,
            answers_of("debil"),
            diagnosis=INTERVIEW,
            previous=previous,
            peers=(
                PeerGroup("Misma macrozona (Centro-Sur)", 12, stats(keys, 61.5)),
                PeerGroup("Mismo rubro (Frutas)", 3),
            ),
        )
    )


def test_cover_names_the_cooperative_and_the_interview(weak):
    for fragment in (
        "Informe de diagnóstico",
        "Cooperativa Campesina Ñuble Sur Ltda.",
        "RUT 76.123.456-7",
        "Ñuble (macrozona Centro-Sur)",
        "San Carlos",
        "Diagnóstico nacional 2026",
        "versión 2026.1",
        "Entrevista de terreno",
        "María José Pérez, Universidad de Talca",
        "3 de mayo de 2026",
        "Sede de la cooperativa, San Carlos",
        "Gerente",
        "revisión 2",
        "Validado",
        "10 de mayo de 2026",
        "21 de noviembre de 2026",
    ):
        assert fragment in weak, fragment


def test_summary_gives_each_light_in_words_with_its_score_and_message(weak):
    snapshot = weak.context.snapshot
    overall = snapshot["overall"]
    assert overall["light"] == "red"
    assert f"■ Rojo · {fmt.numero(overall['score'], 1)} %" in weak
    for dimension in snapshot["dimensions"]:
        assert f"{fmt.light_word(dimension['light'])} · {fmt.numero(dimension['score'], 1)} %" in weak
    assert RED in weak and YELLOW in weak
    assert "Figura 1" in weak and "Figura 2" in weak  # radar and bars
    # method 2: the critical question answered «No sabe» (concentracion_capital) is left out of the
    # score, so «adhesión y control democrático» is yellow (62.5 %), not red as a critical failure
    assert "De 18 subcategorías: 0 en verde, 5 en amarillo, 12 en rojo y 1 que no aplica." in weak
    assert "En rojo, requieren atención urgente: 1.3 Liquidez y solvencia; 1.4 Resultados" in weak


def test_dimension_pages_show_critical_failures_and_what_pulled_each_light_down(weak, national):
    subs = {s["id"]: s for d in weak.context.snapshot["dimensions"] for s in d["subcategories"]}
    answers = weak.context.answers
    critical = [(qid, s) for s in subs.values() for qid in s["critical_failures"]]
    assert critical, "the weak answers have critical failures"
    assert "Fallas críticas (por sí solas dejan la subcategoría en rojo)" in weak
    for qid, _ in critical:
        question = national.question(qid)
        assert f"{question.text} → {fmt.answer_in_words(question, answers.get(qid))}" in weak
    pulled = [qid for s in subs.values() for qid in s["pulled_down_by"] if qid not in s["critical_failures"]]
    assert len(pulled) > 5
    for qid in pulled:
        assert question_text(national, qid) in weak


def test_pulled_down_answers_are_in_words(weak):
    assert "¿La organización tiene un plan de negocios o plan estratégico vigente? → No tiene o está vencido" in weak


def test_peer_comparison_and_the_group_with_too_few_peers(weak):
    assert "Misma macrozona (Centro-Sur)" in weak
    assert "12 organizaciones pares" in weak
    assert "mediana 61,5 % · cuartiles 50,0 % a 70,8 %" in weak
    assert "Mismo rubro (Frutas)" in weak
    assert "No hay suficientes pares para comparar: solo 3 organizaciones del grupo tienen" in weak


def test_change_since_the_previous_diagnosis_in_points(weak):
    before = weak.context.previous.snapshot["overall"]["score"]
    after = weak.context.snapshot["overall"]["score"]
    assert "Diagnóstico piloto 2025" in weak
    assert f"({fmt.puntos(after - before)})" in weak
    assert fmt.puntos(after - before).startswith("−")  # the weak answers score below the strong ones


def test_recommendations_for_a_constituted_cooperative(weak):
    assert "Recomendaciones: programas de apoyo público" in weak
    assert "organizaciones constituidas" in weak
    # Contabilidad is red or yellow: the accounting course (A only) is suggested.
    assert "FIA: Curso de competencias contables para contadores y socios de cooperativas" in weak
    assert "FOSIS: Yo Emprendo Grupal" not in weak  # P only


def test_annex_lists_every_question_with_its_answer_in_words(weak, national):
    assert "Anexo: respuestas del cuestionario" in weak
    for question in national.questions:
        assert question.text in weak, question.id
    assert "¿Qué tipo de organización es la que responde este diagnóstico? → Cooperativa constituida" in weak
    assert "No corresponde" in weak  # the pre-cooperative questions


def test_methodology_page_states_thresholds_and_rules(weak):
    for fragment in (
        "Metodología",
        "verde desde 80 %, rojo bajo 50 %",
        "Preguntas críticas",
        "Regla de tope",
        "«datos insuficientes»",
    ):
        assert fragment in weak, fragment


def test_pdf_metadata_bookmarks_pages_and_tags(weak):
    reader = weak.reader
    assert (
        reader.metadata.title
        == "Informe de diagnóstico: Cooperativa Campesina Ñuble Sur Ltda. (Diagnóstico nacional 2026)"
    )
    assert reader.metadata.author == "coopdiag"
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "es-CL"
    assert "/StructTreeRoot" in root  # tagged PDF
    assert all(
        abs(float(page.mediabox.width) - 595.28) < 1 and abs(float(page.mediabox.height) - 841.89) < 1
        for page in reader.pages
    )  # A4
    titles = [item.title for item in reader.outline if not isinstance(item, list)]
    for title in (
        "Portada",
        "Resumen ejecutivo",
        "Resultados por subcategoría",
        "1. Gestión financiera",
        "4. Principios cooperativos",
        "Comparación con organizaciones pares",
        "Metodología",
        "Anexo: respuestas del cuestionario",
    ):
        assert title in titles
    pages = len(reader.pages)
    assert f"Página 2 de {pages}" in weak and f"Página {pages} de {pages}" in weak
    assert "Cooperativa Campesina Ñuble Sur Ltda. Diagnóstico nacional 2026 · Página 3" in weak  # running header


def test_fonts_are_subset_by_harfbuzz_not_by_fonttools():
    """Without libharfbuzz-subset WeasyPrint falls back to fontTools, which parses the whole
    DejaVu font in Python for every PDF (about 0.15 s of a 0.5 s report): .ci/run and the
    Dockerfile install it, and CI fails if it is missing."""
    from weasyprint.text import ffi

    from conftest import in_ci

    if ffi.harfbuzz_subset is None:
        message = "libharfbuzz-subset is not installed (Debian: libharfbuzz-subset0): reports render slower"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    assert ffi.harfbuzz.hb_version_atleast(4, 1, 0)


@pytest.fixture(scope="module")
def strong(national) -> Rendered:
    return Rendered(context(national, answers_of("fuerte")))


def test_the_same_context_gives_the_same_bytes(strong):
    """What the app caches under cache_key() is what a new render would give."""
    assert reports.render_pdf(strong.context) == strong.pdf


def test_a_strong_cooperative_alone_for_the_first_time(strong):
    assert strong.context.snapshot["overall"]["light"] == "green"
    assert "● Verde" in strong and GREEN in strong
    assert "Autodiagnóstico" in strong and "Respondido por" in strong and "Ana Muñoz" in strong
    assert "No hay grupos de organizaciones pares para comparar en esta ronda." in strong
    assert "Este es el primer diagnóstico de la organización" in strong


@pytest.fixture(scope="module")
def pre_cooperative(national) -> Rendered:
    cooperative = replace(
        COOPERATIVE,
        name="Grupo de Apicultoras de Ñiquén",
        legal_type="precooperativo",
        legal_type_label="Grupo pre-cooperativo",
        rut="65432198-K",
    )
    return Rendered(context(national, answers_of("precooperativo"), cooperative=cooperative))


def test_a_pre_cooperative_group_gets_programmes_for_groups(pre_cooperative):
    assert "RUT 65.432.198-K" in pre_cooperative
    assert "dirigidos a grupos pre-cooperativos" in pre_cooperative
    assert "FOSIS: Yo Emprendo Grupal" in pre_cooperative or "SERCOTEC: Juntos" in pre_cooperative
    assert "FIA: Curso «Convirtiéndome en Cooperativa»" in pre_cooperative
    for only_constituted in ("SERCOTEC: Mejora Negocios", "FIA: Planes de negocio", "INDAP: PROGYSO"):
        assert only_constituted not in pre_cooperative


@pytest.fixture(scope="module")
def empty(national) -> Rendered:
    return Rendered(context(national, {}, peers=(PeerGroup("Misma macrozona (Centro-Sur)", 0),)))


def test_insufficient_data_renders_without_lights(empty):
    assert empty.context.snapshot["overall"]["light"] == "insufficient_data"
    assert "? Datos insuficientes" in empty
    assert "Hay muy pocas respuestas para emitir un juicio." in empty
    assert "ninguna otra organización del grupo tiene un diagnóstico enviado" in empty
    assert "Ninguna subcategoría quedó en rojo ni en amarillo" in empty
    assert "→ Sin respuesta" in empty


# --------------------------------------------------------------------------- hostile and odd input


class CountingServer:
    """A local HTTP server that counts every request it gets."""

    def __init__(self):
        hits = self.hits = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def server():
    server = CountingServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def hostile(small, server) -> Rendered:
    url = f"http://127.0.0.1:{server.port}"
    comment = (
        f'Muy buen año <img src="{url}/comentario.png"> <link rel="stylesheet" href="{url}/estilo.css">'
        f"<style>@import url({url}/importado.css);</style> <b>negrita</b> & «comillas» " + "ñandú " * 120
    )
    long_name = (
        "Cooperativa Agrícola, Ganadera y Forestal de Pequeños Productores Campesinos de la Región de "
        "Ñuble, Provincia de Punilla, Comuna de Ñiquén y Alrededores «Unión y Esperanza» Limitada " * 2
    )
    cooperative = replace(COOPERATIVE, name=f'{long_name}<img src="{url}/nombre.png">', comuna="Ñiquén")
    diagnosis = replace(
        INTERVIEW, interview_place=f'<img src="{url}/lugar.png">Sede', interviewee_role="Tesorera & Secretaria"
    )
    answers = {"caja_ordenada": "na", "reuniones": "na", "comentario": comment}
    return Rendered(
        context(
            small, answers, cooperative=cooperative, diagnosis=diagnosis, peers=(PeerGroup("Mismo rubro (Miel)", 4),)
        )
    )


def test_user_text_is_escaped_and_fetches_nothing(hostile, server):
    assert server.hits == []
    assert f'Muy buen año <img src="http://127.0.0.1:{server.port}/comentario.png">' in hostile
    assert "<b>negrita</b> & «comillas»" in hostile
    assert f'<img src="http://127.0.0.1:{server.port}/lugar.png">Sede' in hostile
    assert "Tesorera & Secretaria" in hostile


def test_the_expat_fast_path_gives_the_same_pdf_as_the_html5_parser(weak, hostile):
    """report.html is well-formed XHTML, parsed by expat; WeasyPrint's own parser must give
    the very same bytes (also with user text holding characters XML forbids)."""
    from reports.render import _parse_xhtml

    control = replace(hostile.context, answers={**hostile.context.answers, "comentario": "Fin\x00 de\x0b línea\x1f ñ"})
    for ctx in (weak.context, hostile.context):
        html = reports.render_html(ctx)
        assert _parse_xhtml(html) is not None
        assert html_to_pdf(html) == html_to_pdf(html, fast_parse=False)
    assert _parse_xhtml(reports.render_html(control)) is not None
    assert "Fin de línea ñ" in Rendered(control)


def test_everything_not_applicable_and_a_very_long_name(hostile):
    assert hostile.context.snapshot["overall"]["light"] == "not_applicable"
    assert "– No aplica" in hostile
    assert "Ninguna pregunta con puntaje de esta subcategoría se aplica a la organización" in hostile
    assert "Unión y Esperanza" in hostile and "Ñiquén" in hostile
    assert "No hay suficientes pares para comparar: solo 4 organizaciones" in hostile
    # The running header carries the name shortened, not 400 characters over the page.
    header = fmt.shorten(hostile.context.cooperative.name, 70)
    assert header.endswith("…") and header in hostile


def test_the_fetcher_refuses_network_files_and_data_even_in_raw_html(server, tmp_path):
    url = f"http://127.0.0.1:{server.port}"
    secret = tmp_path / "secreto.png"
    secret.write_bytes(b"not an image")
    fetcher = url_fetcher()
    html = (
        f'<html><head><link rel="stylesheet" href="{url}/raw.css"><style>@import url("{url}/import.css");'
        f' p {{ background: url("{url}/fondo.png") }}</style></head><body><p>x</p>'
        f'<img src="{url}/raw.png"><img src="https://127.0.0.1:{server.port}/seguro.png">'
        f'<img src="{secret.as_uri()}"><img src="data:image/png;base64,iVBORw0KGgo=">'
        f'<img src="../../../../etc/hostname"></body></html>'
    )
    pdf = html_to_pdf(html, fetcher=fetcher)
    assert pdf.startswith(b"%PDF")
    assert server.hits == []
    refused = " ".join(fetcher.refused)
    for fragment in (
        "/raw.css",
        "/import.css",
        "/fondo.png",
        "/raw.png",
        "/seguro.png",
        secret.name,
        "data:",
        "etc/hostname",
    ):
        assert fragment in refused, fragment


def test_the_fetcher_serves_only_files_under_its_folder(tmp_path):
    root = tmp_path / "static"
    root.mkdir()
    (root / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>', encoding="utf-8")
    (tmp_path / "fuera.svg").write_text("<svg/>", encoding="utf-8")
    fetcher = url_fetcher(root)
    assert fetcher.fetch((root / "logo.svg").as_uri()).read().startswith(b"<svg")
    for url in (
        (tmp_path / "fuera.svg").as_uri(),
        (root / ".." / "fuera.svg").as_uri(),
        (root / "nada.svg").as_uri(),
        "http://example.org/logo.svg",
        "ftp://example.org/x",
    ):
        with pytest.raises(ValueError):
            fetcher.fetch(url)


@pytest.fixture(scope="module")
def unknown_ids(small) -> Rendered:
    answers = {"caja_ordenada": False, "reuniones": "nunca", "comentario": "Sin novedades"}
    return Rendered(context(small, answers))


def test_unknown_questionnaire_gets_general_programmes_and_its_own_thresholds(unknown_ids):
    subs = [s for d in unknown_ids.context.snapshot["dimensions"] for s in d["subcategories"]]
    assert [s["light"] for s in subs] == ["red", "red"]
    general = catalogue().general.topics
    expected = [p for p in catalogue().programmes if general[0] in p.topics and p.audience and "A" in p.audience][0]
    assert f"{expected.agency}: {expected.name}" in unknown_ids
    assert "verde desde 75 %, rojo bajo 40 %" in unknown_ids
    assert "Manejo de la caja (verde desde 90 %, rojo bajo 40 %)" in unknown_ids
    assert "Figura 1. Puntaje y semáforo de cada subcategoría" in unknown_ids  # two dimensions: no radar
    assert "versión 7" in unknown_ids


def test_cap_rule_note_where_the_snapshot_says_it_capped(national):
    base = context(national, answers_of("fuerte"))
    snapshot = json.loads(json.dumps(base.snapshot))
    snapshot["overall"]["capped"] = True
    snapshot["dimensions"][1]["capped"] = True
    note = "Por su puntaje este resultado sería verde, pero al menos una de sus partes está en rojo"
    assert reports.render_html(base).count(note) == 0
    # The overall in the summary; the dimension in the summary and on its own page.
    assert reports.render_html(replace(base, snapshot=snapshot)).count(note) == 3


def test_computed_indicators_show_the_stored_value_when_the_snapshot_has_one(national):
    base = context(national, answers_of("debil"))
    snapshot = json.loads(json.dumps(base.snapshot))
    for dimension in snapshot["dimensions"]:
        for sub in dimension["subcategories"]:
            for question in sub["questions"]:
                if question["id"] == "razon_corriente":
                    question["value"] = 1.234
    computed = "Liquidez corriente (activo corriente / pasivo corriente) → <b>0,71</b>"
    assert computed in reports.render_html(base)  # 22,000,000 / 31,000,000, from the answers
    assert computed.replace("0,71", "1,23") in reports.render_html(replace(base, snapshot=snapshot))


# --------------------------------------------------------------------------- cache key, programmes, formatting


def test_cache_key_changes_with_what_changes_the_pdf(national):
    answers = answers_of("ejemplo")
    base = context(national, answers)
    key = reports.cache_key(base)
    assert len(key) == 64 and key == reports.cache_key(context(national, dict(answers)))
    variants = [
        replace(base, generated_on=date(2026, 11, 22)),
        replace(base, peers=(PeerGroup("Misma macrozona (Centro-Sur)", 3),)),
        replace(base, previous=PreviousDiagnosis("2025", base.snapshot)),
        replace(base, cooperative=replace(COOPERATIVE, comuna="Chillán")),
        replace(base, diagnosis=replace(SELF_DIAGNOSIS, status="validated")),
        replace(base, answers={**answers, "memoria_anual": False}),
        replace(base, snapshot={**base.snapshot, "overall": {**base.snapshot["overall"], "score": 1.0}}),
    ]
    keys = {reports.cache_key(v) for v in variants}
    assert key not in keys and len(keys) == len(variants)


def test_every_national_subcategory_gets_programmes_for_both_organisation_types(national):
    programmes = catalogue()
    for dimension in national.dimensions:
        for sub in dimension.subcategories:
            if sub.id == "perfil":
                continue
            for pre in (True, False):
                suggested = programmes.suggest(sub.id, dimension.id, pre_cooperative=pre)
                assert suggested, (sub.id, pre)
                code = "P" if pre else "A"
                assert all(p.audience is None or code in p.audience for p in suggested)
    assert programmes.topics_for("desconocida", "gobernanza") == programmes.by_dimension["gobernanza"].topics
    assert programmes.topics_for("desconocida", "desconocida") == programmes.general.topics


def test_programme_data_errors_are_caught():
    data = {
        "temas": {"t": "Tema"},
        "subcategorias": {},
        "dimensiones": {},
        "general": ["t"],
        "agencias": {"a": "A"},
        "apoyos": {"asesoria": "Asesoría"},
        "programas": [
            {
                "id": "x",
                "agencia": "A",
                "agencia_id": "a",
                "nombre": "N",
                "atiende": ["A"],
                "apoyo": ["asesoria"],
                "descripcion": "d",
                "temas": ["otro"],
                "fuente": "Fuente (2025)",
            }
        ],
    }
    with pytest.raises(ValueError, match="unknown topics"):
        parse_catalogue(data)
    data["programas"][0]["temas"] = ["t"]
    with pytest.raises(ValueError, match="no programme for P"):
        parse_catalogue(data)


def test_chilean_formats(national):
    assert fmt.rut("76123456-7") == "76.123.456-7" and fmt.rut("1234567-K") == "1.234.567-K"
    assert fmt.fecha(date(2026, 9, 18)) == "18 de septiembre de 2026"
    assert fmt.fecha(datetime(2026, 1, 1, 2, 0, tzinfo=timezone.utc)) == "31 de diciembre de 2025"  # Chile's date
    assert fmt.puntaje(72.5) == "72,5\u00a0%" and fmt.puntaje(None) == "—"
    assert fmt.cobertura(0.8333) == "83\u00a0%"
    assert fmt.puntos(5.25) == "+5,2 puntos" and fmt.puntos(-1.0) == "−1,0 punto" and fmt.puntos(0.01) == "sin cambio"
    assert fmt.numero(1500000) == "1.500.000" and fmt.numero(2.5) == "2,5"
    words = {
        ("vigente_daes", True): "Sí",
        ("vigente_daes", False): "No",
        ("vigente_daes", "ns"): "No sabe",
        ("reserva_legal", "na"): "No aplica",
        ("vigente_daes", None): "Sin respuesta",
        ("libro_actas", "a_veces"): national.question("libro_actas").option("a_veces").label,
        ("socios_mujeres", 1200): "1.200 personas",
    }
    for (qid, value), expected in words.items():
        assert fmt.answer_in_words(national.question(qid), value) == expected
