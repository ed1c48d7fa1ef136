"""The one commit convention: a unit of work opened at the edge.

A view, a CLI command, an import run or the demo loader opens one ``UnitOfWork`` around one
business operation; the services and the response aggregate (``responses/lifecycle.py``)
work inside it and never commit. Leaving the block normally commits; an exception (a domain
error above all) rolls everything back, so a refused request leaves nothing half-written.
``tests/test_architecture.py`` checks that nothing else in ``app/`` commits.

    with UnitOfWork(session):
        response = service.submit(session=session, ...)

Services that must turn a uniqueness race into a domain error flush inside ``unique()``; the
error is raised at once and the unit of work rolls back. (Savepoints are used only after a
first write: on SQLite no transaction is open before it, and releasing an outermost savepoint
would commit.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType

from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction

from app.errors import ApiError, Conflict

#: What a uniqueness race lost at commit time says when no service named it more precisely.
RACE_MESSAGE = "Otra solicitud cambió los mismos datos al mismo tiempo; revise y vuelva a intentarlo."


class UnitOfWork:
    """One transaction on ``session``: committed when the block ends normally, rolled back
    when it raises. Objects stay readable after the commit (sessions do not expire on commit)."""

    def __init__(self, session: Session, *, conflict_message: str = RACE_MESSAGE) -> None:
        self.session = session
        self.conflict_message = conflict_message
        self._after_commit: list[Callable[[], None]] = []
        session.info["unit_of_work"] = self

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` once the work is committed (queue a task that reads what was written);
        never when it is rolled back."""
        self._after_commit.append(action)

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.session.info.pop("unit_of_work", None)
        if exc_type is not None:
            self._after_commit.clear()
            self.session.rollback()
            if isinstance(exc, IntegrityError):
                raise Conflict(self.conflict_message, code="conflict") from None
            return
        self.commit()

    def commit(self) -> None:
        """Commit now (the block's end does it; a long import may commit a finished part)."""
        try:
            self.session.commit()
        except IntegrityError:
            self._after_commit.clear()
            self.session.rollback()
            raise Conflict(self.conflict_message, code="conflict") from None
        actions, self._after_commit = self._after_commit, []
        for action in actions:
            action()


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """For a service: run ``action`` once the caller's unit of work commits. Outside one (a
    script, a test that commits itself) it runs on the session's next commit."""
    unit = session.info.get("unit_of_work")
    if isinstance(unit, UnitOfWork):
        unit.after_commit(action)
        return
    if not session.info.get("after_commit_listening"):
        session.info["after_commit_listening"] = True
        event.listen(session, "after_commit", _run_pending)
        event.listen(session, "after_soft_rollback", _drop_pending)
    session.info.setdefault("after_commit", []).append(action)


def _run_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the work is not committed until the transaction is
    for action in session.info.pop("after_commit", []):
        action()


def _drop_pending(session: Session, previous_transaction: SessionTransaction) -> None:
    if not previous_transaction.nested:  # a savepoint undone does not undo the transaction
        session.info.pop("after_commit", None)


@contextmanager
def unique(session: Session, error: Callable[[], ApiError]) -> Iterator[None]:
    """Flush the block's writes; a uniqueness violation (a concurrent request inserted the same
    key first) raises ``error()`` instead. ``error`` must not query: the transaction is failed."""
    try:
        yield
        session.flush()
    except IntegrityError:
        raise error() from None
