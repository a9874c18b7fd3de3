"""An account valued at given marks: what read models, the API and the simulator show.

Valuation is computed, never stored: account value, unrealized PnL, margin used, free
collateral and each position's liquidation price are functions of the folded state and the
marks of the moment (a mark update is not an event). Amounts are exact Decimals here;
presentation quantizes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from domain.market.instruments import Instrument
from domain.market.model import MarginTier
from domain.prop.account import PropAccount
from domain.prop.margin import (
    account_value,
    initial_margin,
    maintenance_required,
    portfolio_liquidation_price,
    tiers_of,
)
from domain.prop.money import micros_to_decimal
from domain.prop.positions import Position, unrealized_pnl


@dataclass(frozen=True)
class PositionValue:
    """One open position at a mark."""

    asset: str
    size: Decimal
    entry_price: Decimal
    mark: Decimal
    leverage: int
    unrealized_pnl: Decimal
    margin_used: Decimal
    liquidation_price: Decimal | None
    stop_loss: Decimal | None
    take_profit: Decimal | None


@dataclass(frozen=True)
class AccountValue:
    """An account at the given marks."""

    account_id: str
    status: str
    collateral: Decimal
    realized_pnl: Decimal
    fees: Decimal
    funding: Decimal
    account_value: Decimal
    margin_used: Decimal
    maintenance_required: Decimal
    free_collateral: Decimal
    positions: tuple[PositionValue, ...]


@dataclass(frozen=True)
class Holding:
    """A position as stored (aggregate state or read model): size, entry, leverage, stops."""

    position: Position
    leverage: int
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None


@dataclass(frozen=True)
class Totals:
    """An account's folded totals, in USDC."""

    account_id: str
    status: str
    collateral: Decimal
    realized_pnl: Decimal
    fees: Decimal
    funding: Decimal


def value_account(
    account: PropAccount, marks: Mapping[str, Decimal], instruments: Mapping[str, Instrument]
) -> AccountValue:
    """Value ``account`` at ``marks`` (positions without a mark are valued at entry)."""
    holdings = {
        a: Holding(
            Position(a, p["size"], p["entry_price"]),
            int(p["leverage"]),
            p.get("stop_loss"),
            p.get("take_profit"),
        )
        for a, p in account.positions.items()
    }
    totals = Totals(
        str(account.id),
        account.status,
        account.collateral,
        micros_to_decimal(account.realized_micros),
        micros_to_decimal(account.fees_micros),
        micros_to_decimal(account.funding_micros),
    )
    return value_holdings(totals, holdings, marks, instruments)


def value_holdings(
    totals: Totals,
    holdings: Mapping[str, Holding],
    marks: Mapping[str, Decimal],
    instruments: Mapping[str, Instrument],
) -> AccountValue:
    """Value folded totals and holdings at ``marks`` (unmarked positions at entry)."""
    positions = {a: h.position for a, h in holdings.items()}
    at = {a: marks.get(a, positions[a].entry_price) for a in positions}
    tiers: dict[str, tuple[MarginTier, ...]] = {a: tiers_of(instruments[a].spec) for a in positions}
    value = account_value(totals.collateral, positions.values(), at)
    used = sum(
        (initial_margin(p.notional(at[a]), holdings[a].leverage) for a, p in positions.items()),
        start=Decimal(0),
    )
    rows = tuple(_position(totals.collateral, holdings, a, at, tiers) for a in sorted(positions))
    return AccountValue(
        account_id=totals.account_id,
        status=totals.status,
        collateral=totals.collateral,
        realized_pnl=totals.realized_pnl,
        fees=totals.fees,
        funding=totals.funding,
        account_value=value,
        margin_used=used,
        maintenance_required=maintenance_required(positions.values(), at, tiers),
        free_collateral=value - used,
        positions=rows,
    )


def _position(
    collateral: Decimal,
    holdings: Mapping[str, Holding],
    asset: str,
    marks: Mapping[str, Decimal],
    tiers: Mapping[str, tuple[MarginTier, ...]],
) -> PositionValue:
    held = holdings[asset]
    position = held.position
    return PositionValue(
        asset=asset,
        size=position.size,
        entry_price=position.entry_price,
        mark=marks[asset],
        leverage=held.leverage,
        unrealized_pnl=unrealized_pnl(position, marks[asset]),
        margin_used=initial_margin(position.notional(marks[asset]), held.leverage),
        liquidation_price=portfolio_liquidation_price(
            asset, collateral, [h.position for h in holdings.values()], marks, tiers
        ),
        stop_loss=held.stop_loss,
        take_profit=held.take_profit,
    )
