"""Background reconciliation: every audit on a cadence, each run recorded.

Why recorded: an operator (and the alerting of a later slice) needs to know when the books
last agreed and what broke since, without running ``clash audit`` by hand. A run folds the
event logs exactly as ``clash audit`` does (the ledger against its read models, the economy
with auditions and race pools, the Arena) and stores its counts and breaches in
``reconciliation_runs`` (migration 10); a run with breaches is logged as an error.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import structlog

from adapters.bootstrap import Container
from adapters.database import Database, from_micros, to_micros
from projections.arena_audit import audit_arena
from projections.economy_audit import audit_economy
from projections.prop_audit import audit

log = structlog.get_logger("adapters.reconciliation")


@dataclass(frozen=True)
class ReconciliationRun:
    """One run: when, whether the books agreed, what was checked, what broke."""

    id: str
    started_at: datetime
    finished_at: datetime
    ok: bool
    checked: dict[str, Any]
    breaches: list[dict[str, Any]]


def reconcile(container: Container) -> ReconciliationRun:
    """Run every audit now and record the run."""
    started = container.service_clock.now()
    ledger = audit(container.prop, container.database)
    economy = audit_economy(container.economy, container.lifecycle)
    arena = audit_arena(container.competition, container.lifecycle)
    breaches = [{"audit": "ledger", **asdict(f)} for f in ledger.findings]
    breaches += [
        {"audit": "economy", "kind": b.kind, "ids": list(b.ids), "detail": b.detail}
        for b in economy.breaches
    ]
    breaches += [{"audit": "arena", **asdict(b)} for b in arena.breaches]
    checked = {
        "accounts": ledger.accounts,
        "ledger_events": ledger.events,
        "economy_events": economy.events,
        **economy.checked,
        "arena_seatings": arena.seatings,
    }
    run = ReconciliationRun(
        str(uuid.uuid4()), started, container.service_clock.now(), not breaches, checked, breaches
    )
    _record(container.database, run)
    if breaches:
        log.error("reconciliation_breaches", run=run.id, breaches=len(breaches))
    return run


def recent_runs(database: Database, limit: int = 20) -> list[ReconciliationRun]:
    """The latest runs, newest first."""
    with database.transaction(write=False) as session:
        rows = session.fetch_all(
            "SELECT * FROM reconciliation_runs ORDER BY started_at DESC, id LIMIT %s", (limit,)
        )
    return [
        ReconciliationRun(
            row["id"],
            from_micros(row["started_at"]),
            from_micros(row["finished_at"]),
            bool(row["ok"]),
            json.loads(row["checked"]),
            json.loads(row["breaches"]),
        )
        for row in rows
    ]


def _record(database: Database, run: ReconciliationRun) -> None:
    with database.transaction() as session:
        session.execute(
            "INSERT INTO reconciliation_runs (id, started_at, finished_at, ok, checked, breaches)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (
                run.id,
                to_micros(run.started_at),
                to_micros(run.finished_at),
                int(run.ok),
                json.dumps(run.checked, default=str),
                json.dumps(run.breaches, default=str),
            ),
        )
