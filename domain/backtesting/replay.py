"""The replay engine: a compiled strategy traded on an isolated ledger over historical bars.

Parity with live trading is the point, so nothing here re-implements trading: the same
``prop`` application (``PropLedger``) runs on an in-memory store with a simulated clock, the
same ``decide`` turns each tick's context packet into actions (rule evaluation, provider
routing, validation) and the same ``plan_orders`` sizes them. Only time and prices come
from the feed. The run walks the instants at which bars close or open, in order (assets of
different cadences interleave); at each instant:

1. for every bar **closing** now: its path is played: stop-loss and take-profit are checked
   along open, high, low, close: a gap through a level at the open fills at the open;
   otherwise a touched level fills at its price, and when both levels lie inside the bar
   the stop is taken first (conservative); the adverse extreme then tests liquidation.
   Such fills are booked at the bar's close, the first instant the bar is known, so no
   decision of another asset in between can see them early;
2. hourly funding is settled from recorded rates for each top of the hour since the
   previous close, while a position is open (a period with no recorded rate records
   nothing); the equity is sampled (collateral plus unrealized PnL at the closes,
   ``domain.prop.margin.account_value``); the strategy decides on what is knowable now;
3. for every bar **opening** now: the orders decided at the previous close fill at its
   open (the order's reference price) plus the account's slippage and the taker fee, so a
   decision on bar t never fills before bar t+1.

The ledger stores events for orders, fills, funding and nothing per bar: the equity curve is
computed from the account's state and the closes. Same inputs, same result: the input hash
covers the spec, the feed's content and the configuration; the result hash covers the
metrics, trades, fills and curve.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.backtesting.feed import Bar, HistoricalFeed
from domain.backtesting.ledger_trail import fills_and_trades
from domain.backtesting.metrics import ClosedTrade, Metrics, compute_metrics
from domain.clock import SimulatedClock
from domain.market.intervals import floor_to_interval
from domain.prop.application import PropLedger
from domain.prop.margin import account_value
from domain.prop.money import MICROS_PER_USDC
from domain.prop.orders import MarketOrder
from domain.prop.rules import Purpose, RuleSet
from domain.prop.trading import positions_of, trigger_price, would_liquidate
from domain.prop.valuation import value_account
from domain.trading.binding import Window
from domain.trading.cadence import invocation
from domain.trading.context import (
    AccountContext,
    account_context,
    build_packet,
    rules_account,
)
from domain.trading.decisions import Decision, Router, decide
from domain.trading.sizing import PlannedOrder, plan_orders
from domain.trading.spec import StrategySpec, canonical_json

HOUR = timedelta(hours=1)
# The isolated store: in memory, with the account cached between commands (no re-fold).
ISOLATED_ENV = {
    "AGGREGATE_CACHE_MAXSIZE": "8",
    "AGGREGATE_CACHE_FASTFORWARD": "n",
    "DEEPCOPY_FROM_AGGREGATE_CACHE": "n",
}


class ReplayCancelled(Exception):
    """Raised when the run was cancelled between two steps."""


@dataclass(frozen=True)
class ReplayConfig:
    """The window (bars closing in ``(start, end]``), the starting collateral, slippage."""

    start: datetime
    end: datetime
    collateral: Decimal
    slippage_bps: Decimal = Decimal(5)

    def to_document(self) -> dict[str, Any]:
        """The canonical document (part of the input hash)."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "collateral": str(self.collateral),
            "slippage_bps": str(self.slippage_bps),
        }


