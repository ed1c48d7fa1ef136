"""Web pages: a cooperative's manager fills the self-diagnosis.

- ``/mis-cooperativas``: their cooperatives and, for each, its diagnoses by round;
- ``/diagnosticos/{id}``: back to where they stopped; ``/diagnosticos/{id}/seccion/{n}``:
  one subcategory per page (shared form logic in ``app.web.questionnaire_form``);
- ``/diagnosticos/{id}/revision``: unanswered required questions, and the submit button;
- ``/diagnosticos/{id}/resultados``: the lights, the official messages and what pulled
  each red or yellow light down.

Authorization comes from ``app.auth.policy`` and the responses service: another
cooperative's response is a 404 page.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

import scoring
from app.auth import policy
from app.cooperatives.models import Cooperative
from app.errors import Conflict, Forbidden, Invalid, NotFound
from app.questionnaires.models import QuestionnaireVersion
from app.responses import service
from app.responses.models import MODE_LABELS, STATUS_LABELS, ResponseMode, ResponseStatus
from app.responses.models import Response as DiagnosisResponse
from app.rounds.models import ROUND_STATE_LABELS, DiagnosisRound, RoundState
from app.rounds.service import get_round_questionnaire, list_rounds_statement, questionnaire_of_version
from app.unit_of_work import UnitOfWork
from app.user_input import MAX_ID, parse_int
from app.web import questionnaire_form as qf
from app.web.deps import FormPost, WebPage, form_post, web_page
from app.web.render import redirect, render
from app.web.response_actions import STALE_VERSION, save_section, submit_response
from app.web.results import beyond_the_lights, results_in_words

router = APIRouter(include_in_schema=False)

STORED = (ResponseStatus.SUBMITTED.value, ResponseStatus.VALIDATED.value)
UNIT = "subcategory"


# --------------------------------------------------------------------------- helpers


@dataclass
class Context:
    """A response the user may see, with what its pages need."""

    response: DiagnosisResponse
    cooperative: Cooperative
    round: DiagnosisRound
    questionnaire: scoring.Questionnaire
    editable: bool
    sections: list[qf.Section] = field(default_factory=list)

    @property
    def answers(self) -> dict[str, Any]:
        return dict(self.response.answers or {})


def _check_id(value: int, what: str) -> None:
    if not 1 <= value <= MAX_ID:
        raise NotFound(f"No existe {what} {value} o no tiene acceso a ella.")


def _load(page: WebPage, response_id: int) -> Context:
    _check_id(response_id, "la respuesta")
    session = page.session
    response = service.get_response(session=session, user=page.user, settings=page.settings, response_id=response_id)
    cooperative = session.get(Cooperative, response.cooperative_id)
    round_ = session.get(DiagnosisRound, response.round_id)
    questionnaire = _questionnaire_of(session, response, round_)
    editable = service.can_edit_now(user=page.user, response=response, cooperative=cooperative, settings=page.settings)
    return Context(response, cooperative, round_, questionnaire, editable, qf.sections(questionnaire, UNIT))


def _questionnaire_of(session: Session, response: DiagnosisResponse, round_: DiagnosisRound) -> scoring.Questionnaire:
    """The version the snapshot was scored with (if any), else the round's."""
    if response.snapshot_questionnaire_version_id and response.status in STORED:
        version = session.get(QuestionnaireVersion, response.snapshot_questionnaire_version_id)
        if version is not None:
            return questionnaire_of_version(version)
    return get_round_questionnaire(session=session, round=round_)


def _section_url(response_id: int, number: int, anchor: str | None = None) -> str:
    return f"/diagnosticos/{response_id}/seccion/{number}" + (f"#{anchor}" if anchor else "")


LAST_SECTION_COOKIE = "coopdiag_seccion_{}"
LAST_SECTION_DAYS = 180


