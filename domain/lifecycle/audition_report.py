"""Live progress of an audition run against each of its rules, as the owner reads it.

Why in ``domain/``: the floors and the target are the evaluator's own arithmetic
(``AuditionRules``); the report shows the same numbers the verdict is reached with, so what
the owner sees as "headroom" is exactly how far the equity may fall before a breach.
Amounts are decimal strings (USDC), instants ISO 8601.
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from typing import Any

from domain.backtesting.equity_curve import CONTEXT
from domain.lifecycle.audition_metrics import audition_metrics
from domain.lifecycle.audition_progress import AuditionProgress
from domain.lifecycle.audition_rules import AuditionRules


def rule_progress(rules: AuditionRules, progress: AuditionProgress) -> dict[str, Any]:
    """Each rule's threshold, the run's figure against it and whether it holds."""
    daily_floor = rules.daily_loss_floor(progress.day_reference)
    max_floor = rules.max_loss_floor(progress.eod_high)
    deadline = rules.deadline_at(progress.started_at)
    with localcontext(CONTEXT):
        report: dict[str, Any] = {
            "profitTarget": {
                "targetBalance": _text(rules.target_balance),
                "balance": _text(progress.balance),
                "met": progress.balance >= rules.target_balance,
            },
            "dailyLoss": {
                "day": progress.day.isoformat(),
                "dayReference": _text(progress.day_reference),
                "floor": _text(daily_floor),
                "equity": _text(progress.equity),
                "headroom": _text(progress.equity - daily_floor),
            },
            "maxLoss": {
                "mode": rules.max_loss_mode.value,
                "floor": _text(max_floor),
                "equity": _text(progress.equity),
                "headroom": _text(progress.equity - max_floor),
            },
            "tradingDays": {
                "required": rules.min_trading_days,
                "done": len(progress.trading_days),
            },
            "deadline": {"endsAt": None if deadline is None else deadline.isoformat()},
        }
    if rules.best_day_share is not None:
        best = progress.best_day_profit
        report["bestDay"] = {
            "maxShare": _text(rules.best_day_share),
            "bestDayProfit": None if best is None else _text(best),
            "totalProfit": _text(progress.total_profit),
        }
    return report


def live_metrics(progress: AuditionProgress) -> dict[str, object]:
    """The run's ranking figures so far (the pass records its final ones)."""
    return audition_metrics(progress).to_document()


def _text(value: Decimal) -> str:
    return format(value, "f")
