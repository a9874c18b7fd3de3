"""Backtest artifacts: the outputs of a succeeded run, kept inline, durable or expiring.

A run's summary, metrics, trades, equity curve and chart are durable: they are the result
the user compares runs by. The per-decision detail (what each acting decision saw and
answered: contexts, prompts, responses) expires after ``CLASH_BACKTEST_ARTIFACT_RETENTION_DAYS``
and is purged by the backtest worker's janitor.

Artifacts are kept inline in ``backtest_artifacts`` (``TEXT``) rather than as files: their
size is bounded by the tier caps (replay steps, decision calls), every API instance behind
a load balancer must be able to serve them, which files local to one worker's machine would
not allow, and they are inserted in the very transaction that marks the run succeeded
(``adapters.backtest_store``), so they exist exactly once or not at all.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from adapters.database import Database, from_micros, to_micros
from domain.backtesting.jobs import Artifact

INSERT_ARTIFACT = """
INSERT INTO backtest_artifacts (job_id, kind, media_type, content, size, sha256, retention,
    expires_at, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
"""

_ARTIFACT_COLUMNS = "kind, media_type, size, sha256, retention, expires_at, created_at"


@dataclass(frozen=True)
class ArtifactInfo:
    """An artifact's row without its content."""

    kind: str
    media_type: str
    size: int
    sha256: str
    durable: bool
    expires_at: datetime | None
    created_at: datetime


class BacktestArtifacts:
    """Reads and purges the artifacts of backtest runs."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def of_job(self, job_id: UUID) -> list[ArtifactInfo]:
        """The job's artifacts (without content), in kind order."""
        with self.database.transaction(write=False) as session:
            rows = session.fetch_all(
                f"SELECT {_ARTIFACT_COLUMNS} FROM backtest_artifacts WHERE job_id = %s"
                " ORDER BY kind",
                (str(job_id),),
            )
        return [_artifact_info(row) for row in rows]

    def content(self, job_id: UUID, kind: str) -> str | None:
        """The content of one artifact, or None (never written, or expired)."""
        with self.database.transaction(write=False) as session:
            row = session.fetch_one(
                "SELECT content FROM backtest_artifacts WHERE job_id = %s AND kind = %s",
                (str(job_id), kind),
            )
        return None if row is None else str(row["content"])

    def purge_expired(self, now: datetime) -> int:
        """Delete the expiring artifacts whose time has come; return how many went."""
        with self.database.transaction() as session:
            return session.execute(
                "DELETE FROM backtest_artifacts WHERE retention = 'expiring' AND expires_at <= %s",
                (to_micros(now),),
            )


def artifact_params(job_id: UUID, artifact: Artifact, now: datetime) -> tuple[Any, ...]:
    """The insert parameters of one artifact of ``job_id``."""
    data = artifact.content.encode()
    expires = None if artifact.expires_at is None else to_micros(artifact.expires_at)
    return (
        str(job_id),
        artifact.kind,
        artifact.media_type,
        artifact.content,
        len(data),
        hashlib.sha256(data).hexdigest(),
        "durable" if artifact.durable else "expiring",
        expires,
        to_micros(now),
    )


def _instant(value: Any) -> datetime | None:
    return None if value is None else from_micros(int(value))


def _artifact_info(row: dict[str, Any]) -> ArtifactInfo:
    return ArtifactInfo(
        kind=row["kind"],
        media_type=row["media_type"],
        size=int(row["size"]),
        sha256=row["sha256"],
        durable=row["retention"] == "durable",
        expires_at=_instant(row["expires_at"]),
        created_at=from_micros(row["created_at"]),
    )
