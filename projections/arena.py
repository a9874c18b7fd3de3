"""The Arena read model: the Promotion Queue and the membership, folded from the competition log.

One row per entry (entries are few; the fold writes per event). The queue is the queued
rows in queue order (``domain/competition/admission.py``: score, highest first, then the
earlier pass, then the id); ``score_key`` holds the score in millionths so SQL orders it
exactly. ``open`` marks rows the arena worker has steps for (an admitted member without its
account or binding, a departed one still trading). Rebuildable: the rows derive from the
events alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from adapters.database import Database, Session, from_micros, to_micros
from domain.competition.entry import ArenaEntry, EntryState
from projections.runner import Projection

_TABLE = """CREATE TABLE IF NOT EXISTS competition_entries_view (
    entry_id TEXT PRIMARY KEY, audition_id TEXT NOT NULL, clone_id TEXT NOT NULL,
    version_id TEXT NOT NULL, user_id TEXT NOT NULL, score TEXT NOT NULL,
    score_key BIGINT NOT NULL, passed_at BIGINT NOT NULL, state TEXT NOT NULL, gate TEXT,
    gate_detail TEXT, account_id TEXT, admitted_at BIGINT, started_at BIGINT, left_at BIGINT,
    reason TEXT, open BIGINT NOT NULL, updated_at BIGINT NOT NULL)"""
_QUEUE = """CREATE INDEX IF NOT EXISTS competition_entries_queue
    ON competition_entries_view (state, score_key, passed_at)"""
_ORDER = "ORDER BY score_key DESC, passed_at, entry_id"
MILLIONTHS = Decimal(1_000_000)


class ArenaProjection(Projection):
    """Folds the ``competition`` log into ``competition_entries_view``."""

    name = "arena"
    version = 1
    tables = ("competition_entries_view",)

    def create(self, session: Session) -> None:
        """Create the view table and its index."""
        session.execute(_TABLE)
        session.execute(_QUEUE)

    def apply(self, session: Session, event: Any, position: int) -> None:
        """Write what one entry event implies (the slots' events are in the entries' too)."""
        if isinstance(event, ArenaEntry.Enqueued):
            _insert(session, event)
            return
        changes = _changes(event)
        if changes:
            changes["updated_at"] = to_micros(event.timestamp)
            columns = ", ".join(f"{name} = %s" for name in changes)
            session.execute(
                f"UPDATE competition_entries_view SET {columns} WHERE entry_id = %s",
                (*changes.values(), str(event.originator_id)),
            )


def _insert(session: Session, event: ArenaEntry.Enqueued) -> None:
    score = Decimal(event.score)
    session.execute(
        "INSERT INTO competition_entries_view (entry_id, audition_id, clone_id, version_id,"
        " user_id, score, score_key, passed_at, state, open, updated_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 0, %s) ON CONFLICT (entry_id) DO NOTHING",
        (
            str(event.originator_id),
            str(event.audition_id),
            str(event.clone_id),
            str(event.version_id),
            event.user_id,
            str(score),
            int((score * MILLIONTHS).to_integral_value()),
            to_micros(event.passed_at),
            EntryState.QUEUED.value,
            to_micros(event.timestamp),
        ),
    )


def _changes(event: Any) -> dict[str, Any]:
    match event:
        case ArenaEntry.GateChanged():
            return {"gate": event.gate, "gate_detail": event.detail or None}
        case ArenaEntry.Withdrawn():
            state = EntryState.WITHDRAWN.value
            return {"state": state, "gate": event.gate, "reason": event.detail}
        case ArenaEntry.Admitted():
            at = to_micros(event.timestamp)
            return {"state": EntryState.ADMITTED.value, "gate": None, "admitted_at": at, "open": 1}
        case ArenaEntry.AccountOpened():
            return {"account_id": str(event.account_id)}
        case ArenaEntry.Activated():
            started = to_micros(event.started_at)
            return {"state": EntryState.ACTIVE.value, "started_at": started, "open": 0}
        case ArenaEntry.Left():
            state = EntryState.RETIRED if event.retired else EntryState.REMOVED
            at = to_micros(event.timestamp)
            return {"state": state.value, "reason": event.reason, "left_at": at, "open": 1}
        case ArenaEntry.TradingStopped():
            return {"open": 0}
    return {}


@dataclass(frozen=True)
class EntryRow:
    """An entry as the routes read it."""

    entry_id: UUID
    audition_id: UUID
    clone_id: UUID
    version_id: UUID
    user_id: str
    score: Decimal
    passed_at: datetime
    state: str
    gate: str | None
    gate_detail: str | None
    account_id: UUID | None
    admitted_at: datetime | None
    reason: str | None

    @classmethod
    def of(cls, row: dict[str, Any]) -> EntryRow:
        """Build from a view row."""
        return cls(
            entry_id=UUID(row["entry_id"]),
            audition_id=UUID(row["audition_id"]),
            clone_id=UUID(row["clone_id"]),
            version_id=UUID(row["version_id"]),
            user_id=row["user_id"],
            score=Decimal(row["score"]),
            passed_at=from_micros(row["passed_at"]),
            state=row["state"],
            gate=row["gate"],
            gate_detail=row["gate_detail"],
            account_id=UUID(row["account_id"]) if row["account_id"] else None,
            admitted_at=from_micros(row["admitted_at"]) if row["admitted_at"] else None,
            reason=row["reason"],
        )


def _rows(database: Database, where: str, params: tuple[Any, ...] = ()) -> list[EntryRow]:
    with database.transaction(write=False) as session:
        if not session.table_exists("competition_entries_view"):
            return []
        rows = session.fetch_all(
            f"SELECT * FROM competition_entries_view WHERE {where} {_ORDER}", params
        )
    return [EntryRow.of(row) for row in rows]


def queue(database: Database) -> list[EntryRow]:
    """The Promotion Queue, in admission order."""
    return _rows(database, "state = %s", (EntryState.QUEUED.value,))


def queued_entries(database: Database) -> list[UUID]:
    """The queued entry ids, in admission order."""
    return [row.entry_id for row in queue(database)]


def members(database: Database) -> list[EntryRow]:
    """The entries holding a slot, best score first."""
    states = (EntryState.ADMITTED.value, EntryState.ACTIVE.value)
    return _rows(database, "state IN (%s, %s)", states)


def open_entries(database: Database) -> list[UUID]:
    """Entries with a step left for the arena worker."""
    return [row.entry_id for row in _rows(database, "open = 1")]
