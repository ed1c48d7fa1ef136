"""Stored reports: asking for them (in the caller's unit of work) and reading them.

``request_report`` is called by the services and importers wherever a response gets a snapshot
or a status its PDF shows: submitted (``responses.service.submit``, the spreadsheet and
ODK/Kobo importers), validated (``responses.service.validate``), rescored (a new revision,
``responses.rescoring.adopt``). It puts the response's ``StoredReport`` row back to ``queued``
in the same transaction and queues ``render_report`` once that commits; the previous file, if
any, is served until the new one is ready.

A response returned for correction has no report (only submitted and validated ones have):
its row is left as it is, a download answers 409 as for a draft, and the next submission asks
for a new PDF. A reopened response is a new draft revision; the old revision keeps its report.

Downloads (``app/reports/views.py``) and the round's ZIP read the files written by the task
(``app/reports/tasks.py``); the analyst's round page shows how far the round's reports are.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.auth import policy
from app.auth.models import User
from app.cooperatives.models import Cooperative
from app.db import utcnow
from app.errors import Forbidden, NotFound
from app.queue import enqueue, task_settings
from app.reports import service
from app.reports.models import ReportState, StoredReport
from app.reports.tasks import render_report, reports_dir
from app.responses.models import Response
from app.rounds.models import DiagnosisRound
from app.settings import Settings
from app.unit_of_work import after_commit

logger = logging.getLogger("coopdiag.reports")

PENDING_REASON = "el PDF se está preparando; vuelva a descargar el ZIP en unos minutos"


# --------------------------------------------------------------------------- asking


def request_report(session: Session, response_id: int, *, asked: bool = False) -> None:
    """Ask for the PDF of a response in the caller's unit of work (see the module)."""
    request_reports(session, [response_id], asked=asked)


def request_reports(session: Session, response_ids: Sequence[int], *, asked: bool = False) -> None:
    """``request_report`` for many responses at once (an import, a rescoring): one statement.

    ``asked``: someone waits for it (a download, a round's ZIP, the analyst's retry), so it is
    rendered whatever the settings; otherwise it is rendered ahead only when
    ``COOPDIAG_PRERENDER_REPORTS`` is on (the default; the tests turn it off, so that a test that
    sends a diagnosis does not pay for a PDF it never reads)."""
    ids = list(dict.fromkeys(response_ids))
    if not ids or not (asked or task_settings().prerender_reports):
        return  # not rendered ahead: the first download asks for it
    now = utcnow()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(StoredReport)
    # An upsert: two requests at once (a download and a submission) never collide.
    statement = statement.on_conflict_do_update(
        index_elements=[StoredReport.response_id],
        set_={"state": statement.excluded.state, "requested_at": statement.excluded.requested_at, "error": None},
    )
    session.execute(
        statement,
        [{"response_id": rid, "state": ReportState.QUEUED.value, "requested_at": now, "attempts": 0} for rid in ids],
    )

    def queue_them() -> None:
        for rid in ids:
            enqueue(render_report, rid)

    after_commit(session, queue_them)


def withdraw_report(session: Session, response_id: int, settings: Settings) -> None:
    """A response returned for correction has no report any more: its row goes, in the caller's
    unit of work, and its file once that commits, so that the PDF of the answers sent back is
    never served again (the next submission asks for a new one)."""
    row = session.scalar(select(StoredReport).where(StoredReport.response_id == response_id))
    if row is None:
        return
    file_name = row.file_name
    session.delete(row)
    if file_name:
        path = reports_dir(settings) / file_name

        def remove_file() -> None:
            try:
                path.unlink(missing_ok=True)
            except OSError:
                logger.warning("No se pudo borrar el informe retirado %s", path)

        after_commit(session, remove_file)


# --------------------------------------------------------------------------- reading


def last_file(row: StoredReport | None, settings: Settings) -> Path | None:
    """The last PDF stored for a response if it is on disk, whatever the row's state: a newer
    request (a validation) keeps serving the previous file until the new one is ready."""
    if row is None or not row.file_name:
        return None
    path = reports_dir(settings) / row.file_name
    return path if path.is_file() else None


@dataclass(frozen=True)
class Download:
    """What a download finds: the PDF's name and file, or not yet (``state``, ``error``)."""

    filename: str
    response_id: int
    path: Path | None
    state: str | None  # the row's state; None when never asked for
    error: str | None


def stored_row(session: Session, response_id: int) -> StoredReport | None:
    """The row as the database has it now (not as the session may remember it)."""
    return session.scalar(
        select(StoredReport).where(StoredReport.response_id == response_id).execution_options(populate_existing=True)
    )


def find_download(*, session: Session, user: User, settings: Settings, response_id: int) -> Download:
    """The stored PDF of a response ``user`` may see (404 otherwise; 409 for a response with no
    report: a draft, or returned for correction)."""
    response, cooperative = service.visible_response(
        session=session, user=user, settings=settings, response_id=response_id
    )
    service.require_submitted(response)
    round_ = session.get_one(DiagnosisRound, response.round_id)
    filename = service.report_filename(cooperative=cooperative, round_=round_, response=response)
    return recheck(session, settings, Download(filename, response.id, None, None, None))


def recheck(session: Session, settings: Settings, download: Download) -> Download:
    """``download`` with the row's current state and file."""
    row = stored_row(session, download.response_id)
    return Download(
        filename=download.filename,
        response_id=download.response_id,
        # A file is served even when a newer version is on its way (a validation changed the
        # status it shows): the PDF states its own date.
        path=last_file(row, settings),
        state=row.state if row is not None else None,
        error=row.error if row is not None else None,
    )


