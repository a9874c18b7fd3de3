"""Public clone profiles (``/v1/public/clones``): no sign-in, published and active only.

The list reads the directory read model (``?after=position`` waits for a write); the
single profile reads the clone itself, so a retirement hides it at once, not after the
projection catches up. A retired or unpublished clone answers 404, like one that never was.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.clone_access import After, ClonesQueriesDep, parse_clone_id
from api.deps import ContainerDep
from api.pagination import Cursor, PageSize, decode_cursor, encode_cursor
from api.schemas.clones import PublicCloneProfile, PublicClonesPublic
from domain.clones.errors import CloneNotFound

router = APIRouter(
    prefix="/v1/public/clones",
    tags=["public"],
    responses={404: {"description": "No such public clone."}},
)


@router.get("")
def list_public_clones(
    q: ClonesQueriesDep, after: After = None, limit: PageSize = 100, cursor: Cursor = None
) -> PublicClonesPublic:
    """Published profiles of clones in good standing, oldest first."""
    q.wait_for(after)
    rows = q.public(after=decode_cursor(cursor, int) or 0, limit=limit)
    return PublicClonesPublic(
        data=[PublicCloneProfile.of_row(r) for r in rows],
        next_cursor=encode_cursor(rows[-1].seq) if len(rows) == limit else None,
    )


@router.get("/{clone_id}")
def read_public_clone(clone_id: str, container: ContainerDep) -> PublicCloneProfile:
    """One public profile."""
    clone = container.clones.clone(parse_clone_id(clone_id))
    if not clone.is_public:
        raise CloneNotFound(f"clone={clone_id}")
    return PublicCloneProfile.of_clone(clone)
