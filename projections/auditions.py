"""The auditions read model: each audition's state, and which ones the worker must drive.

One row per audition, written per event (auditions are few). ``open`` says the audition
still has work for the auditions worker: steps to perform, a run to evaluate, a run to
close, a refund or an attempt release. The audition aggregate stays the authority (the
worker reloads it and asks for its next step); this table only spares the worker loading
every audition ever made. The list route pages the owner's rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from adapters.database import Database, Session, from_micros, to_micros
from domain.lifecycle.audition import Audition, AuditionState
from projections.runner import Projection

_TABLE = """CREATE TABLE IF NOT EXISTS lifecycle_auditions_view (
    audition_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, clone_id TEXT NOT NULL,
    version_id TEXT NOT NULL, purchase_id TEXT NOT NULL, tier TEXT NOT NULL,
    state TEXT NOT NULL, run BIGINT NOT NULL, account_id TEXT, attempt_taken BIGINT NOT NULL,
    started_at BIGINT, ends_at BIGINT, reason TEXT, last_error TEXT, refund_id TEXT,
    open BIGINT NOT NULL, submitted_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)"""
_BY_USER = """CREATE INDEX IF NOT EXISTS lifecycle_auditions_by_user
    ON lifecycle_auditions_view (user_id, submitted_at)"""


class AuditionsProjection(Projection):
    """Folds the ``lifecycle`` log into ``lifecycle_auditions_view``."""

    name = "auditions"
    version = 1
    tables = ("lifecycle_auditions_view",)

    def create(self, session: Session) -> None:
        """Create the view table and its index."""
        session.execute(_TABLE)
        session.execute(_BY_USER)

    def apply(self, session: Session, event: Any, position: int) -> None:
        """Write what one audition event implies."""
        if isinstance(event, Audition.Submitted):
            _insert(session, event)
            return
        changes = _changes(event, _state_of(session, str(event.originator_id)))
        if changes:
            changes["updated_at"] = to_micros(event.timestamp)
            columns = ", ".join(f"{name} = %s" for name in changes)
            session.execute(
                f"UPDATE lifecycle_auditions_view SET {columns} WHERE audition_id = %s",
                (*changes.values(), str(event.originator_id)),
            )


def _insert(session: Session, event: Audition.Submitted) -> None:
    at = to_micros(event.timestamp)
    session.execute(
        "INSERT INTO lifecycle_auditions_view (audition_id, user_id, clone_id, version_id,"
        " purchase_id, tier, state, run, attempt_taken, open, submitted_at, updated_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, 1, 0, 1, %s, %s)"
        " ON CONFLICT (audition_id) DO NOTHING",
        (
            str(event.originator_id),
            event.user_id,
            str(event.clone_id),
            str(event.version_id),
            str(event.purchase_id),
            event.tier,
            AuditionState.STARTING.value,
            at,
            at,
        ),
    )


def _state_of(session: Session, audition_id: str) -> dict[str, Any]:
    row = session.fetch_one(
        "SELECT state, attempt_taken FROM lifecycle_auditions_view WHERE audition_id = %s",
        (audition_id,),
    )
    return row or {"state": "", "attempt_taken": 0}


def _changes(event: Any, row: dict[str, Any]) -> dict[str, Any]:
    match event:
        case Audition.RetryRequested():
            return {
                "state": AuditionState.STARTING.value,
                "run": event.run,
                "account_id": None,
                "attempt_taken": 0,
                "started_at": None,
                "ends_at": None,
                "last_error": None,
                "open": 1,
            }
        case Audition.AttemptTaken():
            return {"attempt_taken": 1, "last_error": None}
        case Audition.AccountOpened():
            return {"account_id": str(event.account_id), "last_error": None}
        case Audition.RunStarted():
            ends = None if event.ends_at is None else to_micros(event.ends_at)
            return {
                "state": AuditionState.RUNNING.value,
                "started_at": to_micros(event.started_at),
                "ends_at": ends,
                "last_error": None,
            }
        case Audition.StepFailed():
            return {"last_error": f"{event.step}: {event.error}"}
        case Audition.Abandoned():
            return {
                "state": AuditionState.ABANDONED.value,
                "reason": f"{event.step}: {event.reason}",
                "open": int(row["attempt_taken"]),
            }
        case Audition.AttemptReleased():
            return {"open": 0}
        case Audition.AuditionPassed() | Audition.AuditionFailed():
            passed = isinstance(event, Audition.AuditionPassed)
            state = AuditionState.PASSED if passed else AuditionState.FAILED
            return {"state": state.value, "open": 1}
        case Audition.AuditionVoided():
            return {"state": AuditionState.VOIDED.value, "reason": event.reason, "open": 1}
        case Audition.RunClosed():
            return {"open": int(row["state"] == AuditionState.VOIDED.value)}
        case Audition.Refunded():
            return {"refund_id": str(event.refund_id), "open": 0}
    return {}


@dataclass(frozen=True)
class AuditionRow:
    """An audition as the list route and the worker read it."""

    audition_id: UUID
    user_id: str
    clone_id: UUID
    version_id: UUID
    tier: str
    state: str
    run: int
    account_id: UUID | None
    started_at: datetime | None
    ends_at: datetime | None
    reason: str | None
    last_error: str | None
    submitted_at: datetime

    @classmethod
    def of(cls, row: dict[str, Any]) -> AuditionRow:
        """Build from a view row."""
        return cls(
            audition_id=UUID(row["audition_id"]),
            user_id=row["user_id"],
            clone_id=UUID(row["clone_id"]),
            version_id=UUID(row["version_id"]),
            tier=row["tier"],
            state=row["state"],
            run=int(row["run"]),
            account_id=UUID(row["account_id"]) if row["account_id"] else None,
            started_at=from_micros(row["started_at"]) if row["started_at"] is not None else None,
            ends_at=from_micros(row["ends_at"]) if row["ends_at"] is not None else None,
            reason=row["reason"],
            last_error=row["last_error"],
            submitted_at=from_micros(row["submitted_at"]),
        )


def open_auditions(database: Database) -> list[UUID]:
    """Auditions with work left for the worker, oldest first."""
    with database.transaction(write=False) as session:
        if not session.table_exists("lifecycle_auditions_view"):
            return []
        rows = session.fetch_all(
            "SELECT audition_id FROM lifecycle_auditions_view WHERE open = 1"
            " ORDER BY submitted_at, audition_id"
        )
    return [UUID(row["audition_id"]) for row in rows]


def auditions_of(
    database: Database, user_id: str, *, before: int | None, limit: int
) -> list[AuditionRow]:
    """The user's auditions, newest first, before a ``submitted_at`` cursor (micros)."""
    with database.transaction(write=False) as session:
        if not session.table_exists("lifecycle_auditions_view"):
            return []
        rows = session.fetch_all(
            "SELECT * FROM lifecycle_auditions_view WHERE user_id = %s AND submitted_at < %s"
            " ORDER BY submitted_at DESC, audition_id DESC LIMIT %s",
            (user_id, before if before is not None else 2**62, limit),
        )
    return [AuditionRow.of(row) for row in rows]
