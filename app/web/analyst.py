"""Web pages: the analyst workspace (rounds and their dashboard, cooperatives, response review).

Staff only (``policy.is_staff``); everyone else gets the Spanish 403 page. Writes go through
the services (``app.responses.service``, ``app.cooperatives.service``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from app.auth import policy
from app.auth.models import User
from app.cooperatives import service as cooperatives_service
from app.cooperatives.models import COOPERATIVE_STATE_LABELS, LEGAL_TYPE_LABELS, Cooperative
from app.cooperatives.schemas import format_rut
from app.cooperatives.sectors import SECTORS
from app.errors import ApiError, Conflict, Invalid
from app.http_errors import status_of
from app.observatory import service as observatory
from app.pagination import MAX_PAGE, PageParams, paginate
from app.reports import queueing as report_queue
from app.responses import rescoring
from app.responses import service as responses_service
from app.responses.models import MODE_LABELS, STATUS_LABELS, ResponseStatus
from app.rounds.models import ROUND_STATE_LABELS, DiagnosisRound
from app.rounds.service import get_round, get_round_questionnaire
from app.settings import REGIONS, Settings
from app.unit_of_work import UnitOfWork
from app.user_input import parse_int
from app.web import charts, dashboard, review_queue
from app.web import questionnaire_form as qf
from app.web.deps import FormPost, WebPage, form_post, staff_page, staff_post
from app.web.render import redirect, render
from reports import formatting as fmt
from reports import view

router = APIRouter(include_in_schema=False)

PER_PAGE = 25
LIGHT_FILTERS = {
    "green": "Verde",
    "yellow": "Amarillo",
    "red": "Rojo",
    "insufficient_data": "Datos insuficientes",
    dashboard.NO_RESULT: "Sin resultado en la última ronda",
}
EVENT_ES = {
    "created": "Creó la respuesta",
    "answer_changed": "Cambió una respuesta",
    "details_changed": "Cambió los datos de la entrevista",
    "submitted": "Envió la respuesta",
    "returned": "Devolvió para corrección",
    "validated": "Validó la respuesta",
    "reopened": "Reabrió la respuesta",
    "rescored": "Recalculó el resultado con el método vigente",
}


# --------------------------------------------------------------------------- filters


def _filters(request: Request, settings: Settings) -> tuple[cooperatives_service.CooperativeFilters, dict[str, str]]:
    """The cooperative filters of the query string; unknown values are ignored (a select
    always offers valid ones), and the cleaned values are returned to refill the form."""
    query = request.query_params
    chosen: dict[str, str] = {}
    region = None
    if (region := parse_int(query.get("region", ""), minimum=min(REGIONS), maximum=max(REGIONS))) in REGIONS:
        chosen["region"] = str(region)
    else:
        region = None
    macrozone = query.get("macrozona") or None
    if macrozone not in settings.macrozones:
        macrozone = None
    sector = query.get("rubro") or None
    if sector not in SECTORS:
        sector = None
    legal_type = query.get("tipo") or None
    if legal_type not in LEGAL_TYPE_LABELS:
        legal_type = None
    state = query.get("estado") or None
    if state not in COOPERATIVE_STATE_LABELS:
        state = None
    q = (query.get("q") or "").strip()[:100] or None
    for key, value in (("macrozona", macrozone), ("rubro", sector), ("tipo", legal_type), ("estado", state), ("q", q)):
        if value:
            chosen[key] = value
    return (
        cooperatives_service.CooperativeFilters(
            q=q,
            region=region,
            macrozone=macrozone,
            sector=sector,
            legal_type=legal_type,
            state=state,
        ),
        chosen,
    )


def _filter_options(settings: Settings) -> dict[str, Any]:
    return {
        "regions": list(REGIONS.items()),
        "macrozones": list(settings.macrozones),
        "sectors": list(SECTORS.items()),
        "legal_types": list(LEGAL_TYPE_LABELS.items()),
        "states": list(COOPERATIVE_STATE_LABELS.items()),
        "lights": list(LIGHT_FILTERS.items()),
    }


# --------------------------------------------------------------------------- rounds


@router.get("/analisis", response_class=HTMLResponse)
def rounds_page(page: WebPage = Depends(staff_page)) -> Response:
    return render(
        page.request,
        "analyst/rounds.html",
        {
            "rounds": dashboard.rounds_overview(session=page.session),
            "round_states": ROUND_STATE_LABELS,
        },
    )


@router.get("/analisis/rondas/{round_id}", response_class=HTMLResponse)
def round_page(round_id: int, page: WebPage = Depends(staff_page)) -> Response:
    request, user, session, settings = page.request, page.user, page.session, page.settings
    round_ = get_round(session=session, round_id=round_id)
    filters, chosen = _filters(request, settings)
    chosen.pop("q", None)
    chosen.pop("estado", None)
    data = dashboard.round_dashboard(
        session=session,
        user=user,
        settings=settings,
        round=round_,
        filters=cooperatives_service.CooperativeFilters(
            region=filters.region,
            macrozone=filters.macrozone,
            sector=filters.sector,
            legal_type=filters.legal_type,
        ),
    )
    categories = list(dashboard.CATEGORIES)
    if not any(d.total.counts.get("not_applicable") for d in data.dimensions):
        categories.remove("not_applicable")
    charts_by_dim = []
    for index, dim in enumerate(data.dimensions):
        charts_by_dim.append(
            {
                "stats": dim,
                "zone_chart": charts.stacked_bars(
                    f"grafico-{index}-macrozona",
                    f"{dim.title}: luces por macrozona",
                    [dim.total, *dim.by_macrozone],
                    categories,
                ),
                "region_chart": charts.stacked_bars(
                    f"grafico-{index}-region", f"{dim.title}: luces por región", dim.by_region, categories
                )
                if dim.by_region
                else None,
            }
        )
    return render(
        request,
        "analyst/round.html",
        {
            "data": data,
            "round": round_,
            "round_states": ROUND_STATE_LABELS,
            "charts": charts_by_dim,
            "categories": categories,
            "pattern_defs": charts.pattern_defs(),
            "swatch": charts.swatch,
            "chosen": chosen,
            "options": _filter_options(settings),
            "status_es": STATUS_LABELS,
            "reports": report_queue.round_progress(session=session, user=user, settings=settings, round_id=round_.id),
            "observatory": observatory.publication_status(session, round_.id),
        },
    )


@router.post("/analisis/rondas/{round_id}/informes/reintentar")
def retry_round_reports(round_id: int, post: FormPost = Depends(staff_post)) -> Response:
    """Ask again for the round's failed PDF reports (and those never asked for)."""
    with UnitOfWork(post.session):
        count = report_queue.retry_round(
            session=post.session, user=post.user, settings=post.settings, round_id=round_id
        )
    if count == 1:
        flash = "Se volvió a solicitar 1 informe PDF; se preparará en segundo plano."
    elif count:
        flash = f"Se volvieron a solicitar {count} informes PDF; se prepararán en segundo plano."
    else:
        flash = "No había informes con error ni pendientes de solicitar."
    return redirect(f"/analisis/rondas/{round_id}#informes", flash=flash)


