"""Lifecycle plain tables: the audition evaluator's checkpoints (``adapters.audition_checks``).

A row per audition run: the evaluator's progress document (``domain.lifecycle``'s
``AuditionProgress``), the last prop-account version whose fills it folded and the last
mark instant it judged. The verdicts themselves are audition events; this row is the
evaluator's resumable working state and the source of the live progress the API shows.
"""

from __future__ import annotations

from adapters.schema.migration import Migration

LIFECYCLE = Migration(
    9,
    "lifecycle: audition evaluator checkpoints",
    (
        """CREATE TABLE IF NOT EXISTS lifecycle_audition_checks (
            audition_id TEXT NOT NULL,
            run BIGINT NOT NULL,
            account_id TEXT NOT NULL,
            progress TEXT NOT NULL,
            account_version BIGINT NOT NULL,
            checked_at BIGINT NOT NULL,
            PRIMARY KEY (audition_id, run)
        )""",
    ),
)