def _resume_url(ctx: Context, last_visited: str | None = None) -> str:
    """Where the person stopped: the last section they opened on this device (cookie), if it
    still applies, else the first section with an unanswered required question; the review
    page once every required question is answered."""
    if ctx.response.status in STORED:
        return f"/diagnosticos/{ctx.response.id}/resultados"
    section = qf.first_incomplete(ctx.sections, ctx.questionnaire, ctx.answers)
    if section is None:
        return f"/diagnosticos/{ctx.response.id}/revision"
    if (number := parse_int(last_visited, minimum=1, maximum=10_000)) is not None:
        last = qf.section_by_number(ctx.sections, number)
        if last is not None and qf.is_visible(last, qf.relevance(ctx.questionnaire, ctx.answers)):
            return _section_url(ctx.response.id, last.number)
    return _section_url(ctx.response.id, section.number)


def _remember_section(page: Response, response_id: int, number: int) -> Response:
    page.set_cookie(
        LAST_SECTION_COOKIE.format(response_id),
        str(number),
        max_age=LAST_SECTION_DAYS * 86400,
        path=f"/diagnosticos/{response_id}",
        httponly=True,
        samesite="lax",
    )
    return page


def _light_of(response: DiagnosisResponse) -> str | None:
    if response.status in STORED and response.result_snapshot:
        return (response.result_snapshot.get("overall") or {}).get("light")
    return None


# --------------------------------------------------------------------------- my cooperatives


@router.get("/mis-cooperativas", response_class=HTMLResponse)
def my_cooperatives(page: WebPage = Depends(web_page)) -> Response:
    session, user, settings = page.session, page.user, page.settings
    cooperatives = list(
        session.scalars(
            select(Cooperative)
            .where(policy.cooperative_visibility(user, settings))
            .order_by(Cooperative.name, Cooperative.id)
        )
    )
    open_rounds = list(session.scalars(list_rounds_statement(state=RoundState.OPEN.value)))
    coop_ids = [c.id for c in cooperatives]
    responses = (
        list(
            session.scalars(
                select(DiagnosisResponse)
                .where(DiagnosisResponse.cooperative_id.in_(coop_ids), DiagnosisResponse.is_current.is_(True))
                .order_by(DiagnosisResponse.id)
            )
        )
        if coop_ids
        else []
    )
    rounds = {r.id: r for r in open_rounds}
    for response in responses:
        if response.round_id not in rounds:
            rounds[response.round_id] = session.get(DiagnosisRound, response.round_id)
    ordered_rounds = sorted(rounds.values(), key=lambda r: (r.opens_on, r.id), reverse=True)

    cards = []
    for cooperative in cooperatives:
        rows = []
        for round_ in ordered_rounds:
            response = next(
                (r for r in responses if r.cooperative_id == cooperative.id and r.round_id == round_.id), None
            )
            if response is None and round_.state != RoundState.OPEN.value:
                continue
            row: dict[str, Any] = {
                "round": round_,
                "round_state": ROUND_STATE_LABELS.get(round_.state, round_.state),
                "response": response,
            }
            if response is None:
                row["can_start"] = policy.can_create_response(user, cooperative, ResponseMode.SELF.value, settings)
                row["idempotency_key"] = str(uuid.uuid4())
            else:
                questionnaire = _questionnaire_of(session, response, round_)
                answers = dict(response.answers or {})
                row.update(
                    status=STATUS_LABELS.get(response.status, response.status),
                    mode=MODE_LABELS.get(response.mode, response.mode),
                    progress=qf.progress(questionnaire, answers),
                    light=_light_of(response),
                    editable=service.can_edit_now(
                        user=user, response=response, cooperative=cooperative, settings=settings
                    ),
                )
            rows.append(row)
        cards.append({"cooperative": cooperative, "rows": rows})
    return render(page.request, "manager/home.html", {"cards": cards})


