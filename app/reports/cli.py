"""``coopdiag report`` and ``coopdiag reports``: PDF diagnostics from the command line.

A round's reports are the PDFs already stored by the task queue (``app/reports/tasks.py``);
those not stored yet render here, on every core (WeasyPrint gains nothing from threads: a
process pool). Written to a folder or streamed into one ZIP, with a progress bar on the terminal.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat
from pathlib import Path
from typing import NoReturn

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _fail(message: str, status: int = EXIT_USAGE) -> NoReturn:
    print(f"coopdiag: error: {message}", file=sys.stderr)
    sys.exit(status)


def add_parsers(commands: argparse._SubParsersAction) -> None:
    one = commands.add_parser("report", help="genera el informe PDF de un diagnóstico enviado o validado")
    one.add_argument("response_id", metavar="RESPUESTA", type=int, help="número de la respuesta")
    one.add_argument("-o", "--output", metavar="ARCHIVO.pdf", required=True, help="dónde guardar el PDF")
    one.set_defaults(handler=command_report)

    many = commands.add_parser("reports", help="genera los informes PDF de toda una ronda, en una carpeta o un ZIP")
    many.add_argument("--round", dest="round_ref", metavar="RONDA", required=True, help="número o nombre de la ronda")
    many.add_argument(
        "--out",
        metavar="CARPETA_O_ZIP",
        required=True,
        help="una carpeta (se crea si no existe) o un archivo terminado en .zip",
    )
    many.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="procesos en paralelo (por omisión, uno por núcleo)",
    )
    many.set_defaults(handler=command_reports)


def _settings():
    from app.settings import get_settings

    try:
        return get_settings()
    except ValueError as error:
        _fail(f"configuración no válida: {error}")


def command_report(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from app.db import session_scope
    from app.errors import ApiError
    from app.reports import service

    settings = _settings()
    try:
        with session_scope(settings.database_url) as session:
            report = service.report_pdf(session=session, user=None, settings=settings, response_id=args.response_id)
    except ApiError as error:
        _fail(error.message, EXIT_FAILED)
    except SQLAlchemyError as error:
        _fail(f"no se pudo leer la base de datos; ¿está actualizada? ({type(error).__name__})", EXIT_FAILED)
    try:
        Path(args.output).write_bytes(report.content)
    except OSError as error:
        _fail(f"no se pudo escribir {args.output}: {error.strerror}", EXIT_FAILED)
    print(f"Informe guardado en {args.output} ({len(report.content) // 1024} KB).", file=sys.stderr)
    return EXIT_OK


def _round_id(session, reference: str) -> int:
    from sqlalchemy import select

    from app.rounds.models import DiagnosisRound
    from app.user_input import parse_id

    reference = reference.strip()
    ident = parse_id(reference)
    if ident is not None and session.get(DiagnosisRound, ident) is not None:
        return ident
    found = session.scalar(select(DiagnosisRound.id).where(DiagnosisRound.name == reference))
    if found is None:
        _fail(f"no existe la ronda «{reference}» (use su número o su nombre exacto)")
    return found


class Progress:
    """A one-line progress bar on a terminal; a line every tenth of the way otherwise."""

    def __init__(self, total: int, stream=sys.stderr) -> None:
        self.total, self.done, self.stream = total, 0, stream
        self.started = time.monotonic()
        self.tty = stream.isatty()
        self._last_tenth = -1

    def step(self) -> None:
        self.done += 1
        share = self.done / self.total if self.total else 1.0
        if self.tty:
            filled = int(share * 30)
            bar = "█" * filled + "·" * (30 - filled)
            self.stream.write(f"\r[{bar}] {self.done}/{self.total} informes")
            if self.done == self.total:
                self.stream.write("\n")
            self.stream.flush()
        elif int(share * 10) != self._last_tenth:
            self._last_tenth = int(share * 10)
            print(f"{self.done}/{self.total} informes", file=self.stream)

    def elapsed(self) -> float:
        return time.monotonic() - self.started


def _rendered(jobs, cache_dir, workers: int) -> Iterator:
    """Each job's ``Rendered`` outcome (a report that fails is left out with its reason)."""
    from app.reports.service import render_outcome

    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield render_outcome(job, cache_dir)
        return
    from reports.render import prepare_worker

    with ProcessPoolExecutor(max_workers=workers, initializer=prepare_worker) as pool:
        yield from pool.map(render_outcome, jobs, repeat(cache_dir), chunksize=2)