@dataclass(frozen=True)
class ReplayResult:
    """What a replay produced: figures, curve, trades, fills, decision detail, hashes."""

    steps: int
    decision_ticks: int
    decision_calls: int
    tokens_in: int
    tokens_out: int
    metrics: Metrics
    curve: tuple[tuple[datetime, Decimal], ...]
    trades: tuple[ClosedTrade, ...]
    fills: tuple[dict[str, Any], ...]
    decisions: tuple[dict[str, Any], ...]
    input_hash: str
    result_hash: str

    def summary_document(self) -> dict[str, Any]:
        """The durable summary: counts, usage, hashes and metrics."""
        return {
            "steps": self.steps,
            "decisionTicks": self.decision_ticks,
            "decisionCalls": self.decision_calls,
            "tokensIn": self.tokens_in,
            "tokensOut": self.tokens_out,
            "trades": len(self.trades),
            "fills": len(self.fills),
            "actingDecisions": len(self.decisions),
            "inputHash": self.input_hash,
            "resultHash": self.result_hash,
            "metrics": self.metrics.to_document(),
        }


@dataclass(frozen=True)
class _Step:
    """One instant: the bars closing at it (then decided on), the bars opening at it."""

    at: datetime
    closing: dict[str, Bar]
    opening: dict[str, Bar]
    previous: datetime  # the previous closing instant (the window's start at first)
    number: int


@dataclass
class _Usage:
    ticks: int = 0
    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0


