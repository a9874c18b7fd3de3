"""The auditions worker: drives audition processes and judges running auditions.

Each step catches the auditions read model up (so an audition submitted a moment ago is
driven at once), then yields one item per audition with work left. Performing an item:

1. advances the audition's process (attempt, account, binding and window; after a verdict
   the run's close; after a void the refund; after an abandonment the attempt's release);
2. for a running audition in live mode, voids it when market memory's health history shows
   a channel of its assets ``down`` during its window (the data it is judged on was not
   there, so neither verdict would be fair, and the fee is refunded);
3. checks a running audition on every mark up to the market clock's now
   (``adapters.audition_evaluation``), and performs the close at once after a verdict.

Items are per audition so the runtime leases, retries and dead-letters each on its own. A
step that failed is tried again after a backoff that doubles per failure (1 s, 2 s, 4 s ...
of service time, at most 5 minutes); a starting process abandons at the fifth failure (see
``adapters.audition_process``), while a close, refund or release keeps being retried, its
error shown as the audition's ``lastError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from adapters.bootstrap import Container
from domain.lifecycle.audition import Audition, AuditionState
from domain.market.health import HealthState
from projections.auditions import AuditionsProjection, open_auditions
from projections.runner import ProjectionRunner
from workers.runtime import WorkItem

UNHEALTHY_VOID_REASON = "market_data_unhealthy"
SYSTEM = "system:auditions"
MAX_BACKOFF_SECONDS = 300  # a close or refund that keeps failing is retried every 5 minutes


@dataclass
class AuditionWorker:
    """The ``auditions`` worker."""

    container: Container
    name: str = "auditions"
    interval: timedelta = timedelta(seconds=1)
    critical: bool = False
    _retry_at: dict[UUID, datetime] = field(default_factory=dict, init=False)

    def pending(self, now: datetime) -> Sequence[WorkItem]:
        """One item per audition with work left whose backoff has passed."""
        self._runner().catch_up()
        return [
            WorkItem(f"audition:{audition_id}")
            for audition_id in open_auditions(self.container.database)
            if self._retry_at.get(audition_id, now) <= now
        ]

    def perform(self, item: WorkItem, now: datetime) -> None:
        """Drive the audition's process, then judge it up to the market clock's now."""
        audition_id = UUID(item.key.removeprefix("audition:"))
        process = self.container.audition_process
        audition = process.advance(audition_id)
        self._backoff(audition, now)
        if audition.state is not AuditionState.RUNNING:
            return
        market_now = self.container.market_clock.now()
        if self._unhealthy(audition, market_now):
            self.container.lifecycle.void(
                audition_id, reason=UNHEALTHY_VOID_REASON, voided_by=SYSTEM
            )
            process.advance(audition_id)
            return
        if self.container.audition_evaluation.check(audition, market_now) is not None:
            process.advance(audition_id)

    def _backoff(self, audition: Audition, now: datetime) -> None:
        if audition.failures and audition.step is not None:
            delay = min(2 ** (audition.failures - 1), MAX_BACKOFF_SECONDS)
            self._retry_at[audition.id] = now + timedelta(seconds=delay)
        else:
            self._retry_at.pop(audition.id, None)

    def _unhealthy(self, audition: Audition, market_now: datetime) -> bool:
        """Whether a channel of the audition's assets went down during its window (live)."""
        started = audition.run.started_at
        if self.container.settings.market_mode != "live" or started is None:
            return False
        spec = self.container.clones.version(audition.version_id).spec
        health = self.container.source_health
        channels = [("hyperliquid", "contexts")] + [
            ("hyperliquid", f"candles:{asset}:5m") for asset in spec.asset_names
        ]
        return any(
            change.to_state is HealthState.DOWN
            for source, channel in channels
            for change in health.changes(source, channel, start=started, end=market_now)
        )

    def _runner(self) -> ProjectionRunner:
        return ProjectionRunner(
            self.container.database,
            self.container.lifecycle,
            AuditionsProjection(),
            self.container.service_clock.now,
        )
