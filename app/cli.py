"""The `coopdiag` command line. Messages for people are in Spanish; JSON goes to stdout only.

Exit statuses: 0 success; 1 an answer set failed validation (or another
operational failure); 2 a broken questionnaire file or bad command usage.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import orjson

if TYPE_CHECKING:  # imported lazily at run time: the scoring commands start without the web app
    from app.errors import ApiError

EXIT_OK, EXIT_INVALID_ANSWERS, EXIT_USAGE = 0, 1, 2

_ARGPARSE_MESSAGES = {
    "the following arguments are required": "faltan argumentos obligatorios",
    "unrecognized arguments": "argumentos no reconocidos",
    "invalid choice": "opción no válida",
    "expected one argument": "falta el valor de la opción",
    "not allowed with argument": "no se puede usar junto con",
}


class _Formatter(argparse.HelpFormatter):
    def add_usage(
        self, usage: str | None, actions: Iterable[argparse.Action], groups: Iterable[Any], prefix: str | None = None
    ) -> None:
        return super().add_usage(usage, actions, groups, "uso: " if prefix is None else prefix)


class SpanishArgumentParser(argparse.ArgumentParser):
    """argparse with Spanish headings and errors (no gettext catalogue ships with Python)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        kwargs.setdefault("add_help", False)
        super().__init__(*args, **kwargs)
        self._positionals.title = "argumentos"
        self._optionals.title = "opciones"
        self.add_argument("-h", "--help", action="help", help="muestra esta ayuda y termina")

    def error(self, message: str) -> NoReturn:
        for english, spanish in _ARGPARSE_MESSAGES.items():
            message = message.replace(english, spanish)
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _fail(message: str, status: int) -> NoReturn:
    print(f"coopdiag: {message}", file=sys.stderr)
    raise SystemExit(status)