@router.post("/mis-cooperativas/{cooperative_id}/rondas/{round_id}/iniciar")
def start_diagnosis(cooperative_id: int, round_id: int, post: FormPost = Depends(form_post)) -> Response:
    _check_id(cooperative_id, "la cooperativa")
    _check_id(round_id, "la ronda")
    session = post.session
    key = str(post.form.get("idempotency_key") or "").strip()[:100] or str(uuid.uuid4())
    try:
        with UnitOfWork(session):
            response, _ = service.create_response(
                session=session,
                user=post.user,
                settings=post.settings,
                idempotency_key=key,
                data={"cooperative_id": cooperative_id, "round_id": round_id, "mode": ResponseMode.SELF.value},
            )
    except Conflict as error:
        existing = error.extra.get("existing_id")
        if error.code == "response_exists" and existing:
            return redirect(
                f"/diagnosticos/{existing}", flash="Este diagnóstico ya estaba iniciado: puede continuarlo."
            )
        return redirect("/mis-cooperativas", flash=error.message)
    return redirect(
        f"/diagnosticos/{response.id}", flash="Diagnóstico iniciado. Sus respuestas se guardan en cada página."
    )


# --------------------------------------------------------------------------- questionnaire pages


@router.get("/diagnosticos/{response_id}")
def resume(response_id: int, page: WebPage = Depends(web_page)) -> Response:
    ctx = _load(page, response_id)
    return redirect(_resume_url(ctx, page.request.cookies.get(LAST_SECTION_COOKIE.format(ctx.response.id))))


def _section_or_404(ctx: Context, number: int) -> qf.Section:
    section = qf.section_by_number(ctx.sections, number)
    if section is None:
        raise NotFound(f"El cuestionario no tiene una sección {number}.")
    return section


def _render_section(
    request: Request,
    ctx: Context,
    section: qf.Section,
    *,
    answers: dict[str, Any],
    posted: qf.ParsedForm | None = None,
    newer: dict[str, str] | None = None,
    version: int | None = None,
    conflict: str | None = None,
    form_error: str | None = None,
    status_code: int = 200,
) -> Response:
    merged = dict(answers)
    if posted is not None:
        merged.update(posted.answers)
    relevant = qf.relevance(ctx.questionnaire, merged)
    fields = qf.build_fields(ctx.questionnaire, section, answers, posted=posted, newer=newer)
    visible = qf.visible_sections(ctx.sections, relevant)
    previous, following = qf.neighbours(ctx.sections, section, relevant)
    position = next((i + 1 for i, s in enumerate(visible) if s.number == section.number), None)
    errors = [f for f in fields if f.error]
    return render(
        request,
        "manager/section.html",
        {
            "ctx": ctx,
            "response": ctx.response,
            "cooperative": ctx.cooperative,
            "round": ctx.round,
            "section": section,
            "fields": fields,
            "field_errors": errors,
            "progress": qf.progress(ctx.questionnaire, merged, relevant),
            "visible": visible,
            "position": position,
            "sections_conditional": any(qf.may_be_hidden(s) for s in ctx.sections),
            "previous": previous,
            "following": following,
            "version": version if version is not None else ctx.response.version,
            "editable": ctx.editable,
            "conflict": conflict,
            "form_error": form_error,
            "status_es": STATUS_LABELS.get(ctx.response.status, ctx.response.status),
            "missing_by_section": _missing_by_section(ctx, merged),
        },
        status_code=status_code,
    )


