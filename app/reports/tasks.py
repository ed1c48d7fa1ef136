"""The stored PDF report of a response, rendered on the task queue (``app/queue.py``).

A report is asked for in the transaction that changes what its PDF shows (``request_report``
in ``app/reports/queueing.py``: the row ``queued``, the task queued once that commits). A worker
then runs ``render_report``:

1. claims the row (``rendering``, ``claimed_at``, one more attempt) by compare-and-set, so of
   two workers given the same report only one renders it;
2. gathers the report's content in a short read-only transaction and renders the PDF with no
   transaction open (0.4–1.7 s of CPU);
3. writes ``<content_key>.pdf`` in ``settings.reports_cache_dir`` atomically (a temporary file
   then ``os.replace``): no half-written PDF is ever visible under its final name;
4. marks the row ``ready`` only if it is still the claim it made (a newer request or a
   reclaim by the sweep wins over a slow worker).

A failure is recorded on the row (a short Spanish reason, the detail in the log) and raised
again so that huey retries it after 5, 10 and 20 s; after the last attempt the row is
``failed`` and its reason is shown on the analyst's round page. huey drops a task once a worker
takes it, so a worker killed mid-render loses it: ``requeue_pending`` (every minute, from
``app.tasks.sweep``) queues again the rows ``queued`` for more than a minute and those
``rendering`` whose claim is older than five minutes.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

import reports
from app.cooperatives.models import Cooperative
from app.db import session_scope, utcnow
from app.errors import ApiError
from app.queue import enqueue, huey, task_settings
from app.reports import service
from app.reports.models import ReportState, StoredReport
from app.responses.models import Response
from app.rounds.models import DiagnosisRound
from app.settings import PROJECT_ROOT, Settings

logger = logging.getLogger("coopdiag.reports")

RETRIES = 3  # after the first attempt: 4 in all, 5 + 10 + 20 s apart
STALE_QUEUED = timedelta(minutes=1)  # queued longer: the task was probably lost before a worker took it
STALE_RENDERING = timedelta(minutes=5)  # claimed longer: the worker died mid-render
STALE_TEMPORARY = timedelta(hours=1)  # a temporary file left by a worker killed while writing
TEMPORARY_SUFFIX = ".tmp"


def reports_dir(settings: Settings) -> Path:
    """Where the stored PDFs live: ``REPORTS_CACHE_DIR``, or ``var/informes`` when it is empty
    (a stored report needs a folder even with the cache of ``coopdiag report`` disabled)."""
    return settings.reports_cache_dir or PROJECT_ROOT / "var" / "informes"


@huey.task(retries=RETRIES, retry_delay=5, retry_backoff=2, context=True)
def render_report(response_id: int, task: Any = None) -> None:
    """The queue's task: render and store the report of one response (see the module)."""
    # Immediate mode (tests, scripts) has no worker to run a retry: each attempt is the last.
    final = task is None or not task.retries or huey.immediate
    outcome = render_stored_report(response_id, final=final)
    logger.info("Informe de la respuesta %s: %s", response_id, outcome)


@dataclass(frozen=True)
class Claim:
    attempt: int
    claimed_at: datetime


def render_stored_report(response_id: int, *, final: bool = True, settings: Settings | None = None) -> str:
    """Claim, render, store and mark ready the report of ``response_id``; what happened, in a
    word (``ready``, ``skipped``, ``taken``, ``failed``, ``retrying``). Raises after recording
    the error when ``final`` is false, so the queue tries again."""
    settings = settings or task_settings()
    claim = _claim(settings, response_id)
    if isinstance(claim, str):
        return claim
    try:
        with session_scope(settings.database_url) as session:  # read only: committed (ended) at once
            context = _context(session, settings, response_id)
        key = reports.cache_key(context)
        folder = reports_dir(settings)
        path = folder / f"{key}.pdf"
        if not path.is_file():  # the same content already stored (a worker that died before marking it)
            content = reports.render_pdf(context)  # no transaction open while the CPU works
            store_file(folder, path.name, content)
        _finish(settings, response_id, claim, key=key, file_name=path.name)
    except Exception as error:
        reason = error.message if isinstance(error, ApiError) else service.failure_reason(error)
        logger.error(
            "No se pudo generar el informe de la respuesta %s (intento %s%s)",
            response_id,
            claim.attempt,
            ", el último" if final else "",
            exc_info=True,
        )
        _fail(settings, response_id, claim, reason=reason, final=final)
        if not final:
            raise
        return "failed"
    return "ready"


