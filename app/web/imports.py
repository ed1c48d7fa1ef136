"""Web pages: file uploads (issue 6), for the people who live in spreadsheets and ODK.

- ``/terreno/planillas``: for each open round, the interview template (XLSX) and the
  questionnaire's XLSForm to download; and the upload of a filled template or of an ODK
  Central / KoboToolbox export (``/terreno/planillas/importar``). Field teams, analysts and
  administrators (``policy.can_use_interview_spreadsheets``; which cooperatives a row may
  name is ``policy.can_import_interview``, checked by the importers).
- ``/analisis/registro/importar``: the cooperative registry (``policy.can_import_registry``).

Each upload is either a preview («Revisar sin guardar», writes nothing) or an import
(«Importar», all or nothing), answered with the report in words: counts, rows, and every
problem with its row, column, value and reason. The services are the API's own
(app/exchange/registry_import.py, interviews.py, odk_import.py).

The file is not kept between the preview and the import: a browser cannot refill a file
input, and keeping uploads on the server would need storage shared by every worker and its
clean-up. So the page says so and asks for the same file again, which costs one click.

Upload paths end in ``/importar`` so that app.limits lets a file of up to
``tabular.MAX_UPLOAD_BYTES`` through; a larger file gets the API's own message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from app.auth import policy
from app.auth.models import User
from app.cooperatives.schemas import format_rut
from app.errors import ApiError, Forbidden
from app.exchange import interviews, odk_import, registry_import
from app.exchange.import_views import _too_large
from app.exchange.odk_import import InterviewDefaults, Source
from app.exchange.tabular import MAX_UPLOAD_BYTES
from app.http_errors import status_of
from app.questionnaires.models import QuestionnaireVersion
from app.responses.models import STATUS_LABELS
from app.rounds.models import DiagnosisRound
from app.unit_of_work import UnitOfWork
from app.web.deps import FormPost, WebPage, guarded
from app.web.field import _open_rounds
from app.web.render import numero, render

router = APIRouter(include_in_schema=False)

FIELD_PAGE = "/terreno/planillas"
FIELD_UPLOAD = "/terreno/planillas/importar"
REGISTRY_PAGE = "/analisis/registro/importar"

TEMPLATE, EXPORT = "planilla", "odk"
KINDS = {
    TEMPLATE: "Planilla de entrevistas de coopdiag (.xlsx)",
    EXPORT: "Exportación de envíos de ODK Central o KoboToolbox (.csv, .xlsx o .json)",
}
#: What the file inputs offer (the importers check the real content anyway).
ACCEPT = {"interviews": ".xlsx,.xlsm,.csv,.json", "registry": ".csv,.txt,.xlsx,.xlsm"}
#: The longest lists a page shows; the counts always cover everything.
MAX_SHOWN = 500
MAX_MB = MAX_UPLOAD_BYTES // (1024 * 1024)


# --------------------------------------------------------------------------- words


def count(number: int, one: str, many: str) -> str:
    """«1 entrevista», «1.250 entrevistas»."""
    return f"{numero(number)} {one if number == 1 else many}"


def _join(parts: list[str]) -> str:
    parts = [part for part in parts if part]
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " y " + parts[-1]


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".") if text else text


@dataclass
class Problem:
    row: int | None
    column: str | None
    value: str | None
    reason: str


def _problems(details: list[dict[str, Any]]) -> list[Problem]:
    """The API's error details (each importer's ``Problem.as_detail``) as the page lists them."""
    return [
        Problem(
            row=detail.get("row"),
            column=detail.get("column"),
            value=detail.get("value"),
            reason=_sentence(str(detail.get("message") or "")),
        )
        for detail in details
    ]


@dataclass
class Outcome:
    """What a page shows of an upload: the report in words, or why the file was refused."""

    dry_run: bool
    filename: str
    tone: str = "info"  # info | success | warning | error (the notice's colour, with words)
    headline: str = ""
    lines: list[str] = field(default_factory=list)
    counts: list[tuple[str, int]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sections: list[dict[str, Any]] = field(default_factory=list)  # lists of rows, by what happens to them
    reupload: bool = False  # a clean preview: choose the same file again to import it

    @property
    def title(self) -> str:
        return "Resultado de la revisión" if self.dry_run else "Resultado de la importación"

    @property
    def reupload_note(self) -> str:
        return REUPLOAD_NOTE

    @property
    def shown_problems(self) -> list[Problem]:
        return self.problems[:MAX_SHOWN]


def _unreadable(error: ApiError, *, dry_run: bool, filename: str) -> Outcome:
    """The file itself was refused (kind, size, encoding, columns…): the API's message."""
    problems = [p for p in _problems(error.details) if p.row is not None or p.column not in (None, "archivo")]
    return Outcome(
        dry_run=dry_run,
        filename=filename,
        tone="error",
        headline=_sentence(error.message),
        lines=["No se importó nada. Corrija el archivo y vuelva a subirlo."],
        problems=problems,
    )


