"""What the report shows, worked out from a :class:`~reports.context.ReportContext`.

Pure functions that turn the stored snapshot, the questionnaire version it was scored
with and the answers into plain dictionaries for the template: titles beside ids, lights
in words, answers in words, peers, the change since the previous diagnosis and the
suggested programmes. Nothing here is recomputed with today's rules: every light, score
and list of questions comes from the snapshot as stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import scoring

from . import formatting as fmt
from .context import MIN_PEERS, PeerGroup, PreviousDiagnosis, ReportContext
from .programs import Programme, agencies_in_use, catalogue

OVERALL = "overall"


@dataclass
class Level:
    """One result (overall, a dimension or a subcategory) as the report shows it."""

    id: str
    title: str
    light: str
    score: float | None
    coverage: float | None
    capped: bool = False
    number: str = ""
    """Section number, e.g. «2» for a dimension or «2.3» for a subcategory."""
    critical: list[dict[str, str]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    """Its critical questions answered «No sé», each in plain words (:func:`critical_unknowns`)."""
    critical_note: str | None = None
    """A dimension red by the critical rule: why (:func:`critical_note`)."""
    pulled: list[dict[str, str]] = field(default_factory=list)
    children: list[Level] = field(default_factory=list)
    dimension_id: str = ""

    @property
    def is_lit(self) -> bool:
        return self.light in fmt.LIGHTS


def computed_values(questionnaire: scoring.Questionnaire, answers: dict[str, Any]) -> dict[str, Any]:
    """Values of the computed indicators (e.g. a ratio) that the stored answers define.

    Only for showing the value beside its question: lights and scores come from the
    snapshot. Answers that no longer validate (they were valid when stored) give nothing.
    """
    try:
        scoring.validate_answers(questionnaire, answers)
        return scoring.computed_values(questionnaire, answers)
    except Exception:  # noqa: BLE001 — a report must render whatever the stored answers are
        return {}


class Answers:
    """Answers in words, with computed indicators taken from the snapshot when it stores
    their value, else from the answers."""

    def __init__(self, questionnaire: scoring.Questionnaire, answers: dict[str, Any], snapshot: dict[str, Any]):
        self.questionnaire = questionnaire
        self.answers = answers
        self.stored: dict[str, dict[str, Any]] = {
            q["id"]: q
            for d in snapshot.get("dimensions") or []
            for s in d.get("subcategories") or []
            for q in s.get("questions") or []
            if isinstance(q, dict) and "id" in q
        }
        needs_values = any(
            q.type == "computed" and "value" not in self.stored.get(q.id, {}) for q in questionnaire.questions
        )
        self.computed = computed_values(questionnaire, answers) if needs_values else {}

    def status(self, question_id: str) -> str | None:
        return self.stored.get(question_id, {}).get("status")

    def words(self, question: scoring.Question) -> str:
        if question.type != "computed":
            return fmt.answer_in_words(question, self.answers.get(question.id))
        stored = self.stored.get(question.id, {})
        value = stored["value"] if "value" in stored else self.computed.get(question.id)
        if value is None:
            return "No se pudo calcular (faltan datos o no corresponden)"
        return fmt.answer_in_words(question, value)

    def described(self, question_id: str) -> dict[str, str]:
        if not self.questionnaire.has_question(question_id):
            value = self.answers.get(question_id)
            return {"id": question_id, "text": question_id, "answer": fmt.DASH if value is None else str(value)}
        question = self.questionnaire.question(question_id)
        return {"id": question_id, "text": question.text, "answer": self.words(question)}


def _level(data: dict[str, Any], *, id: str, title: str, number: str = "", dimension_id: str = "") -> Level:  # noqa: A002
    return Level(
        id=id,
        title=title,
        light=data.get("light") or "insufficient_data",
        score=data.get("score"),
        coverage=data.get("coverage"),
        capped=bool(data.get("capped")),
        number=number,
        dimension_id=dimension_id,
    )


def results(context: ReportContext, answers: Answers) -> Level:
    """The overall result with its dimensions and their subcategories, titled and numbered,
    each red or yellow subcategory with its critical failures and the other questions that
    pulled it down (snapshot ``pulled_down_by``), in words; every subcategory with its
    critical unknowns and every dimension red by the critical rule with why."""
    snapshot = context.snapshot
    method = snapshot_method(snapshot)
    dimension_models = {d.id: d for d in context.questionnaire.dimensions}
    overall = _level(snapshot.get("overall") or {}, id=OVERALL, title="Resultado general")
    for d_index, dim in enumerate(scored_dimensions(snapshot, context.questionnaire), start=1):
        model = dimension_models.get(dim.get("id", ""))
        sub_titles = {s.id: s.title for s in model.subcategories} if model else {}
        dimension = _level(
            dim, id=dim.get("id", ""), title=model.title if model else dim.get("id", ""), number=str(d_index)
        )
        dimension.critical_note = critical_note(dim, model.thresholds if model else None, sub_titles, method)
        for s_index, sub in enumerate(dim.get("subcategories") or [], start=1):
            level = _level(
                sub,
                id=sub.get("id", ""),
                title=sub_titles.get(sub.get("id"), sub.get("id", "")),
                number=f"{d_index}.{s_index}",
                dimension_id=dimension.id,
            )
            level.unknown = critical_unknowns(sub, context.questionnaire)
            if level.light in ("red", "yellow"):
                critical = list(sub.get("critical_failures") or [])
                level.critical = [answers.described(qid) for qid in critical]
                level.pulled = [
                    answers.described(qid) for qid in sub.get("pulled_down_by") or [] if qid not in critical
                ]
            dimension.children.append(level)
        overall.children.append(dimension)
    return overall


def scored_dimensions(snapshot: dict[str, Any], questionnaire: scoring.Questionnaire) -> list[dict[str, Any]]:
    """The snapshot's dimensions that can have a light: an informational one (the profile, no
    scored question) is always «no aplica» and is shown as the declared profile instead."""
    informational = {d.id for d in questionnaire.dimensions if d.informational}
    return [dim for dim in snapshot.get("dimensions") or [] if dim.get("id") not in informational]


def profile(questionnaire: scoring.Questionnaire, answers: Answers) -> list[dict[str, Any]]:
    """What the organisation declared in this diagnosis about itself: the answered questions of
    the informational dimensions, by subcategory, in words (the report's «Perfil declarado»)."""
    sections = []
    for dimension in questionnaire.dimensions:
        if not dimension.informational:
            continue
        for sub in dimension.subcategories:
            rows = [
                {"id": q.id, "text": q.text, "answer": answers.words(q)}
                for q in sub.questions
                if answers.status(q.id) != "not_relevant" and answers.answers.get(q.id) is not None
            ]
            if rows:
                sections.append({"title": sub.title, "rows": rows})
    return sections


# --------------------------------------------------------------------------- what a snapshot says
# Shared by the web pages (app/web) and the report: a stored snapshot of any method.


def snapshot_method(snapshot: dict[str, Any] | None) -> int:
    """The scoring method a stored snapshot was computed with; method 1 did not say it."""
    method = (snapshot or {}).get("method")
    return method if isinstance(method, int) and not isinstance(method, bool) else 1


def _questions_of(snapshot: dict[str, Any] | None) -> Iterable[dict[str, Any]]:
    for dim in (snapshot or {}).get("dimensions") or []:
        for sub in dim.get("subcategories") or []:
            for question in sub.get("questions") or []:
                if isinstance(question, dict):
                    yield question


#: The statuses of the questions that apply (counted in coverage, scoring.md §1).
APPLICABLE_STATUSES = frozenset({"scored", "ns", "unanswered"})


def ns_share(snapshot: dict[str, Any] | None) -> float | None:
    """The share of the questions that apply (status scored, ns or unanswered) that were
    answered «No sé» (status ns); None when none applies. Method 1 snapshots have the
    same statuses, so their share is the same."""
    applicable = ns = 0
    for question in _questions_of(snapshot):
        status = question.get("status")
        if status in APPLICABLE_STATUSES:
            applicable += 1
            ns += status == "ns"
    return ns / applicable if applicable else None


def ns_note(snapshot: dict[str, Any] | None) -> str | None:
    """The data-quality note of a result with more than 10 % of «No sé» answers, else None."""
    return fmt.ns_note(ns_share(snapshot))


def _question_text(questionnaire: scoring.Questionnaire | None, question_id: str) -> str:
    if questionnaire is not None and questionnaire.has_question(question_id):
        return questionnaire.question(question_id).text
    return question_id


def critical_unknowns(subcategory: dict[str, Any], questionnaire: scoring.Questionnaire | None) -> list[str]:
    """The subcategory's critical questions answered «No sé» (``critical_unknown``; absent in
    method 1 snapshots), each as a plain sentence: «No se sabe si …: verifíquelo.»"""
    return [
        fmt.critical_unknown(_question_text(questionnaire, str(qid)))
        for qid in subcategory.get("critical_unknown") or []
    ]


def critical_note(
    dimension: dict[str, Any], thresholds: scoring.Thresholds | None, titles: dict[str, str], method: int
) -> str | None:
    """Why a dimension is red when the critical rule made it so (method 2 and later: a
    subcategory with critical failures), whatever its score, which may be null. ``titles``
    names the subcategories; ``thresholds`` (the dimension's) say what its score alone would
    give. None for any other dimension, and for method 1 (no such rule)."""
    if method < 2 or dimension.get("light") != "red":
        return None
    failing = [
        titles.get(sub.get("id"), sub.get("id", ""))
        for sub in dimension.get("subcategories") or []
        if sub.get("critical_failures")
    ]
    if not failing:
        return None
    score = dimension.get("score")
    score_light = None
    if isinstance(score, (int, float)) and thresholds is not None:
        score_light = scoring.light_for(score / 100, thresholds.green, thresholds.red).value
    return fmt.critical_dimension_note(failing, score, score_light)


def subcategories(overall: Level) -> list[Level]:
    return [sub for dimension in overall.children for sub in dimension.children]


def counts_sentence(overall: Level) -> str:
    """«De 18 subcategorías: 3 en verde, 1 en amarillo, 13 en rojo y 1 que no aplica.»"""
    subs = subcategories(overall)
    counts = {light: sum(1 for s in subs if s.light == light) for light in fmt.LIGHT_WORDS}
    parts = [f"{counts['green']} en verde", f"{counts['yellow']} en amarillo", f"{counts['red']} en rojo"]
    if counts["insufficient_data"]:
        parts.append(f"{counts['insufficient_data']} con datos insuficientes")
    if counts["not_applicable"]:
        parts.append(f"{counts['not_applicable']} que no " + ("aplica" if counts["not_applicable"] == 1 else "aplican"))
    noun = "subcategoría" if len(subs) == 1 else "subcategorías"
    return f"De {len(subs)} {noun}: {', '.join(parts[:-1])} y {parts[-1]}."


def priorities(overall: Level) -> list[tuple[str, list[Level]]]:
    """The red, then the yellow subcategories, for the summary."""
    subs = subcategories(overall)
    groups = [
        ("En rojo, requieren atención urgente", [s for s in subs if s.light == "red"]),
        ("En amarillo, requieren atención", [s for s in subs if s.light == "yellow"]),
    ]
    return [(label, items) for label, items in groups if items]


# --------------------------------------------------------------------------- peers


def peer_groups(peers: tuple[PeerGroup, ...], overall: Level) -> list[dict[str, Any]]:
    """Each group with one row per score it has statistics for (overall first, then the
    dimensions in report order): this cooperative's score beside the median and quartiles.
    A group under MIN_PEERS peers has no rows and says so."""
    order = [overall] + overall.children
    groups = []
    for group in peers:
        stats = {s.key: s for s in group.stats}
        rows = []
        if group.count >= MIN_PEERS:
            for level in order:
                stat = stats.get(level.id)
                if stat is None:
                    continue
                rows.append(
                    {
                        "title": level.title,
                        "own": level.score,
                        "own_light": level.light,
                        "median": stat.median,
                        "q1": stat.q1,
                        "q3": stat.q3,
                        "count": stat.count,
                        "comparable": stat.count >= MIN_PEERS and stat.median is not None,
                        "position": _position(level.score, stat.q1, stat.q3),
                    }
                )
        groups.append(
            {
                "label": group.label,
                "count": group.count,
                "enough": group.count >= MIN_PEERS and bool(rows),
                "rows": rows,
            }
        )
    return groups


def _position(score: float | None, q1: float | None, q3: float | None) -> str:
    if score is None or q1 is None or q3 is None:
        return "sin comparación"
    if score < q1:
        return "bajo el cuartil inferior"
    if score > q3:
        return "sobre el cuartil superior"
    return "entre los cuartiles (en la mitad central)"


# --------------------------------------------------------------------------- previous diagnosis


def changes(previous: PreviousDiagnosis | None, overall: Level) -> dict[str, Any] | None:
    """Overall and dimensions before and after, with the difference in points, matched by
    dimension id (a dimension only in one of them shows a dash on the other side)."""
    if previous is None:
        return None
    before = previous.snapshot or {}
    before_dims = {d.get("id"): d for d in before.get("dimensions") or []}
    rows = []
    for level in [overall] + overall.children:
        old = before.get("overall") if level.id == OVERALL else before_dims.get(level.id)
        old = old or {}
        old_score = old.get("score") if old.get("light") in fmt.LIGHTS else None
        new_score = level.score if level.is_lit else None
        difference = new_score - old_score if old_score is not None and new_score is not None else None
        rows.append(
            {
                "title": level.title,
                "before_light": old.get("light"),
                "before_score": old_score,
                "after_light": level.light,
                "after_score": new_score,
                "difference": difference,
            }
        )
    before_key = questionnaire_key(previous.snapshot)
    return {
        "round_name": previous.round_name,
        "submitted_at": previous.submitted_at,
        "rows": rows,
        "questionnaire_before": before_key,
    }


def questionnaire_key(snapshot: dict[str, Any] | None) -> tuple[str, str] | None:
    info = (snapshot or {}).get("questionnaire") or {}
    if not info.get("id"):
        return None
    return (str(info.get("id")), str(info.get("version", "")))


# --------------------------------------------------------------------------- recommendations


def recommendations(overall: Level, *, pre_cooperative: bool, already_used: Iterable[str] = ()) -> dict[str, Any]:
    """For each red, then yellow, subcategory the programmes that fit it (ids), and every
    suggested programme once, in order of first suggestion, for the catalogue.

    ``already_used``: agency slugs the organisation says it already works with (its answer
    to the «programmes already used» question, see :func:`reports.programs.agencies_in_use`):
    their programmes are not suggested, and ``already_used`` in the result names those
    agencies for the reader. ``sources`` lists the documents the suggestions come from."""
    items = []
    used: dict[str, Programme] = {}
    catalogue_ = catalogue()
    in_use = frozenset(already_used)
    subs = subcategories(overall)
    for light in ("red", "yellow"):
        for sub in subs:
            if sub.light != light:
                continue
            programmes = catalogue_.suggest(
                sub.id, sub.dimension_id, pre_cooperative=pre_cooperative, already_used=in_use
            )
            for programme in programmes:
                used.setdefault(programme.id, programme)
            items.append({"sub": sub, "programmes": programmes})
    agencies = catalogue_.agency_names(in_use)
    words = " y ".join([", ".join(agencies[:-1]), agencies[-1]] if len(agencies) > 1 else agencies)
    return {
        "items": items,
        "catalogue": list(used.values()),
        "already_used": agencies,
        "already_used_words": words,
        "sources": catalogue_.sources(used.values()),
    }


# --------------------------------------------------------------------------- annex


def annex(questionnaire: scoring.Questionnaire, answers: Answers) -> list[dict[str, Any]]:
    """Every question, grouped by dimension and subcategory, with its answer in words."""
    sections = []
    for dimension in questionnaire.dimensions:
        subs = []
        for sub in dimension.subcategories:
            rows = []
            for question in sub.questions:
                status = answers.status(question.id)
                if status == "not_relevant":
                    words, note = "No corresponde", "muted"
                else:
                    words, note = answers.words(question), ("computed" if question.type == "computed" else "")
                rows.append(
                    {
                        "id": question.id,
                        "text": question.text,
                        "answer": words,
                        "note": note,
                        "critical": question.critical,
                    }
                )
            subs.append({"title": sub.title, "rows": rows})
        sections.append({"title": dimension.title, "subcategories": subs})
    return sections


# --------------------------------------------------------------------------- methodology


def thresholds(questionnaire: scoring.Questionnaire) -> dict[str, Any]:
    """The file's thresholds and every dimension or subcategory that overrides them."""
    base = questionnaire.thresholds
    overrides = []
    for dimension in questionnaire.dimensions:
        if dimension.thresholds != base:
            overrides.append(
                {"title": dimension.title, "green": dimension.thresholds.green, "red": dimension.thresholds.red}
            )
        for sub in dimension.subcategories:
            if sub.thresholds != dimension.thresholds:
                overrides.append({"title": sub.title, "green": sub.thresholds.green, "red": sub.thresholds.red})
    return {"green": base.green, "red": base.red, "overrides": overrides}


def questionnaire_counts(questionnaire: scoring.Questionnaire) -> dict[str, int]:
    questions = questionnaire.questions
    return {
        "dimensions": len(questionnaire.dimensions),
        "subcategories": sum(len(d.subcategories) for d in questionnaire.dimensions),
        "questions": len(questions),
        "scored": sum(1 for q in questions if q.scored),
        "critical": sum(1 for q in questions if q.critical),
    }


# --------------------------------------------------------------------------- beyond the lights


def beyond_the_lights(context: ReportContext) -> dict[str, Any]:
    """What a diagnosis says besides its lights, for the PDF and the result pages alike: the
    comparison with peers, the change since the previous diagnosis and the suggested support
    programmes, each with the sentences that introduce it (one wording for both)."""
    questionnaire = context.questionnaire
    answers = Answers(questionnaire, dict(context.answers or {}), context.snapshot or {})
    overall = results(context, answers)
    pre_cooperative = context.cooperative.is_pre_cooperative
    peers = peer_groups(context.peers, overall)
    for group in peers:
        group["not_enough"] = not_enough_peers(group["count"])
    changed = changes(context.previous, overall)
    snapshot_key = questionnaire_key(context.snapshot) or questionnaire.key
    suggested = recommendations(overall, pre_cooperative=pre_cooperative, already_used=agencies_in_use(context.answers))
    return {
        "overall": overall,
        "answers": answers,
        "peers": peers,
        "peers_lead": PEERS_LEAD.format(min_peers=MIN_PEERS),
        "no_peer_groups": NO_PEER_GROUPS,
        "changes": changed,
        "changes_lead": changes_lead(changed),
        "changes_other_version": changes_other_version(changed, snapshot_key),
        "first_diagnosis": FIRST_DIAGNOSIS,
        "recommendations": suggested,
        "recommendations_lead": recommendations_lead(suggested, pre_cooperative=pre_cooperative),
        "recommendations_note": recommendations_note(suggested),
        "snapshot_key": snapshot_key,
        "already_works_with": ALREADY_WORKS_WITH,
    }


PEERS_LEAD = (
    "Se compara el puntaje de esta organización con el de otras organizaciones diagnosticadas en la misma "
    "ronda que comparten con ella una característica. Se muestran la mediana (la mitad de los pares está por "
    "debajo y la otra mitad por encima) y los cuartiles (entre ambos está la mitad central de los pares). Solo "
    "se compara cuando hay al menos {min_peers} pares, para que el resultado sea representativo y no "
    "identifique a otras organizaciones."
)
NO_PEER_GROUPS = "No hay grupos de organizaciones pares para comparar en esta ronda."
FIRST_DIAGNOSIS = (
    "Este es el primer diagnóstico de la organización registrado en el sistema: no hay un resultado anterior "
    "con el cual compararlo. Los próximos informes mostrarán aquí la evolución."
)
NO_RECOMMENDATIONS = (
    "Ninguna subcategoría quedó en rojo ni en amarillo, así que este informe no sugiere programas de apoyo en "
    "particular. Se recomienda mantener las prácticas actuales y repetir el diagnóstico en la próxima ronda."
)


def not_enough_peers(count: int) -> str:
    if count == 0:
        who = "ninguna otra organización del grupo tiene"
    elif count == 1:
        who = "solo otra organización del grupo tiene"
    else:
        who = f"solo {count} organizaciones del grupo tienen"
    return (
        f"No hay suficientes pares para comparar: {who} un diagnóstico enviado en esta ronda, y se necesitan al "
        f"menos {MIN_PEERS}."
    )


def changes_lead(changed: dict[str, Any] | None) -> str | None:
    if changed is None:
        return None
    sent = f", enviado el {fmt.fecha(changed['submitted_at'])}" if changed.get("submitted_at") else ""
    return (
        f"Comparación con el diagnóstico de la ronda «{changed['round_name']}»{sent}. La diferencia se expresa en "
        "puntos de puntaje (0 a 100)."
    )


def changes_other_version(changed: dict[str, Any] | None, snapshot_key: tuple[str, str] | None) -> str | None:
    before = (changed or {}).get("questionnaire_before")
    if not before or before == snapshot_key:
        return None
    return (
        f"El diagnóstico anterior se calculó con otra versión del cuestionario ({before[1]}); las preguntas "
        "pueden haber cambiado, así que la comparación es solo referencial."
    )


def recommendations_lead(suggested: dict[str, Any], *, pre_cooperative: bool) -> str:
    if not suggested["items"]:
        return NO_RECOMMENDATIONS
    audience = "grupos pre-cooperativos" if pre_cooperative else "organizaciones constituidas"
    text = (
        "Para cada subcategoría en rojo o en amarillo se sugieren programas públicos que apoyan ese tema y que "
        f"están dirigidos a {audience}, como esta organización."
    )
    if suggested["already_used"]:
        those = "esa institución" if len(suggested["already_used"]) == 1 else "esas instituciones"
        text += (
            f" No se sugieren programas de {suggested['already_used_words']}: la organización declaró que ya "
            f"trabaja con {those}."
        )
    return text + (
        " Las bases, requisitos, plazos y montos los fija cada institución: consúltelos directamente con ella "
        "antes de postular."
    )


def recommendations_note(suggested: dict[str, Any]) -> str | None:
    if not suggested["catalogue"]:
        return None
    return (
        f"Fuentes: {'; '.join(suggested['sources'])}. La lista orienta y no es exhaustiva; la disponibilidad de "
        "cada programa puede variar de un año a otro."
    )


ALREADY_WORKS_WITH = (
    "Los programas que corresponden a este tema son de instituciones con las que la organización ya trabaja: "
    "consulte con ellas."
)
