"""Liveness and readiness (``/health``, ``/health/ready``).

Readiness says only whether this instance can serve: the database answers and every
migration is applied. Market sources, workers and audits have their own routes, so an
exchange outage never takes the API out of a load balancer.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from adapters.database import DatabaseError
from adapters.migrations import pending
from api.deps import ContainerDep
from api.schemas.base import ApiModel

router = APIRouter(tags=["health"])


class HealthPublic(ApiModel):
    """Whether the process is alive."""

    status: str


class ReadinessPublic(ApiModel):
    """Whether this instance can serve, and why not."""

    status: str
    database: str
    pending_migrations: list[int]


@router.get("/health")
def liveness() -> HealthPublic:
    """Answer 200 while the process runs."""
    return HealthPublic(status="ok")


@router.get("/health/ready", responses={503: {"model": ReadinessPublic}})
def readiness(container: ContainerDep) -> JSONResponse:
    """Answer 200 when the store is reachable and migrations are applied, else 503."""
    try:
        container.database.ping()
        waiting = [m.version for m in pending(container.database)]
        database = "ok"
    except DatabaseError as exc:
        waiting, database = [], f"unavailable: {type(exc).__name__}"
    ready = database == "ok" and not waiting
    body = ReadinessPublic(status="ready" if ready else "not_ready", database=database,
                           pending_migrations=waiting)
    return JSONResponse(body.model_dump(by_alias=True), status_code=200 if ready else 503)
