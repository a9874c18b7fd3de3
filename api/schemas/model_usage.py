"""Model-usage API models: calls, tokens and cost per group, and today's budgets.

Money is a USD decimal string with six places (the read model counts micro-USD); ratios
are decimal strings too. The same models serve ``clash admin model-usage --json``.
"""

from __future__ import annotations

from datetime import date

from adapters.model_meter import BudgetReport, CloneBudget, UsageReport
from adapters.model_usage import UsageRow, UsageTotals
from api.schemas.base import ApiModel
from domain.trading.budgets import BudgetStatus
from domain.trading.usage import usd


class UsageTotalsPublic(ApiModel):
    """Summed calls (failed ones are ``errors``), tokens and estimated cost."""

    calls: int
    errors: int
    tokens_in: int
    tokens_out: int
    cost_usd: str
    unpriced_calls: int  # answered calls of a model missing from CLASH_MODEL_PRICES

    @classmethod
    def of(cls, totals: UsageTotals) -> UsageTotalsPublic:
        """Build from the read model's sums."""
        return cls(
            calls=totals.calls,
            errors=totals.errors,
            tokens_in=totals.tokens_in,
            tokens_out=totals.tokens_out,
            cost_usd=usd(totals.cost_micros),
            unpriced_calls=totals.unpriced_calls,
        )


class UsageRowPublic(UsageTotalsPublic):
    """One group's sums; only the fields grouped by are set."""

    day: str | None = None
    user_id: str | None = None
    clone_id: str | None = None
    provider: str | None = None
    model: str | None = None

    @classmethod
    def of_row(cls, row: UsageRow) -> UsageRowPublic:
        """Build from a report row."""
        key = {"day": row.key.get("day"), "user_id": row.key.get("user_id")}
        key |= {"clone_id": row.key.get("clone_id"), "provider": row.key.get("provider")}
        totals = UsageTotalsPublic.of(row.totals).model_dump()
        return cls(**totals, **key, model=row.key.get("model"))


class BudgetStatusPublic(ApiModel):
    """One budget today: what was spent against its limit, and its state."""

    scope: str
    tier: str | None
    clone_id: str | None = None
    user_id: str | None = None
    used_usd: str
    limit_usd: str
    ratio: str
    state: str  # ok | soft | exhausted

    @classmethod
    def of(cls, status: BudgetStatus, clone: CloneBudget | None = None) -> BudgetStatusPublic:
        """Build from a budget status (and the clone it is about)."""
        return cls(
            scope=status.scope,
            tier=status.tier,
            clone_id=None if clone is None else clone.clone_id,
            user_id=None if clone is None else clone.user_id,
            used_usd=usd(status.used_micros),
            limit_usd=usd(status.limit_micros),
            ratio=str(status.ratio),
            state=status.state.value,
        )


class BudgetsPublic(ApiModel):
    """Today's budgets: the global one (null when unset) and each spending clone's."""

    day: date
    soft_ratio: str
    global_budget: BudgetStatusPublic | None
    clones: list[BudgetStatusPublic]

    @classmethod
    def of(cls, report: BudgetReport) -> BudgetsPublic:
        """Build from the meter's budget report."""
        overall = report.overall
        return cls(
            day=report.day,
            soft_ratio=str(report.soft_ratio),
            global_budget=None if overall is None else BudgetStatusPublic.of(overall),
            clones=[BudgetStatusPublic.of(c.status, c) for c in report.clones],
        )


class ModelUsagePublic(ApiModel):
    """A usage report over a range of UTC days, grouped, with totals and today's budgets."""

    from_day: date
    to_day: date
    group_by: str
    data: list[UsageRowPublic]
    totals: UsageTotalsPublic
    budgets: BudgetsPublic

    @classmethod
    def of(cls, report: UsageReport) -> ModelUsagePublic:
        """Build from the meter's report."""
        return cls(
            from_day=report.days.start,
            to_day=report.days.end,
            group_by=report.group_by.value,
            data=[UsageRowPublic.of_row(row) for row in report.rows],
            totals=UsageTotalsPublic.of(report.totals),
            budgets=BudgetsPublic.of(report.budgets),
        )