def needs_request(download: Download) -> bool:
    """Whether nothing will produce a file unless asked: never asked, failed, or ready but its
    file is gone (a cleaned folder, another server's disk)."""
    if download.path is not None:
        return False
    return download.state not in (ReportState.QUEUED.value, ReportState.RENDERING.value)


# --------------------------------------------------------------------------- a round


@dataclass(frozen=True)
class RoundReport:
    response_id: int
    filename: str
    cooperative: str
    state: str | None
    error: str | None
    path: Path | None

    @property
    def needs_request(self) -> bool:
        return self.path is None and self.state not in (ReportState.QUEUED.value, ReportState.RENDERING.value)


def round_reports(
    *, session: Session, user: User | None, settings: Settings, round_id: int
) -> tuple[DiagnosisRound, list[RoundReport]]:
    """Every report of the round (current submitted or validated revisions the user may see),
    with its stored state and file. Staff who may export only (``user`` None: the operator)."""
    if user is not None and not policy.can_export(user):
        raise Forbidden("Solo analistas y administradores descargan los informes de una ronda completa.")
    round_ = session.get(DiagnosisRound, round_id)
    if round_ is None:
        raise NotFound(f"No existe la ronda {round_id}.")
    statement = (
        select(Response, Cooperative, StoredReport)
        .join(Cooperative, Cooperative.id == Response.cooperative_id)
        .outerjoin(StoredReport, StoredReport.response_id == Response.id)
        .where(Response.round_id == round_id, Response.is_current.is_(True), Response.status.in_(service.STORED))
        .order_by(Cooperative.name, Response.id)
        .execution_options(populate_existing=True)
    )
    if user is not None:
        statement = statement.where(policy.cooperative_visibility(user, settings))
    items = [
        RoundReport(
            response_id=response.id,
            filename=service.report_filename(cooperative=cooperative, round_=round_, response=response),
            cooperative=service.cooperative_label(cooperative.name, cooperative.rut),
            state=row.state if row is not None else None,
            error=row.error if row is not None else None,
            path=last_file(row, settings),
        )
        for response, cooperative, row in session.execute(statement)
    ]
    return round_, items


def round_outcomes(items: Iterable[RoundReport]) -> Iterator[service.Rendered]:
    """Each report of the round for its ZIP: the stored PDF, read from disk one at a time; a
    failed one with its reason; any other as being prepared."""
    for item in items:
        if item.path is not None:
            try:
                content = item.path.read_bytes()
            except OSError:  # replaced by a newer file between the listing and now
                pass
            else:
                yield service.Rendered(item.filename, item.cooperative, content)
                continue
        if item.state == ReportState.FAILED.value:
            yield service.Rendered(item.filename, item.cooperative, None, item.error or "no se pudo generar el PDF")
        else:
            reason = PENDING_REASON
            if item.error:
                reason += f" (el intento anterior falló: {item.error})"
            yield service.Rendered(item.filename, item.cooperative, None, reason, pending=True)


@dataclass(frozen=True)
class RoundProgress:
    """How far the round's reports are, for the analyst's round page."""

    ready: int
    queued: int  # queued or rendering
    failed: int
    missing: int  # never asked for (submitted before reports were prepared on the queue)
    failures: list[tuple[int, str, str]]  # (response id, cooperative, reason), the first 50

    @property
    def total(self) -> int:
        return self.ready + self.queued + self.failed + self.missing

    @property
    def retryable(self) -> int:
        return self.failed + self.missing


def round_progress(*, session: Session, user: User, settings: Settings, round_id: int) -> RoundProgress:
    """Counts of the round's reports by state (current submitted or validated revisions the
    user may see), and why the failed ones failed."""
    current = (
        select(Response.id)
        .join(Cooperative, Cooperative.id == Response.cooperative_id)
        .where(
            Response.round_id == round_id,
            Response.is_current.is_(True),
            Response.status.in_(service.STORED),
            policy.cooperative_visibility(user, settings),
        )
        .subquery()
    )
    counts = dict(
        session.execute(
            select(StoredReport.state, func.count())
            .select_from(current)
            .outerjoin(StoredReport, StoredReport.response_id == current.c.id)
            .group_by(StoredReport.state)
        ).all()
    )
    failures = session.execute(
        select(StoredReport.response_id, Cooperative.name, Cooperative.rut, StoredReport.error)
        .join(current, current.c.id == StoredReport.response_id)
        .join(Response, Response.id == StoredReport.response_id)
        .join(Cooperative, Cooperative.id == Response.cooperative_id)
        .where(StoredReport.state == ReportState.FAILED.value)
        .order_by(Cooperative.name, StoredReport.response_id)
        .limit(50)
    ).all()
    return RoundProgress(
        ready=counts.get(ReportState.READY.value, 0),
        queued=counts.get(ReportState.QUEUED.value, 0) + counts.get(ReportState.RENDERING.value, 0),
        failed=counts.get(ReportState.FAILED.value, 0),
        missing=counts.get(None, 0),
        failures=[
            (rid, service.cooperative_label(name, rut), error or "sin detalle") for rid, name, rut, error in failures
        ],
    )


def retry_round(*, session: Session, user: User, settings: Settings, round_id: int) -> int:
    """Ask again for the round's failed reports and those never asked for, in the caller's unit
    of work; how many."""
    _, items = round_reports(session=session, user=user, settings=settings, round_id=round_id)
    ids = [item.response_id for item in items if item.state == ReportState.FAILED.value or item.state is None]
    request_reports(session, ids, asked=True)
    return len(ids)
