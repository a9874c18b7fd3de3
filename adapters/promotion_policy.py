"""The promotion policy: every passed audition enters the Promotion Queue exactly once.

Why a policy and not a call from Lifecycle: the queue is the competition module's, and no
module writes another's aggregates (ARCHITECTURE.md section 2). The policy follows the
lifecycle log with tracking: a row in ``projection_tracking`` (projection
``promotion_policy``, application ``lifecycle``) holds the last notification it acted on.

Delivery is at least once: the entry is enqueued (its own save, in the competition event
table) *before* the position moves past it, so a policy killed between the two re-reads the
event on restart. The effect is exactly once all the same: the entry's id derives from the
audition (``entry_id_for``), and enqueueing an existing entry does nothing. The position
moves by a conditional update (``WHERE position = <read>``), so two policies running at once
never move it backwards; both may enqueue the same pass, and the second finds the entry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from adapters.database import Database, to_micros
from domain.competition.application import Competition
from domain.lifecycle.application import Lifecycle
from domain.lifecycle.audition import Audition

NAME = "promotion_policy"
VERSION = 1
PAGE = 500


class PromotionPolicy:
    """Follows the lifecycle log; enqueues each ``AuditionPassed``."""

    def __init__(
        self,
        database: Database,
        lifecycle: Lifecycle,
        competition: Competition,
        clock: Callable[[], datetime],
    ) -> None:
        self.database = database
        self.lifecycle = lifecycle
        self.competition = competition
        self.clock = clock

    def catch_up(self, page: int = PAGE, limit: int | None = None) -> int:
        """Act on the lifecycle events after the tracked position (at most ``limit`` of them,
        a bounded step); return how many passes were enqueued."""
        position = self._position()
        enqueued = read = 0
        while (limit is None or read < limit) and (
            batch := self.lifecycle.recorder.select_notifications(
                start=position, limit=page, inclusive_of_start=False
            )
        ):
            if limit is not None:
                batch = batch[: limit - read]
            read += len(batch)
            enqueued += self._act(batch)
            if not self._advance(position, batch[-1].id):
                position = self._position()  # another policy moved on: continue from there
                continue
            position = batch[-1].id
        return enqueued

    def position(self) -> int:
        """The last lifecycle notification acted on."""
        return self._position()

    def _act(self, batch: Sequence[Any]) -> int:
        count = 0
        for notification in batch:
            event = self.lifecycle.mapper.to_domain_event(notification)
            if isinstance(event, Audition.AuditionPassed):
                count += self._enqueue(event)
        return count

    def _enqueue(self, event: Audition.AuditionPassed) -> int:
        audition = self.lifecycle.audition(event.originator_id)
        _, created = self.competition.enqueue(
            audition.id,
            run=event.run,
            user_id=audition.user_id,
            clone_id=audition.clone_id,
            version_id=audition.version_id,
            score=Decimal(str(event.metrics["score"])),
            passed_at=event.at,
            metrics=event.metrics,
        )
        return int(created)

    def _position(self) -> int:
        with self.database.transaction() as session:
            row = session.fetch_one(
                "SELECT position, version FROM projection_tracking"
                " WHERE projection = %s AND application = %s",
                (NAME, self.lifecycle.name),
            )
            if row is not None and int(row["version"]) == VERSION:
                return int(row["position"])
            session.execute(
                "DELETE FROM projection_tracking WHERE projection = %s AND application = %s",
                (NAME, self.lifecycle.name),
            )
            session.execute(
                "INSERT INTO projection_tracking (projection, application, version, position,"
                " status, error, updated_at) VALUES (%s, %s, %s, 0, 'running', NULL, %s)"
                " ON CONFLICT (projection, application) DO NOTHING",
                (NAME, self.lifecycle.name, VERSION, to_micros(self.clock())),
            )
        return 0

    def _advance(self, start: int, end: int) -> bool:
        with self.database.transaction() as session:
            moved = session.execute(
                "UPDATE projection_tracking SET position = %s, updated_at = %s"
                " WHERE projection = %s AND application = %s AND position = %s",
                (end, to_micros(self.clock()), NAME, self.lifecycle.name, start),
            )
        return moved == 1
