"""The model-usage read model in SQL: calls, tokens and cost per day, user, clone and model.

Why a plain table beside the decision rows rather than a projection: a model call is not an
event of any aggregate, and the row it belongs to (a decision row, a dry-run row) is a
plain table too. Counting in the same transaction as that row is what makes the count
exact: a tick recorded twice is refused by the decision row's key and its usage rolls back
with it. A backtest attempt, which keeps no row per decision, adds its calls once when the
replay ends (see ``adapters.backtest_runner``).

One row per (UTC day of the service clock, user, clone, provider, model); every write is
an additive upsert, so concurrent workers never lose a count. Budget checks read a day's
sums (one indexed query); reports group a range of days by user, clone, model or day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any
from uuid import UUID

from adapters.database import Database, Session
from domain.trading.usage import ReportRange, UsageLine

_UPSERT = """
INSERT INTO model_usage_daily (day, user_id, clone_id, provider, model, tier, calls, errors,
    tokens_in, tokens_out, cost_micros, unpriced_calls)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (day, user_id, clone_id, provider, model) DO UPDATE SET
    calls = model_usage_daily.calls + excluded.calls,
    errors = model_usage_daily.errors + excluded.errors,
    tokens_in = model_usage_daily.tokens_in + excluded.tokens_in,
    tokens_out = model_usage_daily.tokens_out + excluded.tokens_out,
    cost_micros = model_usage_daily.cost_micros + excluded.cost_micros,
    unpriced_calls = model_usage_daily.unpriced_calls + excluded.unpriced_calls
"""
# The clone's tier is the one of its latest counted call, on every row of its day.
_RETIER = "UPDATE model_usage_daily SET tier = %s WHERE clone_id = %s AND day = %s"
_SPENT = """
SELECT COALESCE(SUM(cost_micros), 0) AS total,
    COALESCE(SUM(CASE WHEN clone_id = %s THEN cost_micros ELSE 0 END), 0) AS clone
FROM model_usage_daily WHERE day = %s
"""
_SUMS = """SUM(calls) AS calls, SUM(errors) AS errors, SUM(tokens_in) AS tokens_in,
    SUM(tokens_out) AS tokens_out, SUM(cost_micros) AS cost_micros,
    SUM(unpriced_calls) AS unpriced_calls"""


class GroupBy(StrEnum):
    """What a usage report's rows are per."""

    USER = "user"
    CLONE = "clone"
    MODEL = "model"
    DAY = "day"


_GROUP_COLUMNS = {
    GroupBy.USER: ("user_id",),
    GroupBy.CLONE: ("clone_id", "user_id"),
    GroupBy.MODEL: ("provider", "model"),
    GroupBy.DAY: ("day",),
}


@dataclass(frozen=True)
class UsageEntry:
    """What one cause (a tick, a dry run, a backtest attempt) adds for one clone."""

    day: date
    user_id: str
    clone_id: UUID
    tier: str | None
    lines: tuple[UsageLine, ...]


@dataclass(frozen=True)
class Spend:
    """Micro-USD spent on one day: by one clone, and by everyone."""

    clone_micros: int
    total_micros: int


@dataclass(frozen=True)
class UsageTotals:
    """Summed counts of a group of rows."""

    calls: int
    errors: int
    tokens_in: int
    tokens_out: int
    cost_micros: int
    unpriced_calls: int


@dataclass(frozen=True)
class UsageRow:
    """One report row: its group's key (the columns grouped by) and its totals."""

    key: dict[str, str]
    totals: UsageTotals


@dataclass(frozen=True)
class CloneSpend:
    """One clone's spend on one day, under the tier of its latest counted call."""

    clone_id: str
    user_id: str
    tier: str | None
    cost_micros: int


def add_usage(session: Session, entry: UsageEntry) -> None:
    """Add ``entry``'s lines to the read model inside the caller's transaction."""
    if not entry.lines:
        return
    day, clone = entry.day.isoformat(), str(entry.clone_id)
    session.execute_many(_UPSERT, [_params(entry, day, clone, line) for line in entry.lines])
    session.execute(_RETIER, (entry.tier, clone, day))


def _params(entry: UsageEntry, day: str, clone: str, line: UsageLine) -> tuple[Any, ...]:
    counts = (line.calls, line.errors, line.tokens_in, line.tokens_out, line.cost_micros)
    return (
        day,
        entry.user_id,
        clone,
        line.provider,
        line.model,
        entry.tier,
        *counts,
        line.unpriced_calls,
    )


class ModelUsageStore:
    """Reads and writes of ``model_usage_daily``."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def record(self, entry: UsageEntry) -> None:
        """Add ``entry`` in a transaction of its own (backtests)."""
        with self.database.transaction() as session:
            add_usage(session, entry)

    def spent(self, day: date, clone_id: UUID) -> Spend:
        """What ``clone_id`` and everyone spent on ``day``."""
        with self.database.transaction(write=False) as session:
            row = session.fetch_one(_SPENT, (str(clone_id), day.isoformat()))
        return Spend(0, 0) if row is None else Spend(int(row["clone"]), int(row["total"]))

    def by_clone(self, day: date) -> list[CloneSpend]:
        """Every clone's spend on ``day``, most first."""
        with self.database.transaction(write=False) as session:
            rows = session.fetch_all(
                "SELECT clone_id, user_id, MAX(tier) AS tier, SUM(cost_micros) AS cost"
                " FROM model_usage_daily WHERE day = %s GROUP BY clone_id, user_id"
                " ORDER BY cost DESC, clone_id",
                (day.isoformat(),),
            )
        return [CloneSpend(r["clone_id"], r["user_id"], r["tier"], int(r["cost"])) for r in rows]

    def report(self, days: ReportRange, group_by: GroupBy, limit: int) -> list[UsageRow]:
        """Rows per ``group_by`` over ``days``: by day in order, else the costliest first."""
        columns = ", ".join(_GROUP_COLUMNS[group_by])
        order = "day" if group_by is GroupBy.DAY else f"SUM(cost_micros) DESC, {columns}"
        with self.database.transaction(write=False) as session:
            rows = session.fetch_all(
                f"SELECT {columns}, {_SUMS} FROM model_usage_daily"
                f" WHERE day >= %s AND day <= %s GROUP BY {columns} ORDER BY {order} LIMIT %s",
                (days.start.isoformat(), days.end.isoformat(), limit),
            )
        return [UsageRow({c: r[c] for c in _GROUP_COLUMNS[group_by]}, _totals(r)) for r in rows]

    def totals(self, days: ReportRange) -> UsageTotals:
        """The sums over every row of ``days``."""
        with self.database.transaction(write=False) as session:
            row = session.fetch_one(
                f"SELECT {_SUMS} FROM model_usage_daily WHERE day >= %s AND day <= %s",
                (days.start.isoformat(), days.end.isoformat()),
            )
        return _totals(row or {})


def _totals(row: dict[str, Any]) -> UsageTotals:
    # PostgreSQL sums BIGINTs as NUMERIC (a Decimal) and an empty SUM is NULL.
    def count(name: str) -> int:
        return int(row.get(name) or 0)

    return UsageTotals(
        count("calls"),
        count("errors"),
        count("tokens_in"),
        count("tokens_out"),
        count("cost_micros"),
        count("unpriced_calls"),
    )