def _missing_by_section(ctx: Context, answers: dict[str, Any]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for item in qf.missing_required(ctx.questionnaire, answers, ctx.sections):
        counts[item.section.number] = counts.get(item.section.number, 0) + 1
    return counts


@router.get("/diagnosticos/{response_id}/seccion/{number}", response_class=HTMLResponse)
def section_page(response_id: int, number: int, page: WebPage = Depends(web_page)) -> Response:
    ctx = _load(page, response_id)
    section = _section_or_404(ctx, number)
    answers = ctx.answers
    relevant = qf.relevance(ctx.questionnaire, answers)
    if not qf.is_visible(section, relevant):
        # Nothing of this subcategory applies under the current answers: go on to the next one.
        _, following = qf.neighbours(ctx.sections, section, relevant)
        if following is not None:
            return redirect(_section_url(ctx.response.id, following.number))
        return redirect(f"/diagnosticos/{ctx.response.id}/revision")
    shown = _render_section(page.request, ctx, section, answers=answers)
    return _remember_section(shown, ctx.response.id, section.number) if ctx.editable else shown


@router.post("/diagnosticos/{response_id}/seccion/{number}", response_class=HTMLResponse)
def section_save(response_id: int, number: int, post: FormPost = Depends(form_post)) -> Response:
    request, form = post.request, post.form
    ctx = _load(post, response_id)
    if not policy.can_edit_response(post.user, ctx.response, ctx.cooperative, post.settings):
        # Seen but never theirs to answer (an analyst, a field member on a self-diagnosis):
        # refused like the service refuses it, not passed off as a closed diagnosis.
        raise Forbidden("No tiene permiso para modificar esta respuesta.")
    section = _section_or_404(ctx, number)
    if not ctx.editable:
        return redirect(_resume_url(ctx), flash="Este diagnóstico ya no se puede modificar.")
    action = str(form.get("accion") or "guardar")
    parsed = qf.parse_form(ctx.questionnaire, form, section)
    version = qf.posted_version(form)
    if parsed.errors:
        count = len(parsed.errors)
        message = (
            ("Hay 1 respuesta con problemas" if count == 1 else f"Hay {count} respuestas con problemas")
            + ("; corríjala" if count == 1 else "; corríjalas")
            + " y vuelva a guardar. No se guardó nada de esta página."
        )
        return _render_section(
            request,
            ctx,
            section,
            answers=ctx.answers,
            posted=parsed,
            version=version,
            form_error=message,
            status_code=422,
        )
    if version is None:
        return _render_section(
            request,
            ctx,
            section,
            answers=ctx.answers,
            posted=parsed,
            form_error="Falta la versión de la página; recárguela y vuelva a guardar.",
            status_code=422,
        )
    outcome = save_section(
        session=post.session,
        user=post.user,
        settings=post.settings,
        questionnaire=ctx.questionnaire,
        response=ctx.response,
        parsed=parsed,
        version=version,
    )
    if outcome.conflict is not None:
        if not outcome.stale:
            return redirect(_resume_url(ctx), flash=outcome.conflict.message)
        message = (
            "Otra persona (o usted en otra pestaña) guardó respuestas más recientes mientras tenía esta página abierta. "
            "No se guardó nada. Junto a cada pregunta que cambió se muestra el valor guardado más reciente; "
            "revise sus respuestas y presione «Guardar» otra vez para confirmarlas."
        )
        return _render_section(
            request,
            ctx,
            section,
            answers=outcome.current_answers,
            posted=qf.ParsedForm(answers=parsed.answers, raw=parsed.raw, special=parsed.special),
            newer=outcome.newer,
            version=ctx.response.version,
            conflict=message,
            status_code=409,
        )
    if outcome.invalid is not None:
        return _render_section(
            request,
            ctx,
            section,
            answers=ctx.answers,
            posted=parsed,
            version=version,
            form_error=outcome.invalid.message,
            status_code=422,
        )

    saved = outcome.saved
    answers = dict(saved.answers or {})
    relevant = qf.relevance(ctx.questionnaire, answers)
    previous, following = qf.neighbours(ctx.sections, section, relevant)
    if action == "continuar":
        target = _section_url(saved.id, following.number) if following else f"/diagnosticos/{saved.id}/revision"
        return redirect(target, flash="Respuestas guardadas.")
    if action == "anterior" and previous is not None:
        return redirect(_section_url(saved.id, previous.number), flash="Respuestas guardadas.")
    return redirect(_section_url(saved.id, section.number), flash="Respuestas guardadas.")


# --------------------------------------------------------------------------- review and submit


def _question_link(ctx: Context):
    """The URL of a question on its section page (for lists of checks), or None."""

    def link(question_id: str) -> str | None:
        section = qf.section_of_question(ctx.sections, question_id)
        return _section_url(ctx.response.id, section.number, qf.anchor(question_id)) if section else None

    return link


def _render_review(
    request: Request,
    ctx: Context,
    *,
    message: str | None = None,
    problems: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    answers = ctx.answers
    missing = qf.missing_required(ctx.questionnaire, answers, ctx.sections)
    consistency = qf.check_items(ctx.questionnaire, qf.failed_checks(ctx.questionnaire, answers))
    return render(
        request,
        "manager/review.html",
        {
            "blocking": [c for c in consistency if c["severity"] == "error"],
            "warnings": [c for c in consistency if c["severity"] == "warning"],
            "link": _question_link(ctx),
            "ctx": ctx,
            "response": ctx.response,
            "cooperative": ctx.cooperative,
            "round": ctx.round,
            "missing": missing,
            "progress": qf.progress(ctx.questionnaire, answers),
            "editable": ctx.editable,
            "message": message,
            "problems": problems or [],
            "status_es": STATUS_LABELS.get(ctx.response.status, ctx.response.status),
            "section_url": _section_url,
            "first_section": (qf.visible_sections(ctx.sections, qf.relevance(ctx.questionnaire, answers)) or [None])[0],
        },
        status_code=status_code,
    )


@router.get("/diagnosticos/{response_id}/revision", response_class=HTMLResponse)
def review_page(response_id: int, page: WebPage = Depends(web_page)) -> Response:
    ctx = _load(page, response_id)
    if ctx.response.status in STORED:
        return redirect(f"/diagnosticos/{ctx.response.id}/resultados")
    return _render_review(page.request, ctx)


@router.post("/diagnosticos/{response_id}/enviar", response_class=HTMLResponse)
def submit(response_id: int, post: FormPost = Depends(form_post)) -> Response:
    request = post.request
    ctx = _load(post, response_id)
    error = submit_response(
        session=post.session,
        user=post.user,
        settings=post.settings,
        response=ctx.response,
        version=qf.posted_version(post.form),
    )
    if isinstance(error, Invalid):
        problems = []
        if error.code == "inconsistent_answers":
            # The page lists the blocking checks itself (from the same stored answers), with links.
            listed = any(c.severity == "error" for c in qf.failed_checks(ctx.questionnaire, ctx.answers))
            return _render_review(
                request,
                ctx,
                status_code=422,
                message=(
                    "No se puede enviar: hay respuestas que no son coherentes entre sí. Corríjalas (vea la lista "
                    "«Respuestas incoherentes») y vuelva a enviar."
                    if listed
                    else error.message
                ),
            )
        if error.code != "missing_required":
            for detail in error.details:
                qid = str(detail.get("field", "")).removeprefix("answers.")
                if ctx.questionnaire.has_question(qid):
                    problems.append(f"«{ctx.questionnaire.question(qid).text}»: {detail.get('message')}")
        return _render_review(request, ctx, message=error.message, problems=problems, status_code=422)
    if error is not None:
        if error.code == STALE_VERSION:
            return _render_review(
                request,
                ctx,
                status_code=409,
                message="Se guardaron respuestas nuevas (en otra pestaña o por otra persona) después de abrir esta página. "
                "Revise la lista y vuelva a presionar «Enviar diagnóstico».",
            )
        return redirect(_resume_url(ctx), flash=error.message)
    return redirect(
        f"/diagnosticos/{ctx.response.id}/resultados", flash="¡Diagnóstico enviado! Estos son sus resultados."
    )


# --------------------------------------------------------------------------- results


@router.get("/diagnosticos/{response_id}/resultados", response_class=HTMLResponse)
def results_page(response_id: int, page: WebPage = Depends(web_page)) -> Response:
    ctx = _load(page, response_id)
    outcome = service.result(session=page.session, user=page.user, settings=page.settings, response_id=ctx.response.id)
    view = results_in_words(ctx.questionnaire, outcome["result"], ctx.answers)
    beyond = None
    if not outcome["preview"]:
        beyond = beyond_the_lights(
            session=page.session,
            settings=page.settings,
            response=ctx.response,
            cooperative=ctx.cooperative,
            round_=ctx.round,
        )
    return render(
        page.request,
        "manager/results.html",
        {
            "ctx": ctx,
            "response": ctx.response,
            "cooperative": ctx.cooperative,
            "round": ctx.round,
            "preview": outcome["preview"],
            "consistency": qf.check_items(ctx.questionnaire, outcome.get("consistency") or []),
            "link": _question_link(ctx),
            "result": view,
            "beyond": beyond,
            "editable": ctx.editable,
            "status_es": STATUS_LABELS.get(ctx.response.status, ctx.response.status),
            "resume_url": _resume_url(ctx),
        },
    )
