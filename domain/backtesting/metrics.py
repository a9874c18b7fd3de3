"""Performance metrics of an equity curve and its closed trades, for backtests and live accounts.

Why one function for both: a clone's backtest and its live prop account are compared figure by
figure, so both call :func:`compute_metrics` on the same inputs: the mark-to-market equity
curve sampled at each bar close (the caller's samples; see :mod:`domain.backtesting.equity_curve`
for days, returns and drawdowns) and the round trips the ledger booked (:class:`ClosedTrade`).
The definitions follow nautilus_trader's statistics (daily bins, Sortino's downside over all
days) with a 365-day year, as crypto trades every day (notes/trading-math.md 2.5, 3.3-3.5):

- total return ``E_end / E_0 - 1``, with ``E_0`` the start equity and ``E_end`` the last sample
  (the start equity when there is none);
- daily returns ``r_d = E_d / E_{d-1} - 1`` over the UTC daily closes, ``days`` = daily bins;
- Sharpe ``mean(r) / std(r, ddof=1) * sqrt(365)``; None with fewer than 2 returns or std = 0;
- Sortino ``mean(r) / sqrt(sum(min(r, 0)^2) / N) * sqrt(365)``, N = all returns; None when no
  return is negative;
- CAGR ``(E_end / E_0)^(365 / days) - 1``; None when days = 0 or E_end <= 0;
- max drawdown over the per-sample curve (intra-trade included, the start equity is the first
  peak), in USDC and as a fraction of the peak (capped at 1);
- Calmar ``CAGR / max_drawdown_pct``; None when there is no drawdown or no CAGR;
- win rate ``wins / trades`` (a zero-PnL trade counts as a trade, not a win), profit factor
  ``sum(wins) / |sum(losses)|`` (None without losses), expectancy ``sum(pnl) / trades`` in USDC;
  all three None without trades;
- exposure = fraction of samples with an open position (``exposed``, one flag per sample;
  zero when not given); fees and funding summed over the trades.

Quantization happens once, when :class:`Metrics` is built, from unrounded intermediates
(Calmar divides the unrounded CAGR by the unrounded drawdown): ratios and money both to 6
decimal places (money in micro-USDC), half-even. These are reports, not postings, so the
ledger's "round against the account" rule does not apply. A short run's CAGR may have many
digits; it is kept whole, never capped. A quantized zero is always written without sign.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation, localcontext

from domain.backtesting.equity_curve import (
    CONTEXT,
    ONE,
    ZERO,
    EquityCurve,
    MetricsError,
    daily_closes,
    daily_returns,
    max_drawdown,
)

__all__ = [
    "ClosedTrade",
    "ClosedTradeInvalid",
    "ExposureLengthMismatch",
    "Metrics",
    "StartEquityNotPositive",
    "compute_metrics",
    "daily_closes",
]

DAYS_PER_YEAR = 365
PLACES = 6
RATIO_STEP = Decimal(1).scaleb(-PLACES)
MONEY_STEP = Decimal(1).scaleb(-PLACES)
SIDES = ("long", "short")
_ANNUALIZER = Decimal(DAYS_PER_YEAR).sqrt(CONTEXT)
_TRADE_DECIMALS = ("size", "entry_price", "exit_price", "pnl", "fees", "funding")


class StartEquityNotPositive(MetricsError):
    """Raised when the start equity is zero or negative (no return has a base)."""


class ExposureLengthMismatch(MetricsError):
    """Raised when the exposure flags are not one per equity sample."""


class ClosedTradeInvalid(MetricsError):
    """Raised when a closed trade has an unknown side, a non-Decimal amount or bad instants."""


@dataclass(frozen=True)
class ClosedTrade:
    """One round trip as the metrics read it.

    ``pnl`` is realized PnL net of fees and funding, in USDC; ``fees`` are what the trade paid
    (positive is a cost); ``funding`` is what it received (a payment is negative). Amounts are
    ``Decimal``; floats are rejected.
    """

    asset: str
    side: str
    opened_at: datetime
    closed_at: datetime
    size: Decimal
    entry_price: Decimal
    exit_price: Decimal
    pnl: Decimal
    fees: Decimal
    funding: Decimal

    def __post_init__(self) -> None:
        if self.side not in SIDES:
            raise ClosedTradeInvalid(field="side", value=self.side)
        for name in _TRADE_DECIMALS:
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite():
                raise ClosedTradeInvalid(field=name, value=value)
        for name in ("opened_at", "closed_at"):
            instant = getattr(self, name)
            if instant.tzinfo is None or instant.utcoffset() is None:
                raise ClosedTradeInvalid(field=name, value=instant)
        if self.closed_at < self.opened_at:
            raise ClosedTradeInvalid(field="closed_at", value=self.closed_at)


@dataclass(frozen=True)
class Metrics:
    """The figures of one run or account; see the module docstring for each definition."""

    start_equity: Decimal
    end_equity: Decimal
    total_return: Decimal
    cagr: Decimal | None
    sharpe: Decimal | None
    sortino: Decimal | None
    max_drawdown: Decimal
    max_drawdown_pct: Decimal
    calmar: Decimal | None
    win_rate: Decimal | None
    profit_factor: Decimal | None
    expectancy: Decimal | None
    trades: int
    exposure: Decimal
    fees: Decimal
    funding: Decimal
    days: int
    decision_calls: int
    tokens_in: int
    tokens_out: int

    def to_document(self) -> dict[str, str | int | None]:
        """Return the figures by field name, decimals as plain strings, None kept."""
        document: dict[str, str | int | None] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            document[field.name] = format(value, "f") if isinstance(value, Decimal) else value
        return document


def compute_metrics(
    curve: EquityCurve,
    trades: Sequence[ClosedTrade],
    *,
    start_equity: Decimal,
    exposed: Sequence[bool] | None = None,
    decision_calls: int = 0,
    tokens_in: int = 0,
    tokens_out: int = 0,
) -> Metrics:
    """Compute the metrics of an equity curve and the trades closed along it."""
    if start_equity <= ZERO:
        raise StartEquityNotPositive(start_equity=start_equity)
    closes = [equity for _day, equity in daily_closes(curve)]
    equities = [equity for _instant, equity in curve]
    end_equity = equities[-1] if equities else start_equity
    returns = daily_returns(start_equity, closes)
    drawdown, drawdown_pct = max_drawdown(start_equity, equities)
    with localcontext(CONTEXT):
        cagr = _cagr(start_equity, end_equity, len(closes))
        calmar = cagr / drawdown_pct if cagr is not None and drawdown_pct > ZERO else None
        win_rate, profit_factor, expectancy = _trade_stats(trades)
        return Metrics(
            start_equity=_fixed(start_equity, MONEY_STEP),
            end_equity=_fixed(end_equity, MONEY_STEP),
            total_return=_fixed(end_equity / start_equity - ONE, RATIO_STEP),
            cagr=_optional(cagr, RATIO_STEP),
            sharpe=_optional(_sharpe(returns), RATIO_STEP),
            sortino=_optional(_sortino(returns), RATIO_STEP),
            max_drawdown=_fixed(drawdown, MONEY_STEP),
            max_drawdown_pct=_fixed(drawdown_pct, RATIO_STEP),
            calmar=_optional(calmar, RATIO_STEP),
            win_rate=_optional(win_rate, RATIO_STEP),
            profit_factor=_optional(profit_factor, RATIO_STEP),
            expectancy=_optional(expectancy, MONEY_STEP),
            trades=len(trades),
            exposure=_fixed(_exposure(exposed, len(equities)), RATIO_STEP),
            fees=_fixed(sum((t.fees for t in trades), ZERO), MONEY_STEP),
            funding=_fixed(sum((t.funding for t in trades), ZERO), MONEY_STEP),
            days=len(closes),
            decision_calls=decision_calls,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
        )


# The helpers below run inside compute_metrics' local CONTEXT.


def _mean(values: Sequence[Decimal]) -> Decimal:
    return sum(values, ZERO) / len(values)


def _sharpe(returns: Sequence[Decimal]) -> Decimal | None:
    if len(returns) < 2:
        return None
    mean = _mean(returns)
    variance = sum(((r - mean) ** 2 for r in returns), ZERO) / (len(returns) - 1)
    if variance == ZERO:
        return None
    return mean / variance.sqrt() * _ANNUALIZER


def _sortino(returns: Sequence[Decimal]) -> Decimal | None:
    downside_squares = sum((r * r for r in returns if r < ZERO), ZERO)
    if downside_squares == ZERO:
        return None
    downside = (downside_squares / len(returns)).sqrt()
    return _mean(returns) / downside * _ANNUALIZER


def _cagr(start_equity: Decimal, end_equity: Decimal, days: int) -> Decimal | None:
    if days == 0 or end_equity <= ZERO:
        return None
    return (end_equity / start_equity) ** (Decimal(DAYS_PER_YEAR) / days) - ONE


def _trade_stats(
    trades: Sequence[ClosedTrade],
) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
    if not trades:
        return None, None, None
    pnls = [trade.pnl for trade in trades]
    gains = sum((p for p in pnls if p > ZERO), ZERO)
    losses = sum((p for p in pnls if p < ZERO), ZERO)
    win_rate = Decimal(sum(1 for p in pnls if p > ZERO)) / len(pnls)
    profit_factor = gains / -losses if losses < ZERO else None
    return win_rate, profit_factor, _mean(pnls)


def _exposure(exposed: Sequence[bool] | None, samples: int) -> Decimal:
    if exposed is None:
        return ZERO
    if len(exposed) != samples:
        raise ExposureLengthMismatch(samples=samples, flags=len(exposed))
    if samples == 0:
        return ZERO
    return Decimal(sum(1 for flag in exposed if flag)) / samples


def _optional(value: Decimal | None, step: Decimal) -> Decimal | None:
    return None if value is None else _fixed(value, step)


def _fixed(value: Decimal, step: Decimal) -> Decimal:
    # Quantize needs room for every integer digit: a one-day CAGR can exceed 28 digits.
    digits = max(CONTEXT.prec, value.adjusted() + 1 - step.adjusted())
    context = Context(prec=digits, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation])
    fixed = value.quantize(step, context=context)
    return fixed.copy_abs() if fixed.is_zero() else fixed
