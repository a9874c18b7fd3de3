"""The context packet: everything a decision at market time t may know, and nothing more.

Built from market memory as it was knowable at t (feature values stamped ``knowable_at <=
t``, the mark and funding in force at t) and from the prop account's state (account value,
free collateral, open positions with entry, mark, liquidation price, unrealized PnL,
leverage and exit plan). The shape follows Alpha Arena's packet (notes/trading-math.md 5.2):
per asset, series ordered oldest to newest with their interval named; then the account.

The packet is a value: its canonical JSON is hashed (``context_hash``) into every decision
row, so an audit can tell which decisions saw identical inputs, and it is what the prompt
renders and what an artifact stores. The rules path uses the same packet (its last two
values per channel are the rule window), so a rule and a model read identical data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache, cached_property
from typing import Any, Protocol

from domain.market.instruments import Instrument
from domain.market.intervals import interval_length
from domain.prop.valuation import AccountValue
from domain.trading.conditions import Window
from domain.trading.spec import ChannelRef, StrategySpec, canonical_json

SERIES_LENGTH = 10
ZERO = Decimal(0)
POINT_SERIES = "-"  # the interval of point series (funding), which have none
POINT_SERIES_CURRENT = timedelta(hours=2)  # a funding rate older than this is not current


class MarketMemory(Protocol):
    """What the trading module reads of market memory, always as of a market time."""

    def series(self, ref: ChannelRef, at: datetime, count: int) -> list[tuple[datetime, Decimal]]:
        """The last ``count`` values knowable at ``at``: (knowable_at, value), oldest first."""
        ...

    def mark(self, asset: str, at: datetime) -> Decimal | None:
        """The mark in force at ``at``."""
        ...

    def funding_rate(self, asset: str, at: datetime) -> Decimal | None:
        """The funding rate in force at ``at``."""
        ...

    def instrument(self, asset: str, at: datetime) -> Instrument | None:
        """The registry version in force at ``at``."""
        ...


@dataclass(frozen=True)
class Series:
    """One channel's recent values (oldest first) and whether its newest is current."""

    ref: ChannelRef
    points: tuple[tuple[datetime, Decimal], ...]
    fresh: bool

    def window(self) -> tuple[Decimal | None, Decimal | None]:
        """(previous, current) for rule evaluation; nothing current if the data is stale."""
        if not self.fresh or not self.points:
            return (None, None)
        previous = self.points[-2][1] if len(self.points) > 1 else None
        return (previous, self.points[-1][1])


@dataclass(frozen=True)
class AssetContext:
    """One asset at t: cadence, mark, funding and its channels' series."""

    asset: str
    cadence: str
    mark: Decimal | None
    funding_rate: Decimal | None
    series: tuple[Series, ...]

    @cached_property
    def fresh(self) -> bool:
        """Whether a mark exists and every candle channel's newest value is current at t.

        Point series (funding) never hold a decision: they settle hourly, may be absent
        offline, and a rule reading one that is not current sees no value instead.
        """
        gating = (s for s in self.series if s.ref.interval != POINT_SERIES)
        return self.mark is not None and all(s.fresh for s in gating)


@dataclass(frozen=True)
class PositionContext:
    """An open position as the model sees it."""

    asset: str
    size: Decimal
    entry_price: Decimal
    mark: Decimal
    liquidation_price: Decimal | None
    unrealized_pnl: Decimal
    leverage: int
    stop_loss: Decimal | None
    take_profit: Decimal | None


@dataclass(frozen=True)
class AccountContext:
    """The account at t: value, free collateral, return since it opened, positions."""

    account_value: Decimal
    free_collateral: Decimal
    starting_collateral: Decimal
    positions: tuple[PositionContext, ...]

    @property
    def return_pct(self) -> Decimal:
        """Total return in percent, to two decimals."""
        if self.starting_collateral <= 0:
            return Decimal(0)
        change = (self.account_value - self.starting_collateral) / self.starting_collateral
        return (change * 100).quantize(Decimal("0.01"))

    def position_sizes(self) -> dict[str, Decimal]:
        """Signed size per asset with an open position."""
        return {p.asset: p.size for p in self.positions}


