"""Clone moderation and tier grants (``/v1/admin``).

Moderation is report-based: the queue lists clones with reports since the last moderation
action, the longest waiting first; retire, reinstate and dismiss-reports each close the
round. Every action is an event carrying the acting admin and answers the log ``position``
(read the queue with ``?after=position``). Grants are an operator tool: a tier from the
configured table, recorded by the economy with source ``admin``; the same ``reference``
twice records once.
"""

from __future__ import annotations

from fastapi import APIRouter, status

from api.clone_access import After, ClonesQueriesDep, parse_clone_id
from api.deps import AdminUser, ContainerDep
from api.pagination import Cursor, PageSize, decode_cursor, encode_cursor
from api.schemas.moderation import (
    GrantCreate,
    GrantedPublic,
    ModerationPublic,
    ModerationReason,
    QueueItemPublic,
    QueuePublic,
)
from domain.clones.application import Recorded
from domain.clones.clone import Clone
from domain.economy.grants import GrantSource

router = APIRouter(
    prefix="/v1/admin",
    tags=["admin"],
    responses={
        401: {"description": "Not signed in."},
        403: {"description": "Not an administrator."},
    },
)


def _moderated(recorded: Recorded[Clone]) -> ModerationPublic:
    clone = recorded.value
    return ModerationPublic(
        clone_id=str(clone.id),
        status=clone.status,
        open_reports=len(clone.open_reports),
        position=recorded.position,
    )


@router.get("/moderation/queue")
def moderation_queue(
    _: AdminUser,
    q: ClonesQueriesDep,
    after: After = None,
    limit: PageSize = 100,
    cursor: Cursor = None,
) -> QueuePublic:
    """Clones with open reports, the longest waiting first."""
    q.wait_for(after)
    rows = q.queue(after=decode_cursor(cursor, int) or 0, limit=limit)
    return QueuePublic(
        data=[QueueItemPublic.of(r) for r in rows],
        next_cursor=encode_cursor(rows[-1].queued_seq) if len(rows) == limit else None,
    )


@router.post("/clones/{clone_id}/retire")
def retire(
    clone_id: str, body: ModerationReason, admin: AdminUser, container: ContainerDep
) -> ModerationPublic:
    """Retire a clone: hidden from the public, barred from auditions, Arena and races."""
    recorded = container.clones.retire(parse_clone_id(clone_id), reason=body.reason, admin=admin.id)
    return _moderated(recorded)


@router.post("/clones/{clone_id}/reinstate")
def reinstate(
    clone_id: str, body: ModerationReason, admin: AdminUser, container: ContainerDep
) -> ModerationPublic:
    """Undo a retirement."""
    recorded = container.clones.reinstate(
        parse_clone_id(clone_id), reason=body.reason, admin=admin.id
    )
    return _moderated(recorded)


@router.post("/clones/{clone_id}/dismiss-reports")
def dismiss_reports(
    clone_id: str, body: ModerationReason, admin: AdminUser, container: ContainerDep
) -> ModerationPublic:
    """Close the open reports without retiring the clone."""
    recorded = container.clones.dismiss_reports(
        parse_clone_id(clone_id), reason=body.reason, admin=admin.id
    )
    return _moderated(recorded)


@router.post("/clones/{clone_id}/grants", status_code=status.HTTP_201_CREATED)
def grant_tier(
    clone_id: str, body: GrantCreate, admin: AdminUser, container: ContainerDep
) -> GrantedPublic:
    """Grant a tier to a clone; answer the clone's effective grant."""
    clone = container.clones.clone(parse_clone_id(clone_id))
    grant = container.economy.grant_tier(
        clone.id,
        body.tier,
        source=GrantSource.ADMIN,
        reference=body.reference,
        reason=body.reason,
        granted_by=admin.id,
        table=container.tiers,
    )
    return GrantedPublic.of(clone.id, grant)
