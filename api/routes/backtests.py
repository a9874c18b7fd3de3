"""Backtests (``/v1/backtests``): preflight, start, history, comparison, cancel, chart.

Owner only: a run or clone of another user (or a malformed id) answers 404, admins
included; admins see the cost figures (decision calls, estimated tokens) of their own
runs. A start answers ``202`` with the queued job; the ``backtests`` worker runs it. The
clone-scoped ``POST /v1/clones/{id}/decision-backtest`` is the same start, kept for the
clients that call it.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status
from fastapi.exceptions import RequestValidationError

from adapters.bootstrap import Container
from adapters.database import to_micros
from api.clone_access import owned_clone
from api.deps import ContainerDep, CurrentUser
from api.pagination import BadCursor, Cursor, PageSize, decode_cursor, encode_cursor
from api.schemas.backtests import (
    BacktestCreate,
    BacktestPublic,
    BacktestsPublic,
    CloneBacktestCreate,
    ComparedPublic,
    ComparisonPublic,
    PreflightPublic,
)
from domain.backtesting.errors import BacktestNotFound
from domain.backtesting.jobs import Job
from domain.identity.model import User

router = APIRouter(
    tags=["backtests"],
    responses={401: {"description": "Not signed in."}, 404: {"description": "Not yours."}},
)
MAX_COMPARED = 10
SVG_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
}
CloneFilter = Annotated[str | None, Query(max_length=64, description="Only this clone's runs.")]
CompareIds = Annotated[str, Query(max_length=400, description="Comma-separated run ids (1-10).")]


@router.post("/v1/backtests/preflight")
def preflight(body: BacktestCreate, user: CurrentUser, container: ContainerDep) -> PreflightPublic:
    """Estimate a run and say whether it fits the tier's caps; uses no quota."""
    clone = owned_clone(container, body.clone_id, user)
    checked = container.backtests.preflight(clone, body.version_number, body.window_request())
    return PreflightPublic.of(checked, reveal_costs=user.is_admin)


@router.post("/v1/backtests", status_code=status.HTTP_202_ACCEPTED)
def start(body: BacktestCreate, user: CurrentUser, container: ContainerDep) -> BacktestPublic:
    """Accept a run (caps, then the daily quota) and queue it."""
    return _start(container, user, body.clone_id, body)


@router.post(
    "/v1/clones/{clone_id}/decision-backtest",
    status_code=status.HTTP_202_ACCEPTED,
    tags=["clones"],
)
def start_for_clone(
    clone_id: str, body: CloneBacktestCreate, user: CurrentUser, container: ContainerDep
) -> BacktestPublic:
    """The clone-scoped start (compatibility route): the same service as ``POST /v1/backtests``."""
    return _start(container, user, clone_id, body)


@router.get("/v1/backtests")
def history(
    user: CurrentUser,
    container: ContainerDep,
    clone: CloneFilter = None,
    limit: PageSize = 50,
    cursor: Cursor = None,
) -> BacktestsPublic:
    """The caller's runs (of one clone, or all), newest first."""
    clone_id = None if clone is None else owned_clone(container, clone, user).id
    before = decode_cursor(cursor, list)
    if before is not None and not _is_job_cursor(before):
        raise BadCursor()
    jobs = container.backtests.store.page(
        user.id,
        clone_id=clone_id,
        before=None if before is None else (before[0], before[1]),
        limit=limit,
    )
    last = None
    if len(jobs) == limit:
        last = encode_cursor([to_micros(jobs[-1].created_at), str(jobs[-1].job_id)])
    data = [BacktestPublic.of(job, reveal_costs=user.is_admin) for job in jobs]
    return BacktestsPublic(data=data, next_cursor=last)


@router.get("/v1/backtests/compare")
def compare(ids: CompareIds, user: CurrentUser, container: ContainerDep) -> ComparisonPublic:
    """Runs side by side (metrics null until a run succeeded); every one must be the caller's."""
    jobs = [container.backtests.job(user.id, job_id) for job_id in _compared_ids(ids)]
    return ComparisonPublic(data=[ComparedPublic.of(job) for job in jobs])


@router.get("/v1/backtests/{backtest_id}")
def read(backtest_id: str, user: CurrentUser, container: ContainerDep) -> BacktestPublic:
    """One run: its state and, once succeeded, its summary, metrics and artifacts."""
    job = container.backtests.job(user.id, _job_id(backtest_id))
    return _public(container, user, job)


@router.delete("/v1/backtests/{backtest_id}")
def cancel(backtest_id: str, user: CurrentUser, container: ContainerDep) -> BacktestPublic:
    """Cancel: a queued run at once, a running one at the worker's next poll."""
    job = container.backtests.cancel(user.id, _job_id(backtest_id))
    return _public(container, user, job)


@router.get(
    "/v1/backtests/{backtest_id}/chart.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}, "description": "The equity chart."}},
)
def chart(backtest_id: str, user: CurrentUser, container: ContainerDep) -> Response:
    """The run's equity and drawdown chart (SVG), once it succeeded."""
    svg = container.backtests.chart(user.id, _job_id(backtest_id))
    return Response(svg, media_type="image/svg+xml", headers=SVG_HEADERS)


def _start(
    container: Container, user: User, clone_id: str, body: CloneBacktestCreate
) -> BacktestPublic:
    clone = owned_clone(container, clone_id, user)
    job = container.backtests.start(
        clone, body.version_number, body.window_request(), reveal_costs=user.is_admin
    )
    return BacktestPublic.of(job, reveal_costs=user.is_admin)


def _public(container: Container, user: User, job: Job) -> BacktestPublic:
    artifacts = container.backtests.artifacts_of(job)
    return BacktestPublic.of(job, reveal_costs=user.is_admin, artifacts=artifacts)


def _job_id(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise BacktestNotFound(f"backtest={raw[:64]}") from None


def _compared_ids(raw: str) -> list[UUID]:
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    if not 1 <= len(parts) <= MAX_COMPARED or len(set(parts)) != len(parts):
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("query", "ids"),
                    "msg": f"between 1 and {MAX_COMPARED} distinct run ids, comma-separated",
                }
            ]
        )
    return [_job_id(part) for part in parts]


def _is_job_cursor(value: list[object]) -> bool:
    return (
        len(value) == 2
        and isinstance(value[0], int)
        and not isinstance(value[0], bool)
        and isinstance(value[1], str)
    )