def _problem_lines(problems: int, rows: int, *, dry_run: bool) -> tuple[str, list[str]]:
    found = f"{count(problems, 'problema', 'problemas')} en {count(rows, 'fila', 'filas')}"
    if dry_run:
        return (
            f"La revisión encontró {found}.",
            [
                "Si importa el archivo así, no se importará ninguna fila: todo o nada. Corrija los problemas de "
                "la lista y vuelva a revisarlo."
            ],
        )
    return (
        f"No se importó ninguna fila; corrija {'el problema' if problems == 1 else f'los {numero(problems)} problemas'} "
        "de la lista y vuelva a subir el archivo completo.",
        [f"El archivo tiene {found}. La importación es todo o nada: no se guardó ningún cambio."],
    )


REUPLOAD_NOTE = (
    "Para importarlo, elija de nuevo el mismo archivo en el formulario y pulse «Importar». El navegador no puede "
    "conservar un archivo elegido de una página a otra, y coopdiag no guarda archivos sin importar."
)


# --------------------------------------------------------------------------- interviews


def _shown_rut(value: str | None) -> str | None:
    """A RUT as people write it; a cell that is not a RUT stays as it was typed."""
    try:
        return format_rut(value) if value else value
    except ValueError:
        return value


def _interview_counts(report: dict[str, Any], kind: str) -> dict[str, int]:
    """New, submitted, drafts, already imported, skipped and refused rows, from either report."""
    summary = report["summary"]
    if kind == EXPORT:
        return {
            "new": summary["created"] + summary["to_create"],
            "submitted": summary["submitted"],
            "drafts": summary["drafts"],
            "already": summary["already_imported"],
            "skipped": summary["skipped"],
            "refused": summary["refused"],
            "rows": summary["rows"],
            "problems": summary["problems"],
        }
    submitted = sum(1 for row in report["created"] if row.get("status") == "submitted")
    return {
        "new": summary["created"],
        "submitted": submitted,
        "drafts": summary["created"] - submitted,
        "already": summary["unchanged"],
        "skipped": 0,
        "refused": summary["refused"],
        "rows": summary["rows"],
        "problems": summary["problems"],
    }


def _interview_rows(report: dict[str, Any], kind: str, *, dry_run: bool) -> list[dict[str, Any]]:
    """One line per row of the file: row, interview key, cooperative, what happens to it."""
    created = "se crearía" if dry_run else "creada"
    rows = []
    if kind == EXPORT:
        for row in report["rows"]:
            outcome = row["outcome"]
            if outcome in ("created", "to_create"):
                what = f"{created}, {STATUS_LABELS.get(row['status'], '')}"
            else:
                what = row["outcome_es"]
            rows.append(
                {
                    "row": row["row"],
                    "key": row["key"],
                    "name": row["cooperative_name"],
                    "rut": _shown_rut(row["rut"]),
                    "what": what,
                    "refused": outcome == "refused",
                    "response_id": row["response_id"],
                }
            )
    else:
        for action in ("created", "unchanged", "refused"):
            for row in report[action]:
                what = {
                    "created": f"{created}, {STATUS_LABELS.get(row.get('status'), '')}",
                    "unchanged": "ya importada",
                    "refused": "con problemas",
                }[action]
                rows.append(
                    {
                        "row": row["row"],
                        "key": row.get("clave_entrevista"),
                        "name": row.get("name"),
                        "rut": row.get("rut"),
                        "what": what,
                        "refused": action == "refused",
                        "response_id": row.get("response_id") if action != "refused" else None,
                    }
                )
        rows.sort(key=lambda item: item["row"])
    return rows


