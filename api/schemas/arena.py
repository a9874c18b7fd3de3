"""Arena models of the HTTP contract: members, the Promotion Queue, sync reports, departures.

Amounts are decimal strings (USDC); return and drawdown are fractions as strings.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from api.schemas.base import ApiModel
from api.schemas.clones import PublicCloneProfile
from domain.competition.entry import ArenaEntry
from projections.arena import EntryRow


class ArenaMember(ApiModel):
    """A clone holding an Arena slot, with its arena account's standing."""

    entry_id: str
    clone_id: str
    version_id: str
    profile: PublicCloneProfile | None
    score: str
    state: str
    admitted_at: datetime | None
    account_id: str | None
    account_value: str | None
    total_return: str | None
    max_drawdown_pct: str | None


class ArenaPage(ApiModel):
    """The Arena: its capacity and its members, best return first."""

    capacity: int
    members: list[ArenaMember]
    as_of: datetime


class QueuedEntry(ApiModel):
    """A passed audition waiting for a slot."""

    position: int
    entry_id: str
    clone_id: str
    clone_name: str | None
    score: str
    passed_at: datetime
    gate: str | None
    gate_detail: str | None

    @classmethod
    def of(cls, position: int, row: EntryRow, name: str | None) -> QueuedEntry:
        """Build from the read model's row (``name``: the public profile's, if any)."""
        return cls(
            position=position,
            entry_id=str(row.entry_id),
            clone_id=str(row.clone_id),
            clone_name=name,
            score=str(row.score),
            passed_at=row.passed_at,
            gate=row.gate,
            gate_detail=row.gate_detail,
        )


class ArenaQueue(ApiModel):
    """The Promotion Queue in admission order (score, then pass time)."""

    entries: list[QueuedEntry]


class SyncReport(ApiModel):
    """What one admission cycle did (entry ids)."""

    enqueued: int
    admitted: list[str]
    activated: list[str]
    stopped: list[str]
    withdrawn: list[str]
    gated: dict[str, str]
    failed: dict[str, str]


class Departure(ApiModel):
    """Why an admin takes an entry out of the Arena."""

    reason: str = Field(min_length=3, max_length=500)


class EntryPublic(ApiModel):
    """An Arena entry as an admin sees it after a change."""

    id: str
    audition_id: str
    clone_id: str
    version_id: str
    state: str
    score: str
    account_id: str | None
    reason: str | None
    trading_stopped: bool

    @classmethod
    def of(cls, entry: ArenaEntry) -> EntryPublic:
        """Build from the aggregate."""
        return cls(
            id=str(entry.id),
            audition_id=str(entry.audition_id),
            clone_id=str(entry.clone_id),
            version_id=str(entry.version_id),
            state=entry.state.value,
            score=str(entry.score),
            account_id=None if entry.account_id is None else str(entry.account_id),
            reason=entry.reason,
            trading_stopped=entry.stopped,
        )
