"""Backtest jobs, usage days and artifacts in SQL: every state move is one conditional update.

Why each rule holds (``domain.backtesting.jobs`` names the states):

- **Quota**: :meth:`BacktestStore.accept` counts the run on its usage-day row and inserts
  the job in one transaction. The count is one ``INSERT ... ON CONFLICT DO UPDATE SET
  runs = runs + 1 WHERE runs < limit RETURNING runs``: PostgreSQL locks the row and
  re-checks the condition for a concurrent second start (SQLite serialises writers), so
  two starts never pass the quota; when nothing is returned, nothing is written.
- **Concurrency**: :meth:`BacktestStore.begin` admits a queued job only while fewer than
  the global and per-user limits run; on PostgreSQL an advisory transaction lock
  serialises admissions (two workers cannot both take the last slot).
- **Exactly once**: a move names the state it leaves (``WHERE status = 'running'``) and,
  for a running job, the attempt that owns it (``AND attempts = %s``): a stale holder
  whose job was resumed elsewhere changes nothing, and a second finisher changes nothing.
  The artifacts are inserted in the transaction that marks the job succeeded, only when
  that update changed the row.

Artifacts (``adapters.backtest_artifacts``) are inserted with the success, never alone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from adapters.backtest_artifacts import INSERT_ARTIFACT, artifact_params
from adapters.database import Database, Session, from_micros, to_micros
from domain.backtesting.estimate import Estimate, ReplayWindow, WindowShape
from domain.backtesting.jobs import Artifact, ConcurrencyLimits, Job, JobStatus, NewJob

ADMISSION_LOCK_KEY = 727_006

_COUNT_RUN = """
INSERT INTO backtest_usage_days (user_id, clone_id, day, runs) VALUES (%s, %s, %s, 1)
ON CONFLICT (user_id, clone_id, day) DO UPDATE SET runs = backtest_usage_days.runs + 1
WHERE backtest_usage_days.runs < %s
RETURNING runs
"""

_INSERT_JOB = """
INSERT INTO backtest_jobs (job_id, user_id, clone_id, version_id, version_number, tier,
    status, window_shape, window_start, window_end, estimate, attempts, created_at)
VALUES (%s, %s, %s, %s, %s, %s, 'queued', %s, %s, %s, %s, 0, %s)
"""

_COLUMNS = """job_id, user_id, clone_id, version_id, version_number, tier, status,
    window_shape, window_start, window_end, estimate, attempts, created_at, started_at,
    finished_at, cancel_requested_at, error, summary, metrics, input_hash, result_hash"""

_SUCCEED = """
UPDATE backtest_jobs SET status = 'succeeded', finished_at = %s, error = NULL, summary = %s,
    metrics = %s, input_hash = %s, result_hash = %s
