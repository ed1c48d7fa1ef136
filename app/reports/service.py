"""Diagnostic reports: gather what a PDF needs from the database, render it with ``reports``
(cached on disk by the hash of its content) and stream a whole round as a ZIP.

A round's ZIP never breaks because of one cooperative: a report that cannot be gathered or
rendered is left out, logged, and named with its reason in ``LEEME.txt`` and ``manifiesto.csv``
at the end of the ZIP (written only when something was left out).

Authorization: one report is visible exactly like its response (``policy.can_view_response``,
as ``app.responses.service`` asks it); a whole round's reports need ``policy.can_export``.

The web and the API serve stored PDFs, rendered on the task queue (``app/reports/tasks.py``,
``app/reports/queueing.py``); ``report_pdf`` and the round's jobs below render in the calling
process, for the operator's commands (``coopdiag report``, ``coopdiag reports``).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
import os
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, undefer

import reports
import scoring
from app.auth import policy
from app.auth.models import User
from app.cooperatives.models import LEGAL_TYPE_LABELS, Cooperative
from app.cooperatives.sectors import sector_label
from app.downloads import cell_text
from app.errors import ApiError, Conflict, Forbidden, NotFound
from app.questionnaires.models import QuestionnaireVersion
from app.reports.peers import PeerRow, peer_groups, scores_of
from app.responses.models import MODE_LABELS, STATUS_LABELS, Response, ResponseStatus
from app.rounds.models import DiagnosisRound
from app.rounds.service import questionnaire_of_version
from app.settings import REGIONS, Settings
from reports.context import PreviousDiagnosis, ReportContext, ReportCooperative, ReportDiagnosis

CHILE = ZoneInfo("America/Santiago")
STORED = (ResponseStatus.SUBMITTED.value, ResponseStatus.VALIDATED.value)
README_NAME, MANIFEST_NAME = "LEEME.txt", "manifiesto.csv"

logger = logging.getLogger(__name__)


def today_in_chile() -> date:
    return datetime.now(CHILE).date()


@dataclass(frozen=True)
class ReportFile:
    filename: str
    content: bytes


@dataclass(frozen=True)
class RenderJob:
    """A report to render in another process: ``scoring.Questionnaire`` does not pickle (its
    compiled plan holds closures), so the job carries the questionnaire's source text and the
    worker parses it once per version."""

    filename: str
    questionnaire_source: str
    context: ReportContext  # with questionnaire=None while in transit

    @classmethod
    def of(cls, filename: str, context: ReportContext, source: str) -> RenderJob:
        return cls(filename, source, dataclasses.replace(context, questionnaire=None))  # type: ignore[arg-type]

    @property
    def cooperative(self) -> str:
        return cooperative_label(self.context.cooperative.name, self.context.cooperative.rut)

    def restored(self) -> ReportContext:
        return dataclasses.replace(self.context, questionnaire=_parsed(self.questionnaire_source))


@dataclass(frozen=True)
class FailedJob:
    """A report of the round that could not even be prepared: left out of the ZIP, with why."""

    filename: str
    cooperative: str
    reason: str


@dataclass(frozen=True)
class Rendered:
    """What became of one report of a round: its PDF, or None and why it was left out
    (``pending``: it is being prepared on the task queue, not failed)."""

    filename: str
    cooperative: str
    content: bytes | None
    reason: str = ""
    pending: bool = False


def cooperative_label(name: str, rut: str) -> str:
    return f"{name} (RUT {rut})"


@lru_cache(maxsize=8)
def _parsed(source: str) -> scoring.Questionnaire:
    return scoring.load_questionnaire(source)


# --------------------------------------------------------------------------- gathering


def slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:60] or "ronda"


def report_filename(*, cooperative: Cooperative, round_: DiagnosisRound, response: Response) -> str:
    """«diagnostico-<name>-<RUT>-<round>.pdf»: the name first, so a folder of a round's PDFs
    reads by cooperative; ASCII letters, digits and hyphens only (safe on every system and in a
    ZIP), the RUT keeps two cooperatives of the same name apart."""
    suffix = f"-rev{response.revision}" if response.revision > 1 else ""
    name = slug(cooperative.name)[:40].strip("-") or "cooperativa"
    return f"diagnostico-{name}-{cooperative.rut}-{slug(round_.name)}{suffix}.pdf"


def _report_cooperative(cooperative: Cooperative, settings: Settings) -> ReportCooperative:
    return ReportCooperative(
        name=cooperative.name,
        rut=cooperative.rut,
        legal_type=cooperative.legal_type,
        legal_type_label=LEGAL_TYPE_LABELS.get(cooperative.legal_type, cooperative.legal_type),
        region_code=cooperative.region_code,
        region_name=REGIONS.get(cooperative.region_code, str(cooperative.region_code)),
        macrozone=settings.macrozone_of(cooperative.region_code),
        comuna=cooperative.comuna,
        sectors=tuple(sector_label(code) for code in cooperative.sectors or []),
        daes_number=cooperative.daes_number,
        members_women=cooperative.members_women,
        members_men=cooperative.members_men,
        members_under_35=cooperative.members_under_35,
        founding_year=cooperative.founding_year,
    )


def round_peer_rows(*, session: Session, settings: Settings, round_id: int) -> list[PeerRow]:
    """Every cooperative's current stored result in the round (one query for all reports)."""
    rows = session.execute(
        select(Response.cooperative_id, Response.result_snapshot, Cooperative.region_code, Cooperative.sectors)
        .join(Cooperative, Cooperative.id == Response.cooperative_id)
        .where(Response.round_id == round_id, Response.is_current.is_(True), Response.status.in_(STORED))
    ).all()
    return [
        PeerRow(
            cooperative_id=cooperative_id,
            macrozone=settings.macrozone_of(region_code),
            sectors=tuple(sectors or ()),
            scores=scores_of(snapshot),
        )
        for cooperative_id, snapshot, region_code, sectors in rows
    ]


