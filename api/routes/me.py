"""The signed-in user (``/v1/me``)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentUser
from api.schemas.identity import UserPublic

router = APIRouter(prefix="/v1", tags=["me"])


@router.get("/me", responses={401: {"description": "Missing or invalid access token."}})
def read_me(user: CurrentUser) -> UserPublic:
    """Return the user id, wallets and roles of the caller."""
    return UserPublic.of(user)
