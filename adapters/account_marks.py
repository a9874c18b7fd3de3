"""An account valued at market memory's marks of one instant: the one place that does it.

Audition checks, Arena standings, race standings and race snapshots all value a prop
account the same way: each held asset's instrument and mark at the instant (an asset with
no mark is valued at its entry, as ``value_account`` does), then
``domain.prop.valuation.value_account``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from adapters.asset_registry import AssetRegistry
from adapters.market_quotes import NoMarketData, quote
from adapters.market_store import MarketStore
from domain.prop.account import PropAccount
from domain.prop.valuation import AccountValue, value_account


def value_at(
    account: PropAccount, market: MarketStore, assets: AssetRegistry, at: datetime
) -> AccountValue:
    """``account`` valued at the marks of ``at``."""
    instruments = {a: i for a in account.positions if (i := assets.instrument(a, at)) is not None}
    marks: dict[str, Decimal] = {}
    for asset in account.positions:
        try:
            marks[asset] = quote(market, asset, at).mark
        except NoMarketData:
            continue
    return value_account(account, marks, instruments)
