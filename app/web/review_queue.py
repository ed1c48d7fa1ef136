"""The analyst's review queue, ``/analisis/revision``: the responses waiting for a decision
(sent, by default), filtered by status, round, macrozone and mode, oldest first, each with its
status beside its light and the data-quality flags the analyst checks first (many «No sé»
answers, consistency warnings stored with the result). The review page of a response opened
from the queue offers the previous and the next one of the same queue (``neighbours``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.auth import policy
from app.auth.models import User
from app.cooperatives.models import Cooperative
from app.cooperatives.schemas import format_rut
from app.pagination import MAX_PAGE
from app.responses.models import MODE_LABELS, STATUS_LABELS, ResponseStatus
from app.responses.models import Response as DiagnosisResponse
from app.rounds.models import DiagnosisRound
from app.settings import Settings
from app.user_input import parse_id, parse_int
from app.web.deps import WebPage, staff_page
from app.web.render import render
from reports import view

router = APIRouter(include_in_schema=False)

QUEUE_PATH = "/analisis/revision"
PER_PAGE = 50
#: Share of «No sé» answers from which the queue flags a response (the result pages' note).
MANY_NS = 0.10
#: Statuses the queue can show; «sent» (waiting for a decision) by default.
QUEUE_STATUSES = (
    ResponseStatus.SUBMITTED.value,
    ResponseStatus.RETURNED.value,
    ResponseStatus.VALIDATED.value,
    ResponseStatus.DRAFT.value,
)
ORDERS = {"antiguas": "Más antiguas primero", "recientes": "Más recientes primero"}


@dataclass(frozen=True)
class QueueFilters:
    status: str = ResponseStatus.SUBMITTED.value
    round_id: int | None = None
    macrozone: str | None = None
    mode: str | None = None
    order: str = "antiguas"

    @classmethod
    def of(cls, query: Any, settings: Settings) -> QueueFilters:
        """The filters of a query string; unknown values fall back to the defaults."""
        status = str(query.get("estado") or "")
        macrozone = str(query.get("macrozona") or "")
        mode = str(query.get("modo") or "")
        order = str(query.get("orden") or "")
        return cls(
            status=status if status in QUEUE_STATUSES else ResponseStatus.SUBMITTED.value,
            round_id=parse_id(query.get("ronda")),
            macrozone=macrozone if macrozone in settings.macrozones else None,
            mode=mode if mode in MODE_LABELS else None,
            order=order if order in ORDERS else "antiguas",
        )

    def query(self) -> dict[str, str]:
        """The filters as a query string's values (defaults left out)."""
        values = {
            "estado": self.status if self.status != ResponseStatus.SUBMITTED.value else "",
            "ronda": str(self.round_id or ""),
            "macrozona": self.macrozone or "",
            "modo": self.mode or "",
            "orden": self.order if self.order != "antiguas" else "",
        }
        return {key: value for key, value in values.items() if value}


def _age_column():
    """When the response reached its status: sent, validated or last changed."""
    return func.coalesce(DiagnosisResponse.validated_at, DiagnosisResponse.submitted_at, DiagnosisResponse.updated_at)


def queue_statement(user: User, settings: Settings, filters: QueueFilters) -> Select:
    """The queue's rows: (response, cooperative, round, when it reached its status)."""
    when = _age_column()
    statement = (
        select(DiagnosisResponse, Cooperative, DiagnosisRound, when.label("when"))
        .join(Cooperative, Cooperative.id == DiagnosisResponse.cooperative_id)
        .join(DiagnosisRound, DiagnosisRound.id == DiagnosisResponse.round_id)
        .where(
            DiagnosisResponse.is_current.is_(True),
            DiagnosisResponse.status == filters.status,
            policy.cooperative_visibility(user, settings),
        )
    )
    if filters.round_id is not None:
        statement = statement.where(DiagnosisResponse.round_id == filters.round_id)
    if filters.macrozone is not None:
        statement = statement.where(Cooperative.region_code.in_(settings.macrozones[filters.macrozone]))
    if filters.mode is not None:
        statement = statement.where(DiagnosisResponse.mode == filters.mode)
    ordering = when.asc() if filters.order == "antiguas" else when.desc()
    return statement.order_by(ordering, DiagnosisResponse.id)


