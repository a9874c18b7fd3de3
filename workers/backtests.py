"""The backtest worker: runs queued jobs under leases, and keeps the queue and artifacts tidy.

One work item per runnable job (``job:<id>``): every running job (so a job whose holder
died is resumed once its lease expires) and the oldest queued jobs the concurrency limits
admit (``CLASH_BACKTEST_MAX_CONCURRENT`` in total, ``..._PER_USER`` per user; checked again
when the job starts). The runtime's lease on the item keeps two workers off one job; its
TTL is this worker's own (``CLASH_BACKTEST_LEASE_TTL_SECONDS``) and a run renews it at
every cancel poll (:func:`workers.runtime.keep_lease`), so a long run keeps its job while
a killed worker's job is picked up one TTL after its last heartbeat. ``perform`` is
:meth:`adapters.backtest_runner.BacktestRunner.run`; failures are retried by the runtime
and dead-lettered after ``CLASH_WORKER_MAX_ATTEMPTS``, and this worker then marks the job
failed with the last error.

Housekeeping, every step: queued jobs not started within ``CLASH_BACKTEST_QUEUE_TTL_SECONDS``
expire; dead-lettered jobs fail. Once an hour (the janitor): expiring artifacts past
``CLASH_BACKTEST_ARTIFACT_RETENTION_DAYS`` are purged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

import structlog

from adapters.backtest_runner import BacktestRunner, RunSuperseded
from adapters.bootstrap import Container
from adapters.dead_letters import DeadLetterStore
from domain.backtesting.jobs import ConcurrencyLimits
from workers.runtime import LeaseLost, WorkItem, keep_lease

PURGE_EVERY = timedelta(hours=1)
NAME = "backtests"
_PREFIX = "job:"
log = structlog.get_logger("workers.backtests")


@dataclass
class BacktestWorker:
    """The ``backtests`` worker."""

    container: Container
    name: str = NAME
    interval: timedelta = timedelta(seconds=1)
    critical: bool = False
    lease_ttl: timedelta = field(init=False)
    _purged_at: datetime | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.lease_ttl = timedelta(seconds=self.container.settings.backtest_lease_ttl_seconds)

    @property
    def limits(self) -> ConcurrencyLimits:
        """The concurrency limits from the settings."""
        settings = self.container.settings
        return ConcurrencyLimits(
            settings.backtest_max_concurrent, settings.backtest_max_concurrent_per_user
        )

    def pending(self, now: datetime) -> Sequence[WorkItem]:
        """Tidy the queue, then one item per runnable job, oldest first."""
        self._housekeep(now)
        jobs = self.container.backtests.store.runnable(self.limits)
        return [WorkItem(f"{_PREFIX}{job.job_id}") for job in jobs]

    def perform(self, item: WorkItem, now: datetime) -> None:
        """Run the job (start or resume it); raise to have the runtime retry it."""
        job_id = UUID(item.key.removeprefix(_PREFIX))
        status = BacktestRunner(self.container).run(job_id, self.limits, heartbeat=_heartbeat)
        log.info("backtest_run", job=str(job_id), status=status)

    def _housekeep(self, now: datetime) -> None:
        store = self.container.backtests.store
        ttl = timedelta(seconds=self.container.settings.backtest_queue_ttl_seconds)
        store.expire_queued(now - ttl, now)
        for letter in DeadLetterStore(self.container.database).list_open(NAME):
            if letter.item_key.startswith(_PREFIX):
                job_id = UUID(letter.item_key.removeprefix(_PREFIX))
                store.fail_unfinished(job_id, now, letter.last_error)
        if self._purged_at is None or now - self._purged_at >= PURGE_EVERY:
            self._purged_at = now
            self.container.backtests.artifacts.purge_expired(now)


def _heartbeat() -> None:
    try:
        keep_lease()
    except LeaseLost as exc:
        raise RunSuperseded(str(exc)) from exc
