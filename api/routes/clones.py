"""Clones (``/v1/clones``): a user's clones, drafts, layouts, versions, profile; reports.

Writes are the owner's (a foreign clone answers 404); the detail and versions are readable
by the owner or an admin. Every write answers the log ``position`` of its last event: the
list (``GET /v1/clones?after=position``) waits until the read models show it. Any signed-in
user but the owner may report a public clone (``202``; a repeated report answers the same
and is recorded once).
"""

from __future__ import annotations

from typing import Annotated
from uuid import uuid4

from fastapi import APIRouter, Depends, status

from adapters.bootstrap import Container
from api.clone_access import (
    DRAFT_OPENAPI,
    After,
    ClonesQueriesDep,
    draft_body,
    known_assets,
    owned_clone,
    parse_clone_id,
    readable_clone,
)
from api.deps import ContainerDep, CurrentUser
from api.pagination import Cursor, PageSize, decode_cursor, encode_cursor
from api.schemas.clones import (
    CloneCreate,
    ClonePublic,
    ClonesPublic,
    CloneSummaryPublic,
    DraftSave,
    LayoutSave,
    ProfilePublish,
    VersionCreatedPublic,
    VersionPublic,
    VersionsPublic,
    VersionSummaryPublic,
)
from api.schemas.moderation import ReportCreate, ReportReceipt
from domain.clones.application import Recorded
from domain.clones.clone import Clone

router = APIRouter(
    prefix="/v1/clones",
    tags=["clones"],
    responses={
        401: {"description": "Not signed in."},
        404: {"description": "No such clone, or not yours."},
    },
)


def _public(container: Container, recorded: Recorded[Clone]) -> ClonePublic:
    clone = recorded.value
    return ClonePublic.of(clone, container.entitlements.effective_tier(clone.id), recorded.position)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_clone(body: CloneCreate, user: CurrentUser, container: ContainerDep) -> ClonePublic:
    """Create a clone (no draft yet)."""
    return _public(container, container.clones.create_clone(uuid4(), user.id, body.name))


@router.get("")
def list_clones(
    user: CurrentUser,
    q: ClonesQueriesDep,
    after: After = None,
    limit: PageSize = 100,
    cursor: Cursor = None,
) -> ClonesPublic:
    """The caller's clones, oldest first."""
    q.wait_for(after)
    rows = q.owned(user.id, after=decode_cursor(cursor, int) or 0, limit=limit)
    return ClonesPublic(
        data=[CloneSummaryPublic.of(r) for r in rows],
        next_cursor=encode_cursor(rows[-1].seq) if len(rows) == limit else None,
    )


@router.get("/{clone_id}")
def read_clone(clone_id: str, user: CurrentUser, container: ContainerDep) -> ClonePublic:
    """The clone with its draft, layout, versions, profile and entitlement."""
    clone = readable_clone(container, clone_id, user)
    head = container.clones.recorder.max_notification_id() or 0
    return _public(container, Recorded(clone, head, changed=False))


@router.put("/{clone_id}/draft", openapi_extra=DRAFT_OPENAPI)
def save_draft(
    clone_id: str,
    body: Annotated[DraftSave, Depends(draft_body)],
    user: CurrentUser,
    container: ContainerDep,
) -> ClonePublic:
    """Validate the graph (every node error at once) and keep it, with its layout if sent."""
    clone = owned_clone(container, clone_id, user)
    recorded = container.clones.save_draft(
        clone.id,
        body.graph,
        known_assets=known_assets(container),
        table=container.tiers,
        layout=body.layout,
    )
    return _public(container, recorded)


@router.put("/{clone_id}/layout")
def save_layout(
    clone_id: str, body: LayoutSave, user: CurrentUser, container: ContainerDep
) -> ClonePublic:
    """Keep the node positions (the draft number and the strategy do not change)."""
    clone = owned_clone(container, clone_id, user)
    return _public(container, container.clones.save_layout(clone.id, body.layout))


@router.post("/{clone_id}/versions", status_code=status.HTTP_201_CREATED)
def publish_version(
    clone_id: str, user: CurrentUser, container: ContainerDep
) -> VersionCreatedPublic:
    """Compile the draft into the next immutable version."""
    clone = owned_clone(container, clone_id, user)
    recorded = container.clones.publish_version(
        clone.id, known_assets=known_assets(container), table=container.tiers
    )
    version = recorded.value
    return VersionCreatedPublic(
        version_id=str(version.id),
        number=version.number,
        content_hash=version.content_hash,
        position=recorded.position,
    )


@router.get("/{clone_id}/versions")
def list_versions(
    clone_id: str,
    user: CurrentUser,
    container: ContainerDep,
    limit: PageSize = 100,
    cursor: Cursor = None,
) -> VersionsPublic:
    """Published versions, oldest first."""
    clone = readable_clone(container, clone_id, user)
    after = decode_cursor(cursor, int) or 0
    page = [v for v in clone.versions if v["number"] > after][:limit]
    return VersionsPublic(
        data=[VersionSummaryPublic.of(v) for v in page],
        next_cursor=encode_cursor(page[-1]["number"]) if len(page) == limit else None,
    )


@router.get("/{clone_id}/versions/{number}")
def read_version(
    clone_id: str, number: int, user: CurrentUser, container: ContainerDep
) -> VersionPublic:
    """A version's graph, compiled spec and content hash."""
    clone = readable_clone(container, clone_id, user)
    return VersionPublic.of(container.clones.version_of(clone.id, number))


@router.put("/{clone_id}/profile")
def publish_profile(
    clone_id: str, body: ProfilePublish, user: CurrentUser, container: ContainerDep
) -> ClonePublic:
    """Publish the public profile at once (moderation is by report, not pre-approval)."""
    clone = owned_clone(container, clone_id, user)
    recorded = container.clones.publish_profile(
        clone.id, name=body.name, bio=body.bio, avatar_url=body.avatar_url
    )
    return _public(container, recorded)


@router.post("/{clone_id}/reports", status_code=status.HTTP_202_ACCEPTED)
def report_clone(
    clone_id: str, body: ReportCreate, user: CurrentUser, container: ContainerDep
) -> ReportReceipt:
    """Report a public clone (once per reporter until an admin acts on it)."""
    target = container.clones.report(
        parse_clone_id(clone_id), reporter=user.id, reason=body.reason.value, detail=body.detail
    )
    return ReportReceipt(clone_id=str(target.value.id))
