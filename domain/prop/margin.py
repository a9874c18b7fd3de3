"""Margin on Hyperliquid rules: initial and tiered maintenance margin, account value, liquidation.

Initial margin (trading-math 1.2) is ``notional / leverage``, checked only when a position
opens or grows. Maintenance margin is half the initial margin at the tier's max leverage:
``mmr(n) = 1 / (2 * maxLev(n))``, applied as ``MM = notional * mmr(n) - deduction(n)`` for
the tier ``n`` holding the notional, with ``deduction(0) = 0`` and
``deduction(n) = deduction(n-1) + lower_bound(n) * (mmr(n) - mmr(n-1))``. The deduction is
what keeps MM continuous at every tier bound, so crossing a bound never jumps the margin.

Account value (cross) is ``collateral + sum(uPnL at mark)``; the account is liquidatable when
it is strictly below the summed maintenance margin, evaluated on mark prices. An isolated
position is the same check with its isolated margin as the collateral.

Liquidation price (trading-math 1.3): with ``margin_available = account value - MM``, both
measured at price ``px``, ``liq = px - side * margin_available / |sz| / (1 - l * side)``
where ``l`` is the maintenance rate. It is where equity, which moves by ``side*|sz|`` per
unit of price, meets MM. With tiers the MM line of the tier holding the *liquidation*
notional applies, not the current one: ``side * (equity - MM)`` grows with the price, so the
tier is the highest whose lower bound is still at or below the root, and the formula is
solved with that tier's rate and deduction. Prices are returned unquantized (a display and
trigger level, not an order price); ``None`` means no positive price solves it.

All arithmetic runs in :data:`domain.prop.positions.CONTEXT`; amounts are unquantized
Decimal USDC (quantized only when posted).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from itertools import pairwise

from domain.market.model import MarginTier, PerpSpec
from domain.prop.money import PropMathError, require_decimal
from domain.prop.positions import (
    CONTEXT,
    ZERO,
    Position,
    require_price,
    unrealized_pnl,
)

TiersByAsset = Mapping[str, Sequence[MarginTier]]


class BadLeverage(PropMathError):
    """Raised when a leverage is not a positive integer."""


class BadMarginTiers(PropMathError):
    """Raised when a tier table is empty, does not start at 0 or has unsorted bounds."""


class MissingMark(PropMathError):
    """Raised when a position's asset has no mark price."""


class MissingMarginTiers(PropMathError):
    """Raised when a position's asset has no margin tier table."""


class NegativeNotional(PropMathError):
    """Raised when a notional (a position's value, always a magnitude) is negative."""


class DuplicatePosition(PropMathError):
    """Raised when an account lists two positions in one asset (netting allows one)."""


class NoPosition(PropMathError):
    """Raised when a liquidation price is asked for an asset the account does not hold."""


@dataclass(frozen=True)
class TierTerms:
    """A tier's maintenance line ``MM = notional * rate - deduction`` on its bounds."""

    lower_bound: Decimal
    upper_bound: Decimal | None
    rate: Decimal
    deduction: Decimal

    def margin(self, notional: Decimal) -> Decimal:
        """Return this tier's MM line at ``notional`` (even outside its bounds)."""
        with localcontext(CONTEXT):
            return notional * self.rate - self.deduction


def flat_tiers(max_leverage: int) -> tuple[MarginTier, ...]:
    """Return a one-tier table: ``max_leverage`` at every notional."""
    return (MarginTier(lower_bound=ZERO, max_leverage=_require_leverage(max_leverage)),)


def tiers_of(spec: PerpSpec) -> tuple[MarginTier, ...]:
    """Return a perp's tier table, or a flat one at its max leverage when it has none."""
    return spec.margin_tiers or flat_tiers(spec.max_leverage)


def maintenance_rate(max_leverage: int) -> Decimal:
    """Return ``1 / (2 * max_leverage)``, half the initial margin rate at max leverage."""
    with localcontext(CONTEXT):
        return 1 / Decimal(2 * _require_leverage(max_leverage))


def tier_terms(tiers: Sequence[MarginTier]) -> tuple[TierTerms, ...]:
    """Return each tier's rate and deduction (the recurrence that keeps MM continuous)."""
    _require_tiers(tiers)
    uppers: list[Decimal | None] = [tier.lower_bound for tier in tiers[1:]]
    terms: list[TierTerms] = []
    previous_rate, deduction = ZERO, ZERO
    with localcontext(CONTEXT):
        for tier, upper in zip(tiers, [*uppers, None], strict=True):
            rate = maintenance_rate(tier.max_leverage)
            deduction += tier.lower_bound * (rate - previous_rate)
            terms.append(TierTerms(tier.lower_bound, upper, rate, deduction))
            previous_rate = rate
    return tuple(terms)


def tier_for(notional: Decimal, terms: Sequence[TierTerms]) -> TierTerms:
    """Return the tier holding ``notional``: the last whose lower bound is at or below it."""
    return [term for term in terms if term.lower_bound <= notional][-1]


def maintenance_margin(notional: Decimal, tiers: Sequence[MarginTier]) -> Decimal:
    """Return the maintenance margin of a position of ``notional`` USDC."""
    if require_decimal("notional", notional) < 0:
        raise NegativeNotional(notional=notional)
    return tier_for(notional, tier_terms(tiers)).margin(notional)


def initial_margin(notional: Decimal, leverage: int) -> Decimal:
    """Return ``notional / leverage``, the margin needed to open at ``leverage``."""
    require_decimal("notional", notional)
    with localcontext(CONTEXT):
        return notional / _require_leverage(leverage)