def _age_words(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "—"
    days = (now - moment).days
    if days <= 0:
        return "hoy"
    if days == 1:
        return "hace 1 día"
    return f"hace {days} días"


def queue_item(
    response: DiagnosisResponse,
    cooperative: Cooperative,
    round_: DiagnosisRound,
    moment: datetime | None,
    now: datetime,
) -> dict:
    """One row of the queue; ``moment`` is the row's ``_age_column`` (``queue_statement``)."""
    snapshot = (
        response.result_snapshot
        if response.status
        in (
            ResponseStatus.SUBMITTED.value,
            ResponseStatus.VALIDATED.value,
        )
        else None
    )
    ns = view.ns_share(snapshot) if snapshot else None
    warnings = len((snapshot or {}).get("consistency_warnings") or [])
    return {
        "id": response.id,
        "cooperative": cooperative.name,
        "rut": format_rut(cooperative.rut),
        "round": round_.name,
        "mode": MODE_LABELS.get(response.mode, response.mode),
        "status": STATUS_LABELS.get(response.status, response.status),
        "light": ((snapshot or {}).get("overall") or {}).get("light"),
        "when": moment,
        "age": _age_words(moment, now),
        "ns_share": ns,
        "many_ns": ns is not None and ns > MANY_NS,
        "warnings": warnings,
    }


def neighbours(
    *, session: Session, user: User, settings: Settings, queue: str, response_id: int
) -> dict[str, Any] | None:
    """Previous and next response of the queue ``queue`` (its query string) around
    ``response_id``, with the queue's link; None when the response is not in that queue."""
    filters = QueueFilters.of(dict(parse_qsl(queue)), settings)
    ids = list(session.scalars(queue_statement(user, settings, filters).with_only_columns(DiagnosisResponse.id)))
    if response_id not in ids:
        return None
    index = ids.index(response_id)
    query = urlencode(filters.query())
    return {
        "previous": ids[index - 1] if index > 0 else None,
        "next": ids[index + 1] if index + 1 < len(ids) else None,
        "position": index + 1,
        "total": len(ids),
        "queue_url": QUEUE_PATH + (f"?{query}" if query else ""),
        "cola": query,
    }


@router.get(QUEUE_PATH, response_class=HTMLResponse)
def review_queue(page: WebPage = Depends(staff_page)) -> Response:
    session, user, settings = page.session, page.user, page.settings
    filters = QueueFilters.of(page.request.query_params, settings)
    number = parse_int(page.request.query_params.get("pagina", "1"), minimum=1, maximum=MAX_PAGE) or 1
    statement = queue_statement(user, settings, filters)
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
    rows = session.execute(statement.limit(PER_PAGE).offset((number - 1) * PER_PAGE)).all()
    now = datetime.now(timezone.utc)
    items = [queue_item(response, cooperative, round_, when, now) for response, cooperative, round_, when in rows]
    query = filters.query()
    pages = max(1, -(-total // PER_PAGE))
    return render(
        page.request,
        "analyst/queue.html",
        {
            "items": items,
            "total": total,
            "filters": filters,
            "cola": urlencode(query),
            "statuses": [(status, STATUS_LABELS[status]) for status in QUEUE_STATUSES],
            "rounds": list(session.scalars(select(DiagnosisRound).order_by(DiagnosisRound.opens_on.desc()))),
            "macrozones": list(settings.macrozones),
            "modes": list(MODE_LABELS.items()),
            "orders": list(ORDERS.items()),
            "page": number,
            "pages": pages,
            "page_url": lambda n: QUEUE_PATH + "?" + urlencode({**query, "pagina": n}),
            "many_ns": MANY_NS,
        },
    )
