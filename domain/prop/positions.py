"""Perp positions on Hyperliquid/nautilus netting rules, and the per-fill amounts.

Sign convention: a size is signed, ``size > 0`` long and ``size < 0`` short, and ``side`` is
its sign (+1/-1). A :class:`Fill` carries a signed size too: a buy is positive, a sell
negative. A flat account holds no position (``None``), never a zero-size one.

Netting (trading-math 1.6 and 2.4, one position per asset):

- a fill on the position's side (or on a flat book) *opens*: the entry becomes the
  size-weighted average ``(entry*|S| + px*|q|) / (|S| + |q|)``;
- a fill against it *closes* ``min(|q|, |S|)`` and realizes ``side*(px - entry)*closed``;
  the entry of what remains is unchanged;
- a fill larger than the position *flips* it: only the closed part realizes PnL and the
  residual opens at the fill price; closing exactly to zero leaves no position.

Fees and funding: ``fee = |q| * px * rate`` on every fill, opening ones included (a
negative rate is a maker rebate); funding is ``size * oracle * hourly_rate`` with the rate
clamped to the venue's 4 %/hour cap, positive meaning the account pays (longs pay when the
rate is positive).

Numbers: everything runs in :data:`CONTEXT` (50 significant digits, half-even, trapping
invalid operations and division by zero), entered with ``localcontext`` so the caller's
context is neither used nor changed. Products of prices and sizes are exact at that
precision; the only inexact step is the weighted-average entry, rounded once to the context
precision. Amounts come back as unquantized ``Decimal`` USDC: they are quantized to micros
once, when posted (:mod:`domain.prop.money`). The one value quantized here is a derived fill
price, moved onto the price grid in the adverse direction (:func:`fill_price`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from enum import IntEnum

from domain.market.instruments import Rounding, quantize_price
from domain.prop.money import PropMathError, require_decimal

CONTEXT = Context(
    prec=50, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)
ZERO = Decimal(0)
FUNDING_RATE_CAP = Decimal("0.04")  # per hour, either direction
BPS_PER_UNIT = Decimal(10_000)


class Side(IntEnum):
    """Direction of a fill or a position: the sign of its size."""

    BUY = 1
    SELL = -1

    @classmethod
    def of(cls, size: Decimal) -> Side:
        """Return the side of a non-zero signed size (long/buy is positive)."""
        return cls.BUY if size > 0 else cls.SELL


class ZeroSize(PropMathError):
    """Raised when a position or fill has size zero (a flat book is ``None``)."""


class NonPositivePrice(PropMathError):
    """Raised when a price (entry, fill, mark, oracle, reference) is zero or negative."""


class AssetMismatch(PropMathError):
    """Raised when a fill is applied to a position in another asset."""


class BadSlippage(PropMathError):
    """Raised when slippage is negative or would move a sell price to zero or below."""


@dataclass(frozen=True)
class Position:
    """An open perp position: signed ``size`` (long > 0) at average ``entry_price``."""

    asset: str
    size: Decimal
    entry_price: Decimal

    def __post_init__(self) -> None:
        _require_size("size", self.size)
        require_price("entry_price", self.entry_price)

    @property
    def side(self) -> Side:
        """Long (BUY) or short (SELL)."""
        return Side.of(self.size)

    def notional(self, price: Decimal) -> Decimal:
        """Return ``|size| * price``, the position's value at ``price``."""
        with localcontext(CONTEXT):
            return abs(self.size) * require_price("price", price)


@dataclass(frozen=True)
class Fill:
    """A fill of signed ``size`` (buy > 0) at ``price``."""

    asset: str
    size: Decimal
    price: Decimal

    def __post_init__(self) -> None:
        _require_size("size", self.size)
        require_price("price", self.price)


@dataclass(frozen=True)
class FillEffect:
    """What a fill did: the new position, the realized PnL and the sizes closed and opened.

    ``realized_pnl`` is unquantized USDC and excludes the fee; ``closed_size`` and
    ``opened_size`` are non-negative magnitudes with ``closed + opened == |fill size|``.
    """

    position: Position | None
    realized_pnl: Decimal
    closed_size: Decimal
    opened_size: Decimal