@router.get("/analisis/rondas/{round_id}/recalcular", response_class=HTMLResponse)
def rescore_page(round_id: int, page: WebPage = Depends(staff_page)) -> Response:
    """What the current scoring method would change in the round's stored results."""
    result = rescoring.plan(session=page.session, user=page.user, round_id=round_id)
    return render(page.request, "analyst/rescore.html", {"plan": result, "round": result.round})


@router.post("/analisis/rondas/{round_id}/recalcular")
def rescore_round(round_id: int, post: FormPost = Depends(staff_post)) -> Response:
    try:
        with UnitOfWork(post.session):
            result = rescoring.adopt(session=post.session, user=post.user, round_id=round_id)
    except Conflict as error:
        outcome = rescoring.plan(session=post.session, user=post.user, round_id=round_id)
        return render(
            post.request,
            "analyst/rescore.html",
            {"plan": outcome, "round": outcome.round, "problem": error.message},
            status_code=409,
        )
    count = len(result.rescored)
    if count == 1:
        flash = (
            f"Se recalculó 1 resultado con el método {result.method}; quedó como una nueva revisión y la "
            "anterior conserva el suyo."
        )
    elif count:
        flash = (
            f"Se recalcularon {count} resultados con el método {result.method}; cada uno quedó como una nueva "
            "revisión y las anteriores conservan el suyo."
        )
    else:
        flash = "No había resultados que recalcular."
    return redirect(f"/analisis/rondas/{round_id}/recalcular", flash=flash)


# --------------------------------------------------------------------------- cooperatives


