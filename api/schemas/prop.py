"""Prop account models of the HTTP contract. Money, prices and sizes travel as strings."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field

from api.schemas.base import ApiModel
from domain.prop.money import format_micros
from domain.prop.valuation import AccountValue, PositionValue
from projections.prop_queries import AccountRow, FillRow, OrderRow, SnapshotRow

Money = str


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _usdc(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.000001'))}"


class PositionPublic(ApiModel):
    """An open position valued at the market clock's latest mark."""

    asset: str
    size: str
    entry_price: str
    mark: str
    leverage: int
    unrealized_pnl: Money
    margin_used: Money
    liquidation_price: str | None
    stop_loss: str | None
    take_profit: str | None

    @classmethod
    def of(cls, value: PositionValue) -> PositionPublic:
        """Build from the valuation."""
        liquidation = value.liquidation_price
        return cls(
            asset=value.asset,
            size=str(value.size),
            entry_price=str(value.entry_price),
            mark=str(value.mark),
            leverage=value.leverage,
            unrealized_pnl=_usdc(value.unrealized_pnl),
            margin_used=_usdc(value.margin_used),
            liquidation_price=None if liquidation is None else _usdc(liquidation),
            stop_loss=_text(value.stop_loss),
            take_profit=_text(value.take_profit),
        )


class PropAccountPublic(ApiModel):
    """A prop account: folded totals, and its value at the latest marks."""

    id: str
    owner: str
    purpose: str
    status: str
    collateral: Money
    realized_pnl: Money
    fees: Money
    funding: Money
    adjustments: Money
    liquidations: int
    account_value: Money
    margin_used: Money
    maintenance_required: Money
    free_collateral: Money
    as_of: datetime
    positions: list[PositionPublic]

    @classmethod
    def of(cls, row: AccountRow, value: AccountValue, as_of: datetime) -> PropAccountPublic:
        """Build from the read model and the valuation."""
        return cls(
            id=row.account_id,
            owner=row.owner,
            purpose=row.purpose,
            status=row.status,
            collateral=format_micros(row.collateral_micros),
            realized_pnl=format_micros(row.realized_micros),
            fees=format_micros(row.fees_micros),
            funding=format_micros(row.funding_micros),
            adjustments=format_micros(row.adjustments_micros),
            liquidations=row.liquidations,
            account_value=_usdc(value.account_value),
            margin_used=_usdc(value.margin_used),
            maintenance_required=_usdc(value.maintenance_required),
            free_collateral=_usdc(value.free_collateral),
            as_of=as_of,
            positions=[PositionPublic.of(p) for p in value.positions],
        )


class FillPublic(ApiModel):
    """A fill."""

    version: int
    client_order_id: str
    origin: str
    asset: str
    size: str
    fill_price: str
    fee: Money
    realized_pnl: Money
    instrument_version: int
    at: datetime

    @classmethod
    def of(cls, row: FillRow) -> FillPublic:
        """Build from the read model."""
        return cls(
            version=row.version,
            client_order_id=row.client_order_id,
            origin=row.origin,
            asset=row.asset,
            size=str(row.size),
            fill_price=str(row.fill_price),
            fee=format_micros(row.fee_micros),
            realized_pnl=format_micros(row.realized_pnl_micros),
            instrument_version=row.instrument_version,
            at=row.at,
        )


class OrderPublic(ApiModel):
    """An order and its outcome (a rejection carries its reason code)."""

    version: int
    client_order_id: str
    status: str
    reason: str | None
    asset: str
    size: str
    at: datetime

    @classmethod
    def of(cls, row: OrderRow) -> OrderPublic:
        """Build from the read model."""
        return cls(
            version=row.version,
            client_order_id=row.client_order_id,
            status=row.status,
            reason=row.reason,
            asset=row.asset,
            size=str(row.size),
            at=row.at,
        )


class SnapshotPublic(ApiModel):
    """An equity snapshot."""

    at: datetime
    collateral: Money
    account_value: Money
    unrealized_pnl: Money
    margin_used: Money

    @classmethod
    def of(cls, row: SnapshotRow) -> SnapshotPublic:
        """Build from the read model."""
        return cls(
            at=row.at,
            collateral=format_micros(row.collateral_micros),
            account_value=_usdc(row.account_value),
            unrealized_pnl=_usdc(row.unrealized_pnl),
            margin_used=_usdc(row.margin_used),
        )


class FillsPublic(ApiModel):
    """A page of fills."""

    data: list[FillPublic]
    next_cursor: str | None


class OrdersPublic(ApiModel):
    """A page of orders."""

    data: list[OrderPublic]
    next_cursor: str | None


class SnapshotsPublic(ApiModel):
    """A page of equity snapshots."""

    data: list[SnapshotPublic]
    next_cursor: str | None


class RulesCreate(ApiModel):
    """Limits for a new account (defaults: BTC/ETH/SOL, 10x, 3 positions, 5 bps slippage)."""

    allowed_assets: list[str] = Field(default=["BTC", "ETH", "SOL"], max_length=50)
    max_leverage: int = Field(default=10, ge=1, le=100)
    max_open_positions: int = Field(default=3, ge=1, le=50)
    slippage_bps: str = Field(default="5", pattern=r"^\d+(\.\d+)?$", max_length=10)
    max_position_notional: dict[str, str] = Field(default_factory=dict)


class SandboxAccountCreate(ApiModel):
    """Open a sandbox account for a user."""

    owner_user_id: str = Field(min_length=1, max_length=64)
    collateral: str = Field(pattern=r"^\d+(\.\d{1,6})?$", max_length=20, examples=["10000"])
    rules: RulesCreate = Field(default_factory=RulesCreate)
    cause: str | None = Field(
        default=None,
        max_length=128,
        description="Idempotency: the same cause opens the same account.",
    )


class OrderCreate(ApiModel):
    """A market order."""

    client_order_id: str = Field(min_length=1, max_length=64)
    asset: str = Field(min_length=1, max_length=32)
    side: Literal["buy", "sell"]
    size: str = Field(pattern=r"^\d+(\.\d+)?$", max_length=40)
    leverage: int = Field(ge=1, le=100)
    reduce_only: bool = False
    stop_loss: str | None = Field(default=None, pattern=r"^\d+(\.\d+)?$", max_length=40)
    take_profit: str | None = Field(default=None, pattern=r"^\d+(\.\d+)?$", max_length=40)
    reference_price: str | None = Field(default=None, pattern=r"^\d+(\.\d+)?$", max_length=40)


class AdminReason(ApiModel):
    """Why an admin acts (kept on the event)."""

    reason: str = Field(min_length=1, max_length=500)


class AdjustmentCreate(ApiModel):
    """A correcting entry: a stated amount in (positive) or out (negative) of collateral."""

    amount: str = Field(pattern=r"^-?\d+(\.\d{1,6})?$", max_length=20)
    reason: str = Field(min_length=1, max_length=500)


class WrittenPublic(ApiModel):
    """A write's result; read with ``?after=position`` to see it in the read models."""

    account_id: str
    position: int
    outcome: str | None = None
    reason: str | None = None