def interview_outcome(report: dict[str, Any], kind: str, *, filename: str) -> Outcome:
    """A template or ODK/Kobo import report (the API's JSON) in words."""
    dry_run = report["dry_run"]
    numbers = _interview_counts(report, kind)
    problems = _problems(report["problems"])
    outcome = Outcome(dry_run=dry_run, filename=filename, problems=problems)
    new = numbers["new"]
    split = _join(
        [
            count(numbers["submitted"], "enviada", "enviadas") if numbers["submitted"] else "",
            count(numbers["drafts"], "como borrador", "como borrador") if numbers["drafts"] else "",
        ]
    )
    split = f" ({split})" if split and new else ""
    already = numbers["already"]
    already_line = (
        f"{count(already, 'fila ya estaba importada', 'filas ya estaban importadas')} (misma clave y "
        "mismos datos): no se crea de nuevo."
        if already
        else ""
    )
    skipped_line = (
        f"{count(numbers['skipped'], 'envío omitido', 'envíos omitidos')}: "
        f"{'fue rechazado' if numbers['skipped'] == 1 else 'fueron rechazados'} en ODK Central o "
        "KoboToolbox."
        if numbers["skipped"]
        else ""
    )
    if problems:
        rows_with_problems = len({p.row for p in problems if p.row is not None}) or numbers["refused"]
        outcome.tone = "warning" if dry_run else "error"
        outcome.headline, outcome.lines = _problem_lines(len(problems), rows_with_problems, dry_run=dry_run)
        if new:
            outcome.lines.append(
                f"Sin esos problemas, se {'crearía' if new == 1 else 'crearían'} "
                f"{count(new, 'entrevista', 'entrevistas')}{split}."
            )
    elif dry_run:
        outcome.tone = "success" if new else "info"
        if new:
            outcome.headline = (
                f"El archivo está listo: al importarlo se {'creará' if new == 1 else 'crearán'} "
                f"{count(new, 'entrevista', 'entrevistas')}{split}. No se guardó nada todavía."
            )
            outcome.reupload = True
        else:
            outcome.headline = "El archivo no trae entrevistas nuevas: importarlo no cambiaría nada."
    elif new:
        outcome.tone = "success"
        outcome.headline = (
            f"Importación terminada: se {'creó' if new == 1 else 'crearon'} "
            f"{count(new, 'entrevista', 'entrevistas')}{split}."
        )
    else:
        outcome.headline = "No había entrevistas nuevas: no se creó ninguna."
    outcome.lines += [line for line in (already_line, skipped_line) if line]
    outcome.warnings = list(report.get("warnings") or [])
    outcome.counts = [
        ("Filas", numbers["rows"]),
        ("Se crearían" if dry_run else "Creadas", new),
        ("Enviadas", numbers["submitted"]),
        ("Borradores", numbers["drafts"]),
        ("Ya importadas", already),
    ]
    if numbers["skipped"]:
        outcome.counts.append(("Omitidas", numbers["skipped"]))
    outcome.counts.append(("Filas con problemas", numbers["refused"]))
    rows = _interview_rows(report, kind, dry_run=dry_run)
    outcome.sections = (
        [
            {
                "kind": "interviews",
                "title": "Filas del archivo",
                "rows": rows[:MAX_SHOWN],
                "more": max(0, len(rows) - MAX_SHOWN),
            }
        ]
        if rows
        else []
    )
    return outcome


# --------------------------------------------------------------------------- registry


REGISTRY_TITLES = {
    "created": ("Cooperativas nuevas", "Se registrarían", "Se registraron"),
    "changed": ("Cooperativas con cambios", "Se cambiarían", "Se cambiaron"),
    "unchanged": ("Sin cambios", "Ya están al día", "Ya estaban al día"),
    "refused": ("Filas rechazadas", "Con problemas", "Con problemas"),
}


