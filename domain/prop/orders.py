"""Market orders and the safety gates that decide them, as pure functions.

``decide`` reads the account (collateral, positions, rules), the instrument in force and the
reference price, and returns either a ``Filled`` (the fill price, fee, realized PnL and the
position after) or a ``Rejected`` with a stable reason. Gates run in a fixed order, the
first failing one names the reason:

account closed, account frozen, asset not allowed (or unknown/delisted), size precision,
stop/take price precision, leverage above the asset's or the rules' limit, reduce-only that
would increase, below the minimum notional, max open positions, position notional limit,
insufficient margin.

Exposure-reducing fills skip the opening gates (notional, positions, margin), so a trader can
always get out; a fill that flips through zero adds exposure and passes them all. The fill
price is the reference moved adversely by the rules' slippage and snapped to the price grid
adversely; the fee is the instrument's taker rate on the notional.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from domain.market.instruments import Instrument, is_valid_price, is_valid_size
from domain.prop.errors import RejectReason
from domain.prop.margin import account_value, initial_margin
from domain.prop.money import MICROS_PER_USDC
from domain.prop.positions import Fill, Position, Side, apply_fill, fee, fill_price
from domain.prop.rules import RuleSet


@dataclass(frozen=True)
class MarketOrder:
    """A market order as the trader states it (size positive, side separate)."""

    client_order_id: str
    asset: str
    side: Side
    size: Decimal
    leverage: int
    reduce_only: bool = False
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    reference_price: Decimal | None = None

    def fingerprint(self) -> str:
        """A hash of the order's content: the same id with another content is a conflict."""
        content = [
            self.asset,
            int(self.side),
            str(self.size),
            self.leverage,
            self.reduce_only,
            str(self.stop_loss),
            str(self.take_profit),
            str(self.reference_price),
        ]
        return hashlib.sha256(json.dumps(content).encode()).hexdigest()

    @property
    def signed_size(self) -> Decimal:
        """The size with the side's sign (buy > 0)."""
        return self.size * int(self.side)


@dataclass(frozen=True)
class AccountView:
    """What the gates read of an account."""

    status: str
    collateral: Decimal
    positions: Mapping[str, Position]
    leverages: Mapping[str, int]
    rules: RuleSet


@dataclass(frozen=True)
class Filled:
    """An accepted order's effect (amounts unquantized; the postings quantize them)."""

    asset: str
    size: Decimal
    fill_price: Decimal
    reference_price: Decimal
    fee: Decimal
    realized_pnl: Decimal
    position: Position | None
    instrument: Instrument


@dataclass(frozen=True)
class Rejected:
    """A refused order and why."""

    reason: RejectReason
    detail: str


@dataclass(frozen=True)
class _Case:
    view: AccountView
    order: MarketOrder
    instrument: Instrument
    size: Decimal
    price: Decimal
    marks: Mapping[str, Decimal]

    @property
    def current(self) -> Position | None:
        return self.view.positions.get(self.order.asset)

    @property
    def increases(self) -> bool:
        """Whether the fill adds exposure: opens, adds to, or flips through the position."""
        current = self.current
        if current is None:
            return True
        same_side = (current.size > 0) == (self.order.side is Side.BUY)
        return same_side or self.size > abs(current.size)


Gate = Callable[[_Case], Rejected | None]


def decide(
    view: AccountView,
    order: MarketOrder,
    instrument: Instrument | None,
    reference: Decimal | None,
    marks: Mapping[str, Decimal],
) -> Filled | Rejected:
    """Run the gates; fill the order at the slipped, gridded reference price if all pass."""
    early = _account_gate(view)
    if early is not None:
        return early
    listed = _listed(view, order, instrument)
    if isinstance(listed, Rejected):
        return listed
    if reference is None:
        return Rejected(RejectReason.NO_MARK, f"asset={order.asset}")
    size = _executable_size(view, order)
    price = fill_price(reference, order.side, view.rules.slippage_bps, listed.spec.size_decimals)
    # A held position without a mark is valued at its entry price (documented fallback).
    at_entry = {asset: p.entry_price for asset, p in view.positions.items()}
    case = _Case(view, order, listed, size, price, {**at_entry, **marks, order.asset: price})
    for gate in GATES:
        rejected = gate(case)
        if rejected is not None:
            return rejected
    return _fill(case, reference)


def _account_gate(view: AccountView) -> Rejected | None:
    if view.status == "closed":
        return Rejected(RejectReason.ACCOUNT_CLOSED, "the account is closed")
    if view.status == "frozen":
        return Rejected(RejectReason.ACCOUNT_FROZEN, "the account is frozen")
    return None