def account_value(
    collateral: Decimal, positions: Iterable[Position], marks: Mapping[str, Decimal]
) -> Decimal:
    """Return ``collateral + sum(uPnL at mark)`` (cross account value, or isolated equity)."""
    require_decimal("collateral", collateral)
    with localcontext(CONTEXT):
        return collateral + sum(
            (unrealized_pnl(p, _mark(marks, p.asset)) for p in positions), start=ZERO
        )


def maintenance_required(
    positions: Iterable[Position], marks: Mapping[str, Decimal], tiers: TiersByAsset
) -> Decimal:
    """Return the summed maintenance margin of ``positions`` at their marks."""
    with localcontext(CONTEXT):
        return sum(
            (_position_mm(p, _mark(marks, p.asset), _tiers(tiers, p.asset)) for p in positions),
            start=ZERO,
        )


def margin_available(
    collateral: Decimal,
    positions: Sequence[Position],
    marks: Mapping[str, Decimal],
    tiers: TiersByAsset,
) -> Decimal:
    """Return account value minus maintenance required, both at the marks."""
    with localcontext(CONTEXT):
        value = account_value(collateral, positions, marks)
        return value - maintenance_required(positions, marks, tiers)


def is_liquidatable(
    collateral: Decimal,
    positions: Sequence[Position],
    marks: Mapping[str, Decimal],
    tiers: TiersByAsset,
) -> bool:
    """Whether account value is strictly below the maintenance margin at the marks."""
    return margin_available(collateral, positions, marks, tiers) < 0


def liquidation_price(
    position: Position,
    available: Decimal,
    tiers: Sequence[MarginTier],
    *,
    price: Decimal | None = None,
) -> Decimal | None:
    """Solve equity == MM for the price, given the margin ``available`` at ``price``.

    ``price`` defaults to the entry price (a freshly opened isolated position). Returns
    ``None`` when no positive price solves it: a long whose margin survives a fall to zero,
    or a short already below maintenance at every price.
    """
    px = require_price("price", position.entry_price if price is None else price)
    require_decimal("available", available)
    terms = tier_terms(tiers)
    side, size = position.side, abs(position.size)
    with localcontext(CONTEXT):
        value = available + _position_mm(position, px, tiers)  # account value at px
        # side * (equity - MM) is increasing in price: the root's tier is the last one whose
        # lower bound still has side * (equity - MM) <= 0.
        below = [t for t in terms if side * _excess(value, side, size, px, t) <= 0]
        if not below:
            return None
        term = below[-1]
        tier_available = value - term.margin(size * px)
        liq = px - side * tier_available / size / (1 - term.rate * side)
    return liq if liq > 0 else None


def isolated_liquidation_price(
    position: Position, isolated_margin: Decimal, tiers: Sequence[MarginTier]
) -> Decimal | None:
    """Return the liquidation price of an isolated position holding ``isolated_margin``."""
    with localcontext(CONTEXT):
        mm = _position_mm(position, position.entry_price, tiers)
        return liquidation_price(position, isolated_margin - mm, tiers)


def cross_liquidation_price(
    position: Position, collateral: Decimal, mark: Decimal, tiers: Sequence[MarginTier]
) -> Decimal | None:
    """Return the liquidation price of a cross account holding only ``position``."""
    marks, by_asset = {position.asset: mark}, {position.asset: tiers}
    available = margin_available(collateral, [position], marks, by_asset)
    return liquidation_price(position, available, tiers, price=mark)


def portfolio_liquidation_price(
    asset: str,
    collateral: Decimal,
    positions: Sequence[Position],
    marks: Mapping[str, Decimal],
    tiers: TiersByAsset,
) -> Decimal | None:
    """Return ``asset``'s liquidation price in a cross account, the others held at marks."""
    assets = [p.asset for p in positions]
    if len(set(assets)) != len(assets):
        raise DuplicatePosition(assets=assets)
    matching = [p for p in positions if p.asset == asset]
    if not matching:
        raise NoPosition(asset=asset)
    available = margin_available(collateral, positions, marks, tiers)
    return liquidation_price(
        matching[0], available, _tiers(tiers, asset), price=_mark(marks, asset)
    )


def _excess(value: Decimal, side: int, size: Decimal, px: Decimal, term: TierTerms) -> Decimal:
    # Equity minus MM at the price where this tier starts (notional == its lower bound).
    return value + side * (term.lower_bound - size * px) - term.margin(term.lower_bound)


def _position_mm(position: Position, price: Decimal, tiers: Sequence[MarginTier]) -> Decimal:
    return maintenance_margin(position.notional(price), tiers)


def _mark(marks: Mapping[str, Decimal], asset: str) -> Decimal:
    if asset not in marks:
        raise MissingMark(asset=asset)
    return require_price("mark", marks[asset])


def _tiers(tiers: TiersByAsset, asset: str) -> Sequence[MarginTier]:
    if asset not in tiers:
        raise MissingMarginTiers(asset=asset)
    return tiers[asset]


def _require_leverage(leverage: int) -> int:
    if type(leverage) is not int or leverage < 1:
        raise BadLeverage(leverage=leverage)
    return leverage


def _require_tiers(tiers: Sequence[MarginTier]) -> None:
    bounds = [tier.lower_bound for tier in tiers]
    if not bounds or bounds[0] != 0 or any(a >= b for a, b in pairwise(bounds)):
        raise BadMarginTiers(lower_bounds=bounds)
