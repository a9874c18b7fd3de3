"""Risk sizing: turning validated actions into market orders the ledger can decide.

The model (or the rules) says *what* to do per asset; the strategy's risk limits say *how
much*. Each quantity is derived once, here, with a stated rounding:

- margin for an entry = account value x size fraction (the action's, capped by the risk
  node's; validation already refused a larger one); notional = margin x leverage; size =
  notional / mark, **floored** to the asset's size decimals (a derived size never rounds
  up). A size that floors to zero is skipped, not sent.
- stop-loss and take-profit percentages become prices at that distance from the mark,
  quantized onto the asset's price grid **towards the mark**, so an exit is never further
  away than asked. Prices the model states itself are passed on as stated: the ledger
  rejects an off-grid stated price (``price_precision``) rather than moving it.
- one position per asset, no pyramiding: an entry while a position is open in that asset
  is skipped (``position_exists``); a close with nothing open is skipped (``no_position``);
  entries beyond the risk node's ``max_open_positions`` are skipped.

Closes are planned before entries, so the margin they free is there for the entries. Each
order's client order id is ``<decision id>:<asset>``: the decision is the order's cause,
and a retried decision re-sends the same id, which the ledger answers idempotently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from domain.market.instruments import Instrument, Rounding, floor_size, quantize_price
from domain.prop.orders import MarketOrder
from domain.prop.positions import Side
from domain.trading.actions import Action
from domain.trading.spec import RiskLimits

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class PlannedOrder:
    """An order to send, and the action it carries out."""

    action: Action
    order: MarketOrder


@dataclass(frozen=True)
class SkippedAction:
    """An action that produces no order, and why (a stable snake_case reason)."""

    action: Action
    reason: str


Plan = PlannedOrder | SkippedAction


def client_order_id(decision_id: UUID, asset: str) -> str:
    """The client order id of ``decision_id``'s order in ``asset``."""
    return f"{decision_id}:{asset}"


def plan_orders(
    actions: Sequence[Action],
    *,
    decision_id: UUID,
    equity: Decimal,
    positions: Mapping[str, Decimal],
    marks: Mapping[str, Decimal],
    instruments: Mapping[str, Instrument],
    risk: RiskLimits,
) -> list[Plan]:
    """Plan the orders of ``actions`` (holds produce nothing; closes come first)."""
    closes = [a for a in actions if a.signal == "close"]
    entries = [a for a in actions if a.signal in ("open_long", "open_short")]
    plans: list[Plan] = [_close(a, decision_id, positions) for a in closes]
    open_count = sum(1 for size in positions.values() if size != 0)
    open_count -= sum(1 for p in plans if isinstance(p, PlannedOrder))
    for action in entries:
        plan = _entry(action, decision_id, equity, positions, marks, instruments, risk, open_count)
        open_count += isinstance(plan, PlannedOrder)
        plans.append(plan)
    return plans


def _close(action: Action, decision_id: UUID, positions: Mapping[str, Decimal]) -> Plan:
    held = positions.get(action.asset, Decimal(0))
    if held == 0:
        return SkippedAction(action, "no_position")
    side = Side.SELL if held > 0 else Side.BUY
    order = MarketOrder(
        client_order_id(decision_id, action.asset), action.asset, side, abs(held), 1, True
    )
    return PlannedOrder(action, order)


def _entry(
    action: Action,
    decision_id: UUID,
    equity: Decimal,
    positions: Mapping[str, Decimal],
    marks: Mapping[str, Decimal],
    instruments: Mapping[str, Instrument],
    risk: RiskLimits,
    open_count: int,
) -> Plan:
    if positions.get(action.asset, Decimal(0)) != 0:
        return SkippedAction(action, "position_exists")
    if open_count >= risk.max_open_positions:
        return SkippedAction(action, "max_open_positions")
    mark, instrument = marks.get(action.asset), instruments.get(action.asset)
    if mark is None or instrument is None:
        return SkippedAction(action, "no_market_data")
    leverage = min(action.leverage or risk.leverage, risk.leverage, instrument.spec.max_leverage)
    fraction = min(action.size_fraction or risk.size_fraction, risk.size_fraction)
    decimals = instrument.spec.size_decimals
    size = floor_size(equity * fraction * leverage / mark, decimals)
    if size <= 0:
        return SkippedAction(action, "size_below_grid")
    long = action.signal == "open_long"
    order = MarketOrder(
        client_order_id(decision_id, action.asset),
        action.asset,
        Side.BUY if long else Side.SELL,
        size,
        leverage,
        stop_loss=action.stop_loss or exit_price(mark, risk.stop_loss_pct, long, False, decimals),
        take_profit=action.take_profit
        or exit_price(mark, risk.take_profit_pct, long, True, decimals),
    )
    return PlannedOrder(action, order)


def exit_price(
    mark: Decimal, percent: Decimal | None, long: bool, profit: bool, size_decimals: int
) -> Decimal | None:
    """The exit ``percent`` away from ``mark`` on the grid, rounded towards the mark.

    A long's take-profit and a short's stop-loss lie above the mark (rounded down); a long's
    stop-loss and a short's take-profit below it (rounded up).
    """
    if percent is None:
        return None
    above = long == profit
    distance = mark * percent / HUNDRED
    raw = mark + distance if above else mark - distance
    if raw <= 0:
        return None
    return quantize_price(raw, size_decimals, Rounding.DOWN if above else Rounding.UP)
