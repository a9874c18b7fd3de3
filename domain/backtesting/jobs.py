"""Backtest jobs: their states, the moves between them, and the UTC quota day.

A job is a plain row, not an event-sourced aggregate: it is the backtesting module's
queue state, stamped by the **service clock** (quota days and leases are real time), and
its durable outcome (summary, metrics, artifacts) is written once when it succeeds.

States and moves (every move is a conditional update in the store, so each happens once):

- ``queued`` -> ``running``: a worker starts it (attempt + 1), within the concurrency
  limits; ``running`` -> ``running``: a worker resumes a job whose holder died (attempt + 1);
- ``running`` -> ``succeeded``: artifacts and summary written, by the current attempt only;
- ``running`` -> ``failed``: a refusal that cannot pass on retry, or the runtime
  dead-lettered the job's work item after its bounded retries;
- ``queued`` -> ``cancelled`` at once on cancel; ``running`` -> ``cancelled`` by the worker
  at its next poll after a cancel was requested;
- ``queued`` -> ``expired``: not started within the queue TTL.

``succeeded``, ``failed``, ``cancelled`` and ``expired`` are terminal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from domain.backtesting.estimate import Estimate, ReplayWindow


class JobStatus(StrEnum):
    """Where a job is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


TERMINAL = frozenset(
    {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.EXPIRED}
)
ARTIFACT_KINDS = ("summary", "metrics", "trades", "equity", "chart", "decisions")
EXPIRING_KINDS = frozenset({"decisions"})  # per-decision detail: prompts, contexts, answers


@dataclass(frozen=True)
class NewJob:
    """A run being accepted: who, which version, which window, what it will cost."""

    job_id: UUID
    user_id: str
    clone_id: UUID
    version_id: UUID
    version_number: int
    tier: str
    window: ReplayWindow
    estimate: Estimate
    created_at: datetime

    @property
    def quota_day(self) -> date:
        """The UTC day of the service clock the run counts against."""
        return quota_day(self.created_at)


@dataclass(frozen=True)
class Job:
    """A job as stored."""

    job_id: UUID
    user_id: str
    clone_id: UUID
    version_id: UUID
    version_number: int
    tier: str
    status: JobStatus
    window: ReplayWindow
    estimate: Estimate
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    cancel_requested_at: datetime | None
    error: str | None
    summary: dict[str, Any] | None
    metrics: dict[str, Any] | None
    input_hash: str | None
    result_hash: str | None

    @property
    def finished(self) -> bool:
        """Whether the job reached a terminal state."""
        return self.status in TERMINAL


@dataclass(frozen=True)
class Artifact:
    """One output of a run: its kind, content, and whether it outlives the retention window."""

    kind: str
    media_type: str
    content: str
    expires_at: datetime | None  # None: durable

    @property
    def durable(self) -> bool:
        """Whether the artifact is kept for as long as the job."""
        return self.expires_at is None


@dataclass(frozen=True)
class ConcurrencyLimits:
    """How many jobs may run at once, in total and per user."""

    total: int
    per_user: int


def quota_day(instant: datetime) -> date:
    """The UTC calendar day of ``instant``."""
    return instant.astimezone(UTC).date()


def quota_resets_at(instant: datetime) -> datetime:
    """The start of the UTC day after ``instant``'s: when its quota day ends."""
    return datetime.combine(quota_day(instant) + timedelta(days=1), time(), tzinfo=UTC)
