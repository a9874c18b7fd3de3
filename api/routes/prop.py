"""Prop accounts (``/v1/prop-accounts``): owner or admin for private purposes, any signed-in
user for arena and race accounts. ``?after=<position>`` waits for a write to be readable."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from adapters.database import to_micros
from api.deps import ContainerDep, CurrentUser
from api.pagination import Cursor, PageSize, decode_cursor, encode_cursor
from api.schemas.prop import (
    FillPublic,
    FillsPublic,
    OrderPublic,
    OrdersPublic,
    PropAccountPublic,
    SnapshotPublic,
    SnapshotsPublic,
)
from domain.identity.model import User
from projections.prop_queries import AccountRow, PropQueries
from projections.prop_reads import valued, visible_account, wait_for

router = APIRouter(
    prefix="/v1/prop-accounts",
    tags=["prop"],
    responses={
        401: {"description": "Not signed in."},
        404: {"description": "No such account, or not yours."},
    },
)
After = Annotated[int | None, Query(ge=0, description="Wait until this log position is read.")]


def queries(request: Request) -> PropQueries:
    """The prop read models of this app (built with it)."""
    found: PropQueries = request.app.state.prop_queries
    return found


Queries = Annotated[PropQueries, Depends(queries)]


def _account(queries: PropQueries, account_id: str, user: User, after: int | None) -> AccountRow:
    wait_for(queries, after)
    return visible_account(queries, account_id, user.id, user.is_admin)


@router.get("/{account_id}")
def read_account(
    account_id: str, user: CurrentUser, container: ContainerDep, q: Queries, after: After = None
) -> PropAccountPublic:
    """Totals, and value, margin and liquidation prices at the latest marks."""
    result = valued(container, q, _account(q, account_id, user, after))
    return PropAccountPublic.of(result.row, result.value, result.as_of)


@router.get("/{account_id}/positions")
def read_positions(
    account_id: str, user: CurrentUser, container: ContainerDep, q: Queries, after: After = None
) -> PropAccountPublic:
    """Open positions (the account view, whose ``positions`` are the point)."""
    return read_account(account_id, user, container, q, after)


@router.get("/{account_id}/fills")
def list_fills(
    account_id: str,
    user: CurrentUser,
    q: Queries,
    after: After = None,
    limit: PageSize = 100,
    cursor: Cursor = None,
) -> FillsPublic:
    """Fills, oldest first."""
    _account(q, account_id, user, after)
    rows = q.fills(account_id, after=decode_cursor(cursor, int) or 0, limit=limit)
    return FillsPublic(
        data=[FillPublic.of(r) for r in rows],
        next_cursor=encode_cursor(rows[-1].version) if len(rows) == limit else None,
    )


@router.get("/{account_id}/orders")
def list_orders(
    account_id: str,
    user: CurrentUser,
    q: Queries,
    after: After = None,
    limit: PageSize = 100,
    cursor: Cursor = None,
) -> OrdersPublic:
    """Orders with their outcome (rejections carry the reason code), oldest first."""
    _account(q, account_id, user, after)
    rows = q.orders(account_id, after=decode_cursor(cursor, int) or 0, limit=limit)
    return OrdersPublic(
        data=[OrderPublic.of(r) for r in rows],
        next_cursor=encode_cursor(rows[-1].version) if len(rows) == limit else None,
    )


@router.get("/{account_id}/snapshots")
def list_snapshots(
    account_id: str, user: CurrentUser, q: Queries, limit: PageSize = 100, cursor: Cursor = None
) -> SnapshotsPublic:
    """Equity snapshots (every 5 market minutes), oldest first."""
    _account(q, account_id, user, None)
    rows = q.snapshots(account_id, after=decode_cursor(cursor, int) or 0, limit=limit)
    last = encode_cursor(to_micros(rows[-1].at)) if len(rows) == limit else None
    return SnapshotsPublic(data=[SnapshotPublic.of(r) for r in rows], next_cursor=last)
