"""Machine-to-machine routes (``/v1/internal``), for service tokens only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.deps import ContainerDep, ServiceCaller
from api.schemas.identity import WalletOwnerPublic
from domain.identity.model import ServiceTokenRecord

router = APIRouter(
    prefix="/v1/internal",
    tags=["internal"],
    responses={
        401: {"description": "No valid service token."},
        403: {"description": "The token lacks the scope."},
    },
)
IdentityReader = Annotated[ServiceTokenRecord, Depends(ServiceCaller("identity:read"))]


@router.get("/wallets/{address}")
def resolve_wallet(address: str, _: IdentityReader, container: ContainerDep) -> WalletOwnerPublic:
    """Resolve a wallet address to its user id (scope `identity:read`)."""
    user_id = container.identity.owner_of_wallet(address)
    return WalletOwnerPublic(address=address, user_id=user_id)
