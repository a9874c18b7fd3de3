"""Decision rows: the trading module's audit of every tick of every bound account.

One row per (account, tick): decisions that acted, holds (compact: no artifacts, no
orders), ticks refused by the entitlement guardrail, and ticks missed while no worker ran
(one ``skipped`` row per gap, with the first missed tick, the last and the count). The
row and the account's per-asset tick cursors are written in one transaction, so a tick is
decided at most once; its orders are stored with it (``phase = planned``) *before* they
are sent, and the row becomes ``executed`` with the ledger's answers. A worker that dies
in between finds the planned row and re-sends the same orders, which the ledger answers
idempotently (same client order ids). Dry runs keep their results in their own table.
A row's model usage (``adapters.model_usage``) is added in the row's own transaction, so
a tick recorded twice (refused by the row's key) never counts its calls twice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from adapters.database import Database, Session, UniqueViolation, from_micros, to_micros
from adapters.model_usage import UsageEntry, add_usage
from domain.prop.orders import MarketOrder
from domain.prop.positions import Side


@dataclass(frozen=True)
class DecisionRow:
    """A decision row as written (documents are JSON-ready)."""

    decision_id: UUID
    account_id: UUID
    clone_id: UUID
    version_id: UUID
    tick_at: datetime
    status: str  # act | hold | refused | skipped
    assets: tuple[str, ...]
    recorded_at: datetime
    skipped_until: datetime | None = None
    skipped_count: int = 0
    context_hash: str | None = None
    prompt_version: str | None = None
    provider: str | None = None
    model: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: int = 0
    actions: Any = None
    orders: Sequence[MarketOrder] = ()
    errors: Sequence[str] = ()
    artifacts: Mapping[str, Any] = field(default_factory=dict)

    @property
    def phase(self) -> str:
        """``planned`` while orders wait to be sent, else ``executed``."""
        return "planned" if self.orders else "executed"


def order_document(order: MarketOrder) -> dict[str, Any]:
    """A market order as stored on its decision row."""
    return {
        "clientOrderId": order.client_order_id,
        "asset": order.asset,
        "side": "buy" if order.side is Side.BUY else "sell",
        "size": str(order.size),
        "leverage": order.leverage,
        "reduceOnly": order.reduce_only,
        "stopLoss": None if order.stop_loss is None else str(order.stop_loss),
        "takeProfit": None if order.take_profit is None else str(order.take_profit),
    }


def order_from(document: Mapping[str, Any]) -> MarketOrder:
    """Rebuild a stored order."""
    stop, take = document["stopLoss"], document["takeProfit"]
    return MarketOrder(
        document["clientOrderId"],
        document["asset"],
        Side.BUY if document["side"] == "buy" else Side.SELL,
        Decimal(document["size"]),
        int(document["leverage"]),
        bool(document["reduceOnly"]),
        None if stop is None else Decimal(stop),
        None if take is None else Decimal(take),
    )


_COLUMNS = (
    "decision_id, account_id, clone_id, version_id, tick_at, status, phase, assets,"
    " skipped_until, skipped_count, context_hash, prompt_version, provider, model, tokens_in,"
    " tokens_out, latency_ms, actions, orders, outcomes, errors, artifacts, recorded_at"
)


class DecisionStore:
    """Decision rows, tick cursors and dry-run results in SQL."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def cursors(self, account_id: UUID) -> dict[str, datetime]:
        """The last tick decided per asset of ``account_id``."""
        with self.database.transaction(write=False) as session:
            rows = session.fetch_all(
                "SELECT asset, last_tick FROM trading_tick_cursors WHERE account_id = %s",
                (str(account_id),),
            )
        return {row["asset"]: from_micros(row["last_tick"]) for row in rows}

    def record(
        self, row: DecisionRow, ticks: Mapping[str, datetime], usage: UsageEntry | None = None
    ) -> bool:
        """Write the row, its model usage and the cursors; False if the tick was recorded."""
        try:
            with self.database.transaction() as session:
                _insert(session, row)
                _advance(session, row.account_id, ticks)
                if usage is not None:
                    add_usage(session, usage)
        except UniqueViolation:
            return False
        return True

    def planned(self, account_id: UUID) -> list[tuple[UUID, list[MarketOrder]]]:
        """Rows whose orders were stored but not all answered (oldest first)."""
        with self.database.transaction(write=False) as session:
            rows = session.fetch_all(
                "SELECT decision_id, orders FROM trading_decisions"
                " WHERE phase = 'planned' AND account_id = %s ORDER BY tick_at",
                (str(account_id),),
            )
        return [
            (UUID(r["decision_id"]), [order_from(o) for o in json.loads(r["orders"])]) for r in rows
        ]

    def executed(self, decision_id: UUID, outcomes: Sequence[Mapping[str, Any]]) -> None:
        """Record the ledger's answers and close the row."""
        with self.database.transaction() as session:
            session.execute(
                "UPDATE trading_decisions SET phase = 'executed', outcomes = %s"
                " WHERE decision_id = %s",
                (_json(list(outcomes)), str(decision_id)),
            )

    def page(
        self, account_id: UUID, *, before: datetime | None, limit: int
    ) -> list[dict[str, Any]]:
        """Newest-first rows of ``account_id`` with ticks before ``before``."""
        bound = to_micros(before) if before is not None else 2**62
        with self.database.transaction(write=False) as session:
            rows = session.fetch_all(
                f"SELECT {_COLUMNS} FROM trading_decisions WHERE account_id = %s"
                " AND tick_at < %s ORDER BY tick_at DESC LIMIT %s",
                (str(account_id), bound, limit),
            )
        return [_decoded(row) for row in rows]

    def save_dry_run(
        self,
        run_id: UUID,
        *,
        clone_id: UUID,
        owner: str,
        source: str,
        market_time: datetime,
        recorded_at: datetime,
        provider: str,
        result: Mapping[str, Any],
        usage: UsageEntry | None = None,
    ) -> None:
        """Keep a dry run's result (debug table) and count its model usage with it."""
        with self.database.transaction() as session:
            session.execute(
                "INSERT INTO trading_dry_runs (run_id, clone_id, owner, source, market_time,"
                " recorded_at, provider, result) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    str(run_id),
                    str(clone_id),
                    owner,
                    source,
                    to_micros(market_time),
                    to_micros(recorded_at),
                    provider,
                    _json(result),
                ),
            )
            if usage is not None:
                add_usage(session, usage)

    def dry_runs(
        self, clone_id: UUID, *, before: tuple[int, str] | None, limit: int
    ) -> list[dict[str, Any]]:
        """Newest-first dry runs of ``clone_id`` before ``(recorded_at micros, run_id)``."""
        at, run = before if before is not None else (2**62, "")
        with self.database.transaction(write=False) as session:
            rows = session.fetch_all(
                "SELECT * FROM trading_dry_runs WHERE clone_id = %s AND (recorded_at < %s"
                " OR (recorded_at = %s AND run_id < %s))"
                " ORDER BY recorded_at DESC, run_id DESC LIMIT %s",
                (str(clone_id), at, at, run, limit),
            )
        for row in rows:
            row["result"] = json.loads(row["result"])
            row["market_time"] = from_micros(row["market_time"])
            row["recorded_at"] = from_micros(row["recorded_at"])
        return rows


