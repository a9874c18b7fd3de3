"""The background reconciliation's runs for operators (``/v1/admin/reconciliation``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query

from adapters.reconciliation import ReconciliationRun, recent_runs
from api.deps import AdminUser, ContainerDep
from api.schemas.base import ApiModel

router = APIRouter(prefix="/v1/admin/reconciliation", tags=["admin"])


class RunPublic(ApiModel):
    """One reconciliation run: when, whether the books agreed, counts, breaches."""

    id: str
    started_at: datetime
    finished_at: datetime
    ok: bool
    checked: dict[str, Any]
    breaches: list[dict[str, Any]]

    @classmethod
    def of(cls, run: ReconciliationRun) -> RunPublic:
        """Build from the recorded run."""
        return cls(
            id=run.id,
            started_at=run.started_at,
            finished_at=run.finished_at,
            ok=run.ok,
            checked=run.checked,
            breaches=run.breaches,
        )


class RunsPage(ApiModel):
    """The latest runs, newest first, and whether the latest one was clean."""

    ok: bool | None
    data: list[RunPublic]


@router.get("")
def runs(_: AdminUser, container: ContainerDep, limit: int = Query(20, ge=1, le=200)) -> RunsPage:
    """The latest reconciliation runs (``ok``: the newest run's verdict; null before any)."""
    found = recent_runs(container.database, limit)
    return RunsPage(ok=found[0].ok if found else None, data=[RunPublic.of(r) for r in found])
