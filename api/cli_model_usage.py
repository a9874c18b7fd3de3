"""``clash admin model-usage``: model calls, tokens and cost, and today's budgets.

The same report as ``GET /v1/admin/model-usage`` (``docs/model-usage.md``), read from the
store the settings name: rows per user, clone, model or day over a range of UTC days, then
each configured budget's state today. ``--json`` prints the route's JSON document.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import typer
from rich.table import Table

from adapters.model_usage import GroupBy
from api.cli_support import console, container, errors
from api.schemas.model_usage import BudgetsPublic, ModelUsagePublic, UsageTotalsPublic
from domain.trading.errors import BadUsageRange

DAY = ["%Y-%m-%d"]
KEYS = {"day": ["day"], "user": ["user_id"], "clone": ["clone_id", "user_id"]}
KEYS |= {"model": ["provider", "model"]}


def model_usage(
    start: Annotated[
        datetime | None, typer.Option("--from", formats=DAY, help="First UTC day (default: --to).")
    ] = None,
    end: Annotated[
        datetime | None, typer.Option("--to", formats=DAY, help="Last UTC day (default: today).")
    ] = None,
    group_by: Annotated[GroupBy, typer.Option("--group-by", help="What each row is per.")] = (
        GroupBy.DAY
    ),
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many rows.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print the route's JSON.")] = False,
) -> None:
    """Model calls, tokens and estimated cost per user, clone, model or day; today's budgets."""
    with container() as built:
        try:
            report = built.model_meter.report(_day(start), _day(end), group_by, limit)
        except BadUsageRange as exc:
            errors.print(f"Refused: {exc.reason} {exc.detail}", markup=False)
            raise typer.Exit(2) from None
    public = ModelUsagePublic.of(report)
    if as_json:
        console.print_json(public.model_dump_json(by_alias=True))
        return
    console.print(_usage_table(public))
    console.print(_budgets_table(public.budgets))


def _day(value: datetime | None) -> date | None:
    return None if value is None else value.date()


def _usage_table(report: ModelUsagePublic) -> Table:
    title = f"Model usage {report.from_day} to {report.to_day} by {report.group_by}"
    keys = KEYS[report.group_by]
    table = Table(*keys, "calls", "errors", "tokens in", "tokens out", "cost USD", title=title)
    for row in report.data:
        table.add_row(*[str(getattr(row, k)) for k in keys], *_figures(row))
    table.add_row("total", *[""] * (len(keys) - 1), *_figures(report.totals))
    return table


def _figures(row: UsageTotalsPublic) -> list[str]:
    cost = row.cost_usd + (f" ({row.unpriced_calls} unpriced)" if row.unpriced_calls else "")
    return [str(row.calls), str(row.errors), str(row.tokens_in), str(row.tokens_out), cost]


def _budgets_table(budgets: BudgetsPublic) -> Table:
    title = f"Budgets on {budgets.day} (soft at {budgets.soft_ratio})"
    table = Table("scope", "tier", "clone", "used USD", "limit USD", "ratio", "state", title=title)
    entries = [budgets.global_budget] if budgets.global_budget is not None else []
    for status in entries + budgets.clones:
        table.add_row(
            status.scope,
            status.tier or "",
            status.clone_id or "",
            status.used_usd,
            status.limit_usd,
            status.ratio,
            status.state,
        )
    return table
