"""The trading worker: drives exactly the bound accounts, one work item per account.

Each step catches the bindings read model up (so a binding made a moment ago trades at its
next tick), then yields one item per active binding whose window has started. Items are
per account so the runtime leases, retries and dead-letters each account on its own: one
account whose version cannot be loaded never stops the others, and several trading
workers share the accounts between them. ``perform`` is idempotent (decision rows are
keyed by account and tick; orders by decision), so at-least-once delivery trades once.
Artifacts past their retention are purged once an hour of service time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from adapters.bootstrap import Container
from projections.runner import ProjectionRunner
from projections.trading_bindings import BoundAccount, TradingBindingsProjection, active_bindings
from workers.runtime import WorkItem

PURGE_EVERY = timedelta(hours=1)


@dataclass
class TradingWorker:
    """The ``trading`` worker."""

    container: Container
    name: str = "trading"
    interval: timedelta = timedelta(seconds=1)
    critical: bool = False
    _bound: dict[str, BoundAccount] = field(default_factory=dict, init=False)
    _done_at: dict[str, datetime] = field(default_factory=dict, init=False)
    _purged_at: datetime | None = field(default=None, init=False)

    def pending(self, now: datetime) -> Sequence[WorkItem]:
        """One item per bound account not yet stepped at the market clock's now."""
        self._purge(now)
        self._runner().catch_up()
        market_now = self.container.market_clock.now()
        self._bound = {
            str(b.account_id): b
            for b in active_bindings(self.container.database)
            if b.window.start <= market_now
        }
        return [
            WorkItem(f"account:{account}")
            for account in sorted(self._bound)
            if self._done_at.get(account) != market_now
        ]

    def perform(self, item: WorkItem, now: datetime) -> None:
        """Decide the account's due ticks at the market clock's now."""
        account = item.key.removeprefix("account:")
        bound = self._bound.get(account)
        if bound is None:
            return
        market_now = self.container.market_clock.now()
        self.container.trading_engine.tick(bound, market_now)
        self._done_at[account] = market_now

    def _runner(self) -> ProjectionRunner:
        return ProjectionRunner(
            self.container.database,
            self.container.trading,
            TradingBindingsProjection(),
            self.container.service_clock.now,
        )

    def _purge(self, now: datetime) -> None:
        if self._purged_at is not None and now - self._purged_at < PURGE_EVERY:
            return
        self._purged_at = now
        retention = timedelta(days=self.container.settings.artifact_retention_days)
        self.container.artifacts.purge(now, retention)