WHERE job_id = %s AND status = 'running' AND attempts = %s
"""


@dataclass(frozen=True)
class Outcome:
    """What a succeeded run leaves on its job row."""

    summary: dict[str, Any]
    metrics: dict[str, Any]
    input_hash: str
    result_hash: str


class BacktestStore:
    """Jobs, usage days and artifacts of the backtesting module."""

    def __init__(self, database: Database) -> None:
        self.database = database

    # --- accepting -----------------------------------------------------------------------

    def accept(self, job: NewJob, *, daily_limit: int) -> bool:
        """Count the run and insert the job at once; False (nothing written) over the quota."""
        if daily_limit < 1:
            return False
        day = job.quota_day.isoformat()
        with self.database.transaction() as session:
            counted = session.fetch_one(
                _COUNT_RUN, (job.user_id, str(job.clone_id), day, daily_limit)
            )
            if counted is None:
                return False
            session.execute(_INSERT_JOB, _job_params(job))
        return True

    def usage(self, user_id: str, clone_id: UUID, day: str) -> int:
        """Runs accepted for ``(user, clone)`` on the UTC day ``day`` (``YYYY-MM-DD``)."""
        with self.database.transaction(write=False) as session:
            row = session.fetch_one(
                "SELECT runs FROM backtest_usage_days WHERE user_id = %s AND clone_id = %s"
                " AND day = %s",
                (user_id, str(clone_id), day),
            )
        return 0 if row is None else int(row["runs"])

    # --- reading -------------------------------------------------------------------------

    def get(self, job_id: UUID) -> Job | None:
        """One job, or None."""
        with self.database.transaction(write=False) as session:
            row = session.fetch_one(
                f"SELECT {_COLUMNS} FROM backtest_jobs WHERE job_id = %s", (str(job_id),)
            )
        return None if row is None else _job(row)

    def page(
        self,
        user_id: str,
        *,
        clone_id: UUID | None,
        before: tuple[int, str] | None,
        limit: int,
    ) -> list[Job]:
        """The user's jobs (of one clone, or all), newest first, before ``(created, id)``."""
        at, last = before if before is not None else (2**62, "")
        query = f"SELECT {_COLUMNS} FROM backtest_jobs WHERE user_id = %s"
        params: list[Any] = [user_id]
        if clone_id is not None:
            query += " AND clone_id = %s"
            params.append(str(clone_id))
        query += (
            " AND (created_at < %s OR (created_at = %s AND job_id < %s))"
            " ORDER BY created_at DESC, job_id DESC LIMIT %s"
        )
        with self.database.transaction(write=False) as session:
            rows = session.fetch_all(query, (*params, at, at, last, limit))
        return [_job(row) for row in rows]

    def cancel_requested(self, job_id: UUID) -> bool:
        """Whether a cancel was asked for the job (or it is no longer running)."""
        with self.database.transaction(write=False) as session:
            row = session.fetch_one(
                "SELECT status, cancel_requested_at FROM backtest_jobs WHERE job_id = %s",
                (str(job_id),),
            )
        return row is None or row["status"] != "running" or row["cancel_requested_at"] is not None

    def runnable(self, limits: ConcurrencyLimits) -> list[Job]:
        """Running jobs (to resume when their holder died), then queued ones that fit.

        Queued jobs are taken oldest first while the global and per-user limits leave room,
        counting the running ones; :meth:`begin` checks again under the admission lock.
        """
        with self.database.transaction(write=False) as session:
            rows = session.fetch_all(
                f"SELECT {_COLUMNS} FROM backtest_jobs WHERE status IN ('running', 'queued')"
                " ORDER BY created_at, job_id"
            )
        jobs = [_job(row) for row in rows]
        running = [job for job in jobs if job.status is JobStatus.RUNNING]
        per_user: dict[str, int] = {}
        for job in running:
            per_user[job.user_id] = per_user.get(job.user_id, 0) + 1
        admitted: list[Job] = []
        for job in jobs:
            if job.status is not JobStatus.QUEUED:
                continue
            if len(running) + len(admitted) >= limits.total:
                break
            if per_user.get(job.user_id, 0) < limits.per_user:
                per_user[job.user_id] = per_user.get(job.user_id, 0) + 1
                admitted.append(job)
        return running + admitted

    # --- moving --------------------------------------------------------------------------

    def begin(self, job_id: UUID, now: datetime, limits: ConcurrencyLimits) -> int | None:
        """Start (queued) or resume (running) the job; return the new attempt, or None.

        None: the job is finished or unknown, or a queued job finds no free slot.
        """
        with self.database.transaction() as session:
            if session.dialect == "postgres":
                session.execute("SELECT pg_advisory_xact_lock(%s)", (ADMISSION_LOCK_KEY,))
            row = session.fetch_one(
                "SELECT status, user_id, attempts FROM backtest_jobs WHERE job_id = %s",
                (str(job_id),),
            )
            if row is None or row["status"] not in ("queued", "running"):
                return None
            if row["status"] == "queued" and not _has_room(session, row["user_id"], limits):
                return None
            attempt = int(row["attempts"]) + 1
            session.execute(
                "UPDATE backtest_jobs SET status = 'running', attempts = %s,"
                " started_at = COALESCE(started_at, %s)"
                " WHERE job_id = %s AND status = %s AND attempts = %s",
                (attempt, to_micros(now), str(job_id), row["status"], attempt - 1),
            )
        return attempt

    def succeed(
        self,
        job_id: UUID,
        attempt: int,
        now: datetime,
        outcome: Outcome,
        artifacts: Sequence[Artifact],
    ) -> bool:
        """Mark the attempt's job succeeded and write its artifacts; False if not its job."""
        with self.database.transaction() as session:
            changed = session.execute(
                _SUCCEED,
                (
                    to_micros(now),
                    _json(outcome.summary),
                    _json(outcome.metrics),
                    outcome.input_hash,
                    outcome.result_hash,
                    str(job_id),
                    attempt,
                ),
            )
            if changed != 1:
                return False
            session.execute_many(
                INSERT_ARTIFACT, [artifact_params(job_id, a, now) for a in artifacts]
            )
        return True

    def end(self, job_id: UUID, attempt: int, status: JobStatus, now: datetime, error: str) -> bool:
        """End the attempt's running job as ``failed`` or ``cancelled``; False if not its job."""
        with self.database.transaction() as session:
            changed = session.execute(
                "UPDATE backtest_jobs SET status = %s, finished_at = %s, error = %s"
                " WHERE job_id = %s AND status = 'running' AND attempts = %s",
                (status.value, to_micros(now), error or None, str(job_id), attempt),
            )
        return changed == 1

    def note_error(self, job_id: UUID, attempt: int, error: str) -> None:
        """Record the error of a failed attempt that the runtime will retry."""
        with self.database.transaction() as session:
            session.execute(
                "UPDATE backtest_jobs SET error = %s"
                " WHERE job_id = %s AND status = 'running' AND attempts = %s",
                (error, str(job_id), attempt),
            )

    def fail_unfinished(self, job_id: UUID, now: datetime, error: str) -> bool:
        """Fail a queued or running job whatever its attempt (its work item is dead)."""
        with self.database.transaction() as session:
            changed = session.execute(
                "UPDATE backtest_jobs SET status = 'failed', finished_at = %s, error = %s"
                " WHERE job_id = %s AND status IN ('queued', 'running')",
                (to_micros(now), error, str(job_id)),
            )
        return changed == 1

    def cancel(self, job_id: UUID, now: datetime) -> Job | None:
        """Cancel a queued job at once, or ask the worker to stop a running one."""
        with self.database.transaction() as session:
            session.execute(
                "UPDATE backtest_jobs SET status = 'cancelled', finished_at = %s"
                " WHERE job_id = %s AND status = 'queued'",
                (to_micros(now), str(job_id)),
            )
            session.execute(
                "UPDATE backtest_jobs SET cancel_requested_at = %s"
                " WHERE job_id = %s AND status = 'running' AND cancel_requested_at IS NULL",
                (to_micros(now), str(job_id)),
            )
        return self.get(job_id)

    def expire_queued(self, created_before: datetime, now: datetime) -> int:
        """Expire the queued jobs created before ``created_before``; return how many."""
        with self.database.transaction() as session:
            return session.execute(
                "UPDATE backtest_jobs SET status = 'expired', finished_at = %s,"
                " error = 'not started within the queue TTL'"
                " WHERE status = 'queued' AND created_at < %s",
                (to_micros(now), to_micros(created_before)),
            )