def previous_diagnosis(*, session: Session, response: Response, round_: DiagnosisRound) -> PreviousDiagnosis | None:
    """The cooperative's latest stored diagnosis in a round that opened before this one."""
    row = session.execute(
        select(Response, DiagnosisRound.name)
        .join(DiagnosisRound, DiagnosisRound.id == Response.round_id)
        .where(
            Response.cooperative_id == response.cooperative_id,
            Response.round_id != response.round_id,
            DiagnosisRound.opens_on < round_.opens_on,
            Response.is_current.is_(True),
            Response.status.in_(STORED),
            Response.result_snapshot.is_not(None),
        )
        .order_by(DiagnosisRound.opens_on.desc(), Response.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    earlier, round_name = row
    return PreviousDiagnosis(round_name=round_name, snapshot=earlier.result_snapshot, submitted_at=earlier.submitted_at)


def _names(session: Session, *user_ids: int | None) -> dict[int, str]:
    ids = {user_id for user_id in user_ids if user_id is not None}
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.full_name).where(User.id.in_(ids))).all())


def _snapshot_version(session: Session, response: Response) -> QuestionnaireVersion:
    version = session.scalar(
        select(QuestionnaireVersion)
        .options(undefer(QuestionnaireVersion.source))
        .where(QuestionnaireVersion.id == response.snapshot_questionnaire_version_id)
    )
    if version is None:
        raise NotFound("No se encontró la versión del cuestionario con que se calculó este diagnóstico.")
    return version


