"""The arena worker: the promotion policy, then an admission cycle on the market's cadence.

Each step first lets the promotion policy catch up with the lifecycle log (every passed
audition enters the queue once) and the ``arena`` read model with the competition log.
One item, ``cycle:<n>``, is due when the market clock enters a new cadence period
(``CLASH_ARENA_CADENCE_SECONDS``, five market minutes by default), or sooner when an entry
has a step left (a departure to stop, an admission whose account or binding failed: tried
again every 10 s of service time). The
item's key names the period, so the runtime's lease lets one worker run it while others
skip it; the cycle itself is safe to run concurrently anyway (admissions are atomic with the
slots), which is what ``POST /v1/internal/arena/sync`` relies on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from adapters.bootstrap import Container
from adapters.promotion_policy import PromotionPolicy
from projections.arena import ArenaProjection, open_entries
from projections.runner import ProjectionRunner
from workers.runtime import WorkItem

STEP_RETRY = timedelta(seconds=10)  # a member's failed step is tried again this often


@dataclass
class ArenaWorker:
    """The ``arena`` worker."""

    container: Container
    name: str = "arena"
    interval: timedelta = timedelta(seconds=1)
    critical: bool = False
    _done: str | None = field(default=None, init=False)
    _ran_at: datetime | None = field(default=None, init=False)

    def pending(self, now: datetime) -> Sequence[WorkItem]:
        """The cycle of the current cadence period, if not yet run here (or a step is left)."""
        catch_up(self.container)
        key = f"cycle:{self._period()}"
        if key != self._done:
            return [WorkItem(key)]
        retry = self._ran_at is None or now - self._ran_at >= STEP_RETRY
        return [WorkItem(key)] if retry and open_entries(self.container.database) else []

    def perform(self, item: WorkItem, now: datetime) -> None:
        """Run one admission cycle, then catch the read model up with what it recorded."""
        self.container.arena.run()
        _arena_runner(self.container).catch_up()
        self._done, self._ran_at = item.key, now

    def _period(self) -> int:
        cadence = self.container.settings.arena_cadence_seconds
        return int(self.container.market_clock.now().timestamp()) // cadence


def catch_up(container: Container) -> None:
    """Enqueue new passes, then bring the ``arena`` read model up to date."""
    PromotionPolicy(
        container.database, container.lifecycle, container.competition, container.service_clock.now
    ).catch_up()
    _arena_runner(container).catch_up()


def _arena_runner(container: Container) -> ProjectionRunner:
    return ProjectionRunner(
        container.database, container.competition, ArenaProjection(), container.service_clock.now
    )
