"""The Arena (``/v1/arena``): public members and queue; the sync route; admin departures.

- ``GET /v1/arena`` (public): the members, each with its public profile and its arena
  account's value, return and max drawdown, best return first.
- ``GET /v1/arena/queue`` (public): the Promotion Queue in admission order, with each
  entry's position, score and the gate it fails, if any.
- ``POST /v1/internal/arena/sync`` (service token, scope ``arena:sync``): one admission
  cycle now (the arena worker runs one per cadence anyway).
- ``POST /v1/admin/arena/{entryId}/remove`` and ``/retire`` (admin, with a reason): the
  entry leaves the Arena (removed: may come back through a new audition; retired: for
  good), its slot frees at once and its trading stops; the next cycle admits the next in
  line. History is kept: the entry, its account and its decisions stay readable.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends

from adapters.bootstrap import Container
from adapters.promotion_policy import PromotionPolicy
from api.deps import AdminUser, ContainerDep, ServiceCaller
from api.schemas.arena import (
    ArenaMember,
    ArenaPage,
    ArenaQueue,
    Departure,
    EntryPublic,
    QueuedEntry,
    SyncReport,
)
from api.schemas.clones import PublicCloneProfile
from domain.clones.errors import CloneNotFound
from domain.competition.entry import EntryNotFound
from domain.identity.model import ServiceTokenRecord
from projections.arena import ArenaProjection, EntryRow, members, queue
from projections.arena_standings import standing
from projections.prop_queries import PropQueries
from projections.runner import ProjectionRunner

router = APIRouter(tags=["arena"])
ArenaSyncer = Annotated[ServiceTokenRecord, Depends(ServiceCaller("arena:sync"))]


@router.get("/v1/arena", tags=["public"])
def arena(container: ContainerDep) -> ArenaPage:
    """The Arena's members with their public profile and arena account's standing."""
    _catch_up(container)
    queries = PropQueries(container.database)
    found = [_member(container, queries, row) for row in members(container.database)]
    ranked = sorted(found, key=_by_return)
    return ArenaPage(
        capacity=container.settings.arena_capacity,
        members=ranked,
        as_of=container.market_clock.now(),
    )


@router.get("/v1/arena/queue", tags=["public"])
def arena_queue(container: ContainerDep) -> ArenaQueue:
    """The Promotion Queue in admission order, with each entry's gate status."""
    _catch_up(container)
    rows = queue(container.database)
    return ArenaQueue(
        entries=[
            QueuedEntry.of(n, row, _public_name(container, row)) for n, row in enumerate(rows, 1)
        ]
    )


@router.post("/v1/internal/arena/sync", tags=["internal"])
def sync(_: ArenaSyncer, container: ContainerDep) -> SyncReport:
    """Run one admission cycle now (scope ``arena:sync``)."""
    enqueued = PromotionPolicy(
        container.database, container.lifecycle, container.competition, container.service_clock.now
    ).catch_up()
    _catch_up(container)
    report = container.arena.run()
    _catch_up(container)
    return SyncReport(
        enqueued=enqueued,
        admitted=report.admitted,
        activated=report.activated,
        stopped=report.stopped,
        withdrawn=report.withdrawn,
        gated=report.gated,
        failed=report.failed,
    )


@router.post("/v1/admin/arena/{entry_id}/remove", tags=["admin"])
def remove(
    entry_id: str, body: Departure, admin: AdminUser, container: ContainerDep
) -> EntryPublic:
    """Take the entry out of the Arena; the clone may come back through a new audition."""
    return _leave(container, entry_id, body.reason, f"admin:{admin.id}", retired=False)


@router.post("/v1/admin/arena/{entry_id}/retire", tags=["admin"])
def retire(
    entry_id: str, body: Departure, admin: AdminUser, container: ContainerDep
) -> EntryPublic:
    """Retire the entry from the Arena for good (kept for careers and the Hall of Fame)."""
    return _leave(container, entry_id, body.reason, f"admin:{admin.id}", retired=True)


def _leave(
    container: Container, entry_id: str, reason: str, by: str, *, retired: bool
) -> EntryPublic:
    found = _entry_id(entry_id)
    container.competition.leave(found, retired=retired, reason=reason, by=by)
    container.arena.drive(found)
    _catch_up(container)
    return EntryPublic.of(container.competition.entry(found))


def _member(container: Container, queries: PropQueries, row: EntryRow) -> ArenaMember:
    figures = None if row.account_id is None else standing(container, queries, row.account_id)
    return ArenaMember(
        entry_id=str(row.entry_id),
        clone_id=str(row.clone_id),
        version_id=str(row.version_id),
        profile=_profile(container, row),
        score=str(row.score),
        state=row.state,
        admitted_at=row.admitted_at,
        account_id=None if row.account_id is None else str(row.account_id),
        account_value=None if figures is None else str(figures.account_value),
        total_return=None if figures is None else str(figures.total_return),
        max_drawdown_pct=None if figures is None else str(figures.max_drawdown_pct),
    )


def _by_return(member: ArenaMember) -> tuple[bool, Decimal, str]:
    """Best return first; members whose account is not read yet last."""
    if member.total_return is None:
        return (True, Decimal(0), member.entry_id)
    return (False, -Decimal(member.total_return), member.entry_id)


def _profile(container: Container, row: EntryRow) -> PublicCloneProfile | None:
    try:
        clone = container.clones.clone(row.clone_id)
    except CloneNotFound:
        return None
    return PublicCloneProfile.of_clone(clone) if clone.is_public else None


def _public_name(container: Container, row: EntryRow) -> str | None:
    profile = _profile(container, row)
    return None if profile is None else profile.name


def _catch_up(container: Container) -> None:
    ProjectionRunner(
        container.database, container.competition, ArenaProjection(), container.service_clock.now
    ).catch_up()


def _entry_id(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise EntryNotFound(f"entry={value[:64]}") from None
