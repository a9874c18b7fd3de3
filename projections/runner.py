"""Running projections: catch up from the log, a page of events per transaction.

A projection's view rows and its tracking position commit in the same transaction, so a
crash anywhere resumes exactly where the last commit left off: nothing skipped, nothing
applied twice. A failing event stops that projection (its tracking row says ``failed`` with
the error) and is re-raised; the rest of the system keeps running. A projection whose code
version differs from the tracked one is rebuilt from the start (schema changes are version
bumps, not migrations).

Several processes may catch one projection up at once (the projections worker, and a
worker that needs a view fresh before it reads it). Each page claims its range by moving
the tracking position with a conditional update (``WHERE position = <start>``) in the
page's own transaction; a runner that loses the claim rolls back, re-reads the position
and carries on from there, so a page is never applied twice.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.application import Application

from adapters.database import Database, Session, to_micros

PAGE = 1000
Progress = Callable[[int, int], None]


class _PageTaken(Exception):
    """Raised inside a page's transaction when another runner already moved the position."""


class Projection(ABC):
    """A named, versioned fold of one application's events into view tables."""

    name: str
    version: int
    tables: tuple[str, ...]

    @abstractmethod
    def create(self, session: Session) -> None:
        """Create the view tables if they do not exist."""

    @abstractmethod
    def apply(self, session: Session, event: Any, position: int) -> None:
        """Write the rows one event implies (unhandled event types write nothing)."""

    def apply_page(self, session: Session, events: Sequence[tuple[Any, int]]) -> None:
        """Write the rows of a page of events (override to batch the writes)."""
        for event, position in events:
            self.apply(session, event, position)


@dataclass(frozen=True)
class ProjectionStatus:
    """Where a projection is in its application's log."""

    projection: str
    application: str
    version: int
    position: int
    head: int
    status: str
    error: str | None

    @property
    def lag(self) -> int:
        """Events (by notification id) not yet projected."""
        return max(0, self.head - self.position)


class ProjectionRunner:
    """Catches one projection up with one application's notification log."""

    def __init__(
        self,
        database: Database,
        application: Application[Any],
        projection: Projection,
        clock: Callable[[], datetime],
    ) -> None:
        self.database = database
        self.application = application
        self.projection = projection
        self.clock = clock

    def catch_up(self, progress: Progress | None = None, page: int = PAGE) -> int:
        """Project every event after the tracked position; return how many were read."""
        position = self._prepare()
        head = self.application.recorder.max_notification_id() or 0
        done = 0
        while True:
            batch = self.application.recorder.select_notifications(
                start=position, limit=page, inclusive_of_start=False
            )
            if not batch:
                return done
            if not self._apply_page(batch, position):
                position = self._prepare()  # another runner applied this page
                continue
            position, done = batch[-1].id, done + len(batch)
            if progress is not None:
                progress(position, max(head, position))

    def _apply_page(self, batch: Sequence[Any], start: int) -> bool:
        mapper = self.application.mapper
        try:
            events = [(mapper.to_domain_event(n), n.id) for n in batch]
            with self.database.transaction() as session:
                if not self._claim(session, start, batch[-1].id):
                    raise _PageTaken
                self.projection.apply_page(session, events)
        except _PageTaken:
            return False
        except Exception as exc:
            with self.database.transaction() as session:
                self._track(session, None, "failed", f"{type(exc).__name__}: {exc}"[:500])
            raise
        return True

    def _claim(self, session: Session, start: int, end: int) -> bool:
        claimed = session.execute(
            "UPDATE projection_tracking SET position = %s, status = 'running', error = NULL,"
            " updated_at = %s WHERE projection = %s AND application = %s AND position = %s"
            " AND version = %s",
            (
                end,
                to_micros(self.clock()),
                self.projection.name,
                self.application.name,
                start,
                self.projection.version,
            ),
        )
        return claimed == 1

    def rebuild(self, progress: Progress | None = None) -> int:
        """Empty the views and the tracking, then project the whole log again."""
        with self.database.transaction() as session:
            self._reset(session)
        return self.catch_up(progress)

    def status(self) -> ProjectionStatus:
        """Position, head and state."""
        row = self._row()
        head = self.application.recorder.max_notification_id() or 0
        return ProjectionStatus(
            self.projection.name,
            self.application.name,
            int(row["version"]) if row else self.projection.version,
            int(row["position"]) if row else 0,
            head,
            row["status"] if row else "not_started",
            row["error"] if row else None,
        )

    def _prepare(self) -> int:
        row = self._row()
        if row is not None and int(row["version"]) == self.projection.version:
            return int(row["position"])
        with self.database.transaction() as session:
            self._reset(session)
        return 0

    def _reset(self, session: Session) -> None:
        self.projection.create(session)
        for table in self.projection.tables:
            session.execute(f"DELETE FROM {table}")
        session.execute(
            "DELETE FROM projection_tracking WHERE projection = %s AND application = %s",
            (self.projection.name, self.application.name),
        )
        self._track(session, 0, "running", None)

    def _row(self) -> dict[str, Any] | None:
        with self.database.transaction(write=False) as session:
            return session.fetch_one(
                "SELECT * FROM projection_tracking WHERE projection = %s AND application = %s",
                (self.projection.name, self.application.name),
            )

    def _track(
        self, session: Session, position: int | None, status: str, error: str | None
    ) -> None:
        now = to_micros(self.clock())
        if position is None:
            session.execute(
                "UPDATE projection_tracking SET status = %s, error = %s, updated_at = %s"
                " WHERE projection = %s AND application = %s",
                (status, error, now, self.projection.name, self.application.name),
            )
            return
        session.execute(
            "INSERT INTO projection_tracking (projection, application, version, position, status,"
            " error, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (projection, application) DO UPDATE SET position = excluded.position,"
            " version = excluded.version, status = excluded.status, error = excluded.error,"
            " updated_at = excluded.updated_at",
            (
                self.projection.name,
                self.application.name,
                self.projection.version,
                position,
                status,
                error,
                now,
            ),
        )