def build_context(
    *,
    session: Session,
    settings: Settings,
    response: Response,
    cooperative: Cooperative,
    round_: DiagnosisRound,
    today: date,
    peer_rows: list[PeerRow] | None = None,
) -> tuple[ReportContext, QuestionnaireVersion]:
    """The report's input for a submitted or validated response, from what was stored."""
    require_submitted(response)
    version = _snapshot_version(session, response)
    questionnaire = questionnaire_of_version(version)
    if peer_rows is None:
        peer_rows = round_peer_rows(session=session, settings=settings, round_id=round_.id)
    names = _names(session, response.submitted_by_id)
    context = ReportContext(
        cooperative=_report_cooperative(cooperative, settings),
        diagnosis=ReportDiagnosis(
            response_id=response.id,
            revision=response.revision,
            status=response.status,
            mode=response.mode,
            round_name=round_.name,
            status_label=STATUS_LABELS.get(response.status, response.status),
            mode_label=MODE_LABELS.get(response.mode, response.mode),
            submitted_at=response.submitted_at,
            submitted_by=names.get(response.submitted_by_id) if response.submitted_by_id else None,
            validated_at=response.validated_at,
            interviewer_name=response.interviewer_name,
            institution=response.institution,
            interview_date=response.interview_date,
            interview_place=response.interview_place,
            interviewee_role=response.interviewee_role,
        ),
        questionnaire=questionnaire,
        snapshot=response.result_snapshot,
        answers=dict(response.answers or {}),
        generated_on=today,
        peers=peer_groups(
            rows=peer_rows,
            cooperative_id=cooperative.id,
            macrozone=settings.macrozone_of(cooperative.region_code),
            sectors=list(cooperative.sectors or []),
            keys=["overall", *(d.id for d in questionnaire.dimensions)],
            sector_label=sector_label,
        ),
        previous=previous_diagnosis(session=session, response=response, round_=round_),
    )
    return context, version


# --------------------------------------------------------------------------- rendering


def render_cached(context: ReportContext, *, cache_dir: Path | None) -> bytes:
    """The PDF of a context; identical content is rendered once (file named by its hash)."""
    if cache_dir is None:
        return reports.render_pdf(context)
    path = cache_dir / f"{reports.cache_key(context)}.pdf"
    try:
        return path.read_bytes()
    except OSError:
        pass
    content = reports.render_pdf(context)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a concurrent reader never sees half a file.
        fd, temporary = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.replace(temporary, path)
    except OSError:
        pass  # a cache that cannot be written only costs time
    return content


def report_pdf(
    *, session: Session, user: User | None, settings: Settings, response_id: int, today: date | None = None
) -> ReportFile:
    """The PDF of one response, for anyone who may see the response (``user`` None: the
    operator at the command line, ``coopdiag report``)."""
    response, cooperative = visible_response(session=session, user=user, settings=settings, response_id=response_id)
    round_ = session.get_one(DiagnosisRound, response.round_id)
    context, _ = build_context(
        session=session,
        settings=settings,
        response=response,
        cooperative=cooperative,
        round_=round_,
        today=today or today_in_chile(),
    )
    return ReportFile(
        filename=report_filename(cooperative=cooperative, round_=round_, response=response),
        content=render_cached(context, cache_dir=settings.reports_cache_dir),
    )


def visible_response(
    *, session: Session, user: User | None, settings: Settings, response_id: int
) -> tuple[Response, Cooperative]:
    """The response and its cooperative if ``user`` may see the response (``user`` None: the
    operator at the command line), else 404 as ``app.responses.service`` answers."""
    response = session.get(Response, response_id)
    cooperative = session.get(Cooperative, response.cooperative_id) if response is not None else None
    if response is None or cooperative is None:
        raise NotFound(
            f"No existe la respuesta {response_id}."
            if user is None
            else f"No existe la respuesta {response_id} o no tiene acceso a ella."
        )
    if user is not None and not policy.can_view_response(user, response, cooperative, settings):
        raise NotFound(f"No existe la respuesta {response_id} o no tiene acceso a ella.")
    return response, cooperative


