"""Perpetual instruments and their precision rules (Hyperliquid's, see trading-math 1.7).

- A *size* has at most ``size_decimals`` decimals.
- A *price* has at most 5 significant figures and at most ``6 - size_decimals`` decimals;
  an integer price is always valid (123456 is, 12345.6 is not).
- An order's notional must be at least the minimum (10 USDC).

Prices and sizes the caller states are validated (and rejected when they break a rule);
values the system derives are quantized: a fill price towards the adverse side of the grid
(:func:`quantize_price`), a computed size down (:func:`floor_size`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum

from domain.market.model import PerpSpec

MAX_PERP_DECIMALS = 6
MAX_SIGNIFICANT_FIGURES = 5


class Rounding(StrEnum):
    """Which way a derived price moves onto the grid."""

    UP = "up"  # a buyer's fill: pay at least the reference
    DOWN = "down"  # a seller's fill: receive at most the reference


class PriceBelowGrid(ValueError):
    """Raised when a price is smaller than the smallest step of its grid."""


@dataclass(frozen=True)
class Instrument:
    """A perp as the ledger uses it: registry spec, fees and limits, and the version."""

    spec: PerpSpec
    version: int
    valid_from: datetime
    taker_fee_rate: Decimal
    maker_fee_rate: Decimal
    min_notional: Decimal

    @property
    def name(self) -> str:
        """The asset name (``BTC``)."""
        return self.spec.name

    def price_decimals(self, price: Decimal) -> int:
        """How many decimals a price of this magnitude may carry."""
        return allowed_price_decimals(price, self.spec.size_decimals)


def allowed_price_decimals(price: Decimal, size_decimals: int) -> int:
    """Return the decimals allowed for ``price`` (sig-figs and per-asset cap combined)."""
    if price <= 0:
        raise ValueError(f"prices are positive: price={price}")
    integer_digits = price.adjusted() + 1  # digits before the point (<= 0 below 1)
    by_significance = MAX_SIGNIFICANT_FIGURES - integer_digits
    return max(0, min(MAX_PERP_DECIMALS - size_decimals, by_significance))


def is_valid_price(price: Decimal, size_decimals: int) -> bool:
    """Whether ``price`` is on the grid as stated (integers always are)."""
    if price <= 0 or not price.is_finite():
        return False
    if price == price.to_integral_value():
        return True
    decimals = allowed_price_decimals(price, size_decimals)
    return price == price.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_FLOOR)


def quantize_price(price: Decimal, size_decimals: int, rounding: Rounding) -> Decimal:
    """Move a derived price onto the grid, in the given direction."""
    decimals = allowed_price_decimals(price, size_decimals)
    mode = ROUND_CEILING if rounding is Rounding.UP else ROUND_FLOOR
    quantized = price.quantize(Decimal(1).scaleb(-decimals), rounding=mode)
    if quantized <= 0:
        raise PriceBelowGrid(f"price={price} size_decimals={size_decimals}")
    if not is_valid_price(quantized, size_decimals):  # rounding up crossed a magnitude
        return quantize_price(quantized, size_decimals, rounding)
    return quantized


def is_valid_size(size: Decimal, size_decimals: int) -> bool:
    """Whether ``size`` is positive with at most ``size_decimals`` decimals."""
    if size <= 0 or not size.is_finite():
        return False
    return size == size.quantize(Decimal(1).scaleb(-size_decimals), rounding=ROUND_FLOOR)


def floor_size(size: Decimal, size_decimals: int) -> Decimal:
    """Round a derived size down to the size grid."""
    return size.quantize(Decimal(1).scaleb(-size_decimals), rounding=ROUND_FLOOR)
