"""Administration (``/v1/admin``): service tokens and user lookup. Admins only."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Response, status

from api.deps import AdminUser, ContainerDep
from api.schemas.identity import (
    ServiceTokenCreate,
    ServiceTokenCreated,
    ServiceTokenPublic,
    UserPublic,
)
from api.schemas.market import SourceHealthPublic, SourcesHealthPublic

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
    return [ServiceTokenPublic.of(r) for r in container.identity.service_tokens.list()]


@router.post("/service-tokens", status_code=status.HTTP_201_CREATED)
def create_service_token(
    body: ServiceTokenCreate, _: AdminUser, container: ContainerDep
) -> ServiceTokenCreated:
    """Create a scoped service token; its secret is in this response only."""
    created = container.identity.service_tokens.create(body.name, body.scopes)
    return ServiceTokenCreated(
        token=created.secret, service_token=ServiceTokenPublic.of(created.record)
    )


@router.delete("/service-tokens/{name}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_service_token(name: str, _: AdminUser, container: ContainerDep) -> Response:
    """Revoke a service token by name."""
    container.identity.service_tokens.revoke(name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/users/{user_id}")
def read_user(user_id: str, _: AdminUser, container: ContainerDep) -> UserPublic:
    """Return any user by id."""
    return UserPublic.of(container.identity.user(user_id))


@router.get("/ingestion/sources")
def list_source_health(_: AdminUser, container: ContainerDep) -> SourcesHealthPublic:
    """Health of every market-data source and channel (not part of /health/ready)."""
    now = container.service_clock.now()
    return SourcesHealthPublic(
        checked_at=now,
        data=[
            SourceHealthPublic(
                source=h.source,
                channel=h.channel,
                state=h.state.value,
                consecutive_failures=h.consecutive_failures,
                last_success_at=h.last_success_at,
                last_error_at=h.last_error_at,
                last_error=h.last_error,
                last_data_at=h.last_data_at,
                lag_seconds=_seconds(h.lag(now)),
            )
            for h in container.source_health.all()
        ],
    )


def _seconds(delta: timedelta | None) -> float | None:
    return None if delta is None else delta.total_seconds()