def require_submitted(response: Response) -> None:
    """A report exists only for a submitted or validated response (what ``build_context`` checks)."""
    if response.status not in STORED or response.result_snapshot is None:
        raise Conflict(
            "El informe PDF está disponible cuando el diagnóstico ha sido enviado; este aún es un borrador.",
            code="not_submitted",
        )


def round_jobs(
    *, session: Session, user: User | None, settings: Settings, round_id: int, today: date | None = None
) -> tuple[DiagnosisRound, list[RenderJob | FailedJob]]:
    """Every submitted or validated response of a round (current revisions), ready to render.

    ``user`` None is the operator at the command line (``coopdiag reports``), who already holds
    the database credentials; through the web and the API only staff who may export get here."""
    if user is not None and not policy.can_export(user):
        raise Forbidden("Solo analistas y administradores descargan los informes de una ronda completa.")
    round_ = session.get(DiagnosisRound, round_id)
    if round_ is None:
        raise NotFound(f"No existe la ronda {round_id}.")
    today = today or today_in_chile()
    peer_rows = round_peer_rows(session=session, settings=settings, round_id=round_id)
    statement = (
        select(Response, Cooperative)
        .join(Cooperative, Cooperative.id == Response.cooperative_id)
        .where(Response.round_id == round_id, Response.is_current.is_(True), Response.status.in_(STORED))
        .order_by(Cooperative.name, Response.id)
    )
    if user is not None:
        statement = statement.where(policy.cooperative_visibility(user, settings))
    pairs = session.execute(statement).all()
    jobs: list[RenderJob | FailedJob] = []
    for response, cooperative in pairs:
        filename = report_filename(cooperative=cooperative, round_=round_, response=response)
        try:
            context, version = build_context(
                session=session,
                settings=settings,
                response=response,
                cooperative=cooperative,
                round_=round_,
                today=today,
                peer_rows=peer_rows,
            )
        except SQLAlchemyError:
            raise  # the database, not one response: nothing to stream
        except Exception as error:  # noqa: BLE001 - one response's data: left out, the others go on
            logger.warning("Informe %s (respuesta %s) omitido: %s", filename, response.id, error)
            reason = error.message if isinstance(error, ApiError) else failure_reason(error)
            jobs.append(FailedJob(filename, cooperative_label(cooperative.name, cooperative.rut), reason))
            continue
        jobs.append(RenderJob.of(filename, context, version.source))
    return round_, jobs


def render_job(job: RenderJob, cache_dir: Path | None) -> tuple[str, bytes]:
    """Top-level so a process pool can run it."""
    return job.filename, render_cached(job.restored(), cache_dir=cache_dir)


def failure_reason(error: BaseException) -> str:
    """Why a report was left out, for the people who downloaded the round (the details are in
    the server's log, not in their ZIP)."""
    return f"no se pudo generar el PDF (error interno {type(error).__name__}; el detalle quedó en el registro del servidor)"


def render_outcome(job: RenderJob | FailedJob, cache_dir: Path | None) -> Rendered:
    """``render_job`` that never raises: a report that fails is logged and left out, with its
    reason. Top-level so a process pool can run it."""
    if isinstance(job, FailedJob):
        return Rendered(job.filename, job.cooperative, None, job.reason)
    try:
        _, content = render_job(job, cache_dir)
    except Exception as error:  # one cooperative's report must not break the round's
        logger.exception("No se pudo generar el informe %s (%s)", job.filename, job.cooperative)
        return Rendered(job.filename, job.cooperative, None, failure_reason(error))
    return Rendered(job.filename, job.cooperative, content)


INCLUDED, OMITTED, PENDING = "incluido", "omitido", "en preparación"


