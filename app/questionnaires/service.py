"""Registering the questionnaire files of a folder in the database.

A questionnaire is identified by ``(id, version)``. Once a version is
registered its content is frozen: diagnoses refer to it, so a file whose
content changes while keeping the same version is refused; the author must
give it a new ``version``. Registering the same files again is a no-op.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.questionnaires.models import QuestionnaireVersion
from scoring import QuestionnaireError, load_questionnaire

if TYPE_CHECKING:
    from scoring.model import Questionnaire

logger = logging.getLogger(__name__)

#: File name endings read as questionnaires (JSON is read as YAML).
QUESTIONNAIRE_SUFFIXES = (".yaml", ".yml", ".json")


class QuestionnaireDirectoryError(Exception):
    """The questionnaires folder does not exist or cannot be read."""


class QuestionnaireConflictError(Exception):
    """A file changed content under a version that is already registered.

    ``conflicts`` lists ``(path, Spanish message)`` for every offending file;
    ``messages`` the messages alone; ``str()`` joins them.
    """

    def __init__(self, conflicts: list[tuple[Path, str]]) -> None:
        self.conflicts = list(conflicts)
        self.paths = [path for path, _ in self.conflicts]
        self.messages = [message for _, message in self.conflicts]
        super().__init__("\n".join(self.messages))


@dataclass(frozen=True)
class LoadedQuestionnaire:
    """A questionnaire file that loaded without problems."""

    path: Path
    questionnaire: Questionnaire
    source: str
    content_hash: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.questionnaire.id, self.questionnaire.version)


@dataclass(frozen=True)
class LoadFailure:
    """A questionnaire file that could not be loaded, with Spanish messages."""

    path: Path
    message: str
    problems: tuple[str, ...] = ()


@dataclass
class DirectoryContents:
    loaded: list[LoadedQuestionnaire] = field(default_factory=list)
    failed: list[LoadFailure] = field(default_factory=list)


@dataclass
class RegistrationResult:
    """What ``register_questionnaires`` found and did."""

    loaded: list[LoadedQuestionnaire] = field(default_factory=list)
    failed: list[LoadFailure] = field(default_factory=list)
    #: Rows inserted by this call.
    registered: list[QuestionnaireVersion] = field(default_factory=list)
    #: Rows that were already registered with the same content.
    unchanged: list[QuestionnaireVersion] = field(default_factory=list)


def content_hash(source: str) -> str:
    """SHA-256 (hex) of a questionnaire's text, as stored in ``content_hash``."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def questionnaire_files(directory: Path) -> list[Path]:
    """The questionnaire files of ``directory``, sorted by name (hidden files skipped)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise QuestionnaireDirectoryError(f"La carpeta de cuestionarios '{directory}' no existe o no es una carpeta.")
    return sorted(
        path
        for path in directory.iterdir()
        if path.is_file() and not path.name.startswith(".") and path.suffix.lower() in QUESTIONNAIRE_SUFFIXES
    )


def load_questionnaire_file(path: Path) -> LoadedQuestionnaire | LoadFailure:
    """Load one file; never raises for a bad file, returns a ``LoadFailure`` instead."""
    path = Path(path)
    try:
        # Universal newlines: the hash does not depend on CRLF vs LF checkouts.
        source = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        return LoadFailure(path, f"El archivo '{path.name}' no está codificado en UTF-8.")
    except OSError as exc:
        return LoadFailure(path, f"No se pudo leer el archivo '{path.name}': {exc.strerror or exc}.")
    try:
        questionnaire = load_questionnaire(source, source=path.name)
    except QuestionnaireError as exc:
        problems = tuple(str(problem) for problem in getattr(exc, "problems", ()) or ())
        count = len(problems)
        if count == 1:
            message = f"El archivo '{path.name}' tiene 1 problema y no se cargó."
        elif count:
            message = f"El archivo '{path.name}' tiene {count} problemas y no se cargó."
        else:
            message = f"El archivo '{path.name}' no se cargó: {exc}"
        return LoadFailure(path, message, problems)
    except Exception:  # a loader bug must not take the whole site down
        logger.exception("Error inesperado al cargar %s", path)
        return LoadFailure(path, f"Error inesperado al cargar el archivo '{path.name}'.")
    return LoadedQuestionnaire(path, questionnaire, source, content_hash(source))


def load_directory(directory: Path) -> DirectoryContents:
    """Load every questionnaire file of ``directory``."""
    contents = DirectoryContents()
    for path in questionnaire_files(directory):
        result = load_questionnaire_file(path)
        if isinstance(result, LoadFailure):
            contents.failed.append(result)
        else:
            contents.loaded.append(result)
    return contents


def _conflict_message(item: LoadedQuestionnaire, registered_at: str) -> str:
    qid, version = item.key
    return (
        f"El archivo '{item.path.name}' cambió de contenido, pero la versión '{version}' "
        f"del cuestionario '{qid}' ya está registrada con otro contenido "
        f"(registrada el {registered_at}). "
        "Una versión registrada no puede modificarse: asigne un nuevo valor a 'version' "
        "en el archivo."
    )


def register_questionnaires(*, session: Session, directory: Path) -> RegistrationResult:
    """Register the questionnaires of ``directory`` in the database.

    New ``(id, version)`` pairs are inserted (and flushed; the caller
    commits). Files that fail to load are reported in ``failed`` and skipped.
    If any file changed content under an already registered version (or two
    files share a version with different content), nothing is inserted and
    ``QuestionnaireConflictError`` is raised naming every such file.
    """
    return register_loaded_questionnaires(session=session, contents=load_directory(Path(directory)))


def register_loaded_questionnaires(*, session: Session, contents: DirectoryContents) -> RegistrationResult:
    """``register_questionnaires`` for files already loaded with ``load_directory``."""
    result = RegistrationResult(loaded=list(contents.loaded), failed=list(contents.failed))

    existing = {(row.questionnaire_id, row.version): row for row in session.scalars(select(QuestionnaireVersion))}
    seen: dict[tuple[str, str], LoadedQuestionnaire] = {}
    conflicts: list[tuple[Path, str]] = []
    to_insert: list[LoadedQuestionnaire] = []
    for item in contents.loaded:
        qid, version = item.key
        row = existing.get(item.key)
        earlier = seen.get(item.key)
        if row is not None:
            if row.content_hash != item.content_hash:
                when = row.registered_at.strftime("%Y-%m-%d %H:%M UTC")
                conflicts.append((item.path, _conflict_message(item, when)))
            elif row not in result.unchanged:
                result.unchanged.append(row)
        elif earlier is not None:
            if earlier.content_hash != item.content_hash:
                conflicts.append(
                    (
                        item.path,
                        f"Los archivos '{earlier.path.name}' y '{item.path.name}' declaran la "
                        f"misma versión '{version}' del cuestionario '{qid}' con contenidos "
                        "distintos: asigne a cada uno un valor distinto de 'version'.",
                    )
                )
        else:
            to_insert.append(item)
        seen.setdefault(item.key, item)

    if conflicts:
        raise QuestionnaireConflictError(conflicts)

    for item in to_insert:
        row = QuestionnaireVersion(
            questionnaire_id=item.questionnaire.id,
            version=item.questionnaire.version,
            title=item.questionnaire.title,
            content_hash=item.content_hash,
            source=item.source,
        )
        session.add(row)
        result.registered.append(row)
    session.flush()
    return result


def list_questionnaires(*, session: Session) -> list[QuestionnaireVersion]:
    """Every registered questionnaire version, by id then registration order."""
    statement = select(QuestionnaireVersion).order_by(
        QuestionnaireVersion.questionnaire_id,
        QuestionnaireVersion.registered_at,
        QuestionnaireVersion.id,
    )
    return list(session.scalars(statement))


# --------------------------------------------------------------------------- API and CLI helpers


def get_version(*, session: Session, version_id: int) -> QuestionnaireVersion | None:
    return session.get(QuestionnaireVersion, version_id)


def version_usage(*, session: Session, version_ids: list[int]) -> dict[int, dict[str, int]]:
    """For each version row id: how many rounds use it and how many responses answer it
    (through their round or their frozen result snapshot)."""
    from sqlalchemy import func, or_

    from app.responses.models import Response
    from app.rounds.models import DiagnosisRound

    usage = {version_id: {"rounds": 0, "responses": 0} for version_id in version_ids}
    if not version_ids:
        return usage
    for version_id, count in session.execute(
        select(DiagnosisRound.questionnaire_version_id, func.count())
        .where(DiagnosisRound.questionnaire_version_id.in_(version_ids))
        .group_by(DiagnosisRound.questionnaire_version_id)
    ):
        usage[version_id]["rounds"] = count
    for version_id in version_ids:
        usage[version_id]["responses"] = (
            session.scalar(
                select(func.count(Response.id.distinct()))
                .select_from(Response)
                .join(DiagnosisRound, DiagnosisRound.id == Response.round_id)
                .where(
                    or_(
                        DiagnosisRound.questionnaire_version_id == version_id,
                        Response.snapshot_questionnaire_version_id == version_id,
                    )
                )
            )
            or 0
        )
    return usage


def load_path(path: Path) -> DirectoryContents:
    """The questionnaires of a folder, or of one file."""
    path = Path(path)
    if path.is_dir():
        return load_directory(path)
    if not path.exists():
        raise QuestionnaireDirectoryError(f"No existe el archivo o la carpeta de cuestionarios '{path}'.")
    contents = DirectoryContents()
    result = load_questionnaire_file(path)
    if isinstance(result, LoadFailure):
        contents.failed.append(result)
    else:
        contents.loaded.append(result)
    return contents


def register_path(*, session: Session, path: Path) -> RegistrationResult:
    """Register the questionnaire file or folder ``path`` (``coopdiag questionnaire load``).

    Like ``register_loaded_questionnaires``; a conflict message also says how many
    responses already use the registered version (which is therefore immutable).
    """
    contents = load_path(path)
    try:
        return register_loaded_questionnaires(session=session, contents=contents)
    except QuestionnaireConflictError as error:
        by_path = {item.path: item for item in contents.loaded}
        existing = {(row.questionnaire_id, row.version): row for row in session.scalars(select(QuestionnaireVersion))}
        rows = {p: existing.get(by_path[p].key) for p in error.paths if p in by_path}
        usage = version_usage(session=session, version_ids=[row.id for row in rows.values() if row is not None])
        conflicts = []
        for conflict_path, message in error.conflicts:
            row = rows.get(conflict_path)
            used = usage.get(row.id, {}).get("responses", 0) if row is not None else 0
            if used:
                message += (
                    f" Esa versión ya la usa{'n' if used != 1 else ''} {used} respuesta{'s' if used != 1 else ''}: "
                    "es inmutable."
                )
            conflicts.append((conflict_path, message))
        raise QuestionnaireConflictError(conflicts) from None