def registry_outcome(report: dict[str, Any], *, filename: str) -> Outcome:
    """A registry import report (the API's JSON) in words."""
    dry_run = report["dry_run"]
    summary = report["summary"]
    problems = _problems(report["problems"])
    outcome = Outcome(dry_run=dry_run, filename=filename, problems=problems)
    created, changed, unchanged = summary["created"], summary["changed"], summary["unchanged"]
    effect = _join(
        [
            count(created, "cooperativa nueva", "cooperativas nuevas") if created else "",
            f"{count(changed, 'cooperativa', 'cooperativas')} con cambios" if changed else "",
        ]
    )
    if problems:
        outcome.tone = "warning" if dry_run else "error"
        outcome.headline, outcome.lines = _problem_lines(len(problems), summary["refused"], dry_run=dry_run)
        if effect:
            outcome.lines.append(f"Sin esos problemas, el registro tendría {effect}.")
    elif dry_run:
        if effect:
            outcome.tone = "success"
            outcome.headline = (
                f"El archivo está listo: al importarlo, el registro tendrá {effect}. No se guardó nada todavía."
            )
            outcome.reupload = True
        else:
            outcome.headline = "El registro ya tiene todos estos datos: importar el archivo no cambiaría nada."
    elif effect:
        outcome.tone = "success"
        outcome.headline = f"Importación terminada: el registro tiene {effect}."
    else:
        outcome.headline = "El registro ya tenía todos estos datos: no se cambió nada."
    if unchanged and (effect or problems):
        outcome.lines.append(
            f"{count(unchanged, 'fila coincide', 'filas coinciden')} con el registro y no "
            f"{'cambia' if unchanged == 1 else 'cambian'} nada."
        )
    column = 1 if dry_run else 2
    outcome.counts = [("Filas", summary["rows"])] + [
        (REGISTRY_TITLES[action][column], summary[action]) for action in ("created", "changed", "unchanged", "refused")
    ]
    for action in ("created", "changed", "refused", "unchanged"):
        rows = report[action]
        if rows:
            outcome.sections.append(
                {
                    "kind": action,
                    "title": REGISTRY_TITLES[action][0],
                    "rows": rows[:MAX_SHOWN],
                    "more": max(0, len(rows) - MAX_SHOWN),
                    "total": len(rows),
                }
            )
    return outcome


# --------------------------------------------------------------------------- the upload


@dataclass
class Upload:
    data: bytes
    filename: str


async def _upload(form: FormData) -> Upload | None:
    """The chosen file (None when none was chosen); too large → the API's 413 message."""
    value = form.get("archivo")
    if not isinstance(value, UploadFile) or not value.filename:
        return None
    data = await value.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise _too_large()
    return Upload(data, value.filename[:200])


def _wants_import(form: FormData) -> bool:
    """Only the «Importar» button writes; anything else is a preview."""
    return form.get("accion") == "importar"


def _text(form: FormData, name: str, limit: int = 200) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


async def _run(call, *, dry_run: bool, filename: str, describe) -> Outcome:
    """Run an importer in a worker thread; its report, its refusal with a report (a real import
    with problems: nothing written), or its refusal of the file, all in words."""
    try:
        report = await run_in_threadpool(call)
    except ApiError as error:
        status = status_of(error)
        if status == 422 and isinstance(error.extra.get("report"), dict):
            return describe(error.extra["report"])
        if status in (413, 422):
            return _unreadable(error, dry_run=dry_run, filename=filename)
        raise
    return describe(report)


# --------------------------------------------------------------------------- field team page


@dataclass
class RoundLinks:
    round: DiagnosisRound
    questionnaire: QuestionnaireVersion | None


def _field_context(
    session: Session, user: User, *, chosen: dict[str, str], errors: dict[str, str], outcome: Outcome | None = None
) -> dict[str, Any]:
    rounds = [
        RoundLinks(round_, session.get(QuestionnaireVersion, round_.questionnaire_version_id))
        for round_ in _open_rounds(session)
    ]
    return {
        "rounds": rounds,
        "kinds": KINDS,
        "accept": ACCEPT["interviews"],
        "chosen": chosen,
        "errors": errors,
        "outcome": outcome,
        "max_mb": MAX_MB,
        "can_download_xlsform": policy.can_download_xlsform(user),
    }


def _require_spreadsheets(user: User) -> None:
    if not policy.can_use_interview_spreadsheets(user):
        raise Forbidden(
            "Esta página es para los equipos de terreno y el equipo de análisis: su cuenta no importa entrevistas."
        )


spreadsheets_page, spreadsheets_post = guarded(_require_spreadsheets)


@router.get(FIELD_PAGE, response_class=HTMLResponse)
def field_page(ronda: str | None = None, page: WebPage = Depends(spreadsheets_page)) -> Response:
    chosen = {"round": ronda or "", "kind": TEMPLATE, "institution": page.user.institution or ""}
    context = _field_context(page.session, page.user, chosen=chosen, errors={})
    return render(page.request, "field/planillas.html", context)