def round_files(outcomes: Iterable[Rendered], *, round_name: str) -> Iterator[tuple[str, bytes]]:
    """The PDFs of a round's reports as (name, content), one at a time; then, when any report
    was left out, ``LEEME.txt`` (what is missing and why: failed, or still being prepared on the
    task queue) and ``manifiesto.csv`` (every report, included or not). Only names and reasons
    are kept in memory, never the PDFs."""
    listed: list[tuple[str, str, str, str]] = []  # (file, cooperative, state, reason)
    for outcome in outcomes:
        if outcome.content is not None:
            listed.append((outcome.filename, outcome.cooperative, INCLUDED, ""))
            yield outcome.filename, outcome.content
        else:
            state = PENDING if outcome.pending else OMITTED
            listed.append((outcome.filename, outcome.cooperative, state, outcome.reason))
    skipped = [(name, cooperative, reason) for name, cooperative, state, reason in listed if state == OMITTED]
    pending = [(name, cooperative, reason) for name, cooperative, state, reason in listed if state == PENDING]
    if not skipped and not pending:
        return
    if skipped:
        logger.warning(
            "ZIP de la ronda «%s»: %d de %d informes omitidos (%s)",
            round_name,
            len(skipped),
            len(listed),
            ", ".join(name for name, _, _ in skipped),
        )
    included = len(listed) - len(skipped) - len(pending)
    readme = _readme(round_name, included=included, skipped=skipped, pending=pending)
    yield README_NAME, readme.encode("utf-8", "replace")
    yield MANIFEST_NAME, _manifest(listed)


def _readme(
    round_name: str,
    *,
    included: int,
    skipped: list[tuple[str, str, str]],
    pending: list[tuple[str, str, str]],
) -> str:
    lines = [
        f"Informes de la ronda «{round_name}»",
        "",
        f"Se incluye {included} informe PDF." if included == 1 else f"Se incluyen {included} informes PDF.",
    ]
    if skipped:
        plural = len(skipped) != 1
        lines[-1] += (
            (f" {len(skipped)} informes no se pudieron generar" if plural else " 1 informe no se pudo generar")
            + " y se omiti"
            + ("eron:" if plural else "ó:")
        )
        lines += ["", *(f"- {name}, de {cooperative}: {reason}." for name, cooperative, reason in skipped)]
    if pending:
        plural = len(pending) != 1
        lines += [
            "",
            (f"{len(pending)} informes se están preparando" if plural else "1 informe se está preparando")
            + " y no se incluye"
            + ("n" if plural else "")
            + " todavía:",
            "",
            *(f"- {name}, de {cooperative}: {reason}." for name, cooperative, reason in pending),
        ]
    lines += [
        "",
        f"{MANIFEST_NAME} lista todos los informes de la ronda: incluidos, en preparación y omitidos. Vuelva a "
        "descargar el ZIP en unos minutos"
        + ("; si un informe sigue omitido, avise al equipo técnico (el error quedó registrado)." if skipped else "."),
        "",
    ]
    return "\r\n".join(lines)


def _manifest(listed: list[tuple[str, str, str, str]]) -> bytes:
    """Every report of the round: file, cooperative, «incluido», «en preparación» or «omitido»,
    and why (CSV for a spreadsheet set to Spanish: a byte order mark and ``;``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(["archivo", "cooperativa", "estado", "motivo"])
    for row in listed:
        writer.writerow([cell_text(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


# --------------------------------------------------------------------------- ZIP streaming


class _Pipe:
    """A write-only, unseekable sink: zipfile then writes data descriptors and never seeks,
    and what it wrote so far can be handed to the client and dropped."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def zip_stream(files: Iterable[tuple[str, bytes]]) -> Iterator[bytes]:
    """A ZIP of (name, content) pairs, produced file by file: memory holds one file at a time."""
    pipe = _Pipe()
    # PDFs are already compressed: storing them is as small and much faster.
    with zipfile.ZipFile(pipe, mode="w", compression=zipfile.ZIP_STORED) as archive:  # type: ignore[arg-type]
        for name, content in files:
            archive.writestr(name, content)
            yield pipe.drain()
    yield pipe.drain()
