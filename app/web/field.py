"""Web pages: field team (interviews).

- ``/terreno``: the cooperatives assigned to the field member (one by one or through a
  macrozone, as ``policy.cooperative_visibility`` says) with their state in the open rounds;
- ``/terreno/entrevistas/nueva``: start an interview (created through the responses service
  with a server-generated idempotency key, so a double submit never duplicates it);
- ``/terreno/entrevistas/{id}/dimension/{n}``: fast entry, a whole dimension per page;
- ``/terreno/entrevistas/{id}/revision`` and ``/resultado``: review, submit, result;
- ``/terreno/cooperativas/nueva``: register a cooperative missing from the registry.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse
from fastapi.responses import Response as WebResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.auth import policy
from app.auth.models import User
from app.cooperatives import service as cooperatives
from app.cooperatives.models import LEGAL_TYPE_LABELS, Cooperative, LegalType
from app.cooperatives.schemas import CooperativeCreate, format_rut
from app.cooperatives.sectors import SECTORS
from app.errors import ApiError, Conflict, Forbidden, Invalid, NotFound, validation_details
from app.http_errors import status_of
from app.pagination import PageParams, paginate
from app.responses import lifecycle
from app.responses import service as responses
from app.responses.models import MODE_LABELS, STATUS_LABELS, Response, ResponseMode, ResponseStatus
from app.rounds.models import DiagnosisRound, RoundState
from app.settings import REGIONS
from app.unit_of_work import UnitOfWork
from app.user_input import parse_id
from app.web import field_entry
from app.web import questionnaire_form as qf
from app.web.deps import FormPost, WebPage, guarded
from app.web.render import redirect, render
from app.web.response_actions import save_section, submit_response
from app.web.results import beyond_the_lights, results_in_words

router = APIRouter(include_in_schema=False)

PER_PAGE = 50

#: The state of a cooperative in a round, as the field team reads it: its response's status, or
#: none yet.
STATE_LABELS = {None: "sin iniciar", **STATUS_LABELS}

INTERVIEW_LABELS = {
    "interviewer_name": "Nombre de quien entrevista",
    "institution": "Institución",
    "interview_date": "Fecha de la entrevista",
    "interview_place": "Lugar de la entrevista",
    "interviewee_role": "Cargo de la persona entrevistada",
}


# --------------------------------------------------------------------------- helpers


def _require_field_access(user: User) -> None:
    """Interview pages are for those who may enter interviews (policy decides)."""
    if ResponseMode.INTERVIEW.value not in policy.response_modes_for(user):
        raise Forbidden("Estas páginas son para el equipo de terreno: su cuenta no registra entrevistas.")


field_page, field_post = guarded(_require_field_access)


def _open_rounds(session: Session) -> list[DiagnosisRound]:
    return list(
        session.scalars(
            select(DiagnosisRound)
            .where(DiagnosisRound.state == RoundState.OPEN.value)
            .order_by(DiagnosisRound.opens_on.desc(), DiagnosisRound.id.desc())
        )
    )


def _open_round(session: Session, round_id: Any) -> DiagnosisRound:
    ident = parse_id(round_id)
    round_ = session.get(DiagnosisRound, ident) if ident is not None else None
    if round_ is None:
        raise NotFound("No existe esa ronda de diagnóstico.")
    if round_.state != RoundState.OPEN.value:
        raise Conflict(f"La ronda «{round_.name}» no está abierta: no se pueden iniciar entrevistas en ella.")
    return round_


def _visible_cooperative(page: WebPage, cooperative_id: Any) -> Cooperative:
    ident = parse_id(cooperative_id)
    if ident is None:
        raise NotFound("No existe esa cooperativa.")
    return cooperatives.get_visible_cooperative(
        session=page.session, user=page.user, settings=page.settings, cooperative_id=ident
    )


def _current_responses(
    session: Session, cooperative_ids: list[int], round_ids: list[int]
) -> dict[tuple[int, int], Response]:
    if not cooperative_ids or not round_ids:
        return {}
    rows = session.scalars(
        select(Response).where(
            Response.cooperative_id.in_(cooperative_ids),
            Response.round_id.in_(round_ids),
            Response.is_current.is_(True),
        )
    )
    return {(row.cooperative_id, row.round_id): row for row in rows}


def _interview(page: WebPage, response_id: int) -> tuple[Response, Cooperative, DiagnosisRound]:
    response = responses.get_response(
        session=page.session, user=page.user, settings=page.settings, response_id=response_id
    )
    cooperative = page.session.get(Cooperative, response.cooperative_id)
    return response, cooperative, page.session.get(DiagnosisRound, response.round_id)


def _can_edit(page: WebPage, response: Response, cooperative: Cooperative) -> bool:
    return responses.can_edit_now(user=page.user, response=response, cooperative=cooperative, settings=page.settings)


def _details_errors(error: ApiError) -> dict[str, str]:
    out: dict[str, str] = {}
    for detail in error.details:
        name = str(detail.get("field") or "form")
        out.setdefault(name, _sentence(str(detail.get("message") or error.message)))
    return out


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."


# --------------------------------------------------------------------------- the list


@router.get("/terreno", response_class=HTMLResponse)
def field_home(
    q: str | None = None,
    number: int = Query(1, alias="page"),
    page: WebPage = Depends(field_page),
) -> WebResponse:
    q = (q or "").strip()[:100]
    number = max(1, min(number, 10_000))
    statement = cooperatives.list_statement(
        user=page.user, settings=page.settings, filters=cooperatives.CooperativeFilters(q=q or None)
    )
    rows, total = paginate(page.session, statement, PageParams(page=number, per_page=PER_PAGE))
    rounds = _open_rounds(page.session)
    current = _current_responses(page.session, [c.id for c in rows], [r.id for r in rounds])
    items = []
    for cooperative in rows:
        states = []
        for round_ in rounds:
            response = current.get((cooperative.id, round_.id))
            status = response.status if response is not None else None
            action = None
            if response is None:
                if cooperative.approved:
                    action = (
                        "Iniciar entrevista",
                        f"/terreno/entrevistas/nueva?cooperativa={cooperative.id}&ronda={round_.id}",
                    )
            elif _can_edit(page, response, cooperative):
                action = (
                    "Continuar entrevista" if status == ResponseStatus.DRAFT.value else "Corregir entrevista",
                    f"/terreno/entrevistas/{response.id}/dimension/1",
                )
            elif status in (ResponseStatus.SUBMITTED.value, ResponseStatus.VALIDATED.value):
                action = ("Ver resultado", f"/terreno/entrevistas/{response.id}/resultado")
            states.append(
                {
                    "round": round_,
                    "response": response,
                    "status": status or "none",
                    "label": STATE_LABELS.get(status, status),
                    "mode": MODE_LABELS.get(response.mode) if response is not None else None,
                    "action": action,
                }
            )
        items.append(
            {
                "cooperative": cooperative,
                "rut": format_rut(cooperative.rut),
                "region": REGIONS.get(cooperative.region_code, ""),
                "states": states,
            }
        )
    pages = max(1, -(-total // PER_PAGE))
    return render(
        page.request,
        "field/home.html",
        {
            "items": items,
            "rounds": rounds,
            "q": q,
            "total": total,
            "page": number,
            "pages": pages,
        },
    )


# --------------------------------------------------------------------------- start an interview


def _interview_form_context(
    cooperative: Cooperative, round_: DiagnosisRound, values: dict[str, Any], errors: dict[str, str], key: str
) -> dict[str, Any]:
    return {
        "cooperative": cooperative,
        "round": round_,
        "values": values,
        "errors": errors,
        "idempotency_key": key,
        "labels": INTERVIEW_LABELS,
        "today": date.today().isoformat(),
    }


@router.get("/terreno/entrevistas/nueva", response_class=HTMLResponse)
def new_interview(
    cooperativa: str | None = None,
    ronda: str | None = None,
    page: WebPage = Depends(field_page),
) -> WebResponse:
    cooperative = _visible_cooperative(page, cooperativa)
    round_ = _open_round(page.session, ronda)
    existing = _current_responses(page.session, [cooperative.id], [round_.id]).get((cooperative.id, round_.id))
    if existing is not None:
        return redirect(
            f"/terreno/entrevistas/{existing.id}/dimension/1",
            flash="Esta cooperativa ya tiene una respuesta en la ronda: continúe esa.",
        )
    values = {
        "interviewer_name": page.user.full_name,
        "institution": page.user.institution or "",
        "interview_date": date.today().isoformat(),
        "interview_place": "",
        "interviewee_role": "",
    }
    return render(
        page.request,
        "field/new_interview.html",
        _interview_form_context(cooperative, round_, values, {}, uuid.uuid4().hex),
    )


def _parse_interview(form: FormData) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """(typed data, values as typed, errors by field)."""
    typed_values = {name: str(form.get(name) or "").strip() for name in INTERVIEW_LABELS}
    errors: dict[str, str] = {}
    data: dict[str, Any] = {}
    for name, label in INTERVIEW_LABELS.items():
        value = typed_values[name]
        if not value:
            errors[name] = f"Escriba el dato «{label.lower()}»."
        elif len(value) > 200:
            errors[name] = "Es demasiado largo (máximo 200 caracteres)."
        else:
            data[name] = value
    if "interview_date" in data:
        try:
            when = date.fromisoformat(data["interview_date"])
        except ValueError:
            errors["interview_date"] = "Escriba una fecha válida (AAAA-MM-DD)."
            del data["interview_date"]
        else:
            data["interview_date"] = when
            # The date's rules are the response lifecycle's (the API and the importers apply them too).
            for problem in lifecycle.interview_problems(data, ResponseMode.INTERVIEW.value, today=date.today()):
                if problem["field"] == "interview_date":
                    errors["interview_date"] = problem["message"][:1].upper() + problem["message"][1:] + "."
    return data, typed_values, errors


@router.post("/terreno/entrevistas/nueva", response_class=HTMLResponse)
def create_interview(post: FormPost = Depends(field_post)) -> WebResponse:
    session, form = post.session, post.form
    cooperative = _visible_cooperative(post, form.get("cooperativa"))
    round_ = _open_round(session, form.get("ronda"))
    key = str(form.get("idempotency_key") or "").strip()[:100] or uuid.uuid4().hex
    data, values, errors = _parse_interview(form)
    if not errors:
        try:
            with UnitOfWork(session):
                response, created = responses.create_response(
                    session=session,
                    user=post.user,
                    settings=post.settings,
                    idempotency_key=key,
                    data={
                        "cooperative_id": cooperative.id,
                        "round_id": round_.id,
                        "mode": ResponseMode.INTERVIEW.value,
                        "answers": None,
                        **data,
                    },
                )
        except Conflict as error:
            existing = error.extra.get("existing_id")
            if error.code == "response_exists" and existing:
                return redirect(
                    f"/terreno/entrevistas/{existing}/dimension/1",
                    flash="Esta cooperativa ya tenía una respuesta en la ronda: continúe esa.",
                )
            errors["form"] = error.message
        except Invalid as error:
            errors.update(_details_errors(error))
            errors.setdefault("form", error.message)
        else:
            flash = (
                "Entrevista iniciada. Complete cada dimensión y guarde."
                if created
                else "La entrevista ya estaba iniciada."
            )
            return redirect(f"/terreno/entrevistas/{response.id}/dimension/1", flash=flash)
    return render(
        post.request,
        "field/new_interview.html",
        _interview_form_context(cooperative, round_, values, errors, key),
        status_code=422,
    )


# --------------------------------------------------------------------------- fast entry


def _entry_context(
    session: Session, response: Response, cooperative: Cooperative, round_: DiagnosisRound, number: int
) -> dict[str, Any]:
    questionnaire = responses.round_questionnaire(session=session, round=round_)
    all_sections = qf.sections(questionnaire, unit="dimension")
    section = qf.section_by_number(all_sections, number)
    if section is None:
        raise NotFound(f"El cuestionario no tiene una dimensión {number}.")
    return {
        "response": response,
        "cooperative": cooperative,
        "round": round_,
        "questionnaire": questionnaire,
        "number": number,
        "section": section,
        "dimensions": questionnaire.dimensions,
        "status_label": STATE_LABELS.get(response.status, response.status),
        # The special answer as the interviewer records it (questionnaire/macros.html).
        "ns_label": qf.NS_LABEL_INTERVIEW,
        "ns_short": "No sabe",
    }


def _with_fields(context: dict[str, Any], answers: dict[str, Any], **options: Any) -> dict[str, Any]:
    questionnaire, section = context["questionnaire"], context["section"]
    fields = qf.build_fields(questionnaire, section, answers, **options)
    relevant = qf.relevance(questionnaire, answers)
    context.update(
        {
            "groups": field_entry.grouped(section, fields),
            "progress": qf.section_progress(section, answers, relevant),
            "overall_progress": qf.progress(questionnaire, answers, relevant),
        }
    )
    return context


@router.get("/terreno/entrevistas/{response_id}/dimension/{number}", response_class=HTMLResponse)
def dimension_page(response_id: int, number: int, page: WebPage = Depends(field_page)) -> WebResponse:
    response, cooperative, round_ = _interview(page, response_id)
    if not _can_edit(page, response, cooperative):
        return redirect(f"/terreno/entrevistas/{response.id}/resultado")
    context = _entry_context(page.session, response, cooperative, round_, number)
    _with_fields(context, dict(response.answers or {}))
    context["version"] = response.version
    return render(page.request, "field/dimension.html", context)


@router.post("/terreno/entrevistas/{response_id}/dimension/{number}", response_class=HTMLResponse)
def save_dimension(response_id: int, number: int, post: FormPost = Depends(field_post)) -> WebResponse:
    request, form = post.request, post.form
    response, cooperative, round_ = _interview(post, response_id)
    if not policy.can_edit_response(post.user, response, cooperative, post.settings):
        raise Forbidden("No tiene permiso para modificar esta respuesta.")
    context = _entry_context(post.session, response, cooperative, round_, number)
    questionnaire, section = context["questionnaire"], context["section"]
    version = qf.posted_version(form)
    parsed = qf.parse_form(questionnaire, form, section)
    stored = dict(response.answers or {})
    if parsed.errors:
        _with_fields(context, stored, posted=parsed)
        context.update(
            {
                "version": version or response.version,
                "notice": "Hay respuestas no válidas; no se guardó ningún cambio. Corríjalas y vuelva a guardar.",
            }
        )
        return render(request, "field/dimension.html", context, status_code=422)
    # Relevance on the server: what the new answers make irrelevant is cleared.
    changes = field_entry.apply_relevance(questionnaire, parsed.answers, stored)
    outcome = save_section(
        session=post.session,
        user=post.user,
        settings=post.settings,
        questionnaire=questionnaire,
        response=response,
        parsed=parsed,
        version=version,
        changes=changes,
    )
    if outcome.conflict is not None:
        notice = (
            (
                "Otra persona u otra pestaña guardó esta entrevista mientras usted la editaba; no se guardaron "
                "sus cambios. Junto a cada pregunta que cambió se muestra el valor guardado más reciente: "
                "revise y vuelva a guardar."
            )
            if outcome.stale
            else outcome.conflict.message
        )
        _with_fields(context, outcome.current_answers, posted=parsed, newer=outcome.newer)
        context.update({"version": response.version, "notice": notice, "stale": outcome.stale})
        return render(request, "field/dimension.html", context, status_code=409)
    if outcome.invalid is not None:
        _with_fields(context, stored, posted=parsed)
        context.update({"version": response.version, "notice": outcome.invalid.message})
        return render(request, "field/dimension.html", context, status_code=422)
    if str(form.get("accion") or "") == "siguiente":
        if number < len(questionnaire.dimensions):
            return redirect(f"/terreno/entrevistas/{response.id}/dimension/{number + 1}", flash="Dimensión guardada.")
        return redirect(f"/terreno/entrevistas/{response.id}/revision", flash="Dimensión guardada.")
    return redirect(f"/terreno/entrevistas/{response.id}/dimension/{number}", flash="Cambios guardados.")


# --------------------------------------------------------------------------- review, submit, result


@router.get("/terreno/entrevistas/{response_id}/revision", response_class=HTMLResponse)
def review_page(response_id: int, page: WebPage = Depends(field_page)) -> WebResponse:
    response, cooperative, round_ = _interview(page, response_id)
    if not _can_edit(page, response, cooperative):
        return redirect(f"/terreno/entrevistas/{response.id}/resultado")
    return render(page.request, "field/review.html", _review_context(page.session, response, cooperative, round_))


def _question_link(response: Response, questionnaire):
    """The URL of a question on its dimension page (for lists of checks), or None."""
    all_sections = qf.sections(questionnaire, unit="dimension")

    def link(question_id: str) -> str | None:
        section = qf.section_of_question(all_sections, question_id)
        return (
            f"/terreno/entrevistas/{response.id}/dimension/{section.number}#{qf.anchor(question_id)}"
            if section
            else None
        )

    return link


def _review_context(
    session: Session, response: Response, cooperative: Cooperative, round_: DiagnosisRound, **extra: Any
):
    questionnaire = responses.round_questionnaire(session=session, round=round_)
    answers = dict(response.answers or {})
    consistency = qf.check_items(questionnaire, qf.failed_checks(questionnaire, answers))
    return {
        "response": response,
        "cooperative": cooperative,
        "round": round_,
        "questionnaire": questionnaire,
        "dimensions": questionnaire.dimensions,
        **field_entry.review(questionnaire, answers),
        "blocking": [c for c in consistency if c["severity"] == "error"],
        "warnings": [c for c in consistency if c["severity"] == "warning"],
        "link": _question_link(response, questionnaire),
        "status_label": STATUS_LABELS.get(response.status, response.status),
        **extra,
    }


@router.post("/terreno/entrevistas/{response_id}/enviar", response_class=HTMLResponse)
def submit_interview(response_id: int, post: FormPost = Depends(field_post)) -> WebResponse:
    response, cooperative, round_ = _interview(post, response_id)
    error = submit_response(
        session=post.session,
        user=post.user,
        settings=post.settings,
        response=response,
        version=qf.posted_version(post.form),
    )
    if error is not None:
        if response.status not in responses.EDITABLE:
            return redirect(f"/terreno/entrevistas/{response.id}/resultado", flash=error.message)
        context = _review_context(post.session, response, cooperative, round_, notice=error.message)
        if error.code == "inconsistent_answers" and context["blocking"]:
            # The page lists the blocking checks itself (from the same stored answers), with links.
            context["notice"] = (
                "No se puede enviar: hay respuestas que no son coherentes entre sí. Corríjalas "
                "(vea la lista «Respuestas incoherentes») y vuelva a enviar."
            )
        return render(post.request, "field/review.html", context, status_code=status_of(error))
    return redirect(f"/terreno/entrevistas/{response.id}/resultado", flash="Entrevista enviada. Este es su resultado.")


@router.get("/terreno/entrevistas/{response_id}/resultado", response_class=HTMLResponse)
def result_page(response_id: int, page: WebPage = Depends(field_page)) -> WebResponse:
    response, cooperative, round_ = _interview(page, response_id)
    outcome = responses.result(session=page.session, user=page.user, settings=page.settings, response_id=response.id)
    questionnaire = responses.round_questionnaire(session=page.session, round=round_)
    return render(
        page.request,
        "field/result.html",
        {
            "response": response,
            "cooperative": cooperative,
            "round": round_,
            "status_label": STATE_LABELS.get(response.status, response.status),
            "editable": _can_edit(page, response, cooperative),
            "preview": outcome.get("preview"),
            "result": results_in_words(questionnaire, outcome.get("result") or {}, dict(response.answers or {})),
            "beyond": None
            if outcome.get("preview")
            else beyond_the_lights(
                session=page.session, settings=page.settings, response=response, cooperative=cooperative, round_=round_
            ),
            "consistency": qf.check_items(questionnaire, outcome.get("consistency") or []),
            "link": _question_link(response, questionnaire),
        },
    )


# --------------------------------------------------------------------------- register a cooperative

COOPERATIVE_TEXT_FIELDS = (
    "rut",
    "name",
    "legal_type",
    "region_code",
    "comuna",
    "members_women",
    "members_men",
    "contact_name",
    "contact_email",
    "contact_phone",
)


def _cooperative_form_context(values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    return {
        "values": values,
        "errors": errors,
        "legal_types": [(t.value, LEGAL_TYPE_LABELS.get(t.value, t.value)) for t in LegalType],
        "regions": list(REGIONS.items()),
        "sectors": list(SECTORS.items()),
    }


@router.get("/terreno/cooperativas/nueva", response_class=HTMLResponse)
def new_cooperative(page: WebPage = Depends(field_page)) -> WebResponse:
    if not policy.can_register_cooperative(page.user):
        raise Forbidden("Su rol no permite registrar cooperativas.")
    return render(page.request, "field/new_cooperative.html", _cooperative_form_context({"sectors": []}, {}))


def _parse_cooperative(form: FormData) -> tuple[dict[str, Any], dict[str, Any]]:
    """(values as typed, the body for CooperativeCreate)."""
    values: dict[str, Any] = {name: str(form.get(name) or "").strip() for name in COOPERATIVE_TEXT_FIELDS}
    values["sectors"] = [str(item) for item in form.getlist("sectors")]
    body: dict[str, Any] = {name: value for name, value in values.items() if value not in ("", [])}
    body.setdefault("sectors", [])
    return values, body


_FIELD_MESSAGES = {
    "missing": "Este dato es obligatorio.",
    "int_parsing": "Escriba un número entero, sin puntos.",
    "greater_than_equal": "Debe ser 0 o más.",
    "less_than_equal": "Es demasiado grande.",
    "string_too_short": "Escriba al menos 2 caracteres.",
    "string_too_long": "Es demasiado largo.",
    "enum": "Elija una de las opciones.",
}


@router.post("/terreno/cooperativas/nueva", response_class=HTMLResponse)
def create_cooperative(post: FormPost = Depends(field_post)) -> WebResponse:
    session = post.session
    values, body = _parse_cooperative(post.form)
    errors: dict[str, str] = {}
    existing = None  # the registered cooperative with this RUT, only when the user may see it
    try:
        data = CooperativeCreate.model_validate(body).model_dump()
    except ValidationError as error:
        for raw, detail in zip(error.errors(), validation_details(error.errors())):
            name = detail["field"].split(".")[0]
            message = _FIELD_MESSAGES.get(raw.get("type", "")) or _sentence(detail["message"])
            errors.setdefault(name, message)
    else:
        try:
            with UnitOfWork(session):
                cooperative = cooperatives.create_cooperative(
                    session=session, user=post.user, settings=post.settings, data=data
                )
        except ApiError as error:
            errors.update(_details_errors(error))
            if not error.details:
                errors["form"] = error.message
            if isinstance(error.extra.get("existing"), dict):
                existing = {"url": f"/terreno?q={error.extra['existing']['rut']}", "message": error.message}
        else:
            pending = "" if cooperative.approved else " Queda pendiente de aprobación por el equipo de análisis."
            return redirect(f"/terreno?q={cooperative.rut}", flash=f"Se registró «{cooperative.name}».{pending}")
    context = {**_cooperative_form_context(values, errors), "existing": existing}
    return render(post.request, "field/new_cooperative.html", context, status_code=422)
