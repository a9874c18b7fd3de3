"""The trading engine: bound accounts ticked at their cadence, and dry runs, on real stores.

This is where the trading module meets the others, each through its API: the clones
module gives the pinned version's compiled spec, the entitlement port the clone's tier
(checked by the same ``guard`` as save, dry run and backtest), market memory the data
knowable at the tick, the prop ledger the account and the fills. The decision itself is
``domain.trading.decisions.decide``, identical for every caller.

A tick, for one bound account (see ``adapters.decision_store`` for the crash story):
resend any planned orders left by a crashed step; find the due ticks; record missed
ticks as one ``skipped`` row; if the data for the tick is not published yet, wait (at
most one cadence: after that the tick is decided on what there is, and stale assets hold);
refuse the tick if the grant no longer covers the version; decide (a model strategy whose
clone or the whole service spent its daily model budget holds with ``budget_exhausted``
and asks no provider, see ``adapters.model_meter``); plan the orders; store the row with
its orders, its model usage and the moved cursors in one transaction; send the orders with
the decision as their cause; record the ledger's answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import structlog

from adapters.artifact_store import ArtifactStore
from adapters.decision_records import (
    decision_row,
    dry_run_document,
    skipped_document,
    store_artifacts,
)
from adapters.decision_store import DecisionRow, DecisionStore, order_document
from adapters.model_meter import ModelMeter, Spender
from adapters.model_usage import UsageEntry
from adapters.trading_market import MarketReader
from domain.clock import Clock
from domain.clones.tiers import EntitlementError, Entitlements, Grant, Stage, TierTable, guard
from domain.market.instruments import Instrument
from domain.market.intervals import interval_length
from domain.prop.application import PropLedger
from domain.prop.errors import LedgerError
from domain.prop.margin import account_value
from domain.prop.money import micros_to_decimal
from domain.prop.trading import positions_of
from domain.prop.valuation import value_account
from domain.trading.application import VersionCatalog
from domain.trading.cadence import Due, due_ticks, invocation
from domain.trading.context import (
    ContextPacket,
    account_context,
    build_packet,
    flat_account,
    rules_account,
)
from domain.trading.decisions import Decision, Router, decide, decision_id_for
from domain.trading.sizing import PlannedOrder, SkippedAction, plan_orders
from domain.trading.spec import StrategySpec
from projections.trading_bindings import BoundAccount

log = structlog.get_logger("trading")


@dataclass
class TickReport:
    """What one account's step did."""

    account_id: UUID
    decided: int = 0
    skipped: int = 0
    refused: int = 0
    waiting: int = 0


@dataclass(frozen=True)
class _Version:
    spec: StrategySpec  # compiled once: a version's spec document never changes
    owner: str


@dataclass(frozen=True)
class DryRun:
    """A dry run's result document, and the model usage its row must count."""

    document: dict[str, Any]
    usage: UsageEntry | None


