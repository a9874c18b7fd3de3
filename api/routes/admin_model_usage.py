"""Model usage and cost for operators (``/v1/admin/model-usage``).

Calls, errors, tokens and estimated cost per user, clone, model or day over a range of UTC
days, read from the model-usage read model (``adapters/model_usage.py``), with the status
of today's daily budgets (used, limit, ``ok``/``soft``/``exhausted``). Bad input (a date
that is not ``YYYY-MM-DD``, an unknown grouping) is a 422 ``request:validation-error``; a
range that ends before it starts or spans more than 366 days is a 422
``trading:bad-usage-range``. ``clash admin model-usage`` prints the same report.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from adapters.model_usage import GroupBy
from api.deps import AdminUser, ContainerDep
from api.schemas.model_usage import ModelUsagePublic

router = APIRouter(prefix="/v1/admin/model-usage", tags=["admin"])

From = Annotated[date | None, Query(alias="from", description="First UTC day (default: to).")]
To = Annotated[date | None, Query(alias="to", description="Last UTC day (default: today).")]
Grouping = Annotated[GroupBy, Query(alias="groupBy", description="What each row is per.")]
Limit = Annotated[int, Query(ge=1, le=1000, description="At most this many rows.")]


@router.get("")
def model_usage(
    _: AdminUser,
    container: ContainerDep,
    start: From = None,
    end: To = None,
    group_by: Grouping = GroupBy.DAY,
    limit: Limit = 100,
) -> ModelUsagePublic:
    """Model calls, tokens and cost per group (by day in order, else costliest first)."""
    report = container.model_meter.report(start, end, group_by, limit)
    return ModelUsagePublic.of(report)
