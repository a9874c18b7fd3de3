"""Liveness and readiness (``/health``, ``/health/ready``).

``/health/workers`` reports every worker's heartbeat and open dead letters, the live and
stuck leases, auditions and races stuck in a step, and each projection's lag; it answers
503 when a critical worker is stale or has never beaten. It also shows the market clock, so
the end of the offline replay data is visible there (``market.status == "ended"``).

Readiness says only whether this instance can serve: the database answers and every
migration is applied. Market sources, workers and audits have their own routes, so an
exchange outage never takes the API out of a load balancer.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from adapters.database import DatabaseError
from adapters.heartbeats import worker_health
from adapters.migrations import pending
from adapters.process_states import process_states
from adapters.stuck_leases import live_leases, stuck_leases
from api.deps import ContainerDep
from api.routes.market import market_clock_status
from api.schemas.base import ApiModel
from api.schemas.market import MarketClockPublic
from projections.catalog import runners

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
    body = ReadinessPublic(
        status="ready" if ready else "not_ready", database=database, pending_migrations=waiting
    )
    return JSONResponse(body.model_dump(by_alias=True), status_code=200 if ready else 503)


class WorkerHealthPublic(ApiModel):
    """One worker's last heartbeat and backlog of failures."""

    name: str
    critical: bool
    state: str | None
    holder: str | None
    last_beat_at: datetime | None
    stale: bool
    open_dead_letters: int


class LeasesPublic(ApiModel):
    """Leases live now, and the stuck ones (live, but their holder stopped beating)."""

    live: int
    stuck: list[str]


class ProcessesPublic(ApiModel):
    """Open auditions and races, and those stuck in a step."""

    auditions_open: int
    auditions_stuck: int
    races_open: int
    races_overdue: int


class WorkersHealthPublic(ApiModel):
    """Every worker's health; ``ok`` is false when a critical worker is stale or missing."""

    ok: bool
    checked_at: datetime
    workers: list[WorkerHealthPublic]
    leases: LeasesPublic
    processes: ProcessesPublic
    projections_lag: dict[str, int]
    market: MarketClockPublic


@router.get("/health/workers", responses={503: {"model": WorkersHealthPublic}})
def workers_health(request: Request, container: ContainerDep) -> JSONResponse:
    """Report heartbeats, dead letters, leases, stuck processes and projection lag; 503
    when a critical worker is down."""
    now = container.service_clock.now()
    stale_after = timedelta(seconds=container.settings.worker_stale_after_seconds)
    report = worker_health(
        container.database, now, request.app.state.monitored_workers, stale_after
    )
    overdue = timedelta(seconds=container.settings.race_overdue_after_seconds)
    processes = process_states(container.database, container.market_clock.now(), overdue)
    body = WorkersHealthPublic(
        ok=report.ok,
        checked_at=report.checked_at,
        workers=[
            WorkerHealthPublic(
                name=w.name,
                critical=w.critical,
                state=w.state,
                holder=w.holder,
                last_beat_at=w.last_beat_at,
                stale=w.stale,
                open_dead_letters=w.open_dead_letters,
            )
            for w in report.workers
        ],
        leases=LeasesPublic(
            live=len(live_leases(container.database, now)),
            stuck=[lease.key for lease in stuck_leases(container.database, now, stale_after)],
        ),
        processes=ProcessesPublic(**asdict(processes)),
        projections_lag={s.projection: s.lag for s in (r.status() for r in runners(container))},
        market=market_clock_status(container),
    )
    return JSONResponse(
        body.model_dump(mode="json", by_alias=True), status_code=200 if report.ok else 503
    )
