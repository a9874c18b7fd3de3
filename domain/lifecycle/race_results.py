"""Race results: every entrant's final snapshot ranked, dead heats and DNFs, and strikes.

Why pure: the results are computed once, at settling, from snapshots all taken at the race's
end instant, and recorded on the race; a test recomputes them from the fills alike.

**Ranking** (finishers only): by return over the window, highest first. Every entrant starts
with the same collateral, so the return order is the final equity order, compared exactly.
Ties on return are broken by the lower max drawdown (the steadier run ranks higher); still
equal is a **dead heat**: the entrants share the rank (standard competition ranking: 1, 1,
3) and are flagged ``dead_heat``.

**DNF** (did not finish, no rank, listed after the finishers): ``liquidated`` when the race
account was liquidated during the window; ``data_unhealthy`` when market memory's health
history shows a channel of the entrant's assets down during the window (in live mode; the
result would measure the outage, not the strategy). Liquidation wins when both apply.

**Strikes** (``RaceConfig.strike_rule``): ``last_place`` strikes the finishers holding the
last rank when the finishers hold more than one rank (an all-way dead heat strikes
nobody); ``drawdown_over`` strikes every finisher whose max drawdown exceeds
``strike_drawdown``. A liquidation DNF is always a strike; a data DNF never is.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

from domain.backtesting.equity_curve import CONTEXT
from domain.lifecycle.race_config import RaceConfig

STEP = Decimal("0.000001")


@dataclass(frozen=True)
class EntrantSnapshot:
    """An entrant's race account at the race's end instant."""

    entry_id: str
    clone_id: str
    account_id: str
    starting: Decimal
    equity: Decimal
    max_drawdown_pct: Decimal
    trades: int
    fees: Decimal
    liquidated: bool = False
    data_unhealthy: bool = False

    @property
    def total_return(self) -> Decimal:
        """``equity / starting - 1``, to the millionth (half-even)."""
        with localcontext(CONTEXT):
            value = self.equity / self.starting - 1
        return value.quantize(STEP, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class EntrantResult:
    """A snapshot with its place: rank (finishers), dead heat, DNF reason, strike."""

    snapshot: EntrantSnapshot
    rank: int | None
    dead_heat: bool
    dnf: str | None
    strike: bool

    def to_document(self) -> dict[str, Any]:
        """The result as JSON-ready data (decimals as strings)."""
        s = self.snapshot
        return {
            "entry_id": s.entry_id,
            "clone_id": s.clone_id,
            "account_id": s.account_id,
            "equity": str(s.equity),
            "total_return": str(s.total_return),
            "max_drawdown_pct": str(s.max_drawdown_pct),
            "trades": s.trades,
            "fees": str(s.fees),
            "rank": self.rank,
            "dead_heat": self.dead_heat,
            "dnf": self.dnf,
            "strike": self.strike,
        }


def rank_results(snapshots: list[EntrantSnapshot], config: RaceConfig) -> list[EntrantResult]:
    """Rank the finishers, list the DNFs after them, and mark the strikes."""
    finishers = [s for s in snapshots if not (s.liquidated or s.data_unhealthy)]
    placed = [_placed(s, finishers) for s in finishers]
    placed.sort(key=lambda r: (r.rank, r.snapshot.entry_id))
    dnfs = [
        EntrantResult(s, None, False, "liquidated" if s.liquidated else "data_unhealthy", False)
        for s in sorted(snapshots, key=lambda s: s.entry_id)
        if s.liquidated or s.data_unhealthy
    ]
    return [_struck(r, placed, config) for r in [*placed, *dnfs]]


def _placed(snapshot: EntrantSnapshot, finishers: list[EntrantSnapshot]) -> EntrantResult:
    key = _key(snapshot)
    better = sum(1 for other in finishers if _key(other) < key)
    tied = sum(1 for other in finishers if _key(other) == key) > 1
    return EntrantResult(snapshot, 1 + better, tied, None, False)


def _key(snapshot: EntrantSnapshot) -> tuple[Decimal, Decimal]:
    return (-snapshot.equity, snapshot.max_drawdown_pct)


def _struck(
    result: EntrantResult, placed: list[EntrantResult], config: RaceConfig
) -> EntrantResult:
    if result.dnf is not None:
        return replace(result, strike=result.dnf == "liquidated")
    if config.strike_rule == "drawdown_over":
        return replace(result, strike=result.snapshot.max_drawdown_pct > config.strike_drawdown)
    ranks = {r.rank for r in placed if r.rank is not None}
    last = max(ranks) if len(ranks) > 1 else None
    return replace(result, strike=result.rank == last)