def apply_fill(position: Position | None, fill: Fill) -> FillEffect:
    """Net ``fill`` into ``position``: increase, reduce, close or flip it."""
    if position is None:
        return FillEffect(Position(fill.asset, fill.size, fill.price), ZERO, ZERO, abs(fill.size))
    if position.asset != fill.asset:
        raise AssetMismatch(position=position.asset, fill=fill.asset)
    if Side.of(fill.size) is position.side:
        return FillEffect(_increased(position, fill), ZERO, ZERO, abs(fill.size))
    return _reduced(position, fill)


def _increased(position: Position, fill: Fill) -> Position:
    with localcontext(CONTEXT):
        size = abs(position.size) + abs(fill.size)
        entry = (position.entry_price * abs(position.size) + fill.price * abs(fill.size)) / size
        return Position(position.asset, position.size + fill.size, entry)


def _reduced(position: Position, fill: Fill) -> FillEffect:
    with localcontext(CONTEXT):
        closed = min(abs(fill.size), abs(position.size))
        realized = position.side * (fill.price - position.entry_price) * closed
        residual = position.size + fill.size
    if residual == 0:
        return FillEffect(None, realized, closed, ZERO)
    if Side.of(residual) is position.side:
        remaining = Position(position.asset, residual, position.entry_price)
        return FillEffect(remaining, realized, closed, ZERO)
    flipped = Position(position.asset, residual, fill.price)
    return FillEffect(flipped, realized, closed, abs(residual))


def reduce_only_size(position: Position | None, size: Decimal) -> Decimal:
    """Clamp a reduce-only order's signed ``size`` to what closes ``position`` (0 if none)."""
    _require_size("size", size)
    if position is None or Side.of(size) is position.side:
        return ZERO
    return Side.of(size) * min(abs(size), abs(position.size))


def unrealized_pnl(position: Position, mark: Decimal) -> Decimal:
    """Return ``side * (mark - entry) * |size|``, the PnL if closed at ``mark``."""
    require_price("mark", mark)
    with localcontext(CONTEXT):
        return position.size * (mark - position.entry_price)


def fee(size: Decimal, price: Decimal, rate: Decimal) -> Decimal:
    """Return the fee ``|size| * price * rate`` of a fill (negative rate: a rebate)."""
    require_decimal("size", size)
    require_price("price", price)
    require_decimal("rate", rate)
    with localcontext(CONTEXT):
        return abs(size) * price * rate


def capped_funding_rate(hourly_rate: Decimal) -> Decimal:
    """Clamp an hourly funding rate to the venue's +/-4 % cap."""
    require_decimal("hourly_rate", hourly_rate)
    return max(-FUNDING_RATE_CAP, min(FUNDING_RATE_CAP, hourly_rate))


def funding_payment(size: Decimal, oracle_price: Decimal, hourly_rate: Decimal) -> Decimal:
    """Return one hour's funding on a signed size (positive: the account pays)."""
    require_decimal("size", size)
    require_price("oracle_price", oracle_price)
    with localcontext(CONTEXT):
        return size * oracle_price * capped_funding_rate(hourly_rate)


def fill_price(
    reference: Decimal, side: Side, slippage_bps: Decimal, size_decimals: int
) -> Decimal:
    """Move ``reference`` adversely by ``slippage_bps`` and onto the grid, adversely too.

    A buy pays at least ``reference * (1 + bps/10^4)`` (rounded UP to the grid), a sell
    receives at most ``reference * (1 - bps/10^4)`` (rounded DOWN).
    """
    require_price("reference", reference)
    require_decimal("slippage_bps", slippage_bps)
    if slippage_bps < 0 or slippage_bps >= BPS_PER_UNIT:
        raise BadSlippage(slippage_bps=slippage_bps)
    with localcontext(CONTEXT):
        moved = reference * (1 + side * slippage_bps / BPS_PER_UNIT)
    rounding = Rounding.UP if side is Side.BUY else Rounding.DOWN
    return quantize_price(moved, size_decimals, rounding)


def require_price(name: str, price: Decimal) -> Decimal:
    """Return ``price`` if it is a positive finite Decimal, else raise."""
    if require_decimal(name, price) <= 0:
        raise NonPositivePrice(**{name: price})
    return price


def _require_size(name: str, size: Decimal) -> Decimal:
    if require_decimal(name, size) == 0:
        raise ZeroSize(**{name: size})
    return size
