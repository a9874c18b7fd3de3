"""The audition evaluator: a pure, incremental fold of market observations into a verdict.

Why pure and incremental: the evaluator worker checks every running audition on every new mark
and must fail one at the very mark that breaches a rule (issue 7, notes/trading-math.md 4.5).
:func:`evaluate` takes the stored :class:`AuditionProgress`, the audition's rules and one
observation, and returns the next progress and an outcome when the run ends. It reads no clock
and no store, so a backtest, the worker and a test drive it alike, and a run resumed from a
persisted progress ends exactly as one that never stopped.

Observations, in market-time order (an earlier one than the last raises
:class:`ObservationOutOfOrder`; equal instants are fine):

- :class:`MarkObserved` ``(at, equity, balance, open_positions=0)``: equity is balance plus the
  unrealized PnL at the marks; balance is collateral including realized PnL, fees and funding.
  A flat account (no open position) must show ``equity == balance``, so a caller that forgets
  to count its positions is caught instead of passing an open account;
- :class:`FillObserved` ``(at, realized_pnl, fee)``: makes its UTC day a trading day, adds
  ``realized_pnl - fee`` to the day's PnL and to the known balance;
- :class:`Tick` ``(at)``: time passes (deadlines, midnights) without market news.

Each observation is handled in this order:

1. A finished run ignores it: once passed or failed, nothing changes.
2. **Deadline**: the window is ``[started_at, started_at + deadline)``; an observation at or
   after its end fails the run with rule ``deadline`` at the end instant, whatever it shows.
3. **Midnight** (there is no separate "day closed" input): when the observation's UTC day is
   later than the current one, the day rolls once, from the last figures known *before* the
   boundary: the day reference becomes that balance (or the larger of it and the last marked
   equity, per the rules), and the end-of-day high takes that balance. Skipped days change
   nothing more: with no observation, their midnights saw the same figures.
4. A fill or a tick is recorded; only a mark goes on to the checks below.
5. **Breaches, before any pass** (conservative): the daily loss (``equity < day floor``) and
   the max loss (``equity < max-loss floor``) on the mark's equity. At a floor is no breach;
   one micro-USDC below it is. When both break on one mark, the tighter rule is reported: the
   higher floor, the one the falling equity crossed first; on equal floors, the daily loss.
   The failure records the rule, the mark's equity and instant, and the floor.
6. **Pass** when all hold on the mark: the account is flat (``open_positions == 0``), its
   balance (closed profit; FTMO needs the positions closed) is at least the target balance,
   the trading days reach the minimum, and the best-day rule (if any) holds: the total
   realized profit is positive and no day made more than ``best_day_share`` of it. The best-day
   rule only blocks a pass; it never fails a run.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, localcontext
from typing import TypeAlias

from domain.backtesting.equity_curve import CONTEXT, ZERO, drawdown_fraction, utc_day
from domain.lifecycle.audition_metrics import AuditionMetrics, audition_metrics
from domain.lifecycle.audition_progress import (
    AuditionProgress,
    AuditionStatus,
    Breach,
    BreachRule,
    require_aware,
)
from domain.lifecycle.audition_rules import AuditionError, AuditionRules, DailyReference

__all__ = [
    "Failed",
    "FillObserved",
    "MarkObserved",
    "Observation",
    "ObservationInvalid",
    "ObservationOutOfOrder",
    "Outcome",
    "Passed",
    "RulesMismatch",
    "Tick",
    "evaluate",
    "outcome_of",
]


class ObservationInvalid(AuditionError):
    """Raised when an observation holds a non-Decimal amount, a bad count or a flat mismatch."""

    reason = "audition_observation_invalid"


class ObservationOutOfOrder(AuditionError):
    """Raised when an observation is stamped before the last one the run has seen."""

    reason = "audition_observation_out_of_order"


class RulesMismatch(AuditionError):
    """Raised when the rules given are not those the run started with (another collateral)."""

    reason = "audition_rules_mismatch"


@dataclass(frozen=True)
class MarkObserved:
    """The account valued at new marks."""

    at: datetime
    equity: Decimal
    balance: Decimal
    open_positions: int = 0

    def __post_init__(self) -> None:
        require_aware("at", self.at)
        _require_amounts(equity=self.equity, balance=self.balance)
        count = self.open_positions
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ObservationInvalid(open_positions=count)
        if count == 0 and self.equity != self.balance:
            raise ObservationInvalid(open_positions=0, equity=self.equity, balance=self.balance)


@dataclass(frozen=True)
class FillObserved:
    """A fill the ledger booked: its realized PnL and its fee (positive is a cost), in USDC."""

    at: datetime
    realized_pnl: Decimal
    fee: Decimal

    def __post_init__(self) -> None:
        require_aware("at", self.at)
        _require_amounts(realized_pnl=self.realized_pnl, fee=self.fee)


@dataclass(frozen=True)
class Tick:
    """The market clock reached ``at``."""

    at: datetime

    def __post_init__(self) -> None:
        require_aware("at", self.at)


Observation: TypeAlias = MarkObserved | FillObserved | Tick


@dataclass(frozen=True)
class Passed:
    """The run reached its target within the rules; ``metrics`` are what the queue ranks."""

    at: datetime
    metrics: AuditionMetrics


@dataclass(frozen=True)
class Failed:
    """The run broke ``rule`` at ``at``: the equity then and the limit (see :class:`Breach`)."""

    at: datetime
    rule: BreachRule
    equity: Decimal
    limit: Decimal | None


Outcome: TypeAlias = Passed | Failed


def evaluate(
    progress: AuditionProgress, rules: AuditionRules, observation: Observation
) -> tuple[AuditionProgress, Outcome | None]:
    """Fold one observation into the run; return the next progress and the outcome, if any."""
    if not progress.running:
        return progress, None
    if rules.starting_collateral != progress.starting_balance:
        raise RulesMismatch(starting_collateral=rules.starting_collateral)
    if observation.at < progress.last_at:
        raise ObservationOutOfOrder(at=observation.at, last_at=progress.last_at)
    deadline = rules.deadline_at(progress.started_at)
    if deadline is not None and observation.at >= deadline:
        return _fail(progress, Breach(BreachRule.DEADLINE, progress.equity, deadline, None))
    progress = _roll_day(progress, rules, observation.at)
    if isinstance(observation, FillObserved):
        return _record_fill(progress, observation), None
    if isinstance(observation, Tick):
        return replace(progress, last_at=observation.at), None
    return _judge_mark(_record_mark(progress, observation), rules, observation)


def _roll_day(progress: AuditionProgress, rules: AuditionRules, at: datetime) -> AuditionProgress:
    day = utc_day(at)
    if day <= progress.day:
        return progress
    reference = progress.balance
    if rules.daily_reference is DailyReference.EQUITY_OR_BALANCE_MAX:
        reference = max(reference, progress.equity)
    eod_high = max(progress.eod_high, progress.balance)
    return replace(progress, day=day, day_reference=reference, eod_high=eod_high)


def _record_fill(progress: AuditionProgress, fill: FillObserved) -> AuditionProgress:
    day = utc_day(fill.at)
    with localcontext(CONTEXT):
        pnl = fill.realized_pnl - fill.fee
        days = list(progress.day_pnl)
        if days and days[-1][0] == day:
            days[-1] = (day, days[-1][1] + pnl)
        else:
            days.append((day, pnl))
        balance = progress.balance + pnl
    return replace(progress, last_at=fill.at, balance=balance, day_pnl=tuple(days))


def _record_mark(progress: AuditionProgress, mark: MarkObserved) -> AuditionProgress:
    peak = max(progress.peak_equity, mark.equity)
    with localcontext(CONTEXT):
        drawdown = max(progress.max_drawdown, peak - mark.equity)
    fraction = max(progress.max_drawdown_pct, drawdown_fraction(peak, mark.equity))
    return replace(
        progress,
        last_at=mark.at,
        balance=mark.balance,
        equity=mark.equity,
        peak_equity=peak,
        max_drawdown=drawdown,
        max_drawdown_pct=fraction,
    )


def _judge_mark(
    progress: AuditionProgress, rules: AuditionRules, mark: MarkObserved
) -> tuple[AuditionProgress, Outcome | None]:
    breach = _breach(progress, rules, mark)
    if breach is not None:
        return _fail(progress, breach)
    if not _passes(progress, rules, mark):
        return progress, None
    passed = replace(progress, status=AuditionStatus.PASSED, ended_at=mark.at)
    return passed, Passed(mark.at, audition_metrics(passed))


def _breach(progress: AuditionProgress, rules: AuditionRules, mark: MarkObserved) -> Breach | None:
    floors = (
        (BreachRule.DAILY_LOSS, rules.daily_loss_floor(progress.day_reference)),
        (BreachRule.MAX_LOSS, rules.max_loss_floor(progress.eod_high)),
    )
    broken = [(rule, floor) for rule, floor in floors if mark.equity < floor]
    if not broken:
        return None
    # max() keeps the first of equal floors: the daily loss wins a tie.
    rule, floor = max(broken, key=lambda pair: pair[1])
    return Breach(rule, mark.equity, mark.at, floor)


def _passes(progress: AuditionProgress, rules: AuditionRules, mark: MarkObserved) -> bool:
    return (
        mark.open_positions == 0
        and progress.balance >= rules.target_balance
        and len(progress.trading_days) >= rules.min_trading_days
        and _best_day_holds(progress, rules)
    )


def _best_day_holds(progress: AuditionProgress, rules: AuditionRules) -> bool:
    share = rules.best_day_share
    best = progress.best_day_profit
    if share is None:
        return True
    total = progress.total_profit
    with localcontext(CONTEXT):
        return total > ZERO and best is not None and best <= share * total


def _fail(progress: AuditionProgress, breach: Breach) -> tuple[AuditionProgress, Failed]:
    failed = replace(progress, status=AuditionStatus.FAILED, ended_at=breach.at, breach=breach)
    return failed, Failed(breach.at, breach.rule, breach.equity, breach.limit)


def _require_amounts(**amounts: object) -> None:
    for name, value in amounts.items():
        if not isinstance(value, Decimal) or not value.is_finite():
            raise ObservationInvalid(**{name: value})


def outcome_of(progress: AuditionProgress) -> Outcome | None:
    """The verdict a finished progress holds (``None`` while it runs).

    A worker that saved a finished progress but died before recording the verdict finds it
    here again, identical to the one :func:`evaluate` returned.
    """
    if progress.status is AuditionStatus.PASSED:
        return Passed(progress.ended_at or progress.last_at, audition_metrics(progress))
    if progress.status is AuditionStatus.FAILED and progress.breach is not None:
        breach = progress.breach
        return Failed(breach.at, breach.rule, breach.equity, breach.limit)
    return None
