"""The model meter: what each model call costs, whose it is, and whether a budget stops it.

Every place that routes a model call goes through here (``docs/model-usage.md``):

- the trading worker and dry runs check :meth:`ModelMeter.stop_for` before deciding (a
  spent budget makes a model strategy hold with ``budget_exhausted``, no provider asked)
  and turn the decision's attempts into a :class:`UsageEntry` that the decision store
  writes in the same transaction as the decision row or the dry-run row;
- a backtest checks the budget before it replays, replays through a :class:`MeteredRouter`
  (which tallies every routing it passes on) and records the tally once, when it ends.

Days are UTC days of the **service clock**: budgets are real money per real day, whatever
the market clock's replay speed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date
from decimal import Decimal
from typing import Any
from uuid import UUID

from adapters.database import Database
from adapters.model_cost_settings import budget_policy, price_book
from adapters.model_usage import (
    GroupBy,
    ModelUsageStore,
    UsageEntry,
    UsageRow,
    UsageTotals,
)
from adapters.settings import Settings
from domain.clock import Clock
from domain.clones.tiers import Grant
from domain.trading.budgets import BudgetPolicy, BudgetStatus
from domain.trading.decisions import Decision, RoutedLike, RouteLike, Router
from domain.trading.providers import ModelCall
from domain.trading.usage import PriceBook, ReportRange, UsageLine, merge, usage_lines


@dataclass(frozen=True)
class Spender:
    """Whose model calls these are: the clone, its owner, and its tier now."""

    user_id: str
    clone_id: UUID
    tier: str | None

    @classmethod
    def of(cls, user_id: str, clone_id: UUID, grant: Grant | None) -> Spender:
        """The spender for a clone holding ``grant`` (``None``: no tier)."""
        return cls(user_id, clone_id, None if grant is None else grant.tier)


@dataclass(frozen=True)
class CloneBudget:
    """One clone's budget today."""

    clone_id: str
    user_id: str
    status: BudgetStatus


@dataclass(frozen=True)
class BudgetReport:
    """Every budget's status today: the global one and each spending clone's."""

    day: date
    soft_ratio: Decimal
    overall: BudgetStatus | None
    clones: tuple[CloneBudget, ...]

    def series(self) -> list[tuple[str, str, BudgetStatus]]:
        """``(scope, tier, status)``: the global budget, and the fullest clone of each tier."""
        found = [] if self.overall is None else [("global", "", self.overall)]
        fullest: dict[str, BudgetStatus] = {}
        for clone in self.clones:  # fullest first
            fullest.setdefault(clone.status.tier or "", clone.status)
        return found + [("clone", tier, status) for tier, status in sorted(fullest.items())]


@dataclass(frozen=True)
class UsageReport:
    """A usage report: rows over a range of days, their totals, and today's budgets."""

    days: ReportRange
    group_by: GroupBy
    rows: tuple[UsageRow, ...]
    totals: UsageTotals
    budgets: BudgetReport


class MeteredRouter:
    """A router that passes calls on and tallies what each routing cost."""

    def __init__(self, inner: Router, prices: PriceBook) -> None:
        self._inner = inner
        self._prices = prices
        self._lines: list[UsageLine] = []

    def complete(self, model_tier: str, call_for: Callable[[RouteLike], ModelCall]) -> RoutedLike:
        """Route the call through the wrapped router, then count its attempts."""
        routed = self._inner.complete(model_tier, call_for)
        reply = routed.reply
        tokens = (0, 0) if reply is None else (reply.tokens_in, reply.tokens_out)
        self._lines += usage_lines([_attempt(a) for a in routed.attempts], tokens, self._prices)
        return routed

    @property
    def usage(self) -> tuple[UsageLine, ...]:
        """Every call so far, per provider and model."""
        return merge(self._lines)


@dataclass
class ModelMeter:
    """Prices, budgets and the usage read model, on the service clock."""

    store: ModelUsageStore
    prices: PriceBook
    budgets: BudgetPolicy
    clock: Clock

    def today(self) -> date:
        """The service clock's UTC day."""
        return self.clock.now().astimezone(UTC).date()

    def stop_for(self, spender: Spender) -> BudgetStatus | None:
        """The spent budget that forbids ``spender``'s next model call, or ``None``."""
        if not self.budgets.configured:
            return None
        spend = self.store.spent(self.today(), spender.clone_id)
        return self.budgets.stop(spender.tier, spend.clone_micros, spend.total_micros)

    def entry(self, spender: Spender, decision: Decision) -> UsageEntry | None:
        """The usage of ``decision``'s model calls (``None`` when it made none)."""
        return self.entry_of(spender, usage_lines(decision.attempts, decision.tokens, self.prices))

    def entry_of(self, spender: Spender, lines: Sequence[UsageLine]) -> UsageEntry | None:
        """``lines`` as today's usage of ``spender`` (``None`` when empty)."""
        if not lines:
            return None
        return UsageEntry(
            self.today(), spender.user_id, spender.clone_id, spender.tier, tuple(lines)
        )

    def record(self, spender: Spender, lines: Sequence[UsageLine]) -> None:
        """Count ``lines`` now, in a transaction of their own (a backtest attempt's calls)."""
        entry = self.entry_of(spender, lines)
        if entry is not None:
            self.store.record(entry)

    def metered(self, router: Router) -> MeteredRouter:
        """``router`` wrapped to tally its calls (backtests)."""
        return MeteredRouter(router, self.prices)

    def report(
        self, start: date | None, end: date | None, group_by: GroupBy, limit: int
    ) -> UsageReport:
        """Usage per ``group_by`` from ``start`` to ``end`` (default: today), with budgets."""
        last = end or self.today()
        days = ReportRange.of(start or last, last)
        rows = tuple(self.store.report(days, group_by, limit))
        totals = self.store.totals(days)
        return UsageReport(days, group_by, rows, totals, self.budget_report())

    def budget_report(self) -> BudgetReport:
        """Today's budgets: the global one, then each clone with a tier budget, fullest first."""
        day = self.today()
        if not self.budgets.configured:
            return BudgetReport(day, self.budgets.soft_ratio, None, ())
        spends = self.store.by_clone(day)
        clones = [
            CloneBudget(s.clone_id, s.user_id, status)
            for s in spends
            if (status := self.budgets.clone_status(s.tier, s.cost_micros)) is not None
        ]
        clones.sort(key=lambda c: (-c.status.ratio, c.clone_id))
        overall = self.budgets.global_status(sum(s.cost_micros for s in spends))
        return BudgetReport(day, self.budgets.soft_ratio, overall, tuple(clones))


def build_model_meter(settings: Settings, database: Database, clock: Clock) -> ModelMeter:
    """The meter the settings describe (no budgets configured: nothing is ever stopped)."""
    return ModelMeter(
        ModelUsageStore(database),
        price_book(settings.model_prices),
        budget_policy(settings.model_budgets),
        clock,
    )


def _attempt(attempt: Any) -> dict[str, Any]:
    return {name: getattr(attempt, name, None) for name in ("provider", "model", "outcome")}