def _claim(settings: Settings, response_id: int) -> Claim | str:
    """Take the row for this worker, or say why there is nothing to do."""
    with session_scope(settings.database_url) as session:
        row = session.scalar(select(StoredReport).where(StoredReport.response_id == response_id))
        if row is None:
            return "skipped"  # the request was rolled back (an import's refused row)
        now = utcnow()
        if row.state in (ReportState.READY.value, ReportState.FAILED.value):
            return "skipped"  # done already (a duplicate task), or waiting for someone to retry it
        if row.state == ReportState.RENDERING.value and row.claimed_at and row.claimed_at > now - STALE_RENDERING:
            return "taken"  # another worker is on it
        response = session.get(Response, response_id)
        eligible = response is not None and response.status in service.STORED and response.result_snapshot is not None
        if not eligible or (not response.is_current and row.file_name):
            # Returned for correction since (no report), or a revision replaced since that
            # keeps the report it has: nothing to render.
            if row.file_name:
                row.state, row.error = ReportState.READY.value, None
            else:
                session.delete(row)
            return "skipped"
        claimed = session.execute(
            update(StoredReport)
            .where(
                StoredReport.id == row.id,
                StoredReport.state == row.state,
                StoredReport.attempts == row.attempts,
            )
            .values(state=ReportState.RENDERING.value, claimed_at=now, attempts=row.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            return "taken"
        return Claim(attempt=row.attempts + 1, claimed_at=now)


def _context(session: Session, settings: Settings, response_id: int) -> reports.ReportContext:
    response = session.get_one(Response, response_id)
    context, _ = service.build_context(
        session=session,
        settings=settings,
        response=response,
        cooperative=session.get_one(Cooperative, response.cooperative_id),
        round_=session.get_one(DiagnosisRound, response.round_id),
        today=service.today_in_chile(),
    )
    return context


def _mine(response_id: int, claim: Claim) -> Any:
    """The row still as this worker claimed it (nobody asked again, nobody reclaimed it)."""
    return (
        StoredReport.response_id == response_id,
        StoredReport.state == ReportState.RENDERING.value,
        StoredReport.attempts == claim.attempt,
    )


def _finish(settings: Settings, response_id: int, claim: Claim, *, key: str, file_name: str) -> None:
    with session_scope(settings.database_url) as session:
        previous = session.scalar(select(StoredReport.file_name).where(StoredReport.response_id == response_id))
        done = session.execute(
            update(StoredReport)
            .where(*_mine(response_id, claim))
            .values(
                state=ReportState.READY.value,
                content_key=key,
                file_name=file_name,
                rendered_at=utcnow(),
                error=None,
            )
            .execution_options(synchronize_session=False)
        )
    if done.rowcount == 1 and previous and previous != file_name:
        # The superseded PDF: a download that read its name just before retries with the new one.
        try:
            (reports_dir(settings) / previous).unlink(missing_ok=True)
        except OSError:
            logger.warning("No se pudo borrar el informe reemplazado %s", previous)


def _fail(settings: Settings, response_id: int, claim: Claim, *, reason: str, final: bool) -> None:
    with session_scope(settings.database_url) as session:
        session.execute(
            update(StoredReport)
            .where(*_mine(response_id, claim))
            .values(
                # Not final: queued again (huey retries it in seconds; requested_at now keeps
                # the sweep from queueing it a second time meanwhile).
                state=ReportState.FAILED.value if final else ReportState.QUEUED.value,
                requested_at=utcnow(),
                error=reason[:1000],
            )
            .execution_options(synchronize_session=False)
        )


def store_file(folder: Path, name: str, content: bytes) -> Path:
    """Write ``folder/name`` atomically: a temporary file beside it, flushed to disk, then renamed
    over the final name. A reader sees the whole file or none; a writer killed midway leaves only
    a ``.tmp`` file (removed by the sweep after an hour)."""
    folder.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=TEMPORARY_SUFFIX)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            os.fchmod(handle.fileno(), 0o644)  # mkstemp's 0600 would hide it from a web server run as another user
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, folder / name)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return folder / name


# --------------------------------------------------------------------------- the sweep


def requeue_pending(*, now: datetime | None = None, settings: Settings | None = None) -> list[int]:
    """Queue again the reports whose task was lost: ``queued`` for more than a minute (the
    process died between the commit and the queueing, or the broker was down), ``rendering``
    with a claim older than five minutes (the worker was killed mid-render). Returns their
    response ids. Idempotent: a duplicate task finds the row taken or ready and does nothing."""
    settings = settings or task_settings()
    now = now or utcnow()
    with session_scope(settings.database_url) as session:
        stale = list(
            session.scalars(
                select(StoredReport.response_id)
                .where(
                    or_(
                        (StoredReport.state == ReportState.QUEUED.value)
                        & (StoredReport.requested_at < now - STALE_QUEUED),
                        (StoredReport.state == ReportState.RENDERING.value)
                        & (StoredReport.claimed_at < now - STALE_RENDERING),
                    )
                )
                .order_by(StoredReport.requested_at)
            )
        )
    for response_id in stale:
        enqueue(render_report, response_id)
    if stale:
        logger.warning("Barrido: %d informe(s) en cola de nuevo: %s", len(stale), stale[:20])
    _remove_stale_temporaries(reports_dir(settings))
    return stale


def _remove_stale_temporaries(folder: Path) -> None:
    limit = time.time() - STALE_TEMPORARY.total_seconds()
    try:
        for path in folder.glob(f".*{TEMPORARY_SUFFIX}"):
            if path.stat().st_mtime < limit:
                path.unlink(missing_ok=True)
    except OSError:
        pass