@router.get("/analisis/cooperativas", response_class=HTMLResponse)
def cooperatives_page(page: WebPage = Depends(staff_page)) -> Response:
    request, user, session, settings = page.request, page.user, page.session, page.settings
    filters, chosen = _filters(request, settings)
    light = request.query_params.get("luz") or None
    if light not in LIGHT_FILTERS:
        light = None
    if light:
        chosen["luz"] = light
    number = parse_int(request.query_params.get("pagina", "1"), minimum=1, maximum=MAX_PAGE) or 1
    statement = cooperatives_service.list_statement(user=user, settings=settings, filters=filters)
    statement = dashboard.light_filter_statement(statement, session=session, light=light)
    rows, total = paginate(session, statement, PageParams(page=number, per_page=PER_PAGE))
    pages = max((total + PER_PAGE - 1) // PER_PAGE, 1)
    lights = dashboard.latest_lights(session=session, cooperative_ids=[row.id for row in rows])

    def page_url(number: int) -> str:
        return "/analisis/cooperativas?" + urlencode({**chosen, "pagina": number})

    return render(
        request,
        "analyst/cooperatives.html",
        {
            "items": [
                {"coop": cooperatives_service.to_dict(row, settings), "latest": lights.get(row.id)} for row in rows
            ],
            "total": total,
            "page": number,
            "pages": pages,
            "page_url": page_url,
            "chosen": chosen,
            "options": _filter_options(settings),
            "latest_round": dashboard.latest_round(session),
            "status_es": STATUS_LABELS,
        },
    )


@router.get("/analisis/cooperativas/{cooperative_id}", response_class=HTMLResponse)
def cooperative_page(cooperative_id: int, page: WebPage = Depends(staff_page)) -> Response:
    user, session, settings = page.user, page.session, page.settings
    cooperative = cooperatives_service.get_visible_cooperative(
        session=session,
        user=user,
        settings=settings,
        cooperative_id=cooperative_id,
    )
    history = dashboard.cooperative_history(session=session, cooperative_id=cooperative.id)
    current = [h for h in history if h["response"].is_current]
    timeline = (
        charts.light_timeline(
            "historial-luces",
            f"Luz general de {cooperative.name} en cada ronda",
            [(h["round"].name, h["light"]) for h in current],
        )
        if current
        else None
    )
    return render(
        page.request,
        "analyst/cooperative.html",
        {
            "coop": cooperatives_service.to_dict(cooperative, settings),
            "history": history,
            "timeline": timeline,
            "can_approve": policy.can_approve_cooperative(user) and not cooperative.approved,
            "status_es": STATUS_LABELS,
            "mode_es": MODE_LABELS,
        },
    )


@router.post("/analisis/cooperativas/{cooperative_id}/aprobar")
def approve_cooperative(cooperative_id: int, post: FormPost = Depends(form_post)) -> Response:
    user, session, settings = post.user, post.session, post.settings
    cooperative = cooperatives_service.get_visible_cooperative(
        session=session,
        user=user,
        settings=settings,
        cooperative_id=cooperative_id,
    )
    with UnitOfWork(session):
        cooperatives_service.approve_cooperative(session=session, user=user, settings=settings, cooperative=cooperative)
    return redirect(f"/analisis/cooperativas/{cooperative_id}", flash="La cooperativa quedó aprobada en el registro.")


# --------------------------------------------------------------------------- response review


def _review_context(page: WebPage, response_id: int) -> dict[str, Any]:
    session, user, settings = page.session, page.user, page.settings
    response = responses_service.get_response(session=session, user=user, settings=settings, response_id=response_id)
    cooperative = session.get(Cooperative, response.cooperative_id)
    round_ = session.get(DiagnosisRound, response.round_id)
    questionnaire = get_round_questionnaire(session=session, round=round_)
    scored = response.status in dashboard.SCORED_STATUSES and response.result_snapshot
    snapshot = response.result_snapshot if scored else None
    events, _ = responses_service.history(
        session=session,
        user=user,
        settings=settings,
        response_id=response.id,
        params=PageParams(page=1, per_page=200),
    )
    revisions = responses_service.list_revisions(session=session, user=user, settings=settings, response_id=response.id)
    people = {
        u.id: u.full_name
        for u in session.scalars(
            select(User).where(
                User.id.in_(
                    [i for i in (response.created_by_id, response.submitted_by_id, response.validated_by_id) if i]
                )
            )
        )
    }
    questions = {q.id: q.text for q in questionnaire.questions}
    for event in events:
        if event["question_id"] and questionnaire.has_question(event["question_id"]):
            question = questionnaire.question(event["question_id"])
            event["old_words"] = dashboard.answer_in_words(question, event["old_value"])
            event["new_words"] = dashboard.answer_in_words(question, event["new_value"])
    return {
        "response": response,
        "coop": cooperative,
        "coop_rut": format_rut(cooperative.rut),
        "round": round_,
        "questionnaire": questionnaire,
        "snapshot": snapshot,
        "sections": dashboard.review_sections(questionnaire, dict(response.answers or {}), snapshot),
        # What the stored result says beyond the lights (reports.view: the same as the PDF's).
        "method": view.snapshot_method(snapshot) if snapshot else None,
        "precooperative": fmt.is_pre_cooperative(response.answers),
        "data_note": view.ns_note(snapshot) if snapshot else None,
        "warnings": qf.check_items(
            questionnaire, (snapshot or {}).get("consistency_warnings") or [], severity="warning"
        ),
        "question_anchor": lambda question_id: (
            f"#pregunta-{question_id}" if questionnaire.has_question(question_id) else None
        ),
        "events": events,
        "event_es": EVENT_ES,
        "question_text": questions,
        "revisions": revisions,
        "people": people,
        "status_es": STATUS_LABELS,
        "mode_es": MODE_LABELS,
        "can_review": policy.can_review_responses(user),
        "can_validate": response.status == ResponseStatus.SUBMITTED.value,
        "can_reopen": response.status == ResponseStatus.VALIDATED.value and response.is_current,
        "errors": {},
        "comment": "",
        "problem": None,
    }


@router.get("/analisis/respuestas/{response_id}", response_class=HTMLResponse)
def review_page(response_id: int, page: WebPage = Depends(staff_page)) -> Response:
    context = _review_context(page, response_id)
    context["queue"] = _queue_around(page, response_id, page.request.query_params.get("cola"))
    return render(page.request, "analyst/response.html", context)


def _posted_queue(post: FormPost) -> str | None:
    value = post.form.get("cola")
    return value if isinstance(value, str) else None


def _queue_around(page: WebPage | FormPost, response_id: int, cola: str | None) -> dict[str, Any] | None:
    """Previous and next of the review queue the page was opened from (``?cola=…``)."""
    if cola is None:
        return None
    return review_queue.neighbours(
        session=page.session, user=page.user, settings=page.settings, queue=cola[:500], response_id=response_id
    )


def _after_decision(post: FormPost, response_id: int, queue: dict[str, Any] | None, done: str) -> Response:
    """Back to the response, or on to the next one of the review queue it was opened from."""
    if queue is None:
        return redirect(f"/analisis/respuestas/{response_id}", flash=done)
    if queue["next"] is not None:
        return redirect(
            f"/analisis/respuestas/{queue['next']}?cola={quote(queue['cola'])}",
            flash=f"{done} Sigue la próxima de la cola.",
        )
    return redirect(queue["queue_url"], flash=f"{done} No quedan más respuestas en esta cola.")


def _review_problem(post: FormPost, response_id: int, error: ApiError, **extra: Any) -> Response:
    """The review page again with the problem of the action (e.g. 409 stale version); the
    action's unit of work was rolled back."""
    context = _review_context(post, response_id)
    context.update(problem=error.message, **extra)
    return render(post.request, "analyst/response.html", context, status_code=status_of(error))


@router.post("/analisis/respuestas/{response_id}/validar")
def validate_response(response_id: int, post: FormPost = Depends(staff_post)) -> Response:
    queue = _queue_around(post, response_id, _posted_queue(post))  # before it leaves the queue
    try:
        with UnitOfWork(post.session):
            responses_service.validate(
                session=post.session,
                user=post.user,
                settings=post.settings,
                response_id=response_id,
                version=qf.posted_version(post.form),
            )
    except (Conflict, Invalid) as error:
        return _review_problem(post, response_id, error)
    return _after_decision(post, response_id, queue, "La respuesta quedó validada.")


@router.post("/analisis/respuestas/{response_id}/devolver")
def return_response(response_id: int, post: FormPost = Depends(staff_post)) -> Response:
    comment = str(post.form.get("comment") or "")
    if not comment.strip() or len(comment) > 5000:
        message = (
            "Escriba qué debe corregirse: quien respondió verá este comentario."
            if not comment.strip()
            else "El comentario no puede tener más de 5.000 caracteres."
        )
        context = _review_context(post, response_id)
        context.update(errors={"comment": message}, comment=comment)
        return render(post.request, "analyst/response.html", context, status_code=422)
    queue = _queue_around(post, response_id, _posted_queue(post))
    try:
        with UnitOfWork(post.session):
            responses_service.return_for_correction(
                session=post.session,
                user=post.user,
                settings=post.settings,
                response_id=response_id,
                comment=comment.strip(),
                version=qf.posted_version(post.form),
            )
    except (Conflict, Invalid) as error:
        return _review_problem(post, response_id, error, comment=comment)
    return _after_decision(post, response_id, queue, "La respuesta fue devuelta para corrección con su comentario.")


@router.post("/analisis/respuestas/{response_id}/reabrir")
def reopen_response(response_id: int, post: FormPost = Depends(staff_post)) -> Response:
    comment = str(post.form.get("reopen_comment") or "").strip()[:5000] or None
    try:
        with UnitOfWork(post.session):
            new = responses_service.reopen(
                session=post.session,
                user=post.user,
                settings=post.settings,
                response_id=response_id,
                version=qf.posted_version(post.form),
                comment=comment,
            )
    except (Conflict, Invalid) as error:
        return _review_problem(post, response_id, error)
    return redirect(
        f"/analisis/respuestas/{new.id}",
        flash=f"Se abrió la revisión {new.revision} como borrador; la revisión validada se conserva.",
    )
