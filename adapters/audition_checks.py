"""The audition evaluator's checkpoints: one row per audition run (migration 9).

The evaluator folds marks and fills into an ``AuditionProgress`` (pure, in ``domain/``)
and writes the result here after each check, with the last prop-account version whose
fills it folded and the last mark instant it judged. A worker that dies between two checks
resumes from the row: the fills after that version and the marks after that instant are
folded next, so a restarted evaluator reaches the verdict one that never stopped would.
The write is conditional on the row not having moved (a second evaluator that raced this
one loses its write instead of rewinding the progress).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from adapters.database import Database, UniqueViolation, from_micros, to_micros
from domain.lifecycle.audition_progress import AuditionProgress


@dataclass(frozen=True)
class Checkpoint:
    """Where the evaluator stands on one run."""

    audition_id: UUID
    run: int
    account_id: UUID
    progress: AuditionProgress
    account_version: int
    checked_at: datetime


class AuditionChecks:
    """Read and write evaluator checkpoints."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def get(self, audition_id: UUID, run: int) -> Checkpoint | None:
        """The run's checkpoint, or ``None`` before its first check."""
        with self.database.transaction(write=False) as session:
            row = session.fetch_one(
                "SELECT * FROM lifecycle_audition_checks WHERE audition_id = %s AND run = %s",
                (str(audition_id), run),
            )
        if row is None:
            return None
        return Checkpoint(
            UUID(row["audition_id"]),
            int(row["run"]),
            UUID(row["account_id"]),
            AuditionProgress.from_document(json.loads(row["progress"])),
            int(row["account_version"]),
            from_micros(row["checked_at"]),
        )

    def save(self, checkpoint: Checkpoint, previous: Checkpoint | None) -> bool:
        """Write ``checkpoint`` if the row is still ``previous``; return whether it was."""
        values = (
            json.dumps(checkpoint.progress.to_document()),
            checkpoint.account_version,
            to_micros(checkpoint.checked_at),
        )
        key = (str(checkpoint.audition_id), checkpoint.run)
        if previous is None:
            try:
                with self.database.transaction() as session:
                    session.execute(
                        "INSERT INTO lifecycle_audition_checks (audition_id, run, account_id,"
                        " progress, account_version, checked_at) VALUES (%s, %s, %s, %s, %s, %s)",
                        (*key, str(checkpoint.account_id), *values),
                    )
            except UniqueViolation:
                return False
            return True
        with self.database.transaction() as session:
            moved = session.execute(
                "UPDATE lifecycle_audition_checks SET progress = %s, account_version = %s,"
                " checked_at = %s WHERE audition_id = %s AND run = %s AND checked_at = %s"
                " AND account_version = %s",
                (*values, *key, to_micros(previous.checked_at), previous.account_version),
            )
        return moved == 1
