"""The promotion policy: every passed audition enters the Promotion Queue exactly once.

Why a policy and not a call from Lifecycle: the queue is the competition module's, and no
module writes another's aggregates (ARCHITECTURE.md section 2). It follows the lifecycle log
with tracking (``adapters/tracked_policy.py``); the entry's id derives from the audition
(``entry_id_for``) and enqueueing an existing entry does nothing, so a pass re-read after a
crash, or by two policies at once, is enqueued once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from adapters.database import Database
from adapters.tracked_policy import TrackedPolicy
from domain.competition.application import Competition
from domain.lifecycle.application import Lifecycle
from domain.lifecycle.audition import Audition


class PromotionPolicy(TrackedPolicy):
    """Follows the lifecycle log; enqueues each ``AuditionPassed``."""

    name = "promotion_policy"

    def __init__(
        self,
        database: Database,
        lifecycle: Lifecycle,
        competition: Competition,
        clock: Callable[[], datetime],
    ) -> None:
        super().__init__(database, lifecycle, clock)
        self.lifecycle = lifecycle
        self.competition = competition

    def act(self, event: Any) -> int:
        """Enqueue a passed audition (once)."""
        if not isinstance(event, Audition.AuditionPassed):
            return 0
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