@router.post(FIELD_UPLOAD, response_class=HTMLResponse)
async def field_upload(post: FormPost = Depends(spreadsheets_post)) -> Response:
    request, user, form, session, settings = post.request, post.user, post.form, post.session, post.settings
    kind = _text(form, "tipo") if _text(form, "tipo") in KINDS else TEMPLATE
    chosen = {
        "round": _text(form, "ronda", 12),
        "kind": kind,
        "institution": _text(form, "institucion"),
        "place": _text(form, "lugar"),
        "role": _text(form, "cargo"),
    }
    open_ids = {str(round_.id) for round_ in _open_rounds(session)}
    if len(open_ids) == 1 and not chosen["round"]:
        chosen["round"] = next(iter(open_ids))
    errors: dict[str, str] = {}
    if chosen["round"] not in open_ids:
        errors["ronda"] = "Elija una de las rondas abiertas."
    if kind == EXPORT and not (chosen["institution"] or user.institution):
        errors["institucion"] = "Escriba la institución que hizo las entrevistas."
    upload = await _upload(form)
    if upload is None:
        errors["archivo"] = "Elija el archivo que quiere revisar o importar."
    if errors:
        context = _field_context(session, user, chosen=chosen, errors=errors)
        return render(request, "field/planillas.html", context, status_code=422)

    dry_run = not _wants_import(form)
    round_id = int(chosen["round"])
    if kind == EXPORT:
        defaults = InterviewDefaults(
            institution=chosen["institution"] or None,
            interview_place=chosen["place"] or None,
            interviewee_role=chosen["role"] or None,
        )

        def call() -> dict[str, Any]:
            with UnitOfWork(session):
                return odk_import.import_submissions(
                    session=session,
                    user=user,
                    settings=settings,
                    round_id=round_id,
                    content=upload.data,
                    filename=upload.filename,
                    source=Source.AUTO,
                    dry_run=dry_run,
                    all_or_nothing=True,
                    defaults=defaults,
                ).to_dict()
    else:

        def call() -> dict[str, Any]:
            with UnitOfWork(session):
                return interviews.import_interviews(
                    session=session,
                    user=user,
                    settings=settings,
                    round_id=round_id,
                    data=upload.data,
                    filename=upload.filename,
                    dry_run=dry_run,
                ).as_dict()

    outcome = await _run(
        call,
        dry_run=dry_run,
        filename=upload.filename,
        describe=lambda report: interview_outcome(report, kind, filename=upload.filename),
    )
    context = _field_context(session, user, chosen=chosen, errors={}, outcome=outcome)
    return render(request, "field/planillas.html", context, status_code=422 if outcome.tone == "error" else 200)


# --------------------------------------------------------------------------- analyst page


def _require_registry(user: User) -> None:
    if not policy.can_import_registry(user):
        raise Forbidden("Solo un analista o un administrador puede importar el registro de cooperativas.")


def _registry_context(*, errors: dict[str, str], outcome: Outcome | None = None) -> dict[str, Any]:
    columns = [(column.label or column.key, column.required) for column in registry_import.COLUMNS]
    return {"columns": columns, "accept": ACCEPT["registry"], "errors": errors, "outcome": outcome, "max_mb": MAX_MB}


registry_importer_page, registry_importer_post = guarded(_require_registry)


@router.get(REGISTRY_PAGE, response_class=HTMLResponse)
def registry_page(page: WebPage = Depends(registry_importer_page)) -> Response:
    return render(page.request, "analyst/registro_importar.html", _registry_context(errors={}))


@router.post(REGISTRY_PAGE, response_class=HTMLResponse)
async def registry_upload(post: FormPost = Depends(registry_importer_post)) -> Response:
    request, user, form, session, settings = post.request, post.user, post.form, post.session, post.settings
    upload = await _upload(form)
    if upload is None:
        errors = {"archivo": "Elija el archivo del registro que quiere revisar o importar."}
        return render(request, "analyst/registro_importar.html", _registry_context(errors=errors), status_code=422)
    dry_run = not _wants_import(form)

    def call() -> dict[str, Any]:
        with UnitOfWork(session):
            return registry_import.import_registry(
                session=session,
                user=user,
                settings=settings,
                data=upload.data,
                filename=upload.filename,
                dry_run=dry_run,
            ).as_dict()

    outcome = await _run(
        call,
        dry_run=dry_run,
        filename=upload.filename,
        describe=lambda report: registry_outcome(report, filename=upload.filename),
    )
    return render(
        request,
        "analyst/registro_importar.html",
        _registry_context(errors={}, outcome=outcome),
        status_code=422 if outcome.tone == "error" else 200,
    )
