"""Commands on a prop account: decide with the pure rules, then trigger one event.

These functions are the aggregate's command side. Each validates against the current state
and triggers a past-tense event (or raises when nothing may be recorded); none of them
mutates state except through an event's ``apply``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.market.instruments import Instrument
from domain.market.model import MarginTier
from domain.prop.account import PropAccount, funding_key, postings_document
from domain.prop.errors import AccountNotOpen, InvalidCommand, OrderConflict
from domain.prop.margin import account_value, maintenance_required, tiers_of
from domain.prop.money import (
    Posting,
    adjustment_postings,
    charge_micros,
    collateral_account,
    credit_micros,
    exact_micros,
    fill_postings,
    funding_postings,
    transfer,
)
from domain.prop.orders import AccountView, Filled, MarketOrder, Rejected, decide
from domain.prop.positions import Fill, Position, Side, apply_fill, fee, funding_payment
from domain.prop.rules import Purpose, RuleSet

TREASURY = "treasury:collateral"
VENUE_BACKSTOP = "venue:backstop"


@dataclass(frozen=True)
class OrderOutcome:
    """What a submitted order came to (also for an idempotent replay of it)."""

    client_order_id: str
    status: str  # filled | rejected
    reason: str | None
    version: int


def open_account(
    account_id: UUID,
    *,
    owner: str,
    purpose: Purpose,
    cause: str,
    rules: RuleSet,
    collateral_micros: int,
) -> PropAccount:
    """Open an account funded with ``collateral_micros`` from the treasury."""
    if collateral_micros <= 0:
        raise InvalidCommand(f"collateral_micros={collateral_micros} must be positive")
    postings = transfer(TREASURY, collateral_account(str(account_id)), collateral_micros)
    return PropAccount._create(
        PropAccount.Opened,
        id=account_id,
        owner=owner,
        purpose=purpose.value,
        cause=cause,
        rules=rules.to_document(),
        postings=postings_document(postings),
    )


def view_of(account: PropAccount) -> AccountView:
    """What the gates read of ``account``."""
    return AccountView(
        status=account.status,
        collateral=account.collateral,
        positions=positions_of(account),
        leverages={a: int(p["leverage"]) for a, p in account.positions.items()},
        rules=RuleSet.from_document(account.rules),
    )


def positions_of(account: PropAccount) -> dict[str, Position]:
    """The account's open positions as value objects."""
    return {a: Position(a, p["size"], p["entry_price"]) for a, p in account.positions.items()}


def submit_order(
    account: PropAccount,
    order: MarketOrder,
    instrument: Instrument | None,
    reference: Decimal | None,
    marks: Mapping[str, Decimal],
) -> OrderOutcome:
    """Fill or reject ``order``; a retried client order id returns its first outcome."""
    known = account.orders.get(order.client_order_id)
    if known is not None:
        if known["fingerprint"] != order.fingerprint():
            raise OrderConflict(f"client_order_id={order.client_order_id}")
        return OrderOutcome(
            order.client_order_id, known["status"], known.get("reason"), known["version"]
        )
    decision = decide(view_of(account), order, instrument, reference, marks)
    if isinstance(decision, Rejected):
        account.trigger_event(
            PropAccount.OrderRejected,
            client_order_id=order.client_order_id,
            fingerprint=order.fingerprint(),
            asset=order.asset,
            size=order.signed_size,
            reason=decision.reason.value,
            detail=decision.detail,
        )
        return OrderOutcome(
            order.client_order_id, "rejected", decision.reason.value, account.version
        )
    _record_fill(
        account,
        decision,
        origin="order",
        client_order_id=order.client_order_id,
        fingerprint=order.fingerprint(),
        leverage=_leverage_after(account, order, decision),
        stops=_stops_after(account, order, decision),
    )
    return OrderOutcome(order.client_order_id, "filled", None, account.version)


def _flipped_or_new(account: PropAccount, decision: Filled) -> bool:
    held = account.positions.get(decision.asset)
    after = decision.position
    return held is None or (after is not None and (after.size > 0) != (held["size"] > 0))


def _leverage_after(account: PropAccount, order: MarketOrder, decision: Filled) -> int:
    """A position keeps its leverage when reduced; adding to it sets the order's leverage."""
    held = account.positions.get(decision.asset)
    if held is None or _flipped_or_new(account, decision):
        return order.leverage
    reducing = (decision.size > 0) != (held["size"] > 0)
    return int(held["leverage"]) if reducing else order.leverage


def _stops_after(
    account: PropAccount, order: MarketOrder, decision: Filled
) -> tuple[Decimal | None, Decimal | None]:
    """Stops an order states replace the position's; unstated ones survive (not a flip)."""
    held = account.positions.get(decision.asset)
    if held is None or _flipped_or_new(account, decision):
        return order.stop_loss, order.take_profit
    stop = order.stop_loss if order.stop_loss is not None else held.get("stop_loss")
    take = order.take_profit if order.take_profit is not None else held.get("take_profit")
    return stop, take


