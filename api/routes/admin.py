"""Administration (``/v1/admin``): service tokens and user lookup. Admins only."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api.deps import AdminUser, ContainerDep
from api.schemas.identity import (
    ServiceTokenCreate,
    ServiceTokenCreated,
    ServiceTokenPublic,
    UserPublic,
)

router = APIRouter(
    prefix="/v1/admin",
    tags=["admin"],
    responses={
        401: {"description": "Not signed in."},
        403: {"description": "Not an administrator."},
    },
)


@router.get("/service-tokens")
def list_service_tokens(_: AdminUser, container: ContainerDep) -> list[ServiceTokenPublic]:
    """List service tokens (metadata only)."""
    return [ServiceTokenPublic.of(r) for r in container.identity.service_tokens()]


@router.post("/service-tokens", status_code=status.HTTP_201_CREATED)
def create_service_token(
    body: ServiceTokenCreate, _: AdminUser, container: ContainerDep
) -> ServiceTokenCreated:
    """Create a scoped service token; its secret is in this response only."""
    created = container.identity.create_service_token(body.name, body.scopes)
    return ServiceTokenCreated(
        token=created.secret, service_token=ServiceTokenPublic.of(created.record)
    )


@router.delete("/service-tokens/{name}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_service_token(name: str, _: AdminUser, container: ContainerDep) -> Response:
    """Revoke a service token by name."""
    container.identity.revoke_service_token(name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/users/{user_id}")
def read_user(user_id: str, _: AdminUser, container: ContainerDep) -> UserPublic:
    """Return any user by id."""
    return UserPublic.of(container.identity.user(user_id))
