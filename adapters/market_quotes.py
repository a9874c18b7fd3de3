"""The market module's answer to the ledger: mark, oracle and funding of an asset at time t.

This is the one read the ledger (and mark-to-market, stop triggers, funding payments) needs
from market memory. It is bounded by ``at``: the newest snapshot at or before it, never
after. Funding is the latest *settled* hourly rate when one is stored (live data), else the
snapshot's current rate (offline replay: zero).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from adapters.market_store import MarketStore
from domain.market.errors import MarketError

FUNDING_LOOKBACK = timedelta(hours=2)


class NoMarketData(MarketError):
    """Raised when no mark is known for an asset at the time asked about."""

    reason = "no_market_data"


@dataclass(frozen=True)
class MarketQuote:
    """What the ledger values and settles with."""

    asset: str
    at: datetime
    as_of: datetime
    mark: Decimal
    oracle: Decimal
    funding_rate: Decimal


def quote(market: MarketStore, asset: str, at: datetime) -> MarketQuote:
    """Return the mark, oracle and funding rate of ``asset`` in force at ``at``."""
    context = market.context_at(asset, at)
    if context is None:
        raise NoMarketData(f"asset={asset} at={at.isoformat()}")
    settled = market.funding(asset, start=at - FUNDING_LOOKBACK, end=at)
    rate = settled[-1].rate if settled else context.funding
    return MarketQuote(asset, at, context.time, context.mark, context.oracle, rate)