def _read_text(path: str, what: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        _fail(f"no existe el archivo {what} «{path}»", EXIT_USAGE)
    except IsADirectoryError:
        _fail(f"«{path}» es una carpeta, no un archivo {what}", EXIT_USAGE)
    except UnicodeDecodeError:
        _fail(f"el archivo {what} «{path}» no está en UTF-8", EXIT_USAGE)
    except OSError as error:
        _fail(f"no se pudo leer el archivo {what} «{path}»: {error.strerror}", EXIT_USAGE)


def _load_questionnaire(path: str):
    from scoring import QuestionnaireError, load_questionnaire

    text = _read_text(path, "de cuestionario")
    try:
        return load_questionnaire(text, source=Path(path).name if path != "-" else "<stdin>")
    except QuestionnaireError as error:
        count = len(error.problems)
        print(
            f"coopdiag: el cuestionario «{path}» no es válido ({count} problema{'s' if count != 1 else ''}):",
            file=sys.stderr,
        )
        for problem in error.problems:
            print(f"  - {problem}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None


# --------------------------------------------------------------------------
# coopdiag score


def _json_error(message: str) -> dict:
    return {"question": None, "code": "invalid_json", "message": message}


def _score_one(questionnaire, answers: Any) -> tuple[bytes | None, list[dict]]:
    from scoring import score_valid, validate_answers

    errors = validate_answers(questionnaire, answers)
    if errors:
        return None, [e.to_dict() for e in errors]
    return score_valid(questionnaire, answers).to_json(), []


def command_score(args: argparse.Namespace) -> int:
    from app import json_input

    if (args.answers is None) == (args.batch is None):
        _fail("indique un archivo de respuestas, o bien --batch ARCHIVO.jsonl (uno de los dos)", EXIT_USAGE)
    questionnaire = _load_questionnaire(args.questionnaire)
    out = sys.stdout.buffer
    if args.answers is not None:
        text = _read_text(args.answers, "de respuestas").removeprefix("\ufeff")
        try:
            answers = json_input.loads(text)
        except json_input.TooDeep as error:
            errors = [_json_error(f"JSON no válido: {error}")]
        except json.JSONDecodeError as error:
            errors = [_json_error(f"JSON no válido (línea {error.lineno}, columna {error.colno}): {error.msg}")]
        else:
            result, errors = _score_one(questionnaire, answers)
            if result is not None:
                out.write(result + b"\n")
                return EXIT_OK
        out.write(orjson.dumps({"errors": errors}) + b"\n")
        for error in errors:
            where = f"{error['question']}: " if error["question"] else ""
            print(f"coopdiag: respuesta no válida: {where}{error['message']}", file=sys.stderr)
        return EXIT_INVALID_ANSWERS

    # --batch: one output line per input line, in order.
    source = sys.stdin.buffer if args.batch == "-" else None
    if source is None:
        try:
            source = open(args.batch, "rb")  # noqa: SIM115 - closed below
        except OSError as error:
            _fail(f"no se pudo leer el archivo de respuestas «{args.batch}»: {error.strerror}", EXIT_USAGE)
    jobs = args.jobs if args.jobs > 0 else (os.cpu_count() or 1)
    failed = 0
    with source:
        chunks = _numbered_chunks(source)
        if jobs == 1:
            outputs = (_score_chunk(questionnaire, chunk) for chunk in chunks)
            for output, chunk_failed in outputs:
                out.write(output)
                failed += chunk_failed
        else:
            # Worker processes inherit the loaded questionnaire (fork); imap keeps the input order.
            global _WORKER_QUESTIONNAIRE
            _WORKER_QUESTIONNAIRE = questionnaire
            with multiprocessing.get_context("fork").Pool(jobs) as pool:
                for output, chunk_failed in pool.imap(_score_chunk_in_worker, chunks):
                    out.write(output)
                    failed += chunk_failed
    if failed:
        print(f"coopdiag: {failed} conjunto(s) de respuestas no válido(s); vea 'errors' en la salida", file=sys.stderr)
        return EXIT_INVALID_ANSWERS
    return EXIT_OK


_CHUNK_LINES = 256  # lines scored and written together: one result is several KB
_WORKER_QUESTIONNAIRE = None


def _numbered_chunks(source) -> Iterator[list[tuple[int, bytes]]]:
    chunk: list[tuple[int, bytes]] = []
    for number, line in enumerate(source, start=1):
        if number == 1 and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:]  # a UTF-8 byte order mark, as some spreadsheet tools write
        chunk.append((number, line))
        if len(chunk) >= _CHUNK_LINES:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _score_chunk_in_worker(chunk: list[tuple[int, bytes]]) -> tuple[bytes, int]:
    return _score_chunk(_WORKER_QUESTIONNAIRE, chunk)


def _score_chunk(questionnaire, chunk: list[tuple[int, bytes]]) -> tuple[bytes, int]:
    """The output lines of a chunk of input lines, and how many of them failed."""
    lines: list[bytes] = []
    failed = 0
    for number, line in chunk:
        if not line.strip():
            # every input line gets an output line, so that line N of the output is line N of the input
            result, errors = (
                None,
                [
                    {
                        "question": None,
                        "code": "empty_line",
                        "message": "la línea está vacía; se esperaba un objeto JSON",
                    }
                ],
            )
        else:
            try:
                answers = orjson.loads(line)
            except orjson.JSONDecodeError as error:
                result, errors = None, [_json_error(f"JSON no válido: {error}")]
            else:
                result, errors = _score_one(questionnaire, answers)
        if result is None:
            failed += 1
            lines.append(orjson.dumps({"line": number, "errors": errors}) + b"\n")
        else:
            lines.append(result + b"\n")
    return b"".join(lines), failed


# --------------------------------------------------------------------------
# coopdiag questionnaire check | show


def _plural(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def _counts(questions) -> str:
    scored = sum(1 for q in questions if q.scored)
    critical = sum(1 for q in questions if q.critical)
    text = (
        f"{len(questions)} pregunta{'s' if len(questions) != 1 else ''} ({scored} puntuada{'s' if scored != 1 else ''}"
    )
    if critical:
        text += f", {critical} crítica{'s' if critical != 1 else ''}"
    return text + ")"


def _decimal(value: float) -> str:
    from babel.numbers import format_decimal

    return format_decimal(value, locale="es_CL")


def command_check(args: argparse.Namespace) -> int:
    q = _load_questionnaire(args.file)
    subcategories = sum(len(d.subcategories) for d in q.dimensions)
    print(
        f"{args.file}: válido — «{q.title}» (id {q.id}, versión {q.version}): "
        f"{_plural(len(q.dimensions), 'dimensión', 'dimensiones')}, "
        f"{_plural(subcategories, 'subcategoría', 'subcategorías')}, {_counts(q.questions)}"
        + (f", {_checks(q.checks)}" if q.checks else "")
    )
    return EXIT_OK


def _checks(checks) -> str:
    errors = sum(1 for check in checks if check.severity == "error")
    return (
        f"{_plural(len(checks), 'verificación de coherencia', 'verificaciones de coherencia')} "
        f"({_plural(errors, 'error', 'errores')}, {_plural(len(checks) - errors, 'aviso', 'avisos')})"
    )


QUESTION_TYPES_ES = {
    "yes_no": "sí/no",
    "choice": "selección única",
    "multi": "selección múltiple",
    "number": "número",
    "computed": "calculada",
    "text": "texto",
    "date": "fecha",
}


def command_show(args: argparse.Namespace) -> int:
    q = _load_questionnaire(args.file)
    subcategories = sum(len(d.subcategories) for d in q.dimensions)
    print(f"{q.title}")
    print(
        f"id {q.id} · versión {q.version} · idioma {q.language} · umbrales: verde ≥ {_decimal(q.thresholds.green)}, "
        f"rojo < {_decimal(q.thresholds.red)}"
    )
    print(
        f"{_plural(len(q.dimensions), 'dimensión', 'dimensiones')}, "
        f"{_plural(subcategories, 'subcategoría', 'subcategorías')}, {_counts(q.questions)}"
    )
    for d_index, dimension in enumerate(q.dimensions):
        last_dim = d_index == len(q.dimensions) - 1
        dim_questions = [x for s in dimension.subcategories for x in s.questions]
        print(
            f"{'└─' if last_dim else '├─'} {dimension.title} [{dimension.id}] peso {_decimal(dimension.weight)}: "
            f"{_plural(len(dimension.subcategories), 'subcategoría', 'subcategorías')}, {_counts(dim_questions)}"
        )
        branch = "   " if last_dim else "│  "
        for s_index, sub in enumerate(dimension.subcategories):
            last_sub = s_index == len(dimension.subcategories) - 1
            print(
                f"{branch}{'└─' if last_sub else '├─'} {sub.title} [{sub.id}] peso {_decimal(sub.weight)}: "
                f"{_counts(sub.questions)}"
            )
            if args.preguntas:
                inner = branch + ("   " if last_sub else "│  ")
                for question in sub.questions:
                    marks = [QUESTION_TYPES_ES[question.type]]
                    if question.weight != 1:
                        marks.append(f"peso {_decimal(question.weight)}")
                    if question.critical:
                        marks.append("crítica")
                    if not question.scored:
                        marks.append("sin puntaje")
                    if question.relevant:
                        marks.append(f"si {question.relevant}")
                    print(f"{inner}· {question.id} ({', '.join(marks)}): {question.text}")
    if q.checks:
        print(f"Verificaciones de coherencia: {_checks(q.checks)}")
        for check in q.checks:
            kind = "error" if check.severity == "error" else "aviso"
            print(f"  · {check.id} ({kind}): {check.expression} — {check.message}")
    return EXIT_OK


def command_questionnaire_load(args: argparse.Namespace) -> int:
    """Register questionnaire files by (id, version) and content hash; a changed file under a
    registered version is refused (exit 2) and nothing is registered."""
    from sqlalchemy.exc import SQLAlchemyError

    from app.db import session_scope
    from app.questionnaires.service import QuestionnaireConflictError, QuestionnaireDirectoryError, register_path
    from app.settings import get_settings

    try:
        settings = get_settings()
    except ValueError as error:
        _fail(f"configuración no válida: {error}", EXIT_USAGE)
    path = Path(args.path) if args.path else Path(settings.questionnaires_dir)
    try:
        with session_scope(settings.database_url) as session:
            result = register_path(session=session, path=path)
            registered = [(row.questionnaire_id, row.version, row.title) for row in result.registered]
            unchanged = [(row.questionnaire_id, row.version, row.title) for row in result.unchanged]
    except QuestionnaireDirectoryError as error:
        _fail(str(error), EXIT_USAGE)
    except QuestionnaireConflictError as error:
        for message in error.messages:
            print(f"coopdiag: {message}", file=sys.stderr)
        _fail("no se registró ningún cuestionario.", EXIT_USAGE)
    except SQLAlchemyError as error:
        _database_failure(error)
    for qid, version, title in registered:
        print(f"Registrado: «{title}» (id {qid}, versión {version}).")
    for qid, version, title in unchanged:
        print(f"Sin cambios: «{title}» (id {qid}, versión {version}) ya estaba registrado.")
    for failure in result.failed:
        print(f"coopdiag: {failure.message}", file=sys.stderr)
        for problem in failure.problems:
            print(f"  - {problem}", file=sys.stderr)
    if not result.loaded and not result.failed:
        print(f"coopdiag: no hay archivos de cuestionario (.yaml, .yml, .json) en «{path}»", file=sys.stderr)
    return EXIT_USAGE if result.failed else EXIT_OK


def command_xlsform(args: argparse.Namespace) -> int:
    """Write a questionnaire file as an XLSForm (ODK Collect, KoboCollect)."""
    from app.exchange.xlsform import XLSFormError, xlsform_bytes, xlsform_filename

    questionnaire = _load_questionnaire(args.file)
    try:
        data = xlsform_bytes(questionnaire)
    except XLSFormError as error:
        _fail(f"el cuestionario «{args.file}» no se puede exportar a XLSForm: {error}", EXIT_USAGE)
    output = args.output or xlsform_filename(questionnaire)
    try:
        Path(output).write_bytes(data)
    except OSError as error:
        _fail(f"no se pudo escribir «{output}»: {error.strerror}", EXIT_INVALID_ANSWERS)
    print(
        f"XLSForm de «{questionnaire.title}» (id {questionnaire.id}, versión {questionnaire.version}) escrito en «{output}»."
    )
    return EXIT_OK


# --------------------------------------------------------------------------
# coopdiag db | serve


def command_db(args: argparse.Namespace) -> int:
    from app import db

    if args.db_command == "upgrade":
        db.upgrade_database(args.revision)
        print(f"Base de datos actualizada a la revisión {args.revision}.", file=sys.stderr)
    else:
        db.downgrade_database(args.revision)
        print(f"Base de datos llevada a la revisión {args.revision}.", file=sys.stderr)
    return EXIT_OK


# --------------------------------------------------------------------------
# coopdiag backup | restore


def command_backup(args: argparse.Namespace) -> int:
    from datetime import datetime

    from app.backup import BackupError, backup
    from app.settings import PROJECT_ROOT, get_settings

    database_url = get_settings().database_url
    target = args.file
    if target is None:  # a ZIP: manifest.json and the data (app/backup.py)
        target = PROJECT_ROOT / "var" / "respaldos" / f"coopdiag-{datetime.now():%Y%m%d-%H%M%S}.zip"
    try:
        written = backup(database_url=database_url, target=target)
    except BackupError as error:
        _fail(f"no se pudo respaldar: {error}", EXIT_INVALID_ANSWERS)
    print(f"Respaldo guardado en {written} ({written.stat().st_size // 1024} KB).", file=sys.stderr)
    return EXIT_OK


def command_restore(args: argparse.Namespace) -> int:
    from app.backup import BackupError, restore
    from app.settings import get_settings

    if not args.yes:
        _fail("restaurar reemplaza todo el contenido de la base de datos; confírmelo con --yes", EXIT_USAGE)
    try:
        restored = restore(database_url=get_settings().database_url, source=args.file)
    except BackupError as error:
        _fail(f"no se pudo restaurar: {error}", EXIT_INVALID_ANSWERS)
    print(
        f"Base de datos restaurada desde {args.file}: {restored.tables} tablas, {restored.rows} filas, "
        "las mismas que registra el respaldo.",
        file=sys.stderr,
    )
    if restored.needs_upgrade:
        print(
            f"El respaldo es de una revisión anterior del esquema ({restored.schema_revision}); "
            "ejecute «coopdiag db upgrade» antes de abrir la aplicación.",
            file=sys.stderr,
        )
    return EXIT_OK


# --------------------------------------------------------------------------
# coopdiag users create | token


def _cooperative_id(session, reference: str) -> int:
    """A cooperative by numeric id, or by RUT written with its hyphen (76.123.456-7)."""
    from sqlalchemy import select
    from stdnum.cl import rut as cl_rut
    from stdnum.exceptions import ValidationError

    from app.cooperatives.models import Cooperative
    from app.user_input import looks_like_number, parse_id

    reference = reference.strip()
    if looks_like_number(reference):
        ident = parse_id(reference)
        if ident is None or session.get(Cooperative, ident) is None:
            _fail(f"no existe la cooperativa con id {reference[:20]}", EXIT_USAGE)
        return ident
    try:
        compact = cl_rut.validate(reference)
    except ValidationError:
        _fail(f"«{reference}» no es un id de cooperativa ni un RUT válido (ej.: 76.123.456-7)", EXIT_USAGE)
    normalised = f"{compact[:-1]}-{compact[-1]}"
    found = session.scalar(select(Cooperative.id).where(Cooperative.rut == normalised))
    if found is None:
        _fail(f"no hay una cooperativa registrada con el RUT {normalised}", EXIT_USAGE)
    return found


def _ask_password() -> str:
    import getpass

    if not sys.stdin.isatty():  # scripts: the password on the first line of the standard input
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Contraseña (al menos 10 caracteres): ")
    if getpass.getpass("Repita la contraseña: ") != first:
        _fail("las contraseñas no coinciden", EXIT_USAGE)
    return first


def _database_failure(error: Exception) -> NoReturn:
    _fail(
        "no se pudo usar la base de datos; ¿está disponible y actualizada? Ejecute «coopdiag db upgrade» "
        f"({type(error).__name__})",
        EXIT_INVALID_ANSWERS,
    )


def _api_error_exit(error: ApiError) -> NoReturn:
    lines = [error.message] + [f"  - {d.get('field')}: {d.get('message')}" for d in error.details]
    _fail("\n".join(lines), EXIT_USAGE)


def command_users(args: argparse.Namespace) -> int:
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from app.auth import service
    from app.auth.models import ROLE_LABELS, User
    from app.db import session_scope
    from app.errors import ApiError
    from app.settings import get_settings

    try:
        settings = get_settings()
    except ValueError as error:
        _fail(f"configuración no válida: {error}", EXIT_USAGE)
    try:
        with session_scope(settings.database_url) as session:
            if args.users_command == "create":
                password = args.password if args.password is not None else _ask_password()
                cooperative_ids = [_cooperative_id(session, ref) for ref in args.cooperative]
                user = service.create_user(
                    session=session,
                    email=args.email,
                    full_name=args.name,
                    role=args.role,
                    password=password,
                    institution=args.institution,
                    cooperative_ids=cooperative_ids,
                    macrozones=args.macrozone,
                    settings=settings,
                    strict=True,
                )
                print(f"Usuario creado: {user.email} ({ROLE_LABELS[user.role]}), id {user.id}.", file=sys.stderr)
                return EXIT_OK
            user = session.scalar(select(User).where(User.email == service.normalise_email(args.email)))
            if user is None:
                _fail(f"no existe un usuario con el correo {service.normalise_email(args.email)}", EXIT_USAGE)
            if not user.is_active:
                _fail(f"el usuario {user.email} está desactivado", EXIT_USAGE)
            token = service.issue_api_token(session=session, user=user, name=args.name)
            print(token)
            print(
                f"Token «{args.name.strip()}» creado para {user.email}; guárdelo: no se vuelve a mostrar.",
                file=sys.stderr,
            )
            return EXIT_OK
    except ApiError as error:
        _api_error_exit(error)
    except SQLAlchemyError as error:
        _database_failure(error)


# --------------------------------------------------------------------------


def command_demo(args: argparse.Namespace) -> int:
    from app.auth.models import ROLE_LABELS
    from app.db import session_scope
    from app.demo import load_demo
    from app.settings import get_settings

    settings = get_settings()
    if settings.is_production:
        _fail("los datos de demostración no se cargan en producción (COOPDIAG_ENVIRONMENT=production)", EXIT_USAGE)
    with session_scope() as session:
        outcome = load_demo(session=session, settings=settings)
    if outcome["created"]:
        print(
            f"Datos de demostración cargados: {outcome['cooperatives']} cooperativas, 2 rondas, respuestas en todos los estados."
        )
    else:
        print("Los datos de demostración ya estaban cargados; no se cambió nada.")
    print("Cuentas de demostración (correo / contraseña):")
    for account in outcome["accounts"]:
        print(f"  {ROLE_LABELS[account.role]:<24} {account.email:<28} {account.password}")
    return EXIT_OK


def build_parser() -> SpanishArgumentParser:
    parser = SpanishArgumentParser(
        prog="coopdiag",
        description="coopdiag: autodiagnóstico de cooperativas agrícolas, agroalimentarias y forestales.",
    )
    commands = parser.add_subparsers(
        dest="command", title="comandos", metavar="COMANDO", parser_class=SpanishArgumentParser
    )
    commands.required = True

    score = commands.add_parser("score", help="calcula el semáforo de un conjunto de respuestas (JSON en la salida)")
    score.add_argument("questionnaire", metavar="CUESTIONARIO", help="archivo YAML o JSON del cuestionario")
    score.add_argument(
        "answers", metavar="RESPUESTAS.json", nargs="?", help="respuestas en JSON ('-' lee la entrada estándar)"
    )
    score.add_argument(
        "--batch",
        metavar="RESPUESTAS.jsonl",
        help="un conjunto de respuestas por línea; una línea de resultado por cada una",
    )
    score.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="con --batch: procesos en paralelo (0 = uno por núcleo); el orden de salida se mantiene",
    )
    score.set_defaults(handler=command_score)

    questionnaire = commands.add_parser("questionnaire", help="revisa, muestra o registra cuestionarios")
    q_commands = questionnaire.add_subparsers(
        dest="questionnaire_command", title="comandos", metavar="COMANDO", parser_class=SpanishArgumentParser
    )
    q_commands.required = True
    check = q_commands.add_parser("check", help="valida el archivo y lista todos sus problemas")
    check.add_argument("file", metavar="ARCHIVO")
    check.set_defaults(handler=command_check)
    show = q_commands.add_parser("show", help="muestra el árbol de dimensiones y subcategorías con sus conteos")
    show.add_argument("file", metavar="ARCHIVO")
    show.add_argument("--preguntas", action="store_true", help="incluye cada pregunta en el árbol")
    show.set_defaults(handler=command_show)
    load = q_commands.add_parser(
        "load", help="registra en la base de datos los cuestionarios de una carpeta o archivo (id, versión y huella)"
    )
    load.add_argument(
        "path",
        metavar="CARPETA_O_ARCHIVO",
        nargs="?",
        help="por omisión la carpeta de cuestionarios configurada (COOPDIAG_QUESTIONNAIRES_DIR)",
    )
    load.set_defaults(handler=command_questionnaire_load)
    xlsform = q_commands.add_parser("xlsform", help="exporta el cuestionario como XLSForm (ODK Collect, KoboCollect)")
    xlsform.add_argument("file", metavar="ARCHIVO")
    xlsform.add_argument(
        "-o",
        "--output",
        metavar="SALIDA.xlsx",
        help="archivo a escribir; por omisión <id>-<versión>.xlsx en la carpeta actual",
    )
    xlsform.set_defaults(handler=command_xlsform)

    backup = commands.add_parser(
        "backup", help="respalda la base de datos (SQLite: copia en línea; PostgreSQL: pg_dump)"
    )
    backup.add_argument(
        "file",
        metavar="ARCHIVO",
        nargs="?",
        type=Path,
        help="por omisión var/respaldos/coopdiag-AAAAMMDD-HHMMSS.zip (manifest.json y los datos)",
    )
    backup.set_defaults(handler=command_backup)
    restore = commands.add_parser("restore", help="reemplaza el contenido de la base de datos con un respaldo")
    restore.add_argument("file", metavar="ARCHIVO", type=Path)
    restore.add_argument("--yes", action="store_true", help="confirma que se reemplaza todo el contenido actual")
    restore.set_defaults(handler=command_restore)

    database = commands.add_parser("db", help="migraciones de la base de datos")
    db_commands = database.add_subparsers(
        dest="db_command", title="comandos", metavar="COMANDO", parser_class=SpanishArgumentParser
    )
    db_commands.required = True
    upgrade = db_commands.add_parser("upgrade", help="aplica las migraciones pendientes")
    upgrade.add_argument("revision", metavar="REVISIÓN", nargs="?", default="head")
    upgrade.set_defaults(handler=command_db)
    downgrade = db_commands.add_parser("downgrade", help="revierte migraciones hasta REVISIÓN ('base' la deja vacía)")
    downgrade.add_argument("revision", metavar="REVISIÓN")
    downgrade.set_defaults(handler=command_db)

    users = commands.add_parser("users", help="cuentas de usuario")
    u_commands = users.add_subparsers(
        dest="users_command", title="comandos", metavar="COMANDO", parser_class=SpanishArgumentParser
    )
    u_commands.required = True
    create = u_commands.add_parser("create", help="crea una cuenta con contraseña")
    create.add_argument(
        "--role",
        required=True,
        metavar="ROL",
        help="admin, analyst (analista), field (equipo de terreno) o manager (gerente)",
    )
    create.add_argument("--email", required=True, metavar="CORREO")
    create.add_argument("--name", required=True, metavar="NOMBRE", help="nombre completo")
    create.add_argument(
        "--password",
        metavar="CONTRASEÑA",
        help="al menos 10 caracteres; sin esta opción se pide (o se lee de la entrada estándar)",
    )
    create.add_argument(
        "--institution", metavar="INSTITUCIÓN", help="institución (obligatoria para el equipo de terreno)"
    )
    create.add_argument(
        "--cooperative",
        action="append",
        default=[],
        metavar="RUT_O_ID",
        help="cooperativa asignada, por id o por RUT con guion; se puede repetir",
    )
    create.add_argument(
        "--macrozone",
        action="append",
        default=[],
        metavar="MACROZONA",
        help="macrozona asignada (equipo de terreno); se puede repetir",
    )
    create.set_defaults(handler=command_users)
    token = u_commands.add_parser("token", help="crea un token de acceso personal y lo muestra una vez")
    token.add_argument("--email", required=True, metavar="CORREO")
    token.add_argument("--name", required=True, metavar="NOMBRE", help="nombre para reconocer el token")
    token.set_defaults(handler=command_users)

    demo = commands.add_parser(
        "demo", help="carga datos de demostración (cooperativas, rondas, respuestas, una cuenta por rol)"
    )
    demo.set_defaults(handler=command_demo)

    from app.reports.cli import add_parsers as add_report_parsers
    from app.responses.cli import add_parsers as add_rescore_parsers

    add_report_parsers(commands)
    add_rescore_parsers(commands)

    from app.worker import add_parsers as add_worker_parsers

    add_worker_parsers(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("coopdiag: interrumpido", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except SystemExit:
        raise
    except Exception as error:  # noqa: BLE001 - a person never sees a traceback
        print(f"coopdiag: error inesperado ({type(error).__name__}): {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
