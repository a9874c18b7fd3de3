"""A policy that follows another module's event log with tracking (ARCHITECTURE.md section 2).

A row in ``projection_tracking`` (the policy's name, the followed application's name)
holds the last notification the policy acted on. Delivery is at least once: the effect of
an event is saved (in the acting module's own store) *before* the position moves past it,
so a policy killed between the two re-reads the event on restart; each effect is made
idempotent by an id derived from its cause, so the effect happens exactly once. The position
moves by a conditional update, so two policies at once never move it backwards.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime
from typing import Any

from eventsourcing.application import Application

from adapters.database import Database, to_micros

PAGE = 500


class TrackedPolicy(ABC):
    """Follows one application's log; :meth:`act` on each event."""

    name: str
    version: int = 1

    def __init__(
        self, database: Database, followed: Application[Any], clock: Callable[[], datetime]
    ) -> None:
        self.database = database
        self.followed = followed
        self.clock = clock

    @abstractmethod
    def act(self, event: Any) -> int:
        """Make the event's effect (idempotently); return how many effects were new."""

    def catch_up(self, page: int = PAGE, limit: int | None = None) -> int:
        """Act on the events after the tracked position (at most ``limit`` of them, a bounded
        step); return how many new effects were made."""
        position = self._position()
        made = read = 0
        while (limit is None or read < limit) and (
            batch := self.followed.recorder.select_notifications(
                start=position, limit=page, inclusive_of_start=False
            )
        ):
            if limit is not None:
                batch = batch[: limit - read]
            read += len(batch)
            made += sum(self.act(self.followed.mapper.to_domain_event(n)) for n in batch)
            if not self._advance(position, batch[-1].id):
                position = self._position()  # another policy moved on: continue from there
                continue
            position = batch[-1].id
        return made

    def position(self) -> int:
        """The last notification acted on."""
        return self._position()

    def _position(self) -> int:
        with self.database.transaction() as session:
            row = session.fetch_one(
                "SELECT position, version FROM projection_tracking"
                " WHERE projection = %s AND application = %s",
                (self.name, self.followed.name),
            )
            if row is not None and int(row["version"]) == self.version:
                return int(row["position"])
            session.execute(
                "DELETE FROM projection_tracking WHERE projection = %s AND application = %s",
                (self.name, self.followed.name),
            )
            session.execute(
                "INSERT INTO projection_tracking (projection, application, version, position,"
                " status, error, updated_at) VALUES (%s, %s, %s, 0, 'running', NULL, %s)"
                " ON CONFLICT (projection, application) DO NOTHING",
                (self.name, self.followed.name, self.version, to_micros(self.clock())),
            )
        return 0

    def _advance(self, start: int, end: int) -> bool:
        with self.database.transaction() as session:
            moved = session.execute(
                "UPDATE projection_tracking SET position = %s, updated_at = %s"
                " WHERE projection = %s AND application = %s AND position = %s",
                (end, to_micros(self.clock()), self.name, self.followed.name, start),
            )
        return moved == 1