def _outcomes(jobs, stored: dict, cache_dir, workers: int) -> Iterator:
    """Each job's outcome in order: its stored PDF read from disk when there is one, else
    rendered now (``_rendered``)."""
    from app.reports.service import Rendered, RenderJob

    def stored_path(job):
        return stored.get(job.context.diagnosis.response_id) if isinstance(job, RenderJob) else None

    rendered = _rendered([job for job in jobs if stored_path(job) is None], cache_dir, workers)
    for job in jobs:
        path = stored_path(job)
        content = None
        if path is not None:
            try:
                content = path.read_bytes()
            except OSError:
                content = None
        if content is not None:
            yield Rendered(job.filename, job.cooperative, content)
        elif path is not None:  # gone since the listing: rendered here, after the others
            yield from _rendered([job], cache_dir, 1)
        else:
            yield next(rendered)


def command_reports(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from app.db import session_scope
    from app.errors import ApiError
    from app.reports import queueing, service

    if args.jobs < 1:
        _fail("--jobs debe ser un número entero mayor que cero")
    settings = _settings()
    try:
        with session_scope(settings.database_url) as session:
            round_id = _round_id(session, args.round_ref)
            round_, jobs = service.round_jobs(session=session, user=None, settings=settings, round_id=round_id)
            _, items = queueing.round_reports(session=session, user=None, settings=settings, round_id=round_id)
            stored = {item.response_id: item.path for item in items if item.path is not None}
    except ApiError as error:
        _fail(error.message, EXIT_FAILED)
    except SQLAlchemyError as error:
        _fail(f"no se pudo leer la base de datos; ¿está actualizada? ({type(error).__name__})", EXIT_FAILED)
    if not jobs:
        _fail(f"la ronda «{round_.name}» no tiene diagnósticos enviados ni validados", EXIT_FAILED)

    out = Path(args.out)
    as_zip = out.suffix.lower() == ".zip"
    progress = Progress(len(jobs))
    skipped: list[str] = []

    def noted(outcomes: Iterator) -> Iterator:
        for outcome in outcomes:
            if outcome.content is None:
                skipped.append(f"{outcome.filename} ({outcome.cooperative}): {outcome.reason}")
            yield outcome

    outcomes = _counted(noted(_outcomes(jobs, stored, settings.reports_cache_dir, args.jobs)), progress)
    # Left-out reports are named in LEEME.txt and manifiesto.csv, in the ZIP or the folder.
    files = service.round_files(outcomes, round_name=round_.name)
    try:
        if as_zip:
            out.parent.mkdir(parents=True, exist_ok=True)
            partial = out.with_name(out.name + ".partial")
            with partial.open("wb") as handle:
                for chunk in service.zip_stream(files):
                    handle.write(chunk)
            partial.replace(out)  # a ZIP appears only when complete
        else:
            out.mkdir(parents=True, exist_ok=True)
            for name, content in files:
                (out / name).write_bytes(content)
    except OSError as error:
        _fail(f"no se pudo escribir en {out}: {error.strerror or error}", EXIT_FAILED)
    seconds = f"{progress.elapsed():.1f}".replace(".", ",")  # Chilean decimal comma
    print(
        f"{len(jobs) - len(skipped)} informes de la ronda «{round_.name}» en {out} ({seconds} s, {args.jobs} procesos).",
        file=sys.stderr,
    )
    if skipped:
        print(
            f"coopdiag: error: {len(skipped)} informe(s) no se pudieron generar y se omitieron "
            f"(vea {service.README_NAME}):\n" + "\n".join(f"  {line}" for line in skipped),
            file=sys.stderr,
        )
        return EXIT_FAILED
    return EXIT_OK


def _counted(files: Iterator, progress: Progress) -> Iterator:
    for item in files:
        yield item
        progress.step()
