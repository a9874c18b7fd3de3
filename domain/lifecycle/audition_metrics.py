"""The figures of an audition run, and the risk-adjusted score the Promotion Queue ranks by.

Why not raw return: every passing run cleared the same target, so ranking by return rewards the
run that swung hardest. Why not Sharpe: an audition has a handful of daily returns (the minimum
is 4 trading days), Sharpe is undefined with fewer than two or with no variance, annualizing a
month says little, and it punishes upside swings as much as losses.

The score is **return over max drawdown** (RoMaD), the risk the prop rules themselves police:

    score = total_return / max(max_drawdown_pct, DRAWDOWN_FLOOR)

- ``total_return = balance / starting_balance - 1``: closed profit (a run passes flat, so it is
  its equity too);
- ``max_drawdown_pct``: the largest fall of the *marked* equity from its running peak, seeded
  with the starting balance (:func:`domain.backtesting.equity_curve.drawdown_fraction`), over
  every mark the evaluator saw, floating losses included; it is kept in the progress, so the
  score never depends on how a chart was sampled;
- ``DRAWDOWN_FLOOR`` (1 %): a run that never dipped is scored as if it had dipped 1 %, so a
  lucky straight line cannot divide by (almost) zero and jump the queue; below 1 % the score
  ranks by return alone.

Ties (same quantized score) are for the queue to break; the suggested order is the higher
``total_return``, then the earlier ``ended_at``. Failed runs get figures too (the score may be
negative); only passes are ranked.

With an equity curve (the caller's bar-close samples) and optionally the closed trades, the
full backtest figures (:func:`domain.backtesting.metrics.compute_metrics`: Sharpe, Sortino,
CAGR...) ride along as ``curve``, so an audition compares with its clone's backtests figure by
figure. Quantization follows that module: money and ratios to 6 decimals, half-even, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from domain.backtesting.equity_curve import CONTEXT, ONE, ZERO, EquityCurve
from domain.backtesting.metrics import ClosedTrade, Metrics, compute_metrics
from domain.lifecycle.audition_progress import AuditionProgress

__all__ = ["DRAWDOWN_FLOOR", "AuditionMetrics", "audition_metrics"]

DRAWDOWN_FLOOR = Decimal("0.01")
STEP = Decimal("0.000001")


@dataclass(frozen=True)
class AuditionMetrics:
    """One run's figures; see the module docstring for the score."""

    starting_balance: Decimal
    balance: Decimal
    equity: Decimal
    profit: Decimal
    total_return: Decimal
    max_drawdown: Decimal
    max_drawdown_pct: Decimal
    score: Decimal
    trading_days: int
    best_day_profit: Decimal | None
    best_day_share: Decimal | None
    started_at: datetime
    ended_at: datetime
    curve: Metrics | None = None

    def to_document(self) -> dict[str, object]:
        """Return the figures as JSON-ready data: decimals as strings, instants ISO 8601."""
        document: dict[str, object] = {}
        for name, value in vars(self).items():
            if isinstance(value, Decimal):
                document[name] = format(value, "f")
            elif isinstance(value, datetime):
                document[name] = value.isoformat()
            elif isinstance(value, Metrics):
                document[name] = value.to_document()
            else:
                document[name] = value
        return document


def audition_metrics(
    progress: AuditionProgress,
    curve: EquityCurve | None = None,
    *,
    trades: Sequence[ClosedTrade] = (),
) -> AuditionMetrics:
    """Return the figures of a run so far (or at its end) and, given a curve, its full metrics."""
    start = progress.starting_balance
    best = progress.best_day_profit
    total = progress.total_profit
    with localcontext(CONTEXT):
        total_return = progress.balance / start - ONE
        score = total_return / max(progress.max_drawdown_pct, DRAWDOWN_FLOOR)
        share = best / total if best is not None and total > ZERO else None
        profit = progress.balance - start
    return AuditionMetrics(
        starting_balance=_fixed(start),
        balance=_fixed(progress.balance),
        equity=_fixed(progress.equity),
        profit=_fixed(profit),
        total_return=_fixed(total_return),
        max_drawdown=_fixed(progress.max_drawdown),
        max_drawdown_pct=_fixed(progress.max_drawdown_pct),
        score=_fixed(score),
        trading_days=len(progress.trading_days),
        best_day_profit=None if best is None else _fixed(best),
        best_day_share=None if share is None else _fixed(share),
        started_at=progress.started_at,
        ended_at=progress.ended_at or progress.last_at,
        curve=None if curve is None else compute_metrics(curve, trades, start_equity=start),
    )


def _fixed(value: Decimal) -> Decimal:
    fixed = value.quantize(STEP, rounding=ROUND_HALF_EVEN, context=CONTEXT)
    return fixed.copy_abs() if fixed.is_zero() else fixed
