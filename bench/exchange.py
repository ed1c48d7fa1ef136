"""Data exchange benchmark: time and peak memory of a round's export, and time of the imports.

    .venv/bin/python bench/exchange.py export [--responses 10000] [--database-url URL] [--openpyxl]
    .venv/bin/python bench/exchange.py import [--rows 5000] [--database-url URL]

Builds a round of the national questionnaire with RESPONSES cooperatives, each with one
response (bulk inserted): seeded random answers of every type, a "quality" per
cooperative so lights span red to green, a few "ns"/"na"/blank answers, and the result
snapshot the app stores at submission (80 % submitted or validated, the rest drafts).
Without --database-url the database is a temporary SQLite file; with a PostgreSQL URL
(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) a schema of its own is created
and dropped at the end.

Then each export runs in a fresh subprocess, through the same service the API calls
(``app.exchange.exports.export_round``, the bytes counted, not kept), which reports the wall
time, CPU time and its peak resident memory (VmHWM), also before the export started (Python,
the app and a parsed questionnaire). ``--openpyxl`` adds, for comparison, the same wide
rows written with openpyxl's write-only mode (what the XLSX writer replaced).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import scoring  # noqa: E402
from app.cooperatives.models import Cooperative  # noqa: E402
from app.cooperatives.sectors import SECTORS  # noqa: E402
from app.responses.models import Response  # noqa: E402
from app.responses.service import snapshot_of  # noqa: E402
from app.unit_of_work import UnitOfWork  # noqa: E402

NATIONAL = ROOT / "questionnaires" / "nacional-2026.1.yaml"
SEED = 20261122
STATUSES = ("submitted", "submitted", "submitted", "validated", "draft")  # 80 % with a stored result


def random_answers(rng: random.Random, questionnaire: scoring.Questionnaire, quality: float) -> dict:
    """A valid answer set; each scored question gets its best answer with probability ``quality``."""
    answers: dict = {}
    for question in questionnaire.questions:
        if question.type == "computed" or rng.random() < 0.03:
            continue  # computed, or left blank
        if rng.random() < 0.03:
            answers[question.id] = "na" if question.na and rng.random() < 0.5 else "ns"
            continue
        good = rng.random() < quality
        if question.type == "yes_no":
            answers[question.id] = good == (question.good != "no")
        elif question.type == "choice":
            best = max(question.options, key=lambda option: option.score or 0)
            answers[question.id] = (best if good and question.scored else rng.choice(question.options)).value
        elif question.type == "multi":
            answers[question.id] = [option.value for option in question.options if rng.random() < 0.3]
        elif question.type == "number":
            low = question.min if question.min is not None else 0
            value = rng.uniform(low, question.max if question.max is not None else low + 5_000_000)
            answers[question.id] = int(value) if question.integer else round(value, 2)
        elif question.type == "date":
            answers[question.id] = (date(2025, 1, 1) + timedelta(days=rng.randrange(365))).isoformat()
        else:
            answers[question.id] = f"Respuesta {rng.randrange(1000)}"
    if answers.get("tipo_organizacion") in ("ns", "na"):
        answers["tipo_organizacion"] = "cooperativa_constituida"
    return answers


@contextmanager
def bench_database(database_url: str | None):
    """A migrated, empty database: a temporary SQLite file, or a fresh PostgreSQL schema."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from app.db import upgrade_database

    if database_url is None:
        with tempfile.TemporaryDirectory(prefix="coopdiag-bench-") as folder:
            url = f"sqlite:///{folder}/bench.db"
            upgrade_database("head", database_url=url)
            yield url
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = make_url(database_url).update_query_dict({"options": f"-csearch_path={schema}"})
        url = url.render_as_string(hide_password=False)
        upgrade_database("head", database_url=url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def build_export_round(database_url: str, responses: int) -> int:
    """Register the national questionnaire, a round and ``responses`` cooperatives with one
    response each; the round's id."""
    from sqlalchemy import insert

    from app.db import make_engine, make_sessionmaker
    from app.questionnaires.service import register_path
    from app.rounds.models import DiagnosisRound

    rng = random.Random(SEED)
    questionnaire = scoring.load_questionnaire(NATIONAL.read_text(encoding="utf-8"), source=NATIONAL.name)
    engine = make_engine(database_url)
    with make_sessionmaker(engine)() as session:
        [version] = register_path(session=session, path=NATIONAL).registered
        round_ = DiagnosisRound(
            name="Ronda de prueba de rendimiento",
            questionnaire_version_id=version.id,
            opens_on=date(2026, 3, 1),
            closes_on=date(2026, 12, 31),
            state="open",
        )
        session.add(round_)
        session.flush()
        sectors = list(SECTORS)
        session.execute(
            insert(Cooperative),
            [
                {
                    "id": n,
                    "rut": f"{60_000_000 + n}-{n % 10}",
                    "name": f"Cooperativa Campesina Número {n} Limitada",
                    "legal_type": rng.choice(("agricola", "campesina", "servicios", "forestal", "precooperativo")),
                    "region_code": rng.randint(1, 16),
                    "comuna": "Comuna de prueba",
                    "sectors": rng.sample(sectors, rng.randint(0, 3)),
                    "members_women": rng.choice((None, rng.randint(0, 80))),
                    "members_men": rng.randint(0, 120),
                }
                for n in range(1, responses + 1)
            ],
        )
        now = datetime(2026, 5, 4, 15, 30, tzinfo=timezone.utc)
        rows = []
        for n in range(1, responses + 1):
            answers = random_answers(rng, questionnaire, rng.uniform(0.2, 0.95))
            status = STATUSES[n % len(STATUSES)]
            scored = status != "draft"
            rows.append(
                {
                    "cooperative_id": n,
                    "round_id": round_.id,
                    "mode": "self",
                    "status": status,
                    "answers": answers,
                    "result_snapshot": snapshot_of(scoring.score(questionnaire, answers)) if scored else None,
                    "snapshot_questionnaire_version_id": version.id if scored else None,
                    "created_at": now,
                    "updated_at": now,
                    "submitted_at": now if scored else None,
                    "validated_at": now if status == "validated" else None,
                }
            )
            if len(rows) == 1000:
                session.execute(insert(Response), rows)
                rows = []
        if rows:
            session.execute(insert(Response), rows)
        session.commit()
        round_id = round_.id
    engine.dispose()
    return round_id


def _max_rss_mb() -> float:
    """This process's peak resident memory. VmHWM, not ru_maxrss: Linux carries ru_maxrss
    over from the parent through fork and exec, so it would report the builder's peak."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_export(database_url: str, round_id: int, what: str) -> dict:
    """One export in this process (called in a subprocess by ``bench_export``)."""
    from app.auth.models import Role, User
    from app.db import make_engine, make_sessionmaker
    from app.exchange import exports
    from app.settings import Settings

    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    settings = Settings(database_url=database_url)
    analyst = User(email="bench@example.cl", full_name="Bench", role=Role.ANALYST.value)
    shape, _, format_ = what.partition("-")
    with sessions() as session:
        from app.rounds.service import get_round, get_round_questionnaire

        get_round_questionnaire(session=session, round=get_round(session=session, round_id=round_id))  # parse it once
    before = _max_rss_mb()
    cpu = _cpu_seconds()
    started = time.perf_counter()
    with sessions() as session:
        lines = None  # rows, counted in CSV and NDJSON
        if format_ == "openpyxl":
            size = _openpyxl_reference(session, settings, analyst, round_id)
        else:
            options = exports.ExportOptions(
                format=exports.ExportFormat(format_),
                shape=exports.Shape(shape),
                dialect=exports.CsvDialect.of(exports.Flavour.EXCEL),
            )
            download = exports.export_round(
                session=session,
                sessions=sessions,
                user=analyst,
                settings=settings,
                round_id=round_id,
                filters=exports.ExportFilters(),
                options=options,
            )
            size = lines = 0
            for chunk in download.chunks:
                size += len(chunk)
                lines += chunk.count(b"\n")
            if format_ == "csv":
                lines -= 1  # the header (no cell of these rows holds a line break)
            elif format_ == "xlsx":
                lines = None
    return {
        "what": what,
        "seconds": round(time.perf_counter() - started, 2),
        "cpu_seconds": round(_cpu_seconds() - cpu, 2),
        "bytes": size,
        "rows": lines,
        "rss_before_mb": round(before, 1),
        "rss_peak_mb": round(_max_rss_mb(), 1),
    }


def _openpyxl_reference(session, settings, user, round_id: int) -> int:
    """The wide rows written with openpyxl's write-only mode, for comparison."""
    from openpyxl import Workbook

    from app.exchange import exports
    from app.rounds.service import get_round, get_round_questionnaire

    round_ = get_round(session=session, round_id=round_id)
    questionnaire = get_round_questionnaire(session=session, round=round_)
    statement = exports.responses_statement(
        user=user, settings=settings, round_id=round_id, filters=exports.ExportFilters()
    )
    table = exports._table(
        exports.stream_rows(session, statement),
        exports.Shape.WIDE,
        questionnaire,
        exports._Context(round=round_, settings=settings),
    )
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("datos")
    sheet.append(table.names)
    for row in table.rows:
        sheet.append(
            [
                exports._joined(v)
                if isinstance(v, list)
                else exports.neutralise(v)
                if isinstance(v, str)
                else v.astimezone(exports.CHILE).replace(tzinfo=None)
                if isinstance(v, datetime)
                else v
                for v in row
            ]
        )
    with tempfile.SpooledTemporaryFile(max_size=exports.SPOOL_BYTES) as target:
        workbook.save(target)
        return target.tell()


def bench_export(args: argparse.Namespace) -> None:
    exports_to_run = ["wide-csv", "wide-xlsx", "long-csv", "wide-ndjson"] + (["wide-openpyxl"] if args.openpyxl else [])
    with bench_database(args.database_url) as url:
        started = time.perf_counter()
        round_id = build_export_round(url, args.responses)
        backend = url.split(":", 1)[0]
        print(f"{backend}: {args.responses} responses built in {time.perf_counter() - started:.1f} s")
        for what in exports_to_run:
            output = subprocess.run(
                [sys.executable, __file__, "_run-export", url, str(round_id), what],
                check=True,
                capture_output=True,
                text=True,
                env=os.environ | {"PYTHONHASHSEED": "0"},
            ).stdout
            result = json.loads(output.strip().splitlines()[-1])
            rows = f"{result['rows']:>9,} rows" if result["rows"] is not None else " " * 14
            print(
                f"  {what:13} {result['seconds']:6.2f} s (CPU {result['cpu_seconds']:5.2f} s)  "
                f"{result['bytes'] / 2**20:6.1f} MiB {rows}  "
                f"peak RSS {result['rss_peak_mb']:6.1f} MB (before the export {result['rss_before_mb']:.1f} MB)"
            )


# --------------------------------------------------------------------------- imports


def _registry_csv(rows: int) -> bytes:
    """A DAES-style registry file of ``rows`` cooperatives (Latin-1, «;», as Excel saves it in Chile)."""
    from stdnum.cl import rut as stdnum_rut

    rng = random.Random(SEED)
    header = (
        "RUT;Razón social;N° registro DAES;Tipo;Estado;Vigente;Región;Comuna;Rubro(s);Socias mujeres;"
        "Socios hombres;Socios menores de 35;Año de constitución;Contacto;Correo;Teléfono"
    )
    lines = [header]
    kinds = ("Agrícola", "Campesina", "Servicios", "Forestal", "Pre-cooperativo")
    labels = list(SECTORS.values())
    for n in range(1, rows + 1):
        number = str(70_000_000 + n)
        women, men = rng.randint(0, 80), rng.randint(0, 120)
        lines.append(
            ";".join(
                [
                    f"{int(number):,}".replace(",", ".") + "-" + stdnum_rut.calc_check_digit(number),
                    f"Cooperativa Campesina Número {n} Limitada",
                    str(1000 + n),
                    rng.choice(kinds),
                    "Activa",
                    "Sí",
                    str(rng.randint(1, 16)),
                    "Comuna de prueba",
                    ", ".join(rng.sample(labels, rng.randint(1, 3))),
                    str(women),
                    str(men),
                    str(rng.randint(0, women + men)),
                    str(rng.randint(1950, 2024)),
                    "Persona de contacto",
                    f"contacto{n}@cooperativa.cl",
                    "+56 9 1234 5678",
                ]
            )
        )
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def _cell(value):
    """An answer as a person types it in the template."""
    if isinstance(value, bool):
        return "si" if value else "no"
    if isinstance(value, list):
        return ";".join(value) or "ninguna"
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[:4].isdigit():
        return date.fromisoformat(value)
    return value


def _interview_xlsx(session, settings, user, round_id: int, rows: int) -> tuple[bytes, int]:
    """The round's template filled with ``rows`` interviews (complete ones to be sent); also
    how many are sent."""
    import io

    from openpyxl import load_workbook

    from app.exchange.interviews import interview_template
    from app.responses.service import round_questionnaire
    from app.rounds.models import DiagnosisRound

    rng = random.Random(SEED)
    questionnaire = round_questionnaire(session=session, round=session.get(DiagnosisRound, round_id))
    template = interview_template(session=session, user=user, settings=settings, round_id=round_id)
    workbook = load_workbook(io.BytesIO(template.content))
    sheet = workbook["entrevistas"]
    header = [cell.value for cell in sheet[1]]
    ruts = {c.id: c.rut for c in session.query(Cooperative)}
    sent = 0
    for n in range(1, rows + 1):
        answers = random_answers(rng, questionnaire, rng.uniform(0.2, 0.95))
        send = not scoring.missing_required(questionnaire, answers)
        sent += send
        fixed = {
            "clave_entrevista": f"E-{n:05d}",
            "rut_cooperativa": ruts[n],
            "entrevistador": "Ana Pérez",
            "institucion": "INDAP",
            "fecha": date(2026, 5, 4),
            "lugar": "Sede de la cooperativa",
            "cargo_entrevistado": "Gerente",
            "enviar": "si" if send else "no",
        }
        sheet.append([fixed[name] if name in fixed else _cell(answers.get(name)) for name in header])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue(), sent


def bench_import(args: argparse.Namespace) -> None:
    """Import a registry file of ROWS cooperatives into an empty registry, then the round's
    interview template filled with ROWS interviews of them, each through the service the API
    calls (all or nothing, one transaction)."""
    from sqlalchemy import func, select

    from app.auth.service import create_user
    from app.db import make_engine, make_sessionmaker
    from app.exchange.interviews import import_interviews
    from app.exchange.registry_import import import_registry
    from app.questionnaires.service import register_path
    from app.rounds.models import DiagnosisRound
    from app.settings import Settings

    with bench_database(args.database_url) as url:
        settings = Settings(database_url=url)
        engine = make_engine(url)
        backend = url.split(":", 1)[0]
        with make_sessionmaker(engine)() as session:
            user = create_user(
                session=session, email="bench@example.cl", full_name="Bench", role="admin", password="clave-segura-123"
            )
            [version] = register_path(session=session, path=NATIONAL).registered
            round_ = DiagnosisRound(
                name="Ronda de prueba de importación",
                questionnaire_version_id=version.id,
                opens_on=date(2026, 3, 1),
                closes_on=date(2026, 12, 31),
                state="open",
            )
            session.add(round_)
            session.commit()
            registry = _registry_csv(args.rows)
            for dry_run in (True, False):
                started, cpu = time.perf_counter(), _cpu_seconds()
                with UnitOfWork(session):  # the import and its commit
                    report = import_registry(
                        session=session,
                        user=user,
                        settings=settings,
                        data=registry,
                        filename="registro.csv",
                        dry_run=dry_run,
                    )
                print(
                    f"{backend}: registry {'preview' if dry_run else 'import '} {args.rows:,} rows "
                    f"({len(registry) / 2**20:.1f} MiB CSV): {time.perf_counter() - started:5.2f} s "
                    f"(CPU {_cpu_seconds() - cpu:5.2f} s), created {len(report.of('created')):,}"
                )
            assert session.scalar(select(func.count()).select_from(Cooperative)) == args.rows
            data, sent = _interview_xlsx(session, settings, user, round_.id, args.rows)
            for dry_run in (True, False):
                started, cpu = time.perf_counter(), _cpu_seconds()
                with UnitOfWork(session):  # the import and its commit
                    report = import_interviews(
                        session=session,
                        user=user,
                        settings=settings,
                        round_id=round_.id,
                        data=data,
                        filename="entrevistas.xlsx",
                        dry_run=dry_run,
                    )
                print(
                    f"{backend}: interviews {'preview' if dry_run else 'import '} {args.rows:,} rows "
                    f"({len(data) / 2**20:.1f} MiB XLSX, {sent:,} sent): {time.perf_counter() - started:5.2f} s "
                    f"(CPU {_cpu_seconds() - cpu:5.2f} s), created {len(report.of('created')):,}"
                )
            assert session.scalar(select(func.count()).select_from(Response)) == args.rows
        engine.dispose()
        print(f"  peak RSS {_max_rss_mb():.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="time and peak memory of a round's exports")
    export.add_argument("--responses", type=int, default=10_000)
    export.add_argument("--database-url", help="PostgreSQL URL; default: a temporary SQLite file")
    export.add_argument("--openpyxl", action="store_true", help="also time openpyxl's write-only mode on the same rows")
    imports = commands.add_parser("import", help="time of the registry and interview imports")
    imports.add_argument("--rows", type=int, default=5_000)
    imports.add_argument("--database-url", help="PostgreSQL URL; default: a temporary SQLite file")
    run = commands.add_parser("_run-export")  # internal: one export in a fresh process
    run.add_argument("url")
    run.add_argument("round_id", type=int)
    run.add_argument("what")
    args = parser.parse_args()
    if args.command == "export":
        bench_export(args)
    elif args.command == "import":
        bench_import(args)
    else:
        print(json.dumps(run_export(args.url, args.round_id, args.what)))


if __name__ == "__main__":
    main()
