"""Prop administration (``/v1/admin/prop-accounts``): open sandbox accounts, trade,
freeze, close all, adjust. Every action is an event carrying the acting admin; each answers
with the log position to read it back with ``?after=``."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from fastapi import APIRouter, status

from adapters.bootstrap import Container
from api.deps import AdminUser, ContainerDep
from api.schemas.prop import (
    AdjustmentCreate,
    AdminReason,
    OrderCreate,
    SandboxAccountCreate,
    WrittenPublic,
)
from domain.prop.errors import AccountNotFound
from domain.prop.money import exact_micros
from domain.prop.orders import MarketOrder
from domain.prop.positions import Side
from domain.prop.rules import Purpose, RuleSet

router = APIRouter(
    prefix="/v1/admin/prop-accounts",
    tags=["admin"],
    responses={
        401: {"description": "Not signed in."},
        403: {"description": "Not an administrator."},
    },
)


def _written(
    container: Container, account_id: UUID, outcome: str | None = None, reason: str | None = None
) -> WrittenPublic:
    position = container.prop.recorder.max_notification_id() or 0
    return WrittenPublic(
        account_id=str(account_id), position=position, outcome=outcome, reason=reason
    )


def _id(account_id: str) -> UUID:
    try:
        return UUID(account_id)
    except ValueError:
        raise AccountNotFound(f"account={account_id}") from None


@router.post("", status_code=status.HTTP_201_CREATED)
def open_sandbox(
    body: SandboxAccountCreate, _: AdminUser, container: ContainerDep
) -> WrittenPublic:
    """Open a sandbox account for a user (the same ``cause`` opens the same account)."""
    rules = RuleSet(
        allowed_assets=tuple(body.rules.allowed_assets),
        max_leverage=body.rules.max_leverage,
        max_open_positions=body.rules.max_open_positions,
        slippage_bps=Decimal(body.rules.slippage_bps),
        max_position_notional_micros={
            a: exact_micros(Decimal(v)) for a, v in body.rules.max_position_notional.items()
        },
    )
    cause = (
        body.cause or f"sandbox:{body.owner_user_id}:{container.service_clock.now().isoformat()}"
    )
    account_id = container.prop.open_account(
        cause=cause,
        owner=body.owner_user_id,
        purpose=Purpose.SANDBOX,
        rules=rules,
        collateral_micros=exact_micros(Decimal(body.collateral)),
    )
    return _written(container, account_id)


@router.post("/{account_id}/orders")
def submit_order(
    account_id: str, body: OrderCreate, _: AdminUser, container: ContainerDep
) -> WrittenPublic:
    """Submit a market order (a reused ``clientOrderId`` returns its first outcome)."""
    order = MarketOrder(
        client_order_id=body.client_order_id,
        asset=body.asset,
        side=Side.BUY if body.side == "buy" else Side.SELL,
        size=Decimal(body.size),
        leverage=body.leverage,
        reduce_only=body.reduce_only,
        stop_loss=None if body.stop_loss is None else Decimal(body.stop_loss),
        take_profit=None if body.take_profit is None else Decimal(body.take_profit),
        reference_price=None if body.reference_price is None else Decimal(body.reference_price),
    )
    outcome = container.prop.submit_order(_id(account_id), order)
    return _written(container, _id(account_id), outcome.status, outcome.reason)


@router.post("/{account_id}/freeze")
def freeze(
    account_id: str, body: AdminReason, admin: AdminUser, container: ContainerDep
) -> WrittenPublic:
    """Stop the account from trading."""
    container.prop.freeze(_id(account_id), reason=body.reason, admin=admin.id)
    return _written(container, _id(account_id))


@router.post("/{account_id}/unfreeze")
def unfreeze(
    account_id: str, body: AdminReason, admin: AdminUser, container: ContainerDep
) -> WrittenPublic:
    """Let a frozen account trade again."""
    container.prop.unfreeze(_id(account_id), reason=body.reason, admin=admin.id)
    return _written(container, _id(account_id))


@router.post("/{account_id}/close-all")
def close_all(account_id: str, admin: AdminUser, container: ContainerDep) -> WrittenPublic:
    """Close every position at its mark."""
    container.prop.close_all(_id(account_id), admin=admin.id)
    return _written(container, _id(account_id))


@router.post("/{account_id}/adjust")
def adjust(
    account_id: str, body: AdjustmentCreate, admin: AdminUser, container: ContainerDep
) -> WrittenPublic:
    """Record a correcting entry (reversal entries, never edits)."""
    container.prop.adjust(
        _id(account_id), amount=Decimal(body.amount), reason=body.reason, admin=admin.id
    )
    return _written(container, _id(account_id))
