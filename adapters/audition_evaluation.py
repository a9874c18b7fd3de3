"""Checking a running audition: the ledger's account at market memory's marks, judged.

Why here and not in ``domain/``: a check reads three modules' state (the audition, the prop
account and its fills, market memory's marks) and writes a checkpoint row; the judging
itself is ``domain.lifecycle.audition_evaluator.evaluate``, pure.

Which instants are judged: every mark instant (the 5-minute grid) since the last check,
then the market clock's now. At an instant the account had not changed after (its last
event is no later), the account's current state *is* its state then, so the check values
it at that instant's marks exactly; at an instant the account changed after, its state
then is not at hand, so only time passes there (a ``Tick``: midnights and the deadline
still count). The worker checks far more often than marks arrive, so in practice every
mark is judged with the positions held at it. Fills are folded in time order between the
marks; a fill stamped before the last judged instant (its trade raced the previous check)
counts at that instant, never before it.

A long outage is caught up ``MAX_INSTANTS_PER_CHECK`` marks at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from adapters.account_marks import value_at
from adapters.asset_registry import AssetRegistry
from adapters.audition_checks import AuditionChecks, Checkpoint
from adapters.market_store import MarketStore
from domain.lifecycle.application import Lifecycle
from domain.lifecycle.audition import Audition, AuditionState
from domain.lifecycle.audition_evaluator import (
    Failed,
    FillObserved,
    MarkObserved,
    Observation,
    Outcome,
    Passed,
    Tick,
    evaluate,
    outcome_of,
)
from domain.lifecycle.audition_progress import AuditionProgress
from domain.market.intervals import floor_to_interval
from domain.prop.account import PropAccount
from domain.prop.application import PropLedger
from domain.prop.money import micros_to_decimal

MARK_EVERY = "5m"
MARK_STEP = timedelta(minutes=5)
MAX_INSTANTS_PER_CHECK = 2016  # a week of 5-minute marks


@dataclass
class AuditionEvaluation:
    """Checks running auditions and records their verdicts."""

    lifecycle: Lifecycle
    prop: PropLedger
    market: MarketStore
    assets: AssetRegistry
    checks: AuditionChecks

    def check(self, audition: Audition, market_now: datetime) -> Outcome | None:
        """Judge the audition's current run up to ``market_now``; record a verdict."""
        run = audition.run
        if audition.state is not AuditionState.RUNNING or run.account_id is None:
            return None
        if run.started_at is None:
            return None
        rules = audition.rules
        previous = self.checks.get(audition.id, run.number)
        progress = (
            previous.progress
            if previous is not None
            else AuditionProgress.start(rules, run.started_at)
        )
        outcome = outcome_of(progress)
        if outcome is None:
            account = self.prop.account(run.account_id)
            since = previous.checked_at if previous is not None else run.started_at
            seen = previous.account_version if previous is not None else 0
            observations, last = self._observations(account, seen, since, market_now, progress)
            for observation in observations:
                progress, outcome = evaluate(progress, rules, observation)
                if outcome is not None:
                    break
            checkpoint = Checkpoint(
                audition.id, run.number, run.account_id, progress, account.version, last
            )
            if not self.checks.save(checkpoint, previous):
                return None  # another evaluator checked this run meanwhile
        if outcome is not None:
            self._record(audition.id, run.number, outcome)
        return outcome

    def progress(self, audition: Audition) -> AuditionProgress | None:
        """The current run's last checked progress (``None`` before its first check)."""
        checkpoint = self.checks.get(audition.id, audition.run.number)
        return None if checkpoint is None else checkpoint.progress

    def _observations(
        self,
        account: PropAccount,
        seen_version: int,
        since: datetime,
        until: datetime,
        progress: AuditionProgress,
    ) -> tuple[list[Observation], datetime]:
        instants = list(_instants(since, until))
        last = instants[-1] if instants else since
        fills: list[Observation] = [
            FillObserved(
                max(fill.at, progress.last_at),
                micros_to_decimal(fill.realized_pnl_micros),
                micros_to_decimal(fill.fee_micros),
            )
            for fill in self.prop.fills_since(account.id, seen_version)
            if fill.at <= last
        ]
        marks = [self._observe(account, at) for at in instants]
        ordered = sorted(fills + marks, key=lambda o: (o.at, isinstance(o, MarkObserved)))
        return ordered, last

    def _observe(self, account: PropAccount, at: datetime) -> Observation:
        if account.modified_on > at:
            return Tick(at)
        valued = value_at(account, self.market, self.assets, at)
        held = sum(1 for p in account.positions.values() if p["size"] != 0)
        equity = valued.account_value if held else account.collateral
        return MarkObserved(at, equity, account.collateral, held)

    def _record(self, audition_id: UUID, run: int, outcome: Outcome) -> None:
        if isinstance(outcome, Passed):
            document = outcome.metrics.to_document()
            self.lifecycle.record_outcome(
                audition_id, run, passed=True, at=outcome.at, metrics=document
            )
        elif isinstance(outcome, Failed):
            self.lifecycle.record_outcome(
                audition_id,
                run,
                passed=False,
                at=outcome.at,
                rule=outcome.rule.value,
                equity=str(outcome.equity),
                limit=None if outcome.limit is None else str(outcome.limit),
            )


def _instants(since: datetime, until: datetime) -> Iterator[datetime]:
    """Mark instants in ``(since, until]`` on the grid, then ``until`` itself (bounded)."""
    at = floor_to_interval(since, MARK_EVERY) + MARK_STEP
    count = 0
    while at <= until and count < MAX_INSTANTS_PER_CHECK:
        yield at
        at += MARK_STEP
        count += 1
    if count < MAX_INSTANTS_PER_CHECK and until > since and until != at - MARK_STEP:
        yield until