@dataclass
class TradingEngine:
    """Drives bound accounts and runs dry runs."""

    prop: PropLedger
    versions: VersionCatalog
    entitlements: Entitlements
    tiers: TierTable
    market: MarketReader
    decisions: DecisionStore
    artifacts: ArtifactStore
    router: Router
    service_clock: Clock
    meter: ModelMeter
    _versions: dict[UUID, _Version] = field(default_factory=dict, init=False, repr=False)

    def tick(self, bound: BoundAccount, now: datetime) -> TickReport:
        """Decide every due tick of ``bound`` at market time ``now``."""
        self.resume(bound.account_id)
        spec = self._spec(bound.version_id)
        market = self.market.for_tick()
        market.ensure_channels(spec.channels, now)
        due = due_ticks(
            spec.assets,
            window=bound.window,
            pauses=bound.pauses,
            cursors=self.decisions.cursors(bound.account_id),
            now=now,
        )
        report = TickReport(bound.account_id)
        for tick in due:
            self._tick(bound, spec, tick, now, report, market)
        return report

    def resume(self, account_id: UUID) -> int:
        """Send the orders of decisions a crashed step stored but did not finish."""
        pending = self.decisions.planned(account_id)
        for decision_id, orders in pending:
            outcomes = [self._send(account_id, order) for order in orders]
            self.decisions.executed(decision_id, outcomes)
        return len(pending)

    def _tick(
        self,
        bound: BoundAccount,
        spec: StrategySpec,
        tick: Due,
        now: datetime,
        report: TickReport,
        market: MarketReader,
    ) -> None:
        if tick.missed:
            self._record_missed(bound, tick)
            report.skipped += 1
        grant = self.entitlements.effective_tier(bound.clone_id)
        refusal = self._refusal(spec, grant)
        if refusal is not None:
            self._record(decision_row(bound, tick, "refused", self._now(), errors=[refusal]), tick)
            report.refused += 1
        elif self._waiting(spec, tick, now, market):
            report.waiting += 1
        else:
            spender = Spender.of(self._version(bound.version_id).owner, bound.clone_id, grant)
            decision = self._decide(
                spec,
                self._packet(bound, spec, tick, market),
                decision_id_for(f"account:{bound.account_id}", tick.at),
                spender,
            )
            usage = self.meter.entry(spender, decision)
            self._execute(bound, spec, tick, decision, market, usage)
            report.decided += 1

    def _decide(
        self,
        spec: StrategySpec,
        packet: ContextPacket,
        decision_id: UUID,
        spender: Spender | None,
    ) -> Decision:
        """Decide; without a spender only the rules answer, and a spent budget holds."""
        if spender is None:
            return decide(spec, packet, decision_id=decision_id, router=None)
        spent = self.meter.stop_for(spender) if spec.model is not None else None
        stopped = None if spent is None else spent.reason()
        return decide(spec, packet, decision_id=decision_id, router=self.router, stopped=stopped)

    def _waiting(self, spec: StrategySpec, tick: Due, now: datetime, market: MarketReader) -> bool:
        """Data for the tick is still on its way (waited for at most one cadence)."""
        bound = min(interval_length(spec.plan(a).cadence) for a in tick.assets)
        if now - tick.at >= bound:
            return False
        refs = [ref for ref in spec.channels if ref.asset in tick.assets]
        return not all(market.caught_up(ref, tick.at) for ref in refs)

    def _refusal(self, spec: StrategySpec, grant: Grant | None) -> str | None:
        try:
            guard(spec.topology, stage=Stage.RUNTIME, grant=grant, table=self.tiers)
        except EntitlementError as refused:
            return f"{refused.reason}: {refused}"
        return None

    def _packet(
        self, bound: BoundAccount, spec: StrategySpec, tick: Due, market: MarketReader
    ) -> ContextPacket:
        account = self.prop.account(bound.account_id)
        marks = {a: m for a in tick.assets if (m := market.mark(a, tick.at)) is not None}
        held = {a: m for a in account.positions if (m := market.mark(a, tick.at))}
        opening = micros_to_decimal(account.opening_micros)
        if spec.model is None:  # rules read sizes and value only: no portfolio valuation
            sizes = {a: p["size"] for a, p in account.positions.items()}
            value = account_value(
                account.collateral, positions_of(account).values(), {**held, **marks}
            )
            context = rules_account(value, sizes, {**held, **marks}, opening)
        else:
            instruments = _instruments(market, [*account.positions], tick.at)
            valued = value_account(account, {**held, **marks}, instruments)
            context = account_context(valued, opening)
        cadence = spec.plan(tick.assets[0]).cadence
        return build_packet(
            spec,
            at=tick.at,
            assets=tick.assets,
            market=market,
            account=context,
            invocation=invocation(bound.window, tick.at, cadence),
        )

    def _execute(
        self,
        bound: BoundAccount,
        spec: StrategySpec,
        tick: Due,
        decision: Decision,
        market: MarketReader,
        usage: UsageEntry | None,
    ) -> None:
        packet = decision.context
        plans = plan_orders(
            decision.actions.actions,
            decision_id=decision.decision_id,
            equity=packet.account.account_value,
            positions=packet.account.position_sizes(),
            marks=packet.marks(),
            instruments=_instruments(market, tick.assets, tick.at),
            risk=spec.risk,
        )
        orders = [p.order for p in plans if isinstance(p, PlannedOrder)]
        acts = not decision.holds
        row = decision_row(
            bound,
            tick,
            "act" if acts else "hold",
            self._now(),
            errors=list(decision.errors),
            decision=decision,
            orders=orders,
            artifacts=self._artifacts(decision) if acts or decision.prompt else {},
        )
        if not self._record(row, tick, usage):
            return
        outcomes = [skipped_document(p) for p in plans if isinstance(p, SkippedAction)]
        outcomes += [self._send(bound.account_id, order) for order in orders]
        if outcomes:  # the ledger's answers, and why an action produced no order
            self.decisions.executed(decision.decision_id, outcomes)
        log.info(
            "decision",
            account=str(bound.account_id),
            at=tick.at.isoformat(),
            actions=[a.signal for a in decision.actions.actions],
            orders=len(orders),
        )

    def _send(self, account_id: UUID, order: Any) -> dict[str, Any]:
        try:
            outcome = self.prop.submit_order(account_id, order)
        except LedgerError as failed:
            return {**order_document(order), "status": "error", "reason": failed.reason}
        return {**order_document(order), "status": outcome.status, "reason": outcome.reason}

    def _record(self, row: DecisionRow, tick: Due, usage: UsageEntry | None = None) -> bool:
        return self.decisions.record(row, {asset: tick.at for asset in tick.assets}, usage)

    def _record_missed(self, bound: BoundAccount, tick: Due) -> None:
        first = min(m.first for m in tick.missed.values())
        last = max(m.last for m in tick.missed.values())
        count = sum(m.count for m in tick.missed.values())
        row = DecisionRow(
            decision_id=decision_id_for(f"skipped:{bound.account_id}", first),
            account_id=bound.account_id,
            clone_id=bound.clone_id,
            version_id=bound.version_id,
            tick_at=first,
            status="skipped",
            assets=tuple(sorted(tick.missed)),
            recorded_at=self._now(),
            skipped_until=last,
            skipped_count=count,
        )
        self.decisions.record(row, {asset: m.last for asset, m in tick.missed.items()})

    def dry_run(
        self,
        spec: StrategySpec,
        *,
        run_id: UUID,
        at: datetime,
        collateral: Decimal,
        spender: Spender | None,
    ) -> DryRun:
        """Decide once at market time ``at`` on a flat paper account; touch no account.

        ``spender`` is whose model calls these are; ``None`` (a clone without a grant)
        lets only the rules answer. The usage returned is for the caller to store with
        the dry-run row, in one transaction.
        """
        market = self.market.for_tick()
        market.ensure_channels(spec.channels, at)
        packet = build_packet(
            spec,
            at=at,
            assets=spec.asset_names,
            market=market,
            account=flat_account(collateral),
            invocation=1,
        )
        decision = self._decide(spec, packet, run_id, spender)
        plans = plan_orders(
            decision.actions.actions,
            decision_id=run_id,
            equity=collateral,
            positions={},
            marks=packet.marks(),
            instruments=_instruments(market, spec.asset_names, at),
            risk=spec.risk,
        )
        document = dry_run_document(decision, plans, self._artifacts(decision))
        usage = None if spender is None else self.meter.entry(spender, decision)
        return DryRun(document, usage)

    def _spec(self, version_id: UUID) -> StrategySpec:
        """The compiled spec of a version."""
        return self._version(version_id).spec

    def _version(self, version_id: UUID) -> _Version:
        """A version's spec and owner, loaded once: published versions never change."""
        version = self._versions.get(version_id)
        if version is None:
            published = self.versions.version(version_id)
            version = self._versions[version_id] = _Version(published.spec, published.owner)
        return version

    def _artifacts(self, decision: Decision) -> dict[str, Any]:
        """The decision's prompt and reply stored as artifacts, by reference."""
        return store_artifacts(self.artifacts, decision, self._now())

    def _now(self) -> datetime:
        return self.service_clock.now()


def _instruments(
    market: MarketReader, assets: Sequence[str], at: datetime
) -> dict[str, Instrument]:
    found = {a: market.instrument(a, at) for a in assets}
    return {a: i for a, i in found.items() if i is not None}
