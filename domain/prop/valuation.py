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


def value_account(
    account: PropAccount, marks: Mapping[str, Decimal], instruments: Mapping[str, Instrument]
) -> AccountValue:
    """Value ``account`` at ``marks`` (positions without a mark are valued at entry)."""
    positions = {a: Position(a, p["size"], p["entry_price"]) for a, p in account.positions.items()}
    at = {a: marks.get(a, positions[a].entry_price) for a in positions}
    tiers: dict[str, tuple[MarginTier, ...]] = {a: tiers_of(instruments[a].spec) for a in positions}
    value = account_value(account.collateral, positions.values(), at)
    used = sum(
        (
            initial_margin(p.notional(at[a]), int(account.positions[a]["leverage"]))
            for a, p in positions.items()
        ),
        start=Decimal(0),
    )
    rows = tuple(_position(account, positions, a, at, tiers) for a in sorted(positions))
    return AccountValue(
        account_id=str(account.id),
        status=account.status,
        collateral=account.collateral,
        realized_pnl=micros_to_decimal(account.realized_micros),
        fees=micros_to_decimal(account.fees_micros),
        funding=micros_to_decimal(account.funding_micros),
        account_value=value,
        margin_used=used,
        maintenance_required=maintenance_required(positions.values(), at, tiers),
        free_collateral=value - used,
        positions=rows,
    )


def _position(
    account: PropAccount,
    positions: Mapping[str, Position],
    asset: str,
    marks: Mapping[str, Decimal],
    tiers: Mapping[str, tuple[MarginTier, ...]],
) -> PositionValue:
    held, position = account.positions[asset], positions[asset]
    leverage = int(held["leverage"])
    return PositionValue(
        asset=asset,
        size=position.size,
        entry_price=position.entry_price,
        mark=marks[asset],
        leverage=leverage,
        unrealized_pnl=unrealized_pnl(position, marks[asset]),
        margin_used=initial_margin(position.notional(marks[asset]), leverage),
        liquidation_price=portfolio_liquidation_price(
            asset, account.collateral, list(positions.values()), marks, tiers
        ),
        stop_loss=held.get("stop_loss"),
        take_profit=held.get("take_profit"),
    )
