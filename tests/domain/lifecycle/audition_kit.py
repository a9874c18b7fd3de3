"""Builders for audition tests: a 100k FTMO-style account, instants by day and hour, runs.

Days count from Monday 2025-03-03 00:00 UTC (``at(0, 9)`` is day 0 at 09:00); a run starts
at ``START_AT`` (day 0, 08:00). Amounts are written as strings or ints and become Decimals.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from domain.lifecycle.audition_evaluator import (
    FillObserved,
    MarkObserved,
    Observation,
    Outcome,
    Tick,
    evaluate,
)
from domain.lifecycle.audition_progress import AuditionProgress
from domain.lifecycle.audition_rules import AuditionRules

DAY0 = datetime(2025, 3, 3, tzinfo=UTC)
START_AT = DAY0 + timedelta(hours=8)
MICRO = Decimal("0.000001")
FTMO_100K = AuditionRules(starting_collateral=Decimal(100_000), deadline=None)


def at(day: int, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    """Return day ``day`` (0 = the start day) at ``hour:minute:second`` UTC."""
    return DAY0 + timedelta(days=day, hours=hour, minutes=minute, seconds=second)


def usdc(amount: str | int) -> Decimal:
    """Return ``amount`` as a Decimal of USDC."""
    return Decimal(amount)


def mark(
    when: datetime, balance: str | int, equity: str | int | None = None, positions: int = 0
) -> MarkObserved:
    """Return a mark; with ``equity`` and no count, one position is assumed open."""
    if equity is not None and positions == 0:
        positions = 1
    return MarkObserved(when, usdc(balance if equity is None else equity), usdc(balance), positions)


def fill(when: datetime, pnl: str | int = 0, fee: str | int = 0) -> FillObserved:
    """Return a fill of realized ``pnl`` paying ``fee``."""
    return FillObserved(when, usdc(pnl), usdc(fee))


def tick(when: datetime) -> Tick:
    """Return a tick of the market clock."""
    return Tick(when)


def trading_days(first_day: int, count: int, hour: int = 10) -> list[FillObserved]:
    """Return one zero-PnL fill on each of ``count`` days from ``first_day``."""
    return [fill(at(first_day + offset, hour)) for offset in range(count)]


def run(
    observations: Iterable[Observation],
    rules: AuditionRules = FTMO_100K,
    progress: AuditionProgress | None = None,
) -> tuple[AuditionProgress, list[Outcome]]:
    """Fold ``observations`` from ``progress`` (a fresh run at START_AT); collect the outcomes."""
    state = progress or AuditionProgress.start(rules, START_AT)
    outcomes: list[Outcome] = []
    for observation in observations:
        state, outcome = evaluate(state, rules, observation)
        if outcome is not None:
            outcomes.append(outcome)
    return state, outcomes


def persisted(progress: AuditionProgress) -> AuditionProgress:
    """Return ``progress`` after a trip through its JSON document."""
    return AuditionProgress.from_document(json.loads(json.dumps(progress.to_document())))


def ftmo(**changes: object) -> AuditionRules:
    """Return the 100k FTMO-style rules with ``changes``."""
    return replace(FTMO_100K, **changes)