def _has_room(session: Session, user_id: str, limits: ConcurrencyLimits) -> bool:
    row = session.fetch_one(
        "SELECT COUNT(*) AS total, SUM(CASE WHEN user_id = %s THEN 1 ELSE 0 END) AS mine"
        " FROM backtest_jobs WHERE status = 'running'",
        (user_id,),
    )
    total = 0 if row is None else int(row["total"] or 0)
    mine = 0 if row is None else int(row["mine"] or 0)
    return total < limits.total and mine < limits.per_user


def _json(document: Any) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def _job_params(job: NewJob) -> tuple[Any, ...]:
    return (
        str(job.job_id),
        job.user_id,
        str(job.clone_id),
        str(job.version_id),
        job.version_number,
        job.tier,
        job.window.shape,
        to_micros(job.window.start),
        to_micros(job.window.end),
        _json(job.estimate.to_record()),
        to_micros(job.created_at),
    )


def _instant(value: Any) -> datetime | None:
    return None if value is None else from_micros(int(value))


def _job(row: dict[str, Any]) -> Job:
    window = ReplayWindow(
        cast("WindowShape", row["window_shape"]),
        from_micros(row["window_start"]),
        from_micros(row["window_end"]),
    )
    return Job(
        job_id=UUID(row["job_id"]),
        user_id=row["user_id"],
        clone_id=UUID(row["clone_id"]),
        version_id=UUID(row["version_id"]),
        version_number=int(row["version_number"]),
        tier=row["tier"],
        status=JobStatus(row["status"]),
        window=window,
        estimate=Estimate.from_record(json.loads(row["estimate"])),
        attempts=int(row["attempts"]),
        created_at=from_micros(row["created_at"]),
        started_at=_instant(row["started_at"]),
        finished_at=_instant(row["finished_at"]),
        cancel_requested_at=_instant(row["cancel_requested_at"]),
        error=row["error"],
        summary=None if row["summary"] is None else json.loads(row["summary"]),
        metrics=None if row["metrics"] is None else json.loads(row["metrics"]),
        input_hash=row["input_hash"],
        result_hash=row["result_hash"],
    )
