"""Market read errors: each names the broken rule and carries a stable reason."""

from __future__ import annotations


class MarketError(Exception):
    """Root of every market-memory error."""

    reason = "market_error"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.reason)
        self.detail = detail


class UnknownAsset(MarketError):
    """Raised when an asset is not in the registry at the market time asked about."""

    reason = "unknown_asset"


class UnknownChannel(MarketError):
    """Raised when a feature channel is read before anyone subscribed to it."""

    reason = "channel_not_subscribed"


class BadChannel(MarketError):
    """Raised when a channel key does not parse (unknown kind, wrong parameters)."""

    reason = "bad_channel"


class BadRange(MarketError):
    """Raised when a time range is empty or reversed."""

    reason = "bad_range"