def _listed(
    view: AccountView, order: MarketOrder, instrument: Instrument | None
) -> Instrument | Rejected:
    if order.asset not in view.rules.allowed_assets:
        return Rejected(RejectReason.ASSET_NOT_ALLOWED, f"asset={order.asset} not in the rules")
    if instrument is None or instrument.spec.delisted:
        return Rejected(RejectReason.ASSET_NOT_ALLOWED, f"asset={order.asset} is not listed")
    return instrument


def _executable_size(view: AccountView, order: MarketOrder) -> Decimal:
    current = view.positions.get(order.asset)
    if order.reduce_only and current is not None:
        return min(order.size, abs(current.size))
    return order.size


def _precision(case: _Case) -> Rejected | None:
    decimals = case.instrument.spec.size_decimals
    if not is_valid_size(case.order.size, decimals):
        return Rejected(
            RejectReason.SIZE_PRECISION, f"size={case.order.size} allows {decimals} decimals"
        )
    for name, price in (
        ("stop_loss", case.order.stop_loss),
        ("take_profit", case.order.take_profit),
    ):
        if price is not None and not is_valid_price(price, decimals):
            return Rejected(RejectReason.PRICE_PRECISION, f"{name}={price} is off the grid")
    return None


def _leverage(case: _Case) -> Rejected | None:
    limit = min(case.instrument.spec.max_leverage, case.view.rules.max_leverage)
    if not 1 <= case.order.leverage <= limit:
        return Rejected(
            RejectReason.LEVERAGE_ABOVE_LIMIT, f"leverage={case.order.leverage} limit={limit}"
        )
    return None


def _reduce_only(case: _Case) -> Rejected | None:
    current = case.current
    same_side = current is None or (current.size > 0) == (case.order.side is Side.BUY)
    if case.order.reduce_only and same_side:
        return Rejected(
            RejectReason.REDUCE_ONLY_WOULD_INCREASE,
            f"asset={case.order.asset} has no opposite position",
        )
    return None


def _min_notional(case: _Case) -> Rejected | None:
    notional = case.size * case.price
    closes_whole = (
        case.current is not None and not case.increases and case.size == abs(case.current.size)
    )
    if notional < case.instrument.min_notional and not closes_whole:
        return Rejected(
            RejectReason.BELOW_MIN_NOTIONAL,
            f"notional={notional} minimum={case.instrument.min_notional}",
        )
    return None


def _open_positions(case: _Case) -> Rejected | None:
    opening_new = case.current is None
    if opening_new and len(case.view.positions) >= case.view.rules.max_open_positions:
        return Rejected(
            RejectReason.MAX_OPEN_POSITIONS, f"limit={case.view.rules.max_open_positions}"
        )
    return None


def _position_notional(case: _Case) -> Rejected | None:
    limit = case.view.rules.max_position_notional_micros.get(case.order.asset)
    after = _position_after(case)
    if limit is None or after is None or not case.increases:
        return None
    notional = after.notional(case.price)
    if notional * MICROS_PER_USDC > limit:
        return Rejected(
            RejectReason.POSITION_NOTIONAL_LIMIT, f"notional={notional} limit_micros={limit}"
        )
    return None


def _margin(case: _Case) -> Rejected | None:
    if not case.increases:
        return None
    effect = apply_fill(case.current, Fill(case.order.asset, _signed(case), case.price))
    positions = {**case.view.positions}
    positions.pop(case.order.asset, None)
    if effect.position is not None:
        positions[case.order.asset] = effect.position
    leverages = {**case.view.leverages, case.order.asset: case.order.leverage}
    cost = fee(case.size, case.price, case.instrument.taker_fee_rate)
    value = account_value(
        case.view.collateral + effect.realized_pnl - cost, positions.values(), case.marks
    )
    required = sum(
        (initial_margin(p.notional(case.marks[a]), leverages[a]) for a, p in positions.items()),
        start=Decimal(0),
    )
    if required > value:
        return Rejected(RejectReason.INSUFFICIENT_MARGIN, f"required={required} value={value}")
    return None


def _signed(case: _Case) -> Decimal:
    return case.size * int(case.order.side)


def _position_after(case: _Case) -> Position | None:
    return apply_fill(case.current, Fill(case.order.asset, _signed(case), case.price)).position


def _fill(case: _Case, reference: Decimal) -> Filled:
    effect = apply_fill(case.current, Fill(case.order.asset, _signed(case), case.price))
    return Filled(
        asset=case.order.asset,
        size=_signed(case),
        fill_price=case.price,
        reference_price=reference,
        fee=fee(case.size, case.price, case.instrument.taker_fee_rate),
        realized_pnl=effect.realized_pnl,
        position=effect.position,
        instrument=case.instrument,
    )


GATES: tuple[Gate, ...] = (
    _precision,
    _leverage,
    _reduce_only,
    _min_notional,
    _open_positions,
    _position_notional,
    _margin,
)
