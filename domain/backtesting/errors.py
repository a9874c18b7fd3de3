"""The backtesting module's error tree: refusals of a run, each with a stable reason.

Every class names the broken rule and carries a ``reason`` (snake_case, stable: the API
turns it into ``urn:clash:problem:backtests:<reason>``) and a ``field=value`` detail.
:meth:`BacktestError.extensions` gives the problem members beyond the RFC's; the figures
of a cap refusal depend on who asks (call and token figures are for admins only), so the
refusal carries ``reveal_costs``, set by the caller that knows the user.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from domain.backtesting.estimate import Estimate

# Caps whose figures (limit and value) only admins see.
COST_CAPS = frozenset({"decision_calls", "estimated_tokens"})


class BacktestError(Exception):
    """Root of every backtesting-module error."""

    reason = "backtest_error"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.reason)
        self.detail = detail

    def extensions(self) -> dict[str, Any]:
        """Problem members beyond the RFC's (none by default)."""
        return {}


class BadBacktestWindow(BacktestError):
    """Raised when a replay window is naive, empty, reversed or ends after the market's now."""

    reason = "bad_window"


class BacktestNotFound(BacktestError):
    """Raised when a backtest id names no run the caller may see."""

    reason = "backtest_not_found"


class BacktestFinished(BacktestError):
    """Raised when a run that already ended (succeeded, failed, expired) is cancelled."""

    reason = "backtest_finished"


class ResultsNotReady(BacktestError):
    """Raised when a run's results (its chart) are asked for before it succeeded."""

    reason = "results_not_ready"


@dataclass(frozen=True)
class CapViolation:
    """One per-run cap the estimate exceeds: which cap, its limit, the estimated value."""

    cap: str
    limit: int
    value: int

    def to_document(self, *, reveal_costs: bool) -> dict[str, Any]:
        """The violation as JSON; cost caps show their figures to admins only."""
        if self.cap in COST_CAPS and not reveal_costs:
            return {"cap": self.cap}
        return {"cap": self.cap, "limit": self.limit, "value": self.value}


class CapExceeded(BacktestError):
    """Raised when a run's estimate exceeds one or more caps of the clone's tier."""

    reason = "cap_exceeded"

    def __init__(
        self,
        tier: str,
        violations: Sequence[CapViolation],
        estimate: Estimate,
        *,
        reveal_costs: bool = False,
    ) -> None:
        caps = ",".join(v.cap for v in violations)
        super().__init__(f"tier={tier} caps={caps}")
        self.tier = tier
        self.violations = tuple(violations)
        self.estimate = estimate
        self.reveal_costs = reveal_costs

    def extensions(self) -> dict[str, Any]:
        """The tier, every broken cap and the estimate (costs for admins only)."""
        reveal = self.reveal_costs
        return {
            "tier": self.tier,
            "violations": [v.to_document(reveal_costs=reveal) for v in self.violations],
            "estimate": self.estimate.to_document(reveal_costs=reveal),
        }


class QuotaExceeded(BacktestError):
    """Raised when the clone's accepted runs of the UTC day already reach the tier's quota."""

    reason = "quota_exceeded"

    def __init__(self, tier: str, limit: int, resets_at: datetime, now: datetime) -> None:
        super().__init__(f"tier={tier} daily_runs={limit} resets_at={resets_at.isoformat()}")
        self.tier = tier
        self.limit = limit
        self.resets_at = resets_at
        self.retry_after = max(1, int((resets_at - now).total_seconds()))

    def extensions(self) -> dict[str, Any]:
        """The tier, its daily quota and when the next UTC day starts."""
        return {"tier": self.tier, "dailyRuns": self.limit, "resetsAt": _iso(self.resets_at)}


def _iso(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")