def _record_fill(
    account: PropAccount,
    filled: Filled,
    *,
    origin: str,
    client_order_id: str,
    fingerprint: str,
    leverage: int,
    stops: tuple[Decimal | None, Decimal | None],
) -> None:
    postings = fill_postings(collateral_account(str(account.id)), filled.realized_pnl, filled.fee)
    after = filled.position
    account.trigger_event(
        PropAccount.OrderFilled,
        client_order_id=client_order_id,
        fingerprint=fingerprint,
        origin=origin,
        asset=filled.asset,
        size=filled.size,
        fill_price=filled.fill_price,
        reference_price=filled.reference_price,
        fee_micros=charge_micros(filled.fee),
        realized_pnl_micros=credit_micros(filled.realized_pnl),
        leverage=leverage,
        stop_loss=stops[0] if after else None,
        take_profit=stops[1] if after else None,
        instrument_version=filled.instrument.version,
        position_size=after.size if after else Decimal(0),
        position_entry=after.entry_price if after else None,
        postings=postings_document(postings),
    )


def close_at(
    account: PropAccount,
    asset: str,
    price: Decimal,
    instrument: Instrument,
    *,
    origin: str,
    key: str,
) -> None:
    """Close the whole position in ``asset`` at ``price`` (a trigger, close-all, liquidation)."""
    held = account.positions[asset]
    position = Position(asset, held["size"], held["entry_price"])
    effect = apply_fill(position, Fill(asset, -position.size, price))
    filled = Filled(
        asset,
        -position.size,
        price,
        price,
        fee(abs(position.size), price, instrument.taker_fee_rate),
        effect.realized_pnl,
        None,
        instrument,
    )
    _record_fill(
        account,
        filled,
        origin=origin,
        client_order_id=key,
        fingerprint="",
        leverage=int(held["leverage"]),
        stops=(None, None),
    )


def trigger_price(held: Mapping[str, Any], mark: Decimal) -> tuple[str, Decimal] | None:
    """The stop or take-profit a mark triggers, and its fill price (the mark when gapped)."""
    long = held["size"] > 0
    stop, take = held.get("stop_loss"), held.get("take_profit")
    if stop is not None and (mark <= stop if long else mark >= stop):
        return "stop_loss", stop if mark == stop else mark
    if take is not None and (mark >= take if long else mark <= take):
        return "take_profit", take if mark == take else mark
    return None


def apply_marks(
    account: PropAccount,
    marks: Mapping[str, Decimal],
    instruments: Mapping[str, Instrument],
    at: datetime,
) -> list[str]:
    """Fire stop-loss / take-profit, then liquidate if value < maintenance; return what fired."""
    fired = []
    for asset in sorted(account.positions):
        if asset in marks and account.status != "closed":
            hit = trigger_price(account.positions[asset], marks[asset])
            if hit is not None:
                close_at(
                    account,
                    asset,
                    hit[1],
                    instruments[asset],
                    origin=hit[0],
                    key=f"{hit[0]}:{asset}:{at.isoformat()}",
                )
                fired.append(f"{hit[0]}:{asset}")
    if _liquidate_if_needed(account, marks, instruments, at):
        fired.append("liquidation")
    return fired


def _liquidate_if_needed(
    account: PropAccount,
    marks: Mapping[str, Decimal],
    instruments: Mapping[str, Instrument],
    at: datetime,
) -> bool:
    if clearly_solvent(account, marks, instruments):
        return False
    check = _maintenance(account, marks, instruments)
    if check is None or check[0] >= check[1]:
        return False
    value, required, at_marks = check
    for asset in sorted(at_marks):
        close_at(
            account,
            asset,
            at_marks[asset],
            instruments[asset],
            origin="liquidation",
            key=f"liquidation:{asset}:{at.isoformat()}",
        )
    backstop = value < required * 2 / 3
    postings = _backstop_postings(account, backstop)
    account.trigger_event(
        PropAccount.Liquidated,
        account_value=value,
        maintenance_required=required,
        backstop=backstop,
        postings=postings_document(postings),
    )
    return True


def would_liquidate(
    account: PropAccount, marks: Mapping[str, Decimal], instruments: Mapping[str, Instrument]
) -> bool:
    """Whether ``apply_marks`` at these marks would liquidate the account (a pure check)."""
    if clearly_solvent(account, marks, instruments):
        return False
    check = _maintenance(account, marks, instruments)
    return check is not None and check[0] < check[1]


