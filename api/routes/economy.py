"""Audition fees (``/v1/economy``): quote, submit the vault's receipt, purchases and refunds.

Every route is the caller's own: a foreign or unknown clone is ``404 clones:clone-not-found``
and a foreign quote ``404 economy:quote-not-found``. ``submit`` needs an ``Idempotency-Key``
(ARCHITECTURE.md section 8): the same key and body replay the first response with
``Idempotent-Replayed: true``, another body answers ``422 request:idempotency-key-reused``,
and a duplicate while the first runs ``409 request:idempotency-in-progress``.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse

from adapters.idempotency import StoredResponse
from api.clone_access import owned_clone
from api.deps import ContainerDep, CurrentUser
from api.idempotent import IdempotencyKey, once
from api.pagination import Cursor, PageSize, decode_cursor, encode_cursor
from api.schemas.economy import (
    AttemptsPublic,
    FeeSubmit,
    PayoutPublic,
    PayoutsPage,
    PurchasePublic,
    PurchasesPage,
    QuoteCreate,
    QuotePublic,
    RefundPublic,
    RefundsPage,
)
from domain.clones.errors import VersionNotFound
from domain.economy.receipts import fee_receipt_document

router = APIRouter(
    prefix="/v1/economy",
    tags=["economy"],
    responses={401: {"description": "Not signed in."}},
)


@router.post("/audition-fee/quote", status_code=status.HTTP_201_CREATED)
def quote(body: QuoteCreate, user: CurrentUser, container: ContainerDep) -> QuotePublic:
    """Price an audition of one of the caller's clone versions; reserve its audition id."""
    clone = owned_clone(container, body.clone_id, user)
    container.clones.require_eligible(clone.id)
    try:
        version_id = UUID(body.version_id)
    except ValueError:
        raise VersionNotFound(f"version={body.version_id[:64]}") from None
    if not any(v["version_id"] == version_id for v in clone.versions):
        raise VersionNotFound(f"version={version_id}")
    payer = user.wallets[0].address
    quoted = container.economy.quote(
        user_id=user.id,
        payer=payer,
        clone_id=clone.id,
        version_id=version_id,
        tier=body.tier,
        table=container.tiers,
    )
    typed_data = fee_receipt_document(
        container.economy.vault.domain,
        payer=payer,
        amount_wei=quoted.amount_wei,
        audition_id=str(quoted.audition_id),
        nonce=0,
        deadline=quoted.expires_at,
    )
    return QuotePublic.of(quoted, typed_data)


@router.post(
    "/audition-fee/submit",
    responses={
        201: {"model": PurchasePublic, "description": "Honoured: the clone holds the tier."},
        202: {"model": RefundPublic, "description": "Money received, refunded in full."},
        409: {"description": "Nonce already used, or the same key still running."},
        422: {"description": "Receipt rejected, or the key reused with another body."},
    },
)
def submit(
    body: FeeSubmit,
    request: Request,
    user: CurrentUser,
    container: ContainerDep,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    """Submit the vault's receipt for a quote: a purchase (201) or a refund (202)."""
    document = body.model_dump(mode="json", by_alias=True)
    return once(
        container,
        request,
        user.id,
        idempotency_key,
        document,
        lambda: _submitted(container, user.id, body),
    )


def _submitted(container: Any, user_id: str, body: FeeSubmit) -> StoredResponse:
    economy = container.economy
    outcome = economy.submit_fee_receipt(
        user_id=user_id,
        quote_id=body.quote_id,
        typed_data=body.typed_data,
        signature=body.signature,
    )
    if outcome.purchase is not None:
        document = PurchasePublic.of(outcome.purchase).model_dump(mode="json", by_alias=True)
        return StoredResponse(status.HTTP_201_CREATED, document)
    refund, signed = economy.withdrawal(outcome.refund)
    document = RefundPublic.of(refund, signed).model_dump(mode="json", by_alias=True)
    return StoredResponse(status.HTTP_202_ACCEPTED, document)


@router.get("/purchases")
def purchases(
    user: CurrentUser, container: ContainerDep, limit: PageSize = 100, cursor: Cursor = None
) -> PurchasesPage:
    """The caller's purchases, oldest first."""
    start = decode_cursor(cursor, int) or 0
    rows = container.economy.purchases(user.id)[start : start + limit]
    more = len(rows) == limit
    return PurchasesPage(
        data=[PurchasePublic.of(p) for p in rows],
        next_cursor=encode_cursor(start + len(rows)) if more else None,
    )


@router.get("/refunds")
def refunds(
    user: CurrentUser, container: ContainerDep, limit: PageSize = 100, cursor: Cursor = None
) -> RefundsPage:
    """The caller's refunds with live withdrawals (an expired one is re-signed, same nonce)."""
    start = decode_cursor(cursor, int) or 0
    rows = container.economy.refunds(user.id)[start : start + limit]
    more = len(rows) == limit
    return RefundsPage(
        data=[RefundPublic.of(*container.economy.withdrawal(r)) for r in rows],
        next_cursor=encode_cursor(start + len(rows)) if more else None,
    )


@router.get("/clones/{clone_id}/attempts")
def attempts(clone_id: str, user: CurrentUser, container: ContainerDep) -> AttemptsPublic:
    """The audition attempts the caller's clone holds."""
    clone = owned_clone(container, clone_id, user)
    granted, remaining = container.economy.attempts(clone.id)
    return AttemptsPublic(clone_id=str(clone.id), granted=granted, remaining=remaining)


@router.get("/payouts")
def payouts(user: CurrentUser, container: ContainerDep) -> PayoutsPage:
    """The caller's payout authorizations with live signatures (payouts, creator shares,
    refunds), signed by the payout key when first read and re-signed with the same nonce
    once expired."""
    rows = container.economy.payouts([w.address for w in user.wallets])
    return PayoutsPage(data=[PayoutPublic.of(row, signed) for row, signed in rows])
