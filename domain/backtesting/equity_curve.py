"""The equity curve as metrics and charts read it: checked samples, UTC days, returns, drawdowns.

Why a module of its own: the performance metrics (:mod:`domain.backtesting.metrics`) and the
chart (:mod:`domain.backtesting.chart`) read the same curve, for backtests and live accounts
alike, and must agree on what a day, a return and a drawdown are.

The curve is the caller's mark-to-market equity in USDC sampled at each bar close, as
``(instant, equity)`` pairs. It must be free of external cash flows (deposits, withdrawals):
every change of equity is read as performance. :func:`check_curve` enforces two invariants and
sorts nothing silently (an unordered curve is a bug upstream): every instant is timezone-aware
(a UTC day is ambiguous otherwise) and instants never run backwards (equal instants are
allowed; the later sample wins).

Days. A sample belongs to the UTC calendar date of its instant, so a bar closing exactly at
00:00 UTC opens the new day (as pandas ``resample("1D")`` bins it). A day's close is its last
sample. A day without samples has no bin: it is neither forward-filled nor counted.

Returns. ``r_d = E_d / E_{d-1} - 1`` over the daily closes, with ``E_0`` the start equity. A
return needs a positive base: from the first daily close at or below zero the account is
ruined, and later days add no return.

Drawdown. Walk the per-sample curve (so intra-trade drawdowns count) with a running peak seeded
with the start equity. Absolute drawdown is ``peak - equity``; the fraction is
``(peak - equity) / peak``, capped at 1 (an equity at or below zero has lost the whole peak; a
non-positive peak, which only a chart without start equity can see, counts as fully lost when
equity falls below it). The maximum absolute and maximum fractional drawdowns are taken
independently, so they may come from different troughs.

Numbers: all arithmetic runs in :data:`CONTEXT` (28 significant digits, half-even, trapping
invalid operations, division by zero and overflow), entered with ``localcontext`` so results
never depend on, or change, the caller's context. Nothing here quantizes: callers quantize
once, at their own documented point.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from typing import TypeAlias

EquityCurve: TypeAlias = Sequence[tuple[datetime, Decimal]]
"""Mark-to-market equity in USDC, one ``(instant, equity)`` sample per bar close."""

CONTEXT = Context(
    prec=28, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)
ZERO = Decimal(0)
ONE = Decimal(1)


class MetricsError(ValueError):
    """Root of every metrics and chart error; ``str`` is ``field=value`` pairs."""

    def __init__(self, **fields: object) -> None:
        super().__init__(" ".join(f"{name}={value!r}" for name, value in fields.items()))
        self.fields = fields


class CurveInstantNaive(MetricsError):
    """Raised when an equity sample's instant has no UTC offset."""


class CurveOutOfOrder(MetricsError):
    """Raised when an equity sample is stamped earlier than the sample before it."""


def check_curve(curve: EquityCurve) -> None:
    """Raise unless every instant is timezone-aware and no instant precedes the one before."""
    previous: datetime | None = None
    for index, (instant, _equity) in enumerate(curve):
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise CurveInstantNaive(index=index, instant=instant)
        if previous is not None and instant < previous:
            raise CurveOutOfOrder(index=index, instant=instant, previous=previous)
        previous = instant


def utc_day(instant: datetime) -> date:
    """Return the UTC calendar date an aware instant falls on."""
    return instant.astimezone(UTC).date()


def daily_closes(curve: EquityCurve) -> list[tuple[date, Decimal]]:
    """Return the last equity of each UTC day that has samples, days in order."""
    check_curve(curve)
    closes: list[tuple[date, Decimal]] = []
    for instant, equity in curve:
        day = utc_day(instant)
        if closes and closes[-1][0] == day:
            closes[-1] = (day, equity)
        else:
            closes.append((day, equity))
    return closes


def daily_returns(start_equity: Decimal, closes: Sequence[Decimal]) -> list[Decimal]:
    """Return ``E_d / E_{d-1} - 1`` for each daily close, stopping at the first ruined base."""
    returns: list[Decimal] = []
    base = start_equity
    with localcontext(CONTEXT):
        for close in closes:
            if base <= ZERO:
                break
            returns.append(close / base - ONE)
            base = close
    return returns


def drawdown_fraction(peak: Decimal, equity: Decimal) -> Decimal:
    """Return ``(peak - equity) / peak`` clamped to ``[0, 1]`` (see the module docstring)."""
    if equity >= peak:
        return ZERO
    if peak <= ZERO or equity <= ZERO:
        return ONE
    with localcontext(CONTEXT):
        return (peak - equity) / peak


def drawdowns(first_peak: Decimal, equities: Sequence[Decimal]) -> list[Decimal]:
    """Return the drawdown fraction at each sample, the running peak seeded with ``first_peak``."""
    peak = first_peak
    fractions: list[Decimal] = []
    for equity in equities:
        peak = max(peak, equity)
        fractions.append(drawdown_fraction(peak, equity))
    return fractions


def max_drawdown(first_peak: Decimal, equities: Sequence[Decimal]) -> tuple[Decimal, Decimal]:
    """Return the largest absolute drawdown (USDC) and the largest fractional drawdown."""
    peak = first_peak
    worst_absolute = ZERO
    worst_fraction = ZERO
    with localcontext(CONTEXT):
        for equity in equities:
            peak = max(peak, equity)
            worst_absolute = max(worst_absolute, peak - equity)
            worst_fraction = max(worst_fraction, drawdown_fraction(peak, equity))
    return worst_absolute, worst_fraction
