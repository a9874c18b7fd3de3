"""Market memory as the ledger sees it (the ``MarketView`` port of ``domain.prop``).

Instruments come from the versioned registry (the version in force at the command's market
time); marks from the newest asset context at or before that time (offline: the 5m close).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from adapters.asset_registry import AssetRegistry
from adapters.market_store import MarketStore
from domain.market.instruments import Instrument


class MarketMemoryView:
    """Instruments and marks read from market memory at a market time."""

    def __init__(self, assets: AssetRegistry, market: MarketStore) -> None:
        self.assets = assets
        self.market = market

    def instrument(self, asset: str, at: datetime) -> Instrument | None:
        """The registry version in force at ``at``."""
        return self.assets.instrument(asset, at)

    def mark(self, asset: str, at: datetime) -> Decimal | None:
        """The newest mark at or before ``at``."""
        context = self.market.context_at(asset, at)
        return None if context is None else context.mark
