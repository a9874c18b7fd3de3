"""Fills and round-trip trades read back from an account's own events.

A backtest's trades are not tracked beside the ledger: they are read from the isolated
account's event stream once the run ends, so they are exactly what the ledger booked. A
trade opens when a position leaves zero and closes when it returns to zero; a fill that
flips the position closes one trade at its price and opens the next with the remainder.
A trade's PnL is its realized PnL less its fees plus the funding it received while open (a
funding payment is received funding with the sign turned), all as the events carry them in
micro-USDC, turned into USDC here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from domain.backtesting.metrics import ClosedTrade
from domain.prop.account import PropAccount
from domain.prop.money import micros_to_decimal


@dataclass
class _Open:
    side: str
    opened_at: datetime
    size: Decimal
    entry: Decimal
    realized: int = 0
    fees: int = 0
    funding: int = 0


def fills_and_trades(events: Iterable[Any]) -> tuple[list[dict[str, Any]], list[ClosedTrade]]:
    """Every fill (as a document) and every closed trade, in event order."""
    fills: list[dict[str, Any]] = []
    trades: list[ClosedTrade] = []
    open_trades: dict[str, _Open] = {}
    for event in events:
        if isinstance(event, PropAccount.OrderFilled):
            fills.append(_fill_document(event))
            _on_fill(event, open_trades, trades)
        elif isinstance(event, PropAccount.FundingApplied) and event.asset in open_trades:
            open_trades[event.asset].funding -= event.payment_micros  # payment: what it paid
    return fills, trades


def _on_fill(
    event: PropAccount.OrderFilled, open_trades: dict[str, _Open], trades: list[ClosedTrade]
) -> None:
    after = event.position_size
    before = after - event.size
    current = open_trades.get(event.asset)
    if current is not None:
        current.realized += event.realized_pnl_micros
        current.fees += event.fee_micros
        current.size = max(current.size, abs(after))
        if after == 0 or (after > 0) != (before > 0):
            trades.append(_closed(event, current))
            del open_trades[event.asset]
        else:
            current.entry = event.position_entry or current.entry
    if after != 0 and event.asset not in open_trades:
        fee = 0 if current is not None else event.fee_micros
        open_trades[event.asset] = _Open(
            "long" if after > 0 else "short",
            event.timestamp,
            abs(after),
            event.position_entry or event.fill_price,
            fees=fee,
        )


def _closed(event: PropAccount.OrderFilled, trade: _Open) -> ClosedTrade:
    pnl = trade.realized - trade.fees + trade.funding
    return ClosedTrade(
        asset=event.asset,
        side=trade.side,
        opened_at=trade.opened_at,
        closed_at=event.timestamp,
        size=trade.size,
        entry_price=trade.entry,
        exit_price=event.fill_price,
        pnl=micros_to_decimal(pnl),
        fees=micros_to_decimal(trade.fees),
        funding=micros_to_decimal(trade.funding),
    )


def _fill_document(event: PropAccount.OrderFilled) -> dict[str, Any]:
    return {
        "at": event.timestamp.isoformat(),
        "clientOrderId": event.client_order_id,
        "origin": event.origin,
        "asset": event.asset,
        "size": str(event.size),
        "price": str(event.fill_price),
        "referencePrice": str(event.reference_price),
        "feeMicros": event.fee_micros,
        "realizedPnlMicros": event.realized_pnl_micros,
        "positionAfter": str(event.position_size),
    }