def clearly_solvent(
    account: PropAccount, marks: Mapping[str, Decimal], instruments: Mapping[str, Instrument]
) -> bool:
    """Whether the account value exceeds a ceiling on its maintenance margin.

    A tier's maintenance margin is ``notional x rate - deduction`` with a non-negative
    deduction, and rates rise with the tiers, so ``notional x highest rate`` bounds it. When
    the value clears that bound no liquidation is possible, and the exact (tiered) check can
    be skipped; otherwise the exact check decides.
    """
    if any(asset not in instruments for asset in account.positions):
        return False
    value, ceiling = account.collateral, Decimal(0)
    for asset, held in account.positions.items():
        mark = marks.get(asset, held["entry_price"])
        value += held["size"] * (mark - held["entry_price"])
        lowest = min(tier.max_leverage for tier in tiers_of(instruments[asset].spec))
        ceiling += abs(held["size"]) * mark / (2 * lowest)
    return value > ceiling


def _maintenance(
    account: PropAccount, marks: Mapping[str, Decimal], instruments: Mapping[str, Instrument]
) -> tuple[Decimal, Decimal, dict[str, Decimal]] | None:
    """(account value, maintenance required, the marks used); unmarked positions at entry."""
    positions = positions_of(account)
    if not positions or any(a not in instruments for a in positions):
        return None
    at_marks = {a: marks.get(a, p.entry_price) for a, p in positions.items()}
    tiers: dict[str, tuple[MarginTier, ...]] = {a: tiers_of(instruments[a].spec) for a in positions}
    value = account_value(account.collateral, positions.values(), at_marks)
    return value, maintenance_required(positions.values(), at_marks, tiers), at_marks


def _backstop_postings(account: PropAccount, backstop: bool) -> tuple[Posting, ...]:
    """Settle what a liquidation leaves: a negative balance is absorbed by the venue's
    backstop (the account never owes more than its collateral); below 2/3 of maintenance the
    backstop liquidation also keeps the remaining margin (as on Hyperliquid)."""
    mine = collateral_account(str(account.id))
    left = account.collateral_micros
    if left < 0:
        return transfer(VENUE_BACKSTOP, mine, -left)
    if backstop and left > 0:
        return transfer(mine, VENUE_BACKSTOP, left)
    return ()


def apply_funding(
    account: PropAccount, *, asset: str, period: datetime, rate: Decimal, oracle_price: Decimal
) -> bool:
    """Settle one funding period of ``asset`` once; return whether a payment was recorded."""
    held = account.positions.get(asset)
    if held is None or funding_key(asset, period) in account.funding_periods:
        return False
    payment = funding_payment(held["size"], oracle_price, rate)
    postings = funding_postings(collateral_account(str(account.id)), payment)
    account.trigger_event(
        PropAccount.FundingApplied,
        asset=asset,
        period=period,
        rate=rate,
        oracle_price=oracle_price,
        size=held["size"],
        payment_micros=charge_micros(payment),
        postings=postings_document(postings),
    )
    return True


def freeze(account: PropAccount, *, reason: str, admin: str) -> None:
    """Stop the account from trading (positions stay open)."""
    _require_open(account)
    if account.status != "frozen":
        account.trigger_event(PropAccount.Frozen, reason=reason, admin=admin)


def unfreeze(account: PropAccount, *, reason: str, admin: str) -> None:
    """Let a frozen account trade again."""
    _require_open(account)
    if account.status == "frozen":
        account.trigger_event(PropAccount.Unfrozen, reason=reason, admin=admin)


def adjust(account: PropAccount, *, amount: Decimal, reason: str, admin: str) -> None:
    """Record a correcting entry (never an edit): a stated amount in or out of collateral."""
    _require_open(account)
    postings = adjustment_postings(collateral_account(str(account.id)), amount)
    account.trigger_event(
        PropAccount.Adjusted,
        amount_micros=exact_micros(amount),
        reason=reason,
        admin=admin,
        postings=postings_document(postings),
    )


def close_all(
    account: PropAccount,
    marks: Mapping[str, Decimal],
    instruments: Mapping[str, Instrument],
    *,
    admin: str,
    at: datetime,
) -> int:
    """Close every open position at its mark; return how many were closed."""
    _require_open(account)
    assets = sorted(account.positions)
    missing = [a for a in assets if a not in marks or a not in instruments]
    if missing:
        raise InvalidCommand(f"no mark or instrument for {','.join(missing)}: nothing closed")
    for asset in assets:
        close_at(
            account,
            asset,
            marks[asset],
            instruments[asset],
            origin="close_all",
            key=f"close_all:{asset}:{at.isoformat()}:{admin}",
        )
    return len(assets)


def close_account(account: PropAccount, *, reason: str, admin: str) -> None:
    """Close a flat account for good."""
    _require_open(account)
    if account.positions:
        raise InvalidCommand("close all positions before closing the account")
    account.trigger_event(PropAccount.Closed, reason=reason, admin=admin)


def _require_open(account: PropAccount) -> None:
    if account.status == "closed":
        raise AccountNotOpen(f"account={account.id}")


__all__ = ["OrderOutcome", "Side"]