def replay(
    spec: StrategySpec,
    feed: HistoricalFeed,
    config: ReplayConfig,
    *,
    router: Router | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> ReplayResult:
    """Trade ``spec`` over the feed's bars closing in ``(config.start, config.end]``."""
    run = _Run(spec, feed, config, router)
    for step in _steps(spec, feed, config):
        if cancelled():
            raise ReplayCancelled(f"cancelled before {step.at.isoformat()}")
        run.step(step)
    return run.result()


def _steps(spec: StrategySpec, feed: HistoricalFeed, config: ReplayConfig) -> list[_Step]:
    """The run's instants in order; assets of different cadences interleave correctly."""
    closing: dict[datetime, dict[str, Bar]] = {}
    opening: dict[datetime, dict[str, Bar]] = {}
    for asset in spec.asset_names:
        for bar in feed.bars.get(asset, ()):
            if config.start < bar.close_time <= config.end:
                closing.setdefault(bar.close_time, {})[asset] = bar
                opening.setdefault(bar.open_time, {})[asset] = bar
    steps: list[_Step] = []
    previous = config.start
    for at in sorted(closing.keys() | opening.keys()):
        steps.append(_Step(at, closing.get(at, {}), opening.get(at, {}), previous, len(steps)))
        if at in closing:
            previous = at
    return steps


class _Run:
    """One replay's mutable state: the isolated ledger, pending orders, the curve."""

    def __init__(
        self, spec: StrategySpec, feed: HistoricalFeed, config: ReplayConfig, router: Router | None
    ) -> None:
        self.spec, self.feed, self.config, self.router = spec, feed, config, router
        self.clock = SimulatedClock(config.start)
        self.ledger = PropLedger(clock=self.clock, env=ISOLATED_ENV)
        self.ledger.bind_market(feed)
        self.account_id = self._open()
        self.pending: dict[str, MarketOrder] = {}
        self.curve: list[tuple[datetime, Decimal]] = []
        self.exposed: list[bool] = []
        self.decisions: list[dict[str, Any]] = []
        self.usage = _Usage()
        self.steps = 0
        self.window = Window(config.start, config.end)
        self._account: Any = None

    @property
    def account(self) -> Any:
        """The isolated account, re-read only after a ledger command changed it."""
        if self._account is None:
            self._account = self.ledger.account(self.account_id)
        return self._account

    def _open(self) -> UUID:
        risk = self.spec.risk
        rules = RuleSet(
            allowed_assets=self.spec.asset_names,
            max_leverage=max(risk.leverage, 1),
            max_open_positions=risk.max_open_positions,
            slippage_bps=self.config.slippage_bps,
        )
        return self.ledger.open_account(
            cause="backtest",
            owner="backtest",
            purpose=Purpose.SANDBOX,
            rules=rules,
            collateral_micros=int(self.config.collateral * MICROS_PER_USDC),
        )

    def step(self, step: _Step) -> None:
        """Close the bars ending now (path, funding, sample, decide), then open the next."""
        self.clock.set(step.at)
        if step.closing:
            self.steps += 1
            assets = tuple(sorted(step.closing))
            for asset in assets:
                self._path(asset, step.closing[asset])
            self._funding(step)
            marks, equity = self._sample(step.at)
            self._decide(step, assets, marks, equity)
        for asset in sorted(step.opening):
            self._fill_pending(asset, step.opening[asset])

    def _fill_pending(self, asset: str, bar: Bar) -> None:
        order = self.pending.pop(asset, None)
        if order is not None:
            self.ledger.submit_order(self.account_id, replace(order, reference_price=bar.open))
            self._account = None

    def _path(self, asset: str, bar: Bar) -> None:
        held = self.account.positions.get(asset)
        if held is None:
            return
        level = _stop_path(held, bar)
        if level is not None:
            self.ledger.apply_marks(self.account_id, {asset: level})
            self._account = None
        account = self.account
        if asset in account.positions:
            adverse = {asset: bar.low if held["size"] > 0 else bar.high}
            if would_liquidate(account, adverse, self.feed.instruments):
                self.ledger.apply_marks(self.account_id, adverse)
                self._account = None

    def _funding(self, step: _Step) -> None:
        """Settle each top of the hour since the previous close, while a position is open."""
        if not self.account.positions:
            return
        period = floor_to_interval(step.at, "1h")
        periods = []
        while period > step.previous:
            periods.append(period)
            period -= HOUR
        for period in reversed(periods):
            for asset in sorted(self.account.positions):
                rate = self.feed.funding_at(asset, period)
                mark = self.feed.mark(asset, period)
                if rate is not None and mark is not None:
                    self.ledger.apply_funding(
                        self.account_id, asset=asset, period=period, rate=rate, oracle_price=mark
                    )
                    self._account = None

    def _sample(self, at: datetime) -> tuple[dict[str, Decimal], Decimal]:
        account = self.account
        marks = {a: m for a in self.spec.asset_names if (m := self.feed.mark(a, at))}
        if account.positions:
            positions = positions_of(account).values()
            equity = account_value(account.collateral, positions, marks)
        else:
            equity = account.collateral
        self.curve.append((at, equity))
        self.exposed.append(bool(account.positions))
        return marks, equity

    def _decide(
        self, step: _Step, assets: tuple[str, ...], marks: dict[str, Decimal], equity: Decimal
    ) -> None:
        context = self._context(self.account, marks, equity)
        cadence = self.spec.plan(assets[0]).cadence
        packet = build_packet(
            self.spec,
            at=step.at,
            assets=assets,
            market=self.feed,
            account=context,
            invocation=invocation(self.window, step.at, cadence),
        )
        decision = decide(
            self.spec,
            packet,
            decision_id=UUID(int=step.number + 1),  # unique within the run, deterministic
            router=self.router,
        )
        self._count(decision)
        if decision.holds:
            return
        plans = plan_orders(
            decision.actions.actions,
            decision_id=decision.decision_id,
            equity=context.account_value,
            positions=context.position_sizes(),
            marks=packet.marks(),
            instruments=dict(self.feed.instruments),
            risk=self.spec.risk,
        )
        orders = [p.order for p in plans if isinstance(p, PlannedOrder)]
        for order in orders:
            self.pending[order.asset] = order
        self.decisions.append(_decision_document(decision, orders, plans))

    def _context(self, account: Any, marks: dict[str, Decimal], equity: Decimal) -> AccountContext:
        opening = Decimal(account.opening_micros) / MICROS_PER_USDC
        if self.spec.model is None:
            sizes = {a: p["size"] for a, p in account.positions.items()}
            return rules_account(equity, sizes, marks, opening)
        valued = value_account(account, marks, dict(self.feed.instruments))
        return account_context(valued, opening)

    def _count(self, decision: Decision) -> None:
        self.usage.ticks += 1
        if decision.prompt is not None or (
            decision.reply is not None and decision.provider != "rules"
        ):
            self.usage.calls += 1
        tokens_in, tokens_out = decision.tokens
        self.usage.tokens_in += tokens_in
        self.usage.tokens_out += tokens_out

    def result(self) -> ReplayResult:
        """Fold the ledger's events into fills and trades, then the metrics and hashes."""
        events = list(self.ledger.repository.event_store.get(self.account_id))
        fills, trades = fills_and_trades(events)
        metrics = compute_metrics(
            self.curve,
            trades,
            start_equity=self.config.collateral,
            exposed=self.exposed,
            decision_calls=self.usage.calls,
            tokens_in=self.usage.tokens_in,
            tokens_out=self.usage.tokens_out,
        )
        curve = tuple(self.curve)
        input_hash = _hash(
            {
                "spec": self.spec.content_hash,
                "feed": self.feed.content_hash(),
                "config": self.config.to_document(),
            }
        )
        result_hash = _hash(
            {
                "metrics": metrics.to_document(),
                "trades": [trade_document(t) for t in trades],
                "fills": list(fills),
                "curve": [[t.isoformat(), str(v)] for t, v in curve],
            }
        )
        return ReplayResult(
            steps=self.steps,
            decision_ticks=self.usage.ticks,
            decision_calls=self.usage.calls,
            tokens_in=self.usage.tokens_in,
            tokens_out=self.usage.tokens_out,
            metrics=metrics,
            curve=curve,
            trades=tuple(trades),
            fills=tuple(fills),
            decisions=tuple(self.decisions),
            input_hash=input_hash,
            result_hash=result_hash,
        )


def _stop_path(held: dict[str, Any], bar: Bar) -> Decimal | None:
    """The mark to apply for the bar's stop path: the open on a gap, else a touched level."""
    if trigger_price(held, bar.open) is not None:
        return bar.open
    long = held["size"] > 0
    stop, take = held.get("stop_loss"), held.get("take_profit")
    if stop is not None and (bar.low <= stop if long else bar.high >= stop):
        return Decimal(stop)
    if take is not None and (bar.high >= take if long else bar.low <= take):
        return Decimal(take)
    return None


def _decision_document(
    decision: Decision, orders: Sequence[MarketOrder], plans: Sequence[Any]
) -> dict[str, Any]:
    tokens_in, tokens_out = decision.tokens
    return {
        "at": decision.at.isoformat(),
        "provider": decision.provider,
        "model": decision.model,
        "actions": [a.to_document() for a in decision.actions.actions if a.signal != "hold"],
        "orders": [
            {
                "clientOrderId": o.client_order_id,
                "asset": o.asset,
                "side": int(o.side),
                "size": str(o.size),
                "leverage": o.leverage,
            }
            for o in orders
        ],
        "skipped": [
            {"asset": p.action.asset, "reason": p.reason}
            for p in plans
            if not isinstance(p, PlannedOrder)
        ],
        "errors": list(decision.errors),
        "tokensIn": tokens_in,
        "tokensOut": tokens_out,
    }


def trade_document(trade: ClosedTrade) -> dict[str, Any]:
    """A closed trade as stored in a run's artifacts (and covered by its result hash)."""
    return {
        "asset": trade.asset,
        "side": trade.side,
        "openedAt": trade.opened_at.isoformat(),
        "closedAt": trade.closed_at.isoformat(),
        "size": str(trade.size),
        "entryPrice": str(trade.entry_price),
        "exitPrice": str(trade.exit_price),
        "pnl": str(trade.pnl),
        "fees": str(trade.fees),
        "funding": str(trade.funding),
    }


def _hash(document: Any) -> str:
    return "sha256:" + hashlib.sha256(canonical_json(document).encode()).hexdigest()