@dataclass(frozen=True)
class ContextPacket:
    """Everything one decision knows."""

    at: datetime
    invocation: int
    assets: tuple[AssetContext, ...]
    account: AccountContext

    def asset(self, name: str) -> AssetContext:
        """The context of ``name`` (KeyError if not in the packet)."""
        for found in self.assets:
            if found.asset == name:
                return found
        raise KeyError(name)

    def window(self) -> Window:
        """The rule window over every channel in the packet."""
        return {s.ref: s.window() for a in self.assets for s in a.series}

    def marks(self) -> dict[str, Decimal]:
        """The marks known at t."""
        return {a.asset: a.mark for a in self.assets if a.mark is not None}

    def to_document(self) -> dict[str, Any]:
        """The canonical document (decimals as strings, instants ISO 8601)."""
        return {
            "at": self.at.isoformat(),
            "invocation": self.invocation,
            "assets": [_asset_document(a) for a in self.assets],
            "account": _account_document(self.account),
        }

    @property
    def content_hash(self) -> str:
        """``sha256:<hex>`` of the canonical JSON."""
        digest = hashlib.sha256(canonical_json(self.to_document()).encode()).hexdigest()
        return f"sha256:{digest}"


def build_packet(
    spec: StrategySpec,
    *,
    at: datetime,
    assets: Sequence[str],
    market: MarketMemory,
    account: AccountContext,
    invocation: int,
) -> ContextPacket:
    """Read the packet of ``assets`` at ``at`` (model strategies get longer series)."""
    count = SERIES_LENGTH if spec.model is not None else 2
    by_asset: dict[str, list[ChannelRef]] = {name: [] for name in assets}
    for ref in spec.channels:
        if ref.asset in by_asset:
            by_asset[ref.asset].append(ref)
    contexts = tuple(
        AssetContext(
            asset=name,
            cadence=spec.plan(name).cadence,
            mark=market.mark(name, at),
            funding_rate=market.funding_rate(name, at),
            series=tuple(_series(market, ref, at, count) for ref in by_asset[name]),
        )
        for name in assets
    )
    return ContextPacket(at, invocation, contexts, account)


def _series(market: MarketMemory, ref: ChannelRef, at: datetime, count: int) -> Series:
    points = tuple(market.series(ref, at, count))
    fresh = bool(points) and points[-1][0] > at - _length(ref.interval)
    return Series(ref, points, fresh)


@cache
def _length(interval: str) -> timedelta:
    return interval_length(interval) if interval != POINT_SERIES else POINT_SERIES_CURRENT


def account_context(value: AccountValue, starting_collateral: Decimal) -> AccountContext:
    """The account part of a packet from a valuation of the account at t."""
    positions = tuple(
        PositionContext(
            asset=p.asset,
            size=p.size,
            entry_price=p.entry_price,
            mark=p.mark,
            liquidation_price=p.liquidation_price,
            unrealized_pnl=p.unrealized_pnl,
            leverage=p.leverage,
            stop_loss=p.stop_loss,
            take_profit=p.take_profit,
        )
        for p in value.positions
    )
    return AccountContext(
        value.account_value, value.free_collateral, starting_collateral, positions
    )


def rules_account(
    value: Decimal, sizes: Mapping[str, Decimal], marks: Mapping[str, Decimal], opening: Decimal
) -> AccountContext:
    """The account part a rules strategy reads: value and signed sizes, nothing priced.

    Rules read only which assets are held and the account value (for sizing); the
    liquidation prices, margin and exit plans a model is shown are left out, so a rules
    tick never pays for a portfolio valuation.
    """
    positions = tuple(
        PositionContext(
            a, size, Decimal(0), marks.get(a, Decimal(0)), None, Decimal(0), 0, None, None
        )
        for a, size in sorted(sizes.items())
    )
    return AccountContext(value, value, opening, positions)


def flat_account(collateral: Decimal) -> AccountContext:
    """A fresh account holding only ``collateral`` (dry runs)."""
    return AccountContext(collateral, collateral, collateral, ())


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _asset_document(context: AssetContext) -> dict[str, Any]:
    return {
        "asset": context.asset,
        "cadence": context.cadence,
        "mark": _text(context.mark),
        "funding_rate": _text(context.funding_rate),
        "series": [
            {
                "channel": s.ref.to_document(),
                "fresh": s.fresh,
                "points": [[t.isoformat(), str(v)] for t, v in s.points],
            }
            for s in context.series
        ],
    }


def _account_document(account: AccountContext) -> dict[str, Any]:
    return {
        "account_value": str(account.account_value),
        "free_collateral": str(account.free_collateral),
        "starting_collateral": str(account.starting_collateral),
        "return_pct": str(account.return_pct),
        "positions": [_position_document(p) for p in account.positions],
    }


def _position_document(position: PositionContext) -> dict[str, Any]:
    return {
        "asset": position.asset,
        "size": str(position.size),
        "entry_price": str(position.entry_price),
        "mark": str(position.mark),
        "liquidation_price": _text(position.liquidation_price),
        "unrealized_pnl": str(position.unrealized_pnl),
        "leverage": position.leverage,
        "stop_loss": _text(position.stop_loss),
        "take_profit": _text(position.take_profit),
    }