def _json(document: Any) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)


def _insert(session: Session, row: DecisionRow) -> None:
    session.execute(
        f"INSERT INTO trading_decisions ({_COLUMNS}) VALUES"
        " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
        " %s, %s)",
        (
            str(row.decision_id),
            str(row.account_id),
            str(row.clone_id),
            str(row.version_id),
            to_micros(row.tick_at),
            row.status,
            row.phase,
            _json(list(row.assets)),
            None if row.skipped_until is None else to_micros(row.skipped_until),
            row.skipped_count,
            row.context_hash,
            row.prompt_version,
            row.provider,
            row.model,
            row.tokens_in,
            row.tokens_out,
            row.latency_ms,
            None if row.actions is None else _json(row.actions),
            _json([order_document(o) for o in row.orders]) if row.orders else None,
            None,
            _json(list(row.errors)) if row.errors else None,
            _json(dict(row.artifacts)) if row.artifacts else None,
            to_micros(row.recorded_at),
        ),
    )


def _advance(session: Session, account_id: UUID, ticks: Mapping[str, datetime]) -> None:
    session.execute_many(
        "INSERT INTO trading_tick_cursors (account_id, asset, last_tick) VALUES (%s, %s, %s)"
        " ON CONFLICT (account_id, asset) DO UPDATE SET last_tick = excluded.last_tick",
        [(str(account_id), asset, to_micros(tick)) for asset, tick in sorted(ticks.items())],
    )


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    for name in ("assets", "actions", "orders", "outcomes", "errors", "artifacts"):
        if row[name] is not None:
            row[name] = json.loads(row[name])
    row["tick_at"] = from_micros(row["tick_at"])
    row["recorded_at"] = from_micros(row["recorded_at"])
    if row["skipped_until"] is not None:
        row["skipped_until"] = from_micros(row["skipped_until"])
    return row
